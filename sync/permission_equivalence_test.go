package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector/jirasim"
	"switchyard/index"
)

// TestSearchEqualsOracle is the permission guarantee across the real pieces:
// the simulator over HTTP, the sync engine, SQLite and bleve on disk. For
// worlds from several seeds (every holder type, security levels, restricted
// comments, hidden emails, inactive users), the set of documents each user
// can find with a match-everything query must equal what the simulator's
// oracle allows: zero leaks, zero misses. Then memberships, role actors,
// grants, security-level members and activity change in Jira, one incremental
// sync runs, and the sets must match again.
func TestSearchEqualsOracle(t *testing.T) {
	seeds := []int64{3, 11, 29}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			s := startSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: seed, Projects: 5, Issues: 60}})
			h := newHarness(t, s.jira(4), allScope(), Settings{Concurrency: 4, PageSize: 50, Overlap: time.Minute})
			h.idx.Source = NewPermissionSource(h.db)
			h.sync(false)
			checkSearchEqualsOracle(t, s, h, "after the full sync")

			mutatePermissions(t, s, rand.New(rand.NewPCG(uint64(seed), 99)))
			if rs := h.sync(false); rs.Full {
				t.Fatalf("second run was full (%s); want incremental", rs.Reason)
			}
			checkSearchEqualsOracle(t, s, h, "after permission changes and one incremental sync")
		})
	}
}

// docKey names a searchable document the way both sides can compute it.
func docKey(typ, issueKey, sub string) string { return typ + " " + issueKey + " " + sub }

func checkSearchEqualsOracle(t *testing.T, s *sim, h *harness, when string) {
	t.Helper()
	checkSearchEqualsOracleFn(t, s, h, when, nil)
}

// checkSearchEqualsOracleFn is checkSearchEqualsOracle where hidden, when
// set, names issues Switchyard must hide whatever the oracle says (levels
// whose members Jira does not tell: fail closed).
func checkSearchEqualsOracleFn(t *testing.T, s *sim, h *harness, when string, hidden func(jirasim.StateIssue) bool) {
	t.Helper()
	ctx := context.Background()
	st := s.state()
	w := s.srv.World()
	accounts := []string{"", "557058:not-a-user"} // no user, and an unknown one
	for _, u := range st.Users {
		accounts = append(accounts, u.AccountID)
	}
	var checked, visible int
	for _, acct := range accounts {
		want := map[string]bool{}
		for _, is := range st.Issues {
			if !w.CanSee(acct, is.Key, "") || (hidden != nil && hidden(is)) {
				continue
			}
			want[docKey("issue", is.Key, "")] = true
			for _, a := range is.Attachments {
				if w.CanSeeAttachment(acct, is.Key, a.ID) {
					want[docKey("attachment", is.Key, a.ID)] = true
				}
			}
			for _, c := range is.Comments {
				if w.CanSee(acct, is.Key, c.ID) {
					want[docKey("comment", is.Key, c.ID)] = true
				}
			}
		}
		got := searchAll(t, ctx, h.idx, acct)
		var leaks, misses []string
		for k := range got {
			if !want[k] {
				leaks = append(leaks, k)
			}
		}
		for k := range want {
			if !got[k] {
				misses = append(misses, k)
			}
		}
		if len(leaks)+len(misses) > 0 {
			sort.Strings(leaks)
			sort.Strings(misses)
			t.Fatalf("%s, as %q: %d leaks %v, %d misses %v", when, acct, len(leaks), head(leaks, 5), len(misses), head(misses, 5))
		}
		checked++
		visible += len(want)
	}
	if visible == 0 {
		t.Fatalf("%s: nobody may see anything; the comparison proves nothing", when)
	}
	crossCheckHTTPOracle(t, s, st)
	t.Logf("%s: %d viewers, %d visible documents in all, equal to the oracle", when, checked, visible)
}

// searchAll pages through a match-everything search as acct.
func searchAll(t *testing.T, ctx context.Context, idx *index.Index, acct string) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	for from := 0; ; from += index.MaxSize {
		res, err := idx.Search(ctx, index.SearchRequest{Connection: "acme", AsUser: acct, From: from, Size: index.MaxSize})
		if err != nil {
			t.Fatalf("search as %q: %v", acct, err)
		}
		for _, hit := range res.Hits {
			sub := hit.CommentID
			if hit.Type == "attachment" {
				sub = hit.AttachmentID
			}
			got[docKey(hit.Type, hit.Key, sub)] = true
		}
		if len(res.Hits) < index.MaxSize {
			return got
		}
		if from+index.MaxSize >= index.MaxWindow {
			t.Fatalf("search as %q: more than %d documents; use a smaller world", acct, index.MaxWindow)
		}
	}
}

// crossCheckHTTPOracle samples (account, issue, comment) triples and checks the
// in-process oracle used above answers exactly like GET /_sim/can-see.
func crossCheckHTTPOracle(t *testing.T, s *sim, st jirasim.State) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	w := s.srv.World()
	for i := 0; i < 40; i++ {
		u := st.Users[r.IntN(len(st.Users))]
		is := st.Issues[r.IntN(len(st.Issues))]
		q := url.Values{"account": {u.AccountID}, "issue": {is.Key}}
		comment := ""
		if len(is.Comments) > 0 && r.IntN(2) == 0 {
			comment = is.Comments[r.IntN(len(is.Comments))].ID
			q.Set("comment", comment)
		}
		resp, err := http.Get(s.url + "/_sim/can-see?" + q.Encode())
		if err != nil {
			t.Fatal(err)
		}
		var v struct {
			Visible bool `json:"visible"`
		}
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("can-see %s: status %d, %v", q.Encode(), resp.StatusCode, err)
		}
		if v.Visible != w.CanSee(u.AccountID, is.Key, comment) {
			t.Fatalf("GET /_sim/can-see?%s = %v, World.CanSee disagrees", q.Encode(), v.Visible)
		}
	}
}

// mutatePermissions changes who may see what in the simulated Jira, keeping
// the sync account's own access (so that the sync still copies everything):
// group membership both ways, a role actor, a project's browse grants, a
// security level's members and a user's activity.
func mutatePermissions(t *testing.T, s *sim, r *rand.Rand) {
	t.Helper()
	w := s.srv.World()
	admin := s.admin()
	st := s.state()

	var adminGroup string
	var people []string
	for _, g := range st.Groups {
		if g.Name == jirasim.GroupAdministrators {
			adminGroup = g.GroupID
		}
	}
	for _, u := range st.Users {
		if u.Active && u.AccountID != admin && u.AccountType == "atlassian" {
			people = append(people, u.AccountID)
		}
	}
	if adminGroup == "" || len(people) < 3 {
		t.Fatalf("world lacks the admin group or people: %q, %d", adminGroup, len(people))
	}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	// Membership: someone joins a group, someone else leaves one.
	type membership struct{ group, account string }
	var joins, leaves []membership
	for _, g := range st.Groups {
		if g.GroupID == adminGroup {
			continue
		}
		in := map[string]bool{}
		for _, m := range g.Members {
			in[m] = true
			if m != admin {
				leaves = append(leaves, membership{g.GroupID, m})
			}
		}
		for _, p := range people {
			if !in[p] {
				joins = append(joins, membership{g.GroupID, p})
			}
		}
	}
	if len(joins) == 0 || len(leaves) == 0 {
		t.Fatalf("no membership to add (%d) or remove (%d)", len(joins), len(leaves))
	}
	join, leave := joins[r.IntN(len(joins))], leaves[r.IntN(len(leaves))]
	must("add member", w.AddGroupMember(admin, join.group, join.account))
	if leave != join {
		must("remove member", w.RemoveGroupMember(admin, leave.group, leave.account))
	}

	// Roles, grants and security levels of random projects.
	p := st.Projects[r.IntN(len(st.Projects))]
	if len(p.Roles) > 0 {
		role := p.Roles[r.IntN(len(p.Roles))]
		actors := switchyard.RoleActors{Users: append(append([]string(nil), role.Actors.Users...), pick(people)), Groups: role.Actors.Groups}
		must("set role actors", w.SetRoleActors(admin, p.Key, role.ID, actors))
	}
	p = st.Projects[r.IntN(len(st.Projects))]
	grants := []switchyard.Holder{{Type: switchyard.HolderGroup, Parameter: adminGroup}, {Type: switchyard.HolderReporter}, {Type: switchyard.HolderGroup, Parameter: join.group}}
	if len(p.Roles) > 0 {
		grants = append(grants, switchyard.Holder{Type: switchyard.HolderProjectRole, Parameter: p.Roles[0].ID})
	}
	must("set browse grants", w.SetBrowseGrants(admin, p.Key, grants))
	for _, proj := range st.Projects {
		if len(proj.SecurityLevels) == 0 {
			continue
		}
		lvl := proj.SecurityLevels[r.IntN(len(proj.SecurityLevels))]
		must("set level members", w.SetSecurityLevelMembers(admin, proj.Key, lvl.ID, []switchyard.Holder{
			{Type: switchyard.HolderGroup, Parameter: adminGroup},
			{Type: switchyard.HolderAssignee},
			{Type: switchyard.HolderUser, Parameter: pick(people)},
		}))
		break
	}

	// Someone leaves the company.
	must("deactivate", w.SetUserActive(admin, pick(people), false))
}

func head(xs []string, n int) []string {
	if len(xs) > n {
		return xs[:n]
	}
	return xs
}
