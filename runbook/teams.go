package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"switchyard"
)

// TeamsNotifier posts approval requests as an Adaptive Card to a Microsoft
// Teams channel through a Workflows webhook ("When a Teams webhook request
// is received"). Teams cannot call back into Switchyard with who clicked, so
// the card carries signed single-use approve/deny links, one pair per
// configured approver.
type TeamsNotifier struct {
	NameValue  string
	WebhookURL string // secret: it authorizes posting; never logged
	HTTP       *http.Client
}

// NewTeamsNotifier checks its settings.
func NewTeamsNotifier(name, webhookURL string, hc *http.Client) (*TeamsNotifier, error) {
	u, err := url.Parse(webhookURL)
	if webhookURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "notifiers.teams.webhook_url", "must be an absolute http(s) URL")
	}
	if hc == nil {
		hc = &http.Client{Timeout: DefaultNotifyTime}
	}
	if name == "" {
		name = "teams"
	}
	return &TeamsNotifier{NameValue: name, WebhookURL: webhookURL, HTTP: hc}, nil
}

func (n *TeamsNotifier) Name() string { return n.NameValue }

func tb(text string, extra map[string]any) map[string]any {
	m := map[string]any{"type": "TextBlock", "text": text, "wrap": true}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

// TeamsCard is the Adaptive Card (1.4) of a request.
func TeamsCard(req ApprovalRequest) map[string]any {
	rb := req.Runbook
	if req.RunbookName != "" {
		rb += " " + req.RunbookName
	}
	target := orNone(req.TargetUser)
	if req.TargetFrom != "" {
		target += " (from " + req.TargetFrom + ")"
	}
	issue := req.IssueKey
	if req.IssueURL != "" {
		issue = "[" + req.IssueKey + "](" + req.IssueURL + ")"
	}
	body := []any{
		tb("Approval needed: "+req.IssueKey, map[string]any{"size": "Large", "weight": "Bolder"}),
		tb(issue+": "+truncate(req.Summary, 300), nil),
		map[string]any{"type": "FactSet", "facts": []any{
			map[string]any{"title": "Intent", "value": req.Intent},
			map[string]any{"title": "Runbook", "value": rb},
			map[string]any{"title": "Confidence", "value": strconv.FormatFloat(req.Confidence, 'f', 2, 64)},
			map[string]any{"title": "Target user", "value": target},
			map[string]any{"title": "Reporter", "value": orNone(req.Reporter)},
			map[string]any{"title": "Expires", "value": req.Expires.UTC().Format(timeFormat)},
		}},
	}
	if ev := teamsEvidence(req); ev != nil {
		body = append(body, ev)
	}
	if w := checkWarning(req); w != "" {
		body = append(body, tb("⚠ "+w, map[string]any{"color": "Attention", "weight": "Bolder"}))
	}
	if lines := PolicyLines(req.Policy); len(lines) > 0 {
		body = append(body, tb(strings.Join(lines, "\n\n"), nil))
	}
	if len(req.Precedent) > 0 {
		var lines []string
		for _, p := range req.Precedent {
			key := p.Key
			if p.URL != "" {
				key = "[" + p.Key + "](" + p.URL + ")"
			}
			lines = append(lines, "- "+key+" "+truncate(p.Title, 120)+" — "+precedentOutcome(p, "**"))
		}
		body = append(body, tb("Similar past tickets", map[string]any{"weight": "Bolder", "id": "precedent"}), tb(strings.Join(lines, "\n"), nil))
	}
	if c := req.Chase; c != nil {
		what := "Reminder"
		switch c.What {
		case eventEscalated:
			what = "Escalated"
		case chaseProgress:
			what = fmt.Sprintf("Step %d of %d done", c.Step, len(req.Policy.Steps))
		}
		body[0] = tb(what+": approval needed: "+req.IssueKey, map[string]any{"size": "Large", "weight": "Bolder"})
	}
	var facts []any
	for _, in := range req.Inputs {
		facts = append(facts, map[string]any{"title": in.Name, "value": in.Value + " (" + in.Source + ")"})
	}
	if len(facts) > 0 {
		body = append(body, tb("Inputs and where they came from", map[string]any{"weight": "Bolder"}), map[string]any{"type": "FactSet", "facts": facts})
	}
	var actions []any
	for _, l := range req.Links {
		as := " as " + l.Approver
		actions = append(actions,
			map[string]any{"type": "Action.OpenUrl", "title": "Approve" + as, "url": l.Approve},
			map[string]any{"type": "Action.OpenUrl", "title": "Deny" + as, "url": l.Deny})
	}
	if len(actions) == 0 && req.ConsoleURL != "" {
		// Nobody named to send a link to: people decide in the console,
		// signed in as themselves.
		actions = append(actions, map[string]any{"type": "Action.OpenUrl", "title": "Decide in the console", "url": req.ConsoleURL})
	}
	return map[string]any{
		"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
		"type":    "AdaptiveCard", "version": "1.4", "body": body, "actions": actions,
	}
}

func (n *TeamsNotifier) Deliver(ctx context.Context, req ApprovalRequest) (json.RawMessage, error) {
	if len(req.Links) == 0 && req.ConsoleURL == "" {
		return nil, permanent{errors.New("teams needs signed decision links (approvals.link_secret, server.public_url and named approvals.approvers) or at least server.public_url for the console")}
	}
	msg := map[string]any{"type": "message", "attachments": []any{map[string]any{
		"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": nil, "content": TeamsCard(req),
	}}}
	// The whole Workflows URL is the credential: errors show its host only.
	return nil, postOK(ctx, n.HTTP, n.WebhookURL, redactHost(n.WebhookURL), nil, mustJSON(msg), "teams webhook")
}
