package index

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"switchyard"
)

// Similar tickets are found by "more like this" over the index: the
// issue's summary (counted twice, as in its text) and the stored head of its
// description are analysed like any text, their words ranked by tf·idf
// against the whole index, and the top similarTerms searched as one
// disjunction over the other issues, under the user's permission filter.
// BM25 and the disjunction's coordination then favour issues sharing more
// of the rarer words. Words in more than a quarter of all documents say
// nothing about a ticket and are left out.

const (
	similarTerms       = 12
	DefaultSimilarSize = 10
	MaxSimilarSize     = 50
)

// SimilarRequest asks for the issues most like the issue Key, as a user.
type SimilarRequest struct {
	Connection  string
	Key         string
	AsUser      string // see SearchRequest
	Viewer      *Viewer
	Permissions *Permissions
	Size        int // default DefaultSimilarSize, at most MaxSimilarSize
}

// Similar returns the issues most similar to req.Key that the user may see,
// most similar first. An issue the user may not see is not found, exactly
// like one that does not exist (switchyard.ErrNotFound).
func (idx *Index) Similar(ctx context.Context, req SimilarRequest) (*SearchResult, error) {
	start := time.Now()
	if err := validConn(req.Connection); err != nil {
		return nil, err
	}
	size := req.Size
	if size == 0 {
		size = DefaultSimilarSize
	}
	if size < 1 || size > MaxSimilarSize {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "size", "%d is out of range 1..%d", req.Size, MaxSimilarSize)
	}
	key := strings.ToUpper(strings.TrimSpace(req.Key))
	if !keyLike.MatchString(key) {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "key", "%q is not an issue key (like OPS-12)", req.Key)
	}
	sreq, err := idx.withViewer(ctx, SearchRequest{Connection: req.Connection, AsUser: req.AsUser, Viewer: req.Viewer, Permissions: req.Permissions, Types: []string{TypeIssue}})
	if err != nil {
		return nil, err
	}
	// The issue itself, as the user: invisible is the same as missing.
	src, err := idx.run(ctx, sreq, and(termQ(fKey, key), termQ(fFacetType, TypeIssue)), nil, 1, start)
	if err != nil {
		return nil, err
	}
	if len(src.Hits) == 0 {
		return nil, switchyard.Errorf(switchyard.ErrNotFound, "issue %s not found", key)
	}
	hit := src.Hits[0]
	text, err := idx.storedText(ctx, hit.ID)
	if err != nil {
		return nil, err
	}
	terms, err := idx.distinctiveTerms(text, similarTerms)
	if err != nil {
		return nil, err
	}
	if len(terms) == 0 {
		return &SearchResult{Facets: countFacets(nil, nil), Took: time.Since(start)}, nil
	}
	var words []query.Query
	marks := map[string]bool{}
	for _, t := range terms {
		words = append(words, termQ(fText, t))
		marks[t] = true
	}
	q := query.NewBooleanQuery([]query.Query{or(words...)}, nil, []query.Query{termQ(fScope, scopeOf(req.Connection, hit.IssueID))})
	return idx.run(ctx, sreq, q, marks, size, start)
}

// storedText is an issue document's summary, twice, and description head.
func (idx *Index) storedText(ctx context.Context, id string) (string, error) {
	sr := bleve.NewSearchRequestOptions(query.NewDocIDQuery([]string{id}), 1, 0, false)
	sr.Fields = []string{fSummary, fHead}
	sr.Score = "none"
	res, err := idx.bleve.SearchInContext(ctx, sr)
	if err != nil {
		return "", fmt.Errorf("similar: %w", err)
	}
	if len(res.Hits) == 0 {
		return "", nil
	}
	summary, _ := res.Hits[0].Fields[fSummary].(string)
	head, _ := res.Hits[0].Fields[fHead].(string)
	return summary + "\n" + summary + "\n" + strings.TrimSuffix(head, "…"), nil
}

// distinctiveTerms returns up to n analysed words of text by tf·idf in the
// text field, leaving out words in over a quarter of the documents.
func (idx *Index) distinctiveTerms(text string, n int) ([]string, error) {
	tf := map[string]int{}
	for _, tok := range idx.analyzer().Analyze([]byte(text)) {
		tf[string(tok.Term)]++
	}
	r, err := idx.reader()
	if err != nil {
		return nil, fmt.Errorf("similar: %w", err)
	}
	defer r.Close()
	docs, err := r.DocCount()
	if err != nil {
		return nil, fmt.Errorf("similar: %w", err)
	}
	var cands []weightedTerm[float64]
	for term, f := range tf {
		tfr, err := r.TermFieldReader(context.Background(), []byte(term), fText, false, false, false)
		if err != nil {
			return nil, fmt.Errorf("similar: %w", err)
		}
		df := tfr.Count()
		tfr.Close()
		if df == 0 || df > docs/4 {
			continue
		}
		cands = append(cands, weightedTerm[float64]{term, float64(f) * math.Log(float64(docs)/float64(df))})
	}
	return topTerms(cands, n), nil
}
