package index

import (
	"context"
	"flag"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"switchyard"
)

// BenchmarkSearchLatency is what scripts/bench-search runs: it builds (or
// reuses) a generated on-disk index and prints latency percentiles per query
// kind and viewer size, the permission-filter overhead and the index size.
// It reports once; run it with -benchtime=1x.
var (
	benchDocs    = flag.Int("docs", 1_000_000, "bench-search: documents in the generated index")
	benchDir     = flag.String("dir", "", "bench-search: index directory (reused when it exists; default a temporary one)")
	benchQueries = flag.Int("queries", 200, "bench-search: queries per measurement")
	benchOnly    = flag.String("only", "", "bench-search: measure only this query kind (rare-term, common-term, phrase)")
)

func BenchmarkSearchLatency(b *testing.B) {
	for range b.N {
		if err := runBench(b); err != nil {
			b.Fatal(err)
		}
	}
}

const (
	benchConn     = "bench"
	benchProjects = 200
	benchGroups   = 2000
)

// benchWorld is the generated permission data: projects granting browse to a
// group, a role (with group actors), reporter and assignee; a fifth of them
// have security levels.
func benchWorld() *Permissions {
	p := &Permissions{Groups: map[string]string{}}
	for g := range benchGroups {
		p.Groups[groupID(g)] = "group-" + strconv.Itoa(g)
	}
	p.ApplicationRoles = []switchyard.ApplicationRole{{Key: "jira-software", Groups: []string{groupID(0)}}}
	for i := range benchProjects {
		pid := strconv.Itoa(10000 + i)
		proj := switchyard.Project{ID: pid, Key: projKey(i), LeadAccountID: "lead-" + pid}
		proj.Roles = []switchyard.ProjectRole{
			{ID: "10000", Name: "Users", Actors: switchyard.RoleActors{Groups: []string{groupID(10 * i % benchGroups), groupID((10*i + 1) % benchGroups)}}},
			{ID: "10001", Name: "Developers", Actors: switchyard.RoleActors{Groups: []string{groupID((10*i + 2) % benchGroups)}}},
		}
		proj.Browse = []switchyard.Holder{
			{Type: switchyard.HolderGroup, Parameter: groupID((10*i + 3) % benchGroups)},
			{Type: switchyard.HolderProjectRole, Parameter: "10000"},
			{Type: switchyard.HolderReporter},
			{Type: switchyard.HolderAssignee},
			{Type: switchyard.HolderUserCustomField, Parameter: "customfield_10050"},
		}
		if i%10 == 0 {
			proj.Browse = append(proj.Browse, switchyard.Holder{Type: switchyard.HolderApplicationRole})
		}
		if i%5 == 0 {
			proj.SecurityLevels = []switchyard.SecurityLevel{
				{ID: "10100", Name: "Confidential", Members: []switchyard.Holder{{Type: switchyard.HolderProjectRole, Parameter: "10001"}, {Type: switchyard.HolderReporter}}},
				{ID: "10101", Name: "Internal", Members: []switchyard.Holder{{Type: switchyard.HolderGroupCustomField, Parameter: "customfield_10051"}, {Type: switchyard.HolderProjectRole, Parameter: "10000"}}},
			}
		}
		p.Projects = append(p.Projects, proj)
	}
	return p
}

func groupID(g int) string { return fmt.Sprintf("g-%04d", g) }
func projKey(i int) string { return "P" + strconv.Itoa(i) }

// benchViewer is a user in n groups: n=5 reaches a handful of projects, 100
// about half, 1000 nearly all.
func benchViewer(n int) Viewer {
	v := Viewer{AccountID: fmt.Sprintf("user-%d", n), Known: true, Active: true}
	r := rand.New(rand.NewPCG(uint64(n), 7))
	seen := map[int]bool{}
	for len(v.Groups) < n {
		g := r.IntN(benchGroups)
		if !seen[g] {
			seen[g] = true
			v.Groups = append(v.Groups, groupID(g))
		}
	}
	return v
}

// textGen writes plausible ticket text: a head of real IT words and a long
// Zipf tail of made-up ones, so that rare words are truly rare.
type textGen struct {
	r     *rand.Rand
	zipf  *rand.Zipf
	vocab []string
}

var benchHead = strings.Fields(`the a to is of and in for on with it not we after user server error
vpn access password reset laptop email login network printer disk full database timeout deploy build
failed request ticket please help issue cannot connect update install license account locked
outage slow latency certificate expired renew firewall rule port open proxy dns resolve cluster node
pod restart memory cpu alert monitor backup restore storage quota share folder permission denied
group role admin onboarding offboarding hardware software upgrade patch release version rollback
incident problem change approval manager team office wifi badge meeting room calendar phone mobile`)

func newTextGen(seed uint64) *textGen {
	r := rand.New(rand.NewPCG(seed, seed^0x5bd1e995))
	syl := strings.Fields("ka lo mi nu te ra si vo pe da gu fi ze ho ba ti mo ne lu sa ke ri po ve")
	vocab := append([]string(nil), benchHead...)
	seen := map[string]bool{}
	for _, w := range vocab {
		seen[w] = true
	}
	for len(vocab) < 60000 {
		n := 2 + r.IntN(3)
		var b strings.Builder
		for range n {
			b.WriteString(syl[r.IntN(len(syl))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			vocab = append(vocab, w)
		}
	}
	return &textGen{r: r, zipf: rand.NewZipf(r, 1.1, 2, uint64(len(vocab)-1)), vocab: vocab}
}

func (g *textGen) words(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(g.vocab[g.zipf.Uint64()])
	}
	return b.String()
}

type benchQuerySet struct{ rare, common, phrase []string }

// buildBenchIndex writes docs documents (issues with comments and some
// attachments) and returns the raw text bytes and the query terms.
func buildBenchIndex(ctx context.Context, idx *Index, docs int, logf func(string, ...any)) (int64, error) {
	g := newTextGen(1)
	r := rand.New(rand.NewPCG(2, 3))
	var raw int64
	start := time.Now()
	var batch []switchyard.Issue
	n, issueID, child := 0, 100000, 1
	for n < docs {
		i := r.IntN(benchProjects)
		pid := strconv.Itoa(10000 + i)
		issueID++
		is := switchyard.Issue{
			ID: strconv.Itoa(issueID), Key: fmt.Sprintf("%s-%d", projKey(i), issueID), ProjectID: pid, ProjectKey: projKey(i),
			Summary: g.words(5 + r.IntN(8)), Description: g.words(30 + r.IntN(270)),
			IssueType: []string{"Task", "Bug", "Incident"}[r.IntN(3)], Status: []string{"Open", "In Progress", "Done"}[r.IntN(3)],
			Priority: "Medium", Reporter: fmt.Sprintf("user-%d", r.IntN(5000)), Assignee: fmt.Sprintf("user-%d", r.IntN(5000)),
			Created: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(r.IntN(600*24)) * time.Hour),
			URL:     "https://example.atlassian.net/browse/" + projKey(i) + "-" + strconv.Itoa(issueID),
		}
		is.Updated = is.Created.Add(time.Duration(r.IntN(1000)) * time.Hour)
		if i%5 == 0 && r.IntN(3) == 0 {
			is.SecurityLevelID = []string{"10100", "10101"}[r.IntN(2)]
		}
		if r.IntN(10) == 0 {
			is.CustomFields = map[string][]string{"customfield_10050": {fmt.Sprintf("user-%d", r.IntN(5000))}, "customfield_10051": {groupID(r.IntN(benchGroups))}}
		}
		raw += int64(len(is.Summary) + len(is.Description))
		n++
		for range r.IntN(6) {
			if n >= docs {
				break
			}
			child++
			c := switchyard.Comment{ID: strconv.Itoa(child), Body: g.words(10 + r.IntN(110)), Created: is.Updated}
			if r.IntN(10) == 0 {
				c.Visibility = &switchyard.Visibility{Type: "group", Identifier: groupID(r.IntN(benchGroups))}
			} else if r.IntN(20) == 0 {
				c.Visibility = &switchyard.Visibility{Type: "role", Value: "Developers", Identifier: "Developers"}
			}
			raw += int64(len(c.Body))
			is.Comments = append(is.Comments, c)
			n++
		}
		if n < docs && r.IntN(5) == 0 {
			child++
			a := switchyard.Attachment{ID: strconv.Itoa(child), Filename: g.words(1) + ".log", Text: g.words(100 + r.IntN(1400)), Created: is.Created}
			raw += int64(len(a.Filename) + len(a.Text))
			is.Attachments = append(is.Attachments, a)
			n++
		}
		batch = append(batch, is)
		if len(batch) == 2000 || n >= docs {
			if err := idx.IndexIssues(ctx, benchConn, batch); err != nil {
				return 0, err
			}
			batch = batch[:0]
			if n%50000 < 8000 {
				el := time.Since(start)
				logf("  indexed %d docs in %s (%.0f docs/s)", n, el.Round(time.Second), float64(n)/el.Seconds())
			}
		}
	}
	return raw, nil
}

func benchQueriesFor(nq int) benchQuerySet {
	g := newTextGen(1)
	r := rand.New(rand.NewPCG(9, 9))
	var qs benchQuerySet
	// Rare: ranks deep in the tail; common: the head (minus stop words).
	for range nq {
		qs.rare = append(qs.rare, g.vocab[5000+r.IntN(20000)])
		qs.common = append(qs.common, benchHead[10+r.IntN(40)])
		qs.phrase = append(qs.phrase, `"`+benchHead[10+r.IntN(60)]+" "+benchHead[10+r.IntN(60)]+`"`)
	}
	return qs
}

func dirSize(path string) (int64, error) {
	var total int64
	err := filepath.WalkDir(path, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			total += info.Size()
		}
		return nil
	})
	return total, err
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	k := int(p*float64(len(s))+0.5) - 1
	k = max(0, min(k, len(s)-1))
	return s[k]
}

func runBench(b *testing.B) error {
	ctx := context.Background()
	logf := func(f string, a ...any) { fmt.Printf(f+"\n", a...) }
	dir := *benchDir
	if dir == "" {
		dir = filepath.Join(b.TempDir(), "bench.bleve")
	}
	metaPath := filepath.Join(dir, "bench-meta.txt")
	var raw int64
	if meta, err := os.ReadFile(metaPath); err == nil {
		var docs int
		if _, err := fmt.Sscanf(string(meta), "%d %d", &docs, &raw); err != nil || docs != *benchDocs {
			return fmt.Errorf("%s holds an index of %d documents, not %d: remove it or pass another -dir", dir, docs, *benchDocs)
		}
		logf("reusing index %s (%d documents)", dir, docs)
	} else {
		if _, err := os.Stat(dir); err == nil {
			return fmt.Errorf("%s exists but was not built by bench-search: remove it", dir)
		}
		logf("building index of %d documents in %s", *benchDocs, dir)
		idx, err := Open(dir)
		if err != nil {
			return err
		}
		start := time.Now()
		if raw, err = buildBenchIndex(ctx, idx, *benchDocs, logf); err != nil {
			idx.Close()
			return err
		}
		logf("built in %s (%.0f docs/s)", time.Since(start).Round(time.Second), float64(*benchDocs)/time.Since(start).Seconds())
		if size, err := dirSize(dir); err == nil {
			logf("index size before compaction: %.1f MiB", float64(size)/(1<<20))
		}
		t0 := time.Now()
		if err := idx.Compact(ctx); err != nil {
			idx.Close()
			return err
		}
		logf("compacted in %s", time.Since(t0).Round(time.Second))
		if err := idx.Close(); err != nil {
			return err
		}
		if err := os.WriteFile(metaPath, []byte(fmt.Sprintf("%d %d\n", *benchDocs, raw)), 0o644); err != nil {
			return err
		}
	}

	idx, err := Open(dir)
	if err != nil {
		return err
	}
	defer idx.Close()
	// Scorch removes merged-away segment files in the background: wait for
	// that before measuring the size.
	for i := 0; i < 60; i++ {
		zaps, _ := filepath.Glob(filepath.Join(dir, "store", "*.zap"))
		if len(zaps) <= 1 {
			break
		}
		time.Sleep(time.Second)
	}
	is, cs, as, err := idx.Count(ctx, benchConn)
	if err != nil {
		return err
	}
	size, err := dirSize(dir)
	if err != nil {
		return err
	}
	logf("documents: %d issues, %d comments, %d attachments", is, cs, as)
	logf("index size: %.1f MiB, %.0f bytes/doc; raw text %.1f MiB, %.0f bytes/doc; ratio %.2fx (target <= 1.5x)",
		float64(size)/(1<<20), float64(size)/float64(*benchDocs), float64(raw)/(1<<20), float64(raw)/float64(*benchDocs), float64(size)/float64(raw))

	perms := benchWorld()
	qs := benchQueriesFor(*benchQueries)
	kinds := []struct {
		name string
		qs   []string
	}{{"rare-term", qs.rare}, {"common-term", qs.common}, {"phrase", qs.phrase}}
	measure := func(v Viewer, queries []string, noFilter bool) ([]time.Duration, uint64, error) {
		var lat []time.Duration
		var hits uint64
		for _, q := range queries {
			t0 := time.Now()
			res, err := idx.Search(ctx, SearchRequest{Connection: benchConn, Query: q, Viewer: &v, Permissions: perms, Size: 20, noFilter: noFilter})
			if err != nil {
				return nil, 0, err
			}
			lat = append(lat, time.Since(t0))
			hits += res.Total
		}
		return lat, hits / uint64(len(queries)), nil
	}
	// Warm up the OS page cache like a running server would be.
	if _, _, err := measure(benchViewer(5), qs.common[:min(20, len(qs.common))], false); err != nil {
		return err
	}
	logf("\nlatency per search (%d queries each, size 20, with facets and snippets)", len(qs.rare))
	logf("  filter: the viewer's permission filter cached per index snapshot (steady state)")
	logf("  cold: the filter evaluated from scratch on every search (a viewer's first search, or after a merge)")
	logf("  none: no permission filter (internal measurement only)")
	logf("\n%-12s %5s %9s %9s %9s %9s %9s %9s %10s", "query", "princ", "p50", "p95", "p99", "cold p50", "none p50", "overhead", "avg total")
	for _, k := range kinds {
		if *benchOnly != "" && k.name != *benchOnly {
			continue
		}
		for _, n := range []int{5, 100, 1000} {
			v := benchViewer(n)
			idx.filters.disabled = true
			cold, _, err := measure(v, k.qs, false)
			if err != nil {
				return err
			}
			idx.filters.disabled = false
			lat, hits, err := measure(v, k.qs, false)
			if err != nil {
				return err
			}
			base, _, err := measure(v, k.qs, true)
			if err != nil {
				return err
			}
			p50, p50b := pct(lat, 0.5), pct(base, 0.5)
			r := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
			logf("%-12s %5d %9s %9s %9s %9s %9s %8.0f%% %10d", k.name, n, r(p50), r(pct(lat, 0.95)), r(pct(lat, 0.99)),
				r(pct(cold, 0.5)), r(p50b), 100*(float64(p50)-float64(p50b))/float64(p50b), hits)
		}
	}
	if err := benchSuggest(ctx, idx, perms, logf); err != nil {
		return err
	}
	return benchAfterWrites(ctx, idx, perms, kinds[:2], logf)
}

// benchSuggest measures suggestions as the console's search box asks for
// them: a key prefix, a word prefix, and a word followed by a prefix.
func benchSuggest(ctx context.Context, idx *Index, perms *Permissions, logf func(string, ...any)) error {
	r := rand.New(rand.NewPCG(5, 8))
	n := *benchQueries
	kinds := []struct {
		name string
		qs   []string
	}{{name: "key-prefix"}, {name: "word-prefix"}, {name: "words+prefix"}}
	for range n {
		id := strconv.Itoa(100001 + r.IntN(max(*benchDocs/5, 10)))
		kinds[0].qs = append(kinds[0].qs, strings.ToLower(projKey(r.IntN(benchProjects)))+"-"+id[:3+r.IntN(4)])
		w := benchHead[10+r.IntN(40)]
		kinds[1].qs = append(kinds[1].qs, w[:min(len(w), 2+r.IntN(3))])
		w2 := benchHead[10+r.IntN(40)]
		kinds[2].qs = append(kinds[2].qs, w+" "+w2[:min(len(w2), 2+r.IntN(3))])
	}
	logf("\nsuggestions (%d prefixes each, size %d)", n, DefaultSuggestSize)
	logf("%-12s %5s %9s %9s %9s", "prefix", "princ", "p50", "p95", "p99")
	for _, k := range kinds {
		for _, princ := range []int{5, 100, 1000} {
			v := benchViewer(princ)
			var lat []time.Duration
			for _, q := range k.qs {
				t0 := time.Now()
				if _, err := idx.Suggest(ctx, SuggestRequest{Connection: benchConn, Prefix: q, Viewer: &v, Permissions: perms}); err != nil {
					return err
				}
				lat = append(lat, time.Since(t0))
			}
			r := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
			logf("%-12s %5d %9s %9s %9s", k.name, princ, r(pct(lat, 0.5)), r(pct(lat, 0.95)), r(pct(lat, 0.99)))
		}
	}
	return nil
}

// benchAfterWrites measures the first search after a write, as a server
// taking webhooks sees it: each search follows the indexing of one issue
// (a new segment), so the filter and facet bitmaps of that segment are
// computed before answering. The written issues are removed and the index
// compacted again afterwards, so that -dir stays reusable.
func benchAfterWrites(ctx context.Context, idx *Index, perms *Permissions, kinds []struct {
	name string
	qs   []string
}, logf func(string, ...any)) error {
	const writesConn, searches = "bench-writes", 40
	logf("\nfirst search after a write (%d searches each, one issue indexed before each)", searches)
	logf("%-12s %5s %9s %9s", "query", "princ", "p50", "p95")
	id := 0
	for _, k := range kinds {
		for _, n := range []int{5, 100, 1000} {
			v := benchViewer(n)
			var lat []time.Duration
			for i := range min(searches, len(k.qs)) {
				id++
				is := switchyard.Issue{ID: strconv.Itoa(id), Key: "W-" + strconv.Itoa(id), ProjectID: "10000", ProjectKey: "W",
					Summary: "written during the benchmark", Description: k.qs[i], Status: "Open", IssueType: "Task"}
				if err := idx.IndexIssue(ctx, writesConn, is); err != nil {
					return err
				}
				t0 := time.Now()
				if _, err := idx.Search(ctx, SearchRequest{Connection: benchConn, Query: k.qs[i], Viewer: &v, Permissions: perms, Size: 20}); err != nil {
					return err
				}
				lat = append(lat, time.Since(t0))
			}
			r := func(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }
			logf("%-12s %5d %9s %9s", k.name, n, r(pct(lat, 0.5)), r(pct(lat, 0.95)))
		}
	}
	if err := idx.DeleteConnection(ctx, writesConn); err != nil {
		return err
	}
	return idx.Compact(ctx)
}
