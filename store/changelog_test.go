package store

import (
	"context"
	"testing"
	"time"
)

// Every issue change on PostgreSQL adds a change-log row in its own
// transaction and wakes listeners; SQLite writes none.
func TestIndexChangeLog(t *testing.T) { eachDriver(t, testIndexChangeLog) }

func testIndexChangeLog(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	woken := make(chan struct{}, 100)
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	go db.ListenIndexChanges(lctx, func() { woken <- struct{}{} })
	if db.postgres() {
		select {
		case <-woken: // listening
		case <-time.After(10 * time.Second):
			t.Fatal("the listener never started")
		}
	}

	is := testIssue("10", "P-1")
	if err := db.PutIssue(ctx, "c", is); err != nil {
		t.Fatal(err)
	}
	moved := testIssue("11", "P-1") // P-1 is now another issue: 10 leaves the index
	if err := db.PutIssue(ctx, "c", moved); err != nil {
		t.Fatal(err)
	}
	atts, _ := db.Attachments(ctx, "c", "11")
	if len(atts) > 0 {
		if err := db.SetAttachmentText(ctx, "c", atts[0].ID, "extracted"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.DeleteIssue(ctx, "c", "11"); err != nil {
		t.Fatal(err)
	}
	if err := db.Tx(ctx, func(tx *Tx) error { return tx.DeleteConnectionData(ctx, "c") }); err != nil {
		t.Fatal(err)
	}
	// A failed transaction leaves no change behind.
	db.Tx(ctx, func(tx *Tx) error {
		tx.PutIssue(ctx, "c", testIssue("12", "P-2"))
		return context.Canceled
	})

	got, err := db.IndexChanges(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if !db.postgres() {
		if len(got) != 0 {
			t.Fatalf("SQLite logged %d changes", len(got))
		}
		return
	}
	var ops []string
	for _, c := range got {
		ops = append(ops, c.Op+":"+c.IssueID)
	}
	want := []string{"put:10", "delete:10", "put:11"}
	if len(atts) > 0 {
		want = append(want, "put:11")
	}
	want = append(want, "delete:11", "purge:")
	if len(ops) != len(want) {
		t.Fatalf("changes %v, want %v", ops, want)
	}
	for i := range want {
		if ops[i] != want[i] || got[i].Conn != "c" || (i > 0 && got[i].Seq <= got[i-1].Seq) {
			t.Fatalf("changes %v (%+v), want %v in seq order", ops, got, want)
		}
	}
	select {
	case <-woken:
	case <-time.After(10 * time.Second):
		t.Fatal("no NOTIFY after the changes")
	}
	if after, _ := db.IndexChanges(ctx, got[2].Seq, 100); len(after) != len(got)-3 || after[0].Seq != got[3].Seq {
		t.Errorf("changes after seq %d: %+v", got[2].Seq, after)
	}

	// Trimming everything old keeps the head.
	n, err := db.TrimIndexChanges(ctx, time.Now().Add(time.Hour))
	if err != nil || n != int64(len(got)-1) {
		t.Errorf("trimmed %d, %v; want %d", n, err, len(got)-1)
	}
	oldest, head, err := db.IndexChangeBounds(ctx)
	if err != nil || oldest != head || head != got[len(got)-1].Seq {
		t.Errorf("bounds %d..%d, %v; want the head %d alone", oldest, head, err, got[len(got)-1].Seq)
	}
}

func TestReplicaIndexSeq(t *testing.T) { eachDriver(t, testReplicaIndexSeq) }

func testReplicaIndexSeq(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	for _, s := range []struct {
		id  string
		seq int64
	}{{"b", 3}, {"a", 1}, {"b", 7}} {
		if err := db.SetReplicaIndexSeq(ctx, s.id, s.seq); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := db.Replicas(ctx)
	if err != nil || len(rs) != 2 || rs[0].ID != "a" || rs[0].IndexSeq != 1 || rs[1].IndexSeq != 7 {
		t.Fatalf("replicas %+v, %v", rs, err)
	}
}
