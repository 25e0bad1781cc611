package store

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"switchyard"
)

func TestOutboxLifecycle(t *testing.T) {
	clk := newClock()
	path := filepath.Join(t.TempDir(), "s.db")
	db, err := Open(path, WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	it, created, err := db.Enqueue(ctx, OutboxItem{Kind: "writeback", Key: "writeback:run:1", Payload: json.RawMessage(`{"run":1}`)})
	if err != nil || !created || it.ID == 0 || it.Done {
		t.Fatalf("Enqueue = %+v %v %v", it, created, err)
	}
	dup, created, _ := db.Enqueue(ctx, OutboxItem{Kind: "writeback", Key: "writeback:run:1", Payload: json.RawMessage(`{"run":1}`)})
	if created || dup.ID != it.ID {
		t.Errorf("duplicate key enqueued: %+v", dup)
	}
	db.Enqueue(ctx, OutboxItem{Kind: "notify", Payload: json.RawMessage(`{"n":1}`)})
	if _, _, err := db.Enqueue(ctx, OutboxItem{Kind: "x", Payload: json.RawMessage(`{`)}); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("bad payload: %v", err)
	}

	claimed, err := db.ClaimOutbox(ctx, 10, time.Minute, "writeback")
	if err != nil || len(claimed) != 1 || claimed[0].ID != it.ID {
		t.Fatalf("claim writeback = %+v %v", claimed, err)
	}
	if again, _ := db.ClaimOutbox(ctx, 10, time.Minute, "writeback"); len(again) != 0 {
		t.Errorf("claimed twice during the lease: %+v", again)
	}
	failed, err := db.FailOutbox(ctx, it.ID, "jira: 503", 0)
	if err != nil || failed.Attempts != 1 || failed.LastError != "jira: 503" || !failed.NextAttempt.Equal(clk.now().Add(OutboxBackoff(1))) {
		t.Errorf("FailOutbox = %+v %v", failed, err)
	}
	if now, _ := db.ClaimOutbox(ctx, 10, time.Minute, "writeback"); len(now) != 0 {
		t.Errorf("claimed before the backoff: %+v", now)
	}
	// The process dies here; a new one claims the item after the backoff.
	db.Close()
	db, err = Open(path, WithClock(clk.now))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	clk.add(OutboxBackoff(1))
	claimed, _ = db.ClaimOutbox(ctx, 10, time.Minute)
	// Due order: the never-tried notify item, then the retried write-back.
	if len(claimed) != 2 || claimed[0].Kind != "notify" || claimed[1].ID != it.ID || claimed[1].Attempts != 1 {
		t.Fatalf("claim after restart = %+v", claimed)
	}
	if err := db.CompleteOutbox(ctx, it.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.FailOutbox(ctx, it.ID, "late", 0); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("fail after complete: %v", err)
	}
	pending, _ := db.OutboxItems(ctx, true, 0)
	if len(pending) != 1 || pending[0].Kind != "notify" {
		t.Errorf("pending = %+v", pending)
	}
	if all, _ := db.OutboxItems(ctx, false, 0); len(all) != 2 || !all[1].Done || all[1].DoneAt.IsZero() {
		t.Errorf("all = %+v", all)
	}
	// A claimed item whose worker died comes back when the lease ends.
	clk.add(2 * time.Minute)
	if back, _ := db.ClaimOutbox(ctx, 10, time.Minute); len(back) != 1 || back[0].Kind != "notify" {
		t.Errorf("expired lease: %+v", back)
	}
	// Completed keys stay de-duplicated.
	if _, created, _ := db.Enqueue(ctx, OutboxItem{Kind: "writeback", Key: "writeback:run:1"}); created {
		t.Error("completed key enqueued again")
	}
}

func TestOutboxBackoff(t *testing.T) {
	tests := []struct {
		failures int
		want     time.Duration
	}{{1, 2 * time.Second}, {2, 4 * time.Second}, {5, 32 * time.Second}, {9, 512 * time.Second}, {10, 10 * time.Minute}, {100, 10 * time.Minute}}
	for _, tt := range tests {
		if got := OutboxBackoff(tt.failures); got != tt.want {
			t.Errorf("OutboxBackoff(%d) = %s, want %s", tt.failures, got, tt.want)
		}
	}
}

func TestOutboxClaimConcurrent(t *testing.T) { eachDriver(t, testOutboxClaimConcurrent) }

func testOutboxClaimConcurrent(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	for i := 0; i < 100; i++ {
		db.Enqueue(ctx, OutboxItem{Kind: "k"})
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for w := 0; w < 10; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				items, err := db.ClaimOutbox(ctx, 3, time.Hour)
				if err != nil {
					t.Error(err)
					return
				}
				if len(items) == 0 {
					return
				}
				for _, it := range items {
					mu.Lock()
					seen[it.ID]++
					mu.Unlock()
					db.CompleteOutbox(ctx, it.ID)
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != 100 {
		t.Errorf("%d items processed, want 100", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("item %d claimed %d times", id, n)
		}
	}
}

func TestWebhookDeliveryDedupe(t *testing.T) { eachDriver(t, testWebhookDeliveryDedupe) }

func testWebhookDeliveryDedupe(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	var firsts int
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			first, err := db.FirstDelivery(ctx, "delivery-1", time.Hour)
			if err != nil {
				t.Error(err)
			}
			if first {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firsts != 1 {
		t.Errorf("%d first deliveries, want 1", firsts)
	}
	clk.add(2 * time.Hour)
	if first, _ := db.FirstDelivery(ctx, "delivery-1", time.Hour); !first {
		t.Error("an expired id still counted as seen")
	}
	if _, err := db.FirstDelivery(ctx, "", time.Hour); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("empty id: %v", err)
	}
}
