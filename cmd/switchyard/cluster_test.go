package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"switchyard"
	"switchyard/index"
	"switchyard/store"
	"switchyard/store/pgtest"
)

func followerIssue(id string) switchyard.Issue {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	return switchyard.Issue{ID: id, Key: "P-" + id, ProjectID: "10000", ProjectKey: "P", Summary: "VPN broken " + id,
		IssueType: "Task", Status: "Open", Created: t0, Updated: t0}
}

// The index follower applies puts, deletes and purges from the change log,
// resumes from the mark kept in the index after a restart, and rebuilds from
// the store when the log was trimmed past it.
func TestIndexFollower(t *testing.T) {
	dsn := pgtest.DSN(t)
	db, err := store.OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	dir := t.TempDir()
	open := func() (*index.Index, *indexFollower) {
		idx, err := index.Open(filepath.Join(dir, "index.bleve"))
		if err != nil {
			t.Fatal(err)
		}
		f, err := newIndexFollower(db, idx, "r1", []string{"acme", "beta"}, time.Hour, func() bool { return false }, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		return idx, f
	}
	count := func(idx *index.Index, conn string) int {
		n, _, _, err := idx.Count(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	idx, f := open()
	for i := 1; i <= 5; i++ {
		if err := db.PutIssue(ctx, "acme", followerIssue(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
		if err := db.PutIssue(ctx, "beta", followerIssue(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	db.DeleteIssue(ctx, "acme", "5")
	if err := f.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	_, head, _ := db.IndexChangeBounds(ctx)
	if count(idx, "acme") != 4 || count(idx, "beta") != 5 || f.applied.Load() != head {
		t.Fatalf("after catch-up: acme %d beta %d applied %d head %d", count(idx, "acme"), count(idx, "beta"), f.applied.Load(), head)
	}
	if rs, _ := db.Replicas(ctx); len(rs) != 1 || rs[0].IndexSeq != head {
		t.Errorf("reported position %+v, want %d", rs, head)
	}

	// Restart: the mark in the index says where to resume.
	idx.Close()
	if err := db.Tx(ctx, func(tx *store.Tx) error { return tx.DeleteConnectionData(ctx, "beta") }); err != nil {
		t.Fatal(err)
	}
	idx, f = open()
	if f.applied.Load() != head {
		t.Fatalf("resumed at %d, want %d", f.applied.Load(), head)
	}
	if err := f.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	if count(idx, "beta") != 0 || count(idx, "acme") != 4 {
		t.Fatalf("after purge: acme %d beta %d", count(idx, "acme"), count(idx, "beta"))
	}

	// Away while the log was trimmed: a fresh index (no mark) behind the
	// oldest change is rebuilt from the store.
	idx.Close()
	for i := 6; i <= 8; i++ {
		db.PutIssue(ctx, "acme", followerIssue(fmt.Sprint(i)))
	}
	if _, err := db.TrimIndexChanges(ctx, time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	idx, f = open()
	defer idx.Close()
	if err := f.catchUp(ctx); err != nil {
		t.Fatal(err)
	}
	_, head, _ = db.IndexChangeBounds(ctx)
	if count(idx, "acme") != 7 || f.applied.Load() != head {
		t.Fatalf("after rebuild: acme %d (want 7) applied %d head %d", count(idx, "acme"), f.applied.Load(), head)
	}
}
