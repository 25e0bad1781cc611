package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"switchyard"
	"switchyard/audit"
	"switchyard/classify"
	"switchyard/connector"
	"switchyard/store"
)

// Classifier classifies a ticket (*classify.Classifier).
type Classifier interface {
	Classify(ctx context.Context, t classify.Ticket) (classify.Result, error)
}

// Learner learns from decisions; a Classifier that also implements it is
// told every approval and denial.
type Learner interface {
	RecordDecision(ctx context.Context, t classify.Ticket, intent string, approved bool) error
}

// Jira is what write-back needs of a connection (*connector.Client).
type Jira interface {
	AddComment(ctx context.Context, issueKey string, body connector.CommentBody, propertyKey string, propertyValue any) (switchyard.Comment, error)
	FindComment(ctx context.Context, issueKey, propertyKey string, match func(json.RawMessage) bool) (switchyard.Comment, bool, error)
	Transitions(ctx context.Context, issueKey string) ([]connector.Transition, error)
	DoTransition(ctx context.Context, issueKey, transitionID string) error
}

// Defaults.
const (
	DefaultExpiry       = 24 * time.Hour
	DefaultPollInterval = time.Second
	DefaultLease        = time.Minute
	DefaultWorkers      = 4
	DefaultExecTimeout  = 30 * time.Second
	DefaultNotifyTime   = 15 * time.Second
	maxResponseRecord   = 4096 // bytes of a webhook response kept on the run
)

// Options configure a Service. Store, Audit and Classifier are required.
type Options struct {
	Store      *store.DB
	Audit      *audit.Chain
	Classifier Classifier
	// Jira is each connection's client, for write-back; a connection without
	// one keeps its write-back items pending (visible) until it has one.
	Jira map[string]Jira
	// DefaultConnection is the connection of tickets ingested without one
	// (the ingest API); default: the only key of Jira, else "default".
	DefaultConnection string

	// Approvers may decide (emails, account ids or Slack user ids, compared
	// case-insensitively); empty = anyone the API lets through
	// (approvals.approvers).
	Approvers []string
	// SlackUsers maps a Slack user id to the Jira account (account id or
	// e-mail) it decides as; an unmapped user is matched by their verified
	// Slack e-mail (users.info) against the synced users, else refused.
	SlackUsers map[string]string
	// Policies (approvals.policies) choose, per runbook and risk, who
	// approves in which steps; the first match applies. A run none matches
	// is decided once under Approvers.
	Policies []Policy
	// PrivilegedGroups make a run whose target is a member "privileged".
	PrivilegedGroups []string
	// Delegations from the config (more are stored through the API).
	Delegations []Delegation
	// Expiry is how long a request waits for a decision (approvals.expiry,
	// default 24h).
	Expiry time.Duration
	// Sandbox is approvals.sandbox: every runbook runs the sandbox executor
	// and nothing is written to Jira (the write-back is recorded as skipped).
	Sandbox bool
	// Executors maps a runbook id (RB-001) or intent id to its executor;
	// unmapped runbooks use DefaultExecutor, which defaults to sandbox.
	Executors       map[string]ExecutorConfig
	DefaultExecutor ExecutorConfig
	// Transitions maps a decision label (APPROVED, DENIED, EXPIRED, FAILED)
	// to the Jira status (or transition name) to move the issue to after the
	// comment; none = no transition.
	Transitions map[string]string
	// CommentVisibility is approvals.comment_visibility: how the decision
	// comment lands on a JSM request, internal (an internal note, the
	// default) or public. Plain issues always get a plain comment.
	CommentVisibility string
	// CustomerReplies maps a decision label to a customer-facing reply posted
	// on JSM requests besides the decision comment ({key}, {decision},
	// {runbook} and {run} are filled in); none = no reply.
	CustomerReplies map[string]string
	// Notifiers are told about every new approval request.
	Notifiers []Notifier
	// Similar finds the tickets similar to a run's as one account sees them
	// (the search index); set, channel cards carry precedent (precedent.go).
	Similar SimilarFinder
	// Triggers select the synced and webhook-delivered issues that
	// IngestIssue takes in; none = only the ingest API feeds the pipeline.
	Triggers []Trigger

	// PublicURL is how approvers' browsers reach the server (signed links).
	PublicURL string
	// LinkSecret signs approve/deny links (Teams); empty disables links.
	LinkSecret []byte
	// SlackSigningSecret verifies Slack interactivity requests.
	SlackSigningSecret string

	PollInterval time.Duration                    // outbox and expiry poll, default 1s
	Lease        time.Duration                    // outbox claim lease, default 1m
	Backoff      func(failures int) time.Duration // default store.OutboxBackoff
	Workers      int                              // outbox items processed at once, default 4
	HTTPClient   *http.Client                     // executors and notifiers; default: 30s timeout
	Logger       *slog.Logger
	Now          func() time.Time
	// Active, when set, says whether this replica runs the outbox (executors,
	// notifications, write-back) and approval expiry: only the leader of
	// replicas sharing a store does. Ingest and decisions work on every one.
	Active func() bool
}

// Service runs tickets' runs. Lifecycle: New, Run(ctx) (background work:
// notifications, execution, write-back, expiry), Close.
type Service struct {
	opts      Options
	db        *store.DB
	chain     *audit.Chain
	log       *slog.Logger
	now       func() time.Time
	approvers map[string]bool
	execs     map[string]Executor
	defExec   Executor
	http      *http.Client

	precedents precedentCache
	kick       chan struct{}
	lastExpire time.Time // used by Run's goroutine only

	creates   chan createReq // group commit of ingests, see batch.go
	batchStop chan struct{}
	batchDone chan struct{}
	closeOnce sync.Once

	groupsMu    sync.Mutex
	groupsCache map[string]groupsAt // see syncedGroups

	mu      sync.Mutex
	cancel  context.CancelFunc
	done    chan struct{}
	closed  bool
	running bool
}

// New validates opts and returns a Service. Nothing runs until Run.
func New(opts Options) (*Service, error) {
	switch {
	case opts.Store == nil:
		return nil, errors.New("runbook: a store is required")
	case opts.Audit == nil:
		return nil, errors.New("runbook: an audit chain is required")
	case opts.Classifier == nil:
		return nil, errors.New("runbook: a classifier is required")
	}
	if opts.Expiry == 0 {
		opts.Expiry = DefaultExpiry
	}
	if opts.Expiry < 0 {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "approvals.expiry", "must be positive, not %s", opts.Expiry)
	}
	if opts.PollInterval <= 0 {
		opts.PollInterval = DefaultPollInterval
	}
	if opts.Lease <= 0 {
		opts.Lease = DefaultLease
	}
	if opts.Backoff == nil {
		opts.Backoff = store.OutboxBackoff
	}
	if opts.Workers <= 0 {
		opts.Workers = DefaultWorkers
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: DefaultExecTimeout}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.DefaultConnection == "" {
		opts.DefaultConnection = "default"
		if len(opts.Jira) == 1 {
			for name := range opts.Jira {
				opts.DefaultConnection = name
			}
		}
	}
	for label := range opts.Transitions {
		switch label {
		case LabelApproved, LabelDenied, LabelExpired, LabelFailed:
		default:
			return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "approvals.transitions", "unknown decision %q (want APPROVED, DENIED, EXPIRED or FAILED)", label)
		}
	}
	if err := checkJSMOptions(&opts); err != nil {
		return nil, err
	}
	s := &Service{
		opts:      opts,
		db:        opts.Store,
		chain:     opts.Audit,
		log:       opts.Logger,
		now:       opts.Now,
		approvers: map[string]bool{},
		execs:     map[string]Executor{},
		http:      opts.HTTPClient,
		kick:      make(chan struct{}, 1),
		creates:   make(chan createReq),
		batchStop: make(chan struct{}),
		batchDone: make(chan struct{}),
	}
	for _, a := range opts.Approvers {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			s.approvers[a] = true
		}
	}
	var err error
	if s.defExec, err = newExecutor("default", opts.DefaultExecutor, s.http); err != nil {
		return nil, err
	}
	for name, ec := range opts.Executors {
		if s.execs[name], err = newExecutor(name, ec, s.http); err != nil {
			return nil, err
		}
	}
	seen := map[string]bool{}
	for _, n := range opts.Notifiers {
		if n == nil || n.Name() == "" || seen[n.Name()] {
			return nil, fmt.Errorf("runbook: notifiers need distinct non-empty names")
		}
		seen[n.Name()] = true
	}
	go s.batcher()
	return s, nil
}

// Connection is the connection used for tickets ingested without one.
func (s *Service) Connection() string { return s.opts.DefaultConnection }

// Run does the background work until ctx ends or Close is called: it expires
// approvals past their expiry and works the outbox (notifications,
// execution, write-back), retrying failures with backoff. Work left over by
// a previous process (the outbox is in SQLite) is picked up here.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.closed || s.running {
		s.mu.Unlock()
		return errors.New("runbook: service is closed or already running")
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancel, s.done, s.running = cancel, make(chan struct{}), true
	s.mu.Unlock()
	defer close(s.done)
	defer cancel()

	t := time.NewTicker(s.opts.PollInterval)
	defer t.Stop()
	for {
		s.tick(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.kick:
		}
	}
}

// Close stops Run and waits for the work in progress to end.
func (s *Service) Close() error {
	s.closeOnce.Do(func() {
		close(s.batchStop)
		<-s.batchDone
	})
	s.mu.Lock()
	s.closed = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	return nil
}

// wake makes Run look at the outbox now rather than at the next poll.
func (s *Service) wake() {
	select {
	case s.kick <- struct{}{}:
	default:
	}
}

// tick expires what is due (at most once per poll interval: wake-ups after
// each ingest must not cost a write each), then works due outbox items until
// none is left.
func (s *Service) tick(ctx context.Context) {
	if s.opts.Active != nil && !s.opts.Active() {
		return
	}
	if now := time.Now(); now.Sub(s.lastExpire) >= s.opts.PollInterval {
		s.lastExpire = now
		if err := s.expire(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("expire approvals", "err", err)
		}
		if err := s.chase(ctx); err != nil && ctx.Err() == nil {
			s.log.Error("remind and escalate approvals", "err", err)
		}
	}
	for ctx.Err() == nil {
		items, err := s.db.ClaimOutbox(ctx, s.opts.Workers, s.opts.Lease, allKinds...)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Error("claim outbox", "err", err)
			}
			return
		}
		if len(items) == 0 {
			return
		}
		var wg sync.WaitGroup
		for _, it := range items {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.work(ctx, it)
			}()
		}
		wg.Wait()
	}
}

// errCompleted says a step completed its outbox item in its own final
// transaction (one commit instead of two).
var errCompleted = errors.New("outbox item completed")

// permanent errors are not worth retrying: the item is completed with the
// error recorded.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

type itemPayload struct {
	Run      int64  `json:"run"`
	Notifier string `json:"notifier,omitempty"`
	What     string `json:"what,omitempty"` // kindChase: remind | escalate
	Step     int    `json:"step,omitempty"` // kindChase: the 0-based step
}

// itemTimeout bounds one attempt at an outbox item, so that a hung Jira or
// webhook cannot stall the queue; the attempt fails and is retried.
const itemTimeout = 2 * time.Minute

func (s *Service) work(ctx context.Context, it store.OutboxItem) {
	ctx, cancel := context.WithTimeout(ctx, itemTimeout)
	defer cancel()
	var p itemPayload
	err := json.Unmarshal(it.Payload, &p)
	if err == nil {
		switch it.Kind {
		case kindNotify, kindDecided:
			err = s.notify(ctx, it, p)
		case kindChase:
			err = s.deliverChase(ctx, it, p)
		case kindExecute:
			err = s.execute(ctx, p.Run)
		case kindWriteback:
			err = s.writeBack(ctx, it, p.Run)
		default:
			err = permanent{fmt.Errorf("unknown outbox kind %q", it.Kind)}
		}
	} else {
		err = permanent{fmt.Errorf("outbox item %d: bad payload: %w", it.ID, err)}
	}
	// Bookkeeping must survive the shutdown that may have cancelled ctx.
	bctx := context.WithoutCancel(ctx)
	var perm permanent
	switch {
	case errors.Is(err, errCompleted):
		err = nil
	case err == nil:
		err = s.db.CompleteOutbox(bctx, it.ID)
	case errors.As(err, &perm):
		s.log.Error("outbox item failed permanently", "kind", it.Kind, "item", it.ID, "run", p.Run, "err", err)
		if _, ferr := s.db.FailOutbox(bctx, it.ID, "gave up: "+err.Error(), time.Hour); ferr != nil {
			s.log.Error("record outbox failure", "err", ferr)
		}
		err = s.db.CompleteOutbox(bctx, it.ID)
		// Keep the reason visible after completion.
		if err == nil {
			err = s.db.SetRunNote(bctx, p.Run, "gaveup."+it.Kind+"."+p.Notifier, mustJSON(map[string]string{"error": perm.Error()}))
		}
	default:
		s.log.Warn("outbox item failed; will retry", "kind", it.Kind, "item", it.ID, "run", p.Run, "attempt", it.Attempts+1, "err", err)
		_, err = s.db.FailOutbox(bctx, it.ID, err.Error(), s.opts.Backoff(it.Attempts+1))
	}
	if err != nil {
		s.log.Error("outbox bookkeeping", "item", it.ID, "err", err)
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic("runbook: marshal: " + err.Error())
	}
	return b
}

// record builds the next audit record of e by the audit package's rules, for
// appending inside a store transaction together with the step it records.
func (s *Service) record(e audit.Entry) func(prev audit.Record) (audit.Record, error) {
	return func(prev audit.Record) (audit.Record, error) {
		payload, err := audit.CanonicalJSON(e.Payload)
		if err != nil {
			return audit.Record{}, fmt.Errorf("audit %s: payload: %w", e.Type, err)
		}
		r := audit.Record{Seq: prev.Seq + 1, Time: s.now().UTC().Truncate(time.Millisecond), Type: e.Type, Actor: e.Actor,
			Subject: e.Subject, Payload: payload, PayloadHash: audit.PayloadHash(payload), PrevHash: prev.Hash}
		if prev.Seq == 0 {
			r.PrevHash = audit.GenesisHash
		}
		r.Hash = r.ComputeHash()
		return r, nil
	}
}

// auditTx appends an audit record inside tx.
func (s *Service) auditTx(ctx context.Context, tx *store.Tx, typ, actor, subject string, payload any) (audit.Record, error) {
	if actor == "" {
		actor = "system"
	}
	return tx.AppendAudit(ctx, s.record(audit.Entry{Type: typ, Actor: actor, Subject: subject, Payload: payload}))
}

// appendAudit appends an audit record on its own; a failure is logged and returned.
func (s *Service) appendAudit(ctx context.Context, typ, actor, subject string, payload any) (audit.Record, error) {
	rec, err := s.chain.Append(context.WithoutCancel(ctx), audit.Entry{Type: typ, Actor: actor, Subject: subject, Payload: payload})
	if err != nil {
		s.log.Error("audit append", "type", typ, "subject", subject, "err", err)
	}
	return rec, err
}
