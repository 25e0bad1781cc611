package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"switchyard"
	"switchyard/connector"
	"switchyard/store"
)

// "Sign in with Atlassian": a person signs in to the console through
// Atlassian's OAuth 2.0 (3LO) with the read:me scope; GET /me names their
// Jira account id, which is who their decisions are made as. The admin key
// sign-in is an administrator's, not a person's, so it cannot decide.

// Defaults of the Atlassian identity endpoints.
const (
	DefaultMeURL = "https://api.atlassian.com/me"
	signInPath   = "/console/signin/atlassian"
	signInState  = "sy_atl_state"
	// signInConn is the store's OAuth state namespace of console sign-ins
	// (connection names cannot contain a space).
	signInConn = "console sign-in"
)

// AtlassianSignIn is the OAuth app people sign in with (server.atlassian_signin).
type AtlassianSignIn struct {
	ClientID     string
	ClientSecret string
	AuthURL      string // default connector.DefaultAuthURL
	TokenURL     string // default connector.DefaultTokenURL
	MeURL        string // default DefaultMeURL
	// RedirectURL is the app's callback; default
	// <public_url>/console/signin/atlassian/callback.
	RedirectURL string
	HTTPClient  *http.Client // default: 30s timeout
}

// person is who a console session belongs to when signed in with Atlassian.
type person struct {
	AccountID string
	Name      string
	Email     string
}

func (s *Server) signInRoutes() {
	if s.opts.AtlassianSignIn == nil || s.opts.Store == nil {
		return
	}
	s.mux.HandleFunc("GET "+signInPath, s.consoleSignInAtlassian)
	s.mux.HandleFunc("GET "+signInPath+"/callback", s.consoleSignInCallback)
}

func (s *Server) signInRedirect() string {
	if u := s.opts.AtlassianSignIn.RedirectURL; u != "" {
		return u
	}
	base := strings.TrimRight(s.opts.PublicURL, "/")
	if base == "" {
		base = s.URL()
	}
	return base + signInPath + "/callback"
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// consoleSignInAtlassian: GET /console/signin/atlassian starts the OAuth
// flow with a stored single-use state, also kept in a cookie so the
// callback is completed only by the browser that started it.
func (s *Server) consoleSignInAtlassian(w http.ResponseWriter, r *http.Request) {
	a := s.opts.AtlassianSignIn
	state, err := s.opts.Store.CreateOAuthState(r.Context(), signInConn, oauthStateTTL)
	if err != nil {
		s.logger.Error("console sign-in state", "err", err)
		s.renderMessage(w, http.StatusInternalServerError, "Sign-in failed", "internal error; see the server log")
		return
	}
	// Lax: the callback is a top-level navigation back from Atlassian.
	http.SetCookie(w, &http.Cookie{Name: signInState, Value: state + "." + url.QueryEscape(safeNext(r.URL.Query().Get("next"))), Path: signInPath, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(), MaxAge: int(oauthStateTTL.Seconds())})
	cfg := oauth2.Config{ClientID: a.ClientID, RedirectURL: s.signInRedirect(), Scopes: []string{"read:me"},
		Endpoint: oauth2.Endpoint{AuthURL: or(a.AuthURL, connector.DefaultAuthURL), TokenURL: or(a.TokenURL, connector.DefaultTokenURL)}}
	http.Redirect(w, r, cfg.AuthCodeURL(state, oauth2.SetAuthURLParam("audience", "api.atlassian.com"), oauth2.SetAuthURLParam("prompt", "consent")), http.StatusFound)
}

// consoleSignInCallback: GET /console/signin/atlassian/callback checks the
// state, trades the code, asks /me who signed in and starts a person session.
func (s *Server) consoleSignInCallback(w http.ResponseWriter, r *http.Request) {
	p, next, err := s.signInCallback(r)
	if err != nil {
		status, _ := statusOf(err)
		msg := err.Error()
		if status == http.StatusInternalServerError {
			s.logger.Error("console sign-in with Atlassian failed", "request_id", requestID(r.Context()), "err", err)
			msg = "internal error; see the server log for request " + requestID(r.Context())
		}
		s.renderMessage(w, status, "Sign-in failed", msg)
		return
	}
	id, _ := s.sessions.createPerson(p)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/console", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(), MaxAge: int(s.opts.SessionTTL.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: signInState, Value: "", Path: signInPath, MaxAge: -1})
	s.logger.Info("console sign-in with Atlassian", "account_id", p.AccountID)
	// A page, not a redirect: a Strict session cookie set on a navigation
	// that began at Atlassian is sent only from a same-site navigation.
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	fmt.Fprintf(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="0;url=%s"><title>Signed in</title></head><body><p>Signed in as %s. <a id="continue" href="%s">Continue</a></p></body></html>`,
		html.EscapeString(next), html.EscapeString(p.Name), html.EscapeString(next))
}

func (s *Server) signInCallback(r *http.Request) (person, string, error) {
	q := r.URL.Query()
	state := q.Get("state")
	c, err := r.Cookie(signInState)
	if state == "" || err != nil {
		return person{}, "", switchyard.Errorf(switchyard.ErrInvalid, "the sign-in was not started in this browser, or took longer than %s; start again", oauthStateTTL)
	}
	cs, next, _ := strings.Cut(c.Value, ".")
	next, _ = url.QueryUnescape(next)
	if cs != state {
		return person{}, "", switchyard.Errorf(switchyard.ErrInvalid, "the sign-in was not started in this browser; start again")
	}
	if conn, err := s.opts.Store.ConsumeOAuthState(r.Context(), state); err != nil || conn != signInConn {
		return person{}, "", switchyard.Errorf(switchyard.ErrInvalid, "unknown, used or expired sign-in state; start again")
	}
	if e := q.Get("error"); e != "" {
		return person{}, "", switchyard.Errorf(switchyard.ErrForbidden, "Atlassian refused the sign-in: %s %s", e, q.Get("error_description"))
	}
	if q.Get("code") == "" {
		return person{}, "", switchyard.FieldErrorf(switchyard.ErrInvalid, "code", "is missing")
	}
	a := s.opts.AtlassianSignIn
	hc := a.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	oc := connector.OAuthConfig{ClientID: a.ClientID, ClientSecret: a.ClientSecret, RedirectURL: s.signInRedirect(), TokenURL: a.TokenURL, HTTPClient: hc}
	tok, err := oc.Exchange(r.Context(), q.Get("code"))
	if err != nil {
		return person{}, "", fmt.Errorf("exchange the sign-in code: %w", err)
	}
	p, err := atlassianMe(r.Context(), hc, or(a.MeURL, DefaultMeURL), tok.AccessToken)
	if err != nil {
		return person{}, "", err
	}
	return p, safeNext(next), nil
}

// atlassianMe asks GET /me who the token belongs to.
func atlassianMe(ctx context.Context, hc *http.Client, meURL, access string) (person, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, meURL, nil)
	if err != nil {
		return person{}, fmt.Errorf("atlassian /me: %w", err)
	}
	(&oauth2.Token{AccessToken: access, TokenType: "Bearer"}).SetAuthHeader(req)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return person{}, fmt.Errorf("atlassian /me: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode != http.StatusOK {
		return person{}, switchyard.Errorf(switchyard.ErrForbidden, "Atlassian did not say who signed in (GET /me answered HTTP %d); the app needs the read:me scope", resp.StatusCode)
	}
	var me struct {
		AccountID     string `json:"account_id"`
		Name          string `json:"name"`
		Email         string `json:"email"`
		AccountStatus string `json:"account_status"`
	}
	if err := json.Unmarshal(raw, &me); err != nil || me.AccountID == "" {
		return person{}, errors.New("atlassian /me: the answer has no account_id")
	}
	if me.AccountStatus != "" && me.AccountStatus != "active" {
		return person{}, switchyard.Errorf(switchyard.ErrForbidden, "the Atlassian account %s is %s", me.AccountID, me.AccountStatus)
	}
	return person{AccountID: me.AccountID, Name: me.Name, Email: me.Email}, nil
}

// createPerson starts a session for a person signed in with Atlassian.
func (ss *sessions) createPerson(p person) (string, *session) {
	id, s := ss.create(store.APIKey{})
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s = ss.m[id]
	s.person = &p
	s.keyName = p.Name
	if s.keyName == "" {
		s.keyName = p.AccountID
	}
	cp := *s
	return id, &cp
}
