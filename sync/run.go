package syncer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"switchyard"
)

// Checkpoint stages (per connection; scope "" unless noted).
const (
	ckFull           = "full"         // cursor "starting" | "running" while a full sync is unfinished; ms = its generation
	ckLastSuccess    = "last_success" // cursor: RFC 3339 time of the last successful run
	ckIdentityAt     = "identity"     // cursor: when the identity stages last ran
	ckReconcileAt    = "reconcile"    // cursor: when reconciliation last ran
	ckAuditWatermark = "audit"        // cursor: created time of the newest audit record read
	ckCursor         = "issues"       // scope: project id; ms: the committed updated position
)

// SyncOnce runs one sync of conn now and returns its stats. If a run of conn
// is in progress it waits for it: runs of one connection never overlap.
func (e *Engine) SyncOnce(ctx context.Context, conn string, full bool) (RunStats, error) {
	r, err := e.runner(conn)
	if err != nil {
		return RunStats{}, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stateMu.Lock()
	r.running = true
	r.stateMu.Unlock()
	defer func() {
		r.stateMu.Lock()
		r.running = false
		r.progress = nil
		r.stateMu.Unlock()
	}()

	conn0 := r.connection()
	s := &session{
		e:    e,
		r:    r,
		c:    conn0,
		jira: conn0.Jira,
		run:  &RunStats{Connection: conn, Started: e.now().UTC()},
	}
	err = s.do(ctx, full)
	s.run.Finished = e.now().UTC()
	if err != nil {
		s.run.Error = err.Error()
	}
	// Record the run even when it failed; use a fresh context so a
	// cancelled run is still recorded.
	if serr := e.store.SaveRun(context.WithoutCancel(ctx), s.run); serr != nil && err == nil {
		err = fmt.Errorf("save run: %w", serr)
	}
	if err != nil {
		e.log.Warn("sync run failed", "connection", conn, "err", err)
		return *s.run, fmt.Errorf("sync %s: %w", conn, err)
	}
	e.log.Info("sync run done", "connection", conn, "full", s.run.Full, "issues", s.run.Issues,
		"deleted", s.run.Deleted, "duration", s.run.Duration())
	return *s.run, nil
}

// session is one run of one connection.
type session struct {
	e    *Engine
	r    *runner
	c    Connection
	jira Jira
	run  *RunStats

	projects []switchyard.Project // in scope

	gen int64 // mark-and-sweep generation of a full sync; 0 when incremental

	cursorMu sync.Mutex
	cursors  map[string]int64 // project id → epoch ms of the committed position
	statsMu  sync.Mutex       // guards run counters updated by workers

	auditForbidden bool
	fieldWarnings  int      // issues with unreadable fields warned about this run (under statsMu)
	pre            prefetch // identity requests in flight
	levelWarnings  []error  // set by fetchPerProject; read after pre.perProject.get
	audit          *promise[auditRead]

	rtMu    sync.Mutex
	rtNames map[string]string // request type id → current name (requesttypes.go); nil until loaded

	// slots bounds the hydration workers of all projects together.
	slots chan struct{}

	progMu   sync.Mutex
	prog     Progress
	progAt   time.Time
	progFrom time.Time
}

func (s *session) cp(ctx context.Context, stage string) (string, error) {
	v, _, err := s.e.store.Checkpoint(ctx, s.c.Name, stage, "")
	if err != nil {
		return "", fmt.Errorf("checkpoint %s: %w", stage, err)
	}
	return v, nil
}

func (s *session) setCP(ctx context.Context, stage, value string) error {
	if err := s.e.store.SetCheckpoint(ctx, s.c.Name, stage, "", value, 0); err != nil {
		return fmt.Errorf("checkpoint %s: %w", stage, err)
	}
	return nil
}

// decide chooses full or incremental. It reports whether a full sync starts
// afresh (reset cursors) or resumes an interrupted one (keep them).
func (s *session) decide(ctx context.Context, forced bool) (fresh bool, err error) {
	hash, err := s.e.store.FilterHash(ctx, s.c.Name)
	if err != nil {
		return false, fmt.Errorf("filter hash: %w", err)
	}
	pending, gen, err := s.e.store.Checkpoint(ctx, s.c.Name, ckFull, "")
	if err != nil {
		return false, fmt.Errorf("checkpoint %s: %w", ckFull, err)
	}
	last, err := s.cp(ctx, ckLastSuccess)
	if err != nil {
		return false, err
	}
	switch {
	case forced:
		s.run.Reason = "full sync requested"
	case pending == "starting":
		s.run.Reason = "restarting an interrupted full sync"
	case hash != s.c.Scope.Hash && (hash != "" || last != ""):
		s.run.Reason = "filters changed"
	case pending == "running" && gen > 0:
		s.run.Reason = "resuming an interrupted full sync"
		s.run.Full, s.gen = true, gen
		return false, nil
	case last == "":
		s.run.Reason = "no checkpoint"
	default:
		s.run.Reason = "incremental"
		return false, nil
	}
	s.run.Full = true
	return true, nil
}

// startFull resets the cursors for a fresh full sync. The writes are ordered
// so that a crash between any two leaves a state from which the next run
// starts the full sync again.
func (s *session) startFull(ctx context.Context) error {
	s.gen = s.run.ID
	if err := s.e.store.SetCheckpoint(ctx, s.c.Name, ckFull, "", "starting", s.gen); err != nil {
		return fmt.Errorf("checkpoint %s: %w", ckFull, err)
	}
	if err := s.e.store.DeleteCheckpoints(ctx, s.c.Name, ckCursor); err != nil {
		return fmt.Errorf("reset cursors: %w", err)
	}
	if err := s.e.store.SetFilterHash(ctx, s.c.Name, s.c.Scope.Hash); err != nil {
		return fmt.Errorf("filter hash: %w", err)
	}
	if err := s.e.store.SetCheckpoint(ctx, s.c.Name, ckFull, "", "running", s.gen); err != nil {
		return fmt.Errorf("checkpoint %s: %w", ckFull, err)
	}
	return nil
}

func (s *session) loadCursors(ctx context.Context) error {
	s.cursors = map[string]int64{}
	cps, err := s.e.store.Checkpoints(ctx, s.c.Name)
	if err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	for _, cp := range cps {
		if cp.Stage == ckCursor && cp.Scope != "" {
			s.cursors[cp.Scope] = cp.CursorMS
		}
	}
	return nil
}

func (s *session) do(ctx context.Context, forced bool) error {
	fresh, err := s.decide(ctx, forced)
	if err != nil {
		return err
	}
	if err := s.e.store.SaveRun(ctx, s.run); err != nil {
		return fmt.Errorf("save run: %w", err)
	}
	if fresh {
		if err := s.startFull(ctx); err != nil {
			return err
		}
	}
	if err := s.loadCursors(ctx); err != nil {
		return err
	}

	identityDue, err := s.due(ctx, ckIdentityAt, s.c.Settings.IdentityInterval)
	if err != nil {
		return err
	}
	if s.run.Full {
		identityDue = true
	}
	// The audit log read does not depend on anything before it: start it now.
	auditCtx, cancelAudit := context.WithCancel(ctx)
	s.audit = future(auditCtx, s.readAudit)
	defer func() { cancelAudit(); <-s.audit.done }() // it reads the store: never outlive the run
	if identityDue {
		if err := s.identity(ctx); err != nil {
			return err
		}
	} else {
		for _, st := range []string{StageUsers, StageGroups, StageCustomers, StageProjects, StageRoles, StagePermissions} {
			s.run.Stages = append(s.run.Stages, StageStats{Stage: st, Skipped: true})
		}
		stored, err := s.e.store.Projects(ctx, s.c.Name)
		if err != nil {
			return fmt.Errorf("stored projects: %w", err)
		}
		for _, p := range stored {
			if s.c.Scope.InScope(p.Key) {
				s.projects = append(s.projects, p)
			}
		}
	}

	if err := s.useCustomFields(); err != nil {
		return err
	}
	if err := s.stage(ctx, StageIssues, s.issues); err != nil {
		return err
	}
	if err := s.stage(ctx, StageDeletions, s.deletions); err != nil {
		return err
	}
	reconcileDue := false
	if s.c.Settings.ReconcileInterval > 0 {
		if reconcileDue, err = s.due(ctx, ckReconcileAt, s.c.Settings.ReconcileInterval); err != nil {
			return err
		}
	}
	if s.run.Full || reconcileDue || s.auditForbidden {
		if err := s.stage(ctx, StageReconcile, s.reconcile); err != nil {
			return err
		}
		if err := s.setCP(ctx, ckReconcileAt, s.run.Started.Format(time.RFC3339Nano)); err != nil {
			return err
		}
	} else {
		s.run.Stages = append(s.run.Stages, StageStats{Stage: StageReconcile, Skipped: true})
	}
	if s.run.Full {
		if err := s.e.store.SetCheckpoint(ctx, s.c.Name, ckFull, "", "", 0); err != nil {
			return fmt.Errorf("checkpoint %s: %w", ckFull, err)
		}
	}
	return s.setCP(ctx, ckLastSuccess, s.run.Started.Format(time.RFC3339Nano))
}

// due reports whether the interval has elapsed since the time stored in name.
func (s *session) due(ctx context.Context, name string, every time.Duration) (bool, error) {
	if every <= 0 {
		return true, nil
	}
	v, err := s.cp(ctx, name)
	if err != nil || v == "" {
		return true, err
	}
	at, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return true, nil
	}
	return s.e.now().Sub(at) >= every, nil
}

// stage runs fn as the named stage, recording its stats in the run and as the
// stage's checkpoint.
func (s *session) stage(ctx context.Context, name string, fn func(context.Context, *StageStats) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	st := StageStats{Stage: name}
	start := s.e.now()
	s.run.Stage = name
	if err := s.e.store.SaveRun(ctx, s.run); err != nil {
		return fmt.Errorf("save run: %w", err)
	}
	s.startProgress(name, 0)
	err := fn(ctx, &st)
	s.emit(true) // the stage's final count, past the throttle
	st.Duration = s.e.now().Sub(start)
	s.run.Stages = append(s.run.Stages, st)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	// The stage's own checkpoint: its last completed counts.
	b, _ := json.Marshal(st)
	return s.setCP(ctx, "stage."+name, string(b))
}

func (s *session) warn(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	s.run.Warnings = append(s.run.Warnings, msg)
	s.e.log.Warn("sync warning", "connection", s.c.Name, "warning", msg)
}

// Progress reporting, throttled to a few updates per second.

func (s *session) startProgress(stage string, total int) {
	s.progMu.Lock()
	s.prog = Progress{Connection: s.c.Name, Stage: stage, Total: total}
	s.progFrom = s.e.now()
	s.progAt = time.Time{}
	s.progMu.Unlock()
	s.emit(true)
}

func (s *session) setTotal(total int) {
	s.progMu.Lock()
	s.prog.Total = total
	s.progMu.Unlock()
	s.emit(true)
}

// setTotalFor sets the total only while stage is still the running one (the
// estimate arrives asynchronously).
func (s *session) setTotalFor(stage string, total int) {
	s.progMu.Lock()
	ok := s.prog.Stage == stage
	if ok {
		s.prog.Total = total
	}
	s.progMu.Unlock()
	if ok {
		s.emit(true)
	}
}

func (s *session) advance(n int) {
	s.progMu.Lock()
	s.prog.Done += n
	s.progMu.Unlock()
	s.emit(false)
}

func (s *session) emit(force bool) {
	s.progMu.Lock()
	now := s.e.now()
	if !force && now.Sub(s.progAt) < 100*time.Millisecond {
		s.progMu.Unlock()
		return
	}
	s.progAt = now
	p := s.prog
	if p.Stage == "" {
		s.progMu.Unlock()
		return
	}
	if el := now.Sub(s.progFrom).Seconds(); el > 0 {
		p.Rate = float64(p.Done) / el
	}
	if p.Rate > 0 && p.Total > p.Done {
		p.ETA = time.Duration(float64(p.Total-p.Done) / p.Rate * float64(time.Second))
	}
	s.progMu.Unlock()
	s.r.setProgress(&p)
	if s.e.progress != nil {
		s.e.progress(p)
	}
}

// isNotFound reports whether err means the issue is gone or invisible.
func isNotFound(err error) bool { return errors.Is(err, switchyard.ErrNotFound) }

// useCustomFields tells the client which picker custom fields the in-scope
// projects' grants and security levels name.
func (s *session) useCustomFields() error {
	cf, ok := s.jira.(CustomFieldSetter)
	if !ok {
		return nil
	}
	set := map[string]bool{}
	add := func(hs []switchyard.Holder) {
		for _, h := range hs {
			if (h.Type == switchyard.HolderUserCustomField || h.Type == switchyard.HolderGroupCustomField) && h.Parameter != "" {
				set[h.Parameter] = true
			}
		}
	}
	for _, p := range s.projects {
		add(p.Browse)
		for _, l := range p.SecurityLevels {
			add(l.Members)
		}
	}
	fields := make([]string, 0, len(set))
	for f := range set {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	if err := cf.SetCustomFields(fields); err != nil {
		return fmt.Errorf("custom fields: %w", err)
	}
	return nil
}
