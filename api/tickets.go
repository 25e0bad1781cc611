package api

import (
	"net/http"
	"time"

	"switchyard"
	"switchyard/audit"
	"switchyard/runbook"
)

// RunbookService and AuditChain name the runbook and audit components in
// Options without this file's imports spreading to server.go.
type (
	RunbookService = runbook.Service
	AuditChain     = audit.Chain
)

// runbookRoutes registers the ticket, approval, audit, Slack and decision
// link routes of the components that are configured.
func (s *Server) runbookRoutes() {
	if s.opts.Runbook != nil {
		s.api("POST", "/api/v1/tickets/ingest", ScopeTicketIngest, s.handleIngest)
		s.api("GET", "/api/v1/approvals", ScopeApprovalsDecide, s.handleApprovals)
		s.api("GET", "/api/v1/approvals/{id}", ScopeApprovalsDecide, s.handleApproval)
		s.api("POST", "/api/v1/approvals/{id}/decision", ScopeApprovalsDecide, s.handleDecision)
		s.api("GET", "/api/v1/delegations", ScopeApprovalsDecide, s.handleDelegations)
		s.api("POST", "/api/v1/delegations", ScopeApprovalsDecide, s.handleDelegate)
		s.api("DELETE", "/api/v1/delegations/{id}", ScopeApprovalsDecide, s.handleRevokeDelegation)
		// Signed by Slack and by Switchyard's own link tokens, not by API keys.
		s.public("POST", "/api/v1/slack/interactivity", s.handleSlackInteractivity)
		s.mux.HandleFunc("GET /api/v1/approvals/{id}/link", s.handleLinkPage)
		s.mux.HandleFunc("POST /api/v1/approvals/{id}/link", s.handleLinkDecide)
		// Listed for Routes (the OpenAPI coverage test); they answer in HTML.
		s.publicRoutes = append(s.publicRoutes, "GET /api/v1/approvals/{id}/link", "POST /api/v1/approvals/{id}/link")
	}
	if s.opts.Audit != nil {
		s.api("GET", "/api/v1/audit", ScopeAuditRead, s.handleAuditList)
		s.api("GET", "/api/v1/audit/verify", ScopeAuditRead, s.handleAuditVerify)
	}
}

// actor names the API key behind a request for audit records.
func actor(r *http.Request) string {
	if k, ok := principal(r.Context()); ok {
		return "key:" + k.Name
	}
	return "anonymous"
}

type ingestRequest struct {
	Source string        `json:"source"`
	Ticket *ingestTicket `json:"ticket"`
}

type ingestTicket struct {
	IssueKey      string `json:"issueKey"`
	Summary       string `json:"summary"`
	Description   string `json:"description"`
	URL           string `json:"url"`
	ReporterEmail string `json:"reporterEmail"`
}

// ingestResponse is the answer to an ingest: the run's classification and
// what happens next.
type ingestResponse struct {
	RunID       int64      `json:"runId"`
	IssueKey    string     `json:"issueKey"`
	Connection  string     `json:"connection"`
	Created     bool       `json:"created"`
	Disposition string     `json:"disposition"`
	Reason      string     `json:"reason,omitempty"`
	Explanation string     `json:"explanation,omitempty"`
	Missing     []string   `json:"missing,omitempty"`
	Intent      string     `json:"intent"`
	Runbook     string     `json:"runbook,omitempty"`
	Confidence  float64    `json:"confidence"`
	Inputs      any        `json:"inputs"`
	TargetUser  string     `json:"targetUser,omitempty"`
	State       string     `json:"state"`
	ApprovalID  int64      `json:"approvalId,omitempty"`
	ExpiresAt   *time.Time `json:"expiresAt,omitempty"` // of the approval request
	JiraCheck   string     `json:"jiraCheck,omitempty"`
	Differs     bool       `json:"callerTextDiffers"`
}

// handleIngest: POST /api/v1/tickets/ingest. 201 for a new run, 200 for the
// same ticket again (the original run), 409 for a different body.
func (s *Server) handleIngest(w http.ResponseWriter, r *http.Request) error {
	var req ingestRequest
	if err := decodeJSON(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	if req.Ticket == nil {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "ticket", "is required: {\"source\":\"jira\",\"ticket\":{\"issueKey\":…,\"summary\":…}}")
	}
	t := runbook.Ticket{Source: req.Source, IssueKey: req.Ticket.IssueKey, Summary: req.Ticket.Summary,
		Description: req.Ticket.Description, URL: req.Ticket.URL, ReporterEmail: req.Ticket.ReporterEmail}
	ctx := runbook.WithActor(r.Context(), actor(r))
	if k, ok := principal(r.Context()); ok && k.AccountID != "" {
		ctx = runbook.WithPerson(ctx, k.AccountID) // who ingests cannot approve
	}
	res, err := s.opts.Runbook.Ingest(ctx, r.URL.Query().Get("connection"), t)
	if err != nil {
		return err
	}
	run := res.Run
	out := ingestResponse{RunID: run.ID, IssueKey: run.IssueKey, Connection: run.Connection, Created: res.Created,
		Disposition: run.Disposition, Reason: run.Reason, Explanation: run.Explanation, Missing: run.Missing, Intent: run.Intent, Runbook: run.Runbook,
		Confidence: run.Confidence, Inputs: run.Inputs, TargetUser: run.TargetUser, State: run.State,
		JiraCheck: run.JiraCheck, Differs: run.CallerTextDiffers}
	if run.CallerTextDiffers {
		// Extracted from Jira's text, which this caller did not send: the
		// approvers see them, the caller is not told Jira's content.
		out.Inputs, out.TargetUser = []any{}, ""
	}
	if a := run.Approval; a != nil {
		out.ApprovalID, out.ExpiresAt = a.ID, &a.Expires
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, out)
	return nil
}
