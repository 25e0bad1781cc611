package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"

	"switchyard/api"
)

// consoleClient is a signed-in console browser over plain HTTP.
type consoleClient struct {
	t    *testing.T
	e    *env
	c    *http.Client
	csrf string
}

func signIn(t *testing.T, e *env, secret string) *consoleClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	cc := &consoleClient{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	_, body := cc.get("/console/signin")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("sign-in form has no CSRF token")
	}
	if code, body := cc.post("/console/signin", url.Values{"key": {secret}, "csrf": {m[1]}}); code != 303 {
		t.Fatalf("sign-in: %d %s", code, body)
	}
	return cc
}

func (cc *consoleClient) get(path string) (int, string) {
	cc.t.Helper()
	res, err := cc.c.Get(cc.e.url + path)
	if err != nil {
		cc.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil && strings.HasPrefix(path, "/console/") && path != "/console/signin" {
		cc.csrf = m[1]
	}
	return res.StatusCode, string(b)
}

func (cc *consoleClient) post(path string, form url.Values) (int, string) {
	cc.t.Helper()
	res, err := cc.c.PostForm(cc.e.url+path, form)
	if err != nil {
		cc.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// ingestPending ingests a password-reset ticket for a simulator issue and
// returns its approval id.
func ingestPending(t *testing.T, e *env, issueKey string) int64 {
	t.Helper()
	_, ingestKey := e.key("ingest "+issueKey, api.ScopeTicketIngest)
	setSimText(t, e.sim, issueKey, "Password reset needed", "Please reset the password for jane.doe@example.com.")
	res := e.do("POST", "/api/v1/tickets/ingest", ingestKey, map[string]any{"source": "jira", "ticket": map[string]any{
		"issueKey": issueKey, "summary": "Password reset needed", "description": "Please reset the password for jane.doe@example.com.",
		"reporterEmail": rbReporter}})
	if res.status != 201 || res.body["disposition"] != "pending_approval" {
		t.Fatalf("ingest %s: %d %s", issueKey, res.status, res.raw)
	}
	return int64(res.body["approvalId"].(float64))
}

func TestConsoleApprovals(t *testing.T) {
	e := newEnv(t, envOptions{runbook: true})
	keys := e.simIssueKeys(3)
	a1, a2 := ingestPending(t, e, keys[0]), ingestPending(t, e, keys[1])
	state := func(id int64) string {
		t.Helper()
		r := e.do("GET", fmt.Sprintf("/api/v1/approvals?after=%d&limit=1", id-1), e.admin, nil)
		list := r.body["approvals"].([]any)
		return list[0].(map[string]any)["approval"].(map[string]any)["status"].(string)
	}
	decide := func(cc *consoleClient, id int64, decision, csrf string) (int, string) {
		return cc.post(fmt.Sprintf("/console/approvals/%d/decision", id), url.Values{"decision": {decision}, "csrf": {csrf}, "comment": {"from the console"}})
	}

	admin := signIn(t, e, e.admin)
	code, page := admin.get("/console/approvals")
	if code != 200 || !strings.Contains(page, `id="approval-`+fmt.Sprint(a1)+`"`) || !strings.Contains(page, `href="/console/approvals"`) {
		t.Fatalf("approvals page: %d\n%.600s", code, page)
	}
	// The issue links to the connection's site when the ticket has no URL.
	if want := e.simURL + "/browse/" + keys[0]; !strings.Contains(page, `href="`+want+`"`) {
		t.Errorf("page lacks the issue link %s", want)
	}

	for _, tc := range []struct {
		name     string
		form     url.Values
		path     string
		status   int
		contains string
	}{
		{"no CSRF", url.Values{"decision": {"approve"}}, fmt.Sprintf("/console/approvals/%d/decision", a1), 403, "CSRF"},
		{"approver not set", url.Values{"decision": {"approve"}, "csrf": {admin.csrf}}, fmt.Sprintf("/console/approvals/%d/decision", a1), 400, "approver"},
		{"bad approver", url.Values{"approver": {"bob smith"}, "csrf": {admin.csrf}}, "/console/approvals/approver", 400, "bob smith"},
		{"empty approver", url.Values{"approver": {""}, "csrf": {admin.csrf}}, "/console/approvals/approver", 400, "approver"},
	} {
		code, body := admin.post(tc.path, tc.form)
		if code != tc.status || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: %d, want %d mentioning %q", tc.name, code, tc.status, tc.contains)
		}
	}
	if s := state(a1); s != "pending" {
		t.Fatalf("refused forms changed approval %d: %s", a1, s)
	}

	// Deciding as the reporter is refused and named as such; as a
	// non-approver too; a bad decision value is a 400.
	if code, _ := admin.post("/console/approvals/approver", url.Values{"approver": {rbReporter}, "csrf": {admin.csrf}}); code != 303 {
		t.Fatalf("set approver: %d", code)
	}
	if code, body := decide(admin, a1, "approve", admin.csrf); code != 403 || !strings.Contains(body, "Could not approve "+keys[0]) || !strings.Contains(body, "own request") {
		t.Fatalf("self-approval: %d", code)
	}
	admin.post("/console/approvals/approver", url.Values{"approver": {"mallory@example.com"}, "csrf": {admin.csrf}})
	if code, body := decide(admin, a1, "approve", admin.csrf); code != 403 || !strings.Contains(body, "not a configured approver") {
		t.Fatalf("non-approver: %d", code)
	}
	admin.post("/console/approvals/approver", url.Values{"approver": {rbApprover}, "csrf": {admin.csrf}})
	if code, _ := decide(admin, a1, "maybe", admin.csrf); code != 400 {
		t.Fatalf("bad decision value: %d", code)
	}
	if code, _ := decide(admin, 999999, "approve", admin.csrf); code != 404 {
		t.Fatalf("unknown approval: %d", code)
	}
	if s := state(a1); s != "pending" {
		t.Fatalf("refused decisions changed approval %d: %s", a1, s)
	}

	// Deny a2, approve a1; a second decision is a 409 that names the first.
	if code, _ := decide(admin, a2, "deny", admin.csrf); code != 303 {
		t.Fatalf("deny: %d", code)
	}
	if code, _ := decide(admin, a1, "approve", admin.csrf); code != 303 {
		t.Fatalf("approve: %d", code)
	}
	if code, body := decide(admin, a1, "deny", admin.csrf); code != 409 || !strings.Contains(body, "already approved by "+rbApprover) {
		t.Fatalf("second decision: %d", code)
	}
	if s1, s2 := state(a1), state(a2); s1 != "approved" || s2 != "denied" {
		t.Fatalf("states %s %s", s1, s2)
	}
	// The audit chain records the console as the channel.
	run, err := e.rb.Get(context.Background(), mustRunOf(t, e, a1))
	if err != nil || run.Approval.DecidedBy != rbApprover || run.Approval.Note != "from the console" {
		t.Fatalf("run %+v %v", run.Approval, err)
	}
	code, page = admin.get(fmt.Sprintf("/console/approvals?decided=%d", a1))
	if code != 200 || !strings.Contains(page, keys[0]+": approved by "+rbApprover) || !strings.Contains(page, fmt.Sprintf(`id="history-%d"`, a2)) {
		t.Fatalf("page after decisions: %d", code)
	}
	if strings.Contains(page, fmt.Sprintf(`id="approval-%d"`, a1)) {
		t.Fatal("a decided request is still listed as pending")
	}

	// A console key without approvals:decide sees the queue read-only and
	// cannot decide.
	a3 := ingestPending(t, e, keys[2])
	_, weak := e.key("console only", api.ScopeConfigAdmin)
	ro := signIn(t, e, weak)
	code, page = ro.get("/console/approvals")
	if code != 200 || !strings.Contains(page, `id="no-scope"`) || strings.Contains(page, fmt.Sprintf(`id="approve-%d"`, a3)) {
		t.Fatalf("read-only queue: %d", code)
	}
	ro.post("/console/approvals/approver", url.Values{"approver": {rbApprover}, "csrf": {ro.csrf}})
	if code, body := decide(ro, a3, "approve", ro.csrf); code != 403 || !strings.Contains(body, "approvals:decide") {
		t.Fatalf("decision without approvals:decide: %d", code)
	}
	if s := state(a3); s != "pending" {
		t.Fatalf("a key without approvals:decide changed approval %d: %s", a3, s)
	}
}

// TestConsoleWithoutRunbook: no runbook service, no approvals page or link.
func TestConsoleWithoutRunbook(t *testing.T) {
	e := newEnv(t, envOptions{})
	cc := signIn(t, e, e.admin)
	if code, page := cc.get("/console/connections"); code != 200 || strings.Contains(page, "/console/approvals") {
		t.Fatalf("connections page links the approval queue without a runbook service: %d", code)
	}
	if code, page := cc.get("/console/approvals"); code != 404 || !strings.Contains(page, "not configured") {
		t.Fatalf("approvals page without a runbook service: %d", code)
	}
}

func mustRunOf(t *testing.T, e *env, approvalID int64) int64 {
	t.Helper()
	ps, err := e.rb.Approvals(context.Background(), "", approvalID-1, 1)
	if err != nil || len(ps) == 0 {
		t.Fatalf("approval %d: %v", approvalID, err)
	}
	return ps[0].Run.ID
}
