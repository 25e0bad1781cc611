package api_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard/api"
	"switchyard/runbook"
)

// cardSink stands in for Slack's Web API or a Teams Workflows webhook: it
// records each posted body.
type cardSink struct {
	mu     sync.Mutex
	bodies []map[string]any
	ts     *httptest.Server
}

func newCardSink(t *testing.T, slack bool) *cardSink {
	c := &cardSink{}
	c.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		_ = json.Unmarshal(b, &body)
		c.mu.Lock()
		c.bodies = append(c.bodies, body)
		c.mu.Unlock()
		if slack {
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "channel": "C1", "ts": "1700000000.000100"})
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	t.Cleanup(c.ts.Close)
	return c
}

// card is the newest body posted for issue (its text names the key).
func (c *cardSink) card(issue string) map[string]any {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := len(c.bodies) - 1; i >= 0; i-- {
		b, _ := json.Marshal(c.bodies[i])
		if _, threaded := c.bodies[i]["thread_ts"]; !threaded && strings.Contains(string(b), "Approval needed: "+issue) {
			return c.bodies[i]
		}
	}
	return nil
}

var (
	slackCardKey = regexp.MustCompile(`\|([A-Z][A-Z0-9]*-[0-9]+)>`)
	teamsCardKey = regexp.MustCompile(`\[([A-Z][A-Z0-9]*-[0-9]+)\]`)
)

// similarAs is the API's similar issues to key as account, size n.
func similarAs(t *testing.T, e *env, key, account string, n int) []string {
	t.Helper()
	r := e.do("GET", "/api/v1/issues/"+url.PathEscape(key)+"/similar?"+url.Values{"as": {account}, "size": {fmt.Sprint(n)}}.Encode(), e.admin, nil)
	if r.status != 200 {
		t.Fatalf("similar to %s as %s: %d %s", key, account, r.status, r.raw)
	}
	return issueOrder(orderedHits(r))
}

// TestChannelCardPrecedent: across the simulator, the sync, the index on
// disk and SQLite, the Slack and Teams cards of a run whose policy names
// two approvers list the similar past tickets both may see in Jira, with
// their decisions, and leave out a ticket one of them may not see.
func TestChannelCardPrecedent(t *testing.T) {
	// Find, on the simulator's world, an issue and a second approver who
	// sees it but not all that the admin sees among its similar tickets.
	probe := newEnv(t, envOptions{})
	probe.syncNow(connName, true)
	w := probe.sim.World()
	admin := w.AdminAccountID()
	w.RLock()
	users := append(w.Users[:0:0], w.Users...)
	w.RUnlock()
	var key, other, hidden string
	for _, k := range probe.simIssueKeys(10) {
		topA := similarAs(t, probe, k, admin, 8)
		for _, u := range users {
			if !u.Active || u.AccountType != "atlassian" || u.AccountID == admin || u.Email == "" || !w.CanSee(u.AccountID, k, "") {
				continue
			}
			h := ""
			for _, x := range topA[:min(3, len(topA))] {
				if !w.CanSee(u.AccountID, x, "") {
					h = x
					break
				}
			}
			if h == "" {
				continue
			}
			topU := similarAs(t, probe, k, u.AccountID, 8)
			if slices.ContainsFunc(topA, func(x string) bool { return slices.Contains(topU, x) }) {
				key, other, hidden = k, u.AccountID, h
				break
			}
		}
		if key != "" {
			break
		}
	}
	if key == "" {
		t.Fatal("no issue and user in the simulator's world whose precedent differs from the admin's")
	}

	slack, teams := newCardSink(t, true), newCardSink(t, false)
	policy := runbook.Policy{Name: "two-people", Steps: []runbook.Step{{Name: "review", Required: 1,
		Approvers: runbook.ApproverSet{Users: []string{admin, other}}}}}
	e := newEnv(t, envOptions{runbook: true, policies: []runbook.Policy{policy}, rbTune: func(e *env, o *runbook.Options) {
		sn, err := runbook.NewSlackNotifier("slack", slack.ts.URL, "xoxb-test", "C1", nil)
		if err != nil {
			t.Fatal(err)
		}
		tn, err := runbook.NewTeamsNotifier("teams", teams.ts.URL+"/workflows/x", nil)
		if err != nil {
			t.Fatal(err)
		}
		o.Notifiers, o.PublicURL = []runbook.Notifier{sn, tn}, "http://console.test"
		o.Similar = api.SimilarTickets(e.idx)
	}})
	e.syncNow(connName, true)
	topA, topB := similarAs(t, e, key, admin, 8), similarAs(t, e, key, other, 8)
	var want []string
	for _, x := range topA {
		if slices.Contains(topB, x) && x != key && len(want) < 3 {
			want = append(want, x)
		}
	}
	if len(want) == 0 || slices.Contains(want, hidden) {
		t.Fatalf("the world changed: admin %v, %s %v", topA, other, topB)
	}
	// The most similar shared ticket was denied here before.
	past := ingestPending(t, e, want[0])
	_, adminKey := e.keyAs("admin person", admin, api.ScopeApprovalsDecide)
	if d := e.do("POST", fmt.Sprintf("/api/v1/approvals/%d/decision", past), adminKey, map[string]string{"decision": "deny", "comment": "not verified"}); d.status != 200 {
		t.Fatalf("deny %s: %d %s", want[0], d.status, d.raw)
	}
	ingestPending(t, e, key)

	var sc, tc map[string]any
	e.waitFor("the Slack and Teams cards of "+key, 20*time.Second, func() bool {
		sc, tc = slack.card(key), teams.card(key)
		return sc != nil && tc != nil
	})
	var stext string
	for _, b := range sc["blocks"].([]any) {
		if m := b.(map[string]any); m["block_id"] == "switchyard_precedent" {
			stext = m["text"].(map[string]any)["text"].(string)
		}
	}
	var ttext string
	body := tc["attachments"].([]any)[0].(map[string]any)["content"].(map[string]any)["body"].([]any)
	for i, b := range body {
		if b.(map[string]any)["id"] == "precedent" && i+1 < len(body) {
			ttext = body[i+1].(map[string]any)["text"].(string)
		}
	}
	for _, c := range []struct {
		name, text, denied string
		re                 *regexp.Regexp
	}{{"Slack", stext, "*denied* by " + admin, slackCardKey}, {"Teams", ttext, "**denied** by " + admin, teamsCardKey}} {
		var got []string
		for _, m := range c.re.FindAllStringSubmatch(c.text, -1) {
			got = append(got, m[1])
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s card precedent %v, want %v (both approvers may see these):\n%s", c.name, got, want, c.text)
		}
		if strings.Contains(c.text, hidden) {
			t.Errorf("%s card shows %s, which %s may not see", c.name, hidden, other)
		}
		if !strings.Contains(c.text, c.denied) {
			t.Errorf("%s card does not show %s denied by %s:\n%s", c.name, want[0], admin, c.text)
		}
	}
}
