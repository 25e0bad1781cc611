package index

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"

	"switchyard"
)

// The table world: users and their groups, application roles.
var (
	tableViewers = map[string]Viewer{
		"alice":   {AccountID: "alice", Known: true, Active: true, Groups: []string{"g-eng", "g-app"}},
		"bob":     {AccountID: "bob", Known: true, Active: true, Groups: []string{"g-ops", "g-sd"}},
		"carol":   {AccountID: "carol", Known: true, Active: true},
		"dave":    {AccountID: "dave", Known: true, Active: false, Groups: []string{"g-eng", "g-ops", "g-app"}},
		"unknown": {},
	}
	tableAppRoles = []switchyard.ApplicationRole{{Key: "jira-software", Groups: []string{"g-app"}}, {Key: "jira-servicedesk", Groups: []string{"g-sd"}}}
	tableGroups   = map[string]string{"g-eng": "engineering", "g-ops": "operations", "g-app": "app-users", "g-sd": "sd-agents"}
)

func H(typ, param string) switchyard.Holder { return switchyard.Holder{Type: typ, Parameter: param} }

type holderCase struct {
	name    string
	project switchyard.Project // ID and Key are set from the case index
	issues  []switchyard.Issue // ID, Key and ProjectID are set from the case index
	// want lists, per user, the visible documents as "issue#", "issue#/c<id>" or "issue#/a<id>" (issue# is 1-based).
	want map[string][]string
}

func holderCases() []holderCase {
	plain := []switchyard.Issue{{}}
	roles := []switchyard.ProjectRole{
		{ID: "10001", Name: "Developers", Actors: switchyard.RoleActors{Users: []string{"carol"}, Groups: []string{"g-eng"}}},
		{ID: "10002", Name: "Administrators", Actors: switchyard.RoleActors{Users: []string{"bob"}}},
	}
	return []holderCase{
		{name: "anyone", project: switchyard.Project{Browse: []switchyard.Holder{H("anyone", "")}}, issues: plain,
			want: map[string][]string{"alice": {"1"}, "bob": {"1"}, "carol": {"1"}, "unknown": {"1"}}},
		{name: "applicationRole any", project: switchyard.Project{Browse: []switchyard.Holder{H("applicationRole", "")}}, issues: plain,
			want: map[string][]string{"alice": {"1"}, "bob": {"1"}}},
		{name: "applicationRole named", project: switchyard.Project{Browse: []switchyard.Holder{H("applicationRole", "jira-servicedesk")}}, issues: plain,
			want: map[string][]string{"bob": {"1"}}},
		{name: "applicationRole unknown key", project: switchyard.Project{Browse: []switchyard.Holder{H("applicationRole", "jira-core")}}, issues: plain,
			want: map[string][]string{}},
		{name: "group", project: switchyard.Project{Browse: []switchyard.Holder{H("group", "g-ops")}}, issues: plain,
			want: map[string][]string{"bob": {"1"}}},
		{name: "projectRole user and group actors", project: switchyard.Project{Roles: roles, Browse: []switchyard.Holder{H("projectRole", "10001")}}, issues: plain,
			want: map[string][]string{"alice": {"1"}, "carol": {"1"}}},
		{name: "projectRole of another id", project: switchyard.Project{Roles: roles, Browse: []switchyard.Holder{H("projectRole", "10009")}}, issues: plain,
			want: map[string][]string{}},
		{name: "user", project: switchyard.Project{Browse: []switchyard.Holder{H("user", "bob")}}, issues: plain,
			want: map[string][]string{"bob": {"1"}}},
		{name: "projectLead", project: switchyard.Project{LeadAccountID: "carol", Browse: []switchyard.Holder{H("projectLead", "")}}, issues: plain,
			want: map[string][]string{"carol": {"1"}}},
		{name: "reporter", project: switchyard.Project{Browse: []switchyard.Holder{H("reporter", "")}},
			issues: []switchyard.Issue{{Reporter: "alice"}, {}, {Reporter: "dave"}},
			want:   map[string][]string{"alice": {"1"}}},
		{name: "assignee", project: switchyard.Project{Browse: []switchyard.Holder{H("assignee", "")}},
			issues: []switchyard.Issue{{Assignee: "bob", Reporter: "alice"}, {}},
			want:   map[string][]string{"bob": {"1"}}},
		{name: "userCustomField", project: switchyard.Project{Browse: []switchyard.Holder{H("userCustomField", "customfield_1")}},
			issues: []switchyard.Issue{{CustomFields: map[string][]string{"customfield_1": {"carol", "x"}}}, {CustomFields: map[string][]string{"customfield_2": {"carol"}}}},
			want:   map[string][]string{"carol": {"1"}}},
		{name: "groupCustomField", project: switchyard.Project{Browse: []switchyard.Holder{H("groupCustomField", "customfield_2")}},
			issues: []switchyard.Issue{{CustomFields: map[string][]string{"customfield_2": {"g-ops"}}}, {CustomFields: map[string][]string{"customfield_1": {"g-ops"}}}, {CustomFields: map[string][]string{"customfield_2": {"g-eng", "g-sd"}}}},
			want:   map[string][]string{"bob": {"1", "3"}, "alice": {"3"}}},
		{name: "customer portal and unknown types grant nothing", project: switchyard.Project{Browse: []switchyard.Holder{H("sd.customer.portal.only", ""), H("weird", "alice"), H("group", "")}}, issues: plain,
			want: map[string][]string{}},
		{name: "security level by group", project: switchyard.Project{Browse: []switchyard.Holder{H("anyone", "")},
			SecurityLevels: []switchyard.SecurityLevel{{ID: "10100", Members: []switchyard.Holder{H("group", "g-ops")}}, {ID: "10101"}}},
			issues: []switchyard.Issue{{SecurityLevelID: "10100"}, {}, {SecurityLevelID: "10199"}, {SecurityLevelID: "10101"}},
			want:   map[string][]string{"alice": {"2"}, "bob": {"1", "2"}, "carol": {"2"}, "unknown": {"2"}}},
		{name: "security level with issue-dependent members", project: switchyard.Project{Roles: roles, Browse: []switchyard.Holder{H("projectRole", "10001"), H("reporter", "")},
			SecurityLevels: []switchyard.SecurityLevel{{ID: "10100", Members: []switchyard.Holder{H("reporter", ""), H("assignee", "")}}}},
			issues: []switchyard.Issue{{SecurityLevelID: "10100", Reporter: "bob"}, {SecurityLevelID: "10100", Reporter: "alice", Assignee: "carol"}, {Reporter: "bob"}},
			want:   map[string][]string{"alice": {"2", "3"}, "bob": {"1", "3"}, "carol": {"2", "3"}}},
		{name: "security level anyone member", project: switchyard.Project{Browse: []switchyard.Holder{H("group", "g-eng")},
			SecurityLevels: []switchyard.SecurityLevel{{ID: "7", Members: []switchyard.Holder{H("anyone", "")}}}},
			issues: []switchyard.Issue{{SecurityLevelID: "7"}},
			want:   map[string][]string{"alice": {"1"}}},
		{name: "comment visibility", project: switchyard.Project{Roles: roles, Browse: []switchyard.Holder{H("anyone", "")}},
			issues: []switchyard.Issue{{
				Comments: []switchyard.Comment{
					{ID: "1"},
					{ID: "2", Visibility: &switchyard.Visibility{Type: "group", Value: "engineering", Identifier: "g-eng"}},
					{ID: "3", Visibility: &switchyard.Visibility{Type: "role", Value: "Developers", Identifier: "Developers"}},
					{ID: "4", Visibility: &switchyard.Visibility{Type: "group", Value: "operations"}}, // Data Center: name only
					{ID: "5", Visibility: &switchyard.Visibility{Type: "role", Value: "Administrators", Identifier: "Administrators"}},
					{ID: "6", Visibility: &switchyard.Visibility{Type: "role", Value: "Nobody", Identifier: "Nobody"}},
					{ID: "7", Visibility: &switchyard.Visibility{Type: "weird", Value: "x"}},
				},
				Attachments: []switchyard.Attachment{{ID: "9", Filename: "a.log", Text: "attached words"}},
			}},
			want: map[string][]string{
				"alice":   {"1", "1/c1", "1/c2", "1/c3", "1/a9"},
				"bob":     {"1", "1/c1", "1/c4", "1/c5", "1/a9"},
				"carol":   {"1", "1/c1", "1/c3", "1/a9"},
				"unknown": {"1", "1/c1", "1/a9"},
			}},
		{name: "attachments and comments follow their issue", project: switchyard.Project{Browse: []switchyard.Holder{H("user", "carol")}},
			issues: []switchyard.Issue{{Comments: []switchyard.Comment{{ID: "1"}}, Attachments: []switchyard.Attachment{{ID: "2", Filename: "x.txt"}}}},
			want:   map[string][]string{"carol": {"1", "1/c1", "1/a2"}}},
		{name: "level id shared across projects resolves roles per project", project: switchyard.Project{Roles: []switchyard.ProjectRole{{ID: "10001", Name: "Developers", Actors: switchyard.RoleActors{Users: []string{"bob"}}}},
			Browse:         []switchyard.Holder{H("anyone", "")},
			SecurityLevels: []switchyard.SecurityLevel{{ID: "10100", Members: []switchyard.Holder{H("projectRole", "10001")}}}},
			issues: []switchyard.Issue{{SecurityLevelID: "10100"}},
			want:   map[string][]string{"bob": {"1"}}},
	}
}

// buildTable indexes every case as its own project and returns the permission data.
func buildTable(t *testing.T, idx *Index, cases []holderCase) *Permissions {
	t.Helper()
	perms := &Permissions{ApplicationRoles: tableAppRoles, Groups: tableGroups}
	var issues []switchyard.Issue
	for ci, c := range cases {
		p := c.project
		p.ID, p.Key = fmt.Sprint(20000+ci), fmt.Sprintf("C%d", ci)
		perms.Projects = append(perms.Projects, p)
		for ii, is := range c.issues {
			is.ID = fmt.Sprintf("%d%02d", 20000+ci, ii+1)
			is.Key = fmt.Sprintf("%s-%d", p.Key, ii+1)
			is.ProjectID, is.ProjectKey = p.ID, p.Key
			is.Summary = "table issue " + c.name
			is.Description = "common words for every document"
			for k := range is.Comments {
				is.Comments[k].Body = "comment common words"
			}
			issues = append(issues, is)
		}
	}
	if err := idx.IndexIssues(context.Background(), "t", issues); err != nil {
		t.Fatal(err)
	}
	return perms
}

// caseDocs maps a case's expected entries to document ids.
func caseDocs(ci int, entries []string) map[string]bool {
	out := map[string]bool{}
	for _, e := range entries {
		issueNo, child, _ := strings.Cut(e, "/")
		issueID := fmt.Sprintf("%d%02s", 20000+ci, fmt.Sprintf("%02s", issueNo))
		switch {
		case child == "":
			out[docID("t", TypeIssue, issueID)] = true
		case child[0] == 'c':
			out[docID("t", TypeComment, issueID, child[1:])] = true
		case child[0] == 'a':
			out[docID("t", TypeAttachment, issueID, child[1:])] = true
		}
	}
	return out
}

func TestHolderTable(t *testing.T) {
	idx, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	cases := holderCases()
	perms := buildTable(t, idx, cases)
	for user, v := range tableViewers {
		got := searchAll(t, idx, SearchRequest{Connection: "t", Viewer: &v, Permissions: perms})
		for ci, c := range cases {
			prefix := fmt.Sprint(20000 + ci)
			gotCase := map[string]bool{}
			for id := range got {
				parts := strings.Split(id, "/")
				if strings.HasPrefix(parts[2], prefix) && len(parts[2]) == len(prefix)+2 {
					gotCase[id] = true
				}
			}
			leaks, misses := diffSets(gotCase, caseDocs(ci, c.want[user]))
			if len(leaks) > 0 || len(misses) > 0 {
				t.Errorf("%s, as %s: leaks %v, misses %v", c.name, user, leaks, misses)
			}
		}
	}
}

// TestPermissionChangesNeedNoReindex: membership, role, grant and level
// changes apply from the permission data alone.
func TestPermissionChangesNeedNoReindex(t *testing.T) {
	idx, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	cases := holderCases()
	perms := buildTable(t, idx, cases)
	visible := func(v Viewer, p *Permissions) []string {
		got := searchAll(t, idx, SearchRequest{Connection: "t", Viewer: &v, Permissions: p, Projects: []string{"C4"}})
		var ids []string
		for id := range got {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		return ids
	}
	carol := tableViewers["carol"]
	if got := visible(carol, perms); len(got) != 0 {
		t.Fatalf("carol sees %v in the g-ops project before joining", got)
	}
	carol.Groups = append(carol.Groups, "g-ops") // membership change
	if got := visible(carol, perms); len(got) != 1 {
		t.Fatalf("carol after joining g-ops: %v, want the one issue", got)
	}
	p2 := *perms
	p2.Projects = append([]switchyard.Project(nil), perms.Projects...)
	p2.Projects[4].Browse = []switchyard.Holder{H("user", "alice")} // grant change
	if got := visible(carol, &p2); len(got) != 0 {
		t.Fatalf("carol after the grant moved to alice: %v", got)
	}
	if got := visible(tableViewers["alice"], &p2); len(got) != 1 {
		t.Fatalf("alice after the grant: %v", got)
	}
}

func TestInactiveAndUnknownViewers(t *testing.T) {
	idx, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	perms := buildTable(t, idx, holderCases())
	res, err := idx.Search(context.Background(), SearchRequest{Connection: "t", Viewer: &Viewer{AccountID: "dave", Known: true}, Permissions: perms})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 0 || len(res.Hits) != 0 {
		t.Fatalf("inactive user sees %d documents", res.Total)
	}
	// Known=false ignores an account id: anonymous requests cannot claim one.
	forged := Viewer{AccountID: "alice", Groups: []string{"g-eng"}}
	got := searchAll(t, idx, SearchRequest{Connection: "t", Viewer: &forged, Permissions: perms})
	anon := searchAll(t, idx, SearchRequest{Connection: "t", Viewer: &Viewer{}, Permissions: perms})
	if leaks, misses := diffSets(got, anon); len(leaks)+len(misses) > 0 {
		t.Fatalf("unknown viewer with an account id differs from anonymous: %v %v", leaks, misses)
	}
}
