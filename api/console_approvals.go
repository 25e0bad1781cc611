package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchyard"
	"switchyard/runbook"
	"switchyard/store"
)

// The console's approval queue: pending requests with everything an approver
// needs to decide (issue, summary, intent, runbook, confidence, target user
// and where each input came from, expiry), Approve/Deny forms, and the
// decided and expired requests below. A decision goes through the runbook
// service's Decide like every other channel, so the same rules hold
// (reporter refused, configured approvers only, first decision wins).
//
// Who decides: the console signs in with an API key, which names a key, not
// a person. The approver's identity (an email the approver rules know) is
// entered once per session, prefilled from the key's name when that is an
// email, and kept server-side in the session.

const (
	consolePendingLimit = 200 // pending requests shown
	consoleHistoryLimit = 50  // decided and expired requests shown
	consoleHistoryScan  = 400 // newest runs looked at to find them
)

// approvalRow is one approval request as the page shows it.
type approvalRow struct {
	Approval store.Approval
	Run      runbook.Run
	IssueURL string
	Expires  string        // "in 23h 59m" or "expired"
	Similar  []similarPast // precedent (console_similar.go)
}

type approvalsPage struct {
	Approver     string // who decides in this session ("" = not set)
	Suggested    string // prefill for the approver field
	CanDecide    bool   // the key carries approvals:decide
	Pending      []approvalRow
	MorePending  bool
	History      []approvalRow
	HistoryKnown bool // the store can list recent runs
	Highlight    int64
	// Needs input (console_needs_input.go).
	CanSupply  bool // the key carries ticket:ingest
	NeedsInput []needsInputRow
	NotActed   []approvalRow // newest no_action runs, with their reasons
}

// runLister is what the history needs of the store (*store.DB has it): runs
// newest first.
type runLister interface {
	TicketRuns(ctx context.Context, state string, limit int) ([]store.TicketRun, error)
}

func (s *Server) consoleApprovalRoutes() {
	s.mux.HandleFunc("GET /console/approvals", s.console(s.consoleApprovals))
	s.mux.HandleFunc("POST /console/approvals/approver", s.console(s.consoleSetApprover))
	s.mux.HandleFunc("POST /console/approvals/{id}/decision", s.console(s.consoleDecide))
	s.consoleNeedsInputRoutes()
}

func (s *Server) needRunbook() error {
	if s.opts.Runbook == nil {
		return switchyard.Errorf(switchyard.ErrNotFound, "approvals are not configured on this server (the runbook service is off; see approvals: in the config file)")
	}
	return nil
}

// canDecide reports whether the session's key carries approvals:decide.
func (s *Server) canDecide(ctx context.Context, sess *session) (bool, error) {
	k, err := s.opts.Store.APIKey(ctx, sess.keyID)
	if err != nil {
		return false, err
	}
	return k.HasScope(ScopeApprovalsDecide), nil
}

// approver is who decides in this session ("" until entered).
func approver(sess *session) string { return sess.approver }

// suggestedApprover prefills the approver field: what was entered, else the
// key's name when it is an email.
func suggestedApprover(sess *session) string {
	if sess.approver != "" {
		return sess.approver
	}
	if strings.Contains(sess.keyName, "@") && !strings.ContainsAny(sess.keyName, " \t") {
		return sess.keyName
	}
	return ""
}

// issueURL is a run's link, only ever on its connection's Jira site (a run
// ingested before links were checked may carry another host).
func (s *Server) issueURL(run runbook.Run) string {
	c, ok := s.conns[run.Connection]
	if u := run.Ticket.URL; (strings.HasPrefix(u, "https://") || strings.HasPrefix(u, "http://")) && (!ok || c.URL == "" || sameHost(u, c.URL)) {
		return u
	}
	if ok && c.URL != "" {
		return strings.TrimRight(c.URL, "/") + "/browse/" + url.PathEscape(run.IssueKey)
	}
	return ""
}

func sameHost(a, b string) bool {
	x, err1 := url.Parse(a)
	y, err2 := url.Parse(b)
	return err1 == nil && err2 == nil && x.User == nil && strings.EqualFold(x.Host, y.Host)
}

func untilText(now, t time.Time) string {
	d := t.Sub(now)
	if d <= 0 {
		return "expired"
	}
	if d < time.Minute {
		return "in under a minute"
	}
	d = d.Truncate(time.Minute) // "in 23h 59m" just after creation, not "24h 00m"
	h, m := int(d.Hours()), int(d.Minutes())%60
	if h == 0 {
		return fmt.Sprintf("in %dm", m)
	}
	return fmt.Sprintf("in %dh %02dm", h, m)
}

func (s *Server) approvalsData(ctx context.Context, sess *session) (approvalsPage, error) {
	p := approvalsPage{Approver: approver(sess), Suggested: suggestedApprover(sess)}
	ok, err := s.canDecide(ctx, sess)
	if err != nil {
		return p, err
	}
	p.CanDecide = ok
	if err := s.needsInputData(ctx, sess, &p); err != nil {
		return p, err
	}
	now := time.Now()
	ps, err := s.opts.Runbook.Approvals(ctx, store.ApprovalPending, 0, consolePendingLimit+1)
	if err != nil {
		return p, err
	}
	if len(ps) > consolePendingLimit {
		ps, p.MorePending = ps[:consolePendingLimit], true
	}
	for _, x := range ps {
		row := approvalRow{Approval: x.Approval, Run: x.Run, IssueURL: s.issueURL(x.Run), Expires: untilText(now, x.Approval.Expires)}
		if len(p.Pending) < similarCardsPerRun {
			row.Similar = s.similarPastFor(ctx, x.Run, p.Approver)
		}
		p.Pending = append(p.Pending, row)
	}
	// The history, newest first: the newest runs that went past the decision.
	if rl, ok := s.opts.Store.(runLister); ok {
		p.HistoryKnown = true
		runs, err := rl.TicketRuns(ctx, "", consoleHistoryScan)
		if err != nil {
			return p, err
		}
		for _, tr := range runs {
			if tr.State == runbook.StatePending || tr.State == runbook.StateNoAction {
				continue
			}
			run, err := s.opts.Runbook.Get(ctx, tr.ID)
			if err != nil {
				return p, err
			}
			if run.Approval == nil || run.Approval.Status == store.ApprovalPending {
				continue
			}
			p.History = append(p.History, approvalRow{Approval: *run.Approval, Run: run, IssueURL: s.issueURL(run)})
			if len(p.History) == consoleHistoryLimit {
				break
			}
		}
	}
	return p, nil
}

func (s *Server) renderApprovals(w http.ResponseWriter, r *http.Request, sess *session, status int, flash, errMsg string, highlight int64) error {
	p, err := s.approvalsData(r.Context(), sess)
	if err != nil {
		return err
	}
	p.Highlight = highlight
	s.render(w, r, status, "approvals", page{Title: "Approval queue", Nav: "approvals", Session: sess, Flash: flash, Error: errMsg, Data: p})
	return nil
}

func (s *Server) consoleApprovals(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.needRunbook(); err != nil {
		return err
	}
	flash := ""
	var hl int64
	if v := r.URL.Query().Get("decided"); v != "" {
		// The message is built from the stored approval, not from the URL,
		// so a crafted link cannot put words on the page.
		if id, err := strconv.ParseInt(v, 10, 64); err == nil && id > 0 {
			if ps, err := s.approvalByID(r.Context(), id); err == nil {
				a := ps.Approval
				flash = fmt.Sprintf("%s: %s by %s at %s.", ps.Run.IssueKey, a.Status, a.DecidedBy, a.DecidedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
				switch a.Status {
				case store.ApprovalApproved:
					flash += " The runbook runs now; the outcome is written back to the issue."
				case store.ApprovalDenied:
					flash += " Nothing was executed; the denial is written back to the issue."
				}
				hl = id
			}
		}
	}
	if v := r.URL.Query().Get("supplied"); v != "" {
		flash, hl = s.suppliedFlash(r.Context(), v)
	}
	if r.URL.Query().Get("approver") == "saved" {
		flash = "You decide as " + sess.approver + " in this session."
	}
	return s.renderApprovals(w, r, sess, http.StatusOK, flash, "", hl)
}

// approvalByID loads an approval with its run.
func (s *Server) approvalByID(ctx context.Context, id int64) (runbook.Pending, error) {
	ps, err := s.opts.Runbook.Approvals(ctx, "", id-1, 1)
	if err != nil {
		return runbook.Pending{}, err
	}
	if len(ps) == 0 || ps[0].Approval.ID != id {
		return runbook.Pending{}, switchyard.Errorf(switchyard.ErrNotFound, "approval %d not found", id)
	}
	return ps[0], nil
}

func validApprover(who string) error {
	switch {
	case who == "":
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "approver", "is required: the email (or account id) you decide as")
	case len(who) > 254:
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "approver", "is longer than 254 characters")
	case strings.ContainsAny(who, " \t\r\n<>\"'"):
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "approver", "%q is not an email or account id (no spaces or quotes)", who)
	}
	return nil
}

func (s *Server) consoleSetApprover(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.needRunbook(); err != nil {
		return err
	}
	who := strings.TrimSpace(r.PostFormValue("approver"))
	if err := validApprover(who); err != nil {
		return s.renderApprovals(w, r, sess, http.StatusBadRequest, "", err.Error(), 0)
	}
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return switchyard.Errorf(switchyard.ErrUnauthorized, "sign in to the console first")
	}
	s.sessions.setApprover(c.Value, who)
	http.Redirect(w, r, "/console/approvals?approver=saved", http.StatusSeeOther)
	return nil
}

func (s *Server) consoleDecide(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.needRunbook(); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	decision := r.PostFormValue("decision")
	verb := map[string]string{"approve": "approve", "deny": "deny"}[decision]
	if verb == "" {
		verb = "decide on"
	}
	fail := func(err error) error {
		status, _ := statusOf(err)
		if status == http.StatusInternalServerError {
			return err
		}
		what := fmt.Sprintf("request %d", id)
		if ps, err := s.approvalByID(r.Context(), id); err == nil {
			what = ps.Run.IssueKey
		}
		return s.renderApprovals(w, r, sess, status, "", fmt.Sprintf("Could not %s %s: %v", verb, what, err), id)
	}
	ok, err := s.canDecide(r.Context(), sess)
	if err != nil {
		return err
	}
	if !ok {
		return fail(switchyard.Errorf(switchyard.ErrForbidden, "the key %q lacks the approvals:decide scope; sign in with a key that has it", sess.keyName))
	}
	who := approver(sess)
	if who == "" {
		return fail(switchyard.FieldErrorf(switchyard.ErrInvalid, "approver", "is not set: enter who you decide as above first"))
	}
	ctx := runbook.WithActor(r.Context(), who)
	_, err = s.opts.Runbook.Decide(ctx, id, runbook.Decision{Decision: decision, Approver: who,
		Comment: strings.TrimSpace(r.PostFormValue("comment")), Channel: "console (key:" + sess.keyName + ")"})
	if err != nil {
		return fail(err)
	}
	s.logger.Info("console decision", "approval", id, "decision", decision, "approver", who, "key_id", sess.keyID)
	http.Redirect(w, r, "/console/approvals?decided="+strconv.FormatInt(id, 10)+"#approval-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// setApprover records who decides in a session.
func (ss *sessions) setApprover(id, who string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if s, ok := ss.m[id]; ok {
		s.approver = who
	}
}
