package syncer

import (
	"context"
	"path/filepath"
	gosync "sync"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector/jirasim"
	"switchyard/index"
	"switchyard/store"
)

// TestOnIssuesHook checks that every committed issue reaches the hook: all
// of them on a full sync, only the changed one on an incremental sync, and a
// webhook refresh too.
func TestOnIssuesHook(t *testing.T) {
	s := startSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 3, Projects: 4, Issues: 60}})
	dir := t.TempDir()
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
	var mu gosync.Mutex
	seen := map[string]int{}
	hook := func(_ context.Context, conn string, issues []switchyard.Issue) {
		mu.Lock()
		defer mu.Unlock()
		for _, is := range issues {
			if conn != "acme" {
				t.Errorf("hook called for connection %q", conn)
			}
			seen[is.Key]++
		}
	}
	conn := Connection{Name: "acme", Mode: switchyard.ModeCloud, BaseURL: "https://acme.example", Jira: s.jira(2), Scope: allScope(),
		Settings: Settings{Concurrency: 2, PageSize: 25, Overlap: time.Minute}}
	eng, err := New(Options{Store: NewStore(db), Index: NewIndex(idx), Connections: []Connection{conn}, OnIssues: hook})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := eng.SyncOnce(ctx, "acme", false); err != nil {
		t.Fatal(err)
	}
	st := s.state()
	mu.Lock()
	if len(seen) != len(st.Issues) {
		t.Errorf("full sync: hook saw %d issues, simulator has %d", len(seen), len(st.Issues))
	}
	clear(seen)
	mu.Unlock()

	created, err := s.srv.World().CreateIssue(s.admin(), jirasim.IssueCreate{ProjectKey: st.Projects[0].Key, Summary: "please reset my password"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := eng.SyncOnce(ctx, "acme", false); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if seen[created.Key] != 1 {
		t.Errorf("incremental sync: hook saw new issue %s %d times (all: %v)", created.Key, seen[created.Key], seen)
	}
	clear(seen)
	mu.Unlock()

	if err := eng.RefreshIssue(ctx, "acme", created.Key); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 1 || seen[created.Key] != 1 {
		t.Errorf("refresh: hook saw %v, want only %s once", seen, created.Key)
	}
}
