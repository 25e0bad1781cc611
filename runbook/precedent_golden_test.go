package runbook

import (
	"encoding/json"
	"testing"
)

// TestGoldenCardsPrecedent: the Slack and Teams cards of a request with
// precedent list each similar past ticket with its link and decision, or
// its Jira status when it never ran here.
func TestGoldenCardsPrecedent(t *testing.T) {
	r := sampleRun(StatePending)
	req := ApprovalRequest{RunID: r.ID, ApprovalID: 7, Connection: r.Connection, IssueKey: r.IssueKey, IssueURL: r.Ticket.URL,
		Summary: r.Ticket.Summary, Reporter: r.Ticket.ReporterEmail, Intent: r.Intent, Runbook: r.Runbook, RunbookName: r.RunbookName,
		Confidence: r.Confidence, TargetUser: r.TargetUser, TargetFrom: "text:email", Inputs: r.Inputs, Expires: r.Approval.Expires,
		ConsoleURL: "https://sy.example.com/console/approvals",
		Precedent: []Precedent{
			{Key: "ITSM-98", Title: "Password reset for <b>Okta</b> & VPN", URL: "https://acme.atlassian.net/browse/ITSM-98", Decision: "denied", By: "carol@example.com", Status: "Done"},
			{Key: "ITSM-77", Title: "Forgot my password", URL: "https://acme.atlassian.net/browse/ITSM-77", Decision: "no_action", Status: "Done"},
			{Key: "ITSM-12", Title: "Cannot log in", Status: "Waiting for customer"},
		}}
	b, _ := json.MarshalIndent(SlackBlocks(req), "", "  ")
	golden(t, "slack-blocks-precedent.json", append(b, '\n'))
	b, _ = json.MarshalIndent(TeamsCard(req), "", "  ")
	golden(t, "teams-card-precedent.json", append(b, '\n'))
}
