package jirasim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"switchyard"
)

// testSim is a simulator on a real loopback HTTP server with admin Basic auth.
type testSim struct {
	t   testing.TB
	srv *Server
	ts  *httptest.Server
}

func newTestSim(t testing.TB, o Options) *testSim {
	t.Helper()
	if o.Seed == 0 {
		o.Seed = 7
	}
	if o.Projects == 0 {
		o.Projects = 3
	}
	if o.Issues == 0 {
		o.Issues = 120
	}
	srv := New(o)
	ts := httptest.NewServer(srv)
	srv.SetBaseURL(ts.URL)
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	return &testSim{t: t, srv: srv, ts: ts}
}

// req performs a request with admin Basic auth (auth "" = none, or a full
// Authorization header value).
func (s *testSim) req(method, path string, body any, auth ...string) (*http.Response, []byte) {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	r, err := http.NewRequest(method, s.ts.URL+path, rd)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if len(auth) > 0 {
		if auth[0] != "" {
			r.Header.Set("Authorization", auth[0])
		}
	} else {
		r.SetBasicAuth(s.srv.AdminEmail(), s.srv.Options().AdminToken)
	}
	resp, err := s.ts.Client().Do(r)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp, b
}

// getJSON GETs path, requires want status and decodes into out (when not nil).
func (s *testSim) getJSON(path string, want int, out any) {
	s.t.Helper()
	s.call("GET", path, nil, want, out)
}

func (s *testSim) call(method, path string, body any, want int, out any) []byte {
	s.t.Helper()
	resp, b := s.req(method, path, body)
	if resp.StatusCode != want {
		s.t.Fatalf("%s %s: status %d, want %d: %s", method, path, resp.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: decode: %v: %s", method, path, err, b)
		}
	}
	return b
}

// visibleIssueKeys is what the oracle says the admin may see.
func (s *testSim) visibleIssueKeys() map[string]bool {
	w := s.srv.World()
	admin := w.AdminAccountID()
	out := map[string]bool{}
	w.RLock()
	defer w.RUnlock()
	for _, is := range w.Issues {
		if w.CanSeeLocked(admin, is, nil) {
			out[is.Key] = true
		}
	}
	return out
}

type jiraErr struct {
	ErrorMessages []string          `json:"errorMessages"`
	Errors        map[string]string `json:"errors"`
}

func TestServerAuth(t *testing.T) {
	s := newTestSim(t, Options{})
	dc := newTestSim(t, Options{GenerateOptions: GenerateOptions{Mode: switchyard.ModeDataCenter}})
	tok := s.srv.Options().AdminToken
	basic := func(u, p string) string {
		r, _ := http.NewRequest("GET", "/", nil)
		r.SetBasicAuth(u, p)
		return r.Header.Get("Authorization")
	}
	tests := []struct {
		name string
		sim  *testSim
		path string
		auth string
		want int
	}{
		{"cloud basic", s, "/rest/api/3/myself", basic(s.srv.AdminEmail(), tok), 200},
		{"cloud basic email case-insensitive", s, "/rest/api/3/myself", basic(strings.ToUpper(s.srv.AdminEmail()), tok), 200},
		{"cloud wrong token", s, "/rest/api/3/myself", basic(s.srv.AdminEmail(), "nope"), 401},
		{"cloud wrong user", s, "/rest/api/3/myself", basic("someone@example.com", tok), 401},
		{"cloud none", s, "/rest/api/3/myself", "", 401},
		{"cloud PAT refused", s, "/rest/api/3/myself", "Bearer " + tok, 401},
		{"dc PAT", dc, "/rest/api/2/myself", "Bearer " + tok, 200},
		{"dc basic", dc, "/rest/api/2/myself", basic(dc.srv.AdminEmail(), tok), 200},
		{"dc bad PAT", dc, "/rest/api/2/myself", "Bearer x", 401},
		{"gateway needs oauth", s, "/ex/jira/" + s.srv.Options().CloudID + "/rest/api/3/myself", basic(s.srv.AdminEmail(), tok), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, b := tt.sim.req("GET", tt.path, nil, tt.auth)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, b)
			}
			if tt.want == 401 {
				var e jiraErr
				if err := json.Unmarshal(b, &e); err != nil || len(e.ErrorMessages) == 0 || e.Errors == nil {
					t.Fatalf("401 body not in Jira's error shape: %s", b)
				}
			}
		})
	}
}

func TestSimRoutesNeedNoAuth(t *testing.T) {
	s := newTestSim(t, Options{FaultRate: 1})
	resp, b := s.req("GET", "/_sim/state", nil, "")
	if resp.StatusCode != 200 || !json.Valid(b) {
		t.Fatalf("/_sim/state: %d %.200s", resp.StatusCode, b)
	}
	resp, b = s.req("GET", "/_sim/knobs", nil, "")
	if resp.StatusCode != 200 || !strings.Contains(string(b), `"faultRate":1`) {
		t.Fatalf("/_sim/knobs: %d %s", resp.StatusCode, b)
	}
}
