package jirasim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// authorize runs GET /authorize without following the redirect and returns
// the redirect's query.
func authorize(t *testing.T, s *testSim, q url.Values) (int, url.Values) {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(s.ts.URL + "/authorize?" + q.Encode())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return resp.StatusCode, nil
	}
	u, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, u.Query()
}

func consentQuery(s *testSim) url.Values {
	return url.Values{
		"audience": {"api.atlassian.com"}, "client_id": {s.srv.Options().OAuthClientID},
		"scope":        {"read:jira-work read:jira-user write:jira-work manage:jira-webhook offline_access"},
		"redirect_uri": {"http://127.0.0.1:9/callback"}, "state": {"st-123"}, "response_type": {"code"}, "prompt": {"consent"},
	}
}

type tokenResp struct {
	AccessToken      string `json:"access_token"`
	RefreshToken     string `json:"refresh_token"`
	ExpiresIn        int    `json:"expires_in"`
	Scope            string `json:"scope"`
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
}

// postToken posts a token request as JSON (asForm false) or a form.
func postToken(t *testing.T, s *testSim, fields map[string]string, asForm bool) (int, tokenResp) {
	t.Helper()
	var resp *http.Response
	var err error
	if asForm {
		v := url.Values{}
		for k, x := range fields {
			v.Set(k, x)
		}
		resp, err = http.PostForm(s.ts.URL+"/oauth/token", v)
	} else {
		b, _ := json.Marshal(fields)
		resp, err = http.Post(s.ts.URL+"/oauth/token", "application/json", strings.NewReader(string(b)))
	}
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var tr tokenResp
	if err := json.Unmarshal(b, &tr); err != nil {
		t.Fatalf("token response not JSON: %s", b)
	}
	return resp.StatusCode, tr
}

func exchange(t *testing.T, s *testSim, code string, asForm bool) (int, tokenResp) {
	o := s.srv.Options()
	return postToken(t, s, map[string]string{"grant_type": "authorization_code", "client_id": o.OAuthClientID,
		"client_secret": o.OAuthClientSecret, "code": code, "redirect_uri": "http://127.0.0.1:9/callback"}, asForm)
}

func refresh(t *testing.T, s *testSim, rt string) (int, tokenResp) {
	o := s.srv.Options()
	return postToken(t, s, map[string]string{"grant_type": "refresh_token", "client_id": o.OAuthClientID,
		"client_secret": o.OAuthClientSecret, "refresh_token": rt}, false)
}

// oauthBearer runs the whole 3LO flow and returns an access token.
func oauthBearer(t *testing.T, s *testSim) string {
	t.Helper()
	st, q := authorize(t, s, consentQuery(s))
	if st != http.StatusFound {
		t.Fatalf("authorize: %d", st)
	}
	code, tr := exchange(t, s, q.Get("code"), false)
	if code != 200 || tr.AccessToken == "" {
		t.Fatalf("exchange: %d %+v", code, tr)
	}
	return tr.AccessToken
}

func TestOAuthFlowAndRotation(t *testing.T) {
	s := newTestSim(t, Options{})
	st, q := authorize(t, s, consentQuery(s))
	if st != http.StatusFound || q.Get("state") != "st-123" || q.Get("code") == "" {
		t.Fatalf("authorize: %d %v", st, q)
	}
	code := q.Get("code")
	status, tr := exchange(t, s, code, true) // x/oauth2 sends a form
	if status != 200 || tr.AccessToken == "" || tr.RefreshToken == "" || tr.ExpiresIn != 3600 || !strings.Contains(tr.Scope, "read:jira-work") {
		t.Fatalf("exchange: %d %+v", status, tr)
	}
	if status, tr2 := exchange(t, s, code, false); status != 403 || tr2.Error != "invalid_grant" {
		t.Fatalf("code reuse: %d %+v", status, tr2)
	}

	// accessible-resources names this site's cloud id.
	req, _ := http.NewRequest("GET", s.ts.URL+"/oauth/token/accessible-resources", nil)
	req.Header.Set("Authorization", "Bearer "+tr.AccessToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var res []struct {
		ID, URL, Name, AvatarURL string
		Scopes                   []string
	}
	json.NewDecoder(resp.Body).Decode(&res)
	resp.Body.Close()
	if len(res) != 1 || res[0].ID != s.srv.Options().CloudID || res[0].URL != s.ts.URL || len(res[0].Scopes) == 0 {
		t.Fatalf("accessible-resources: %+v", res)
	}

	gw := "/ex/jira/" + s.srv.Options().CloudID + "/rest/api/3/myself"
	if resp, b := s.req("GET", gw, nil, "Bearer "+tr.AccessToken); resp.StatusCode != 200 {
		t.Fatalf("gateway with token: %d %s", resp.StatusCode, b)
	}
	// OAuth tokens are for the gateway only.
	if resp, _ := s.req("GET", "/rest/api/3/myself", nil, "Bearer "+tr.AccessToken); resp.StatusCode != 401 {
		t.Fatalf("token on the site URL: %d, want 401", resp.StatusCode)
	}
	if resp, _ := s.req("GET", "/ex/jira/00000000-0000-4000-8000-000000000000/rest/api/3/myself", nil, "Bearer "+tr.AccessToken); resp.StatusCode != 404 {
		t.Fatalf("unknown cloud id: %d, want 404", resp.StatusCode)
	}

	// Rotation: each refresh returns a new refresh token; the old one is dead.
	old := tr.RefreshToken
	status, tr2 := refresh(t, s, old)
	if status != 200 || tr2.RefreshToken == "" || tr2.RefreshToken == old || tr2.AccessToken == tr.AccessToken {
		t.Fatalf("refresh: %d %+v", status, tr2)
	}
	status, reused := refresh(t, s, old)
	if status != 403 || reused.Error != "invalid_grant" || reused.ErrorDescription != "Unknown or invalid refresh token." {
		t.Fatalf("reuse of a rotated refresh token: %d %+v", status, reused)
	}
	if status, tr3 := refresh(t, s, tr2.RefreshToken); status != 200 || tr3.RefreshToken == tr2.RefreshToken {
		t.Fatalf("refresh with the new token: %d %+v", status, tr3)
	}

	// Revocation kills every refresh token.
	s.srv.RevokeOAuth()
	if resp, _ := s.req("GET", gw, nil, "Bearer "+tr2.AccessToken); resp.StatusCode != 401 {
		t.Fatalf("revoked access token: %d", resp.StatusCode)
	}
}

func TestOAuthRejects(t *testing.T) {
	s := newTestSim(t, Options{AccessTokenTTL: 50 * time.Millisecond})
	o := s.srv.Options()
	t.Run("authorize", func(t *testing.T) {
		for name, mut := range map[string]func(url.Values){
			"unknown client":    func(q url.Values) { q.Set("client_id", "other") },
			"no redirect":       func(q url.Values) { q.Del("redirect_uri") },
			"relative redirect": func(q url.Values) { q.Set("redirect_uri", "/cb") },
			"token flow":        func(q url.Values) { q.Set("response_type", "token") },
			"bad audience":      func(q url.Values) { q.Set("audience", "evil.example") },
		} {
			q := consentQuery(s)
			mut(q)
			if st, _ := authorize(t, s, q); st != http.StatusBadRequest {
				t.Errorf("%s: status %d, want 400", name, st)
			}
		}
	})
	t.Run("token", func(t *testing.T) {
		_, q := authorize(t, s, consentQuery(s))
		if st, tr := postToken(t, s, map[string]string{"grant_type": "authorization_code", "client_id": o.OAuthClientID, "client_secret": "wrong", "code": q.Get("code"), "redirect_uri": "http://127.0.0.1:9/callback"}, false); st != 401 {
			t.Errorf("bad secret: %d %+v", st, tr)
		}
		_, q = authorize(t, s, consentQuery(s))
		if st, tr := postToken(t, s, map[string]string{"grant_type": "authorization_code", "client_id": o.OAuthClientID, "client_secret": o.OAuthClientSecret, "code": q.Get("code"), "redirect_uri": "http://127.0.0.1:9/other"}, false); st != 403 || tr.Error != "invalid_grant" {
			t.Errorf("redirect mismatch: %d %+v", st, tr)
		}
		if st, tr := postToken(t, s, map[string]string{"grant_type": "password", "client_id": o.OAuthClientID, "client_secret": o.OAuthClientSecret}, false); st != 400 || tr.Error != "unsupported_grant_type" {
			t.Errorf("password grant: %d %+v", st, tr)
		}
		if st, tr := refresh(t, s, "never-issued"); st != 403 || tr.Error != "invalid_grant" {
			t.Errorf("unknown refresh token: %d %+v", st, tr)
		}
	})
	t.Run("expiry", func(t *testing.T) {
		tok := oauthBearer(t, s)
		gw := "/ex/jira/" + o.CloudID + "/rest/api/3/myself"
		if resp, _ := s.req("GET", gw, nil, "Bearer "+tok); resp.StatusCode != 200 {
			t.Fatalf("fresh token: %d", resp.StatusCode)
		}
		time.Sleep(80 * time.Millisecond)
		if resp, _ := s.req("GET", gw, nil, "Bearer "+tok); resp.StatusCode != 401 {
			t.Fatalf("expired token: %d, want 401", resp.StatusCode)
		}
	})
	t.Run("no offline_access, no refresh token", func(t *testing.T) {
		q := consentQuery(s)
		q.Set("scope", "read:jira-work")
		_, rq := authorize(t, s, q)
		st, tr := exchange(t, s, rq.Get("code"), false)
		if st != 200 || tr.RefreshToken != "" {
			t.Fatalf("%d %+v", st, tr)
		}
	})
}
