package syncer

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector"
	"switchyard/connector/jirasim"
)

// sim is the Jira simulator over real HTTP.
type sim struct {
	t    *testing.T
	srv  *jirasim.Server
	url  string // the server's root (/_sim/ lives here)
	base string // the Jira site URL: url plus a Data Center context path
}

func startSim(t *testing.T, o jirasim.Options) *sim {
	t.Helper()
	srv := jirasim.New(o)
	hs := httptest.NewServer(srv)
	srv.SetBaseURL(hs.URL)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	base := hs.URL
	if srv.World().Mode == switchyard.ModeDataCenter {
		base += srv.Options().DataCenter.ContextPath
	}
	return &sim{t: t, srv: srv, url: hs.URL, base: base}
}

// jira returns an engine-side client: the real connector over HTTP.
func (s *sim) jira(concurrency int) Jira {
	s.t.Helper()
	mode := s.srv.World().Mode
	auth := connector.APITokenAuth(s.srv.AdminEmail(), jirasim.DefaultAdminToken)
	if mode == switchyard.ModeDataCenter {
		auth = connector.PATAuth(jirasim.DefaultAdminToken)
	}
	j, err := NewJiraBuilder(func(fields []string) (JiraClient, error) {
		return connector.New(connector.Options{
			Name: "acme", Mode: mode, BaseURL: s.base, Auth: auth,
			RequestsPerSecond: 10000, Concurrency: concurrency,
			RetryBaseDelay: 5 * time.Millisecond, RetryMaxDelay: 200 * time.Millisecond, MaxRetries: 12,
			CustomFields: fields,
		})
	}, concurrency)
	if err != nil {
		s.t.Fatal(err)
	}
	return j
}

// state fetches GET /_sim/state.
func (s *sim) state() jirasim.State {
	s.t.Helper()
	resp, err := http.Get(s.url + "/_sim/state")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st jirasim.State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		s.t.Fatal(err)
	}
	return st
}

func (s *sim) requests() int64 {
	resp, err := http.Get(s.url + "/_sim/stats")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st jirasim.Stats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		s.t.Fatal(err)
	}
	return st.Requests
}

// expected is what the sync must hold for scope: issue id → (comments, attachments).
func (s *sim) expected(sc Scope) map[string][2]int {
	st := s.state()
	keyOf := map[string]string{}
	for _, p := range st.Projects {
		keyOf[p.ID] = p.Key
	}
	out := map[string][2]int{}
	for _, is := range st.Issues {
		if !sc.InScope(keyOf[is.ProjectID]) {
			continue
		}
		c, a := len(is.Comments), len(is.Attachments)
		if !sc.Comments {
			c = 0
		}
		if !sc.Attachments {
			a = 0
		}
		out[is.ID] = [2]int{c, a}
	}
	return out
}

func (s *sim) admin() string { return s.srv.World().AdminAccountID() }

func TestSimFullIncrementalConverge(t *testing.T) {
	s := startSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 7, Projects: 4, Issues: 100}})
	h := newHarness(t, s.jira(4), allScope(), Settings{Concurrency: 4, PageSize: 50, Overlap: time.Minute})
	rs := h.sync(false)
	if !rs.Full {
		t.Fatalf("first run not full: %s", rs.Reason)
	}
	h.checkConverged(s.expected(h.conn.Scope))

	// Identity matches the simulator's world too.
	st := s.state()
	ctx := context.Background()
	c, err := h.db.Counts(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if int(c.Users) != len(st.Users) || int(c.Groups) != len(st.Groups) || int(c.Projects) != len(st.Projects) {
		t.Errorf("stored users/groups/projects = %d/%d/%d, simulator has %d/%d/%d",
			c.Users, c.Groups, c.Projects, len(st.Users), len(st.Groups), len(st.Projects))
	}
	if c.AttachmentsFailed != 0 || c.AttachmentsPending != 0 {
		t.Errorf("%d attachments failed and %d pending after a clean full sync", c.AttachmentsFailed, c.AttachmentsPending)
	}
	// Every text-like attachment has text; picker custom fields arrived.
	extracted, pickers := 0, 0
	for _, is := range st.Issues {
		got, err := h.db.Issue(ctx, "acme", is.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(is.CustomFields) > 0 && len(got.CustomFields) > 0 {
			pickers++
		}
		for _, a := range got.Attachments {
			if a.Text != "" {
				extracted++
			}
		}
	}
	if extracted == 0 {
		t.Errorf("no attachment text extracted")
	}
	hasPickers := false
	for _, is := range st.Issues {
		if len(is.CustomFields) > 0 {
			hasPickers = true
		}
	}
	if hasPickers && pickers == 0 {
		t.Errorf("issues have picker custom fields in the simulator but none were stored")
	}

	// Mutations, then an incremental run converges.
	w := s.srv.World()
	admin := s.admin()
	keys := map[string]string{}
	for _, is := range st.Issues {
		keys[is.ID] = is.Key
	}
	ids := make([]string, 0, len(st.Issues))
	for _, is := range st.Issues {
		ids = append(ids, is.ID)
	}
	sort.Strings(ids)
	if _, err := w.CreateIssue(admin, jirasim.IssueCreate{ProjectKey: st.Projects[0].Key, Summary: "brand new VPN outage"}); err != nil {
		t.Fatal(err)
	}
	sum := "renamed by the test"
	if _, err := w.UpdateIssue(admin, keys[ids[0]], jirasim.IssueUpdate{Summary: &sum}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddComment(admin, keys[ids[1]], jirasim.TextToADF("a fresh comment"), nil); err != nil {
		t.Fatal(err)
	}
	if err := w.DeleteIssue(admin, keys[ids[2]]); err != nil {
		t.Fatal(err)
	}
	var moveTo string
	for _, p := range st.Projects {
		if p.ID != st.Issues[3].ProjectID {
			moveTo = p.Key
		}
	}
	if _, err := w.MoveIssue(admin, keys[ids[3]], moveTo); err != nil {
		t.Fatal(err)
	}
	var group, outsider string
	for _, g := range st.Groups {
		in := map[string]bool{}
		for _, m := range g.Members {
			in[m] = true
		}
		for _, u := range st.Users {
			if !in[u.AccountID] {
				group, outsider = g.GroupID, u.AccountID
				break
			}
		}
		if group != "" {
			break
		}
	}
	if err := w.AddGroupMember(admin, group, outsider); err != nil {
		t.Fatal(err)
	}

	rs = h.sync(false)
	if rs.Full {
		t.Fatalf("run after mutations is full: %s", rs.Reason)
	}
	h.checkConverged(s.expected(h.conn.Scope))
	got, _ := h.db.Issue(ctx, "acme", ids[0])
	if got.Summary != sum {
		t.Errorf("updated summary = %q", got.Summary)
	}
	moved, _ := h.db.Issue(ctx, "acme", ids[3])
	if moved.ProjectKey != moveTo || !strings.HasPrefix(moved.Key, moveTo+"-") {
		t.Errorf("moved issue: project %q key %q, want project %s", moved.ProjectKey, moved.Key, moveTo)
	}
	groups, _ := h.db.Groups(ctx, "acme")
	found := false
	for _, g := range groups {
		if g.ID == group {
			for _, m := range g.Members {
				found = found || m == outsider
			}
		}
	}
	if !found {
		t.Errorf("membership change not synced")
	}
	if rs.Deleted != 1 {
		t.Errorf("deleted = %d, want 1 via the audit log", rs.Deleted)
	}
	ids2, _ := h.idx.IssueIDs(ctx, "acme")
	for _, id := range ids2 {
		if id == ids[2] {
			t.Errorf("deleted issue %s still indexed", id)
		}
	}

	// A run with no change, identity not yet due, makes a handful of
	// requests per project: a search, a bulk fetch of the overlap window and
	// the audit log read.
	set := h.conn.Settings
	set.IdentityInterval = time.Hour
	h.reconfigure(h.conn.Scope, set)
	before := s.requests()
	rs = h.sync(false)
	if n, max := s.requests()-before, int64(3*len(st.Projects)+2); n > max {
		t.Errorf("no-change incremental made %d requests, want at most %d", n, max)
	}
	if rs.Extracted != 0 {
		t.Errorf("no-change incremental extracted %d attachments again", rs.Extracted)
	}
}

func TestSimFilterChangeAndAuditForbidden(t *testing.T) {
	s := startSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 3, Projects: 3, Issues: 40}})
	st := s.state()
	sc, err := ScopeFrom(switchyard.SyncFilters{Projects: switchyard.ProjectFilter{In: []string{st.Projects[0].Key, st.Projects[1].Key}}})
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, s.jira(4), sc, Settings{Concurrency: 4})
	h.sync(false)
	h.checkConverged(s.expected(sc))

	sc2, _ := ScopeFrom(switchyard.SyncFilters{Projects: switchyard.ProjectFilter{In: []string{st.Projects[1].Key, st.Projects[2].Key}}})
	h.reconfigure(sc2, Settings{Concurrency: 4})
	rs := h.sync(false)
	if !rs.Full || rs.Reason != "filters changed" {
		t.Fatalf("after a filter change: full=%v reason %q", rs.Full, rs.Reason)
	}
	h.checkConverged(s.expected(sc2))

	// Without audit rights a deletion is still found (reconciliation).
	if err := s.srv.SetKnobs(jirasim.Knobs{AuditForbidden: true}); err != nil {
		t.Fatal(err)
	}
	var victim string
	for _, is := range st.Issues {
		if is.ProjectID == st.Projects[2].ID {
			victim = is.Key
			break
		}
	}
	if err := s.srv.World().DeleteIssue(s.admin(), victim); err != nil {
		t.Fatal(err)
	}
	rs = h.sync(false)
	h.checkConverged(s.expected(sc2))
	if rs.Deleted != 1 || len(rs.Warnings) == 0 || !strings.HasPrefix(rs.Warnings[0], "audit log not readable: ") {
		t.Errorf("deleted %d, warnings %q", rs.Deleted, rs.Warnings)
	}

	// An issue moved out of scope is removed by reconciliation.
	var mover string
	for _, is := range st.Issues {
		if is.ProjectID == st.Projects[1].ID {
			mover = is.ID
			if _, err := s.srv.World().MoveIssue(s.admin(), is.Key, st.Projects[0].Key); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	rs = h.sync(false)
	h.checkConverged(s.expected(sc2))
	if _, err := h.db.Issue(context.Background(), "acme", mover); err == nil {
		t.Errorf("issue %s moved out of scope is still stored", mover)
	}
}

func TestSimFaultsConverge(t *testing.T) {
	s := startSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 11, Projects: 3, Issues: 80},
		Latency: 2 * time.Millisecond, RateLimit: 40, FaultRate: 0.08})
	h := newHarness(t, s.jira(6), allScope(), Settings{Concurrency: 6, PageSize: 40})
	h.sync(false)
	h.checkConverged(s.expected(h.conn.Scope))
	var st jirasim.Stats
	resp, err := http.Get(s.url + "/_sim/stats")
	if err != nil {
		t.Fatal(err)
	}
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	faults := int64(0)
	for _, n := range st.Faults {
		faults += n
	}
	t.Logf("%d requests, %d rate limited (429), faults %v", st.Requests, st.RateLimited, st.Faults)
	if st.RateLimited == 0 || faults == 0 {
		t.Fatalf("the run saw %d 429s and %d injected faults: the test did not exercise them", st.RateLimited, faults)
	}
	c, _ := h.db.Counts(context.Background(), "acme")
	if c.AttachmentsPending != 0 {
		t.Errorf("%d attachments pending", c.AttachmentsPending)
	}
	// Failed downloads (faults) are retried by later runs until none is left.
	for i := 0; i < 5 && c.AttachmentsFailed > 0; i++ {
		h.sync(false)
		c, _ = h.db.Counts(context.Background(), "acme")
	}
	if c.AttachmentsFailed != 0 {
		t.Errorf("%d attachments still failed after retries", c.AttachmentsFailed)
	}
}

func TestSimDataCenter(t *testing.T) {
	s := startSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 5, Projects: 2, Issues: 50, Mode: switchyard.ModeDataCenter}})
	h := newHarness(t, s.jira(4), allScope(), Settings{Concurrency: 4})
	h.conn.Mode = switchyard.ModeDataCenter
	h.reconfigure(h.conn.Scope, h.conn.Settings)
	h.sync(false)
	h.checkConverged(s.expected(h.conn.Scope))
	st := s.state()
	if err := s.srv.World().DeleteIssue(s.admin(), st.Issues[0].Key); err != nil {
		t.Fatal(err)
	}
	h.sync(false)
	h.checkConverged(s.expected(h.conn.Scope))
}
