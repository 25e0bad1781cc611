package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchyard/connector/jirasim"
	"switchyard/runbook"
	"switchyard/store"
)

// waitFirstSync waits for serve's first scheduled sync to finish, so that
// the store knows Jira's users (ingest names reporters by the synced users).
func waitFirstSync(t *testing.T, p *serveProc, adminKey string) {
	t.Helper()
	var st struct {
		Connections []struct {
			State    string            `json:"state"`
			LastRuns []json.RawMessage `json:"lastRuns"`
		} `json:"connections"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code := getJSON(t, p.url+"/api/v1/sync/status", adminKey, &st); code != 200 {
			t.Fatalf("sync status: %d", code)
		}
		if len(st.Connections) > 0 && len(st.Connections[0].LastRuns) > 0 && st.Connections[0].State == "idle" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first sync did not finish: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// startServeLogged is startServe keeping serve's log (stderr) and stdout.
func startServeLogged(t *testing.T, cfgPath string) (*serveProc, *lockedBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &lockedBuffer{}
	pr, pw := io.Pipe()
	p := &serveProc{done: make(chan int, 1), cancel: cancel}
	go func() {
		p.done <- run(ctx, []string{"serve", "--config", cfgPath, "--addr", "127.0.0.1:0"}, io.MultiWriter(pw, logs), logs)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	for p.url == "" && sc.Scan() {
		if u, ok := strings.CutPrefix(sc.Text(), "switchyard serving on "); ok {
			p.url = u
		}
	}
	if p.url == "" {
		t.Fatalf("serve did not start: %s", logs.String())
	}
	go io.Copy(io.Discard, pr)
	t.Cleanup(func() { p.stop(t) })
	return p, logs
}

// closedAddr is a local address nobody listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// TestSecretsNeverLeak: serve with every kind of configured secret (a Teams
// Workflows URL with its sig=, a Slack bot token and signing secret, a
// webhook notifier whose path and query carry tokens, a webhook executor URL
// with a token and its signing secret, the link secret, the Jira API token,
// the Jira webhook secret and the admin API key), with every notifier and
// the executor failing (closed ports). After the failed deliveries, the
// retries, the approval, the failed execution and its write-back, none of
// the secrets appears in the log, in the approvals API, in the audit chain
// (API and verify), in the Jira comment, or anywhere in the SQLite files.
func TestSecretsNeverLeak(t *testing.T) {
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 5, Projects: 2, Issues: 10}})
	hs := httptest.NewServer(sim)
	sim.SetBaseURL(hs.URL)
	defer func() { hs.Close(); sim.Close() }()
	dir := t.TempDir()
	down := closedAddr(t)
	sec := map[string]string{
		"teams sig":            "TeamsSig0Secret9vX7kQ2pL4mN8",
		"teams workflow id":    "3f9a2c7e1b8d4e6f9a0b1c2d3e4f5a6b",
		"slack bot token":      "xoxb-1111-2222-SlackBotSecret",
		"slack signing secret": "SlackSigningSecret8f3e2d1c",
		"notifier path token":  "HookPathSecret7d6c5b4a3f",
		"notifier secret":      "NotifierHmacSecret2b1a09",
		"executor token":       "ExecPathToken9a8b7c6d5e",
		"executor secret":      "ExecHmacSecret4f5e6d7c8b",
		"link secret":          "LinkSecret0123456789abcdef",
		"jira api token":       jirasim.DefaultAdminToken,
		"jira webhook secret":  "JiraWebhookSecret6a5b4c3d",
		"admin api key":        store.GenerateAPIKeySecret(),
	}
	teamsURL := "https://" + down + "/workflows/" + sec["teams workflow id"] + "/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + sec["teams sig"]
	cfg := fmt.Sprintf(`data_dir: %s
log: {level: debug, format: json}
server: {addr: "127.0.0.1:0"}
connections:
  - name: acme
    kind: cloud
    url: %s
    auth: {type: api_token, email: %s, token: %s}
    requests_per_second: 1000
    webhook_secret: %s
    sync: {strategy: scheduled, interval: 60m}
classify: {index: %s}
approvals:
  sandbox: false
  approvers: [%s]
  link_secret: %s
  default_executor: webhook
  executors:
    default: {kind: webhook, url: "http://%s/flo/reset/%s", secret: %s, timeout: 2s}
notifiers:
  slack: {bot_token: %s, channel: C1, signing_secret: %s, api_url: "http://%s/api"}
  teams: {webhook_url: %q}
  webhook: {url: "http://%s/hooks/T0001/%s", secret: %s}
`, filepath.Join(dir, "data"), hs.URL, sim.AdminEmail(), sec["jira api token"], sec["jira webhook secret"],
		filepath.Join(dir, "examples.bleve"), sim.AdminEmail(), sec["link secret"],
		down, sec["executor token"], sec["executor secret"],
		sec["slack bot token"], sec["slack signing secret"], down, teamsURL,
		down, sec["notifier path token"], sec["notifier secret"])
	cfgPath := filepath.Join(dir, "switchyard.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	adminKey := sec["admin api key"]
	t.Setenv("SWITCHYARD_ADMIN_KEY", adminKey)
	p, logs := startServeLogged(t, cfgPath)
	waitFirstSync(t, p, adminKey)

	w := sim.World()
	desc := "Please reset the password for jane.doe@example.com, she forgot it."
	iss, err := w.CreateIssue("", jirasim.IssueCreate{ProjectKey: w.Projects[0].Key, Summary: "Password reset needed", Description: desc, Reporter: otherUser(t, sim)})
	if err != nil {
		t.Fatal(err)
	}
	bearer := adminKey // the admin key, then a key bound to the approver
	call := func(method, path string, body any, v any) int {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, _ := json.Marshal(body)
			rd = bytes.NewReader(b)
		}
		req, _ := http.NewRequest(method, p.url+path, rd)
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if v != nil {
			if err := json.Unmarshal(raw, v); err != nil {
				t.Fatalf("%s %s: %d %s", method, path, res.StatusCode, raw)
			}
		}
		return res.StatusCode
	}
	var ing struct {
		ApprovalID int64 `json:"approvalId"`
		RunID      int64 `json:"runId"`
	}
	if code := call("POST", "/api/v1/tickets/ingest", map[string]any{"source": "jira", "ticket": map[string]string{
		"issueKey": iss.Key, "summary": "Password reset needed", "description": desc}}, &ing); code != 201 || ing.ApprovalID == 0 {
		t.Fatalf("ingest: %d %+v", code, ing)
	}

	// Every notifier fails at least twice (a retry), with its error recorded.
	type approvals struct {
		Approvals []struct {
			Run runbook.Run `json:"run"`
		} `json:"approvals"`
	}
	var answers []string
	collect := func(path string) runbook.Run {
		t.Helper()
		var raw json.RawMessage
		if code := call("GET", path, nil, &raw); code != 200 {
			t.Fatalf("GET %s: %d %s", path, code, raw)
		}
		answers = append(answers, string(raw))
		var a approvals
		_ = json.Unmarshal(raw, &a)
		if len(a.Approvals) != 1 {
			t.Fatalf("GET %s: %s", path, raw)
		}
		return a.Approvals[0].Run
	}
	waitFor := func(what string, ok func(runbook.Run) bool) runbook.Run {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			r := collect("/api/v1/approvals")
			if ok(r) {
				return r
			}
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s: %+v", what, r)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	r := waitFor("failed deliveries", func(r runbook.Run) bool {
		failed := 0
		for _, n := range r.Notifications {
			if n.Attempts >= 2 && n.LastError != "" {
				failed++
			}
		}
		return failed == 3
	})
	for _, n := range r.Notifications {
		if !strings.Contains(n.LastError, "127.0.0.1") {
			t.Errorf("%s's last error does not say where it failed: %q", n.Notifier, n.LastError)
		}
	}
	var created struct {
		Secret string `json:"secret"`
	}
	if code := call("POST", "/api/v1/keys", map[string]any{"name": "approver", "scopes": []string{"approvals:decide"}, "as": sim.AdminEmail()}, &created); code != 201 {
		t.Fatalf("create a key bound to the approver: %d", code)
	}
	bearer = created.Secret
	var run runbook.Run
	if code := call("POST", fmt.Sprintf("/api/v1/approvals/%d/decision", ing.ApprovalID), map[string]string{"decision": "approve", "approver": sim.AdminEmail()}, &run); code != 200 {
		t.Fatalf("decision: %d %+v", code, run)
	}
	bearer = adminKey
	r = waitFor("the failed execution's write-back", func(r runbook.Run) bool {
		return r.State == runbook.StateFailed && r.WriteBack != nil && r.WriteBack.Status == "done"
	})
	if r.Execution == nil || !strings.Contains(r.Execution.Error, "refused") {
		t.Fatalf("execution %+v", r.Execution)
	}
	collect("/api/v1/approvals?status=approved")
	var auditList, verify json.RawMessage
	if code := call("GET", "/api/v1/audit?limit=1000", nil, &auditList); code != 200 {
		t.Fatalf("audit: %d", code)
	}
	if code := call("GET", "/api/v1/audit/verify", nil, &verify); code != 200 {
		t.Fatalf("audit verify: %d", code)
	}
	if !strings.Contains(string(auditList), "teams webhook") || !strings.Contains(string(auditList), "refused") {
		t.Fatalf("the audit chain lacks the failures it should record: %.2000s", auditList)
	}
	w.RLock()
	var comments []string
	for _, c := range w.IssueByKey(iss.Key).Comments {
		comments = append(comments, string(c.Body))
	}
	w.RUnlock()
	if len(comments) != 1 {
		t.Fatalf("%d comments", len(comments))
	}
	p.stop(t) // flush and close the store before reading its files

	log := logs.String()
	if !strings.Contains(log, "will retry") {
		t.Fatalf("the log lacks the retried failures it should show: %.3000s", log)
	}
	files := map[string]string{"log": log, "approvals API": strings.Join(answers, "\n"),
		"audit API": string(auditList) + string(verify), "Jira comment": strings.Join(comments, "\n")}
	dbFiles, _ := filepath.Glob(filepath.Join(dir, "data", "*"))
	for _, f := range dbFiles {
		if st, err := os.Stat(f); err != nil || st.IsDir() {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		files[filepath.Base(f)] = string(b)
	}
	if _, ok := files["switchyard.db"]; !ok {
		t.Fatalf("no SQLite file among %v", dbFiles)
	}
	for where, text := range files {
		for what, s := range sec {
			if strings.Contains(text, s) {
				t.Errorf("the %s (%s) appears in %s", what, s, where)
			}
		}
	}
}
