package runbook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"switchyard"
	"switchyard/audit"
	"switchyard/classify"
	"switchyard/store"
)

var (
	issueKeyRE = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,29}-[1-9][0-9]{0,9}$`)
	sourceRE   = regexp.MustCompile(`^[a-z][a-z0-9_-]{0,31}$`)
)

// Limits on ingested text (Jira's own summary limit is 255 characters).
const (
	maxSummary     = 255
	maxDescription = 64 << 10
	maxURL         = 2048
)

// Validate checks a ticket, naming the first bad field.
func (t Ticket) Validate() error {
	bad := func(field, format string, args ...any) error {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, field, format, args...)
	}
	switch {
	case t.Source == "":
		return bad("source", "is required (e.g. \"jira\")")
	case !sourceRE.MatchString(t.Source):
		return bad("source", "%q is not a source name (lowercase letters, digits, - and _)", t.Source)
	case t.IssueKey == "":
		return bad("ticket.issueKey", "is required (e.g. \"ITSM-123\")")
	case !issueKeyRE.MatchString(t.IssueKey):
		return bad("ticket.issueKey", "%q is not a Jira issue key like ITSM-123", t.IssueKey)
	case strings.TrimSpace(t.Summary) == "":
		return bad("ticket.summary", "is required")
	case utf8.RuneCountInString(t.Summary) > maxSummary:
		return bad("ticket.summary", "is %d characters; the limit is %d", utf8.RuneCountInString(t.Summary), maxSummary)
	case len(t.Description) > maxDescription:
		return bad("ticket.description", "is %d bytes; the limit is %d", len(t.Description), maxDescription)
	case !utf8.ValidString(t.Summary + t.Description + t.URL + t.ReporterEmail):
		return bad("ticket", "text is not valid UTF-8")
	}
	if t.URL != "" {
		u, err := url.Parse(t.URL)
		if len(t.URL) > maxURL || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return bad("ticket.url", "%q is not an absolute http(s) URL", truncate(t.URL, 80))
		}
	}
	if t.ReporterEmail != "" {
		a, err := mail.ParseAddress(t.ReporterEmail)
		if err != nil || a.Address != t.ReporterEmail {
			return bad("ticket.reporterEmail", "%q is not an email address", truncate(t.ReporterEmail, 80))
		}
	}
	return nil
}

// hash is the identity of a ticket's body: two ingests of the same issue
// with the same hash are the same request.
func (t Ticket) hash() string {
	h := sha256.New()
	for _, f := range []string{"switchyard-ticket-v1", t.Source, t.IssueKey, t.Summary, t.Description, t.URL, t.ReporterEmail} {
		fmt.Fprintf(h, "%d:%s,", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// IngestResult is the run of an ingested ticket; Created is false when the
// ticket had been ingested before (the original run is returned).
type IngestResult struct {
	Run     Run  `json:"run"`
	Created bool `json:"created"`
}

// Ingest makes a ticket a run, at most once per (conn, issue key): a retry
// or any number of concurrent identical calls return the original run and
// create no second run, card or comment; a different body for an issue
// already ingested is an ErrConflict that says so. conn "" is the default
// connection. A new run is classified; a pending_approval run gets its
// approval request and notifications, a no_action run is recorded with its
// reason. Both are audited.
//
// The caller's text is checked against Jira: when the connection knows the
// issue (synced, or fetched with its account), the run uses Jira's summary,
// description, reporter and link, keeps the caller's ticket beside them and
// marks the run when they differ; an issue Jira does not show the
// connection's account is refused without saying why. Without a Jira client
// the caller's text is used as sent (JiraCheck "unverified"), with no link.
func (s *Service) Ingest(ctx context.Context, conn string, t Ticket) (IngestResult, error) {
	t.ReporterAccountID = "" // only ever from Jira's own issue
	return s.ingest(ctx, conn, t, nil)
}

// ingest is Ingest; from, when set, is Jira's issue the ticket was built
// from (sync, webhook), which needs no check.
func (s *Service) ingest(ctx context.Context, conn string, t Ticket, from *switchyard.Issue) (IngestResult, error) {
	if conn == "" {
		conn = s.opts.DefaultConnection
	}
	if err := t.Validate(); err != nil {
		return IngestResult{}, err
	}
	if _, ok := s.opts.Jira[conn]; !ok && len(s.opts.Jira) > 0 {
		return IngestResult{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "connection", "unknown connection %q", truncate(conn, 40))
	}
	h := t.hash()
	// Fast path: a retry never classifies again.
	if tr, err := s.db.TicketRunByKey(ctx, conn, t.IssueKey); err == nil {
		return s.existing(ctx, tr, h)
	} else if !errors.Is(err, switchyard.ErrNotFound) {
		return IngestResult{}, fmt.Errorf("ingest %s: %w", t.IssueKey, err)
	}

	caller := t
	d := doc{Ticket: t, Check: CheckJira}
	if from == nil {
		iss, found, err := s.jiraIssue(ctx, conn, t)
		if err != nil {
			return IngestResult{}, fmt.Errorf("ingest %s: %w", t.IssueKey, err)
		}
		if found {
			d.Ticket, d.Differs = crossCheck(t, iss, s.reporterEmail(ctx, conn, iss.Reporter), s.siteURL(conn))
			d.Check, d.Caller = CheckMatches, &caller
			if d.Differs {
				d.Check = CheckDiffers
			}
		} else {
			d.Check = CheckUnverified
			// A link is taken only on the configured site's host.
			d.Ticket.URL = issueLink(t.URL, s.siteURL(conn), "")
			if d.Ticket.URL == "" && s.siteURL(conn) != "" {
				d.Ticket.URL = issueLink("", s.siteURL(conn), t.IssueKey)
			}
		}
	}
	t = d.Ticket
	res, err := s.opts.Classifier.Classify(ctx, classify.Ticket{Summary: t.Summary, Description: t.Description, ReporterEmail: t.ReporterEmail})
	if err != nil {
		return IngestResult{}, fmt.Errorf("ingest %s: classify: %w", t.IssueKey, err)
	}
	d.Inputs, d.Candidate, d.Missing, d.Explanation = res.Inputs, res.Candidate, res.Missing, res.Explanation
	if len(res.Evidence.Words) > 0 || res.Evidence.Rule != "" {
		d.Evidence = &Evidence{Words: res.Evidence.Words, Rule: res.Evidence.Rule}
	}
	if in, ok := s.intent(res.Intent); ok {
		d.RunbookName, d.Target = in.Name, in.TargetSystem
	}
	if d.Inputs == nil {
		d.Inputs = []classify.Input{}
	}
	tr := store.TicketRun{
		Conn: conn, IssueKey: t.IssueKey, BodyHash: h,
		Intent: res.Intent, Runbook: res.Runbook, Confidence: res.Confidence,
		Disposition: res.Disposition, Reason: res.Reason, Inputs: mustJSON(d),
	}
	var expires time.Time
	switch res.Disposition {
	case classify.PendingApproval:
		tr.State = StatePending
		expires = s.now().Add(s.opts.Expiry)
	case classify.NeedsInput:
		// Waits for an agent to supply the missing input; no approval yet.
		tr.State = StateNeedsInput
	default:
		tr.State = StateNoAction
		if tr.Disposition == "" {
			tr.Disposition = classify.DispositionNone
		}
	}
	actor := actorOf(ctx)
	var pol *policyNote
	if res.Disposition == classify.PendingApproval {
		probe, err := runFrom(tr)
		if err != nil {
			return IngestResult{}, err
		}
		probe.Connection = conn
		if pol, err = s.choosePolicy(ctx, probe); err != nil {
			return IngestResult{}, fmt.Errorf("ingest %s: approval policy: %w", t.IssueKey, err)
		}
	}
	// The run, its approval request, its notifications and its audit records
	// commit together: a crash leaves all of them or none.
	stored, appr, created, err := s.create(ctx, tr, expires, func(tx *store.Tx, r store.TicketRun, a store.Approval) error {
		if a.ID != 0 || r.State == StateNeedsInput {
			// Who ingested may not approve, also once a needs_input run
			// reaches approval.
			if err := tx.SetRunNote(ctx, r.ID, "ingester", mustJSON(ingesterNote{Actor: actor, Account: personOf(ctx)})); err != nil {
				return err
			}
		}
		if a.ID != 0 {
			if pol != nil {
				if err := tx.SetRunNote(ctx, r.ID, "policy", mustJSON(pol)); err != nil {
					return err
				}
			}
			for _, n := range s.opts.Notifiers {
				it := store.OutboxItem{Kind: kindNotify, Key: notifyKey(r.ID, n.Name()), Payload: mustJSON(itemPayload{Run: r.ID, Notifier: n.Name()})}
				if _, _, err := tx.Enqueue(ctx, it); err != nil {
					return err
				}
			}
		}
		rec, err := s.auditTx(ctx, tx, audit.TypeIngest, actor, t.IssueKey, map[string]any{
			"run": r.ID, "connection": conn, "source": t.Source, "issueKey": t.IssueKey,
			"bodyHash": h, "reporterEmail": t.ReporterEmail, "url": t.URL, "state": r.State,
			"jiraCheck": d.Check, "callerTextDiffers": d.Differs, "reporterAccountId": t.ReporterAccountID,
			"callerReporterEmail": caller.ReporterEmail, "callerUrl": caller.URL,
		})
		if err != nil {
			return err
		}
		cl := map[string]any{
			"run": r.ID, "intent": res.Intent, "runbook": res.Runbook, "confidence": res.Confidence,
			"disposition": tr.Disposition, "reason": res.Reason, "inputs": d.Inputs,
		}
		if res.Candidate != "" {
			cl["candidate"] = res.Candidate
		}
		if len(res.Missing) > 0 {
			cl["missing"] = res.Missing
		}
		if res.Explanation != "" {
			cl["explanation"] = res.Explanation
		}
		if a.ID != 0 {
			cl["approval"] = a.ID
			cl["expiresAt"] = a.Expires.UTC().Format(timeFormat)
			if pol != nil {
				cl["policy"], cl["risk"] = pol.Name, pol.Risk
			}
		}
		_, err = tx.AppendAuditAfter(ctx, rec, s.record(audit.Entry{Type: audit.TypeClassify, Actor: "system", Subject: t.IssueKey, Payload: cl}))
		return err
	})
	if err != nil {
		return IngestResult{}, fmt.Errorf("ingest %s: %w", t.IssueKey, err)
	}
	if !created {
		return s.existing(ctx, stored, h)
	}
	run, err := runFrom(stored)
	if err != nil {
		return IngestResult{}, err
	}
	if appr.ID != 0 {
		run.Approval = &appr
		if run.Policy, err = s.policyStatus(ctx, run); err != nil {
			return IngestResult{}, err
		}
		if len(s.opts.Notifiers) > 0 {
			s.wake()
		}
	}
	return IngestResult{Run: run, Created: true}, nil
}

// Outbox keys: one item per (run, step), ever.
func notifyKey(run int64, notifier string) string {
	return fmt.Sprintf("run:%d:notify:%s", run, notifier)
}
func decidedKey(run int64, notifier string) string {
	return fmt.Sprintf("run:%d:decided:%s", run, notifier)
}
func executeKey(run int64) string   { return fmt.Sprintf("run:%d:execute", run) }
func writebackKey(run int64) string { return fmt.Sprintf("run:%d:writeback", run) }
func runKeyPrefix(run int64) string { return fmt.Sprintf("run:%d:", run) }

// existing answers an ingest of an issue that already has a run.
func (s *Service) existing(ctx context.Context, tr store.TicketRun, h string) (IngestResult, error) {
	if tr.BodyHash != h {
		return IngestResult{}, switchyard.FieldErrorf(switchyard.ErrConflict, "ticket",
			"issue %s was already ingested as run %d with a different body; an issue is ingested once and its run is not changed by a later ingest", tr.IssueKey, tr.ID)
	}
	// A repeat is answered from the run and its approval only: retries are
	// the hot path of a re-fired automation rule.
	run, err := runFrom(tr)
	if err != nil {
		return IngestResult{}, err
	}
	if a, err := s.db.ApprovalForRun(ctx, run.ID); err == nil {
		run.Approval = &a
	} else if !errors.Is(err, switchyard.ErrNotFound) {
		return IngestResult{}, err
	}
	return IngestResult{Run: run, Created: false}, nil
}

// reporterEmail is the synced e-mail of a Jira account, "" when it is
// hidden or the account is not synced.
func (s *Service) reporterEmail(ctx context.Context, conn, accountID string) string {
	if accountID == "" {
		return ""
	}
	u, err := s.db.User(ctx, conn, accountID)
	if err != nil {
		return ""
	}
	return u.Email
}

func (s *Service) intent(id string) (classify.Intent, bool) {
	c, ok := s.opts.Classifier.(interface{ Catalog() *classify.Catalog })
	if !ok || c.Catalog() == nil {
		return classify.Intent{}, false
	}
	return c.Catalog().Intent(id)
}
