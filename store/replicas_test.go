package store

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchyard/audit"
)

// Exactly once across replicas: several store handles on one store (one
// SQLite file, one PostgreSQL schema; on PostgreSQL each handle has its own
// connections, as separate serve processes do) race on the same work.

const replicaHandles = 4

func openReplicas(t *testing.T, open sharedOpener, opts ...Option) []*DB {
	t.Helper()
	var dbs []*DB
	for i := 0; i < replicaHandles; i++ {
		db, err := open(opts...)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		dbs = append(dbs, db)
	}
	return dbs
}

// Ingest of one issue from every replica at once makes one run and one
// approval; every caller gets that run.
func TestReplicasIngestOnce(t *testing.T) { eachDriverShared(t, testReplicasIngestOnce) }

func testReplicasIngestOnce(t *testing.T, open sharedOpener) {
	dbs := openReplicas(t, open)
	ctx := context.Background()
	var created, thens atomic.Int64
	ids := make(chan int64, replicaHandles*10)
	var wg sync.WaitGroup
	for _, db := range dbs {
		for g := 0; g < 10; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				r, _, isNew, err := db.CreateRunWithApproval(ctx, TicketRun{Conn: "c", IssueKey: "ITSM-9", BodyHash: "h", State: "pending_approval"},
					time.Now().Add(time.Hour), func(tx *Tx, r TicketRun, a Approval) error {
						thens.Add(1)
						_, _, err := tx.Enqueue(ctx, OutboxItem{Kind: "notify", Key: fmt.Sprintf("notify:%d", r.ID), Payload: []byte(`{}`)})
						return err
					})
				if err != nil {
					t.Error(err)
					return
				}
				if isNew {
					created.Add(1)
				}
				ids <- r.ID
			}()
		}
	}
	wg.Wait()
	close(ids)
	if created.Load() != 1 || thens.Load() != 1 {
		t.Errorf("%d callers created the run and %d ran its follow-up, want 1 and 1", created.Load(), thens.Load())
	}
	seen := map[int64]bool{}
	for id := range ids {
		seen[id] = true
	}
	if len(seen) != 1 {
		t.Errorf("callers got %d different runs, want 1", len(seen))
	}
	items, _ := dbs[0].OutboxItems(ctx, false, 100)
	pending, _ := dbs[1].Approvals(ctx, ApprovalPending, 100)
	if len(items) != 1 || len(pending) != 1 {
		t.Errorf("%d outbox items and %d pending approvals, want 1 and 1", len(items), len(pending))
	}
}

// Decisions on one approval from every replica at once: one wins, and only
// its follow-up (run state, outbox item) is written.
func TestReplicasDecideOnce(t *testing.T) { eachDriverShared(t, testReplicasDecideOnce) }

func testReplicasDecideOnce(t *testing.T, open sharedOpener) {
	dbs := openReplicas(t, open)
	ctx := context.Background()
	_, appr, _, err := dbs[0].CreateRunWithApproval(ctx, TicketRun{Conn: "c", IssueKey: "ITSM-1", BodyHash: "h", State: "pending_approval"}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int64
	winner := make(chan string, 1)
	var wg sync.WaitGroup
	for i, db := range dbs {
		for g := 0; g < 10; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status := ApprovalApproved
				if g%2 == 1 {
					status = ApprovalDenied
				}
				by := fmt.Sprintf("approver-%d-%d@x.com", i, g)
				_, changed, err := db.DecideRun(ctx, appr.ID, Decision{Status: status, By: by}, func(tx *Tx, a Approval) error {
					_, _, err := tx.Enqueue(ctx, OutboxItem{Kind: "decided", Payload: json.RawMessage(`{}`)})
					return err
				})
				if err != nil {
					t.Error(err)
					return
				}
				if changed {
					wins.Add(1)
					winner <- by
				}
			}()
		}
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d decisions won, want exactly 1", wins.Load())
	}
	by := <-winner
	got, err := dbs[2].Approval(ctx, appr.ID)
	if err != nil || got.DecidedBy != by {
		t.Errorf("approval %+v, %v; want decided by the one winner %s", got, err, by)
	}
	items, _ := dbs[3].OutboxItems(ctx, false, 100)
	if len(items) != 1 {
		t.Errorf("%d follow-up items, want 1 (the winner's)", len(items))
	}
}

// Outbox workers on every replica claim together: each item is leased to
// one worker at a time and done once; a lease that ends (a worker that died)
// gives the item back.
func TestReplicasClaimOutbox(t *testing.T) { eachDriverShared(t, testReplicasClaimOutbox) }

func testReplicasClaimOutbox(t *testing.T, open sharedOpener) {
	dbs := openReplicas(t, open)
	ctx := context.Background()
	const items = 120
	for i := 0; i < items; i++ {
		if _, _, err := dbs[i%replicaHandles].Enqueue(ctx, OutboxItem{Kind: "k", Key: fmt.Sprintf("k%d", i), Payload: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	claims := map[int64]int{}
	var wg sync.WaitGroup
	for _, db := range dbs {
		for w := 0; w < 3; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					got, err := db.ClaimOutbox(ctx, 4, time.Hour)
					if err != nil {
						t.Error(err)
						return
					}
					if len(got) == 0 {
						return
					}
					for _, it := range got {
						mu.Lock()
						claims[it.ID]++
						mu.Unlock()
						if err := db.CompleteOutbox(ctx, it.ID); err != nil {
							t.Error(err)
						}
					}
				}
			}()
		}
	}
	wg.Wait()
	if len(claims) != items {
		t.Errorf("%d items claimed, want %d", len(claims), items)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("item %d claimed %d times", id, n)
		}
	}
	if left, _ := dbs[0].OutboxItems(ctx, true, 1000); len(left) != 0 {
		t.Errorf("%d items not done", len(left))
	}

	// A claim whose lease ran out is claimed again by another replica.
	clk := newClock()
	a := openReplicas(t, open, WithClock(clk.now))[0]
	it, _, err := a.Enqueue(ctx, OutboxItem{Kind: "lease", Payload: []byte(`{}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got, err := a.ClaimOutbox(ctx, 10, time.Minute, "lease"); err != nil || len(got) != 1 || got[0].ID != it.ID {
		t.Fatalf("first claim: %+v, %v", got, err)
	}
	other, err := open(WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if got, _ := other.ClaimOutbox(ctx, 10, time.Minute, "lease"); len(got) != 0 {
		t.Fatalf("claimed during the lease: %+v", got)
	}
	clk.add(61 * time.Second)
	if got, _ := other.ClaimOutbox(ctx, 10, time.Minute, "lease"); len(got) != 1 || got[0].ID != it.ID {
		t.Fatalf("after the lease: %+v, want the item again", got)
	}
}

// Audit appends from every replica at once make one chain that verifies,
// with no sequence number used twice.
func TestReplicasAuditChain(t *testing.T) { eachDriverShared(t, testReplicasAuditChain) }

func testReplicasAuditChain(t *testing.T, open sharedOpener) {
	dbs := openReplicas(t, open)
	ctx := context.Background()
	const per = 15
	var wg sync.WaitGroup
	for i, db := range dbs {
		chain := audit.New(db)
		for g := 0; g < 3; g++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for k := 0; k < per; k++ {
					if _, err := chain.Append(ctx, audit.Entry{Type: "test.append", Actor: fmt.Sprintf("replica-%d", i), Subject: fmt.Sprintf("%d-%d", g, k)}); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
	}
	wg.Wait()
	res, err := audit.New(dbs[0]).Verify(ctx)
	if err != nil || !res.OK || res.Records != replicaHandles*3*per {
		t.Errorf("verify: %+v, %v; want OK with %d records", res, err, replicaHandles*3*per)
	}
}
