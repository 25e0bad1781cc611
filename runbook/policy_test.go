package runbook_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector/jirasim"
	"switchyard/runbook"
	"switchyard/store"
)

// syncIdentity copies Jira's users and groups (with members) into the
// store, as the identity sync does.
func (h *harness) syncIdentity() {
	h.t.Helper()
	h.syncUsers()
	ctx := context.Background()
	var groups []switchyard.Group
	if err := h.jira.Groups(ctx, func(gs []switchyard.Group) error { groups = append(groups, gs...); return nil }); err != nil {
		h.t.Fatal(err)
	}
	for i := range groups {
		m, err := h.jira.GroupMembers(ctx, groups[i].ID)
		if err != nil {
			h.t.Fatal(err)
		}
		groups[i].Members = m
	}
	if err := h.db.ReplaceGroups(ctx, "sim", groups); err != nil {
		h.t.Fatal(err)
	}
}

// people are new simulator persons (visible e-mails, no issues, no
// groups).
func (h *harness) people(n int) []*jirasim.SimUser {
	h.t.Helper()
	w := h.sim.World()
	var out []*jirasim.SimUser
	for i := 0; i < n; i++ {
		u, err := w.CreateUser("", jirasim.UserCreate{DisplayName: fmt.Sprintf("Approver %d", i), Email: fmt.Sprintf("approver%d@example.com", i)})
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, u)
	}
	return out
}

// group adds members to a small simulator group (0: finance, 1:
// network-team, one member each) and returns its name.
func (h *harness) group(i int, members ...*jirasim.SimUser) string {
	h.t.Helper()
	w := h.sim.World()
	w.RLock()
	var g *jirasim.SimGroup
	for _, x := range w.Groups {
		if x.Name == []string{"finance", "network-team"}[i] {
			g = x
		}
	}
	w.RUnlock()
	if g == nil {
		h.t.Fatal("the simulator has no finance or network-team group")
	}
	for _, m := range members {
		if err := w.AddGroupMember("", g.ID, m.AccountID); err != nil {
			h.t.Fatal(err)
		}
	}
	return g.Name
}

// twoSteps is a policy: step 1 any 1 of leads, step 2 any 1 of security.
func twoSteps(leads, security string) func(o *runbook.Options) {
	return func(o *runbook.Options) {
		o.Approvers = nil
		o.Policies = []runbook.Policy{{Name: "two-step", Steps: []runbook.Step{
			{Name: "helpdesk", Approvers: runbook.ApproverSet{Groups: []string{leads}}, Required: 1},
			{Name: "security", Approvers: runbook.ApproverSet{Groups: []string{security}}, Required: 1},
		}}}
	}
}

// TestTwoStepPolicy: step 1 needs a helpdesk lead, step 2 someone in
// security; a security member cannot fill step 1, a lead cannot fill both,
// the run is approved only after both, and the comment names every approver
// with the time.
func TestTwoStepPolicy(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	p := h.people(3)
	lead, sec, other := p[0], p[1], p[2]
	h.reconfigure(twoSteps(h.group(0, lead), h.group(1, sec)))
	h.syncIdentity()
	ctx := context.Background()
	key := h.issueKeys()[0]
	run := h.ingest(h.ticket(key, pwSummary, pwDesc, reporter)).Run
	if run.Policy == nil || run.Policy.Policy != "two-step" || run.Policy.Current != 1 {
		t.Fatalf("policy on the new run: %+v", run.Policy)
	}
	decide := func(who *jirasim.SimUser, d, reason string) (runbook.Run, error) {
		return h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: d, Approver: who.AccountID, Comment: reason})
	}
	if _, err := decide(sec, "approve", ""); !errors.Is(err, switchyard.ErrForbidden) || !strings.Contains(err.Error(), "step 1 (helpdesk)") {
		t.Fatalf("security member on step 1: %v", err)
	}
	if _, err := decide(other, "approve", ""); !errors.Is(err, switchyard.ErrForbidden) {
		t.Fatalf("nobody's approver: %v", err)
	}
	r, err := decide(lead, "approve", "")
	if err != nil || r.State != runbook.StatePending || r.Policy.Current != 2 || len(r.Policy.Steps[0].Decisions) != 1 || !r.Policy.Steps[0].Done {
		t.Fatalf("step 1: %+v %v", r.Policy, err)
	}
	if aw := strings.Join(r.Policy.Steps[1].Awaiting, ","); !strings.Contains(aw, sec.AccountID) {
		t.Fatalf("step 2 awaits %q, want %s", aw, sec.AccountID)
	}
	// The Slack card is updated in place with step 1's decider; Teams gets
	// a new card saying step 1 is done.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		upd := fmt.Sprint(h.slack.requests("/chat.update"))
		teams := fmt.Sprint(h.teams.requests(""))
		if strings.Contains(upd, "approved by "+lead.AccountID) && strings.Contains(teams, "Step 1 of 2 done") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no progress on the cards:\nslack updates: %.500s\nteams: %.300s", upd, teams)
		}
	}
	if _, err := decide(lead, "approve", ""); !errors.Is(err, switchyard.ErrConflict) || !strings.Contains(err.Error(), "one person fills one step") {
		t.Fatalf("the lead filling step 2 too: %v", err)
	}
	// Step 2's signed links go to the people it awaits, and decide as them.
	links, err := h.svc.DecisionLinks(ctx, run.ID)
	var secLink string
	for _, l := range links {
		if strings.Contains(l.Approver, lead.AccountID) {
			t.Fatalf("a step 2 link for the lead, who filled step 1: %+v", l)
		}
		if strings.Contains(l.Approver, sec.AccountID) {
			secLink = l.Approve
		}
	}
	if err != nil || secLink == "" {
		t.Fatalf("links for step 2: %+v %v", links, err)
	}
	u, _ := url.Parse(secLink)
	r, err = h.svc.DecideByLink(ctx, run.Approval.ID, u.Query().Get("token"), "")
	if err != nil || r.Approval.Status != store.ApprovalApproved || r.Approval.DecidedBy != sec.AccountID {
		t.Fatalf("step 2 by link: %+v %v", r.Approval, err)
	}
	r = h.waitRun(run.ID, "write-back", writtenBack)
	ours, _ := h.comments(key)
	if len(ours) != 1 {
		t.Fatalf("%d comments", len(ours))
	}
	body := string(ours[0].Body)
	for _, v := range []store.Vote{r.Policy.Steps[0].Decisions[0], r.Policy.Steps[1].Decisions[0]} {
		want := fmt.Sprintf("approved by %s at %s", v.Account, v.At.UTC().Format("2006-01-02T15:04:05.000Z"))
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q: %s", want, body)
		}
	}
	if n := h.auditTypes(key)["approval.step"]; n != 2 {
		t.Errorf("%d approval.step records, want 2", n)
	}
}

// TestPolicyDenyNeedsReason: a deny without a reason is refused; with one it
// ends the run at step 1, and the comment carries the reason. The target
// user may not decide.
func TestPolicyDenyNeedsReason(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	p := h.people(2)
	lead, lead2 := p[0], p[1]
	h.reconfigure(twoSteps(h.group(0, lead, lead2), h.group(1)))
	h.syncIdentity()
	ctx := context.Background()
	key := h.issueKeys()[1]
	run := h.ingest(h.ticket(key, pwSummary, "Please reset the password for "+lead2.Email+", they forgot it.", reporter)).Run
	if _, err := h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "approve", Approver: lead2.AccountID}); !errors.Is(err, switchyard.ErrForbidden) || !strings.Contains(err.Error(), "target user") {
		t.Fatalf("the target approving: %v", err)
	}
	if _, err := h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "deny", Approver: lead.AccountID}); !errors.Is(err, switchyard.ErrInvalid) || !strings.Contains(err.Error(), "reason is required") {
		t.Fatalf("deny without a reason: %v", err)
	}
	if r, _ := h.svc.Get(ctx, run.ID); r.State != runbook.StatePending {
		t.Fatalf("refusals changed the run: %s", r.State)
	}
	r, err := h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "deny", Approver: lead.AccountID, Comment: "not a verified request"})
	if err != nil || r.Approval.Status != store.ApprovalDenied {
		t.Fatalf("deny: %+v %v", r.Approval, err)
	}
	h.waitRun(run.ID, "write-back", writtenBack)
	ours, _ := h.comments(key)
	if len(ours) != 1 || !strings.Contains(string(ours[0].Body), "DENIED by "+lead.AccountID) || !strings.Contains(string(ours[0].Body), "reason: not a verified request") {
		t.Fatalf("comment: %v", ours)
	}
}

// TestPolicyConcurrentVotes: many eligible people approve one step (2 of
// them needed, one step) at once: exactly two votes count, the request is
// approved once, every other attempt is a conflict.
func TestPolicyConcurrentVotes(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	p := h.people(6)
	leads := h.group(0, p...)
	h.reconfigure(func(o *runbook.Options) {
		o.Approvers = nil
		o.Policies = []runbook.Policy{{Name: "pair", Steps: []runbook.Step{{Name: "leads", Approvers: runbook.ApproverSet{Groups: []string{leads}}, Required: 2}}}}
	})
	h.syncIdentity()
	run := h.ingest(h.ticket(h.issueKeys()[2], pwSummary, pwDesc, reporter)).Run
	var wg sync.WaitGroup
	errs := make([]error, len(p))
	for i, u := range p {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: "approve", Approver: u.AccountID})
		}()
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case !errors.Is(err, switchyard.ErrConflict):
			t.Errorf("unexpected error: %v", err)
		}
	}
	votes, err := h.db.Votes(context.Background(), run.Approval.ID)
	if err != nil || ok != 2 || len(votes) != 2 {
		t.Fatalf("%d accepted, %d votes (%v), want 2 and 2", ok, len(votes), err)
	}
	r, _ := h.svc.Get(context.Background(), run.ID)
	if r.Approval.Status != store.ApprovalApproved || h.auditTypes(r.IssueKey)["decision"] != 1 {
		t.Fatalf("approval %s with %d decision records", r.Approval.Status, h.auditTypes(r.IssueKey)["decision"])
	}
}

// TestRemindersAndEscalation: with a fake clock, nothing happens before
// remind_after; then one reminder card; after escalate_after one escalation
// card, and only then may the fallback approver decide the step.
func TestRemindersAndEscalation(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	p := h.people(3)
	lead, fb := p[0], p[2]
	pol := twoSteps(h.group(0, lead), h.group(1, p[1]))
	h.syncIdentity()
	h.reconfigure(func(o *runbook.Options) {
		pol(o)
		o.SlackUsers = map[string]string{"ULEAD": lead.Email}
		o.Policies[0].RemindAfter, o.Policies[0].EscalateAfter = time.Hour, 2*time.Hour
		o.Policies[0].Fallback = runbook.ApproverSet{Users: []string{fb.Email}}
		o.PollInterval = time.Hour // the test drives the checks
	})
	ctx := context.Background()
	run := h.ingest(h.ticket(h.issueKeys()[3], pwSummary, pwDesc, reporter)).Run
	cards := func(prefix string) int {
		n := 0
		for _, c := range h.slack.cards() {
			if strings.HasPrefix(fmt.Sprint(c.Body["text"]), "Approval needed") && strings.Contains(fmt.Sprint(c.Body["blocks"]), prefix) {
				n++
			}
		}
		return n
	}
	wait := func(what string, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	h.clk.advance(59 * time.Minute)
	if err := h.svc.ChaseNow(ctx); err != nil {
		t.Fatal(err)
	}
	if n := h.auditTypes(run.IssueKey)["approval.reminder"]; n != 0 {
		t.Fatalf("a reminder before remind_after")
	}
	h.clk.advance(2 * time.Minute)
	h.svc.ChaseNow(ctx)
	h.svc.ChaseNow(ctx) // once only
	wait("the reminder card", func() bool { return cards("Reminder: approval needed") == 1 })
	if n := cards("Waiting for <@ULEAD> (step 1, helpdesk)"); n != 1 {
		t.Fatalf("the reminder does not mention the step's approver: %d", n)
	}
	if n := h.auditTypes(run.IssueKey)["approval.reminder"]; n != 1 {
		t.Fatalf("%d reminder records", n)
	}
	// Not escalated yet: the fallback may not decide.
	if _, err := h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "approve", Approver: fb.AccountID}); !errors.Is(err, switchyard.ErrForbidden) {
		t.Fatalf("fallback before escalation: %v", err)
	}
	h.clk.advance(time.Hour)
	h.svc.ChaseNow(ctx)
	wait("the escalation card", func() bool { return cards("Escalated: approval needed") == 1 })
	r, err := h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "approve", Approver: fb.AccountID})
	if err != nil || r.Policy.Current != 2 || r.Policy.Steps[0].EscalatedAt == nil {
		t.Fatalf("fallback after escalation: %+v %v", r.Policy, err)
	}
	if n := h.auditTypes(run.IssueKey)["approval.escalation"]; n != 1 {
		t.Fatalf("%d escalation records", n)
	}
	_ = lead
}

// TestRemindersWithRealTimers: the Run loop reminds and escalates on its
// own at the configured (short) times.
func TestRemindersWithRealTimers(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	p := h.people(2)
	pol := twoSteps(h.group(0, p[0]), h.group(1))
	h.syncIdentity()
	h.reconfigure(func(o *runbook.Options) {
		pol(o)
		o.Policies[0].RemindAfter, o.Policies[0].EscalateAfter = 300*time.Millisecond, 700*time.Millisecond
		o.Policies[0].Fallback = runbook.ApproverSet{Users: []string{p[1].Email}}
	})
	start := time.Now()
	run := h.ingest(h.ticket(h.issueKeys()[4], pwSummary, pwDesc, reporter)).Run
	deadline := time.Now().Add(10 * time.Second)
	var remindAt, escalateAt time.Time
	for (remindAt.IsZero() || escalateAt.IsZero()) && time.Now().Before(deadline) {
		r, _ := h.svc.Get(context.Background(), run.ID)
		if st := r.Policy.Steps[0]; st.RemindedAt != nil && remindAt.IsZero() {
			remindAt = *st.RemindedAt
		}
		if st := r.Policy.Steps[0]; st.EscalatedAt != nil && escalateAt.IsZero() {
			escalateAt = *st.EscalatedAt
		}
		time.Sleep(20 * time.Millisecond)
	}
	if remindAt.IsZero() || escalateAt.IsZero() {
		t.Fatalf("reminded %v, escalated %v", remindAt, escalateAt)
	}
	if d := remindAt.Sub(start); d < 300*time.Millisecond {
		t.Errorf("reminded after %s, before remind_after", d)
	}
	if d := escalateAt.Sub(start); d < 700*time.Millisecond {
		t.Errorf("escalated after %s, before escalate_after", d)
	}
}

// TestDelegation: an approver delegates to someone outside the set, who then
// decides the step for them; the delegator cannot fill another step after;
// a cycle is refused; all is audited.
func TestDelegation(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	p := h.people(3)
	lead, deputy, sec := p[0], p[1], p[2]
	h.reconfigure(twoSteps(h.group(0, lead), h.group(1, sec, lead)))
	h.syncIdentity()
	ctx := context.Background()
	if _, err := h.svc.Delegate(ctx, lead.AccountID, deputy.Email, time.Time{}, h.clk.now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Delegate(ctx, deputy.AccountID, lead.AccountID, time.Time{}, h.clk.now().Add(time.Hour)); !errors.Is(err, switchyard.ErrConflict) || !strings.Contains(err.Error(), "cycle") {
		t.Fatalf("a delegation cycle: %v", err)
	}
	run := h.ingest(h.ticket(h.issueKeys()[5], pwSummary, pwDesc, reporter)).Run
	r, err := h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "approve", Approver: deputy.AccountID})
	if err != nil || r.Policy.Current != 2 || r.Policy.Steps[0].Decisions[0].OnBehalfOf != lead.AccountID {
		t.Fatalf("the deputy for the lead: %+v %v", r.Policy, err)
	}
	// The lead is in security too, but their part was already used.
	if _, err := h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "approve", Approver: lead.AccountID}); !errors.Is(err, switchyard.ErrConflict) {
		t.Fatalf("the lead after their delegate: %v", err)
	}
	if n := h.auditTypes("delegation")["approval.delegation"]; n != 1 {
		t.Fatalf("%d delegation records", n)
	}
}

// TestIngesterCannotApprove: the person whose key ingested a ticket cannot
// approve it, even when in the step's group.
func TestIngesterCannotApprove(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	p := h.people(2)
	h.reconfigure(twoSteps(h.group(0, p[0], p[1]), h.group(1)))
	h.syncIdentity()
	ctx := runbook.WithPerson(runbook.WithActor(context.Background(), "key:ingest"), p[0].AccountID)
	res, err := h.svc.Ingest(ctx, "", h.ticket(h.issueKeys()[6], pwSummary, pwDesc, reporter))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Decide(context.Background(), res.Run.Approval.ID, runbook.Decision{Decision: "approve", Approver: p[0].AccountID}); !errors.Is(err, switchyard.ErrForbidden) || !strings.Contains(err.Error(), "ingested") {
		t.Fatalf("the ingester approving: %v", err)
	}
	if _, err := h.svc.Decide(context.Background(), res.Run.Approval.ID, runbook.Decision{Decision: "approve", Approver: p[1].AccountID}); err != nil {
		t.Fatalf("another lead: %v", err)
	}
}

// TestCheckPolicies: a group or a project role the synced identity does
// not know is an error naming the key; before any identity sync nothing
// can be told.
func TestCheckPolicies(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	h.reconfigure(func(o *runbook.Options) {
		o.PrivilegedGroups = []string{"jira-administrators"}
		o.Policies = []runbook.Policy{{Name: "p", Steps: []runbook.Step{
			{Approvers: runbook.ApproverSet{Groups: []string{"finance", "no-such-group"}}},
			{Approvers: runbook.ApproverSet{Roles: []runbook.RoleRef{{Project: "ITSM", Role: "Nonexistent"}}}},
		}}}
	})
	if err := h.svc.CheckPolicies(context.Background()); err != nil {
		t.Fatalf("before an identity sync: %v", err)
	}
	h.syncIdentity()
	ctx := context.Background()
	var projects []switchyard.Project
	if err := h.jira.Projects(ctx, func(ps []switchyard.Project) error { projects = append(projects, ps...); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := h.db.ReplaceProjects(ctx, "sim", projects); err != nil {
		t.Fatal(err)
	}
	err := h.svc.CheckPolicies(ctx)
	for _, want := range []string{`approvals.policies[0].steps[0].approvers.groups[1]: no synced Jira group "no-such-group"`, `approvals.policies[0].steps[1].approvers.roles[0]: project ITSM has no synced role "Nonexistent"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%v, want %q", err, want)
		}
	}
	if strings.Contains(fmt.Sprint(err), "finance") || strings.Contains(fmt.Sprint(err), "jira-administrators") {
		t.Errorf("a known group was reported: %v", err)
	}
}

// TestPrivilegedTargetRaisesTier: a target in a privileged group gets the
// privileged policy; others the normal one.
func TestPrivilegedTargetRaisesTier(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	p := h.people(2)
	admins := h.group(0, p[0])
	leads := h.group(1, p[1])
	h.reconfigure(func(o *runbook.Options) {
		o.Approvers, o.PrivilegedGroups = nil, []string{admins}
		o.Policies = []runbook.Policy{
			{Name: "admin-reset", Risk: runbook.RiskPrivileged, Steps: []runbook.Step{{Approvers: runbook.ApproverSet{Groups: []string{leads}}}, {Approvers: runbook.ApproverSet{Users: []string{"ciso@example.com"}}}}},
			{Name: "reset", Steps: []runbook.Step{{Approvers: runbook.ApproverSet{Groups: []string{leads}}}}},
		}
	})
	h.syncIdentity()
	keys := h.issueKeys()
	priv := h.ingest(h.ticket(keys[7], pwSummary, "Please reset the password for "+p[0].Email+".", reporter)).Run
	norm := h.ingest(h.ticket(keys[8], pwSummary, pwDesc, reporter)).Run
	if priv.Policy == nil || priv.Policy.Policy != "admin-reset" || priv.Policy.Risk != runbook.RiskPrivileged || len(priv.Policy.Steps) != 2 {
		t.Fatalf("privileged target: %+v", priv.Policy)
	}
	if norm.Policy == nil || norm.Policy.Policy != "reset" || norm.Policy.Risk != runbook.RiskNormal {
		t.Fatalf("normal target: %+v", norm.Policy)
	}
}

// TestCardsShowPolicy: the Slack and Teams cards carry the policy lines:
// who decided a step and who the next one awaits.
func TestCardsShowPolicy(t *testing.T) {
	at := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	req := runbook.ApprovalRequest{IssueKey: "ITSM-1", Summary: "reset", Policy: &runbook.PolicyStatus{Policy: "admin-reset", Risk: "privileged", Current: 2, Steps: []runbook.StepStatus{
		{Name: "helpdesk", Required: 1, Approvers: "group helpdesk-leads", Done: true, Decisions: []store.Vote{{Account: "acc-lead", Decision: "approve", At: at}}},
		{Name: "security", Required: 1, Approvers: "group security", Awaiting: []string{"Sam Sec (acc-sec)"}},
	}}}
	want := []string{"Policy admin-reset (risk privileged)", "Step 1 helpdesk (1 of group helpdesk-leads): approved by acc-lead at 2026-12-03T09:00:00.000Z", "Step 2 security (1 of group security): awaiting Sam Sec (acc-sec)"}
	slack := fmt.Sprint(runbook.SlackBlocks(req))
	teams := fmt.Sprint(runbook.TeamsCard(req))
	for _, w := range want {
		if !strings.Contains(slack, w) || !strings.Contains(teams, w) {
			t.Errorf("a card lacks %q\nslack: %s\nteams: %s", w, slack, teams)
		}
	}
}

// TestNeedsInputRunGetsItsPolicy: a run that waited for its target is
// given its policy when the input arrives, and whoever ingested it may not
// approve it then either.
func TestNeedsInputRunGetsItsPolicy(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	p := h.people(2)
	lead, sec := p[0], p[1]
	h.reconfigure(twoSteps(h.group(0, lead), h.group(1, sec)))
	h.syncIdentity()
	ctx := context.Background()
	key := h.issueKeys()[0]
	ingestCtx := runbook.WithActor(ctx, "key:agent-1")
	res, err := h.svc.Ingest(ingestCtx, "sim", h.ticket(key, "Password reset for a colleague", "My colleague forgot her password and cannot log in, please reset it.", reporter))
	if err != nil || res.Run.State != runbook.StateNeedsInput {
		t.Fatalf("ingest: %+v %v", res.Run, err)
	}
	r, err := h.svc.SupplyInputs(ctx, res.Run.ID, map[string]string{"target_user": "jane.doe@example.com"})
	if err != nil || r.State != runbook.StatePending {
		t.Fatalf("supply: %+v %v", r, err)
	}
	got, err := h.svc.Get(ctx, r.ID)
	if err != nil || got.Policy == nil || got.Policy.Policy != "two-step" || got.Policy.Current != 1 {
		t.Fatalf("policy once the input arrived: %+v %v", got.Policy, err)
	}
	if _, err := h.svc.Decide(ctx, got.Approval.ID, runbook.Decision{Decision: "approve", Approver: sec.AccountID}); !errors.Is(err, switchyard.ErrForbidden) {
		t.Fatalf("a security member filled step 1 of a supplied run: %v", err)
	}
}
