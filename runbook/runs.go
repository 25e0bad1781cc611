package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"switchyard"
	"switchyard/store"
)

// Get returns a run with its approval, execution, notifications and
// write-back state.
func (s *Service) Get(ctx context.Context, id int64) (Run, error) {
	tr, err := s.db.TicketRun(ctx, id)
	if err != nil {
		return Run{}, err
	}
	return s.load(ctx, tr)
}

// load completes a stored run with everything recorded about it.
func (s *Service) load(ctx context.Context, tr store.TicketRun) (Run, error) {
	run, err := runFrom(tr)
	if err != nil {
		return run, err
	}
	if a, err := s.db.ApprovalForRun(ctx, run.ID); err == nil {
		run.Approval = &a
		if run.Policy, err = s.policyStatus(ctx, run); err != nil {
			return run, err
		}
	} else if !errors.Is(err, switchyard.ErrNotFound) {
		return run, err
	}
	// Outbox items before notes: a write-back completes its item and records
	// its note in one transaction, so an item read as done guarantees the
	// note is visible to the later read (the reverse order could show a done
	// write-back without its comment id).
	items, err := s.db.OutboxByKeyPrefix(ctx, runKeyPrefix(run.ID))
	if err != nil {
		return run, err
	}
	notes, err := s.db.RunNotes(ctx, run.ID)
	if err != nil {
		return run, err
	}
	if raw, ok := notes["execution"]; ok {
		var e Execution
		if json.Unmarshal(raw, &e) == nil {
			run.Execution = &e
		}
	}
	for _, it := range items {
		var p itemPayload
		_ = json.Unmarshal(it.Payload, &p)
		switch it.Kind {
		case kindNotify, kindDecided:
			n := Notification{Notifier: p.Notifier, Kind: "request", Delivered: it.Done, Attempts: it.Attempts,
				LastError: it.LastError, DeliveredAt: it.DoneAt}
			if it.Kind == kindDecided {
				n.Kind = "decision"
			}
			if !it.Done {
				n.NextAttempt = it.NextAttempt
			}
			if raw, ok := notes["gaveup."+it.Kind+"."+p.Notifier]; ok {
				n.Delivered = false
				n.LastError = gaveUp(raw)
			}
			run.Notifications = append(run.Notifications, n)
		case kindWriteback:
			wb := &WriteBack{Status: "pending", Attempts: it.Attempts, LastError: it.LastError}
			if it.Done {
				wb.Status = "done"
			} else {
				wb.NextAttempt = it.NextAttempt
			}
			if raw, ok := notes["writeback"]; ok {
				var r writebackNote
				if json.Unmarshal(raw, &r) == nil {
					wb.CommentID, wb.Transition = r.CommentID, r.Transition
				}
			}
			if raw, ok := notes["gaveup."+kindWriteback+"."]; ok {
				wb.Status, wb.LastError = "failed", gaveUp(raw)
			}
			run.WriteBack = wb
		}
	}
	if raw, ok := notes["writeback.skipped"]; ok && run.WriteBack == nil {
		var r struct {
			Reason string `json:"reason"`
		}
		_ = json.Unmarshal(raw, &r)
		run.WriteBack = &WriteBack{Status: "skipped", Reason: r.Reason}
	}
	// The reads above are not one snapshot. States only move forward, so
	// reading the state last makes it at least as new as the details.
	if now, err := s.db.TicketRun(ctx, run.ID); err == nil {
		run.State, run.Updated = now.State, now.Updated
	}
	return run, nil
}

func gaveUp(raw json.RawMessage) string {
	var g struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(raw, &g)
	return "gave up: " + g.Error
}

// Pending is an approval request waiting for a decision, as approvers see it.
type Pending struct {
	Approval store.Approval `json:"approval"`
	Run      Run            `json:"run"`
}

// Approvals lists approval requests in status ("" = all; pending, approved,
// denied, expired) with ids after after, oldest first, each with its run.
func (s *Service) Approvals(ctx context.Context, status string, after int64, limit int) ([]Pending, error) {
	status = strings.TrimSpace(status)
	as, err := s.db.ApprovalsPage(ctx, status, after, limit)
	if err != nil {
		return nil, err
	}
	out := make([]Pending, 0, len(as))
	for _, a := range as {
		r, err := s.Get(ctx, a.RunID)
		if err != nil {
			return nil, err
		}
		out = append(out, Pending{Approval: a, Run: r})
	}
	return out, nil
}

// RunByIssue returns the run of an issue in a connection ("" = default).
func (s *Service) RunByIssue(ctx context.Context, conn, issueKey string) (Run, error) {
	if conn == "" {
		conn = s.opts.DefaultConnection
	}
	tr, err := s.db.TicketRunByKey(ctx, conn, issueKey)
	if err != nil {
		return Run{}, err
	}
	return s.load(ctx, tr)
}
