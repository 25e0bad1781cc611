package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"strings"
	"time"

	"switchyard"
)

// TicketRun is one ticket's run: ingested once per (connection, issue key).
// State and Disposition values belong to the runbook package; the store only
// requires them to be non-empty where noted.
type TicketRun struct {
	ID          int64           `json:"id"`
	Conn        string          `json:"connection"`
	IssueKey    string          `json:"issueKey"`
	BodyHash    string          `json:"bodyHash"`
	Intent      string          `json:"intent"`
	Runbook     string          `json:"runbook"`
	Confidence  float64         `json:"confidence"`
	Disposition string          `json:"disposition"`
	Reason      string          `json:"reason,omitempty"`
	Inputs      json.RawMessage `json:"inputs"`
	State       string          `json:"state"`
	Created     time.Time       `json:"createdAt"`
	Updated     time.Time       `json:"updatedAt"`
}

const ticketCols = `id, conn, issue_key, body_hash, intent, runbook, confidence, disposition, reason, inputs, state, created_ms, updated_ms`

func scanTicket(row interface{ Scan(...any) error }) (TicketRun, error) {
	var r TicketRun
	var inputs string
	var created, updated int64
	err := row.Scan(&r.ID, &r.Conn, &r.IssueKey, &r.BodyHash, &r.Intent, &r.Runbook, &r.Confidence,
		&r.Disposition, &r.Reason, &inputs, &r.State, &created, &updated)
	r.Inputs = json.RawMessage(inputs)
	r.Created, r.Updated = fromMS(created), fromMS(updated)
	return r, err
}

func inputsJSON(in json.RawMessage) (string, error) {
	if len(in) == 0 {
		return "{}", nil
	}
	if !json.Valid(in) {
		return "", fieldErr("inputs", "not valid JSON")
	}
	return string(in), nil
}

// validateNewRun checks the fields a new run must have.
func validateNewRun(r TicketRun) error {
	switch {
	case strings.TrimSpace(r.Conn) == "":
		return fieldErr("connection", "empty connection name")
	case strings.TrimSpace(r.IssueKey) == "":
		return fieldErr("issueKey", "empty issue key")
	case r.BodyHash == "":
		return fieldErr("bodyHash", "empty body hash")
	case r.State == "":
		return fieldErr("state", "empty state")
	}
	return nil
}

// CreateRunOnce inserts r unless a run already exists for (r.Conn,
// r.IssueKey); either way it returns the stored run and whether it is new.
// Concurrent identical calls yield one row. Comparing BodyHash with the
// existing run's (409 on a different body) is the caller's decision.
func (db *DB) CreateRunOnce(ctx context.Context, r TicketRun) (TicketRun, bool, error) {
	if err := validateNewRun(r); err != nil {
		return r, false, err
	}
	inputs, err := inputsJSON(r.Inputs)
	if err != nil {
		return r, false, err
	}
	var out TicketRun
	var created bool
	err = db.Tx(ctx, func(tx *Tx) error {
		now := tx.now.UnixMilli()
		res, err := tx.exec(ctx, `INSERT INTO ticket_runs (conn, issue_key, body_hash, intent, runbook, confidence, disposition, reason, inputs, state, created_ms, updated_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (conn, issue_key) DO NOTHING`,
			r.Conn, r.IssueKey, r.BodyHash, r.Intent, r.Runbook, r.Confidence, r.Disposition, r.Reason, inputs, r.State, now, now)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		created = n == 1
		out, err = scanTicket(tx.queryRow(ctx, `SELECT `+ticketCols+` FROM ticket_runs WHERE conn = ? AND issue_key = ?`, r.Conn, r.IssueKey))
		return tx.db.wrap("create run", err)
	})
	return out, created, err
}

// UpdateTicketRun stores a run's classification, disposition, inputs and state.
func (db *DB) UpdateTicketRun(ctx context.Context, r TicketRun) error {
	if r.State == "" {
		return fieldErr("state", "empty state")
	}
	inputs, err := inputsJSON(r.Inputs)
	if err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE ticket_runs SET intent = ?, runbook = ?, confidence = ?, disposition = ?, reason = ?,
			inputs = ?, state = ?, updated_ms = ? WHERE id = ?`,
			r.Intent, r.Runbook, r.Confidence, r.Disposition, r.Reason, inputs, r.State, tx.now.UnixMilli(), r.ID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("no ticket run %d", r.ID)
		}
		return nil
	})
}

// TransitionTicketRun moves a run from state from to state to, only if it is
// still in from (compare-and-set). It reports whether this call moved it.
func (tx *Tx) TransitionTicketRun(ctx context.Context, id int64, from, to string) (bool, error) {
	if to == "" {
		return false, fieldErr("state", "empty target state")
	}
	res, err := tx.exec(ctx, `UPDATE ticket_runs SET state = ?, updated_ms = ? WHERE id = ? AND state = ?`, to, tx.now.UnixMilli(), id, from)
	if err != nil {
		return false, err
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// TransitionTicketRun is the compare-and-set of a run's state in its own transaction.
func (db *DB) TransitionTicketRun(ctx context.Context, id int64, from, to string) (bool, error) {
	var ok bool
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		ok, err = tx.TransitionTicketRun(ctx, id, from, to)
		return err
	})
	return ok, err
}

// TicketRun returns a run by id, or ErrNotFound.
func (db *DB) TicketRun(ctx context.Context, id int64) (TicketRun, error) {
	r, err := scanTicket(db.queryRow(ctx, `SELECT `+ticketCols+` FROM ticket_runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("no ticket run %d", id)
	}
	return r, db.wrap("ticket run", err)
}

// TicketRunByKey returns the run of an issue, or ErrNotFound.
func (db *DB) TicketRunByKey(ctx context.Context, conn, issueKey string) (TicketRun, error) {
	r, err := scanTicket(db.queryRow(ctx, `SELECT `+ticketCols+` FROM ticket_runs WHERE conn = ? AND issue_key = ?`, conn, issueKey))
	if errors.Is(err, sql.ErrNoRows) {
		return r, notFound("no ticket run for %s in connection %q", issueKey, conn)
	}
	return r, db.wrap("ticket run", err)
}

// TicketRuns lists runs newest first, optionally only those in state (""
// for all). limit <= 0 means 50.
func (db *DB) TicketRuns(ctx context.Context, state string, limit int) ([]TicketRun, error) {
	if limit <= 0 {
		limit = 50
	}
	rows, err := db.query(ctx, `SELECT `+ticketCols+` FROM ticket_runs WHERE (?1 = '' OR state = ?1) ORDER BY id DESC LIMIT ?2`, state, limit)
	return collectRows(db, "ticket runs", rows, err, scanTicket)
}

// Approval statuses.
const (
	ApprovalPending  = "pending"
	ApprovalApproved = "approved"
	ApprovalDenied   = "denied"
	ApprovalExpired  = "expired"
)

// Approval is the one approval request of a ticket run.
type Approval struct {
	ID        int64     `json:"id"`
	RunID     int64     `json:"runId"`
	Status    string    `json:"status"`
	DecidedBy string    `json:"decidedBy,omitempty"`
	DecidedAt time.Time `json:"decidedAt,omitzero"`
	Note      string    `json:"note,omitempty"`
	Expires   time.Time `json:"expiresAt"`
	Created   time.Time `json:"createdAt"`
}

const approvalCols = `id, run_id, status, decided_by, decided_at_ms, note, expires_at_ms, created_ms`

func scanApproval(row interface{ Scan(...any) error }) (Approval, error) {
	var a Approval
	var decided, expires, created int64
	err := row.Scan(&a.ID, &a.RunID, &a.Status, &a.DecidedBy, &decided, &a.Note, &expires, &created)
	a.DecidedAt, a.Expires, a.Created = fromMS(decided), fromMS(expires), fromMS(created)
	return a, err
}

// CreateApproval opens the run's approval request, expiring at expires. A run
// has at most one: a second call returns the existing one and false.
func (db *DB) CreateApproval(ctx context.Context, runID int64, expires time.Time) (Approval, bool, error) {
	if expires.IsZero() {
		return Approval{}, false, fieldErr("expiresAt", "an approval needs an expiry")
	}
	var a Approval
	var created bool
	err := db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `INSERT INTO approvals (run_id, status, expires_at_ms, created_ms) VALUES (?, 'pending', ?, ?)
			ON CONFLICT (run_id) DO NOTHING`, runID, expires.UnixMilli(), tx.now.UnixMilli())
		if err != nil {
			if isForeignKeyViolation(err) {
				return notFound("no ticket run %d", runID)
			}
			return err
		}
		n, _ := res.RowsAffected()
		created = n == 1
		a, err = scanApproval(tx.queryRow(ctx, `SELECT `+approvalCols+` FROM approvals WHERE run_id = ?`, runID))
		return tx.db.wrap("create approval", err)
	})
	return a, created, err
}

// Decision is a decision on an approval.
type Decision struct {
	Status string // approved, denied or expired
	By     string // who decided (account id, email, Slack user, key name, or "system")
	Note   string
}

// Decide records the first decision on a pending approval (compare-and-set):
// it returns the approval as stored and whether this decision won. A decision
// on an already decided approval changes nothing and returns false; one that
// arrives after the expiry marks the approval expired instead and returns false.
func (db *DB) Decide(ctx context.Context, approvalID int64, d Decision) (Approval, bool, error) {
	switch d.Status {
	case ApprovalApproved, ApprovalDenied, ApprovalExpired:
	default:
		return Approval{}, false, fieldErr("status", "decision must be %s, %s or %s, not %q", ApprovalApproved, ApprovalDenied, ApprovalExpired, d.Status)
	}
	if strings.TrimSpace(d.By) == "" {
		return Approval{}, false, fieldErr("decidedBy", "a decision needs who made it")
	}
	var a Approval
	var won bool
	err := db.Tx(ctx, func(tx *Tx) error {
		now := tx.now.UnixMilli()
		status, by := d.Status, d.By
		// Past the expiry, the only decision left is "expired".
		res, err := tx.exec(ctx, `UPDATE approvals SET status = CASE WHEN expires_at_ms <= ?1 THEN 'expired' ELSE ?2 END,
				decided_by = CASE WHEN expires_at_ms <= ?1 THEN 'system' ELSE ?3 END,
				note = CASE WHEN expires_at_ms <= ?1 THEN '' ELSE ?4 END,
				decided_at_ms = ?1
			WHERE id = ?5 AND status = 'pending'`, now, status, by, d.Note, approvalID)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		a, err = scanApproval(tx.queryRow(ctx, `SELECT `+approvalCols+` FROM approvals WHERE id = ?`, approvalID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("no approval %d", approvalID)
		}
		if err != nil {
			return tx.db.wrap("decide", err)
		}
		won = n == 1 && a.Status == d.Status
		return nil
	})
	return a, won, err
}

// ExpireApprovals marks every pending approval past its expiry as expired and
// returns them, so that the caller can write the expiry back.
func (db *DB) ExpireApprovals(ctx context.Context) ([]Approval, error) {
	var out []Approval
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		out, err = tx.expireApprovals(ctx)
		return err
	})
	return out, err
}

// expireApprovals is ExpireApprovals inside tx; it returns nil when nothing
// expired, and has closed its rows when it returns.
func (tx *Tx) expireApprovals(ctx context.Context) ([]Approval, error) {
	rows, err := tx.query(ctx, `UPDATE approvals SET status = 'expired', decided_by = 'system', decided_at_ms = ?1
		WHERE status = 'pending' AND expires_at_ms <= ?1 RETURNING `+approvalCols, tx.now.UnixMilli())
	if err != nil {
		return nil, tx.db.wrap("expire approvals", err)
	}
	defer rows.Close()
	var out []Approval
	for rows.Next() {
		a, err := scanApproval(rows)
		if err != nil {
			return out, tx.db.wrap("expire approvals", err)
		}
		out = append(out, a)
	}
	return out, tx.db.wrap("expire approvals", rows.Err())
}

// Approval returns one approval, or ErrNotFound.
func (db *DB) Approval(ctx context.Context, id int64) (Approval, error) {
	a, err := scanApproval(db.queryRow(ctx, `SELECT `+approvalCols+` FROM approvals WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("no approval %d", id)
	}
	return a, db.wrap("approval", err)
}

// ApprovalForRun returns a run's approval, or ErrNotFound.
func (db *DB) ApprovalForRun(ctx context.Context, runID int64) (Approval, error) {
	a, err := scanApproval(db.queryRow(ctx, `SELECT `+approvalCols+` FROM approvals WHERE run_id = ?`, runID))
	if errors.Is(err, sql.ErrNoRows) {
		return a, notFound("no approval for run %d", runID)
	}
	return a, db.wrap("approval", err)
}

// Approvals lists approvals oldest first, optionally in one status ("" for
// all). limit <= 0 means 100.
func (db *DB) Approvals(ctx context.Context, status string, limit int) ([]Approval, error) {
	switch status {
	case "", ApprovalPending, ApprovalApproved, ApprovalDenied, ApprovalExpired:
	default:
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "status", "unknown approval status %q", status)
	}
	if limit <= 0 {
		limit = 100
	}
	rows, err := db.query(ctx, `SELECT `+approvalCols+` FROM approvals WHERE (?1 = '' OR status = ?1) ORDER BY id LIMIT ?2`, status, limit)
	return collectRows(db, "approvals", rows, err, scanApproval)
}
