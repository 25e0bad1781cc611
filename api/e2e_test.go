package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"switchyard/api"
	"switchyard/connector/jirasim"
)

// viewerPair finds an active user and two issues: one the oracle says they
// may see, one they may not.
func (e *env) viewerPair() (account string, visible, hidden *jirasim.SimIssue) {
	e.t.Helper()
	w := e.sim.World()
	w.RLock()
	users := append([]*jirasim.SimUser(nil), w.Users...)
	issues := append([]*jirasim.SimIssue(nil), w.Issues...)
	admin := w.AdminAccountID()
	w.RUnlock()
	for _, u := range users {
		if !u.Active || u.AccountID == admin || u.AccountType != "atlassian" {
			continue
		}
		var vis, hid *jirasim.SimIssue
		for _, is := range issues {
			if w.CanSee(u.AccountID, is.Key, "") {
				if vis == nil {
					vis = is
				}
			} else if hid == nil {
				hid = is
			}
		}
		if vis != nil && hid != nil {
			return u.AccountID, vis, hid
		}
	}
	e.t.Fatal("the simulated world has no user who sees some issues but not all")
	return
}

func (e *env) search(key, query, as string, extra ...string) response {
	e.t.Helper()
	q := url.Values{"q": {query}, "as": {as}}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Add(extra[i], extra[i+1])
	}
	return e.do("GET", "/api/v1/search?"+q.Encode(), key, nil)
}

func hitKeys(r response) map[string]bool {
	out := map[string]bool{}
	hits, _ := r.body["hits"].([]any)
	for _, h := range hits {
		if m, ok := h.(map[string]any); ok {
			out[m["key"].(string)] = true
		}
	}
	return out
}

func TestE2EKeysAndAuth(t *testing.T) {
	e := newEnv(t, envOptions{maxBody: 4096})
	_, searchKey := e.key("search only", api.ScopeSearchRead)

	// Create: the secret is shown once and works at once.
	res := e.do("POST", "/api/v1/keys", e.admin, map[string]any{"name": "ci", "scopes": []string{"sync:admin"}, "expiresIn": "24h"})
	if res.status != 201 {
		t.Fatalf("create key: %d %s", res.status, res.raw)
	}
	secret, _ := res.body["secret"].(string)
	if !strings.HasPrefix(secret, "sy_") {
		t.Fatalf("create key: no secret in %s", res.raw)
	}
	id := int64(res.body["key"].(map[string]any)["id"].(float64))
	if r := e.do("GET", "/api/v1/sync/status", secret, nil); r.status != 200 {
		t.Fatalf("new key: %d %s", r.status, r.raw)
	}
	// Listed without secrets.
	list := e.do("GET", "/api/v1/keys", e.admin, nil)
	if list.status != 200 || strings.Contains(string(list.raw), secret) || strings.Contains(string(list.raw), e.admin) {
		t.Fatalf("list keys: %d, must not contain secrets: %s", list.status, list.raw)
	}
	if n := len(list.body["keys"].([]any)); n != 3 {
		t.Fatalf("list keys: %d keys, want 3", n)
	}

	keysBefore, _ := e.db.APIKeys(context.Background())
	big := `{"name":"` + strings.Repeat("x", 5000) + `","scopes":["search:read"]}`
	cases := []struct {
		name, method, path, key, ct string
		body                        any
		status                      int
		code, mention               string
	}{
		{"no key", "GET", "/api/v1/keys", "", "", nil, 401, "unauthorized", "Bearer"},
		{"garbage key", "GET", "/api/v1/keys", "sy_garbage", "", nil, 401, "unauthorized", ""},
		{"missing scope", "GET", "/api/v1/keys", searchKey, "", nil, 403, "forbidden", "config:admin"},
		{"missing scope on sync", "POST", "/api/v1/sync", searchKey, "application/json", `{}`, 403, "forbidden", "sync:admin"},
		{"wrong method", "PATCH", "/api/v1/keys", e.admin, "", nil, 405, "method_not_allowed", "GET, POST"},
		{"unknown route", "GET", "/api/v1/nothing", e.admin, "", nil, 404, "not_found", ""},
		{"unknown key id", "DELETE", "/api/v1/keys/999999", e.admin, "", nil, 404, "not_found", "999999"},
		{"bad key id", "DELETE", "/api/v1/keys/abc", e.admin, "", nil, 400, "invalid", "id"},
		{"malformed json", "POST", "/api/v1/keys", e.admin, "application/json", `{"name":`, 400, "invalid", "malformed"},
		{"unknown field", "POST", "/api/v1/keys", e.admin, "application/json", `{"name":"x","scopes":["search:read"],"admin":true}`, 400, "invalid", "admin"},
		{"wrong type", "POST", "/api/v1/keys", e.admin, "application/json", `{"name":"x","scopes":"search:read"}`, 400, "invalid", "scopes"},
		{"bad scope", "POST", "/api/v1/keys", e.admin, "application/json", `{"name":"x","scopes":["root:all"]}`, 400, "invalid", "root:all"},
		{"bad expiry", "POST", "/api/v1/keys", e.admin, "application/json", `{"name":"x","scopes":["search:read"],"expiresIn":"soon"}`, 400, "invalid", "expiresIn"},
		{"empty name", "POST", "/api/v1/keys", e.admin, "application/json", `{"name":"","scopes":["search:read"]}`, 400, "invalid", "name"},
		{"oversized", "POST", "/api/v1/keys", e.admin, "application/json", big, 413, "too_large", "4096"},
		{"not json", "POST", "/api/v1/keys", e.admin, "text/plain", `{"name":"x","scopes":["search:read"]}`, 415, "unsupported_media_type", "text/plain"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.doCT(tc.method, tc.path, tc.key, tc.ct, tc.body)
			if r.status != tc.status || r.errCode() != tc.code {
				t.Fatalf("status %d code %q, want %d %q: %s", r.status, r.errCode(), tc.status, tc.code, r.raw)
			}
			if !strings.Contains(r.errMessage(), tc.mention) {
				t.Fatalf("message %q does not mention %q", r.errMessage(), tc.mention)
			}
			if r.header.Get("X-Request-Id") == "" {
				t.Fatal("no X-Request-Id")
			}
		})
	}
	keysAfter, _ := e.db.APIKeys(context.Background())
	if len(keysAfter) != len(keysBefore) {
		t.Fatalf("rejected requests changed the store: %d keys before, %d after", len(keysBefore), len(keysAfter))
	}

	// Revocation takes effect on the very next request.
	if r := e.do("DELETE", fmt.Sprintf("/api/v1/keys/%d", id), e.admin, nil); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/api/v1/sync/status", secret, nil); r.status != 401 {
		t.Fatalf("revoked key: %d, want 401", r.status)
	}
}

func TestE2ERateLimit(t *testing.T) {
	e := newEnv(t, envOptions{keyRate: 0.2, keyBurst: 3})
	_, other := e.key("other", api.ScopeSyncAdmin)
	codes := []int{}
	for i := 0; i < 5; i++ {
		codes = append(codes, e.do("GET", "/api/v1/connections", e.admin, nil).status)
	}
	if fmt.Sprint(codes) != "[200 200 200 429 429]" {
		t.Fatalf("statuses %v, want three 200s then 429s", codes)
	}
	r := e.do("GET", "/api/v1/connections", e.admin, nil)
	if r.status != 429 || r.header.Get("Retry-After") == "" || r.errCode() != "rate_limited" {
		t.Fatalf("429 without Retry-After or code: %d %v %s", r.status, r.header, r.raw)
	}
	if r := e.do("GET", "/api/v1/connections", other, nil); r.status != 200 {
		t.Fatalf("another key is limited too: %d", r.status)
	}
}

func TestE2ESyncAndSearch(t *testing.T) {
	e := newEnv(t, envOptions{})
	_, reader := e.key("reader", api.ScopeSearchRead)
	account, visible, hidden := e.viewerPair()

	// Before any sync: idle, nothing stored.
	st := e.do("GET", "/api/v1/sync/status?connection="+connName, e.admin, nil)
	if st.status != 200 {
		t.Fatalf("status: %d %s", st.status, st.raw)
	}
	run := e.syncNow(connName, true)
	if !run.Full || run.Issues == 0 {
		t.Fatalf("first run: %+v", run)
	}
	st = e.do("GET", "/api/v1/sync/status", e.admin, nil)
	c := st.body["connections"].([]any)[0].(map[string]any)
	if c["state"] != "idle" || c["counts"].(map[string]any)["issues"].(float64) == 0 || len(c["lastRuns"].([]any)) == 0 {
		t.Fatalf("status after sync: %s", st.raw)
	}

	// Search as a user: the oracle's visible issue is found, the hidden one never.
	r := e.search(reader, "key:"+visible.Key, account)
	if r.status != 200 || !hitKeys(r)[visible.Key] {
		t.Fatalf("search %s as %s: %d %s", visible.Key, account, r.status, r.raw)
	}
	r = e.search(reader, "key:"+hidden.Key, account)
	if r.status != 200 || hitKeys(r)[hidden.Key] {
		t.Fatalf("search returned %s, which %s may not see: %s", hidden.Key, account, r.raw)
	}
	all := e.search(reader, "", account, "size", "100")
	for k := range hitKeys(all) {
		if !e.sim.World().CanSee(account, k, "") {
			t.Fatalf("search as %s returned %s, which the oracle hides", account, k)
		}
	}
	// Filters narrow the result.
	proj := strings.SplitN(visible.Key, "-", 2)[0]
	r = e.search(reader, "", account, "project", proj, "type", "issue", "size", "100")
	for k := range hitKeys(r) {
		if !strings.HasPrefix(k, proj+"-") {
			t.Fatalf("project=%s returned %s", proj, k)
		}
	}

	bad := []struct {
		query, mention string
	}{
		{"q=" + url.QueryEscape(`summary:"unterminated`), ""},
		{"q=nosuchfield:x", "nosuchfield"},
		{"size=1000", "size"},
		{"from=-1", "from"},
		{"size=ten", "size"},
		{"type=ticket", "ticket"},
		{"updated_from=yesterday", "updated_from"},
		{"connection=nope", "nope"},
		{"colour=red", "colour"},
	}
	for _, b := range bad {
		r := e.do("GET", "/api/v1/search?"+b.query, reader, nil)
		if r.status != 400 || r.errCode() != "invalid" || !strings.Contains(r.errMessage(), b.mention) {
			t.Errorf("search %s: %d %s, want 400 naming %q", b.query, r.status, r.raw, b.mention)
		}
	}
	// A search key cannot run syncs.
	if r := e.do("POST", "/api/v1/sync", reader, map[string]any{"connection": connName}); r.status != 403 {
		t.Fatalf("sync with a search key: %d", r.status)
	}
	if r := e.do("POST", "/api/v1/sync", e.admin, map[string]any{"connection": "nope"}); r.status != 400 || !strings.Contains(r.errMessage(), "nope") {
		t.Fatalf("sync of an unknown connection: %d %s", r.status, r.raw)
	}

	// Trigger coalescing: quick repeated requests share runs.
	before := e.lastRun(connName).ID
	for i := 0; i < 5; i++ {
		if r := e.do("POST", "/api/v1/sync", e.admin, map[string]any{"connection": connName}); r.status != 202 {
			t.Fatalf("trigger %d: %d", i, r.status)
		}
	}
	time.Sleep(300 * time.Millisecond)
	e.waitFor("runs to settle", 30*time.Second, func() bool {
		s, _ := e.eng.Status(context.Background(), connName)
		return s.State == "idle"
	})
	time.Sleep(200 * time.Millisecond)
	e.waitFor("runs to settle", 30*time.Second, func() bool {
		s, _ := e.eng.Status(context.Background(), connName)
		return s.State == "idle"
	})
	// Without coalescing there would be 5; a run finishing between two
	// triggers on a slow machine may add one.
	if n := e.lastRun(connName).ID - before; n < 1 || n > 3 {
		t.Fatalf("5 quick triggers made %d runs, want 1 to 3 (coalesced)", n)
	}
}

func TestE2EFilters(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	_, syncKey := e.key("sync", api.ScopeSyncAdmin)
	e.syncNow(connName, true)

	g := e.do("GET", "/api/v1/sync/filters", syncKey, nil)
	if g.status != 200 || g.body["source"] != "config" || g.body["fullSyncNext"] != false {
		t.Fatalf("GET filters: %d %s", g.status, g.raw)
	}
	bad := []struct {
		body, mention string
		status        int
	}{
		{`{"projects":{"in":["itsm"]}}`, "projects.in", 400},
		{`{"projects":{"in":["ITSM"],"not_in":["OPS"]}}`, "not_in", 400},
		{`{"projects":{"in":["ITSM\") OR project = \"X"]}}`, "projects.in", 400},
		{`{"created":{"after":"last week"}}`, "created.after", 400},
		{`{"updated":{"after":"2025-01-01","before":"2024-01-01"}}`, "updated", 400},
		{`{"colour":"red"}`, "colour", 400},
		{`{"index":{"comments":"no"}}`, "comments", 400},
		{`{"projects":`, "malformed", 400},
	}
	for _, b := range bad {
		r := e.do("PUT", "/api/v1/sync/filters?connection="+connName, e.admin, b.body)
		if r.status != b.status || !strings.Contains(r.errMessage(), b.mention) {
			t.Errorf("PUT %s: %d %s, want %d naming %q", b.body, r.status, r.raw, b.status, b.mention)
		}
	}
	if r := e.do("PUT", "/api/v1/sync/filters", syncKey, `{}`); r.status != 403 {
		t.Fatalf("PUT filters with sync:admin only: %d, want 403 (config:admin)", r.status)
	}
	cs, _ := e.db.ConnectionState(ctx, connName)
	if len(cs.Filters) != 0 {
		t.Fatalf("rejected filters were stored: %s", cs.Filters)
	}

	// A valid change is stored, applied, and makes the next run full.
	account, visible, _ := e.viewerPair()
	keep := strings.SplitN(visible.Key, "-", 2)[0]
	p := e.do("PUT", "/api/v1/sync/filters?connection="+connName, e.admin, map[string]any{"projects": map[string]any{"in": []string{keep}}, "index": map[string]any{"attachments": false}})
	if p.status != 200 || p.body["source"] != "api" || p.body["fullSyncNext"] != true {
		t.Fatalf("PUT filters: %d %s", p.status, p.raw)
	}
	if cs, _ := e.db.ConnectionState(ctx, connName); len(cs.Filters) == 0 {
		t.Fatal("filters not stored")
	}
	run := e.syncNow(connName, false)
	if !run.Full {
		t.Fatalf("the run after a filter change is not full: %+v", run)
	}
	r := e.search(e.admin, "", account, "size", "100")
	if len(hitKeys(r)) == 0 {
		t.Fatalf("no hits after the filter change: %s", r.raw)
	}
	for k := range hitKeys(r) {
		if !strings.HasPrefix(k, keep+"-") {
			t.Fatalf("issue %s outside the filter %s is still searchable", k, keep)
		}
	}

	// The stored filters survive a restart: a new server over the same store
	// applies them to the engine.
	hash := p.body["hash"].(string)
	_ = e.eng.SetScope(connName, mustScope(t))
	srv2, err := api.New(api.Options{Addr: "127.0.0.1:0", Store: e.db, Index: e.idx, Engine: e.eng,
		Connections: []api.Connection{{Name: connName, Kind: "cloud", URL: e.simURL, Auth: "api_token"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv2.Open(); err != nil {
		t.Fatal(err)
	}
	defer srv2.Close(ctx)
	if sc, _ := e.eng.Scope(connName); sc.Hash != hash {
		t.Fatalf("after restart the engine's filter hash is %q, want the stored %q", sc.Hash, hash)
	}
}

func TestE2EConnectionsAndPurge(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	account, visible, _ := e.viewerPair()
	e.syncNow(connName, true)

	l := e.do("GET", "/api/v1/connections", e.admin, nil)
	c := l.body["connections"].([]any)[0].(map[string]any)
	if l.status != 200 || c["status"] != "connected" || c["webhooks"] != "admin" {
		t.Fatalf("connections: %d %s", l.status, l.raw)
	}
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"DELETE", "/api/v1/connections/nope", 404},
		{"DELETE", "/api/v1/connections/" + connName + "?purge=maybe", 400},
		{"GET", "/api/v1/connections/" + connName + "/oauth/start", 409}, // not an OAuth connection
		{"POST", "/api/v1/connections/nope/connect", 404},
	} {
		if r := e.do(tc.method, tc.path, e.admin, nil); r.status != tc.status {
			t.Errorf("%s %s: %d, want %d: %s", tc.method, tc.path, r.status, tc.status, r.raw)
		}
	}
	if cs, _ := e.db.ConnectionState(ctx, connName); cs.Disabled {
		t.Fatal("a rejected disconnect disabled the connection")
	}

	// Disconnect keeps the data and stops syncing.
	d := e.do("DELETE", "/api/v1/connections/"+connName, e.admin, nil)
	if d.status != 200 || d.body["connection"].(map[string]any)["status"] != "disconnected" {
		t.Fatalf("disconnect: %d %s", d.status, d.raw)
	}
	if r := e.do("POST", "/api/v1/sync", e.admin, map[string]any{"connection": connName}); r.status != 409 {
		t.Fatalf("sync of a disconnected connection: %d, want 409", r.status)
	}
	if r := e.search(e.admin, "key:"+visible.Key, account); !hitKeys(r)[visible.Key] {
		t.Fatal("disconnect removed indexed data")
	}
	// Reconnect, then purge.
	if r := e.do("POST", "/api/v1/connections/"+connName+"/connect", e.admin, nil); r.status != 200 {
		t.Fatalf("connect: %d %s", r.status, r.raw)
	}
	e.waitFor("the sync after reconnect", 30*time.Second, func() bool {
		s, _ := e.eng.Status(ctx, connName)
		return s.State == "idle"
	})
	time.Sleep(100 * time.Millisecond)
	e.waitFor("idle", 30*time.Second, func() bool {
		s, _ := e.eng.Status(ctx, connName)
		return s.State == "idle"
	})
	p := e.do("DELETE", "/api/v1/connections/"+connName+"?purge=true", e.admin, nil)
	if p.status != 200 || p.body["purged"] != true {
		t.Fatalf("purge: %d %s", p.status, p.raw)
	}
	if r := e.search(e.admin, "", account); len(hitKeys(r)) != 0 {
		t.Fatalf("purge left searchable documents: %s", r.raw)
	}
	counts, _ := e.db.Counts(ctx, connName)
	if counts.Issues != 0 || counts.Users != 0 {
		t.Fatalf("purge left stored entities: %+v", counts)
	}
}

func TestE2EHealthAndMetrics(t *testing.T) {
	e := newEnv(t, envOptions{})
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := e.do("GET", p, "", nil); r.status != 200 {
			t.Fatalf("%s: %d", p, r.status)
		}
	}
	e.syncNow(connName, true)
	e.do("GET", "/api/v1/sync/status", e.admin, nil)
	res, err := http.Get(e.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	for _, want := range []string{
		`switchyard_api_requests_total{route="/api/v1/sync/status",status="200"}`,
		`switchyard_sync_items{connection="acme",kind="issues"}`,
		`switchyard_sync_last_run_issues{connection="acme"}`,
	} {
		if !strings.Contains(string(b), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(string(b), e.admin) {
		t.Fatal("/metrics contains a key secret")
	}
}

func TestOpenAPICoversEveryRoute(t *testing.T) {
	// Every component configured, so that every route is registered.
	e := newEnv(t, envOptions{oauth: true, runbook: true})
	doc := string(api.OpenAPI())
	for _, want := range []string{"POST /api/v1/tickets/ingest", "POST /api/v1/approvals/{id}/decision", "GET /api/v1/approvals/{id}/link", "GET /api/v1/audit/verify"} {
		if !slices.Contains(e.srv.Routes(), want) {
			t.Errorf("Routes() lacks %s", want)
		}
	}
	for _, rt := range e.srv.Routes() {
		method, path, _ := strings.Cut(rt, " ")
		if !strings.Contains(doc, "\n  "+path+":\n") {
			t.Errorf("route %s: path missing from openapi.yaml", rt)
			continue
		}
		section := doc[strings.Index(doc, "\n  "+path+":\n")+len(path)+4:]
		if i := strings.Index(section, "\n  /"); i >= 0 {
			section = section[:i]
		}
		if !strings.Contains(section, "\n    "+strings.ToLower(method)+":") {
			t.Errorf("route %s: method missing from openapi.yaml", rt)
		}
	}
	r := e.do("GET", "/api/v1/openapi.yaml", "", nil)
	if r.status != 200 || !strings.HasPrefix(string(r.raw), "openapi: 3") {
		t.Fatalf("GET /api/v1/openapi.yaml: %d", r.status)
	}
}
