package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
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
	token, err := s.verifyWebhook(c, r, body)
	if err != nil {
		s.metrics.webhooks.WithLabelValues(c.Name, "rejected").Inc()
		if !s.chargeUnauthenticated(w, r) {
			return nil // answered 429
		}
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
	// The identifier is not signed, so a captured delivery could be replayed
	// under a new one (or none): de-duplicate on what is signed as well. An
	// admin webhook's signature covers the body (Jira's carry a millisecond
	// timestamp, so two events do not share one); a JWT is accepted once, so
	// it cannot carry a second body either.
	first, err := s.opts.Store.FirstDelivery(r.Context(), "jira/"+c.Name+"/body/"+digest(body), deliveryTTL)
	if err != nil {
		return err
	}
	if !first {
		return ack("duplicate", "this signed body was already received")
	}
	if token != "" {
		first, err := s.opts.Store.FirstDelivery(r.Context(), "jira/"+c.Name+"/jwt/"+digest([]byte(token)), jwtMaxLifetime+2*jwtSkew)
		if err != nil {
			return err
		}
		if !first {
			return ack("duplicate", "this webhook JWT was already used")
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
	// A jira:issue_deleted is queued like any change: the refresh asks Jira
	// and removes the issue only when Jira answers 404, so a signed but false
	// (or replayed) delete cannot remove an issue that still exists.
	job := webhookJob{conn: c.Name, issueID: ev.Issue.ID, issueKey: ev.Issue.Key}
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
// carrying a JWT signed (HS256) with the client secret and bound to this app,
// site and request (see verifyWebhookJWT). Comparisons are in constant time.
// It returns the JWT, if that is what signed the request.
func (s *Server) verifyWebhook(c *Connection, r *http.Request, body []byte) (string, error) {
	if sig := r.Header.Get("X-Hub-Signature"); sig != "" {
		if c.WebhookSecret == "" {
			return "", switchyard.Errorf(switchyard.ErrUnauthorized, "connection %s has no webhook_secret: signed admin webhooks are not accepted", c.Name)
		}
		hexSig, ok := strings.CutPrefix(sig, "sha256=")
		got, err := hex.DecodeString(hexSig)
		if !ok || err != nil {
			return "", switchyard.Errorf(switchyard.ErrUnauthorized, "X-Hub-Signature must be sha256=<hex>")
		}
		m := hmac.New(sha256.New, []byte(c.WebhookSecret))
		m.Write(body)
		if !hmac.Equal(got, m.Sum(nil)) {
			return "", switchyard.Errorf(switchyard.ErrUnauthorized, "X-Hub-Signature does not match the body")
		}
		return "", nil
	}
	if tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		if c.OAuthClientSecret == "" {
			return "", switchyard.Errorf(switchyard.ErrUnauthorized, "connection %s is not an OAuth connection: JWT-signed webhooks are not accepted", c.Name)
		}
		tok = strings.TrimSpace(tok)
		p := jwtPolicy{secret: c.OAuthClientSecret, audience: c.OAuthClientID,
			issuers: []string{strings.TrimRight(c.URL, "/")}, qsh: s.requestQSH(r)}
		return tok, verifyWebhookJWT(tok, p, time.Now())
	}
	return "", switchyard.Errorf(switchyard.ErrUnauthorized, "unsigned webhook: send X-Hub-Signature or an OAuth JWT")
}

// digest names signed material in the de-duplication table.
func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// webhookJob is one issue to refresh (removed when Jira no longer has it).
type webhookJob struct {
	conn, issueID, issueKey string
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
// waiting is merged with it, so a burst of edits to one issue costs one
// refresh.
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
	if _, ok := q.pending[k]; ok {
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
			// RefreshIssue removes an issue only when Jira answers 404 (the
			// confirmation a delete event needs); the refreshed issue reaches
			// the runbook triggers (sync's OnIssues hook) marked as
			// webhook-delivered.
			err := s.opts.Engine.RefreshIssue(syncer.WithOrigin(ctx, "webhook"), j.conn, j.ref())
			outcome := "ok"
			if err != nil {
				outcome = "error"
				if ctx.Err() == nil {
					s.logger.Warn("webhook refresh failed; the next sync catches up", "connection", j.conn, "issue", j.ref(), "err", err)
				}
			}
			s.metrics.refreshes.WithLabelValues(j.conn, outcome).Inc()
			s.logger.Debug("webhook refresh", "connection", j.conn, "issue", j.ref(), "duration_ms", time.Since(start).Milliseconds())
		}
	}
}
