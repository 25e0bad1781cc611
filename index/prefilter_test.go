package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"switchyard"
)

// TestPrefilterSameResults checks that restricting postings to the viewer's
// filter before scoring changes nothing a user can see: the same hits, in
// the same order, with the same scores and totals, for every kind of query,
// on an index of many segments with replaced and deleted documents.
func TestPrefilterSameResults(t *testing.T) {
	ctx := context.Background()
	idx := openManySegments(t)

	r := rand.New(rand.NewPCG(11, 12))
	vocab := strings.Fields("vpn disk full printer login password reset network slow outage server backup restore quota email the of")
	words := func(n int) string {
		var w []string
		for range n {
			w = append(w, vocab[r.IntN(len(vocab))])
		}
		return strings.Join(w, " ")
	}
	perms := &Permissions{}
	for p := range 6 {
		proj := switchyard.Project{ID: strconv.Itoa(100 + p), Key: fmt.Sprintf("P%d", p), Browse: []switchyard.Holder{H("group", fmt.Sprintf("g%d", p))}}
		if p == 5 {
			proj.Browse = []switchyard.Holder{H("reporter", "")}
		}
		perms.Projects = append(perms.Projects, proj)
	}
	newIssue := func(id int) switchyard.Issue {
		p := r.IntN(6)
		is := switchyard.Issue{ID: strconv.Itoa(id), Key: fmt.Sprintf("P%d-%d", p, id), ProjectID: strconv.Itoa(100 + p), ProjectKey: fmt.Sprintf("P%d", p),
			Summary: words(4), Description: words(10 + r.IntN(40)), Status: []string{"Open", "Done"}[r.IntN(2)], Reporter: []string{"u1", "u2"}[r.IntN(2)]}
		for c := range r.IntN(3) {
			is.Comments = append(is.Comments, switchyard.Comment{ID: fmt.Sprintf("%d-%d", id, c), Body: words(5 + r.IntN(20))})
		}
		return is
	}
	next := 1
	for range 8 {
		var batch []switchyard.Issue
		for range 60 {
			batch = append(batch, newIssue(next))
			next++
		}
		for range 10 {
			batch = append(batch, newIssue(1+r.IntN(next-1))) // replaced: deletions in older segments
		}
		if err := idx.IndexIssues(ctx, "c", batch); err != nil {
			t.Fatal(err)
		}
		if err := idx.DeleteIssue(ctx, "c", strconv.Itoa(1+r.IntN(next-1))); err != nil {
			t.Fatal(err)
		}
	}

	viewers := []Viewer{
		{AccountID: "u1", Known: true, Active: true, Groups: []string{"g0"}},
		{AccountID: "u2", Known: true, Active: true, Groups: []string{"g1", "g2", "g3", "g4"}},
	}
	queries := []string{"vpn", "vpn disk", "+vpn +disk", "vpn -printer", `"disk full"`, `summary:"password reset"`,
		"serv*", "pasword~1", "comment:outage", "status:done vpn", "*", `updated:>="2000-01-01" backup`}
	run := func(v Viewer, q string, from int) string {
		res, err := idx.Search(ctx, SearchRequest{Connection: "c", Query: q, Viewer: &v, Permissions: perms, From: from, Size: 50})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		fmt.Fprintf(&b, "total %d facets %v\n", res.Total, res.Facets)
		for _, h := range res.Hits {
			fmt.Fprintf(&b, "%s %.9f\n", h.ID, h.Score)
		}
		return b.String()
	}
	defer func() { prefilterPostings = true }()
	checked := 0
	for _, v := range viewers {
		for _, q := range queries {
			for _, from := range []int{0, 50} {
				prefilterPostings = false
				want := run(v, q, from)
				prefilterPostings = true
				got := run(v, q, from)
				if got != want {
					t.Errorf("viewer %s query %q from %d: with prefiltered postings\n%s\nwithout\n%s", v.AccountID, q, from, got, want)
				}
				if !strings.HasPrefix(want, "total 0 ") {
					checked++
				}
			}
		}
	}
	if checked < len(viewers)*len(queries) {
		t.Fatalf("only %d of the searches found anything: the comparison is too weak", checked)
	}
}
