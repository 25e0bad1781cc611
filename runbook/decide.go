package runbook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"switchyard"
	"switchyard/audit"
	"switchyard/classify"
	"switchyard/store"
)

// Decision is a human decision on an approval request.
type Decision struct {
	Decision string `json:"decision"` // approve | deny
	// Approver is the authenticated person deciding: the Jira account id of
	// the bound API key, the console's Atlassian sign-in, the mapped Slack
	// user or the signed link's approver. Never a caller's claim.
	Approver string `json:"approver"`
	// Claimed is who the caller said decides (the API body's approver, a
	// form's approver field); when given it must be the same person as
	// Approver, else the decision is refused.
	Claimed string `json:"claimed,omitempty"`
	Comment string `json:"comment,omitempty"`
	Channel string `json:"channel,omitempty"` // api, console, slack, teams, link
}

const maxComment = 2000

func (d Decision) validate() error {
	switch {
	case d.Decision != "approve" && d.Decision != "deny":
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "decision", "must be \"approve\" or \"deny\", not %q", truncate(d.Decision, 40))
	case strings.TrimSpace(d.Approver) == "":
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "approver", "is required: who is deciding")
	case len(d.Approver) > 254:
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "approver", "is longer than 254 characters")
	case len(d.Comment) > maxComment:
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "comment", "is %d bytes; the limit is %d", len(d.Comment), maxComment)
	}
	return nil
}

// Decide records a decision on approval id. The rules: the ticket's reporter
// may not decide on their own request; with configured approvers only they
// may decide; the first decision wins (a later or concurrent one is an
// ErrConflict naming the decision that won); a decision after the expiry
// finds the request expired. An approval queues the execution, a denial the
// write-back. Refused attempts are audited too.
func (s *Service) Decide(ctx context.Context, approvalID int64, d Decision) (Run, error) {
	d.Approver = strings.TrimSpace(d.Approver)
	if d.Channel == "" {
		d.Channel = "api"
	}
	if err := d.validate(); err != nil {
		return Run{}, err
	}
	a, err := s.db.Approval(ctx, approvalID)
	if err != nil {
		return Run{}, err
	}
	run, err := s.Get(ctx, a.RunID)
	if err != nil {
		return Run{}, err
	}
	if a.Status != store.ApprovalPending {
		return run, alreadyDecided(a)
	}
	err = s.sameAsClaimed(ctx, run, d)
	if err == nil {
		pol, _, perr := s.policyOf(ctx, run.ID)
		if perr != nil {
			return run, perr
		}
		if pol != nil {
			return s.decidePolicy(ctx, a, run, pol, d)
		}
		err = s.allowed(ctx, run, d.Approver)
	}
	if err != nil {
		s.appendAudit(ctx, "decision.refused", d.Approver, run.IssueKey, map[string]any{
			"run": run.ID, "approval": a.ID, "decision": d.Decision, "channel": d.Channel, "reason": err.Error(),
		})
		return run, err
	}
	status := store.ApprovalApproved
	if d.Decision == "deny" {
		status = store.ApprovalDenied
	}
	a, changed, err := s.db.DecideRun(ctx, approvalID, store.Decision{Status: status, By: d.Approver, Note: d.Comment}, s.after(ctx, d.Channel))
	if err != nil {
		return run, fmt.Errorf("decide approval %d: %w", approvalID, err)
	}
	if !changed {
		return run, alreadyDecided(a)
	}
	s.wake()
	if a.Status == store.ApprovalExpired {
		run, _ = s.Get(ctx, run.ID)
		return run, alreadyDecided(a)
	}
	if l, ok := s.opts.Classifier.(Learner); ok && run.Intent != "" && run.Intent != classify.NoAction {
		t := classify.Ticket{Summary: run.Ticket.Summary, Description: run.Ticket.Description, ReporterEmail: run.Ticket.ReporterEmail}
		if err := l.RecordDecision(ctx, t, run.Intent, a.Status == store.ApprovalApproved); err != nil {
			s.log.Warn("classifier did not learn from the decision", "run", run.ID, "err", err)
		}
	}
	return s.Get(ctx, run.ID)
}

// sameAsClaimed refuses a decision whose claimed approver is not the
// authenticated one: a key, session or link decides as its own person only.
func (s *Service) sameAsClaimed(ctx context.Context, run Run, d Decision) error {
	c := strings.TrimSpace(d.Claimed)
	if c == "" || s.resolve(ctx, run.Connection, c).is(s.resolve(ctx, run.Connection, d.Approver)) {
		return nil
	}
	return switchyard.Errorf(switchyard.ErrForbidden, "the decision names approver %s but is authenticated as %s; a decision is made only as the authenticated person", truncate(c, 80), d.Approver)
}

func alreadyDecided(a store.Approval) error {
	at := a.DecidedAt.UTC().Format(timeFormat)
	if a.Status == store.ApprovalExpired {
		return switchyard.Errorf(switchyard.ErrConflict, "approval %d expired at %s; nothing was executed", a.ID, a.Expires.UTC().Format(timeFormat))
	}
	return switchyard.Errorf(switchyard.ErrConflict, "approval %d was already %s by %s at %s; a request is decided once", a.ID, a.Status, a.DecidedBy, at)
}

// timeFormat is UTC with millisecond precision.
const timeFormat = "2006-01-02T15:04:05.000Z"

// after is what a decided approval leads to, in the decision's transaction:
// the run's next state, its outbox items and the decision's audit record
// (and, in sandbox mode, the record that nothing will be written back).
func (s *Service) after(ctx context.Context, channel string) func(tx *store.Tx, a store.Approval) error {
	return func(tx *store.Tx, a store.Approval) error {
		tr, err := tx.TicketRun(ctx, a.RunID)
		if err != nil {
			return err
		}
		var state string
		var items []store.OutboxItem
		switch a.Status {
		case store.ApprovalApproved:
			state = StateApproved
			items = append(items, store.OutboxItem{Kind: kindExecute, Key: executeKey(a.RunID), Payload: mustJSON(itemPayload{Run: a.RunID})})
		case store.ApprovalDenied:
			state = StateDenied
			items = append(items, s.writebackItem(a.RunID)...)
		case store.ApprovalExpired:
			state = StateExpired
			items = append(items, s.writebackItem(a.RunID)...)
		}
		for _, n := range s.opts.Notifiers {
			if _, ok := n.(DecisionNotifier); ok {
				items = append(items, store.OutboxItem{Kind: kindDecided, Key: decidedKey(a.RunID, n.Name()), Payload: mustJSON(itemPayload{Run: a.RunID, Notifier: n.Name()})})
			}
		}
		if _, err := tx.TransitionTicketRun(ctx, a.RunID, StatePending, state); err != nil {
			return err
		}
		for _, it := range items {
			if _, _, err := tx.Enqueue(ctx, it); err != nil {
				return err
			}
		}
		rec, err := s.auditTx(ctx, tx, audit.TypeDecision, a.DecidedBy, tr.IssueKey, map[string]any{
			"run": a.RunID, "approval": a.ID, "decision": a.Status, "decidedBy": a.DecidedBy,
			"decidedAt": a.DecidedAt.UTC().Format(timeFormat), "comment": a.Note, "channel": channel,
		})
		if err != nil {
			return err
		}
		if err := s.noteAudit(ctx, tx, a.RunID, rec); err != nil {
			return err
		}
		if s.opts.Sandbox && a.Status != store.ApprovalApproved {
			return s.skipWriteback(ctx, tx, a.RunID, tr.IssueKey)
		}
		return nil
	}
}

// writebackItem is the write-back of a run, or nothing in sandbox mode.
func (s *Service) writebackItem(run int64) []store.OutboxItem {
	if s.opts.Sandbox {
		return nil
	}
	return []store.OutboxItem{{Kind: kindWriteback, Key: writebackKey(run), Payload: mustJSON(itemPayload{Run: run})}}
}

type auditRef struct {
	Seq  int64  `json:"seq"`
	Hash string `json:"hash"`
	Type string `json:"type"`
}

// noteAudit remembers the run's latest decisive audit record, which the
// write-back comment cites.
func (s *Service) noteAudit(ctx context.Context, tx *store.Tx, run int64, rec audit.Record) error {
	return tx.SetRunNote(ctx, run, "audit", mustJSON(auditRef{Seq: rec.Seq, Hash: rec.Hash, Type: rec.Type}))
}

const sandboxReason = "sandbox mode (approvals.sandbox): nothing is written to Jira"

func (s *Service) skipWriteback(ctx context.Context, tx *store.Tx, run int64, issueKey string) error {
	if _, err := s.auditTx(ctx, tx, audit.TypeWriteback, "system", issueKey, map[string]any{"run": run, "skipped": true, "reason": sandboxReason}); err != nil {
		return err
	}
	return tx.SetRunNote(ctx, run, "writeback.skipped", mustJSON(map[string]string{"reason": sandboxReason}))
}

// expire moves every pending request past its expiry to expired, audits it
// and queues its write-back.
func (s *Service) expire(ctx context.Context) error {
	_, err := s.db.ExpireRuns(ctx, s.after(ctx, "expiry"))
	return err
}

// ExpireNow runs the expiry check at once (tests, and an operator's "expire
// now" after changing the clock).
func (s *Service) ExpireNow(ctx context.Context) error {
	err := s.expire(ctx)
	s.wake()
	return err
}

var errNoJira = errors.New("no Jira client for the connection")
