package api

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchyard"
	"switchyard/index"
)

// searchResponse is one page of permission-filtered results.
type searchResponse struct {
	Connection string                        `json:"connection"`
	As         string                        `json:"as,omitempty"`
	Total      uint64                        `json:"total"`
	From       int                           `json:"from"`
	Size       int                           `json:"size"`
	Hits       []index.Hit                   `json:"hits"`
	Facets     map[string][]index.FacetCount `json:"facets"`
	TookMS     float64                       `json:"tookMs"`
}

// handleSearch: GET /api/v1/search?q=&as=&project=&type=&status=&updated_from=&updated_to=&from=&size=&connection=
// project, type and status may repeat or hold comma-separated values.
func (s *Server) handleSearch(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Index == nil {
		return switchyard.Errorf(switchyard.ErrNotFound, "this server has no search index")
	}
	req, err := s.searchRequest(r.URL.Query())
	if err != nil {
		return err
	}
	res, err := s.opts.Index.Search(r.Context(), req)
	if err != nil {
		return err
	}
	out := searchResponse{Connection: req.Connection, As: req.AsUser, Total: res.Total, From: req.From, Size: req.Size,
		Hits: res.Hits, Facets: res.Facets, TookMS: float64(res.Took.Microseconds()) / 1000}
	if out.Size == 0 {
		out.Size = index.DefaultSize
	}
	if out.Hits == nil {
		out.Hits = []index.Hit{}
	}
	if out.Facets == nil {
		out.Facets = map[string][]index.FacetCount{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

var searchParams = map[string]bool{"q": true, "as": true, "project": true, "type": true, "status": true,
	"updated_from": true, "updated_to": true, "from": true, "size": true, "connection": true, "request_type": true}

func (s *Server) searchRequest(q url.Values) (index.SearchRequest, error) {
	var req index.SearchRequest
	for k := range q {
		if !searchParams[k] {
			return req, switchyard.FieldErrorf(switchyard.ErrInvalid, k, "unknown query parameter (known: q, as, project, type, status, request_type, updated_from, updated_to, from, size, connection)")
		}
	}
	c, err := s.connectionParam(q.Get("connection"), "connection")
	if err != nil {
		return req, err
	}
	req.Connection = c.Name
	req.Query = q.Get("q")
	req.AsUser = strings.TrimSpace(q.Get("as"))
	req.Projects = listParam(q["project"])
	req.Types = listParam(q["type"])
	req.Statuses = listParam(q["status"])
	req.RequestTypes = listParam(q["request_type"]) // JSM request type names
	for _, p := range []struct {
		name string
		into *int
	}{{"from", &req.From}, {"size", &req.Size}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return req, switchyard.FieldErrorf(switchyard.ErrInvalid, p.name, "%q is not a whole number", v)
			}
			*p.into = n
		}
	}
	if v := q.Get("size"); v != "" && req.Size == 0 {
		return req, switchyard.FieldErrorf(switchyard.ErrInvalid, "size", "must be 1..%d, not 0", index.MaxSize)
	}
	for _, p := range []struct {
		name string
		into *time.Time
	}{{"updated_from", &req.UpdatedFrom}, {"updated_to", &req.UpdatedTo}} {
		if v := q.Get(p.name); v != "" {
			d, err := switchyard.ParseDate(v)
			if err != nil {
				return req, switchyard.FieldErrorf(switchyard.ErrInvalid, p.name, "%v", err)
			}
			*p.into = d.Time
		}
	}
	return req, nil
}

func listParam(vs []string) []string {
	var out []string
	for _, v := range vs {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}
