package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"switchyard"
	"switchyard/connector"
	syncer "switchyard/sync"
)

// deliveryTTL outlasts Jira's retry window, so a late repeat is still a repeat.
const deliveryTTL = 7 * 24 * time.Hour

// webhookEvent is the part of a Jira webhook payload the receiver reads;
// connector.ParseWebhook reads it from every shape Jira sends (Server 7
// comment events name their issue only in comment.self, Data Center users
// have a key and name instead of an account id).
type webhookEvent struct {
	WebhookEvent string
	Issue        *struct{ ID, Key string }
	actor        connector.Identity // who caused the event
}

// UnmarshalJSON reads a delivery through connector.ParseWebhook.
func (e *webhookEvent) UnmarshalJSON(body []byte) error {
	ev, err := connector.ParseWebhook(body)
	if err != nil {
		return errors.New("not a JSON object")
	}
	e.WebhookEvent, e.actor = ev.Event, ev.Actor
	if ev.NamesIssue() {
		e.Issue = &struct{ ID, Key string }{ev.IssueID, ev.IssueKey}
	}
	return nil
}

// selfIdentity is who the integration is: Self, else Account's account id.
func (c *Connection) selfIdentity(ctx context.Context) (connector.Identity, error) {
	if c.Self != nil {
		return c.Self(ctx)
	}
	id, err := c.Account(ctx)
	return connector.Identity{AccountID: id}, err
}

// webhookAck is the receiver's answer.
type webhookAck struct {
	Status string `json:"status"` // queued | duplicate | ignored | sync_queued
	Reason string `json:"reason,omitempty"`
}

// handleJiraWebhook: POST /api/v1/webhooks/jira/{connection}. The signature
// is checked on the raw body before anything is parsed; repeats (same
// X-Atlassian-Webhook-Identifier) and the integration's own changes are
// acknowledged and dropped; anything else is queued for a refresh through the
// engine and acknowledged at once.
func (s *Server) handleJiraWebhook(w http.ResponseWriter, r *http.Request) {
	if err := s.jiraWebhook(w, r); err != nil {
		if errors.Is(err, switchyard.ErrUnauthorized) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchyard-webhooks"`)
		}
		s.writeError(w, r, err)
	}
}

func (s *Server) jiraWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.needEngine(); err != nil {
		return err
	}
	if err := s.needStore(); err != nil {
		return err
	}
	c, err := s.connection(r.PathValue("connection"))
	if err != nil {
		return err
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: the limit is %d bytes", errBodyTooLarge, s.opts.MaxBodyBytes)
		}
		return switchyard.Errorf(switchyard.ErrInvalid, "read body: %v", err)
	}
	if err := c.verifyWebhook(r, body); err != nil {
		s.metrics.webhooks.WithLabelValues(c.Name, "rejected").Inc()
		return err
	}
	var ev webhookEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		return switchyard.Errorf(switchyard.ErrInvalid, "malformed webhook JSON: %v", err)
	}
	ack := func(status, reason string) error {
		s.metrics.webhooks.WithLabelValues(c.Name, status).Inc()
		writeJSON(w, http.StatusAccepted, webhookAck{Status: status, Reason: reason})
		return nil
	}
	if id := r.Header.Get("X-Atlassian-Webhook-Identifier"); id != "" {
		first, err := s.opts.Store.FirstDelivery(r.Context(), "jira/"+c.Name+"/"+id, deliveryTTL)
		if err != nil {
			return err
		}
		if !first {
			return ack("duplicate", "delivery "+id+" was already received")
		}
	}
	off, err := s.disabled(r.Context(), c.Name)
	if err != nil {
		return err
	}
	if off {
		return ack("ignored", "connection is disconnected")
	}
	if c.Account != nil || c.Self != nil {
		if actor := ev.actor; !actor.Empty() {
			// By account id (Cloud), or by user key or name (Data Center).
			self, err := c.selfIdentity(r.Context())
			if err != nil {
				s.logger.Warn("cannot tell the integration's own account; processing the event", "connection", c.Name, "err", err)
			} else if actor.Matches(self) {
				return ack("ignored", "caused by the integration's own account")
			}
		}
	}
	if ev.Issue == nil || (ev.Issue.ID == "" && ev.Issue.Key == "") {
		return ack("ignored", "event "+ev.WebhookEvent+" names no issue")
	}
	job := webhookJob{conn: c.Name, issueID: ev.Issue.ID, issueKey: ev.Issue.Key, delete: ev.WebhookEvent == "jira:issue_deleted"}
	switch s.hooks.push(job) {
	case pushQueued:
		return ack("queued", "")
	case pushMerged:
		return ack("queued", "a refresh of this issue is already queued")
	default:
		// The queue is full: an incremental sync (coalesced) picks the change up.
		if err := s.opts.Engine.Trigger(c.Name, false); err != nil {
			return err
		}
		return ack("sync_queued", "refresh queue full; an incremental sync was requested")
	}
}

// verifyWebhook accepts an admin webhook signed with X-Hub-Signature (HMAC-SHA256
// of the raw body keyed with webhook_secret) or an OAuth app's dynamic webhook
// carrying a JWT signed (HS256) with the client secret. Comparisons are in
// constant time.
func (c *Connection) verifyWebhook(r *http.Request, body []byte) error {
	if sig := r.Header.Get("X-Hub-Signature"); sig != "" {
		if c.WebhookSecret == "" {
			return switchyard.Errorf(switchyard.ErrUnauthorized, "connection %s has no webhook_secret: signed admin webhooks are not accepted", c.Name)
		}
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		got, err := hex.DecodeString(hexSig)
		if !ok || err != nil {
			return switchyard.Errorf(switchyard.ErrUnauthorized, "X-Hub-Signature must be sha256=<hex>")
		}
		m := hmac.New(sha256.New, []byte(c.WebhookSecret))
		m.Write(body)
		if !hmac.Equal(got, m.Sum(nil)) {
			return switchyard.Errorf(switchyard.ErrUnauthorized, "X-Hub-Signature does not match the body")
		}
		return nil
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if c.OAuthClientSecret == "" {
			return switchyard.Errorf(switchyard.ErrUnauthorized, "connection %s is not an OAuth connection: JWT-signed webhooks are not accepted", c.Name)
		}
		return verifyHS256(strings.TrimSpace(tok), c.OAuthClientSecret, time.Now())
	}
	return switchyard.Errorf(switchyard.ErrUnauthorized, "unsigned webhook: send X-Hub-Signature or an OAuth JWT")
}

// verifyHS256 checks a JWT's HS256 signature and its exp (with a minute of
// clock skew). The claim set of Jira's webhook JWT is not documented, so
// nothing else is required.
func verifyHS256(token, secret string, now time.Time) error {
	bad := func(why string) error { return switchyard.Errorf(switchyard.ErrUnauthorized, "webhook JWT: %s", why) }
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return bad("want 3 segments")
	}
	enc := base64.RawURLEncoding
	var hdr struct {
		Alg string `json:"alg"`
	}
	hb, err := enc.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &hdr) != nil || hdr.Alg != "HS256" {
		return bad("header must name alg HS256")
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return bad("signature is not base64url")
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, m.Sum(nil)) {
		return bad("signature does not match")
	}
	var claims struct {
		Exp *float64 `json:"exp"`
	}
	cb, err := enc.DecodeString(parts[1])
	if err != nil || json.Unmarshal(cb, &claims) != nil {
		return bad("claims are not JSON")
	}
	if claims.Exp == nil || now.After(time.Unix(int64(*claims.Exp), 0).Add(time.Minute)) {
		return bad("expired or without exp")
	}
	return nil
}

// webhookJob is one issue to refresh (or remove).
type webhookJob struct {
	conn, issueID, issueKey string
	delete                  bool
}

func (j webhookJob) ref() string {
	if j.issueID != "" {
		return j.issueID
	}
	return j.issueKey
}

type pushResult int

const (
	pushQueued pushResult = iota
	pushMerged
	pushFull
)

// webhookQueue is a bounded queue of refreshes. A job for an issue already
// waiting is merged with it (a delete wins), so a burst of edits to one issue
// costs one refresh.
type webhookQueue struct {
	ch      chan string
	mu      sync.Mutex
	pending map[string]webhookJob
}

func newWebhookQueue(n int) *webhookQueue {
	return &webhookQueue{ch: make(chan string, n), pending: map[string]webhookJob{}}
}

func (q *webhookQueue) push(j webhookJob) pushResult {
	k := j.conn + "/" + j.ref()
	q.mu.Lock()
	defer q.mu.Unlock()
	if old, ok := q.pending[k]; ok {
		old.delete = old.delete || j.delete
		q.pending[k] = old
		return pushMerged
	}
	select {
	case q.ch <- k:
		q.pending[k] = j
		return pushQueued
	default:
		return pushFull
	}
}

func (q *webhookQueue) take(k string) webhookJob {
	q.mu.Lock()
	defer q.mu.Unlock()
	j := q.pending[k]
	delete(q.pending, k)
	return j
}

func (q *webhookQueue) work(ctx context.Context, s *Server) {
	for {
		select {
		case <-ctx.Done():
			return
		case k := <-q.ch:
			j := q.take(k)
			start := time.Now()
			var err error
			if j.delete && j.issueID != "" {
				err = s.opts.Engine.RemoveIssue(ctx, j.conn, j.issueID)
			} else {
				// RefreshIssue also removes an issue Jira no longer has; the
				// refreshed issue reaches the runbook triggers (sync's
				// OnIssues hook) marked as webhook-delivered.
				err = s.opts.Engine.RefreshIssue(syncer.WithOrigin(ctx, "webhook"), j.conn, j.ref())
			}
			outcome := "ok"
			if err != nil {
				outcome = "error"
				if ctx.Err() == nil {
					s.logger.Warn("webhook refresh failed; the next sync catches up", "connection", j.conn, "issue", j.ref(), "err", err)
				}
			}
			s.metrics.refreshes.WithLabelValues(j.conn, outcome).Inc()
			s.logger.Debug("webhook refresh", "connection", j.conn, "issue", j.ref(), "delete", j.delete, "duration_ms", time.Since(start).Milliseconds())
		}
	}
}
