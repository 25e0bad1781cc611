package api_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"switchyard/api"
)

const chromiumPath = "/usr/bin/chromium"

// browser starts headless Chromium (Debian's chromium package). A missing
// browser is a failure, not a skip: scripts/test installs it.
func browser(t *testing.T) context.Context {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Fatalf("%s not found: run scripts/test (it installs chromium) or apt-get install -y chromium", chromiumPath)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1366, 900),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, 150*time.Second)
	t.Cleanup(func() { cancelT(); cancelC(); cancelA() })
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// artifacts is where screenshots go: $TEST_ARTIFACTS when set.
func artifacts(t *testing.T) string {
	dir := os.Getenv("TEST_ARTIFACTS")
	if dir == "" {
		dir = t.TempDir()
	} else {
		dir = filepath.Join(dir, "console")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func screenshot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", p)
}

// browserSteps returns the two helpers every console browser test uses: run
// performs actions within 20 s (a screenshot named failShot on failure),
// text reads an element's text.
func browserSteps(t *testing.T, ctx context.Context, dir, failShot string) (run func(what string, actions ...chromedp.Action[chromedp.Void]), text func(sel string) string) {
	run = func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			screenshot(t, ctx, dir, failShot)
			t.Fatalf("%s: %v", what, err)
		}
	}
	text = func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	return run, text
}

func attr(t *testing.T, ctx context.Context, sel, name string) string {
	t.Helper()
	a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(sel), name))
	if err != nil {
		t.Fatalf("attribute %s of %s: %v", name, sel, err)
	}
	return a.Value
}

func count(t *testing.T, ctx context.Context, sel string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
	if err != nil {
		t.Fatalf("count %s: %v", sel, err)
	}
	return n
}

func TestConsoleInChromium(t *testing.T) {
	e := newEnv(t, envOptions{runbook: true})
	ctx := browser(t)
	dir := artifacts(t)
	account, visible, hidden := e.viewerPair()
	run, text := browserSteps(t, ctx, dir, "failed")

	// Unauthenticated: the console sends us to sign in; a wrong key is refused.
	run("open console", chromedp.Navigate(e.url+"/console/"), chromedp.WaitVisible(chromedp.CSS("#key")))
	screenshot(t, ctx, dir, "01-signin")
	run("bad key", chromedp.SendKeys(chromedp.CSS("#key"), "sy_notarealkey"), chromedp.Click(chromedp.CSS("#signin-submit")), chromedp.WaitVisible(chromedp.CSS("#error")))
	if msg := text("#error"); !strings.Contains(msg, "API key") {
		t.Fatalf("bad key message %q", msg)
	}
	// Sign in with the admin key, by keyboard.
	run("sign in", chromedp.SendKeys(chromedp.CSS("#key"), e.admin+"\r"), chromedp.WaitVisible(chromedp.CSS("#connections")))
	if s := text("#status-" + connName); s != "connected" {
		t.Fatalf("connection status %q", s)
	}
	screenshot(t, ctx, dir, "02-connections")

	// Filters: a bad value is refused with the field named; a good one is saved.
	run("open filters", chromedp.Navigate(e.url+"/console/filters"), chromedp.WaitVisible(chromedp.CSS("#filters")))
	run("bad filter", chromedp.SendKeys(chromedp.CSS("#projects_in"), "lowercase"), chromedp.Click(chromedp.CSS("#save-filters")), chromedp.WaitVisible(chromedp.CSS("#error")))
	if msg := text("#error"); !strings.Contains(msg, "projects.in") {
		t.Fatalf("filter error %q does not name projects.in", msg)
	}
	if cs, _ := e.db.ConnectionState(context.Background(), connName); len(cs.Filters) != 0 {
		t.Fatalf("a refused filter was stored: %s", cs.Filters)
	}
	keep := strings.SplitN(visible.Key, "-", 2)[0]
	run("good filter", chromedp.SetValue(chromedp.CSS("#projects_in"), keep), chromedp.Click(chromedp.CSS("#save-filters")), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if s := text("#source"); s != "api" {
		t.Fatalf("filter source after save: %q", s)
	}
	cs, _ := e.db.ConnectionState(context.Background(), connName)
	if !strings.Contains(string(cs.Filters), keep) {
		t.Fatalf("saved filters %s lack %s", cs.Filters, keep)
	}
	screenshot(t, ctx, dir, "03-filters")

	// Sync: start a full sync and watch the live status until the run is listed.
	run("open sync", chromedp.Navigate(e.url+"/console/sync"), chromedp.WaitVisible(chromedp.CSS("#full-sync-"+connName)))
	run("full sync", chromedp.Click(chromedp.CSS("#full-sync-"+connName)), chromedp.WaitVisible(chromedp.CSS("#flash")))
	deadline := time.Now().Add(60 * time.Second)
	for {
		runs := text("#runs-" + connName)
		if text("#state-"+connName) == "idle" && strings.Contains(runs, "full") && strings.Contains(runs, "ok") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the sync did not finish on the page: state %q runs %q", text("#state-"+connName), runs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	screenshot(t, ctx, dir, "04-sync")

	// Search as a user: the visible issue is listed, a hidden one is not.
	run("open search", chromedp.Navigate(e.url+"/console/search"), chromedp.WaitVisible(chromedp.CSS("#search")))
	run("search", chromedp.SendKeys(chromedp.CSS("#as"), account), chromedp.SendKeys(chromedp.CSS("#q"), "key:"+visible.Key+"\r"),
		chromedp.WaitVisible(chromedp.CSS("#results")))
	if s := text("#results"); !strings.Contains(s, visible.Key) {
		t.Fatalf("search results %q lack %s", s, visible.Key)
	}
	screenshot(t, ctx, dir, "05-search")
	run("search hidden", chromedp.Navigate(e.url+"/console/search?connection="+connName+"&as="+account+"&q=key:"+hidden.Key), chromedp.WaitVisible(chromedp.CSS("#results")))
	if s := text("#results"); strings.Contains(s, hidden.Key) {
		t.Fatalf("search as %s shows %s, which they may not see", account, hidden.Key)
	}

	// The approval queue: a ticket ingested through the API (ticket:ingest
	// key) waits for a decision; the reporter is refused, an approver approves
	// by keyboard, and the request moves to the decided list.
	_, ingestKey := e.key("ingest", api.ScopeTicketIngest)
	setSimText(t, e.sim, visible.Key, "Password reset needed", "Please reset the password for jane.doe@example.com.")
	res := e.do("POST", "/api/v1/tickets/ingest", ingestKey, map[string]any{"source": "jira", "ticket": map[string]any{
		"issueKey": visible.Key, "summary": "Password reset needed", "description": "Please reset the password for jane.doe@example.com.",
		"url": e.simURL + "/browse/" + visible.Key, "reporterEmail": rbReporter}})
	if res.status != 201 || res.body["disposition"] != "pending_approval" {
		t.Fatalf("ingest: %d %s", res.status, res.raw)
	}
	id := fmt.Sprint(int64(res.body["approvalId"].(float64)))
	run("open approvals", chromedp.Click(chromedp.CSS("#nav-approvals")), chromedp.WaitVisible(chromedp.CSS("#approval-"+id)))
	card := text("#approval-" + id)
	// The card names Jira's reporter, not the one the ingest caller claimed.
	jiraReporter := "Jira account " + visible.Reporter
	if u, err := e.db.User(context.Background(), connName, visible.Reporter); err == nil && u.Email != "" {
		jiraReporter = u.Email
	}
	for _, want := range []string{visible.Key, "Password reset needed", "password_reset", "RB-001", "jane.doe@example.com", "text:email", jiraReporter, "in 23h"} {
		if !strings.Contains(card, want) {
			t.Errorf("pending approval card lacks %q:\n%s", want, card)
		}
	}
	if href := attr(t, ctx, "#title-"+id+" a", "href"); href != e.simURL+"/browse/"+visible.Key {
		t.Errorf("issue link %q", href)
	}
	// The admin key session is no person: no decision buttons, and an offer
	// to sign in with Atlassian.
	if n := count(t, ctx, "#approve-"+id); n != 0 {
		t.Fatal("approve button shown to the admin key session")
	}
	if n := count(t, ctx, "#approver"); n != 0 {
		t.Fatal("the console still asks who is deciding")
	}
	if msg := text("#no-person"); !strings.Contains(msg, "cannot decide") {
		t.Fatalf("admin key session note %q", msg)
	}
	screenshot(t, ctx, dir, "06-approvals-admin")
	// The reporter signs in with Atlassian (the simulator's OAuth server
	// consents as them) and may not approve their own request.
	// #key is only on the sign-in page (the queue has its own #signin-atlassian).
	run("sign out admin", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#key")), chromedp.WaitVisible(chromedp.CSS("#signin-atlassian")))
	w := e.sim.World()
	if err := w.SetUserActive(w.AdminAccountID(), visible.Reporter, true); err != nil { // an inactive account cannot sign in
		t.Fatal(err)
	}
	// The queue shows a person only what Jira lets them see, as of the
	// last identity sync: sync the reactivation.
	e.syncNow(connName, true)
	e.sim.SetOAuthConsentAs(visible.Reporter)
	defer e.sim.SetOAuthConsentAs("")
	run("sign in as the reporter", chromedp.Click(chromedp.CSS("#signin-atlassian")), chromedp.WaitVisible(chromedp.CSS("#approve-"+id)))
	if s := text("#approver-account"); s != visible.Reporter {
		t.Fatalf("signed in as %q, want the reporter %s", s, visible.Reporter)
	}
	run("self-approval", chromedp.Click(chromedp.CSS("#approve-"+id)), chromedp.WaitVisible(chromedp.CSS("#error")))
	if msg := text("#error"); !strings.Contains(msg, "own request") {
		t.Fatalf("self-approval error %q", msg)
	}
	screenshot(t, ctx, dir, "07-approvals-refused")
	if r := e.do("GET", "/api/v1/approvals?status=pending", e.admin, nil); len(r.body["approvals"].([]any)) != 1 {
		t.Fatalf("the refused approval changed the queue: %s", r.raw)
	}
	// An approver signs in with Atlassian and approves, by keyboard.
	ap := e.simApprover()
	run("sign out reporter", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#key")), chromedp.WaitVisible(chromedp.CSS("#signin-atlassian")))
	e.sim.SetOAuthConsentAs(ap.AccountID)
	run("sign in as the approver", chromedp.Click(chromedp.CSS("#signin-atlassian")), chromedp.WaitVisible(chromedp.CSS("#approve-"+id)))
	if s := text("#approver-account"); s != ap.AccountID {
		t.Fatalf("signed in as %q, want %s", s, ap.AccountID)
	}
	screenshot(t, ctx, dir, "08-approvals-pending")
	run("approve", chromedp.SendKeys(chromedp.CSS("#comment-"+id), "checked with the user"), chromedp.Focus(chromedp.CSS("#approve-"+id)),
		chromedp.KeyEvent("\r"), chromedp.WaitVisible(chromedp.CSS("#history-"+id)), chromedp.WaitVisible(chromedp.CSS("#no-pending")))
	if row := text("#history-" + id); !strings.Contains(row, "approved") || !strings.Contains(row, ap.AccountID) || !strings.Contains(row, "checked with the user") {
		t.Fatalf("decided row %q", row)
	}
	if msg := text("#flash"); !strings.Contains(msg, visible.Key+": approved by "+ap.AccountID) {
		t.Fatalf("decision flash %q", msg)
	}
	// The run executes (sandbox) and writes back; the page shows it on reload.
	deadline = time.Now().Add(20 * time.Second)
	for {
		run("reload approvals", chromedp.Navigate(e.url+"/console/approvals"), chromedp.WaitVisible(chromedp.CSS("#history-"+id)))
		if row := text("#history-" + id); strings.Contains(row, "succeeded") && strings.Contains(row, "done") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the approved run did not finish on the page: %q", text("#history-"+id))
		}
		time.Sleep(200 * time.Millisecond)
	}
	screenshot(t, ctx, dir, "09-approvals-decided")
	if n := simRunComments(e, visible.Key); n != 1 {
		t.Fatalf("%d write-back comments on %s, want 1", n, visible.Key)
	}
	// Deciding again is refused (first decision wins).
	_, daveKey := e.keyAs("dave", "dave@example.com", api.ScopeApprovalsDecide)
	if r := e.do("POST", "/api/v1/approvals/"+id+"/decision", daveKey, map[string]string{"decision": "deny"}); r.status != 409 {
		t.Fatalf("second decision: %d %s", r.status, r.raw)
	}

	// Sign out ends the session.
	run("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#key")))
	run("after sign-out", chromedp.Navigate(e.url+"/console/connections"), chromedp.WaitVisible(chromedp.CSS("#key")))
}
