package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"switchyard/api"
)

// TestConsoleNeedsInputInChromium: in a real browser, a ticket for someone
// else that names nobody shows in the Needs input queue with what it misses
// and why; a bad e-mail is refused on the page and changes nothing; the
// agent's target sends it to the pending queue, whose card names the words
// that decided the intent; a resolved ticket is listed as not acted on with
// its reason.
func TestConsoleNeedsInputInChromium(t *testing.T) {
	e := newEnv(t, envOptions{runbook: true})
	ctx := browser(t)
	dir := artifacts(t)
	keys := e.simIssueKeys(2)
	run, text := browserSteps(t, ctx, dir, "needs-input-failed")
	_, ingestKey := e.key("ingest", api.ScopeTicketIngest)
	ingest := func(key, summary, desc string) map[string]any {
		t.Helper()
		// Ingest classifies Jira's own text, so Jira holds the ticket's text.
		setSimText(t, e.sim, key, summary, desc)
		res := e.do("POST", "/api/v1/tickets/ingest", ingestKey, map[string]any{"source": "jira", "ticket": map[string]any{
			"issueKey": key, "summary": summary, "description": desc, "reporterEmail": rbReporter}})
		if res.status != 201 {
			t.Fatalf("ingest %s: %d %s", key, res.status, res.raw)
		}
		return res.body
	}
	waiting := ingest(keys[0], "Password reset for a colleague", "My colleague forgot her password and cannot log in, please reset it.")
	if waiting["state"] != "needs_input" {
		t.Fatalf("ingest: %v", waiting)
	}
	rid := fmt.Sprint(int64(waiting["runId"].(float64)))
	resolved := ingest(keys[1], "Account locked", "My account was locked this morning but the problem is solved now, thanks.")
	if resolved["state"] != "no_action" || resolved["reason"] != "resolved" {
		t.Fatalf("resolved ticket: %v", resolved)
	}

	run("sign in", chromedp.Navigate(e.url+"/console/"), chromedp.WaitVisible(chromedp.CSS("#key")),
		chromedp.SendKeys(chromedp.CSS("#key"), e.admin+"\r"), chromedp.WaitVisible(chromedp.CSS("#connections")))
	run("open approvals", chromedp.Navigate(e.url+"/console/approvals"), chromedp.WaitVisible(chromedp.CSS("#run-"+rid)))
	if m := text("#missing-" + rid); m != "target_user" {
		t.Fatalf("missing %q", m)
	}
	if why := text("#why-" + rid); !strings.Contains(why, "someone else") {
		t.Fatalf("why %q", why)
	}
	if row := text("#not-acted"); !strings.Contains(row, keys[1]) || !strings.Contains(row, "resolved") || !strings.Contains(row, "problem is solved") {
		t.Fatalf("not-acted list %q", row)
	}
	screenshot(t, ctx, dir, "needs-input-01-queue")

	// A bad e-mail: the page says why, the run still waits.
	run("bad target", chromedp.SetAttributeValue(chromedp.CSS("#input-"+rid+"-target_user"), "type", "text"),
		chromedp.SendKeys(chromedp.CSS("#input-"+rid+"-target_user"), "jane"), chromedp.Click(chromedp.CSS("#send-"+rid)),
		chromedp.WaitVisible(chromedp.CSS("#error")))
	if msg := text("#error"); !strings.Contains(msg, "not an e-mail address") || !strings.Contains(msg, keys[0]) {
		t.Fatalf("bad target error %q", msg)
	}
	if r := e.do("GET", "/api/v1/runs/needs-input", ingestKey, nil); len(r.body["runs"].([]any)) != 1 {
		t.Fatalf("the refused input changed the queue: %s", r.raw)
	}
	// The right target, by keyboard: the run moves to the pending queue.
	run("good target", chromedp.Navigate(e.url+"/console/approvals"), chromedp.WaitVisible(chromedp.CSS("#input-"+rid+"-target_user")),
		chromedp.SendKeys(chromedp.CSS("#input-"+rid+"-target_user"), "jane.doe@example.com\r"),
		chromedp.WaitVisible(chromedp.CSS("#flash")))
	if msg := text("#flash"); !strings.Contains(msg, keys[0]+": sent for approval") || !strings.Contains(msg, "jane.doe@example.com") {
		t.Fatalf("flash %q", msg)
	}
	r := e.do("GET", "/api/v1/approvals?status=pending", e.admin, nil)
	list := r.body["approvals"].([]any)
	if len(list) != 1 {
		t.Fatalf("pending after supply: %s", r.raw)
	}
	aid := fmt.Sprint(int64(list[0].(map[string]any)["approval"].(map[string]any)["id"].(float64)))
	if n := count(t, ctx, "#run-"+rid); n != 0 {
		t.Fatal("the run is still in the needs input queue")
	}
	card := text("#approval-" + aid)
	for _, want := range []string{"jane.doe@example.com", "RB-001"} {
		if !strings.Contains(card, want) {
			t.Errorf("pending card lacks %q:\n%s", want, card)
		}
	}
	if ev := text("#evidence-" + aid); !strings.Contains(ev, "password") || !strings.Contains(ev, "decided by the words") {
		t.Errorf("evidence %q", ev)
	}
	screenshot(t, ctx, dir, "needs-input-02-pending")
}

// TestConsoleNeedsInputScope: a key without ticket:ingest sees the queue
// but no form, and a forged post is refused with the scope named.
func TestConsoleNeedsInputScope(t *testing.T) {
	e := newEnv(t, envOptions{runbook: true})
	key := e.simIssueKeys(1)[0]
	_, ingestKey := e.key("ingest", api.ScopeTicketIngest)
	setSimText(t, e.sim, key, "Unlock", "My colleague is locked out of his account, please unlock it.")
	res := e.do("POST", "/api/v1/tickets/ingest", ingestKey, map[string]any{"source": "jira", "ticket": map[string]any{
		"issueKey": key, "summary": "Unlock", "description": "My colleague is locked out of his account, please unlock it.", "reporterEmail": rbReporter}})
	if res.status != 201 || res.body["state"] != "needs_input" {
		t.Fatalf("ingest: %d %s", res.status, res.raw)
	}
	id := int64(res.body["runId"].(float64))
	_, approverKey := e.key("approver", api.ScopeConfigAdmin, api.ScopeApprovalsDecide)
	cc := signIn(t, e, approverKey)
	code, page := cc.get("/console/approvals")
	if code != 200 || !strings.Contains(page, fmt.Sprintf(`id="run-%d"`, id)) || strings.Contains(page, fmt.Sprintf(`id="supply-%d"`, id)) {
		t.Fatalf("page: %d (want the run listed without a form)", code)
	}
	code, body := cc.post(fmt.Sprintf("/console/runs/%d/inputs", id), url.Values{"csrf": {cc.csrf}, "input.target_user": {"jane.doe@example.com"}})
	if code != 403 || !strings.Contains(body, "ticket:ingest") {
		t.Fatalf("forged post: %d", code)
	}
	if r := e.do("GET", "/api/v1/runs/needs-input", ingestKey, nil); len(r.body["runs"].([]any)) != 1 {
		t.Fatalf("the refused post changed the run: %s", r.raw)
	}
	// People decide, agents supply: a person signed in with Atlassian is
	// shown neither the needs-input list nor the runs not acted on (their
	// tickets are nobody's to show), whatever Jira lets them see.
	person := signInAtlassian(t, e, e.sim.World().AdminAccountID())
	if code, page := person.get("/console/approvals"); code != 200 || strings.Contains(page, fmt.Sprintf(`id="run-%d"`, id)) || strings.Contains(page, key) {
		t.Fatalf("a person's queue lists the needs-input run %d (%s): %d", id, key, code)
	}
}
