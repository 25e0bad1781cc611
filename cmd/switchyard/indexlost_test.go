package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"switchyard/store"
)

// searchTotal runs `switchyard search --json` as the simulator's admin (who
// sees everything) and returns the total.
func searchTotal(t *testing.T, e *dataDirEnv, query string) int {
	t.Helper()
	code, out, stderr := e.cli(t, "search", "--config", e.cfg, "--as", e.sim.AdminEmail(), "--json", query)
	if code != 0 {
		t.Fatalf("search %q: exit %d: %s", query, code, stderr)
	}
	var res struct {
		Total int `json:"total"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("search --json: %v\n%s", err, out)
	}
	return res.Total
}

// A deleted index directory is refilled: the next process that syncs
// resets the checkpoints (status says so), its sync is full, and search
// finds everything again, not just what an incremental sync brought.
func TestMissingIndexIsRefilled(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	e := newDataDirEnv(t, data, 60)
	sync := func() string {
		t.Helper()
		code, out, stderr := e.cli(t, "sync", "--config", e.cfg, "--no-progress")
		if code != 0 {
			t.Fatalf("sync: exit %d: %s", code, stderr)
		}
		return out
	}
	sync()
	want := searchTotal(t, e, "")
	if want < 60 {
		t.Fatalf("a full sync of 60 issues finds %d documents", want)
	}

	if err := os.RemoveAll(filepath.Join(data, indexDir)); err != nil {
		t.Fatal(err)
	}
	// The process that finds the index missing resets the checkpoints and
	// says so; here its sync fails (Jira unreachable), and status keeps
	// warning until a full sync has succeeded.
	good, err := os.ReadFile(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	bad := regexp.MustCompile(`url: http://[^\s]+`).ReplaceAllString(string(good), "url: http://127.0.0.1:1")
	if bad == string(good) {
		t.Fatal("could not point the config at a dead Jira")
	}
	os.WriteFile(e.cfg, []byte(bad), 0o600)
	if code, _, _ := e.cli(t, "sync", "--config", e.cfg, "--no-progress"); code == 0 {
		t.Fatal("sync against a dead Jira succeeded")
	}
	os.WriteFile(e.cfg, good, 0o600)
	code, out, _ := e.cli(t, "status", "--config", e.cfg)
	if code != 0 || !strings.Contains(out, "warning: the search index was replaced by an empty one") || !strings.Contains(out, "was missing") {
		t.Errorf("status before the refill (exit %d):\n%s", code, out)
	}

	if out := sync(); !strings.Contains(out, "full sync") {
		t.Errorf("the sync after the index was deleted is not full:\n%s", out)
	}
	if got := searchTotal(t, e, ""); got != want {
		t.Errorf("after deleting the index and syncing: %d documents, want %d", got, want)
	}
	code, out, _ = e.cli(t, "status", "--config", e.cfg)
	if code != 0 || !strings.Contains(out, "index: replaced at") || !strings.Contains(out, "was missing") || !strings.Contains(out, "refilled by full sync") {
		t.Errorf("status after the refill (exit %d):\n%s", code, out)
	}
	if out := sync(); !strings.Contains(out, "incremental sync") {
		t.Errorf("the sync after the refill is not incremental:\n%s", out)
	}
}

// The status API says so too: serve, started after the index was deleted,
// resets the checkpoints and its sync status warns until a full sync.
func TestMissingIndexStatusAPI(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	e := newDataDirEnv(t, data, 20) // strategy manual: serve does not sync by itself
	if code, _, stderr := e.cli(t, "sync", "--config", e.cfg, "--no-progress"); code != 0 {
		t.Fatalf("sync: exit %d: %s", code, stderr)
	}
	if err := os.RemoveAll(filepath.Join(data, indexDir)); err != nil {
		t.Fatal(err)
	}
	key := store.GenerateAPIKeySecret()
	t.Setenv("SWITCHYARD_ADMIN_KEY", key)
	p := startServe(t, e.cfg)
	var st struct {
		Connections []struct {
			Warnings []string `json:"warnings"`
		} `json:"connections"`
	}
	if code := getJSON(t, p.url+"/api/v1/sync/status", key, &st); code != 200 || len(st.Connections) != 1 {
		t.Fatalf("sync status: %d %+v", code, st)
	}
	w := strings.Join(st.Connections[0].Warnings, "\n")
	if !strings.Contains(w, "replaced by an empty one") || !strings.Contains(w, "was missing") || !strings.Contains(w, "full sync") {
		t.Errorf("sync status warnings after the index was deleted: %q", w)
	}
}
