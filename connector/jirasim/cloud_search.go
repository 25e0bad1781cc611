package jirasim

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	_ "time/tzdata" // JQL date literals are read in the user's zone; don't depend on the host's zoneinfo

	"switchyard"
)

// Cloud enhanced search: POST/GET /rest/api/3/search/jql pages with an opaque
// nextPageToken (absent on the last page), never reports a total, returns only
// ids unless fields are named, and refuses unbounded queries.

const (
	searchMaxIDs    = 5000 // page cap when only ids/keys are requested
	searchMaxFields = 100  // page cap otherwise
)

// canSee asks the world's oracle whether the caller may see the issue (and comment).
// Read lock required.
func (s *Server) canSee(c caller, is *SimIssue, cm *SimComment) bool {
	return s.world.CanSeeLocked(c.AccountID, is, cm)
}

// jqlEnv for the world: projects by key or id, date literals in the admin's zone.
func (v *view) jqlEnv() jqlEnv {
	loc := time.UTC
	if u := v.w.UserByID(v.c.AccountID); u != nil && u.TimeZone != "" {
		if l, err := time.LoadLocation(u.TimeZone); err == nil {
			loc = l
		}
	}
	return jqlEnv{
		project: func(k string) *SimProject {
			if p := v.w.ProjectByKey(strings.ToUpper(k)); p != nil {
				return p
			}
			return v.w.ProjectByID(k)
		},
		loc: loc,
	}
}

// runJQL parses jql and returns the matching issues the caller may see, in order.
func (v *view) runJQL(jql string) ([]*SimIssue, error) {
	q, err := parseJQL(jql, v.jqlEnv())
	if err != nil {
		return nil, err
	}
	var out []*SimIssue
	for _, is := range q.match(v.w.Issues) {
		if v.s.canSee(v.c, is, nil) {
			out = append(out, is)
		}
	}
	return out, nil
}

type searchJQLRequest struct {
	JQL             string   `json:"jql"`
	NextPageToken   string   `json:"nextPageToken"`
	MaxResults      *int     `json:"maxResults"`
	Fields          []string `json:"fields"`
	Expand          string   `json:"expand"`
	Properties      []string `json:"properties"`
	FieldsByKeys    bool     `json:"fieldsByKeys"`
	ReconcileIssues []int64  `json:"reconcileIssues"`
	FailFast        bool     `json:"failFast"`
}

// pageToken is the opaque nextPageToken: an offset bound to the query text, so a
// token cannot be replayed against another query.
type pageToken struct {
	Offset int    `json:"o"`
	Query  string `json:"q"`
}

func queryHash(jql string) string {
	h := sha256.Sum256([]byte(jql))
	return base64.RawURLEncoding.EncodeToString(h[:8])
}

func encodePageToken(offset int, jql string) string {
	b, _ := json.Marshal(pageToken{Offset: offset, Query: queryHash(jql)})
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodePageToken(tok, jql string) (int, error) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	var pt pageToken
	if err == nil {
		err = json.Unmarshal(b, &pt)
	}
	if err != nil || pt.Offset < 0 {
		return 0, errors.New("The provided next page token is invalid.")
	}
	if pt.Query != queryHash(jql) {
		return 0, errors.New("The provided next page token does not match the JQL query.")
	}
	return pt.Offset, nil
}

func (s *Server) searchJQLPost(rw http.ResponseWriter, r *http.Request) {
	var req searchJQLRequest
	if err := apiDecode(rw, r, 1<<20, &req); err != nil {
		apiBadBody(rw, err)
		return
	}
	s.searchJQL(rw, r, req)
}

func (s *Server) searchJQLGet(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	req := searchJQLRequest{JQL: q.Get("jql"), NextPageToken: q.Get("nextPageToken"), Fields: q["fields"], Expand: q.Get("expand"), Properties: q["properties"]}
	n, err := optionalIntParam(q, "maxResults")
	if err != nil {
		apiError(rw, http.StatusBadRequest, err.Error()+".")
		return
	}
	req.MaxResults = n
	s.searchJQL(rw, r, req)
}

func (s *Server) searchJQL(rw http.ResponseWriter, r *http.Request, req searchJQLRequest) {
	v := s.view(r)
	fs := parseFields(req.Fields, "id")
	limit := searchMaxFields
	if fs.onlyIDs() {
		limit = searchMaxIDs
	}
	max := 50
	if req.MaxResults != nil {
		max = *req.MaxResults
	}
	if max < 0 {
		apiError(rw, http.StatusBadRequest, fmt.Sprintf("maxResults %d must not be negative.", max))
		return
	}
	if max == 0 {
		max = 50 // an empty page with a token would loop a client forever
	}
	if max > limit {
		max = limit
	}
	offset := 0
	if req.NextPageToken != "" {
		o, err := decodePageToken(req.NextPageToken, req.JQL)
		if err != nil {
			apiError(rw, http.StatusBadRequest, err.Error())
			return
		}
		offset = o
	}
	q, err := parseJQL(req.JQL, jqlEnv{project: func(string) *SimProject { return &SimProject{} }})
	if err == nil && q.where == nil {
		apiError(rw, http.StatusBadRequest, "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.")
		return
	}
	s.world.RLock()
	defer s.world.RUnlock()
	issues, err := v.runJQL(req.JQL)
	if err != nil {
		apiError(rw, http.StatusBadRequest, err.Error())
		return
	}
	ex := parseExpand(req.Expand)
	end := min(offset+max, len(issues))
	page := []any{}
	for i := offset; i < end; i++ {
		page = append(page, v.searchIssue(issues[i], fs, ex, req.Properties))
	}
	resp := map[string]any{"issues": page, "isLast": end >= len(issues)}
	if end < len(issues) {
		resp["nextPageToken"] = encodePageToken(end, req.JQL)
	}
	apiJSON(rw, http.StatusOK, resp)
}

// searchIssue renders a search hit; with the default fields only the id (and
// key), as Cloud returns.
func (v *view) searchIssue(is *SimIssue, fs fieldSet, ex expandSet, props []string) map[string]any {
	if fs.onlyIDs() {
		m := map[string]any{"id": is.ID}
		if fs.include["key"] {
			m["key"] = is.Key
		}
		return m
	}
	return v.issue(is, fs, ex, props)
}

func (s *Server) approximateCount(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		JQL string `json:"jql"`
	}
	if err := apiDecode(rw, r, 1<<20, &req); err != nil {
		apiBadBody(rw, err)
		return
	}
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	issues, err := v.runJQL(req.JQL)
	if err != nil {
		apiError(rw, http.StatusBadRequest, err.Error())
		return
	}
	apiJSON(rw, http.StatusOK, map[string]int{"count": len(issues)})
}

// searchGone answers the removed Cloud search endpoints.
func (s *Server) searchGone(rw http.ResponseWriter, r *http.Request) {
	apiError(rw, http.StatusGone, "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046")
}

const bulkFetchMax = 100

func (s *Server) bulkFetch(rw http.ResponseWriter, r *http.Request) {
	var req struct {
		IssueIDsOrKeys []string `json:"issueIdsOrKeys"`
		Fields         []string `json:"fields"`
		Expand         []string `json:"expand"`
		Properties     []string `json:"properties"`
		FieldsByKeys   bool     `json:"fieldsByKeys"`
	}
	if err := apiDecode(rw, r, 1<<20, &req); err != nil {
		apiBadBody(rw, err)
		return
	}
	if len(req.IssueIDsOrKeys) == 0 {
		apiFieldError(rw, http.StatusBadRequest, "issueIdsOrKeys", "You must provide at least one issue id or key.")
		return
	}
	if len(req.IssueIDsOrKeys) > bulkFetchMax {
		apiError(rw, http.StatusBadRequest, fmt.Sprintf("The number of issues requested (%d) exceeds the maximum of %d.", len(req.IssueIDsOrKeys), bulkFetchMax))
		return
	}
	v := s.view(r)
	fs := parseFields(req.Fields, "*navigable")
	ex := parseExpand(req.Expand...)
	s.world.RLock()
	defer s.world.RUnlock()
	issues := []any{}
	errs := []any{}
	seen := map[string]bool{}
	for _, k := range req.IssueIDsOrKeys {
		is := v.w.IssueByIDOrKey(k)
		if is == nil || !s.canSee(v.c, is, nil) {
			errs = append(errs, map[string]string{"id": k, "errorMessage": "Issue does not exist or you do not have permission to see it."})
			continue
		}
		if seen[is.ID] {
			continue
		}
		seen[is.ID] = true
		issues = append(issues, v.issue(is, fs, ex, req.Properties))
	}
	apiJSON(rw, http.StatusOK, map[string]any{"issues": issues, "issueErrors": errs})
}

// issueGet serves GET /issue/{idOrKey}; an old key of a moved issue resolves
// to the issue under its new key. Not visible → 404, as Jira hides existence.
func (s *Server) issueGet(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	q := r.URL.Query()
	fs := parseFields(q["fields"], "*all")
	ex := parseExpand(q["expand"]...)
	s.world.RLock()
	defer s.world.RUnlock()
	is := v.w.IssueByIDOrKey(r.PathValue("issueIdOrKey"))
	if is == nil || !s.canSee(v.c, is, nil) {
		apiError(rw, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
		return
	}
	apiJSON(rw, http.StatusOK, v.issue(is, fs, ex, q["properties"]))
}

// visibleIssue resolves {issueIdOrKey} for the caller under the read lock held
// by the handler; it writes the 404 itself.
func (v *view) visibleIssue(rw http.ResponseWriter, idOrKey string) *SimIssue {
	is := v.w.IssueByIDOrKey(idOrKey)
	if is == nil || !v.s.canSee(v.c, is, nil) {
		apiError(rw, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
		return nil
	}
	return is
}

var _ = switchyard.ModeCloud
