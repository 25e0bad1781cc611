package runbook

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"switchyard/classify"
	"switchyard/store"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./runbook -run Golden -update to create it)", err)
	}
	if string(want) != string(got) {
		t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func sampleRun(state string) Run {
	decided := time.Date(2026, 11, 22, 23, 10, 41, 916_000_000, time.UTC)
	r := Run{
		ID: 42, Connection: "acme", IssueKey: "ITSM-123", Intent: "password_reset", Runbook: "RB-001", RunbookName: "Password reset",
		Confidence: 0.973, Disposition: "pending_approval", State: state,
		Ticket:     Ticket{Source: "jira", IssueKey: "ITSM-123", Summary: "Password reset needed", URL: "https://acme.atlassian.net/browse/ITSM-123", ReporterEmail: "bob@example.com"},
		Inputs:     []classify.Input{{Name: "target_user", Value: "jane.doe@example.com", Source: "text:email"}},
		TargetUser: "jane.doe@example.com",
		Approval:   &store.Approval{ID: 7, RunID: 42, Status: "approved", DecidedBy: "carol@example.com", DecidedAt: decided, Note: "verified by phone", Expires: decided.Add(24 * time.Hour)},
	}
	switch state {
	case StateSucceeded:
		r.Execution = &Execution{Executor: "webhook", Status: StateSucceeded, Summary: "webhook: POST https://acme.okta.com/api/flo for RB-001 (password_reset) → HTTP 200"}
	case StateFailed:
		r.Execution = &Execution{Executor: "webhook", Status: StateFailed, Summary: "webhook: POST https://acme.okta.com/api/flo for RB-001 (password_reset) → webhook timed out after 30s", Error: "webhook timed out after 30s"}
	case StateDenied:
		r.Approval.Status, r.Approval.Note = "denied", ""
	case StateExpired:
		r.Approval.Status, r.Approval.DecidedBy, r.Approval.Note = "expired", "system", ""
	}
	return r
}

func TestGoldenComments(t *testing.T) {
	ref := auditRef{Seq: 17, Hash: "7dc5891d6406c53e6c617c2b07a7e946948e6bc3c452c0cc9b84d8e6088a1560"}
	for _, st := range []string{StateSucceeded, StateFailed, StateDenied, StateExpired} {
		golden(t, "comment-"+st+".txt", []byte(Comment(sampleRun(st), ref)))
	}
}

func TestGoldenCards(t *testing.T) {
	r := sampleRun(StatePending)
	req := ApprovalRequest{RunID: r.ID, ApprovalID: 7, Connection: r.Connection, IssueKey: r.IssueKey, IssueURL: r.Ticket.URL,
		Summary: r.Ticket.Summary + " <script>&", Reporter: r.Ticket.ReporterEmail, Intent: r.Intent, Runbook: r.Runbook, RunbookName: r.RunbookName,
		Confidence: r.Confidence, TargetUser: r.TargetUser, TargetFrom: "text:email", Inputs: r.Inputs, Expires: r.Approval.Expires,
		Evidence: []string{"password reset", "forgot", "<b>"},
		Links:    []DecisionLinks{{Approver: "carol@example.com", Approve: "https://sy.example.com/api/v1/approvals/7/link?token=a", Deny: "https://sy.example.com/api/v1/approvals/7/link?token=d"}}}
	b, _ := json.MarshalIndent(SlackBlocks(req), "", "  ")
	golden(t, "slack-blocks.json", append(b, '\n'))
	b, _ = json.MarshalIndent(TeamsCard(req), "", "  ")
	golden(t, "teams-card.json", append(b, '\n'))
}
