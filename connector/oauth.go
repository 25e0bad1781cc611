package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"switchyard"
)

// Atlassian's OAuth 2.0 (3LO) endpoints; configurable so that the whole flow
// runs against the simulator.
const (
	DefaultAuthURL       = "https://auth.atlassian.com/authorize"
	DefaultTokenURL      = "https://auth.atlassian.com/oauth/token"
	DefaultResourcesURL  = "https://api.atlassian.com/oauth/token/accessible-resources"
	DefaultAPIGatewayURL = "https://api.atlassian.com"
)

// OAuthConfig is an Atlassian OAuth 2.0 (3LO) app.
type OAuthConfig struct {
	ClientID     string
	ClientSecret string
	RedirectURL  string
	Scopes       []string // offline_access is always added

	AuthURL       string // default DefaultAuthURL
	TokenURL      string // default DefaultTokenURL
	ResourcesURL  string // default DefaultResourcesURL
	APIGatewayURL string // default DefaultAPIGatewayURL

	HTTPClient *http.Client // for Exchange and CloudID; default a client with a 60s timeout
}

// TokenStore keeps a connection's OAuth token. Because Atlassian rotates
// refresh tokens, SaveToken must be durable before it returns: the connector
// calls it before the new access token is used.
type TokenStore interface {
	LoadToken(ctx context.Context, connection string) (*oauth2.Token, error)
	SaveToken(ctx context.Context, connection string, tok *oauth2.Token) error
}

func (c *OAuthConfig) validate() error {
	if c.ClientID == "" {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "auth.client_id", "is required for oauth auth")
	}
	if c.ClientSecret == "" {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "auth.client_secret", "is required for oauth auth")
	}
	for field, v := range map[string]string{"auth.auth_url": c.AuthURL, "auth.token_url": c.TokenURL, "auth.resources_url": c.ResourcesURL, "auth.api_gateway_url": c.APIGatewayURL, "auth.redirect_url": c.RedirectURL} {
		if v == "" {
			continue
		}
		if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return switchyard.FieldErrorf(switchyard.ErrInvalid, field, "must be an absolute http(s) URL, not %q", v)
		}
	}
	return nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (c *OAuthConfig) authURL() string       { return or(c.AuthURL, DefaultAuthURL) }
func (c *OAuthConfig) tokenURL() string      { return or(c.TokenURL, DefaultTokenURL) }
func (c *OAuthConfig) resourcesURL() string  { return or(c.ResourcesURL, DefaultResourcesURL) }
func (c *OAuthConfig) apiGatewayURL() string { return or(c.APIGatewayURL, DefaultAPIGatewayURL) }

func (c *OAuthConfig) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: 60 * time.Second}
}

func (c *OAuthConfig) scopes() []string {
	s := slices.Clone(c.Scopes)
	if !slices.Contains(s, "offline_access") {
		s = append(s, "offline_access")
	}
	return s
}

// AuthCodeURL is the consent page an admin is sent to. state must be an
// unguessable value the callback checks.
func (c *OAuthConfig) AuthCodeURL(state string) string {
	cfg := oauth2.Config{
		ClientID:    c.ClientID,
		Endpoint:    oauth2.Endpoint{AuthURL: c.authURL(), TokenURL: c.tokenURL()},
		RedirectURL: c.RedirectURL,
		Scopes:      c.scopes(),
	}
	return cfg.AuthCodeURL(state,
		oauth2.SetAuthURLParam("audience", "api.atlassian.com"),
		oauth2.SetAuthURLParam("prompt", "consent"))
}

// Exchange trades an authorization code for the first token pair.
func (c *OAuthConfig) Exchange(ctx context.Context, code string) (*oauth2.Token, error) {
	if code == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "code", "is empty")
	}
	return c.tokenRequest(ctx, c.httpClient(), map[string]string{
		"grant_type":    "authorization_code",
		"client_id":     c.ClientID,
		"client_secret": c.ClientSecret,
		"code":          code,
		"redirect_uri":  c.RedirectURL,
	})
}

func (c *OAuthConfig) refresh(ctx context.Context, hc *http.Client, refreshToken string) (*oauth2.Token, error) {
	return c.tokenRequest(ctx, hc, map[string]string{
		"grant_type":    "refresh_token",
		"client_id":     c.ClientID,
		"client_secret": c.ClientSecret,
		"refresh_token": refreshToken,
	})
}

// tokenRequest posts JSON, as Atlassian documents for its token endpoint. It
// is not retried: a lost answer to a refresh may already have rotated the
// refresh token, and a resend would only earn invalid_grant.
func (c *OAuthConfig) tokenRequest(ctx context.Context, hc *http.Client, form map[string]string) (*oauth2.Token, error) {
	grant := form["grant_type"]
	body, _ := json.Marshal(form)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.tokenURL(), bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("oauth token (%s): %w", grant, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("oauth token (%s): %w", grant, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("oauth token (%s): read response: %w", grant, err)
	}
	var tr struct {
		AccessToken  string `json:"access_token"`
		RefreshToken string `json:"refresh_token"`
		TokenType    string `json:"token_type"`
		ExpiresIn    int64  `json:"expires_in"`
		Scope        string `json:"scope"`
		Error        string `json:"error"`
		Description  string `json:"error_description"`
	}
	jerr := json.Unmarshal(b, &tr)
	if resp.StatusCode < 200 || resp.StatusCode > 299 || tr.Error != "" {
		if tr.Error == "invalid_grant" {
			what := "authorization code"
			if grant == "refresh_token" {
				what = "refresh token"
			}
			return nil, &switchyard.Error{Kind: switchyard.ErrReauthorize,
				Message: fmt.Sprintf("re-authorize this connection: the %s was rejected (invalid_grant)", what)}
		}
		msg := tr.Error
		if tr.Description != "" {
			msg += ": " + tr.Description
		}
		if resp.StatusCode == http.StatusUnauthorized || tr.Error == "invalid_client" || tr.Error == "unauthorized_client" {
			return nil, &switchyard.Error{Kind: switchyard.ErrUnauthorized, Message: fmt.Sprintf("oauth token (%s): HTTP %d %s", grant, resp.StatusCode, msg)}
		}
		return nil, fmt.Errorf("oauth token (%s): HTTP %d %s", grant, resp.StatusCode, msg)
	}
	if jerr != nil || tr.AccessToken == "" {
		return nil, fmt.Errorf("oauth token (%s): response has no access_token", grant)
	}
	tok := &oauth2.Token{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken, TokenType: or(tr.TokenType, "Bearer")}
	if tr.ExpiresIn > 0 {
		tok.Expiry = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return tok.WithExtra(map[string]any{"scope": tr.Scope}), nil
}

// Resource is one site an OAuth token may reach.
type Resource struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
}

// Resources lists the sites the token was granted (accessible-resources).
func (c *OAuthConfig) Resources(ctx context.Context, tok *oauth2.Token) ([]Resource, error) {
	return c.resources(ctx, c.httpClient(), tok)
}

func (c *OAuthConfig) resources(ctx context.Context, hc *http.Client, tok *oauth2.Token) ([]Resource, error) {
	if tok == nil || tok.AccessToken == "" {
		return nil, fmt.Errorf("accessible-resources: no access token")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.resourcesURL(), nil)
	if err != nil {
		return nil, fmt.Errorf("accessible-resources: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("accessible-resources: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, statusError(http.MethodGet, "accessible-resources", resp)
	}
	var rs []Resource
	if err := json.NewDecoder(io.LimitReader(resp.Body, 4<<20)).Decode(&rs); err != nil {
		return nil, fmt.Errorf("accessible-resources: decode: %w", err)
	}
	return rs, nil
}

// CloudID finds the cloud id of siteURL among the token's accessible
// resources. With siteURL empty and exactly one resource, that one is used.
func (c *OAuthConfig) CloudID(ctx context.Context, tok *oauth2.Token, siteURL string) (string, error) {
	return c.cloudID(ctx, c.httpClient(), tok, siteURL)
}

func (c *OAuthConfig) cloudID(ctx context.Context, hc *http.Client, tok *oauth2.Token, siteURL string) (string, error) {
	rs, err := c.resources(ctx, hc, tok)
	if err != nil {
		return "", err
	}
	want := normSite(siteURL)
	var have []string
	for _, r := range rs {
		if want != "" && normSite(r.URL) == want {
			return r.ID, nil
		}
		have = append(have, r.URL)
	}
	if want == "" && len(rs) == 1 {
		return rs[0].ID, nil
	}
	return "", switchyard.Errorf(switchyard.ErrNotFound, "accessible-resources: this token does not reach site %q (it reaches %s)", siteURL, strings.Join(have, ", "))
}

func normSite(s string) string { return strings.ToLower(strings.TrimRight(strings.TrimSpace(s), "/")) }

// authError marks a failure to obtain credentials; the transport does not
// retry the API call on it.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// refreshLocks serializes refreshes per connection across every Client in
// the process: with rotating refresh tokens, two concurrent refreshes would
// invalidate each other.
var refreshLocks sync.Map // connection name → chan struct{}

func refreshLock(conn string) chan struct{} {
	ch, _ := refreshLocks.LoadOrStore(conn, make(chan struct{}, 1))
	return ch.(chan struct{})
}

// oauthSource hands out a valid access token for one connection, refreshing
// (and persisting the rotated refresh token) when needed.
type oauthSource struct {
	cfg   *OAuthConfig
	store TokenStore
	conn  string
	hc    *http.Client

	mu      sync.Mutex
	cached  *oauth2.Token
	stale   string // an access token the API rejected
	cloudId string
}

func newOAuthSource(a Auth, conn string, hc *http.Client) *oauthSource {
	return &oauthSource{cfg: a.OAuth, store: a.Store, conn: conn, hc: hc, cloudId: a.CloudID}
}

// expiryMargin refreshes a little early so a token does not expire in flight.
const expiryMargin = 60 * time.Second

func (s *oauthSource) usable(t *oauth2.Token) bool {
	return t != nil && t.AccessToken != "" && t.AccessToken != s.stale &&
		(t.Expiry.IsZero() || time.Until(t.Expiry) > expiryMargin)
}

func (s *oauthSource) token(ctx context.Context) (*oauth2.Token, error) {
	s.mu.Lock()
	if s.usable(s.cached) {
		t := s.cached
		s.mu.Unlock()
		return t, nil
	}
	s.mu.Unlock()

	lock := refreshLock(s.conn)
	select {
	case lock <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-lock }()

	// Another worker (or process) may have refreshed while we waited.
	tok, err := s.store.LoadToken(ctx, s.conn)
	if err != nil {
		if errors.Is(err, switchyard.ErrNotFound) {
			return nil, &authError{&switchyard.Error{Kind: switchyard.ErrReauthorize, Message: fmt.Sprintf("oauth %s: no token stored: re-authorize this connection", s.conn)}}
		}
		return nil, &authError{fmt.Errorf("oauth %s: load token: %w", s.conn, err)}
	}
	if tok == nil || (tok.AccessToken == "" && tok.RefreshToken == "") {
		return nil, &authError{&switchyard.Error{Kind: switchyard.ErrReauthorize, Message: fmt.Sprintf("oauth %s: no token stored: re-authorize this connection", s.conn)}}
	}
	s.mu.Lock()
	ok := s.usable(tok)
	if ok {
		s.cached = tok
	}
	s.mu.Unlock()
	if ok {
		return tok, nil
	}
	if tok.RefreshToken == "" {
		return nil, &authError{&switchyard.Error{Kind: switchyard.ErrReauthorize, Message: fmt.Sprintf("oauth %s: access token expired and no refresh token: re-authorize this connection", s.conn)}}
	}
	nt, err := s.cfg.refresh(ctx, s.hc, tok.RefreshToken)
	if err != nil {
		return nil, &authError{fmt.Errorf("oauth %s: refresh: %w", s.conn, err)}
	}
	if nt.RefreshToken == "" {
		nt.RefreshToken = tok.RefreshToken // a non-rotating server keeps the old one valid
	}
	// Persist before use: if we crashed after using the new access token but
	// before saving, the stored (old) refresh token would already be spent.
	if err := s.store.SaveToken(ctx, s.conn, nt); err != nil {
		return nil, &authError{fmt.Errorf("oauth %s: save refreshed token: %w", s.conn, err)}
	}
	s.mu.Lock()
	s.cached = nt
	s.mu.Unlock()
	return nt, nil
}

// invalidate forgets an access token the API rejected with 401, so the next
// call refreshes.
func (s *oauthSource) invalidate(access string) {
	if access == "" {
		return
	}
	s.mu.Lock()
	s.stale = access
	if s.cached != nil && s.cached.AccessToken == access {
		s.cached = nil
	}
	s.mu.Unlock()
}

func (s *oauthSource) cloudID(ctx context.Context, siteURL string) (string, error) {
	s.mu.Lock()
	id := s.cloudId
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	tok, err := s.token(ctx)
	if err != nil {
		return "", err
	}
	id, err = s.cfg.cloudID(ctx, s.hc, tok, siteURL)
	if err != nil {
		return "", fmt.Errorf("oauth %s: %w", s.conn, err)
	}
	s.mu.Lock()
	s.cloudId = id
	s.mu.Unlock()
	return id, nil
}
