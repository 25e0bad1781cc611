package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"switchyard"
	"switchyard/connector"
)

// Write-back on Jira Service Management requests. The decision comment is an
// internal note unless approvals.comment_visibility is public, since a
// customer reads every public reply; a customer-facing reply per decision is
// posted only when configured. Plain issues get a plain comment. When the
// request waits on a JSM approval the connection's account may answer,
// Switchyard's decision answers it too. Each step checks what Jira already
// holds before it writes, so a retry or a restart after SIGKILL does each
// exactly once.

// Comment visibilities on requests (approvals.comment_visibility).
const (
	VisibilityInternal = "internal"
	VisibilityPublic   = "public"
)

// ReplyProperty marks Switchyard's customer-facing replies (value: the run id).
const ReplyProperty = "switchyard.reply"

// JSMJira is what JSM write-back needs of a connection (*connector.Client);
// a Jira without it gets plain comments.
type JSMJira interface {
	IsRequest(ctx context.Context, issueKey string) (bool, error)
	Approvals(ctx context.Context, issueKey string) ([]connector.Approval, error)
	AnswerApproval(ctx context.Context, issueKey, approvalID, decision string) (connector.Approval, error)
}

var _ JSMJira = (*connector.Client)(nil)

func checkJSMOptions(o *Options) error {
	switch o.CommentVisibility {
	case "":
		o.CommentVisibility = VisibilityInternal
	case VisibilityInternal, VisibilityPublic:
	default:
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "approvals.comment_visibility", "%q is neither internal nor public", o.CommentVisibility)
	}
	for label, text := range o.CustomerReplies {
		switch label {
		case LabelApproved, LabelDenied, LabelExpired, LabelFailed:
		default:
			return switchyard.FieldErrorf(switchyard.ErrInvalid, "approvals.customer_replies", "unknown decision %q (want APPROVED, DENIED, EXPIRED or FAILED)", label)
		}
		if strings.TrimSpace(text) == "" {
			return switchyard.FieldErrorf(switchyard.ErrInvalid, "approvals.customer_replies."+label, "is empty")
		}
	}
	return nil
}

// isRequest asks Jira whether the issue is a JSM request. unsure is true
// when the account may not ask (not a service desk agent, an OAuth app
// without the JSM scopes): the decision comment is then an internal note all
// the same, since a public one might reach a customer, and nothing else JSM
// is done.
func (s *Service) isRequest(ctx context.Context, j Jira, key string) (request, unsure bool, err error) {
	jj, ok := j.(JSMJira)
	if !ok {
		return false, false, nil
	}
	req, err := jj.IsRequest(ctx, key)
	if denied(err) {
		s.log.Warn("write-back: cannot tell whether the issue is a service request; writing an internal note", "issue", key, "err", err)
		return false, true, nil
	}
	if err != nil {
		return false, false, fmt.Errorf("is %s a service request: %w", key, err)
	}
	return req, false, nil
}

func denied(err error) bool {
	return errors.Is(err, switchyard.ErrForbidden) || errors.Is(err, switchyard.ErrUnauthorized)
}

// replyText fills a customer reply template: {key}, {decision}, {runbook}
// and {run} are replaced.
func replyText(tmpl string, run Run) string {
	return strings.NewReplacer("{key}", run.IssueKey, "{decision}", strings.ToLower(label(run)), "{runbook}", run.RunbookName,
		"{run}", fmt.Sprint(run.ID)).Replace(tmpl)
}

// customerReply posts the configured reply for the run's decision once.
func (s *Service) customerReply(ctx context.Context, j Jira, run Run) (string, error) {
	tmpl := s.opts.CustomerReplies[label(run)]
	if tmpl == "" {
		return "", nil
	}
	match := func(v json.RawMessage) bool {
		var p struct {
			RunID int64 `json:"runId"`
		}
		return json.Unmarshal(v, &p) == nil && p.RunID == run.ID
	}
	cm, found, err := j.FindComment(ctx, run.IssueKey, ReplyProperty, match)
	if err != nil {
		return "", fmt.Errorf("look for an earlier customer reply: %w", err)
	}
	if found {
		return cm.ID, nil
	}
	cm, err = j.AddComment(ctx, run.IssueKey, connector.CommentBody{Text: replyText(tmpl, run)}, ReplyProperty, map[string]any{"runId": run.ID})
	if err != nil && cm.ID == "" {
		return "", fmt.Errorf("post customer reply: %w", err)
	}
	return cm.ID, nil
}

// answerApprovals answers the request's pending JSM approvals that the
// connection's account may answer: approve for APPROVED, decline for DENIED;
// other outcomes leave them to a human. Answered ones are skipped, so a retry
// answers nothing twice; a conflict means someone answered first.
func (s *Service) answerApprovals(ctx context.Context, j Jira, run Run) ([]string, error) {
	jj, ok := j.(JSMJira)
	if !ok {
		return nil, nil
	}
	decision := map[string]string{LabelApproved: "approve", LabelDenied: "decline"}[label(run)]
	if decision == "" {
		return nil, nil
	}
	aps, err := jj.Approvals(ctx, run.IssueKey)
	if denied(err) {
		// Not an agent of this desk: its approvals are not ours to answer.
		s.log.Warn("write-back: JSM approvals not readable; left to their approvers", "issue", run.IssueKey, "err", err)
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list JSM approvals: %w", err)
	}
	var answered []string
	for _, a := range aps {
		if a.FinalDecision != "pending" || !a.CanAnswerApproval {
			continue
		}
		if _, err := jj.AnswerApproval(ctx, run.IssueKey, a.ID, decision); err != nil && !errors.Is(err, switchyard.ErrConflict) {
			return answered, fmt.Errorf("answer JSM approval %s: %w", a.ID, err)
		}
		answered = append(answered, a.ID+" "+decision)
	}
	return answered, nil
}

// StatusLister lists a project's workflow statuses (*connector.Client).
type StatusLister interface {
	ProjectStatuses(ctx context.Context, projectKey string) ([]string, error)
}

// TransitionLister lists the transitions of a project's workflows, each with
// its target status (*connector.Client).
type TransitionLister interface {
	WorkflowTransitions(ctx context.Context, projectID, projectKey string) ([]connector.WorkflowTransition, error)
}

// CheckTransitions checks, at start-up, that every decision's target of
// approvals.transitions is one the write-back can take in each project: the
// write-back (transition) takes the issue's transition whose name or target
// status is the target, so the check accepts a transition name or a status a
// transition of the workflow leads to. An account that may not read the
// workflows (they need Administer Jira or View workflow) is checked against
// the workflow statuses instead. The error names the decision, the project
// and the missing transition.
func CheckTransitions(ctx context.Context, j StatusLister, projects []switchyard.Project, transitions map[string]string) error {
	if len(transitions) == 0 {
		return nil
	}
	labels := make([]string, 0, len(transitions))
	for l := range transitions {
		labels = append(labels, l)
	}
	slices.Sort(labels)
	tl, _ := j.(TransitionLister)
	for _, p := range projects {
		key := p.Key
		var known []string // what a target may name
		var shown string
		var ts []connector.WorkflowTransition
		var err error
		if tl != nil {
			ts, err = tl.WorkflowTransitions(ctx, p.ID, key)
		}
		switch {
		case tl != nil && err == nil:
			var parts []string
			for _, t := range ts {
				known = append(known, t.Name, t.To)
				parts = append(parts, fmt.Sprintf("%q → %s", t.Name, t.To))
			}
			shown = "transitions: " + strings.Join(parts, ", ")
		case tl != nil && !errors.Is(err, switchyard.ErrForbidden) && !errors.Is(err, switchyard.ErrUnauthorized) && !errors.Is(err, switchyard.ErrNotFound):
			return fmt.Errorf("approvals.transitions: workflow of project %s: %w", key, err)
		default:
			statuses, err := j.ProjectStatuses(ctx, key)
			if err != nil {
				return fmt.Errorf("approvals.transitions: workflow of project %s: %w", key, err)
			}
			known = statuses
			shown = "statuses: " + strings.Join(statuses, ", ")
			if tl != nil {
				shown += "; transition names not readable"
			}
		}
		for _, l := range labels {
			to := transitions[l]
			if !slices.ContainsFunc(known, func(s string) bool { return s != "" && strings.EqualFold(s, to) }) {
				return switchyard.FieldErrorf(switchyard.ErrInvalid, "approvals.transitions."+l,
					"project %s has no transition to %q in its workflow (%s)", key, to, shown)
			}
		}
	}
	return nil
}
