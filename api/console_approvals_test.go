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

// signInAtlassian signs a browser in to the console with "Sign in with
// Atlassian" against the simulator's OAuth server, consenting as account.
func signInAtlassian(t *testing.T, e *env, account string) *consoleClient {
	t.Helper()
	e.sim.SetOAuthConsentAs(account)
	t.Cleanup(func() { e.sim.SetOAuthConsentAs("") })
	jar, _ := cookiejar.New(nil)
	cc := &consoleClient{t: t, e: e, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	// Follow the redirects by hand: console → simulator /authorize → callback.
	next := e.url + "/console/signin/atlassian?next=" + url.QueryEscape("/console/approvals")
	for i := 0; i < 5; i++ {
		res, err := cc.c.Get(next)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode == 200 {
			if !strings.Contains(string(b), `url=/console/approvals`) {
				t.Fatalf("sign-in landing page: %s", b)
			}
			return cc
		}
		if res.StatusCode != 302 && res.StatusCode != 303 {
			t.Fatalf("sign-in step %d (%s): %d %s", i, next, res.StatusCode, b)
		}
		loc, _ := res.Location()
		next = loc.String()
	}
	t.Fatal("sign-in with Atlassian did not finish")
	return nil
}

func TestConsoleApprovals(t *testing.T) {
	e := newEnv(t, envOptions{runbook: true})
	keys := e.activeReporterKeys(2)
	e.syncNow(connName, true) // the identity sync maps approvers' e-mails to accounts
	a1, a2 := ingestPending(t, e, keys[0]), ingestPending(t, e, keys[1])
	state := func(id int64) string {
		t.Helper()
		r := e.do("GET", fmt.Sprintf("/api/v1/approvals?after=%d&limit=1", id-1), e.admin, nil)
		list := r.body["approvals"].([]any)
		return list[0].(map[string]any)["approval"].(map[string]any)["status"].(string)
	}
	decide := func(cc *consoleClient, id int64, decision string, extra ...string) (int, string) {
		f := url.Values{"decision": {decision}, "csrf": {cc.csrf}, "comment": {"from the console"}}
		if len(extra) > 0 {
			f.Set("approver", extra[0])
		}
		return cc.post(fmt.Sprintf("/console/approvals/%d/decision", id), f)
	}

	// The admin key session sees the queue but is no person: it cannot decide.
	admin := signIn(t, e, e.admin)
	code, page := admin.get("/console/approvals")
	if code != 200 || !strings.Contains(page, `id="approval-`+fmt.Sprint(a1)+`"`) || !strings.Contains(page, `href="/console/approvals"`) {
		t.Fatalf("approvals page: %d\n%.600s", code, page)
	}
	if !strings.Contains(page, `id="no-person"`) || !strings.Contains(page, `id="signin-atlassian"`) || strings.Contains(page, fmt.Sprintf(`id="approve-%d"`, a1)) || strings.Contains(page, "Deciding as") {
		t.Fatalf("the admin key session is offered a decision:\n%s", page)
	}
	// The issue links to the connection's site when the ticket has no URL.
	if want := e.simURL + "/browse/" + keys[0]; !strings.Contains(page, `href="`+want+`"`) {
		t.Errorf("page lacks the issue link %s", want)
	}
	if code, body := decide(admin, a1, "approve"); code != 403 || !strings.Contains(body, "cannot decide") {
		t.Fatalf("admin key deciding: %d", code)
	}
	if code, body := admin.post(fmt.Sprintf("/console/approvals/%d/decision", a1), url.Values{"decision": {"approve"}}); code != 403 || !strings.Contains(body, "CSRF") {
		t.Fatalf("no CSRF: %d", code)
	}

	// People sign in with Atlassian; the reporter is refused, so is someone
	// who is no approver, and so is a form naming someone else.
	reporter := signInAtlassian(t, e, e.simReporter(keys[0]))
	if code, page := reporter.get("/console/approvals"); code != 200 || !strings.Contains(page, `id="approver-account">`+e.simReporter(keys[0])) {
		t.Fatalf("the reporter's queue: %d", code)
	}
	if code, body := decide(reporter, a1, "approve"); code != 403 || !strings.Contains(body, "Could not approve "+keys[0]) || !strings.Contains(body, "own request") {
		t.Fatalf("self-approval: %d", code)
	}
	outsider := signInAtlassian(t, e, e.simOutsider().AccountID)
	outsider.get("/console/approvals")
	// The outsider may neither see the issue nor decide: refused, and the
	// page names neither the issue nor why (that would say who is who).
	if code, body := decide(outsider, a1, "approve"); code != 404 || strings.Contains(body, keys[0]) || !strings.Contains(body, "no such request among yours") {
		t.Fatalf("non-approver: %d", code)
	}
	ap := e.simApprover()
	person := signInAtlassian(t, e, ap.AccountID)
	if code, page := person.get("/console/approvals"); code != 200 || !strings.Contains(page, fmt.Sprintf(`id="approve-%d"`, a1)) || !strings.Contains(page, ap.DisplayName) {
		t.Fatalf("the approver's queue: %d", code)
	}
	if code, body := decide(person, a1, "approve", "dave@example.com"); code != 403 || !strings.Contains(body, "authenticated as "+ap.AccountID) {
		t.Fatalf("a form naming another approver: %d", code)
	}
	if code, _ := decide(person, a1, "maybe"); code != 400 {
		t.Fatalf("bad decision value: %d", code)
	}
	if code, _ := decide(person, 999999, "approve"); code != 404 {
		t.Fatalf("unknown approval: %d", code)
	}
	if s := state(a1); s != "pending" {
		t.Fatalf("refused decisions changed approval %d: %s", a1, s)
	}
	// A person session opens the approval queue only.
	if code, body := person.get("/console/connections"); code != 403 || !strings.Contains(body, "admin key sign-in") {
		t.Fatalf("person on an admin page: %d", code)
	}

	// Deny a2, approve a1; a second decision is a 409 that names the first.
	if code, body := decide(person, a2, "deny"); code != 303 {
		t.Fatalf("deny: %d %s", code, errorText(body))
	}
	if code, _ := decide(person, a1, "approve", ap.Email); code != 303 {
		t.Fatalf("approve: %d", code)
	}
	if code, body := decide(person, a1, "deny"); code != 409 || !strings.Contains(body, "already approved by "+ap.AccountID) {
		t.Fatalf("second decision: %d", code)
	}
	if s1, s2 := state(a1), state(a2); s1 != "approved" || s2 != "denied" {
		t.Fatalf("states %s %s", s1, s2)
	}
	run, err := e.rb.Get(context.Background(), mustRunOf(t, e, a1))
	if err != nil || run.Approval.DecidedBy != ap.AccountID || run.Approval.Note != "from the console" {
		t.Fatalf("run %+v %v", run.Approval, err)
	}
	code, page = person.get(fmt.Sprintf("/console/approvals?decided=%d", a1))
	if code != 200 || !strings.Contains(page, keys[0]+": approved by "+ap.AccountID) || !strings.Contains(page, fmt.Sprintf(`id="history-%d"`, a2)) {
		t.Fatalf("page after decisions: %d", code)
	}
	if strings.Contains(page, fmt.Sprintf(`id="approval-%d"`, a1)) {
		t.Fatal("a decided request is still listed as pending")
	}
	_ = api.ScopeConfigAdmin
}

func (e *env) simReporter(key string) string {
	w := e.sim.World()
	w.RLock()
	defer w.RUnlock()
	return w.IssueByKey(key).Reporter
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

// activeReporterKeys are issues among the first ten whose reporter is an
// active person (who can sign in).
func (e *env) activeReporterKeys(n int) []string {
	e.t.Helper()
	w := e.sim.World()
	w.RLock()
	defer w.RUnlock()
	var out []string
	for i, iss := range w.Issues {
		if i >= 10 || len(out) == n {
			break
		}
		if u := w.UserByID(iss.Reporter); u != nil && u.Active {
			out = append(out, iss.Key)
		}
	}
	if len(out) < n {
		e.t.Fatalf("only %d of the first issues have an active reporter", len(out))
	}
	return out
}

// errorText is the console page's error message.
func errorText(page string) string {
	if i := strings.Index(page, `id="error">`); i >= 0 {
		rest := page[i+len(`id="error">`):]
		if j := strings.Index(rest, "<"); j >= 0 {
			return rest[:j]
		}
	}
	return "(no error on the page)"
}
