// Package connector is Switchyard's Jira REST client: authentication (API
// token, basic, Data Center PAT, OAuth 2.0 3LO with rotating refresh tokens),
// one rate limiter and retry policy per site, pagination, and typed calls that
// return the root domain types. It builds go-jira's client on its own
// *http.Client, whose transport does auth, pacing and retries, and uses
// go-jira's NewRequest/Do for the v3 endpoints go-jira lacks.
package connector

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	jira "github.com/andygrunwald/go-jira"

	"switchyard"
)

// Defaults for Options.
const (
	DefaultRequestsPerSecond  = 10
	DefaultConcurrency        = 4
	DefaultMaxRetries         = 6
	DefaultRetryBaseDelay     = 500 * time.Millisecond
	DefaultRetryMaxDelay      = 60 * time.Second
	DefaultMaxAttachmentBytes = 25 << 20
)

// Options configures a Client. One Client serves one Jira site and is shared
// by all of that site's workers.
type Options struct {
	Name    string          // connection nickname, used in logs, metrics and the OAuth token store
	Mode    switchyard.Mode // cloud | datacenter
	BaseURL string          // site URL, e.g. https://acme.atlassian.net (OAuth calls go through the API gateway)
	Auth    Auth

	RequestsPerSecond  float64       // default 10
	Concurrency        int           // requests in flight at once, default 4
	MaxRetries         int           // retries after the first attempt, default 6; -1 disables retries
	RetryBaseDelay     time.Duration // first back-off step, default 500ms
	RetryMaxDelay      time.Duration // back-off cap, default 60s (also caps Retry-After)
	HTTPClient         *http.Client  // its Transport is used below the connector's own; default http.DefaultTransport
	Logger             *slog.Logger
	MaxAttachmentBytes int64    // default 25 MiB
	Observer           Observer // optional request/429/retry counters
	CustomFields       []string // extra custom field ids to fetch (user/group pickers)
	// PageSize caps every page request below each endpoint's own maximum
	// (default: the maximum). Small pages suit sites that time out on large
	// ones, and tests that must cross many pages.
	PageSize int
}

// Observer receives one call per HTTP attempt and one per retry wait. The API
// package turns it into Prometheus metrics. Endpoint is a path template such as
// "GET /rest/api/3/issue/{issueIdOrKey}", never a concrete URL with secrets.
type Observer interface {
	ObserveRequest(connection, endpoint string, status int, took time.Duration)
	ObserveRetry(connection, endpoint string, attempt int, wait time.Duration, reason string)
}

// Client talks to one Jira site.
type Client struct {
	opts    Options
	log     *slog.Logger
	http    *http.Client
	lim     *limiter
	clock   clock
	siteURL string // without trailing slash

	mu   sync.Mutex
	jira *jira.Client // built lazily for OAuth (needs the cloud id)
	base string       // API base URL the jira client was built on
	host string       // host auth is sent to (never to redirect targets elsewhere)

	names  sync.Map // account id → display name, for ADF mentions
	dcKeys sync.Map // Data Center: lower-case username → user key

	noUserList atomic.Bool // Data Center before 10.3: no /rest/api/2/user/list

	cfMu    sync.Mutex
	learned []string  // custom field ids referenced by grants and levels
	jsm     JSMFields // JSM field ids, once DiscoverJSMFields ran (jsm.go)
}

// remember records a display name seen in any answer, so that mentions in
// ADF bodies render as names.
func (c *Client) remember(u *userRef) {
	if u != nil && u.DisplayName != "" {
		if id := u.id(); id != "" {
			c.names.Store(id, u.DisplayName)
		}
	}
}

// apiHost is the host credentials may be sent to.
func (c *Client) apiHost() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.host
}

func (c *Client) displayName(accountID string) string {
	if v, ok := c.names.Load(accountID); ok {
		return v.(string)
	}
	return ""
}

// New validates opts and returns a Client. It does no network I/O: OAuth
// clients resolve their cloud id on first use.
func New(opts Options) (*Client, error) {
	if opts.Mode == "" {
		opts.Mode = switchyard.ModeCloud
	}
	if opts.Mode != switchyard.ModeCloud && opts.Mode != switchyard.ModeDataCenter {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "mode", "must be cloud or datacenter, not %q", opts.Mode)
	}
	u, err := url.Parse(opts.BaseURL)
	if opts.BaseURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "base_url", "must be an absolute http(s) URL, not %q", opts.BaseURL)
	}
	if err := opts.Auth.validate(opts.Mode); err != nil {
		return nil, err
	}
	if opts.RequestsPerSecond == 0 {
		opts.RequestsPerSecond = DefaultRequestsPerSecond
	}
	if opts.RequestsPerSecond < 0 {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "requests_per_second", "must be positive, not %v", opts.RequestsPerSecond)
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.Concurrency < 0 || opts.Concurrency > 256 {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "concurrency", "must be between 1 and 256, not %d", opts.Concurrency)
	}
	switch {
	case opts.MaxRetries == 0:
		opts.MaxRetries = DefaultMaxRetries
	case opts.MaxRetries == -1:
		opts.MaxRetries = 0
	case opts.MaxRetries < -1 || opts.MaxRetries > 100:
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "max_retries", "must be between 0 and 100 (-1 for none), not %d", opts.MaxRetries)
	}
	if opts.RetryBaseDelay == 0 {
		opts.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if opts.RetryMaxDelay == 0 {
		opts.RetryMaxDelay = DefaultRetryMaxDelay
	}
	if opts.RetryBaseDelay < 0 {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "retry_base_delay", "must be positive, not %v", opts.RetryBaseDelay)
	}
	if opts.RetryMaxDelay < opts.RetryBaseDelay {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "retry_max_delay", "must be at least retry_base_delay (%v), not %v", opts.RetryBaseDelay, opts.RetryMaxDelay)
	}
	if opts.MaxAttachmentBytes == 0 {
		opts.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if opts.MaxAttachmentBytes < 0 {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "max_attachment_bytes", "must be positive, not %d", opts.MaxAttachmentBytes)
	}
	if opts.PageSize < 0 {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "page_size", "must not be negative, not %d", opts.PageSize)
	}
	if opts.Name == "" {
		opts.Name = u.Host
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}

	c := &Client{
		opts:    opts,
		log:     opts.Logger.With("connection", opts.Name),
		clock:   realClock{},
		siteURL: strings.TrimRight(opts.BaseURL, "/"),
	}
	c.lim = newLimiter(opts.RequestsPerSecond, opts.Concurrency)

	// Default transport: enough idle connections for every worker (the
	// stdlib keeps 2 per host, which would churn connections), and a bound
	// on waiting for response headers so a hung site cannot stall a worker.
	dt := http.DefaultTransport.(*http.Transport).Clone()
	dt.MaxIdleConnsPerHost = opts.Concurrency
	dt.ResponseHeaderTimeout = 2 * time.Minute
	var base http.RoundTripper = dt
	hc := &http.Client{}
	if opts.HTTPClient != nil {
		*hc = *opts.HTTPClient // keep its timeout, jar, redirect policy
		if opts.HTTPClient.Transport != nil {
			base = opts.HTTPClient.Transport
		}
	}
	hc.Transport = &transport{c: c, base: base}
	c.http = hc

	if opts.Auth.Type == AuthOAuth {
		c.opts.Auth.oauth = newOAuthSource(opts.Auth, opts.Name, c.baseHTTP())
	} else {
		if _, err := c.api(context.Background()); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// Name is the connection nickname.
func (c *Client) Name() string { return c.opts.Name }

// Mode is cloud or datacenter.
func (c *Client) Mode() switchyard.Mode { return c.opts.Mode }

// SiteURL is the Jira site's browse URL base (no trailing slash).
func (c *Client) SiteURL() string { return c.siteURL }

// HTTPClient is the client every call goes through (auth, limits, retries).
func (c *Client) HTTPClient() *http.Client { return c.http }

// page is the page size to ask for on an endpoint that allows at most max.
func (c *Client) page(max int) int {
	if c.opts.PageSize > 0 && c.opts.PageSize < max {
		return c.opts.PageSize
	}
	return max
}

func (c *Client) dc() bool { return c.opts.Mode == switchyard.ModeDataCenter }

// baseHTTP is a plain client on the caller's transport, for the OAuth
// authorization server (which must not go through the API transport's auth).
func (c *Client) baseHTTP() *http.Client {
	hc := &http.Client{Timeout: 60 * time.Second}
	if c.opts.HTTPClient != nil {
		*hc = *c.opts.HTTPClient
	}
	return hc
}

// api returns the go-jira client, building it on first use. OAuth connections
// call {APIGatewayURL}/ex/jira/{cloudId}, so they need the cloud id first.
func (c *Client) api(ctx context.Context) (*jira.Client, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.jira != nil {
		return c.jira, nil
	}
	base := c.siteURL
	if c.opts.Auth.Type == AuthOAuth {
		id, err := c.opts.Auth.oauth.cloudID(ctx, c.siteURL)
		if err != nil {
			return nil, err
		}
		base = gatewayBase(c.opts.Auth.OAuth.apiGatewayURL(), id)
	}
	jc, err := jira.NewClient(c.http, base+"/")
	if err != nil {
		return nil, fmt.Errorf("jira client for %s: %w", base, err)
	}
	c.jira, c.base = jc, base
	if u, err := url.Parse(base); err == nil {
		c.host = u.Host
	}
	return jc, nil
}

// gatewayBase is the API base of an OAuth connection: {gateway}/ex/jira/{cloudId}.
// A gateway URL given with its /ex/jira already (as api.atlassian.com's
// documentation writes it) is not doubled.
func gatewayBase(gateway, cloudID string) string {
	g := strings.TrimRight(gateway, "/")
	g = strings.TrimSuffix(g, "/ex/jira")
	return g + "/ex/jira/" + url.PathEscape(cloudID)
}

// call is one API operation: its template name for logs and metrics, and
// whether a POST may be repeated safely.
type call struct {
	endpoint   string // e.g. "POST /rest/api/3/search/jql"
	idempotent bool
	stream     bool // body handed to the caller unread (attachment content)
}

type callKey struct{}

func withCall(ctx context.Context, k call) context.Context {
	return context.WithValue(ctx, callKey{}, k)
}

func callFrom(ctx context.Context, r *http.Request) call {
	if k, ok := ctx.Value(callKey{}).(call); ok {
		return k
	}
	return call{endpoint: r.Method + " " + r.URL.Path}
}

// do sends one request through go-jira and decodes the JSON answer into v
// (when v is non-nil). path is relative to the API base, context path
// included (go-jira joins it below the base). Non-2xx statuses become errors
// wrapping the shared sentinels, naming the URL really requested.
func (c *Client) do(ctx context.Context, k call, method, path string, body, v any) error {
	jc, err := c.api(ctx)
	if err != nil {
		return err
	}
	req, err := jc.NewRequestWithContext(withCall(ctx, k), method, path, body)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Accept", "application/json")
	target := redactURL(req.URL)
	resp, err := jc.Do(req, v)
	if resp != nil && resp.Response != nil && (resp.StatusCode < 200 || resp.StatusCode > 299) {
		return statusError(method, target, resp.Response)
	}
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		if resp != nil && resp.Response != nil && errors.Is(err, io.EOF) {
			return nil // 2xx with an empty body (201/204)
		}
		if resp != nil && resp.Response != nil {
			return fmt.Errorf("%s %s: decode response: %w", method, target, err)
		}
		return fmt.Errorf("%s %s: %w", method, target, err)
	}
	return nil
}
