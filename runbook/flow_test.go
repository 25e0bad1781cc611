package runbook_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard"
	"switchyard/runbook"
)

var msTime = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z`)

const (
	pwSummary = "Password reset needed"
	pwDesc    = "Please reset the password for jane.doe@example.com, she forgot it."
	reporter  = "bob@example.com"
)

// TestDecisionsWriteBack: ingest → card → decision → (execution) → exactly
// one comment with the documented content, for each decision, on Cloud (ADF)
// and Data Center (wiki).
func TestDecisionsWriteBack(t *testing.T) {
	for _, mode := range []switchyard.Mode{switchyard.ModeCloud, switchyard.ModeDataCenter} {
		t.Run(string(mode), func(t *testing.T) {
			h := newHarness(t, mode, nil)
			keys := h.issueKeys()
			cases := []struct {
				name     string
				decide   func(approval int64) error
				state    string
				want     []string
				wantNot  []string
				decidedB string
			}{
				{"approve", func(id int64) error {
					_, err := h.svc.Decide(context.Background(), id, runbook.Decision{Decision: "approve", Approver: "carol@example.com", Comment: "ok, verified by phone"})
					return err
				}, runbook.StateSucceeded, []string{"Switchyard: APPROVED", "RB-001", "jane.doe@example.com", "text:email", "carol@example.com", "sandbox", "verified by phone"}, []string{"No changes were made"}, "carol@example.com"},
				{"deny", func(id int64) error {
					_, err := h.svc.Decide(context.Background(), id, runbook.Decision{Decision: "deny", Approver: "dave@example.com"})
					return err
				}, runbook.StateDenied, []string{"Switchyard: DENIED", "RB-001", "jane.doe@example.com", "dave@example.com", "No changes were made"}, []string{"sandbox:"}, "dave@example.com"},
				{"expire", func(id int64) error {
					h.clk.advance(25 * time.Hour)
					return h.svc.ExpireNow(context.Background())
				}, runbook.StateExpired, []string{"Switchyard: EXPIRED", "RB-001", "jane.doe@example.com", "No changes were made", "request expired"}, nil, "system"},
			}
			for i, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					key := keys[i]
					_, before := h.comments(key)
					res := h.ingest(h.ticket(key, pwSummary, pwDesc, reporter))
					run := res.Run
					if !res.Created || run.State != runbook.StatePending || run.Intent != "password_reset" || run.Runbook != "RB-001" || run.Approval == nil {
						t.Fatalf("ingest: %+v", res)
					}
					if run.TargetUser != "jane.doe@example.com" {
						t.Fatalf("target user %q", run.TargetUser)
					}
					h.waitRun(run.ID, "notifications", notified(2))
					if err := tc.decide(run.Approval.ID); err != nil {
						t.Fatal(err)
					}
					run = h.waitRun(run.ID, "write-back", writtenBack)
					if run.State != tc.state {
						t.Fatalf("state %s, want %s", run.State, tc.state)
					}
					if run.Approval.DecidedBy != tc.decidedB {
						t.Fatalf("decided by %q", run.Approval.DecidedBy)
					}
					ours, total := h.comments(key)
					if len(ours) != 1 || total != before+1 {
						t.Fatalf("want exactly one new comment, got %d ours, %d → %d total", len(ours), before, total)
					}
					body := string(ours[0].Body)
					// Cloud gets ADF (bold is a strong mark); Data Center gets wiki
					// markup (bold is *…*), which the simulator keeps as text.
					if mode == switchyard.ModeCloud && (!strings.Contains(body, `"type":"doc"`) || !strings.Contains(body, `"type":"strong"`)) {
						t.Fatalf("cloud comment is not ADF: %s", body)
					}
					if mode == switchyard.ModeDataCenter && !strings.Contains(body, `*Switchyard: `) {
						t.Fatalf("data center comment is not wiki markup: %s", body)
					}
					for _, w := range append(tc.want, "Audit: record #", "Run: ") {
						if !strings.Contains(body, w) {
							t.Errorf("comment lacks %q:\n%s", w, body)
						}
					}
					for _, w := range tc.wantNot {
						if strings.Contains(body, w) {
							t.Errorf("comment has %q:\n%s", w, body)
						}
					}
					if !msTime.MatchString(body) {
						t.Errorf("comment has no UTC millisecond time:\n%s", body)
					}
					if run.WriteBack.CommentID != ours[0].ID {
						t.Errorf("run records comment %q, Jira has %q", run.WriteBack.CommentID, ours[0].ID)
					}
					types := h.auditTypes(key)
					for _, typ := range []string{"ingest", "classify", "notify", "decision", "writeback"} {
						if types[typ] == 0 {
							t.Errorf("no %s audit record for %s: %v", typ, key, types)
						}
					}
					if tc.state == runbook.StateSucceeded && types["execute"] != 1 {
						t.Errorf("want one execute record, got %v", types)
					}
					if tc.state != runbook.StateSucceeded && types["execute"] != 0 {
						t.Errorf("a %s run executed: %v", tc.state, types)
					}
				})
			}
			// One card per request on Slack (plus its threaded note), one on Teams.
			if n := len(h.slack.cards()); n != len(cases) {
				t.Errorf("%d Slack cards for %d requests", n, len(cases))
			}
			if n := len(h.teams.requests("")); n != len(cases) {
				t.Errorf("%d Teams cards for %d requests", n, len(cases))
			}
			h.verifyChain()
		})
	}
}

// TestIngestOnce: 100 concurrent identical ingests make one run, one card,
// one comment; a retry returns the original; a different body is a conflict.
func TestIngestOnce(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	key := h.issueKeys()[0]
	tk := h.ticket(key, pwSummary, pwDesc, reporter)
	var wg sync.WaitGroup
	results := make([]runbook.IngestResult, 100)
	errs := make([]error, 100)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = h.svc.Ingest(context.Background(), "sim", tk)
		}()
	}
	wg.Wait()
	created := 0
	for i, r := range results {
		if errs[i] != nil {
			t.Fatalf("ingest %d: %v", i, errs[i])
		}
		if r.Created {
			created++
		}
		if r.Run.ID != results[0].Run.ID {
			t.Fatalf("two runs: %d and %d", r.Run.ID, results[0].Run.ID)
		}
	}
	if created != 1 {
		t.Fatalf("%d ingests created a run", created)
	}
	runs, err := h.db.TicketRuns(context.Background(), "", 0)
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %d %v", len(runs), err)
	}
	id := results[0].Run.ID
	run := h.waitRun(id, "notifications", notified(2))
	if _, err := h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	h.waitRun(id, "write-back", writtenBack)
	// A retry after everything happened is still the same run.
	again := h.ingest(tk)
	if again.Created || again.Run.ID != id || again.Run.State != runbook.StateSucceeded {
		t.Fatalf("retry: %+v", again)
	}
	time.Sleep(100 * time.Millisecond) // give stray work a chance to show
	if n := len(h.slack.cards()); n != 1 {
		t.Errorf("%d Slack cards", n)
	}
	if n := len(h.teams.requests("")); n != 1 {
		t.Errorf("%d Teams cards", n)
	}
	if ours, _ := h.comments(key); len(ours) != 1 {
		t.Errorf("%d comments", len(ours))
	}
	if types := h.auditTypes(key); types["ingest"] != 1 || types["classify"] != 1 {
		t.Errorf("audit: %v", types)
	}
	// A different body for the same issue.
	other := tk
	other.Description += " Also her MFA."
	_, err = h.svc.Ingest(context.Background(), "sim", other)
	if !errors.Is(err, switchyard.ErrConflict) || !strings.Contains(err.Error(), "different body") || !strings.Contains(err.Error(), key) {
		t.Fatalf("different body: %v", err)
	}
}

func TestIngestValidation(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	good := h.ticket("ITSM-1", "Password reset", "", "")
	cases := []struct {
		field string
		mod   func(*runbook.Ticket)
	}{
		{"source", func(t *runbook.Ticket) { t.Source = "" }},
		{"source", func(t *runbook.Ticket) { t.Source = "Jira Cloud!" }},
		{"ticket.issueKey", func(t *runbook.Ticket) { t.IssueKey = "" }},
		{"ticket.issueKey", func(t *runbook.Ticket) { t.IssueKey = "itsm 1; drop" }},
		{"ticket.summary", func(t *runbook.Ticket) { t.Summary = "  " }},
		{"ticket.summary", func(t *runbook.Ticket) { t.Summary = strings.Repeat("x", 256) }},
		{"ticket.url", func(t *runbook.Ticket) { t.URL = "javascript:alert(1)" }},
		{"ticket.reporterEmail", func(t *runbook.Ticket) { t.ReporterEmail = "not an email" }},
	}
	for _, tc := range cases {
		tk := good
		tc.mod(&tk)
		_, err := h.svc.Ingest(context.Background(), "sim", tk)
		var se *switchyard.Error
		if !errors.Is(err, switchyard.ErrInvalid) || !errors.As(err, &se) || se.Field != tc.field {
			t.Errorf("%+v: got %v, want an invalid %s", tk, err, tc.field)
		}
	}
	if runs, _ := h.db.TicketRuns(context.Background(), "", 0); len(runs) != 0 {
		t.Fatalf("bad input created %d runs", len(runs))
	}
}

// TestNoAction: an unrecognised ticket is recorded and audited with its
// reason, and nobody is asked.
func TestNoAction(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	key := h.issueKeys()[0]
	res := h.ingest(h.ticket(key, "Lunch menu for friday", "Is there pizza?", reporter))
	if res.Run.State != runbook.StateNoAction || res.Run.Disposition != "no_action" || res.Run.Reason == "" || res.Run.Approval != nil {
		t.Fatalf("%+v", res.Run)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(h.slack.requests("")); n != 0 {
		t.Fatalf("no_action notified Slack %d times", n)
	}
	if types := h.auditTypes(key); types["ingest"] != 1 || types["classify"] != 1 {
		t.Fatalf("audit %v", types)
	}
	if p, _ := h.svc.Approvals(context.Background(), "pending", 0, 10); len(p) != 0 {
		t.Fatalf("pending: %d", len(p))
	}
}

// TestDecisionRules: self-approval and non-approvers refused (and audited),
// concurrent approve and deny yield one decision.
func TestDecisionRules(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	keys := h.issueKeys()
	ctx := context.Background()
	run := h.ingest(h.ticket(keys[0], pwSummary, pwDesc, "carol@example.com")).Run
	// carol is an approver but reported this one.
	_, err := h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "Carol@Example.com"})
	if !errors.Is(err, switchyard.ErrForbidden) || !strings.Contains(err.Error(), "own request") {
		t.Fatalf("self-approval: %v", err)
	}
	_, err = h.svc.Decide(ctx, run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "mallory@example.com"})
	if !errors.Is(err, switchyard.ErrForbidden) || !strings.Contains(err.Error(), "not a configured approver") {
		t.Fatalf("non-approver: %v", err)
	}
	for _, d := range []runbook.Decision{{Decision: "maybe", Approver: "dave@example.com"}, {Decision: "approve"}} {
		var se *switchyard.Error
		if _, err := h.svc.Decide(ctx, run.Approval.ID, d); !errors.Is(err, switchyard.ErrInvalid) || !errors.As(err, &se) || se.Field == "" {
			t.Fatalf("bad decision %+v: %v", d, err)
		}
	}
	if r, _ := h.svc.Get(ctx, run.ID); r.State != runbook.StatePending {
		t.Fatalf("refused decisions changed the run: %s", r.State)
	}
	if types := h.auditTypes(keys[0]); types["decision.refused"] != 2 {
		t.Fatalf("refusals not audited: %v", types)
	}

	// Concurrent approve and deny, many times over.
	for i := 1; i < 6; i++ {
		run := h.ingest(h.ticket(keys[i], pwSummary, pwDesc, reporter)).Run
		var wg sync.WaitGroup
		errs := make([]error, 10)
		for j := range errs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				d := runbook.Decision{Decision: "approve", Approver: "carol@example.com"}
				if j%2 == 1 {
					d = runbook.Decision{Decision: "deny", Approver: "dave@example.com"}
				}
				_, errs[j] = h.svc.Decide(ctx, run.Approval.ID, d)
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, switchyard.ErrConflict) || !strings.Contains(err.Error(), "already"):
				t.Fatalf("loser: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d decisions won", won)
		}
		r := h.waitRun(run.ID, "write-back", writtenBack)
		if ours, _ := h.comments(keys[i]); len(ours) != 1 {
			t.Fatalf("%d comments", len(ours))
		}
		if types := h.auditTypes(keys[i]); types["decision"] != 1 || (r.State == runbook.StateSucceeded) != (types["execute"] == 1) {
			t.Fatalf("state %s, audit %v", r.State, types)
		}
	}
	h.verifyChain()
}

// TestLateDecision: a decision after the expiry finds the request expired.
func TestLateDecision(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) { o.Expiry = time.Hour; o.PollInterval = time.Hour })
	key := h.issueKeys()[0]
	run := h.ingest(h.ticket(key, pwSummary, pwDesc, reporter)).Run
	if got := run.Approval.Expires.Sub(run.Created); got < 59*time.Minute || got > 61*time.Minute {
		t.Fatalf("expiry %s after creation", got)
	}
	h.clk.advance(2 * time.Hour)
	_, err := h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"})
	if !errors.Is(err, switchyard.ErrConflict) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("late approval: %v", err)
	}
	r, _ := h.svc.Get(context.Background(), run.ID)
	if r.State != runbook.StateExpired || r.Execution != nil {
		t.Fatalf("state %s, execution %+v", r.State, r.Execution)
	}
}

func TestIngestUnknownConnection(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	_, err := h.svc.Ingest(context.Background(), "nope", h.ticket("ITSM-1", pwSummary, pwDesc, reporter))
	var se *switchyard.Error
	if !errors.As(err, &se) || se.Field != "connection" {
		t.Fatalf("unknown connection: %v", err)
	}
}

// TestStatusTransition: after the comment, the issue moves per the
// configured mapping (and an issue already there is left alone).
func TestStatusTransition(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) {
		o.Transitions = map[string]string{"APPROVED": "Resolved", "DENIED": "Closed"}
	})
	status := func(key string) string {
		w := h.sim.World()
		w.RLock()
		defer w.RUnlock()
		return w.IssueByKey(key).Status
	}
	var keys []string // issues not yet in either target status
	for _, k := range h.issueKeys() {
		if st := status(k); st != "Resolved" && st != "Closed" {
			keys = append(keys, k)
		}
	}
	for i, d := range []string{"approve", "deny"} {
		run := h.ingest(h.ticket(keys[i], pwSummary, pwDesc, reporter)).Run
		if _, err := h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: d, Approver: "carol@example.com"}); err != nil {
			t.Fatal(err)
		}
		r := h.waitRun(run.ID, "write-back", writtenBack)
		want := map[string]string{"approve": "Resolved", "deny": "Closed"}[d]
		if got := status(keys[i]); got != want || r.WriteBack.Transition == "" {
			t.Fatalf("%s: status %q, want %q (transition %q)", d, got, want, r.WriteBack.Transition)
		}
	}
	if _, err := runbook.New(runbook.Options{Store: h.db, Audit: h.chain, Classifier: h.cls, Transitions: map[string]string{"MAYBE": "Done"}}); err == nil {
		t.Fatal("unknown decision label accepted")
	}
}
