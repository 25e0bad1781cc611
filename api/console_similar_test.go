package api_test

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestConsoleApprovalPrecedent: a pending card shows the three most similar
// past tickets as the approver may see them, with the decision taken on
// one that went through Switchyard.
func TestConsoleApprovalPrecedent(t *testing.T) {
	e := newEnv(t, envOptions{runbook: true})
	e.syncNow(connName, true)
	keys := e.simIssueKeys(1)
	viewer := e.sim.AdminEmail()

	// The most similar ticket gets a run of its own, decided by the API.
	r := e.similar(e.admin, keys[0], viewer)
	top := issueOrder(orderedHits(r))
	if r.status != 200 || len(top) == 0 {
		t.Fatalf("similar to %s: %d %s", keys[0], r.status, r.raw)
	}
	past := ingestPending(t, e, top[0])
	if d := e.do("POST", fmt.Sprintf("/api/v1/approvals/%d/decision", past), e.admin, map[string]string{"decision": "deny", "approver": rbApprover}); d.status != 200 {
		t.Fatalf("deny: %d %s", d.status, d.raw)
	}
	pending := ingestPending(t, e, keys[0])

	cc := signIn(t, e, e.admin)
	_, page := cc.get("/console/approvals")
	if strings.Contains(page, fmt.Sprintf(`id="similar-%d"`, pending)) {
		t.Fatalf("precedent shown to the admin key sign-in: it is searched as the signed-in approver")
	}
	// An approver signed in with Atlassian sees precedent as they may see it.
	person := signInAtlassian(t, e, e.sim.World().AdminAccountID())
	_, page = person.get("/console/approvals")
	start := strings.Index(page, fmt.Sprintf(`id="similar-%d"`, pending))
	if start < 0 {
		t.Fatalf("card %d has no similar tickets:\n%.2000s", pending, page)
	}
	block := page[start:]
	block = block[:strings.Index(block, "</section>")]
	if n := strings.Count(block, "<li>"); n < 1 || n > 3 {
		t.Fatalf("%d similar tickets on the card, want 1 to 3:\n%s", n, block)
	}
	if !strings.Contains(block, ">"+top[0]+"<") || !strings.Contains(block, "denied") || !strings.Contains(block, rbApprover) {
		t.Fatalf("the card does not show %s denied by %s:\n%s", top[0], rbApprover, block)
	}
	if strings.Contains(block, ">"+keys[0]+"<") {
		t.Fatalf("the card lists its own issue %s as similar:\n%s", keys[0], block)
	}
}

// TestConsoleSearchSuggest: the console's search box asks the session's
// suggest endpoint, permission-filtered like the API's.
func TestConsoleSearchSuggest(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.syncNow(connName, true)
	account, visible, hidden := e.viewerPair()
	cc := signIn(t, e, e.admin)
	_, page := cc.get("/console/search")
	if !strings.Contains(page, `list="q-suggest"`) || !strings.Contains(page, "/console/search/suggest.json") {
		t.Fatalf("the search page does not wire suggestions:\n%.1500s", page)
	}
	for _, tc := range []struct {
		key  string
		want bool
	}{{visible.Key, true}, {hidden.Key, false}} {
		code, body := cc.get("/console/search/suggest.json?" + url.Values{"q": {strings.ToLower(tc.key)}, "as": {account}}.Encode())
		if code != 200 || strings.Contains(body, `"key":"`+tc.key+`"`) != tc.want {
			t.Fatalf("suggest %s as %s: %d %s (want offered: %v)", tc.key, account, code, body, tc.want)
		}
	}
	if code, _ := cc.get("/console/search/suggest.json?q=x&size=99"); code != 400 {
		t.Fatalf("bad size: %d", code)
	}
}
