package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchyard/connector/jirasim"
)

// TestSyncAndStatusCommands runs `switchyard sync` and `switchyard status`
// end to end against the simulator over HTTP with a real data directory.
func TestSyncAndStatusCommands(t *testing.T) {
	srv := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 9, Projects: 3, Issues: 60}})
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Close()
	srv.SetBaseURL(hs.URL)

	dir := t.TempDir()
	cfg := filepath.Join(dir, "switchyard.yaml")
	if err := os.WriteFile(cfg, []byte(`data_dir: `+filepath.Join(dir, "data")+`
connections:
  - name: sim
    kind: cloud
    url: `+hs.URL+`
    auth: {type: api_token, email: admin@example.com, token: `+jirasim.DefaultAdminToken+`}
    requests_per_second: 1000
    concurrency: 4
`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var out, errb bytes.Buffer
	if code := run(ctx, []string{"sync", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("sync exit %d\n%s\n%s", code, out.String(), errb.String())
	}
	if !strings.Contains(out.String(), "sim: full sync (no checkpoint)") || !strings.Contains(out.String(), "issues 60 (") {
		t.Fatalf("summary:\n%s", out.String())
	}
	if !strings.Contains(errb.String(), "sim issues") {
		t.Errorf("no progress bar for the issues stage on stderr:\n%s", errb.String())
	}
	for _, f := range []string{"switchyard.db", "index.bleve"} {
		if _, err := os.Stat(filepath.Join(dir, "data", f)); err != nil {
			t.Errorf("data dir lacks %s: %v", f, err)
		}
	}

	out.Reset()
	if code := run(ctx, []string{"sync", "--config", cfg, "--connection", "sim", "--no-progress"}, &out, &errb); code != 0 {
		t.Fatalf("second sync exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "sim: incremental sync") {
		t.Fatalf("second run is not incremental:\n%s", out.String())
	}

	// status --json reports the stored counts, checkpoints and runs.
	resp, err := http.Get(hs.URL + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	var st jirasim.State
	json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	out.Reset()
	if code := run(ctx, []string{"status", "--config", cfg, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("status exit %d: %s", code, errb.String())
	}
	var status struct {
		Connections []struct {
			Connection  string            `json:"connection"`
			Counts      map[string]int    `json:"counts"`
			Checkpoints []json.RawMessage `json:"checkpoints"`
			LastRuns    []struct {
				Full  bool   `json:"full"`
				State string `json:"state"`
			} `json:"lastRuns"`
		} `json:"connections"`
	}
	if err := json.Unmarshal(out.Bytes(), &status); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out.String())
	}
	if len(status.Connections) != 1 {
		t.Fatalf("status: %s", out.String())
	}
	c := status.Connections[0]
	comments, attachments := 0, 0
	for _, is := range st.Issues {
		comments += len(is.Comments)
		attachments += len(is.Attachments)
	}
	want := map[string]int{"users": len(st.Users), "groups": len(st.Groups), "projects": len(st.Projects),
		"issues": len(st.Issues), "comments": comments, "attachments": attachments}
	for k, v := range want {
		if c.Counts[k] != v {
			t.Errorf("status counts[%s] = %d, simulator has %d", k, c.Counts[k], v)
		}
	}
	if len(c.LastRuns) != 2 || c.LastRuns[0].Full || !c.LastRuns[1].Full || c.LastRuns[0].State != "succeeded" {
		t.Errorf("last runs: %+v", c.LastRuns)
	}
	if len(c.Checkpoints) == 0 {
		t.Errorf("no checkpoints in status")
	}

	out.Reset()
	if code := run(ctx, []string{"status", "--config", cfg}, &out, &errb); code != 0 || !strings.Contains(out.String(), "sim: idle") ||
		!strings.Contains(out.String(), "last runs:") {
		t.Errorf("status text (exit %d):\n%s", code, out.String())
	}
}

func TestSyncCommandRejectsBadInput(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte(`data_dir: `+filepath.Join(dir, "data")+`
connections:
  - name: acme
    kind: cloud
    url: https://acme.example
    auth: {type: api_token, email: bot@acme.example, token: x}
`), 0o600)
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"sync", "--config", cfg, "--connection", "nope"}, `--connection "nope": no such connection (configured: acme)`},
		{[]string{"status", "--config", cfg, "--connection", "nope"}, `--connection "nope"`},
		{[]string{"sync", "--config", cfg, "extra"}, `unexpected argument "extra"`},
		{[]string{"sync", "--config", filepath.Join(dir, "missing.yaml")}, "missing.yaml"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[1:], " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, &out, &errb); code == 0 || !strings.Contains(errb.String(), tt.want) {
				t.Fatalf("exit %d, stderr %q, want it to contain %q", code, errb.String(), tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(dir, "data")); err == nil {
		t.Errorf("bad input created the data directory")
	}
}
