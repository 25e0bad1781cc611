package syncer

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector/jirasim"
	"switchyard/index"
)

// TestSearchEqualsOracleCustomers is the permission guarantee for Jira Service
// Management worlds across the real pieces: every customer and agent finds
// exactly what the oracle allows (the shared check), no customer ever finds an
// internal note or a file it shows, customers do reach requests through each
// path (reporter, participant, organization), and all of that holds again
// after participant, organization-membership, sharing and internal-note
// changes and one incremental sync. Organization membership and the desk's
// organizations touch no issue: they take effect through the identity sync
// alone, without re-indexing.
func TestSearchEqualsOracleCustomers(t *testing.T) {
	seeds := []int64{3, 11, 29}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
			s := startSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: seed, Projects: 5, Issues: 80}})
			h := newHarness(t, s.jira(4), allScope(), Settings{Concurrency: 4, PageSize: 50, Overlap: time.Minute})
			h.idx.Source = NewPermissionSource(h.db)
			before := s.stats()
			h.sync(false)
			checkNoPerIssueJSMCalls(t, before, s.stats())
			checkSearchEqualsOracle(t, s, h, "after the full sync")
			checkCustomers(t, s, h, "after the full sync")
			checkRequestTypeFilter(t, s, h)

			// Identity alone: organization membership and the desk's
			// organizations change, no issue does; the next sync re-indexes
			// nothing and search follows.
			// A run without any change writes only the overlap window again.
			overlap := h.sync(false).Issues
			views := customerViews(t, s, h)
			changeOrganizations(t, s, rand.New(rand.NewPCG(uint64(seed), 5)))
			if rs := h.sync(false); rs.Full || rs.Issues != overlap {
				t.Fatalf("after organization changes: full %v, %d issues written; want an incremental run writing only the %d of the overlap",
					rs.Full, rs.Issues, overlap)
			}
			if after := customerViews(t, s, h); maps.EqualFunc(views, after, maps.Equal) {
				t.Fatal("the organization changes changed no customer's results; the check proves nothing")
			}
			checkSearchEqualsOracle(t, s, h, "after organization changes, without re-indexing")
			checkCustomers(t, s, h, "after organization changes, without re-indexing")

			mutateJSM(t, s, rand.New(rand.NewPCG(uint64(seed), 7)))
			if rs := h.sync(false); rs.Full {
				t.Fatalf("second run was full (%s); want incremental", rs.Reason)
			}
			checkSearchEqualsOracle(t, s, h, "after JSM changes and one incremental sync")
			checkCustomers(t, s, h, "after JSM changes and one incremental sync")
		})
	}
}

// checkNoPerIssueJSMCalls: the request type, participants and organizations
// come with the issue reads; the sync never asks per request.
func checkNoPerIssueJSMCalls(t *testing.T, before, after simStats) {
	t.Helper()
	for route, byStatus := range after.ByRoute {
		if !strings.Contains(route, "/servicedeskapi/request/") {
			continue
		}
		var n, m int64
		for _, c := range byStatus {
			n += c
		}
		for _, c := range before.ByRoute[route] {
			m += c
		}
		if n > m {
			t.Fatalf("the sync called %s %d times: JSM fields must come with the issue reads", route, n-m)
		}
	}
}

// checkCustomers counts how customers reach requests and that none of them
// finds an internal note or a file an internal note shows.
func checkCustomers(t *testing.T, s *sim, h *harness, when string) {
	t.Helper()
	st := s.state()
	internal := map[string]bool{} // docKeys of internal notes and their files
	var notes int
	for _, is := range st.Issues {
		hidden := map[string]bool{}
		for _, c := range is.Comments {
			if !c.JSDPublic {
				internal[docKey("comment", is.Key, c.ID)] = true
				hidden[c.ID] = true
				notes++
			}
		}
		for _, a := range is.Attachments {
			if hidden[a.CommentID] {
				internal[docKey("attachment", is.Key, a.ID)] = true
			}
		}
	}
	if notes == 0 {
		t.Fatalf("%s: the world has no internal notes; the check proves nothing", when)
	}
	orgsOf := map[string][]string{}
	for _, o := range st.Organizations {
		for _, m := range o.Members {
			orgsOf[m] = append(orgsOf[m], o.ID)
		}
	}
	desks := map[string][]string{}
	for _, p := range st.Projects {
		if p.ServiceDesk != nil {
			desks[p.ID] = p.ServiceDesk.Organizations
		}
	}
	var byReporter, byParticipant, byOrg, customersSeeing int
	for _, u := range st.Users {
		if u.AccountType != "customer" {
			continue
		}
		got := searchAll(t, context.Background(), h.idx, u.AccountID)
		for k := range got {
			if internal[k] {
				t.Fatalf("%s: customer %s finds internal %s", when, u.AccountID, k)
			}
		}
		if len(got) > 0 {
			customersSeeing++
		}
		for _, is := range st.Issues {
			if !got[docKey("issue", is.Key, "")] {
				continue
			}
			switch {
			case is.Reporter != nil && *is.Reporter == u.AccountID:
				byReporter++
			case slices.Contains(is.Participants, u.AccountID):
				byParticipant++
			default:
				for _, o := range is.Organizations {
					if slices.Contains(orgsOf[u.AccountID], o) && slices.Contains(desks[is.ProjectID], o) {
						byOrg++
						break
					}
				}
			}
		}
	}
	if byReporter == 0 || byParticipant == 0 || byOrg == 0 {
		t.Fatalf("%s: customers reach requests as reporter %d, participant %d, organization %d times; want every path used",
			when, byReporter, byParticipant, byOrg)
	}
	t.Logf("%s: %d customers see something (reporter %d, participant %d, organization %d); %d internal notes, none found by a customer",
		when, customersSeeing, byReporter, byParticipant, byOrg, notes)
}

// checkRequestTypeFilter: filtering by a request type finds exactly the
// admin-visible requests of that type, and the facet counts them.
func checkRequestTypeFilter(t *testing.T, s *sim, h *harness) {
	t.Helper()
	st := s.state()
	names := map[string]string{}
	for _, p := range st.Projects {
		if p.ServiceDesk != nil {
			for _, rt := range p.ServiceDesk.RequestTypes {
				names[rt.ID] = rt.Name
			}
		}
	}
	want := map[string]int{}
	for _, is := range st.Issues {
		if is.RequestType != nil {
			want[names[*is.RequestType]]++
		}
	}
	if len(want) < 2 {
		t.Fatalf("only %d request types in use", len(want))
	}
	for name, n := range want {
		res, err := h.idx.Search(context.Background(), index.SearchRequest{Connection: "acme", AsUser: s.admin(), Types: []string{"issue"},
			RequestTypes: []string{name}, Size: 1})
		if err != nil {
			t.Fatal(err)
		}
		if int(res.Total) != n {
			t.Fatalf("request type %q: %d issues, want %d", name, res.Total, n)
		}
		var facet int
		for _, fc := range res.Facets["requesttype"] {
			if fc.Value == name {
				facet = fc.Count
			}
		}
		if facet != n {
			t.Fatalf("request type facet %q = %d, want %d (%v)", name, facet, n, res.Facets["requesttype"])
		}
	}
}

// mutateJSM changes who reaches what through the portal: a customer becomes
// a participant and another stops being one, a request is shared with an
// organization, an organization gains and loses members, a desk drops an
// organization (sharing), a public reply becomes an internal note and an
// internal note becomes public.
func mutateJSM(t *testing.T, s *sim, r *rand.Rand) {
	t.Helper()
	w := s.srv.World()
	st := s.state()
	must := func(what string, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	var customers []string
	for _, u := range st.Users {
		if u.AccountType == "customer" && u.Active {
			customers = append(customers, u.AccountID)
		}
	}
	var requests []jirasim.StateIssue
	var desk jirasim.StateProject
	for _, p := range st.Projects {
		if p.ServiceDesk != nil && desk.ID == "" {
			desk = p
		}
	}
	for _, is := range st.Issues {
		if is.ProjectID == desk.ID {
			requests = append(requests, is)
		}
	}
	if len(customers) < 2 || len(requests) < 4 || len(st.Organizations) < 2 {
		t.Fatalf("world too small: %d customers, %d requests, %d organizations", len(customers), len(requests), len(st.Organizations))
	}
	pick := func(xs []string) string { return xs[r.IntN(len(xs))] }
	req := func() jirasim.StateIssue { return requests[r.IntN(len(requests))] }

	is := req()
	must("add participant", w.SetParticipants("", is.Key, append(slices.Clone(is.Participants), pick(customers))))
	for _, x := range requests {
		if len(x.Participants) > 0 && x.Key != is.Key {
			must("drop participant", w.SetParticipants("", x.Key, x.Participants[1:]))
			break
		}
	}
	shared := req()
	org := st.Organizations[r.IntN(len(st.Organizations))]
	must("share request", w.SetRequestOrganizations("", shared.Key, []string{org.ID}))
	deskOrgs := slices.Clone(desk.ServiceDesk.Organizations)
	if !slices.Contains(deskOrgs, org.ID) {
		deskOrgs = append(deskOrgs, org.ID)
	}
	// Membership: a customer joins the shared organization, a member leaves another.
	must("org members", w.SetOrganizationMembers("", org.ID, append(slices.Clone(org.Members), pick(customers))))
	for _, o := range st.Organizations {
		if o.ID != org.ID && len(o.Members) > 0 {
			must("org member leaves", w.SetOrganizationMembers("", o.ID, o.Members[1:]))
			// Sharing: the desk drops this organization.
			deskOrgs = slices.DeleteFunc(deskOrgs, func(id string) bool { return id == o.ID })
			break
		}
	}
	must("desk organizations", w.SetServiceDeskOrganizations("", desk.Key, deskOrgs))
	// Internal notes both ways.
	var flippedIn, flippedOut bool
	for _, x := range requests {
		for _, c := range x.Comments {
			if c.JSDPublic && !flippedIn {
				must("make internal", w.SetCommentInternal("", x.Key, c.ID, true))
				must("touch issue", w.SetParticipants("", x.Key, x.Participants)) // a property change alone does not bump updated
				flippedIn = true
			} else if !c.JSDPublic && !flippedOut {
				must("make public", w.SetCommentInternal("", x.Key, c.ID, false))
				must("touch issue", w.SetParticipants("", x.Key, x.Participants))
				flippedOut = true
			}
		}
	}
	if !flippedIn || !flippedOut {
		t.Fatalf("no comment to flip (in %v, out %v)", flippedIn, flippedOut)
	}
}

// deniedJSM is a Jira whose servicedeskapi answers 403 (an account that is
// not an agent, an OAuth app without the JSM scopes).
type deniedJSM struct{ *fakeJira }

func (deniedJSM) ServiceDesks(context.Context) ([]switchyard.ServiceDesk, error) {
	return nil, &switchyard.Error{Kind: switchyard.ErrForbidden, Message: "GET /rest/servicedeskapi/servicedesk: 403"}
}

func (deniedJSM) Organizations(context.Context) ([]switchyard.Organization, error) {
	return nil, &switchyard.Error{Kind: switchyard.ErrForbidden, Message: "GET /rest/servicedeskapi/organization: 403"}
}

// TestCustomersStageDenied: a 403 from the servicedeskapi does not fail the
// identity sync; it warns and stores no desks, so customers see nothing
// (fail closed).
func TestCustomersStageDenied(t *testing.T) {
	f := newFakeJira(2, 5)
	h := newHarness(t, deniedJSM{f}, allScope(), Settings{Concurrency: 2, PageSize: 50, Overlap: time.Minute})
	rs := h.sync(false)
	var warned int
	for _, w := range rs.Warnings {
		if strings.HasPrefix(w, "service desks not readable") || strings.HasPrefix(w, "organizations not readable") {
			warned++
		}
	}
	if warned != 2 {
		t.Fatalf("warnings %q: want one for service desks and one for organizations", rs.Warnings)
	}
	desks, err := h.db.ServiceDesks(context.Background(), "acme")
	if err != nil || len(desks) != 0 {
		t.Fatalf("service desks stored: %v, %v", desks, err)
	}
}

// changeOrganizations moves customers between organizations and changes which
// organizations the first service desk has, touching no issue. It picks
// changes that change what some customer sees.
func changeOrganizations(t *testing.T, s *sim, r *rand.Rand) {
	t.Helper()
	w := s.srv.World()
	st := s.state()
	var desk jirasim.StateProject
	for _, p := range st.Projects {
		if p.ServiceDesk != nil && desk.ID == "" {
			desk = p
		}
	}
	var customers []string
	for _, u := range st.Users {
		if u.AccountType == "customer" && u.Active {
			customers = append(customers, u.AccountID)
		}
	}
	// The organization most shared by the desk's requests.
	shares := map[string]int{}
	for _, is := range st.Issues {
		if is.ProjectID == desk.ID {
			for _, o := range is.Organizations {
				shares[o]++
			}
		}
	}
	var top string
	for _, o := range st.Organizations {
		if top == "" || shares[o.ID] > shares[top] {
			top = o.ID
		}
	}
	if shares[top] == 0 {
		t.Fatal("no request of the desk is shared with an organization")
	}
	// Everyone joins it and it is added to the desk; another organization leaves the desk.
	if err := w.SetOrganizationMembers("", top, customers); err != nil {
		t.Fatal(err)
	}
	orgs := []string{top}
	for _, o := range desk.ServiceDesk.Organizations {
		if o != top && r.IntN(2) == 0 {
			orgs = append(orgs, o)
		}
	}
	if err := w.SetServiceDeskOrganizations("", desk.Key, orgs); err != nil {
		t.Fatal(err)
	}
}

// customerViews is what each customer finds.
func customerViews(t *testing.T, s *sim, h *harness) map[string]map[string]bool {
	t.Helper()
	out := map[string]map[string]bool{}
	for _, u := range s.state().Users {
		if u.AccountType == "customer" {
			out[u.AccountID] = searchAll(t, context.Background(), h.idx, u.AccountID)
		}
	}
	return out
}
