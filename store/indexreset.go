package store

import (
	"context"
	"database/sql"
	"errors"
	"time"
)

// IndexReset is the latest replacement of the search index that reset a
// connection's checkpoints (see ResetForIndex).
type IndexReset struct {
	Conn   string    `json:"connection"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
	// RefilledBy is the first full sync started after the reset that
	// succeeded (0 while none has: the index lacks this connection's data).
	RefilledBy int64 `json:"refilledBy,omitempty"`
}

// ResetForIndex deletes the connection's checkpoints, so that its next sync
// is full, and records why: the search index was replaced by an empty one.
func (tx *Tx) ResetForIndex(ctx context.Context, conn, reason string) error {
	if err := validConn(conn); err != nil {
		return err
	}
	if err := tx.DeleteCheckpoints(ctx, conn, ""); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO index_resets (conn, reason, at_ms) VALUES (?, ?, ?)
		ON CONFLICT (conn) DO UPDATE SET reason = excluded.reason, at_ms = excluded.at_ms`,
		conn, reason, tx.now.UnixMilli())
	return err
}

// IndexReset returns the connection's latest index reset, if any, with the
// full sync that refilled the index after it.
func (db *DB) IndexReset(ctx context.Context, conn string) (IndexReset, bool, error) {
	r := IndexReset{Conn: conn}
	var at int64
	err := db.queryRow(ctx, `SELECT reason, at_ms FROM index_resets WHERE conn = ?`, conn).Scan(&r.Reason, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, db.wrap("index reset", err)
	}
	r.At = time.UnixMilli(at).UTC()
	err = db.queryRow(ctx, `SELECT id FROM sync_runs WHERE conn = ? AND full = 1 AND state = 'succeeded' AND started_ms >= ? ORDER BY id LIMIT 1`,
		conn, at).Scan(&r.RefilledBy)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return r, false, db.wrap("index reset", err)
	}
	return r, true, nil
}
