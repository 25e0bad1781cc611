package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"switchyard/api"
	"switchyard/connector/jirasim"
)

func (e *env) searchFinds(conn, query, as, key string) bool {
	e.t.Helper()
	return hitKeys(e.search(e.admin, query, as, "connection", conn))[key]
}

// postWebhook sends a delivery as Jira would, with the given headers.
func (e *env) postWebhook(conn string, body []byte, hdr map[string]string) response {
	e.t.Helper()
	req, _ := http.NewRequest("POST", e.url+"/api/v1/webhooks/jira/"+conn, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	var out response
	out.status, out.header = res.StatusCode, res.Header
	buf := new(bytes.Buffer)
	_, _ = buf.ReadFrom(res.Body)
	out.raw = buf.Bytes()
	_ = json.Unmarshal(out.raw, &out.body)
	e.validate(req, body, res, out.raw)
	return out
}

func hubSig(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func jwt(secret string, exp time.Time) string {
	enc := base64.RawURLEncoding
	h := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	c, _ := json.Marshal(map[string]any{"iss": "x", "exp": exp.Unix()})
	s := h + "." + enc.EncodeToString(c)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(s))
	return s + "." + enc.EncodeToString(m.Sum(nil))
}

func TestE2EWebhooks(t *testing.T) {
	e := newEnv(t, envOptions{maxBody: 64 << 10})
	ctx := context.Background()
	w := e.sim.World()
	account, visible, _ := e.viewerPair()
	e.syncNow(connName, true)
	hook, err := w.RegisterWebhook(jirasim.Webhook{URL: e.url + "/api/v1/webhooks/jira/" + connName, Secret: webhookSecret, Events: jirasim.WebhookEvents})
	if err != nil {
		t.Fatal(err)
	}

	// A signed edit in Jira is searchable within seconds, without a sync.
	runsBefore := e.lastRun(connName).ID
	summary := "quokka migration runbook"
	if _, err := w.UpdateIssue(account, visible.Key, jirasim.IssueUpdate{Summary: &summary}); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	e.waitFor("the edit to become searchable", 10*time.Second, func() bool { return e.searchFinds(connName, "quokka", account, visible.Key) })
	t.Logf("edit searchable after %s", time.Since(start).Round(time.Millisecond))
	if e.lastRun(connName).ID != runsBefore {
		t.Fatal("a sync ran; the webhook path should refresh the issue alone")
	}

	// Echo: the integration's own edit is acknowledged and ignored.
	echo := "echoword"
	if _, err := w.UpdateIssue(w.AdminAccountID(), visible.Key, jirasim.IssueUpdate{Summary: &echo}); err != nil {
		t.Fatal(err)
	}
	if err := w.FlushWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	if e.searchFinds(connName, "echoword", account, visible.Key) {
		t.Fatal("an event caused by the integration itself was applied (echo)")
	}
	if is, _ := e.db.Issue(ctx, connName, visible.Key); is.Summary != summary {
		t.Fatalf("echo changed the stored issue: %q", is.Summary)
	}

	// Forged and unsigned deliveries: 401, nothing changes.
	del, _ := json.Marshal(map[string]any{"webhookEvent": "jira:issue_deleted", "user": map[string]any{"accountId": account},
		"issue": map[string]any{"id": visible.ID, "key": visible.Key}})
	for name, hdr := range map[string]map[string]string{
		"unsigned":          {"X-Atlassian-Webhook-Identifier": "f1"},
		"wrong secret":      {"X-Hub-Signature": hubSig("guess", del), "X-Atlassian-Webhook-Identifier": "f2"},
		"malformed sig":     {"X-Hub-Signature": "md5=abc", "X-Atlassian-Webhook-Identifier": "f3"},
		"tampered body sig": {"X-Hub-Signature": hubSig(webhookSecret, []byte(`{}`)), "X-Atlassian-Webhook-Identifier": "f4"},
		"jwt on token conn": {"Authorization": "Bearer " + jwt(webhookSecret, time.Now().Add(time.Minute)), "X-Atlassian-Webhook-Identifier": "f5"},
	} {
		if r := e.postWebhook(connName, del, hdr); r.status != 401 || r.errCode() != "unauthorized" {
			t.Errorf("%s: %d %s, want 401", name, r.status, r.raw)
		}
	}
	if r := e.postWebhook("nope", del, map[string]string{"X-Hub-Signature": hubSig(webhookSecret, del)}); r.status != 404 {
		t.Errorf("unknown connection: %d", r.status)
	}
	huge := append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), 70<<10)...)
	huge = append(huge, '"', '}')
	if r := e.postWebhook(connName, huge, map[string]string{"X-Hub-Signature": hubSig(webhookSecret, huge)}); r.status != 413 {
		t.Errorf("oversized delivery: %d", r.status)
	}
	if r := e.do("GET", "/api/v1/webhooks/jira/"+connName, "", nil); r.status != 405 {
		t.Errorf("GET on the receiver: %d, want 405", r.status)
	}
	time.Sleep(200 * time.Millisecond)
	if !e.searchFinds(connName, "quokka", account, visible.Key) {
		t.Fatal("a rejected delivery removed the issue")
	}

	// Replay: with Jira's deliveries stopped, change the issue quietly; a
	// replayed identifier is dropped, a fresh one refreshes.
	if err := w.DeleteWebhook(hook.ID); err != nil {
		t.Fatal(err)
	}
	quiet := "walrus handover"
	if _, err := w.UpdateIssue(account, visible.Key, jirasim.IssueUpdate{Summary: &quiet}); err != nil {
		t.Fatal(err)
	}
	upd, _ := json.Marshal(map[string]any{"webhookEvent": "jira:issue_updated", "user": map[string]any{"accountId": account},
		"issue": map[string]any{"id": visible.ID, "key": visible.Key}})
	first := e.postWebhook(connName, upd, map[string]string{"X-Hub-Signature": hubSig(webhookSecret, upd), "X-Atlassian-Webhook-Identifier": "replay-1"})
	if first.status != 202 || first.body["status"] != "queued" {
		t.Fatalf("first delivery: %d %s", first.status, first.raw)
	}
	e.waitFor("the fresh delivery's refresh", 10*time.Second, func() bool { return e.searchFinds(connName, "walrus", account, visible.Key) })
	again := "narwhal handover"
	if _, err := w.UpdateIssue(account, visible.Key, jirasim.IssueUpdate{Summary: &again}); err != nil {
		t.Fatal(err)
	}
	rep := e.postWebhook(connName, upd, map[string]string{"X-Hub-Signature": hubSig(webhookSecret, upd), "X-Atlassian-Webhook-Identifier": "replay-1"})
	if rep.status != 202 || rep.body["status"] != "duplicate" {
		t.Fatalf("replayed delivery: %d %s, want 202 duplicate", rep.status, rep.raw)
	}
	time.Sleep(500 * time.Millisecond)
	if e.searchFinds(connName, "narwhal", account, visible.Key) {
		t.Fatal("a replayed delivery caused a refresh")
	}

	// Deletion through a webhook removes the issue from search.
	if _, err := w.RegisterWebhook(jirasim.Webhook{URL: e.url + "/api/v1/webhooks/jira/" + connName, Secret: webhookSecret, Events: jirasim.WebhookEvents}); err != nil {
		t.Fatal(err)
	}
	if err := w.DeleteIssue(account, visible.Key); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the deleted issue to leave search", 10*time.Second, func() bool { return !e.searchFinds(connName, "walrus", account, visible.Key) })
}

func TestE2EOAuthConnectAndDynamicWebhooks(t *testing.T) {
	e := newEnv(t, envOptions{oauth: true})
	ctx := context.Background()
	l := e.do("GET", "/api/v1/connections", e.admin, nil)
	if !strings.Contains(string(l.raw), `"needs_authorization"`) {
		t.Fatalf("OAuth connection before consent: %s", l.raw)
	}
	if r := e.do("POST", "/api/v1/connections/"+oauthConnName+"/connect", e.admin, nil); r.status != 409 {
		t.Fatalf("token-style connect of an OAuth connection: %d, want 409", r.status)
	}

	start := e.do("GET", "/api/v1/connections/"+oauthConnName+"/oauth/start", e.admin, nil)
	loc := start.header.Get("Location")
	if start.status != 302 || !strings.HasPrefix(loc, e.simURL+"/authorize?") || !strings.Contains(loc, "state=") {
		t.Fatalf("oauth/start: %d Location %q", start.status, loc)
	}
	// The simulator consents at once and redirects to our callback.
	res, err := e.client.Get(loc)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	cb := res.Header.Get("Location")
	if !strings.HasPrefix(cb, e.url+"/oauth/callback?") {
		t.Fatalf("consent redirected to %q", cb)
	}
	get := func(u string) (int, string) {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Accept", "application/json")
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		buf := new(bytes.Buffer)
		_, _ = buf.ReadFrom(res.Body)
		return res.StatusCode, buf.String()
	}
	if code, body := get(cb); code != 200 || !strings.Contains(body, "connected") {
		t.Fatalf("callback: %d %s", code, body)
	}
	if code, body := get(cb); code != 400 || !strings.Contains(body, "state") {
		t.Fatalf("replayed callback: %d %s, want 400 naming state", code, body)
	}
	if code, _ := get(e.url + "/oauth/callback?state=forged&code=x"); code != 400 {
		t.Fatalf("forged state: %d", code)
	}
	// Tokens are stored, and encrypted at rest.
	var tok struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
	}
	if err := e.db.LoadToken(ctx, oauthConnName, &tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("token not stored: %v", err)
	}
	for _, f := range []string{e.db.Path(), e.db.Path() + "-wal"} {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(tok.AccessToken)) || bytes.Contains(b, []byte(tok.RefreshToken)) {
			t.Fatalf("%s holds the token in clear text", f)
		}
	}

	// The daemon registers its dynamic webhook, and the OAuth connection syncs.
	e.waitFor("the dynamic webhook", 10*time.Second, func() bool {
		for _, h := range e.sim.World().ListWebhooks() {
			if h.Dynamic && strings.HasPrefix(h.URL, e.url+"/api/v1/webhooks/jira/"+oauthConnName) {
				return true
			}
		}
		return false
	})
	// A restart reuses (and refreshes) the registration instead of adding one.
	dynamic := func() []jirasim.Webhook {
		var out []jirasim.Webhook
		for _, h := range e.sim.World().ListWebhooks() {
			if h.Dynamic {
				out = append(out, h)
			}
		}
		return out
	}
	before := dynamic()
	srv2, err := api.New(api.Options{Addr: "127.0.0.1:0", PublicURL: e.url, Logger: slog.New(slog.DiscardHandler), Store: e.db, Index: e.idx, Engine: e.eng, Connections: e.conns})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv2.Open(); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the restarted server to refresh the webhook", 10*time.Second, func() bool {
		now := dynamic()
		return len(now) != len(before) || (len(now) == 1 && now[0].Expires.After(before[0].Expires))
	})
	srv2.Close(ctx)
	if now := dynamic(); len(now) != 1 || now[0].ID != before[0].ID {
		t.Fatalf("after a restart: dynamic webhooks %+v, want the original one only", now)
	}
	e.waitFor("the first sync after connecting", 60*time.Second, func() bool {
		r := e.lastRun(oauthConnName)
		return r.ID > 0 && r.Error == ""
	})
	account, visible, _ := e.viewerPair()
	summary := "platypus escalation"
	if _, err := e.sim.World().UpdateIssue(account, visible.Key, jirasim.IssueUpdate{Summary: &summary}); err != nil {
		t.Fatal(err)
	}
	e.waitFor("a JWT-signed delivery to refresh the issue", 10*time.Second, func() bool {
		return e.searchFinds(oauthConnName, "platypus", account, visible.Key)
	})
	// A JWT signed with another secret, or expired, is refused.
	body := []byte(`{"webhookEvent":"jira:issue_deleted","issue":{"id":"` + visible.ID + `"}}`)
	for name, tok := range map[string]string{
		"wrong secret": jwt("not-the-secret", time.Now().Add(time.Minute)),
		"expired":      jwt(jirasim.DefaultOAuthClientSecret, time.Now().Add(-time.Hour)),
		"garbage":      "abc.def",
	} {
		if r := e.postWebhook(oauthConnName, body, map[string]string{"Authorization": "Bearer " + tok}); r.status != 401 {
			t.Errorf("JWT %s: %d, want 401", name, r.status)
		}
	}

	// Disconnect deletes the tokens.
	if r := e.do("DELETE", "/api/v1/connections/"+oauthConnName, e.admin, nil); r.status != 200 {
		t.Fatalf("disconnect: %d %s", r.status, r.raw)
	}
	if ok, _ := e.db.HasToken(ctx, oauthConnName); ok {
		t.Fatal("disconnect kept the OAuth token")
	}
}
