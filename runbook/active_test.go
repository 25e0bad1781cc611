package runbook_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"switchyard"
	"switchyard/runbook"
)

// A replica that is not the leader (Options.Active false) takes ingests and
// decisions but leaves the outbox alone: nothing is executed or written to
// Jira until it leads.
func TestInactiveReplicaLeavesOutbox(t *testing.T) {
	var active atomic.Bool
	h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) {
		o.Active = active.Load
	})
	keys := h.issueKeys()
	r := h.ingest(h.ticket(keys[0], pwSummary, pwDesc, reporter)).Run
	if _, err := h.svc.Decide(context.Background(), r.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond) // several poll intervals
	if ours, _ := h.comments(keys[0]); len(ours) != 0 {
		t.Fatalf("an inactive replica wrote %d comments to Jira", len(ours))
	}
	pending, _ := h.db.OutboxItems(context.Background(), true, 100)
	if len(pending) == 0 {
		t.Fatal("no pending outbox items: the inactive replica worked them")
	}
	active.Store(true)
	h.waitRun(r.ID, "write-back", func(r runbook.Run) bool { return r.WriteBack != nil && r.WriteBack.Status == "done" })
	if ours, _ := h.comments(keys[0]); len(ours) != 1 {
		t.Fatalf("%d comments once active, want 1", len(ours))
	}
}
