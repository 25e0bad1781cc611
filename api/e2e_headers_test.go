package api_test

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"switchyard/api"
)

// TestSecurityHeaders: CSP and nosniff on the decision-link page and the
// console; nosniff on the API; HSTS and Secure cookies when public_url is
// https (a TLS-terminating proxy in front), and neither over plain HTTP.
func TestSecurityHeaders(t *testing.T) {
	get := func(t *testing.T, e *env, path string, hdr http.Header) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", e.url+path, nil)
		for k, v := range hdr {
			req.Header[k] = v
		}
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		return res
	}
	cookie := func(res *http.Response, name string) *http.Cookie {
		for _, c := range res.Cookies() {
			if c.Name == name {
				return c
			}
		}
		return nil
	}

	t.Run("plain http", func(t *testing.T) {
		e := newEnv(t, envOptions{runbook: true})
		link := get(t, e, "/api/v1/approvals/1/link?token=forged", nil)
		if csp := link.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "script-src") {
			t.Errorf("decision-link page CSP %q", csp)
		}
		for _, path := range []string{"/api/v1/approvals/1/link?token=forged", "/console/signin", "/api/v1/whoami", "/healthz"} {
			res := get(t, e, path, nil)
			if res.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("%s: no X-Content-Type-Options: nosniff", path)
			}
			if h := res.Header.Get("Strict-Transport-Security"); h != "" {
				t.Errorf("%s: HSTS %q over plain HTTP", path, h)
			}
		}
		if c := cookie(get(t, e, "/console/signin", nil), "sy_signin"); c == nil || c.Secure {
			t.Errorf("sign-in cookie over plain HTTP: %+v", c)
		}
	})

	t.Run("https public_url", func(t *testing.T) {
		e := newEnv(t, envOptions{runbook: true, tune: func(o *api.Options) { o.PublicURL = "https://switchyard.example" }})
		for _, path := range []string{"/api/v1/approvals/1/link?token=forged", "/console/signin", "/healthz"} {
			if h := get(t, e, path, nil).Header.Get("Strict-Transport-Security"); !strings.HasPrefix(h, "max-age=") {
				t.Errorf("%s: HSTS %q behind an https public_url", path, h)
			}
		}
		res := get(t, e, "/console/signin", nil)
		signin := cookie(res, "sy_signin")
		if signin == nil || !signin.Secure || !signin.HttpOnly {
			t.Fatalf("sign-in cookie behind an https public_url: %+v", signin)
		}
		// Sign in (the proxy would pass the Secure cookie on): the session
		// cookie is Secure too.
		req, _ := http.NewRequest("GET", e.url+"/console/signin", nil)
		req.AddCookie(&http.Cookie{Name: signin.Name, Value: signin.Value})
		form, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(form.Body)
		form.Body.Close()
		m := csrfRE.FindStringSubmatch(string(b))
		if m == nil {
			t.Fatal("sign-in form has no CSRF token")
		}
		signin = cookie(form, "sy_signin")
		if signin == nil {
			t.Fatal("sign-in page set no cookie")
		}
		post, _ := http.NewRequest("POST", e.url+"/console/signin", strings.NewReader(url.Values{"key": {e.admin}, "csrf": {m[1]}}.Encode()))
		post.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		post.AddCookie(&http.Cookie{Name: signin.Name, Value: signin.Value})
		done, err := e.client.Do(post)
		if err != nil {
			t.Fatal(err)
		}
		done.Body.Close()
		if done.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign-in: %d", done.StatusCode)
		}
		if s := cookie(done, "sy_session"); s == nil || !s.Secure || !s.HttpOnly || s.SameSite != http.SameSiteStrictMode {
			t.Fatalf("session cookie behind an https public_url: %+v", s)
		}
	})
}
