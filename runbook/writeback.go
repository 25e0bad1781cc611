package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"switchyard"
	"switchyard/audit"
	"switchyard/connector"
	"switchyard/store"
)

type writebackNote struct {
	CommentID  string `json:"commentId"`
	Transition string `json:"transition,omitempty"`
	Found      bool   `json:"found,omitempty"` // the comment was already there (a retry)
	// JSM requests: the decision comment is an internal note, the customer
	// reply posted, the JSM approvals answered.
	Internal  bool     `json:"internal,omitempty"`
	ReplyID   string   `json:"replyId,omitempty"`
	Approvals []string `json:"approvals,omitempty"`
}

// label is the decision shown in the write-back comment.
func label(run Run) string {
	switch run.State {
	case StateDenied:
		return LabelDenied
	case StateExpired:
		return LabelExpired
	case StateFailed:
		return LabelFailed
	}
	return LabelApproved
}

// Comment is the write-back comment of a run, in the plain-text dialect
// connector turns into ADF (Cloud) or wiki markup (Data Center).
func Comment(run Run, ref auditRef) string {
	var b strings.Builder
	l := label(run)
	fmt.Fprintf(&b, "**Switchyard: %s**\n\n", l)
	rb := run.Runbook
	if run.RunbookName != "" {
		rb += " (" + run.RunbookName + ")"
	}
	fmt.Fprintf(&b, "- Decision: %s\n", l)
	fmt.Fprintf(&b, "- Runbook: %s, intent %s, confidence %.2f\n", rb, run.Intent, run.Confidence)
	target := run.TargetUser
	if target == "" {
		target = "(none)"
	} else if src := inputSource(run.Inputs, target); src != "" {
		target += " (from " + src + ")"
	}
	fmt.Fprintf(&b, "- Target user: %s\n", target)
	if a := run.Approval; a != nil {
		if run.State == StateExpired {
			fmt.Fprintf(&b, "- Decided by: nobody (the request expired)\n")
			fmt.Fprintf(&b, "- Expired at: %s\n", a.DecidedAt.UTC().Format(timeFormat))
		} else {
			fmt.Fprintf(&b, "- Decided by: %s\n", a.DecidedBy)
			fmt.Fprintf(&b, "- Decided at: %s\n", a.DecidedAt.UTC().Format(timeFormat))
		}
		if run.Policy != nil {
			// Every approver of every step, with the time, and the reason of
			// a denial.
			fmt.Fprintf(&b, "- Policy: %s (risk %s)\n", run.Policy.Policy, run.Policy.Risk)
			for i, st := range run.Policy.Steps {
				for _, v := range st.Decisions {
					verb := "approved"
					if v.Decision == "deny" {
						verb = "DENIED"
					}
					by := v.Account
					if v.OnBehalfOf != "" {
						by += " for " + v.OnBehalfOf
					}
					fmt.Fprintf(&b, "- Step %d (%s): %s by %s at %s", i+1, st.Name, verb, by, v.At.UTC().Format(timeFormat))
					if v.Reason != "" {
						fmt.Fprintf(&b, "; reason: %s", oneLine(v.Reason))
					}
					b.WriteString("\n")
				}
			}
		} else if a.Note != "" {
			fmt.Fprintf(&b, "- Note: %s\n", oneLine(a.Note))
		}
	}
	switch {
	case run.State == StateDenied || run.State == StateExpired:
		fmt.Fprintf(&b, "- Executed: nothing. No changes were made.\n")
	case run.Execution != nil:
		fmt.Fprintf(&b, "- Executed: %s\n", executedLine(run))
		if run.Execution.Status != StateSucceeded {
			// The reporter reads this comment: executor internals (URLs,
			// hosts, ports, network errors, response bodies) stay in the
			// audit chain, which the comment points to.
			where := fmt.Sprintf("Switchyard run %d", run.ID)
			if ref.Seq > 0 {
				where += fmt.Sprintf(", audit record #%d", ref.Seq)
			}
			fmt.Fprintf(&b, "- Failure: the action did not complete; the details are in %s (Switchyard's audit log, GET /api/v1/audit)\n", where)
		}
	}
	if ref.Seq > 0 {
		fmt.Fprintf(&b, "- Audit: record #%d (sha256 %s)\n", ref.Seq, ref.Hash)
	}
	fmt.Fprintf(&b, "- Run: %d\n", run.ID)
	return b.String()
}

// executedLine says what ran, in words fit for the reporter: the runbook,
// the executor kind and the outcome, never the executor's URL or error.
func executedLine(run Run) string {
	e := run.Execution
	switch {
	case e.Executor == ExecSandbox:
		return oneLine(e.Summary) // Switchyard's own words: nothing was changed
	case e.Status == StateSucceeded:
		return fmt.Sprintf("%s (%s) by the %s executor: succeeded", run.Runbook, run.Intent, e.Executor)
	case e.Executor == "unknown":
		return fmt.Sprintf("%s (%s) was interrupted; its outcome is unknown", run.Runbook, run.Intent)
	}
	return fmt.Sprintf("%s (%s) by the %s executor: FAILED", run.Runbook, run.Intent, e.Executor)
}

func oneLine(s string) string {
	return truncate(strings.Join(strings.Fields(s), " "), 500)
}

// writeBack posts the run's comment once: before posting it looks for a
// comment carrying the run id (a previous attempt may have posted it and
// failed afterwards), so retries and restarts yield exactly one comment.
func (s *Service) writeBack(ctx context.Context, it store.OutboxItem, runID int64) error {
	run, err := s.Get(ctx, runID)
	if err != nil {
		if errors.Is(err, switchyard.ErrNotFound) {
			return permanent{err}
		}
		return err
	}
	j := s.opts.Jira[run.Connection]
	attempt := it.Attempts + 1
	res, err := s.postComment(ctx, j, run)
	p := map[string]any{"run": run.ID, "attempt": attempt, "decision": label(run), "ok": err == nil}
	if err != nil {
		p["error"] = err.Error()
	} else {
		p["commentId"], p["alreadyPosted"] = res.CommentID, res.Found
		if res.Transition != "" {
			p["transition"] = res.Transition
		}
	}
	bctx := context.WithoutCancel(ctx)
	terr := s.db.Tx(bctx, func(tx *store.Tx) error {
		if _, err := s.auditTx(bctx, tx, audit.TypeWriteback, "system", run.IssueKey, p); err != nil {
			return err
		}
		if err != nil {
			return nil
		}
		if err := tx.SetRunNote(bctx, run.ID, "writeback", mustJSON(res)); err != nil {
			return err
		}
		return tx.CompleteOutbox(bctx, it.ID)
	})
	if err != nil {
		if errors.Is(err, switchyard.ErrNotFound) || errors.Is(err, switchyard.ErrInvalid) {
			return permanent{err}
		}
		return err
	}
	if terr != nil {
		return terr
	}
	return errCompleted
}

func (s *Service) postComment(ctx context.Context, j Jira, run Run) (writebackNote, error) {
	if j == nil {
		return writebackNote{}, fmt.Errorf("%w %q", errNoJira, run.Connection)
	}
	var res writebackNote
	match := func(v json.RawMessage) bool {
		var p struct {
			RunID int64 `json:"runId"`
		}
		return json.Unmarshal(v, &p) == nil && p.RunID == run.ID
	}
	request, unsure, err := s.isRequest(ctx, j, run.IssueKey)
	if err != nil {
		return res, err
	}
	cm, found, err := j.FindComment(ctx, run.IssueKey, CommentProperty, match)
	if err != nil {
		return res, fmt.Errorf("look for an earlier write-back: %w", err)
	}
	if found {
		res.CommentID, res.Found, res.Internal = cm.ID, true, cm.Internal
	} else {
		notes, err := s.db.RunNotes(ctx, run.ID)
		if err != nil {
			return res, err
		}
		var ref auditRef
		_ = json.Unmarshal(notes["audit"], &ref)
		prop := map[string]any{"runId": run.ID, "decision": label(run)}
		body := connector.CommentBody{Text: Comment(run, ref), Internal: (request || unsure) && s.opts.CommentVisibility != VisibilityPublic}
		res.Internal = body.Internal
		cm, err := j.AddComment(ctx, run.IssueKey, body, CommentProperty, prop)
		if err != nil && cm.ID == "" {
			return res, fmt.Errorf("post comment: %w", err)
		}
		if err != nil {
			// Posted, but its property was not stored (Data Center sets it in
			// a second call): a retry could not recognise it, so count the
			// comment as written.
			s.log.Warn("write-back comment posted without its property", "run", run.ID, "comment", cm.ID, "err", err)
		}
		res.CommentID = cm.ID
	}
	if request {
		if res.ReplyID, err = s.customerReply(ctx, j, run); err != nil {
			return res, fmt.Errorf("comment %s written; %w", res.CommentID, err)
		}
		if res.Approvals, err = s.answerApprovals(ctx, j, run); err != nil {
			return res, fmt.Errorf("comment %s written; %w", res.CommentID, err)
		}
	}
	if to := s.opts.Transitions[label(run)]; to != "" {
		t, err := s.transition(ctx, j, run.IssueKey, to)
		if err != nil {
			return res, fmt.Errorf("comment %s written; transition to %q: %w", res.CommentID, to, err)
		}
		res.Transition = t
	}
	return res, nil
}

// transition moves the issue to status (or through the transition named)
// to; an issue already there has no such transition and is left alone.
func (s *Service) transition(ctx context.Context, j Jira, key, to string) (string, error) {
	ts, err := j.Transitions(ctx, key)
	if err != nil {
		return "", err
	}
	for _, t := range ts {
		if strings.EqualFold(t.To, to) || strings.EqualFold(t.Name, to) {
			if err := j.DoTransition(ctx, key, t.ID); err != nil {
				return "", err
			}
			return t.Name + " → " + t.To, nil
		}
	}
	return "none available to " + to + " (already there?)", nil
}
