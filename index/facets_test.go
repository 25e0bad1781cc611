package index

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"switchyard"
)

// TestFacetsMatchHits checks facet counts against the hits themselves on an
// on-disk index written in many batches (many segments, merges running),
// with issues replaced and deleted between searches (deleted documents in old
// segments), and a viewer who sees only part of it: a count must include
// every visible match and nothing else.
func TestFacetsMatchHits(t *testing.T) {
	ctx := context.Background()
	idx := openManySegments(t)

	projects := []string{"A", "B", "C", "D"}
	perms := &Permissions{}
	for i, k := range projects {
		p := switchyard.Project{ID: strconv.Itoa(100 + i), Key: k, Browse: []switchyard.Holder{H("group", "g-"+k)}}
		if k == "C" {
			p.Browse = append(p.Browse, H("reporter", ""))
		}
		perms.Projects = append(perms.Projects, p)
	}
	viewer := Viewer{AccountID: "u1", Known: true, Active: true, Groups: []string{"g-A", "g-B"}}
	r := rand.New(rand.NewPCG(5, 6))
	words := []string{"vpn", "disk", "printer", "login"}
	issueType := map[string]string{} // issue id → issue type, for checking the issuetype facet
	newIssue := func(id int) switchyard.Issue {
		p := r.IntN(len(projects))
		is := switchyard.Issue{
			ID: strconv.Itoa(id), Key: fmt.Sprintf("%s-%d", projects[p], id), ProjectID: strconv.Itoa(100 + p), ProjectKey: projects[p],
			Summary: words[r.IntN(4)] + " " + words[r.IntN(4)], Description: words[r.IntN(4)],
			Status: []string{"Open", "In Progress", "Done"}[r.IntN(3)], IssueType: []string{"Bug", "Task"}[r.IntN(2)],
			Reporter: []string{"u1", "u2"}[r.IntN(2)],
		}
		for c := range r.IntN(3) {
			is.Comments = append(is.Comments, switchyard.Comment{ID: fmt.Sprintf("%d-%d", id, c), Body: words[r.IntN(4)]})
		}
		if r.IntN(4) == 0 {
			is.Attachments = append(is.Attachments, switchyard.Attachment{ID: fmt.Sprintf("%d-a", id), Filename: "x.log", Text: words[r.IntN(4)]})
		}
		issueType[is.ID] = is.IssueType
		return is
	}

	check := func(round int) {
		t.Helper()
		for _, q := range []string{"*", "vpn", "disk OR printer", `-login`} {
			res, err := idx.Search(ctx, SearchRequest{Connection: "c", Query: q, Viewer: &viewer, Permissions: perms, Size: 1})
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]map[string]int{"project": {}, "status": {}, "type": {}, "issuetype": {}}
			var total uint64
			for from := 0; ; from += MaxSize {
				page, err := idx.Search(ctx, SearchRequest{Connection: "c", Query: q, Viewer: &viewer, Permissions: perms, From: from, Size: MaxSize})
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range page.Hits {
					want["project"][h.Project]++
					want["status"][h.Status]++
					want["type"][h.Type]++
					want["issuetype"][issueType[h.IssueID]]++
					total++
				}
				if len(page.Hits) < MaxSize {
					break
				}
			}
			if total != res.Total {
				t.Fatalf("round %d %q: paged %d hits, total says %d", round, q, total, res.Total)
			}
			for name, counts := range want {
				got := map[string]int{}
				for _, f := range res.Facets[name] {
					got[f.Value] = f.Count
				}
				if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(counts)) {
					t.Errorf("round %d %q facet %s: got %v, want %v", round, q, name, sorted(got), sorted(counts))
				}
			}
			if round > 0 && total == 0 && q == "*" {
				t.Fatalf("round %d: the viewer sees nothing; the test checks nothing", round)
			}
		}
	}

	next := 1
	var live []string
	for round := range 6 {
		var batch []switchyard.Issue
		for range 40 {
			batch = append(batch, newIssue(next))
			live = append(live, strconv.Itoa(next))
			next++
		}
		// Replace some earlier issues (their old documents become deletions
		// in older segments) and delete others.
		for range 10 {
			if len(live) == 0 {
				break
			}
			id, _ := strconv.Atoi(live[r.IntN(len(live))])
			batch = append(batch, newIssue(id))
		}
		if err := idx.IndexIssues(ctx, "c", batch); err != nil {
			t.Fatal(err)
		}
		for range 5 {
			i := r.IntN(len(live))
			if err := idx.DeleteIssue(ctx, "c", live[i]); err != nil {
				t.Fatal(err)
			}
			live = append(live[:i], live[i+1:]...)
		}
		check(round)
	}
	if err := idx.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check(99)
}

// manySegments keeps scorch from merging small segments (what it does
// first), so that tests search across many segments.
var manySegments = map[string]any{
	"scorchMergePlanOptions": map[string]any{"maxSegmentsPerTier": 1000, "segmentsPerMergeTask": 2},
	"scorchPersisterOptions": map[string]any{"NumPersisterWorkers": 1, "MaxSizeInMemoryMergePerWorker": 1},
}

// openManySegments opens an on-disk index that keeps its segments apart.
func openManySegments(t *testing.T) *Index {
	t.Helper()
	idx, err := open(filepath.Join(t.TempDir(), "index.bleve"), manySegments)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	return idx
}

func sorted(m map[string]int) []string {
	var out []string
	for k, v := range m {
		out = append(out, k+"="+strconv.Itoa(v))
	}
	sort.Strings(out)
	return out
}
