package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchyard/classify"
)

// A desk's labelled tickets, written the way that data set's tickets read:
// leaver inventory mails are not a leaver to disable, however "leaver"
// they sound.
const learnLabels = `{"text": "leaver inventory update leaver hi guys please update the inventory sheet best regards engineer", "intent": "no_action"}
{"text": "leaver inventory update hello attached the updated inventory list for leavers thanks", "intent": "no_action"}
{"text": "inventory update for leaver laptops returned to the store room regards", "intent": "no_action"}
{"text": "leaver inventory hi the leaver inventory spreadsheet needs the new column thanks", "intent": "no_action"}
{"text": "pas queue access please add the new analyst to the pas queue thanks", "intent": "group_membership"}
`

const learnProbe = "leaver inventory update: hi, the inventory sheet for this month's leavers is attached, regards"

func topIntent(t *testing.T, index string) string {
	t.Helper()
	args := []string{"classify", "--json"}
	if index != "" {
		args = append(args, "--index", index)
	}
	code, out, errs := runClassifyCLI(t, append(args, learnProbe)...)
	if code != 0 {
		t.Fatalf("classify exit %d: %s", code, errs)
	}
	var res struct {
		Evidence struct {
			Top []struct{ Intent string } `json:"top"`
		} `json:"evidence"`
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.Evidence.Top) == 0 {
		t.Fatalf("classify output %q: %v", out, err)
	}
	return res.Evidence.Top[0].Intent
}

func examplesIn(t *testing.T, index string) int {
	t.Helper()
	c, err := classify.New(classify.Options{Path: index})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.Examples()
}

func TestClassifyLearn(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "switchyard.yaml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("data_dir: %s\nlog: {level: error}\n", data)), 0o600)
	labels := filepath.Join(dir, "labels.jsonl")
	os.WriteFile(labels, []byte(learnLabels), 0o600)
	index := filepath.Join(data, "classify.bleve")

	// The catalog alone leans to the leaver runbook.
	if got := topIntent(t, ""); got != "offboarding" {
		t.Fatalf("before learning the top class is %q, want offboarding (the probe no longer tests anything)", got)
	}

	code, out, errs := runClassifyCLI(t, "classify", "learn", "--config", cfg, labels)
	if code != 0 {
		t.Fatalf("classify learn exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "learned 5 rows") || !strings.Contains(out, "5 new examples") || !strings.Contains(out, "no_action 4") {
		t.Errorf("output = %q", out)
	}
	// Learned into the on-disk index: a new process votes with them.
	if got := topIntent(t, index); got != "no_action" {
		t.Errorf("after learning the top class is %q, want no_action", got)
	}

	// Again: nothing new.
	code, out, errs = runClassifyCLI(t, "classify", "learn", "--config", cfg, labels)
	if code != 0 || !strings.Contains(out, "0 new examples, 5 already known") {
		t.Errorf("second run exit %d: %q %s", code, out, errs)
	}

	// A label outside the catalog fails before anything is written.
	n := examplesIn(t, index)
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"text": "please reset the vpn token for the new laptop", "intent": "no_action"}
{"text": "printer on floor two is jammed again", "intent": "printer_fix"}
`), 0o600)
	code, _, errs = runClassifyCLI(t, "classify", "learn", "--config", cfg, bad)
	if code == 0 || !strings.Contains(errs, `row 2: intent "printer_fix" is not in the catalog`) {
		t.Errorf("unknown intent: exit %d, stderr %q", code, errs)
	}
	if got := examplesIn(t, index); got != n {
		t.Errorf("the refused file changed the examples: %d → %d", n, got)
	}

	// A row with no words is left out and named; the others are learned.
	mixed := filepath.Join(dir, "mixed.jsonl")
	os.WriteFile(mixed, []byte(`{"text": "?? !!", "intent": "no_action"}
{"text": "leaver inventory sheet updated for march, regards", "intent": "no_action"}
`), 0o600)
	code, out, errs = runClassifyCLI(t, "classify", "learn", "--config", cfg, mixed)
	if code != 0 || !strings.Contains(out, "learned 1 rows") || !strings.Contains(errs, `row 1 "?? !!": no words to learn from`) {
		t.Errorf("mixed file: exit %d, out %q, stderr %q", code, out, errs)
	}
	empty := filepath.Join(dir, "empty.jsonl")
	os.WriteFile(empty, []byte(`{"text": "?? !!", "intent": "no_action"}
`), 0o600)
	if code, _, errs = runClassifyCLI(t, "classify", "learn", "--config", cfg, empty); code == 0 || !strings.Contains(errs, "none of its 1 rows has words") {
		t.Errorf("nothing to learn: exit %d, stderr %q", code, errs)
	}

	// A learned index must not be cross-validated: its examples would be in
	// every fold.
	if code, _, errs = runClassifyCLI(t, "classify", "eval", "--kfold", "5", "--index", index, labels); code == 0 || !strings.Contains(errs, "--index cannot be combined") {
		t.Errorf("eval --kfold --index: exit %d, stderr %q", code, errs)
	}

	// A daemon owning the data directory: refused, with what to do.
	lock, err := lockDataDir(data, "serve")
	if err != nil || lock == nil {
		t.Fatalf("lock: %v", err)
	}
	code, _, errs = runClassifyCLI(t, "classify", "learn", "--config", cfg, labels)
	lock.Close()
	if code == 0 || !strings.Contains(errs, "stop it first") {
		t.Errorf("busy data dir: exit %d, stderr %q", code, errs)
	}
}
