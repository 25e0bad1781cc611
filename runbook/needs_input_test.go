package runbook_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard"
	"switchyard/runbook"
)

// TestNeedsInput: a recognised request for someone else's account that names
// nobody waits as needs_input (no approval, nobody notified) instead of
// vanishing as no_action; bad inputs change nothing; the right input sends it
// on to approval with its notifications and audit records, exactly once, and
// the approved run executes on the supplied account.
func TestNeedsInput(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	ctx := context.Background()
	key := h.issueKeys()[0]
	res := h.ingest(h.ticket(key, "Password reset for a colleague", "My colleague forgot her password and cannot log in, please reset it.", reporter))
	run := res.Run
	if run.State != runbook.StateNeedsInput || run.Disposition != "needs_input" || run.Intent != "password_reset" || run.Approval != nil {
		t.Fatalf("ingest: state %s disposition %s intent %s approval %v", run.State, run.Disposition, run.Intent, run.Approval)
	}
	if len(run.Missing) != 1 || run.Missing[0] != "target_user" || !strings.Contains(run.Explanation, "someone else") {
		t.Fatalf("missing %v explanation %q", run.Missing, run.Explanation)
	}
	if run.TargetUser != "" {
		t.Fatalf("a request for someone else fell back to the reporter: %q", run.TargetUser)
	}
	waiting, err := h.svc.NeedsInput(ctx, 10)
	if err != nil || len(waiting) != 1 || waiting[0].ID != run.ID {
		t.Fatalf("NeedsInput = %v, %v", waiting, err)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(h.slack.requests("")); n != 0 {
		t.Fatalf("needs_input notified Slack %d times", n)
	}

	bad := []struct {
		name   string
		inputs map[string]string
		want   string
	}{
		{"empty", nil, "inputs"},
		{"not an email", map[string]string{"target_user": "jane doe"}, `"jane doe" is not an e-mail address`},
		{"not missing", map[string]string{"target_user": "jane.doe@example.com", "group": "vpn-users"}, `does not need "group"`},
		{"unknown", map[string]string{"boss": "x"}, `does not need "boss"`},
	}
	for _, b := range bad {
		if _, err := h.svc.SupplyInputs(ctx, run.ID, b.inputs); !errors.Is(err, switchyard.ErrInvalid) || !strings.Contains(err.Error(), b.want) {
			t.Errorf("%s: err = %v, want ErrInvalid containing %q", b.name, err, b.want)
		}
	}
	if got, _ := h.svc.Get(ctx, run.ID); got.State != runbook.StateNeedsInput || got.Approval != nil {
		t.Fatalf("bad input changed the run: %s %v", got.State, got.Approval)
	}
	if _, err := h.svc.SupplyInputs(ctx, 999999, map[string]string{"target_user": "a@b.test"}); !errors.Is(err, switchyard.ErrNotFound) {
		t.Fatalf("unknown run: err = %v, want ErrNotFound", err)
	}

	// Two agents at once: exactly one wins, the other is told it is taken.
	var wg sync.WaitGroup
	errs := make([]error, 2)
	runs := make([]runbook.Run, 2)
	for i := range errs {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			ctx := runbook.WithActor(ctx, "key:agent")
			runs[i], errs[i] = h.svc.SupplyInputs(ctx, run.ID, map[string]string{"target_user": " Jane.Doe@example.com "})
		}(i)
	}
	wg.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil:
			won = i
		case !errors.Is(err, switchyard.ErrConflict):
			t.Fatalf("agent %d: %v", i, err)
		}
	}
	if won < 0 || (errs[0] == nil) == (errs[1] == nil) {
		t.Fatalf("want exactly one winner, errs %v", errs)
	}
	got := runs[won]
	if got.State != runbook.StatePending || got.Approval == nil || got.TargetUser != "jane.doe@example.com" || len(got.Missing) != 0 {
		t.Fatalf("after supply: state %s approval %v target %q missing %v", got.State, got.Approval, got.TargetUser, got.Missing)
	}
	if src := got.Inputs[len(got.Inputs)-1].Source; src != "agent" {
		t.Fatalf("supplied input source %q, want agent", src)
	}
	if types := h.auditTypes(key); types["ingest"] != 1 || types["classify"] != 1 || types["input"] != 1 {
		t.Fatalf("audit %v", types)
	}
	if p, _ := h.svc.Approvals(ctx, "pending", 0, 10); len(p) != 1 || p[0].Run.ID != run.ID {
		t.Fatalf("pending approvals: %v", p)
	}
	h.waitRun(run.ID, "notified", func(r runbook.Run) bool {
		for _, n := range r.Notifications {
			if n.Notifier == "slack" && n.Delivered {
				return true
			}
		}
		return false
	})
	// The Slack and Teams cards name the words that decided the intent.
	for _, c := range []*capture{h.slack, h.teams} {
		var seen bool
		for deadline := time.Now().Add(10 * time.Second); !seen && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			for _, r := range c.requests("") {
				b, _ := json.Marshal(r.Body)
				if strings.Contains(string(b), "Intent decided by the words") && strings.Contains(string(b), "password reset") {
					seen = true
				}
			}
		}
		if !seen {
			t.Errorf("no card named the deciding words: %v", c.requests(""))
		}
	}
	if _, err := h.svc.Decide(ctx, got.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	done := h.waitRun(run.ID, "succeeded", func(r runbook.Run) bool { return r.State == runbook.StateSucceeded })
	if done.TargetUser != "jane.doe@example.com" {
		t.Fatalf("executed on %q", done.TargetUser)
	}
	if v := h.verifyChain(); !v.OK {
		t.Fatalf("audit chain: %+v", v)
	}
}
