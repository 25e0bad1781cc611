package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"switchyard"
	"switchyard/audit"
	"switchyard/classify"
	"switchyard/store"
)

// ApprovalRequest is what approvers are shown: the issue with its link, the
// suggestion and where each input came from, and how to decide.
type ApprovalRequest struct {
	RunID       int64            `json:"runId"`
	ApprovalID  int64            `json:"approvalId"`
	Connection  string           `json:"connection"`
	IssueKey    string           `json:"issueKey"`
	IssueURL    string           `json:"issueUrl,omitempty"`
	Summary     string           `json:"summary"`
	Reporter    string           `json:"reporter,omitempty"`
	Intent      string           `json:"intent"`
	Runbook     string           `json:"runbook"`
	RunbookName string           `json:"runbookName,omitempty"`
	Confidence  float64          `json:"confidence"`
	TargetUser  string           `json:"targetUser,omitempty"`
	TargetFrom  string           `json:"targetUserSource,omitempty"`
	Inputs      []classify.Input `json:"inputs"`
	// Evidence are the ticket's words that decided the intent (evidence.go).
	Evidence []string  `json:"evidence,omitempty"`
	Expires  time.Time `json:"expiresAt"`
	// JiraCheck is the run's check of the ingested text against Jira;
	// CallerTextDiffers and CallerSummary warn approvers that the ingest
	// caller sent other text than Jira's, which the request shows.
	JiraCheck         string `json:"jiraCheck,omitempty"`
	CallerTextDiffers bool   `json:"callerTextDiffers,omitempty"`
	CallerSummary     string `json:"callerSummary,omitempty"`
	// Links are signed single-use approve/deny links, one pair per named
	// approver, each deciding as that approver only; empty without a link
	// secret or named approvers.
	Links []DecisionLinks `json:"links,omitempty"`
	// ConsoleURL is the console's approval queue (server.public_url), where
	// people sign in with Atlassian to decide.
	ConsoleURL string `json:"consoleUrl,omitempty"`
	// Policy is the request's approval policy and steps, when one applies.
	Policy *PolicyStatus `json:"policy,omitempty"`
	// Chase is set on a reminder or an escalation of the request.
	Chase *Chase `json:"chase,omitempty"`
	// Precedent are the most similar past tickets every approver may see,
	// with their decisions (precedent.go); empty when unknown.
	Precedent []Precedent `json:"precedent,omitempty"`
}

// DecisionLinks are the signed links that decide as Approver.
type DecisionLinks struct {
	Approver string `json:"approver"`
	Approve  string `json:"approve"`
	Deny     string `json:"deny"`
}

// DecisionNews is a decided request, for notifiers that follow up (Slack's
// threaded note).
type DecisionNews struct {
	Status    string    `json:"status"` // approved | denied | expired
	DecidedBy string    `json:"decidedBy"`
	DecidedAt time.Time `json:"decidedAt"`
	Note      string    `json:"note,omitempty"`
}

// Notifier delivers approval requests to approvers. Deliver returns a
// receipt (e.g. Slack's channel and message ts) kept on the run, or an
// error, after which the delivery is retried with backoff.
type Notifier interface {
	Name() string
	Deliver(ctx context.Context, req ApprovalRequest) (json.RawMessage, error)
}

// DecisionNotifier also tells approvers how a request was decided, given the
// receipt of the request's delivery.
type DecisionNotifier interface {
	Notifier
	DeliverDecision(ctx context.Context, req ApprovalRequest, news DecisionNews, receipt json.RawMessage) error
}

// request builds a run's approval request.
func (s *Service) request(ctx context.Context, run Run) (ApprovalRequest, error) {
	if run.Approval == nil {
		return ApprovalRequest{}, fmt.Errorf("run %d has no approval request", run.ID)
	}
	a := run.Approval
	r := ApprovalRequest{
		RunID: run.ID, ApprovalID: a.ID, Connection: run.Connection, IssueKey: run.IssueKey, IssueURL: run.Ticket.URL,
		Summary: run.Ticket.Summary, Reporter: run.Ticket.ReporterEmail, Intent: run.Intent, Runbook: run.Runbook,
		RunbookName: run.RunbookName, Confidence: run.Confidence, TargetUser: run.TargetUser,
		TargetFrom: inputSource(run.Inputs, run.TargetUser), Inputs: run.Inputs, Expires: a.Expires,
		JiraCheck: run.JiraCheck, CallerTextDiffers: run.CallerTextDiffers, Policy: run.Policy,
	}
	if r.Reporter == "" && run.Ticket.ReporterAccountID != "" {
		r.Reporter = "Jira account " + run.Ticket.ReporterAccountID // e-mail hidden
	}
	if run.CallerTextDiffers && run.CallerTicket != nil {
		r.CallerSummary = run.CallerTicket.Summary
	}
	if r.IssueURL != "" && !sameHost(r.IssueURL, s.siteURL(run.Connection)) && s.siteURL(run.Connection) != "" {
		r.IssueURL = "" // a run stored before links were checked: use the site's
	}
	if run.Evidence != nil {
		r.Evidence = run.Evidence.Words
	}
	if r.IssueURL == "" {
		// No link was ingested: the site's browse URL is the issue's link.
		if j, ok := s.opts.Jira[run.Connection].(interface{ SiteURL() string }); ok && j.SiteURL() != "" {
			r.IssueURL = strings.TrimRight(j.SiteURL(), "/") + "/browse/" + run.IssueKey
		}
	}
	if s.opts.PublicURL != "" {
		r.ConsoleURL = strings.TrimRight(s.opts.PublicURL, "/") + "/console/approvals"
	}
	if len(s.opts.LinkSecret) > 0 && s.opts.PublicURL != "" {
		// A link decides as the one person it is sent to, so links go only
		// to named approvers (never "whoever holds the card"): under a
		// policy, the people the current step awaits.
		who, labels := s.opts.Approvers, s.opts.Approvers
		if run.Policy != nil {
			who, labels = nil, nil
			if c := run.Policy.Current; c > 0 {
				who, labels = run.Policy.Steps[c-1].awaitingIDs, run.Policy.Steps[c-1].Awaiting
			}
		}
		for i, ap := range who {
			if run.Policy == nil && s.allowed(ctx, run, ap) != nil {
				continue // would be refused anyway
			}
			as := ap
			if p := s.resolve(ctx, run.Connection, ap); p.accountID != "" {
				as = p.accountID
			}
			r.Links = append(r.Links, DecisionLinks{
				Approver: labels[i],
				Approve:  s.link(a.ID, "approve", as, a.Expires),
				Deny:     s.link(a.ID, "deny", as, a.Expires),
			})
		}
	}
	return r, nil
}

// notify delivers a request (or a decision) through one notifier. Each
// attempt is audited; failures are retried by the outbox and stay visible on
// the run.
func (s *Service) notify(ctx context.Context, it store.OutboxItem, p itemPayload) error {
	var n Notifier
	for _, x := range s.opts.Notifiers {
		if x.Name() == p.Notifier {
			n = x
		}
	}
	if n == nil {
		return permanent{fmt.Errorf("notifier %q is not configured any more", p.Notifier)}
	}
	run, err := s.Get(ctx, p.Run)
	if err != nil {
		if errors.Is(err, switchyard.ErrNotFound) {
			return permanent{err}
		}
		return err
	}
	req, err := s.request(ctx, run)
	if err != nil {
		return permanent{err}
	}
	req.Precedent = s.precedent(ctx, run)
	cctx, cancel := context.WithTimeout(ctx, DefaultNotifyTime)
	defer cancel()
	payload := map[string]any{"run": run.ID, "approval": req.ApprovalID, "notifier": n.Name(), "attempt": it.Attempts + 1}
	var receipt json.RawMessage
	var err2 error
	if it.Kind == kindDecided {
		payload["what"] = "decision"
		dn, ok := n.(DecisionNotifier)
		if !ok {
			return permanent{fmt.Errorf("notifier %q does not follow up decisions", n.Name())}
		}
		notes, err := s.db.RunNotes(ctx, run.ID)
		if err != nil {
			return err
		}
		if _, ok := notes["notify."+n.Name()]; !ok {
			// A decision taken before its request was delivered: follow up
			// once the request is out, rather than give up on it.
			items, err := s.db.OutboxByKeyPrefix(ctx, notifyKey(run.ID, n.Name()))
			if err != nil {
				return err
			}
			for _, x := range items {
				if x.Key == notifyKey(run.ID, n.Name()) && !x.Done {
					return fmt.Errorf("the request to %s is not delivered yet", n.Name())
				}
			}
		}
		a := run.Approval
		err2 = dn.DeliverDecision(cctx, req, DecisionNews{Status: a.Status, DecidedBy: a.DecidedBy, DecidedAt: a.DecidedAt, Note: a.Note}, notes["notify."+n.Name()])
	} else {
		payload["what"] = "request"
		receipt, err2 = n.Deliver(cctx, req)
	}
	payload["ok"] = err2 == nil
	if err2 != nil {
		payload["error"] = err2.Error()
	}
	// The attempt's audit record and the receipt commit together.
	bctx := context.WithoutCancel(ctx)
	err = s.db.Tx(bctx, func(tx *store.Tx) error {
		if _, err := s.auditTx(bctx, tx, audit.TypeNotify, "system", run.IssueKey, payload); err != nil {
			return err
		}
		if err2 != nil {
			return nil
		}
		if len(receipt) > 0 && json.Valid(receipt) {
			if err := tx.SetRunNote(bctx, run.ID, "notify."+n.Name(), receipt); err != nil {
				return err
			}
		}
		return tx.CompleteOutbox(bctx, it.ID)
	})
	switch {
	case err2 != nil:
		return err2
	case err != nil:
		return err
	}
	return errCompleted
}

// WebhookNotifier POSTs each approval request (and each decision) as signed
// JSON to a URL: X-Switchyard-Timestamp and X-Switchyard-Signature
// ("sha256=" + hex HMAC-SHA256 of timestamp + "." + body).
type WebhookNotifier struct {
	NameValue string
	URL       string
	Secret    []byte
	HTTP      *http.Client
}

// NewWebhookNotifier checks its settings.
func NewWebhookNotifier(name, rawURL string, secret []byte, hc *http.Client) (*WebhookNotifier, error) {
	u, err := url.Parse(rawURL)
	if rawURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "notifiers.webhook.url", "must be an absolute http(s) URL, not %q", redactURL(rawURL))
	}
	if len(secret) == 0 {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "notifiers.webhook.secret", "is required to sign deliveries")
	}
	if hc == nil {
		hc = &http.Client{Timeout: DefaultNotifyTime}
	}
	if name == "" {
		name = "webhook"
	}
	return &WebhookNotifier{NameValue: name, URL: rawURL, Secret: secret, HTTP: hc}, nil
}

func (w *WebhookNotifier) Name() string { return w.NameValue }

func (w *WebhookNotifier) Deliver(ctx context.Context, req ApprovalRequest) (json.RawMessage, error) {
	body := mustJSON(map[string]any{"type": "approval_request", "request": req})
	return nil, w.post(ctx, body)
}

func (w *WebhookNotifier) DeliverDecision(ctx context.Context, req ApprovalRequest, news DecisionNews, _ json.RawMessage) error {
	body := mustJSON(map[string]any{"type": "approval_decision", "request": req, "decision": news})
	return w.post(ctx, body)
}

func (w *WebhookNotifier) post(ctx context.Context, body []byte) error {
	return postOK(ctx, w.HTTP, w.URL, redactURL(w.URL), w.Secret, body, "webhook")
}

// postOK is postSigned for notifiers: any answer but 2xx is an error, named
// what (e.g. "webhook") and the URL as shown (redactURL or redactHost).
func postOK(ctx context.Context, hc *http.Client, u, shown string, secret []byte, body []byte, what string) error {
	status, resp, err := postSigned(ctx, hc, u, shown, secret, body, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if status < 200 || status > 299 {
		return fmt.Errorf("%s %s answered HTTP %d: %s", what, shown, status, truncate(resp, 200))
	}
	return nil
}
