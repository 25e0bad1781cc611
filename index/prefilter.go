package index

import (
	"context"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bindex "github.com/blevesearch/bleve_index_api"
	segment "github.com/blevesearch/scorch_segment_api/v2"
)

// A word that most documents hold has hundreds of thousands of postings,
// and bleve scores every one before the permission filter drops the
// invisible ones: for a user who sees a tenth of the index, nine tenths of a
// common word's search time went to documents they cannot see.
// prefilteredReader hands the user's query term readers whose postings are
// already intersected with the filter's bitmap (zap's postings iterators
// take a replacement bitmap), so only visible documents are decoded and
// scored. Counts, and so BM25's idf, stay those of the whole index: the
// ranking is the same as without the filter. The filter is still applied
// above (bitmapFilterSearcher or a conjunction), so this only ever saves
// work; anything it does not handle (term vectors, other readers) passes
// through unfiltered.

// prefilterPostings turns the optimization off (tests compare both ways).
var prefilterPostings = true

// filterBits is a filter's matches in one snapshot: global document numbers,
// and per segment the segment-local numbers (nil when the reader is not a
// scorch snapshot).
type filterBits struct {
	global  *roaring.Bitmap
	local   []*roaring.Bitmap
	offsets []uint64 // each segment's first global number
}

// snapshotSegments lists the snapshot's segments with the first global
// document number of each (scorch numbers documents across segments in
// order, deleted ones included).
func snapshotSegments(r bindex.IndexReader) (snap *scorch.IndexSnapshot, offsets []uint64, ok bool) {
	snap, ok = r.(*scorch.IndexSnapshot)
	if !ok {
		return nil, nil, false
	}
	var off uint64
	for _, ss := range snap.Segments() {
		offsets = append(offsets, off)
		off += ss.Segment().Count()
	}
	return snap, offsets, true
}

// splitBySegment builds the per-segment bitmaps of a filter's global matches.
func splitBySegment(global *roaring.Bitmap, offsets []uint64) []*roaring.Bitmap {
	if len(offsets) == 1 && offsets[0] == 0 {
		return []*roaring.Bitmap{global} // a compacted index: the same numbers
	}
	local := make([]*roaring.Bitmap, len(offsets))
	for i := range local {
		local[i] = roaring.New()
	}
	seg := 0
	it := global.Iterator()
	for it.HasNext() {
		n := uint64(it.Next())
		for seg+1 < len(offsets) && n >= offsets[seg+1] {
			seg++
		}
		local[seg].Add(uint32(n - offsets[seg]))
	}
	for _, bm := range local {
		bm.RunOptimize()
	}
	return local
}

// joinSegments is the global bitmap of per-segment matches.
func joinSegments(local []*roaring.Bitmap, offsets []uint64) *roaring.Bitmap {
	if len(local) == 1 && offsets[0] == 0 {
		return local[0]
	}
	global := roaring.New()
	for i, bm := range local {
		if offsets[i] == 0 {
			global.Or(bm)
		} else {
			global.Or(roaring.AddOffset64(bm, int64(offsets[i])))
		}
	}
	global.RunOptimize()
	return global
}

// prefilteredReader restricts term postings: segment i's to local[i] (nil:
// unrestricted); segments not listed in segs are left out entirely.
type prefilteredReader struct {
	*scorch.IndexSnapshot
	segs    []*scorch.SegmentSnapshot
	offsets []uint64
	local   []*roaring.Bitmap
}

// newSubsetReader reads only the listed segments of snap (whose first
// document numbers are offsets), to evaluate a filter on new segments only.
// Only term lookups are restricted: filters are made of terms.
func newSubsetReader(snap *scorch.IndexSnapshot, offsets []uint64, only []int) *prefilteredReader {
	r := &prefilteredReader{IndexSnapshot: snap}
	all := snap.Segments()
	for _, i := range only {
		r.segs = append(r.segs, all[i])
		r.offsets = append(r.offsets, offsets[i])
		r.local = append(r.local, nil)
	}
	return r
}

// present returns the terms of field that are in the dictionary of one of
// the reader's segments, in their order.
func (r *prefilteredReader) present(field string, terms []string) ([]string, error) {
	dicts := make([]segment.TermDictionary, 0, len(r.segs))
	for _, ss := range r.segs {
		d, err := ss.Segment().Dictionary(field)
		if err != nil {
			return nil, err
		}
		dicts = append(dicts, d)
	}
	out := make([]string, 0, len(terms))
	for _, t := range terms {
		key := []byte(t)
		for _, d := range dicts {
			ok, err := d.Contains(key)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, t)
				break
			}
		}
	}
	return out, nil
}

// newPrefilteredReader wraps r when it is the snapshot the filter's bits
// were computed on; otherwise it returns r.
func newPrefilteredReader(r bindex.IndexReader, bits *filterBits) bindex.IndexReader {
	snap, ok := r.(*scorch.IndexSnapshot)
	if !prefilterPostings || bits == nil || bits.local == nil || !ok {
		return r
	}
	segs := snap.Segments() // bits were computed on this snapshot
	local := make([]*roaring.Bitmap, len(segs))
	for i, ss := range segs {
		// Where the viewer sees most of a segment, walking the restricted
		// postings costs more than scoring the few invisible documents
		// (which the filter above drops).
		if bm := bits.local[i]; 2*bm.GetCardinality() < ss.Segment().Count() {
			local[i] = bm
		}
	}
	return &prefilteredReader{IndexSnapshot: snap, segs: segs, offsets: bits.offsets, local: local}
}

func (r *prefilteredReader) TermFieldReader(ctx context.Context, term []byte, field string, includeFreq, includeNorm, includeTermVectors bool) (bindex.TermFieldReader, error) {
	if includeTermVectors {
		return r.IndexSnapshot.TermFieldReader(ctx, term, field, includeFreq, includeNorm, includeTermVectors)
	}
	return r.termFieldReader(term, field, includeFreq, includeNorm)
}

func (r *prefilteredReader) termFieldReader(term []byte, field string, includeFreq, includeNorm bool) (*prefilteredTFR, error) {
	t := &prefilteredTFR{offsets: r.offsets, includeFreq: includeFreq, includeNorm: includeNorm}
	t.reopen = func() (*prefilteredTFR, error) { return r.termFieldReader(term, field, includeFreq, includeNorm) }
	for i, ss := range r.segs {
		dict, err := ss.Segment().Dictionary(field)
		if err != nil {
			return nil, err
		}
		pl, err := dict.PostingsList(term, ss.Deleted(), nil)
		if err != nil {
			return nil, err
		}
		t.count += pl.Count()
		it := pl.Iterator(includeFreq, includeNorm, false, nil)
		if opt, ok := it.(segment.OptimizablePostingsIterator); ok && r.local[i] != nil {
			if actual := opt.ActualBitmap(); actual != nil {
				opt.ReplaceActual(roaring.And(actual, r.local[i]))
			}
		}
		t.its = append(t.its, it)
	}
	return t, nil
}

// prefilteredTFR walks the segments' restricted postings in document order.
type prefilteredTFR struct {
	its         []segment.PostingsIterator
	offsets     []uint64
	cur         int
	count       uint64
	includeFreq bool
	includeNorm bool
	currID      uint64
	started     bool
	reopen      func() (*prefilteredTFR, error) // for seeks backwards
}

func (t *prefilteredTFR) fill(p segment.Posting, rv *bindex.TermFieldDoc) *bindex.TermFieldDoc {
	if rv == nil {
		rv = &bindex.TermFieldDoc{}
	}
	n := p.Number() + t.offsets[t.cur]
	rv.ID = bindex.NewIndexInternalID(rv.ID, n)
	if t.includeFreq {
		rv.Freq = p.Frequency()
	}
	if t.includeNorm {
		rv.Norm = p.Norm()
	}
	t.currID, t.started = n, true
	return rv
}

func (t *prefilteredTFR) Next(rv *bindex.TermFieldDoc) (*bindex.TermFieldDoc, error) {
	for t.cur < len(t.its) {
		p, err := t.its[t.cur].Next()
		if err != nil {
			return nil, err
		}
		if p != nil {
			return t.fill(p, rv), nil
		}
		t.cur++
	}
	return nil, nil
}

func (t *prefilteredTFR) Advance(id bindex.IndexInternalID, rv *bindex.TermFieldDoc) (*bindex.TermFieldDoc, error) {
	n := id.Value()
	if t.started && n <= t.currID {
		// Postings iterators only move forwards: start again, as scorch's
		// own term readers do.
		nt, err := t.reopen()
		if err != nil {
			return nil, err
		}
		*t = *nt
	}
	seg := t.cur
	for seg+1 < len(t.offsets) && n >= t.offsets[seg+1] {
		seg++
	}
	if seg >= len(t.its) {
		return nil, nil
	}
	t.cur = seg
	var target uint64 // n may lie before the first segment of a subset
	if n > t.offsets[seg] {
		target = n - t.offsets[seg]
	}
	p, err := t.its[seg].Advance(target)
	if err != nil {
		return nil, err
	}
	if p == nil {
		t.cur++
		return t.Next(rv)
	}
	return t.fill(p, rv), nil
}

func (t *prefilteredTFR) Count() uint64 { return t.count }
func (t *prefilteredTFR) Close() error  { return nil }
func (t *prefilteredTFR) Size() int     { return 64 + 16*len(t.its) }
