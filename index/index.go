// Package index is Switchyard's bleve index: one document per issue, comment and
// attachment, scoped by connection, and search that returns only what a given
// Jira user may see. Documents carry the permission facts of their issue
// (project, security level, reporter, assignee, picker custom fields, comment
// visibility); who holds which group, role, grant or level member is applied at
// query time, so identity changes need no re-index.
package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/index/scorch/mergeplan"
	"github.com/blevesearch/bleve/v2/mapping"

	"switchyard"
)

// mappingVersion changes whenever documents or the mapping change shape; an
// index written by another version must be rebuilt (full sync).
const mappingVersion = "switchyard-index-3" // 3: identifier terms, summary weighted in the text; JSM participants, organizations, request type, internal notes

var internalVersionKey = []byte("switchyard.mapping")

// Index is a bleve index on disk (or in memory for tests). It is safe for
// concurrent use; writes are serialized so that replacing an issue's
// documents is atomic with respect to other writers.
type Index struct {
	path    string
	bleve   bleve.Index
	mapping *mapping.IndexMappingImpl

	// Source resolves viewers and permission data for Search requests that
	// name a user (AsUser). Set it before the first such search.
	Source PermissionSource

	writeMu  sync.Mutex
	segments *segmentChecker
	filters  filterCache
	facets   facetCache
	viewers  viewerFilters
}

// Open opens the index at path, creating it when it does not exist.
func Open(path string) (*Index, error) { return open(path, nil) }

// open takes scorch's configuration too (tests keep segments apart with it).
func open(path string, config map[string]any) (*Index, error) {
	if path == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "index path", "must not be empty")
	}
	m, err := newMapping()
	if err != nil {
		return nil, fmt.Errorf("index mapping: %w", err)
	}
	var b bleve.Index
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		b, err = bleve.NewUsing(path, m, scorch.Name, scorch.Name, config)
		if err != nil {
			return nil, fmt.Errorf("create index %s: %w", path, err)
		}
		if err := b.SetInternal(internalVersionKey, []byte(mappingVersion)); err != nil {
			b.Close()
			return nil, fmt.Errorf("create index %s: %w", path, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	} else {
		// Verify read-only first: a writable scorch starts merging segments
		// in the background at once, and a damaged one would panic there,
		// out of reach of any recover.
		ro, err := openVerified(path, config, true)
		if err != nil {
			return nil, err
		}
		ro.bleve.Close()
		if b, err = openBleve(path, config, false); err != nil {
			return nil, err
		}
		idx := &Index{path: path, bleve: b, mapping: m, segments: &segmentChecker{}}
		idx.segments = ro.segments
		return idx, nil
	}
	return &Index{path: path, bleve: b, mapping: m, segments: &segmentChecker{}}, nil
}

// OpenReadOnly opens an existing index for searching only (the search
// command): it takes a shared lock, so it waits (LockTimeout at most) for a
// process writing the index, and it never changes a file.
func OpenReadOnly(path string) (*Index, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	return openVerified(path, nil, true)
}

// openVerified opens an existing index and checks its version, the CRC of
// every live segment and a verification read.
func openVerified(path string, config map[string]any, readOnly bool) (*Index, error) {
	m, err := newMapping()
	if err != nil {
		return nil, fmt.Errorf("index mapping: %w", err)
	}
	b, err := openBleve(path, config, readOnly)
	if err != nil {
		return nil, err
	}
	v, err := b.GetInternal(internalVersionKey)
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	if string(v) != mappingVersion {
		b.Close()
		return nil, otherVersionError(path, v)
	}
	idx := &Index{path: path, bleve: b, mapping: m, segments: &segmentChecker{}}
	if err := newestSnapshotLoads(path, b); err != nil {
		b.Close()
		return nil, err
	}
	if err := idx.Check(context.Background()); err != nil {
		b.Close()
		return nil, err
	}
	return idx, nil
}

// OpenMem opens an index that lives in memory only (tests).
func OpenMem() (*Index, error) {
	m, err := newMapping()
	if err != nil {
		return nil, fmt.Errorf("index mapping: %w", err)
	}
	b, err := bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
	if err != nil {
		return nil, fmt.Errorf("create memory index: %w", err)
	}
	return &Index{bleve: b, mapping: m, segments: &segmentChecker{}}, nil
}

// Path is where the index lives on disk ("" in memory).
func (idx *Index) Path() string { return idx.path }

// Close closes the index.
func (idx *Index) Close() error {
	if idx == nil || idx.bleve == nil {
		return nil
	}
	return idx.bleve.Close()
}

// Compact merges the index's segments into one, which makes searches faster
// and the index smaller. The sync engine calls it after a full sync; it is
// safe while searches run.
func (idx *Index) Compact(ctx context.Context) error {
	adv, err := idx.bleve.Advanced()
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	opts := mergeplan.SingleSegmentMergePlanOptions
	if err := s.ForceMerge(ctx, &opts); err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	return nil
}
