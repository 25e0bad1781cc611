package api_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchyard/connector/jirasim"
)

// hookClaims are the claims of a good dynamic-webhook JWT for a POST to path
// of the site: what the simulator (and, as far as it is documented, Jira)
// sends.
func hookClaims(site, path string, now time.Time) map[string]any {
	return map[string]any{"iss": site, "aud": jirasim.DefaultOAuthClientID, "iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
		"qsh": jirasim.QueryStringHash(http.MethodPost, &url.URL{Path: path})}
}

// signJWT is an HS256 JWT over claims with header alg.
func signJWT(secret, alg string, claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	c, _ := json.Marshal(claims)
	s := enc.EncodeToString(h) + "." + enc.EncodeToString(c)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(s))
	return s + "." + enc.EncodeToString(m.Sum(nil))
}

// TestE2EWebhookJWTBinding: a dynamic webhook's JWT must be signed with the
// app's secret and name this app (aud), this site (iss) and this request
// (qsh), within a short lifetime (exp, iat, nbf); a token is used once, and a
// signed body replayed under a new or missing delivery id is not queued again.
func TestE2EWebhookJWTBinding(t *testing.T) {
	e := newEnv(t, envOptions{oauth: true})
	account, visible, _ := e.viewerPair()
	path := "/api/v1/webhooks/jira/" + oauthConnName
	secret := jirasim.DefaultOAuthClientSecret
	now := time.Now()
	body := func() []byte { return issueEvent("jira:issue_updated", account, visible.ID, visible.Key) }
	post := func(tok string, b []byte, id string) response {
		hdr := map[string]string{"Authorization": "Bearer " + tok}
		if id != "" {
			hdr["X-Atlassian-Webhook-Identifier"] = id
		}
		return e.postWebhook(oauthConnName, b, hdr)
	}
	good := hookClaims(e.simURL, path, now)
	if r := post(signJWT(secret, "HS256", good), body(), ""); r.status != 202 || r.body["status"] == "duplicate" {
		t.Fatalf("a good JWT: %d %s", r.status, r.raw)
	}

	with := func(change func(c map[string]any)) map[string]any {
		c := hookClaims(e.simURL, path, now)
		change(c)
		return c
	}
	for _, tc := range []struct {
		name   string
		alg    string
		claims map[string]any
		why    string
	}{
		{"qsh of another receiver", "HS256", with(func(c map[string]any) {
			c["qsh"] = jirasim.QueryStringHash("POST", &url.URL{Path: "/api/v1/webhooks/jira/" + connName})
		}), "qsh"},
		{"qsh of a GET", "HS256", with(func(c map[string]any) { c["qsh"] = jirasim.QueryStringHash("GET", &url.URL{Path: path}) }), "qsh"},
		{"no qsh", "HS256", with(func(c map[string]any) { delete(c, "qsh") }), "qsh"},
		{"another app", "HS256", with(func(c map[string]any) { c["aud"] = "someone-else" }), "aud"},
		{"no aud", "HS256", with(func(c map[string]any) { delete(c, "aud") }), "aud"},
		{"another site", "HS256", with(func(c map[string]any) { c["iss"] = "https://evil.atlassian.net" }), "iss"},
		{"no iss", "HS256", with(func(c map[string]any) { delete(c, "iss") }), "iss"},
		{"one-year exp", "HS256", with(func(c map[string]any) { c["exp"] = now.AddDate(1, 0, 0).Unix() }), "lifetime"},
		{"expired", "HS256", with(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-time.Hour).Unix(), now.Add(-55*time.Minute).Unix()
		}), "expired"},
		{"iat in the future", "HS256", with(func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(time.Hour).Unix(), now.Add(time.Hour+time.Minute).Unix()
		}), "iat"},
		{"no iat", "HS256", with(func(c map[string]any) { delete(c, "iat") }), "iat"},
		{"exp as text", "HS256", with(func(c map[string]any) { c["exp"] = "tomorrow" }), "exp"},
		{"nbf in the future", "HS256", with(func(c map[string]any) { c["nbf"] = now.Add(10 * time.Minute).Unix() }), "nbf"},
		{"alg none", "none", good, "alg"},
	} {
		r := post(signJWT(secret, tc.alg, tc.claims), body(), "")
		if r.status != 401 || !strings.Contains(r.errMessage(), tc.why) {
			t.Errorf("%s: %d %s, want 401 naming %s", tc.name, r.status, r.raw, tc.why)
		}
	}

	// Bound to the body by single use: a captured token cannot carry another body.
	tok := signJWT(secret, "HS256", with(func(c map[string]any) { c["iat"] = now.Unix() - 1 }))
	if r := post(tok, body(), "jwt-1"); r.status != 202 || r.body["status"] == "duplicate" {
		t.Fatalf("fresh token: %d %s", r.status, r.raw)
	}
	forged := issueEvent("jira:issue_deleted", account, visible.ID, visible.Key)
	for _, id := range []string{"jwt-2", ""} {
		if r := post(tok, forged, id); r.status != 202 || r.body["status"] != "duplicate" {
			t.Errorf("a used token with another body (id %q): %d %s, want 202 duplicate", id, r.status, r.raw)
		}
	}
	// A body already received, under a fresh token and a new delivery id.
	b := body()
	if r := post(signJWT(secret, "HS256", with(func(c map[string]any) { c["iat"] = now.Unix() - 2 })), b, "jwt-3"); r.status != 202 || r.body["status"] == "duplicate" {
		t.Fatalf("first delivery: %d %s", r.status, r.raw)
	}
	if r := post(signJWT(secret, "HS256", with(func(c map[string]any) { c["iat"] = now.Unix() - 3 })), b, "jwt-4"); r.status != 202 || r.body["status"] != "duplicate" {
		t.Errorf("a received body under a new token and id: %d %s, want 202 duplicate", r.status, r.raw)
	}
}

// TestE2EAdminWebhookReplay: a signed admin-webhook body replayed with a new
// or missing X-Atlassian-Webhook-Identifier is acknowledged as a duplicate
// and queues nothing.
func TestE2EAdminWebhookReplay(t *testing.T) {
	e := newEnv(t, envOptions{})
	account, visible, _ := e.viewerPair()
	e.syncNow(connName, true)
	b := issueEvent("jira:issue_updated", account, visible.ID, visible.Key)
	sig := hubSig(webhookSecret, b)
	before := e.refreshes(connName)
	if r := e.postWebhook(connName, b, map[string]string{"X-Hub-Signature": sig, "X-Atlassian-Webhook-Identifier": "adm-1"}); r.status != 202 || r.body["status"] != "queued" {
		t.Fatalf("first delivery: %d %s", r.status, r.raw)
	}
	e.waitFor("the refresh", 10*time.Second, func() bool { return e.refreshes(connName) > before })
	for _, id := range []string{"adm-2", ""} {
		hdr := map[string]string{"X-Hub-Signature": sig}
		if id != "" {
			hdr["X-Atlassian-Webhook-Identifier"] = id
		}
		if r := e.postWebhook(connName, b, hdr); r.status != 202 || r.body["status"] != "duplicate" {
			t.Errorf("replay with identifier %q: %d %s, want 202 duplicate", id, r.status, r.raw)
		}
	}
	time.Sleep(300 * time.Millisecond)
	if n := e.refreshes(connName); n != before+1 {
		t.Fatalf("%d refreshes after the replays, want 1", n-before)
	}
	// A new event (Jira's bodies differ by their timestamp) is queued.
	b2 := issueEvent("jira:issue_updated", account, visible.ID, visible.Key)
	if r := e.postWebhook(connName, b2, map[string]string{"X-Hub-Signature": hubSig(webhookSecret, b2)}); r.status != 202 || r.body["status"] != "queued" {
		t.Fatalf("a new event: %d %s", r.status, r.raw)
	}
}
