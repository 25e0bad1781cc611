// Package runbook turns a ticket into a run: ingested once per (connection,
// issue key), classified, held for an explicit human decision, executed only
// after approval and at most once, written back to its Jira issue through a
// SQLite outbox, with every step appended to the audit hash chain.
//
// There is no autonomous path: the only way from pending_approval to an
// execution is Decide with an approval by a permitted approver.
//
// Sandbox, two meanings: the sandbox executor (ExecutorConfig kind
// "sandbox", the default for every runbook) records what would run and
// changes nothing in any target system, but the decision is still written
// back to Jira; sandbox mode (Options.Sandbox, config approvals.sandbox)
// forces the sandbox executor for every runbook and also writes nothing to
// Jira (the write-back is audited as skipped). The demo wants the executor,
// not the mode, so that comments appear on the simulator's issues.
package runbook

import (
	"context"
	"encoding/json"
	"time"

	"switchyard/classify"
	"switchyard/store"
)

// Run states.
const (
	StateNoAction  = "no_action"        // classified as nothing to do; terminal
	StatePending   = "pending_approval" // waiting for a decision
	StateApproved  = "approved"         // approved; execution queued
	StateExecuting = "executing"        // the executor is running
	StateSucceeded = "succeeded"        // executed; terminal
	StateFailed    = "failed"           // execution failed or was interrupted; terminal
	StateDenied    = "denied"           // terminal, nothing executed
	StateExpired   = "expired"          // nobody decided in time; terminal, nothing executed
	// StateNeedsInput: the intent is recognised but an input is missing (the
	// target account, a group); an agent supplies it (SupplyInputs) and the
	// run goes on to pending_approval.
	StateNeedsInput = "needs_input"
)

// Write-back decision labels, as they appear in the Jira comment.
const (
	LabelApproved = "APPROVED"
	LabelDenied   = "DENIED"
	LabelExpired  = "EXPIRED"
	LabelFailed   = "FAILED"
)

// Outbox kinds this package owns.
const (
	kindNotify    = "runbook.notify"
	kindDecided   = "runbook.decided"
	kindExecute   = "runbook.execute"
	kindWriteback = "runbook.writeback"
	kindChase     = "runbook.chase" // a reminder or an escalation of a policy step
)

var allKinds = []string{kindNotify, kindDecided, kindExecute, kindWriteback, kindChase}

// CommentProperty is the Jira comment property that carries the run id of a
// write-back comment, so that a retry finds the comment it already posted.
const CommentProperty = "switchyard.run"

// Ticket is what is ingested.
type Ticket struct {
	Source        string `json:"source"`
	IssueKey      string `json:"issueKey"`
	Summary       string `json:"summary"`
	Description   string `json:"description"`
	URL           string `json:"url"`
	ReporterEmail string `json:"reporterEmail"`
	// ReporterAccountID is the reporter as Jira names them, set only from
	// Jira's own issue (never from an ingest caller).
	ReporterAccountID string `json:"reporterAccountId,omitempty"`
}

// Run is a ticket's run as callers see it.
type Run struct {
	ID          int64            `json:"id"`
	Connection  string           `json:"connection"`
	IssueKey    string           `json:"issueKey"`
	Ticket      Ticket           `json:"ticket"`
	Intent      string           `json:"intent"`
	Runbook     string           `json:"runbook,omitempty"`
	RunbookName string           `json:"runbookName,omitempty"`
	Confidence  float64          `json:"confidence"`
	Disposition string           `json:"disposition"`
	Reason      string           `json:"reason,omitempty"`
	Candidate   string           `json:"candidate,omitempty"`
	Inputs      []classify.Input `json:"inputs"`
	TargetUser  string           `json:"targetUser,omitempty"`
	// Missing are the inputs a needs_input run waits for; Explanation says
	// why a run abstained or waits, in words.
	Missing     []string  `json:"missing,omitempty"`
	Explanation string    `json:"explanation,omitempty"`
	Evidence    *Evidence `json:"evidence,omitempty"`
	State       string    `json:"state"`
	// JiraCheck says where Ticket's text comes from (CheckJira, CheckMatches,
	// CheckDiffers, CheckUnverified); CallerTextDiffers marks a run whose
	// ingest caller sent other text than Jira holds, CallerTicket is what the
	// caller sent whenever Jira's text was used. Runs older than the check
	// have none of them.
	JiraCheck         string    `json:"jiraCheck,omitempty"`
	CallerTextDiffers bool      `json:"callerTextDiffers"`
	CallerTicket      *Ticket   `json:"callerTicket,omitempty"`
	Created           time.Time `json:"createdAt"`
	Updated           time.Time `json:"updatedAt"`

	Approval *store.Approval `json:"approval,omitempty"`
	// Policy is the request's approval policy and its steps (who decided
	// each, who is awaited); nil when no policy applies.
	Policy        *PolicyStatus  `json:"policy,omitempty"`
	Execution     *Execution     `json:"execution,omitempty"`
	Notifications []Notification `json:"notifications,omitempty"`
	WriteBack     *WriteBack     `json:"writeBack,omitempty"`
}

// Notification is one notifier's delivery of a run's approval request (or of
// its decision), with its retries visible.
type Notification struct {
	Notifier    string    `json:"notifier"`
	Kind        string    `json:"kind"` // request | decision
	Delivered   bool      `json:"delivered"`
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"lastError,omitempty"`
	NextAttempt time.Time `json:"nextAttemptAt,omitzero"`
	DeliveredAt time.Time `json:"deliveredAt,omitzero"`
}

// WriteBack is the state of a run's Jira comment.
type WriteBack struct {
	Status      string    `json:"status"` // pending | done | skipped | failed
	Attempts    int       `json:"attempts"`
	LastError   string    `json:"lastError,omitempty"`
	CommentID   string    `json:"commentId,omitempty"`
	Transition  string    `json:"transition,omitempty"`
	NextAttempt time.Time `json:"nextAttemptAt,omitzero"`
	Reason      string    `json:"reason,omitempty"`
}

// doc is what the run stores in ticket_runs.inputs: the ingested ticket and
// the classification details that have no column of their own.
type doc struct {
	Ticket      Ticket           `json:"ticket"`
	Inputs      []classify.Input `json:"inputs"`
	Candidate   string           `json:"candidate,omitempty"`
	RunbookName string           `json:"runbookName,omitempty"`
	Target      string           `json:"targetSystem,omitempty"`
	Check       string           `json:"jiraCheck,omitempty"`
	Caller      *Ticket          `json:"caller,omitempty"` // what the ingest caller sent, when Jira's text was used
	Differs     bool             `json:"callerTextDiffers,omitempty"`
	Missing     []string         `json:"missing,omitempty"`
	Explanation string           `json:"explanation,omitempty"`
	Evidence    *Evidence        `json:"evidence,omitempty"`
}

// Evidence is what decided a run's intent, for the approver: the ticket's
// words (the matched phrase first) and the phrase itself.
type Evidence struct {
	Words []string `json:"words,omitempty"`
	Rule  string   `json:"rule,omitempty"`
}

type actorKey struct{}

// WithActor names who is acting (an API key's name, "slack:U123",
// "system") for the audit records of calls made with ctx.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

func actorOf(ctx context.Context) string {
	if a, ok := ctx.Value(actorKey{}).(string); ok && a != "" {
		return a
	}
	return "system"
}

func runFrom(tr store.TicketRun) (Run, error) {
	r := Run{
		ID: tr.ID, Connection: tr.Conn, IssueKey: tr.IssueKey, Intent: tr.Intent, Runbook: tr.Runbook,
		Confidence: tr.Confidence, Disposition: tr.Disposition, Reason: tr.Reason, State: tr.State,
		Created: tr.Created, Updated: tr.Updated,
	}
	var d doc
	if len(tr.Inputs) > 0 {
		if err := json.Unmarshal(tr.Inputs, &d); err != nil {
			return r, err
		}
	}
	r.Ticket, r.Inputs, r.Candidate, r.RunbookName = d.Ticket, d.Inputs, d.Candidate, d.RunbookName
	r.JiraCheck, r.CallerTextDiffers, r.CallerTicket = d.Check, d.Differs, d.Caller
	r.Missing, r.Explanation, r.Evidence = d.Missing, d.Explanation, d.Evidence
	if r.Inputs == nil {
		r.Inputs = []classify.Input{}
	}
	r.TargetUser = targetUser(r.Inputs)
	return r, nil
}

// targetUser is the person the runbook acts on: the target_user input, or
// the new hire's email.
func targetUser(in []classify.Input) string {
	for _, name := range []string{"target_user", "email"} {
		for _, i := range in {
			if i.Name == name && i.Value != "" {
				return i.Value
			}
		}
	}
	return ""
}

// inputSource returns where the named input came from.
func inputSource(in []classify.Input, value string) string {
	for _, i := range in {
		if i.Value == value {
			return i.Source
		}
	}
	return ""
}
