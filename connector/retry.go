package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// transport is the connector's http.RoundTripper: for each attempt it waits
// for the site's limiter, adds auth, sends, and reads the whole body so that a
// truncated response is detected (and retried) here rather than in a JSON
// decoder later. Only idempotent calls are retried.
type transport struct {
	c    *Client
	base http.RoundTripper
}

// idempotent reports whether a request may be sent again after a failure
// whose effect is unknown.
func idempotent(method string, k call) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return k.idempotent
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	c := t.c
	ctx := req.Context()
	k := callFrom(ctx, req)
	retryable := idempotent(req.Method, k)
	maxAttempts := c.opts.MaxRetries + 1
	if !retryable {
		maxAttempts = 1
	}
	reauthed := false
	var lastErr error
	rateLimited := 0
	attempt := 0
	for {
		attempt++
		resp, err := t.attempt(ctx, req, k)
		var wait time.Duration
		var reason string
		switch {
		case err != nil:
			if ctx.Err() != nil {
				return nil, fmt.Errorf("%s: %w", k.endpoint, ctx.Err())
			}
			var ae *authError
			if errors.As(err, &ae) {
				return nil, err // token refresh failed; retrying the API call cannot help
			}
			lastErr = err
			reason = "network"
			wait = c.backoff(attempt)
		case resp.StatusCode == http.StatusUnauthorized && c.opts.Auth.Type == AuthOAuth && !reauthed:
			// The access token was revoked or expired early: refresh once and
			// resend. Jira did not process the request, so this is safe even
			// for a POST.
			reauthed = true
			c.opts.Auth.oauth.invalidate(bearer(resp.Request))
			drain(resp)
			attempt--
			continue
		case resp.StatusCode == http.StatusTooManyRequests || (resp.StatusCode == http.StatusServiceUnavailable && hasRetryHint(resp.Header)):
			reason = strconv.Itoa(resp.StatusCode)
			if resp.StatusCode == http.StatusTooManyRequests {
				rateLimited++
				lastErr = switchyard.Errorf(switchyard.ErrRateLimited, "rate limited (HTTP 429%s)", rateReason(resp.Header))
			} else {
				lastErr = fmt.Errorf("service unavailable (HTTP 503)")
			}
			wait = c.retryAfter(resp.Header, attempt)
			// Every worker of this site waits, not just this one.
			c.lim.pause(c.clock.Now().Add(wait))
			drain(resp)
		case resp.StatusCode >= 500:
			reason = strconv.Itoa(resp.StatusCode)
			lastErr = fmt.Errorf("server error (HTTP %d)", resp.StatusCode)
			if ra := c.retryAfter(resp.Header, 0); ra > 0 && hasRetryHint(resp.Header) {
				wait = ra
			} else {
				wait = c.backoff(attempt)
			}
			drain(resp)
		default:
			return resp, nil
		}
		if attempt >= maxAttempts {
			if rateLimited > 0 && !errors.Is(lastErr, switchyard.ErrRateLimited) {
				lastErr = fmt.Errorf("%w (%d of the attempts were rate limited)", lastErr, rateLimited)
			}
			return nil, giveUp(req.Method, k, attempt, retryable, lastErr)
		}
		c.log.Debug("jira retry", "endpoint", k.endpoint, "attempt", attempt, "wait", wait, "reason", reason)
		if o := c.opts.Observer; o != nil {
			o.ObserveRetry(c.opts.Name, k.endpoint, attempt, wait, reason)
		}
		if err := c.clock.Sleep(ctx, wait); err != nil {
			return nil, fmt.Errorf("%s: %w (after %d attempts: %v)", k.endpoint, err, attempt, lastErr)
		}
	}
}

// giveUp builds the error returned when a call is abandoned: what failed and
// how many attempts were made.
func giveUp(method string, k call, attempts int, retryable bool, last error) error {
	if !retryable {
		return fmt.Errorf("%s: not retried (%s is not idempotent): %w", k.endpoint, method, last)
	}
	return fmt.Errorf("%s: gave up after %d attempts: %w", k.endpoint, attempts, last)
}

// attempt sends the request once. Unless the call streams, the body is read
// completely inside the attempt; a short read becomes an error.
func (t *transport) attempt(ctx context.Context, req *http.Request, k call) (*http.Response, error) {
	c := t.c
	release, err := c.lim.acquire(ctx, c.clock)
	if err != nil {
		return nil, err
	}
	r := req.Clone(ctx)
	if req.Body != nil && req.GetBody != nil {
		b, err := req.GetBody()
		if err != nil {
			release()
			return nil, fmt.Errorf("%s: rewind body: %w", k.endpoint, err)
		}
		r.Body = b
	}
	// Credentials go only to the API host: Cloud answers attachment content
	// with a redirect to a media host that must not receive them.
	if h := c.apiHost(); h == "" || r.URL.Host == h {
		if err := c.opts.Auth.apply(ctx, r); err != nil {
			release()
			return nil, err
		}
	} else {
		r.Header.Del("Authorization")
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		release()
		c.observe(k, 0, time.Since(start))
		return nil, fmt.Errorf("%s: %w", k.endpoint, err)
	}
	if k.stream && resp.StatusCode >= 200 && resp.StatusCode < 300 {
		// The caller reads the body; hold the concurrency slot until it closes.
		resp.Body = &releaseBody{ReadCloser: resp.Body, release: release}
		c.observe(k, resp.StatusCode, time.Since(start))
		return resp, nil
	}
	defer release()
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	c.observe(k, resp.StatusCode, time.Since(start))
	if err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, fmt.Errorf("%s: truncated response body (HTTP %d, read %d bytes): %w", k.endpoint, resp.StatusCode, len(body), err)
		}
		return nil, fmt.Errorf("%s: read response body: %w", k.endpoint, err)
	}
	if resp.ContentLength >= 0 && int64(len(body)) != resp.ContentLength {
		return nil, fmt.Errorf("%s: truncated response body (HTTP %d, %d of %d bytes): %w", k.endpoint, resp.StatusCode, len(body), resp.ContentLength, io.ErrUnexpectedEOF)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	return resp, nil
}

func (c *Client) observe(k call, status int, took time.Duration) {
	if o := c.opts.Observer; o != nil {
		o.ObserveRequest(c.opts.Name, k.endpoint, status, took)
	}
}

type releaseBody struct {
	io.ReadCloser
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}

func drain(resp *http.Response) {
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}

// backoff is exponential with full jitter: a random wait in [0, min(cap, base·2^(n-1))].
func (c *Client) backoff(attempt int) time.Duration {
	d := c.opts.RetryBaseDelay
	for i := 1; i < attempt && d < c.opts.RetryMaxDelay; i++ {
		d *= 2
	}
	if d > c.opts.RetryMaxDelay {
		d = c.opts.RetryMaxDelay
	}
	if d <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(d) + 1))
}

// retryAfter is how long the site asked us to wait: Retry-After (seconds or
// an HTTP date), else X-RateLimit-Reset (an ISO 8601 instant), else the
// exponential back-off for this attempt. It never exceeds RetryMaxDelay.
// attempt 0 means "hint only": 0 when there is no hint.
func (c *Client) retryAfter(h http.Header, attempt int) time.Duration {
	now := c.clock.Now()
	d, ok := parseRetryAfter(h.Get("Retry-After"), now)
	if !ok {
		d, ok = parseReset(h.Get("X-RateLimit-Reset"), now)
	}
	if !ok {
		if attempt == 0 {
			return 0
		}
		return c.backoff(attempt)
	}
	if d <= 0 {
		// The instant has passed yet we were limited again: back off.
		if attempt == 0 {
			return 0
		}
		return c.backoff(attempt)
	}
	if d > c.opts.RetryMaxDelay {
		d = c.opts.RetryMaxDelay
	}
	return d
}

func hasRetryHint(h http.Header) bool {
	return h.Get("Retry-After") != "" || h.Get("X-RateLimit-Reset") != ""
}

func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n >= 0 {
		return time.Duration(n * float64(time.Second)), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return t.Sub(now), true
	}
	return 0, false
}

// parseReset reads X-RateLimit-Reset. Jira Cloud documents an ISO 8601
// instant ("yyyy-MM-ddTHH:mmZ"); some proxies send epoch seconds.
func parseReset(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04Z07:00", "2006-01-02T15:04:05.000Z0700", "2006-01-02T15:04Z0700"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Sub(now), true
		}
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil && n > 1_000_000_000 {
		return time.Unix(n, 0).Sub(now), true
	}
	return 0, false
}

func rateReason(h http.Header) string {
	if r := h.Get("RateLimit-Reason"); r != "" {
		return ", " + r
	}
	return ""
}

// statusError maps a non-2xx response to an error wrapping the shared
// sentinel, naming the method and path and quoting Jira's own message.
func statusError(method, path string, resp *http.Response) error {
	var kind error
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		kind = switchyard.ErrUnauthorized
	case http.StatusForbidden:
		kind = switchyard.ErrForbidden
	case http.StatusNotFound:
		kind = switchyard.ErrNotFound
	case http.StatusGone:
		kind = ErrGone
	case http.StatusConflict:
		kind = switchyard.ErrConflict
	case http.StatusTooManyRequests:
		kind = switchyard.ErrRateLimited
	case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
		kind = switchyard.ErrInvalid
	}
	msg := jiraMessage(resp)
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path = path[:i]
	}
	text := fmt.Sprintf("%s %s: HTTP %d", method, path, resp.StatusCode)
	if msg != "" {
		text += ": " + msg
	}
	if kind == nil {
		return errors.New(text)
	}
	return &switchyard.Error{Kind: kind, Message: text}
}

// ErrGone is HTTP 410: the endpoint was removed (Jira Cloud's old
// /rest/api/{2,3}/search). It is not ErrNotFound, so nobody mistakes it for a
// deleted issue.
var ErrGone = errors.New("endpoint removed")

// jiraMessage extracts Jira's error text (errorMessages, errors) from a
// buffered error body, bounded so a large HTML page cannot flood a log line.
func jiraMessage(resp *http.Response) string {
	if resp.Body == nil {
		return ""
	}
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var je struct {
		ErrorMessages []string          `json:"errorMessages"`
		Errors        map[string]string `json:"errors"`
		Message       string            `json:"message"`
	}
	var parts []string
	if json.Unmarshal(b, &je) == nil {
		parts = append(parts, je.ErrorMessages...)
		keys := make([]string, 0, len(je.Errors))
		for k := range je.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			parts = append(parts, k+": "+je.Errors[k])
		}
		if je.Message != "" {
			parts = append(parts, je.Message)
		}
	}
	msg := strings.Join(parts, "; ")
	if msg == "" && !bytes.HasPrefix(bytes.TrimSpace(b), []byte("<")) {
		msg = strings.TrimSpace(string(b))
	}
	if len(msg) > 300 {
		msg = msg[:300] + "…"
	}
	return msg
}
