package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"switchyard"
)

// Checkpoint is a sync stage's cursor within a scope (a project key, or ""
// for connection-wide stages such as the audit-log watermark).
type Checkpoint struct {
	Conn     string    `json:"connection"`
	Stage    string    `json:"stage"`
	Scope    string    `json:"scope"`
	Cursor   string    `json:"cursor,omitempty"`
	CursorMS int64     `json:"cursorMs,omitempty"`
	Updated  time.Time `json:"updatedAt"`
}

// SetCheckpoint stores (replaces) a checkpoint. Commit it in the same
// transaction as the page it covers so that a crash never skips data.
func (tx *Tx) SetCheckpoint(ctx context.Context, cp Checkpoint) error {
	if err := validConn(cp.Conn); err != nil {
		return err
	}
	if cp.Stage == "" {
		return fieldErr("stage", "empty checkpoint stage")
	}
	_, err := tx.exec(ctx, `INSERT INTO checkpoints (conn, stage, scope, cursor, cursor_ms, updated_ms) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (conn, stage, scope) DO UPDATE SET cursor = excluded.cursor, cursor_ms = excluded.cursor_ms, updated_ms = excluded.updated_ms`,
		cp.Conn, cp.Stage, cp.Scope, cp.Cursor, cp.CursorMS, tx.now.UnixMilli())
	return err
}

// SetCheckpoint stores one checkpoint in its own transaction.
func (db *DB) SetCheckpoint(ctx context.Context, cp Checkpoint) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.SetCheckpoint(ctx, cp) })
}

// DeleteCheckpoints removes the connection's checkpoints of one stage, or all
// of them when stage is "" (what forces the next run to be full).
func (tx *Tx) DeleteCheckpoints(ctx context.Context, conn, stage string) error {
	var err error
	if stage == "" {
		_, err = tx.exec(ctx, `DELETE FROM checkpoints WHERE conn = ?`, conn)
	} else {
		_, err = tx.exec(ctx, `DELETE FROM checkpoints WHERE conn = ? AND stage = ?`, conn, stage)
	}
	return err
}

// DeleteCheckpoints removes checkpoints of one stage, or all when stage is "".
func (db *DB) DeleteCheckpoints(ctx context.Context, conn, stage string) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.DeleteCheckpoints(ctx, conn, stage) })
}

// Checkpoint returns one checkpoint, or ErrNotFound.
func (db *DB) Checkpoint(ctx context.Context, conn, stage, scope string) (Checkpoint, error) {
	cp := Checkpoint{Conn: conn, Stage: stage, Scope: scope}
	var upd int64
	err := db.queryRow(ctx, `SELECT cursor, cursor_ms, updated_ms FROM checkpoints WHERE conn = ? AND stage = ? AND scope = ?`,
		conn, stage, scope).Scan(&cp.Cursor, &cp.CursorMS, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return cp, notFound("no %s checkpoint for %q in connection %q", stage, scope, conn)
	}
	if err != nil {
		return cp, db.wrap("checkpoint", err)
	}
	cp.Updated = fromMS(upd)
	return cp, nil
}

// Checkpoints returns all of the connection's checkpoints ordered by stage and scope.
func (db *DB) Checkpoints(ctx context.Context, conn string) ([]Checkpoint, error) {
	rows, err := db.query(ctx, `SELECT stage, scope, cursor, cursor_ms, updated_ms FROM checkpoints WHERE conn = ? ORDER BY stage, scope`, conn)
	if err != nil {
		return nil, db.wrap("checkpoints", err)
	}
	defer rows.Close()
	out := []Checkpoint{}
	for rows.Next() {
		cp := Checkpoint{Conn: conn}
		var upd int64
		if err := rows.Scan(&cp.Stage, &cp.Scope, &cp.Cursor, &cp.CursorMS, &upd); err != nil {
			return nil, db.wrap("checkpoints", err)
		}
		cp.Updated = fromMS(upd)
		out = append(out, cp)
	}
	return out, db.wrap("checkpoints", rows.Err())
}

// ConnectionState is what the store keeps per connection besides its data:
// the hash of the filter set the last full sync ran with, filters edited
// through the API (JSON owned by the caller), and whether it is disconnected.
type ConnectionState struct {
	Conn       string          `json:"connection"`
	FilterHash string          `json:"filterHash,omitempty"`
	Filters    json.RawMessage `json:"filters,omitempty"`
	Disabled   bool            `json:"disabled"`
	Updated    time.Time       `json:"updatedAt"`
}

// PutConnectionState stores (replaces) every column of a connection's state.
// Prefer the one-column setters (SetFilterHash, SetConnectionFilters,
// SetConnectionEnabled) when another writer may change the other columns.
func (tx *Tx) PutConnectionState(ctx context.Context, s ConnectionState) error {
	if err := validConn(s.Conn); err != nil {
		return err
	}
	var filters sql.NullString
	if len(s.Filters) > 0 {
		if !json.Valid(s.Filters) {
			return fieldErr("filters", "not valid JSON")
		}
		filters = sql.NullString{String: string(s.Filters), Valid: true}
	}
	_, err := tx.exec(ctx, `INSERT INTO connections (conn, filter_hash, filters, disabled, updated_ms) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (conn) DO UPDATE SET filter_hash = excluded.filter_hash, filters = excluded.filters,
			disabled = excluded.disabled, updated_ms = excluded.updated_ms`,
		s.Conn, s.FilterHash, filters, s.Disabled, tx.now.UnixMilli())
	return err
}

// SetFilterHash records the filter-set hash a connection last fully synced with.
func (tx *Tx) SetFilterHash(ctx context.Context, conn, hash string) error {
	if err := validConn(conn); err != nil {
		return err
	}
	_, err := tx.exec(ctx, `INSERT INTO connections (conn, filter_hash, updated_ms) VALUES (?, ?, ?)
		ON CONFLICT (conn) DO UPDATE SET filter_hash = excluded.filter_hash, updated_ms = excluded.updated_ms`,
		conn, hash, tx.now.UnixMilli())
	return err
}

// PutConnectionState stores a connection's state in its own transaction.
func (db *DB) PutConnectionState(ctx context.Context, s ConnectionState) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.PutConnectionState(ctx, s) })
}

// SetFilterHash records the filter-set hash in its own transaction.
func (db *DB) SetFilterHash(ctx context.Context, conn, hash string) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.SetFilterHash(ctx, conn, hash) })
}

// ConnectionState returns a connection's state; a connection never recorded
// yields the zero state (no filter hash, enabled) with no error.
func (db *DB) ConnectionState(ctx context.Context, conn string) (ConnectionState, error) {
	s := ConnectionState{Conn: conn}
	var filters sql.NullString
	var upd int64
	err := db.queryRow(ctx, `SELECT filter_hash, filters, disabled, updated_ms FROM connections WHERE conn = ?`, conn).
		Scan(&s.FilterHash, &filters, &s.Disabled, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return s, nil
	}
	if err != nil {
		return s, db.wrap("connection state", err)
	}
	if filters.Valid {
		s.Filters = json.RawMessage(filters.String)
	}
	s.Updated = fromMS(upd)
	return s, nil
}

// FilterHash returns the filter-set hash the connection last synced with, or "".
func (db *DB) FilterHash(ctx context.Context, conn string) (string, error) {
	s, err := db.ConnectionState(ctx, conn)
	return s.FilterHash, err
}

// Sync run states.
const (
	RunRunning   = "running"
	RunSucceeded = "succeeded"
	RunFailed    = "failed"
	RunCanceled  = "canceled"
)

// SyncRun is one sync of one connection. Stats holds counters per stage
// (stage → counter → value, e.g. "issues" → "fetched" → 1200).
type SyncRun struct {
	ID       int64                       `json:"id"`
	Conn     string                      `json:"connection"`
	Full     bool                        `json:"full"`
	Started  time.Time                   `json:"startedAt"`
	Finished time.Time                   `json:"finishedAt,omitzero"`
	State    string                      `json:"state"`
	Stage    string                      `json:"stage,omitempty"`
	Stats    map[string]map[string]int64 `json:"stats"`
	Warnings []string                    `json:"warnings"`
	Error    string                      `json:"error,omitempty"`
}

// StartRun records a new running sync of conn and returns it; its id is also
// a good mark-and-sweep generation (ids only grow).
func (db *DB) StartRun(ctx context.Context, conn string, full bool) (SyncRun, error) {
	if err := validConn(conn); err != nil {
		return SyncRun{}, err
	}
	r := SyncRun{Conn: conn, Full: full, State: RunRunning, Stats: map[string]map[string]int64{}, Warnings: []string{}}
	err := db.Tx(ctx, func(tx *Tx) error {
		r.Started = tx.now.Truncate(time.Millisecond)
		err := tx.queryRow(ctx, `INSERT INTO sync_runs (conn, full, started_ms, state) VALUES (?, ?, ?, 'running') RETURNING id`,
			conn, full, r.Started.UnixMilli()).Scan(&r.ID)
		return tx.db.wrap("start run", err)
	})
	return r, err
}

// UpdateRun stores a running sync's stage, stats and warnings (progress).
func (db *DB) UpdateRun(ctx context.Context, r SyncRun) error {
	return db.saveRun(ctx, r, false)
}

// FinishRun stores the run's final stage, stats, warnings and error with a
// terminal state (succeeded, failed or canceled) and the finish time.
func (db *DB) FinishRun(ctx context.Context, r SyncRun) error {
	switch r.State {
	case RunSucceeded, RunFailed, RunCanceled:
	default:
		return fieldErr("state", "finish a run as %s, %s or %s, not %q", RunSucceeded, RunFailed, RunCanceled, r.State)
	}
	return db.saveRun(ctx, r, true)
}

func (db *DB) saveRun(ctx context.Context, r SyncRun, finish bool) error {
	stats, err := json.Marshal(orEmptyMap(r.Stats))
	if err != nil {
		return fmt.Errorf("save run %d: %w", r.ID, err)
	}
	warnings := r.Warnings
	if warnings == nil {
		warnings = []string{}
	}
	w, _ := json.Marshal(warnings)
	return db.Tx(ctx, func(tx *Tx) error {
		var res sql.Result
		var err error
		if finish {
			res, err = tx.exec(ctx, `UPDATE sync_runs SET stage = ?, stats = ?, warnings = ?, error = ?, state = ?, finished_ms = ?
				WHERE id = ? AND state = 'running'`, r.Stage, string(stats), string(w), r.Error, r.State, tx.now.UnixMilli(), r.ID)
		} else {
			res, err = tx.exec(ctx, `UPDATE sync_runs SET stage = ?, stats = ?, warnings = ? WHERE id = ? AND state = 'running'`,
				r.Stage, string(stats), string(w), r.ID)
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return switchyard.Errorf(switchyard.ErrConflict, "sync run %d does not exist or is already finished", r.ID)
		}
		return nil
	})
}

func orEmptyMap(m map[string]map[string]int64) map[string]map[string]int64 {
	if m == nil {
		return map[string]map[string]int64{}
	}
	return m
}

// InterruptRuns marks every run still "running" as failed: called at start-up,
// they belong to a process that died. It returns how many it marked.
func (db *DB) InterruptRuns(ctx context.Context) (int64, error) {
	var n int64
	err := db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE sync_runs SET state = 'failed', finished_ms = ?,
			error = 'interrupted: the process stopped during the run' WHERE state = 'running'`, tx.now.UnixMilli())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

const runCols = `id, conn, full, started_ms, finished_ms, state, stage, stats, warnings, error`

func scanRun(row interface{ Scan(...any) error }) (SyncRun, error) {
	var r SyncRun
	var started, finished int64
	var stats, warnings string
	if err := row.Scan(&r.ID, &r.Conn, &r.Full, &started, &finished, &r.State, &r.Stage, &stats, &warnings, &r.Error); err != nil {
		return r, err
	}
	r.Started, r.Finished = fromMS(started), fromMS(finished)
	if err := json.Unmarshal([]byte(stats), &r.Stats); err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(warnings), &r.Warnings); err != nil {
		return r, err
	}
	r.Stats = orEmptyMap(r.Stats)
	if r.Warnings == nil {
		r.Warnings = []string{}
	}
	return r, nil
}

// Run returns one sync run, or ErrNotFound.
func (db *DB) Run(ctx context.Context, id int64) (SyncRun, error) {
	r, err := scanRun(db.queryRow(ctx, `SELECT `+runCols+` FROM sync_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("no sync run %d", id)
	}
	if err != nil {
		return r, db.wrap("sync run", err)
	}
	return r, nil
}

// Runs returns the connection's latest runs, newest first (all connections
// when conn is ""). limit <= 0 means 20.
func (db *DB) Runs(ctx context.Context, conn string, limit int) ([]SyncRun, error) {
	if limit <= 0 {
		limit = 20
	}
	rows, err := db.query(ctx, `SELECT `+runCols+` FROM sync_runs WHERE (?1 = '' OR conn = ?1) ORDER BY id DESC LIMIT ?2`, conn, limit)
	if err != nil {
		return nil, db.wrap("sync runs", err)
	}
	defer rows.Close()
	out := []SyncRun{}
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, db.wrap("sync runs", err)
		}
		out = append(out, r)
	}
	return out, db.wrap("sync runs", rows.Err())
}
