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
	bindex "github.com/blevesearch/bleve_index_api"
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
	entries  map[[32]byte]*roaring.Bitmap
	order    [][32]byte
	hits     uint64
	misses   uint64
}

func (c *filterCache) get(r bindex.IndexReader, key [32]byte) *roaring.Bitmap {
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

func (c *filterCache) put(r bindex.IndexReader, key [32]byte, bm *roaring.Bitmap) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.disabled {
		return
	}
	if c.snapshot != r {
		c.snapshot, c.entries, c.order = r, map[[32]byte]*roaring.Bitmap{}, nil
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

// cachedFilter is a filterQuery whose matches are cached per snapshot.
type cachedFilter struct {
	q     query.Query
	key   [32]byte
	cache *filterCache
}

func (f *cachedFilter) Searcher(ctx context.Context, r bindex.IndexReader, m mapping.IndexMapping, _ search.SearcherOptions) (search.Searcher, error) {
	if bm := f.cache.get(r, f.key); bm != nil {
		return newBitmapSearcher(bm), nil
	}
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
			// Document numbers beyond 32 bits: evaluate without the cache.
			return f.q.Searcher(ctx, r, m, search.SearcherOptions{Score: "none"})
		}
		bm.Add(uint32(n))
	}
	bm.RunOptimize()
	f.cache.put(r, f.key, bm)
	return newBitmapSearcher(bm), nil
}

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
