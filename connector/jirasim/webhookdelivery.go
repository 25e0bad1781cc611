package jirasim

// Webhook delivery. Every mutation that Jira would announce queues Jira-shaped
// events; delivery workers POST them to each registered Webhook whose Events
// match, retrying a few times, and (with DuplicateRate) sometimes delivering an
// event twice with the same identifier so receivers must de-duplicate.
//
// Headers on every delivery:
//   - X-Atlassian-Webhook-Identifier: unique per delivery, the same on a retry
//     or re-delivery (the de-duplication key).
//   - X-Atlassian-Webhook-Retry: the retry number, only on retries.
//   - Admin webhooks with a secret: X-Hub-Signature: sha256=<hex HMAC-SHA256 of
//     the raw body keyed with the webhook's secret>.
//   - Dynamic (OAuth 2.0 app) webhooks: Authorization: Bearer <JWT>. Atlassian
//     documents that webhooks registered through /rest/api/3/webhook by OAuth
//     2.0 apps carry a JWT in a bearer Authorization header, signed (HS256) with
//     the app's client secret ("Webhooks: authentication for OAuth 2.0 apps").
//     The claim set is not documented, so the simulator sends Atlassian
//     Connect's: iss (site URL), aud (client id), iat, exp (iat+5 min) and
//     qsh (the query string hash of the POST to the registered URL). The brief suggested
//     "Authorization: JWT …"; we follow the documented Bearer scheme instead.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// WebhookEvents are the events the simulator emits.
var WebhookEvents = []string{
	"jira:issue_created", "jira:issue_updated", "jira:issue_deleted",
	"comment_created", "comment_updated", "comment_deleted",
	"user_created", "user_updated",
}

const webhookQueueSize = 1024

// delivery is one POST to one receiver (a dynamic receiver gets one request per
// URL carrying every matched webhook id, like Jira's matchedWebhookIds).
type delivery struct {
	url          string
	secret       string // admin: HMAC key; empty = unsigned
	dynamic      bool
	clientID     string
	clientSecret string
	siteURL      string
	body         []byte
	identifier   string
	duplicate    bool // deliver a second time with the same identifier
}

type webhookQueue struct {
	ch      chan delivery
	stop    chan struct{}
	wg      sync.WaitGroup
	pending atomic.Int64
	client  *http.Client
	retries int
}

func newWebhookQueue(client *http.Client, retries int) *webhookQueue {
	if client == nil {
		client = &http.Client{Timeout: 5 * time.Second}
	}
	q := &webhookQueue{ch: make(chan delivery, webhookQueueSize), stop: make(chan struct{}), client: client, retries: retries}
	for i := 0; i < 2; i++ {
		q.wg.Add(1)
		go q.work()
	}
	return q
}

func (q *webhookQueue) work() {
	defer q.wg.Done()
	for {
		select {
		case d := <-q.ch:
			q.deliver(d)
			q.pending.Add(-1)
		case <-q.stop:
			return
		}
	}
}

func (q *webhookQueue) enqueue(ds []delivery) {
	for _, d := range ds {
		q.pending.Add(1)
		select {
		case q.ch <- d:
		case <-q.stop:
			q.pending.Add(-1)
			return
		}
	}
}

func (q *webhookQueue) deliver(d delivery) {
	if q.send(d) && d.duplicate {
		q.send(d)
	}
}

// send tries the delivery up to 1+retries times; true when a 2xx came back.
func (q *webhookQueue) send(d delivery) bool {
	for attempt := 0; attempt <= q.retries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(20<<attempt) * time.Millisecond):
			case <-q.stop:
				return false
			}
		}
		req, err := http.NewRequest(http.MethodPost, d.url, bytes.NewReader(d.body))
		if err != nil {
			return false // URLs are validated at registration; nothing to retry
		}
		req.Header.Set("Content-Type", "application/json; charset=utf-8")
		req.Header.Set("User-Agent", "Atlassian Webhook HTTP Client")
		req.Header.Set("X-Atlassian-Webhook-Identifier", d.identifier)
		if attempt > 0 {
			req.Header.Set("X-Atlassian-Webhook-Retry", strconv.Itoa(attempt))
		}
		if d.dynamic {
			req.Header.Set("Authorization", "Bearer "+signJWT(d.clientSecret, map[string]any{
				"iss": d.siteURL, "aud": d.clientID, "iat": time.Now().Unix(), "exp": time.Now().Add(5 * time.Minute).Unix(),
				"qsh": QueryStringHash(http.MethodPost, req.URL)}))
		} else if d.secret != "" {
			req.Header.Set("X-Hub-Signature", "sha256="+HubSignature(d.secret, d.body))
		}
		resp, err := q.client.Do(req)
		if err != nil {
			continue
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return true
		}
	}
	return false
}

// QueryStringHash is Atlassian's qsh claim for a request to u: the hex
// SHA-256 of "METHOD&path&query", the path without a trailing slash (and its
// '&' as %26), the query without jwt, sorted by key, each key's values sorted
// and joined with ',', keys and values percent-encoded as RFC 3986 says.
func QueryStringHash(method string, u *url.URL) string {
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	for len(path) > 1 && strings.HasSuffix(path, "/") {
		path = path[:len(path)-1]
	}
	path = strings.ReplaceAll(path, "&", "%26")
	q := u.Query()
	delete(q, "jwt")
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var pairs []string
	for _, k := range keys {
		vals := make([]string, 0, len(q[k]))
		for _, v := range q[k] {
			vals = append(vals, pctEncode(v))
		}
		slices.Sort(vals)
		pairs = append(pairs, pctEncode(k)+"="+strings.Join(vals, ","))
	}
	sum := sha256.Sum256([]byte(strings.ToUpper(method) + "&" + path + "&" + strings.Join(pairs, "&")))
	return hex.EncodeToString(sum[:])
}

// pctEncode escapes all but RFC 3986's unreserved characters (a space is %20).
func pctEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

// HubSignature is the hex HMAC-SHA256 of body keyed with secret, as sent in
// X-Hub-Signature after "sha256=".
func HubSignature(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return hex.EncodeToString(m.Sum(nil))
}

// signJWT builds an HS256 JWT (header.claims.signature, base64url unpadded).
func signJWT(secret string, claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "HS256", "typ": "JWT"})
	c, _ := json.Marshal(claims)
	signing := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(m.Sum(nil))
}

// VerifyJWT checks an HS256 token's signature and exp and returns its claims.
// Tests and receivers use it to check dynamic webhook deliveries.
func VerifyJWT(token, secret string) (map[string]any, error) {
	enc := base64.RawURLEncoding
	var parts [3]string
	n := 0
	start := 0
	for i := 0; i <= len(token); i++ {
		if i == len(token) || token[i] == '.' {
			if n == 3 {
				return nil, errors.New("jwt: too many segments")
			}
			parts[n] = token[start:i]
			n++
			start = i + 1
		}
	}
	if n != 3 {
		return nil, errors.New("jwt: want 3 segments")
	}
	var hdr map[string]any
	hb, err := enc.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &hdr) != nil || hdr["alg"] != "HS256" {
		return nil, errors.New("jwt: bad header")
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(parts[0] + "." + parts[1]))
	sig, err := enc.DecodeString(parts[2])
	if err != nil || !hmac.Equal(sig, m.Sum(nil)) {
		return nil, errors.New("jwt: bad signature")
	}
	var claims map[string]any
	cb, err := enc.DecodeString(parts[1])
	if err != nil || json.Unmarshal(cb, &claims) != nil {
		return nil, errors.New("jwt: bad claims")
	}
	if exp, ok := claims["exp"].(float64); !ok || time.Now().Unix() > int64(exp) {
		return nil, errors.New("jwt: expired or no exp")
	}
	return claims, nil
}

// SetWebhookJQLMatcher installs the JQL evaluator used for dynamic webhooks'
// filters (the REST layer owns JQL). f is called with the write lock held and
// must not take the world lock. With no matcher every issue matches.
func (w *World) SetWebhookJQLMatcher(f func(jql string, iss *SimIssue) bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.jqlMatch = f
}

// SetBaseURL records the simulator's public base URL for self links.
func (w *World) SetBaseURL(u string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.BaseURL = u
}

// RegisterWebhook adds a receiver and returns it with its new id. Events must
// be from WebhookEvents; URL must be absolute http(s). A dynamic webhook needs
// the OAuth client secret that signs its JWT.
func (w *World) RegisterWebhook(h Webhook) (*Webhook, error) {
	if err := validateWebhook(&h); err != nil {
		return nil, err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.nextWebhookID == 0 {
		w.nextWebhookID = 1
	}
	h.ID = w.nextWebhookID
	w.nextWebhookID++
	h.Events = slices.Clone(h.Events)
	w.Webhooks = append(w.Webhooks, &h)
	cp := h
	return &cp, nil
}

// DeleteWebhook removes a receiver; ErrNotFound when there is none.
func (w *World) DeleteWebhook(id int64) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for i, h := range w.Webhooks {
		if h.ID == id {
			w.Webhooks = slices.Delete(w.Webhooks, i, i+1)
			return nil
		}
	}
	return notFound("webhook", strconv.FormatInt(id, 10))
}

// ListWebhooks returns copies of the registered receivers.
func (w *World) ListWebhooks() []Webhook {
	w.mu.RLock()
	defer w.mu.RUnlock()
	out := make([]Webhook, 0, len(w.Webhooks))
	for _, h := range w.Webhooks {
		out = append(out, *h)
	}
	return out
}

// emit builds the deliveries of one event for every matching webhook and
// queues them on w.outbox; unlockAndDispatch sends them after the write lock
// is released. Caller holds the write lock. iss may be nil for user events.
func (w *World) emit(event string, payload map[string]any, iss *SimIssue) {
	if w.closed || len(w.Webhooks) == 0 {
		return
	}
	now := time.Now()
	payload["webhookEvent"] = event
	if _, ok := payload["timestamp"]; !ok {
		payload["timestamp"] = now.UnixMilli()
	}
	matches := func(h *Webhook) bool {
		if !slices.Contains(h.Events, event) {
			return false
		}
		if h.Dynamic {
			if !h.Expires.IsZero() && now.After(h.Expires) {
				return false
			}
			if h.JQLFilter != "" && iss != nil && w.jqlMatch != nil && !w.jqlMatch(h.JQLFilter, iss) {
				return false
			}
		}
		return true
	}
	// Admin webhooks: one delivery each. Dynamic: one per (app, URL) listing
	// the matched webhook ids.
	type dynKey struct{ client, url string }
	dyn := map[dynKey][]int64{}
	var dynOrder []dynKey
	var dynHook = map[dynKey]*Webhook{}
	var adminBody []byte
	for _, h := range w.Webhooks {
		if !matches(h) {
			continue
		}
		if h.Dynamic {
			k := dynKey{h.ClientID, h.URL}
			if _, seen := dyn[k]; !seen {
				dynOrder = append(dynOrder, k)
				dynHook[k] = h
			}
			dyn[k] = append(dyn[k], h.ID)
			continue
		}
		if adminBody == nil {
			adminBody, _ = json.Marshal(payload)
		}
		w.outbox = append(w.outbox, delivery{url: h.URL, secret: h.Secret, body: adminBody, identifier: w.nextIdentifier(), duplicate: w.dupRoll()})
	}
	for _, k := range dynOrder {
		p := make(map[string]any, len(payload)+1)
		for key, v := range payload {
			p[key] = v
		}
		p["matchedWebhookIds"] = dyn[k]
		body, _ := json.Marshal(p)
		h := dynHook[k]
		w.outbox = append(w.outbox, delivery{url: h.URL, dynamic: true, clientID: h.ClientID, clientSecret: h.ClientSecret,
			siteURL: w.BaseURL, body: body, identifier: w.nextIdentifier(), duplicate: w.dupRoll()})
	}
}

func (w *World) nextIdentifier() string {
	w.nextDeliveryID++
	return fmt.Sprintf("%d-%d", w.seed&0xffff, 1000000+w.nextDeliveryID)
}

// dupRoll decides, under the write lock, whether a delivery is sent twice.
func (w *World) dupRoll() bool {
	if w.DuplicateRate <= 0 {
		return false
	}
	if w.dupRand == nil {
		w.dupRand = rand.New(rand.NewPCG(uint64(w.seed), 0xd0b1e))
	}
	return w.dupRand.Float64() < w.DuplicateRate
}

// unlockAndDispatch releases the write lock and hands the queued deliveries to
// the workers (started on first use), so slow receivers never hold the lock.
func (w *World) unlockAndDispatch() {
	out := w.outbox
	w.outbox = nil
	var q *webhookQueue
	if len(out) > 0 && !w.closed {
		if w.hooks == nil {
			retries := w.WebhookRetries
			if retries <= 0 {
				retries = 3
			}
			w.hooks = newWebhookQueue(w.WebhookClient, retries)
		}
		q = w.hooks
	}
	w.mu.Unlock()
	if q != nil {
		q.enqueue(out)
	}
}

// FlushWebhooks waits until every queued delivery (with retries and
// duplicates) has been attempted, or ctx ends.
func (w *World) FlushWebhooks(ctx context.Context) error {
	w.mu.RLock()
	q := w.hooks
	w.mu.RUnlock()
	if q == nil {
		return nil
	}
	t := time.NewTicker(2 * time.Millisecond)
	defer t.Stop()
	for q.pending.Load() > 0 {
		select {
		case <-ctx.Done():
			return fmt.Errorf("flush webhooks: %d deliveries pending: %w", q.pending.Load(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// Close stops the delivery workers; deliveries not yet sent are dropped and
// later mutations send none. Safe to call more than once.
func (w *World) Close() {
	w.mu.Lock()
	q := w.hooks
	w.hooks = nil
	w.closed = true
	w.mu.Unlock()
	if q != nil {
		close(q.stop)
		q.wg.Wait()
	}
}

func validateWebhook(h *Webhook) error {
	u, err := url.Parse(h.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return invalid("url", "must be an absolute http(s) URL, got %q", h.URL)
	}
	if len(h.Events) == 0 {
		return invalid("events", "at least one event is required (%s)", strings.Join(WebhookEvents, ", "))
	}
	for _, e := range h.Events {
		if !slices.Contains(WebhookEvents, e) {
			return invalid("events", "unknown event %q (known: %s)", e, strings.Join(WebhookEvents, ", "))
		}
	}
	if h.Dynamic && h.ClientSecret == "" {
		return invalid("clientSecret", "a dynamic webhook needs the OAuth client secret that signs its JWT")
	}
	return nil
}
