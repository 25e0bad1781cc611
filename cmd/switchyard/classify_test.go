package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func runClassifyCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestClassifyCLIJSON(t *testing.T) {
	code, out, errs := runClassifyCLI(t, "classify", "--json", "--reporter", "sam@acme.test", "I forgot my password, please reset it")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	var res map[string]any
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"intent", "runbook", "confidence", "disposition", "inputs"} {
		if _, ok := res[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, out)
		}
	}
	if res["intent"] != "password_reset" || res["disposition"] != "pending_approval" || res["runbook"] != "RB-001" {
		t.Errorf("result = %s", out)
	}
	ins, _ := res["inputs"].([]any)
	if len(ins) != 1 || ins[0].(map[string]any)["source"] != "reporter_fallback" {
		t.Errorf("inputs = %v, want the reporter as fallback", res["inputs"])
	}
}

func TestClassifyCLIText(t *testing.T) {
	code, out, errs := runClassifyCLI(t, "classify", "The printer on floor 2 is jammed")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"intent:      no_action", "disposition: no_action", "reason:      unrecognized"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestClassifyCLIErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("version: 1\nintents:\n  - id: password_reset\n    runbook: RB-001\n    name: x\n    target_system: Okta\n    threshold: 2\n    examples: [a b, c d, e f]\n"), 0o644)
	tests := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no text", []string{"classify"}, 2, "TEXT is required"},
		{"missing catalog", []string{"classify", "--catalog", filepath.Join(dir, "nope.yaml"), "reset"}, 1, "nope.yaml"},
		{"invalid catalog", []string{"classify", "--catalog", bad, "reset"}, 1, `intent "password_reset" field threshold`},
		{"unknown flag", []string{"classify", "--jsn", "reset"}, 2, "jsn"},
		{"eval without file", []string{"classify", "eval"}, 2, "exactly one labelled FILE"},
		{"eval missing file", []string{"classify", "eval", filepath.Join(dir, "none.csv")}, 1, "none.csv"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errs := runClassifyCLI(t, tt.args...)
			if code != tt.code || !strings.Contains(errs, tt.want) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, errs, tt.code, tt.want)
			}
		})
	}
}

func TestClassifyCLIEval(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "set.csv")
	os.WriteFile(f, []byte("text,intent\nI forgot my password please reset it,password_reset\nThe printer is jammed,no_action\nPlease order a new monitor,no_action\n"), 0o644)
	code, out, errs := runClassifyCLI(t, "classify", "eval", f)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"rows: 3", "macro-F1 (action intents)", "no_action false-positive rate: 0.000", "confusion matrix", "password_reset"} {
		if !strings.Contains(out, want) {
			t.Errorf("eval output lacks %q:\n%s", want, out)
		}
	}
}

// classify eval --kfold over a row-label file: the text comes from the data
// set (--data), reserved rows are refused, and the report has the
// reliability table, the calibration error, per-intent figures and the
// precision-coverage curve.
func TestClassifyCLIEvalKFold(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "tickets.csv")
	var csv strings.Builder
	csv.WriteString("Document,Topic_group\n")
	var labels strings.Builder
	labels.WriteString("row\tintent\ttarget\n")
	for i := 0; i < 10; i++ {
		csv.WriteString("password reset please i forgot my password,Access\nprinter on floor two is jammed again,Hardware\n")
		fmt.Fprintf(&labels, "%d\tpassword_reset\tself\n%d\tno_action\t-\n", 2*i, 2*i+1)
	}
	os.WriteFile(data, []byte(csv.String()), 0o644)
	tsv := filepath.Join(dir, "dev.tsv")
	os.WriteFile(tsv, []byte(labels.String()), 0o644)
	os.WriteFile(filepath.Join(dir, "reserved-rows.txt"), []byte("# none labelled here\n99\n"), 0o644)
	code, out, errs := runClassifyCLI(t, "classify", "eval", "--kfold", "5", "--data", data, tsv)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{"rows: 20   folds: 5", "reliability of the calibrated confidence", "expected calibration error", "precision-coverage curve", "action precision:", "no_action recall:", "password_reset"} {
		if !strings.Contains(out, want) {
			t.Errorf("kfold output lacks %q:\n%s", want, out)
		}
	}
	// A reserved row in the labels is refused, naming it.
	os.WriteFile(filepath.Join(dir, "reserved-rows.txt"), []byte("3\n"), 0o644)
	if code, _, errs := runClassifyCLI(t, "classify", "eval", "--kfold", "5", "--data", data, tsv); code != 1 || !strings.Contains(errs, "row 3 is reserved") {
		t.Errorf("reserved row: exit %d, stderr %q", code, errs)
	}
	t.Setenv("SWITCHYARD_SHARED", "")
	if code, _, errs := runClassifyCLI(t, "classify", "eval", tsv); code != 2 || !strings.Contains(errs, "--data") {
		t.Errorf("no data set: exit %d, stderr %q", code, errs)
	}
}
