// Package soak is the whole-system resilience run: an in-process Jira
// simulator that mutates continuously with faults on, the switchyard daemon
// as a subprocess that is SIGKILLed and restarted, concurrent searches
// checked against the simulator's permission oracle, concurrent ingests and
// approvals; at the end, store and index must equal the simulator's state,
// every ingested ticket must have one run and at most one write-back
// comment, and the audit chain must verify.
//
// All traffic stays on 127.0.0.1 and every loop is bounded by the duration.
package soak

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"switchyard/connector/jirasim"
	"switchyard/store"
)

// Options configure a soak run.
type Options struct {
	Duration time.Duration // load phase; the final checks come after. Default 1m.
	Seed     int64         // world and load seed. Default 1.
	Issues   int           // generated issues. Default 300.
	Binary   string        // switchyard binary; "" builds switchyard/cmd/switchyard into Dir
	Dir      string        // work directory (config, data, logs); "" = a new temp dir removed by Close
	Log      io.Writer     // progress lines; nil = discard
	// Restarts is how many times the daemon is SIGKILLed and restarted
	// during the load phase. Default 3.
	Restarts int
}

func (o *Options) defaults() {
	if o.Duration <= 0 {
		o.Duration = time.Minute
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Issues <= 0 {
		o.Issues = 300
	}
	if o.Restarts <= 0 {
		o.Restarts = 3
	}
	if o.Log == nil {
		o.Log = io.Discard
	}
}

// conn is the connection name the daemon's config uses.
const conn = "sim"

// Secrets known to both sides; they never leave 127.0.0.1.
const (
	webhookSecret = "soak-webhook-secret-0123456789"
	approverEmail = "soak-approver@example.com"
	reporterEmail = "soak-reporter@example.com"
)

// Soak is one run. New sets it up, Run drives it, Close kills what is left.
type Soak struct {
	opts    Options
	dir     string
	ownDir  bool
	sim     *jirasim.Server
	world   *jirasim.World
	simURL  string
	hs      *http.Server
	bin     string
	cfgPath string
	addr    string // 127.0.0.1:PORT of the daemon, fixed across restarts
	key     string // admin API key (SWITCHYARD_ADMIN_KEY)
	client  *http.Client

	dmu    sync.Mutex
	daemon *daemon
	starts int

	vis *visibility
	st  stats

	imu      sync.Mutex
	ingested map[string]int64 // issue key → run id the API returned

	closeOnce sync.Once
}

// stats are the operation counters of a run.
type stats struct {
	mutations, mutationErrs           atomic.Int64
	searches, hits, searchErrs        atomic.Int64
	ingests, ingestRepeats, ingestErr atomic.Int64
	approvals, approvalConflicts      atomic.Int64
	approvalsRefused                  atomic.Int64 // own requests, refused as they must be
	syncTriggers                      atomic.Int64
	knobChanges                       atomic.Int64
	unavailable                       atomic.Int64 // requests that found the daemon down (restarts)
	daemonLimited                     atomic.Int64 // 429s from the daemon's per-key limit (retried)
	byKind                            sync.Map     // mutation kind → *atomic.Int64
}

func (s *stats) mutation(kind string) {
	v, _ := s.byKind.LoadOrStore(kind, new(atomic.Int64))
	v.(*atomic.Int64).Add(1)
	s.mutations.Add(1)
}

// New generates the world, starts the simulator on 127.0.0.1, builds (or
// takes) the switchyard binary and writes the daemon's configuration.
func New(ctx context.Context, o Options) (*Soak, error) {
	o.defaults()
	s := &Soak{opts: o, dir: o.Dir, key: store.GenerateAPIKeySecret(), ingested: map[string]int64{},
		client: &http.Client{Timeout: 15 * time.Second}}
	if s.dir == "" {
		d, err := os.MkdirTemp("", "switchyard-soak-")
		if err != nil {
			return nil, fmt.Errorf("soak: work dir: %w", err)
		}
		s.dir, s.ownDir = d, true
	} else if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return nil, fmt.Errorf("soak: work dir %q: %w", s.dir, err)
	}
	if err := s.setup(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Soak) setup(ctx context.Context) error {
	s.sim = jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: s.opts.Seed, Projects: 4, Issues: s.opts.Issues}})
	s.world = s.sim.World()
	s.world.DuplicateRate = 0.1 // receivers must de-duplicate repeated deliveries
	// The approver is a Jira person: decisions are made by a key bound to
	// their account, which the identity sync must know.
	if _, err := s.world.CreateUser("", jirasim.UserCreate{DisplayName: "Soak Approver", Email: approverEmail}); err != nil {
		return fmt.Errorf("soak: approver account: %w", err)
	}
	s.vis = newVisibility(s.world)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("soak: simulator listen: %w", err)
	}
	s.simURL = "http://" + ln.Addr().String()
	s.sim.SetBaseURL(s.simURL)
	s.hs = &http.Server{Handler: s.sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.hs.Serve(ln) }()

	// A fixed daemon port: the simulator's webhook points at it across restarts.
	dl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("soak: pick daemon port: %w", err)
	}
	s.addr = dl.Addr().String()
	dl.Close()

	s.bin = s.opts.Binary
	if s.bin == "" {
		s.bin = filepath.Join(s.dir, "switchyard")
		fmt.Fprintf(s.opts.Log, "soak: building switchyard into %s\n", s.bin)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", s.bin, "switchyard/cmd/switchyard")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("soak: go build switchyard: %w\n%s", err, out)
		}
	}
	if _, err := s.world.RegisterWebhook(jirasim.Webhook{URL: "http://" + s.addr + "/api/v1/webhooks/jira/" + conn,
		Secret: webhookSecret, Events: jirasim.WebhookEvents}); err != nil {
		return fmt.Errorf("soak: register webhook: %w", err)
	}
	return s.writeConfig()
}

func (s *Soak) writeConfig() error {
	cfg := fmt.Sprintf(`data_dir: %q
log: {level: warn, format: json}
server: {addr: %q}
connections:
  - name: %s
    kind: cloud
    url: %s
    auth: {type: api_token, email: %q, token: %q}
    requests_per_second: 40
    concurrency: 4
    webhook_secret: %q
    sync:
      strategy: scheduled
      interval: 1m
      identity_interval: 0
      reconcile_interval: 1m
      overlap: 1m
approvals:
  approvers: [%q]
  sandbox: false
  default_executor: sandbox
  expiry: 24h
  triggers:
    - connection: %s
      projects: [ITSM]
`, filepath.Join(s.dir, "data"), s.addr, conn, s.simURL, s.sim.AdminEmail(), s.sim.Options().AdminToken, webhookSecret,
		approverEmail, conn)
	s.cfgPath = filepath.Join(s.dir, "switchyard.yaml")
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("soak: write config: %w", err)
	}
	return nil
}

// Close kills the daemon if it runs, stops the simulator and removes a work
// directory New created. Safe to call more than once.
func (s *Soak) Close() {
	s.closeOnce.Do(func() {
		s.dmu.Lock()
		if s.daemon != nil {
			s.daemon.kill()
			s.daemon = nil
		}
		s.dmu.Unlock()
		if s.hs != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = s.hs.Shutdown(ctx)
			cancel()
		}
		if s.sim != nil {
			s.sim.Close()
		}
		if s.ownDir {
			_ = os.RemoveAll(s.dir)
		}
	})
}

// Report is what a run measured.
type Report struct {
	Duration   time.Duration
	Mutations  map[string]int64
	Searches   int64
	Hits       int64 // search hits checked against the oracle
	SearchErrs int64
	Ingests    int64 // distinct tickets ingested through the API
	Repeats    int64 // repeated ingests of the same body
	Approvals  int64
	Refused    int64 // decisions on the approver's own requests, refused
	Syncs      int64 // POST /api/v1/sync triggers
	Restarts   int
	Unavail    int64 // requests refused while the daemon was down
	Limited    int64 // 429s from the daemon (retried after Retry-After)
	Knobs      int64
	Sim        jirasim.Stats
	Final      FinalCounts
	Mismatches []string
}

// FinalCounts are the sizes compared at the end.
type FinalCounts struct {
	Issues, Comments, Attachments int
	Runs, WritebackComments       int
	AuditRecords                  string
}

// String renders the summary.
func (r Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "soak summary\n")
	fmt.Fprintf(&b, "  duration:      %s\n", r.Duration.Round(time.Second))
	var total int64
	kinds := make([]string, 0, len(r.Mutations))
	for k, v := range r.Mutations {
		kinds = append(kinds, k)
		total += v
	}
	sort.Strings(kinds)
	fmt.Fprintf(&b, "  mutations:     %d", total)
	for _, k := range kinds {
		fmt.Fprintf(&b, " %s=%d", k, r.Mutations[k])
	}
	fmt.Fprintln(&b)
	fmt.Fprintf(&b, "  searches:      %d (%d hits checked against the oracle, %d failed requests)\n", r.Searches, r.Hits, r.SearchErrs)
	fmt.Fprintf(&b, "  ingests:       %d tickets, %d repeats\n", r.Ingests, r.Repeats)
	fmt.Fprintf(&b, "  approvals:     %d decisions, %d refused (the approver's own requests)\n", r.Approvals, r.Refused)
	fmt.Fprintf(&b, "  sync triggers: %d\n", r.Syncs)
	fmt.Fprintf(&b, "  daemon 429s:   %d (per-key rate limit; retried after Retry-After)\n", r.Limited)
	fmt.Fprintf(&b, "  restarts:      %d (SIGKILL; %d requests found the daemon down)\n", r.Restarts, r.Unavail)
	var faults int64
	fk := make([]string, 0, len(r.Sim.Faults))
	for k, v := range r.Sim.Faults {
		faults += v
		fk = append(fk, k)
	}
	sort.Strings(fk)
	fmt.Fprintf(&b, "  faults:        %d injected (", faults)
	for i, k := range fk {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%s=%d", k, r.Sim.Faults[k])
	}
	fmt.Fprintf(&b, "), %d rate-limited (429), %d knob changes, %d simulator requests\n", r.Sim.RateLimited, r.Knobs, r.Sim.Requests)
	fmt.Fprintf(&b, "  final state:   %d issues, %d comments, %d attachments; %d ticket runs, %d write-back comments; audit %s\n",
		r.Final.Issues, r.Final.Comments, r.Final.Attachments, r.Final.Runs, r.Final.WritebackComments, r.Final.AuditRecords)
	fmt.Fprintf(&b, "  mismatches:    %d\n", len(r.Mismatches))
	for i, m := range r.Mismatches {
		if i == 20 {
			fmt.Fprintf(&b, "    … and %d more\n", len(r.Mismatches)-20)
			break
		}
		fmt.Fprintf(&b, "    - %s\n", m)
	}
	return b.String()
}

// Run drives the load phase for the duration, then the final checks, and
// returns the report. An error means the soak could not run (not that it
// found mismatches: those are in Report.Mismatches).
func (s *Soak) Run(ctx context.Context) (Report, error) {
	start := time.Now()
	var rep Report
	if err := s.startDaemon(ctx); err != nil {
		return rep, err
	}
	// Faults start with the first sync, so even the initial full sync has to
	// survive them.
	if err := s.sim.SetKnobs(jirasim.Knobs{RateLimit: 60, FaultRate: 0.05}); err != nil {
		return rep, err
	}
	loadCtx, stop := context.WithTimeout(ctx, s.opts.Duration)
	defer stop()
	var wg sync.WaitGroup
	workers := []func(context.Context, *rand.Rand){
		s.mutator, s.mutator, s.searcher, s.searcher, s.searcher, s.searcher, s.ingester, s.approver, s.syncer, s.knobber,
	}
	for i, w := range workers {
		wg.Add(1)
		r := rand.New(rand.NewPCG(uint64(s.opts.Seed), uint64(i+1)))
		go func() {
			defer wg.Done()
			w(loadCtx, r)
		}()
	}
	restartErr := s.restarter(loadCtx)
	wg.Wait()
	if restartErr != nil && ctx.Err() == nil {
		return rep, restartErr
	}
	if ctx.Err() != nil {
		return rep, ctx.Err()
	}
	fmt.Fprintf(s.opts.Log, "soak: load phase over after %s; settling and final sync\n", time.Since(start).Round(time.Second))
	mism, final, err := s.finish(ctx)
	if err != nil {
		return rep, err
	}
	rep = s.report(time.Since(start))
	rep.Final = final
	rep.Mismatches = append(s.vis.violations(), mism...)
	return rep, nil
}

func (s *Soak) report(d time.Duration) Report {
	r := Report{Duration: d, Mutations: map[string]int64{}, Searches: s.st.searches.Load(), Hits: s.st.hits.Load(),
		SearchErrs: s.st.searchErrs.Load(), Ingests: s.st.ingests.Load(), Repeats: s.st.ingestRepeats.Load(),
		Approvals: s.st.approvals.Load(), Refused: s.st.approvalsRefused.Load(), Syncs: s.st.syncTriggers.Load(), Unavail: s.st.unavailable.Load(), Limited: s.st.daemonLimited.Load(),
		Knobs: s.st.knobChanges.Load(), Sim: s.sim.Stats()}
	s.st.byKind.Range(func(k, v any) bool {
		r.Mutations[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	s.dmu.Lock()
	r.Restarts = max(0, s.starts-1)
	s.dmu.Unlock()
	return r
}

// restarter SIGKILLs and restarts the daemon Restarts times, evenly spread
// over the load phase, then waits for the phase to end.
func (s *Soak) restarter(ctx context.Context) error {
	every := s.opts.Duration / time.Duration(s.opts.Restarts+1)
	for i := 0; i < s.opts.Restarts; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(every):
		}
		s.dmu.Lock()
		d := s.daemon
		s.daemon = nil
		s.dmu.Unlock()
		if d != nil {
			d.kill()
			fmt.Fprintf(s.opts.Log, "soak: SIGKILLed the daemon (pid %d)\n", d.pid())
		}
		// A short outage: webhooks and requests meanwhile fail.
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
		if err := s.startDaemon(context.WithoutCancel(ctx)); err != nil {
			return err
		}
	}
	<-ctx.Done()
	return nil
}

var errDown = errors.New("daemon down")
