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

func TestRunNotes(t *testing.T) { eachDriver(t, testRunNotes) }

func testRunNotes(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	a := pendingApproval(t, db, "ITSM-1")
	notes := []struct {
		name, value string
		wantErr     error
	}{
		{name: "policy", value: `{"steps":2}`},
		{name: "target", value: `"sarah"`},
		{name: "policy", value: `{"steps":3}`}, // replaces the older one
		{name: " ", value: `1`, wantErr: switchyard.ErrInvalid},
		{name: "bad", value: `{`, wantErr: switchyard.ErrInvalid},
	}
	for _, n := range notes {
		err := db.SetRunNote(ctx, a.RunID, n.name, json.RawMessage(n.value))
		if n.wantErr != nil {
			if !errors.Is(err, n.wantErr) {
				t.Errorf("note %q: %v, want %v", n.name, err, n.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("note %q: %v", n.name, err)
		}
	}
	got, err := db.RunNotes(ctx, a.RunID)
	want := map[string]json.RawMessage{"policy": json.RawMessage(`{"steps":3}`), "target": json.RawMessage(`"sarah"`)}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("notes = %s, %v; want %s", got, err, want)
	}
	if err := db.SetRunNote(ctx, 999999, "x", json.RawMessage(`1`)); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("note of an unknown run: %v, want ErrNotFound", err)
	}
	if got, err := db.RunNotes(ctx, 999999); err != nil || len(got) != 0 {
		t.Errorf("notes of an unknown run: %v, %v", got, err)
	}
}

func TestApprovalsPageAndExpiry(t *testing.T) { eachDriver(t, testApprovalsPageAndExpiry) }

func testApprovalsPageAndExpiry(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	var ids []int64
	for _, key := range []string{"ITSM-1", "ITSM-2", "ITSM-3", "ITSM-4"} {
		ids = append(ids, pendingApproval(t, db, key).ID)
	}
	if _, won, err := db.Decide(ctx, ids[1], Decision{Status: ApprovalDenied, By: "u1"}); err != nil || !won {
		t.Fatalf("decide: %v %v", won, err)
	}
	clk.add(25 * time.Hour)
	var after []int64
	expired, err := db.ExpireRuns(ctx, func(tx *Tx, a Approval) error { after = append(after, a.ID); return nil })
	if err != nil || len(expired) != 3 || !reflect.DeepEqual(after, []int64{expired[0].ID, expired[1].ID, expired[2].ID}) {
		t.Fatalf("ExpireRuns = %+v, %v (after saw %v)", expired, err, after)
	}
	for _, a := range expired {
		if a.Status != ApprovalExpired || a.DecidedBy != "system" || !a.DecidedAt.Equal(clk.now()) {
			t.Errorf("expired approval %+v", a)
		}
	}
	if again, err := db.ExpireRuns(ctx, nil); err != nil || len(again) != 0 {
		t.Errorf("second ExpireRuns = %+v, %v", again, err)
	}
	pages := []struct {
		status string
		after  int64
		limit  int
		want   []int64
	}{
		{"", 0, 0, ids},
		{"", ids[0], 2, ids[1:3]},
		{ApprovalExpired, 0, 10, []int64{ids[0], ids[2], ids[3]}},
		{ApprovalExpired, ids[2], 10, []int64{ids[3]}},
		{ApprovalDenied, 0, 10, []int64{ids[1]}},
		{ApprovalPending, 0, 10, nil},
	}
	for _, p := range pages {
		got, err := db.ApprovalsPage(ctx, p.status, p.after, p.limit)
		var gotIDs []int64
		for _, a := range got {
			gotIDs = append(gotIDs, a.ID)
		}
		if err != nil || !reflect.DeepEqual(gotIDs, p.want) {
			t.Errorf("ApprovalsPage(%q, %d, %d) = %v, %v; want %v", p.status, p.after, p.limit, gotIDs, err, p.want)
		}
	}
	if _, err := db.ApprovalsPage(ctx, "maybe", 0, 10); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("unknown status: %v, want ErrInvalid", err)
	}
}
