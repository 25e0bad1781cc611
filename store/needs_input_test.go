package store

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard"
)

func TestResumeRun(t *testing.T) { eachDriver(t, testResumeRun) }

func testResumeRun(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	r, _, err := db.CreateRunOnce(ctx, TicketRun{Conn: "c", IssueKey: "ITSM-9", BodyHash: "h", Intent: "reset_mfa",
		Inputs: json.RawMessage(`{}`), State: "needs_input", Disposition: "needs_input"})
	if err != nil {
		t.Fatal(err)
	}
	expires := clk.now().Add(time.Hour).Truncate(time.Millisecond)
	resumed := r
	resumed.Runbook, resumed.Confidence, resumed.Disposition, resumed.Reason = "reset_mfa", 0.97, "pending_approval", "inputs supplied"
	resumed.Inputs, resumed.State = json.RawMessage(`{"user":"sarah"}`), "pending_approval"

	// Two agents supply the inputs at once: exactly one wins.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	thens := make(chan Approval, 2)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _, errs[i] = db.ResumeRun(ctx, resumed, "needs_input", expires, func(tx *Tx, run TicketRun, a Approval) error {
				thens <- a
				return nil
			})
		}()
	}
	wg.Wait()
	close(thens)
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, switchyard.ErrConflict):
			t.Errorf("losing resume: %v, want ErrConflict", err)
		}
	}
	if won != 1 || len(thens) != 1 {
		t.Fatalf("%d resumes won, then ran %d times; want 1 and 1 (errors %v)", won, len(thens), errs)
	}
	appr := <-thens

	got, err := db.TicketRun(ctx, r.ID)
	if err != nil || got.State != "pending_approval" || got.Runbook != "reset_mfa" || got.Confidence != 0.97 ||
		got.Reason != "inputs supplied" || string(got.Inputs) != `{"user":"sarah"}` {
		t.Errorf("run after resume = %+v, %v", got, err)
	}
	a, err := db.ApprovalForRun(ctx, r.ID)
	if err != nil || a.ID != appr.ID || a.Status != ApprovalPending || !a.Expires.Equal(expires) {
		t.Errorf("approval = %+v, %v; want pending %d expiring %v", a, err, appr.ID, expires)
	}

	// A second resume conflicts, naming the state, and changes nothing.
	again := resumed
	again.Inputs = json.RawMessage(`{"user":"mallory"}`)
	_, _, err = db.ResumeRun(ctx, again, "needs_input", expires, nil)
	if !errors.Is(err, switchyard.ErrConflict) || !containsAll(err.Error(), "pending_approval", "needs_input") {
		t.Errorf("second resume: %v, want ErrConflict naming both states", err)
	}
	if got, _ := db.TicketRun(ctx, r.ID); string(got.Inputs) != `{"user":"sarah"}` {
		t.Errorf("conflicting resume changed the inputs: %s", got.Inputs)
	}

	// A failing then leaves the run waiting and opens no approval.
	r2, _, _ := db.CreateRunOnce(ctx, TicketRun{Conn: "c", IssueKey: "ITSM-10", BodyHash: "h", Inputs: json.RawMessage(`{}`), State: "needs_input"})
	boom := errors.New("boom")
	next := r2
	next.State = "pending_approval"
	if _, _, err := db.ResumeRun(ctx, next, "needs_input", expires, func(*Tx, TicketRun, Approval) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("failing then: %v", err)
	}
	if got, _ := db.TicketRun(ctx, r2.ID); got.State != "needs_input" {
		t.Errorf("rolled back resume left state %s", got.State)
	}
	if _, err := db.ApprovalForRun(ctx, r2.ID); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("rolled back resume left an approval: %v", err)
	}

	bad := []struct {
		name    string
		r       TicketRun
		from    string
		expires time.Time
		want    error
	}{
		{"no state", TicketRun{ID: r2.ID}, "needs_input", expires, switchyard.ErrInvalid},
		{"no from", next, "", expires, switchyard.ErrInvalid},
		{"no expiry", next, "needs_input", time.Time{}, switchyard.ErrInvalid},
		{"bad inputs", TicketRun{ID: r2.ID, State: "x", Inputs: json.RawMessage(`{`)}, "needs_input", expires, switchyard.ErrInvalid},
		{"unknown run", TicketRun{ID: 999999, State: "x"}, "needs_input", expires, switchyard.ErrNotFound},
	}
	for _, b := range bad {
		if _, _, err := db.ResumeRun(ctx, b.r, b.from, b.expires, nil); !errors.Is(err, b.want) {
			t.Errorf("%s: %v, want %v", b.name, err, b.want)
		}
	}
}

func containsAll(s string, subs ...string) bool {
	for _, x := range subs {
		if !strings.Contains(s, x) {
			return false
		}
	}
	return true
}
