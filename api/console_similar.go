package api

import (
	"context"
	"errors"
	"net/http"

	"switchyard"
	"switchyard/index"
	"switchyard/runbook"
	"switchyard/store"
)

// Precedent on the approval card: the three past tickets most similar to
// the one waiting (more-like-this over the index, as the approver, so only
// tickets they may see in Jira), each with what was decided on it here
// (approved, denied, expired, no action) or else its Jira status.

const (
	similarOnCard      = 3
	similarCardsPerRun = 20 // the oldest pending cards get precedent (each costs a search)
)

// similarPast is one precedent line.
type similarPast struct {
	Key      string
	Title    string
	URL      string
	Decision string // approved | denied | expired | no_action | "" (never seen here)
	By       string
	Status   string // the Jira status
}

// runByKey is what precedent needs of the store (*store.DB has it).
type runByKey interface {
	TicketRunByKey(ctx context.Context, conn, issueKey string) (store.TicketRun, error)
}

// similarPastFor returns the precedent of run as the approver sees it; nil
// when there is no approver, no index or nothing similar. Failures leave
// the card without precedent rather than failing the queue.
func (s *Server) similarPastFor(ctx context.Context, run runbook.Run, approver string) []similarPast {
	if approver == "" {
		return nil
	}
	out, err := s.similarPastAs(ctx, run, approver)
	if err != nil && !errors.Is(err, switchyard.ErrNotFound) {
		s.opts.Logger.Warn("approval card: similar tickets", "issue", run.IssueKey, "err", err)
	}
	return out
}

// similarPastAs is run's precedent as account sees it, or an error:
// switchyard.ErrNotFound when account may not see run's issue (or there is
// no index to ask), so callers can treat the run as invisible to them.
func (s *Server) similarPastAs(ctx context.Context, run runbook.Run, account string) ([]similarPast, error) {
	ix, ok := s.opts.Index.(Similarer)
	if !ok || s.opts.Index == nil || account == "" || run.IssueKey == "" {
		return nil, switchyard.Errorf(switchyard.ErrNotFound, "no search index to check %s against", run.IssueKey)
	}
	res, err := ix.Similar(ctx, index.SimilarRequest{Connection: run.Connection, Key: run.IssueKey, AsUser: account, Size: similarOnCard})
	if err != nil {
		return nil, err
	}
	var out []similarPast
	for _, h := range res.Hits {
		p := similarPast{Key: h.Key, Title: h.Title, URL: h.URL, Status: h.Status}
		if rs, ok := s.opts.Store.(runByKey); ok {
			if tr, err := rs.TicketRunByKey(ctx, run.Connection, h.Key); err == nil {
				p.Decision = tr.State
				if past, err := s.opts.Runbook.Get(ctx, tr.ID); err == nil && past.Approval != nil && past.Approval.Status != store.ApprovalPending {
					p.Decision, p.By = past.Approval.Status, past.Approval.DecidedBy
				}
			}
		}
		out = append(out, p)
	}
	return out, nil
}

// consoleSuggestJSON: GET /console/search/suggest.json?q=&as=&connection=,
// what the console's search box asks as the user types (the same
// completions as GET /api/v1/search/suggest, on the console session).
func (s *Server) consoleSuggestJSON(w http.ResponseWriter, r *http.Request, _ *session) error {
	w.Header().Set("Cache-Control", "no-store")
	return s.handleSuggest(w, r)
}
