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
	"switchyard/index"
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
// Who decides: a person signed in with Atlassian (their Jira account id is
// the approver, from GET /me), never a typed name. The admin key sign-in is
// no person, so it sees the queue read-only.

const (
	consolePendingLimit = 200 // pending requests shown
	consoleHistoryLimit = 50  // decided and expired requests shown
	consoleHistoryScan  = 400 // newest runs looked at to find them
	// consolePendingScan is how many pending requests are looked at for a
	// person, whose queue holds only those they may see or decide.
	consolePendingScan = 1000
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
	Approver     string // the signed-in person's account id ("" = an admin key session)
	ApproverName string // their name as Atlassian gave it
	CanDecide    bool   // a person is signed in
	SignIn       string // the "Sign in with Atlassian" URL, when offered
	Delegations  []store.Delegation
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
	s.mux.HandleFunc("GET /console/approvals", s.consoleAny(s.consoleApprovals))
	s.mux.HandleFunc("POST /console/approvals/{id}/decision", s.consoleAny(s.consoleDecide))
	s.mux.HandleFunc("POST /console/delegations", s.consoleAny(s.consoleDelegate))
	s.mux.HandleFunc("POST /console/delegations/{id}/revoke", s.consoleAny(s.consoleRevokeDelegation))
	s.consoleNeedsInputRoutes()
	s.consoleRunRoutes()
}

func (s *Server) needRunbook() error {
	if s.opts.Runbook == nil {
		return switchyard.Errorf(switchyard.ErrNotFound, "approvals are not configured on this server (the runbook service is off; see approvals: in the config file)")
	}
	return nil
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
	p := approvalsPage{}
	if sess.person != nil {
		p.Approver, p.ApproverName, p.CanDecide = sess.person.AccountID, sess.person.Name, true
		ds, err := s.opts.Runbook.Delegations(ctx)
		if err != nil {
			return p, err
		}
		for _, d := range ds {
			if strings.EqualFold(d.From, p.Approver) || strings.EqualFold(d.To, p.Approver) {
				p.Delegations = append(p.Delegations, d)
			}
		}
	} else if s.opts.AtlassianSignIn != nil {
		p.SignIn = signInPath + "?next=" + url.QueryEscape("/console/approvals")
	}
	if err := s.needsInputData(ctx, sess, &p); err != nil {
		return p, err
	}
	now := time.Now()
	scan := consolePendingLimit + 1
	if sess.person != nil {
		scan = consolePendingScan // filtered below: look further for theirs
	}
	ps, err := s.opts.Runbook.Approvals(ctx, store.ApprovalPending, 0, scan)
	if err != nil {
		return p, err
	}
	for _, x := range ps {
		p.Pending = append(p.Pending, approvalRow{Approval: x.Approval, Run: x.Run, IssueURL: s.issueURL(x.Run), Expires: untilText(now, x.Approval.Expires)})
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
	if sess.person != nil {
		// The cards show the issue's summary and text: a person sees a
		// request on an issue Jira lets them see, or one they are named to
		// decide (its approvers need its text whatever Jira's browse grants).
		vis := s.visibleRuns(ctx, sess.person.AccountID, p.Pending, p.History)
		named := map[string]bool{}
		p.Pending = s.shownTo(ctx, sess.person.AccountID, p.Pending, vis, named)
		p.History = s.shownTo(ctx, sess.person.AccountID, p.History, vis, named)
	}
	if len(p.Pending) > consolePendingLimit {
		p.Pending, p.MorePending = p.Pending[:consolePendingLimit], true
	}
	for i := range p.Pending {
		if i == similarCardsPerRun {
			break
		}
		p.Pending[i].Similar = s.similarPastFor(ctx, p.Pending[i].Run, p.Approver)
	}
	return p, nil
}

// shownTo keeps the rows mayShow lets account see.
func (s *Server) shownTo(ctx context.Context, account string, rows []approvalRow, vis map[string]map[string]bool, named map[string]bool) []approvalRow {
	out := rows[:0:0]
	for _, r := range rows {
		if s.mayShow(ctx, account, r.Run, vis, named) {
			out = append(out, r)
		}
	}
	return out
}

// mayShow reports whether account may be shown run: vis says Jira lets them
// see its issue, or they are named to decide it. named memoises MayDecide
// per connection and policy (who is named depends on nothing else), so a
// long queue costs one resolution per policy, not one per row.
func (s *Server) mayShow(ctx context.Context, account string, run runbook.Run, vis map[string]map[string]bool, named map[string]bool) bool {
	if vis[run.Connection][strings.ToUpper(run.IssueKey)] {
		return true
	}
	if run.Approval == nil {
		return false // nothing to decide
	}
	key := run.Connection + "\x00"
	if run.Policy != nil {
		key += "policy:" + run.Policy.Policy
	}
	ok, seen := named[key]
	if !seen {
		ok = s.opts.Runbook.MayDecide(ctx, run, account)
		named[key] = ok
	}
	return ok
}

// KeyVisibility says which issue keys a user may see (*index.Index has it).
type KeyVisibility interface {
	VisibleKeys(ctx context.Context, req index.VisibleKeysRequest) (map[string]bool, error)
}

// visibleRuns returns, per connection, the issue keys of rows the account
// may see in Jira. Without an index to ask, or where it fails, none: fail
// closed (the caller still shows what they are named to decide).
func (s *Server) visibleRuns(ctx context.Context, account string, lists ...[]approvalRow) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	kv, ok := s.opts.Index.(KeyVisibility)
	if !ok || s.opts.Index == nil {
		return out
	}
	byConn := map[string][]string{}
	for _, rows := range lists {
		for _, r := range rows {
			byConn[r.Run.Connection] = append(byConn[r.Run.Connection], r.Run.IssueKey)
		}
	}
	for conn, keys := range byConn {
		vis, err := kv.VisibleKeys(ctx, index.VisibleKeysRequest{Connection: conn, AsUser: account, Keys: keys})
		if err != nil {
			// Fail closed to what they are named to decide.
			s.logger.Warn("approval queue: Jira visibility check failed; showing only requests the person is named to decide", "connection", conn, "err", err)
			continue
		}
		out[conn] = vis
	}
	return out
}

// sessionMaySee reports whether the session may be shown run's issue: the
// admin key sees every run (as it sees the whole queue), a person only what
// Jira lets them see.
func (s *Server) sessionMaySee(ctx context.Context, sess *session, run runbook.Run) bool {
	if sess.person == nil {
		return true
	}
	vis := s.visibleRuns(ctx, sess.person.AccountID, []approvalRow{{Run: run}})
	return s.mayShow(ctx, sess.person.AccountID, run, vis, map[string]bool{})
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
			if ps, err := s.approvalByID(r.Context(), id); err == nil && s.sessionMaySee(r.Context(), sess, ps.Run) {
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
		flash, hl = s.suppliedFlash(r.Context(), sess, v)
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
		ps, perr := s.approvalByID(r.Context(), id)
		if perr != nil || !s.sessionMaySee(r.Context(), sess, ps.Run) {
			// The refusal's reason names the issue and who decided it.
			return s.renderApprovals(w, r, sess, http.StatusNotFound, "", fmt.Sprintf("Could not %s %s: no such request among yours", verb, what), 0)
		}
		what = ps.Run.IssueKey
		return s.renderApprovals(w, r, sess, status, "", fmt.Sprintf("Could not %s %s: %v", verb, what, err), id)
	}
	if sess.person == nil {
		return fail(switchyard.Errorf(switchyard.ErrForbidden, "the admin key sign-in (%q) cannot decide: decisions are made by people; sign in with Atlassian", sess.keyName))
	}
	who := sess.person.AccountID
	ctx := runbook.WithActor(r.Context(), who)
	_, err = s.opts.Runbook.Decide(ctx, id, runbook.Decision{Decision: decision, Approver: who, Claimed: r.PostFormValue("approver"),
		Comment: strings.TrimSpace(r.PostFormValue("comment")), Channel: "console (atlassian:" + who + ")"})
	if err != nil {
		return fail(err)
	}
	s.logger.Info("console decision", "approval", id, "decision", decision, "approver", who)
	http.Redirect(w, r, "/console/approvals?decided="+strconv.FormatInt(id, 10)+"#approval-"+strconv.FormatInt(id, 10), http.StatusSeeOther)
	return nil
}

// consoleDelegate: a person signed in with Atlassian delegates their part
// to someone until a time (UTC).
func (s *Server) consoleDelegate(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.needRunbook(); err != nil {
		return err
	}
	if sess.person == nil {
		return s.renderApprovals(w, r, sess, http.StatusForbidden, "", "only a person signed in with Atlassian can delegate their approvals", 0)
	}
	until, err := time.Parse("2006-01-02T15:04", r.PostFormValue("until"))
	if err != nil {
		return s.renderApprovals(w, r, sess, http.StatusBadRequest, "", fmt.Sprintf("until: %q is not a date and time", r.PostFormValue("until")), 0)
	}
	d, err := s.opts.Runbook.Delegate(runbook.WithActor(r.Context(), sess.person.AccountID), sess.person.AccountID, strings.TrimSpace(r.PostFormValue("to")), time.Time{}, until)
	if err != nil {
		status, _ := statusOf(err)
		if status == http.StatusInternalServerError {
			return err
		}
		return s.renderApprovals(w, r, sess, status, "", "Could not delegate: "+err.Error(), 0)
	}
	return s.renderApprovals(w, r, sess, http.StatusOK, fmt.Sprintf("%s decides for you until %s.", d.To, d.Until.Format("2006-01-02 15:04 UTC")), "", 0)
}

func (s *Server) consoleRevokeDelegation(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.needRunbook(); err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if sess.person == nil {
		return s.renderApprovals(w, r, sess, http.StatusForbidden, "", "only a person signed in with Atlassian can revoke their delegations", 0)
	}
	if _, err := s.opts.Runbook.RevokeDelegation(r.Context(), id, sess.person.AccountID); err != nil {
		status, _ := statusOf(err)
		if status == http.StatusInternalServerError {
			return err
		}
		return s.renderApprovals(w, r, sess, status, "", "Could not revoke: "+err.Error(), 0)
	}
	return s.renderApprovals(w, r, sess, http.StatusOK, "Delegation revoked.", "", 0)
}
