package jirasim

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"switchyard"
)

func newDCSim(t *testing.T, issues int) *testSim {
	return newTestSim(t, Options{GenerateOptions: GenerateOptions{Mode: switchyard.ModeDataCenter, Issues: issues}})
}

func TestDataCenterEndpoints(t *testing.T) {
	s := newDCSim(t, 150)
	w := s.srv.World()
	visible := s.visibleIssueKeys()

	// Cloud v3 paths do not exist on Data Center.
	for _, p := range []string{"/rest/api/3/myself", "/rest/api/3/search/jql", "/rest/api/3/project/search"} {
		s.getJSON(p, 404, nil)
	}
	var me map[string]any
	s.getJSON("/rest/api/2/myself", 200, &me)
	if me["name"] == nil || me["key"] == nil || me["accountId"] != nil {
		t.Fatalf("DC myself: %v", me)
	}

	w.RLock()
	nUsers, active := len(w.Users), 0
	for _, u := range w.Users {
		if u.Active {
			active++
		}
	}
	var group *SimGroup
	for _, g := range w.Groups {
		if group == nil || len(g.Members) > len(group.Members) {
			group = g
		}
	}
	nGroups := len(w.Groups)
	nProjects := len(w.Projects)
	pkey := w.Projects[0].Key
	w.RUnlock()

	var users []map[string]any
	for start := 0; ; start += 4 {
		var page []map[string]any
		s.getJSON(fmt.Sprintf("/rest/api/2/user/search?username=.&includeInactive=true&startAt=%d&maxResults=4", start), 200, &page)
		users = append(users, page...)
		if len(page) < 4 {
			break
		}
	}
	if len(users) != nUsers {
		t.Fatalf("DC user search: %d users, want %d", len(users), nUsers)
	}
	var act []map[string]any
	s.getJSON("/rest/api/2/user/search?username=.&maxResults=1000", 200, &act)
	if len(act) != active {
		t.Fatalf("DC user search without inactive: %d, want %d", len(act), active)
	}
	s.getJSON("/rest/api/2/user/search", 400, nil)

	var picker struct {
		Total  int
		Groups []struct{ Name string }
	}
	s.getJSON("/rest/api/2/groups/picker?maxResults=1000", 200, &picker)
	if picker.Total != nGroups || len(picker.Groups) != nGroups {
		t.Fatalf("groups picker: %+v", picker)
	}
	members, pages := s.pageAll("/rest/api/2/group/member?includeInactiveUsers=true&groupname="+strings.ReplaceAll(group.Name, " ", "%20"), 2)
	if len(members) != len(group.Members) || (len(group.Members) > 2 && pages < 2) {
		t.Fatalf("DC group members %d in %d pages, want %d", len(members), pages, len(group.Members))
	}

	var projects []map[string]any
	s.getJSON("/rest/api/2/project?expand=lead", 200, &projects)
	if len(projects) != nProjects {
		t.Fatalf("DC projects: %d", len(projects))
	}
	var grants struct {
		Permissions []struct {
			Permission string
			Holder     map[string]any
		}
	}
	w.RLock()
	scheme := w.Projects[0].PermissionSchemeID
	w.RUnlock()
	s.getJSON("/rest/api/2/permissionscheme/"+scheme+"?expand=permissions", 200, &grants)
	for _, g := range grants.Permissions {
		if _, ok := g.Holder["value"]; ok {
			t.Fatalf("DC holders have no value (group ids do not exist there): %v", g.Holder)
		}
	}
	s.getJSON("/rest/api/2/project/"+pkey+"/role", 200, nil)

	// Search pages with startAt/total and bodies are wiki text.
	var keys []string
	for start := 0; ; start += 25 {
		var r struct {
			StartAt, MaxResults, Total int
			Issues                     []struct {
				Key    string
				Fields struct {
					Description any
					Comment     struct{ Comments []struct{ Body any } }
				}
			}
		}
		s.call("POST", "/rest/api/2/search", map[string]any{"jql": "updated >= 0 ORDER BY updated ASC, id ASC", "startAt": start, "maxResults": 25, "fields": []string{"summary", "description", "comment", "updated"}}, 200, &r)
		if r.Total != len(visible) {
			t.Fatalf("total %d, want %d", r.Total, len(visible))
		}
		for _, is := range r.Issues {
			keys = append(keys, is.Key)
			if is.Fields.Description != nil {
				if _, ok := is.Fields.Description.(string); !ok {
					t.Fatalf("DC description is not wiki text: %T", is.Fields.Description)
				}
			}
			for _, c := range is.Fields.Comment.Comments {
				if _, ok := c.Body.(string); !ok {
					t.Fatalf("DC comment body is not wiki text: %T", c.Body)
				}
			}
		}
		if start+25 >= r.Total {
			break
		}
	}
	if len(keys) != len(visible) {
		t.Fatalf("DC search paged %d issues, want %d", len(keys), len(visible))
	}
	var e jiraErr
	s.call("POST", "/rest/api/2/search", map[string]any{"jql": "updated >= 0", "startAt": 9990, "maxResults": 50}, 400, &e)
	if !strings.Contains(e.ErrorMessages[0], "10000") {
		t.Fatalf("past 10,000: %v", e)
	}
	s.getJSON("/rest/api/2/search?jql=updated%3E%3D0&startAt=9000&maxResults=1000", 200, nil)
	s.call("POST", "/rest/api/2/search", map[string]any{"jql": "bogus = 1"}, 400, nil)

	// Add a wiki comment; it reads back as text.
	var c struct {
		ID   string
		Body string
	}
	s.call("POST", "/rest/api/2/issue/"+keys[0]+"/comment", map[string]any{"body": "Approved by *switchyard*."}, 201, &c)
	if c.ID == "" || !strings.Contains(c.Body, "Approved by") {
		t.Fatalf("DC comment: %+v", c)
	}
	s.call("POST", "/rest/api/2/issue/"+keys[0]+"/comment", map[string]any{"body": map[string]any{"type": "doc"}}, 400, nil)

	// Attachments come from /secure/attachment/{id}/{filename}.
	w.RLock()
	var att *SimAttachment
	for _, is := range w.Issues {
		if visible[is.Key] && len(is.Attachments) > 0 {
			att = is.Attachments[0]
			break
		}
	}
	w.RUnlock()
	var meta struct{ Content string }
	s.getJSON("/rest/api/2/attachment/"+att.ID, 200, &meta)
	resp, b := s.req("GET", strings.TrimPrefix(meta.Content, s.ts.URL), nil)
	if resp.StatusCode != 200 || string(b) != string(att.Content) {
		t.Fatalf("DC attachment content %s: %d", meta.Content, resp.StatusCode)
	}

	// Audit events.
	if err := w.DeleteIssue("", keys[1]); err != nil {
		t.Fatal(err)
	}
	var ev struct {
		Entities []struct {
			AffectedObjects []struct{ Name, Type string }
		}
		PagingInfo map[string]any
	}
	s.getJSON("/rest/auditing/1.0/events?limit=10", 200, &ev)
	found := false
	for _, e := range ev.Entities {
		for _, o := range e.AffectedObjects {
			found = found || o.Name == keys[1]
		}
	}
	if !found {
		b, _ := json.Marshal(ev)
		t.Fatalf("deleted %s not in DC audit events: %s", keys[1], b)
	}
}
