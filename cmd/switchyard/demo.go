package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	gosync "sync"
	"time"

	"switchyard"
	"switchyard/api"
	"switchyard/config"
	"switchyard/connector/jirasim"
	"switchyard/index"
	"switchyard/store"
	syncer "switchyard/sync"
)

func init() {
	register(command{
		name:    "demo",
		summary: "run the whole product on embedded defaults: Jira simulator, SQLite file, bleve index",
		run:     runDemo,
	})
}

// demoConnection is the demo's connection name; its config is written to
// <data-dir>/demo.yaml so every other command can be tried against it.
const demoConnection = "demo"

type demoOptions struct {
	dataDir  string
	simAddr  string
	addr     string
	seed     int64
	projects int
	issues   int
	once     bool // do everything, print, and exit (tests, CI)
}

func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "[--data-dir DIR] [--addr HOST:PORT] [--issues N] [--projects P] [--seed S] [--once]", stderr)
	var o demoOptions
	fs.StringVar(&o.dataDir, "data-dir", "./switchyard-data", "where the SQLite file and the index live; a second run reuses them and syncs incrementally")
	fs.StringVar(&o.addr, "addr", config.DefaultAddr, "HOST:PORT of the API and console; a busy port falls back to a free one")
	fs.StringVar(&o.simAddr, "sim-addr", "127.0.0.1:0", "listen address of the built-in Jira simulator")
	fs.Int64Var(&o.seed, "seed", 42, "seed of the generated Jira workspace")
	fs.IntVar(&o.projects, "projects", 6, "projects in the generated workspace")
	fs.IntVar(&o.issues, "issues", 5000, "issues in the generated workspace")
	fs.BoolVar(&o.once, "once", false, "do everything, print the examples and exit instead of running until Ctrl-C")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("unexpected argument %q (demo takes only flags)", pos[0])
	}
	if o.issues < 1 || o.issues > 200000 {
		return fmt.Errorf("--issues %d: must be between 1 and 200000", o.issues)
	}
	if o.projects < 4 || o.projects > 50 {
		return fmt.Errorf("--projects %d: must be between 4 and 50", o.projects)
	}
	if _, _, err := net.SplitHostPort(o.addr); err != nil {
		return fmt.Errorf("--addr %q: want HOST:PORT (e.g. 127.0.0.1:8080)", o.addr)
	}
	return demo(ctx, o, stdout, stderr)
}

func demo(ctx context.Context, o demoOptions, stdout, stderr io.Writer) error {
	// 1. The simulator: a realistic IT service desk workspace, served over real HTTP.
	fmt.Fprintf(stdout, "Generating a Jira workspace (%d projects incl. the ITSM service desk, %d issues, seed %d)…\n", o.projects, o.issues, o.seed)
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{
		Seed: o.seed, Projects: o.projects, Issues: o.issues, Mode: switchyard.ModeCloud,
	}})
	defer sim.Close()
	ln, err := net.Listen("tcp", o.simAddr)
	if err != nil {
		return fmt.Errorf("--sim-addr %q: %w", o.simAddr, err)
	}
	simURL := "http://" + ln.Addr().String()
	sim.SetBaseURL(simURL)
	hs := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	defer hs.Close()
	fmt.Fprintf(stdout, "Jira simulator on %s (admin %s)\n\n", simURL, sim.AdminEmail())

	// 2. The server's address: --addr, or a free port when it is busy.
	// The port stays bound until the server serves it: closing and
	// re-listening would let another process take it in between.
	apiLn, err := demoListen(o.addr, stdout)
	if err != nil {
		return err
	}
	defer apiLn.Close() // a no-op once the server has served and closed it
	addr := apiLn.Addr().String()

	// 3. A config file like a user would write, pointing at the simulator.
	if err := os.MkdirAll(o.dataDir, 0o750); err != nil {
		return fmt.Errorf("--data-dir %q: %w", o.dataDir, err)
	}
	cfgPath := filepath.Join(o.dataDir, "demo.yaml")
	if err := writeDemoConfig(cfgPath, o.dataDir, addr, simURL, sim.AdminEmail(), sim.Options().AdminToken); err != nil {
		return err
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		return fmt.Errorf("demo config: %w", err)
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	// 4. Sync: full on the first run, incremental on the next ones.
	bar := newSyncBar(stderr)
	env, err := openSyncEnv(cfg, "demo", []string{demoConnection}, bar.update, logger)
	if err != nil {
		return err
	}
	defer env.Close()
	if _, err := env.db.InterruptRuns(ctx); err != nil {
		return err
	}
	rs, err := env.eng.SyncOnce(ctx, demoConnection, false)
	bar.finish()
	printRunSummary(stdout, rs)
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	env.idx.Source = syncer.NewPermissionSource(env.db)

	// 5. The runbook pipeline and the server, as serve builds them.
	rb, err := openRunbook(cfg, env, "http://"+addr, logger)
	if err != nil {
		return err
	}
	defer rb.Close()
	key, err := demoAdminKey(ctx, env.db, o.dataDir, sim.World().AdminAccountID())
	if err != nil {
		return err
	}
	cc, _ := cfg.Connection(demoConnection)
	conn, err := apiConnection(*cc, env, logger)
	if err != nil {
		return err
	}
	srv, err := api.New(api.Options{
		Addr: addr, Listener: apiLn, Logger: logger, Store: env.db, Index: env.idx, Engine: env.eng,
		Connections: []api.Connection{conn}, Runbook: rb.svc, Audit: rb.chain,
		Ready: func(ctx context.Context) error {
			if err := env.db.Ping(ctx); err != nil {
				return fmt.Errorf("store: %w", err)
			}
			return indexReady(ctx, env, cfgPath)
		},
		// Approvers sign in to the console through the simulator's OAuth
		// server, which consents as its admin account.
		AtlassianSignIn: &api.AtlassianSignIn{ClientID: jirasim.DefaultOAuthClientID, ClientSecret: jirasim.DefaultOAuthClientSecret,
			AuthURL: simURL + "/authorize", TokenURL: simURL + "/oauth/token", MeURL: simURL + "/me"},
	})
	if err != nil {
		return err
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	var wg gosync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); env.eng.Run(bg) }()
	go func() { defer wg.Done(); rb.svc.Run(bg) }()
	var stopOnce gosync.Once
	stop := func() {
		stopOnce.Do(func() {
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			srv.Close(sctx)
			stopBG()
			wg.Wait()
		})
	}
	if err := srv.Open(); err != nil {
		stopBG()
		wg.Wait()
		return err
	}
	defer stop()
	base := srv.URL()
	// The CLI commands the demo suggests search and sync through it.
	if err := env.serveControl(true, base, logger); err != nil {
		return err
	}

	// 6. A few tickets through the real ingest API: some match a runbook,
	// some do not.
	pending, err := demoTickets(ctx, stdout, base, key, env, sim)
	if err != nil {
		return err
	}

	// 7. The same query as two different users: permission-aware search.
	if err := demoSearches(ctx, stdout, env, sim); err != nil {
		return err
	}

	fmt.Fprintf(stdout, "\nConsole:   %s/console  (sign in with the admin key)\n", base)
	fmt.Fprintf(stdout, "Admin key: %s\n", key)
	if pending != nil {
		fmt.Fprintf(stdout, "\nA pending approval to click: %s/console/approvals\n", base)
		fmt.Fprintf(stdout, "  approval %d: %s %s (%s, confidence %.2f)\n", pending.ApprovalID, pending.IssueKey, pending.Intent, pending.Runbook, pending.Confidence)
		fmt.Fprintf(stdout, "  its run page (signed in with Atlassian, with similar past tickets and their decisions): %s/console/runs/%d\n", base, pending.RunID)
		fmt.Fprintf(stdout, "  or by API:\n    curl -H 'Authorization: Bearer %s' -H 'Content-Type: application/json' \\\n      -d '{\"decision\":\"approve\"}' %s/api/v1/approvals/%d/decision\n",
			key, base, pending.ApprovalID)
		fmt.Fprintf(stdout, "  (the key is bound to the simulator's admin, %s, and decides as that account; in the console, use Sign in with Atlassian)\n", sim.AdminEmail())
		fmt.Fprintf(stdout, "  Approving runs the sandbox executor and writes a comment back to %s in the simulator.\n", pending.IssueKey)
	} else {
		fmt.Fprintf(stdout, "\nNo approval is pending (all were decided in earlier runs); see %s/console/approvals\n", base)
	}
	fmt.Fprintf(stdout, "\nTry the CLI against the same data:\n")
	fmt.Fprintf(stdout, "  go run ./cmd/switchyard search --config %s --as EMAIL vpn\n", cfgPath)
	fmt.Fprintf(stdout, "  go run ./cmd/switchyard audit verify --config %s\n", cfgPath)
	fmt.Fprintf(stdout, "  go run ./cmd/switchyard classify \"please reset my password\"\n")
	if o.once {
		return nil
	}
	fmt.Fprintf(stdout, "\nRunning; press Ctrl-C to stop (a second run reuses %s and syncs incrementally).\n", o.dataDir)
	<-ctx.Done()
	stop()
	fmt.Fprintln(stdout, "stopped")
	return nil
}

// demoListen listens on addr when it can, else on a free port of the same
// host (another demo or server may hold 8080).
func demoListen(addr string, stdout io.Writer) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		host, _, _ := net.SplitHostPort(addr)
		if ln, err = net.Listen("tcp", net.JoinHostPort(host, "0")); err != nil {
			return nil, fmt.Errorf("--addr %q: %w", addr, err)
		}
		fmt.Fprintf(stdout, "%s is busy; using %s instead\n", addr, ln.Addr())
	}
	return ln, nil
}

// demoKeyFile keeps the demo's admin key (API keys are stored hashed, so a
// second run could not print it otherwise).
const demoKeyFile = "demo-admin-key"

// demoAdminKey returns the admin key of an earlier run when it still works,
// else creates one and remembers it in <data-dir>/demo-admin-key (0600).
// It is bound to the simulator's admin account, so it can also decide.
func demoAdminKey(ctx context.Context, db *store.DB, dataDir, account string) (string, error) {
	path := filepath.Join(dataDir, demoKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		secret := strings.TrimSpace(string(b))
		if k, err := db.Authenticate(ctx, secret); err == nil && k.AccountID == account {
			return secret, nil
		}
	}
	_, secret, err := db.CreateAPIKey(ctx, store.NewAPIKey{Name: "demo-admin", Scopes: api.AllScopes, AccountID: account})
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(secret+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("remember the demo admin key: %w", err)
	}
	return secret, nil
}

// demoTicket is a request a service desk receives; target is filled with a
// synced user's email.
type demoTicket struct{ summary, description string }

var demoTicketTexts = []demoTicket{
	{"Password reset", "Please reset the password for %s, she forgot it after the holidays."},
	{"Lost my MFA token", "My MFA token is lost, please reset my authenticator."},
	{"Forgot my password", "I forgot my password and cannot sign in."},
	{"Printer jammed", "The printer on floor 3 is jammed again."},
	{"Bigger monitor", "Can we order a bigger monitor for the design team?"},
	{"Coffee machine", "The office coffee machine is broken."},
}

type ingestReply struct {
	RunID       int64   `json:"runId"`
	IssueKey    string  `json:"issueKey"`
	Created     bool    `json:"created"`
	Disposition string  `json:"disposition"`
	Reason      string  `json:"reason"`
	Intent      string  `json:"intent"`
	Runbook     string  `json:"runbook"`
	Confidence  float64 `json:"confidence"`
	TargetUser  string  `json:"targetUser"`
	State       string  `json:"state"`
	ApprovalID  int64   `json:"approvalId"`
}

// demoTickets files the demo tickets as ITSM issues in the simulator and
// ingests each through POST /api/v1/tickets/ingest, printing how each was
// classified; it returns a pending approval, if any.
func demoTickets(ctx context.Context, w io.Writer, base, key string, env *syncEnv, sim *jirasim.Server) (*ingestReply, error) {
	users, err := env.db.Users(ctx, demoConnection)
	if err != nil {
		return nil, err
	}
	var people []switchyard.User
	for _, u := range users {
		if u.Email != "" && u.Active && u.AccountType == "atlassian" && u.Email != sim.AdminEmail() {
			people = append(people, u)
		}
	}
	if len(people) < 2 {
		return nil, errors.New("demo: fewer than two users with visible emails were synced")
	}
	fmt.Fprintf(w, "\nIngesting %d tickets through POST %s/api/v1/tickets/ingest:\n", len(demoTicketTexts), base)
	var pending *ingestReply
	world := sim.World()
	for i, t := range demoTicketTexts {
		reporter := people[i%len(people)]
		desc := t.description
		if strings.Contains(desc, "%s") {
			desc = fmt.Sprintf(desc, people[(i+1)%len(people)].Email)
		}
		iss, err := world.CreateIssue(reporter.AccountID, jirasim.IssueCreate{ProjectKey: "ITSM", IssueType: "Service Request", Summary: t.summary, Description: desc})
		if err != nil {
			return nil, fmt.Errorf("demo: create %q in the simulator: %w", t.summary, err)
		}
		// No URL: the simulator's port changes between runs, and the same
		// ticket must be the same ingest (a second run finds its run).
		body, _ := json.Marshal(map[string]any{"source": "jira", "ticket": map[string]string{
			"issueKey": iss.Key, "summary": t.summary, "description": desc, "reporterEmail": reporter.Email}})
		var r ingestReply
		status, err := demoCall(ctx, "POST", base+"/api/v1/tickets/ingest", key, body, &r)
		if err != nil {
			return nil, err
		}
		switch status {
		case http.StatusCreated, http.StatusOK:
		case http.StatusConflict:
			fmt.Fprintf(w, "  %-9s already ingested by an earlier run with other text\n", iss.Key)
			continue
		default:
			return nil, fmt.Errorf("demo: ingest %s: HTTP %d", iss.Key, status)
		}
		verdict := fmt.Sprintf("%s (%s, confidence %.2f) -> %s", r.Intent, r.Runbook, r.Confidence, r.State)
		if r.Disposition != "pending_approval" {
			verdict = fmt.Sprintf("no_action (%s, confidence %.2f)", r.Reason, r.Confidence)
		}
		again := ""
		if !r.Created {
			again = " [run of an earlier demo]"
		}
		fmt.Fprintf(w, "  %-9s %-22q %s%s\n", r.IssueKey, t.summary, verdict, again)
		if r.State == "pending_approval" && r.ApprovalID != 0 && pending == nil {
			rr := r
			pending = &rr
		}
	}
	return pending, nil
}

// demoCall makes one API call with the admin key and decodes the JSON answer.
func demoCall(ctx context.Context, method, url, key string, body []byte, out any) (int, error) {
	req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("demo: %s %s: %w", method, url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 300 && out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			return resp.StatusCode, fmt.Errorf("demo: %s %s: %w", method, url, err)
		}
	}
	return resp.StatusCode, nil
}

func writeDemoConfig(path, dataDir, addr, simURL, email, token string) error {
	abs, err := filepath.Abs(dataDir)
	if err != nil {
		return err
	}
	body := fmt.Sprintf(`# Written by 'switchyard demo' on every run: the simulator's address changes.
data_dir: %q
log: {level: warn, format: text}
server:
  addr: %q
connections:
  - name: %s
    kind: cloud
    url: %s
    auth: {type: api_token, email: %q, token: %q}
    requests_per_second: 200
    concurrency: 8
    sync:
      strategy: manual
approvals:
  # The sandbox executor records what would run and changes nothing, but
  # sandbox mode is off so that decisions are written back to the
  # simulator's issues as comments.
  sandbox: false
  default_executor: sandbox
  triggers:
    - {connection: %s, projects: [ITSM], issue_types: [Service Request]}
`, abs, addr, demoConnection, simURL, email, token, demoConnection)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(body), 0o600); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return os.Rename(tmp, path)
}

// demoSearches picks two users with emails who see very different amounts and
// runs the same query as each, so the difference is the permission model.
func demoSearches(ctx context.Context, w io.Writer, env *syncEnv, sim *jirasim.Server) error {
	users, err := env.db.Users(ctx, demoConnection)
	if err != nil {
		return err
	}
	type seen struct {
		email string
		name  string
		total uint64
	}
	var cands []seen
	for _, u := range users {
		// The sync account sees everything; the interesting contrast is between people.
		if u.Email == "" || u.Email == sim.AdminEmail() || !u.Active || u.AccountType != "atlassian" || len(cands) >= 40 {
			continue
		}
		res, err := env.idx.Search(ctx, index.SearchRequest{Connection: demoConnection, AsUser: u.Email, Types: []string{"issue"}, Size: 1})
		if err != nil {
			return fmt.Errorf("search as %s: %w", u.Email, err)
		}
		cands = append(cands, seen{u.Email, u.DisplayName, res.Total})
	}
	if len(cands) < 2 {
		return errors.New("demo: fewer than two users with visible emails were synced")
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].total > cands[j].total })
	many, few := cands[0], cands[len(cands)-1]
	const query = "password OR vpn OR laptop"
	fmt.Fprintf(w, "\nThe same search, %q, as two different users:\n", query)
	for _, u := range []seen{many, few} {
		res, err := env.idx.Search(ctx, index.SearchRequest{Connection: demoConnection, Query: query, AsUser: u.email, Size: 3})
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\n  as %s <%s> (may see %d issues in all): %d result(s)\n", u.name, u.email, u.total, res.Total)
		for _, h := range res.Hits {
			fmt.Fprintf(w, "    %-10s %-10s %s\n", h.Key, h.Type, truncateRunes(h.Title, 70))
		}
	}
	return nil
}
