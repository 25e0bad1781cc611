package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/oauth2"
	"golang.org/x/term"

	"switchyard"
	"switchyard/config"
	"switchyard/connector"
	"switchyard/index"
	"switchyard/store"
	syncer "switchyard/sync"
)

func init() {
	register(command{
		name:    "sync",
		summary: "sync Jira into the local store and search index once, with progress, and print a summary",
		run:     runSync,
	})
}

func runSync(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sync", "--config FILE [--full] [--connection NAME]", stderr)
	cfgPath := fs.String("config", "switchyard.yaml", "configuration file")
	full := fs.Bool("full", false, "full sync: re-fetch everything and remove what Jira no longer has")
	only := fs.String("connection", "", "sync only this connection (default: every connection)")
	noProgress := fs.Bool("no-progress", false, "do not draw the progress bar")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	cfg, err := loadConfigNoArgs("sync", pos, *cfgPath)
	if err != nil {
		return err
	}
	names, err := syncConnectionNames(cfg, *only)
	if err != nil {
		return err
	}

	var bar *syncBar
	if !*noProgress {
		bar = newSyncBar(stderr)
	}
	log := syncLogger(cfg.Log, stderr)
	env, err := openSyncEnv(cfg, "sync", names, bar.update, log)
	var busy *dataDirBusy
	if errors.As(err, &busy) {
		return syncThroughOwner(ctx, busy, names, *full, *cfgPath, stdout)
	}
	if err != nil {
		return err
	}
	defer env.Close()
	if n, err := env.db.InterruptRuns(ctx); err != nil {
		return err
	} else if n > 0 {
		fmt.Fprintf(stderr, "marked %d interrupted run(s) of an earlier process as failed\n", n)
	}
	// Searches while this sync runs go through it.
	env.idx.Source = syncer.NewPermissionSource(env.db)
	if err := env.serveControl(false, "", log); err != nil {
		return err
	}

	var failed []string
	for _, name := range names {
		rs, err := env.eng.SyncOnce(ctx, name, *full)
		bar.finish()
		printRunSummary(stdout, rs)
		if err != nil {
			if ctx.Err() != nil {
				return fmt.Errorf("interrupted: %w (the next run resumes where this one stopped)", ctx.Err())
			}
			fmt.Fprintf(stderr, "switchyard sync: %v\n", err)
			failed = append(failed, name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d of %d connection(s) failed: %s", len(failed), len(names), strings.Join(failed, ", "))
	}
	return nil
}

// syncConnectionNames picks the configured connections to sync.
func syncConnectionNames(cfg *config.Config, only string) ([]string, error) {
	if len(cfg.Connections) == 0 {
		return nil, errors.New("the configuration has no connections: add one under connections:")
	}
	if only != "" {
		if _, ok := cfg.Connection(only); !ok {
			return nil, fmt.Errorf("--connection %q: no such connection (configured: %s)", only, strings.Join(connectionNames(cfg), ", "))
		}
		return []string{only}, nil
	}
	return connectionNames(cfg), nil
}

// connectionNames lists the names of the configured connections, in order.
func connectionNames(cfg *config.Config) []string {
	var names []string
	for _, c := range cfg.Connections {
		names = append(names, c.Name)
	}
	return names
}

// loadConfigNoArgs rejects positional arguments of a flags-only command and
// loads the configuration file.
func loadConfigNoArgs(cmd string, pos []string, cfgPath string) (*config.Config, error) {
	if len(pos) > 0 {
		return nil, fmt.Errorf("unexpected argument %q (%s takes only flags)", pos[0], cmd)
	}
	return config.Load(cfgPath)
}

// syncEnv is the store, index and engine of a data directory.
type syncEnv struct {
	db  *store.DB
	idx *index.Index
	eng *syncer.Engine
	// hook carries committed issues to the runbook triggers once serve or
	// demo has built the pipeline (openRunbook); until then it drops them.
	hook *issueHook
	// lock makes this process the data directory's owner (nil when the
	// directory cannot hold a lock file); ctl answers other commands.
	lock *dataDirLock
	ctl  *control
	// replica is set for serve with store.driver postgres (cluster.go).
	replica *replica
}

func (e *syncEnv) Close() {
	e.ctl.Close()
	e.ctl = nil
	if e.idx != nil {
		e.idx.Close()
	}
	if e.db != nil {
		e.db.Close()
	}
	e.lock.Close()
	e.lock = nil
}

// serveControl answers other commands' searches (and, withSync, their sync
// requests) through the control endpoint; apiURL is this process's server.
func (e *syncEnv) serveControl(withSync bool, apiURL string, log *slog.Logger) error {
	c, err := startControl(e.lock, e, withSync, apiURL, log)
	e.ctl = c
	return err
}

// Data directory layout.
const (
	storeFile = "switchyard.db"
	indexDir  = "index.bleve"
)

func openSyncStore(cfg *config.Config) (*store.DB, error) {
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir %q: %w", cfg.DataDir, err)
	}
	var opts []store.Option
	if cfg.Server.EncryptionKey.IsSet() {
		key, err := cfg.Server.EncryptionKeyBytes()
		if err != nil {
			return nil, fmt.Errorf("server.encryption_key: %w", err)
		}
		opts = append(opts, store.WithTokenKey(key))
	}
	opts = append(opts, store.WithTokenKeySetting("server.encryption_key"))
	if cfg.Store.Driver == config.StorePostgres {
		return store.OpenPostgres(cfg.Store.DSN.Value(), opts...)
	}
	return store.Open(filepath.Join(cfg.DataDir, storeFile), opts...)
}

// openSyncEnv opens the store (<data_dir>/switchyard.db, or PostgreSQL with
// store.driver postgres) and <data_dir>/index.bleve and
// builds an engine for the named connections. An index written by another
// version is rebuilt (openSyncIndex). Every component logs through log, the
// handler of the configuration's log.format and log.level.
//
// The process becomes the data directory's owner (lockDataDir): a second
// one fails at once with a *dataDirBusy naming the first; command names
// this one in the lock file.
func openSyncEnv(cfg *config.Config, command string, names []string, progress func(syncer.Progress), log *slog.Logger) (*syncEnv, error) {
	env := &syncEnv{hook: &issueHook{}}
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return nil, fmt.Errorf("data_dir %q: %w", cfg.DataDir, err)
	}
	var err error
	if env.lock, err = lockDataDir(cfg.DataDir, command); err != nil {
		return nil, err
	}
	if env.db, err = openSyncStore(cfg); err != nil {
		env.Close()
		return nil, err
	}
	if err := quickCheckStore(context.Background(), env.db).err(); err != nil {
		env.Close()
		return nil, err
	}
	if env.idx, err = openSyncIndex(context.Background(), filepath.Join(cfg.DataDir, indexDir), env.db, connectionNames(cfg), log); err != nil {
		env.Close()
		return nil, err
	}
	var conns []syncer.Connection
	for _, name := range names {
		cc, _ := cfg.Connection(name)
		c, err := syncConnection(*cc, env.db, log)
		if err != nil {
			env.Close()
			return nil, err
		}
		conns = append(conns, c)
	}
	opts := syncer.Options{
		Store: syncer.NewStore(env.db), Index: syncer.NewIndex(env.idx), Connections: conns,
		Logger: log, Progress: progress, OnIssues: env.hook.onIssues,
	}
	if cfg.Store.Driver == config.StorePostgres && command == "serve" {
		if env.replica, err = newReplica(cfg, env.db, log); err == nil {
			env.replica.index, err = newIndexFollower(env.db, env.idx, env.replica.id, connectionNames(cfg),
				cfg.Store.ChangeLogRetention, env.replica.el.Leader, log)
		}
		if err != nil {
			env.Close()
			return nil, err
		}
		opts.Cluster = env.replica
	}
	env.eng, err = syncer.New(opts)
	if err != nil {
		env.Close()
		return nil, err
	}
	return env, nil
}

// syncLogger is the sync command's logger: the configured log.format, at
// log.level but never below warn, so that info lines do not drown the
// progress bar (SWITCHYARD_SYNC_DEBUG=1 shows everything, page timings too).
func syncLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.Level)); err != nil || level < slog.LevelWarn {
		level = slog.LevelWarn
	}
	if os.Getenv("SWITCHYARD_SYNC_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return newLogger(c.Format, level, w)
}

// syncConnection turns a configured connection into the engine's.
func syncConnection(cc config.Connection, db *store.DB, log *slog.Logger) (syncer.Connection, error) {
	path := "connections[" + cc.Name + "]"
	scope, err := syncer.ScopeFrom(cc.Sync.Filters)
	if err != nil {
		return syncer.Connection{}, fmt.Errorf("%s.sync.filters: %w", path, err)
	}
	mode := switchyard.Mode(cc.Kind)
	if mode == "" {
		mode = switchyard.ModeCloud
	}
	auth, err := syncAuth(cc, db)
	if err != nil {
		return syncer.Connection{}, fmt.Errorf("%s.auth: %w", path, err)
	}
	jira, err := syncer.NewJiraBuilder(func(fields []string) (syncer.JiraClient, error) {
		return connector.New(connector.Options{
			Name: cc.Name, Mode: mode, BaseURL: cc.URL, Auth: auth,
			RequestsPerSecond: cc.RequestsPerSecond, Concurrency: cc.Concurrency,
			MaxAttachmentBytes: int64(cc.Sync.AttachmentMaxBytes), Logger: log,
			CustomFields: fields, Observer: jiraObserver,
		})
	}, cc.Concurrency)
	if err != nil {
		return syncer.Connection{}, fmt.Errorf("%s: %w", path, err)
	}
	return syncer.Connection{
		Name: cc.Name, Mode: mode, BaseURL: cc.URL, Jira: jira, Scope: scope,
		Settings: syncer.Settings{
			Strategy: cc.Sync.Strategy, Interval: cc.Sync.Interval, IdentityInterval: cc.Sync.IdentityInterval,
			ReconcileInterval: cc.Sync.ReconcileInterval, Overlap: cc.Sync.Overlap,
			AttachmentMaxBytes: int64(cc.Sync.AttachmentMaxBytes), Concurrency: cc.Concurrency,
		},
	}, nil
}

func syncAuth(cc config.Connection, db *store.DB) (connector.Auth, error) {
	a := cc.Auth
	switch a.Type {
	case config.AuthAPIToken:
		return connector.APITokenAuth(a.Email, a.Token.Value()), nil
	case config.AuthPAT:
		return connector.PATAuth(a.Token.Value()), nil
	case config.AuthBasic:
		return connector.BasicAuth(a.Username, a.Password.Value()), nil
	case config.AuthOAuth:
		return connector.OAuthAuth(&connector.OAuthConfig{
			ClientID: a.ClientID, ClientSecret: a.ClientSecret.Value(), RedirectURL: a.RedirectURL, Scopes: a.Scopes,
			AuthURL: a.AuthURL, TokenURL: a.TokenURL, ResourcesURL: a.ResourcesURL, APIGatewayURL: a.APIGatewayURL,
		}, syncTokens{db}), nil
	}
	return connector.Auth{}, fmt.Errorf("type %q is not one of api_token, oauth, pat, basic", a.Type)
}

// syncTokens keeps OAuth tokens in the store, sealed.
type syncTokens struct{ db *store.DB }

func (s syncTokens) LoadToken(ctx context.Context, conn string) (*oauth2.Token, error) {
	var t oauth2.Token
	if err := s.db.LoadToken(ctx, conn, &t); err != nil {
		if errors.Is(err, switchyard.ErrNotFound) {
			return nil, fmt.Errorf("connection %q is not connected yet (connect it in the console): %w", conn, switchyard.ErrReauthorize)
		}
		return nil, err
	}
	return &t, nil
}

func (s syncTokens) SaveToken(ctx context.Context, conn string, t *oauth2.Token) error {
	return s.db.SaveToken(ctx, conn, t)
}

// syncBar draws the progress of the running stage: items, rate and ETA
// (from Jira's approximate count for issues).
type syncBar struct {
	mu    sync.Mutex
	w     io.Writer
	bar   *progressbar.ProgressBar
	stage string
	total int
	// plain is set when w is not a terminal (a log file, CI): one line per
	// stage and then one every plainEvery, instead of redrawing a bar.
	plain     bool
	lastLine  time.Time
	lastDone  int
	lastTotal int
	printed   int // done count of the last line printed
	stageFrom time.Time
}

// plainEvery is how often a non-terminal progress line is printed.
const plainEvery = 2 * time.Second

func newSyncBar(w io.Writer) *syncBar {
	f, ok := w.(*os.File)
	return &syncBar{w: w, plain: !ok || !term.IsTerminal(int(f.Fd()))}
}

func (b *syncBar) update(p syncer.Progress) {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	key := p.Connection + " " + p.Stage
	if b.plain {
		b.plainUpdate(key, p)
		return
	}
	// A spinner (unknown total) becomes a bar once the total is known.
	if b.bar == nil || b.stage != key || (b.total <= 0 && p.Total > 0) {
		if b.bar != nil {
			b.bar.Finish()
			fmt.Fprintln(b.w)
		}
		max := p.Total
		if max <= 0 {
			max = -1
		}
		b.bar = progressbar.NewOptions(max,
			progressbar.OptionSetWriter(b.w),
			progressbar.OptionSetDescription(fmt.Sprintf("%-28s", key)),
			progressbar.OptionShowCount(),
			progressbar.OptionShowIts(),
			progressbar.OptionSetItsString("items"),
			progressbar.OptionSetPredictTime(true),
			progressbar.OptionThrottle(100*time.Millisecond),
			progressbar.OptionSetWidth(30),
		)
		b.stage, b.total = key, p.Total
	}
	if p.Total > 0 && p.Total != b.total {
		b.bar.ChangeMax(max(p.Total, p.Done))
		b.total = p.Total
	}
	if b.total > 0 && p.Done > b.total {
		b.bar.ChangeMax(p.Done)
		b.total = p.Done
	}
	b.bar.Set(p.Done)
}

// plainUpdate prints a line when a stage starts and then every plainEvery.
func (b *syncBar) plainUpdate(key string, p syncer.Progress) {
	now := time.Now()
	if key != b.stage {
		b.plainEnd(now)
		b.stage, b.stageFrom, b.lastLine = key, now, time.Time{}
	}
	b.lastDone, b.lastTotal = p.Done, p.Total
	if !b.lastLine.IsZero() && now.Sub(b.lastLine) < plainEvery {
		return
	}
	b.lastLine = now
	b.plainLine(key, p.Done, p.Total, now)
}

// plainEnd prints the final count of the stage that is ending when the last
// line printed did not show it.
func (b *syncBar) plainEnd(now time.Time) {
	if b.stage != "" && b.lastDone != b.printed {
		b.plainLine(b.stage, b.lastDone, b.lastTotal, now)
	}
}

func (b *syncBar) plainLine(key string, done, total int, now time.Time) {
	b.printed = done
	line := fmt.Sprintf("%-28s %d", key, done)
	if total > 0 {
		line += fmt.Sprintf("/%d (%.0f%%)", total, 100*float64(min(done, total))/float64(total))
	}
	if secs := now.Sub(b.stageFrom).Seconds(); secs >= 1 {
		line += fmt.Sprintf(" %.0f items/s", float64(done)/secs)
	}
	fmt.Fprintln(b.w, line)
}

func (b *syncBar) finish() {
	if b == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.plain {
		b.plainEnd(time.Now())
		b.stage = ""
		return
	}
	if b.bar != nil {
		b.bar.Finish()
		fmt.Fprintln(b.w)
		b.bar, b.stage = nil, ""
	}
}

func printRunSummary(w io.Writer, rs syncer.RunStats) {
	kind := "incremental"
	if rs.Full {
		kind = "full"
	}
	status := "ok"
	if rs.Error != "" {
		status = "FAILED: " + rs.Error
	}
	why := ""
	if rs.Reason != "" && rs.Reason != kind {
		why = " (" + rs.Reason + ")"
	}
	fmt.Fprintf(w, "%s: %s sync%s in %s: %s\n", rs.Connection, kind, why, rs.Duration().Round(time.Millisecond), status)
	secs := rs.Duration().Seconds()
	rate := 0.0
	if secs > 0 {
		rate = float64(rs.Issues) / secs
	}
	fmt.Fprintf(w, "  issues %d (%.0f/s), comments %d, attachments %d (text extracted %d, failed %d, over cap %d), removed %d\n",
		rs.Issues, rate, rs.Comments, rs.Attachments, rs.Extracted, rs.Failures, rs.Skipped, rs.Deleted)
	for _, st := range rs.Stages {
		if st.Skipped {
			fmt.Fprintf(w, "  %-15s skipped (not due)\n", st.Stage)
			continue
		}
		fmt.Fprintf(w, "  %-15s fetched %-7d written %-7d removed %-6d %s\n", st.Stage, st.Fetched, st.Written, st.Deleted, st.Duration.Round(time.Millisecond))
	}
	for _, warn := range rs.Warnings {
		fmt.Fprintf(w, "  warning: %s\n", warn)
	}
}
