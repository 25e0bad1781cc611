package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"switchyard"
)

// pendingApproval creates a run with an approval request expiring in a day.
func pendingApproval(t *testing.T, db *DB, key string) Approval {
	t.Helper()
	ctx := context.Background()
	r, _, err := db.CreateRunOnce(ctx, TicketRun{Conn: "c", IssueKey: key, BodyHash: "h", Intent: "reset_mfa",
		Inputs: json.RawMessage(`{}`), State: "pending_approval"})
	if err != nil {
		t.Fatal(err)
	}
	a, _, err := db.CreateApproval(ctx, r.ID, db.now().Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestCastVote(t *testing.T) { eachDriver(t, testCastVote) }

func testCastVote(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	a := pendingApproval(t, db, "ITSM-1")
	// A two-step policy: the first vote fills step 0, the second decides.
	check := func(a Approval, votes []Vote) (VoteOutcome, error) {
		if len(votes) == 0 {
			return VoteOutcome{Step: 0, OnBehalfOf: "boss"}, nil
		}
		return VoteOutcome{Step: 1, Final: &Decision{Status: ApprovalApproved, By: "u2", Note: "two of two"}}, nil
	}
	var afterCalls []bool
	after := func(tx *Tx, a Approval, votes []Vote, decided bool) error {
		afterCalls = append(afterCalls, decided)
		return nil
	}
	steps := []struct {
		name       string
		vote       Vote
		check      VoteCheck
		wantErr    error
		wantStatus string
		wantVotes  int
	}{
		{name: "first step", vote: Vote{Account: " u1 ", Decision: "approve", Reason: "ok", Channel: "slack"}, check: check, wantStatus: ApprovalPending, wantVotes: 1},
		{name: "no account", vote: Vote{Account: "  ", Decision: "approve"}, check: check, wantErr: switchyard.ErrInvalid},
		{name: "same person again", vote: Vote{Account: "U1", Decision: "approve"}, check: check, wantErr: switchyard.ErrConflict},
		{name: "check refuses", vote: Vote{Account: "u3", Decision: "approve"}, check: func(Approval, []Vote) (VoteOutcome, error) {
			return VoteOutcome{}, switchyard.Errorf(switchyard.ErrForbidden, "not an approver")
		}, wantErr: switchyard.ErrForbidden},
		{name: "final step", vote: Vote{Account: "u2", Decision: "approve"}, check: check, wantStatus: ApprovalApproved, wantVotes: 2},
		{name: "after the decision", vote: Vote{Account: "u4", Decision: "deny"}, check: check, wantErr: switchyard.ErrConflict},
	}
	for _, s := range steps {
		clk.add(time.Second)
		got, votes, err := db.CastVote(ctx, a.ID, s.vote, s.check, after)
		if s.wantErr != nil {
			if !errors.Is(err, s.wantErr) {
				t.Errorf("%s: %v, want %v", s.name, err, s.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got.Status != s.wantStatus || len(votes) != s.wantVotes {
			t.Errorf("%s: status %s with %d votes, want %s with %d", s.name, got.Status, len(votes), s.wantStatus, s.wantVotes)
		}
	}
	if !reflect.DeepEqual(afterCalls, []bool{false, true}) {
		t.Errorf("after called with decided = %v, want [false true]", afterCalls)
	}
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	want := []Vote{
		{ApprovalID: a.ID, Step: 0, Account: "u1", Decision: "approve", Reason: "ok", OnBehalfOf: "boss", Channel: "slack", At: start.Add(time.Second)},
		{ApprovalID: a.ID, Step: 1, Account: "u2", Decision: "approve", At: start.Add(5 * time.Second)},
	}
	votes, err := db.Votes(ctx, a.ID)
	if err != nil || !reflect.DeepEqual(votes, want) {
		t.Errorf("votes = %+v, %v\nwant %+v", votes, err, want)
	}
	stored, err := db.Approval(ctx, a.ID)
	if err != nil || stored.Status != ApprovalApproved || stored.DecidedBy != "u2" || stored.Note != "two of two" {
		t.Errorf("approval = %+v, %v", stored, err)
	}
	// An error from after rolls the vote back.
	b := pendingApproval(t, db, "ITSM-2")
	boom := errors.New("boom")
	if _, _, err := db.CastVote(ctx, b.ID, Vote{Account: "u1", Decision: "deny"}, check, func(*Tx, Approval, []Vote, bool) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("after failing: %v", err)
	}
	if votes, _ := db.Votes(ctx, b.ID); len(votes) != 0 {
		t.Errorf("a rolled back vote was kept: %+v", votes)
	}
	if _, _, err := db.CastVote(ctx, 999999, Vote{Account: "u1"}, check, nil); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("unknown approval: %v", err)
	}
	// An expired request takes no vote.
	clk.add(25 * time.Hour)
	if _, _, err := db.CastVote(ctx, b.ID, Vote{Account: "u1", Decision: "approve"}, check, nil); !errors.Is(err, switchyard.ErrConflict) {
		t.Errorf("expired: %v, want ErrConflict", err)
	}
}

func TestApprovalEvents(t *testing.T) { eachDriver(t, testApprovalEvents) }

func testApprovalEvents(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	a := pendingApproval(t, db, "ITSM-1")
	t0 := clk.now()
	ran := 0
	then := func(*Tx) error { ran++; return nil }
	marks := []struct {
		kind      string
		step      int
		wantFirst bool
	}{
		{"reminder", 0, true},
		{"reminder", 0, false}, // a second replica's tick: once only
		{"reminder", 1, true},
		{"escalation", 0, true},
	}
	for i, m := range marks {
		clk.add(time.Minute)
		first, err := db.MarkApprovalEvent(ctx, a.ID, m.kind, m.step, then)
		if err != nil || first != m.wantFirst {
			t.Errorf("mark %d %s:%d = %v, %v; want %v", i, m.kind, m.step, first, err, m.wantFirst)
		}
	}
	if ran != 3 {
		t.Errorf("then ran %d times, want 3 (once per new event)", ran)
	}
	// A failing then rolls the mark back: the next tick tries again.
	boom := errors.New("boom")
	if _, err := db.MarkApprovalEvent(ctx, a.ID, "reminder", 2, func(*Tx) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("failing then: %v", err)
	}
	ev, err := db.ApprovalEvents(ctx, a.ID)
	want := map[string]time.Time{
		EventKey("reminder", 0):   t0.Add(time.Minute),
		EventKey("reminder", 1):   t0.Add(3 * time.Minute),
		EventKey("escalation", 0): t0.Add(4 * time.Minute),
	}
	if err != nil || !reflect.DeepEqual(ev, want) {
		t.Errorf("events = %v, %v; want %v", ev, err, want)
	}
	if EventKey("reminder", 1) != "reminder:1" {
		t.Errorf("EventKey = %q", EventKey("reminder", 1))
	}
	if ev, err := db.ApprovalEvents(ctx, a.ID+1); err != nil || len(ev) != 0 {
		t.Errorf("another approval's events: %v, %v", ev, err)
	}
}

func TestDelegations(t *testing.T) { eachDriver(t, testDelegations) }

func testDelegations(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	t0 := clk.now()
	day := 24 * time.Hour
	var seen [][]Delegation
	check := func(existing []Delegation) error {
		seen = append(seen, existing)
		for _, x := range existing {
			if x.From == "bob" && x.To == "alice" {
				return switchyard.Errorf(switchyard.ErrConflict, "cycle")
			}
		}
		return nil
	}
	creates := []struct {
		name    string
		d       Delegation
		wantErr error
	}{
		{name: "alice to bob", d: Delegation{From: "alice", To: "bob", Start: t0, Until: t0.Add(7 * day), CreatedBy: "alice"}},
		{name: "later", d: Delegation{From: "carol", To: "dan", Start: t0.Add(day), Until: t0.Add(2 * day), CreatedBy: "admin"}},
		{name: "bob to alice once more", d: Delegation{From: "bob", To: "alice", Start: t0, Until: t0.Add(day), CreatedBy: "bob"}},
		{name: "cycle", d: Delegation{From: "alice", To: "bob", Start: t0, Until: t0.Add(day), CreatedBy: "alice"}, wantErr: switchyard.ErrConflict},
	}
	var made []Delegation
	for _, c := range creates {
		clk.add(time.Second)
		d, err := db.CreateDelegation(ctx, c.d, check)
		if c.wantErr != nil {
			if !errors.Is(err, c.wantErr) {
				t.Errorf("%s: %v, want %v", c.name, err, c.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if d.ID == 0 || (len(made) > 0 && d.ID <= made[len(made)-1].ID) || !d.Created.Equal(clk.now()) {
			t.Errorf("%s: id %d created %v", c.name, d.ID, d.Created)
		}
		made = append(made, d)
	}
	if len(seen) != 4 || len(seen[0]) != 0 || len(seen[3]) != 3 {
		t.Errorf("check saw %d, %d delegations", len(seen[0]), len(seen[len(seen)-1]))
	}
	list, err := db.Delegations(ctx)
	if err != nil || !reflect.DeepEqual(list, made) {
		t.Errorf("delegations = %+v, %v\nwant %+v", list, err, made)
	}
	// Only the delegator or the creator may revoke.
	if _, err := db.RevokeDelegation(ctx, made[0].ID, "bob"); !errors.Is(err, switchyard.ErrForbidden) {
		t.Errorf("revoke by the delegate: %v, want ErrForbidden", err)
	}
	clk.add(time.Minute)
	rev, err := db.RevokeDelegation(ctx, made[0].ID, "ALICE")
	if err != nil || !rev.Revoked.Equal(clk.now()) {
		t.Errorf("revoke = %+v, %v", rev, err)
	}
	clk.add(time.Minute)
	again, err := db.RevokeDelegation(ctx, made[1].ID, "admin")
	if err != nil || !again.Revoked.Equal(clk.now()) {
		t.Errorf("revoke by creator = %+v, %v", again, err)
	}
	// Revoking twice keeps the first time.
	clk.add(time.Minute)
	if twice, err := db.RevokeDelegation(ctx, made[0].ID, "alice"); err != nil || !twice.Revoked.Equal(rev.Revoked) {
		t.Errorf("second revoke = %+v, %v; want revoked at %v", twice, err, rev.Revoked)
	}
	if _, err := db.RevokeDelegation(ctx, 999999, "alice"); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("unknown delegation: %v", err)
	}
	list, _ = db.Delegations(ctx)
	if len(list) != 1 || list[0].ID != made[2].ID {
		t.Errorf("after revoking: %+v, want only %d", list, made[2].ID)
	}
	// Ended delegations are not listed.
	clk.add(2 * day)
	if list, _ := db.Delegations(ctx); len(list) != 0 {
		t.Errorf("ended delegations listed: %+v", list)
	}
}
