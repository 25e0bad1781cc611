package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchyard/connector/jirasim"
)

// TestSearchEvalAndSimilarCommands syncs a simulator and runs `search eval`
// (judgments built from the simulator's own keys) and `search --similar`.
func TestSearchEvalAndSimilarCommands(t *testing.T) {
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
	if code := run(ctx, []string{"sync", "--config", cfg, "--no-progress"}, &out, &errb); code != 0 {
		t.Fatalf("sync exit %d\n%s", code, errb.String())
	}

	// Every issue key, as the admin (who sees all), in lower case.
	w := srv.World()
	var lines []string
	for _, is := range w.Issues[:10] {
		b, _ := json.Marshal(map[string]any{"query": strings.ToLower(is.Key), "as": "admin@example.com", "kind": "key", "relevant": []string{is.Key}})
		lines = append(lines, string(b))
	}
	judged := filepath.Join(dir, "judged.jsonl")
	if err := os.WriteFile(judged, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if code := run(ctx, []string{"search", "eval", "--config", cfg, "--json", judged}, &out, &errb); code != 0 {
		t.Fatalf("search eval exit %d: %s", code, errb.String())
	}
	var rep struct {
		Overall struct {
			Queries int     `json:"queries"`
			MRR     float64 `json:"mrr"`
		} `json:"overall"`
		ByKind map[string]struct {
			Queries int `json:"queries"`
		} `json:"byKind"`
	}
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if rep.Overall.Queries != 10 || rep.Overall.MRR != 1 || rep.ByKind["key"].Queries != 10 {
		t.Fatalf("eval report: %s", out.String())
	}
	out.Reset()
	if code := run(ctx, []string{"search", "eval", "--config", cfg, judged}, &out, &errb); code != 0 ||
		!strings.Contains(out.String(), "nDCG@10") || !strings.Contains(out.String(), "recall@20") || !strings.Contains(out.String(), "overall") {
		t.Fatalf("search eval text (exit %d):\n%s", code, out.String())
	}

	// Bad judgments name the line.
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(lines[0]+"\n{\"query\": \"x\", \"graded\": {\"A-1\": 7}}\n"), 0o600)
	errb.Reset()
	if code := run(ctx, []string{"search", "eval", "--config", cfg, bad}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "line 2") {
		t.Fatalf("bad judgments: exit %d, %s", code, errb.String())
	}

	out.Reset()
	key := w.Issues[0].Key
	if code := run(ctx, []string{"search", "--config", cfg, "--as", "admin@example.com", "--similar", key, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("search --similar exit %d: %s", code, errb.String())
	}
	var sim struct {
		Hits []struct {
			Key  string `json:"key"`
			Type string `json:"type"`
		} `json:"hits"`
	}
	if err := json.Unmarshal(out.Bytes(), &sim); err != nil || len(sim.Hits) == 0 {
		t.Fatalf("search --similar %s: %v\n%s", key, err, out.String())
	}
	for _, h := range sim.Hits {
		if h.Key == key || h.Type != "issue" {
			t.Fatalf("similar to %s lists %+v", key, h)
		}
	}
	errb.Reset()
	if code := run(ctx, []string{"search", "--config", cfg, "--as", "admin@example.com", "--similar", key, "vpn"}, &out, &errb); code == 0 || !strings.Contains(errb.String(), "--similar") {
		t.Fatalf("--similar with a query: exit %d, %s", code, errb.String())
	}
}
