package api

import (
	"context"
	"net/http"
	"net/url"
	"slices"
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

// Similarer and Suggester are the index's more-like-this and completion
// (*index.Index has both); servers whose index lacks them answer 404.
type Similarer interface {
	Similar(ctx context.Context, req index.SimilarRequest) (*index.SearchResult, error)
}

type Suggester interface {
	Suggest(ctx context.Context, req index.SuggestRequest) ([]index.Suggestion, error)
}

// similarResponse lists the issues most like one issue.
type similarResponse struct {
	Connection string      `json:"connection"`
	As         string      `json:"as,omitempty"`
	Key        string      `json:"key"`
	Hits       []index.Hit `json:"hits"`
	TookMS     float64     `json:"tookMs"`
}

// handleSimilar: GET /api/v1/issues/{key}/similar?as=&size=&connection=
// An issue the user may not see is 404, like one that does not exist.
func (s *Server) handleSimilar(w http.ResponseWriter, r *http.Request) error {
	ix, ok := s.opts.Index.(Similarer)
	if s.opts.Index == nil || !ok {
		return switchyard.Errorf(switchyard.ErrNotFound, "this server has no search index")
	}
	q := r.URL.Query()
	if err := knownParams(q, "as", "size", "connection"); err != nil {
		return err
	}
	c, err := s.connectionParam(q.Get("connection"), "connection")
	if err != nil {
		return err
	}
	req := index.SimilarRequest{Connection: c.Name, Key: r.PathValue("key"), AsUser: strings.TrimSpace(q.Get("as"))}
	if req.Size, err = sizeParam(q, index.MaxSimilarSize); err != nil {
		return err
	}
	res, err := ix.Similar(r.Context(), req)
	if err != nil {
		return err
	}
	out := similarResponse{Connection: c.Name, As: req.AsUser, Key: strings.ToUpper(req.Key), Hits: res.Hits, TookMS: float64(res.Took.Microseconds()) / 1000}
	if out.Hits == nil {
		out.Hits = []index.Hit{}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// suggestResponse lists completions of what was typed.
type suggestResponse struct {
	Connection  string             `json:"connection"`
	As          string             `json:"as,omitempty"`
	Q           string             `json:"q"`
	Suggestions []index.Suggestion `json:"suggestions"`
}

// handleSuggest: GET /api/v1/search/suggest?q=&as=&size=&connection=
func (s *Server) handleSuggest(w http.ResponseWriter, r *http.Request) error {
	ix, ok := s.opts.Index.(Suggester)
	if s.opts.Index == nil || !ok {
		return switchyard.Errorf(switchyard.ErrNotFound, "this server has no search index")
	}
	q := r.URL.Query()
	if err := knownParams(q, "q", "as", "size", "connection"); err != nil {
		return err
	}
	c, err := s.connectionParam(q.Get("connection"), "connection")
	if err != nil {
		return err
	}
	req := index.SuggestRequest{Connection: c.Name, Prefix: q.Get("q"), AsUser: strings.TrimSpace(q.Get("as"))}
	if req.Size, err = sizeParam(q, index.MaxSuggestSize); err != nil {
		return err
	}
	sug, err := ix.Suggest(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, suggestResponse{Connection: c.Name, As: req.AsUser, Q: req.Prefix, Suggestions: sug})
	return nil
}

func knownParams(q url.Values, known ...string) error {
	for k := range q {
		if !slices.Contains(known, k) {
			return switchyard.FieldErrorf(switchyard.ErrInvalid, k, "unknown query parameter (known: %s)", strings.Join(known, ", "))
		}
	}
	return nil
}

// sizeParam reads size (0 when absent: the default).
func sizeParam(q url.Values, max int) (int, error) {
	v := q.Get("size")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return 0, switchyard.FieldErrorf(switchyard.ErrInvalid, "size", "%q is not a whole number", v)
	}
	if n < 1 || n > max {
		return 0, switchyard.FieldErrorf(switchyard.ErrInvalid, "size", "%d is out of range 1..%d", n, max)
	}
	return n, nil
}
