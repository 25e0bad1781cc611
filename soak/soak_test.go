package soak

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"switchyard/connector/jirasim"
)

// TestSoak is the short soak: about 45 s of load with three SIGKILL
// restarts, then the final checks. SWITCHYARD_SOAK_DURATION (e.g. 2m)
// lengthens it.
func TestSoak(t *testing.T) {
	d := 45 * time.Second
	if v := os.Getenv("SWITCHYARD_SOAK_DURATION"); v != "" {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			t.Fatalf("SWITCHYARD_SOAK_DURATION %q: %v", v, err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), d+8*time.Minute)
	defer cancel()
	var log strings.Builder
	s, err := New(ctx, Options{Duration: d, Seed: 7, Dir: t.TempDir(), Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close) // kills the daemon even when the test fails
	rep, err := s.Run(ctx)
	if err != nil {
		t.Fatalf("soak did not run: %v\n%s", err, log.String())
	}
	t.Log("\n" + rep.String())
	if len(rep.Mismatches) > 0 {
		t.Errorf("%d mismatches:\n%s", len(rep.Mismatches), strings.Join(rep.Mismatches, "\n"))
	}
	var mutations, faults int64
	for _, v := range rep.Mutations {
		mutations += v
	}
	for _, v := range rep.Sim.Faults {
		faults += v
	}
	for _, c := range []struct {
		what string
		n    int64
	}{
		{"restarts", int64(rep.Restarts)}, {"mutations", mutations}, {"searches", rep.Searches}, {"hits checked", rep.Hits},
		{"ingests", rep.Ingests}, {"faults injected", faults}, {"final issues", int64(rep.Final.Issues)},
	} {
		if c.n == 0 {
			t.Errorf("the soak measured no %s: it did not exercise the system", c.what)
		}
	}
	if rep.Restarts != 3 {
		t.Errorf("restarts = %d, want 3", rep.Restarts)
	}
}

// TestVisibility checks the oracle bookkeeping the soak judges hits with: a
// hit the oracle never allowed is a violation; one allowed before a
// mutation that hid it is not.
func TestVisibility(t *testing.T) {
	w := jirasim.Generate(jirasim.GenerateOptions{Seed: 3, Projects: 4, Issues: 60})
	st := w.State()
	// Find an issue some user may see and some user may not.
	var issue, seer, blind string
	for _, iss := range st.Issues {
		seer, blind = "", ""
		for _, u := range st.Users {
			if w.CanSee(u.AccountID, iss.ID, "") {
				seer = u.AccountID
			} else {
				blind = u.AccountID
			}
		}
		if seer != "" && blind != "" {
			issue = iss.ID
			break
		}
	}
	if issue == "" {
		t.Fatal("the generated world has no issue visible to some users only")
	}
	tests := []struct {
		name     string
		account  string
		remember bool
		del      bool
		want     int
	}{
		{"visible now", seer, false, false, 0},
		{"never visible", blind, false, false, 1},
		{"visible before a deletion that was remembered", seer, true, true, 0},
		{"visible before a deletion that was not remembered", seer, false, true, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := jirasim.Generate(jirasim.GenerateOptions{Seed: 3, Projects: 4, Issues: 60})
			v := newVisibility(w)
			if tc.remember {
				v.rememberIssue(issue, []string{tc.account})
			}
			if tc.del {
				if err := w.DeleteIssue("", issue); err != nil {
					t.Fatal(err)
				}
			}
			v.check(tc.account, issue, "", "X-1", "issue")
			if got := len(v.violations()); got != tc.want {
				t.Errorf("violations = %d (%v), want %d", got, v.violations(), tc.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	want := map[string]bool{"issue/1": true, "comment/1/2": true}
	if d := diff("store", want, map[string]bool{"issue/1": true, "comment/1/2": true}); len(d) != 0 {
		t.Errorf("equal sets differ: %v", d)
	}
	d := diff("index", want, map[string]bool{"issue/1": true, "attachment/1/9": true})
	if len(d) != 2 || !strings.Contains(d[0], "comment/1/2") || !strings.Contains(d[1], "attachment/1/9") {
		t.Errorf("diff = %v, want one missing (comment/1/2) and one extra (attachment/1/9)", d)
	}
}
