package api

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"switchyard"
	"switchyard/runbook"
	"switchyard/store"
)

// The console's run page, GET /console/runs/{id}: one ticket's run in full
// (the ticket as Jira has it, what the classifier made of it and why, the
// approval with its policy steps and votes, the notifications, execution and
// write-back) and the three most similar past tickets with their decisions.
//
// Who may see it: a person signed in with Atlassian sees a run when they may
// see its issue in Jira (checked through the index as them, which also
// yields their precedent) or are named to decide it (then without
// precedent); any other run, and an unknown id, is the same 404 page, so the
// page gives no hint that a run exists. The admin key
// sign-in sees every run, as it sees the whole queue, but no precedent: it is
// no Jira user to search as.

// runPage is what the run page shows.
type runPage struct {
	Run       runbook.Run
	IssueURL  string
	Person    bool   // a person is signed in (precedent is theirs)
	CanDecide bool   // a person and the request is pending
	Expires   string // "in 23h 59m" or "expired", while pending
	Similar   []similarPast
	SignIn    string // the "Sign in with Atlassian" URL back to this page, when offered
}

func (s *Server) consoleRunRoutes() {
	s.mux.HandleFunc("GET /console/runs/{id}", s.consoleAny(s.consoleRun))
}

// runNotFound is the one answer for an unknown run and for a run the
// signed-in person may not see.
func runNotFound(id string) error {
	return switchyard.Errorf(switchyard.ErrNotFound, "run %s not found", id)
}

func (s *Server) consoleRun(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.needRunbook(); err != nil {
		return err
	}
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id < 1 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "id", "%q is not a run id (a positive number)", raw)
	}
	run, err := s.opts.Runbook.Get(r.Context(), id)
	if errors.Is(err, switchyard.ErrNotFound) {
		return runNotFound(raw)
	}
	if err != nil {
		return err
	}
	p := runPage{Run: run, IssueURL: s.issueURL(run)}
	if sess.person != nil {
		p.Person = true
		// One search as the person: it answers "may they see the issue?"
		// (not found when not) and finds their precedent.
		p.Similar, err = s.similarPastAs(r.Context(), run, sess.person.AccountID)
		if err != nil {
			if !errors.Is(err, switchyard.ErrNotFound) {
				s.logger.Warn("run page: visibility check failed; answering not found", "run", id, "err", err)
			}
			// Its named deciders see the run as the queue shows it to them,
			// without precedent: Jira does not let them see the issue.
			if !errors.Is(err, switchyard.ErrNotFound) || !s.opts.Runbook.MayDecide(r.Context(), run, sess.person.AccountID) {
				return runNotFound(raw)
			}
			p.Similar = nil
		}
	} else if s.opts.AtlassianSignIn != nil {
		p.SignIn = signInPath + "?next=" + url.QueryEscape("/console/runs/"+raw)
	}
	if a := run.Approval; a != nil && a.Status == store.ApprovalPending {
		p.Expires = untilText(time.Now(), a.Expires)
		p.CanDecide = p.Person
	}
	s.render(w, r, http.StatusOK, "run", page{Title: fmt.Sprintf("Run %d · %s", run.ID, run.IssueKey), Nav: "approvals", Session: sess, Data: p})
	return nil
}
