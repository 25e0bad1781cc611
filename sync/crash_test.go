package syncer

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector"
	"switchyard/connector/jirasim"
	"switchyard/index"
	"switchyard/store"
)

// Crash safety: the sync runs in a child process (this test binary re-run
// with crashChildEnv set) that is SIGKILLed at many points of a full and of an
// incremental sync. Each rerun resumes, and the final state equals the
// simulator's exactly; the pages fetched twice are at most those in flight.

const crashChildEnv = "SWITCHYARD_SYNC_CRASH_CHILD" // "<data dir>|<simulator URL>"

// crashSettings keep pages small so a run spans many commits.
func crashSettings() Settings {
	return Settings{Concurrency: 2, PageSize: 30, Overlap: 0}
}

// TestCrashChild is the child: it syncs once and exits. It does nothing when
// the environment variable is not set (the normal test run).
func TestCrashChild(t *testing.T) {
	v := os.Getenv(crashChildEnv)
	if v == "" {
		return
	}
	dir, url, _ := strings.Cut(v, "|")
	db, err := store.Open(filepath.Join(dir, "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	idx, err := index.Open(filepath.Join(dir, "index.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if _, err := db.InterruptRuns(context.Background()); err != nil {
		t.Fatal(err)
	}
	jira, err := NewJiraBuilder(func(fields []string) (JiraClient, error) {
		return connector.New(connector.Options{Name: "acme", BaseURL: url,
			Auth:              connector.APITokenAuth("admin@example.com", jirasim.DefaultAdminToken),
			RequestsPerSecond: 10000, Concurrency: 2, CustomFields: fields})
	}, 2)
	if err != nil {
		t.Fatal(err)
	}
	eng, err := New(Options{Store: NewStore(db), Index: NewIndex(idx), Connections: []Connection{{
		Name: "acme", Jira: jira, Scope: allScope(), Settings: crashSettings()}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SyncOnce(context.Background(), "acme", false); err != nil {
		t.Fatal(err)
	}
}

type simStats struct {
	Requests int64                       `json:"requests"`
	ByRoute  map[string]map[string]int64 `json:"byRoute"`
}

func (s *sim) stats() simStats {
	resp, err := http.Get(s.url + "/_sim/stats")
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var st simStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		s.t.Fatal(err)
	}
	return st
}

func (st simStats) bulk() int64 {
	var n int64
	for _, c := range st.ByRoute["POST /rest/api/3/issue/bulkfetch"] {
		n += c
	}
	return n
}

// runChild starts the child and SIGKILLs it once the simulator has served
// killAt bulk fetches (0: let it finish). It reports whether it was killed.
func runChild(t *testing.T, s *sim, dir string, killAt int64) bool {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+dir+"|"+s.url)
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("child sync failed: %v\n%s", err, out.String())
			}
			return false
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("child sync did not finish in time\n%s", out.String())
		case <-time.After(2 * time.Millisecond):
		}
		if killAt > 0 && s.stats().bulk() >= killAt {
			cmd.Process.Kill() // SIGKILL
			<-done
			return true
		}
	}
}

func TestCrashSafety(t *testing.T) {
	// A reference run measures the bulk fetches a clean full sync needs.
	opts := jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 21, Projects: 3, Issues: 300}, Latency: time.Millisecond}
	ref := startSim(t, opts)
	refDir := t.TempDir()
	runChild(t, ref, refDir, 0)
	clean := ref.stats().bulk()

	s := startSim(t, opts)
	dir := t.TempDir()
	h := &harness{t: t, dir: dir, conn: Connection{Name: "acme"}}

	// Full sync, killed at several points (after k bulk fetches were served).
	kills := 0
	for _, frac := range []float64{0.15, 0.4, 0.65, 0.9} {
		at := int64(frac * float64(clean))
		if at <= s.stats().bulk() {
			at = s.stats().bulk() + 1
		}
		if runChild(t, s, dir, at) {
			kills++
		}
	}
	runChild(t, s, dir, 0) // the rerun finishes
	if kills < 3 {
		t.Fatalf("only %d of 4 kills landed during the full sync", kills)
	}
	// In flight per project: the hydrating workers, the queued results and
	// the page being committed; plus the page the resumed listing shares.
	inflight := int64(2*crashSettings().Concurrency + 2)
	t.Logf("full sync: clean run %d bulk fetches; %d kills; %d extra", clean, kills, s.stats().bulk()-clean)
	if extra := s.stats().bulk() - clean; extra > int64(kills)*inflight*int64(crashSettings().Concurrency) {
		t.Errorf("%d kills re-fetched %d extra pages, more than the uncommitted ones", kills, extra)
	}
	checkDir(t, h, s)

	// Incremental: many changes, killed at several points.
	w := s.srv.World()
	st := s.state()
	for i, is := range st.Issues {
		switch {
		case i%3 == 0:
			sum := fmt.Sprintf("changed %d", i)
			if _, err := w.UpdateIssue(s.admin(), is.Key, jirasim.IssueUpdate{Summary: &sum}); err != nil {
				t.Fatal(err)
			}
		case i%50 == 1:
			if err := w.DeleteIssue(s.admin(), is.Key); err != nil {
				t.Fatal(err)
			}
		case i%40 == 2:
			if _, err := w.AddComment(s.admin(), is.Key, jirasim.TextToADF("late comment"), nil); err != nil {
				t.Fatal(err)
			}
		}
	}
	base := s.stats().bulk()
	for _, k := range []int64{1, 2} {
		runChild(t, s, dir, base+k)
	}
	runChild(t, s, dir, 0)
	t.Logf("incremental: %d bulk fetches across 2 kills and the rerun", s.stats().bulk()-base)
	checkDir(t, h, s)
}

// checkDir opens the child's data directory and checks it against the simulator.
func checkDir(t *testing.T, h *harness, s *sim) {
	t.Helper()
	var err error
	if h.db, err = store.Open(filepath.Join(h.dir, "switchyard.db")); err != nil {
		t.Fatal(err)
	}
	if h.idx, err = index.Open(filepath.Join(h.dir, "index.bleve")); err != nil {
		t.Fatal(err)
	}
	defer h.close()
	h.checkConverged(s.expected(allScope()))
	// Every stored issue has Jira's current summary.
	st := s.state()
	for _, is := range st.Issues {
		got, err := h.db.Issue(context.Background(), "acme", is.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Summary != is.Summary || got.Key != is.Key {
			t.Fatalf("issue %s: stored %q %q, Jira has %q %q", is.ID, got.Key, got.Summary, is.Key, is.Summary)
		}
	}
	runs, err := h.db.Runs(context.Background(), "acme", 1)
	if err != nil || len(runs) != 1 || runs[0].State != store.RunSucceeded {
		t.Fatalf("last run: %+v %v", runs, err)
	}
	_ = switchyard.ErrNotFound
}
