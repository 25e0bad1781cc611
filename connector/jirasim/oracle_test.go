package jirasim

import (
	"testing"

	"switchyard"
)

// oracleWorld is a small hand-built world where each user stands for one way
// of matching a holder.
func oracleWorld(browse []switchyard.Holder, levels []switchyard.SecurityLevel, levelID string, comments ...*SimComment) *World {
	u := func(id string, active bool) *SimUser {
		return &SimUser{User: switchyard.User{AccountID: id, DisplayName: id, Active: active, AccountType: "atlassian"}}
	}
	g := func(id string, members ...string) *SimGroup {
		return &SimGroup{Group: switchyard.Group{ID: id, Name: "name-" + id, Members: members}}
	}
	p := &SimProject{ProjectTypeKey: "software", IssueTypes: []string{"Task"}}
	p.ID, p.Key, p.Name, p.LeadAccountID = "10000", "P", "Proj", "lead"
	p.Roles = []switchyard.ProjectRole{
		{ID: RoleDevelopers, Name: "Developers", Actors: switchyard.RoleActors{Users: []string{"erin"}, Groups: []string{"g-rolegrp"}}},
		{ID: RoleAdministrators, Name: "Administrators", Actors: switchyard.RoleActors{Users: []string{}, Groups: []string{}}},
	}
	p.Browse = browse
	p.SecurityLevels = levels
	other := &SimProject{ProjectTypeKey: "software", IssueTypes: []string{"Task"}}
	other.ID, other.Key, other.Name, other.LeadAccountID = "10001", "Q", "Other", "bob"
	other.Browse = []switchyard.Holder{{Type: switchyard.HolderAnyone}}
	iss := &SimIssue{ID: "10000", Key: "P-1", ProjectID: "10000", Summary: "s", Reporter: "rep", Assignee: "asg",
		SecurityLevelID: levelID, Created: BaseTime, Updated: BaseTime,
		CustomFields: map[string][]string{FieldUserPicker: {"ufld"}, FieldGroupPicker: {"g-cf"}}, Comments: comments}
	w := &World{
		Users: []*SimUser{u("alice", true), u("bob", true), u("carol", false), u("dave", true), u("erin", true), u("frank", true),
			u("lead", true), u("rep", true), u("asg", true), u("ufld", true), u("gmem", true)},
		Groups: []*SimGroup{g("g-it", "alice", "carol"), g("g-app", "dave"), g("g-rolegrp", "frank"), g("g-cf", "gmem")},
		ApplicationRoles: []*switchyard.ApplicationRole{
			{Key: "jira-software", Groups: []string{"g-app"}}, {Key: "jira-servicedesk", Groups: []string{"g-it"}}},
		Projects: []*SimProject{p, other},
		Issues:   []*SimIssue{iss},
		keySeq:   map[string]int{},
	}
	w.reindex()
	return w
}

func H(t, p string) switchyard.Holder { return switchyard.Holder{Type: t, Parameter: p} }

func TestCanSeeBrowseHolders(t *testing.T) {
	tests := []struct {
		name   string
		browse []switchyard.Holder
		yes    []string // accounts that see P-1
		no     []string // accounts that do not
	}{
		{"anyone", []switchyard.Holder{H("anyone", "")}, []string{"bob", "zzz-unknown", ""}, []string{"carol"}},
		{"applicationRole key", []switchyard.Holder{H("applicationRole", "jira-software")}, []string{"dave"}, []string{"alice", "bob", "zzz-unknown", ""}},
		{"applicationRole any", []switchyard.Holder{H("applicationRole", "")}, []string{"dave", "alice"}, []string{"bob", "carol", "zzz-unknown"}},
		{"applicationRole unknown key", []switchyard.Holder{H("applicationRole", "jira-core")}, nil, []string{"dave", "alice"}},
		{"group", []switchyard.Holder{H("group", "g-it")}, []string{"alice"}, []string{"bob", "carol", "dave", "zzz-unknown"}},
		{"group by name does not match", []switchyard.Holder{H("group", "name-g-it")}, nil, []string{"alice"}},
		{"projectRole user and group actors", []switchyard.Holder{H("projectRole", RoleDevelopers)}, []string{"erin", "frank"}, []string{"bob", "alice", "zzz-unknown"}},
		{"projectRole other role", []switchyard.Holder{H("projectRole", RoleAdministrators)}, nil, []string{"erin", "frank"}},
		{"projectRole unknown id", []switchyard.Holder{H("projectRole", "99999")}, nil, []string{"erin"}},
		{"user", []switchyard.Holder{H("user", "alice")}, []string{"alice"}, []string{"bob", ""}},
		{"projectLead", []switchyard.Holder{H("projectLead", "")}, []string{"lead"}, []string{"bob"}},
		{"reporter", []switchyard.Holder{H("reporter", "")}, []string{"rep"}, []string{"asg", "", "zzz-unknown"}},
		{"assignee", []switchyard.Holder{H("assignee", "")}, []string{"asg"}, []string{"rep"}},
		{"userCustomField", []switchyard.Holder{H("userCustomField", FieldUserPicker)}, []string{"ufld"}, []string{"bob", "gmem"}},
		{"userCustomField other field", []switchyard.Holder{H("userCustomField", "customfield_99999")}, nil, []string{"ufld"}},
		{"groupCustomField", []switchyard.Holder{H("groupCustomField", FieldGroupPicker)}, []string{"gmem"}, []string{"bob", "ufld"}},
		{"groupCustomField on a user field", []switchyard.Holder{H("groupCustomField", FieldUserPicker)}, nil, []string{"gmem", "ufld"}},
		{"sd.customer.portal.only never", []switchyard.Holder{H("sd.customer.portal.only", "")}, nil, []string{"alice", "rep", "bob"}},
		{"unknown holder type never", []switchyard.Holder{H("madeUpHolder", "alice"), H("everyone", "")}, nil, []string{"alice", "bob"}},
		{"no grants", nil, nil, []string{"alice", "lead"}},
		{"holders are OR-ed", []switchyard.Holder{H("user", "bob"), H("group", "g-it")}, []string{"bob", "alice"}, []string{"dave"}},
		{"inactive sees nothing even with a direct grant", []switchyard.Holder{H("user", "carol"), H("group", "g-it")}, []string{"alice"}, []string{"carol"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := oracleWorld(tt.browse, nil, "")
			for _, a := range tt.yes {
				if !w.CanSee(a, "P-1", "") {
					t.Errorf("%q should see P-1", a)
				}
			}
			for _, a := range tt.no {
				if w.CanSee(a, "P-1", "") {
					t.Errorf("%q should not see P-1", a)
				}
			}
		})
	}
}

func TestCanSeeSecurityLevels(t *testing.T) {
	level := func(members ...switchyard.Holder) []switchyard.SecurityLevel {
		return []switchyard.SecurityLevel{{ID: "10100", Name: "L", Members: members}}
	}
	tests := []struct {
		name    string
		browse  []switchyard.Holder
		levels  []switchyard.SecurityLevel
		levelID string
		yes, no []string
	}{
		{"level narrows anyone", []switchyard.Holder{H("anyone", "")}, level(H("group", "g-it")), "10100", []string{"alice"}, []string{"bob", "zzz-unknown", ""}},
		{"both must match", []switchyard.Holder{H("group", "g-it")}, level(H("reporter", "")), "10100", nil, []string{"alice", "rep"}},
		{"reporter member", []switchyard.Holder{H("anyone", "")}, level(H("reporter", ""), H("projectRole", RoleDevelopers)), "10100", []string{"rep", "erin", "frank"}, []string{"asg", "bob"}},
		{"anyone member admits unknown", []switchyard.Holder{H("anyone", "")}, level(H("anyone", "")), "10100", []string{"zzz-unknown", "bob"}, []string{"carol"}},
		{"custom field members", []switchyard.Holder{H("anyone", "")}, level(H("userCustomField", FieldUserPicker), H("groupCustomField", FieldGroupPicker)), "10100", []string{"ufld", "gmem"}, []string{"bob"}},
		{"unknown member type", []switchyard.Holder{H("anyone", "")}, level(H("weird", "")), "10100", nil, []string{"alice", "bob"}},
		{"level the project lacks admits nobody", []switchyard.Holder{H("anyone", "")}, level(H("anyone", "")), "10999", nil, []string{"alice", "zzz-unknown"}},
		{"level defined but not set", []switchyard.Holder{H("anyone", "")}, level(H("group", "g-it")), "", []string{"bob"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := oracleWorld(tt.browse, tt.levels, tt.levelID)
			for _, a := range tt.yes {
				if !w.CanSee(a, "P-1", "") {
					t.Errorf("%q should see P-1", a)
				}
			}
			for _, a := range tt.no {
				if w.CanSee(a, "P-1", "") {
					t.Errorf("%q should not see P-1", a)
				}
			}
		})
	}
}

func TestCanSeeComments(t *testing.T) {
	c := func(id string, v *switchyard.Visibility) *SimComment {
		return &SimComment{ID: id, Author: "alice", Created: BaseTime, Updated: BaseTime, Visibility: v}
	}
	comments := []*SimComment{
		c("1", nil),
		c("2", &switchyard.Visibility{Type: "group", Value: "name-g-it", Identifier: "g-it"}),
		c("3", &switchyard.Visibility{Type: "role", Value: "Developers", Identifier: "Developers"}),
		c("4", &switchyard.Visibility{Type: "role", Value: "Nope", Identifier: "Nope"}),
		c("5", &switchyard.Visibility{Type: "group", Value: "name-g-it", Identifier: "name-g-it"}), // identifier must be the id
		c("6", &switchyard.Visibility{Type: "mystery", Value: "x", Identifier: "x"}),
	}
	tests := []struct {
		name    string
		browse  []switchyard.Holder
		comment string
		yes, no []string
	}{
		{"public follows issue", []switchyard.Holder{H("anyone", "")}, "1", []string{"bob", "zzz-unknown", ""}, []string{"carol"}},
		{"group restricted", []switchyard.Holder{H("anyone", "")}, "2", []string{"alice"}, []string{"bob", "carol", "zzz-unknown", ""}},
		{"role restricted: user and group actors", []switchyard.Holder{H("anyone", "")}, "3", []string{"erin", "frank"}, []string{"bob", "alice", ""}},
		{"role the project lacks", []switchyard.Holder{H("anyone", "")}, "4", nil, []string{"alice", "erin"}},
		{"group by name in identifier", []switchyard.Holder{H("anyone", "")}, "5", nil, []string{"alice"}},
		{"unknown visibility type", []switchyard.Holder{H("anyone", "")}, "6", nil, []string{"alice", "bob"}},
		{"issue hidden hides comment", []switchyard.Holder{H("user", "bob")}, "2", nil, []string{"alice"}},
		{"unknown comment", []switchyard.Holder{H("anyone", "")}, "999", nil, []string{"alice", "bob"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := oracleWorld(tt.browse, nil, "", comments...)
			for _, a := range tt.yes {
				if !w.CanSee(a, "P-1", tt.comment) {
					t.Errorf("%q should see comment %s", a, tt.comment)
				}
			}
			for _, a := range tt.no {
				if w.CanSee(a, "P-1", tt.comment) {
					t.Errorf("%q should not see comment %s", a, tt.comment)
				}
			}
		})
	}
}

func TestCanSeeResolvesIssue(t *testing.T) {
	w := oracleWorld([]switchyard.Holder{H("anyone", "")}, nil, "")
	if !w.CanSee("bob", "10000", "") || !w.CanSee("bob", "p-1", "") {
		t.Error("issue should resolve by id and case-insensitive key")
	}
	if w.CanSee("bob", "P-2", "") || w.CanSee("bob", "", "") {
		t.Error("unknown issue must not be visible")
	}
	// After a move the old key still answers, with the new project's grants.
	if _, err := w.MoveIssue("lead", "P-1", "Q"); err != nil {
		t.Fatal(err)
	}
	if w.CanSee("carol", "Q-1", "") {
		t.Error("inactive user sees moved issue")
	}
	if !w.CanSee("zzz-unknown", "P-1", "") || !w.CanSee("zzz-unknown", "Q-1", "") {
		t.Error("moved issue: old and new key should both resolve to the issue in Q (anyone)")
	}
}
