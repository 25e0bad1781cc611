package api

import (
	"net/http"
	"strconv"

	"switchyard"
	"switchyard/runbook"
)

// pathID parses the {id} path value.
func pathID(r *http.Request, name string) (int64, error) {
	v := r.PathValue(name)
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, switchyard.FieldErrorf(switchyard.ErrInvalid, name, "must be a positive integer, not %q", v)
	}
	return id, nil
}

// queryInt reads an optional non-negative integer query parameter.
func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, switchyard.FieldErrorf(switchyard.ErrInvalid, name, "must be a non-negative integer, not %q", v)
	}
	return n, nil
}

// handleApprovals: GET /api/v1/approvals?status=pending&after=ID&limit=N,
// oldest first; "next" is the after= of the following page.
func (s *Server) handleApprovals(w http.ResponseWriter, r *http.Request) error {
	after, err := queryInt(r, "after", 0)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 500 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "limit", "must be between 1 and 500, not %d", limit)
	}
	ps, err := s.opts.Runbook.Approvals(r.Context(), r.URL.Query().Get("status"), after, int(limit))
	if err != nil {
		return err
	}
	out := map[string]any{"approvals": ps}
	if int64(len(ps)) == limit {
		out["next"] = ps[len(ps)-1].Approval.ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

type decisionRequest struct {
	Decision string `json:"decision"`
	Approver string `json:"approver"`
	Comment  string `json:"comment"`
}

// handleDecision: POST /api/v1/approvals/{id}/decision. The key decides as
// the Jira account it is bound to (keys create --as) and as nobody else: an
// unbound key, or a body approver who is someone else, is a 403 that changes
// nothing. 403 also for the reporter or a non-approver, 409 when already
// decided or expired.
func (s *Server) handleDecision(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req decisionRequest
	if err := decodeJSON(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	k, _ := principal(r.Context())
	if k.AccountID == "" {
		return switchyard.Errorf(switchyard.ErrForbidden, "the API key %q is not bound to a Jira account, so it cannot decide: decisions are made by people (create a key with: switchyard keys create --as ACCOUNT)", k.Name)
	}
	ctx := runbook.WithActor(r.Context(), k.AccountID)
	run, err := s.opts.Runbook.Decide(ctx, id, runbook.Decision{Decision: req.Decision, Approver: k.AccountID, Claimed: req.Approver, Comment: req.Comment, Channel: "api (" + actor(r) + ")"})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}
