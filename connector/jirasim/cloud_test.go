package jirasim

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"testing"

	"switchyard"
)

type pageBeanResp struct {
	IsLast     bool              `json:"isLast"`
	StartAt    int               `json:"startAt"`
	MaxResults int               `json:"maxResults"`
	Total      int               `json:"total"`
	NextPage   string            `json:"nextPage"`
	Values     []json.RawMessage `json:"values"`
}

// pageAll follows startAt/isLast paging and returns every value and the page count.
func (s *testSim) pageAll(path string, max int) ([]json.RawMessage, int) {
	s.t.Helper()
	var all []json.RawMessage
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for pages, start := 1, 0; ; pages++ {
		var p pageBeanResp
		s.getJSON(fmt.Sprintf("%s%sstartAt=%d&maxResults=%d", path, sep, start, max), 200, &p)
		if len(p.Values) > p.MaxResults {
			s.t.Fatalf("%s: page of %d values exceeds maxResults %d", path, len(p.Values), p.MaxResults)
		}
		all = append(all, p.Values...)
		if p.IsLast {
			if p.NextPage != "" {
				s.t.Fatalf("%s: last page has nextPage", path)
			}
			return all, pages
		}
		if len(p.Values) == 0 || pages > 10000 {
			s.t.Fatalf("%s: not last but empty page at %d", path, start)
		}
		start += len(p.Values)
	}
}

func TestUsersSearchPagesUntilShort(t *testing.T) {
	s := newTestSim(t, Options{})
	w := s.srv.World()
	w.RLock()
	want := len(w.Users)
	w.RUnlock()
	seen := map[string]bool{}
	pages := 0
	for start := 0; ; start += 3 {
		var page []map[string]any
		s.getJSON(fmt.Sprintf("/rest/api/3/users/search?startAt=%d&maxResults=3", start), 200, &page)
		pages++
		for _, u := range page {
			seen[u["accountId"].(string)] = true
		}
		if len(page) < 3 {
			break
		}
	}
	if len(seen) != want || pages < 3 {
		t.Fatalf("saw %d users in %d pages, want %d in several pages", len(seen), pages, want)
	}
	// maxResults is capped at 1000.
	var big []map[string]any
	s.getJSON("/rest/api/3/users/search?maxResults=5000", 200, &big)
	if len(big) != min(want, 1000) {
		t.Fatalf("maxResults=5000 gave %d users", len(big))
	}
	// Hidden emails are omitted, visible ones present.
	hidden, shown := 0, 0
	for _, u := range big {
		if _, ok := u["emailAddress"]; ok {
			shown++
		} else {
			hidden++
		}
	}
	if hidden == 0 || shown == 0 {
		t.Fatalf("expected some hidden and some visible emails, got hidden=%d shown=%d", hidden, shown)
	}
	s.getJSON("/rest/api/3/users/search?startAt=-1", 400, nil)
	s.getJSON("/rest/api/3/users/search?maxResults=abc", 400, nil)
}

func TestGroupsAndMembers(t *testing.T) {
	s := newTestSim(t, Options{})
	w := s.srv.World()
	w.RLock()
	var big *SimGroup
	for _, g := range w.Groups {
		if big == nil || len(g.Members) > len(big.Members) {
			big = g
		}
	}
	active, all := 0, len(big.Members)
	for _, m := range big.Members {
		if w.UserByID(m).Active {
			active++
		}
	}
	nGroups := len(w.Groups)
	var someUser string
	for _, m := range big.Members {
		someUser = m
	}
	wantGroups := len(w.GroupsOfUser(someUser))
	w.RUnlock()

	groups, pages := s.pageAll("/rest/api/3/group/bulk", 2)
	if len(groups) != nGroups || pages < 2 {
		t.Fatalf("group/bulk: %d groups in %d pages, want %d", len(groups), pages, nGroups)
	}
	members, pages := s.pageAll("/rest/api/3/group/member?groupId="+big.ID, 3)
	if len(members) != active || pages < 2 {
		t.Fatalf("group/member: %d members in %d pages, want %d active", len(members), pages, active)
	}
	withInactive, _ := s.pageAll("/rest/api/3/group/member?includeInactiveUsers=true&groupname="+url.QueryEscape(strings.ToUpper(big.Name)), 50)
	if len(withInactive) != all {
		t.Fatalf("with inactive: %d, want %d", len(withInactive), all)
	}
	var capped pageBeanResp
	s.getJSON("/rest/api/3/group/member?groupId="+big.ID+"&maxResults=500", 200, &capped)
	if capped.MaxResults != 50 {
		t.Fatalf("group/member maxResults cap: %d, want 50", capped.MaxResults)
	}
	s.getJSON("/rest/api/3/group/member?groupId=nope", 404, nil)
	s.getJSON("/rest/api/3/group/member", 400, nil)

	var ug []map[string]any
	s.getJSON("/rest/api/3/user/groups?accountId="+someUser, 200, &ug)
	if len(ug) != wantGroups || ug[0]["groupId"] == "" {
		t.Fatalf("user/groups: %v, want %d groups", ug, wantGroups)
	}
	s.getJSON("/rest/api/3/user/groups", 400, nil)
	s.getJSON("/rest/api/3/user/groups?accountId=nobody", 404, nil)

	var roles []map[string]any
	s.getJSON("/rest/api/3/applicationrole", 200, &roles)
	if len(roles) == 0 || roles[0]["key"] == "" {
		t.Fatalf("applicationrole: %v", roles)
	}
}

func TestProjectsRolesPermissions(t *testing.T) {
	s := newTestSim(t, Options{GenerateOptions: GenerateOptions{Projects: 5}})
	projects, pages := s.pageAll("/rest/api/3/project/search?expand=lead", 2)
	if len(projects) != 5 || pages != 3 {
		t.Fatalf("project/search: %d projects in %d pages", len(projects), pages)
	}
	var p0 map[string]any
	json.Unmarshal(projects[0], &p0)
	if p0["lead"] == nil {
		t.Fatalf("expand=lead missing lead: %v", p0)
	}
	var capped pageBeanResp
	s.getJSON("/rest/api/3/project/search?maxResults=1000", 200, &capped)
	if capped.MaxResults != 100 {
		t.Fatalf("project/search cap: %d", capped.MaxResults)
	}

	w := s.srv.World()
	w.RLock()
	p := w.Projects[0]
	role := p.Roles[len(p.Roles)-1]
	for _, r := range p.Roles {
		if len(r.Actors.Users)+len(r.Actors.Groups) > len(role.Actors.Users)+len(role.Actors.Groups) {
			role = r
		}
	}
	browse := append([]switchyard.Holder(nil), p.Browse...)
	key, scheme := p.Key, p.PermissionSchemeID
	groupName := map[string]string{}
	for _, g := range w.Groups {
		groupName[g.ID] = g.Name
	}
	w.RUnlock()

	var links map[string]string
	s.getJSON("/rest/api/3/project/"+key+"/role", 200, &links)
	if !strings.HasSuffix(links[role.Name], "/role/"+role.ID) {
		t.Fatalf("role links: %v", links)
	}
	var got struct {
		ID     int64 `json:"id"`
		Actors []struct {
			Type       string                      `json:"type"`
			ActorUser  *struct{ AccountID string } `json:"actorUser"`
			ActorGroup *struct{ GroupID string }   `json:"actorGroup"`
		} `json:"actors"`
	}
	s.getJSON("/rest/api/3/project/"+key+"/role/"+role.ID, 200, &got)
	var users, groups []string
	for _, a := range got.Actors {
		switch a.Type {
		case "atlassian-user-role-actor":
			users = append(users, a.ActorUser.AccountID)
		case "atlassian-group-role-actor":
			groups = append(groups, a.ActorGroup.GroupID)
		default:
			t.Fatalf("actor type %q", a.Type)
		}
	}
	if fmt.Sprint(users) != fmt.Sprint(role.Actors.Users) || fmt.Sprint(groups) != fmt.Sprint(role.Actors.Groups) {
		t.Fatalf("actors users=%v groups=%v, want %v %v", users, groups, role.Actors.Users, role.Actors.Groups)
	}
	s.getJSON("/rest/api/3/project/"+key+"/role/99999", 404, nil)
	s.getJSON("/rest/api/3/project/NOPE/role", 404, nil)

	var ps struct {
		ID int64 `json:"id"`
	}
	s.getJSON("/rest/api/3/project/"+key+"/permissionscheme", 200, &ps)
	if fmt.Sprint(ps.ID) != scheme {
		t.Fatalf("scheme id %d, want %s", ps.ID, scheme)
	}
	var grants struct {
		Permissions []struct {
			Permission string
			Holder     struct{ Type, Parameter, Value string }
		}
	}
	s.getJSON("/rest/api/3/permissionscheme/"+scheme+"?expand=permissions", 200, &grants)
	var gotBrowse []switchyard.Holder
	for _, g := range grants.Permissions {
		if g.Permission != switchyard.PermissionBrowseProject {
			continue
		}
		h := switchyard.Holder{Type: g.Holder.Type, Parameter: g.Holder.Value}
		if h.Type == switchyard.HolderGroup && g.Holder.Parameter != groupName[g.Holder.Value] {
			t.Fatalf("group holder parameter %q should be the name of %q", g.Holder.Parameter, g.Holder.Value)
		}
		gotBrowse = append(gotBrowse, h)
	}
	if fmt.Sprint(gotBrowse) != fmt.Sprint(browse) {
		t.Fatalf("BROWSE_PROJECTS grants %v, want %v", gotBrowse, browse)
	}
	s.getJSON("/rest/api/3/permissionscheme/abc", 400, nil)
	s.getJSON("/rest/api/3/permissionscheme/424242", 404, nil)
}

func TestIssueSecurity(t *testing.T) {
	s := newTestSim(t, Options{GenerateOptions: GenerateOptions{Projects: 4}})
	w := s.srv.World()
	w.RLock()
	var sp *SimProject
	var plain string
	for _, p := range w.Projects {
		if p.SecuritySchemeID != "" && sp == nil {
			sp = p
		}
		if p.SecuritySchemeID == "" {
			plain = p.Key
		}
	}
	if sp == nil {
		w.RUnlock()
		t.Fatal("no project with issue security")
	}
	levels := append([]switchyard.SecurityLevel(nil), sp.SecurityLevels...)
	key, scheme := sp.Key, sp.SecuritySchemeID
	w.RUnlock()
	var sch struct {
		ID     int64 `json:"id"`
		Levels []struct{ ID, Name string }
	}
	s.getJSON("/rest/api/3/project/"+key+"/issuesecuritylevelscheme", 200, &sch)
	if fmt.Sprint(sch.ID) != scheme || len(sch.Levels) != len(levels) {
		t.Fatalf("security scheme: %+v", sch)
	}
	if plain != "" {
		s.getJSON("/rest/api/3/project/"+plain+"/issuesecuritylevelscheme", 404, nil)
	}
	wantMembers := 0
	for _, l := range levels {
		wantMembers += len(l.Members)
	}
	members, _ := s.pageAll("/rest/api/3/issuesecurityschemes/level/member?schemeId="+scheme, 1)
	if len(members) != wantMembers {
		t.Fatalf("level members: %d, want %d", len(members), wantMembers)
	}
	members2, _ := s.pageAll("/rest/api/3/issuesecurityschemes/"+scheme+"/members", 2)
	if len(members2) != wantMembers {
		t.Fatalf("scheme members: %d, want %d", len(members2), wantMembers)
	}
	one, _ := s.pageAll("/rest/api/3/issuesecurityschemes/"+scheme+"/members?issueSecurityLevelId="+levels[0].ID, 50)
	if len(one) != len(levels[0].Members) {
		t.Fatalf("members of level %s: %d, want %d", levels[0].ID, len(one), len(levels[0].Members))
	}
}

type searchResp struct {
	Issues        []map[string]any `json:"issues"`
	NextPageToken string           `json:"nextPageToken"`
	IsLast        bool             `json:"isLast"`
	Total         *int             `json:"total"`
}

// searchAll pages POST /search/jql and returns the issue ids and page count.
func (s *testSim) searchAll(jql string, max int, fields []string) ([]string, int) {
	s.t.Helper()
	var ids []string
	tok := ""
	for pages := 1; ; pages++ {
		body := map[string]any{"jql": jql, "maxResults": max}
		if fields != nil {
			body["fields"] = fields
		}
		if tok != "" {
			body["nextPageToken"] = tok
		}
		var r searchResp
		s.call("POST", "/rest/api/3/search/jql", body, 200, &r)
		if r.Total != nil {
			s.t.Fatalf("search/jql must not report a total")
		}
		for _, is := range r.Issues {
			ids = append(ids, is["id"].(string))
		}
		if r.NextPageToken == "" {
			if !r.IsLast {
				s.t.Fatal("no nextPageToken but isLast false")
			}
			return ids, pages
		}
		tok = r.NextPageToken
	}
}

func TestSearchJQLPagingAndVisibility(t *testing.T) {
	s := newTestSim(t, Options{GenerateOptions: GenerateOptions{Projects: 3, Issues: 150}})
	w := s.srv.World()
	w.RLock()
	hiddenKey := w.Projects[1].Key
	var other string
	for _, u := range w.Users {
		if u.AccountID != w.AdminAccountID() && u.Active {
			other = u.AccountID
			break
		}
	}
	w.RUnlock()
	// Hide a whole project from the admin: only another user may browse it.
	if err := w.SetBrowseGrants("", hiddenKey, []switchyard.Holder{{Type: switchyard.HolderUser, Parameter: other}}); err != nil {
		t.Fatal(err)
	}
	visible := s.visibleIssueKeys()

	ids, pages := s.searchAll("updated >= 0 ORDER BY updated ASC, id ASC", 17, nil)
	if len(ids) != len(visible) || pages < 5 {
		t.Fatalf("search returned %d ids in %d pages; oracle says %d visible", len(ids), pages, len(visible))
	}
	w.RLock()
	prev := int64(-1)
	seen := map[string]bool{}
	for _, id := range ids {
		is := w.IssueByIDOrKey(id)
		if is == nil || !visible[is.Key] || seen[id] {
			w.RUnlock()
			t.Fatalf("search returned %s: unknown, invisible or duplicate", id)
		}
		seen[id] = true
		if ms := is.Updated.UnixMilli(); ms < prev {
			w.RUnlock()
			t.Fatalf("not ordered by updated")
		} else {
			prev = ms
		}
	}
	var hiddenIssue string
	for _, is := range w.Issues {
		if !visible[is.Key] {
			hiddenIssue = is.Key
			break
		}
	}
	w.RUnlock()
	if hiddenIssue == "" {
		t.Fatal("nothing hidden")
	}
	s.getJSON("/rest/api/3/issue/"+hiddenIssue, 404, nil)
	s.getJSON("/rest/api/3/issue/"+hiddenIssue+"/comment", 404, nil)
	var bf struct {
		Issues      []map[string]any
		IssueErrors []struct{ ID, ErrorMessage string }
	}
	s.call("POST", "/rest/api/3/issue/bulkfetch", map[string]any{"issueIdsOrKeys": []string{hiddenIssue, ids[0]}}, 200, &bf)
	if len(bf.Issues) != 1 || len(bf.IssueErrors) != 1 || bf.IssueErrors[0].ID != hiddenIssue {
		t.Fatalf("bulkfetch with a hidden issue: %+v", bf)
	}
	// The hidden project's name is still valid JQL, but yields nothing.
	if got, _ := s.searchAll("project = "+hiddenKey, 50, nil); len(got) != 0 {
		t.Fatalf("hidden project search returned %d", len(got))
	}

	// Default fields are only the id; with fields, pages cap at 100; ids-only at 5000.
	var r searchResp
	s.call("POST", "/rest/api/3/search/jql", map[string]any{"jql": "updated >= 0", "maxResults": 1}, 200, &r)
	if len(r.Issues) != 1 || len(r.Issues[0]) != 1 || r.Issues[0]["id"] == nil {
		t.Fatalf("default fields: %v", r.Issues)
	}
	s.call("POST", "/rest/api/3/search/jql", map[string]any{"jql": "updated >= 0", "maxResults": 5000, "fields": []string{"summary"}}, 200, &r)
	if len(r.Issues) != 100 {
		t.Fatalf("fields page: %d issues, want cap 100", len(r.Issues))
	}
	r = searchResp{}
	s.call("POST", "/rest/api/3/search/jql", map[string]any{"jql": "updated >= 0", "maxResults": 5000}, 200, &r)
	if len(r.Issues) != len(visible) || r.NextPageToken != "" {
		t.Fatalf("ids page: %d issues, want all %d", len(r.Issues), len(visible))
	}

	// GET variant, and a token replayed against another query is refused.
	var g searchResp
	s.getJSON("/rest/api/3/search/jql?jql="+url.QueryEscape("updated >= 0")+"&maxResults=2&fields=summary,updated", 200, &g)
	if len(g.Issues) != 2 || g.NextPageToken == "" || g.Issues[0]["fields"].(map[string]any)["summary"] == nil {
		t.Fatalf("GET search/jql: %+v", g)
	}
	s.call("POST", "/rest/api/3/search/jql", map[string]any{"jql": "created >= 0", "nextPageToken": g.NextPageToken}, 400, nil)
	s.call("POST", "/rest/api/3/search/jql", map[string]any{"jql": "created >= 0", "nextPageToken": "garbage!"}, 400, nil)

	var cnt struct{ Count int }
	s.call("POST", "/rest/api/3/search/approximate-count", map[string]any{"jql": "updated >= 0"}, 200, &cnt)
	if cnt.Count != len(visible) {
		t.Fatalf("approximate-count %d, want %d", cnt.Count, len(visible))
	}
}

func TestSearchErrors(t *testing.T) {
	s := newTestSim(t, Options{})
	tests := []struct {
		name, jql string
		msg       string
	}{
		{"unbounded empty", "", "Unbounded JQL queries are not allowed here"},
		{"unbounded order only", "ORDER BY updated DESC", "Unbounded JQL queries are not allowed here"},
		{"unknown field", "assignee = currentUser()", "Field 'assignee' does not exist"},
		{"unknown project", "project = NOPE", "The value 'NOPE' does not exist for the field 'project'."},
		{"syntax", "project = ITSM AND", "Expecting"},
		{"unterminated", `project = "ITSM`, "has not been completed"},
		{"bad date", "updated >= yesterday", "Date value 'yesterday'"},
		{"bad operator", "project > ITSM", "operator '>'"},
		{"injection stays a value", `project = "ITSM\" OR project = \"OPS"`, "does not exist for the field 'project'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e jiraErr
			s.call("POST", "/rest/api/3/search/jql", map[string]any{"jql": tt.jql}, 400, &e)
			if len(e.ErrorMessages) != 1 || !strings.Contains(e.ErrorMessages[0], tt.msg) || e.Errors == nil {
				t.Fatalf("errors %+v, want message containing %q", e, tt.msg)
			}
		})
	}
	s.call("POST", "/rest/api/3/search/jql", `{"jql":"project = ITSM","bogus":1}`, 400, nil)
	s.call("POST", "/rest/api/3/search/jql", `{not json`, 400, nil)
	s.call("POST", "/rest/api/3/issue/bulkfetch", map[string]any{"issueIdsOrKeys": make([]string, 101)}, 400, nil)
	s.call("POST", "/rest/api/3/issue/bulkfetch", map[string]any{"issueIdsOrKeys": []string{}}, 400, nil)
	for _, p := range []string{"/rest/api/3/search", "/rest/api/2/search"} {
		for _, m := range []string{"GET", "POST"} {
			resp, b := s.req(m, p+"?jql=project%3DITSM", nil)
			if resp.StatusCode != 410 || !strings.Contains(string(b), "search/jql") {
				t.Fatalf("%s %s: %d %s, want 410", m, p, resp.StatusCode, b)
			}
		}
	}
}

func TestIssueAndComments(t *testing.T) {
	s := newTestSim(t, Options{GenerateOptions: GenerateOptions{Issues: 200}})
	w := s.srv.World()
	admin := w.AdminAccountID()
	w.RLock()
	var many *SimIssue
	for _, is := range w.Issues {
		if w.CanSeeLocked(admin, is, nil) && (many == nil || len(is.Comments) > len(many.Comments)) {
			many = is
		}
	}
	key, id := many.Key, many.ID
	visibleComments := 0
	for _, c := range many.Comments {
		if w.CanSeeLocked(admin, many, c) {
			visibleComments++
		}
	}
	w.RUnlock()
	// Add comments until the issue has more than 20 visible ones.
	for visibleComments <= 25 {
		if _, err := w.AddComment("", key, TextToADF(fmt.Sprintf("note %d", visibleComments)), nil); err != nil {
			t.Fatal(err)
		}
		visibleComments++
	}
	var is struct {
		ID, Key string
		Fields  struct {
			Comment struct {
				Comments   []map[string]any
				Total      int
				MaxResults int
			}
			Description map[string]any
			Attachment  []map[string]any
		}
		RenderedFields map[string]any `json:"renderedFields"`
	}
	s.getJSON("/rest/api/3/issue/"+key+"?expand=renderedFields", 200, &is)
	if is.ID != id || len(is.Fields.Comment.Comments) != 20 || is.Fields.Comment.Total != visibleComments || is.Fields.Comment.MaxResults != 20 {
		t.Fatalf("embedded comments: %d of %d (max %d), want 20 of %d", len(is.Fields.Comment.Comments), is.Fields.Comment.Total, is.Fields.Comment.MaxResults, visibleComments)
	}
	if is.Fields.Description["type"] != "doc" {
		t.Fatalf("description is not ADF: %v", is.Fields.Description)
	}
	if h, _ := is.RenderedFields["description"].(string); !strings.Contains(h, "<") {
		t.Fatalf("renderedFields.description is not HTML: %q", h)
	}
	// Page the rest of the comments.
	var got []string
	for start := 0; ; start += 7 {
		var page struct {
			Comments []struct{ ID string }
			Total    int
			StartAt  int
		}
		s.getJSON(fmt.Sprintf("/rest/api/3/issue/%s/comment?startAt=%d&maxResults=7", key, start), 200, &page)
		if page.Total != visibleComments || page.StartAt != start {
			t.Fatalf("comment page: total %d startAt %d", page.Total, page.StartAt)
		}
		for _, c := range page.Comments {
			got = append(got, c.ID)
		}
		if start+7 >= page.Total {
			break
		}
	}
	if len(got) != visibleComments || !sort.SliceIsSorted(got, func(i, j int) bool { return apiIDNum(got[i]) < apiIDNum(got[j]) }) {
		t.Fatalf("paged %d comments, want %d in order", len(got), visibleComments)
	}
	s.getJSON("/rest/api/3/issue/"+key+"/comment?orderBy=name", 400, nil)

	// Fields selection.
	var sel struct{ Fields map[string]any }
	s.getJSON("/rest/api/3/issue/"+key+"?fields=summary,status", 200, &sel)
	if len(sel.Fields) != 2 || sel.Fields["summary"] == nil || sel.Fields["status"] == nil {
		t.Fatalf("fields=summary,status: %v", sel.Fields)
	}
	s.getJSON("/rest/api/3/issue/"+key+"?fields=*all,-comment", 200, &sel)
	if _, ok := sel.Fields["comment"]; ok || sel.Fields["summary"] == nil {
		t.Fatalf("fields=*all,-comment: has comment")
	}
}

func TestRestrictedCommentsHidden(t *testing.T) {
	s := newTestSim(t, Options{})
	w := s.srv.World()
	w.RLock()
	var key, groupID, groupName string
	for _, is := range w.Issues {
		if w.CanSeeLocked(w.AdminAccountID(), is, nil) {
			key = is.Key
			break
		}
	}
	// A group the admin is not in.
	for _, g := range w.Groups {
		if !apiHasStr(g.Members, w.AdminAccountID()) {
			groupID, groupName = g.ID, g.Name
			break
		}
	}
	w.RUnlock()
	c, err := w.AddComment("", key, TextToADF("secret note"), &switchyard.Visibility{Type: "group", Value: groupName, Identifier: groupID})
	if err != nil {
		t.Fatal(err)
	}
	b := s.call("GET", "/rest/api/3/issue/"+key+"/comment?maxResults=100", nil, 200, nil)
	if strings.Contains(string(b), `"id":"`+c.ID+`"`) {
		t.Fatalf("restricted comment %s visible to a non-member", c.ID)
	}
	if err := w.AddGroupMember("", groupID, w.AdminAccountID()); err != nil {
		t.Fatal(err)
	}
	b = s.call("GET", "/rest/api/3/issue/"+key+"/comment?maxResults=100", nil, 200, nil)
	if !strings.Contains(string(b), `"id":"`+c.ID+`"`) || !strings.Contains(string(b), `"identifier":"`+groupID+`"`) {
		t.Fatalf("restricted comment hidden from a member, or visibility missing")
	}
}

func TestAttachmentsAndAudit(t *testing.T) {
	s := newTestSim(t, Options{})
	w := s.srv.World()
	w.RLock()
	var att *SimAttachment
	for _, is := range w.Issues {
		if len(is.Attachments) > 0 && w.CanSeeLocked(w.AdminAccountID(), is, nil) {
			att = is.Attachments[0]
			break
		}
	}
	w.RUnlock()
	var meta struct {
		ID       int64
		Filename string
		Size     int
		Content  string
	}
	s.getJSON("/rest/api/3/attachment/"+att.ID, 200, &meta)
	if meta.Filename != att.Filename || meta.Size != len(att.Content) || !strings.HasSuffix(meta.Content, "/attachment/content/"+att.ID) {
		t.Fatalf("attachment meta %+v", meta)
	}
	resp, b := s.req("GET", strings.TrimPrefix(meta.Content, s.ts.URL), nil)
	if resp.StatusCode != 200 || string(b) != string(att.Content) || resp.Header.Get("Content-Type") != att.MimeType {
		t.Fatalf("content: %d %s %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(b))
	}
	s.getJSON("/rest/api/3/attachment/999999999", 404, nil)

	// Delete issues: each lands in the audit log as ISSUE_DELETE with the key.
	w.RLock()
	var keys []string
	for _, is := range w.Issues[:5] {
		keys = append(keys, is.Key)
	}
	w.RUnlock()
	for _, k := range keys {
		if err := w.DeleteIssue("", k); err != nil {
			t.Fatal(err)
		}
	}
	var names []string
	for off := 0; ; off += 2 {
		var page struct {
			Offset, Limit, Total int
			Records              []struct {
				ObjectItem struct{ ID, Name, TypeName string }
			}
		}
		s.getJSON(fmt.Sprintf("/rest/api/3/auditing/record?offset=%d&limit=2&filter=deleted", off), 200, &page)
		for _, r := range page.Records {
			if r.ObjectItem.TypeName == "ISSUE_DELETE" {
				names = append(names, r.ObjectItem.Name)
			}
		}
		if off+2 >= page.Total {
			break
		}
	}
	sort.Strings(names)
	sort.Strings(keys)
	if fmt.Sprint(names) != fmt.Sprint(keys) {
		t.Fatalf("audit ISSUE_DELETE names %v, want %v", names, keys)
	}
	s.getJSON("/rest/api/3/issue/"+keys[0], 404, nil)
	s.getJSON("/rest/api/3/auditing/record?from="+url.QueryEscape("2999-01-01T00:00:00.000+0000"), 200, nil)
	s.getJSON("/rest/api/3/auditing/record?from=yesterday", 400, nil)
	if err := s.srv.SetKnobs(Knobs{AuditForbidden: true}); err != nil {
		t.Fatal(err)
	}
	s.getJSON("/rest/api/3/auditing/record", 403, nil)
}

func TestWritesCommentPropertiesTransitions(t *testing.T) {
	s := newTestSim(t, Options{})
	w := s.srv.World()
	w.RLock()
	var key, status string
	for _, is := range w.Issues {
		if w.CanSeeLocked(w.AdminAccountID(), is, nil) {
			key, status = is.Key, is.Status
			break
		}
	}
	w.RUnlock()
	adf := json.RawMessage(`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Runbook approved."}]}]}`)
	var c struct {
		ID         string
		Properties []struct {
			Key   string
			Value map[string]any
		}
	}
	s.call("POST", "/rest/api/3/issue/"+key+"/comment", map[string]any{"body": adf, "properties": []any{map[string]any{"key": "switchyard", "value": map[string]any{"run": "r-1"}}}}, 201, &c)
	if c.ID == "" || len(c.Properties) != 1 || c.Properties[0].Value["run"] != "r-1" {
		t.Fatalf("add comment: %+v", c)
	}
	var prop struct {
		Key   string
		Value map[string]any
	}
	s.getJSON("/rest/api/3/comment/"+c.ID+"/properties/switchyard", 200, &prop)
	if prop.Value["run"] != "r-1" {
		t.Fatalf("comment property %+v", prop)
	}
	s.call("PUT", "/rest/api/3/comment/"+c.ID+"/properties/switchyard", map[string]any{"run": "r-2"}, 200, nil)
	s.call("PUT", "/rest/api/3/comment/"+c.ID+"/properties/other", map[string]any{"x": 1}, 201, nil)
	s.getJSON("/rest/api/3/comment/"+c.ID+"/properties/missing", 404, nil)
	s.call("PUT", "/rest/api/3/comment/"+c.ID+"/properties/big", `"`+strings.Repeat("x", 40000)+`"`, 413, nil)
	s.call("PUT", "/rest/api/3/comment/"+c.ID+"/properties/bad", `{not json`, 400, nil)

	s.call("PUT", "/rest/api/3/issue/"+key+"/properties/switchyard.state", map[string]any{"v": 1}, 201, nil)
	s.getJSON("/rest/api/3/issue/"+key+"/properties/switchyard.state", 200, &prop)
	if prop.Key != "switchyard.state" || prop.Value["v"] != float64(1) {
		t.Fatalf("issue property %+v", prop)
	}

	// Bad comment bodies change nothing.
	s.call("POST", "/rest/api/3/issue/"+key+"/comment", map[string]any{"body": "plain text is not ADF"}, 400, nil)
	s.call("POST", "/rest/api/3/issue/"+key+"/comment", map[string]any{"body": adf, "visibility": map[string]any{"type": "group", "value": "no-such-group"}}, 400, nil)
	s.call("POST", "/rest/api/3/issue/"+key+"/comment", map[string]any{"body": adf, "extra": 1}, 400, nil)
	s.call("POST", "/rest/api/3/issue/NOPE-1/comment", map[string]any{"body": adf}, 404, nil)

	var tr struct {
		Transitions []struct {
			ID, Name string
			To       struct{ Name string }
		}
	}
	s.getJSON("/rest/api/3/issue/"+key+"/transitions", 200, &tr)
	if len(tr.Transitions) == 0 {
		t.Fatal("no transitions")
	}
	target := tr.Transitions[len(tr.Transitions)-1]
	if target.To.Name == status {
		t.Fatal("transition to the current status offered")
	}
	s.call("POST", "/rest/api/3/issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": target.ID}}, 204, nil)
	var after struct {
		Fields struct{ Status struct{ Name string } }
	}
	s.getJSON("/rest/api/3/issue/"+key+"?fields=status", 200, &after)
	if after.Fields.Status.Name != target.To.Name {
		t.Fatalf("status after transition %q, want %q", after.Fields.Status.Name, target.To.Name)
	}
	s.call("POST", "/rest/api/3/issue/"+key+"/transitions", map[string]any{"transition": map[string]any{"id": "999"}}, 400, nil)
	s.call("POST", "/rest/api/3/issue/"+key+"/transitions", map[string]any{}, 400, nil)
}

func TestDynamicWebhooks(t *testing.T) {
	s := newTestSim(t, Options{})
	tok := "Bearer " + oauthBearer(t, s)
	gw := "/ex/jira/" + s.srv.Options().CloudID + "/rest/api/3/webhook"
	body := map[string]any{"url": "http://127.0.0.1:1/hook", "webhooks": []any{
		map[string]any{"events": []string{"jira:issue_created", "comment_created"}, "jqlFilter": "project = ITSM"},
		map[string]any{"events": []string{"jira:issue_updated"}, "jqlFilter": "nosuch = 1"},
	}}
	// Admin (Basic) callers may not use dynamic webhooks.
	s.call("POST", "/rest/api/3/webhook", body, 403, nil)
	resp, b := s.req("POST", gw, body, tok)
	var reg struct {
		WebhookRegistrationResult []struct {
			CreatedWebhookID int64    `json:"createdWebhookId"`
			Errors           []string `json:"errors"`
		}
	}
	json.Unmarshal(b, &reg)
	if resp.StatusCode != 200 || len(reg.WebhookRegistrationResult) != 2 || reg.WebhookRegistrationResult[0].CreatedWebhookID == 0 || len(reg.WebhookRegistrationResult[1].Errors) == 0 {
		t.Fatalf("register: %d %s", resp.StatusCode, b)
	}
	id := reg.WebhookRegistrationResult[0].CreatedWebhookID
	hooks := w0(s.srv.World().ListWebhooks())
	if len(hooks) != 1 || !hooks[0].Dynamic || hooks[0].Expires.IsZero() || hooks[0].JQLFilter != "project = ITSM" {
		t.Fatalf("world webhooks: %+v", hooks)
	}
	_, b = s.req("GET", gw, nil, tok)
	if !strings.Contains(string(b), fmt.Sprintf(`"id":%d`, id)) || !strings.Contains(string(b), `"expirationDate":`) {
		t.Fatalf("list: %s", b)
	}
	before := hooks[0].Expires
	resp, b = s.req("PUT", gw+"/refresh", map[string]any{"webhookIds": []int64{id}}, tok)
	if resp.StatusCode != 200 || !s.srv.World().ListWebhooks()[0].Expires.After(before) {
		t.Fatalf("refresh: %d %s", resp.StatusCode, b)
	}
	if resp, _ := s.req("DELETE", gw, map[string]any{"webhookIds": []int64{id + 100}}, tok); resp.StatusCode != 400 {
		t.Fatalf("delete unknown: %d", resp.StatusCode)
	}
	if resp, _ := s.req("DELETE", gw, map[string]any{"webhookIds": []int64{id}}, tok); resp.StatusCode != 202 || len(s.srv.World().ListWebhooks()) != 0 {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
}

func w0(hs []Webhook) []Webhook { return hs }

func TestMovedIssueAndAvatars(t *testing.T) {
	s := newTestSim(t, Options{})
	w := s.srv.World()
	admin := w.AdminAccountID()
	w.RLock()
	// A project the admin may browse: it holds a visible issue without a level.
	browsable := map[string]bool{}
	for _, is := range w.Issues {
		if is.SecurityLevelID == "" && w.CanSeeLocked(admin, is, nil) {
			browsable[is.ProjectID] = true
		}
	}
	var key, toKey string
	for _, is := range w.Issues {
		if is.SecurityLevelID != "" || !w.CanSeeLocked(admin, is, nil) {
			continue
		}
		for _, p := range w.Projects {
			if p.ID != is.ProjectID && browsable[p.ID] {
				key, toKey = is.Key, p.Key
			}
		}
		if key != "" {
			break
		}
	}
	w.RUnlock()
	if key == "" {
		t.Fatal("the generated world has no two projects the admin may browse")
	}
	moved, err := w.MoveIssue("", key, toKey)
	if err != nil {
		t.Fatal(err)
	}
	newKey := moved.Key
	var got struct{ Key string }
	s.getJSON("/rest/api/3/issue/"+key+"?fields=summary", 200, &got)
	if got.Key != newKey || got.Key == key {
		t.Fatalf("old key %s resolved to %q, want %s", key, got.Key, newKey)
	}
	var me struct{ AvatarUrls map[string]string }
	s.getJSON("/rest/api/3/myself", 200, &me)
	resp, b := s.req("GET", strings.TrimPrefix(me.AvatarUrls["48x48"], s.ts.URL), nil)
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" || len(b) == 0 {
		t.Fatalf("avatar: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
}

func TestWebhookJQLMatcher(t *testing.T) {
	s := newTestSim(t, Options{})
	w := s.srv.World()
	w.RLock()
	defer w.RUnlock()
	is := w.Issues[0]
	p := w.ProjectByID(is.ProjectID)
	if !s.srv.webhookJQLMatch("project = "+p.Key, is) {
		t.Fatal("filter on the issue's project did not match")
	}
	if s.srv.webhookJQLMatch("project != "+p.Key, is) || s.srv.webhookJQLMatch("bogus = 1", is) {
		t.Fatal("non-matching or invalid filter matched")
	}
}

func TestOversizedBody(t *testing.T) {
	s := newTestSim(t, Options{})
	big := `{"jql":"project = ITSM","expand":"` + strings.Repeat("x", 2<<20) + `"}`
	var e jiraErr
	s.call("POST", "/rest/api/3/search/jql", big, 413, &e)
	if len(e.ErrorMessages) == 0 || !strings.Contains(e.ErrorMessages[0], "larger than") {
		t.Fatalf("413 body: %+v", e)
	}
}
