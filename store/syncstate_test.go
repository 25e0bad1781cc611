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

func TestCheckpoints(t *testing.T) { eachDriver(t, testCheckpoints) }

func testCheckpoints(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	if _, err := db.Checkpoint(ctx, "c", "issues", "ITSM"); !errors.Is(err, switchyard.ErrNotFound) {
		t.Fatalf("missing checkpoint: %v", err)
	}
	cp := Checkpoint{Conn: "c", Stage: "issues", Scope: "ITSM", Cursor: "tok", CursorMS: 1700000000000}
	if err := db.SetCheckpoint(ctx, cp); err != nil {
		t.Fatal(err)
	}
	clk.add(time.Minute)
	cp.CursorMS += 5
	db.SetCheckpoint(ctx, cp)
	db.SetCheckpoint(ctx, Checkpoint{Conn: "c", Stage: "audit", CursorMS: 7})
	db.SetCheckpoint(ctx, Checkpoint{Conn: "d", Stage: "issues", Scope: "ITSM", CursorMS: 1})
	got, err := db.Checkpoint(ctx, "c", "issues", "ITSM")
	want := cp
	want.Updated = clk.now()
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Checkpoint = %+v, %v; want %+v", got, err, want)
	}
	all, _ := db.Checkpoints(ctx, "c")
	if len(all) != 2 || all[0].Stage != "audit" {
		t.Errorf("Checkpoints = %+v", all)
	}
	if err := db.SetCheckpoint(ctx, Checkpoint{Conn: "c"}); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("empty stage: %v", err)
	}
	db.DeleteCheckpoints(ctx, "c", "audit")
	if all, _ := db.Checkpoints(ctx, "c"); len(all) != 1 {
		t.Errorf("after deleting a stage: %+v", all)
	}
	db.DeleteCheckpoints(ctx, "c", "")
	if all, _ := db.Checkpoints(ctx, "c"); len(all) != 0 {
		t.Errorf("after deleting all: %+v", all)
	}
	if all, _ := db.Checkpoints(ctx, "d"); len(all) != 1 {
		t.Errorf("other connection's checkpoints touched: %+v", all)
	}
}

func TestConnectionState(t *testing.T) { eachDriver(t, testConnectionState) }

func testConnectionState(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	if h, err := db.FilterHash(ctx, "c"); err != nil || h != "" {
		t.Errorf("fresh filter hash = %q, %v", h, err)
	}
	if err := db.SetFilterHash(ctx, "c", "abc"); err != nil {
		t.Fatal(err)
	}
	if h, _ := db.FilterHash(ctx, "c"); h != "abc" {
		t.Errorf("filter hash = %q", h)
	}
	s := ConnectionState{Conn: "c", FilterHash: "def", Filters: json.RawMessage(`{"projects":{"in":["ITSM"]}}`), Disabled: true}
	if err := db.PutConnectionState(ctx, s); err != nil {
		t.Fatal(err)
	}
	got, _ := db.ConnectionState(ctx, "c")
	if got.FilterHash != "def" || !got.Disabled || string(got.Filters) != string(s.Filters) || got.Updated.IsZero() {
		t.Errorf("state = %+v", got)
	}
	if err := db.PutConnectionState(ctx, ConnectionState{Conn: "c", Filters: json.RawMessage(`{bad`)}); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("bad filters JSON: %v", err)
	}
	if got2, _ := db.ConnectionState(ctx, "c"); got2.FilterHash != "def" {
		t.Error("bad input changed the state")
	}
}

func TestSyncRuns(t *testing.T) { eachDriver(t, testSyncRuns) }

func testSyncRuns(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	r1, err := db.StartRun(ctx, "c", true)
	if err != nil {
		t.Fatal(err)
	}
	if r1.ID == 0 || r1.State != RunRunning || !r1.Started.Equal(clk.now()) {
		t.Errorf("started run %+v", r1)
	}
	r1.Stage = "issues"
	r1.Stats = map[string]map[string]int64{"users": {"fetched": 10}, "issues": {"fetched": 5}}
	r1.Warnings = []string{"audit log not readable (403): deletions rely on reconciliation"}
	if err := db.UpdateRun(ctx, r1); err != nil {
		t.Fatal(err)
	}
	mid, _ := db.Run(ctx, r1.ID)
	if mid.Stage != "issues" || mid.Stats["issues"]["fetched"] != 5 || len(mid.Warnings) != 1 || mid.State != RunRunning {
		t.Errorf("mid-run %+v", mid)
	}
	clk.add(time.Second)
	r1.State = "bogus"
	if err := db.FinishRun(ctx, r1); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("bogus final state: %v", err)
	}
	r1.State = RunSucceeded
	if err := db.FinishRun(ctx, r1); err != nil {
		t.Fatal(err)
	}
	if err := db.FinishRun(ctx, r1); !errors.Is(err, switchyard.ErrConflict) {
		t.Errorf("finishing twice: %v", err)
	}
	if err := db.UpdateRun(ctx, r1); !errors.Is(err, switchyard.ErrConflict) {
		t.Errorf("updating a finished run: %v", err)
	}
	r2, _ := db.StartRun(ctx, "c", false)
	db.StartRun(ctx, "other", false)
	runs, _ := db.Runs(ctx, "c", 10)
	if len(runs) != 2 || runs[0].ID != r2.ID || runs[1].State != RunSucceeded || runs[1].Finished.Sub(runs[1].Started) != time.Second {
		t.Errorf("Runs = %+v", runs)
	}
	if all, _ := db.Runs(ctx, "", 10); len(all) != 3 {
		t.Errorf("all runs = %d", len(all))
	}
	if one, _ := db.Runs(ctx, "c", 1); len(one) != 1 {
		t.Errorf("limit ignored: %d", len(one))
	}
	// A restart marks leftover running runs as failed.
	n, err := db.InterruptRuns(ctx)
	if err != nil || n != 2 {
		t.Errorf("InterruptRuns = %d, %v; want 2", n, err)
	}
	got, _ := db.Run(ctx, r2.ID)
	if got.State != RunFailed || got.Error == "" {
		t.Errorf("interrupted run %+v", got)
	}
	if _, err := db.Run(ctx, 999); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("missing run: %v", err)
	}
	// JSON never carries null stats or warnings.
	b, _ := json.Marshal(got)
	var m map[string]any
	json.Unmarshal(b, &m)
	if m["stats"] == nil || m["warnings"] == nil {
		t.Errorf("run JSON %s", b)
	}
}

func TestConnectionColumnsAndDisconnect(t *testing.T) {
	eachDriver(t, testConnectionColumnsAndDisconnect)
}

func testConnectionColumnsAndDisconnect(t *testing.T, openTest opener) {
	db := openTest(t, WithTokenKey(make([]byte, 32)))
	ctx := context.Background()
	// Filters from the API and the sync's filter hash do not overwrite each other.
	if err := db.SetFilterHash(ctx, "c", "h1"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetConnectionFilters(ctx, "c", json.RawMessage(`{"projects":{"in":["ITSM"]}}`)); err != nil {
		t.Fatal(err)
	}
	db.SetFilterHash(ctx, "c", "h2")
	s, _ := db.ConnectionState(ctx, "c")
	if s.FilterHash != "h2" || string(s.Filters) != `{"projects":{"in":["ITSM"]}}` || s.Disabled {
		t.Errorf("state = %+v", s)
	}
	if err := db.SetConnectionFilters(ctx, "c", json.RawMessage(`{`)); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("bad filters: %v", err)
	}

	db.ReplaceUsers(ctx, "c", []switchyard.User{{AccountID: "u"}})
	db.PutIssue(ctx, "c", testIssue("1", "ITSM-1"))
	db.SaveToken(ctx, "c", map[string]string{"refresh_token": "r"})
	v1, _ := db.IdentityVersion(ctx, "c")

	// Disconnect keeps the data, drops the token, stops syncing.
	if err := db.DisconnectConnection(ctx, "c", false); err != nil {
		t.Fatal(err)
	}
	s, _ = db.ConnectionState(ctx, "c")
	if ok, _ := db.HasToken(ctx, "c"); ok || !s.Disabled || s.FilterHash != "h2" {
		t.Errorf("after disconnect: token=%v state=%+v", ok, s)
	}
	if c, _ := db.Counts(ctx, "c"); c.Issues != 1 || c.Users != 1 {
		t.Errorf("disconnect removed data: %+v", c)
	}
	// Purge removes the data, keeps API filters, forgets the filter hash
	// (the next sync is full) and moves the identity version on.
	if err := db.DisconnectConnection(ctx, "c", true); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Counts(ctx, "c"); c != (Counts{}) {
		t.Errorf("purge left %+v", c)
	}
	s, _ = db.ConnectionState(ctx, "c")
	if !s.Disabled || s.FilterHash != "" || string(s.Filters) != `{"projects":{"in":["ITSM"]}}` {
		t.Errorf("after purge: %+v", s)
	}
	if v2, _ := db.IdentityVersion(ctx, "c"); v2 <= v1 {
		t.Errorf("identity version %d after purge, was %d", v2, v1)
	}
	if err := db.SetConnectionEnabled(ctx, "c", true); err != nil {
		t.Fatal(err)
	}
	if s, _ := db.ConnectionState(ctx, "c"); s.Disabled {
		t.Error("still disabled after enabling")
	}
}
