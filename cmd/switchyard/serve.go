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
	env, err := openSyncEnv(cfg, names, nil)
	if err != nil {
		return err
	}
	defer env.Close()
	env.idx.Source = syncer.NewPermissionSource(env.db)
	if n, err := env.db.InterruptRuns(ctx); err != nil {
		return err
	} else if n > 0 {
		logger.Warn("marked interrupted runs of an earlier process as failed", "runs", n)
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
		Store: env.db, Index: env.idx, Engine: env.eng, Connections: conns, PublicURL: cfg.Server.PublicURL,
		Runbook: rb.svc, Audit: rb.chain, AtlassianSignIn: signInOptions(cfg.Server.AtlassianSignIn),
		Ready: func(ctx context.Context) error {
			if err := env.db.Ping(ctx); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			if _, _, _, err := env.idx.Count(ctx, "readyz"); err != nil {
				return fmt.Errorf("index: %w", err)
			}
			return nil
		},
	})
	if err != nil {
		return err
	}

	engCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
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
		return err
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
	// The outbox is in SQLite: work cut short here resumes at the next start.
	rb.Close()
	<-rbDone
	<-cpDone
	return runErr
}

// serveLogger logs JSON (or text) at the configured level.
func serveLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil {
		level = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
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
	c.Account = cachedAccount(client)
	if cc.Auth.Type == config.AuthOAuth {
		a := cc.Auth
		c.OAuth = &connector.OAuthConfig{
			ClientID: a.ClientID, ClientSecret: a.ClientSecret.Value(), RedirectURL: a.RedirectURL, Scopes: a.Scopes,
			AuthURL: a.AuthURL, TokenURL: a.TokenURL, ResourcesURL: a.ResourcesURL, APIGatewayURL: a.APIGatewayURL,
		}
		c.OAuthClientSecret = a.ClientSecret.Value()
		c.Webhooks = client
	}
	return c, nil
}

// cachedAccount asks Jira once who the integration is (retrying after a failure).
func cachedAccount(c *connector.Client) func(ctx context.Context) (string, error) {
	var mu sync.Mutex
	var id string
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if id != "" {
			return id, nil
		}
		u, err := c.Myself(ctx)
		if err != nil {
			return "", err
		}
		id = u.AccountID
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
