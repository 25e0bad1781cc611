package store

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// The index change log (table index_changes): on PostgreSQL every change to
// an issue, its comments or its attachments' text adds a row in the same
// transaction, and the commit wakes listeners (NOTIFY switchyard_index).
// Every replica applies the rows after its last applied seq to its own
// index; one that is behind the oldest row left (the log was trimmed)
// rebuilds its index from the store. Write transactions are serialized (the
// all-writers lock), so seq order is commit order and a reader never skips a
// row that commits later with a smaller seq.
//
// On SQLite there is one process, which indexes as it writes: no rows.

// IndexChangeChannel is the NOTIFY channel of the change log.
const IndexChangeChannel = "switchyard_index"

// Index change operations.
const (
	IndexPut    = "put"    // (re)index the issue from the store
	IndexDelete = "delete" // remove the issue from the index
	IndexPurge  = "purge"  // remove every issue of the connection
)

// IndexChange is one row of the change log.
type IndexChange struct {
	Seq     int64
	Conn    string
	IssueID string
	Op      string
	At      time.Time
}

// logIndexChange records a change in tx (PostgreSQL only).
func (tx *Tx) logIndexChange(ctx context.Context, conn, issueID, op string) error {
	if !tx.db.postgres() {
		return nil
	}
	if _, err := tx.exec(ctx, `INSERT INTO index_changes (conn, issue_id, op, at_ms) VALUES (?, ?, ?, ?)`,
		conn, issueID, op, tx.now.UnixMilli()); err != nil {
		return err
	}
	if !tx.notified {
		// Delivered at commit, once per transaction.
		if _, err := tx.exec(ctx, `SELECT pg_notify('`+IndexChangeChannel+`', '')`); err != nil {
			return err
		}
		tx.notified = true
	}
	return nil
}

// logAttachmentChange records a put of the issue holding attachment id.
func (tx *Tx) logAttachmentChange(ctx context.Context, conn, attachmentID string) error {
	if !tx.db.postgres() {
		return nil
	}
	var issueID string
	err := tx.queryRow(ctx, `SELECT issue_id FROM attachments WHERE conn = ? AND id = ?`, conn, attachmentID).Scan(&issueID)
	if err != nil {
		return tx.db.wrap("index change", err)
	}
	return tx.logIndexChange(ctx, conn, issueID, IndexPut)
}

// IndexChanges returns up to limit changes with seq > after, in order.
func (db *DB) IndexChanges(ctx context.Context, after int64, limit int) ([]IndexChange, error) {
	if limit <= 0 {
		limit = 1000
	}
	rows, err := db.query(ctx, `SELECT seq, conn, issue_id, op, at_ms FROM index_changes WHERE seq > ? ORDER BY seq LIMIT ?`, after, limit)
	return collectRows(db, "index changes", rows, err, func(r interface{ Scan(...any) error }) (IndexChange, error) {
		var c IndexChange
		var at int64
		err := r.Scan(&c.Seq, &c.Conn, &c.IssueID, &c.Op, &at)
		c.At = fromMS(at)
		return c, err
	})
}

// IndexChangeBounds returns the oldest and newest seq in the log (0, 0 when
// it is empty). Trimming always keeps the newest row, so head never goes back.
func (db *DB) IndexChangeBounds(ctx context.Context) (oldest, head int64, err error) {
	err = db.queryRow(ctx, `SELECT COALESCE(MIN(seq), 0), COALESCE(MAX(seq), 0) FROM index_changes`).Scan(&oldest, &head)
	return oldest, head, db.wrap("index change bounds", err)
}

// TrimIndexChanges removes changes older than before, except the newest;
// replicas behind what is removed rebuild their index.
func (db *DB) TrimIndexChanges(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `DELETE FROM index_changes WHERE at_ms < ? AND seq < (SELECT MAX(seq) FROM index_changes)`, before.UnixMilli())
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		return nil
	})
	return n, err
}

// ListenIndexChanges calls wake after each committed batch of changes (and
// once when listening starts or resumes, so nothing between is missed) until
// ctx ends, on a dedicated connection; it reconnects after errors. On SQLite
// it returns at once.
func (db *DB) ListenIndexChanges(ctx context.Context, wake func()) {
	if !db.postgres() {
		return
	}
	for ctx.Err() == nil {
		err := db.listen(ctx, wake)
		if ctx.Err() != nil {
			return
		}
		db.logElection("listen "+IndexChangeChannel, err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (db *DB) listen(ctx context.Context, wake func()) error {
	cfg := db.pgcfg.Copy()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, `LISTEN `+IndexChangeChannel); err != nil {
		return err
	}
	wake()
	for {
		if _, err := conn.WaitForNotification(ctx); err != nil {
			if errors.Is(err, context.Canceled) {
				return nil
			}
			return err
		}
		wake()
	}
}

// ReplicaState is a replica's index position as it last reported it.
type ReplicaState struct {
	ID       string    `json:"id"`
	IndexSeq int64     `json:"indexSeq"`
	Updated  time.Time `json:"updatedAt"`
}

// SetReplicaIndexSeq records replica id's last applied change-log seq.
func (db *DB) SetReplicaIndexSeq(ctx context.Context, id string, seq int64) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO replicas (id, index_seq, updated_ms) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET index_seq = excluded.index_seq, updated_ms = excluded.updated_ms`, id, seq, tx.now.UnixMilli())
		return err
	})
}

// Replicas returns every replica's reported index position, by id.
func (db *DB) Replicas(ctx context.Context) ([]ReplicaState, error) {
	rows, err := db.query(ctx, `SELECT id, index_seq, updated_ms FROM replicas ORDER BY id`)
	return collectRows(db, "replicas", rows, err, func(r interface{ Scan(...any) error }) (ReplicaState, error) {
		var s ReplicaState
		var at int64
		err := r.Scan(&s.ID, &s.IndexSeq, &at)
		s.Updated = fromMS(at)
		return s, err
	})
}
