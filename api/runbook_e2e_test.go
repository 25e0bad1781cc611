package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3filter"

	"switchyard/api"
	"switchyard/audit"
	"switchyard/classify"
	"switchyard/connector"
	"switchyard/connector/jirasim"
	"switchyard/runbook"
	"switchyard/store"
)

// rbEnv is the real server on port 0 with a real store file, the audit
// chain, the classifier, the simulator as Jira and a local Slack capture.
type rbEnv struct {
	url    string
	db     *store.DB
	sim    *jirasim.Server
	svc    *runbook.Service
	keys   map[string]string // scope → secret
	issues []string
	slackN int
	mu     sync.Mutex
}

func newRBEnv(t *testing.T) *rbEnv {
	t.Helper()
	e := &rbEnv{keys: map[string]string{}}
	e.sim = jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 3, Projects: 1, Issues: 8}})
	simTS := httptest.NewServer(e.sim)
	e.sim.SetBaseURL(simTS.URL)
	t.Cleanup(func() { simTS.Close(); e.sim.Close() })
	w := e.sim.World()
	w.RLock()
	for _, iss := range w.Issues {
		e.issues = append(e.issues, iss.Key)
	}
	w.RUnlock()
	jc, err := connector.New(connector.Options{Name: "sim", BaseURL: simTS.URL, MaxRetries: -1, RequestsPerSecond: 1000,
		Auth: connector.APITokenAuth(e.sim.AdminEmail(), e.sim.Options().AdminToken)})
	if err != nil {
		t.Fatal(err)
	}
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.slackN++
		e.mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C1", "ts": "1.1"})
	}))
	t.Cleanup(slack.Close)
	e.db, err = store.Open(filepath.Join(t.TempDir(), "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.db.Close() })
	cls, err := classify.New(classify.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cls.Close() })
	sn, _ := runbook.NewSlackNotifier("slack", slack.URL, "xoxb-1", "C1", nil)
	chain := audit.New(e.db)
	e.svc, err = runbook.New(runbook.Options{
		Store: e.db, Audit: chain, Classifier: cls, Jira: map[string]runbook.Jira{"sim": jc},
		Notifiers: []runbook.Notifier{sn}, Approvers: []string{"carol@example.com", "dave@example.com"},
		PublicURL: "http://placeholder", LinkSecret: []byte("k"), SlackSigningSecret: "slack-secret",
		PollInterval: 20 * time.Millisecond, Backoff: func(int) time.Duration { return 20 * time.Millisecond },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	srv, err := api.New(api.Options{Addr: "127.0.0.1:0", Keys: e.db, Runbook: e.svc, Audit: chain,
		KeyRate: 10000, KeyBurst: 10000, MaxBodyBytes: 64 << 10, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	e.url = srv.URL()
	for _, sc := range []string{api.ScopeTicketIngest, api.ScopeApprovalsDecide, api.ScopeAuditRead, api.ScopeSearchRead} {
		_, secret, err := e.db.CreateAPIKey(context.Background(), store.NewAPIKey{Name: sc, Scopes: []string{sc}})
		if err != nil {
			t.Fatal(err)
		}
		e.keys[sc] = secret
	}
	// Keys bound to people (keys create --as): only these decide.
	for _, who := range []string{"carol@example.com", "dave@example.com", "bob@example.com"} {
		_, secret, err := e.db.CreateAPIKey(context.Background(), store.NewAPIKey{Name: "decide as " + who, Scopes: []string{api.ScopeApprovalsDecide}, AccountID: who})
		if err != nil {
			t.Fatal(err)
		}
		e.keys["as:"+who] = secret
	}
	return e
}

func (e *rbEnv) do(t *testing.T, method, path, scope, ctype string, body []byte) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, e.url+path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if scope != "" {
		req.Header.Set("Authorization", "Bearer "+e.keys[scope])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	checkDoc(t, req, body, resp, raw)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if out == nil {
		out = map[string]any{"raw": string(raw)}
	}
	return resp.StatusCode, out, resp.Header
}

// The decision link pages are HTML, documented as strings.
func init() { openapi3filter.RegisterBodyDecoder("text/html", openapi3filter.FileBodyDecoder) }

// checkDoc validates an answer against api/openapi.yaml like the other e2e
// tests do (env.validate).
func checkDoc(t *testing.T, req *http.Request, body []byte, resp *http.Response, raw []byte) {
	t.Helper()
	(&env{t: t, router: openAPIRouter(t)}).validate(req, body, resp, raw)
}

// send does a request and checks its answer against the document.
func send(t *testing.T, req *http.Request, body []byte) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	checkDoc(t, req, body, resp, raw)
	return resp, raw
}

func ingestBody(key, summary, desc, reporter string) []byte {
	b, _ := json.Marshal(map[string]any{"source": "jira", "ticket": map[string]any{
		"issueKey": key, "summary": summary, "description": desc, "reporterEmail": reporter}})
	return b
}

func errMsg(out map[string]any) string {
	e, _ := out["error"].(map[string]any)
	return fmt.Sprint(e["message"])
}

func (e *rbEnv) comments(key string) int { return runCommentCount(e.sim, key) }

func TestRunbookAPIEndToEnd(t *testing.T) {
	e := newRBEnv(t)
	const js = "application/json"
	key := e.issues[0]
	setSimText(t, e.sim, key, "Password reset needed", "Please reset the password for jane.doe@example.com.")
	setSimText(t, e.sim, e.issues[1], "Lunch menu for friday", "")
	body := ingestBody(key, "Password reset needed", "Please reset the password for jane.doe@example.com.", "bob@example.com")

	// Errors first: nothing may change.
	for _, tc := range []struct {
		name, scope, ctype string
		body               []byte
		status             int
		msg                string
	}{
		{"no key", "", js, body, 401, "API key"},
		{"wrong scope", api.ScopeSearchRead, js, body, 403, "ticket:ingest"},
		{"media type", api.ScopeTicketIngest, "text/plain", body, 415, "application/json"},
		{"malformed", api.ScopeTicketIngest, js, []byte(`{"source":`), 400, "JSON"},
		{"unknown field", api.ScopeTicketIngest, js, []byte(`{"source":"jira","ticket":{"issueKey":"ITSM-1","summary":"x"},"extra":1}`), 400, "extra"},
		{"missing source", api.ScopeTicketIngest, js, []byte(`{"ticket":{"issueKey":"ITSM-1","summary":"x"}}`), 400, "source"},
		{"missing key", api.ScopeTicketIngest, js, []byte(`{"source":"jira","ticket":{"summary":"x"}}`), 400, "issueKey"},
		{"missing summary", api.ScopeTicketIngest, js, []byte(`{"source":"jira","ticket":{"issueKey":"ITSM-1"}}`), 400, "summary"},
		{"missing ticket", api.ScopeTicketIngest, js, []byte(`{"source":"jira"}`), 400, "ticket"},
		{"too large", api.ScopeTicketIngest, js, ingestBody(key, "x", strings.Repeat("a", 70<<10), ""), 413, "limit"},
	} {
		status, out, _ := e.do(t, "POST", "/api/v1/tickets/ingest", tc.scope, tc.ctype, tc.body)
		if status != tc.status || !strings.Contains(errMsg(out), tc.msg) {
			t.Errorf("%s: %d %v, want %d mentioning %q", tc.name, status, out, tc.status, tc.msg)
		}
	}
	if runs, _ := e.db.TicketRuns(context.Background(), "", 0); len(runs) != 0 {
		t.Fatalf("bad requests created %d runs", len(runs))
	}

	// 100 concurrent identical posts: one 201, the rest 200, one run.
	var wg sync.WaitGroup
	statuses := make([]int, 100)
	ids := make([]float64, 100)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, out, _ := e.do(t, "POST", "/api/v1/tickets/ingest", api.ScopeTicketIngest, js, body)
			statuses[i] = st
			ids[i], _ = out["runId"].(float64)
		}()
	}
	wg.Wait()
	created := 0
	for i, st := range statuses {
		if st == 201 {
			created++
		} else if st != 200 {
			t.Fatalf("post %d: status %d", i, st)
		}
		if ids[i] != ids[0] || ids[0] == 0 {
			t.Fatalf("run ids %v", ids)
		}
	}
	if created != 1 {
		t.Fatalf("%d posts created the run", created)
	}
	st, out, _ := e.do(t, "POST", "/api/v1/tickets/ingest", api.ScopeTicketIngest, js, body)
	if st != 200 || out["disposition"] != "pending_approval" || out["intent"] != "password_reset" || out["runbook"] != "RB-001" || out["confidence"].(float64) < 0.5 {
		t.Fatalf("retry: %d %v", st, out)
	}
	inputs, _ := json.Marshal(out["inputs"])
	if !strings.Contains(string(inputs), `"source":"text:email"`) {
		t.Fatalf("inputs without provenance: %s", inputs)
	}
	approvalID := int64(out["approvalId"].(float64))
	st, out, _ = e.do(t, "POST", "/api/v1/tickets/ingest", api.ScopeTicketIngest, js, ingestBody(key, "Password reset needed", "something else", "bob@example.com"))
	if st != 409 || !strings.Contains(errMsg(out), "different body") {
		t.Fatalf("different body: %d %v", st, out)
	}
	// no_action answers with its reason.
	st, out, _ = e.do(t, "POST", "/api/v1/tickets/ingest", api.ScopeTicketIngest, js, ingestBody(e.issues[1], "Lunch menu for friday", "", ""))
	if st != 201 || out["disposition"] != "no_action" || out["reason"] == "" {
		t.Fatalf("no_action: %d %v", st, out)
	}

	// The queue.
	st, out, _ = e.do(t, "GET", "/api/v1/approvals?status=pending", api.ScopeApprovalsDecide, "", nil)
	list, _ := out["approvals"].([]any)
	if st != 200 || len(list) != 1 {
		t.Fatalf("pending: %d %v", st, out)
	}
	if st, out, _ = e.do(t, "GET", "/api/v1/approvals?status=bogus", api.ScopeApprovalsDecide, "", nil); st != 400 || !strings.Contains(errMsg(out), "bogus") {
		t.Fatalf("bad status filter: %d %v", st, out)
	}

	// Decisions: reporter refused, bad body refused, approve, second refused.
	path := fmt.Sprintf("/api/v1/approvals/%d/decision", approvalID)
	dec := func(d, who string) []byte {
		b, _ := json.Marshal(map[string]string{"decision": d, "approver": who, "comment": "via API"})
		return b
	}
	if st, out, _ = e.do(t, "POST", path, "as:bob@example.com", js, dec("approve", "bob@example.com")); st != 403 || !strings.Contains(errMsg(out), "own request") {
		t.Fatalf("self-approval: %d %v", st, out)
	}
	// A key decides as its own account only: an unbound key cannot decide,
	// and a bound key naming someone else in the body is refused.
	if st, out, _ = e.do(t, "POST", path, api.ScopeApprovalsDecide, js, dec("approve", "carol@example.com")); st != 403 || !strings.Contains(errMsg(out), "not bound to a Jira account") {
		t.Fatalf("unbound key deciding: %d %v", st, out)
	}
	if st, out, _ = e.do(t, "POST", path, "as:bob@example.com", js, dec("approve", "carol@example.com")); st != 403 || !strings.Contains(errMsg(out), "authenticated as bob@example.com") {
		t.Fatalf("bob's key deciding as carol: %d %v", st, out)
	}
	if st, out, _ = e.do(t, "POST", path, api.ScopeTicketIngest, js, dec("approve", "carol@example.com")); st != 403 {
		t.Fatalf("ingest key deciding: %d %v", st, out)
	}
	if st, out, _ = e.do(t, "POST", path, "as:carol@example.com", js, dec("perhaps", "carol@example.com")); st != 400 || !strings.Contains(errMsg(out), "decision") {
		t.Fatalf("bad decision: %d %v", st, out)
	}
	if st, _, _ = e.do(t, "POST", "/api/v1/approvals/99999/decision", "as:carol@example.com", js, dec("approve", "carol@example.com")); st != 404 {
		t.Fatalf("unknown approval: %d", st)
	}
	if r, _ := e.svc.Get(context.Background(), mustRunByApproval(t, e, approvalID)); r.State != runbook.StatePending {
		t.Fatalf("refused decisions changed the run: %s", r.State)
	}
	if st, out, _ = e.do(t, "POST", path, "as:carol@example.com", js, []byte(`{"decision":"approve","comment":"via API"}`)); st != 200 || out["state"] == "pending_approval" || out["approval"].(map[string]any)["decidedBy"] != "carol@example.com" {
		t.Fatalf("approve: %d %v", st, out)
	}
	if st, out, _ = e.do(t, "POST", path, "as:dave@example.com", js, dec("deny", "dave@example.com")); st != 409 || !strings.Contains(errMsg(out), "already approved") {
		t.Fatalf("second decision: %d %v", st, out)
	}
	waitFor(t, "one comment", func() bool { return e.comments(key) == 1 })
	time.Sleep(100 * time.Millisecond)
	if n := e.comments(key); n != 1 {
		t.Fatalf("%d comments", n)
	}
	e.mu.Lock()
	slackPosts := e.slackN
	e.mu.Unlock()
	if slackPosts < 2 || slackPosts > 4 { // card + note, then update + note
		t.Fatalf("%d Slack calls", slackPosts)
	}

	// The audit trail.
	st, out, _ = e.do(t, "GET", "/api/v1/audit?from=1&limit=3", api.ScopeAuditRead, "", nil)
	recs, _ := out["records"].([]any)
	if st != 200 || len(recs) != 3 || out["next"].(float64) != 4 {
		t.Fatalf("audit page: %d %v", st, out)
	}
	if st, _, _ = e.do(t, "GET", "/api/v1/audit", api.ScopeTicketIngest, "", nil); st != 403 {
		t.Fatalf("audit without scope: %d", st)
	}
	st, out, _ = e.do(t, "GET", "/api/v1/audit/verify", api.ScopeAuditRead, "", nil)
	if st != 200 || out["ok"] != true || out["records"].(float64) < 6 {
		t.Fatalf("verify: %d %v", st, out)
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSlackAndLinkEndpoints(t *testing.T) {
	e := newRBEnv(t)
	setSimText(t, e.sim, e.issues[0], "Password reset needed", "Please reset the password for jane.doe@example.com.")
	_, out, _ := e.do(t, "POST", "/api/v1/tickets/ingest", api.ScopeTicketIngest, "application/json",
		ingestBody(e.issues[0], "Password reset needed", "Please reset the password for jane.doe@example.com.", "bob@example.com"))
	id := int64(out["approvalId"].(float64))
	slack := func(secret string, ts time.Time, body []byte) (int, map[string]any) {
		tss := strconv.FormatInt(ts.Unix(), 10)
		req, _ := http.NewRequest("POST", e.url+"/api/v1/slack/interactivity", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Slack-Request-Timestamp", tss)
		req.Header.Set("X-Slack-Signature", runbook.SlackSignature(secret, tss, body))
		resp, raw := send(t, req, body)
		var m map[string]any
		json.Unmarshal(raw, &m)
		return resp.StatusCode, m
	}
	payload := fmt.Sprintf(`{"type":"block_actions","user":{"id":"U1"},"actions":[{"action_id":"deny","value":"%d"}]}`, id)
	body := []byte("payload=" + url.QueryEscape(payload))
	now := time.Now()
	if st, _ := slack("forged", now, body); st != 401 {
		t.Fatalf("forged: %d", st)
	}
	if st, _ := slack("slack-secret", now.Add(-10*time.Minute), body); st != 401 {
		t.Fatalf("stale: %d", st)
	}
	// U1 is linked to no Jira account: refused, with the reason shown to the user.
	st, m := slack("slack-secret", now, body)
	if st != 200 || !strings.Contains(fmt.Sprint(m["text"]), "is not linked to a Jira account") {
		t.Fatalf("non-approver: %d %v", st, m)
	}
	if st, _ := slack("slack-secret", now, body); st != 401 {
		t.Fatalf("replay: %d", st)
	}

	// The signed link: GET shows a form and decides nothing; POST decides once.
	run, _ := e.svc.Get(context.Background(), int64(out["runId"].(float64)))
	tok := linkToken(t, e, run)
	req, _ := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/approvals/%d/link?token=%s", e.url, id, url.QueryEscape(tok)), nil)
	resp, page := send(t, req, nil)
	if resp.StatusCode != 200 || !strings.Contains(string(page), `<form method="post">`) || !strings.Contains(string(page), e.issues[0]) {
		t.Fatalf("link page: %d %s", resp.StatusCode, page)
	}
	if r, _ := e.svc.Get(context.Background(), run.ID); r.State != runbook.StatePending {
		t.Fatalf("GET decided: %s", r.State)
	}
	post := func(tok string, approver ...string) int {
		v := url.Values{"token": {tok}}
		if len(approver) > 0 {
			v.Set("approver", approver[0])
		}
		form := []byte(v.Encode())
		req, _ := http.NewRequest("POST", fmt.Sprintf("%s/api/v1/approvals/%d/link", e.url, id), bytes.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, _ := send(t, req, form)
		return resp.StatusCode
	}
	if st := post(tok + "x"); st != 401 {
		t.Fatalf("forged link: %d", st)
	}
	// The link decides as the approver it was sent to, not as one a form names.
	if st := post(tok, "dave@example.com"); st != 403 {
		t.Fatalf("link with another approver: %d", st)
	}
	if st := post(tok); st != 200 {
		t.Fatalf("link decision: %d", st)
	}
	if st := post(tok); st != 409 {
		t.Fatalf("reused link: %d", st)
	}
	if r, _ := e.svc.Get(context.Background(), run.ID); r.Approval.Status == "pending" {
		t.Fatalf("link did not decide")
	}
}

// linkToken is the approve link a Teams card would carry.
func linkToken(t *testing.T, e *rbEnv, run runbook.Run) string {
	t.Helper()
	links, err := e.svc.DecisionLinks(context.Background(), run.ID)
	if err != nil || len(links) == 0 {
		t.Fatalf("links: %v %v", links, err)
	}
	u, err := url.Parse(links[0].Approve)
	if err != nil || !strings.HasPrefix(links[0].Approve, "http://placeholder/api/v1/approvals/") {
		t.Fatalf("link %q", links[0].Approve)
	}
	return u.Query().Get("token")
}

func mustRunByApproval(t *testing.T, e *rbEnv, approvalID int64) int64 {
	t.Helper()
	ps, err := e.svc.Approvals(context.Background(), "", approvalID-1, 1)
	if err != nil || len(ps) == 0 {
		t.Fatalf("approval %d: %v", approvalID, err)
	}
	return ps[0].Run.ID
}
