package store

import (
	"context"
	"errors"
	"testing"
	"time"

	"switchyard"
)

func TestIndexReset(t *testing.T) { eachDriver(t, testIndexReset) }

func testIndexReset(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	if _, ok, err := db.IndexReset(ctx, "c"); ok || err != nil {
		t.Fatalf("before any reset: ok=%v %v", ok, err)
	}
	for _, cp := range []Checkpoint{{Conn: "c", Stage: "issues", Scope: "ITSM", Cursor: "x"}, {Conn: "d", Stage: "issues", Cursor: "y"}} {
		if err := db.SetCheckpoint(ctx, cp); err != nil {
			t.Fatal(err)
		}
	}
	// A full sync before the reset does not count as its refill.
	early, _ := db.StartRun(ctx, "c", true)
	early.State = RunSucceeded
	if err := db.FinishRun(ctx, early); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	reset := func(reason string) {
		t.Helper()
		if err := db.Tx(ctx, func(tx *Tx) error { return tx.ResetForIndex(ctx, "c", reason) }); err != nil {
			t.Fatal(err)
		}
	}
	reset("index schema changed")
	if cps, _ := db.Checkpoints(ctx, "c"); len(cps) != 0 {
		t.Errorf("checkpoints kept after reset: %+v", cps)
	}
	if cps, _ := db.Checkpoints(ctx, "d"); len(cps) != 1 {
		t.Errorf("another connection's checkpoints: %+v", cps)
	}
	// A second reset replaces the first: the latest one is what matters.
	clk.add(time.Minute)
	at := clk.now()
	reset("index directory was empty")

	steps := []struct {
		name     string
		full     bool
		state    string
		wantFill bool
	}{
		{"incremental sync", false, RunSucceeded, false},
		{"failed full sync", true, RunFailed, false},
		{"full sync", true, RunSucceeded, true},
		{"another full sync", true, RunSucceeded, true}, // the first one stays the refill
	}
	var refill int64
	for _, s := range steps {
		clk.add(time.Second)
		run, err := db.StartRun(ctx, "c", s.full)
		if err != nil {
			t.Fatal(err)
		}
		run.State = s.state
		if err := db.FinishRun(ctx, run); err != nil {
			t.Fatal(err)
		}
		if s.wantFill && refill == 0 {
			refill = run.ID
		}
		r, ok, err := db.IndexReset(ctx, "c")
		if err != nil || !ok || r.Conn != "c" || r.Reason != "index directory was empty" || !r.At.Equal(at) || r.RefilledBy != refill {
			t.Errorf("%s: reset = %+v ok=%v %v; want refilled by %d", s.name, r, ok, err, refill)
		}
	}
	if _, ok, _ := db.IndexReset(ctx, "d"); ok {
		t.Error("connection d has a reset it never had")
	}
	if err := db.Tx(ctx, func(tx *Tx) error { return tx.ResetForIndex(ctx, "", "x") }); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("empty connection: %v, want ErrInvalid", err)
	}
}
