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

// segmentRank holds, per segment document, what ranking adds to its BM25
// score (see above). Read once per match, it must stay cheap at hundreds of
// thousands of matches: the type weight is one bit per document (a segment
// of a million documents holds it in 125 KiB, which stays in cache), and
// the recency, a float per document, is read only for a match that can
// still reach the page (recordSearcher.adjust).
type segmentRank struct {
	child   []uint64  // bit d: document d is a comment or attachment
	recency []float32 // per document, in [0, 1]
}

func (sr *segmentRank) weight(d uint32) float64 {
	if w := int(d >> 6); w < len(sr.child) && sr.child[w]&(1<<(d&63)) != 0 {
		return childWeight
	}
	return 1
}

func (sr *segmentRank) recencyOf(d uint32) float64 {
	if int(d) < len(sr.recency) {
		return float64(sr.recency[d])
	}
	return 0
}

func newSegmentRank(sf *segmentFacets) *segmentRank {
	isChild := make([]bool, len(sf.values)+1)
	for i, v := range sf.values {
		isChild[i+1] = v.name == "type" && (v.value == TypeComment || v.value == TypeAttachment)
	}
	recency := make([]float32, len(sf.days)+1)
	for i, day := range sf.days {
		recency[i+1] = float32(recencyOf(day))
	}
	typeOrd := sf.ord[facetIndex("type")]
	sr := &segmentRank{child: make([]uint64, (len(typeOrd)+63)/64), recency: make([]float32, len(typeOrd))}
	for d := range typeOrd {
		if isChild[typeOrd[d]] {
			sr.child[d>>6] |= 1 << (uint(d) & 63)
		}
		if d < len(sf.dayOrd) {
			sr.recency[d] = recency[sf.dayOrd[d]]
		}
	}
	return sr
}

// pageBound tracks the lowest of the best k scores seen so far: a match
// whose score, with the most recency could add, stays under it cannot reach
// the page, so its recency need not be read (a read per match is a cache
// miss, which at a common word's matches costs more than the search).
type pageBound struct {
	k    int
	heap []float64 // min-heap of the best k scores
}

// below reports whether k scores are held and score is under the lowest.
func (b *pageBound) below(score float64) bool {
	return b.k > 0 && len(b.heap) == b.k && score < b.heap[0]
}

func (b *pageBound) add(score float64) {
	if b.k <= 0 {
		return
	}
	h := b.heap
	if len(h) < b.k {
		h = append(h, score)
		for i := len(h) - 1; i > 0; {
			p := (i - 1) / 2
			if h[p] <= h[i] {
				break
			}
			h[p], h[i] = h[i], h[p]
			i = p
		}
		b.heap = h
		return
	}
	if score <= h[0] {
		return
	}
	h[0] = score
	for i := 0; ; {
		l, r, m := 2*i+1, 2*i+2, i
		if l < len(h) && h[l] < h[m] {
			m = l
		}
		if r < len(h) && h[r] < h[m] {
			m = r
		}
		if m == i {
			break
		}
		h[m], h[i] = h[i], h[m]
		i = m
	}
}
