package index

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"math"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	bindex "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// The permission filter of a viewer matches the same documents for as long as
// the index snapshot and the permission data stay the same. Evaluating it
// costs time proportional to the index, so its result is kept as a bitmap of
// document numbers per snapshot: later searches by the same viewer (or any
// viewer with the same filter) only test candidates against the bitmap. A new
// snapshot (any write or merge) starts an empty cache.

const filterCacheEntries = 256

type filterCache struct {
	mu       sync.Mutex
	disabled bool // benchmarks measure the uncached cost
	snapshot bindex.IndexReader
	entries  map[[32]byte]*filterBits
	order    [][32]byte
	segments map[segmentFilter]*roaring.Bitmap // a filter's matches in one segment, local numbers
	hits     uint64
	misses   uint64
}

type segmentFilter struct {
	key [32]byte
	seg segment.Segment
}

// filterSegmentEntries bounds the per-segment entries (filters × segments).
const filterSegmentEntries = 16 * filterCacheEntries

func (c *filterCache) segment(key [32]byte, seg segment.Segment) *roaring.Bitmap {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disabled {
		return nil
	}
	return c.segments[segmentFilter{key, seg}]
}

func (c *filterCache) putSegment(key [32]byte, seg segment.Segment, bm *roaring.Bitmap) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disabled {
		return
	}
	if c.segments == nil || len(c.segments) >= filterSegmentEntries {
		c.segments = map[segmentFilter]*roaring.Bitmap{}
	}
	c.segments[segmentFilter{key, seg}] = bm
}

func (c *filterCache) get(r bindex.IndexReader, key [32]byte) *filterBits {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disabled || c.snapshot != r {
		c.misses++
		return nil
	}
	bm := c.entries[key]
	if bm == nil {
		c.misses++
	} else {
		c.hits++
	}
	return bm
}

func (c *filterCache) put(r bindex.IndexReader, key [32]byte, bm *filterBits) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disabled {
		return
	}
	if c.snapshot != r {
		c.snapshot, c.entries, c.order = r, map[[32]byte]*filterBits{}, nil
		// Forget the matches of segments merged away.
		if snap, _, ok := snapshotSegments(r); ok && len(c.segments) > 0 {
			live := map[segment.Segment]bool{}
			for _, ss := range snap.Segments() {
				live[ss.Segment()] = true
			}
			for k := range c.segments {
				if !live[k.seg] {
					delete(c.segments, k)
				}
			}
		}
	}
	if _, ok := c.entries[key]; ok {
		return
	}
	if len(c.order) >= filterCacheEntries {
		delete(c.entries, c.order[0])
		c.order = c.order[1:]
	}
	c.entries[key] = bm
	c.order = append(c.order, key)
}

// filterKey identifies a filter by its content, so that equal filters built
// from fresh permission data share an entry.
func filterKey(q query.Query) ([32]byte, error) {
	b, err := json.Marshal(q)
	if err != nil {
		return [32]byte{}, err
	}
	return sha256.Sum256(b), nil
}

func (q *termsQuery) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"terms": q.terms, "field": q.field})
}

func (f *filterQuery) MarshalJSON() ([]byte, error) {
	return json.Marshal(map[string]any{"filter": f.q})
}

// cachedFilter is a filter whose matches are cached per snapshot and segment.
// It is not a query of its own: the bitmap may hold documents deleted since
// their segment was evaluated, harmless only under filteredQuery, which
// applies it to the query's (live) matches.
type cachedFilter struct {
	q     query.Query
	key   [32]byte
	cache *filterCache
}

// bitmap returns the filter's matches in snapshot r, from the cache or
// evaluated now; nil when document numbers exceed 32 bits (not cacheable).
// Segments never change once written, so a segment's matches are kept
// across snapshots: after a write only the new segments are evaluated.
func (f *cachedFilter) bitmap(ctx context.Context, r bindex.IndexReader, m mapping.IndexMapping) (*filterBits, error) {
	if bits := f.cache.get(r, f.key); bits != nil {
		return bits, nil
	}
	snap, offsets, ok := snapshotSegments(r)
	if !ok {
		global, err := f.evaluate(ctx, r, m)
		if err != nil || global == nil {
			return nil, err
		}
		bits := &filterBits{global: global}
		f.cache.put(r, f.key, bits)
		return bits, nil
	}
	segs := snap.Segments()
	local := make([]*roaring.Bitmap, len(segs))
	var missing []int
	for i, ss := range segs {
		if local[i] = f.cache.segment(f.key, ss.Segment()); local[i] == nil {
			missing = append(missing, i)
		}
	}
	var global *roaring.Bitmap
	if len(missing) > 0 {
		reader := r
		if len(missing) < len(segs) {
			reader = newSubsetReader(snap, offsets, missing)
		}
		found, err := f.evaluate(ctx, reader, m)
		if err != nil || found == nil {
			return nil, err
		}
		split := splitBySegment(found, offsets)
		for _, i := range missing {
			local[i] = split[i]
			f.cache.putSegment(f.key, segs[i].Segment(), split[i])
		}
		if len(missing) == len(segs) {
			global = found // evaluated whole: nothing to join
		}
	}
	if global == nil {
		global = joinSegments(local, offsets)
	}
	bits := &filterBits{global: global, local: local, offsets: offsets}
	f.cache.put(r, f.key, bits)
	return bits, nil
}

// evaluate runs the filter on r and returns its matches.
func (f *cachedFilter) evaluate(ctx context.Context, r bindex.IndexReader, m mapping.IndexMapping) (*roaring.Bitmap, error) {
	s, err := f.q.Searcher(ctx, r, m, search.SearcherOptions{Score: "none"})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	sctx := &search.SearchContext{DocumentMatchPool: search.NewDocumentMatchPool(s.DocumentMatchPoolSize(), 0), IndexReader: r}
	bm := roaring.New()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dm, err := s.Next(sctx)
		if err != nil {
			return nil, err
		}
		if dm == nil {
			break
		}
		n := dm.IndexInternalID.Value()
		sctx.DocumentMatchPool.Put(dm)
		if n > math.MaxUint32 {
			return nil, nil
		}
		bm.Add(uint32(n))
	}
	bm.RunOptimize()
	return bm, nil
}

// filteredQuery is the user's query restricted to a cached filter. When the
// filter holds few documents compared with the query's matches, it is a
// conjunction led by the filter (skipping through the query's postings);
// otherwise the query's matches are walked and those outside the filter's
// bitmap dropped, which costs one bitmap lookup per match instead of the
// conjunction's advancing back and forth (a third of a common word's search
// for a user who sees half the index). Scores are the query's either way.
type filteredQuery struct {
	q      query.Query
	filter *cachedFilter
}

// conjunctionRatio: the filter leads when the query matches this many times
// more documents than the filter holds. (A variable: tests force each way.)
var conjunctionRatio uint64 = 4

func (f *filteredQuery) Searcher(ctx context.Context, r bindex.IndexReader, m mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	bits, err := f.filter.bitmap(ctx, r, m)
	if err != nil {
		return nil, err
	}
	qs, err := f.q.Searcher(ctx, newPrefilteredReader(r, bits), m, opts)
	if err != nil {
		return nil, err
	}
	if bits != nil && qs.Count() < conjunctionRatio*bits.global.GetCardinality() {
		return &bitmapFilterSearcher{Searcher: qs, bm: bits.global}, nil
	}
	var fs search.Searcher
	if bits != nil {
		fs = newBitmapSearcher(bits.global)
	} else if fs, err = f.filter.q.Searcher(ctx, r, m, search.SearcherOptions{Score: "none"}); err != nil {
		qs.Close()
		return nil, err
	}
	return searcher.NewConjunctionSearcher(ctx, r, []search.Searcher{qs, fs}, opts)
}

// bitmapFilterSearcher passes on the matches of its searcher that are in bm.
type bitmapFilterSearcher struct {
	search.Searcher
	bm *roaring.Bitmap
}

func (s *bitmapFilterSearcher) keep(ctx *search.SearchContext, dm *search.DocumentMatch, err error) (*search.DocumentMatch, error) {
	for dm != nil && err == nil {
		if n := dm.IndexInternalID.Value(); n <= math.MaxUint32 && s.bm.Contains(uint32(n)) {
			return dm, nil
		}
		ctx.DocumentMatchPool.Put(dm)
		dm, err = s.Searcher.Next(ctx)
	}
	return dm, err
}

func (s *bitmapFilterSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	dm, err := s.Searcher.Next(ctx)
	return s.keep(ctx, dm, err)
}

func (s *bitmapFilterSearcher) Advance(ctx *search.SearchContext, id bindex.IndexInternalID) (*search.DocumentMatch, error) {
	dm, err := s.Searcher.Advance(ctx, id)
	return s.keep(ctx, dm, err)
}

func (s *bitmapFilterSearcher) Count() uint64 { return min(s.Searcher.Count(), s.bm.GetCardinality()) }

// bitmapSearcher walks a bitmap of document numbers; it scores nothing.
type bitmapSearcher struct {
	bm *roaring.Bitmap
	it roaring.IntPeekable
}

func newBitmapSearcher(bm *roaring.Bitmap) *bitmapSearcher {
	return &bitmapSearcher{bm: bm, it: bm.Iterator()}
}

func (s *bitmapSearcher) match(ctx *search.SearchContext) *search.DocumentMatch {
	if !s.it.HasNext() {
		return nil
	}
	n := s.it.Next()
	dm := ctx.DocumentMatchPool.Get()
	dm.IndexInternalID = bindex.NewIndexInternalID(dm.IndexInternalID, uint64(n))
	dm.Score = 0
	return dm
}

func (s *bitmapSearcher) Next(ctx *search.SearchContext) (*search.DocumentMatch, error) {
	return s.match(ctx), nil
}

func (s *bitmapSearcher) Advance(ctx *search.SearchContext, id bindex.IndexInternalID) (*search.DocumentMatch, error) {
	v := id.Value()
	if v > math.MaxUint32 {
		return nil, nil
	}
	s.it.AdvanceIfNeeded(uint32(v))
	return s.match(ctx), nil
}

func (s *bitmapSearcher) Close() error               { return nil }
func (s *bitmapSearcher) Weight() float64            { return 0 }
func (s *bitmapSearcher) SetQueryNorm(float64)       {}
func (s *bitmapSearcher) Count() uint64              { return s.bm.GetCardinality() }
func (s *bitmapSearcher) Min() int                   { return 0 }
func (s *bitmapSearcher) Size() int                  { return 64 }
func (s *bitmapSearcher) DocumentMatchPoolSize() int { return 1 }

// viewerFilters keeps each viewer's permission filter, with its cache key,
// for as long as the connection's permission data stays the same value:
// building the filter and hashing it cost more than a rare-word search
// (about 1 ms for a user in 100 groups). Permission sources hand out one
// *Permissions per identity version and never modify it, so its address
// identifies the data; a different one for the connection starts afresh.
type viewerFilters struct {
	mu    sync.Mutex
	conns map[string]*connFilters
}

type connFilters struct {
	perms   *Permissions
	viewers map[[32]byte]viewerFilter
}

// viewerFilter is a viewer's permission filter; q is nil when the viewer
// may see nothing.
type viewerFilter struct {
	q         query.Query
	key       [32]byte
	cacheable bool
}

const viewerFilterEntries = 4096

func (c *viewerFilters) get(conn string, v Viewer, perms *Permissions) viewerFilter {
	vk := viewerKey(v)
	c.mu.Lock()
	cf := c.conns[conn]
	if cf != nil && cf.perms == perms {
		if f, ok := cf.viewers[vk]; ok {
			c.mu.Unlock()
			return f
		}
	}
	c.mu.Unlock()

	var f viewerFilter
	if q, ok := permissionFilter(conn, v, perms); ok {
		key, err := filterKey(q)
		// A filter without a key (cannot happen with our query types) is
		// evaluated as it is on every search, never shared through the cache.
		f = viewerFilter{q: q, key: key, cacheable: err == nil}
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	if c.conns == nil {
		c.conns = map[string]*connFilters{}
	}
	cf = c.conns[conn]
	if cf == nil || cf.perms != perms || len(cf.viewers) >= viewerFilterEntries {
		cf = &connFilters{perms: perms, viewers: map[[32]byte]viewerFilter{}}
		c.conns[conn] = cf
	}
	cf.viewers[vk] = f
	return f
}

// viewerKey identifies what permissionFilter reads of a viewer.
func viewerKey(v Viewer) [32]byte {
	h := sha256.New()
	flags := []byte{0, 0, 0}
	if v.Known {
		flags[0] = 1
	}
	if v.Active {
		flags[1] = 1
	}
	if v.Customer {
		flags[2] = 1
	}
	h.Write(flags)
	h.Write([]byte(v.AccountID))
	for _, g := range v.Groups {
		h.Write([]byte{0})
		h.Write([]byte(g))
	}
	for _, o := range v.Organizations {
		h.Write([]byte{1})
		h.Write([]byte(o))
	}
	var k [32]byte
	h.Sum(k[:0])
	return k
}
