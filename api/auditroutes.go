package api

import (
	"net/http"

	"switchyard"
	"switchyard/audit"
)

// handleAuditList: GET /api/v1/audit?from=SEQ&limit=N lists records in
// sequence order; "next" is the from= of the following page.
func (s *Server) handleAuditList(w http.ResponseWriter, r *http.Request) error {
	from, err := queryInt(r, "from", 1)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 100)
	if err != nil {
		return err
	}
	if from < 1 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "from", "must be at least 1")
	}
	if limit < 1 || limit > 1000 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "limit", "must be between 1 and 1000, not %d", limit)
	}
	recs, err := s.opts.Audit.List(r.Context(), from, int(limit))
	if err != nil {
		return err
	}
	if recs == nil {
		recs = []audit.Record{}
	}
	out := map[string]any{"records": recs}
	if int64(len(recs)) == limit {
		out["next"] = recs[len(recs)-1].Seq + 1
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// handleAuditVerify: GET /api/v1/audit/verify checks the whole chain and
// names the first bad sequence number. A broken chain is still a 200: the
// request succeeded, its answer is "not OK".
func (s *Server) handleAuditVerify(w http.ResponseWriter, r *http.Request) error {
	res, err := s.opts.Audit.Verify(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
