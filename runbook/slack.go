package runbook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// DefaultSlackAPI is Slack's Web API base URL.
const DefaultSlackAPI = "https://slack.com/api"

// SlackReplayWindow is how old a signed Slack request may be.
const SlackReplayWindow = 5 * time.Minute

// SlackNotifier posts approval requests to a channel as Block Kit messages
// with Approve and Deny buttons, plus a threaded note with where each input
// came from; after the decision it updates the message and notes the
// decision in the thread.
type SlackNotifier struct {
	NameValue string
	BaseURL   string // default DefaultSlackAPI; tests point it at a local server
	Token     string // bot token (xoxb-…), sent as a bearer token, never logged
	Channel   string // channel id or name
	HTTP      *http.Client
}

// NewSlackNotifier checks its settings.
func NewSlackNotifier(name, baseURL, token, channel string, hc *http.Client) (*SlackNotifier, error) {
	if baseURL == "" {
		baseURL = DefaultSlackAPI
	}
	if u, err := url.Parse(baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "notifiers.slack.api_url", "must be an absolute http(s) URL, not %q", redactURL(baseURL))
	}
	if token == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "notifiers.slack.bot_token", "is required")
	}
	if channel == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "notifiers.slack.channel", "is required")
	}
	if hc == nil {
		hc = &http.Client{Timeout: DefaultNotifyTime}
	}
	if name == "" {
		name = "slack"
	}
	return &SlackNotifier{NameValue: name, BaseURL: strings.TrimRight(baseURL, "/"), Token: token, Channel: channel, HTTP: hc}, nil
}

func (n *SlackNotifier) Name() string { return n.NameValue }

type slackReceipt struct {
	Channel   string `json:"channel"`
	TS        string `json:"ts"`
	NoteError string `json:"noteError,omitempty"`
}

// slackEscape escapes the three characters mrkdwn reads as control.
func slackEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

func mrkdwn(s string) map[string]any { return map[string]any{"type": "mrkdwn", "text": s} }
func plain(s string) map[string]any {
	return map[string]any{"type": "plain_text", "text": truncate(s, 150)}
}

// SlackBlocks is the Block Kit card of a request.
func SlackBlocks(req ApprovalRequest) []map[string]any {
	issue := "*" + slackEscape(req.IssueKey) + "*"
	if req.IssueURL != "" {
		issue = "*<" + slackEscape(req.IssueURL) + "|" + slackEscape(req.IssueKey) + ">*"
	}
	rb := req.Runbook
	if req.RunbookName != "" {
		rb += " " + req.RunbookName
	}
	target := "(none)"
	if req.TargetUser != "" {
		target = slackEscape(req.TargetUser)
		if req.TargetFrom != "" {
			target += " _(from " + slackEscape(req.TargetFrom) + ")_"
		}
	}
	id := strconv.FormatInt(req.ApprovalID, 10)
	blocks := []map[string]any{
		{"type": "header", "text": plain("Approval needed: " + req.IssueKey)},
		{"type": "section", "text": mrkdwn(issue + " " + slackEscape(truncate(req.Summary, 300))), "fields": []any{
			mrkdwn("*Intent*\n" + slackEscape(req.Intent)),
			mrkdwn("*Runbook*\n" + slackEscape(rb)),
			mrkdwn("*Confidence*\n" + strconv.FormatFloat(req.Confidence, 'f', 2, 64)),
			mrkdwn("*Target user*\n" + target),
		}},
		{"type": "context", "elements": []any{mrkdwn("Reporter: " + slackEscape(orNone(req.Reporter)) + " · expires " + req.Expires.UTC().Format(timeFormat) + " · run " + strconv.FormatInt(req.RunID, 10))}},
		{"type": "actions", "block_id": "switchyard_approval", "elements": []any{
			map[string]any{"type": "button", "action_id": "approve", "style": "primary", "text": plain("Approve"), "value": id},
			map[string]any{"type": "button", "action_id": "deny", "style": "danger", "text": plain("Deny"), "value": id},
		}},
	}
	if ev := slackEvidence(req); ev != nil {
		// Before the buttons: read why, then decide.
		blocks = append(blocks[:len(blocks)-1], ev, blocks[len(blocks)-1])
	}
	if lines := PolicyLines(req.Policy); len(lines) > 0 {
		pb := map[string]any{"type": "section", "text": mrkdwn(slackEscape(strings.Join(lines, "\n")))}
		blocks = append(blocks[:len(blocks)-1], pb, blocks[len(blocks)-1])
	}
	if pb := slackPrecedent(req); pb != nil {
		blocks = append(blocks[:len(blocks)-1], pb, blocks[len(blocks)-1])
	}
	if c := req.Chase; c != nil {
		what := "Reminder"
		if c.What == eventEscalated {
			what = "Escalated"
		}
		blocks[0] = map[string]any{"type": "header", "text": plain(what + ": approval needed: " + req.IssueKey)}
		if len(c.SlackUsers) > 0 {
			var m []string
			for _, id := range c.SlackUsers {
				m = append(m, "<@"+id+">")
			}
			mention := map[string]any{"type": "section", "text": mrkdwn("Waiting for " + strings.Join(m, " ") + " (step " + strconv.Itoa(c.Step) + ", " + slackEscape(c.StepName) + ")")}
			blocks = append(blocks[:1], append([]map[string]any{mention}, blocks[1:]...)...)
		}
	}
	if w := checkWarning(req); w != "" {
		// Before the buttons, where the approver looks last.
		warn := map[string]any{"type": "context", "elements": []any{mrkdwn(":warning: *" + slackEscape(w) + "*")}}
		blocks = append(blocks[:len(blocks)-1], warn, blocks[len(blocks)-1])
	}
	return blocks
}

// slackPrecedent is the similar past tickets with their decisions, or nil.
func slackPrecedent(req ApprovalRequest) map[string]any {
	if len(req.Precedent) == 0 {
		return nil
	}
	lines := []string{"*Similar past tickets*"}
	for _, p := range req.Precedent {
		key := slackEscape(p.Key)
		if p.URL != "" {
			key = "<" + slackEscape(p.URL) + "|" + key + ">"
		}
		lines = append(lines, "• "+key+" "+slackEscape(truncate(p.Title, 120))+" — "+slackEscape(precedentOutcome(p, "*")))
	}
	return map[string]any{"type": "section", "block_id": "switchyard_precedent", "text": mrkdwn(strings.Join(lines, "\n"))}
}

// precedentOutcome says what became of a past ticket, the decision between
// marks (bold in Slack and Teams markdown).
func precedentOutcome(p Precedent, mark string) string {
	if p.Decision == "" {
		status := p.Status
		if status == "" {
			status = "unknown"
		}
		return "no run here; Jira status " + status
	}
	out := mark + p.Decision + mark
	if p.By != "" {
		out += " by " + p.By
	}
	return out
}

// checkWarning is what approvers are told about the ticket's text when it
// is not simply Jira's: "" when it is.
func checkWarning(req ApprovalRequest) string {
	switch {
	case req.CallerTextDiffers:
		return "Caller text differs from Jira: this request shows Jira's text; the ingest caller sent the summary \"" + truncate(req.CallerSummary, 200) + "\""
	case req.JiraCheck == CheckUnverified:
		return "Not checked against Jira: the text is as the ingest caller sent it"
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// inputsNote lists each input with its provenance.
func inputsNote(req ApprovalRequest) string {
	var b strings.Builder
	b.WriteString("Inputs and where they came from:")
	if len(req.Inputs) == 0 {
		b.WriteString(" none")
	}
	for _, in := range req.Inputs {
		fmt.Fprintf(&b, "\n• %s: %s (%s)", slackEscape(in.Name), slackEscape(in.Value), slackEscape(in.Source))
	}
	return b.String()
}

func (n *SlackNotifier) Deliver(ctx context.Context, req ApprovalRequest) (json.RawMessage, error) {
	var r struct {
		Channel string `json:"channel"`
		TS      string `json:"ts"`
	}
	err := n.call(ctx, "chat.postMessage", map[string]any{
		"channel": n.Channel, "text": "Approval needed: " + req.IssueKey + " " + req.Summary, "blocks": SlackBlocks(req),
	}, &r)
	if err != nil {
		return nil, err
	}
	rc := slackReceipt{Channel: r.Channel, TS: r.TS}
	// The card is out; a failed note must not post a second card on retry.
	if err := n.call(ctx, "chat.postMessage", map[string]any{"channel": r.Channel, "thread_ts": r.TS, "text": inputsNote(req)}, nil); err != nil {
		rc.NoteError = err.Error()
	}
	return mustJSON(rc), nil
}

func (n *SlackNotifier) DeliverDecision(ctx context.Context, req ApprovalRequest, news DecisionNews, receipt json.RawMessage) error {
	var rc slackReceipt
	if err := json.Unmarshal(receipt, &rc); err != nil || rc.TS == "" {
		return permanent{errors.New("the request was never posted to Slack; nothing to follow up")}
	}
	text := fmt.Sprintf("%s by %s at %s", strings.ToUpper(news.Status), news.DecidedBy, news.DecidedAt.UTC().Format(timeFormat))
	if news.Status == "expired" {
		text = "EXPIRED at " + news.DecidedAt.UTC().Format(timeFormat) + ": nobody decided; no changes were made"
	}
	blocks := SlackBlocks(req)
	blocks[len(blocks)-1] = map[string]any{"type": "context", "elements": []any{mrkdwn("*" + slackEscape(text) + "*")}}
	if err := n.call(ctx, "chat.update", map[string]any{"channel": rc.Channel, "ts": rc.TS, "text": text, "blocks": blocks}, nil); err != nil {
		return err
	}
	return n.call(ctx, "chat.postMessage", map[string]any{"channel": rc.Channel, "thread_ts": rc.TS, "text": slackEscape(text)}, nil)
}

// DeliverProgress updates the request's card with the policy's steps so
// far, and notes the step in its thread.
func (n *SlackNotifier) DeliverProgress(ctx context.Context, req ApprovalRequest, receipt []byte) error {
	var rc slackReceipt
	if err := json.Unmarshal(receipt, &rc); err != nil || rc.TS == "" {
		return errors.New("the request is not posted to Slack yet")
	}
	if err := n.call(ctx, "chat.update", map[string]any{"channel": rc.Channel, "ts": rc.TS, "text": "Approval needed: " + req.IssueKey + " " + req.Summary, "blocks": SlackBlocks(req)}, nil); err != nil {
		return err
	}
	text := "A step was decided."
	if ps := req.Policy; ps != nil && ps.Current > 0 {
		st := ps.Steps[ps.Current-1]
		text = fmt.Sprintf("Step %d (%s) is next; awaiting %s", ps.Current, st.Name, strings.Join(st.Awaiting, ", "))
	}
	return n.call(ctx, "chat.postMessage", map[string]any{"channel": rc.Channel, "thread_ts": rc.TS, "text": slackEscape(text)}, nil)
}

// call invokes a Slack Web API method; Slack answers 200 with ok:false on
// errors.
func (n *SlackNotifier) call(ctx context.Context, method string, body any, out any) error {
	b, _ := json.Marshal(body)
	u := n.BaseURL + "/" + method
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return fmt.Errorf("slack %s: %w", method, redactErr(err, u, redactURL(u)))
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+n.Token)
	resp, err := n.HTTP.Do(req)
	if err != nil {
		return fmt.Errorf("slack %s: %w", method, redactErr(err, u, redactURL(u)))
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("slack %s: HTTP %d", method, resp.StatusCode)
	}
	var r struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("slack %s: bad answer: %w", method, err)
	}
	if !r.OK {
		return fmt.Errorf("slack %s: %s", method, r.Error)
	}
	if out != nil {
		return json.Unmarshal(raw, out)
	}
	return nil
}

// SlackSignature returns the X-Slack-Signature of body sent at ts:
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + ts + ":" + body)).
func SlackSignature(secret, ts string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("v0:" + ts + ":"))
	m.Write(body)
	return "v0=" + hex.EncodeToString(m.Sum(nil))
}

// VerifySlack checks a Slack request signature in constant time and that its
// timestamp is within SlackReplayWindow of now.
func VerifySlack(secret, ts, sig string, body []byte, now time.Time) error {
	if secret == "" {
		return switchyard.Errorf(switchyard.ErrNotFound, "Slack interactivity is not configured (notifiers.slack.signing_secret)")
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || ts == "" {
		return switchyard.Errorf(switchyard.ErrUnauthorized, "missing or malformed X-Slack-Request-Timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > SlackReplayWindow || d < -SlackReplayWindow {
		return switchyard.Errorf(switchyard.ErrUnauthorized, "stale Slack request: its timestamp is outside the 5-minute window")
	}
	if !hmac.Equal([]byte(SlackSignature(secret, ts, body)), []byte(sig)) {
		return switchyard.Errorf(switchyard.ErrUnauthorized, "X-Slack-Signature does not verify")
	}
	return nil
}

// SlackReply is the message Slack shows the clicking user.
type SlackReply struct {
	ResponseType    string `json:"response_type"`
	ReplaceOriginal bool   `json:"replace_original"`
	Text            string `json:"text"`
}

// SlackInteraction handles a button click from Slack's interactivity
// request: signature (v0, 5-minute window, constant time), then a replay
// check (a signature is accepted once), then the decision under the usual
// rules. Rule refusals are replies for the user, not errors.
func (s *Service) SlackInteraction(ctx context.Context, ts, sig string, body []byte) (SlackReply, error) {
	if err := VerifySlack(s.opts.SlackSigningSecret, ts, sig, body, s.now()); err != nil {
		return SlackReply{}, err
	}
	first, err := s.db.FirstDelivery(ctx, "slack:"+sig, 2*SlackReplayWindow)
	if err != nil {
		return SlackReply{}, err
	}
	if !first {
		return SlackReply{}, switchyard.Errorf(switchyard.ErrUnauthorized, "replayed Slack request")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil || form.Get("payload") == "" {
		return SlackReply{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "payload", "Slack interactivity body has no payload")
	}
	var p struct {
		Type string `json:"type"`
		User struct {
			ID string `json:"id"`
		} `json:"user"`
		Actions []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"actions"`
	}
	if err := json.Unmarshal([]byte(form.Get("payload")), &p); err != nil {
		return SlackReply{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "payload", "is not JSON: %v", err)
	}
	if p.Type != "block_actions" || len(p.Actions) == 0 || p.User.ID == "" {
		return SlackReply{ResponseType: "ephemeral", Text: "Nothing to do."}, nil
	}
	act := p.Actions[0]
	id, err := strconv.ParseInt(act.Value, 10, 64)
	if err != nil || (act.ActionID != "approve" && act.ActionID != "deny") {
		return SlackReply{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "actions", "unknown action %q", act.ActionID)
	}
	approver, err := s.slackApprover(ctx, p.User.ID)
	if err != nil {
		if errors.Is(err, switchyard.ErrForbidden) {
			s.appendAudit(ctx, "decision.refused", "slack:"+p.User.ID, "", map[string]any{
				"approval": id, "decision": act.ActionID, "channel": "slack", "reason": err.Error(),
			})
			return SlackReply{ResponseType: "ephemeral", Text: "Not recorded: " + err.Error()}, nil
		}
		return SlackReply{}, err
	}
	run, err := s.Decide(WithActor(ctx, approver), id, Decision{Decision: act.ActionID, Approver: approver, Channel: "slack"})
	var se *switchyard.Error
	switch {
	case err == nil && run.Policy != nil && run.Policy.Current > 0:
		st := run.Policy.Steps[run.Policy.Current-1]
		return SlackReply{ResponseType: "ephemeral", Text: fmt.Sprintf("%s: your approval is recorded; step %d (%s) is next, awaiting %s (run %d).", run.IssueKey, run.Policy.Current, st.Name, strings.Join(st.Awaiting, ", "), run.ID)}, nil
	case err == nil:
		return SlackReply{ResponseType: "ephemeral", Text: fmt.Sprintf("%s: %s %s (run %d).", run.IssueKey, strings.ToUpper(run.Approval.Status), run.Runbook, run.ID)}, nil
	case errors.Is(err, switchyard.ErrForbidden), errors.Is(err, switchyard.ErrConflict), errors.Is(err, switchyard.ErrNotFound):
		msg := err.Error()
		if errors.As(err, &se) {
			msg = se.Error()
		}
		return SlackReply{ResponseType: "ephemeral", Text: "Not recorded: " + msg}, nil
	}
	return SlackReply{}, err
}
