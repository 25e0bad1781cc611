package runbook_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"switchyard"
	"switchyard/runbook"
	"switchyard/store"
)

// visibleUser is an active simulator person with a visible e-mail who is
// not the issue's reporter.
func (h *harness) visibleUser(notAccount string) (accountID, email string) {
	h.t.Helper()
	w := h.sim.World()
	w.RLock()
	defer w.RUnlock()
	for _, u := range w.Users {
		if u.Email != "" && u.Active && u.AccountType == "atlassian" && u.AccountID != notAccount {
			return u.AccountID, u.Email
		}
	}
	h.t.Fatal("the simulator has no user with a visible e-mail")
	return "", ""
}

// TestDecisionClaimMustBeAuthenticated: a decision that names an approver
// other than the authenticated one is refused (403), audited, and changes
// nothing; naming the same person by another spelling is fine.
func TestDecisionClaimMustBeAuthenticated(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	keys := h.issueKeys()
	run := h.ingest(h.ticket(keys[0], pwSummary, pwDesc, reporter)).Run
	ctx := context.Background()
	_, err := h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com", Claimed: "dave@example.com"})
	if !errors.Is(err, switchyard.ErrForbidden) || !strings.Contains(err.Error(), "authenticated as carol@example.com") {
		t.Fatalf("claim of another approver: %v", err)
	}
	if r, _ := h.svc.Get(ctx, run.ID); r.State != runbook.StatePending || r.Approval.Status != store.ApprovalPending {
		t.Fatalf("a refused decision changed the run: %s %s", r.State, r.Approval.Status)
	}
	if n := h.auditTypes(run.IssueKey)["decision.refused"]; n != 1 {
		t.Fatalf("%d decision.refused records, want 1", n)
	}
	r, err := h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com", Claimed: "Carol@Example.com"})
	if err != nil || r.Approval.Status != store.ApprovalApproved || r.Approval.DecidedBy != "carol@example.com" {
		t.Fatalf("same person, other spelling: %+v %v", r.Approval, err)
	}
}

// TestSlackUserByVerifiedEmail: a Slack user not in approvals.slack_users
// decides as the synced Jira account with their verified Slack e-mail
// (users.info); an unverified e-mail, an e-mail no Jira user has, and an
// unknown Slack user are refused with a message saying why, and nothing
// changes.
func TestSlackUserByVerifiedEmail(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) { o.Approvers, o.SlackUsers = nil, nil })
	h.syncUsers()
	keys := h.issueKeys()
	run := h.ingest(h.ticket(keys[0], pwSummary, pwDesc, reporter)).Run
	id := run.Approval.ID
	account, email := h.visibleUser(h.simReporter(keys[0]))
	h.slack.setUser("UJANE", email, true)
	h.slack.setUser("UUNVER", email, false)
	h.slack.setUser("USTRANGER", "stranger@elsewhere.example", true)
	now := h.clk.now()
	for _, tc := range []struct{ user, want string }{
		{"UUNVER", "not verified"},
		{"USTRANGER", "no synced Jira user has its e-mail stranger@elsewhere.example"},
		{"UNOBODY", "user_not_found"},
	} {
		rep, err := slackPost(t, h, "slack-signing-secret", now, tc.user, "approve", id)
		got := rep.Text
		if err != nil {
			got = err.Error()
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want it to say %q", tc.user, got, tc.want)
		}
		if rep.Text != "" && !strings.HasPrefix(rep.Text, "Not recorded: your Slack account ("+tc.user+") is not linked to a Jira account") {
			t.Errorf("%s: the refusal %q does not say the account is unlinked", tc.user, rep.Text)
		}
	}
	if r, _ := h.svc.Get(context.Background(), run.ID); r.State != runbook.StatePending {
		t.Fatalf("refused Slack users changed the run: %s", r.State)
	}
	rep, err := slackPost(t, h, "slack-signing-secret", now.Add(time.Second), "UJANE", "approve", id)
	if err != nil || !strings.Contains(rep.Text, "APPROVED") {
		t.Fatalf("verified Slack user: %+v %v", rep, err)
	}
	if r, _ := h.svc.Get(context.Background(), run.ID); r.Approval.DecidedBy != account {
		t.Fatalf("decided by %q, want the Jira account %s", r.Approval.DecidedBy, account)
	}
}
