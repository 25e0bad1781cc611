package api_test

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"switchyard/api"
)

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// TestConsoleSessionSecurity checks the console's cookie flags, CSRF checks
// and that revoking the key ends its sessions, over plain HTTP.
func TestConsoleSessionSecurity(t *testing.T) {
	e := newEnv(t, envOptions{})
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	get := func(path string) (int, string, *http.Response) {
		res, err := c.Get(e.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res
	}
	post := func(path string, form url.Values) (int, string, *http.Response) {
		res, err := c.PostForm(e.url+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b), res
	}
	if code, _, res := get("/console/sync"); code != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/console/signin") {
		t.Fatalf("unauthenticated console page: %d %s", code, res.Header.Get("Location"))
	}
	_, body, _ := get("/console/signin")
	m := csrfRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatal("sign-in form has no CSRF token")
	}
	// Sign-in without the form's token is refused.
	if code, _, _ := post("/console/signin", url.Values{"key": {e.admin}, "csrf": {"forged"}}); code != 403 {
		t.Fatalf("sign-in with a forged token: %d", code)
	}
	_, body, _ = get("/console/signin")
	m = csrfRE.FindStringSubmatch(body)
	// A key without config:admin may not sign in.
	_, weak := e.key("reader", api.ScopeSearchRead)
	if code, body, _ := post("/console/signin", url.Values{"key": {weak}, "csrf": {m[1]}}); code != 403 || !strings.Contains(body, "config:admin") {
		t.Fatalf("sign-in with a search key: %d", code)
	}
	_, body, _ = get("/console/signin")
	m = csrfRE.FindStringSubmatch(body)
	adminKey, admin := e.key("console admin", api.AllScopes...)
	code, _, res := post("/console/signin", url.Values{"key": {admin}, "csrf": {m[1]}})
	if code != 303 {
		t.Fatalf("sign-in: %d", code)
	}
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "sy_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v: want HttpOnly and SameSite=Strict", session)
	}
	code, body, res = get("/console/sync")
	if code != 200 || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("sync page: %d CSP %q", code, res.Header.Get("Content-Security-Policy"))
	}
	token := csrfRE.FindStringSubmatch(body)[1]
	// A form without the session's CSRF token changes nothing.
	before := e.lastRun(connName).ID
	if code, _, _ := post("/console/sync", url.Values{"connection": {connName}, "full": {"true"}}); code != 403 {
		t.Fatalf("sync without CSRF: %d, want 403", code)
	}
	if code, _, _ := post("/console/filters", url.Values{"connection": {connName}, "projects_in": {"ITSM"}, "csrf": {"stale"}}); code != 403 {
		t.Fatalf("filters with a stale CSRF token: %d, want 403", code)
	}
	if cs, _ := e.db.ConnectionState(context.Background(), connName); len(cs.Filters) != 0 {
		t.Fatal("a forged form stored filters")
	}
	if s, _ := e.eng.Status(context.Background(), connName); s.State != "idle" || e.lastRun(connName).ID != before {
		t.Fatal("a forged form started a sync")
	}
	// With the token it works.
	if code, _, _ := post("/console/sync", url.Values{"connection": {connName}, "csrf": {token}}); code != 303 {
		t.Fatalf("sync with CSRF: %d", code)
	}
	// Revoking the key ends the session at once.
	if _, err := e.db.RevokeAPIKey(context.Background(), adminKey.ID); err != nil {
		t.Fatal(err)
	}
	if code, _, res := get("/console/connections"); code != 303 || !strings.HasPrefix(res.Header.Get("Location"), "/console/signin") {
		t.Fatalf("console after revoking the key: %d", code)
	}
}
