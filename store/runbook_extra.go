package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"switchyard/audit"
)

// What the runbook package needs beyond tickets.go and outbox.go: the steps
// of a run that must be atomic (a run with its approval and first outbox
// items; a decision with the run's new state and its follow-up items), and
// small per-run notes (execution result, Slack message reference, write-back
// outcome).
//
// runbook_notes is created on first use rather than by a numbered migration,
// so that this file stays self-contained; it can move into a migration as
// "CREATE TABLE IF NOT EXISTS" without any change for existing databases.

const runbookNotesDDL = `CREATE TABLE IF NOT EXISTS runbook_notes (
	run_id     INTEGER NOT NULL REFERENCES ticket_runs (id) ON DELETE CASCADE,
	name       TEXT NOT NULL,
	value      TEXT NOT NULL,
	updated_ms INTEGER NOT NULL,
	PRIMARY KEY (run_id, name)
)`

var notesReady sync.Map // *DB → *notesOnce

type notesOnce struct {
	once sync.Once
	err  error
}

func (db *DB) ensureRunbookNotes(ctx context.Context) error {
	v, _ := notesReady.LoadOrStore(db, &notesOnce{})
	o := v.(*notesOnce)
	o.once.Do(func() {
		_, err := db.write.ExecContext(ctx, runbookNotesDDL)
		o.err = db.wrap("create runbook_notes", err)
	})
	if o.err != nil {
		// Let a later call try again (e.g. a cancelled context).
		notesReady.Delete(db)
	}
	return o.err
}

// CreateRunWithApproval inserts r unless a run exists for (r.Conn,
// r.IssueKey), like CreateRunOnce; when it is new it also opens its approval
// request (when expires is set) and calls then (to enqueue notifications and
// append audit records), all in one transaction, so
// a crash never leaves a pending run that nobody is asked about.
func (db *DB) CreateRunWithApproval(ctx context.Context, r TicketRun, expires time.Time, then func(*Tx, TicketRun, Approval) error) (TicketRun, Approval, bool, error) {
	var out TicketRun
	var appr Approval
	var created bool
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		out, appr, created, err = tx.CreateRunWithApproval(ctx, r, expires, then)
		return err
	})
	return out, appr, created, err
}

// CreateRunWithApproval is DB.CreateRunWithApproval inside tx (several
// ingests can share one transaction: group commit).
func (tx *Tx) CreateRunWithApproval(ctx context.Context, r TicketRun, expires time.Time, then func(*Tx, TicketRun, Approval) error) (TicketRun, Approval, bool, error) {
	if err := validateNewRun(r); err != nil {
		return r, Approval{}, false, err
	}
	inputs, err := inputsJSON(r.Inputs)
	if err != nil {
		return r, Approval{}, false, err
	}
	var out TicketRun
	var appr Approval
	now := tx.now.UnixMilli()
	// RETURNING yields the new row, or no row when the issue has a run.
	out, err = scanTicket(tx.queryRow(ctx, `INSERT INTO ticket_runs (conn, issue_key, body_hash, intent, runbook, confidence, disposition, reason, inputs, state, created_ms, updated_ms)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (conn, issue_key) DO NOTHING RETURNING `+ticketCols,
		r.Conn, r.IssueKey, r.BodyHash, r.Intent, r.Runbook, r.Confidence, r.Disposition, r.Reason, inputs, r.State, now, now))
	if errors.Is(err, sql.ErrNoRows) {
		out, err = scanTicket(tx.queryRow(ctx, `SELECT `+ticketCols+` FROM ticket_runs WHERE conn = ? AND issue_key = ?`, r.Conn, r.IssueKey))
		return out, appr, false, tx.db.wrap("create run", err)
	}
	if err != nil {
		return out, appr, false, tx.db.wrap("create run", err)
	}
	if !expires.IsZero() {
		appr, err = scanApproval(tx.queryRow(ctx, `INSERT INTO approvals (run_id, status, expires_at_ms, created_ms) VALUES (?, 'pending', ?, ?) RETURNING `+approvalCols,
			out.ID, expires.UnixMilli(), now))
		if err != nil {
			return out, appr, false, tx.db.wrap("create approval", err)
		}
	}
	if then != nil {
		if err := then(tx, out, appr); err != nil {
			return out, appr, false, err
		}
	}
	return out, appr, true, nil
}

// DecideRun records the first decision on a pending approval, like Decide,
// and calls after in the same transaction (to move the run on, enqueue its
// next steps and append the audit record). after runs only when this call
// changed the approval (which includes a late decision that found it
// expired); changed reports that.
func (db *DB) DecideRun(ctx context.Context, approvalID int64, d Decision, after func(tx *Tx, a Approval) error) (a Approval, changed bool, err error) {
	switch d.Status {
	case ApprovalApproved, ApprovalDenied, ApprovalExpired:
	default:
		return Approval{}, false, fieldErr("status", "decision must be %s, %s or %s, not %q", ApprovalApproved, ApprovalDenied, ApprovalExpired, d.Status)
	}
	if strings.TrimSpace(d.By) == "" {
		return Approval{}, false, fieldErr("decidedBy", "a decision needs who made it")
	}
	err = db.Tx(ctx, func(tx *Tx) error {
		if a, changed, err = tx.decideApproval(ctx, approvalID, d); err != nil {
			return err
		}
		if !changed || after == nil {
			return nil
		}
		return after(tx, a)
	})
	return a, changed, err
}

// decideApproval records the decision on a pending approval (expired
// instead when it is past its expiry) and returns it; changed is false when
// it was no longer pending.
func (tx *Tx) decideApproval(ctx context.Context, approvalID int64, d Decision) (a Approval, changed bool, err error) {
	now := tx.now.UnixMilli()
	res, err := tx.exec(ctx, `UPDATE approvals SET status = CASE WHEN expires_at_ms <= ?1 THEN 'expired' ELSE ?2 END,
			decided_by = CASE WHEN expires_at_ms <= ?1 THEN 'system' ELSE ?3 END,
			note = CASE WHEN expires_at_ms <= ?1 THEN '' ELSE ?4 END,
			decided_at_ms = ?1
		WHERE id = ?5 AND status = 'pending'`, now, d.Status, d.By, d.Note, approvalID)
	if err != nil {
		return a, false, err
	}
	n, _ := res.RowsAffected()
	a, err = scanApproval(tx.queryRow(ctx, `SELECT `+approvalCols+` FROM approvals WHERE id = ?`, approvalID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, false, notFound("no approval %d", approvalID)
	}
	if err != nil {
		return a, false, tx.db.wrap("decide", err)
	}
	return a, n == 1, nil
}

// ExpireRuns marks every pending approval past its expiry as expired and
// calls after for each, in the same transaction.
func (db *DB) ExpireRuns(ctx context.Context, after func(tx *Tx, a Approval) error) ([]Approval, error) {
	var out []Approval
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		if out, err = tx.expireApprovals(ctx); err != nil {
			return err
		}
		if after == nil {
			return nil
		}
		for _, a := range out {
			if err := after(tx, a); err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}

// SetRunNote stores a named note of a run (JSON), replacing an older one.
func (db *DB) SetRunNote(ctx context.Context, runID int64, name string, value json.RawMessage) error {
	if err := validRunNote(name, value); err != nil {
		return err
	}
	if err := db.ensureRunbookNotes(ctx); err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *Tx) error {
		return tx.putRunNote(ctx, runID, name, value)
	})
}

func validRunNote(name string, value json.RawMessage) error {
	if strings.TrimSpace(name) == "" {
		return fieldErr("name", "empty note name")
	}
	if !json.Valid(value) {
		return fieldErr("value", "note %s is not valid JSON", name)
	}
	return nil
}

// putRunNote upserts a note; runbook_notes must exist.
func (tx *Tx) putRunNote(ctx context.Context, runID int64, name string, value json.RawMessage) error {
	_, err := tx.exec(ctx, `INSERT INTO runbook_notes (run_id, name, value, updated_ms) VALUES (?, ?, ?, ?)
		ON CONFLICT (run_id, name) DO UPDATE SET value = excluded.value, updated_ms = excluded.updated_ms`,
		runID, name, string(value), tx.now.UnixMilli())
	if isForeignKeyViolation(err) {
		return notFound("no ticket run %d", runID)
	}
	return err
}

// RunNotes returns a run's notes by name.
func (db *DB) RunNotes(ctx context.Context, runID int64) (map[string]json.RawMessage, error) {
	if err := db.ensureRunbookNotes(ctx); err != nil {
		return nil, err
	}
	rows, err := db.query(ctx, `SELECT name, value FROM runbook_notes WHERE run_id = ?`, runID)
	if err != nil {
		return nil, db.wrap("run notes", err)
	}
	defer rows.Close()
	out := map[string]json.RawMessage{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, db.wrap("run notes", err)
		}
		out[name] = json.RawMessage(value)
	}
	return out, db.wrap("run notes", rows.Err())
}

// OutboxByKeyPrefix lists the items whose de-duplication key starts with
// prefix, oldest first (a run's notifications and write-back).
func (db *DB) OutboxByKeyPrefix(ctx context.Context, prefix string) ([]OutboxItem, error) {
	if prefix == "" {
		return nil, fieldErr("prefix", "empty key prefix")
	}
	// The range scan uses the unique index on dedupe_key; LIKE would not
	// (and would treat _ and % in keys as wildcards).
	rows, err := db.query(ctx, `SELECT `+outboxCols+` FROM outbox WHERE dedupe_key >= ?1 AND dedupe_key < ?1 || char(1114111) ORDER BY id`, prefix)
	return collectRows(db, "outbox by key", rows, err, scanOutbox)
}

// ApprovalsPage lists approvals in status ("" for all) with id > after,
// oldest first, for paging.
func (db *DB) ApprovalsPage(ctx context.Context, status string, after int64, limit int) ([]Approval, error) {
	switch status {
	case "", ApprovalPending, ApprovalApproved, ApprovalDenied, ApprovalExpired:
	default:
		return nil, fieldErr("status", "unknown approval status %q (want pending, approved, denied or expired)", status)
	}
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := db.query(ctx, `SELECT `+approvalCols+` FROM approvals WHERE (?1 = '' OR status = ?1) AND id > ?2 ORDER BY id LIMIT ?3`, status, after, limit)
	return collectRows(db, "approvals", rows, err, scanApproval)
}

// AppendAudit appends an audit record inside tx, so that a step and its
// audit record commit together (see DB.AppendAudit).
func (tx *Tx) AppendAudit(ctx context.Context, next func(prev audit.Record) (audit.Record, error)) (audit.Record, error) {
	if tx.db.postgres() {
		// The chain's own lock, held to commit: appends of all replicas
		// are totally ordered even by a transaction that skipped the
		// all-writers lock.
		if _, err := tx.exec(ctx, auditLockSQL); err != nil {
			return audit.Record{}, tx.db.wrap("audit lock", err)
		}
	}
	prev, err := scanAudit(tx.queryRow(ctx, `SELECT `+auditCols+` FROM audit_log ORDER BY seq DESC LIMIT 1`))
	if errors.Is(err, sql.ErrNoRows) {
		prev = audit.Record{}
	} else if err != nil {
		return audit.Record{}, tx.db.wrap("audit append", err)
	}
	return tx.AppendAuditAfter(ctx, prev, next)
}

// AppendAuditAfter appends next after prev, which the caller knows is the
// chain's head in this transaction (it appended it): no head lookup.
func (tx *Tx) AppendAuditAfter(ctx context.Context, prev audit.Record, next func(prev audit.Record) (audit.Record, error)) (audit.Record, error) {
	rec, err := next(prev)
	if err != nil {
		return audit.Record{}, err
	}
	if rec.Seq != prev.Seq+1 {
		return audit.Record{}, fmt.Errorf("audit append: next record has sequence %d after %d", rec.Seq, prev.Seq)
	}
	if _, err := tx.exec(ctx, `INSERT INTO audit_log (seq, time_ms, type, actor, subject, payload, payload_hash, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		rec.Seq, rec.Time.UnixMilli(), rec.Type, rec.Actor, rec.Subject, string(rec.Payload), rec.PayloadHash, rec.PrevHash, rec.Hash); err != nil {
		return audit.Record{}, err
	}
	return rec, nil
}

// CompleteOutbox marks an item done inside tx, so that a step's result and
// its item's completion commit together.
func (tx *Tx) CompleteOutbox(ctx context.Context, id int64) error {
	res, err := tx.exec(ctx, `UPDATE outbox SET done = 1, done_ms = ?, claimed_until_ms = 0, last_error = '' WHERE id = ?`, tx.now.UnixMilli(), id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("no outbox item %d", id)
	}
	return nil
}

// SetRunNote stores a named note of a run inside tx.
func (tx *Tx) SetRunNote(ctx context.Context, runID int64, name string, value json.RawMessage) error {
	if err := validRunNote(name, value); err != nil {
		return err
	}
	if v, ok := notesReady.Load(tx.db); !ok || v.(*notesOnce).err != nil {
		// Not known to exist yet: create it here (a no-op when it does).
		if _, err := tx.exec(ctx, runbookNotesDDL); err != nil {
			return err
		}
	}
	return tx.putRunNote(ctx, runID, name, value)
}

// TicketRun returns a run by id inside tx, or ErrNotFound.
func (tx *Tx) TicketRun(ctx context.Context, id int64) (TicketRun, error) {
	r, err := scanTicket(tx.queryRow(ctx, `SELECT `+ticketCols+` FROM ticket_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("no ticket run %d", id)
	}
	return r, tx.db.wrap("ticket run", err)
}
