package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchyard/connector/jirasim"
	"switchyard/store"
)

// serveProc is `switchyard serve` running in-process, started through run().
type serveProc struct {
	url    string
	stdout []string
	done   chan int
	cancel context.CancelFunc
}

func startServe(t *testing.T, cfgPath string) *serveProc {
	t.Helper()
	return startServeLog(t, cfgPath, io.Discard)
}

// startServeLog is startServe with serve's stderr (its log) going to stderr.
func startServeLog(t *testing.T, cfgPath string, stderr io.Writer) *serveProc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	p := &serveProc{done: make(chan int, 1), cancel: cancel}
	go func() {
		p.done <- run(ctx, []string{"serve", "--config", cfgPath, "--addr", "127.0.0.1:0"}, pw, stderr)
		pw.Close()
	}()
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	timeout := time.After(30 * time.Second)
	for p.url == "" {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("serve exited before listening (exit %d); output %q", <-p.done, p.stdout)
			}
			p.stdout = append(p.stdout, l)
			if u, ok := strings.CutPrefix(l, "switchyard serving on "); ok {
				p.url = u
			}
		case <-timeout:
			t.Fatalf("serve did not print its address; output %q", p.stdout)
		}
	}
	go func() {
		for range lines {
		}
	}()
	t.Cleanup(func() { p.stop(t) })
	return p
}

// stop cancels the context (as SIGTERM does) and checks a clean exit.
func (p *serveProc) stop(t *testing.T) {
	if p.cancel == nil {
		return
	}
	p.cancel()
	p.cancel = nil
	select {
	case code := <-p.done:
		if code != 0 {
			t.Errorf("serve exited %d after cancel", code)
		}
	case <-time.After(40 * time.Second):
		t.Error("serve did not shut down within 40s")
	}
}

func getJSON(t *testing.T, url, key string, v any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if v != nil {
		_ = json.NewDecoder(res.Body).Decode(v)
	}
	return res.StatusCode
}

func writeServeConfig(t *testing.T, dir, simURL, adminEmail string) string {
	t.Helper()
	cfg := fmt.Sprintf(`data_dir: %s
log: {level: warn, format: json}
server: {addr: "127.0.0.1:0"}
connections:
  - name: acme
    kind: cloud
    url: %s
    auth: {type: api_token, email: %s, token: %s}
    requests_per_second: 1000
    webhook_secret: e2e-secret-123
    sync: {strategy: scheduled, interval: 60m}
`, filepath.Join(dir, "data"), simURL, adminEmail, jirasim.DefaultAdminToken)
	p := filepath.Join(dir, "switchyard.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestServeEndToEnd(t *testing.T) {
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 3, Projects: 2, Issues: 30}})
	hs := httptest.NewServer(sim)
	sim.SetBaseURL(hs.URL)
	defer func() { hs.Close(); sim.Close() }()
	dir := t.TempDir()
	cfg := writeServeConfig(t, dir, hs.URL, sim.AdminEmail())

	// SWITCHYARD_ADMIN_KEY is imported on an empty store and not printed.
	adminKey := store.GenerateAPIKeySecret()
	t.Setenv("SWITCHYARD_ADMIN_KEY", adminKey)
	p := startServe(t, cfg)
	if strings.Contains(strings.Join(p.stdout, "\n"), "admin API key") {
		t.Fatalf("printed a key although SWITCHYARD_ADMIN_KEY was set: %q", p.stdout)
	}
	if code := getJSON(t, p.url+"/readyz", "", nil); code != 200 {
		t.Fatalf("readyz: %d", code)
	}
	// The schedule starts a sync at once.
	var st struct {
		Connections []struct {
			State    string `json:"state"`
			LastRuns []struct {
				Issues int    `json:"issues"`
				Error  string `json:"error"`
			} `json:"lastRuns"`
		} `json:"connections"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code := getJSON(t, p.url+"/api/v1/sync/status", adminKey, &st); code != 200 {
			t.Fatalf("sync status with the imported key: %d", code)
		}
		if len(st.Connections) == 1 && len(st.Connections[0].LastRuns) > 0 && st.Connections[0].State == "idle" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the scheduled sync did not finish: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if r := st.Connections[0].LastRuns[0]; r.Error != "" || r.Issues == 0 {
		t.Fatalf("scheduled run: %+v", r)
	}
	var sr struct {
		Total int `json:"total"`
	}
	if code := getJSON(t, p.url+"/api/v1/search?q=&as="+sim.AdminEmail(), adminKey, &sr); code != 200 || sr.Total == 0 {
		t.Fatalf("search as the admin: %d total %d", code, sr.Total)
	}
	res, err := http.Get(p.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), `switchyard_jira_requests_total{connection="acme",endpoint="POST /rest/api/3/search/jql"`) {
		t.Errorf("/metrics lacks Jira request counts by endpoint")
	}
	p.stop(t)

	// A restart on the same store neither prints nor imports another key.
	t.Setenv("SWITCHYARD_ADMIN_KEY", "")
	p2 := startServe(t, cfg)
	if strings.Contains(strings.Join(p2.stdout, "\n"), "admin API key") {
		t.Fatalf("a restart printed a new admin key: %q", p2.stdout)
	}
	if code := getJSON(t, p2.url+"/api/v1/whoami", adminKey, nil); code != 200 {
		t.Fatalf("the imported key after restart: %d", code)
	}
}

func TestServePrintsOneTimeAdminKey(t *testing.T) {
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 3, Projects: 1, Issues: 5}})
	hs := httptest.NewServer(sim)
	sim.SetBaseURL(hs.URL)
	defer func() { hs.Close(); sim.Close() }()
	t.Setenv("SWITCHYARD_ADMIN_KEY", "")
	cfg := writeServeConfig(t, t.TempDir(), hs.URL, sim.AdminEmail())
	p := startServe(t, cfg)
	var key string
	for _, l := range p.stdout {
		if _, k, ok := strings.Cut(l, "admin API key (shown once, all scopes; store it now): "); ok {
			key = k
		}
	}
	if key == "" {
		t.Fatalf("no one-time admin key in %q", p.stdout)
	}
	var who struct {
		Scopes []string `json:"scopes"`
	}
	if code := getJSON(t, p.url+"/api/v1/whoami", key, &who); code != 200 || len(who.Scopes) != 6 {
		t.Fatalf("printed key: %d scopes %v", code, who.Scopes)
	}
}

func TestServeRejectsBadFlags(t *testing.T) {
	if code := run(context.Background(), []string{"serve", "--config", filepath.Join(t.TempDir(), "missing.yaml")}, io.Discard, io.Discard); code != 1 {
		t.Fatalf("missing config: exit %d, want 1", code)
	}
	if code := run(context.Background(), []string{"serve", "extra"}, io.Discard, io.Discard); code != 1 {
		t.Fatalf("extra argument: exit %d, want 1", code)
	}
}
