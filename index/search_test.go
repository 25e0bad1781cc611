package index

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/mapping"

	"switchyard"
)

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// searchFixture is a small connection everyone may see.
func searchFixture(t *testing.T) (*Index, *Permissions) {
	t.Helper()
	idx, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { idx.Close() })
	issues := []switchyard.Issue{
		{ID: "1", Key: "IT-1", ProjectID: "100", ProjectKey: "IT", Summary: "VPN gateway drops tunnels", Description: "The vpn gateway in Berlin drops every tunnel after an hour. <script>alert(1)</script>",
			IssueType: "Incident", Status: "Done", Priority: "High", Labels: []string{"network"}, Created: day("2025-01-10"), Updated: day("2025-01-20"),
			URL:      "https://jira.example/browse/IT-1",
			Comments: []switchyard.Comment{{ID: "11", Body: "Restarted the gateway; tunnels are back.", Created: day("2025-01-11"), Updated: day("2025-01-12")}}},
		{ID: "2", Key: "IT-2", ProjectID: "100", ProjectKey: "IT", Summary: "Printer on floor 3 jams", Description: "Paper jams in the printer near the kitchen.",
			IssueType: "Service Request", Status: "In Progress", Priority: "Low", Created: day("2025-05-01"), Updated: day("2025-07-01"),
			Attachments: []switchyard.Attachment{{ID: "21", Filename: "printer-error.log", Text: "fatal stacktrace from the spooler", Created: day("2025-05-02")}}},
		{ID: "3", Key: "OPS-1", ProjectID: "200", ProjectKey: "OPS", Summary: "Disk full on build server", Description: "The build server disk is full again; vpn unaffected.",
			IssueType: "Bug", Status: "Done", Priority: "Medium", Created: day("2025-08-01"), Updated: day("2025-09-01")},
	}
	if err := idx.IndexIssues(context.Background(), "c", issues); err != nil {
		t.Fatal(err)
	}
	perms := &Permissions{Projects: []switchyard.Project{
		{ID: "100", Key: "IT", Browse: []switchyard.Holder{H("anyone", "")}},
		{ID: "200", Key: "OPS", Browse: []switchyard.Holder{H("anyone", "")}},
	}}
	return idx, perms
}

func ids(res *SearchResult) []string {
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.ID)
	}
	sort.Strings(out)
	return out
}

func TestSearchSyntax(t *testing.T) {
	idx, perms := searchFixture(t)
	tests := []struct {
		query string
		want  []string
	}{
		{`vpn`, []string{"c/issue/1", "c/issue/3"}},
		{`VPN`, []string{"c/issue/1", "c/issue/3"}},
		{`summary:vpn`, []string{"c/issue/1"}},
		{`summary:"vpn gateway"`, []string{"c/issue/1"}},
		{`"gateway vpn"`, nil},
		{`"disk is full"`, []string{"c/issue/3"}},
		{`"full disk"`, nil},
		{`"gateway in Berlin drops"`, []string{"c/issue/1"}},
		{`body:"berlin gateway"`, nil},
		{`"build server"`, []string{"c/issue/3"}},
		// Body phrases come from the pairs field: stop words between two
		// words count, whichever they are.
		{`"disk was full"`, []string{"c/issue/3"}},
		{`body:"disk full"`, []string{"c/issue/3"}}, // an issue's text includes its summary
		{`comment:"disk full"`, nil},
		{`body:"build server disk"`, []string{"c/issue/3"}},
		{`body:"server build disk"`, nil},
		{`comment:"tunnels are back"`, []string{"c/comment/1/11"}},
		{`comment:"tunnels back"`, nil},
		{`status:done`, []string{"c/comment/1/11", "c/issue/1", "c/issue/3"}},
		{`status:Done`, []string{"c/comment/1/11", "c/issue/1", "c/issue/3"}},
		{`status:"In Progress"`, []string{"c/attachment/2/21", "c/issue/2"}},
		{`+type:comment +tunnels`, []string{"c/comment/1/11"}},
		{`+tunnels -type:issue`, []string{"c/comment/1/11"}},
		{`key:it-2`, []string{"c/attachment/2/21", "c/issue/2"}},
		{`IT-2`, []string{"c/attachment/2/21", "c/issue/2"}},
		{`comment:restarted`, []string{"c/comment/1/11"}},
		{`description:gateway`, []string{"c/issue/1"}},
		{`attachment:stacktrace`, []string{"c/attachment/2/21"}},
		{`filename:printer`, []string{"c/attachment/2/21"}},
		{`label:network`, []string{"c/comment/1/11", "c/issue/1"}},
		{`issuetype:bug`, []string{"c/issue/3"}},
		{`+priority:high +vpn`, []string{"c/issue/1"}},
		{`project:ops`, []string{"c/issue/3"}},
		{`+vpn +updated:>="2025-06-01"`, []string{"c/issue/3"}},
		{`+type:issue +created:<"2025-02-01"`, []string{"c/issue/1"}},
		{`+type:issue +created:<"2025-01-10"`, nil},
		{`+type:issue +created:<="2025-01-10"`, []string{"c/issue/1"}},
		{`+updated:>"2025-07-01" +updated:<"2025-09-02"`, []string{"c/issue/3"}},
		{`printr~1`, []string{"c/attachment/2/21", "c/issue/2"}},
		{`spool*`, []string{"c/attachment/2/21"}},
		{`the`, nil},
		{`+the +printer`, []string{"c/attachment/2/21", "c/issue/2"}},
		{`jams`, []string{"c/issue/2"}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			res, err := idx.Search(context.Background(), SearchRequest{Connection: "c", Query: tt.query, Viewer: &Viewer{}, Permissions: perms})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(res); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("query %q: got %v, want %v", tt.query, got, tt.want)
			}
		})
	}
}

func TestSearchFilters(t *testing.T) {
	idx, perms := searchFixture(t)
	tests := []struct {
		name string
		req  SearchRequest
		want []string
	}{
		{"project", SearchRequest{Projects: []string{"OPS"}}, []string{"c/issue/3"}},
		{"types", SearchRequest{Types: []string{"comment", "attachment"}}, []string{"c/attachment/2/21", "c/comment/1/11"}},
		{"statuses", SearchRequest{Statuses: []string{"In Progress"}}, []string{"c/attachment/2/21", "c/issue/2"}},
		{"updated from", SearchRequest{UpdatedFrom: day("2025-06-01")}, []string{"c/issue/2", "c/issue/3"}},
		{"updated to (inclusive day)", SearchRequest{UpdatedTo: day("2025-01-20").Add(time.Hour)}, []string{"c/comment/1/11", "c/issue/1"}},
		{"updated to the day before", SearchRequest{UpdatedTo: day("2025-01-19")}, []string{"c/comment/1/11"}},
		{"updated window", SearchRequest{UpdatedFrom: day("2025-01-01"), UpdatedTo: day("2025-06-01")}, []string{"c/attachment/2/21", "c/comment/1/11", "c/issue/1"}},
		{"filters and query", SearchRequest{Query: "vpn", Projects: []string{"IT", "OPS"}, Types: []string{"issue"}}, []string{"c/issue/1", "c/issue/3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := tt.req
			req.Connection, req.Viewer, req.Permissions = "c", &Viewer{}, perms
			res, err := idx.Search(context.Background(), req)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(res); strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestSearchRequestRejected(t *testing.T) {
	idx, perms := searchFixture(t)
	for name, req := range map[string]SearchRequest{
		"size":       {Size: MaxSize + 1},
		"neg size":   {Size: -1},
		"from":       {From: -1},
		"window":     {From: MaxWindow},
		"type":       {Types: []string{"issues"}},
		"range":      {UpdatedFrom: day("2025-02-01"), UpdatedTo: day("2025-01-01")},
		"connection": {Connection: "a/b"},
	} {
		if req.Connection == "" {
			req.Connection = "c"
		}
		req.Viewer, req.Permissions = &Viewer{}, perms
		_, err := idx.Search(context.Background(), req)
		if !errors.Is(err, switchyard.ErrInvalid) {
			t.Errorf("%s: error %v, want ErrInvalid", name, err)
		}
	}
}

func TestSearchResultFields(t *testing.T) {
	idx, perms := searchFixture(t)
	ctx := context.Background()
	res, err := idx.Search(ctx, SearchRequest{Connection: "c", Query: "gateway", Viewer: &Viewer{}, Permissions: perms})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 2 || len(res.Hits) != 2 {
		t.Fatalf("total %d hits %d, want 2", res.Total, len(res.Hits))
	}
	for _, h := range res.Hits {
		if h.Key != "IT-1" || h.Project != "IT" || h.Status != "Done" || h.Title != "VPN gateway drops tunnels" || h.Score <= 0 {
			t.Errorf("hit %+v: wrong key, project, status, title or score", h)
		}
		if !strings.Contains(h.Snippet, "<mark>gateway</mark>") {
			t.Errorf("hit %s: snippet %q does not mark the match", h.ID, h.Snippet)
		}
		if strings.Contains(h.Snippet, "<script>") {
			t.Errorf("hit %s: snippet %q is not escaped", h.ID, h.Snippet)
		}
		switch h.Type {
		case TypeIssue:
			if h.URL != "https://jira.example/browse/IT-1" || !h.Updated.Equal(day("2025-01-20")) {
				t.Errorf("issue hit %+v: url or updated", h)
			}
		case TypeComment:
			if h.CommentID != "11" || h.URL != "https://jira.example/browse/IT-1?focusedCommentId=11" || !h.Updated.Equal(day("2025-01-12")) {
				t.Errorf("comment hit %+v: comment id, url or updated", h)
			}
		default:
			t.Errorf("unexpected hit %+v", h)
		}
	}
	// Facets over every match, not only the page.
	res, err = idx.Search(ctx, SearchRequest{Connection: "c", Viewer: &Viewer{}, Permissions: perms, Size: 1})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]string{
		"project":   {"IT=4", "OPS=1"},
		"status":    {"Done=3", "In Progress=2"},
		"type":      {"attachment=1", "comment=1", "issue=3"},
		"issuetype": {"Bug=1", "Incident=2", "Service Request=2"},
	}
	for name, w := range want {
		var parts []string
		for _, f := range res.Facets[name] {
			parts = append(parts, f.Value+"="+strconv.Itoa(f.Count))
		}
		sort.Strings(parts)
		if strings.Join(parts, ",") != strings.Join(w, ",") {
			t.Errorf("facet %s: got %v, want %v", name, parts, w)
		}
	}
	if res.Total != 5 || len(res.Hits) != 1 {
		t.Fatalf("size 1: total %d hits %d", res.Total, len(res.Hits))
	}
	// Paging walks every result once.
	seen := map[string]bool{}
	for from := 0; from < 5; from += 2 {
		page, err := idx.Search(ctx, SearchRequest{Connection: "c", Viewer: &Viewer{}, Permissions: perms, From: from, Size: 2})
		if err != nil {
			t.Fatal(err)
		}
		for _, h := range page.Hits {
			if seen[h.ID] {
				t.Fatalf("page from %d repeats %s", from, h.ID)
			}
			seen[h.ID] = true
		}
	}
	if len(seen) != 5 {
		t.Fatalf("paging saw %d documents, want 5", len(seen))
	}
}

// TestBM25Ranking: a short document that repeats the term outranks a long one
// that mentions it once, and the persisted mapping uses BM25.
func TestBM25Ranking(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	idx, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	long := strings.Repeat("unrelated filler words about nothing in particular ", 30)
	if err := idx.IndexIssues(ctx, "c", []switchyard.Issue{
		{ID: "1", Key: "A-1", ProjectID: "1", Summary: "one", Description: long + " kerberos"},
		{ID: "2", Key: "A-2", ProjectID: "1", Summary: "two", Description: "kerberos ticket kerberos realm"},
	}); err != nil {
		t.Fatal(err)
	}
	idx.Close()
	if idx, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if m, ok := idx.bleve.Mapping().(*mapping.IndexMappingImpl); !ok || m.ScoringModel != "bm25" {
		t.Fatalf("persisted mapping does not score with BM25: %T", idx.bleve.Mapping())
	}
	perms := &Permissions{Projects: []switchyard.Project{{ID: "1", Key: "A", Browse: []switchyard.Holder{H("anyone", "")}}}}
	res, err := idx.Search(ctx, SearchRequest{Connection: "c", Query: "kerberos", Viewer: &Viewer{}, Permissions: perms})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Hits) != 2 || res.Hits[0].Key != "A-2" || res.Hits[0].Score <= res.Hits[1].Score {
		t.Fatalf("ranking: %+v", res.Hits)
	}
}

// TestFilterCache: repeated searches reuse the viewer's filter, and a write
// (new snapshot) is seen at once.
func TestFilterCache(t *testing.T) {
	idx, perms := searchFixture(t)
	ctx := context.Background()
	v := &Viewer{AccountID: "u", Known: true, Active: true}
	search := func() uint64 {
		res, err := idx.Search(ctx, SearchRequest{Connection: "c", Query: "vpn", Viewer: v, Permissions: perms})
		if err != nil {
			t.Fatal(err)
		}
		return res.Total
	}
	first := search()
	hits := idx.filters.hits
	if second := search(); second != first {
		t.Fatalf("cached search found %d, first %d", second, first)
	}
	if idx.filters.hits <= hits {
		t.Fatalf("second search did not use the cached filter (hits %d → %d)", hits, idx.filters.hits)
	}
	if err := idx.IndexIssue(ctx, "c", switchyard.Issue{ID: "9", Key: "IT-9", ProjectID: "100", Summary: "another vpn outage"}); err != nil {
		t.Fatal(err)
	}
	if got := search(); got != first+1 {
		t.Fatalf("after a write: %d results, want %d", got, first+1)
	}
	// A grant change yields another filter: nothing stale is served.
	p2 := &Permissions{Projects: []switchyard.Project{perms.Projects[0]}}
	res, err := idx.Search(ctx, SearchRequest{Connection: "c", Query: "vpn", Viewer: v, Permissions: p2})
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range res.Hits {
		if h.Project != "IT" {
			t.Fatalf("after the OPS grant went away, found %s", h.ID)
		}
	}
}

// TestConcurrentSearchAndWrite: searches share the filter cache while a writer
// changes snapshots; run with -race.
func TestConcurrentSearchAndWrite(t *testing.T) {
	idx, perms := searchFixture(t)
	ctx := context.Background()
	done := make(chan error, 5)
	for g := range 4 {
		go func() {
			v := &Viewer{AccountID: "u" + strconv.Itoa(g%2), Known: true, Active: true}
			for range 50 {
				if _, err := idx.Search(ctx, SearchRequest{Connection: "c", Query: "vpn", Viewer: v, Permissions: perms}); err != nil {
					done <- err
					return
				}
			}
			done <- nil
		}()
	}
	go func() {
		for i := range 20 {
			is := switchyard.Issue{ID: strconv.Itoa(100 + i), Key: "IT-" + strconv.Itoa(100+i), ProjectID: "100", Summary: "vpn " + strconv.Itoa(i)}
			if err := idx.IndexIssue(ctx, "c", is); err != nil {
				done <- err
				return
			}
		}
		done <- nil
	}()
	for range 5 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	res, err := idx.Search(ctx, SearchRequest{Connection: "c", Query: "vpn", Viewer: &Viewer{}, Permissions: perms, Size: 100})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 22 {
		t.Fatalf("after concurrent writes: %d vpn documents, want 22", res.Total)
	}
}
