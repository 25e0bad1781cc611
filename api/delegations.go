package api

import (
	"net/http"
	"strconv"
	"time"

	"switchyard"
	"switchyard/runbook"
	"switchyard/store"
)

// Delegations: an approver (a key bound to their Jira account) hands their
// part to someone else for a time window; GET lists, DELETE revokes.

type delegationRequest struct {
	To    string     `json:"to"`
	Start *time.Time `json:"start"`
	Until time.Time  `json:"until"`
}

// boundAccount is the Jira account of the request's key, or a 403.
func boundAccount(r *http.Request) (string, error) {
	k, _ := principal(r.Context())
	if k.AccountID == "" {
		return "", switchyard.Errorf(switchyard.ErrForbidden, "the API key %q is not bound to a Jira account; only a person's key (switchyard keys create --as ACCOUNT) acts for them", k.Name)
	}
	return k.AccountID, nil
}

func (s *Server) handleDelegate(w http.ResponseWriter, r *http.Request) error {
	from, err := boundAccount(r)
	if err != nil {
		return err
	}
	var req delegationRequest
	if err := decodeJSON(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	var start time.Time
	if req.Start != nil {
		start = *req.Start
	}
	d, err := s.opts.Runbook.Delegate(runbook.WithActor(r.Context(), from), from, req.To, start, req.Until)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/delegations/"+strconv.FormatInt(d.ID, 10))
	writeJSON(w, http.StatusCreated, map[string]any{"delegation": d})
	return nil
}

func (s *Server) handleDelegations(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.opts.Runbook.Delegations(r.Context())
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []store.Delegation{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"delegations": ds})
	return nil
}

func (s *Server) handleRevokeDelegation(w http.ResponseWriter, r *http.Request) error {
	by, err := boundAccount(r)
	if err != nil {
		return err
	}
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	d, err := s.opts.Runbook.RevokeDelegation(r.Context(), id, by)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"delegation": d})
	return nil
}

// handleApproval: GET /api/v1/approvals/{id}: the request with its run,
// policy, steps, who decided each and who is still awaited.
func (s *Server) handleApproval(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	p, err := s.approvalByID(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}
