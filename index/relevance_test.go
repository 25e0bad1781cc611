package index

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector/jirasim"
)

func TestIdentifierTerms(t *testing.T) {
	idx := &Index{mapping: mustMapping(t)}
	an := idx.mapping.AnalyzerNamed(analyzerText)
	for _, tc := range []struct {
		text      string
		want, not []string
	}{
		{"host app-eu-12 is down", []string{"app-eu-12", "app-eu", "eu-12", "app", "eu", "12", "host"}, []string{"is"}},
		{"ORA-12541: TNS no listener", []string{"ora-12541", "ora", "12541", "tn", "listen"}, nil},
		{"mail jane.doe@example.com today.", []string{"jane.doe@example.com", "jane.doe", "doe@example", "example.com", "jane", "doe", "mail", "todai"}, []string{"today."}},
		{"ping 10.20.30.40 now", []string{"10.20.30.40", "10.20.30", "20.30.40", "10.20.30.40"}, nil},
		{"agent v2.14.3", []string{"v2.14.3", "14.3", "v2.14", "agent"}, nil},
		{"see https://kb.example.com/a/b-c", []string{"https://kb.example.com/a/b-c", "kb.example.com", "b-c", "see"}, nil},
		{`share \\fs01\finance`, []string{`fs01\finance`, "fs01", "financ", "share"}, nil},
		{"error 0x80070005 today", []string{"0x80070005", "error", "todai"}, nil},
		{"notes in runbook-notes.md", []string{"runbook-notes.md", "runbook-notes", "notes.md", "runbook", "note"}, nil},
		{"plain prose, nothing special", []string{"plain", "prose", "noth", "special"}, []string{"plain prose"}},
	} {
		got := map[string]bool{}
		for _, tok := range an.Analyze([]byte(tc.text)) {
			got[string(tok.Term)] = true
		}
		for _, w := range tc.want {
			if !got[w] {
				t.Errorf("%q: no term %q in %v", tc.text, w, keysOf(got))
			}
		}
		for _, w := range tc.not {
			if got[w] {
				t.Errorf("%q: unexpected term %q", tc.text, w)
			}
		}
	}
}

func keysOf(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestRecencyBreaksTies: equal texts rank the more recently updated first,
// whichever was indexed first.
func TestRecencyBreaksTies(t *testing.T) {
	for _, newerFirst := range []bool{true, false} {
		idx, err := Open(filepath.Join(t.TempDir(), "index"))
		if err != nil {
			t.Fatal(err)
		}
		old := time.Date(2025, 3, 1, 10, 0, 0, 0, time.UTC)
		recent := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		a := switchyard.Issue{ID: "1", Key: "T-1", ProjectID: "10", ProjectKey: "T", Summary: "Quokka enclosure gate broken", Updated: old}
		b := switchyard.Issue{ID: "2", Key: "T-2", ProjectID: "10", ProjectKey: "T", Summary: "Quokka enclosure gate broken", Updated: recent}
		first, second := a, b
		if newerFirst {
			first, second = b, a
		}
		for _, is := range []switchyard.Issue{first, second} {
			if err := idx.IndexIssue(context.Background(), "t", is); err != nil {
				t.Fatal(err)
			}
		}
		res, err := idx.Search(context.Background(), SearchRequest{Connection: "t", Query: "quokka gate", Viewer: &Viewer{Known: true, Active: true},
			Permissions: &Permissions{Projects: []switchyard.Project{{ID: "10", Key: "T", Browse: []switchyard.Holder{{Type: "anyone"}}}}}})
		idx.Close()
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Hits) != 2 || res.Hits[0].Key != "T-2" {
			t.Fatalf("indexed newer first=%v: %+v, want T-2 (updated %s) before T-1", newerFirst, res.Hits, recent.Format(time.DateOnly))
		}
	}
}

// TestSuggestAndSimilarPermissions: over a simulated world, as every kind
// of user, suggestions and similar issues only ever name issues the
// simulator's oracle lets the user see, and an invisible key is not found.
func TestSuggestAndSimilarPermissions(t *testing.T) {
	w := jirasim.Generate(jirasim.GenerateOptions{Seed: 3, Projects: 5, Issues: 120})
	idx := simIndex(t, w)
	ctx := context.Background()
	checked, hiddenChecked := 0, 0
	for _, u := range w.Users[:min(len(w.Users), 25)] {
		for _, is := range w.Issues[:40] {
			sees := w.CanSee(u.AccountID, is.Key, "")
			sug, err := idx.Suggest(ctx, SuggestRequest{Connection: simConn, Prefix: is.Key, AsUser: u.AccountID, Size: MaxSuggestSize})
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range sug {
				if !w.CanSee(u.AccountID, s.Key, "") {
					t.Fatalf("suggest %q as %s offered %s, which the oracle hides", is.Key, u.AccountID, s.Key)
				}
			}
			if sees && (len(sug) == 0 || sug[0].Key != is.Key) {
				t.Fatalf("suggest %q as %s, who sees it: %+v", is.Key, u.AccountID, sug)
			}
			res, err := idx.Similar(ctx, SimilarRequest{Connection: simConn, Key: is.Key, AsUser: u.AccountID})
			switch {
			case !sees:
				hiddenChecked++
				if !errors.Is(err, switchyard.ErrNotFound) {
					t.Fatalf("similar to %s as %s, who may not see it: %v, %+v; want not found", is.Key, u.AccountID, err, res)
				}
			case err != nil:
				t.Fatalf("similar to %s as %s: %v", is.Key, u.AccountID, err)
			default:
				checked++
				for _, h := range res.Hits {
					if h.Key == is.Key || !w.CanSee(u.AccountID, h.Key, "") {
						t.Fatalf("similar to %s as %s lists %s", is.Key, u.AccountID, h.Key)
					}
				}
			}
		}
	}
	if checked == 0 || hiddenChecked == 0 {
		t.Fatalf("visible checks %d, hidden checks %d: the world cannot tell leaks from misses", checked, hiddenChecked)
	}
}
