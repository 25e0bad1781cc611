package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"switchyard"
	"switchyard/api"
	"switchyard/audit"
	"switchyard/classify"
	"switchyard/config"
	"switchyard/connector"
	"switchyard/runbook"
	"switchyard/store"
	syncer "switchyard/sync"
)

// runbookEnv is the ticket pipeline built from the configuration: the
// classifier (with its on-disk example index), the audit chain and the
// runbook service. Lifecycle: openRunbook, go svc.Run(ctx), Close.
type runbookEnv struct {
	cls   *classify.Classifier
	chain *audit.Chain
	svc   *runbook.Service
	once  sync.Once
}

// Close stops the service's background work and closes the example index.
func (r *runbookEnv) Close() {
	r.once.Do(func() {
		if r.svc != nil {
			r.svc.Close()
		}
		if r.cls != nil {
			r.cls.Close()
		}
	})
}

// openRunbook builds the classifier, the audit chain, one connector client
// per connection for write-back, the notifiers, the executors and the
// triggers, and returns the runbook service; it also connects the sync
// engine's committed issues to the triggers (env.hook). publicURL is how
// approvers' browsers reach the server (signed links).
func openRunbook(cfg *config.Config, env *syncEnv, publicURL string, logger *slog.Logger) (*runbookEnv, error) {
	r := &runbookEnv{chain: audit.New(env.db)}
	cat, err := configCatalog(cfg)
	if err != nil {
		return nil, err
	}
	r.cls, err = classify.New(classify.Options{Catalog: cat, Path: cfg.Classify.Index, Directory: storeDirectories(cfg, env.db), Logger: logger})
	if err != nil {
		return nil, fmt.Errorf("classify.index %s: %w", cfg.Classify.Index, err)
	}

	jira := map[string]runbook.Jira{}
	for _, cc := range cfg.Connections {
		c, err := writebackClient(cc, env.db, logger)
		if err != nil {
			r.Close()
			return nil, err
		}
		jira[cc.Name] = c
	}
	a := cfg.Approvals
	opts := runbook.Options{
		Store: env.db, Audit: r.chain, Classifier: r.cls, Jira: jira,
		Approvers: a.Approvers, SlackUsers: a.SlackUsers, Expiry: a.Expiry, Sandbox: a.Sandbox,
		Transitions: a.Transitions, CommentVisibility: a.CommentVisibility, CustomerReplies: a.CustomerReplies, PublicURL: publicURL, LinkSecret: []byte(a.LinkSecret.Value()),
		SlackSigningSecret: cfg.Notifiers.Slack.SigningSecret.Value(), Logger: logger,
		HTTPClient: &http.Client{Timeout: runbook.DefaultExecTimeout},
	}
	opts.Policies, opts.PrivilegedGroups, opts.Delegations = runbookPolicies(a)
	if env.idx != nil {
		// Precedent on Slack and Teams cards: similar tickets as each approver.
		opts.Similar = api.SimilarTickets(env.idx)
	}
	if env.replica != nil {
		// Only the leader executes, notifies and writes back.
		opts.Active = env.replica.el.Leader
	}
	opts.Executors = map[string]runbook.ExecutorConfig{}
	for name, e := range a.Executors {
		ec := runbook.ExecutorConfig{Kind: e.Kind, URL: e.URL, Secret: e.Secret.Value(), Timeout: e.Timeout}
		if name == "default" && a.DefaultExecutor == config.ExecutorWebhook {
			opts.DefaultExecutor = ec
			continue
		}
		opts.Executors[name] = ec
	}
	if opts.DefaultExecutor.Kind == "" {
		opts.DefaultExecutor = runbook.ExecutorConfig{Kind: runbook.ExecSandbox}
	}
	if opts.Notifiers, err = notifiers(cfg.Notifiers, opts.HTTPClient); err != nil {
		r.Close()
		return nil, err
	}
	var triggers []connTrigger
	for _, t := range a.Triggers {
		rt := runbook.Trigger{Projects: t.Projects, IssueTypes: t.IssueTypes, Labels: t.Labels, NotLabels: t.NotLabels}
		opts.Triggers = append(opts.Triggers, rt)
		triggers = append(triggers, connTrigger{conn: t.Connection, t: rt})
	}
	if r.svc, err = runbook.New(opts); err != nil {
		r.Close()
		return nil, err
	}
	if err := checkTransitions(cfg, env.db, jira); err != nil {
		r.Close()
		return nil, err
	}
	if env.hook != nil {
		env.hook.set(&issueIngester{svc: r.svc, db: env.db, triggers: triggers, window: a.Expiry, log: logger})
	}
	return r, nil
}

// writebackClient is a connection's client for comments and transitions,
// with its own small rate budget so write-back never starves the sync.
func writebackClient(cc config.Connection, db *store.DB, logger *slog.Logger) (*connector.Client, error) {
	auth, err := syncAuth(cc, db)
	if err != nil {
		return nil, fmt.Errorf("connections[%s].auth: %w", cc.Name, err)
	}
	mode := switchyard.Mode(cc.Kind)
	if mode == "" {
		mode = switchyard.ModeCloud
	}
	c, err := connector.New(connector.Options{
		Name: cc.Name, Mode: mode, BaseURL: cc.URL, Auth: auth,
		RequestsPerSecond: max(1, cc.RequestsPerSecond/4), Concurrency: 2, Logger: logger, Observer: jiraObserver,
	})
	if err != nil {
		return nil, fmt.Errorf("connections[%s]: %w", cc.Name, err)
	}
	return c, nil
}

// notifiers builds the configured approval channels.
func notifiers(n config.Notifiers, hc *http.Client) ([]runbook.Notifier, error) {
	var out []runbook.Notifier
	if n.Slack.BotToken.IsSet() {
		s, err := runbook.NewSlackNotifier("slack", n.Slack.APIURL, n.Slack.BotToken.Value(), n.Slack.Channel, hc)
		if err != nil {
			return nil, fmt.Errorf("notifiers.slack: %w", err)
		}
		out = append(out, s)
	}
	if n.Teams.WebhookURL.IsSet() {
		t, err := runbook.NewTeamsNotifier("teams", n.Teams.WebhookURL.Value(), hc)
		if err != nil {
			return nil, errors.New("notifiers.teams.webhook_url: not usable") // never quote the URL: it is a credential
		}
		out = append(out, t)
	}
	if n.Webhook.URL != "" {
		w, err := runbook.NewWebhookNotifier("webhook", n.Webhook.URL, []byte(n.Webhook.Secret.Value()), hc)
		if err != nil {
			return nil, fmt.Errorf("notifiers.webhook: %w", err)
		}
		out = append(out, w)
	}
	return out, nil
}

// configCatalog is the catalog classify.catalog names, or the built-in one.
func configCatalog(cfg *config.Config) (*classify.Catalog, error) {
	if cfg.Classify.Catalog == "" {
		return classify.DefaultCatalog()
	}
	cat, err := classify.LoadCatalog(cfg.Classify.Catalog)
	if err != nil {
		return nil, fmt.Errorf("classify.catalog: %w", err)
	}
	return cat, nil
}

// storeDirectories matches names against every connection's synced users
// and groups in db.
func storeDirectories(cfg *config.Config, db *store.DB) directories {
	dir := directories{}
	for _, cc := range cfg.Connections {
		dir = append(dir, runbook.NewStoreDirectory(db, cc.Name))
	}
	return dir
}

// directories is a classify.Directory over several connections' synced
// identities, asked in configuration order.
type directories []*runbook.StoreDirectory

func (d directories) UserByEmail(ctx context.Context, email string) (switchyard.User, error) {
	for _, x := range d {
		u, err := x.UserByEmail(ctx, email)
		if err == nil || !errors.Is(err, switchyard.ErrNotFound) {
			return u, err
		}
	}
	return switchyard.User{}, switchyard.ErrNotFound
}

func (d directories) UsersByName(ctx context.Context, name string) ([]switchyard.User, error) {
	for _, x := range d {
		if u, err := x.UsersByName(ctx, name); err != nil || len(u) > 0 {
			return u, err
		}
	}
	return nil, nil
}

func (d directories) GroupsByName(ctx context.Context, name string) ([]switchyard.Group, error) {
	for _, x := range d {
		if g, err := x.GroupsByName(ctx, name); err != nil || len(g) > 0 {
			return g, err
		}
	}
	return nil, nil
}

// issueHook carries committed issues from the sync engine (built first) to
// the runbook pipeline (built after it, and only by serve and demo).
type issueHook struct{ p atomic.Pointer[issueIngester] }

func (h *issueHook) set(in *issueIngester) { h.p.Store(in) }

// onIssues is the engine's OnIssues callback.
func (h *issueHook) onIssues(ctx context.Context, conn string, issues []switchyard.Issue) {
	if in := h.p.Load(); in != nil {
		in.ingest(ctx, conn, issues, syncer.Origin(ctx))
	}
}

type connTrigger struct {
	conn string // "" = every connection
	t    runbook.Trigger
}

// issueIngester feeds issues that match a trigger into the pipeline.
type issueIngester struct {
	svc      *runbook.Service
	db       *store.DB
	triggers []connTrigger
	window   time.Duration
	log      *slog.Logger
	now      func() time.Time
}

// ingest takes in the issues that match a trigger of their connection and
// were created within the window (approvals.expiry): a first full sync must
// not turn years of history into approval requests. IngestIssue is
// idempotent per issue, so a page synced twice, or synced and also delivered
// by webhook, makes one run.
func (in *issueIngester) ingest(ctx context.Context, conn string, issues []switchyard.Issue, source string) {
	now := time.Now
	if in.now != nil {
		now = in.now
	}
	oldest := now().Add(-in.window)
	for _, iss := range issues {
		if iss.Created.Before(oldest) || !in.matches(conn, iss) {
			continue
		}
		email := ""
		if iss.Reporter != "" {
			if u, err := in.db.User(ctx, conn, iss.Reporter); err == nil {
				email = u.Email
			}
		}
		res, _, err := in.svc.IngestIssue(runbook.WithActor(ctx, source), conn, source, iss, email)
		if err != nil {
			if ctx.Err() == nil {
				in.log.Warn("trigger: ingest failed; the next sync retries", "connection", conn, "issue", iss.Key, "err", err)
			}
			continue
		}
		if res.Created {
			in.log.Info("trigger: ingested", "connection", conn, "issue", iss.Key, "state", res.Run.State, "intent", res.Run.Intent)
		}
	}
}

func (in *issueIngester) matches(conn string, iss switchyard.Issue) bool {
	for _, t := range in.triggers {
		if (t.conn == "" || strings.EqualFold(t.conn, conn)) && t.t.Matches(iss) {
			return true
		}
	}
	return false
}

// checkpointInterval is how often serve exports a signed audit checkpoint.
const checkpointInterval = 10 * time.Minute

// checkpointLoop writes a signed checkpoint of the audit chain's head to
// audit.checkpoint_file at start, every checkpointInterval and when ctx ends,
// so the chain can be checked from outside (switchyard audit verify
// --checkpoint FILE --public-key KEY). It does nothing when not configured.
func checkpointLoop(ctx context.Context, c config.Audit, chain *audit.Chain, logger *slog.Logger) {
	if !c.SigningKey.IsSet() || c.CheckpointFile == "" {
		return
	}
	key, err := audit.ParsePrivateKey(c.SigningKey.Value())
	if err != nil {
		logger.Error("audit.signing_key is not usable; no checkpoints are written", "err", err)
		return
	}
	write := func(ctx context.Context) {
		cp, err := chain.SignCheckpoint(ctx, key)
		if err == nil {
			err = audit.WriteCheckpointFile(c.CheckpointFile, cp)
		}
		if err != nil {
			logger.Error("audit checkpoint", "file", c.CheckpointFile, "err", err)
			return
		}
		logger.Info("audit checkpoint written", "file", c.CheckpointFile, "size", cp.Size)
	}
	write(ctx)
	t := time.NewTicker(checkpointInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			write(context.WithoutCancel(ctx))
			return
		case <-t.C:
			write(ctx)
		}
	}
}

// runbookPolicies turns approvals.policies, privileged_groups and
// delegations into the runbook service's terms.
func runbookPolicies(a config.Approvals) ([]runbook.Policy, []string, []runbook.Delegation) {
	set := func(s config.ApproverSet) runbook.ApproverSet {
		out := runbook.ApproverSet{Groups: s.Groups, Users: s.Users}
		for _, r := range s.Roles {
			out.Roles = append(out.Roles, runbook.RoleRef{Project: r.Project, Role: r.Role})
		}
		return out
	}
	var ps []runbook.Policy
	for _, p := range a.Policies {
		rp := runbook.Policy{Name: p.Name, Runbooks: p.Runbooks, Risk: p.Risk, RemindAfter: p.RemindAfter,
			EscalateAfter: p.EscalateAfter, Fallback: set(p.Fallback), ReasonOnApprove: p.ReasonOnApprove}
		for _, st := range p.Steps {
			rp.Steps = append(rp.Steps, runbook.Step{Name: st.Name, Approvers: set(st.Approvers), Required: st.Required})
		}
		ps = append(ps, rp)
	}
	var ds []runbook.Delegation
	for _, d := range a.Delegations {
		ds = append(ds, runbook.Delegation{From: d.From, To: d.To, Start: d.Start, Until: d.Until})
	}
	return ps, a.PrivilegedGroups, ds
}
