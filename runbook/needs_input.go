package runbook

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"switchyard"
	"switchyard/classify"
	"switchyard/store"
)

// TypeInput is the audit record of inputs an agent supplied to a run.
const TypeInput = "input"

// NeedsInput lists runs waiting for an input, newest first.
func (s *Service) NeedsInput(ctx context.Context, limit int) ([]Run, error) {
	trs, err := s.db.TicketRuns(ctx, StateNeedsInput, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Run, 0, len(trs))
	for _, tr := range trs {
		r, err := runFrom(tr)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// SupplyInputs completes a needs_input run with the inputs an agent
// supplies (name → value, exactly the run's missing inputs) and sends it on
// to approval: the run becomes pending_approval with its approval request,
// notifications and audit records in one transaction. Nothing runs without
// the approval that follows. Bad values are ErrInvalid naming the input; a
// run not waiting for input is ErrConflict; either changes nothing.
func (s *Service) SupplyInputs(ctx context.Context, runID int64, supplied map[string]string) (Run, error) {
	tr, err := s.db.TicketRun(ctx, runID)
	if err != nil {
		return Run{}, err
	}
	run, err := runFrom(tr)
	if err != nil {
		return Run{}, err
	}
	if tr.State != StateNeedsInput {
		return Run{}, switchyard.Errorf(switchyard.ErrConflict, "run %d is %s, not %s: only a run waiting for input takes inputs", runID, tr.State, StateNeedsInput)
	}
	if len(supplied) == 0 {
		return Run{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "inputs", "is empty; run %d needs %s", runID, strings.Join(run.Missing, ", "))
	}
	names := make([]string, 0, len(supplied))
	for n := range supplied {
		names = append(names, n)
	}
	sort.Strings(names)
	var added []classify.Input
	for _, n := range names {
		if !contains(run.Missing, n) {
			return Run{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "inputs", "run %d does not need %q (it needs %s)", runID, truncate(n, 40), strings.Join(run.Missing, ", "))
		}
		in, err := classify.SuppliedInput(n, supplied[n])
		if err != nil {
			return Run{}, err
		}
		if n == classify.InputTargetUser {
			// Resolve the account when it is synced, as extraction does.
			if u, err := s.db.UserByEmail(ctx, tr.Conn, in.Value); err == nil {
				in.AccountID, in.DisplayName = u.AccountID, u.DisplayName
			}
		}
		added = append(added, in)
	}
	for _, m := range run.Missing {
		if _, ok := supplied[m]; !ok {
			return Run{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "inputs."+m, "is required: run %d needs %s", runID, strings.Join(run.Missing, ", "))
		}
	}

	var d doc
	if err := json.Unmarshal(tr.Inputs, &d); err != nil {
		return Run{}, fmt.Errorf("run %d: read inputs: %w", runID, err)
	}
	d.Inputs = append(d.Inputs, added...)
	d.Missing = nil
	d.Explanation = ""
	next := tr
	next.State = StatePending
	next.Disposition = classify.PendingApproval
	next.Reason = ""
	next.Inputs = mustJSON(d)
	actor := actorOf(ctx)
	// The policy is chosen now, as ingest does for a run that goes straight
	// to approval: the supplied target decides its risk.
	probe, err := runFrom(next)
	if err != nil {
		return Run{}, err
	}
	probe.Connection = tr.Conn
	pol, err := s.choosePolicy(ctx, probe)
	if err != nil {
		return Run{}, fmt.Errorf("run %d: approval policy: %w", runID, err)
	}
	expires := s.now().Add(s.opts.Expiry)
	stored, appr, err := s.db.ResumeRun(ctx, next, StateNeedsInput, expires, func(tx *store.Tx, r store.TicketRun, a store.Approval) error {
		if pol != nil {
			if err := tx.SetRunNote(ctx, r.ID, "policy", mustJSON(pol)); err != nil {
				return err
			}
		}
		for _, n := range s.opts.Notifiers {
			it := store.OutboxItem{Kind: kindNotify, Key: notifyKey(r.ID, n.Name()), Payload: mustJSON(itemPayload{Run: r.ID, Notifier: n.Name()})}
			if _, _, err := tx.Enqueue(ctx, it); err != nil {
				return err
			}
		}
		_, err := s.auditTx(ctx, tx, TypeInput, actor, r.IssueKey, map[string]any{
			"run": r.ID, "intent": r.Intent, "runbook": r.Runbook, "inputs": added,
			"state": r.State, "approval": a.ID, "expiresAt": a.Expires.UTC().Format(timeFormat),
		})
		return err
	})
	if err != nil {
		return Run{}, fmt.Errorf("supply inputs to run %d: %w", runID, err)
	}
	out, err := runFrom(stored)
	if err != nil {
		return Run{}, err
	}
	out.Approval = &appr
	if len(s.opts.Notifiers) > 0 {
		s.wake()
	}
	return out, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}
