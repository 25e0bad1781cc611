package runbook_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"

	"switchyard/audit"
	"switchyard/classify"
	"switchyard/runbook"
	"switchyard/store"
)

// BenchmarkIngest measures Service.Ingest of new tickets without HTTP (the
// API's own cost is in scripts/bench-ingest): classification, the group
// committed run with its approval, outbox items and audit records.
func BenchmarkIngest(b *testing.B) {
	db, err := store.Open(filepath.Join(b.TempDir(), "s.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	cls, err := classify.New(classify.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer cls.Close()
	svc, err := runbook.New(runbook.Options{Store: db, Audit: audit.New(db), Classifier: cls, DefaultConnection: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	defer svc.Close()
	var n atomic.Int64
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := n.Add(1)
			_, err := svc.Ingest(context.Background(), "", runbook.Ticket{Source: "jira", IssueKey: fmt.Sprintf("BENCH-%d", i),
				Summary: pwSummary, Description: pwDesc, ReporterEmail: reporter})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ingests/s")
}
