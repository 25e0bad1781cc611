package index

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"switchyard"
)

func TestPageBound(t *testing.T) {
	b := pageBound{k: 3}
	for _, s := range []float64{5, 1, 4} {
		if b.below(s) {
			t.Fatalf("below(%v) before k scores are held", s)
		}
		b.add(s)
	}
	// Held: 5, 4, 1. A score under 1 cannot reach the best three.
	if !b.below(0.5) || b.below(1) || b.below(2) {
		t.Fatalf("with 5, 4, 1 held: below(0.5)=%v below(1)=%v below(2)=%v, want true, false, false", b.below(0.5), b.below(1), b.below(2))
	}
	b.add(3) // now 5, 4, 3
	if !b.below(2) || b.below(3.5) {
		t.Fatalf("with 5, 4, 3 held: below(2)=%v below(3.5)=%v, want true, false", b.below(2), b.below(3.5))
	}
	b.add(0.1) // under the page: changes nothing
	if !b.below(2.9) {
		t.Fatal("a lower score replaced a held one")
	}
	if (&pageBound{}).below(-1) {
		t.Fatal("an unknown page (k=0) ranks every match in full")
	}
}

// TestRecencyPages: many equal texts rank strictly by recency on every page,
// though the recency of matches that cannot reach the page is never read;
// a page the bound got wrong would show an older issue above a newer one.
func TestRecencyPages(t *testing.T) {
	idx, err := Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	ctx := context.Background()
	const n = 150
	base := time.Date(2024, 1, 1, 9, 0, 0, 0, time.UTC)
	// Indexed in an order unrelated to recency, over several segments.
	var batch []switchyard.Issue
	for i := range n {
		day := (i * 37) % n // a permutation of 0..n-1
		batch = append(batch, switchyard.Issue{ID: strconv.Itoa(i + 1), Key: fmt.Sprintf("T-%d", i+1), ProjectID: "10", ProjectKey: "T",
			Summary: "Wombat burrow flooded", Updated: base.AddDate(0, 0, day)})
		if len(batch) == 40 {
			if err := idx.IndexIssues(ctx, "t", batch); err != nil {
				t.Fatal(err)
			}
			batch = nil
		}
	}
	if err := idx.IndexIssues(ctx, "t", batch); err != nil {
		t.Fatal(err)
	}
	perms := &Permissions{Projects: []switchyard.Project{{ID: "10", Key: "T", Browse: []switchyard.Holder{{Type: "anyone"}}}}}
	var seen []string
	for from := 0; from < 60; from += 20 {
		res, err := idx.Search(ctx, SearchRequest{Connection: "t", Query: "wombat burrow", Viewer: &Viewer{Known: true, Active: true}, Permissions: perms, Size: 20, From: from})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			seen = append(seen, h.Key)
		}
	}
	var want []string
	for rank := range 60 {
		day := n - 1 - rank
		for i := range n {
			if (i*37)%n == day {
				want = append(want, fmt.Sprintf("T-%d", i+1))
			}
		}
	}
	if !slices.Equal(seen, want) {
		t.Fatalf("three pages by recency:\n got %v\nwant %v", seen, want)
	}
}

// TestFilterAfterWriteManyGroups: a viewer in many groups has a filter of
// hundreds of visibility terms; evaluated on the new segment a write makes,
// the terms absent from it are dropped first. The comment restricted to one
// of the viewer's groups is still found, and a viewer without it still
// does not see it.
func TestFilterAfterWriteManyGroups(t *testing.T) {
	idx, err := Open(filepath.Join(t.TempDir(), "index"))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	ctx := context.Background()
	perms := &Permissions{Projects: []switchyard.Project{{ID: "10", Key: "T", Browse: []switchyard.Holder{{Type: "anyone"}}}}}
	member := Viewer{AccountID: "u-in", Known: true, Active: true}
	other := Viewer{AccountID: "u-out", Known: true, Active: true}
	for g := range 300 {
		member.Groups = append(member.Groups, fmt.Sprintf("grp-%d", g))
		other.Groups = append(other.Groups, fmt.Sprintf("grp-%d", g+1000))
	}
	first := switchyard.Issue{ID: "1", Key: "T-1", ProjectID: "10", ProjectKey: "T", Summary: "Capybara pen latch"}
	if err := idx.IndexIssue(ctx, "t", first); err != nil {
		t.Fatal(err)
	}
	// Both filters cached on the first snapshot.
	for _, v := range []Viewer{member, other} {
		if _, err := idx.Search(ctx, SearchRequest{Connection: "t", Query: "capybara", Viewer: &v, Permissions: perms}); err != nil {
			t.Fatal(err)
		}
	}
	second := switchyard.Issue{ID: "2", Key: "T-2", ProjectID: "10", ProjectKey: "T", Summary: "Capybara feeding rota",
		Comments: []switchyard.Comment{{ID: "c1", Body: "capybara keeper notes", Visibility: &switchyard.Visibility{Type: "group", Value: "grp-250", Identifier: "grp-250"}}}}
	if err := idx.IndexIssue(ctx, "t", second); err != nil {
		t.Fatal(err)
	}
	count := func(v Viewer) (issues, comments int) {
		res, err := idx.Search(ctx, SearchRequest{Connection: "t", Query: "capybara", Viewer: &v, Permissions: perms})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range res.Hits {
			switch h.Type {
			case TypeIssue:
				issues++
			case TypeComment:
				comments++
			}
		}
		return issues, comments
	}
	if i, c := count(member); i != 2 || c != 1 {
		t.Fatalf("member of grp-250 after the write: %d issues, %d comments; want 2 and the restricted comment", i, c)
	}
	if i, c := count(other); i != 2 || c != 0 {
		t.Fatalf("viewer outside grp-250 after the write: %d issues, %d comments; want 2 and no comment", i, c)
	}
}
