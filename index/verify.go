package index

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/index/scorch"
	bolt "go.etcd.io/bbolt"
)

// ErrCorrupt is matched by Open's (and Check's) error when a file of the
// index is damaged: it cannot be trusted and must be rebuilt.
var ErrCorrupt = errors.New("index is damaged")

// ErrLocked is matched by Open's error when another process has the index
// open for writing (bleve's root.bolt is locked) and LockTimeout passed.
var ErrLocked = errors.New("index is in use by another process")

// LockTimeout bounds how long Open waits for another process's lock on the
// index before it fails with ErrLocked, instead of waiting forever.
var LockTimeout = 3 * time.Second

// CorruptError names the damaged file (errors.As); it matches ErrCorrupt.
type CorruptError struct {
	Path   string // the index directory
	File   string // the damaged file (the directory when no one file is to blame)
	Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("index %s is damaged: %s: %s", e.Path, e.File, e.Reason)
}

func (e *CorruptError) Unwrap() error { return ErrCorrupt }

// openBleve opens an existing bleve index, turning the panics bleve and bolt
// raise on damaged files ("invalid freelist page", slice bounds in a .zap
// read) into a *CorruptError naming the file, and bolt's lock timeout into
// ErrLocked.
func openBleve(path string, config map[string]any, readOnly bool) (b bleve.Index, err error) {
	cfg := map[string]any{"bolt_timeout": LockTimeout.String()}
	for k, v := range config {
		cfg[k] = v
	}
	if readOnly {
		cfg["read_only"] = true
	}
	defer func() {
		if p := recover(); p != nil {
			b, err = nil, diagnose(path, fmt.Sprint(p), true)
		}
	}()
	b, err = bleve.OpenUsing(path, cfg)
	switch {
	case err == nil:
		return b, nil
	case errors.Is(err, bolt.ErrTimeout):
		return nil, fmt.Errorf("open index %s: %w (another switchyard process holds %s; waited %s)", path, ErrLocked, filepath.Join(path, scorchDir, "root.bolt"), LockTimeout)
	case errors.Is(err, os.ErrPermission):
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	// An error may also come from a damaged file; say which when one is.
	if ce := diagnose(path, err.Error(), true); ce.File != path {
		return nil, ce
	}
	return nil, fmt.Errorf("open index %s: %w", path, err)
}

// diagnose looks for the damaged file of an index that failed to open:
// root.bolt (bolt's own consistency check; not when this process has it
// open) and every .zap segment's CRC.
func diagnose(path, reason string, withBolt bool) *CorruptError {
	root := filepath.Join(path, scorchDir, "root.bolt")
	if !withBolt {
	} else if why := checkBolt(root); why != "" {
		return &CorruptError{Path: path, File: root, Reason: why + " (" + reason + ")"}
	}
	zaps, _ := filepath.Glob(filepath.Join(path, scorchDir, "*.zap"))
	sort.Strings(zaps)
	for _, z := range zaps {
		if err := checkZap(z); err != nil {
			return &CorruptError{Path: path, File: z, Reason: err.Error() + " (" + reason + ")"}
		}
	}
	return &CorruptError{Path: path, File: path, Reason: reason}
}

// checkBolt opens a bolt file read-only and runs its consistency check;
// it returns what is wrong, or "". Only for a file no one has open.
func checkBolt(path string) (why string) {
	defer func() {
		if p := recover(); p != nil {
			why = fmt.Sprint(p)
		}
	}()
	if _, err := os.Stat(path); err != nil {
		return "" // a missing root.bolt is not the damage looked for here
	}
	// PreLoadFreelist reads the freelist here, where a panic is recovered
	// (bolt's own tx.Check panics on it in a goroutine of its own).
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: LockTimeout, PreLoadFreelist: true})
	if errors.Is(err, bolt.ErrTimeout) {
		return ""
	}
	if err != nil {
		return err.Error()
	}
	defer db.Close()
	// Read every key and value of every bucket: each page of the tree.
	var walk func(b *bolt.Bucket) error
	walk = func(b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				if nb := b.Bucket(k); nb != nil {
					return walk(nb)
				}
			}
			return nil
		})
	}
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
	})
	if err != nil {
		return err.Error()
	}
	return ""
}

// scorchDir is where bleve keeps scorch's files inside an index directory.
const scorchDir = "store"

// zapFooterCRC is where a zap segment keeps the CRC-32 (IEEE) of every byte
// before it: its last 4 bytes.
const zapFooterCRC = 4

// checkZap verifies a zap segment file against the CRC in its footer. It
// reads the whole file: that is what catches damage in the middle, which
// bleve would otherwise find (by panicking) only when a query reads there.
func checkZap(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	n := fi.Size()
	if n < 64 {
		return fmt.Errorf("segment file is truncated (%d bytes)", n)
	}
	h := crc32.NewIEEE()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, n-zapFooterCRC)); err != nil {
		return fmt.Errorf("read segment: %w", err)
	}
	var want [zapFooterCRC]byte
	if _, err := f.ReadAt(want[:], n-zapFooterCRC); err != nil {
		return fmt.Errorf("read segment footer: %w", err)
	}
	if got := h.Sum32(); got != binary.BigEndian.Uint32(want[:]) {
		return fmt.Errorf("segment checksum mismatch (file %08x, footer %08x)", got, binary.BigEndian.Uint32(want[:]))
	}
	return nil
}

// segmentChecker verifies the live segment files of an open index, each
// again only when its size or modification time changed (segments are
// immutable once written: a change is damage).
type segmentChecker struct {
	mu sync.Mutex
	ok map[string]fileStamp
}

type fileStamp struct {
	size  int64
	mtime time.Time
}

// liveSegments lists the files of the segments in the index's current
// snapshot (not files being written or waiting for removal).
func liveSegments(b bleve.Index) ([]string, error) {
	adv, err := b.Advanced()
	if err != nil {
		return nil, err
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil, nil
	}
	r, err := s.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	snap, ok := r.(*scorch.IndexSnapshot)
	if !ok {
		return nil, nil
	}
	var out []string
	for _, ss := range snap.Segments() {
		if p, ok := ss.Segment().(interface{ Path() string }); ok && p.Path() != "" {
			out = append(out, p.Path())
		}
	}
	return out, nil
}

func (c *segmentChecker) check(path string, b bleve.Index) error {
	files, err := liveSegments(b)
	if err != nil {
		return fmt.Errorf("index %s: list segments: %w", path, err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ok == nil {
		c.ok = map[string]fileStamp{}
	}
	live := map[string]bool{}
	for _, f := range files {
		live[f] = true
		fi, err := os.Stat(f)
		if errors.Is(err, os.ErrNotExist) {
			return &CorruptError{Path: path, File: f, Reason: "segment file of the current snapshot is missing"}
		}
		if err != nil {
			return fmt.Errorf("index %s: %w", path, err)
		}
		st := fileStamp{fi.Size(), fi.ModTime()}
		if c.ok[f] == st {
			continue
		}
		if err := checkZap(f); err != nil {
			delete(c.ok, f)
			return &CorruptError{Path: path, File: f, Reason: err.Error()}
		}
		c.ok[f] = st
	}
	for f := range c.ok {
		if !live[f] {
			delete(c.ok, f) // merged away
		}
	}
	return nil
}

// newestSnapshotLoads checks that the index serves its newest persisted
// snapshot: scorch, when that one does not load (a damaged segment), logs
// "unable to load snapshot, continuing" and opens an older one, or none,
// which would silently lose documents.
func newestSnapshotLoads(path string, b bleve.Index) (err error) {
	adv, err := b.Advanced()
	if err != nil {
		return err
	}
	s, ok := adv.(*scorch.Scorch)
	if !ok {
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			err = diagnose(path, fmt.Sprint(p), false)
		}
	}()
	epochs, err := s.RootBoltSnapshotEpochs()
	if err != nil {
		return diagnose(path, "list snapshots: "+err.Error(), false)
	}
	if len(epochs) == 0 {
		return nil
	}
	snap, err := s.LoadSnapshot(epochs[0])
	if err != nil {
		return diagnose(path, fmt.Sprintf("the newest snapshot (%d) does not load: %v", epochs[0], err), false)
	}
	if snap != nil {
		snap.DecRef()
	}
	return nil
}

// verificationRead runs a search over every document and reads one stored
// document, recovering the panics a damaged segment raises.
func verificationRead(path string, b bleve.Index) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = diagnose(path, fmt.Sprint(p), false)
		}
	}()
	req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), 1, 0, false)
	req.Fields = []string{"*"}
	if _, err := b.Search(req); err != nil {
		return fmt.Errorf("index %s: verification read: %w", path, err)
	}
	if _, err := b.DocCount(); err != nil {
		return fmt.Errorf("index %s: verification read: %w", path, err)
	}
	return nil
}

// Check verifies the open index: the CRC of each live segment file (again
// only when it changed) and a verification read. Readiness probes call it;
// a *CorruptError names the damaged file.
func (idx *Index) Check(ctx context.Context) error {
	if idx.path == "" {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := idx.segments.check(idx.path, idx.bleve); err != nil {
		return err
	}
	return verificationRead(idx.path, idx.bleve)
}
