package connector_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector"
	"switchyard/connector/jirasim"
)

// Data Center fidelity: the simulator answers like a real Data Center site
// (context path, capped picker, the documented endpoint set, cursor-paged
// audit log), and the connector must cope.

// dcSim is a Data Center simulator on loopback; base is the site URL the
// connector is configured with (context path included).
type dcSim struct {
	*sim
	base string
}

func newDCSim(t testing.TB, g jirasim.GenerateOptions, dc jirasim.DCOptions) *dcSim {
	t.Helper()
	g.Mode = switchyard.ModeDataCenter
	if g.Seed == 0 {
		g.Seed = 42
	}
	srv := jirasim.New(jirasim.Options{GenerateOptions: g, DataCenter: dc})
	ts := httptest.NewServer(srv)
	srv.SetBaseURL(ts.URL)
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return &dcSim{sim: &sim{srv: srv, ts: ts}, base: ts.URL + srv.Options().DataCenter.ContextPath}
}

func (s *dcSim) client(t testing.TB, mod func(*connector.Options)) *connector.Client {
	t.Helper()
	return s.sim.client(t, func(o *connector.Options) {
		o.BaseURL = s.base
		if mod != nil {
			mod(o)
		}
	})
}

// TestDCContextPath: on a site served under /jira, REST calls and attachment
// downloads reach /jira/… once (not /jira/jira/…), and an error names the URL
// really requested.
func TestDCContextPath(t *testing.T) {
	for _, cp := range []string{"/jira", "/tools/jira"} {
		t.Run(strings.Trim(cp, "/"), func(t *testing.T) {
			s := newDCSim(t, jirasim.GenerateOptions{Projects: 1, Issues: 30}, jirasim.DCOptions{ContextPath: cp})
			st := s.state(t)
			c := s.client(t, nil)
			ctx := context.Background()
			if me, err := c.Myself(ctx); err != nil || me.AccountID != st.AdminAccountID {
				t.Fatalf("myself through %s: %+v %v", cp, me, err)
			}
			n := 0
			for _, is := range st.Issues {
				for _, a := range is.Attachments {
					rc, err := c.AttachmentContent(ctx, a.ID, 0)
					if err != nil {
						t.Fatalf("attachment %s under %s: %v", a.ID, cp, err)
					}
					b, _ := io.ReadAll(rc)
					rc.Close()
					if int64(len(b)) != a.Size {
						t.Fatalf("attachment %s: %d bytes, want %d", a.ID, len(b), a.Size)
					}
					n++
				}
			}
			if n == 0 {
				t.Fatal("the world has no attachments; the test proves nothing")
			}

			// The error names the full URL requested, context path included.
			_, err := c.Issue(ctx, "NOPE-1")
			want := s.base + "/rest/api/2/issue/NOPE-1"
			if !errors.Is(err, switchyard.ErrNotFound) || !strings.Contains(err.Error(), want) {
				t.Fatalf("missing issue: %v; want ErrNotFound naming %s", err, want)
			}
			// Configured without the context path, the site answers 404 and
			// the error says where the connector really asked.
			bare := s.sim.client(t, nil)
			_, err = bare.Myself(ctx)
			if !errors.Is(err, switchyard.ErrNotFound) || !strings.Contains(err.Error(), s.ts.URL+"/rest/api/2/myself") {
				t.Fatalf("without the context path: %v", err)
			}
		})
	}
}

// TestDCErrorRedactsCredentials: a base URL with user info never puts the
// password in an error.
func TestDCErrorRedactsCredentials(t *testing.T) {
	s := newDCSim(t, jirasim.GenerateOptions{Projects: 1, Issues: 5}, jirasim.DCOptions{ContextPath: "/jira"})
	base := strings.Replace(s.base, "http://", "http://svc:hunter2@", 1)
	c := s.client(t, func(o *connector.Options) { o.BaseURL = base })
	_, err := c.Issue(context.Background(), "NOPE-1")
	if err == nil || strings.Contains(err.Error(), "hunter2") || !strings.Contains(err.Error(), "/jira/rest/api/2/issue/NOPE-1") {
		t.Fatalf("error %v: must name the URL without the password", err)
	}
}

// TestDCGroupsPastPickerCap: groups/picker answers at most its cap (20 by
// default, as jira.ajax.autocomplete.limit) with the real total; every group
// must still be listed, by exclude paging or, past the URL budget, through
// the users' own groups.
func TestDCGroupsPastPickerCap(t *testing.T) {
	cases := []struct {
		name   string
		extra  int
		limit  int
		viaUsr bool // expect the users' group lists to be read
	}{
		{"under the cap", 5, 0, false},
		{"past the default cap", 40, 0, false},
		{"cap of 7", 40, 7, false},
		{"past the exclude URL budget", 700, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newDCSim(t, jirasim.GenerateOptions{Projects: 1, Issues: 1, ExtraGroups: tc.extra}, jirasim.DCOptions{ContextPath: "/jira", PickerLimit: tc.limit})
			st := s.state(t)
			obs := &pages{}
			c := s.client(t, func(o *connector.Options) { o.Observer = obs })
			var got []string
			err := c.Groups(context.Background(), func(gs []switchyard.Group) error {
				for _, g := range gs {
					got = append(got, g.Name)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, g := range st.Groups {
				want = append(want, g.Name)
			}
			if !slices.Equal(sorted(got), sorted(want)) {
				t.Fatalf("%d groups listed, Jira has %d", len(got), len(want))
			}
			if usr := obs.count("GET /rest/api/2/user"); (usr > 0) != tc.viaUsr {
				t.Fatalf("%d user requests; want them only past the URL budget", usr)
			}
			t.Logf("%d groups in %d picker requests and %d user requests", len(got), obs.count("GET /rest/api/2/groups/picker"), obs.count("GET /rest/api/2/user"))
		})
	}
}

// TestDCSecurityLevelMembers: Data Center's reference has no level-members
// resource. Without it the levels come back with no members and an error
// naming the scheme (fail closed, never a failed sync); with it (a site that
// has it) the members are read.
func TestDCSecurityLevelMembers(t *testing.T) {
	for _, has := range []bool{false, true} {
		s := newDCSim(t, jirasim.GenerateOptions{Projects: 3, Issues: 10}, jirasim.DCOptions{LevelMembersEndpoint: has})
		st := s.state(t)
		c := s.client(t, nil)
		seen := 0
		for _, p := range st.Projects {
			levels, err := c.SecurityLevels(context.Background(), p.Key)
			if len(p.SecurityLevels) == 0 {
				if err != nil || len(levels) != 0 {
					t.Fatalf("%s without a scheme: %v %v", p.Key, levels, err)
				}
				continue
			}
			seen++
			if len(levels) != len(p.SecurityLevels) {
				t.Fatalf("%s: %d levels, want %d (%v)", p.Key, len(levels), len(p.SecurityLevels), err)
			}
			if !has {
				var le *connector.LevelMembersError
				if !errors.Is(err, connector.ErrLevelMembersUnavailable) || !errors.As(err, &le) || le.SchemeID == "" || !strings.Contains(err.Error(), le.SchemeName) || !strings.Contains(err.Error(), "fail closed") {
					t.Fatalf("%s: error %v; want ErrLevelMembersUnavailable naming the scheme", p.Key, err)
				}
				for _, l := range levels {
					if len(l.Members) != 0 {
						t.Fatalf("%s level %s: members %v, want none (fail closed)", p.Key, l.Name, l.Members)
					}
				}
				continue
			}
			if err != nil {
				t.Fatalf("%s: %v", p.Key, err)
			}
			name := map[string]string{} // Data Center names groups
			for _, g := range st.Groups {
				name["group:"+g.GroupID] = "group:" + g.Name
			}
			for i, l := range levels {
				want := stateHolderStrings(p.SecurityLevels[i].Members)
				for j, h := range want {
					if n, ok := name[h]; ok {
						want[j] = n
					}
				}
				if got, want := sorted(holderStrings(l.Members)), sorted(want); !slices.Equal(got, want) {
					t.Fatalf("%s level %s members %v, want %v", p.Key, l.Name, got, want)
				}
			}
		}
		if seen == 0 {
			t.Fatal("no project has a security scheme; the test proves nothing")
		}
	}
}

// TestDCAuditCursor: the audit log pages by nextPageCursor. An event logged
// while paging shifts offsets in a newest-first log (the page after repeats
// an event); the cursor is immune.
func TestDCAuditCursor(t *testing.T) {
	s := newDCSim(t, jirasim.GenerateOptions{Projects: 1, Issues: 30}, jirasim.DCOptions{ContextPath: "/jira"})
	st := s.state(t)
	from := time.Now().Add(-time.Hour)
	var deleted []string
	for _, is := range st.Issues[:7] {
		s.simReq(t, http.MethodDelete, "/_sim/issues/"+is.Key, nil)
		deleted = append(deleted, is.Key)
	}
	late := st.Issues[7].Key
	rec := &recorder{base: http.DefaultTransport}
	rec.after = func(n int) {
		if n == 1 { // Jira logs another deletion after the first page
			s.simReq(t, http.MethodDelete, "/_sim/issues/"+late, nil)
		}
	}
	c := s.client(t, func(o *connector.Options) { o.PageSize = 2; o.HTTPClient = &http.Client{Transport: rec} })
	var got []string
	if err := c.AuditRecords(context.Background(), from, func(ds []connector.Deletion) error {
		for _, d := range ds {
			got = append(got, d.Key)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(sorted(got), sorted(deleted)) {
		t.Fatalf("deletions %v, want each of %v once (the late %s waits for the next run)", got, deleted, late)
	}
	cursors := 0
	for _, u := range rec.urls() {
		if strings.Contains(u, "pageCursor=") {
			cursors++
		}
	}
	if cursors == 0 || cursors != len(rec.urls())-1 {
		t.Fatalf("audit requests %v: every page after the first must carry pageCursor", rec.urls())
	}
}

// recorder records audit request URLs and calls after once per answer.
type recorder struct {
	base  http.RoundTripper
	after func(n int)
	mu    sync.Mutex
	seen  []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.base.RoundTrip(req)
	if !strings.Contains(req.URL.Path, "/rest/auditing/") {
		return resp, err
	}
	r.mu.Lock()
	r.seen = append(r.seen, req.URL.String())
	n := len(r.seen)
	r.mu.Unlock()
	if err == nil && r.after != nil {
		// Read the page first, so the event lands after Jira answered it.
		b, rerr := io.ReadAll(resp.Body)
		resp.Body.Close()
		resp.Body = io.NopCloser(strings.NewReader(string(b)))
		if rerr == nil {
			r.after(n)
		}
	}
	return resp, err
}

func (r *recorder) urls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.seen...)
}

// TestDCRoleActorsByUsername: Data Center role actors name the username,
// which differs from the user key the connector keys users by; the actors
// must come back as keys, looked up once per username unless the users
// listing already told them.
func TestDCRoleActorsByUsername(t *testing.T) {
	s := newDCSim(t, jirasim.GenerateOptions{Projects: 3, Issues: 10}, jirasim.DCOptions{ContextPath: "/jira"})
	st := s.state(t)
	for _, listFirst := range []bool{false, true} {
		obs := &pages{}
		c := s.client(t, func(o *connector.Options) { o.Observer = obs })
		ctx := context.Background()
		if listFirst {
			if err := c.Users(ctx, func([]switchyard.User) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		distinct := map[string]bool{}
		for _, p := range st.Projects {
			roles, err := c.ProjectRoles(ctx, p.Key)
			if err != nil {
				t.Fatal(err)
			}
			want := map[string][]string{}
			for _, r := range p.Roles {
				want[r.ID] = r.Actors.Users
				for _, u := range r.Actors.Users {
					distinct[u] = true
				}
			}
			for _, r := range roles {
				if !slices.Equal(sorted(r.Actors.Users), sorted(want[r.ID])) {
					t.Fatalf("%s role %s: user actors %v, want the keys %v", p.Key, r.Name, r.Actors.Users, want[r.ID])
				}
			}
		}
		lookups := obs.count("GET /rest/api/2/user")
		if listFirst && lookups != 0 || !listFirst && lookups != len(distinct) {
			t.Fatalf("listed users first %v: %d user lookups for %d distinct actors", listFirst, lookups, len(distinct))
		}
	}
}

// TestDCUsersByVersion: Data Center 10.3+ lists users through the
// cursor-paged /rest/api/2/user/list; before it, user/search pages by startAt
// (Jira 10 caps each answer at 100, emulated here by a small cap).
func TestDCUsersByVersion(t *testing.T) {
	for _, tc := range []struct {
		name               string
		dc                 jirasim.DCOptions
		wantList, wantSrch bool
	}{
		{"9.x", jirasim.DCOptions{}, false, true},
		{"10.0 capped search", jirasim.DCOptions{UserSearchLimit: 5}, false, true},
		{"10.3 user/list", jirasim.DCOptions{UserSearchLimit: 5, UserListEndpoint: true}, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newDCSim(t, jirasim.GenerateOptions{Projects: 1, Issues: 300}, tc.dc)
			st := s.state(t)
			obs := &pages{}
			c := s.client(t, func(o *connector.Options) { o.Observer = obs; o.PageSize = 7 })
			for range 2 { // the second run knows whether user/list exists
				var got []string
				if err := c.Users(context.Background(), func(us []switchyard.User) error {
					for _, u := range us {
						got = append(got, u.AccountID)
					}
					return nil
				}); err != nil {
					t.Fatal(err)
				}
				var want []string
				for _, u := range st.Users {
					want = append(want, u.AccountID)
				}
				if !slices.Equal(sorted(got), sorted(want)) {
					t.Fatalf("%d users listed (keys), Jira has %d", len(got), len(want))
				}
			}
			list, srch := obs.count("GET /rest/api/2/user/list"), obs.count("GET /rest/api/2/user/search")
			if (srch > 0) != tc.wantSrch || (tc.wantList && list < len(st.Users)/7) || (!tc.wantList && list != 1) {
				t.Fatalf("%d user/list and %d user/search requests for %d users", list, srch, len(st.Users))
			}
		})
	}
}

// TestDCUserSearchIgnoringStartAt: a user search that answers the same page
// whatever startAt says ends with an error, not an endless loop.
func TestDCUserSearchIgnoringStartAt(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		rw.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/jira/rest/api/2/user/search" {
			rw.WriteHeader(http.StatusNotFound)
			_, _ = io.WriteString(rw, `{"errorMessages":["not here"],"errors":{}}`)
			return
		}
		_, _ = io.WriteString(rw, `[{"name":"a","key":"JIRAUSER1"},{"name":"b","key":"JIRAUSER2"}]`)
	}))
	defer ts.Close()
	c, err := connector.New(connector.Options{Mode: switchyard.ModeDataCenter, BaseURL: ts.URL + "/jira", Auth: connector.PATAuth("t"), MaxRetries: -1})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- c.Users(context.Background(), func([]switchyard.User) error { return nil }) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "repeats the previous one") {
			t.Fatalf("users: %v; want the repeated page named", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("user search paging never ends")
	}
}

// TestDCContentURLBehindProxy: behind a reverse proxy Jira's own base URL
// names another host (here a closed port) than the site URL Switchyard uses;
// attachment bytes are still fetched through the site URL, and credentials
// never go to the other host.
func TestDCContentURLBehindProxy(t *testing.T) {
	s := newDCSim(t, jirasim.GenerateOptions{Projects: 1, Issues: 30}, jirasim.DCOptions{ContextPath: "/jira"})
	s.srv.SetBaseURL("http://127.0.0.1:1") // what Jira believes its base URL is
	st := s.state(t)
	c := s.client(t, nil)
	for _, is := range st.Issues {
		for _, a := range is.Attachments {
			rc, err := c.AttachmentContent(context.Background(), a.ID, 0)
			if err != nil {
				t.Fatalf("attachment %s: %v", a.ID, err)
			}
			b, _ := io.ReadAll(rc)
			rc.Close()
			if int64(len(b)) != a.Size {
				t.Fatalf("attachment %s: %d bytes, want %d", a.ID, len(b), a.Size)
			}
			return
		}
	}
	t.Fatal("no attachment in the world")
}

// TestLevelMembersForbiddenFailsClosed: a sync account without Administer
// Jira gets 403 on level members, on Cloud as on Data Center; the levels fail
// closed with ErrLevelMembersUnavailable instead of failing the identity sync.
func TestLevelMembersForbiddenFailsClosed(t *testing.T) {
	for _, mode := range []switchyard.Mode{switchyard.ModeCloud, switchyard.ModeDataCenter} {
		s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Projects: 3, Issues: 10, Mode: mode}, DataCenter: jirasim.DCOptions{LevelMembersEndpoint: true}})
		st := s.state(t)
		forbid := roundTripFunc(func(r *http.Request) (*http.Response, error) {
			if strings.HasSuffix(r.URL.Path, "/members") {
				body := `{"errorMessages":["You are not an administrator."],"errors":{}}`
				return &http.Response{StatusCode: http.StatusForbidden, Header: http.Header{"Content-Type": {"application/json"}}, Request: r,
					ContentLength: int64(len(body)), Body: io.NopCloser(strings.NewReader(body))}, nil
			}
			return http.DefaultTransport.RoundTrip(r)
		})
		c := s.client(t, func(o *connector.Options) { o.HTTPClient = &http.Client{Transport: forbid} })
		n := 0
		for _, p := range st.Projects {
			if len(p.SecurityLevels) == 0 {
				continue
			}
			n++
			levels, err := c.SecurityLevels(context.Background(), p.Key)
			if !errors.Is(err, connector.ErrLevelMembersUnavailable) || !errors.Is(err, switchyard.ErrForbidden) || len(levels) != len(p.SecurityLevels) {
				t.Fatalf("%s %s: %d levels, %v", mode, p.Key, len(levels), err)
			}
			for _, l := range levels {
				if len(l.Members) != 0 {
					t.Fatalf("%s %s level %s: members %v, want none", mode, p.Key, l.Name, l.Members)
				}
			}
		}
		if n == 0 {
			t.Fatal("no security scheme in the world")
		}
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
