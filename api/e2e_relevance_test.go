package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"switchyard/api"
	"switchyard/connector/jirasim"
)

// Search relevance across the real pieces: simulator over HTTP, sync, the
// index on disk and the API, as a restricted user and as the admin.

type orderedHit struct{ key, typ string }

func orderedHits(r response) []orderedHit {
	var out []orderedHit
	hits, _ := r.body["hits"].([]any)
	for _, h := range hits {
		if m, ok := h.(map[string]any); ok {
			k, _ := m["key"].(string)
			t, _ := m["type"].(string)
			out = append(out, orderedHit{k, t})
		}
	}
	return out
}

// issueOrder is the distinct issue keys of hits in rank order.
func issueOrder(hs []orderedHit) []string {
	var out []string
	seen := map[string]bool{}
	for _, h := range hs {
		if !seen[h.key] {
			seen[h.key] = true
			out = append(out, h.key)
		}
	}
	return out
}

func adfText(s string) json.RawMessage {
	b, _ := json.Marshal(map[string]any{"type": "doc", "version": 1, "content": []any{
		map[string]any{"type": "paragraph", "content": []any{map[string]any{"type": "text", "text": s}}}}})
	return b
}

func (e *env) suggest(key, q, as string) []string {
	e.t.Helper()
	r := e.do("GET", "/api/v1/search/suggest?"+url.Values{"q": {q}, "as": {as}}.Encode(), key, nil)
	if r.status != 200 {
		e.t.Fatalf("suggest %q as %s: %d %s", q, as, r.status, r.raw)
	}
	var keys []string
	for _, s := range r.body["suggestions"].([]any) {
		keys = append(keys, s.(map[string]any)["key"].(string))
	}
	return keys
}

func (e *env) similar(key, issue, as string) response {
	e.t.Helper()
	return e.do("GET", "/api/v1/issues/"+url.PathEscape(issue)+"/similar?"+url.Values{"as": {as}}.Encode(), key, nil)
}

func TestE2ESearchRelevance(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, reader := e.key("reader", api.ScopeSearchRead)
	account, visible, hidden := e.viewerPair()
	w := e.sim.World()
	admin := w.AdminAccountID()
	visProject := strings.SplitN(visible.Key, "-", 2)[0]
	hidProject := strings.SplitN(hidden.Key, "-", 2)[0]

	create := func(project, level, summary, desc string) *jirasim.SimIssue {
		t.Helper()
		is, err := w.CreateIssue(admin, jirasim.IssueCreate{ProjectKey: project, Summary: summary, Description: desc, SecurityLevelID: level})
		if err != nil {
			t.Fatalf("create %q: %v", summary, err)
		}
		return is
	}
	visibleIssue := func(project, summary, desc string) *jirasim.SimIssue {
		t.Helper()
		is := create(project, "", summary, desc)
		if !w.CanSee(account, is.Key, "") {
			t.Fatalf("%s in %s should be visible to %s", is.Key, project, account)
		}
		return is
	}
	hiddenIssue := func(summary, desc string) *jirasim.SimIssue {
		t.Helper()
		is := create(hidProject, hidden.SecurityLevelID, summary, desc)
		if w.CanSee(account, is.Key, "") {
			t.Fatalf("%s should be hidden from %s", is.Key, account)
		}
		return is
	}

	// Identifiers of every kind, in a visible issue and in a hidden copy.
	idText := "Mail from jane.doe@example.com bounced; host 10.20.30.40 answers ORA-12541 and 0x8007045D. " +
		"Agent v2.14.3 on web-eu-west-17 logs to /var/log/nginx/upstream-errors.log, see https://status.example.com/incidents/4242 and deploy-2024.tar.gz."
	ident := visibleIssue(visProject, "Upstream errors after the agent upgrade", idText)
	identHidden := hiddenIssue("Upstream errors after the agent upgrade (restricted)", idText)

	// Field weights: the same rare word in a summary, a description, a comment.
	inSummary := visibleIssue(visProject, "Zebrafish aquarium pump noisy", "The pump in the lobby makes noise at night.")
	inDesc := visibleIssue(visProject, "Lobby pump noise", "The zebrafish aquarium pump in the lobby makes noise at night.")
	inComment := visibleIssue(visProject, "Lobby noise at night", "Something in the lobby makes noise at night.")
	if _, err := w.AddComment(admin, inComment.Key, adfText("It is the zebrafish aquarium pump."), nil); err != nil {
		t.Fatal(err)
	}
	// Similar tickets.
	kafka1 := visibleIssue(visProject, "Kafka broker partition rebalance lag", "Consumers lag after every partition rebalance on the kafka broker cluster.")
	kafka2 := visibleIssue(visProject, "Kafka consumers lag after rebalance", "Partition rebalance on the broker makes the kafka consumers lag for minutes.")
	kafkaHidden := hiddenIssue("Kafka broker rebalance lag (restricted)", "Partition rebalance on the kafka broker makes consumers lag.")
	if _, err := w.AddComment(admin, visible.Key, adfText("A comment on the visible issue."), nil); err != nil {
		t.Fatal(err)
	}
	e.syncNow(connName, true)

	// Keys: the issue first, in any case, then its own comments and attachments.
	for _, q := range []string{visible.Key, strings.ToLower(visible.Key)} {
		hs := orderedHits(e.search(reader, q, account, "size", "50"))
		if len(hs) == 0 || hs[0].key != visible.Key || hs[0].typ != "issue" {
			t.Fatalf("search %q as %s: first hit %v, want the issue %s", q, account, hs, visible.Key)
		}
		own := 1 + len(visible.Attachments)
		for _, c := range visible.Comments {
			if w.CanSee(account, visible.Key, c.ID) {
				own++
			}
		}
		for i := 0; i < own && i < len(hs); i++ {
			if hs[i].key != visible.Key {
				t.Fatalf("search %q: hit %d is %v before all of %s's %d documents: %v", q, i, hs[i], visible.Key, own, hs)
			}
		}
	}
	// A key inside a longer query boosts its issue to the top.
	if order := issueOrder(orderedHits(e.search(reader, "status of "+strings.ToLower(inDesc.Key)+" pump", account))); len(order) == 0 || order[0] != inDesc.Key {
		t.Fatalf("key in a longer query: %v, want %s first", order, inDesc.Key)
	}
	// An invisible key behaves as if it did not exist: no hit, no
	// suggestion, 404 for similar exactly like a key that does not exist.
	for _, q := range []string{hidden.Key, strings.ToLower(hidden.Key), hidden.Key + " status"} {
		if hitKeys(e.search(reader, q, account, "size", "100"))[hidden.Key] {
			t.Fatalf("search %q as %s returned the hidden %s", q, account, hidden.Key)
		}
	}
	if order := issueOrder(orderedHits(e.search(reader, hidden.Key, admin))); len(order) == 0 || order[0] != hidden.Key {
		t.Fatalf("the admin searching %s: %v, want it first", hidden.Key, order)
	}
	for _, k := range e.suggest(reader, hidden.Key, account) {
		if k == hidden.Key {
			t.Fatalf("suggest %s as %s offered it", hidden.Key, account)
		}
	}
	if ks := e.suggest(reader, hidden.Key, admin); len(ks) == 0 || ks[0] != hidden.Key {
		t.Fatalf("suggest %s as the admin: %v, want it first", hidden.Key, ks)
	}
	missing := e.similar(reader, hidProject+"-999999", account)
	hid := e.similar(reader, hidden.Key, account)
	if hid.status != 404 || missing.status != 404 || hid.errCode() != missing.errCode() ||
		strings.ReplaceAll(hid.errMessage(), hidden.Key, "K") != strings.ReplaceAll(missing.errMessage(), hidProject+"-999999", "K") {
		t.Fatalf("similar to a hidden key: %d %s; to a missing key: %d %s", hid.status, hid.raw, missing.status, missing.raw)
	}

	// Identifiers, whole and by their parts, find the issue first; the
	// hidden copy only for the admin.
	for _, q := range []string{"jane.doe@example.com", "jane.doe", "10.20.30.40", "10.20.30", "ORA-12541", "ora-12541", "0x8007045D",
		"v2.14.3", "2.14.3", "web-eu-west-17", "web-eu-west", "web-eu", "/var/log/nginx", "upstream-errors.log", "upstream-errors",
		"https://status.example.com/incidents/4242", "status.example.com", "deploy-2024.tar.gz", "deploy-2024"} {
		order := issueOrder(orderedHits(e.search(reader, q, account, "size", "50")))
		if len(order) == 0 || order[0] != ident.Key {
			t.Errorf("identifier %q as %s: %v, want %s first", q, account, order, ident.Key)
		}
		for _, k := range order {
			if k == identHidden.Key {
				t.Errorf("identifier %q as %s returned the hidden %s", q, account, k)
			}
		}
		adminOrder := issueOrder(orderedHits(e.search(reader, q, admin, "size", "50")))
		if len(adminOrder) < 2 || !(adminOrder[0] == ident.Key || adminOrder[0] == identHidden.Key) ||
			!(adminOrder[1] == ident.Key || adminOrder[1] == identHidden.Key) {
			t.Errorf("identifier %q as the admin: %v, want %s and %s first", q, adminOrder, ident.Key, identHidden.Key)
		}
	}
	// Prose still works word by word: "nginx" alone, "agent upgrade".
	for _, q := range []string{"nginx", "agent upgrade", "bounced mail"} {
		if order := issueOrder(orderedHits(e.search(reader, q, account))); len(order) == 0 || order[0] != ident.Key {
			t.Errorf("prose %q: %v, want %s first", q, order, ident.Key)
		}
	}

	// Field weights: summary, then description, then comment.
	order := issueOrder(orderedHits(e.search(reader, "zebrafish", account)))
	if want := []string{inSummary.Key, inDesc.Key, inComment.Key}; fmt.Sprint(order) != fmt.Sprint(want) {
		t.Fatalf("zebrafish: %v, want summary, description, comment: %v", order, want)
	}

	// Similar: the other kafka ticket first, never the hidden one nor itself.
	r := e.similar(reader, strings.ToLower(kafka1.Key), account)
	if r.status != 200 {
		t.Fatalf("similar %s: %d %s", kafka1.Key, r.status, r.raw)
	}
	sim := issueOrder(orderedHits(r))
	if len(sim) == 0 || sim[0] != kafka2.Key {
		t.Fatalf("similar to %s as %s: %v, want %s first", kafka1.Key, account, sim, kafka2.Key)
	}
	for _, k := range sim {
		if k == kafka1.Key || k == kafkaHidden.Key {
			t.Fatalf("similar to %s as %s lists %s", kafka1.Key, account, k)
		}
	}
	if adminSim := issueOrder(orderedHits(e.similar(reader, kafka1.Key, admin))); len(adminSim) < 2 ||
		!strings.Contains(strings.Join(adminSim[:2], " "), kafkaHidden.Key) {
		t.Fatalf("similar to %s as the admin: %v, want %s among the first two", kafka1.Key, adminSim, kafkaHidden.Key)
	}

	// Suggestions: keys by prefix, summaries by word prefix.
	if ks := e.suggest(reader, strings.ToLower(visible.Key), account); len(ks) == 0 || ks[0] != visible.Key {
		t.Fatalf("suggest %s: %v, want it first", visible.Key, ks)
	}
	if ks := e.suggest(reader, "zebraf", account); len(ks) == 0 || ks[0] != inSummary.Key {
		t.Fatalf("suggest zebraf: %v, want %s", ks, inSummary.Key)
	}
	if ks := e.suggest(reader, "kafka broker reb", account); len(ks) == 0 || ks[0] != kafka1.Key || strings.Contains(strings.Join(ks, " "), kafkaHidden.Key) {
		t.Fatalf("suggest 'kafka broker reb' as %s: %v, want %s first and never %s", account, ks, kafka1.Key, kafkaHidden.Key)
	}

	// Bad input is a 400 naming it.
	for _, p := range []string{"/api/v1/search/suggest?q=x&size=0", "/api/v1/search/suggest?q=x&colour=red", "/api/v1/issues/not%20a%20key/similar", "/api/v1/issues/" + visible.Key + "/similar?size=51"} {
		if r := e.do("GET", p, reader, nil); r.status != 400 {
			t.Errorf("GET %s: %d %s, want 400", p, r.status, r.raw)
		}
	}
}
