package runbook_test

import (
	"context"
	"testing"

	"switchyard"
	"switchyard/runbook"
)

func TestTriggerMatches(t *testing.T) {
	iss := switchyard.Issue{Key: "ITSM-7", IssueType: "Service Request", Labels: []string{"okta", "urgent"}}
	cases := []struct {
		name string
		t    runbook.Trigger
		want bool
	}{
		{"empty matches all", runbook.Trigger{}, true},
		{"project", runbook.Trigger{Projects: []string{"OPS", "itsm"}}, true},
		{"other project", runbook.Trigger{Projects: []string{"OPS"}}, false},
		{"type", runbook.Trigger{IssueTypes: []string{"service request"}}, true},
		{"other type", runbook.Trigger{IssueTypes: []string{"Bug"}}, false},
		{"any label", runbook.Trigger{Labels: []string{"hr", "OKTA"}}, true},
		{"no label", runbook.Trigger{Labels: []string{"hr"}}, false},
		{"excluded label", runbook.Trigger{NotLabels: []string{"urgent"}}, false},
		{"all conditions", runbook.Trigger{Projects: []string{"ITSM"}, IssueTypes: []string{"Service Request"}, Labels: []string{"okta"}, NotLabels: []string{"manual"}}, true},
	}
	for _, tc := range cases {
		if got := tc.t.Matches(iss); got != tc.want {
			t.Errorf("%s: got %v", tc.name, got)
		}
	}
}

// TestIngestIssue: a matching synced issue enters once, even when synced
// again after an edit; others do not enter.
func TestIngestIssue(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) {
		o.Triggers = []runbook.Trigger{{Labels: []string{"switchyard"}}}
	})
	keys := h.issueKeys()
	ctx := context.Background()
	iss := switchyard.Issue{Key: keys[0], Summary: pwSummary, Description: pwDesc, Labels: []string{"switchyard"}, URL: h.simTS.URL + "/browse/" + keys[0]}
	res, matched, err := h.svc.IngestIssue(ctx, "sim", "sync", iss, reporter)
	if err != nil || !matched || !res.Created || res.Run.State != runbook.StatePending {
		t.Fatalf("first: %+v %v %v", res, matched, err)
	}
	iss.Description += " (edited)"
	again, matched, err := h.svc.IngestIssue(ctx, "sim", "webhook", iss, reporter)
	if err != nil || !matched || again.Created || again.Run.ID != res.Run.ID {
		t.Fatalf("again: %+v %v %v", again, matched, err)
	}
	other := switchyard.Issue{Key: keys[1], Summary: pwSummary, Labels: []string{"hr"}}
	if _, matched, err := h.svc.IngestIssue(ctx, "sim", "sync", other, ""); matched || err != nil {
		t.Fatalf("unmatched issue: %v %v", matched, err)
	}
	if runs, _ := h.db.TicketRuns(ctx, "", 0); len(runs) != 1 {
		t.Fatalf("%d runs", len(runs))
	}
}
