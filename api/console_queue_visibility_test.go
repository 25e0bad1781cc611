package api_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestConsoleQueueHidesInvisibleIssues: the approval queue shows a person
// only requests on issues Jira lets them see (a card shows the issue's
// summary and text), and a crafted "decided" link names no issue they may
// not see; the admin key session still sees the whole queue.
func TestConsoleQueueHidesInvisibleIssues(t *testing.T) {
	e := newEnv(t, envOptions{runbook: true})
	e.syncNow(connName, true)
	w := e.sim.World()
	admin := w.AdminAccountID()
	keys := e.simIssueKeys(10)
	w.RLock()
	users := append(w.Users[:0:0], w.Users...)
	w.RUnlock()
	var person, shown, hidden string
	for _, u := range users {
		if !u.Active || u.AccountType != "atlassian" || u.AccountID == admin {
			continue
		}
		shown, hidden = "", ""
		for _, k := range keys {
			if w.CanSee(u.AccountID, k, "") {
				if shown == "" {
					shown = k
				}
			} else if hidden == "" && w.CanSee(admin, k, "") {
				hidden = k
			}
		}
		if shown != "" && hidden != "" {
			person = u.AccountID
			break
		}
	}
	if person == "" {
		t.Fatal("no simulator user sees one of the issues and not another")
	}
	ingestPending(t, e, shown)
	hiddenApproval := ingestPending(t, e, hidden)

	p := signInAtlassian(t, e, person)
	code, page := p.get("/console/approvals")
	if code != 200 {
		t.Fatalf("queue as %s: %d %.500s", person, code, page)
	}
	if !strings.Contains(page, shown) {
		t.Errorf("%s's queue lacks %s, which they may see:\n%.3000s", person, shown, page)
	}
	if strings.Contains(page, hidden) {
		t.Errorf("%s's queue shows %s, which Jira does not let them see", person, hidden)
	}
	_, flash := p.get(fmt.Sprintf("/console/approvals?decided=%d", hiddenApproval))
	if strings.Contains(flash, hidden) {
		t.Errorf("a crafted decided link names %s to %s", hidden, person)
	}

	a := signInAtlassian(t, e, admin)
	if _, page := a.get("/console/approvals"); !strings.Contains(page, shown) || !strings.Contains(page, hidden) {
		t.Errorf("the admin person's queue lacks %s or %s", shown, hidden)
	}
	if _, page := signIn(t, e, e.admin).get("/console/approvals"); !strings.Contains(page, hidden) {
		t.Errorf("the admin key session's queue lacks %s", hidden)
	}
}
