package connector_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"switchyard"
	"switchyard/connector"
	"switchyard/connector/jirasim"
)

// sim is the simulator on a real loopback HTTP server.
type sim struct {
	srv *jirasim.Server
	ts  *httptest.Server
}

func newSim(t testing.TB, o jirasim.Options) *sim {
	t.Helper()
	if o.Seed == 0 {
		o.Seed = 42
	}
	srv := jirasim.New(o)
	ts := httptest.NewServer(srv)
	srv.SetBaseURL(ts.URL)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return &sim{srv: srv, ts: ts}
}

func (s *sim) state(t testing.TB) jirasim.State {
	t.Helper()
	resp, err := http.Get(s.ts.URL + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st jirasim.State
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

// simReq calls a /_sim/ mutation and fails the test on a non-2xx answer.
func (s *sim) simReq(t testing.TB, method, path string, body any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = strings.NewReader(string(b))
	}
	req, _ := http.NewRequest(method, s.ts.URL+path, rd)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode > 299 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
}

func (s *sim) client(t testing.TB, mod func(*connector.Options)) *connector.Client {
	t.Helper()
	o := connector.Options{
		Name: "sim", Mode: s.srv.World().Mode, BaseURL: s.ts.URL,
		Auth:              connector.APITokenAuth(s.srv.AdminEmail(), s.srv.Options().AdminToken),
		RequestsPerSecond: 2000, Concurrency: 8,
		RetryBaseDelay: 5 * time.Millisecond, RetryMaxDelay: 2 * time.Second,
	}
	if o.Mode == switchyard.ModeDataCenter {
		o.Auth = connector.PATAuth(s.srv.Options().AdminToken)
	}
	if mod != nil {
		mod(&o)
	}
	c, err := connector.New(o)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func sorted(xs []string) []string {
	out := append([]string{}, xs...)
	sort.Strings(out)
	return out
}

func holderStrings(hs []switchyard.Holder) []string {
	var out []string
	for _, h := range hs {
		out = append(out, h.Type+":"+h.Parameter)
	}
	sort.Strings(out)
	return out
}

func stateHolderStrings(hs []jirasim.StateHolder) []string {
	var out []string
	for _, h := range hs {
		p := ""
		if h.Parameter != nil {
			p = *h.Parameter
		}
		out = append(out, h.Type+":"+p)
	}
	sort.Strings(out)
	return out
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// pages counts page requests per endpoint through the Observer hook.
type pages struct {
	mu      sync.Mutex
	n       map[string]int
	status  map[int]int
	retries []retry
}

type retry struct {
	endpoint string
	wait     time.Duration
	reason   string
}

func (p *pages) ObserveRequest(conn, endpoint string, status int, took time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.n == nil {
		p.n, p.status = map[string]int{}, map[int]int{}
	}
	p.n[endpoint]++
	p.status[status]++
}

func (p *pages) ObserveRetry(conn, endpoint string, attempt int, wait time.Duration, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.retries = append(p.retries, retry{endpoint, wait, reason})
}

func (p *pages) count(endpoint string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.n[endpoint]
}

func TestSimCloudIdentityAndPermissions(t *testing.T) {
	s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 9, Issues: 40}})
	st := s.state(t)
	obs := &pages{}
	c := s.client(t, func(o *connector.Options) { o.PageSize = 4; o.Observer = obs })
	ctx := context.Background()

	me, err := c.Myself(ctx)
	if err != nil || me.AccountID != st.AdminAccountID {
		t.Fatalf("myself %+v, %v (admin %s)", me, err, st.AdminAccountID)
	}

	// Users: every user, across many pages, emails null when hidden.
	var users []switchyard.User
	if err := c.Users(ctx, func(us []switchyard.User) error { users = append(users, us...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(users) != len(st.Users) {
		t.Fatalf("users: got %d, want %d", len(users), len(st.Users))
	}
	if n := obs.count("GET /rest/api/3/users/search"); n < len(st.Users)/4 {
		t.Fatalf("users took %d pages, want ≥ %d", n, len(st.Users)/4)
	}
	byID := map[string]switchyard.User{}
	for _, u := range users {
		byID[u.AccountID] = u
	}
	for _, w := range st.Users {
		got, ok := byID[w.AccountID]
		if !ok || got.DisplayName != w.DisplayName || got.Email != deref(w.EmailAddress) || got.Active != w.Active || got.AccountType != w.AccountType {
			t.Errorf("user %s: got %+v, want %+v (email %q)", w.AccountID, got, w, deref(w.EmailAddress))
		}
	}

	// Groups and members (≤50 a page; 7 here).
	var groups []switchyard.Group
	if err := c.Groups(ctx, func(gs []switchyard.Group) error { groups = append(groups, gs...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(groups) != len(st.Groups) {
		t.Fatalf("groups: got %d, want %d", len(groups), len(st.Groups))
	}
	if n := obs.count("GET /rest/api/3/group/bulk"); n < len(st.Groups)/4 {
		t.Fatalf("groups took %d pages, want ≥ %d", n, len(st.Groups)/4)
	}
	memberPages := 0
	for _, w := range st.Groups {
		members, err := c.GroupMembers(ctx, w.GroupID)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sorted(members), sorted(w.Members)) {
			t.Errorf("group %s members: got %d, want %d", w.Name, len(members), len(w.Members))
		}
		if len(w.Members) > 4 {
			memberPages++
		}
	}
	if memberPages == 0 {
		t.Fatal("no group spans several member pages: the paging test is vacuous")
	}
	// UserGroups agrees with group membership.
	for _, w := range st.Users[:5] {
		gs, err := c.UserGroups(ctx, w.AccountID)
		if err != nil {
			t.Fatal(err)
		}
		var got, want []string
		for _, g := range gs {
			got = append(got, g.ID)
		}
		for _, g := range st.Groups {
			if slices.Contains(g.Members, w.AccountID) {
				want = append(want, g.GroupID)
			}
		}
		if !slices.Equal(sorted(got), sorted(want)) {
			t.Errorf("user %s groups %v, want %v", w.AccountID, got, want)
		}
	}

	roles, err := c.ApplicationRoles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(roles) != len(st.ApplicationRoles) {
		t.Fatalf("application roles %d, want %d", len(roles), len(st.ApplicationRoles))
	}
	for i, w := range st.ApplicationRoles {
		if roles[i].Key != w.Key || !slices.Equal(sorted(roles[i].Groups), sorted(w.Groups)) {
			t.Errorf("application role %+v, want %+v", roles[i], w)
		}
	}

	var projects []switchyard.Project
	if err := c.Projects(ctx, func(ps []switchyard.Project) error { projects = append(projects, ps...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(projects) != len(st.Projects) {
		t.Fatalf("projects %d, want %d", len(projects), len(st.Projects))
	}
	if n := obs.count("GET /rest/api/3/project/search"); n < 3 {
		t.Fatalf("projects took %d pages, want ≥ 3", n)
	}
	for _, w := range st.Projects {
		i := slices.IndexFunc(projects, func(p switchyard.Project) bool { return p.ID == w.ID })
		if i < 0 || projects[i].Key != w.Key || projects[i].Name != w.Name || projects[i].LeadAccountID != w.LeadAccountID {
			t.Errorf("project %s missing or different: %+v", w.Key, projects)
			continue
		}
		rs, err := c.ProjectRoles(ctx, w.Key)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != len(w.Roles) {
			t.Errorf("%s roles %d, want %d", w.Key, len(rs), len(w.Roles))
		}
		for _, wr := range w.Roles {
			j := slices.IndexFunc(rs, func(r switchyard.ProjectRole) bool { return r.ID == wr.ID })
			if j < 0 || rs[j].Name != wr.Name || !slices.Equal(sorted(rs[j].Actors.Users), sorted(wr.Actors.Users)) || !slices.Equal(sorted(rs[j].Actors.Groups), sorted(wr.Actors.Groups)) {
				t.Errorf("%s role %s: got %+v, want %+v", w.Key, wr.Name, rs, wr)
			}
		}
		browse, err := c.BrowseGrants(ctx, w.Key)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := holderStrings(browse), stateHolderStrings(w.Browse); !slices.Equal(got, want) {
			t.Errorf("%s browse %v, want %v", w.Key, got, want)
		}
		levels, err := c.SecurityLevels(ctx, w.Key)
		if err != nil {
			t.Fatal(err)
		}
		if len(levels) != len(w.SecurityLevels) {
			t.Errorf("%s levels %d, want %d", w.Key, len(levels), len(w.SecurityLevels))
			continue
		}
		for k, wl := range w.SecurityLevels {
			if levels[k].ID != wl.ID || levels[k].Name != wl.Name || !slices.Equal(holderStrings(levels[k].Members), stateHolderStrings(wl.Members)) {
				t.Errorf("%s level %+v, want %+v", w.Key, levels[k], wl)
			}
		}
	}
	withLevels := 0
	for _, p := range st.Projects {
		if len(p.SecurityLevels) > 0 {
			withLevels++
		}
	}
	if n := obs.count("GET /rest/api/3/issuesecurityschemes/{issueSecuritySchemeId}/members"); withLevels == 0 || n <= withLevels {
		t.Fatalf("level members took %d pages for %d schemes: paging not exercised", n, withLevels)
	}
	if _, err := c.BrowseGrants(ctx, "NOPE"); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("unknown project: %v", err)
	}
	// Custom fields named by userCustomField/groupCustomField holders are
	// fetched with issues from now on, without configuring them.
	referenced := map[string]bool{}
	for _, p := range st.Projects {
		hs := p.Browse
		for _, l := range p.SecurityLevels {
			hs = append(hs, l.Members...)
		}
		for _, h := range hs {
			if (h.Type == switchyard.HolderUserCustomField || h.Type == switchyard.HolderGroupCustomField) && h.Parameter != nil {
				referenced[*h.Parameter] = true
			}
		}
	}
	if len(referenced) == 0 {
		t.Fatal("no grant or level references a custom field")
	}
	checked := 0
	for _, w := range st.Issues {
		for f, ids := range w.CustomFields {
			if !referenced[f] || len(ids) == 0 {
				continue
			}
			is, err := c.Issue(ctx, w.Key)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(sorted(is.CustomFields[f]), sorted(ids)) {
				t.Errorf("%s %s = %v, want %v (learned from grants)", w.Key, f, is.CustomFields[f], ids)
			}
			checked++
		}
	}
	if checked == 0 {
		t.Fatal("no issue has a value in a referenced custom field")
	}
}

// listAll lists every issue id with search/jql and hydrates them with
// bulkfetch (Cloud) or the id search (Data Center), 4 workers.
func listAll(t testing.TB, c *connector.Client, jql string, idPage int) []switchyard.Issue {
	t.Helper()
	ctx := context.Background()
	var ids []string
	for tok := ""; ; {
		page, next, err := c.SearchIDs(ctx, jql, tok, idPage)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, page...)
		if next == "" {
			break
		}
		tok = next
	}
	var (
		mu  sync.Mutex
		out []switchyard.Issue
		wg  sync.WaitGroup
		sem = make(chan struct{}, 4)
	)
	for i := 0; i < len(ids); i += 100 {
		chunk := ids[i:min(i+100, len(ids))]
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			is, err := c.BulkFetch(ctx, chunk)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			out = append(out, is...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	sort.Slice(out, func(i, j int) bool {
		return len(out[i].ID) < len(out[j].ID) || len(out[i].ID) == len(out[j].ID) && out[i].ID < out[j].ID
	})
	return out
}

// customFields are the custom field ids the world uses on issues.
func customFields(st jirasim.State) []string {
	var out []string
	for _, is := range st.Issues {
		for f := range is.CustomFields {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	sort.Strings(out)
	return out
}

func projectJQL(st jirasim.State) string {
	var keys []string
	for _, p := range st.Projects {
		keys = append(keys, p.Key)
	}
	return "project in (" + strings.Join(keys, ",") + ") ORDER BY id"
}

// checkIssues compares fetched issues with the simulator's state, paging
// comments where the embedded page was capped.
func checkIssues(t *testing.T, c *connector.Client, got []switchyard.Issue, st jirasim.State) {
	t.Helper()
	ctx := context.Background()
	if len(got) != len(st.Issues) {
		t.Fatalf("issues: got %d, want %d", len(got), len(st.Issues))
	}
	// Data Center knows groups by name only: the connector's group ids are
	// names there, in custom fields and comment visibility alike.
	groupName := map[string]string{}
	if st.Mode == switchyard.ModeDataCenter {
		for _, g := range st.Groups {
			groupName[g.GroupID] = g.Name
		}
	}
	want := map[string]jirasim.StateIssue{}
	for _, w := range st.Issues {
		for f, ids := range w.CustomFields {
			out := make([]string, len(ids))
			for i, id := range ids {
				out[i] = id
				if n, ok := groupName[id]; ok {
					out[i] = n
				}
			}
			w.CustomFields[f] = out
		}
		for i, c := range w.Comments {
			if c.Visibility != nil && c.Visibility.Type == "group" {
				if n, ok := groupName[c.Visibility.Identifier]; ok {
					v := *c.Visibility
					v.Identifier = n
					w.Comments[i].Visibility = &v
				}
			}
		}
		want[w.ID] = w
	}
	paged, restricted := 0, 0
	for _, is := range got {
		w, ok := want[is.ID]
		if !ok {
			t.Errorf("unexpected issue %s", is.Key)
			continue
		}
		if is.Key != w.Key || is.ProjectID != w.ProjectID || is.Summary != w.Summary || is.Status != w.Status ||
			is.IssueType != w.IssueType || is.StatusCategory != w.StatusCategory || is.Priority != w.Priority ||
			is.Reporter != deref(w.Reporter) || is.Assignee != deref(w.Assignee) || is.SecurityLevelID != deref(w.SecurityLevelID) ||
			jirasim.StateTime(is.Created) != w.Created || jirasim.StateTime(is.Updated) != w.Updated ||
			!slices.Equal(sorted(is.Labels), sorted(w.Labels)) {
			t.Errorf("issue %s:\n got %+v\nwant %+v", w.Key, is, w)
		}
		for f, ids := range w.CustomFields {
			if !slices.Equal(sorted(is.CustomFields[f]), sorted(ids)) {
				t.Errorf("issue %s %s = %v, want %v", w.Key, f, is.CustomFields[f], ids)
			}
		}
		if strings.Contains(is.Description, `"type":"doc"`) || strings.Contains(is.Description, `"content":[`) {
			t.Errorf("issue %s description is not Markdown: %.80q", w.Key, is.Description)
		}
		if is.URL != c.SiteURL()+"/browse/"+w.Key {
			t.Errorf("issue %s url %q", w.Key, is.URL)
		}
		comments := is.Comments
		if is.CommentTotal != len(w.Comments) {
			t.Errorf("issue %s comment total %d, want %d", w.Key, is.CommentTotal, len(w.Comments))
		}
		if is.CommentTotal > len(is.Comments) {
			paged++
			comments = nil
			if err := c.Comments(ctx, is.Key, func(cs []switchyard.Comment) error { comments = append(comments, cs...); return nil }); err != nil {
				t.Fatal(err)
			}
		}
		if len(comments) != len(w.Comments) {
			t.Errorf("issue %s comments %d, want %d", w.Key, len(comments), len(w.Comments))
			continue
		}
		for i, wc := range w.Comments {
			gc := comments[i]
			if gc.ID != wc.ID || gc.Author != wc.Author || jirasim.StateTime(gc.Created) != wc.Created || !reflectVis(gc.Visibility, wc.Visibility) || gc.Body == "" {
				t.Errorf("issue %s comment %d: got %+v, want %+v", w.Key, i, gc, wc)
			}
			if wc.Visibility != nil {
				restricted++
			}
		}
		if len(is.Attachments) != len(w.Attachments) {
			t.Errorf("issue %s attachments %d, want %d", w.Key, len(is.Attachments), len(w.Attachments))
			continue
		}
		for i, wa := range w.Attachments {
			ga := is.Attachments[i]
			if ga.ID != wa.ID || ga.Filename != wa.Filename || ga.MimeType != wa.MimeType || ga.Size != wa.Size {
				t.Errorf("issue %s attachment %+v, want %+v", w.Key, ga, wa)
			}
		}
	}
	t.Logf("%d issues, %d with comments paged past the embedded page, %d restricted comments", len(got), paged, restricted)
}

func reflectVis(a, b *switchyard.Visibility) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

func TestSimCloudIssues(t *testing.T) {
	s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 3, Issues: 180}})
	st := s.state(t)
	obs := &pages{}
	c := s.client(t, func(o *connector.Options) { o.PageSize = 8; o.Observer = obs; o.CustomFields = customFields(st) })
	ctx := context.Background()
	jql := projectJQL(st)

	n, err := c.ApproximateCount(ctx, jql)
	if err != nil || n != len(st.Issues) {
		t.Fatalf("approximate count %d, %v; want %d", n, err, len(st.Issues))
	}
	got := listAll(t, c, jql, 37)
	if p := obs.count("POST /rest/api/3/search/jql"); p < len(st.Issues)/37 {
		t.Fatalf("search/jql pages %d, want ≥ %d", p, len(st.Issues)/37)
	}
	checkIssues(t, c, got, st)
	if n := obs.count("GET /rest/api/3/issue/{issueIdOrKey}/comment"); n < 6 {
		t.Fatalf("comment pages %d: paging past the embedded 20 did not cross pages", n)
	}

	// One issue by key, and a missing one.
	w := st.Issues[3]
	is, err := c.Issue(ctx, w.Key)
	if err != nil || is.ID != w.ID || is.Summary != w.Summary {
		t.Fatalf("issue %s: %+v, %v", w.Key, is.Key, err)
	}
	if _, err := c.Issue(ctx, "ITSM-999999"); !errors.Is(err, switchyard.ErrNotFound) || !strings.Contains(err.Error(), "ITSM-999999") {
		t.Fatalf("missing issue: %v", err)
	}

	// Attachment content: real bytes, the size Jira reports; the cap is enforced.
	var att *jirasim.StateAttachment
	for _, w := range st.Issues {
		for i := range w.Attachments {
			if w.Attachments[i].Size > 100 {
				att = &w.Attachments[i]
				break
			}
		}
		if att != nil {
			break
		}
	}
	if att == nil {
		t.Fatal("no attachment in the world")
	}
	rc, err := c.AttachmentContent(ctx, att.ID, 0)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || int64(len(b)) != att.Size {
		t.Fatalf("attachment %s: %d bytes (%v), want %d", att.ID, len(b), err, att.Size)
	}
	if rc, err := c.AttachmentContent(ctx, att.ID, 50); err == nil {
		_, err = io.ReadAll(rc)
		rc.Close()
		if !errors.Is(err, connector.ErrTooLarge) {
			t.Fatalf("capped read: %v", err)
		}
	} else if !errors.Is(err, connector.ErrTooLarge) || !strings.Contains(err.Error(), "50-byte cap") {
		t.Fatalf("capped open: %v", err)
	}
}

func TestSimRemovedSearchIs410(t *testing.T) {
	s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 1, Issues: 5}})
	c := s.client(t, nil)
	_, _, err := c.Search(context.Background(), "project = ITSM", 0, 50)
	if !errors.Is(err, connector.ErrGone) || !strings.Contains(err.Error(), "410") {
		t.Fatalf("err = %v, want ErrGone with 410", err)
	}
	if errors.Is(err, switchyard.ErrNotFound) {
		t.Fatal("410 must not look like a deleted issue")
	}
}

func TestSimAuditDeletions(t *testing.T) {
	s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 2, Issues: 40}})
	st := s.state(t)
	c := s.client(t, func(o *connector.Options) { o.PageSize = 2 })
	ctx := context.Background()
	from := time.Now().Add(-time.Hour)
	victims := []string{st.Issues[1].Key, st.Issues[5].Key, st.Issues[9].Key}
	for _, k := range victims {
		s.simReq(t, http.MethodDelete, "/_sim/issues/"+k, nil)
	}
	var got []string
	if err := c.AuditRecords(ctx, from, func(ds []connector.Deletion) error {
		for _, d := range ds {
			got = append(got, d.Key)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sorted(got), sorted(victims)) {
		t.Fatalf("deletions %v, want %v", got, victims)
	}
	for _, k := range victims {
		if _, err := c.Issue(ctx, k); !errors.Is(err, switchyard.ErrNotFound) {
			t.Errorf("deleted %s: %v", k, err)
		}
	}
	// Without Administer Jira the audit log is 403: ErrForbidden.
	s.srv.SetKnobs(jirasim.Knobs{AuditForbidden: true})
	err := c.AuditRecords(ctx, from, func([]connector.Deletion) error { return nil })
	if !errors.Is(err, switchyard.ErrForbidden) {
		t.Fatalf("forbidden audit: %v", err)
	}
}

func TestSimWriteBack(t *testing.T) {
	for _, mode := range []switchyard.Mode{switchyard.ModeCloud, switchyard.ModeDataCenter} {
		t.Run(string(mode), func(t *testing.T) {
			s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 1, Issues: 5, Mode: mode}})
			st := s.state(t)
			c := s.client(t, nil)
			ctx := context.Background()
			key := st.Issues[0].Key
			prop := map[string]any{"run": "r-123", "step": "decision"}
			cm, err := c.AddComment(ctx, key, connector.CommentBody{Text: "Approved by *Sam*.\nRunning the VPN reset runbook."}, "switchyard.run", prop)
			if err != nil {
				t.Fatal(err)
			}
			if cm.ID == "" || !strings.Contains(cm.Body, "Running the VPN reset runbook") {
				t.Fatalf("comment %+v", cm)
			}
			raw, err := c.CommentProperty(ctx, cm.ID, "switchyard.run")
			if err != nil {
				t.Fatal(err)
			}
			var back map[string]any
			if json.Unmarshal(raw, &back); back["run"] != "r-123" {
				t.Fatalf("comment property %s", raw)
			}
			found, ok, err := c.FindComment(ctx, key, "switchyard.run", func(v json.RawMessage) bool { return strings.Contains(string(v), "r-123") })
			if err != nil || !ok || found.ID != cm.ID {
				t.Fatalf("find comment: %+v %v %v", found, ok, err)
			}
			if _, ok, err := c.FindComment(ctx, key, "switchyard.run", func(v json.RawMessage) bool { return strings.Contains(string(v), "r-999") }); ok || err != nil {
				t.Fatalf("found a comment that does not exist: %v", err)
			}
			if _, err := c.CommentProperty(ctx, cm.ID, "absent"); !errors.Is(err, switchyard.ErrNotFound) {
				t.Fatalf("absent property: %v", err)
			}
			if err := c.SetIssueProperty(ctx, key, "switchyard.intent", map[string]string{"intent": "vpn_reset"}); err != nil {
				t.Fatal(err)
			}
			raw, err = c.IssueProperty(ctx, key, "switchyard.intent")
			if err != nil || !strings.Contains(string(raw), "vpn_reset") {
				t.Fatalf("issue property %s %v", raw, err)
			}
			ts, err := c.Transitions(ctx, key)
			if err != nil || len(ts) == 0 {
				t.Fatalf("transitions %v %v", ts, err)
			}
			if err := c.DoTransition(ctx, key, ts[0].ID); err != nil {
				t.Fatal(err)
			}
			is, err := c.Issue(ctx, key)
			if err != nil || is.Status != ts[0].To {
				t.Fatalf("after transition status %q, want %q (%v)", is.Status, ts[0].To, err)
			}
			// Comments added are visible to the next read.
			if len(is.Comments) == 0 || is.Comments[len(is.Comments)-1].ID != cm.ID {
				t.Fatalf("new comment not on the issue: %+v", is.Comments)
			}
		})
	}
}

func TestSim429StormHonoursRetryAfter(t *testing.T) {
	s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 1, Issues: 5}})
	obs := &pages{}
	c := s.client(t, func(o *connector.Options) {
		o.Observer = obs
		o.RequestsPerSecond = 500 // far above the site's limit
		o.Concurrency = 8
		o.MaxRetries = 20
		o.RetryMaxDelay = 5 * time.Second
	})
	if err := s.srv.SetKnobs(jirasim.Knobs{RateLimit: 25}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for i := 0; i < 80; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Myself(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if obs.status[429] == 0 {
		t.Fatal("no 429s: the storm did not happen")
	}
	// The simulator sends Retry-After in whole seconds (≥ 1): every 429 wait
	// must honour it.
	for _, r := range obs.retries {
		if r.reason == "429" && r.wait < time.Second {
			t.Errorf("429 retry waited %v, less than Retry-After 1s", r.wait)
		}
	}
	if el < time.Second {
		t.Errorf("storm finished in %v: Retry-After was not honoured", el)
	}
	t.Logf("80 calls in %v with %d 429s, %d retries", el, obs.status[429], len(obs.retries))
}

func TestSimFaultsConverge(t *testing.T) {
	for _, mode := range []switchyard.Mode{switchyard.ModeCloud, switchyard.ModeDataCenter} {
		t.Run(string(mode), func(t *testing.T) {
			s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 2, Issues: 60, Mode: mode}})
			st := s.state(t)
			obs := &pages{}
			c := s.client(t, func(o *connector.Options) {
				o.Observer = obs
				o.MaxRetries = 12
				o.RetryMaxDelay = 50 * time.Millisecond
				o.PageSize = 5
				o.CustomFields = customFields(st)
			})
			if err := s.srv.SetKnobs(jirasim.Knobs{FaultRate: 0.4}); err != nil {
				t.Fatal(err)
			}
			// Listing, hydration and comment paging all run under faults.
			checkIssues(t, c, listAll(t, c, projectJQL(st), 4), st)
			s.srv.SetKnobs(jirasim.Knobs{})
			obs.mu.Lock()
			defer obs.mu.Unlock()
			if len(obs.retries) == 0 {
				t.Fatal("no retries: faults were not injected")
			}
			reasons := map[string]int{}
			for _, r := range obs.retries {
				reasons[r.reason]++
			}
			t.Logf("retries by reason: %v", reasons)
			if len(obs.retries) < 5 || len(reasons) < 2 {
				t.Fatalf("too few faults to mean anything: %v", reasons)
			}
		})
	}
}

func TestSimTruncatedBodyClearError(t *testing.T) {
	s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 1, Issues: 5}})
	c := s.client(t, func(o *connector.Options) { o.MaxRetries = 2; o.RetryMaxDelay = 10 * time.Millisecond })
	s.srv.SetKnobs(jirasim.Knobs{FaultRate: 1})
	seen := map[string]bool{}
	for i := 0; i < 40 && !seen["truncated"]; i++ {
		_, err := c.Myself(context.Background())
		if err == nil {
			t.Fatal("every request faults, yet the call succeeded")
		}
		msg := err.Error()
		if !strings.Contains(msg, "GET /rest/api/3/myself") || !strings.Contains(msg, "gave up after 3 attempts") {
			t.Fatalf("unclear error: %q", msg)
		}
		if strings.Contains(msg, "truncated response body") {
			seen["truncated"] = true
		}
	}
	if !seen["truncated"] {
		t.Fatal("never saw a truncated-body error")
	}
}

// oauthStore is an in-memory connector.TokenStore.
type oauthStore struct {
	mu  sync.Mutex
	tok *oauth2.Token
}

func (s *oauthStore) LoadToken(ctx context.Context, conn string) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return nil, nil
	}
	t := *s.tok
	return &t, nil
}

func (s *oauthStore) SaveToken(ctx context.Context, conn string, tok *oauth2.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := *tok
	s.tok = &t
	return nil
}

func TestSimOAuthFlowRotationAndWebhooks(t *testing.T) {
	s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 1, Issues: 10}})
	ctx := context.Background()
	cfg := &connector.OAuthConfig{
		ClientID: s.srv.Options().OAuthClientID, ClientSecret: s.srv.Options().OAuthClientSecret,
		RedirectURL: "https://switchyard.example/oauth/callback", Scopes: []string{"read:jira-work", "write:jira-work", "manage:jira-webhook"},
		AuthURL: s.ts.URL + "/authorize", TokenURL: s.ts.URL + "/oauth/token",
		ResourcesURL: s.ts.URL + "/oauth/token/accessible-resources", APIGatewayURL: s.ts.URL,
	}
	// Consent: the simulator approves at once and redirects with code and state.
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noRedirect.Get(cfg.AuthCodeURL("xyz-state"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || loc.Query().Get("state") != "xyz-state" || loc.Query().Get("code") == "" {
		t.Fatalf("consent redirect %q (%d)", resp.Header.Get("Location"), resp.StatusCode)
	}
	tok, err := cfg.Exchange(ctx, loc.Query().Get("code"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token despite offline_access")
	}
	cloudID, err := cfg.CloudID(ctx, tok, s.ts.URL)
	if err != nil || cloudID != s.srv.Options().CloudID {
		t.Fatalf("cloud id %q %v", cloudID, err)
	}
	store := &oauthStore{tok: tok}
	c, err := connector.New(connector.Options{Name: "oauth-sim", BaseURL: s.ts.URL, Auth: connector.OAuthAuth(cfg, store)})
	if err != nil {
		t.Fatal(err)
	}
	me, err := c.Myself(ctx)
	if err != nil || me.AccountID == "" {
		t.Fatalf("myself through the gateway: %+v %v", me, err)
	}

	// Expire the access token: the next call refreshes, rotating the refresh
	// token, and persists the new pair before using it.
	old := *tok
	store.mu.Lock()
	store.tok.Expiry = time.Now().Add(-time.Minute)
	store.mu.Unlock()
	c2, _ := connector.New(connector.Options{Name: "oauth-sim-2", BaseURL: s.ts.URL, Auth: connector.OAuthAuth(cfg, store)})
	if _, err := c2.Myself(ctx); err != nil {
		t.Fatal(err)
	}
	cur, _ := store.LoadToken(ctx, "")
	if cur.RefreshToken == old.RefreshToken || cur.AccessToken == old.AccessToken {
		t.Fatal("refresh did not rotate and persist the tokens")
	}
	// A copy of the connection that still holds the spent refresh token is
	// rejected: re-authorize this connection.
	stale := &oauthStore{tok: &oauth2.Token{AccessToken: "expired", RefreshToken: old.RefreshToken, Expiry: time.Now().Add(-time.Hour)}}
	c3, _ := connector.New(connector.Options{Name: "oauth-sim-stale", BaseURL: s.ts.URL, Auth: connector.Auth{Type: connector.AuthOAuth, OAuth: cfg, Store: stale, CloudID: cloudID}})
	_, err = c3.Myself(ctx)
	if !errors.Is(err, switchyard.ErrReauthorize) || !strings.Contains(err.Error(), "re-authorize this connection") {
		t.Fatalf("reused refresh token: %v", err)
	}

	// Dynamic webhooks (OAuth apps only), listed across pages of 2.
	hookObs := &pages{}
	c4, _ := connector.New(connector.Options{Name: "oauth-sim-hooks", BaseURL: s.ts.URL, Auth: connector.OAuthAuth(cfg, store), PageSize: 2, Observer: hookObs})
	var ids []int64
	for _, jql := range []string{"project = ITSM", "project = ITSM AND updated >= 1700000000000", "project in (ITSM)"} {
		got, err := c4.RegisterWebhooks(ctx, "https://switchyard.example/hooks/jira", jql, []string{"jira:issue_created", "jira:issue_updated"})
		if err != nil || len(got) != 1 {
			t.Fatalf("register %q: %v %v", jql, got, err)
		}
		ids = append(ids, got...)
	}
	hooks, err := c4.ListWebhooks(ctx)
	if err != nil || len(hooks) != 3 || hooks[0].ID != ids[0] || hooks[0].JQLFilter != "project = ITSM" || hooks[0].Expires.Before(time.Now()) {
		t.Fatalf("list: %+v %v", hooks, err)
	}
	if n := hookObs.count("GET /rest/api/3/webhook"); n < 2 {
		t.Fatalf("webhook list took %d pages", n)
	}
	exp, err := c2.RefreshWebhooks(ctx, ids)
	if err != nil || exp.Before(time.Now().Add(24*time.Hour)) {
		t.Fatalf("refresh: %v %v", exp, err)
	}
	if err := c2.DeleteWebhooks(ctx, ids); err != nil {
		t.Fatal(err)
	}
	if hooks, err := c2.ListWebhooks(ctx); err != nil || len(hooks) != 0 {
		t.Fatalf("after delete: %+v %v", hooks, err)
	}
	// Webhooks need OAuth: a token connection is refused before any request.
	if _, err := s.client(t, nil).ListWebhooks(ctx); !errors.Is(err, switchyard.ErrInvalid) {
		t.Fatalf("api-token webhooks: %v", err)
	}
}

func TestSimDataCenter(t *testing.T) {
	s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 2, Issues: 70, Mode: switchyard.ModeDataCenter}})
	st := s.state(t)
	obs := &pages{}
	c := s.client(t, func(o *connector.Options) { o.PageSize = 9; o.Observer = obs; o.CustomFields = customFields(st) })
	ctx := context.Background()

	if me, err := c.Myself(ctx); err != nil || me.AccountID != st.AdminAccountID {
		t.Fatalf("myself %+v %v", me, err)
	}
	var users []switchyard.User
	if err := c.Users(ctx, func(us []switchyard.User) error { users = append(users, us...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(users) != len(st.Users) {
		t.Fatalf("users %d, want %d", len(users), len(st.Users))
	}
	var groups []switchyard.Group
	if err := c.Groups(ctx, func(gs []switchyard.Group) error { groups = append(groups, gs...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(groups) != len(st.Groups) {
		t.Fatalf("groups %d, want %d", len(groups), len(st.Groups))
	}
	for _, w := range st.Groups {
		// Data Center names groups; members are read by name.
		members, err := c.GroupMembers(ctx, w.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(sorted(members), sorted(w.Members)) {
			t.Errorf("group %s members %d, want %d", w.Name, len(members), len(w.Members))
		}
	}
	var projects []switchyard.Project
	if err := c.Projects(ctx, func(ps []switchyard.Project) error { projects = append(projects, ps...); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(projects) != len(st.Projects) {
		t.Fatalf("projects %d, want %d", len(projects), len(st.Projects))
	}
	for _, w := range st.Projects {
		rs, err := c.ProjectRoles(ctx, w.Key)
		if err != nil || len(rs) != len(w.Roles) {
			t.Errorf("%s roles %d %v", w.Key, len(rs), err)
		}
		if _, err := c.BrowseGrants(ctx, w.Key); err != nil {
			t.Errorf("%s grants: %v", w.Key, err)
		}
		// The Data Center reference has no level-members resource: the
		// levels come back without members (fail closed) and say why.
		levels, err := c.SecurityLevels(ctx, w.Key)
		if len(levels) != len(w.SecurityLevels) || (len(levels) > 0) != errors.Is(err, connector.ErrLevelMembersUnavailable) {
			t.Errorf("%s levels %d %v", w.Key, len(levels), err)
		}
		for _, l := range levels {
			if len(l.Members) != 0 {
				t.Errorf("%s level %s has members %v from an endpoint Data Center lacks", w.Key, l.ID, l.Members)
			}
		}
	}

	// Windowed offset search with startAt/total, many pages.
	jql := projectJQL(st)
	var got []switchyard.Issue
	for start := 0; ; {
		page, total, err := c.Search(ctx, jql, start, 0)
		if err != nil {
			t.Fatal(err)
		}
		if total != len(st.Issues) {
			t.Fatalf("total %d, want %d", total, len(st.Issues))
		}
		got = append(got, page...)
		start += len(page)
		if len(page) == 0 || start >= total {
			break
		}
	}
	if p := obs.count("POST /rest/api/2/search"); p < len(st.Issues)/9 {
		t.Fatalf("search pages %d, want ≥ %d", p, len(st.Issues)/9)
	}
	checkIssues(t, c, got, st)
	// The id listing and hydration used by the sync work in Data Center too.
	checkIssues(t, c, listAll(t, c, jql, 20), st)
	if n, err := c.ApproximateCount(ctx, jql); err != nil || n != len(st.Issues) {
		t.Fatalf("count %d %v", n, err)
	}

	// Attachment bytes through /secure/attachment.
	for _, w := range st.Issues {
		if len(w.Attachments) == 0 {
			continue
		}
		a := w.Attachments[0]
		rc, err := c.AttachmentContent(ctx, a.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if int64(len(b)) != a.Size {
			t.Fatalf("attachment %s: %d bytes, want %d", a.ID, len(b), a.Size)
		}
		break
	}

	// Audit events.
	from := time.Now().Add(-time.Hour)
	s.simReq(t, http.MethodDelete, "/_sim/issues/"+st.Issues[2].Key, nil)
	var dels []string
	if err := c.AuditRecords(ctx, from, func(ds []connector.Deletion) error {
		for _, d := range ds {
			dels = append(dels, d.Key)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(dels, []string{st.Issues[2].Key}) {
		t.Fatalf("deletions %v", dels)
	}
}

// BenchmarkConnectorPages measures connector pages per second over loopback
// against the simulator: search/jql id pages plus bulkfetch pages of 100,
// 4 workers, no latency.
func BenchmarkConnectorPages(b *testing.B) {
	s := newSim(b, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 4, Issues: 2000}})
	st := s.state(b)
	obs := &pages{}
	c := s.client(b, func(o *connector.Options) { o.Observer = obs; o.RequestsPerSecond = 1e6; o.Concurrency = 4 })
	jql := projectJQL(st)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		got := listAll(b, c, jql, 500)
		if len(got) != len(st.Issues) {
			b.Fatalf("got %d issues", len(got))
		}
	}
	el := time.Since(start)
	b.StopTimer()
	obs.mu.Lock()
	total := 0
	for _, n := range obs.n {
		total += n
	}
	obs.mu.Unlock()
	b.ReportMetric(float64(total)/el.Seconds(), "pages/s")
	b.ReportMetric(float64(len(st.Issues)*b.N)/el.Seconds(), "issues/s")
}

var _ = fmt.Sprint
