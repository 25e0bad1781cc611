package store

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// Vote is one person's decision on one step of an approval request.
type Vote struct {
	ApprovalID int64     `json:"approvalId"`
	Step       int       `json:"step"` // 0-based step of the policy
	Account    string    `json:"account"`
	Decision   string    `json:"decision"` // approve | deny
	Reason     string    `json:"reason,omitempty"`
	OnBehalfOf string    `json:"onBehalfOf,omitempty"` // the approver a delegate acted for
	Channel    string    `json:"channel,omitempty"`
	At         time.Time `json:"at"`
}

const voteCols = `approval_id, step, account, decision, reason, on_behalf, channel, at_ms`

func scanVote(row interface{ Scan(...any) error }) (Vote, error) {
	var v Vote
	var at int64
	err := row.Scan(&v.ApprovalID, &v.Step, &v.Account, &v.Decision, &v.Reason, &v.OnBehalfOf, &v.Channel, &at)
	v.At = fromMS(at)
	return v, err
}

func (tx *Tx) votes(ctx context.Context, approvalID int64) ([]Vote, error) {
	rows, err := tx.query(ctx, `SELECT `+voteCols+` FROM approval_votes WHERE approval_id = ? ORDER BY at_ms, step, account`, approvalID)
	if err != nil {
		return nil, tx.db.wrap("votes", err)
	}
	defer rows.Close()
	var out []Vote
	for rows.Next() {
		v, err := scanVote(rows)
		if err != nil {
			return nil, tx.db.wrap("votes", err)
		}
		out = append(out, v)
	}
	return out, tx.db.wrap("votes", rows.Err())
}

// Votes lists an approval's votes in the order they were cast.
func (db *DB) Votes(ctx context.Context, approvalID int64) ([]Vote, error) {
	rows, err := db.query(ctx, `SELECT `+voteCols+` FROM approval_votes WHERE approval_id = ? ORDER BY at_ms, step, account`, approvalID)
	if err != nil {
		return nil, db.wrap("votes", err)
	}
	defer rows.Close()
	var out []Vote
	for rows.Next() {
		v, err := scanVote(rows)
		if err != nil {
			return nil, db.wrap("votes", err)
		}
		out = append(out, v)
	}
	return out, db.wrap("votes", rows.Err())
}

// VoteCheck decides, inside the vote's transaction and given the votes cast
// so far, which step v fills (and for whom, by delegation) and whether the
// request is now decided; an error refuses the vote and changes nothing.
type VoteCheck func(a Approval, votes []Vote) (VoteOutcome, error)

// VoteOutcome is what a VoteCheck decided.
type VoteOutcome struct {
	Step       int
	OnBehalfOf string
	Final      *Decision // non-nil: the request is decided with this vote
}

// CastVote records a vote on a pending approval under check, and, when check
// says the request is decided, the decision; then calls after in the same
// transaction. Concurrent votes are serialized by the transaction, so each
// check sees every vote before it. A person's second vote on one request is
// ErrConflict.
func (db *DB) CastVote(ctx context.Context, approvalID int64, v Vote, check VoteCheck, after func(tx *Tx, a Approval, votes []Vote, decided bool) error) (Approval, []Vote, error) {
	var a Approval
	var votes []Vote
	v.Account = strings.TrimSpace(v.Account)
	if v.Account == "" {
		return a, nil, fieldErr("account", "a vote needs who cast it")
	}
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		a, err = scanApproval(tx.queryRow(ctx, `SELECT `+approvalCols+` FROM approvals WHERE id = ?`, approvalID))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("no approval %d", approvalID)
		}
		if err != nil {
			return tx.db.wrap("approval", err)
		}
		if a.Status != ApprovalPending {
			return switchyard.Errorf(switchyard.ErrConflict, "approval %d is already %s", a.ID, a.Status)
		}
		if !tx.now.Before(a.Expires) {
			return switchyard.Errorf(switchyard.ErrConflict, "approval %d expired at %s", a.ID, a.Expires.UTC().Format(time.RFC3339))
		}
		if votes, err = tx.votes(ctx, approvalID); err != nil {
			return err
		}
		for _, x := range votes {
			if strings.EqualFold(x.Account, v.Account) {
				return switchyard.Errorf(switchyard.ErrConflict, "%s already decided step %d of this request at %s; one person fills one step", v.Account, x.Step+1, x.At.UTC().Format("2006-01-02T15:04:05.000Z"))
			}
		}
		out, err := check(a, votes)
		if err != nil {
			return err
		}
		final := out.Final
		v.ApprovalID, v.Step, v.OnBehalfOf, v.At = approvalID, out.Step, out.OnBehalfOf, tx.now.Truncate(time.Millisecond)
		if _, err := tx.exec(ctx, `INSERT INTO approval_votes (`+voteCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			v.ApprovalID, v.Step, v.Account, v.Decision, v.Reason, v.OnBehalfOf, v.Channel, ms(v.At)); err != nil {
			return tx.db.wrap("cast vote", err)
		}
		votes = append(votes, v)
		decided := false
		if final != nil {
			if a, decided, err = tx.decideApproval(ctx, approvalID, *final); err != nil {
				return err
			}
		}
		if after != nil {
			return after(tx, a, votes, decided)
		}
		return nil
	})
	return a, votes, err
}

// MarkApprovalEvent records that an event (a reminder, an escalation) of a
// step happened, once: first is false when it was already recorded. then
// runs in the same transaction, only the first time.
func (db *DB) MarkApprovalEvent(ctx context.Context, approvalID int64, kind string, step int, then func(tx *Tx) error) (first bool, err error) {
	err = db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `INSERT OR IGNORE INTO approval_events (approval_id, kind, step, at_ms) VALUES (?, ?, ?, ?)`,
			approvalID, kind, step, tx.now.UnixMilli())
		if err != nil {
			return tx.db.wrap("approval event", err)
		}
		n, _ := res.RowsAffected()
		if first = n == 1; first && then != nil {
			return then(tx)
		}
		return nil
	})
	return first, err
}

// ApprovalEvents returns when each event of an approval happened, keyed
// "kind:step".
func (db *DB) ApprovalEvents(ctx context.Context, approvalID int64) (map[string]time.Time, error) {
	rows, err := db.query(ctx, `SELECT kind, step, at_ms FROM approval_events WHERE approval_id = ?`, approvalID)
	if err != nil {
		return nil, db.wrap("approval events", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var kind string
		var step int
		var at int64
		if err := rows.Scan(&kind, &step, &at); err != nil {
			return nil, db.wrap("approval events", err)
		}
		out[eventKey(kind, step)] = fromMS(at)
	}
	return out, db.wrap("approval events", rows.Err())
}

func eventKey(kind string, step int) string { return kind + ":" + strconv.Itoa(step) }

// EventKey is the ApprovalEvents key of a step's event.
func EventKey(kind string, step int) string { return eventKey(kind, step) }

// Delegation lets To act for From in [Start, Until).
type Delegation struct {
	ID        int64     `json:"id"`
	From      string    `json:"from"`
	To        string    `json:"to"`
	Start     time.Time `json:"start"`
	Until     time.Time `json:"until"`
	CreatedBy string    `json:"createdBy"`
	Created   time.Time `json:"createdAt"`
	Revoked   time.Time `json:"revokedAt,omitzero"`
}

const delegationCols = `id, from_acct, to_acct, start_ms, until_ms, created_by, created_ms, revoked_ms`

func scanDelegation(row interface{ Scan(...any) error }) (Delegation, error) {
	var d Delegation
	var start, until, created, revoked int64
	err := row.Scan(&d.ID, &d.From, &d.To, &start, &until, &d.CreatedBy, &created, &revoked)
	d.Start, d.Until, d.Created, d.Revoked = fromMS(start), fromMS(until), fromMS(created), fromMS(revoked)
	return d, err
}

// CreateDelegation stores a delegation; check runs in the transaction with
// the delegations in force or to come (to refuse cycles) and may refuse it.
func (db *DB) CreateDelegation(ctx context.Context, d Delegation, check func(existing []Delegation) error) (Delegation, error) {
	err := db.Tx(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `SELECT `+delegationCols+` FROM delegations WHERE revoked_ms = 0 AND until_ms > ?`, tx.now.UnixMilli())
		if err != nil {
			return tx.db.wrap("delegations", err)
		}
		var existing []Delegation
		for rows.Next() {
			x, err := scanDelegation(rows)
			if err != nil {
				rows.Close()
				return tx.db.wrap("delegations", err)
			}
			existing = append(existing, x)
		}
		rows.Close()
		if check != nil {
			if err := check(existing); err != nil {
				return err
			}
		}
		d.Created = tx.now.Truncate(time.Millisecond)
		// RETURNING rather than LastInsertId: PostgreSQL has no last insert id.
		err = tx.queryRow(ctx, `INSERT INTO delegations (from_acct, to_acct, start_ms, until_ms, created_by, created_ms) VALUES (?, ?, ?, ?, ?, ?) RETURNING id`,
			d.From, d.To, ms(d.Start), ms(d.Until), d.CreatedBy, ms(d.Created)).Scan(&d.ID)
		return tx.db.wrap("create delegation", err)
	})
	return d, err
}

// Delegations lists the delegations not revoked that end after now (in
// force or to come), oldest first.
func (db *DB) Delegations(ctx context.Context) ([]Delegation, error) {
	rows, err := db.query(ctx, `SELECT `+delegationCols+` FROM delegations WHERE revoked_ms = 0 AND until_ms > ? ORDER BY id`, db.now().UnixMilli())
	if err != nil {
		return nil, db.wrap("delegations", err)
	}
	defer rows.Close()
	out := []Delegation{}
	for rows.Next() {
		d, err := scanDelegation(rows)
		if err != nil {
			return nil, db.wrap("delegations", err)
		}
		out = append(out, d)
	}
	return out, db.wrap("delegations", rows.Err())
}

// RevokeDelegation ends a delegation now; only its From or its creator may
// (by); an unknown id is ErrNotFound.
func (db *DB) RevokeDelegation(ctx context.Context, id int64, by string) (Delegation, error) {
	var d Delegation
	err := db.Tx(ctx, func(tx *Tx) error {
		var err error
		d, err = scanDelegation(tx.queryRow(ctx, `SELECT `+delegationCols+` FROM delegations WHERE id = ?`, id))
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("no delegation %d", id)
		}
		if err != nil {
			return tx.db.wrap("delegation", err)
		}
		if !strings.EqualFold(d.From, by) && !strings.EqualFold(d.CreatedBy, by) {
			return switchyard.Errorf(switchyard.ErrForbidden, "delegation %d is %s's; only they may revoke it", id, d.From)
		}
		if d.Revoked.IsZero() {
			d.Revoked = tx.now.Truncate(time.Millisecond)
			_, err = tx.exec(ctx, `UPDATE delegations SET revoked_ms = ? WHERE id = ?`, ms(d.Revoked), id)
		}
		return err
	})
	return d, err
}
