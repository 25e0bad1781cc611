// Package api is the HTTP server: the JSON API under /api/v1, the admin
// console, Jira webhooks, /metrics and the health endpoints. It depends on every
// other package and none depends on it; what it needs from them it states as
// small interfaces in this package.
package api

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options wires the server. Only Keys is required; a nil component disables its
// routes (they answer 404), so the server can start before everything exists.
type Options struct {
	Addr string // host:port; port 0 picks a free port
	// Listener, when set, is served instead of listening on Addr: a caller
	// that had to know the port early keeps it bound until Open.
	Listener     net.Listener
	TLSCertFile  string
	TLSKeyFile   string
	MaxBodyBytes int64 // default 1 MiB
	Logger       *slog.Logger
	Registry     *prometheus.Registry // default: a fresh registry with Go and process collectors

	Keys KeyStore // API key lookup (hashes only)
	// KeyRate is each key's request budget (requests/s and burst); default 20/s, burst 40.
	KeyRate  float64
	KeyBurst int
	// UnauthRate is each client address's budget for requests without a valid
	// credential (requests/s and burst); default 10/s, burst 50.
	UnauthRate  float64
	UnauthBurst int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names the
	// client for that budget; without them the peer address counts.
	TrustedProxies []netip.Prefix

	// Connection deadlines, so that a trickled request or an idle keep-alive
	// cannot hold a connection forever: ReadHeaderTimeout (default 10s) for
	// the request line and headers, ReadTimeout (default 30s) for the whole
	// request with its body, WriteTimeout (default 60s) from the end of the
	// headers to the end of the answer, IdleTimeout (default 120s) between
	// requests on a keep-alive connection.
	ReadHeaderTimeout time.Duration
	ReadTimeout       time.Duration
	WriteTimeout      time.Duration
	IdleTimeout       time.Duration

	Ready func(ctx context.Context) error // readiness: store and index open

	// The components behind the API. A nil one disables its routes (404).
	Store       Store  // keys, tokens, OAuth state, webhook de-duplication, connection state
	Index       Index  // search
	Engine      Engine // sync trigger, status, filters, webhook refresh
	Connections []Connection
	// PublicURL is how browsers and Jira reach the server (OAuth redirects,
	// dynamic webhook callbacks); default: the listener's URL.
	PublicURL string
	// WebhookQueue bounds the webhook refresh queue (default 256); when it is
	// full a delivery falls back to a coalesced incremental sync.
	WebhookQueue   int
	WebhookWorkers int // default 2
	// SessionTTL is how long a console sign-in lasts (default 12h).
	SessionTTL time.Duration
	// AtlassianSignIn enables the console's "Sign in with Atlassian", the
	// only console sign-in that may decide approvals; nil = off.
	AtlassianSignIn *AtlassianSignIn
	// Runbook runs tickets (ingest, approvals, Slack and link decisions) and
	// Audit is the audit chain (GET /api/v1/audit…); nil disables their routes.
	Runbook *RunbookService
	Audit   *AuditChain
	// Cluster answers GET /api/v1/cluster (this replica, the leader, index
	// lag); nil answers 404.
	Cluster func(ctx context.Context) (ClusterStatus, error)
}

// Defaults of the connection deadlines and the unauthenticated budget.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	DefaultReadTimeout       = 30 * time.Second
	DefaultWriteTimeout      = 60 * time.Second
	DefaultIdleTimeout       = 120 * time.Second
	DefaultUnauthRate        = 10
	DefaultUnauthBurst       = 50
)

// slowAnswerTimeout is the write deadline of the few answers that may take
// long (purging a connection's data), instead of WriteTimeout.
const slowAnswerTimeout = 15 * time.Minute

// allowSlowAnswer moves the connection's write deadline for such an answer.
func allowSlowAnswer(w http.ResponseWriter) {
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(slowAnswerTimeout))
}

// Server is the HTTP server. Lifecycle: New, Open, Close.
type Server struct {
	opts     Options
	logger   *slog.Logger
	mux      *http.ServeMux
	handler  http.Handler
	http     *http.Server
	ln       net.Listener
	scheme   string
	metrics  *metrics
	limiters *keyLimiters
	ipLimits *ipLimiters

	apiRoutes map[string]map[string]http.HandlerFunc // path → method → handler, see api()
	// publicRoutes are API routes without keys ("METHOD /path"), see public().
	publicRoutes []string

	conns     map[string]*Connection
	connNames []string // sorted
	hooks     *webhookQueue
	sessions  *sessions
	poke      chan struct{} // wakes the dynamic webhook registrar after a connect

	bg       sync.WaitGroup // webhook workers and the dynamic webhook refresher
	bgCancel context.CancelFunc
}

// New builds a server; routes are registered here, nothing listens until Open.
func New(opts Options) (*Server, error) {
	if opts.Keys == nil && opts.Store != nil {
		opts.Keys = opts.Store
	}
	if opts.Keys == nil {
		return nil, errors.New("api: a key store is required")
	}
	if opts.WebhookQueue <= 0 {
		opts.WebhookQueue = 256
	}
	if opts.WebhookWorkers <= 0 {
		opts.WebhookWorkers = 2
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = 1 << 20
	}
	if opts.KeyRate <= 0 {
		opts.KeyRate = 20
	}
	if opts.KeyBurst <= 0 {
		opts.KeyBurst = 40
	}
	if opts.UnauthRate <= 0 {
		opts.UnauthRate = DefaultUnauthRate
	}
	if opts.UnauthBurst <= 0 {
		opts.UnauthBurst = DefaultUnauthBurst
	}
	for _, d := range []struct {
		v   *time.Duration
		def time.Duration
	}{{&opts.ReadHeaderTimeout, DefaultReadHeaderTimeout}, {&opts.ReadTimeout, DefaultReadTimeout},
		{&opts.WriteTimeout, DefaultWriteTimeout}, {&opts.IdleTimeout, DefaultIdleTimeout}} {
		if *d.v <= 0 {
			*d.v = d.def
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Registry == nil {
		opts.Registry = NewRegistry()
	}
	s := &Server{
		opts:     opts,
		logger:   opts.Logger,
		mux:      http.NewServeMux(),
		metrics:  newMetrics(opts.Registry),
		limiters: newKeyLimiters(opts.KeyRate, opts.KeyBurst),
		ipLimits: newIPLimiters(opts.UnauthRate, opts.UnauthBurst),
		conns:    map[string]*Connection{},
		hooks:    newWebhookQueue(opts.WebhookQueue),
		sessions: newSessions(opts.SessionTTL),
		poke:     make(chan struct{}, 1),
	}
	for i := range opts.Connections {
		c := &opts.Connections[i]
		if _, dup := s.conns[c.Name]; dup {
			return nil, fmt.Errorf("api: duplicate connection %q", c.Name)
		}
		s.conns[c.Name] = c
		s.connNames = append(s.connNames, c.Name)
	}
	sort.Strings(s.connNames)
	if opts.Engine != nil {
		opts.Registry.MustRegister(newSyncCollector(s))
	}
	s.mount()
	return s, nil
}

// mount (re)builds the route table and the middleware chain around it.
func (s *Server) mount() {
	s.mux = http.NewServeMux()
	s.routes()
	s.handler = s.withRequestID(s.withSecurityHeaders(s.withRecover(s.withAccessLog(s.withIPLimit(s.mux)))))
}

// ServeHTTP lets tests and embedding code use the server without a listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Open starts listening and serving in the background.
func (s *Server) Open() error {
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.opts.Addr); err != nil {
			return fmt.Errorf("listen on %s: %w", s.opts.Addr, err)
		}
	}
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: s.opts.ReadHeaderTimeout,
		ReadTimeout:       s.opts.ReadTimeout,
		WriteTimeout:      s.opts.WriteTimeout,
		IdleTimeout:       s.opts.IdleTimeout,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
	}
	if s.opts.TLSCertFile != "" || s.opts.TLSKeyFile != "" {
		cert, err := tls.LoadX509KeyPair(s.opts.TLSCertFile, s.opts.TLSKeyFile)
		if err != nil {
			ln.Close()
			return fmt.Errorf("load TLS certificate %s and key %s: %w", s.opts.TLSCertFile, s.opts.TLSKeyFile, err)
		}
		s.http.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
		ln = tls.NewListener(ln, s.http.TLSConfig)
	}
	s.ln = ln
	s.scheme = "http"
	if s.http.TLSConfig != nil {
		s.scheme = "https" // read by URL; the TLS config itself is http's after Serve starts
	}
	if err := s.start(); err != nil {
		ln.Close()
		return err
	}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("http server stopped", "err", err)
		}
	}()
	return nil
}

// URL is the base URL the server listens on (after Open).
func (s *Server) URL() string {
	if s.ln == nil {
		return ""
	}
	return s.scheme + "://" + s.ln.Addr().String()
}

// Close stops accepting requests and waits (bounded by ctx) for those in flight.
func (s *Server) Close(ctx context.Context) error {
	if s.http == nil {
		return nil
	}
	err := s.http.Shutdown(ctx)
	s.stop()
	return err
}
