package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchyard/index"
)

// runBounded runs a command against the data directory and fails the test
// when it takes longer than limit: the bug was a second process waiting on
// the index lock forever.
func runBounded(t *testing.T, e *dataDirEnv, limit time.Duration, args ...string) (int, string, string) {
	t.Helper()
	start := time.Now()
	code, out, stderr := e.cli(t, args...)
	if d := time.Since(start); d > limit {
		t.Errorf("%v took %s (limit %s)", args, d.Round(time.Millisecond), limit)
	}
	return code, out, stderr
}

// lastRunCount is the number of sync runs status lists (at most 5).
func lastRuns(t *testing.T, e *dataDirEnv) int {
	t.Helper()
	code, out, stderr := e.cli(t, "status", "--config", e.cfg, "--json")
	if code != 0 {
		t.Fatalf("status: exit %d: %s", code, stderr)
	}
	var st struct {
		Connections []struct {
			LastRuns []struct {
				State string `json:"state"`
			} `json:"lastRuns"`
		} `json:"connections"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || len(st.Connections) != 1 {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	n := 0
	for _, r := range st.Connections[0].LastRuns {
		if r.State == "succeeded" {
			n++
		}
	}
	return n
}

// Commands next to a running serve on the same data directory (what the
// demo tells its user to try): they return at once, search and status
// answer, sync is handed to serve, and a second owner is refused by name.
func TestSecondProcessNextToServe(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	e := newDataDirEnv(t, data, 40)
	if code, _, stderr := e.cli(t, "sync", "--config", e.cfg, "--no-progress"); code != 0 {
		t.Fatalf("sync: exit %d: %s", code, stderr)
	}
	want := searchTotal(t, e, "")
	runsBefore := lastRuns(t, e)

	p := startServe(t, e.cfg)
	const limit = 15 * time.Second

	code, out, stderr := runBounded(t, e, limit, "search", "--config", e.cfg, "--as", e.sim.AdminEmail(), "--json", "")
	var res struct {
		Total int `json:"total"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.Total != want {
		t.Errorf("search next to serve: exit %d, total %d (want %d)\nstdout %s\nstderr %s", code, res.Total, want, out, stderr)
	}
	if code, out, _ := runBounded(t, e, limit, "search", "--config", e.cfg, "--as", e.sim.AdminEmail(), "vpn OR printer OR laptop"); code != 0 || !strings.Contains(out, "result(s)") {
		t.Errorf("text search next to serve: exit %d\n%s", code, out)
	}
	if code, out, stderr := runBounded(t, e, limit, "status", "--config", e.cfg); code != 0 || !strings.Contains(out, "quick_check ok") {
		t.Errorf("status next to serve: exit %d\n%s\n%s", code, out, stderr)
	}
	if code, out, stderr := runBounded(t, e, limit, "audit", "verify", "--config", e.cfg); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("audit verify next to serve: exit %d\n%s\n%s", code, out, stderr)
	}

	// sync asks serve to run it, and serve does.
	code, out, stderr = runBounded(t, e, limit, "sync", "--config", e.cfg, "--no-progress")
	if code != 0 || !strings.Contains(out, "`switchyard serve` (pid") || !strings.Contains(out, "asked it for an incremental sync of sim") {
		t.Errorf("sync next to serve: exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	deadline := time.Now().Add(30 * time.Second)
	for lastRuns(t, e) <= runsBefore {
		if time.Now().After(deadline) {
			t.Fatal("serve did not run the sync it was asked for")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// Owners are refused at once, naming serve.
	for _, args := range [][]string{
		{"serve", "--config", e.cfg, "--addr", "127.0.0.1:0"},
		{"index", "rebuild", "--config", e.cfg},
	} {
		code, _, stderr := runBounded(t, e, limit, args...)
		if code != 1 || !strings.Contains(stderr, "is in use by `switchyard serve` (pid") || !strings.Contains(stderr, p.url) {
			t.Errorf("%v next to serve: exit %d, stderr %q", args, code, stderr)
		}
	}

	p.stop(t)
	// Without an owner, search opens the index itself again.
	if got := searchTotal(t, e, ""); got != want {
		t.Errorf("search after serve stopped: %d, want %d", got, want)
	}
}

// An index held open by a process that did not take the data directory's
// lock (an older switchyard, a tool) makes search fail after the lock
// timeout with a message, instead of waiting for ever.
func TestSearchGivesUpOnForeignIndexLock(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	e := newDataDirEnv(t, data, 10)
	if code, _, stderr := e.cli(t, "sync", "--config", e.cfg, "--no-progress"); code != 0 {
		t.Fatalf("sync: exit %d: %s", code, stderr)
	}
	idx, err := index.Open(filepath.Join(data, indexDir))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	code, _, stderr := runBounded(t, e, index.LockTimeout+10*time.Second, "search", "--config", e.cfg, "--as", e.sim.AdminEmail(), "x")
	if code != 1 || !strings.Contains(stderr, "in use by another process") {
		t.Errorf("search on a foreign-locked index: exit %d, stderr %q", code, stderr)
	}
}

// damageSegments overwrites bytes in the middle of every segment file of
// the index (the live one among them).
func damageSegments(t *testing.T, data string) []string {
	t.Helper()
	zaps, _ := filepath.Glob(filepath.Join(data, indexDir, "store", "*.zap"))
	if len(zaps) == 0 {
		t.Fatal("no segment files")
	}
	for _, z := range zaps {
		f, err := os.OpenFile(z, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		fi, _ := f.Stat()
		f.WriteAt([]byte("damaged damaged damaged damaged!"), fi.Size()/2)
		f.Close()
	}
	return zaps
}

// A segment damaged while serve runs makes /readyz not ready, naming the
// file; search (read-only) names it too; index rebuild recovers from the
// store, and serve is ready again.
func TestDamagedIndexReadyzAndRebuild(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	e := newDataDirEnv(t, data, 40)
	if code, _, stderr := e.cli(t, "sync", "--config", e.cfg, "--no-progress"); code != 0 {
		t.Fatalf("sync: exit %d: %s", code, stderr)
	}
	want := searchTotal(t, e, "")

	p := startServe(t, e.cfg)
	var ready struct {
		Status string `json:"status"`
		Reason string `json:"reason"`
	}
	if code := getJSON(t, p.url+"/readyz", "", &ready); code != 200 {
		t.Fatalf("readyz before the damage: %d %+v", code, ready)
	}
	zaps := damageSegments(t, data)
	code := getJSON(t, p.url+"/readyz", "", &ready)
	named := false
	for _, z := range zaps {
		named = named || strings.Contains(ready.Reason, z)
	}
	if code != 503 || !named || !strings.Contains(ready.Reason, "index rebuild") {
		t.Errorf("readyz after damaging a segment: %d %+v", code, ready)
	}
	p.stop(t)

	// search opens the index itself now: a clear error naming the file.
	code, _, stderr := runBounded(t, e, 15*time.Second, "search", "--config", e.cfg, "--as", e.sim.AdminEmail(), "x")
	if code != 1 || !strings.Contains(stderr, "is damaged") || !strings.Contains(stderr, ".zap") || !strings.Contains(stderr, "switchyard index rebuild") {
		t.Errorf("search on a damaged index: exit %d, stderr %q", code, stderr)
	}

	code, out, stderr := e.cli(t, "index", "rebuild", "--config", e.cfg)
	if code != 0 || !strings.Contains(out, "rebuilt the search index") || !strings.Contains(out, "sim: indexed 40 issues") {
		t.Fatalf("index rebuild: exit %d\n%s\n%s", code, out, stderr)
	}
	if got := searchTotal(t, e, ""); got != want {
		t.Errorf("after index rebuild: %d documents, want %d", got, want)
	}
	if _, err := os.Stat(filepath.Join(data, indexDir)); err != nil {
		t.Fatal(err)
	}
	leftovers, _ := filepath.Glob(filepath.Join(data, indexDir+".*"))
	if len(leftovers) > 0 {
		t.Errorf("index rebuild left %v", leftovers)
	}
	// The checkpoints were kept: the next sync is incremental.
	if code, out, _ := e.cli(t, "sync", "--config", e.cfg, "--no-progress"); code != 0 || !strings.Contains(out, "incremental sync") {
		t.Errorf("sync after index rebuild: exit %d\n%s", code, out)
	}
	p2 := startServe(t, e.cfg)
	if code := getJSON(t, p2.url+"/readyz", "", &ready); code != 200 {
		t.Errorf("readyz after index rebuild: %d %+v", code, ready)
	}
}
