package syncer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"

	"switchyard"
	"switchyard/store"
)

// ErrUnknownConnection is returned for a connection name the engine does not have.
var ErrUnknownConnection = errors.New("unknown connection")

// Defaults for settings left zero.
const (
	DefaultInterval           = 60 * time.Minute
	DefaultReconcileInterval  = 24 * time.Hour
	DefaultOverlap            = time.Minute
	DefaultAttachmentMaxBytes = 25 << 20
	DefaultConcurrency        = 8
	DefaultPageSize           = 5000
	bulkFetchMax              = 100
)

// Options configure an Engine.
type Options struct {
	Store       Store
	Index       Index
	Connections []Connection
	Logger      *slog.Logger
	// Progress, when set, receives snapshots of running syncs. It is called
	// from the sync goroutine and must not block for long.
	Progress func(Progress)
	// OnIssues, when set, is called after each page of issues (and each
	// webhook refresh) is committed; see IssuesHook.
	OnIssues IssuesHook
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
	// Cluster, when set, makes the engine one replica of several: it syncs
	// only while leader (see Cluster).
	Cluster Cluster
}

// Engine syncs connections, once (SyncOnce) or on their schedule (Run).
type Engine struct {
	store    Store
	index    Index
	log      *slog.Logger
	progress func(Progress)
	onIssues IssuesHook
	now      func() time.Time
	cluster  Cluster

	conns map[string]*runner
	names []string
}

// runner is one connection's state. mu serializes runs so they never overlap.
type runner struct {
	conn Connection
	mu   sync.Mutex

	// trigger holds at most one pending request: a trigger during a run is
	// coalesced into the next run rather than queued twice.
	trigger     chan struct{}
	pendingMu   sync.Mutex
	pendingFull bool

	stateMu  sync.Mutex
	running  bool
	progress *Progress

	paused atomic.Bool // disconnected: scheduled and triggered runs are skipped (SetPaused)
}

// New returns an engine for the given connections, with settings defaulted.
func New(opts Options) (*Engine, error) {
	if opts.Store == nil || opts.Index == nil {
		return nil, errors.New("sync: store and index are required")
	}
	e := &Engine{
		store:    opts.Store,
		index:    opts.Index,
		log:      opts.Logger,
		progress: opts.Progress,
		onIssues: opts.OnIssues,
		now:      opts.Now,
		cluster:  opts.Cluster,
		conns:    map[string]*runner{},
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	for _, c := range opts.Connections {
		if c.Name == "" {
			return nil, errors.New("sync: connection without a name")
		}
		if _, dup := e.conns[c.Name]; dup {
			return nil, fmt.Errorf("sync: duplicate connection %q", c.Name)
		}
		if c.Jira == nil {
			return nil, fmt.Errorf("sync: connection %q has no Jira client", c.Name)
		}
		c.Settings = withDefaults(c.Settings)
		if c.Mode == "" {
			c.Mode = switchyard.ModeCloud
		}
		e.conns[c.Name] = &runner{conn: c, trigger: make(chan struct{}, 1)}
		e.names = append(e.names, c.Name)
	}
	sort.Strings(e.names)
	return e, nil
}

func withDefaults(s Settings) Settings {
	if s.Strategy == "" {
		s.Strategy = "scheduled"
	}
	if s.Interval <= 0 {
		s.Interval = DefaultInterval
	}
	if s.Overlap < 0 {
		s.Overlap = 0
	}
	if s.AttachmentMaxBytes <= 0 {
		s.AttachmentMaxBytes = DefaultAttachmentMaxBytes
	}
	if s.Concurrency <= 0 {
		s.Concurrency = DefaultConcurrency
	}
	if s.PageSize <= 0 {
		s.PageSize = DefaultPageSize
	}
	return s
}

// Connections returns the connection names, sorted.
func (e *Engine) Connections() []string { return append([]string(nil), e.names...) }

func (e *Engine) runner(conn string) (*runner, error) {
	r, ok := e.conns[conn]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownConnection, conn)
	}
	return r, nil
}

// Run runs every scheduled connection on its interval until ctx is done, and
// serves Trigger requests for all connections. Each connection has one loop
// goroutine, so its runs never overlap.
func (e *Engine) Run(ctx context.Context) error {
	var sopts []gocron.SchedulerOption
	if e.cluster != nil {
		// Scheduled runs start on the leader only.
		sopts = append(sopts, gocron.WithDistributedElector(e.cluster))
	}
	s, err := gocron.NewScheduler(sopts...)
	if err != nil {
		return fmt.Errorf("sync: scheduler: %w", err)
	}
	for _, name := range e.names {
		r := e.conns[name]
		if r.conn.Settings.Strategy != "scheduled" {
			continue
		}
		name := name
		_, err := s.NewJob(
			gocron.DurationJob(r.conn.Settings.Interval),
			gocron.NewTask(func() { _ = e.Trigger(name, false) }),
			gocron.WithStartAt(gocron.WithStartImmediately()),
			gocron.WithSingletonMode(gocron.LimitModeReschedule),
		)
		if err != nil {
			return fmt.Errorf("sync: schedule %s: %w", name, err)
		}
	}
	var wg sync.WaitGroup
	if e.cluster != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.runForwarded(ctx)
		}()
	}
	for _, name := range e.names {
		r := e.conns[name]
		wg.Add(1)
		go func() {
			defer wg.Done()
			e.loop(ctx, r)
		}()
	}
	s.Start()
	<-ctx.Done()
	serr := s.Shutdown()
	wg.Wait()
	if serr != nil {
		return fmt.Errorf("sync: scheduler shutdown: %w", serr)
	}
	return nil
}

func (e *Engine) loop(ctx context.Context, r *runner) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.trigger:
		}
		r.pendingMu.Lock()
		full := r.pendingFull
		r.pendingFull = false
		r.pendingMu.Unlock()
		if r.paused.Load() {
			continue
		}
		if !e.leading() {
			// Leadership moved since the trigger: the leader runs it.
			e.forward(r.conn.Name, full)
			continue
		}
		if _, err := e.SyncOnce(ctx, r.conn.Name, full); err != nil && ctx.Err() == nil {
			e.log.Error("sync failed", "connection", r.conn.Name, "err", err)
		}
	}
}

// Trigger asks for a run of conn as soon as possible (Run must be running).
// A trigger while a run is pending is coalesced with it; full is sticky. On
// a follower (Options.Cluster) the run is forwarded to the leader.
func (e *Engine) Trigger(conn string, full bool) error {
	r, err := e.runner(conn)
	if err != nil {
		return err
	}
	if !e.leading() {
		e.forward(conn, full)
		return nil
	}
	r.pendingMu.Lock()
	r.pendingFull = r.pendingFull || full
	r.pendingMu.Unlock()
	select {
	case r.trigger <- struct{}{}:
	default: // already pending: coalesced
	}
	return nil
}

// Status returns conn's state, progress, stored counts, checkpoints, recent runs
// and the warnings of the latest run.
func (e *Engine) Status(ctx context.Context, conn string) (Status, error) {
	r, err := e.runner(conn)
	if err != nil {
		return Status{}, err
	}
	st := Status{Connection: conn, State: "idle"}
	r.stateMu.Lock()
	if r.running {
		st.State = "running"
		if r.progress != nil {
			p := *r.progress
			st.Progress = &p
		}
	}
	r.stateMu.Unlock()
	return st, fillStatus(ctx, e.store, &st)
}

// indexResets is the optional Store method status reads index resets with.
type indexResets interface {
	IndexReset(ctx context.Context, conn string) (store.IndexReset, bool, error)
}

// StoredStatus reads a connection's status from the store alone (the status
// command, with no engine running).
func StoredStatus(ctx context.Context, s Store, conn string) (Status, error) {
	st := Status{Connection: conn, State: "idle"}
	return st, fillStatus(ctx, s, &st)
}

func fillStatus(ctx context.Context, s Store, st *Status) error {
	var err error
	if st.Counts, err = s.Counts(ctx, st.Connection); err != nil {
		return fmt.Errorf("counts: %w", err)
	}
	if st.Checkpoints, err = s.Checkpoints(ctx, st.Connection); err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	if st.LastRuns, err = s.Runs(ctx, st.Connection, 5); err != nil {
		return fmt.Errorf("runs: %w", err)
	}
	if len(st.LastRuns) > 0 {
		st.Warnings = st.LastRuns[0].Warnings
	}
	if ir, ok := s.(indexResets); ok {
		r, found, err := ir.IndexReset(ctx, st.Connection)
		if err != nil {
			return fmt.Errorf("index reset: %w", err)
		}
		if found {
			st.IndexReset = &r
			if r.RefilledBy == 0 {
				st.Warnings = append([]string{fmt.Sprintf("the search index was replaced by an empty one at %s (%s): the checkpoints were reset, so the next sync is a full sync that refills it; until it succeeds, search misses this connection's older issues",
					r.At.Format(time.RFC3339), r.Reason)}, st.Warnings...)
			}
		}
	}
	if len(st.LastRuns) > 0 {
		if st.State == "idle" && st.LastRuns[0].Finished.IsZero() {
			st.State = "interrupted"
		}
	}
	return nil
}

func (r *runner) setProgress(p *Progress) {
	r.stateMu.Lock()
	r.progress = p
	r.stateMu.Unlock()
}
