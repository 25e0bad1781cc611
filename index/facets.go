package index

import (
	"context"
	"sort"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// Facets are counted without bleve's facet builder, which reads every
// match's doc values and was half of the time of a search that matches many
// documents. A search records the document numbers it matches, per segment
// (recordQuery). Each segment keeps, per facet field, an array from document
// number to value, built once from the postings of the value terms: a count
// is then one array read per match and field. Segments never change once
// written, so a write costs only the new segments' arrays.

// facetFields maps facet names to the keyword fields that hold their values.
var facetFields = []struct{ name, field string }{
	{"project", fFacetProject},
	{"status", fFacetStatus},
	{"type", fFacetType},
	{"issuetype", fFacetIType},
	{"requesttype", fFacetRequestType},
}

// facetValue names one value of one facet.
type facetValue struct{ name, value string }

// segmentFacets maps a segment's documents to their facet values: ord[f][d]
// is 1 + the index in values of document d's value of facetFields[f], or 0.
type segmentFacets struct {
	values []facetValue
	ord    [][]uint32
	// days and dayOrd are the same for the updated day, which ranking
	// uses (rank.go) and no facet shows.
	days   []string
	dayOrd []uint32
	rank   *segmentRank
}

type facetCache struct {
	mu       sync.Mutex
	segments map[segment.Segment]*segmentFacets
	snapshot bindex.IndexReader
	perSeg   []*segmentFacets // for snapshot, in segment order
}

// forSnapshot returns the facet arrays of each segment of the snapshot (one
// for the whole index when the reader is not a scorch snapshot). Deleted
// documents keep their values: only live matches are counted.
func (c *facetCache) forSnapshot(ctx context.Context, r bindex.IndexReader) ([]*segmentFacets, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snapshot == r && c.perSeg != nil {
		return c.perSeg, nil
	}
	var values []facetValue
	for _, f := range facetFields {
		dict, err := r.FieldDict(f.field)
		if err != nil {
			return nil, err
		}
		for {
			e, err := dict.Next()
			if err != nil {
				dict.Close()
				return nil, err
			}
			if e == nil {
				break
			}
			values = append(values, facetValue{name: f.name, value: e.Term})
		}
		dict.Close()
	}
	var perSeg []*segmentFacets
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		count, err := r.DocCount()
		if err != nil {
			return nil, err
		}
		days, err := fieldTerms(r, fUpdatedDay)
		if err != nil {
			return nil, err
		}
		sf, err := buildSegmentFacets(values, days, count, func(field, term string) (*roaring.Bitmap, error) {
			return readerPostings(ctx, r, field, term)
		})
		if err != nil {
			return nil, err
		}
		perSeg = []*segmentFacets{sf}
	} else {
		live := map[segment.Segment]*segmentFacets{}
		for _, ss := range snap.Segments() {
			seg := ss.Segment()
			// A segment's values were all in the dictionary when it was
			// first seen, and it never changes: its arrays stay right.
			sf := c.segments[seg]
			if sf == nil {
				// The segment's own days: a new one-issue segment has one.
				days, err := segmentTerms(seg, fUpdatedDay)
				if err != nil {
					return nil, err
				}
				sf, err = buildSegmentFacets(values, days, seg.Count(), func(field, term string) (*roaring.Bitmap, error) {
					return segmentPostings(seg, field, term)
				})
				if err != nil {
					return nil, err
				}
			}
			live[seg] = sf
			perSeg = append(perSeg, sf)
		}
		c.segments = live // forget merged-away segments
	}
	c.snapshot, c.perSeg = r, perSeg
	return perSeg, nil
}

func buildSegmentFacets(values []facetValue, days []string, docs uint64, postings func(field, term string) (*roaring.Bitmap, error)) (*segmentFacets, error) {
	sf := &segmentFacets{values: values, ord: make([][]uint32, len(facetFields)), days: days, dayOrd: make([]uint32, docs)}
	for f := range facetFields {
		sf.ord[f] = make([]uint32, docs)
	}
	for i, day := range days {
		bm, err := postings(fUpdatedDay, day)
		if err != nil {
			return nil, err
		}
		it := bm.Iterator()
		for it.HasNext() {
			if d := int(it.Next()); d < len(sf.dayOrd) {
				sf.dayOrd[d] = uint32(i) + 1
			}
		}
	}
	has := make([]bool, len(facetFields))
	for i, v := range values {
		f := facetIndex(v.name)
		bm, err := postings(facetFields[f].field, v.value)
		if err != nil {
			return nil, err
		}
		if !bm.IsEmpty() {
			has[f] = true
		}
		it := bm.Iterator()
		for it.HasNext() {
			d := int(it.Next())
			if d >= len(sf.ord[f]) { // readers that are not scorch: numbers beyond the count
				sf.ord[f] = append(sf.ord[f], make([]uint32, d+1-len(sf.ord[f]))...)
			}
			sf.ord[f][d] = uint32(i) + 1
		}
	}
	// A facet no document of the segment has (request types outside a
	// service desk's segments) costs nothing to count: no array.
	for f := range sf.ord {
		if !has[f] && facetFields[f].name != "type" { // ranking reads the type's array
			sf.ord[f] = nil
		}
	}
	sf.rank = newSegmentRank(sf)
	return sf, nil
}

// segmentTerms lists the terms of a field in one segment's dictionary.
func segmentTerms(seg segment.Segment, field string) ([]string, error) {
	dict, err := seg.Dictionary(field)
	if err != nil {
		return nil, err
	}
	it := dict.AutomatonIterator(matchAll{}, nil, nil)
	var out []string
	for {
		e, err := it.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			return out, nil
		}
		out = append(out, e.Term)
	}
}

// matchAll is the automaton that accepts every term.
type matchAll struct{}

func (matchAll) Start() int               { return 0 }
func (matchAll) IsMatch(int) bool         { return true }
func (matchAll) CanMatch(int) bool        { return true }
func (matchAll) WillAlwaysMatch(int) bool { return true }
func (matchAll) Accept(int, byte) int     { return 0 }

// fieldTerms lists the terms of a field in the reader's dictionary.
func fieldTerms(r bindex.IndexReader, field string) ([]string, error) {
	dict, err := r.FieldDict(field)
	if err != nil {
		return nil, err
	}
	defer dict.Close()
	var out []string
	for {
		e, err := dict.Next()
		if err != nil {
			return nil, err
		}
		if e == nil {
			return out, nil
		}
		out = append(out, e.Term)
	}
}

func facetIndex(name string) int {
	for i, f := range facetFields {
		if f.name == name {
			return i
		}
	}
	return -1
}

// segmentPostings is the bitmap of the segment's documents holding term in field.
func segmentPostings(seg segment.Segment, field, term string) (*roaring.Bitmap, error) {
	dict, err := seg.Dictionary(field)
	if err != nil {
		return nil, err
	}
	pl, err := dict.PostingsList([]byte(term), nil, nil)
	if err != nil {
		return nil, err
	}
	it := pl.Iterator(false, false, false, nil)
	if opt, ok := it.(segment.OptimizablePostingsIterator); ok {
		if bm := opt.ActualBitmap(); bm != nil {
			return bm, nil
		}
	}
	out := roaring.New()
	for {
		p, err := it.Next()
		if err != nil {
			return nil, err
		}
		if p == nil {
			return out, nil
		}
		out.Add(uint32(p.Number()))
	}
}

// readerPostings reads a term's documents through the reader (indexes that
// are not scorch: none today, kept so that facets never go missing).
func readerPostings(ctx context.Context, r bindex.IndexReader, field, term string) (*roaring.Bitmap, error) {
	tfr, err := r.TermFieldReader(ctx, []byte(term), field, false, false, false)
	if err != nil {
		return nil, err
	}
	defer tfr.Close()
	bm := roaring.New()
	for {
		d, err := tfr.Next(nil)
		if err != nil {
			return nil, err
		}
		if d == nil {
			return bm, nil
		}
		bm.Add(uint32(d.ID.Value()))
	}
}

// countFacets counts, per facet, the matches holding each value, largest
// first; matches[s] are the local numbers of segment s's matches.
func countFacets(perSeg []*segmentFacets, matches [][]uint32) map[string][]FacetCount {
	totals := map[facetValue]int{}
	for s, sf := range perSeg {
		if s >= len(matches) || len(matches[s]) == 0 {
			continue
		}
		counts := make([]int, len(sf.values)+1)
		for _, ord := range sf.ord {
			if len(ord) == 0 {
				continue
			}
			for _, d := range matches[s] {
				if int(d) < len(ord) {
					counts[ord[d]]++
				}
			}
		}
		for i, n := range counts[1:] {
			if n > 0 {
				totals[sf.values[i]] += n
			}
		}
	}
	out := map[string][]FacetCount{}
	for _, f := range facetFields {
		out[f.name] = []FacetCount{}
	}
	for v, n := range totals {
		out[v.name] = append(out[v.name], FacetCount{Value: v.value, Count: n})
	}
	for name, fc := range out {
		sort.Slice(fc, func(i, j int) bool {
			if fc[i].Count != fc[j].Count {
				return fc[i].Count > fc[j].Count
			}
			return fc[i].Value < fc[j].Value
		})
		if len(fc) > maxFacetValues {
			out[name] = fc[:maxFacetValues]
		}
	}
	return out
}

// recordQuery passes its query's matches through and records their document
// numbers per segment, for counting facets. The counts are taken when bleve
// closes the searcher, which it does before it releases the snapshot.
type recordQuery struct {
	q     query.Query
	cache *facetCache
	// pageEnd is from+size of the request: only the best pageEnd matches
	// are shown (0: unknown, every match is ranked in full).
	pageEnd int
	facets  map[string][]FacetCount
	err     error
}

func newRecordQuery(q query.Query, cache *facetCache) *recordQuery {
	return &recordQuery{q: q, cache: cache}
}

func (rq *recordQuery) Searcher(ctx context.Context, r bindex.IndexReader, m mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	s, err := rq.q.Searcher(ctx, r, m, opts)
	if err != nil {
		return nil, err
	}
	rs := &recordSearcher{Searcher: s, rq: rq, ctx: ctx, reader: r, offsets: []uint64{0}, page: pageBound{k: rq.pageEnd}}
	if _, offsets, ok := snapshotSegments(r); ok && len(offsets) > 0 {
		rs.offsets = offsets
	}
	rs.buf = make([][]uint32, len(rs.offsets))
	// The facet arrays also rank (type weight, recency): load them now.
	if rs.perSeg, err = rq.cache.forSnapshot(ctx, r); err != nil {
		s.Close()
		return nil, err
	}
	if len(rs.perSeg) != len(rs.offsets) {
		rs.perSeg = nil // cannot happen with scorch; rank by BM25 alone then
	}
	return rs, nil
}

type recordSearcher struct {
	search.Searcher
	rq      *recordQuery
	ctx     context.Context
	reader  bindex.IndexReader
	offsets []uint64
	perSeg  []*segmentFacets
	page    pageBound  // the best scores so far, for skipping recency reads
	buf     [][]uint32 // per segment, local numbers in the order matched
	seg     int
	closed  bool
}

func (s *recordSearcher) record(dm *search.DocumentMatch) {
	if dm == nil {
		return
	}
	n := dm.IndexInternalID.Value()
	if n < s.offsets[s.seg] { // matches come in order; be safe if not
		s.seg = 0
	}
	for s.seg+1 < len(s.offsets) && n >= s.offsets[s.seg+1] {
		s.seg++
	}
	d := uint32(n - s.offsets[s.seg])
	s.buf[s.seg] = append(s.buf[s.seg], d)
	if s.perSeg != nil {
		dm.Score = s.adjust(s.perSeg[s.seg].rank, d, dm.Score)
	}
}

// adjust weights a match's score by its type and breaks ties by recency,
// reading the recency only when the match can still reach the page.
func (s *recordSearcher) adjust(sr *segmentRank, d uint32, score float64) float64 {
	score *= sr.weight(d)
	if s.page.below(score + recencyEpsilon) {
		return score // under the page whatever its recency: never shown
	}
	score += recencyEpsilon * sr.recencyOf(d)
	s.page.add(score)
	return score
}

func (s *recordSearcher) Close() error {
	if !s.closed && s.ctx.Err() == nil {
		s.closed = true
		perSeg := s.perSeg
		var err error
		if perSeg == nil {
			perSeg, err = s.rq.cache.forSnapshot(s.ctx, s.reader)
		}
		if err != nil {
			s.rq.err = err
		} else {
			s.rq.facets = countFacets(perSeg, s.buf)
		}
	}
	return s.Searcher.Close()
}

func (s *recordSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	dm, err := s.Searcher.Next(ctx)
	s.record(dm)
	return dm, err
}

func (s *recordSearcher) Advance(ctx *search.SearchContext, id bindex.IndexInternalID) (*search.DocumentMatch, error) {
	dm, err := s.Searcher.Advance(ctx, id)
	s.record(dm)
	return dm, err
}
