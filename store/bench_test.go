package store

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"

	"switchyard"
	"switchyard/audit"
)

func openBench(b *testing.B) *DB {
	b.Helper()
	db, err := Open(filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	return db
}

// BenchmarkPutIssuePage is the sync's write path: a page of 100 issues (each
// with a comment and an attachment) and its checkpoint in one transaction.
// Reports issues/s.
func BenchmarkPutIssuePage(b *testing.B) {
	db := openBench(b)
	ctx := context.Background()
	const page = 100
	n := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		err := db.Tx(ctx, func(tx *Tx) error {
			for j := 0; j < page; j++ {
				n++
				if err := tx.PutIssue(ctx, "c", testIssue(fmt.Sprint(n), fmt.Sprintf("P-%d", n))); err != nil {
					return err
				}
			}
			return tx.SetCheckpoint(ctx, Checkpoint{Conn: "c", Stage: "issues", Scope: "P", CursorMS: int64(n)})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*page)/b.Elapsed().Seconds(), "issues/s")
}

// BenchmarkIssueRead is Issue by key with its comments and attachments.
func BenchmarkIssueRead(b *testing.B) {
	db := openBench(b)
	ctx := context.Background()
	for i := 0; i < 1000; i++ {
		db.PutIssue(ctx, "c", testIssue(fmt.Sprint(i), fmt.Sprintf("P-%d", i)))
	}
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			if _, err := db.Issue(ctx, "c", fmt.Sprintf("P-%d", i%1000)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCreateRunOnce is the ingest path's store write.
func BenchmarkCreateRunOnce(b *testing.B) {
	db := openBench(b)
	ctx := context.Background()
	var mu sync.Mutex
	n := 0
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			mu.Lock()
			n++
			k := n
			mu.Unlock()
			if _, _, err := db.CreateRunOnce(ctx, TicketRun{Conn: "c", IssueKey: fmt.Sprintf("P-%d", k), BodyHash: "h", State: "ingested"}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkAuditAppend is one audit record appended and committed.
func BenchmarkAuditAppend(b *testing.B) {
	db := openBench(b)
	ctx := context.Background()
	chain := audit.New(db)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := chain.Append(ctx, audit.Entry{Type: "ingest", Actor: "bench", Subject: "P-1", Payload: map[string]any{"k": 1}}); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkProjects is the read the index does to compute permissions.
func BenchmarkProjects(b *testing.B) {
	db := openBench(b)
	ctx := context.Background()
	var ps []switchyard.Project
	for i := 0; i < 50; i++ {
		p := switchyard.Project{ID: fmt.Sprint(i), Key: fmt.Sprintf("P%d", i)}
		for r := 0; r < 5; r++ {
			p.Roles = append(p.Roles, switchyard.ProjectRole{ID: fmt.Sprint(r), Actors: switchyard.RoleActors{Users: []string{"u1", "u2"}, Groups: []string{"g1"}}})
		}
		p.Browse = []switchyard.Holder{{Type: "group", Parameter: "g1"}, {Type: "projectRole", Parameter: "1"}}
		p.SecurityLevels = []switchyard.SecurityLevel{{ID: "l", Members: []switchyard.Holder{{Type: "reporter"}}}}
		ps = append(ps, p)
	}
	if err := db.ReplaceProjects(ctx, "c", ps); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := db.Projects(ctx, "c"); err != nil {
			b.Fatal(err)
		}
	}
}
