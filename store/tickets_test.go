package store

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchyard"
)

func TestCreateRunOnceConcurrent(t *testing.T) { eachDriver(t, testCreateRunOnceConcurrent) }

func testCreateRunOnceConcurrent(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	const callers = 100
	var created atomic.Int64
	ids := make(chan int64, callers)
	var wg sync.WaitGroup
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, isNew, err := db.CreateRunOnce(ctx, TicketRun{Conn: "c", IssueKey: "ITSM-123", BodyHash: "h1", Intent: "reset_mfa",
				Confidence: 0.91, Disposition: "pending_approval", Inputs: json.RawMessage(`{"user":"sarah"}`), State: "ingested"})
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
	wg.Wait()
	close(ids)
	if created.Load() != 1 {
		t.Errorf("%d callers created a run, want exactly 1", created.Load())
	}
	var first int64
	for id := range ids {
		if first == 0 {
			first = id
		}
		if id != first {
			t.Errorf("callers got different runs: %d and %d", first, id)
		}
	}
	runs, _ := db.TicketRuns(ctx, "", 0)
	if len(runs) != 1 || runs[0].Confidence != 0.91 || string(runs[0].Inputs) != `{"user":"sarah"}` {
		t.Errorf("runs = %+v", runs)
	}
	// A different body returns the original: the caller sees the hash differ.
	r, isNew, err := db.CreateRunOnce(ctx, TicketRun{Conn: "c", IssueKey: "ITSM-123", BodyHash: "h2", State: "ingested"})
	if err != nil || isNew || r.BodyHash != "h1" {
		t.Errorf("different body: %+v new=%v %v", r, isNew, err)
	}
	// Same key on another connection is another run.
	if _, isNew, _ := db.CreateRunOnce(ctx, TicketRun{Conn: "d", IssueKey: "ITSM-123", BodyHash: "h1", State: "ingested"}); !isNew {
		t.Error("same key in another connection was not new")
	}
	for _, bad := range []TicketRun{
		{IssueKey: "K-1", BodyHash: "h", State: "s"},
		{Conn: "c", BodyHash: "h", State: "s"},
		{Conn: "c", IssueKey: "K-1", State: "s"},
		{Conn: "c", IssueKey: "K-1", BodyHash: "h"},
		{Conn: "c", IssueKey: "K-1", BodyHash: "h", State: "s", Inputs: json.RawMessage(`{`)},
	} {
		if _, _, err := db.CreateRunOnce(ctx, bad); !errors.Is(err, switchyard.ErrInvalid) {
			t.Errorf("CreateRunOnce(%+v) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestTicketRunUpdates(t *testing.T) { eachDriver(t, testTicketRunUpdates) }

func testTicketRunUpdates(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	r, _, _ := db.CreateRunOnce(ctx, TicketRun{Conn: "c", IssueKey: "K-1", BodyHash: "h", State: "ingested"})
	r.Intent, r.Runbook, r.Confidence, r.Disposition, r.State = "unlock", "okta-unlock", 0.8, "pending_approval", "pending_approval"
	if err := db.UpdateTicketRun(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, _ := db.TicketRunByKey(ctx, "c", "K-1")
	if got.Runbook != "okta-unlock" || got.State != "pending_approval" {
		t.Errorf("after update %+v", got)
	}
	ok, err := db.TransitionTicketRun(ctx, r.ID, "pending_approval", "approved")
	if err != nil || !ok {
		t.Fatalf("transition: %v %v", ok, err)
	}
	if ok, _ := db.TransitionTicketRun(ctx, r.ID, "pending_approval", "denied"); ok {
		t.Error("stale transition applied")
	}
	if got, _ := db.TicketRun(ctx, r.ID); got.State != "approved" {
		t.Errorf("state %q", got.State)
	}
	if _, err := db.TicketRun(ctx, 999); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
	if err := db.UpdateTicketRun(ctx, TicketRun{ID: 999, State: "x"}); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("update missing: %v", err)
	}
	if pend, _ := db.TicketRuns(ctx, "approved", 10); len(pend) != 1 {
		t.Errorf("runs by state: %+v", pend)
	}
}

func TestDecideOnceConcurrent(t *testing.T) { eachDriver(t, testDecideOnceConcurrent) }

func testDecideOnceConcurrent(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	r, _, _ := db.CreateRunOnce(ctx, TicketRun{Conn: "c", IssueKey: "K-1", BodyHash: "h", State: "pending_approval"})
	a, created, err := db.CreateApproval(ctx, r.ID, clk.now().Add(24*time.Hour))
	if err != nil || !created || a.Status != ApprovalPending {
		t.Fatalf("CreateApproval = %+v %v %v", a, created, err)
	}
	if again, created, _ := db.CreateApproval(ctx, r.ID, clk.now().Add(time.Hour)); created || again.ID != a.ID {
		t.Errorf("second approval for one run: %+v %v", again, created)
	}
	if _, _, err := db.CreateApproval(ctx, 999, clk.now().Add(time.Hour)); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("approval for missing run: %v", err)
	}
	const deciders = 40
	var wins atomic.Int64
	var winner atomic.Value
	var wg sync.WaitGroup
	for i := 0; i < deciders; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			d := Decision{Status: ApprovalApproved, By: "alice"}
			if i%2 == 1 {
				d = Decision{Status: ApprovalDenied, By: "bob"}
			}
			got, won, err := db.Decide(ctx, a.ID, d)
			if err != nil {
				t.Error(err)
				return
			}
			if won {
				wins.Add(1)
				winner.Store(got)
			}
		}(i)
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d decisions won, want 1", wins.Load())
	}
	final, _ := db.Approval(ctx, a.ID)
	w := winner.Load().(Approval)
	if final.Status != w.Status || final.DecidedBy != w.DecidedBy || final.DecidedAt.IsZero() {
		t.Errorf("stored %+v, winner %+v", final, w)
	}
	if byRun, _ := db.ApprovalForRun(ctx, r.ID); byRun.ID != a.ID {
		t.Errorf("ApprovalForRun = %+v", byRun)
	}
	for _, bad := range []Decision{{Status: "maybe", By: "x"}, {Status: ApprovalApproved}} {
		if _, _, err := db.Decide(ctx, a.ID, bad); !errors.Is(err, switchyard.ErrInvalid) {
			t.Errorf("Decide(%+v) = %v", bad, err)
		}
	}
	if _, _, err := db.Decide(ctx, 999, Decision{Status: ApprovalApproved, By: "x"}); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("decide missing: %v", err)
	}
}

func TestApprovalExpiry(t *testing.T) { eachDriver(t, testApprovalExpiry) }

func testApprovalExpiry(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	var aps []Approval
	for _, k := range []string{"K-1", "K-2", "K-3"} {
		r, _, _ := db.CreateRunOnce(ctx, TicketRun{Conn: "c", IssueKey: k, BodyHash: "h", State: "pending_approval"})
		a, _, _ := db.CreateApproval(ctx, r.ID, clk.now().Add(time.Hour))
		aps = append(aps, a)
	}
	db.Decide(ctx, aps[2].ID, Decision{Status: ApprovalDenied, By: "bob"})
	clk.add(2 * time.Hour)
	// A late decision loses to the expiry.
	got, won, err := db.Decide(ctx, aps[0].ID, Decision{Status: ApprovalApproved, By: "alice"})
	if err != nil || won || got.Status != ApprovalExpired {
		t.Errorf("late decision: %+v won=%v %v", got, won, err)
	}
	expired, err := db.ExpireApprovals(ctx)
	if err != nil || len(expired) != 1 || expired[0].ID != aps[1].ID || expired[0].Status != ApprovalExpired {
		t.Errorf("ExpireApprovals = %+v, %v", expired, err)
	}
	if again, _ := db.ExpireApprovals(ctx); len(again) != 0 {
		t.Errorf("expired twice: %+v", again)
	}
	if pend, _ := db.Approvals(ctx, ApprovalPending, 0); len(pend) != 0 {
		t.Errorf("pending left: %+v", pend)
	}
	if ex, _ := db.Approvals(ctx, ApprovalExpired, 0); len(ex) != 2 {
		t.Errorf("expired = %+v", ex)
	}
	if _, err := db.Approvals(ctx, "weird", 0); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("bad status filter: %v", err)
	}
}
