package index

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"switchyard"
	"switchyard/connector/jirasim"
)

const simConn = "sim"

// simIssues converts the simulator's issues into what the sync would index.
func simIssues(w *jirasim.World) []switchyard.Issue {
	var out []switchyard.Issue
	for _, si := range w.Issues {
		is := switchyard.Issue{
			ID: si.ID, Key: si.Key, ProjectID: si.ProjectID, Summary: si.Summary,
			Description: jirasim.ADFPlainText(si.Description), IssueType: si.IssueType, Status: si.Status,
			StatusCategory: si.StatusCategory, Priority: si.Priority, Labels: si.Labels,
			Reporter: si.Reporter, Assignee: si.Assignee, Created: si.Created, Updated: si.Updated,
			SecurityLevelID: si.SecurityLevelID, CustomFields: si.CustomFields,
			URL: "https://sim.example/browse/" + si.Key,
		}
		if p := w.ProjectByID(si.ProjectID); p != nil {
			is.ProjectKey = p.Key
			if rt := p.RequestTypeByID(si.RequestType); rt != nil {
				is.RequestTypeID, is.RequestType = rt.ID, rt.Name
			}
		}
		is.Participants, is.Organizations = slices.Clone(si.Participants), slices.Clone(si.Organizations)
		for _, c := range si.Comments {
			sc := switchyard.Comment{ID: c.ID, Author: c.Author, Body: jirasim.ADFPlainText(c.Body), Created: c.Created, Updated: c.Updated,
				Internal: c.Internal()}
			for _, a := range si.Attachments {
				if a.CommentID == c.ID {
					sc.Files = append(sc.Files, a.Filename) // what the connector reads from the body's media nodes
				}
			}
			if c.Visibility != nil {
				v := *c.Visibility
				sc.Visibility = &v
			}
			is.Comments = append(is.Comments, sc)
		}
		for _, a := range si.Attachments {
			sa := switchyard.Attachment{ID: a.ID, Filename: a.Filename, MimeType: a.MimeType, Size: int64(len(a.Content)), Created: a.Created}
			if strings.HasPrefix(a.MimeType, "text/") {
				sa.Text = string(a.Content)
			}
			is.Attachments = append(is.Attachments, sa)
		}
		out = append(out, is)
	}
	return out
}

// simPermissions is what an identity sync would store: deep copies, so that
// later changes to the world do not leak into an earlier snapshot.
func simPermissions(w *jirasim.World) *Permissions {
	p := &Permissions{Groups: map[string]string{}}
	for _, g := range w.Groups {
		p.Groups[g.ID] = g.Name
	}
	for _, ar := range w.ApplicationRoles {
		p.ApplicationRoles = append(p.ApplicationRoles, switchyard.ApplicationRole{Key: ar.Key, Groups: slices.Clone(ar.Groups)})
	}
	for _, sp := range w.Projects {
		proj := sp.Project
		proj.Browse = slices.Clone(proj.Browse)
		proj.Roles = nil
		for _, r := range sp.Roles {
			r.Actors.Users = slices.Clone(r.Actors.Users)
			r.Actors.Groups = slices.Clone(r.Actors.Groups)
			proj.Roles = append(proj.Roles, r)
		}
		proj.SecurityLevels = nil
		for _, l := range sp.SecurityLevels {
			l.Members = slices.Clone(l.Members)
			proj.SecurityLevels = append(proj.SecurityLevels, l)
		}
		p.Projects = append(p.Projects, proj)
		if sp.ServiceDesk != nil {
			if p.ServiceDesks == nil {
				p.ServiceDesks = map[string][]string{}
			}
			p.ServiceDesks[sp.ID] = slices.Clone(sp.ServiceDesk.Organizations)
		}
	}
	return p
}

// simSource is the PermissionSource the store will provide, over the world:
// emails map to accounts only when the user shows them (as synced users do).
// simIndex is an on-disk index of w's issues, with w's permissions as its
// source; it is closed when the test ends.
func simIndex(t *testing.T, w *jirasim.World) *Index {
	t.Helper()
	idx, err := Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	idx.Source = &simSource{w: w, perms: simPermissions(w)}
	if err := idx.IndexIssues(context.Background(), simConn, simIssues(w)); err != nil {
		t.Fatal(err)
	}
	return idx
}

type simSource struct {
	w     *jirasim.World
	perms *Permissions
}

func (s *simSource) Viewer(_ context.Context, _ string, who string) (Viewer, error) {
	for _, u := range s.w.Users {
		if u.AccountID == who || (u.Email != "" && strings.EqualFold(u.Email, who)) {
			v := Viewer{AccountID: u.AccountID, Known: true, Active: u.Active, Customer: u.AccountType == "customer" && s.w.Mode != switchyard.ModeDataCenter}
			for _, o := range s.w.Organizations {
				if v.Customer && slices.Contains(o.Members, u.AccountID) {
					v.Organizations = append(v.Organizations, o.ID)
				}
			}
			for _, g := range s.w.Groups {
				if slices.Contains(g.Members, u.AccountID) {
					v.Groups = append(v.Groups, g.ID)
				}
			}
			return v, nil
		}
	}
	return Viewer{}, nil
}

func (s *simSource) Permissions(context.Context, string) (*Permissions, error) { return s.perms, nil }

// oracleDocs is the set of document ids the simulator's oracle lets account see.
func oracleDocs(w *jirasim.World, account string) map[string]bool {
	want := map[string]bool{}
	for _, si := range w.Issues {
		if !w.CanSee(account, si.ID, "") {
			continue
		}
		want[docID(simConn, TypeIssue, si.ID)] = true
		for _, a := range si.Attachments {
			if w.CanSeeAttachment(account, si.ID, a.ID) {
				want[docID(simConn, TypeAttachment, si.ID, a.ID)] = true
			}
		}
		for _, c := range si.Comments {
			if w.CanSee(account, si.ID, c.ID) {
				want[docID(simConn, TypeComment, si.ID, c.ID)] = true
			}
		}
	}
	return want
}

// searchAll pages through every result of req.
func searchAll(t *testing.T, idx *Index, req SearchRequest) map[string]bool {
	t.Helper()
	got := map[string]bool{}
	req.Size = MaxSize
	for req.From = 0; ; req.From += MaxSize {
		res, err := idx.Search(context.Background(), req)
		if err != nil {
			t.Fatalf("search %q as %q: %v", req.Query, req.AsUser, err)
		}
		for _, h := range res.Hits {
			if got[h.ID] {
				t.Fatalf("search %q as %q: %s returned twice", req.Query, req.AsUser, h.ID)
			}
			got[h.ID] = true
		}
		if len(res.Hits) < MaxSize {
			if uint64(len(got)) != res.Total {
				t.Fatalf("search %q as %q: total %d, paged %d", req.Query, req.AsUser, res.Total, len(got))
			}
			return got
		}
	}
}

func diffSets(got, want map[string]bool) (leaks, misses []string) {
	for id := range got {
		if !want[id] {
			leaks = append(leaks, id)
		}
	}
	for id := range want {
		if !got[id] {
			misses = append(misses, id)
		}
	}
	sort.Strings(leaks)
	sort.Strings(misses)
	return leaks, misses
}

// matchEverything are queries that match every document before the filter.
var matchEverything = []string{"", "*", "-zzqqxxnotaword", `updated:>="2000-01-01"`}

// checkWorld compares, for every user (and an unknown one), the results of
// match-everything queries with the oracle.
func checkWorld(t *testing.T, idx *Index, w *jirasim.World, stage string) (visibleDocs int) {
	t.Helper()
	accounts := []string{"", "unknown-account-id"}
	for _, u := range w.Users {
		accounts = append(accounts, u.AccountID)
	}
	for i, acct := range accounts {
		want := oracleDocs(w, acct)
		visibleDocs += len(want)
		// Every query for a few users, the first for the rest (time).
		queries := matchEverything[:1]
		if i < 4 {
			queries = matchEverything
		}
		for _, q := range queries {
			got := searchAll(t, idx, SearchRequest{Connection: simConn, Query: q, AsUser: acct})
			leaks, misses := diffSets(got, want)
			if len(leaks) > 0 || len(misses) > 0 {
				t.Errorf("%s: user %q query %q: %d leaks %v, %d misses %v", stage, acct, q, len(leaks), first(leaks, 5), len(misses), first(misses, 5))
			}
		}
	}
	return visibleDocs
}

func first(xs []string, n int) []string { return xs[:min(n, len(xs))] }

// mutate changes memberships, grants, role actors and security-level members
// in the world (never issues), as an identity sync would then see them.
func mutate(w *jirasim.World, r *rand.Rand) []string {
	var did []string
	users := w.Users
	pickUser := func() string { return users[r.IntN(len(users))].AccountID }
	// Membership: someone leaves every group, someone joins a few.
	leaver := pickUser()
	for _, g := range w.Groups {
		g.Members = slices.DeleteFunc(g.Members, func(m string) bool { return m == leaver })
	}
	did = append(did, "user "+leaver+" left all groups")
	joiner := pickUser()
	for range 3 {
		g := w.Groups[r.IntN(len(w.Groups))]
		if !slices.Contains(g.Members, joiner) {
			g.Members = append(g.Members, joiner)
			did = append(did, "user "+joiner+" joined "+g.Name)
		}
	}
	for _, p := range w.Projects {
		switch r.IntN(4) {
		case 0: // a grant is removed
			if len(p.Browse) > 0 {
				i := r.IntN(len(p.Browse))
				did = append(did, fmt.Sprintf("%s lost grant %v", p.Key, p.Browse[i]))
				p.Browse = slices.Delete(slices.Clone(p.Browse), i, i+1)
			}
		case 1: // a grant is added
			g := w.Groups[r.IntN(len(w.Groups))]
			h := []switchyard.Holder{{Type: switchyard.HolderGroup, Parameter: g.ID}, {Type: switchyard.HolderUser, Parameter: pickUser()},
				{Type: switchyard.HolderAssignee}, {Type: switchyard.HolderSDCustomerPortal}}[r.IntN(4)]
			p.Browse = append(slices.Clone(p.Browse), h)
			did = append(did, fmt.Sprintf("%s gained grant %v", p.Key, h))
		case 2: // a role gains a user actor
			if len(p.Roles) > 0 {
				i := r.IntN(len(p.Roles))
				roles := slices.Clone(p.Roles)
				roles[i].Actors.Users = append(slices.Clone(roles[i].Actors.Users), pickUser())
				p.Roles = roles
				did = append(did, fmt.Sprintf("%s role %s gained a user", p.Key, roles[i].Name))
			}
		}
		if len(p.SecurityLevels) > 0 && r.IntN(2) == 0 {
			levels := slices.Clone(p.SecurityLevels)
			i := r.IntN(len(levels))
			levels[i].Members = []switchyard.Holder{{Type: switchyard.HolderUser, Parameter: pickUser()}, {Type: switchyard.HolderReporter}}
			p.SecurityLevels = levels
			did = append(did, fmt.Sprintf("%s level %s members replaced", p.Key, levels[i].Name))
		}
	}
	return did
}

// TestSimulatorEquivalence indexes generated worlds into a real on-disk index
// and checks, for every user and match-everything queries, that the results
// equal the simulator's oracle exactly; then changes memberships, grants,
// roles and levels in the permission data only (no re-index) and checks again.
func TestSimulatorEquivalence(t *testing.T) {
	seeds := []int64{1, 2, 3, 4}
	if testing.Short() {
		seeds = seeds[:1]
	}
	// Both ways of applying the filter: led by its bitmap, or scanning the
	// query's matches against it.
	defer func(r uint64) { conjunctionRatio = r }(conjunctionRatio)
	for _, mode := range []struct {
		name  string
		ratio uint64
	}{{"filter-leads", 0}, {"filter-scan", math.MaxUint32}} {
		conjunctionRatio = mode.ratio
		for _, seed := range seeds {
			t.Run(fmt.Sprint(mode.name, "/seed", seed), func(t *testing.T) {
				simEquivalence(t, seed)
			})
		}
	}
}

func simEquivalence(t *testing.T, seed int64) {
	w := jirasim.Generate(jirasim.GenerateOptions{Seed: seed, Projects: 5, Issues: 120})
	idx, err := open(filepath.Join(t.TempDir(), "index"), manySegments)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	src := &simSource{w: w, perms: simPermissions(w)}
	idx.Source = src
	issues := simIssues(w)
	if err := idx.IndexIssues(context.Background(), simConn, issues[:len(issues)-5]); err != nil {
		t.Fatal(err)
	}
	for _, is := range issues[len(issues)-5:] {
		if err := idx.IndexIssue(context.Background(), simConn, is); err != nil {
			t.Fatal(err)
		}
	}
	seen := checkWorld(t, idx, w, "generated")
	if seen == 0 {
		t.Fatal("no user sees anything: the world cannot tell leaks from misses")
	}
	// Writes after the filters were cached: each re-index is a new segment
	// (and deletions in old ones) that only it is evaluated for.
	rr := rand.New(rand.NewPCG(uint64(seed), 7))
	for range 3 {
		if err := idx.IndexIssue(context.Background(), simConn, issues[rr.IntN(len(issues))]); err != nil {
			t.Fatal(err)
		}
		checkWorld(t, idx, w, "after a re-index")
	}

	r := rand.New(rand.NewPCG(uint64(seed), 99))
	for round := range 2 {
		changes := mutate(w, r)
		src.perms = simPermissions(w)
		checkWorld(t, idx, w, fmt.Sprintf("after change round %d (%d changes)", round+1, len(changes)))
	}
}

// TestSimulatorHolderCoverage guards the equivalence test's value: the
// generated worlds must exercise every holder type, levels and restricted comments.
func TestSimulatorHolderCoverage(t *testing.T) {
	types := map[string]bool{}
	var levels, restricted, hiddenEmail, inactive int
	for _, seed := range []int64{1, 2, 3, 4, 5, 6} {
		w := jirasim.Generate(jirasim.GenerateOptions{Seed: seed, Projects: 5, Issues: 120})
		for _, p := range w.Projects {
			for _, h := range p.Browse {
				types[h.Type] = true
			}
			for _, l := range p.SecurityLevels {
				for _, h := range l.Members {
					types[h.Type] = true
				}
			}
		}
		for _, is := range w.Issues {
			if is.SecurityLevelID != "" {
				levels++
			}
			for _, c := range is.Comments {
				if c.Visibility != nil {
					restricted++
				}
			}
		}
		for _, u := range w.Users {
			if u.HiddenEmail != "" {
				hiddenEmail++
			}
			if !u.Active {
				inactive++
			}
		}
	}
	var missing []string
	for _, h := range []string{switchyard.HolderAnyone, switchyard.HolderApplicationRole, switchyard.HolderGroup, switchyard.HolderProjectRole,
		switchyard.HolderUser, switchyard.HolderProjectLead, switchyard.HolderReporter, switchyard.HolderAssignee,
		switchyard.HolderUserCustomField, switchyard.HolderGroupCustomField} {
		if !types[h] {
			missing = append(missing, h)
		}
	}
	t.Logf("holder types %v; issues with levels %d, restricted comments %d, hidden emails %d, inactive %d", types, levels, restricted, hiddenEmail, inactive)
	if len(missing) > 0 {
		t.Errorf("generated worlds lack holder types %v: the equivalence test covers them only through the table tests", missing)
	}
	if levels == 0 || restricted == 0 || hiddenEmail == 0 || inactive == 0 {
		t.Errorf("generated worlds lack levels (%d), restricted comments (%d), hidden emails (%d) or inactive users (%d)", levels, restricted, hiddenEmail, inactive)
	}
}

// TestSearchAsEmail: an email resolves through synced users; a hidden email
// does not map, so that user searches as an unknown one (anyone grants only).
func TestSearchAsEmail(t *testing.T) {
	w := jirasim.Generate(jirasim.GenerateOptions{Seed: 3, Projects: 5, Issues: 80})
	idx, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	idx.Source = &simSource{w: w, perms: simPermissions(w)}
	if err := idx.IndexIssues(context.Background(), simConn, simIssues(w)); err != nil {
		t.Fatal(err)
	}
	var shown, hidden int
	for _, u := range w.Users {
		email, account := u.Email, u.AccountID
		if email == "" && u.HiddenEmail != "" {
			email, account = u.HiddenEmail, "" // unmapped: must see what an unknown user sees
			hidden++
		} else if email == "" {
			continue
		} else {
			shown++
		}
		got := searchAll(t, idx, SearchRequest{Connection: simConn, AsUser: strings.ToUpper(email)})
		leaks, misses := diffSets(got, oracleDocs(w, account))
		if len(leaks) > 0 || len(misses) > 0 {
			t.Errorf("as %s: leaks %v misses %v", email, first(leaks, 5), first(misses, 5))
		}
	}
	if shown == 0 || hidden == 0 {
		t.Fatalf("world has %d visible and %d hidden emails; need both", shown, hidden)
	}
}
