package runbook

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"switchyard"
	"switchyard/audit"
	"switchyard/store"
)

// Reminders and escalation: a policy step that has waited remind_after is
// reminded to its approvers (once); one that has waited escalate_after is
// escalated: its fallback set may decide it too, and they are told (once).
// Both are audited and go out through every notifier; expiry stays as it is.

// Chase is a reminder or an escalation on a request's card.
type Chase struct {
	What     string   `json:"what"` // remind | escalate
	Step     int      `json:"step"` // 1-based
	StepName string   `json:"stepName"`
	Waiting  string   `json:"waiting"` // how long the step has waited
	Awaiting []string `json:"awaiting,omitempty"`
	Fallback string   `json:"fallback,omitempty"`
	// SlackUsers are the awaited people's Slack ids (approvals.slack_users),
	// mentioned on the Slack card.
	SlackUsers []string `json:"slackUsers,omitempty"`
}

// ProgressNotifier updates a request's card in place when a policy step is
// decided and the request goes on (*SlackNotifier: chat.update).
type ProgressNotifier interface {
	DeliverProgress(ctx context.Context, req ApprovalRequest, receipt []byte) error
}

// ChaseNow runs the reminder and escalation check at once (tests with a
// moved clock; the Run loop does it every poll interval).
func (s *Service) ChaseNow(ctx context.Context) error {
	err := s.chase(ctx)
	s.wake()
	return err
}

func (s *Service) chasing() bool {
	for _, p := range s.opts.Policies {
		if p.RemindAfter > 0 || p.EscalateAfter > 0 {
			return true
		}
	}
	return false
}

// chase reminds and escalates the pending requests that are due.
func (s *Service) chase(ctx context.Context) error {
	if !s.chasing() {
		return nil
	}
	var after int64
	for {
		as, err := s.db.ApprovalsPage(ctx, store.ApprovalPending, after, 200)
		if err != nil {
			return err
		}
		for _, a := range as {
			if err := s.chaseOne(ctx, a); err != nil {
				return err
			}
		}
		if len(as) < 200 {
			return nil
		}
		after = as[len(as)-1].ID
	}
}

func (s *Service) chaseOne(ctx context.Context, a store.Approval) error {
	pol, _, err := s.policyOf(ctx, a.RunID)
	if err != nil || pol == nil || len(pol.Steps) == 0 {
		return err
	}
	votes, err := s.db.Votes(ctx, a.ID)
	if err != nil {
		return err
	}
	cur := currentStep(pol, votes)
	if cur >= len(pol.Steps) {
		return nil
	}
	waited := s.now().Sub(stepStart(a, votes, cur))
	for _, due := range []struct {
		what  string
		after time.Duration
	}{{eventReminded, pol.RemindAfter}, {eventEscalated, pol.EscalateAfter}} {
		if due.after <= 0 || waited < due.after {
			continue
		}
		if _, err := s.db.MarkApprovalEvent(ctx, a.ID, due.what, cur, func(tx *store.Tx) error {
			tr, err := tx.TicketRun(ctx, a.RunID)
			if err != nil {
				return err
			}
			typ := "approval.reminder"
			payload := map[string]any{"run": a.RunID, "approval": a.ID, "policy": pol.Name, "step": cur + 1, "stepName": stepName(pol, cur),
				"waited": waited.Round(time.Second).String(), "after": due.after.String()}
			if due.what == eventEscalated {
				typ = "approval.escalation"
				payload["fallback"] = pol.Fallback.String()
			}
			if _, err := s.auditTx(ctx, tx, typ, "system", tr.IssueKey, payload); err != nil {
				return err
			}
			for _, n := range s.opts.Notifiers {
				it := store.OutboxItem{Kind: kindChase, Key: fmt.Sprintf("run:%d:%s:%d:%s", a.RunID, due.what, cur, n.Name()),
					Payload: mustJSON(itemPayload{Run: a.RunID, Notifier: n.Name(), What: due.what, Step: cur})}
				if _, _, err := tx.Enqueue(ctx, it); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	return nil
}

// deliverChase sends a reminder or an escalation through one notifier, as
// a fresh card that says so and names who is awaited.
func (s *Service) deliverChase(ctx context.Context, it store.OutboxItem, p itemPayload) error {
	var n Notifier
	for _, x := range s.opts.Notifiers {
		if x.Name() == p.Notifier {
			n = x
		}
	}
	if n == nil {
		return permanent{fmt.Errorf("notifier %q is not configured any more", p.Notifier)}
	}
	run, err := s.Get(ctx, p.Run)
	if errors.Is(err, switchyard.ErrNotFound) {
		return permanent{err}
	}
	if err != nil {
		return err
	}
	if run.Approval == nil || run.Approval.Status != store.ApprovalPending || run.Policy == nil {
		return nil // decided meanwhile: nothing to chase
	}
	req, err := s.request(ctx, run)
	if err != nil {
		return permanent{err}
	}
	req.Precedent = s.precedent(ctx, run)
	ch := &Chase{What: p.What, Step: p.Step + 1}
	if p.Step < len(run.Policy.Steps) {
		st := run.Policy.Steps[p.Step]
		ch.StepName, ch.Awaiting, ch.Fallback = st.Name, st.Awaiting, st.Fallback
	}
	ch.Waiting = s.now().Sub(run.Approval.Created).Round(time.Minute).String()
	if p.What != chaseProgress && p.Step < len(run.Policy.Steps) {
		awaited := map[string]bool{}
		for _, id := range run.Policy.Steps[p.Step].awaitingIDs {
			awaited[strings.ToLower(id)] = true
		}
		for slackID, who := range s.opts.SlackUsers {
			if inSet(s.resolve(ctx, run.Connection, who), awaited) {
				ch.SlackUsers = append(ch.SlackUsers, slackID)
			}
		}
		sort.Strings(ch.SlackUsers)
	}
	req.Chase = ch
	cctx, cancel := context.WithTimeout(ctx, DefaultNotifyTime)
	defer cancel()
	var derr error
	if pn, ok := n.(ProgressNotifier); ok && p.What == chaseProgress {
		// Update the card in place (Slack) rather than post another.
		notes, err := s.db.RunNotes(ctx, run.ID)
		if err != nil {
			return err
		}
		req.Chase = nil
		derr = pn.DeliverProgress(cctx, req, notes["notify."+n.Name()])
	} else {
		_, derr = n.Deliver(cctx, req)
	}
	payload := map[string]any{"run": run.ID, "approval": req.ApprovalID, "notifier": n.Name(), "what": p.What, "step": p.Step + 1, "attempt": it.Attempts + 1, "ok": derr == nil}
	if derr != nil {
		payload["error"] = derr.Error()
	}
	if _, err := s.appendAudit(ctx, audit.TypeNotify, "system", run.IssueKey, payload); err != nil {
		return err
	}
	return derr
}
