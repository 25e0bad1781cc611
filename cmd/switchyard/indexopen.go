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
// (sync, serve, demo). An index written by another version of Switchyard
// cannot be read or updated, so it is replaced by an empty one and the sync
// checkpoints of every connection (those in the store and those in conns)
// are deleted: with no checkpoint the engine's next run of each connection
// is a full sync, which fills the new index.
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
	idx, err := index.Open(path)
	var ve *index.VersionError
	if !errors.As(err, &ve) {
		return idx, err
	}

	stored, err := db.Connections(ctx)
	if err != nil {
		return nil, fmt.Errorf("rebuild index of another version: %w", err)
	}
	all := slices.Compact(slices.Sorted(slices.Values(append(stored, conns...))))
	err = db.Tx(ctx, func(tx *store.Tx) error {
		for _, c := range all {
			if err := tx.DeleteCheckpoints(ctx, c, ""); err != nil {
				return fmt.Errorf("connection %q: %w", c, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rebuild index of another version: reset sync checkpoints: %w", err)
	}

	aside := fmt.Sprintf("%s%s%d", path, asideSuffix, time.Now().Unix())
	if err := os.Rename(path, aside); err != nil {
		return nil, fmt.Errorf("rebuild index of another version: move it aside: %w", err)
	}
	if idx, err = index.Open(path); err != nil {
		return nil, fmt.Errorf("rebuild index of another version: %w (the old index is at %s)", err, aside)
	}
	if err := os.RemoveAll(aside); err != nil {
		log.Warn("could not remove the old search index; remove it by hand", "path", aside, "err", err)
	}
	log.Warn("search index was written by another version of switchyard: rebuilt it empty for this version; the next sync of every connection is a full sync",
		"index", path, "found", ve.Found, "version", ve.Want, "connections", all)
	return idx, nil
}

// asideSuffix names an index moved aside by openSyncIndex: <path>.old-<unix time>.
const asideSuffix = ".old-"

// removeAsideIndexes removes indexes a rebuild moved aside but did not get
// to remove (it was interrupted, or the removal failed).
func removeAsideIndexes(path string, log *slog.Logger) {
	entries, _ := os.ReadDir(filepath.Dir(path))
	prefix := filepath.Base(path) + asideSuffix
	for _, e := range entries {
		stamp, ok := strings.CutPrefix(e.Name(), prefix)
		if !ok || stamp == "" || strings.Trim(stamp, "0123456789") != "" {
			continue
		}
		p := filepath.Join(filepath.Dir(path), e.Name())
		if err := os.RemoveAll(p); err != nil {
			log.Warn("could not remove an old search index; remove it by hand", "path", p, "err", err)
		}
	}
}
