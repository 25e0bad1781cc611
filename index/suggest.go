package index

import (
	"context"
	"regexp"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/search/query"

	"switchyard"
)

// Suggestions complete what the search box holds so far: issue keys by
// prefix (ops-1 → OPS-1, OPS-10, …) and summaries whose words start with
// what was typed (the last word a prefix, the others whole words), issues
// only, under the user's permission filter like every search: a key the
// user may not see is never suggested. The prefix of the last word is
// expanded to at most suggestExpansions of its most frequent completions,
// which bounds the cost of a short prefix on a large index.

const (
	DefaultSuggestSize = 8
	MaxSuggestSize     = 20
	suggestExpansions  = 24
	suggestMinPrefix   = 2 // letters of a summary word before it is completed
	maxSuggestBytes    = 200
)

var keyPrefixLike = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*-[0-9]*$`)

// SuggestRequest is the text typed so far, as a user.
type SuggestRequest struct {
	Connection  string
	Prefix      string
	AsUser      string // see SearchRequest
	Viewer      *Viewer
	Permissions *Permissions
	Size        int // default DefaultSuggestSize, at most MaxSuggestSize
}

// Suggestion is one completion: an issue, matched by its key or summary.
type Suggestion struct {
	Key     string `json:"key"`
	Title   string `json:"title"`
	Match   string `json:"match"` // key | summary
	Project string `json:"project"`
	Status  string `json:"status,omitempty"`
	URL     string `json:"url,omitempty"`
}

// Suggest returns completions of req.Prefix that the user may see: keys
// first (the exact key, then the shortest), then summaries by BM25.
func (idx *Index) Suggest(ctx context.Context, req SuggestRequest) ([]Suggestion, error) {
	start := time.Now()
	if err := validConn(req.Connection); err != nil {
		return nil, err
	}
	size := req.Size
	if size == 0 {
		size = DefaultSuggestSize
	}
	if size < 1 || size > MaxSuggestSize {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "size", "%d is out of range 1..%d", req.Size, MaxSuggestSize)
	}
	prefix := strings.TrimSpace(req.Prefix)
	if len(prefix) > maxSuggestBytes {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "q", "too long (%d bytes, at most %d)", len(prefix), maxSuggestBytes)
	}
	if !utf8.ValidString(prefix) {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "q", "not valid UTF-8")
	}
	out := []Suggestion{}
	if prefix == "" {
		return out, nil
	}
	sreq, err := idx.withViewer(ctx, SearchRequest{Connection: req.Connection, AsUser: req.AsUser, Viewer: req.Viewer, Permissions: req.Permissions, Types: []string{TypeIssue}})
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	add := func(res *SearchResult, match string) {
		for _, h := range res.Hits {
			if len(out) < size && !seen[h.Key] {
				seen[h.Key] = true
				out = append(out, Suggestion{Key: h.Key, Title: h.Title, Match: match, Project: h.Project, Status: h.Status, URL: h.URL})
			}
		}
	}
	if keyPrefixLike.MatchString(prefix) {
		kp := strings.ToUpper(prefix)
		// The exact key first; then the shortest keys (OPS-1, OPS-10..19, …),
		// each length most recent first.
		var qs []query.Query
		if keyLike.MatchString(kp) {
			qs = append(qs, &constScoreQuery{q: termQ(fKey, kp), score: 1e6})
		}
		pq := query.NewPrefixQuery(kp)
		pq.SetField(fKey)
		qs = append(qs, &constScoreQuery{q: pq, score: 1})
		res, err := idx.run(ctx, sreq, or(qs...), nil, MaxSuggestSize*5, start)
		if err != nil {
			return nil, err
		}
		sort.SliceStable(res.Hits, func(i, j int) bool {
			a, b := res.Hits[i], res.Hits[j]
			if (a.Key == kp) != (b.Key == kp) {
				return a.Key == kp
			}
			return len(a.Key) < len(b.Key)
		})
		add(res, "key")
	}
	if len(out) < size {
		q, terms, err := idx.summaryPrefixQuery(prefix)
		if err != nil {
			return nil, err
		}
		if q != nil {
			res, err := idx.run(ctx, sreq, q, terms, size, start)
			if err != nil {
				return nil, err
			}
			add(res, "summary")
		}
	}
	return out, nil
}

// summaryPrefixQuery: every word but the last whole, the last a prefix
// (when it has suggestMinPrefix characters; else a whole word too).
func (idx *Index) summaryPrefixQuery(text string) (query.Query, map[string]bool, error) {
	fields := strings.Fields(text)
	last := strings.ToLower(fields[len(fields)-1])
	an := idx.mapping.AnalyzerNamed(idx.mapping.FieldMappingForPath(fSummary).Analyzer)
	if an == nil {
		an = idx.analyzer()
	}
	terms := map[string]bool{}
	var must []query.Query
	for _, w := range fields[:len(fields)-1] {
		for _, tok := range an.Analyze([]byte(w)) {
			t := string(tok.Term)
			if !terms[t] {
				terms[t] = true
				must = append(must, termQ(fSummary, t))
			}
		}
	}
	var lastQ []query.Query
	for _, tok := range an.Analyze([]byte(last)) {
		lastQ = append(lastQ, termQ(fSummary, string(tok.Term)))
		terms[string(tok.Term)] = true
	}
	if utf8.RuneCountInString(last) >= suggestMinPrefix && isWordPrefix(last) {
		exp, err := idx.prefixTerms(fSummary, last, suggestExpansions)
		if err != nil {
			return nil, nil, err
		}
		for _, t := range exp {
			if !terms[t] {
				lastQ = append(lastQ, termQ(fSummary, t))
				terms[t] = true
			}
		}
	}
	if len(lastQ) > 0 {
		must = append(must, or(lastQ...))
	}
	if len(must) == 0 {
		return nil, nil, nil
	}
	return and(must...), terms, nil
}

func isWordPrefix(s string) bool {
	for _, r := range s {
		if !alnum(r) {
			return false
		}
	}
	return true
}

// prefixTerms returns up to n terms of field starting with prefix, the most
// frequent first.
func (idx *Index) prefixTerms(field, prefix string, n int) ([]string, error) {
	r, err := idx.reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	dict, err := r.FieldDictPrefix(field, []byte(prefix))
	if err != nil {
		return nil, err
	}
	defer dict.Close()
	var all []weightedTerm[uint64]
	for {
		e, err := dict.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			break
		}
		all = append(all, weightedTerm[uint64]{e.Term, e.Count})
	}
	return topTerms(all, n), nil
}
