package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"switchyard"
	"switchyard/api"
	"switchyard/config"
	"switchyard/connector"
	"switchyard/index"
	"switchyard/store"
	syncer "switchyard/sync"
)

func init() {
	register(command{
		name:    "serve",
		summary: "run the sync schedule and the HTTP server (JSON API, admin console, Jira webhooks, /metrics)",
		run:     runServe,
	})
}

// jiraObserver receives the connector clients' request metrics; serve sets it
// before any client is built (syncConnection passes it on).
var jiraObserver connector.Observer

// shutdownTimeout bounds how long serve waits for requests in flight and for
// the sync engine to commit its current page.
const shutdownTimeout = 30 * time.Second

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", "--config FILE [--addr HOST:PORT]", stderr)
	cfgPath := fs.String("config", "switchyard.yaml", "configuration file")
	addr := fs.String("addr", "", "HOST:PORT to listen on (default: server.addr of the config; port 0 picks a free port)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	cfg, err := loadConfigNoArgs("serve", pos, *cfgPath)
	if err != nil {
		return err
	}
	if *addr != "" {
		cfg.Server.Addr = *addr
	}
	logger := serveLogger(cfg.Log, stderr)

	reg := api.NewRegistry()
	jiraObserver = api.NewJiraMetrics(reg)

	names := connectionNames(cfg)
	// Everything logs through this handler, also code that logs through
	// slog.Default or the standard log package.
	restore := setDefaultLogger(logger)
	defer restore()
	env, err := openSyncEnv(cfg, "serve", names, nil, logger)
	if err != nil {
		return err
	}
	defer env.Close()
	env.idx.Source = syncer.NewPermissionSource(env.db)
	// A replica does this when it becomes leader (replica.leadership): the
	// running runs may be another replica's.
	if env.replica == nil {
		if n, err := env.db.InterruptRuns(ctx); err != nil {
			return err
		} else if n > 0 {
			logger.Warn("marked interrupted runs of an earlier process as failed", "runs", n)
		}
	}
	if err := bootstrapAdminKey(ctx, env.db, stdout, logger); err != nil {
		return err
	}

	rb, err := openRunbook(cfg, env, cfg.Server.BaseURL(), logger)
	if err != nil {
		return err
	}
	// Groups and roles the policies name must exist in the synced identity.
	if err := rb.svc.CheckPolicies(ctx); err != nil {
		rb.Close()
		return err
	}
	defer rb.Close()

	conns := make([]api.Connection, 0, len(cfg.Connections))
	for _, cc := range cfg.Connections {
		c, err := apiConnection(cc, env, logger)
		if err != nil {
			return err
		}
		conns = append(conns, c)
	}
	srv, err := api.New(api.Options{
		Addr: cfg.Server.Addr, TLSCertFile: cfg.Server.TLSCert, TLSKeyFile: cfg.Server.TLSKey,
		MaxBodyBytes: int64(cfg.Server.MaxBodyBytes), Logger: logger, Registry: reg,
		Store: env.db, Index: env.idx, Engine: env.eng, Connections: conns, PublicURL: cfg.Server.PublicURL, Cluster: clusterStatus(cfg, env),
		Runbook: rb.svc, Audit: rb.chain, AtlassianSignIn: signInOptions(cfg.Server.AtlassianSignIn),
		ReadHeaderTimeout: cfg.Server.ReadHeaderTimeout, ReadTimeout: cfg.Server.ReadTimeout,
		WriteTimeout: cfg.Server.WriteTimeout, IdleTimeout: cfg.Server.IdleTimeout,
		UnauthRate: cfg.Server.UnauthenticatedRequestsPerSecond, UnauthBurst: cfg.Server.UnauthenticatedBurst,
		TrustedProxies: cfg.Server.TrustedProxyPrefixes(),
		Ready: func(ctx context.Context) error {
			if err := env.db.Ping(ctx); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			return indexReady(ctx, env, *cfgPath)
		},
	})
	if err != nil {
		return err
	}

	engCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	replicaDone := make(chan struct{})
	if r := env.replica; r != nil {
		go func() {
			defer close(replicaDone)
			done := make(chan struct{})
			go func() { defer close(done); r.index.run(engCtx) }()
			r.el.Run(engCtx) // resigns when engCtx ends
			<-done
		}()
		logger.Info("replicated mode: campaigning for leadership", "replica", r.id, "lease", r.el.Lease())
	} else {
		close(replicaDone)
	}
	engDone := make(chan error, 1)
	go func() { engDone <- env.eng.Run(engCtx) }()
	rbDone := make(chan struct{})
	go func() {
		defer close(rbDone)
		if err := rb.svc.Run(engCtx); err != nil {
			logger.Error("runbook service", "err", err)
		}
	}()
	cpDone := make(chan struct{})
	go func() {
		defer close(cpDone)
		checkpointLoop(engCtx, cfg.Audit, rb.chain, logger)
	}()

	if err := srv.Open(); err != nil {
		stopEngine()
		<-engDone
		<-rbDone
		<-cpDone
		<-replicaDone
		return err
	}
	// Other commands on this data directory search and sync through serve.
	if err := env.serveControl(true, srv.URL(), logger); err != nil {
		logger.Warn("no control endpoint: search and sync commands on this data directory will fail while serve runs", "err", err)
	}
	fmt.Fprintf(stdout, "switchyard serving on %s\n", srv.URL())
	logger.Info("serving", "url", srv.URL(), "connections", strings.Join(names, ","))

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-engDone:
		engDone = nil
	}
	logger.Info("shutting down: finishing requests and the current sync page")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Close(sctx); err != nil {
		logger.Warn("http shutdown", "err", err)
	}
	stopEngine()
	if engDone != nil {
		select {
		case runErr = <-engDone:
		case <-sctx.Done():
			runErr = errors.New("the sync engine did not stop in time; the next start resumes from the last checkpoint")
		}
	}
	// The outbox is in the store: work cut short here resumes at the next
	// start (or on the next leader).
	rb.Close()
	<-rbDone
	<-cpDone
	<-replicaDone
	return runErr
}

// serveLogger logs JSON (or text) at the configured level.
func serveLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	return newLogger(c.Format, level, w)
}

// indexReady is the index part of readiness: a count, the CRC of each
// segment file (again only when it changed) and a verification read. A
// damaged index makes serve not ready, naming the file.
func indexReady(ctx context.Context, env *syncEnv, cfgPath string) error {
	if _, _, _, err := env.idx.Count(ctx, "readyz"); err != nil {
		return fmt.Errorf("index: %w", err)
	}
	if err := env.idx.Check(ctx); err != nil {
		if errors.Is(err, index.ErrCorrupt) {
			return fmt.Errorf("%w: stop switchyard and run `switchyard index rebuild --config %s`", err, cfgPath)
		}
		return fmt.Errorf("index: %w", err)
	}
	return nil
}

// newLogger is the one place a handler is built: format is log.format.
func newLogger(format string, level slog.Level, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// setDefaultLogger makes l the default slog logger (which also takes over
// the standard log package's output) and returns a func restoring the one
// before, so that tests calling run in one process do not leak it.
func setDefaultLogger(l *slog.Logger) func() {
	prev := slog.Default()
	slog.SetDefault(l)
	return func() { slog.SetDefault(prev) }
}

// bootstrapAdminKey gives a fresh store its first key: SWITCHYARD_ADMIN_KEY
// when set, otherwise a new one printed once.
func bootstrapAdminKey(ctx context.Context, db *store.DB, stdout io.Writer, logger *slog.Logger) error {
	keys, err := db.APIKeys(ctx)
	if err != nil {
		return err
	}
	if len(keys) > 0 {
		return nil
	}
	secret := os.Getenv("SWITCHYARD_ADMIN_KEY")
	k, secret2, err := db.CreateAPIKey(ctx, store.NewAPIKey{Name: "admin", Scopes: api.AllScopes, Secret: secret})
	if err != nil {
		if secret != "" {
			return fmt.Errorf("SWITCHYARD_ADMIN_KEY: %w", err)
		}
		return err
	}
	if secret != "" {
		logger.Info("imported the admin API key from SWITCHYARD_ADMIN_KEY", "key_id", k.ID, "prefix", k.Prefix)
		return nil
	}
	fmt.Fprintf(stdout, "admin API key (shown once, all scopes; store it now): %s\n", secret2)
	return nil
}

// apiConnection describes a configured connection to the API server.
func apiConnection(cc config.Connection, env *syncEnv, logger *slog.Logger) (api.Connection, error) {
	c := api.Connection{
		Name: cc.Name, Kind: cc.Kind, URL: cc.URL, Auth: cc.Auth.Type,
		WebhookSecret: cc.WebhookSecret.Value(), Filters: cc.Sync.Filters,
		SetPaused: func(p bool) { _ = env.eng.SetPaused(cc.Name, p) },
	}
	auth, err := syncAuth(cc, env.db)
	if err != nil {
		return c, fmt.Errorf("connections[%s].auth: %w", cc.Name, err)
	}
	mode := cc.Kind
	if mode == "" {
		mode = config.KindCloud
	}
	// A client of its own for the few calls the server makes (its account
	// id, dynamic webhooks); the sync's clients keep their own limiter.
	client, err := connector.New(connector.Options{
		Name: cc.Name, Mode: switchyard.Mode(mode), BaseURL: cc.URL, Auth: auth,
		RequestsPerSecond: 1, Concurrency: 1, Logger: logger, Observer: jiraObserver,
	})
	if err != nil {
		return c, fmt.Errorf("connections[%s]: %w", cc.Name, err)
	}
	c.Self = cachedAccount(client)
	if cc.Auth.Type == config.AuthOAuth {
		a := cc.Auth
		c.OAuth = &connector.OAuthConfig{
			ClientID: a.ClientID, ClientSecret: a.ClientSecret.Value(), RedirectURL: a.RedirectURL, Scopes: a.Scopes,
			AuthURL: a.AuthURL, TokenURL: a.TokenURL, ResourcesURL: a.ResourcesURL, APIGatewayURL: a.APIGatewayURL,
		}
		c.OAuthClientSecret = a.ClientSecret.Value()
		c.OAuthClientID = a.ClientID
		c.Webhooks = client
	}
	return c, nil
}

// cachedAccount asks Jira once who the integration is (retrying after a failure).
func cachedAccount(c *connector.Client) func(ctx context.Context) (connector.Identity, error) {
	var mu sync.Mutex
	var id connector.Identity
	return func(ctx context.Context) (connector.Identity, error) {
		mu.Lock()
		defer mu.Unlock()
		if !id.Empty() {
			return id, nil
		}
		u, err := c.Self(ctx)
		if err != nil {
			return connector.Identity{}, err
		}
		id = u
		return id, nil
	}
}

// signInOptions is the console's "Sign in with Atlassian", or nil when
// server.atlassian_signin is not set.
func signInOptions(a config.AtlassianSignIn) *api.AtlassianSignIn {
	if !a.Enabled() {
		return nil
	}
	return &api.AtlassianSignIn{ClientID: a.ClientID, ClientSecret: a.ClientSecret.Value(), AuthURL: a.AuthURL,
		TokenURL: a.TokenURL, MeURL: a.MeURL, RedirectURL: a.RedirectURL}
}
