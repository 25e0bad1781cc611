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

// Facets are counted with bitmaps instead of bleve's facet builder, which
// reads every match's doc values and was half of the time of a search that
// matches many documents. A search records the document numbers it matches
// (recordQuery); each facet value's documents are a bitmap taken from the
// postings of its keyword field; a count is the size of an intersection.
// The bitmaps are kept per segment, which never changes once written, so a
// write costs only the new segments' bitmaps, not a pass over the index.

// facetFields maps facet names to the keyword fields that hold their values.
var facetFields = []struct{ name, field string }{
	{"project", fFacetProject},
	{"status", fFacetStatus},
	{"type", fFacetType},
	{"issuetype", fFacetIType},
}

// facetValue is one facet value with its documents in one snapshot, per
// segment (segment-local numbers; one global bitmap for other readers).
type facetValue struct {
	name, value string
	docs        []*roaring.Bitmap
}

type facetCache struct {
	mu       sync.Mutex
	segments map[segment.Segment]map[string]*roaring.Bitmap // field+"\x00"+term → segment-local doc numbers
	snapshot bindex.IndexReader
	values   []facetValue
}

// forSnapshot returns every facet value of the snapshot with its documents
// (deleted ones included: counts intersect them with live matches).
func (c *facetCache) forSnapshot(ctx context.Context, r bindex.IndexReader) ([]facetValue, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.snapshot == r && c.values != nil {
		return c.values, nil
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
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		if err := c.fillByPostings(ctx, r, values); err != nil {
			return nil, err
		}
	} else if err := c.fillBySegments(snap, values); err != nil {
		return nil, err
	}
	c.snapshot, c.values = r, values
	return values, nil
}

// fillBySegments takes each segment's postings bitmap of each value, from
// the cache when the segment was seen before.
func (c *facetCache) fillBySegments(snap *scorch.IndexSnapshot, values []facetValue) error {
	live := map[segment.Segment]map[string]*roaring.Bitmap{}
	segs := snap.Segments()
	for i := range values {
		values[i].docs = make([]*roaring.Bitmap, len(segs))
	}
	for s, ss := range segs {
		seg := ss.Segment()
		cached := c.segments[seg]
		if cached == nil {
			cached = map[string]*roaring.Bitmap{}
		}
		for i := range values {
			v := &values[i]
			field := facetFieldOf(v.name)
			key := field + "\x00" + v.value
			bm, ok := cached[key]
			if !ok {
				var err error
				if bm, err = segmentPostings(seg, field, v.value); err != nil {
					return err
				}
				cached[key] = bm
			}
			v.docs[s] = bm
		}
		live[seg] = cached
	}
	c.segments = live // forget merged-away segments
	return nil
}

func facetFieldOf(name string) string {
	for _, f := range facetFields {
		if f.name == name {
			return f.field
		}
	}
	return ""
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
			return bm.Clone(), nil
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

// fillByPostings reads each value's documents through the reader (indexes
// that are not scorch: none today, kept so that facets never go missing).
func (c *facetCache) fillByPostings(ctx context.Context, r bindex.IndexReader, values []facetValue) error {
	for i := range values {
		v := &values[i]
		tfr, err := r.TermFieldReader(ctx, []byte(v.value), facetFieldOf(v.name), false, false, false)
		if err != nil {
			return err
		}
		bm := roaring.New()
		for {
			d, err := tfr.Next(nil)
			if err != nil {
				tfr.Close()
				return err
			}
			if d == nil {
				break
			}
			bm.Add(uint32(d.ID.Value()))
		}
		tfr.Close()
		v.docs = []*roaring.Bitmap{bm}
	}
	return nil
}

// countFacets counts, per facet, the matches holding each value, largest
// first; matches are per segment, as the values' documents.
func countFacets(values []facetValue, matches []*roaring.Bitmap) map[string][]FacetCount {
	out := map[string][]FacetCount{}
	for _, f := range facetFields {
		out[f.name] = []FacetCount{}
	}
	for _, v := range values {
		var n uint64
		for s, docs := range v.docs {
			if s < len(matches) && matches[s] != nil {
				n += matches[s].AndCardinality(docs)
			}
		}
		if n > 0 {
			out[v.name] = append(out[v.name], FacetCount{Value: v.value, Count: int(n)})
		}
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
	q      query.Query
	cache  *facetCache
	facets map[string][]FacetCount
	err    error
}

func newRecordQuery(q query.Query, cache *facetCache) *recordQuery {
	return &recordQuery{q: q, cache: cache}
}

func (rq *recordQuery) Searcher(ctx context.Context, r bindex.IndexReader, m mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	s, err := rq.q.Searcher(ctx, r, m, opts)
	if err != nil {
		return nil, err
	}
	rs := &recordSearcher{Searcher: s, rq: rq, ctx: ctx, reader: r, offsets: []uint64{0}}
	if _, offsets, ok := snapshotSegments(r); ok && len(offsets) > 0 {
		rs.offsets = offsets
	}
	rs.buf = make([][]uint32, len(rs.offsets))
	return rs, nil
}

type recordSearcher struct {
	search.Searcher
	rq      *recordQuery
	ctx     context.Context
	reader  bindex.IndexReader
	offsets []uint64
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
	s.buf[s.seg] = append(s.buf[s.seg], uint32(n-s.offsets[s.seg]))
}

func (s *recordSearcher) Close() error {
	if !s.closed && s.ctx.Err() == nil {
		s.closed = true
		values, err := s.rq.cache.forSnapshot(s.ctx, s.reader)
		if err != nil {
			s.rq.err = err
		} else {
			matches := make([]*roaring.Bitmap, len(s.buf))
			for i, b := range s.buf {
				if len(b) > 0 {
					matches[i] = roaring.BitmapOf(b...)
				}
			}
			s.rq.facets = countFacets(values, matches)
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
