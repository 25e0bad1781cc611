package jirasim

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// oauthServer is a small Atlassian authorization server (OAuth 2.0 3LO):
// /authorize consents automatically as the admin, /oauth/token exchanges codes
// and ROTATING refresh tokens (each refresh disables the token it used), and
// /oauth/token/accessible-resources lists this one site.
type oauthServer struct {
	s *Server

	mu      sync.Mutex
	codes   map[string]authCode
	access  map[string]tokenGrant
	refresh map[string]tokenGrant
	used    map[string]bool // refresh tokens already rotated away (reuse is rejected)
	now     func() time.Time
	codeTTL time.Duration
	// consentAs is the account that consents at /authorize ("" = the
	// admin): the person signing in, for "Sign in with Atlassian".
	consentAs string
}

type authCode struct {
	account     string // who consented
	clientID    string
	redirectURI string
	scope       string
	expires     time.Time
}

type tokenGrant struct {
	account  string // who consented
	clientID string
	scope    string
	expires  time.Time // zero for refresh tokens (they live until rotated)
}

// The scopes the simulator grants when the authorize request names none.
const defaultScopes = "read:jira-user read:jira-work write:jira-work manage:jira-webhook offline_access"

func newOAuthServer(s *Server) *oauthServer {
	return &oauthServer{
		s:       s,
		codes:   map[string]authCode{},
		access:  map[string]tokenGrant{},
		refresh: map[string]tokenGrant{},
		used:    map[string]bool{},
		now:     time.Now,
		codeTTL: 10 * time.Minute,
	}
}

func (o *oauthServer) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/authorize":
		o.authorize(rw, r)
	case "/oauth/token":
		o.token(rw, r)
	case "/oauth/token/accessible-resources":
		o.accessibleResources(rw, r)
	case "/me":
		o.me(rw, r)
	}
}

func apiRandomToken(prefix string) string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// authorize validates the consent request and redirects straight back with a
// code, as if the admin had clicked Accept.
func (o *oauthServer) authorize(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		rw.Header().Set("Allow", "GET")
		http.Error(rw, "authorize: use GET", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	clientID := q.Get("client_id")
	redirectURI := q.Get("redirect_uri")
	if clientID != o.s.opts.OAuthClientID {
		http.Error(rw, "authorize: unknown client_id "+apiQuote(clientID), http.StatusBadRequest)
		return
	}
	ru, err := url.Parse(redirectURI)
	if redirectURI == "" || err != nil || !ru.IsAbs() {
		http.Error(rw, "authorize: redirect_uri "+apiQuote(redirectURI)+" must be an absolute URL", http.StatusBadRequest)
		return
	}
	if rt := q.Get("response_type"); rt != "code" {
		http.Error(rw, "authorize: response_type "+apiQuote(rt)+" is not supported (use code)", http.StatusBadRequest)
		return
	}
	if aud := q.Get("audience"); aud != "" && aud != "api.atlassian.com" {
		http.Error(rw, "authorize: audience "+apiQuote(aud)+" is unknown (use api.atlassian.com)", http.StatusBadRequest)
		return
	}
	scope := q.Get("scope")
	if scope == "" {
		scope = defaultScopes
	}
	code := apiRandomToken("code-")
	o.mu.Lock()
	who := o.consentAs
	if who == "" {
		who = o.s.adminAccountID
	}
	o.codes[code] = authCode{account: who, clientID: clientID, redirectURI: redirectURI, scope: scope, expires: o.now().Add(o.codeTTL)}
	o.mu.Unlock()

	v := ru.Query()
	v.Set("code", code)
	if st := q.Get("state"); st != "" {
		v.Set("state", st)
	}
	ru.RawQuery = v.Encode()
	http.Redirect(rw, r, ru.String(), http.StatusFound)
}

func apiQuote(s string) string { return `"` + s + `"` }

type tokenRequest struct {
	GrantType    string `json:"grant_type"`
	ClientID     string `json:"client_id"`
	ClientSecret string `json:"client_secret"`
	Code         string `json:"code"`
	RedirectURI  string `json:"redirect_uri"`
	RefreshToken string `json:"refresh_token"`
}

func oauthError(rw http.ResponseWriter, status int, code, desc string) {
	rw.Header().Set("Cache-Control", "no-store")
	apiJSON(rw, status, map[string]string{"error": code, "error_description": desc})
}

// token serves both grants; bodies may be JSON (as Atlassian documents) or a
// form (as golang.org/x/oauth2 sends), client credentials in the body or Basic.
func (o *oauthServer) token(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		rw.Header().Set("Allow", "POST")
		oauthError(rw, http.StatusMethodNotAllowed, "invalid_request", "Use POST.")
		return
	}
	var req tokenRequest
	r.Body = http.MaxBytesReader(rw, r.Body, 1<<16)
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			oauthError(rw, http.StatusBadRequest, "invalid_request", "The request body is not valid JSON.")
			return
		}
	} else {
		if err := r.ParseForm(); err != nil {
			oauthError(rw, http.StatusBadRequest, "invalid_request", "The request body is not a valid form.")
			return
		}
		f := r.PostForm
		req = tokenRequest{GrantType: f.Get("grant_type"), ClientID: f.Get("client_id"), ClientSecret: f.Get("client_secret"),
			Code: f.Get("code"), RedirectURI: f.Get("redirect_uri"), RefreshToken: f.Get("refresh_token")}
	}
	if u, p, ok := r.BasicAuth(); ok && req.ClientID == "" {
		req.ClientID, req.ClientSecret = u, p
	}
	if req.ClientID != o.s.opts.OAuthClientID || !constEq(req.ClientSecret, o.s.opts.OAuthClientSecret) {
		oauthError(rw, http.StatusUnauthorized, "access_denied", "Unauthorized")
		return
	}
	now := o.now()
	o.mu.Lock()
	defer o.mu.Unlock()
	var scope, account string
	switch req.GrantType {
	case "authorization_code":
		c, ok := o.codes[req.Code]
		delete(o.codes, req.Code) // single use, even when the exchange fails
		if !ok || now.After(c.expires) || c.clientID != req.ClientID {
			oauthError(rw, http.StatusForbidden, "invalid_grant", "Invalid authorization code")
			return
		}
		if req.RedirectURI != c.redirectURI {
			oauthError(rw, http.StatusForbidden, "invalid_grant", "redirect_uri does not match the one used to authorize")
			return
		}
		scope, account = c.scope, c.account
	case "refresh_token":
		g, ok := o.refresh[req.RefreshToken]
		if !ok || g.clientID != req.ClientID {
			oauthError(rw, http.StatusForbidden, "invalid_grant", "Unknown or invalid refresh token.")
			return
		}
		delete(o.refresh, req.RefreshToken)
		o.used[req.RefreshToken] = true
		scope, account = g.scope, g.account
	default:
		oauthError(rw, http.StatusBadRequest, "unsupported_grant_type", "grant_type "+apiQuote(req.GrantType)+" is not supported")
		return
	}
	ttl := o.s.opts.AccessTokenTTL
	at := apiRandomToken("sim-at-")
	o.access[at] = tokenGrant{account: account, clientID: req.ClientID, scope: scope, expires: now.Add(ttl)}
	resp := map[string]any{
		"access_token": at,
		"token_type":   "Bearer",
		"expires_in":   int(ttl / time.Second),
		"scope":        scope,
	}
	if hasScope(scope, "offline_access") {
		rt := apiRandomToken("sim-rt-")
		o.refresh[rt] = tokenGrant{account: account, clientID: req.ClientID, scope: scope}
		resp["refresh_token"] = rt
	}
	rw.Header().Set("Cache-Control", "no-store")
	apiJSON(rw, http.StatusOK, resp)
}

func hasScope(scopes, want string) bool {
	for _, s := range strings.Fields(scopes) {
		if s == want {
			return true
		}
	}
	return false
}

// validAccessToken reports whether tok is a live access token and its client.
func (o *oauthServer) validAccessToken(tok string) (string, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	g, ok := o.access[tok]
	if !ok {
		return "", false
	}
	if o.now().After(g.expires) {
		delete(o.access, tok)
		return "", false
	}
	return g.clientID, true
}

// RevokeOAuth forgets every OAuth token, as when the admin revokes the app:
// the next refresh fails with invalid_grant.
func (s *Server) RevokeOAuth() {
	o := s.oauth
	o.mu.Lock()
	defer o.mu.Unlock()
	for t := range o.refresh {
		o.used[t] = true
	}
	o.access = map[string]tokenGrant{}
	o.refresh = map[string]tokenGrant{}
}

// ExpireAccessTokens makes every issued access token expired (tests of refresh).
func (s *Server) ExpireAccessTokens() {
	o := s.oauth
	o.mu.Lock()
	defer o.mu.Unlock()
	o.access = map[string]tokenGrant{}
}

func (o *oauthServer) accessibleResources(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		rw.Header().Set("Allow", "GET")
		apiError(rw, http.StatusMethodNotAllowed, "Use GET.")
		return
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		apiJSON(rw, http.StatusUnauthorized, map[string]any{"code": 401, "message": "Unauthorized"})
		return
	}
	if _, ok := o.validAccessToken(strings.TrimSpace(tok)); !ok {
		apiJSON(rw, http.StatusUnauthorized, map[string]any{"code": 401, "message": "Unauthorized"})
		return
	}
	o.mu.Lock()
	scope := o.access[strings.TrimSpace(tok)].scope
	o.mu.Unlock()
	scopes := []string{}
	for _, sc := range strings.Fields(scope) {
		if sc != "offline_access" {
			scopes = append(scopes, sc)
		}
	}
	base := o.s.base(r)
	apiJSON(rw, http.StatusOK, []map[string]any{{
		"id":        o.s.opts.CloudID,
		"url":       base,
		"name":      "switchyard-sim",
		"scopes":    scopes,
		"avatarUrl": base + "/_sim/avatar.png",
	}})
}

// SetOAuthConsentAs makes the next consents at /authorize be given by the
// account (a person signing in with Atlassian); "" = the admin again.
func (s *Server) SetOAuthConsentAs(accountID string) {
	s.oauth.mu.Lock()
	defer s.oauth.mu.Unlock()
	s.oauth.consentAs = accountID
}

// me is Atlassian's GET https://api.atlassian.com/me: the profile of the
// account that consented to the token, with the read:me scope.
func (o *oauthServer) me(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		rw.Header().Set("Allow", "GET")
		apiError(rw, http.StatusMethodNotAllowed, "Use GET.")
		return
	}
	scheme, tok, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	tok = strings.TrimSpace(tok)
	if !strings.EqualFold(scheme, "Bearer") {
		apiJSON(rw, http.StatusUnauthorized, map[string]any{"code": 401, "message": "Unauthorized"})
		return
	}
	if _, ok := o.validAccessToken(tok); !ok {
		apiJSON(rw, http.StatusUnauthorized, map[string]any{"code": 401, "message": "Unauthorized"})
		return
	}
	o.mu.Lock()
	g := o.access[tok]
	o.mu.Unlock()
	if !hasScope(g.scope, "read:me") {
		apiJSON(rw, http.StatusForbidden, map[string]any{"code": 403, "message": "The access token lacks the read:me scope."})
		return
	}
	w := o.s.world
	w.RLock()
	u := w.UserByID(g.account)
	var out map[string]any
	if u != nil {
		email := u.Email
		if email == "" {
			email = u.HiddenEmail // /me shows the user their own address
		}
		status := "active"
		if !u.Active {
			status = "inactive"
		}
		out = map[string]any{"account_type": "atlassian", "account_id": u.AccountID, "email": email, "email_verified": true,
			"name": u.DisplayName, "nickname": u.DisplayName, "picture": o.s.base(r) + "/_sim/avatar.png",
			"account_status": status, "locale": "en-US", "extended_profile": map[string]any{}}
	}
	w.RUnlock()
	if out == nil {
		apiJSON(rw, http.StatusNotFound, map[string]any{"code": 404, "message": "No such account."})
		return
	}
	apiJSON(rw, http.StatusOK, out)
}
