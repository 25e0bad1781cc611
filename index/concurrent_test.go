package index

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"testing"

	"switchyard"
)

// TestSearchWhileWriting runs searches by several viewers while issues are
// written, replaced and deleted: the shared caches (viewer filters, filter
// bitmaps per snapshot and segment, facet bitmaps) see new snapshots all the
// time, and no search may fail or show a project its viewer cannot browse.
// scripts/test runs it with the race detector.
func TestSearchWhileWriting(t *testing.T) {
	ctx := context.Background()
	idx := openManySegments(t)
	perms := &Permissions{}
	for p := range 4 {
		perms.Projects = append(perms.Projects, switchyard.Project{ID: strconv.Itoa(100 + p), Key: fmt.Sprintf("P%d", p),
			Browse: []switchyard.Holder{H("group", fmt.Sprintf("g%d", p))}})
	}
	issue := func(id int) switchyard.Issue {
		p := id % 4
		return switchyard.Issue{ID: strconv.Itoa(id), Key: fmt.Sprintf("P%d-%d", p, id), ProjectID: strconv.Itoa(100 + p), ProjectKey: fmt.Sprintf("P%d", p),
			Summary: "vpn outage " + strconv.Itoa(id), Description: "the vpn gateway drops", Status: "Open",
			Comments: []switchyard.Comment{{ID: strconv.Itoa(id) + "-c", Body: "vpn restarted"}}}
	}
	if err := idx.IndexIssues(ctx, "c", []switchyard.Issue{issue(1), issue(2), issue(3), issue(4)}); err != nil {
		t.Fatal(err)
	}

	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			groups := []string{fmt.Sprintf("g%d", w%4)}
			if w == 3 {
				groups = append(groups, "g1")
			}
			allowed := map[string]bool{}
			for _, g := range groups {
				allowed["P"+g[1:]] = true
			}
			v := Viewer{AccountID: fmt.Sprint("u", w), Known: true, Active: true, Groups: groups}
			for n := 0; ; n++ {
				select {
				case <-done:
					if n == 0 {
						errs <- fmt.Errorf("viewer %d searched nothing", w)
					}
					return
				default:
				}
				res, err := idx.Search(ctx, SearchRequest{Connection: "c", Query: []string{"vpn", `"vpn gateway"`, "*"}[n%3], Viewer: &v, Permissions: perms, Size: 50})
				if err != nil {
					errs <- err
					return
				}
				for _, h := range res.Hits {
					if !allowed[h.Project] {
						errs <- fmt.Errorf("viewer %d in %v sees %s of project %s", w, groups, h.ID, h.Project)
						return
					}
				}
				for _, f := range res.Facets["project"] {
					if !allowed[f.Value] {
						errs <- fmt.Errorf("viewer %d in %v: project facet counts %s", w, groups, f.Value)
						return
					}
				}
			}
		}()
	}
	for id := 5; id < 120; id++ {
		if err := idx.IndexIssue(ctx, "c", issue(id)); err != nil {
			t.Fatal(err)
		}
		if id%7 == 0 {
			if err := idx.DeleteIssue(ctx, "c", strconv.Itoa(id-3)); err != nil {
				t.Fatal(err)
			}
		}
	}
	close(done)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
