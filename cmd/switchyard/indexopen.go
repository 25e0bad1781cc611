package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"switchyard/index"
	"switchyard/store"
)

// openSyncIndex opens the index at path for a process that syncs into it
// (sync, serve, demo). An index that cannot be used is replaced by an empty
// one and the sync checkpoints of every connection (those in the store and
// those in conns) are deleted: with no checkpoint the engine's next run of
// each connection is a full sync, which fills the new index. That covers an
// index written by another version of Switchyard (it cannot be read or
// updated), a damaged one (a file fails its check or bleve panics reading
// it) and a missing one (deleted by hand, or a lost volume) next to a store
// that has synced: left alone, an empty index would be filled only with what
// incremental syncs bring, and search would miss everything older. The
// reason is recorded with the reset, and status reports it until a full
// sync has refilled the index.
//
// The steps are ordered so that a crash between any two never leaves a new
// index behind checkpoints that say it is synced: the checkpoints go first
// (in one transaction); then the old index is renamed aside (atomic, so the
// path holds either the complete old index, which is rebuilt again on the
// next start, or nothing, which Open creates afresh); it is removed only
// once the new one exists. Removing it in place could be interrupted
// half-way and leave a directory that is neither index, which would need a
// hand to clean up.
func openSyncIndex(ctx context.Context, path string, db *store.DB, conns []string, log *slog.Logger) (*index.Index, error) {
	removeAsideIndexes(path, log)
	_, statErr := os.Stat(path)
	missing := errors.Is(statErr, os.ErrNotExist)
	stored, err := db.Connections(ctx)
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	all := slices.Compact(slices.Sorted(slices.Values(append(stored, conns...))))

	idx, err := index.Open(path)
	var ve *index.VersionError
	var ce *index.CorruptError
	var reason string
	switch {
	case err == nil && missing:
		synced, err := anyCheckpoint(ctx, db, all)
		if err != nil || !synced {
			return idx, err // a new data directory: nothing to refill
		}
		reason = "the index directory " + path + " was missing"
		if err := resetForIndex(ctx, db, all, reason); err != nil {
			idx.Close()
			return nil, err
		}
		log.Warn("search index was missing next to a synced store: created it empty; the next sync of every connection is a full sync",
			"index", path, "connections", all)
		return idx, nil
	case err == nil:
		return idx, nil
	case errors.As(err, &ve):
		reason = fmt.Sprintf("it was written by another version of switchyard (%q, this one writes %q)", ve.Found, ve.Want)
	case errors.As(err, &ce):
		reason = fmt.Sprintf("it was damaged: %s: %s", ce.File, ce.Reason)
	default:
		return nil, err
	}

	if err := resetForIndex(ctx, db, all, reason); err != nil {
		return nil, err
	}
	aside := fmt.Sprintf("%s%s%d", path, asideSuffix, time.Now().Unix())
	if err := os.Rename(path, aside); err != nil {
		return nil, fmt.Errorf("replace the search index (%s): move it aside: %w", reason, err)
	}
	if idx, err = index.Open(path); err != nil {
		return nil, fmt.Errorf("replace the search index (%s): %w (the old index is at %s)", reason, err, aside)
	}
	if err := os.RemoveAll(aside); err != nil {
		log.Warn("could not remove the old search index; remove it by hand", "path", aside, "err", err)
	}
	log.Warn("search index could not be used: rebuilt it empty; the next sync of every connection is a full sync",
		"index", path, "reason", reason, "connections", all)
	return idx, nil
}

// anyCheckpoint reports whether any of the connections has synced.
func anyCheckpoint(ctx context.Context, db *store.DB, conns []string) (bool, error) {
	for _, c := range conns {
		cps, err := db.Checkpoints(ctx, c)
		if err != nil {
			return false, fmt.Errorf("open index: %w", err)
		}
		if len(cps) > 0 {
			return true, nil
		}
	}
	return false, nil
}

// resetForIndex deletes every connection's checkpoints in one transaction,
// recording why (status shows it).
func resetForIndex(ctx context.Context, db *store.DB, conns []string, reason string) error {
	err := db.Tx(ctx, func(tx *store.Tx) error {
		for _, c := range conns {
			if err := tx.ResetForIndex(ctx, c, reason); err != nil {
				return fmt.Errorf("connection %q: %w", c, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("replace the search index (%s): reset sync checkpoints: %w", reason, err)
	}
	return nil
}

// asideSuffix names an index moved aside by openSyncIndex: <path>.old-<unix time>.
const asideSuffix = ".old-"

// removeAsideIndexes removes indexes a rebuild moved aside but did not get
// to remove (it was interrupted, or the removal failed), and half-built
// ones of an interrupted index rebuild.
func removeAsideIndexes(path string, log *slog.Logger) {
	entries, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), filepath.Base(path)+asideSuffix)
		if !ok {
			stamp, ok = strings.CutPrefix(e.Name(), filepath.Base(path)+rebuildSuffix)
		}
		if !ok || stamp == "" || strings.Trim(stamp, "0123456789") != "" {
			continue
		}
		p := filepath.Join(filepath.Dir(path), e.Name())
		if err := os.RemoveAll(p); err != nil {
			log.Warn("could not remove an old search index; remove it by hand", "path", p, "err", err)
		}
	}
}
