package api

import (
	"net/http"

	"switchyard"
	"switchyard/runbook"
)

// Needs input: runs whose intent is recognised but whose runbook lacks an
// input (most often the target account of a request for someone else). An
// agent lists them and supplies the input, which sends the run on to
// approval. Scope ticket:ingest: supplying an input completes what the
// ticket's ingest could not, as the ingesting integration or desk agent
// does; it decides nothing, so the approval that follows still needs
// approvals:decide and its rules (never the reporter).

func (s *Server) needsInputRoutes() {
	if s.opts.Runbook == nil {
		return
	}
	s.api("GET", "/api/v1/runs/needs-input", ScopeTicketIngest, s.handleNeedsInput)
	s.api("POST", "/api/v1/runs/{id}/inputs", ScopeTicketIngest, s.handleSupplyInputs)
}

// handleNeedsInput: GET /api/v1/runs/needs-input?limit=N, newest first.
func (s *Server) handleNeedsInput(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	if limit < 1 || limit > 500 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "limit", "must be between 1 and 500, not %d", limit)
	}
	runs, err := s.opts.Runbook.NeedsInput(r.Context(), int(limit))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"runs": runs})
	return nil
}

type inputsRequest struct {
	Inputs map[string]string `json:"inputs"`
}

// handleSupplyInputs: POST /api/v1/runs/{id}/inputs {"inputs":{"target_user":…}}.
// 200 with the run, now pending_approval; 400 for a bad or unneeded input;
// 409 when the run is not waiting for input (another agent was first).
func (s *Server) handleSupplyInputs(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req inputsRequest
	if err := decodeJSON(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	run, err := s.opts.Runbook.SupplyInputs(runbook.WithActor(r.Context(), actor(r)), id, req.Inputs)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, run)
	return nil
}
