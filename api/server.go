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
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Options wires the server. Only Keys is required; a nil component disables its
// routes (they answer 404), so the server can start before everything exists.
type Options struct {
	Addr         string // host:port; port 0 picks a free port
	TLSCertFile  string
	TLSKeyFile   string
	MaxBodyBytes int64 // default 1 MiB
	Logger       *slog.Logger
	Registry     *prometheus.Registry // default: a fresh registry with Go and process collectors

	Keys KeyStore // API key lookup (hashes only)
	// KeyRate is each key's request budget (requests/s and burst); default 20/s, burst 40.
	KeyRate  float64
	KeyBurst int

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
	// Runbook runs tickets (ingest, approvals, Slack and link decisions) and
	// Audit is the audit chain (GET /api/v1/audit…); nil disables their routes.
	Runbook *RunbookService
	Audit   *AuditChain
	// Cluster answers GET /api/v1/cluster (this replica, the leader, index
	// lag); nil answers 404.
	Cluster func(ctx context.Context) (ClusterStatus, error)
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
	s.handler = s.withRequestID(s.withRecover(s.withAccessLog(s.mux)))
}

// ServeHTTP lets tests and embedding code use the server without a listener.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Open starts listening and serving in the background.
func (s *Server) Open() error {
	ln, err := net.Listen("tcp", s.opts.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", s.opts.Addr, err)
	}
	s.http = &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
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
