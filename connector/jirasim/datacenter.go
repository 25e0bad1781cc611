package jirasim

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// Data Center endpoints that differ from Cloud: users by username, groups by
// name through the picker, the project list, and /rest/api/2/search with
// startAt/total that refuses to page past 10,000 results.

const (
	dcSearchMax    = 1000
	dcSearchWindow = 10000
)

// dcUsername is a Data Center user's username: the local part of the email,
// which differs from the user key (the world's account id), as on any site
// whose users were created since Jira 8. Without an email it is the key.
func dcUsername(u *SimUser) string {
	email := u.Email
	if email == "" {
		email = u.HiddenEmail
	}
	if i := strings.IndexByte(email, '@'); i > 0 {
		return strings.ToLower(email[:i])
	}
	return u.AccountID
}

// dcUserByName finds a Data Center user by username (any case).
func (v *view) dcUserByName(name string) *SimUser {
	for _, u := range v.w.Users {
		if strings.EqualFold(dcUsername(u), name) {
			return u
		}
	}
	return nil
}

func (v *view) dcUserMatches(u *SimUser, q string) bool {
	if q == "." || q == "" {
		return true
	}
	q = strings.ToLower(q)
	email := u.Email
	if email == "" {
		email = u.HiddenEmail
	}
	return strings.Contains(dcUsername(u), q) || strings.Contains(strings.ToLower(u.DisplayName), q) || strings.Contains(strings.ToLower(email), q)
}

// dcUserSearch serves /rest/api/2/user/search?username=. (a bare array).
func (s *Server) dcUserSearch(rw http.ResponseWriter, r *http.Request) {
	limit := usersSearchMax
	if l := s.opts.DataCenter.UserSearchLimit; l > 0 {
		limit = l
	}
	start, max, ok := pageParams(rw, r, "startAt", "maxResults", 50, limit)
	if !ok {
		return
	}
	q := r.URL.Query()
	if !q.Has("username") {
		apiFieldError(rw, http.StatusBadRequest, "username", "The username query parameter is required.")
		return
	}
	includeActive := q.Get("includeActive") != "false"
	includeInactive := apiBoolParam(q, "includeInactive")
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	var match []*SimUser
	for _, u := range v.w.Users {
		if (u.Active && !includeActive) || (!u.Active && !includeInactive) || !v.dcUserMatches(u, q.Get("username")) {
			continue
		}
		match = append(match, u)
	}
	out := []any{}
	for _, u := range slicePage(match, start, max) {
		out = append(out, v.user(u.AccountID))
	}
	apiJSON(rw, http.StatusOK, out)
}

// dcUserList serves Data Center 10.3+'s /rest/api/2/user/list?cursor=&maxResults=
// (default and cap 2000): every user, active or not, in a stable order; the
// cursor is the position to continue from, nextCursor absent on the last page.
func (s *Server) dcUserList(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	max, err := apiIntParam(q, "maxResults", 2000)
	if err != nil || max < 1 {
		apiError(rw, http.StatusBadRequest, fmt.Sprintf("maxResults %q is not a positive number", q.Get("maxResults")))
		return
	}
	max = min(max, 2000)
	cursor, err := apiIntParam(q, "cursor", 0)
	if err != nil || cursor < 0 {
		// Jira never answers 404 here, even for a cursor it did not hand out.
		cursor = 0
	}
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	values := []any{}
	for _, u := range slicePage(v.w.Users, cursor, max) {
		values = append(values, v.user(u.AccountID))
	}
	next := cursor + len(values)
	out := map[string]any{"self": v.api() + "/user/list?" + q.Encode(), "maxResults": max, "values": values, "isLast": next >= len(v.w.Users)}
	if next < len(v.w.Users) {
		out["nextCursor"] = strconv.Itoa(next)
		out["nextPage"] = v.api() + "/user/list?cursor=" + strconv.Itoa(next) + "&maxResults=" + strconv.Itoa(max)
	}
	apiJSON(rw, http.StatusOK, out)
}

// dcUser serves /rest/api/2/user?username=X[&expand=groups].
func (s *Server) dcUser(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	var sim *SimUser
	what := ""
	switch {
	case q.Get("username") != "":
		what = "named '" + q.Get("username") + "'"
		sim = v.dcUserByName(q.Get("username"))
	case q.Get("key") != "":
		what = "with key '" + q.Get("key") + "'"
		sim = v.w.UserByID(q.Get("key"))
	default:
		apiError(rw, http.StatusBadRequest, "Either the 'username' or the 'key' query parameter is required.")
		return
	}
	if sim == nil {
		apiError(rw, http.StatusNotFound, "The user "+what+" does not exist")
		return
	}
	u := v.user(sim.AccountID)
	if parseExpand(q["expand"]...)["groups"] {
		items := []any{}
		for _, g := range v.w.GroupsOfUser(sim.AccountID) {
			items = append(items, v.groupName(g))
		}
		u["groups"] = map[string]any{"size": len(items), "items": items}
	}
	apiJSON(rw, http.StatusOK, u)
}

// dcGroupsPicker serves /rest/api/2/groups/picker?query=&exclude=&maxResults=
// like Jira: groups whose name contains the query (any case), sorted by name,
// minus the excluded names, at most PickerLimit of them whatever maxResults
// asks (jira.ajax.autocomplete.limit), with the total of all matches.
func (s *Server) dcGroupsPicker(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	max, err := apiIntParam(q, "maxResults", DefaultPickerLimit)
	if err != nil || max < 0 {
		apiError(rw, http.StatusBadRequest, fmt.Sprintf("maxResults %q is not a non-negative number", q.Get("maxResults")))
		return
	}
	if limit := s.opts.DataCenter.PickerLimit; limit > 0 {
		max = min(max, limit)
	}
	query := strings.ToLower(q.Get("query"))
	excluded := map[string]bool{}
	for _, e := range q["exclude"] {
		excluded[strings.ToLower(e)] = true
	}
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	var match []*SimGroup
	for _, g := range v.w.Groups {
		name := strings.ToLower(g.Name)
		if !excluded[name] && (query == "" || strings.Contains(name, query)) {
			match = append(match, g)
		}
	}
	sort.SliceStable(match, func(i, j int) bool { return strings.ToLower(match[i].Name) < strings.ToLower(match[j].Name) })
	groups := []any{}
	for _, g := range slicePage(match, 0, max) {
		groups = append(groups, map[string]any{"name": g.Name, "html": g.Name, "labels": []any{}})
	}
	apiJSON(rw, http.StatusOK, map[string]any{
		"header": fmt.Sprintf("Showing %d of %d matching groups", len(groups), len(match)),
		"total":  len(match),
		"groups": groups,
	})
}

// dcProjects serves /rest/api/2/project (every project, one array).
func (s *Server) dcProjects(rw http.ResponseWriter, r *http.Request) {
	ex := parseExpand(r.URL.Query()["expand"]...)
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	out := []any{}
	for _, p := range v.w.Projects {
		out = append(out, v.project(p, ex))
	}
	apiJSON(rw, http.StatusOK, out)
}

type dcSearchRequest struct {
	JQL           string   `json:"jql"`
	StartAt       int      `json:"startAt"`
	MaxResults    *int     `json:"maxResults"`
	Fields        []string `json:"fields"`
	Expand        []string `json:"expand"`
	Properties    []string `json:"properties"`
	ValidateQuery any      `json:"validateQuery"`
	FieldsByKeys  bool     `json:"fieldsByKeys"`
}

func (s *Server) dcSearchGet(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	start, err := apiIntParam(q, "startAt", 0)
	if err != nil {
		apiError(rw, http.StatusBadRequest, err.Error())
		return
	}
	req := dcSearchRequest{JQL: q.Get("jql"), StartAt: start, Fields: q["fields"], Expand: q["expand"], Properties: q["properties"]}
	if req.MaxResults, err = optionalIntParam(q, "maxResults"); err != nil {
		apiError(rw, http.StatusBadRequest, err.Error())
		return
	}
	s.dcSearch(rw, r, req)
}

func (s *Server) dcSearchPost(rw http.ResponseWriter, r *http.Request) {
	var req dcSearchRequest
	if err := apiDecode(rw, r, 1<<20, &req); err != nil {
		apiBadBody(rw, err)
		return
	}
	s.dcSearch(rw, r, req)
}

func (s *Server) dcSearch(rw http.ResponseWriter, r *http.Request, req dcSearchRequest) {
	max := 50
	if req.MaxResults != nil {
		max = *req.MaxResults
	}
	if req.StartAt < 0 || max < 0 {
		apiError(rw, http.StatusBadRequest, fmt.Sprintf("startAt %d and maxResults %d must not be negative", req.StartAt, max))
		return
	}
	max = min(max, dcSearchMax)
	if req.StartAt+max > dcSearchWindow {
		apiError(rw, http.StatusBadRequest, fmt.Sprintf("Result window is too large: startAt (%d) + maxResults (%d) must be at most %d. Narrow the query (for example with updated or id ranges) instead of paging deeper.", req.StartAt, max, dcSearchWindow))
		return
	}
	v := s.view(r)
	fs := parseFields(req.Fields, "*navigable")
	ex := parseExpand(req.Expand...)
	s.world.RLock()
	defer s.world.RUnlock()
	issues, err := v.runJQL(req.JQL)
	if err != nil {
		apiError(rw, http.StatusBadRequest, err.Error())
		return
	}
	out := []any{}
	for _, is := range slicePage(issues, req.StartAt, max) {
		out = append(out, v.issue(is, fs, ex, req.Properties))
	}
	apiJSON(rw, http.StatusOK, map[string]any{
		"expand":     "schema,names",
		"startAt":    req.StartAt,
		"maxResults": max,
		"total":      len(issues),
		"issues":     out,
	})
}
