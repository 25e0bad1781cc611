package classify

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchyard"
)

// The shipped labelled set, classified for real, must meet the issue's
// targets. This asserts behaviour (what the classifier decides), not timing.
func TestEvalTargetsOnLabelledSet(t *testing.T) {
	rows, err := LoadLabelled("testdata/labelled.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 400 {
		t.Fatalf("labelled set has %d rows, want at least 400", len(rows))
	}
	c := newTestClassifier(t, Options{Directory: testDirectory(t)})
	rep, err := Evaluate(context.Background(), c, rows, "reporter@example.invalid")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	rep.Print(&out, true)
	t.Logf("\n%s", out.String())
	if rep.MacroF1 < 0.90 {
		t.Errorf("macro-F1 over action intents = %.3f, want >= 0.90", rep.MacroF1)
	}
	for _, cl := range rep.Classes {
		m := rep.PerClass[cl]
		if cl == NoAction {
			if m.Recall < 0.97 {
				t.Errorf("no_action recall = %.3f, want >= 0.97", m.Recall)
			}
			continue
		}
		if m.Support == 0 {
			t.Errorf("%s: no labelled rows", cl)
		}
		if m.Precision < 0.97 {
			t.Errorf("%s precision at threshold %.2f = %.3f, want >= 0.97", cl, m.Threshold, m.Precision)
		}
	}
}

// The labelled set is written independently of the catalog: no row may be a
// catalog utterance (that would measure memory, not generalisation).
func TestLabelledSetDoesNotLeak(t *testing.T) {
	rows, err := LoadLabelled("testdata/labelled.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	cat := mustDefault(t)
	train := map[string]bool{}
	for _, in := range cat.Intents {
		for _, e := range in.Examples {
			train[normalizeText(e)] = true
		}
	}
	for _, e := range cat.NoAction.Examples {
		train[normalizeText(e)] = true
	}
	for i, r := range rows {
		summary, desc, _ := strings.Cut(r.Text, "\n")
		for _, part := range []string{r.Text, summary, desc} {
			if train[normalizeText(part)] {
				t.Errorf("row %d repeats a catalog utterance: %q", i+1, part)
			}
		}
	}
}

func TestLoadLabelledFormats(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, file, body string
		rows             int
		errWant          string
	}{
		{"csv", "a.csv", "text,intent\n\"Reset my password\nplease\",password_reset\nprinter broken,no_action\n", 2, ""},
		{"csv with reporter, reordered", "b.csv", "intent,reporter,text\nno_action,a@b.test,printer\n", 1, ""},
		{"csv missing column", "c.csv", "summary,intent\nx,no_action\n", 0, "must name columns text and intent"},
		{"csv empty intent", "d.csv", "text,intent\nprinter,\n", 0, "line 2: intent is empty"},
		{"jsonl", "e.jsonl", "{\"text\":\"reset pw\",\"intent\":\"password_reset\"}\n\n{\"text\":\"x\",\"intent\":\"no_action\",\"reporter\":\"a@b.test\"}\n", 2, ""},
		{"jsonl unknown field", "f.jsonl", "{\"txt\":\"reset pw\",\"intent\":\"password_reset\"}\n", 0, "line 1"},
		{"jsonl malformed", "g.jsonl", "{\"text\":\"a\",\"intent\":\"no_action\"}\n{not json\n", 0, "line 2"},
		{"empty file", "h.jsonl", "", 0, "no labelled rows"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := LoadLabelled(write(tt.file, tt.body))
			if tt.errWant != "" {
				if err == nil || !strings.Contains(err.Error(), tt.errWant) || !errors.Is(err, switchyard.ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid containing %q", err, tt.errWant)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != tt.rows {
				t.Fatalf("rows = %d, want %d", len(rows), tt.rows)
			}
		})
	}
}

func TestEvaluateRejectsUnknownIntent(t *testing.T) {
	c := newTestClassifier(t, Options{})
	_, err := Evaluate(context.Background(), c, []Labelled{{Text: "x", Intent: "pasword_reset"}}, "r@x.test")
	if !errors.Is(err, switchyard.ErrInvalid) || !strings.Contains(err.Error(), `"pasword_reset"`) {
		t.Fatalf("err = %v, want ErrInvalid naming the intent", err)
	}
}

// Evaluate's arithmetic on a tiny set whose outcome is known.
func TestEvaluateMetrics(t *testing.T) {
	c := newTestClassifier(t, Options{})
	rows := []Labelled{
		{Text: "I forgot my password, please reset it", Intent: "password_reset"},
		{Text: "The printer on floor 2 is jammed", Intent: NoAction},
		{Text: "The printer on floor 3 is jammed", Intent: "password_reset"}, // deliberately mislabelled
	}
	rep, err := Evaluate(context.Background(), c, rows, "r@x.test")
	if err != nil {
		t.Fatal(err)
	}
	pr := rep.PerClass["password_reset"]
	if pr.Support != 2 || pr.Predicted != 1 || pr.Precision != 1 || pr.Recall != 0.5 {
		t.Errorf("password_reset metrics = %+v", pr)
	}
	if rep.Confusion["password_reset"][NoAction] != 1 || rep.NoActionFPR != 0 {
		t.Errorf("confusion = %v, FPR %.2f", rep.Confusion, rep.NoActionFPR)
	}
	if len(rep.Errors) != 1 {
		t.Errorf("errors = %d, want 1", len(rep.Errors))
	}
	var out bytes.Buffer
	if err := rep.Print(&out, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"precision", "macro-F1", "no_action false-positive rate", "confusion matrix", "coverage"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, out.String())
		}
	}
}

// Proxy check on real helpdesk tickets: of the Purchase and Internal Project
// tickets, at most 2% may be sent for approval.
func TestProxyPurchaseAndInternalProject(t *testing.T) {
	shared := os.Getenv("SWITCHYARD_SHARED")
	if shared == "" {
		t.Skip("SWITCHYARD_SHARED is not set: the proxy check needs shared/datasets/it-service-tickets.csv (scripts/test sets it when ../shared exists)")
	}
	path := filepath.Join(shared, "datasets", "it-service-tickets.csv")
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("SWITCHYARD_SHARED is set but the data set is unreadable: %v", err)
	}
	defer f.Close()
	c := newTestClassifier(t, Options{})
	r := csv.NewReader(f)
	head, err := r.Read()
	if err != nil || len(head) < 2 {
		t.Fatalf("read header of %s: %v", path, err)
	}
	ctx := context.Background()
	total, acted, waiting := 0, 0, 0
	byIntent := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if rec[1] != "Purchase" && rec[1] != "Internal Project" {
			continue
		}
		total++
		res, err := c.Classify(ctx, Ticket{Summary: rec[0], ReporterEmail: "reporter@example.invalid"})
		if err != nil {
			t.Fatal(err)
		}
		if res.Disposition == PendingApproval {
			acted++
			byIntent[res.Intent]++
		}
		if res.Disposition == NeedsInput {
			waiting++ // not acted on, but an agent's queue: reported
		}
	}
	if total < 1000 {
		t.Fatalf("only %d Purchase/Internal Project rows in %s; is it the right file?", total, path)
	}
	rate := float64(acted) / float64(total)
	t.Logf("proxy: %d of %d Purchase/Internal Project tickets got an action intent (%.2f%%): %v; %d wait as needs_input", acted, total, 100*rate, byIntent, waiting)
	if rate > 0.02 {
		t.Errorf("%.2f%% of Purchase/Internal Project tickets got an action intent, want <= 2%%", 100*rate)
	}
}
