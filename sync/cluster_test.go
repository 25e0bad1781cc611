package syncer

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"switchyard/index"
	"switchyard/store"
)

// fakeCluster is a Cluster whose leadership the test sets; Forward and
// Forwarded share one queue, as replicas share the store.
type fakeCluster struct {
	leader atomic.Bool
	mu     gosync.Mutex
	queue  []ForwardedSync
}

func (c *fakeCluster) IsLeader(context.Context) error {
	if c.leader.Load() {
		return nil
	}
	return errors.New("not leader")
}

func (c *fakeCluster) Forward(_ context.Context, conn string, full bool) error {
	c.mu.Lock()
	c.queue = append(c.queue, ForwardedSync{Conn: conn, Full: full})
	c.mu.Unlock()
	return nil
}

func (c *fakeCluster) Forwarded(context.Context) ([]ForwardedSync, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	q := c.queue
	c.queue = nil
	return q, nil
}

func (c *fakeCluster) queued() []ForwardedSync {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ForwardedSync(nil), c.queue...)
}

// A follower neither syncs on its schedule nor on a trigger or webhook: it
// forwards them. Once it leads, it runs what was forwarded.
func TestFollowerForwardsLeaderRuns(t *testing.T) {
	f := newFakeJira(2, 10)
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
	cl := &fakeCluster{}
	conn := Connection{Name: "acme", BaseURL: "https://acme.example", Jira: f, Scope: allScope(),
		Settings: Settings{Strategy: "scheduled", Interval: time.Hour}}
	eng, err := New(Options{Store: NewStore(db), Index: NewIndex(idx), Connections: []Connection{conn}, Cluster: cl, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	defer func() { cancel(); <-done }()

	if err := eng.Trigger("acme", true); err != nil {
		t.Fatal(err)
	}
	if err := eng.RefreshIssue(ctx, "acme", "ACME-1"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the schedule's immediate start has had its chance
	runs, _ := db.Runs(ctx, "acme", 5)
	if len(runs) != 0 {
		t.Fatalf("a follower ran %d syncs", len(runs))
	}
	q := cl.queued()
	if len(q) != 2 || q[0] != (ForwardedSync{"acme", true}) || q[1] != (ForwardedSync{"acme", false}) {
		t.Fatalf("forwarded %+v, want the full trigger and the webhook's incremental", q)
	}

	cl.leader.Store(true)
	deadline := time.Now().Add(10 * time.Second)
	for {
		runs, _ = db.Runs(ctx, "acme", 5)
		if len(runs) > 0 && !runs[0].Finished.IsZero() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the leader did not run the forwarded syncs")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !runs[len(runs)-1].Full {
		t.Errorf("first run on the leader was not the forwarded full sync: %+v", runs[len(runs)-1])
	}
	if c, _ := db.Counts(ctx, "acme"); c.Issues != 20 {
		t.Errorf("%d issues after the leader's run, want 20 (2 projects of 10)", c.Issues)
	}
}
