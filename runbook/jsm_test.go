package runbook_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector"
	"switchyard/connector/jirasim"
	"switchyard/runbook"
)

// jsmKeys returns an issue key of the service desk and one of a plain project.
func jsmKeys(t *testing.T, h *harness) (request, plain string) {
	t.Helper()
	w := h.sim.World()
	w.RLock()
	defer w.RUnlock()
	for _, iss := range w.Issues {
		p := w.ProjectByID(iss.ProjectID)
		switch {
		case p.ServiceDesk != nil && request == "" && iss.StatusCategory != "done":
			request = iss.Key
		case p.ServiceDesk == nil && plain == "":
			plain = iss.Key
		}
	}
	if request == "" || plain == "" {
		t.Fatalf("world lacks a request (%q) or a plain issue (%q)", request, plain)
	}
	return request, plain
}

// replies are the customer replies Switchyard posted on key.
func (h *harness) replies(key string) []*jirasim.SimComment {
	w := h.sim.World()
	w.RLock()
	defer w.RUnlock()
	var out []*jirasim.SimComment
	for _, c := range w.IssueByKey(key).Comments {
		if _, ok := c.Properties[runbook.ReplyProperty]; ok {
			cp := *c
			out = append(out, &cp)
		}
	}
	return out
}

func (h *harness) approveAndWriteBack(key, decision string) runbook.Run {
	h.t.Helper()
	run := h.ingest(h.ticket(key, pwSummary, pwDesc, reporter)).Run
	h.waitRun(run.ID, "notifications", notified(2))
	if _, err := h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: decision, Approver: "carol@example.com"}); err != nil {
		h.t.Fatal(err)
	}
	return h.waitRun(run.ID, "write-back", writtenBack)
}

// TestWriteBackOnRequests: on a JSM request the decision comment is an
// internal note unless comment_visibility is public, a configured customer
// reply is posted once, and a plain issue gets a plain comment; a restart
// after the write-back posts nothing again.
func TestWriteBackOnRequests(t *testing.T) {
	gen := jirasim.GenerateOptions{Seed: 7, Projects: 2, Issues: 24}
	tests := []struct {
		name         string
		visibility   string
		replies      map[string]string
		plain        bool
		wantInternal bool
		wantReply    string
	}{
		{name: "internal by default", wantInternal: true},
		{name: "internal when configured", visibility: "internal", wantInternal: true},
		{name: "public when configured", visibility: "public"},
		{name: "customer reply", replies: map[string]string{runbook.LabelApproved: "Done: {key} was {decision}."}, wantInternal: true,
			wantReply: "was approved."},
		{name: "plain issue", plain: true, replies: map[string]string{runbook.LabelApproved: "never on plain issues"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarnessWorld(t, gen, func(o *runbook.Options) {
				o.CommentVisibility, o.CustomerReplies = tt.visibility, tt.replies
			})
			key, plain := jsmKeys(t, h)
			if tt.plain {
				key = plain
			}
			h.approveAndWriteBack(key, "approve")
			for round := 0; round < 2; round++ {
				ours, _ := h.comments(key)
				if len(ours) != 1 {
					t.Fatalf("round %d: %d decision comments, want exactly 1", round, len(ours))
				}
				if got := ours[0].Internal(); got != tt.wantInternal {
					t.Fatalf("decision comment internal = %v, want %v", got, tt.wantInternal)
				}
				if _, marked := ours[0].Properties[jirasim.PropPublicComment]; marked != tt.wantInternal {
					t.Fatalf("sd.public.comment set = %v, want %v (plain issues and public replies carry none)", marked, tt.wantInternal)
				}
				reps := h.replies(key)
				switch {
				case tt.wantReply == "" && len(reps) != 0:
					t.Fatalf("%d customer replies, want none", len(reps))
				case tt.wantReply != "" && len(reps) != 1:
					t.Fatalf("%d customer replies, want exactly 1", len(reps))
				case tt.wantReply != "":
					text := jirasim.ADFPlainText(reps[0].Body)
					if reps[0].Internal() || !strings.Contains(text, key+" "+tt.wantReply) {
						t.Fatalf("customer reply internal=%v text %q", reps[0].Internal(), text)
					}
				}
				h.restart()
				time.Sleep(100 * time.Millisecond)
			}
		})
	}
}

// TestNativeApprovalAnswered: a request waiting on JSM approvals; the one
// the connection's account may answer is answered with Switchyard's decision
// exactly once, the other stays pending for its own approver.
func TestNativeApprovalAnswered(t *testing.T) {
	for _, decision := range []string{"approve", "deny"} {
		t.Run(decision, func(t *testing.T) {
			h := newHarnessWorld(t, jirasim.GenerateOptions{Seed: 7, Projects: 2, Issues: 24}, nil)
			key, _ := jsmKeys(t, h)
			w := h.sim.World()
			admin := w.AdminAccountID()
			var other string
			for _, u := range w.State().Users {
				if u.AccountType == "atlassian" && u.Active && u.AccountID != admin {
					other = u.AccountID
					break
				}
			}
			mine, err := w.AddApproval("", key, "Manager approval", []string{admin, other})
			if err != nil {
				t.Fatal(err)
			}
			theirs, err := w.AddApproval("", key, "Finance approval", []string{other})
			if err != nil {
				t.Fatal(err)
			}
			r := h.approveAndWriteBack(key, decision)
			h.restart()
			time.Sleep(100 * time.Millisecond)
			want := map[string]string{"approve": "approved", "deny": "declined"}[decision]
			var got map[string]jirasim.StateApproval
			for _, is := range w.State().Issues {
				if is.Key == key {
					got = map[string]jirasim.StateApproval{}
					for _, a := range is.Approvals {
						got[a.ID] = a
					}
				}
			}
			if a := got[mine.ID]; a.FinalDecision != want || len(a.Answers) != 1 || a.Answers[admin] == "" {
				t.Fatalf("run %d (%s): the account's approval %+v, want %s answered once by the account", r.ID, r.State, a, want)
			}
			if a := got[theirs.ID]; a.FinalDecision != "pending" || len(a.Answers) != 0 {
				t.Fatalf("an approval the account may not answer was touched: %+v", a)
			}
		})
	}
}

// TestTransitionsCheckedAtStartup: a decision mapped to a target some
// project's workflow lacks is an error naming the decision, the project and
// the missing transition. A target may name a transition (whose name differs
// from its status, as JSM's "Resolve this issue" → Resolved) or a status a
// transition leads to, since the write-back takes either.
func TestTransitionsCheckedAtStartup(t *testing.T) {
	h := newHarnessWorld(t, jirasim.GenerateOptions{Seed: 7, Projects: 2, Issues: 24}, nil)
	ctx := context.Background()
	w := h.sim.World()
	var both, desks []switchyard.Project
	for _, key := range []string{"ITSM", "OPS"} {
		p := w.ProjectByKey(key)
		if p == nil {
			t.Fatalf("no project %s", key)
		}
		both = append(both, switchyard.Project{ID: p.ID, Key: p.Key})
		if p.ServiceDesk != nil {
			desks = append(desks, switchyard.Project{ID: p.ID, Key: p.Key})
		}
	}
	if len(desks) != 1 {
		t.Fatalf("want one service desk of ITSM and OPS, have %v", desks)
	}
	for _, tc := range []struct {
		name     string
		projects []switchyard.Project
		to       string
		missing  string // project named by the error; "" = accepted
	}{
		{"a status both workflows have", both, "in progress", ""},
		{"a status one workflow lacks", both, "Resolved", "OPS"},
		{"a transition name that differs from its status", desks, "Resolve this issue", ""},
		{"a transition name, case-insensitive", desks, "start WORK", ""},
		{"a transition name one workflow lacks", both, "Resolve this issue", "OPS"},
		{"no such transition", desks, "Escalate", desks[0].Key},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := runbook.CheckTransitions(ctx, h.jira, tc.projects, map[string]string{runbook.LabelApproved: tc.to})
			if tc.missing == "" {
				if err != nil {
					t.Fatalf("%q: %v", tc.to, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), "approvals.transitions.APPROVED") || !strings.Contains(err.Error(), "project "+tc.missing) ||
				!strings.Contains(err.Error(), `"`+tc.to+`"`) {
				t.Fatalf("err = %v; want one naming approvals.transitions.APPROVED, project %s and %q", err, tc.missing, tc.to)
			}
		})
	}
}

// TestWriteBackTransitionByName: a decision mapped to a transition whose
// name is not its status's passes the start-up check and is the transition
// the write-back takes: the check and the write-back agree.
func TestWriteBackTransitionByName(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) {
		o.Transitions = map[string]string{"APPROVED": "Resolve this issue"}
	})
	ctx := context.Background()
	w := h.sim.World()
	var key string
	var desk switchyard.Project
	for _, k := range h.issueKeys() {
		w.RLock()
		is := w.IssueByKey(k)
		p := w.ProjectByID(is.ProjectID)
		ok := p.ServiceDesk != nil && is.Status != "Resolved"
		if ok {
			key, desk = k, switchyard.Project{ID: p.ID, Key: p.Key}
		}
		w.RUnlock()
		if ok {
			break
		}
	}
	if key == "" {
		t.Fatal("no open request of a service desk")
	}
	if err := runbook.CheckTransitions(ctx, h.jira, []switchyard.Project{desk}, map[string]string{"APPROVED": "Resolve this issue"}); err != nil {
		t.Fatalf("start-up check: %v", err)
	}
	run := h.ingest(h.ticket(key, pwSummary, pwDesc, reporter)).Run
	if _, err := h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	r := h.waitRun(run.ID, "write-back", writtenBack)
	w.RLock()
	st := w.IssueByKey(key).Status
	w.RUnlock()
	if st != "Resolved" || r.WriteBack.Transition != "Resolve this issue → Resolved" {
		t.Fatalf("status %q, transition %q; want Resolved through \"Resolve this issue\"", st, r.WriteBack.Transition)
	}
}

// TestSIGKILLDuringWriteBackOnRequest: as TestSIGKILLDuringWriteBack, on a
// JSM request waiting on an approval of the account: after the kill and
// the restart, exactly one decision comment, an internal note, and the
// approval answered once.
func TestSIGKILLDuringWriteBackOnRequest(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	key := h.issueKeys()[3]
	w := h.sim.World()
	if p := w.ProjectByKey(strings.Split(key, "-")[0]); p == nil || p.ServiceDesk == nil {
		t.Fatalf("%s is not a request of a service desk", key)
	}
	ap, err := w.AddApproval("", key, "Manager approval", []string{w.AdminAccountID()})
	if err != nil {
		t.Fatal(err)
	}
	h.ticket(key, pwSummary, pwDesc, reporter) // Jira holds the helper's text, synced: its ingest needs no Jira call
	h.stop()
	if err := h.sim.SetKnobs(jirasim.Knobs{FaultRate: 1, Latency: 30 * time.Millisecond}); err != nil {
		t.Fatal(err)
	}
	runID := killHelperDuringWriteBack(t, h, key)
	h.sim.SetKnobs(jirasim.Knobs{})
	h.opts.Notifiers = nil
	h.openStore()
	h.start()
	h.waitRun(runID, "write-back after the restart", writtenBack)
	time.Sleep(100 * time.Millisecond)
	ours, _ := h.comments(key)
	if len(ours) != 1 || !ours[0].Internal() {
		t.Fatalf("%d decision comments (want 1, an internal note)", len(ours))
	}
	for _, is := range w.State().Issues {
		for _, a := range is.Approvals {
			if a.ID == ap.ID && (a.FinalDecision != "approved" || len(a.Answers) != 1) {
				t.Fatalf("approval after the restart: %+v, want approved once", a)
			}
		}
	}
}

// noAgent is the connection's client for an account that is no service desk
// agent: the servicedeskapi answers 403.
type noAgent struct{ *connector.Client }

func (noAgent) IsRequest(context.Context, string) (bool, error) {
	return false, &switchyard.Error{Kind: switchyard.ErrForbidden, Message: "GET /rest/servicedeskapi/request/X: 403"}
}

func (noAgent) Approvals(context.Context, string) ([]connector.Approval, error) {
	return nil, &switchyard.Error{Kind: switchyard.ErrForbidden, Message: "GET /rest/servicedeskapi/request/X/approval: 403"}
}

// TestWriteBackWhenNotAnAgent: when the account may not ask whether the
// issue is a request, the write-back still completes, once, with an internal
// note (a public comment might reach a customer) and no customer reply.
func TestWriteBackWhenNotAnAgent(t *testing.T) {
	h := newHarnessWorld(t, jirasim.GenerateOptions{Seed: 7, Projects: 2, Issues: 24}, nil)
	h.stop()
	h.opts.Jira = map[string]runbook.Jira{"sim": noAgent{h.jira}}
	h.opts.CustomerReplies = map[string]string{runbook.LabelApproved: "done"}
	h.openStore()
	h.start()
	key, _ := jsmKeys(t, h)
	h.approveAndWriteBack(key, "approve")
	ours, _ := h.comments(key)
	if len(ours) != 1 || !ours[0].Internal() || len(h.replies(key)) != 0 {
		t.Fatalf("%d decision comments (internal: %v), %d replies; want 1 internal, no reply", len(ours), len(ours) > 0 && ours[0].Internal(), len(h.replies(key)))
	}
}
