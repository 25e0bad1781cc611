package jirasim

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func get(t *testing.T, method, url, body string) (int, string, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header.Get("X-Switchyard-Replay")
}

// TestReplayManifest: entries match by method, path (with * segments),
// query and body; files answer in order, the last repeating; {{base}} is the
// server's URL; the rest goes to the simulator, or 404 without one.
func TestReplayManifest(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"replay.json": `{"responses": [
			{"method": "GET", "path": "/rest/api/2/issue/*/comment", "query": {"startAt": "0"}, "files": ["c1.json", "c2.json"]},
			{"method": "POST", "path": "/rest/api/2/search", "bodyContains": "project = OPS", "files": ["s.json"]},
			{"method": "GET", "path": "/rest/api/2/project/NOPE/issuesecuritylevelscheme", "status": 404, "files": ["404.json"]}]}`,
		"c1.json":  `{"page": 1, "self": "{{base}}/rest/api/2/issue/1/comment"}`,
		"c2.json":  `{"page": 2}`,
		"s.json":   `{"issues": []}`,
		"404.json": `{"errorMessages": ["none"]}`,
	})
	rp, err := LoadReplay(dir)
	if err != nil {
		t.Fatal(err)
	}
	sim := New(Options{GenerateOptions: GenerateOptions{Seed: 2, Projects: 1, Issues: 3}})
	defer sim.Close()
	ts := httptest.NewServer(rp.Handler(sim))
	defer ts.Close()
	rp.SetBaseURL(ts.URL)
	sim.SetBaseURL(ts.URL)

	for i, want := range []string{`{"page": 1, "self": "` + ts.URL + `/rest/api/2/issue/1/comment"}`, `{"page": 2}`, `{"page": 2}`} {
		if code, body, from := get(t, "GET", ts.URL+"/rest/api/2/issue/OPS-1/comment?startAt=0&maxResults=50", ""); code != 200 || body != want || from == "" {
			t.Errorf("comment page call %d: %d %s (replay %q), want %s", i, code, body, from, want)
		}
	}
	if _, _, from := get(t, "GET", ts.URL+"/rest/api/2/issue/OPS-1/comment?startAt=50", ""); from != "" {
		t.Error("a request whose query differs was answered from the recording")
	}
	if code, _, from := get(t, "POST", ts.URL+"/rest/api/2/search", `{"jql": "project = OPS ORDER BY id"}`); code != 200 || from == "" {
		t.Errorf("search with the recorded JQL: %d, replay %q", code, from)
	}
	if _, _, from := get(t, "POST", ts.URL+"/rest/api/2/search", `{"jql": "project = HR"}`); from != "" {
		t.Error("search with other JQL was answered from the recording")
	}
	if code, _, _ := get(t, "GET", ts.URL+"/rest/api/2/project/NOPE/issuesecuritylevelscheme", ""); code != 404 {
		t.Errorf("recorded 404: %d", code)
	}
	// Unrecorded: the generated simulator answers (it checks credentials).
	if code, _, from := get(t, "GET", ts.URL+"/rest/api/3/myself", ""); code != 401 || from != "" {
		t.Errorf("fallback: %d (replay %q), want the simulator's 401", code, from)
	}
	if code, body, _ := get(t, "GET", ts.URL+"/_sim/state", ""); code != 200 || !strings.Contains(body, `"issues"`) {
		t.Errorf("fallback /_sim/state: %d", code)
	}
	_, stats, _ := get(t, "GET", ts.URL+"/_replay", "")
	if !strings.Contains(stats, `"0 GET /rest/api/2/issue/*/comment":3`) || !strings.Contains(stats, "GET /rest/api/3/myself") {
		t.Errorf("/_replay: %s", stats)
	}

	// Without a fallback: Jira's 404 naming the request.
	ts2 := httptest.NewServer(rp.Handler(nil))
	defer ts2.Close()
	if code, body, _ := get(t, "GET", ts2.URL+"/rest/api/2/myself", ""); code != 404 || !strings.Contains(body, "GET /rest/api/2/myself") {
		t.Errorf("no fallback: %d %s", code, body)
	}
}

// TestReplayConvention: without a manifest, DIR/METHOD/path.json answers
// METHOD /path (any query); other files are ignored.
func TestReplayConvention(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"GET/rest/api/2/myself.json":           `{"name": "bot"}`,
		"POST/rest/api/2/search.json":          `{"total": 0, "issues": []}`,
		"notes.txt":                            "recorded from jira.example.com",
		"GET/rest/api/2/project/OPS/role.json": `{}`,
	})
	rp, err := LoadReplay(dir)
	if err != nil {
		t.Fatal(err)
	}
	if rp.Len() != 3 {
		t.Fatalf("%d entries, want 3", rp.Len())
	}
	ts := httptest.NewServer(rp.Handler(nil))
	defer ts.Close()
	if code, body, _ := get(t, "GET", ts.URL+"/rest/api/2/myself?expand=groups", ""); code != 200 || body != `{"name": "bot"}` {
		t.Errorf("myself: %d %s", code, body)
	}
	if code, _, _ := get(t, "POST", ts.URL+"/rest/api/2/search", `{}`); code != 200 {
		t.Errorf("search: %d", code)
	}
	if code, _, _ := get(t, "GET", ts.URL+"/rest/api/2/search", ""); code != 404 {
		t.Errorf("GET on a POST recording: %d", code)
	}
}

// TestReplayRejectsBadDirectories: a bad directory fails at load, naming
// what is wrong.
func TestReplayRejectsBadDirectories(t *testing.T) {
	for name, tc := range map[string]struct {
		files map[string]string
		want  string
	}{
		"empty":         {map[string]string{"README": "x"}, "no recorded responses"},
		"bad json":      {map[string]string{"replay.json": `{"responses": [`}, "replay.json"},
		"unknown key":   {map[string]string{"replay.json": `{"responses": [], "fallback": "x"}`}, `unknown field "fallback"`},
		"missing file":  {map[string]string{"replay.json": `{"responses": [{"method": "GET", "path": "/rest/x", "files": ["nope.json"]}]}`}, "responses[0] (GET /rest/x)"},
		"escaping path": {map[string]string{"replay.json": `{"responses": [{"method": "GET", "path": "/rest/x", "files": ["../etc/passwd"]}]}`}, "inside the replay directory"},
		"relative path": {map[string]string{"replay.json": `{"responses": [{"method": "GET", "path": "rest/x", "files": ["a"]}]}`}, "must start with /"},
		"no files":      {map[string]string{"replay.json": `{"responses": [{"method": "GET", "path": "/rest/x"}]}`}, "files is empty"},
		"bad status":    {map[string]string{"replay.json": `{"responses": [{"method": "GET", "path": "/rest/x", "status": 7, "files": ["a"]}]}`, "a": "{}"}, "status 7"},
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			writeFiles(t, dir, tc.files)
			if _, err := LoadReplay(dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to say %q", err, tc.want)
			}
		})
	}
	if _, err := LoadReplay(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("a missing directory loaded")
	}
}
