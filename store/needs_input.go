package store

import (
	"context"
	"time"

	"switchyard"
)

// ResumeRun moves a run that was waiting in state from (needs_input) on:
// it stores r's classification, inputs and state, opens its approval request
// (expiring at expires) and calls then (notifications, audit), all in one
// transaction. The move is a compare-and-set on from, so of two agents
// supplying the same run's inputs at once exactly one wins; the other gets
// ErrConflict and nothing changes.
func (db *DB) ResumeRun(ctx context.Context, r TicketRun, from string, expires time.Time, then func(*Tx, TicketRun, Approval) error) (TicketRun, Approval, error) {
	if r.State == "" || from == "" {
		return r, Approval{}, fieldErr("state", "empty state")
	}
	if expires.IsZero() {
		return r, Approval{}, fieldErr("expiresAt", "an approval needs an expiry")
	}
	inputs, err := inputsJSON(r.Inputs)
	if err != nil {
		return r, Approval{}, err
	}
	var out TicketRun
	var appr Approval
	err = db.Tx(ctx, func(tx *Tx) error {
		now := tx.now.UnixMilli()
		res, err := tx.exec(ctx, `UPDATE ticket_runs SET intent = ?, runbook = ?, confidence = ?, disposition = ?, reason = ?,
			inputs = ?, state = ?, updated_ms = ? WHERE id = ? AND state = ?`,
			r.Intent, r.Runbook, r.Confidence, r.Disposition, r.Reason, inputs, r.State, now, r.ID, from)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			cur, err := tx.TicketRun(ctx, r.ID)
			if err != nil {
				return err // ErrNotFound when there is no such run
			}
			return switchyard.Errorf(switchyard.ErrConflict, "run %d is %s, not %s", r.ID, cur.State, from)
		}
		if out, err = tx.TicketRun(ctx, r.ID); err != nil {
			return err
		}
		appr, err = scanApproval(tx.queryRow(ctx, `INSERT INTO approvals (run_id, status, expires_at_ms, created_ms) VALUES (?, 'pending', ?, ?) RETURNING `+approvalCols,
			out.ID, expires.UnixMilli(), now))
		if err != nil {
			return tx.db.wrap("create approval", err)
		}
		if then != nil {
			return then(tx, out, appr)
		}
		return nil
	})
	return out, appr, err
}
