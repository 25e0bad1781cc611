package index

import (
	"context"
	"time"

	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"
)

// Ranking, on top of BM25 over the one text field:
//
//   - The summary is indexed twice in an issue's text, which is BM25F with
//     summary weight 2: a summary word outranks the same word in the
//     description (document.go).
//   - A comment's or attachment's score is multiplied by childWeight, so a
//     description outranks a comment with the same words (comments are short
//     and BM25 favours short documents).
//   - A query that is an issue key gives that issue keyIssueScore and its
//     comments and attachments keyChildScore, far above any text score; a key
//     inside a longer query gives its issue keyInTextScore (query.go).
//   - Ties break by recency: each score gets up to recencyEpsilon more, in
//     proportion to the document's updated day, too little to reorder
//     scores that differ otherwise. Then bleve's document order.

const (
	childWeight    = 0.3
	keyIssueScore  = 1000
	keyChildScore  = 400
	keyInTextScore = 500
	recencyEpsilon = 1e-6
)

// recencyFrom and recencySpan map updated days to [0, 1].
var (
	recencyFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	recencySpan = 100 * 365 * 24 * time.Hour
)

func recencyOf(day string) float64 {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		return 0
	}
	f := float64(t.Sub(recencyFrom)) / float64(recencySpan)
	return min(max(f, 0), 1)
}

// constScoreQuery matches what q matches, every match scoring score.
type constScoreQuery struct {
	q     query.Query
	score float64
}

func (c *constScoreQuery) Searcher(ctx context.Context, r bindex.IndexReader, m mapping.IndexMapping, _ search.SearcherOptions) (search.Searcher, error) {
	s, err := c.q.Searcher(ctx, r, m, search.SearcherOptions{Score: "none"})
	if err != nil {
		return nil, err
	}
	return &constScoreSearcher{Searcher: s, score: c.score}, nil
}

type constScoreSearcher struct {
	search.Searcher
	score float64
}

func (s *constScoreSearcher) set(dm *search.DocumentMatch, err error) (*search.DocumentMatch, error) {
	if dm != nil {
		dm.Score = s.score
	}
	return dm, err
}

func (s *constScoreSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	return s.set(s.Searcher.Next(ctx))
}

func (s *constScoreSearcher) Advance(ctx *search.SearchContext, id bindex.IndexInternalID) (*search.DocumentMatch, error) {
	return s.set(s.Searcher.Advance(ctx, id))
}

// Its weight stays out of query norms: the score is absolute.
func (s *constScoreSearcher) Weight() float64      { return 0 }
func (s *constScoreSearcher) SetQueryNorm(float64) {}

// segmentRank holds, per segment document, the score factor of its type
// and the recency added to its score (see above), computed once from the
// facet arrays into one array: a match costs one read.
type segmentRank struct {
	doc []docRank
}

type docRank struct{ weight, recency float32 }

func (sr *segmentRank) adjust(d uint32, score float64) float64 {
	if int(d) < len(sr.doc) {
		r := sr.doc[d]
		return score*float64(r.weight) + recencyEpsilon*float64(r.recency)
	}
	return score
}

func newSegmentRank(sf *segmentFacets) *segmentRank {
	weight := make([]float32, len(sf.values)+1)
	weight[0] = 1
	for i, v := range sf.values {
		weight[i+1] = 1
		if v.name == "type" && (v.value == TypeComment || v.value == TypeAttachment) {
			weight[i+1] = childWeight
		}
	}
	recency := make([]float32, len(sf.days)+1)
	for i, day := range sf.days {
		recency[i+1] = float32(recencyOf(day))
	}
	typeOrd := sf.ord[facetIndex("type")]
	sr := &segmentRank{doc: make([]docRank, len(typeOrd))}
	for d := range sr.doc {
		sr.doc[d].weight = weight[typeOrd[d]]
		if d < len(sf.dayOrd) {
			sr.doc[d].recency = recency[sf.dayOrd[d]]
		}
	}
	return sr
}
