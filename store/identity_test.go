package store

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"switchyard"
)

func testProjects() []switchyard.Project {
	return []switchyard.Project{
		{
			ID: "10000", Key: "ITSM", Name: "IT Service Desk", LeadAccountID: "u1",
			Roles: []switchyard.ProjectRole{
				{ID: "10002", Name: "Service Desk Team", Actors: switchyard.RoleActors{Users: []string{"u1", "u2"}, Groups: []string{"g1"}}},
				{ID: "10003", Name: "Viewers", Actors: switchyard.RoleActors{Users: []string{}, Groups: []string{}}},
			},
			Browse: []switchyard.Holder{
				{Type: switchyard.HolderGroup, Parameter: "g1"},
				{Type: switchyard.HolderProjectRole, Parameter: "10002"},
				{Type: switchyard.HolderReporter},
				{Type: switchyard.HolderApplicationRole, Parameter: ""},
				{Type: "someFutureType", Parameter: "x"},
			},
			SecurityLevels: []switchyard.SecurityLevel{
				{ID: "10100", Name: "Confidential", Members: []switchyard.Holder{{Type: switchyard.HolderProjectRole, Parameter: "10002"}, {Type: switchyard.HolderAssignee}}},
				{ID: "10101", Name: "Empty", Members: []switchyard.Holder{}},
			},
		},
		{
			ID: "10001", Key: "HR", Name: "HR", Roles: []switchyard.ProjectRole{},
			Browse:         []switchyard.Holder{{Type: switchyard.HolderAnyone}},
			SecurityLevels: []switchyard.SecurityLevel{},
		},
	}
}

func TestUsersGroupsRoles(t *testing.T) { eachDriver(t, testUsersGroupsRoles) }

func testUsersGroupsRoles(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	users := []switchyard.User{
		{AccountID: "u1", DisplayName: "Sarah", Email: "Sarah.Chen@Example.com", Active: true, AccountType: "atlassian"},
		{AccountID: "u2", DisplayName: "Hidden", Active: true, AccountType: "atlassian"},
		{AccountID: "u3", DisplayName: "Gone", Email: "gone@example.com", Active: false, AccountType: "atlassian"},
	}
	if err := db.ReplaceUsers(ctx, "c", users); err != nil {
		t.Fatal(err)
	}
	v1, _ := db.IdentityVersion(ctx, "c")
	u, err := db.UserByEmail(ctx, "c", "sarah.chen@example.COM")
	if err != nil || u.AccountID != "u1" {
		t.Errorf("UserByEmail case-insensitive: %+v %v", u, err)
	}
	if _, err := db.UserByEmail(ctx, "other", "sarah.chen@example.com"); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("email in another connection: %v", err)
	}
	if _, err := db.UserByEmail(ctx, "c", ""); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("empty email: %v", err)
	}
	if u, err := db.User(ctx, "c", "u2"); err != nil || u.Email != "" || u.DisplayName != "Hidden" {
		t.Errorf("user with hidden email: %+v %v", u, err)
	}
	if u, _ := db.User(ctx, "c", "u3"); u.Active {
		t.Error("inactive user stored active")
	}
	// Replace is replace-all.
	if err := db.ReplaceUsers(ctx, "c", users[:1]); err != nil {
		t.Fatal(err)
	}
	if _, err := db.User(ctx, "c", "u2"); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("u2 survived a replace: %v", err)
	}
	if v2, _ := db.IdentityVersion(ctx, "c"); v2 <= v1 {
		t.Errorf("identity version %d did not grow from %d", v2, v1)
	}
	if err := db.ReplaceUsers(ctx, "c", []switchyard.User{{AccountID: "x"}, {AccountID: "x"}}); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("duplicate users: %v", err)
	}
	if us, _ := db.Users(ctx, "c"); len(us) != 1 {
		t.Errorf("bad replace changed users: %+v", us)
	}

	groups := []switchyard.Group{
		{ID: "g1", Name: "jira-software-users", Members: []string{"u1", "u2"}},
		{ID: "g2", Name: "admins", Members: []string{"u1"}},
		{ID: "g3", Name: "empty", Members: nil},
	}
	if err := db.ReplaceGroups(ctx, "c", groups); err != nil {
		t.Fatal(err)
	}
	if gs, _ := db.GroupsOfUser(ctx, "c", "u1"); !reflect.DeepEqual(gs, []string{"g1", "g2"}) {
		t.Errorf("GroupsOfUser(u1) = %v", gs)
	}
	if gs, _ := db.GroupsOfUser(ctx, "c", "nobody"); len(gs) != 0 {
		t.Errorf("GroupsOfUser(nobody) = %v", gs)
	}
	got, _ := db.Groups(ctx, "c")
	groups[2].Members = []string{}
	if !reflect.DeepEqual(got, groups) {
		t.Errorf("Groups = %+v", got)
	}
	db.ReplaceGroups(ctx, "c", groups[1:])
	if gs, _ := db.GroupsOfUser(ctx, "c", "u2"); len(gs) != 0 {
		t.Errorf("membership survived group removal: %v", gs)
	}

	roles := []switchyard.ApplicationRole{{Key: "jira-software", Groups: []string{"g1", "g2"}}, {Key: "jira-servicedesk", Groups: []string{}}}
	if err := db.ReplaceApplicationRoles(ctx, "c", roles); err != nil {
		t.Fatal(err)
	}
	gotRoles, _ := db.ApplicationRoles(ctx, "c")
	want := []switchyard.ApplicationRole{{Key: "jira-servicedesk", Groups: []string{}}, {Key: "jira-software", Groups: []string{"g1", "g2"}}}
	if !reflect.DeepEqual(gotRoles, want) {
		t.Errorf("ApplicationRoles = %+v", gotRoles)
	}
	if r, _ := db.ApplicationRoles(ctx, "other"); len(r) != 0 {
		t.Errorf("roles leak across connections: %+v", r)
	}
}

func TestProjectsRoundTrip(t *testing.T) { eachDriver(t, testProjectsRoundTrip) }

func testProjectsRoundTrip(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	in := testProjects()
	if err := db.ReplaceProjects(ctx, "c", in); err != nil {
		t.Fatal(err)
	}
	got, err := db.Projects(ctx, "c")
	if err != nil {
		t.Fatal(err)
	}
	// Ordered by key: HR before ITSM. Browse keeps its order (unknown types too).
	want := []switchyard.Project{in[1], in[0]}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Projects:\n got %+v\nwant %+v", got, want)
	}
	p, err := db.Project(ctx, "c", "ITSM")
	if err != nil || p.ID != "10000" {
		t.Errorf("Project(ITSM) = %+v %v", p, err)
	}
	// Replace drops roles, grants and levels of removed projects.
	if err := db.ReplaceProjects(ctx, "c", in[1:]); err != nil {
		t.Fatal(err)
	}
	var n int
	db.read.QueryRow(`SELECT (SELECT COUNT(*) FROM role_actors) + (SELECT COUNT(*) FROM browse_grants WHERE project_id = '10000') + (SELECT COUNT(*) FROM security_level_members)`).Scan(&n)
	if n != 0 {
		t.Errorf("%d orphan rows after replace", n)
	}
	bad := testProjects()
	bad[0].Roles = append(bad[0].Roles, bad[0].Roles[0])
	if err := db.ReplaceProjects(ctx, "c", bad); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("duplicate role: %v", err)
	}
	if ps, _ := db.Projects(ctx, "c"); len(ps) != 1 {
		t.Errorf("bad replace changed projects: %d", len(ps))
	}
	if _, err := db.Project(ctx, "c", "ITSM"); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("removed project: %v", err)
	}
}

func TestCountsAndConnections(t *testing.T) { eachDriver(t, testCountsAndConnections) }

func testCountsAndConnections(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	db.ReplaceUsers(ctx, "a", []switchyard.User{{AccountID: "1"}, {AccountID: "2"}})
	db.ReplaceGroups(ctx, "a", []switchyard.Group{{ID: "g"}})
	db.ReplaceProjects(ctx, "b", testProjects())
	db.PutIssue(ctx, "b", testIssue("1", "ITSM-1"))
	ca, _ := db.Counts(ctx, "a")
	cb, _ := db.Counts(ctx, "b")
	if ca != (Counts{Users: 2, Groups: 1}) {
		t.Errorf("counts a = %+v", ca)
	}
	if cb != (Counts{Projects: 2, Issues: 1, Comments: 1, Attachments: 1, AttachmentsPending: 1}) {
		t.Errorf("counts b = %+v", cb)
	}
	if names, _ := db.Connections(ctx); !reflect.DeepEqual(names, []string{"a", "b"}) {
		t.Errorf("Connections = %v", names)
	}
}
