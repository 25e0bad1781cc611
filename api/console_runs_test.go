package api_test

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// runIDOf is the run id of an approval, from the API.
func runIDOf(t *testing.T, e *env, approval int64) int64 {
	t.Helper()
	r := e.do("GET", fmt.Sprintf("/api/v1/approvals?after=%d&limit=1", approval-1), e.admin, nil)
	list, _ := r.body["approvals"].([]any)
	if r.status != 200 || len(list) != 1 {
		t.Fatalf("approval %d: %d %s", approval, r.status, r.raw)
	}
	return int64(list[0].(map[string]any)["run"].(map[string]any)["id"].(float64))
}

// similarTop3 is the API's three most similar issues to key as account.
func similarTop3(t *testing.T, e *env, key, account string) []string {
	t.Helper()
	r := e.do("GET", "/api/v1/issues/"+url.PathEscape(key)+"/similar?"+url.Values{"as": {account}, "size": {"3"}}.Encode(), e.admin, nil)
	if r.status != 200 {
		t.Fatalf("similar to %s as %s: %d %s", key, account, r.status, r.raw)
	}
	return issueOrder(orderedHits(r))
}

var precedentKeyRE = regexp.MustCompile(`<li>(?:<a href="[^"]*" rel="noopener noreferrer">)?([A-Z][A-Z0-9]*-[0-9]+)`)

// runPrecedent is the keys listed under "Similar past tickets" on a run
// page, in order.
func runPrecedent(t *testing.T, page string) []string {
	t.Helper()
	start := strings.Index(page, `id="run-similar"`)
	if start < 0 {
		t.Fatalf("the run page has no precedent section:\n%.3000s", page)
	}
	block := page[start:]
	block = block[:strings.Index(block, "</section>")]
	var keys []string
	for _, m := range precedentKeyRE.FindAllStringSubmatch(block, -1) {
		keys = append(keys, m[1])
	}
	return keys
}

// TestConsoleRunPageInChromium: in a real browser, an approver signed in
// with Atlassian opens a pending card's run page from the approval queue and
// sees the ticket in full and the similar past tickets with their decisions.
func TestConsoleRunPageInChromium(t *testing.T) {
	e := newEnv(t, envOptions{runbook: true})
	e.syncNow(connName, true)
	ctx := browser(t)
	dir := artifacts(t)
	keys := e.simIssueKeys(1)
	viewer := e.sim.World().AdminAccountID()
	top := similarTop3(t, e, keys[0], viewer)
	if len(top) == 0 {
		t.Fatalf("nothing is similar to %s", keys[0])
	}
	past := ingestPending(t, e, top[0])
	if d := e.do("POST", fmt.Sprintf("/api/v1/approvals/%d/decision", past), e.admin, map[string]string{"decision": "deny", "approver": rbApprover}); d.status != 200 {
		t.Fatalf("deny: %d %s", d.status, d.raw)
	}
	pending := ingestPending(t, e, keys[0])
	id := fmt.Sprint(pending)
	rid := fmt.Sprint(runIDOf(t, e, pending))

	run, text := browserSteps(t, ctx, dir, "run-page-failed")
	e.sim.SetOAuthConsentAs(viewer)
	defer e.sim.SetOAuthConsentAs("")
	run("sign in with Atlassian", chromedp.Navigate(e.url+"/console/signin?next="+url.QueryEscape("/console/approvals")),
		chromedp.WaitVisible(chromedp.CSS("#signin-atlassian")), chromedp.Click(chromedp.CSS("#signin-atlassian")),
		chromedp.WaitVisible(chromedp.CSS("#open-run-"+id)))
	run("open the run page", chromedp.Click(chromedp.CSS("#open-run-"+id)), chromedp.WaitVisible(chromedp.CSS("#run-similar")))
	screenshot(t, ctx, dir, "run-page-01")
	if u, err := chromedp.Run(ctx, chromedp.Location()); err != nil || u != e.url+"/console/runs/"+rid {
		t.Fatalf("the card links to %q (%v), want run %s", u, err, rid)
	}
	if s := text("#run-state"); !strings.Contains(s, "pending_approval") {
		t.Errorf("state %q", s)
	}
	if href := attr(t, ctx, "#run-issue", "href"); href != e.simURL+"/browse/"+keys[0] {
		t.Errorf("issue link %q", href)
	}
	for sel, want := range map[string]string{"#run-summary": "Password reset needed", "#run-intent": "password_reset", "#run-runbook": "RB-001",
		"#run-target": "jane.doe@example.com", "#run-approval-status": "pending", "#run-evidence": "password"} {
		if got := text(sel); !strings.Contains(got, want) {
			t.Errorf("%s is %q, want %q in it", sel, got, want)
		}
	}
	if n := count(t, ctx, "#approve"); n != 1 {
		t.Errorf("the approver has %d approve buttons on the run page, want 1", n)
	}
	similar := text("#run-similar")
	if n := count(t, ctx, "#run-similar li"); n < 1 || n > 3 {
		t.Fatalf("%d similar tickets, want 1 to 3:\n%s", n, similar)
	}
	if !strings.Contains(similar, top[0]) || !strings.Contains(similar, "denied by "+rbApprover) {
		t.Fatalf("the run page does not show %s denied by %s:\n%s", top[0], rbApprover, similar)
	}
	if strings.Contains(similar, keys[0]+" ") {
		t.Fatalf("the run page lists its own issue %s as similar:\n%s", keys[0], similar)
	}
}

// TestConsoleRunPageVisibility: two people who see different tickets in
// Jira see different precedent on the same run page, each only tickets
// they may see; a run whose issue a person may not see is the same 404 as
// an unknown run; the admin key sign-in sees the run without precedent.
func TestConsoleRunPageVisibility(t *testing.T) {
	e := newEnv(t, envOptions{runbook: true})
	e.syncNow(connName, true)
	w := e.sim.World()
	admin := w.AdminAccountID()
	keys := e.simIssueKeys(10)
	approval := ingestPending(t, e, keys[0])
	rid := runIDOf(t, e, approval)
	adminTop := similarTop3(t, e, keys[0], admin)

	// Someone who sees the run's issue but not all of the admin's precedent,
	// and an issue they may not see.
	w.RLock()
	users := append(w.Users[:0:0], w.Users...)
	w.RUnlock()
	var other string
	var otherTop []string
	var hidden string
	for _, u := range users {
		if !u.Active || u.AccountType != "atlassian" || u.AccountID == admin || !w.CanSee(u.AccountID, keys[0], "") {
			continue
		}
		h := ""
		for _, k := range keys[1:] {
			if !w.CanSee(u.AccountID, k, "") {
				h = k
				break
			}
		}
		if h == "" {
			continue
		}
		if top := similarTop3(t, e, keys[0], u.AccountID); !slices.Equal(top, adminTop) {
			other, otherTop, hidden = u.AccountID, top, h
			break
		}
	}
	if other == "" {
		t.Fatalf("no simulator user sees %s with other precedent than the admin (%v)", keys[0], adminTop)
	}
	path := fmt.Sprintf("/console/runs/%d", rid)

	adminPerson := signInAtlassian(t, e, admin)
	code, page := adminPerson.get(path)
	if code != 200 {
		t.Fatalf("run page as the admin person: %d %.1000s", code, page)
	}
	if got := runPrecedent(t, page); !slices.Equal(got, adminTop) {
		t.Errorf("admin's precedent %v, want %v", got, adminTop)
	}
	person := signInAtlassian(t, e, other)
	code, page = person.get(path)
	if code != 200 {
		t.Fatalf("run page as %s: %d %.1000s", other, code, page)
	}
	got := runPrecedent(t, page)
	if !slices.Equal(got, otherTop) {
		t.Errorf("%s's precedent %v, want %v", other, got, otherTop)
	}
	for _, k := range got {
		if !w.CanSee(other, k, "") {
			t.Errorf("%s is shown %s, which they may not see in Jira", other, k)
		}
	}

	// A run on an issue they may not see: the same page as no run at all.
	hiddenRun := runIDOf(t, e, ingestPending(t, e, hidden))
	nonce := regexp.MustCompile(`nonce-[A-Za-z0-9_-]+|nonce="[^"]*"`)
	norm := func(id int64, body string) string {
		return nonce.ReplaceAllString(strings.ReplaceAll(body, fmt.Sprintf("run %d not found", id), "run ID not found"), "")
	}
	codeH, bodyH := person.get(fmt.Sprintf("/console/runs/%d", hiddenRun))
	unknown := hiddenRun + 1000
	codeU, bodyU := person.get(fmt.Sprintf("/console/runs/%d", unknown))
	if codeH != 404 || codeU != 404 || norm(hiddenRun, bodyH) != norm(unknown, bodyU) {
		t.Fatalf("invisible run: %d, unknown run: %d; the pages differ:\n%s\n---\n%s", codeH, codeU, bodyH, bodyU)
	}
	if strings.Contains(bodyH, hidden) {
		t.Fatalf("the 404 names the hidden issue %s", hidden)
	}
	if code, _ := adminPerson.get(fmt.Sprintf("/console/runs/%d", hiddenRun)); code != 200 {
		t.Fatalf("the admin, who sees %s, gets %d", hidden, code)
	}

	// The admin key sign-in sees every run, without precedent.
	cc := signIn(t, e, e.admin)
	code, page = cc.get(path)
	if code != 200 || !strings.Contains(page, `id="similar-needs-person"`) || len(runPrecedent(t, page)) != 0 {
		t.Fatalf("run page as the admin key: %d %.2000s", code, page)
	}
	if code, _ := cc.get("/console/runs/abc"); code != 400 {
		t.Fatalf("a run id that is no number: %d", code)
	}
}

// TestConsoleRunPageLinks: every pending and needs-input card links to its
// run page, and a needs-input run's page says what it waits for and why.
func TestConsoleRunPageLinks(t *testing.T) {
	e := newEnv(t, envOptions{runbook: true})
	e.syncNow(connName, true)
	keys := e.simIssueKeys(2)
	approval := ingestPending(t, e, keys[0])
	rid := runIDOf(t, e, approval)
	setSimText(t, e.sim, keys[1], "Password reset for a colleague", "My colleague forgot her password and cannot log in, please reset it.")
	r := e.do("POST", "/api/v1/tickets/ingest", e.admin, map[string]any{"source": "jira", "ticket": map[string]any{
		"issueKey": keys[1], "summary": "Password reset for a colleague", "description": "My colleague forgot her password and cannot log in, please reset it.", "reporterEmail": rbReporter}})
	if r.status != 201 || r.body["state"] != "needs_input" {
		t.Fatalf("ingest %s: %d %s", keys[1], r.status, r.raw)
	}
	waiting := int64(r.body["runId"].(float64))

	// A link to a run page survives "Sign in with Atlassian" (people may
	// open run pages as well as the queue).
	anon := &consoleClient{t: t, e: e, c: e.client}
	_, page := anon.get("/console/signin?next=" + url.QueryEscape(fmt.Sprintf("/console/runs/%d", rid)))
	if want := "next=" + url.QueryEscape(fmt.Sprintf("/console/runs/%d", rid)); !strings.Contains(page, want) {
		t.Errorf("the Atlassian sign-in does not return to the run page (%s):\n%.3000s", want, page)
	}

	cc := signIn(t, e, e.admin)
	_, page = cc.get("/console/approvals")
	for _, link := range []string{
		fmt.Sprintf(`href="/console/runs/%d" id="open-run-%d"`, rid, approval),
		fmt.Sprintf(`href="/console/runs/%d" id="open-needs-%d"`, waiting, waiting),
	} {
		if !strings.Contains(page, link) {
			t.Errorf("the queue lacks the link %s", link)
		}
	}
	code, page := cc.get(fmt.Sprintf("/console/runs/%d", waiting))
	if code != 200 {
		t.Fatalf("needs-input run page: %d %.1000s", code, page)
	}
	for _, want := range []string{"needs_input", "<code>target_user</code>", "someone else", `id="run-no-approval"`} {
		if !strings.Contains(page, want) {
			t.Errorf("the needs-input run page lacks %q:\n%.4000s", want, page)
		}
	}
}
