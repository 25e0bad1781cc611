package runbook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard"
	"switchyard/audit"
	"switchyard/classify"
	"switchyard/connector"
	"switchyard/connector/jirasim"
	"switchyard/runbook"
	"switchyard/store"
)

// clock is a movable clock shared by the store, the chain and the service.
type clock struct {
	mu  sync.Mutex
	off time.Duration
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// capture stands in for Slack or a Teams Workflows webhook: it records each
// request and answers like the real thing, or fails on demand.
type capture struct {
	mu    sync.Mutex
	reqs  []captured
	fail  bool
	slack bool
	ts    *httptest.Server
	// users are Slack's users.info answers: id → e-mail, confirmed or not.
	users map[string]slackUser
}

type slackUser struct {
	email     string
	confirmed bool
}

func (c *capture) setUser(id, email string, confirmed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.users == nil {
		c.users = map[string]slackUser{}
	}
	c.users[id] = slackUser{email, confirmed}
}

type captured struct {
	Path   string
	Header http.Header
	Body   map[string]any
}

func newCapture(t *testing.T, slack bool) *capture {
	c := &capture{slack: slack}
	c.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		c.mu.Lock()
		fail := c.fail
		if !fail {
			c.reqs = append(c.reqs, captured{Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
		}
		n := len(c.reqs)
		c.mu.Unlock()
		if fail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		if c.slack && r.URL.Path == "/users.info" {
			w.Header().Set("Content-Type", "application/json")
			c.mu.Lock()
			u, ok := c.users[fmt.Sprint(body["user"])]
			c.mu.Unlock()
			if !ok {
				json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": "user_not_found"})
				return
			}
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "user": map[string]any{"id": body["user"], "is_email_confirmed": u.confirmed, "profile": map[string]any{"email": u.email}}})
			return
		}
		if c.slack {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C123", "ts": "1700000000." + strings.Repeat("0", 5) + string(rune('0'+n%10))})
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(c.ts.Close)
	return c
}

func (c *capture) setFail(f bool) {
	c.mu.Lock()
	c.fail = f
	c.mu.Unlock()
}

func (c *capture) requests(path string) []captured {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []captured
	for _, r := range c.reqs {
		if path == "" || r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// cards are the top-level Slack messages (not thread replies).
func (c *capture) cards() []captured {
	var out []captured
	for _, r := range c.requests("/chat.postMessage") {
		if _, threaded := r.Body["thread_ts"]; !threaded {
			out = append(out, r)
		}
	}
	return out
}

// harness is the real pieces: a store file, the audit chain on it, the
// classifier, the simulator over HTTP as Jira, and local captures for Slack
// and Teams.
type harness struct {
	t      *testing.T
	dbPath string
	clk    *clock
	db     *store.DB
	chain  *audit.Chain
	cls    *classify.Classifier
	sim    *jirasim.Server
	simTS  *httptest.Server
	jira   *connector.Client
	slack  *capture
	teams  *capture
	mode   switchyard.Mode
	opts   runbook.Options
	svc    *runbook.Service
	runErr chan error
}

func newHarness(t *testing.T, mode switchyard.Mode, mod func(*runbook.Options)) *harness {
	t.Helper()
	return newHarnessWorld(t, jirasim.GenerateOptions{Seed: 7, Projects: 1, Issues: 12, Mode: mode}, mod)
}

// newHarnessWorld is newHarness over a world generated with gen.
func newHarnessWorld(t *testing.T, gen jirasim.GenerateOptions, mod func(*runbook.Options)) *harness {
	t.Helper()
	mode := gen.Mode
	h := &harness{t: t, dbPath: filepath.Join(t.TempDir(), "switchyard.db"), clk: &clock{}, mode: mode}
	h.sim = jirasim.New(jirasim.Options{GenerateOptions: gen})
	h.simTS = httptest.NewServer(h.sim)
	h.sim.SetBaseURL(h.simTS.URL)
	t.Cleanup(func() { h.simTS.Close(); h.sim.Close() })
	o := connector.Options{Name: "sim", Mode: mode, BaseURL: h.simTS.URL,
		Auth:              connector.APITokenAuth(h.sim.AdminEmail(), h.sim.Options().AdminToken),
		RequestsPerSecond: 1000, Concurrency: 8, MaxRetries: -1}
	if mode == switchyard.ModeDataCenter {
		o.Auth = connector.PATAuth(h.sim.Options().AdminToken)
	}
	var err error
	if h.jira, err = connector.New(o); err != nil {
		t.Fatal(err)
	}
	if h.cls, err = classify.New(classify.Options{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.cls.Close() })
	h.slack = newCapture(t, true)
	h.teams = newCapture(t, false)
	h.openStore()
	slackN, err := runbook.NewSlackNotifier("slack", h.slack.ts.URL, "xoxb-test-token", "C123", nil)
	if err != nil {
		t.Fatal(err)
	}
	teamsN, err := runbook.NewTeamsNotifier("teams", h.teams.ts.URL+"/workflows/abc", nil)
	if err != nil {
		t.Fatal(err)
	}
	h.opts = runbook.Options{
		Classifier:         h.cls,
		Jira:               map[string]runbook.Jira{"sim": h.jira},
		Notifiers:          []runbook.Notifier{slackN, teamsN},
		Approvers:          []string{"carol@example.com", "dave@example.com"},
		SlackUsers:         map[string]string{"UCAROL": "carol@example.com", "UBOB": "bob@example.com"},
		PublicURL:          "http://switchyard.test",
		LinkSecret:         []byte("link-secret-for-tests"),
		SlackSigningSecret: "slack-signing-secret",
		PollInterval:       20 * time.Millisecond,
		Lease:              400 * time.Millisecond,
		Backoff:            func(int) time.Duration { return 30 * time.Millisecond },
		Now:                h.clk.now,
	}
	if mod != nil {
		mod(&h.opts)
	}
	h.start()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) openStore() {
	h.t.Helper()
	db, err := store.Open(h.dbPath, store.WithClock(h.clk.now))
	if err != nil {
		h.t.Fatal(err)
	}
	h.db = db
	h.chain = audit.New(db, audit.WithClock(h.clk.now))
}

func (h *harness) start() {
	h.t.Helper()
	o := h.opts
	o.Store, o.Audit = h.db, h.chain
	svc, err := runbook.New(o)
	if err != nil {
		h.t.Fatal(err)
	}
	h.svc = svc
	h.runErr = make(chan error, 1)
	go func() { h.runErr <- svc.Run(context.Background()) }()
}

// stop closes the service and the store (a daemon stopping).
func (h *harness) stop() {
	if h.svc == nil {
		return
	}
	h.svc.Close()
	<-h.runErr
	h.svc = nil
	h.db.Close()
}

// restart is a new process on the same store file.
func (h *harness) restart() {
	h.stop()
	h.openStore()
	h.start()
}

func (h *harness) issueKeys() []string {
	w := h.sim.World()
	w.RLock()
	defer w.RUnlock()
	var out []string
	for _, iss := range w.Issues {
		out = append(out, iss.Key)
	}
	return out
}

// comments returns the issue's write-back comments (those carrying the run
// property) and its total number of comments.
func (h *harness) comments(key string) (ours []*jirasim.SimComment, total int) {
	w := h.sim.World()
	w.RLock()
	defer w.RUnlock()
	iss := w.IssueByKey(key)
	if iss == nil {
		h.t.Fatalf("no issue %s in the simulator", key)
	}
	for _, c := range iss.Comments {
		if _, ok := c.Properties[runbook.CommentProperty]; ok {
			cp := *c
			ours = append(ours, &cp)
		}
	}
	return ours, len(iss.Comments)
}

// ticket is an ingest of issue key with this text. Ingest checks the text
// against Jira, so the simulator's issue is given the same summary and
// description first, and synced into the store (as a sync would), so that a
// test that takes Jira down afterwards still ingests.
func (h *harness) ticket(key, summary, description, reporter string) runbook.Ticket {
	h.t.Helper()
	w := h.sim.World()
	w.RLock()
	exists := w.IssueByKey(key) != nil
	w.RUnlock()
	if exists {
		h.setIssueText(key, summary, description)
		h.syncIssue(key)
	}
	return runbook.Ticket{Source: "jira", IssueKey: key, Summary: summary, Description: description,
		URL: h.simTS.URL + "/browse/" + key, ReporterEmail: reporter}
}

// setIssueText gives the simulator's issue key this summary and description.
func (h *harness) setIssueText(key, summary, description string) {
	h.t.Helper()
	if _, err := h.sim.World().UpdateIssue("", key, jirasim.IssueUpdate{Summary: &summary, Description: &description}); err != nil {
		h.t.Fatalf("update %s in the simulator: %v", key, err)
	}
}

// syncIssue copies Jira's issue key into the store, as a sync does.
func (h *harness) syncIssue(key string) switchyard.Issue {
	h.t.Helper()
	iss, err := h.jira.Issue(context.Background(), key)
	if err != nil {
		h.t.Fatalf("fetch %s: %v", key, err)
	}
	if err := h.db.PutIssue(context.Background(), "sim", iss); err != nil {
		h.t.Fatal(err)
	}
	return iss
}

func (h *harness) ingest(tk runbook.Ticket) runbook.IngestResult {
	h.t.Helper()
	res, err := h.svc.Ingest(context.Background(), "sim", tk)
	if err != nil {
		h.t.Fatalf("ingest %s: %v", tk.IssueKey, err)
	}
	return res
}

// waitRun waits until the run satisfies ok.
func (h *harness) waitRun(id int64, what string, ok func(runbook.Run) bool) runbook.Run {
	h.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		r, err := h.svc.Get(context.Background(), id)
		if err != nil {
			h.t.Fatal(err)
		}
		if ok(r) {
			return r
		}
		if time.Now().After(deadline) {
			b, _ := json.MarshalIndent(r, "", "  ")
			h.t.Fatalf("run %d: timed out waiting for %s; run is %s", id, what, b)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func writtenBack(r runbook.Run) bool { return r.WriteBack != nil && r.WriteBack.Status == "done" }

func notified(n int) func(r runbook.Run) bool {
	return func(r runbook.Run) bool {
		d := 0
		for _, x := range r.Notifications {
			if x.Delivered && x.Kind == "request" {
				d++
			}
		}
		return d >= n
	}
}

func (h *harness) verifyChain() audit.VerifyResult {
	h.t.Helper()
	res, err := h.chain.Verify(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	if !res.OK {
		h.t.Fatalf("audit chain does not verify: %+v", res)
	}
	return res
}

// auditTypes counts the chain's records by type for a subject.
func (h *harness) auditTypes(subject string) map[string]int {
	h.t.Helper()
	recs, err := h.chain.List(context.Background(), 1, 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range recs {
		if r.Subject == subject {
			out[r.Type]++
		}
	}
	return out
}

func connectorBody(text string) connector.CommentBody { return connector.CommentBody{Text: text} }
