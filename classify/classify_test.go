package classify

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchyard"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/golden")

func newTestClassifier(t *testing.T, opts Options) *Classifier {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestGolden pins the full result (intent, confidence, disposition, reason,
// inputs with provenance, evidence) for one ticket per intent and per
// abstain reason. Run with -update after an intended change.
func TestGolden(t *testing.T) {
	c := newTestClassifier(t, Options{Directory: testDirectory(t)})
	const rep = "sam.taylor@acme.test"
	tests := []struct {
		name                 string
		ticket               Ticket
		intent, disp, reason string
	}{
		{"password_reset", Ticket{"Cannot log in", "I forgot my password over the holidays, please reset it.", rep}, "password_reset", PendingApproval, ""},
		{"mfa_reset", Ticket{"New phone", "I replaced my phone and Okta Verify is gone. Please reset my MFA.", rep}, "mfa_reset", PendingApproval, ""},
		{"new_hire_provisioning", Ticket{"New hire next Monday", "Name: Rosa Diaz\nEmail: rosa.diaz@acme.test\nPlease create her Okta and M365 accounts.", rep}, "new_hire_provisioning", PendingApproval, ""},
		{"m365_license_assignment", Ticket{"Licence request", "Please assign a Power BI Pro licence to daniel.kim@acme.test.", rep}, "m365_license_assignment", PendingApproval, ""},
		{"account_unlock", Ticket{"Locked out", "My colleague Priya Natarajan is locked out after too many attempts, please unlock her account.", rep}, "account_unlock", PendingApproval, ""},
		{"offboarding", Ticket{"Leaver", "Marco Rossi is leaving the company on Friday. Please suspend his account after his last day.", rep}, "offboarding", PendingApproval, ""},
		{"group_membership", Ticket{"Group access", "Please add me to the devops-oncall group, I join the rotation.", rep}, "group_membership", PendingApproval, ""},
		{"abstain_unrecognized", Ticket{"Printer", "The printer on floor 3 prints everything with grey stripes.", rep}, NoAction, DispositionNone, ReasonUnrecognized},
		{"abstain_low_confidence", Ticket{"Two things", "Please unlock my account and also reset my MFA on my new phone.", rep}, NoAction, DispositionNone, ReasonLowConfidence},
		{"abstain_missing_input", Ticket{"Please add me to the group", "Add me to the group my team uses for the shared drive.", rep}, "group_membership", NeedsInput, ReasonMissingInput},
		{"needs_input_someone_else", Ticket{"Password reset", "My colleague forgot her password, please reset it.", rep}, "password_reset", NeedsInput, ReasonMissingInput},
		{"discourse_resolved", Ticket{"Account locked", "My account was locked yesterday but the problem is solved now, thanks.", rep}, NoAction, DispositionNone, ReasonResolved},
		{"discourse_question", Ticket{"Password", "Your password expires in 5 days. How do I change my password before then?", rep}, NoAction, DispositionNone, ReasonInformational},
		{"discourse_howto", Ticket{"Password change", "How do I change my password from home? What are the steps?", rep}, NoAction, DispositionNone, ReasonQuestion},
		{"discourse_investigate", Ticket{"Account keeps locking", "Please investigate why my account gets locked every morning after I changed my domain password.", rep}, NoAction, DispositionNone, ReasonInvestigation},
		{"discourse_other_system", Ticket{"Oracle password reset", "Please reset my Oracle Fusion password, I forgot it.", rep}, NoAction, DispositionNone, ReasonOtherSystem},
		{"abstain_negation", Ticket{"Not a password issue", "My password is fine, no need to reset it. The intranet home page shows an error.", rep}, NoAction, DispositionNone, ReasonUnrecognized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := c.Classify(context.Background(), tt.ticket)
			if err != nil {
				t.Fatal(err)
			}
			// Behaviour first, so a failure says what went wrong.
			if res.Intent != tt.intent || res.Disposition != tt.disp || res.Reason != tt.reason {
				t.Errorf("got intent=%s disposition=%s reason=%s (confidence %.3f), want %s/%s/%s",
					res.Intent, res.Disposition, res.Reason, res.Confidence, tt.intent, tt.disp, tt.reason)
			}
			if res.Disposition == PendingApproval {
				in, _ := c.Catalog().Intent(res.Intent)
				if res.Confidence < in.Threshold || res.Runbook != in.Runbook {
					t.Errorf("pending result below threshold or wrong runbook: %+v", res)
				}
			}
			got, err := json.MarshalIndent(res, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, '\n')
			path := filepath.Join("testdata", "golden", tt.name+".json")
			if *update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run go test ./classify -run TestGolden -update)", err)
			}
			if string(got) != string(want) {
				t.Errorf("%s differs from golden:\n got %s\nwant %s", path, got, want)
			}
		})
	}
}

func TestClassifyRejectsEmpty(t *testing.T) {
	c := newTestClassifier(t, Options{})
	_, err := c.Classify(context.Background(), Ticket{Summary: "  ", Description: "\n"})
	if !errors.Is(err, switchyard.ErrInvalid) {
		t.Fatalf("empty ticket: err = %v, want ErrInvalid", err)
	}
}

// A phrasing the catalog does not know: after approvals are recorded for it,
// the same phrasing classifies with higher confidence.
func TestLearningFromApprovals(t *testing.T) {
	c := newTestClassifier(t, Options{})
	ctx := context.Background()
	rep := "sam.taylor@acme.test"
	probe := Ticket{Summary: "Keycard sign-in token desynchronised", Description: "My hardware token shows numbers the portal refuses, please resync the fob.", ReporterEmail: rep}
	before, err := c.Classify(ctx, probe)
	if err != nil {
		t.Fatal(err)
	}
	approvals := []Ticket{
		{Summary: "Hardware token desynchronised", Description: "The fob numbers are refused by the portal, please resync my token.", ReporterEmail: rep},
		{Summary: "Token fob out of sync", Description: "Portal refuses the numbers on my keycard token, resync please.", ReporterEmail: rep},
		{Summary: "Resync my hardware token", Description: "Keycard token desynchronised, sign-in refuses the fob numbers.", ReporterEmail: rep},
	}
	for _, a := range approvals {
		if err := c.RecordDecision(ctx, a, "mfa_reset", true); err != nil {
			t.Fatal(err)
		}
	}
	after, err := c.Classify(ctx, probe)
	if err != nil {
		t.Fatal(err)
	}
	score := func(r Result) float64 { return scoreOf(r, "mfa_reset") }
	t.Logf("mfa_reset confidence before %.3f (%s), after %.3f (%s/%s)", score(before), before.Intent, score(after), after.Intent, after.Disposition)
	if score(after) <= score(before)+0.2 {
		t.Errorf("mfa_reset confidence went from %.3f to %.3f after 3 approvals; want a clear rise", score(before), score(after))
	}
	if after.Intent != "mfa_reset" || after.Disposition != PendingApproval {
		t.Errorf("after approvals the phrasing classifies as %s/%s, want mfa_reset pending_approval", after.Intent, after.Disposition)
	}
}

// Denials teach no_action: a phrasing approvers keep refusing stops being
// suggested.
func TestLearningFromDenials(t *testing.T) {
	c := newTestClassifier(t, Options{})
	ctx := context.Background()
	probe := Ticket{Summary: "Password vault", Description: "Please reset the shared password vault entry for the router", ReporterEmail: "sam.taylor@acme.test"}
	before, err := c.Classify(ctx, probe)
	if err != nil {
		t.Fatal(err)
	}
	if before.Intent != "password_reset" {
		t.Skipf("setup: probe classified %s, expected the catalog to suggest password_reset first", before.Intent)
	}
	for _, d := range []string{
		"Please reset the shared password vault entry for the firewall",
		"Reset the password vault entry for the router admin",
		"Shared vault: reset the router password entry",
	} {
		if err := c.RecordDecision(ctx, Ticket{Summary: "Password vault", Description: d}, "password_reset", false); err != nil {
			t.Fatal(err)
		}
	}
	after, err := c.Classify(ctx, probe)
	if err != nil {
		t.Fatal(err)
	}
	if after.Disposition != DispositionNone {
		t.Errorf("after three denials the phrasing is still %s/%s (%.3f)", after.Intent, after.Disposition, after.Confidence)
	}
}

func TestRecordDecisionValidation(t *testing.T) {
	c := newTestClassifier(t, Options{})
	ctx := context.Background()
	n := c.Examples()
	tests := []struct {
		name     string
		ticket   Ticket
		intent   string
		approved bool
	}{
		{"unknown intent", Ticket{Summary: "reset my password"}, "password_rest", true},
		{"empty text", Ticket{Summary: " "}, "password_reset", true},
		{"deny no_action", Ticket{Summary: "printer broken"}, NoAction, false},
		{"only stop words", Ticket{Summary: "please, thanks!"}, "password_reset", true},
	}
	for _, tt := range tests {
		err := c.RecordDecision(ctx, tt.ticket, tt.intent, tt.approved)
		if !errors.Is(err, switchyard.ErrInvalid) {
			t.Errorf("%s: err = %v, want ErrInvalid", tt.name, err)
		}
	}
	if c.Examples() != n {
		t.Errorf("rejected decisions changed the examples: %d → %d", n, c.Examples())
	}
	if err := c.RecordDecision(ctx, Ticket{Summary: "Printer toner", Description: "reset the toner counter"}, NoAction, true); err != nil {
		t.Errorf("approving no_action: %v", err)
	}
	if c.Examples() != n+1 {
		t.Errorf("examples = %d, want %d", c.Examples(), n+1)
	}
}

// Decisions recorded on an on-disk index survive a restart, and a changed
// catalog re-indexes without losing them.
func TestDecisionsPersistOnDisk(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "examples.bleve")
	phr := Ticket{Summary: "Keycard sign-in token desynchronised", Description: "Please resync my hardware token fob, portal refuses the numbers.", ReporterEmail: "sam.taylor@acme.test"}

	c, err := New(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	base := c.Examples()
	before, err := c.Classify(ctx, phr)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"hardware token fob desynchronised, resync", "resync keycard token, portal refuses fob numbers", "token fob numbers refused, resync please"} {
		if err := c.RecordDecision(ctx, Ticket{Summary: d}, "mfa_reset", true); err != nil {
			t.Fatal(err)
		}
	}
	// the same decision twice counts once
	if err := c.RecordDecision(ctx, Ticket{Summary: "token fob numbers refused, resync please"}, "mfa_reset", true); err != nil {
		t.Fatal(err)
	}
	if got := c.Examples(); got != base+3 {
		t.Errorf("examples after 3 distinct decisions = %d, want %d", got, base+3)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}

	c2, err := New(Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if got := c2.Examples(); got != base+3 {
		t.Errorf("after reopen: examples = %d, want %d", got, base+3)
	}
	after, err := c2.Classify(ctx, phr)
	if err != nil {
		t.Fatal(err)
	}
	if after.Intent != "mfa_reset" || after.Disposition != PendingApproval || scoreOf(after, "mfa_reset") <= scoreOf(before, "mfa_reset") {
		t.Errorf("after reopen: %s/%s %.3f, before decisions: %s %.3f", after.Intent, after.Disposition, after.Confidence, before.Intent, scoreOf(before, "mfa_reset"))
	}
	c2.Close()

	// A different catalog: stale catalog examples go, decisions stay.
	cat, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	cat.NoAction.Examples = cat.NoAction.Examples[:50]
	c3, err := New(Options{Path: path, Catalog: cat})
	if err != nil {
		t.Fatal(err)
	}
	defer c3.Close()
	removed := len(mustDefault(t).NoAction.Examples) - 50
	if got := c3.Examples(); got != base+3-removed {
		t.Errorf("after catalog change: examples = %d, want %d", got, base+3-removed)
	}
	stored, err := c3.idx.all(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != base+3-removed {
		t.Errorf("index holds %d examples, want %d (stale catalog examples must be deleted)", len(stored), base+3-removed)
	}
	decisions := 0
	for _, e := range stored {
		if e.Source == sourceDecision {
			decisions++
			if !strings.Contains(e.Terms, "resync") {
				t.Errorf("decision %s lost its terms: %q", e.ID, e.Terms)
			}
		}
	}
	if decisions != 3 {
		t.Errorf("decisions stored = %d, want 3", decisions)
	}
}

// scoreOf is intent's combined confidence in r (0 when not among the top).
func scoreOf(r Result, intent string) float64 {
	for _, s := range r.Evidence.Top {
		if s.Intent == intent {
			return s.Confidence
		}
	}
	return 0
}

func mustDefault(t *testing.T) *Catalog {
	t.Helper()
	c, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClassifyConcurrent(t *testing.T) {
	c := newTestClassifier(t, Options{})
	ctx := context.Background()
	done := make(chan error, 8)
	for i := range 8 {
		go func() {
			for j := range 20 {
				if i == 0 && j%5 == 0 {
					if err := c.RecordDecision(ctx, Ticket{Summary: "reset my okta password please", Description: strings.Repeat("x", j)}, "password_reset", true); err != nil {
						done <- err
						return
					}
				}
				if _, err := c.Classify(ctx, Ticket{Summary: "forgot my password"}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
