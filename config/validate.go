package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// applyDerivedDefaults fills defaults that depend on other keys.
func (c *Config) applyDerivedDefaults() {
	c.applyRunbookDefaults()
	c.Server.PublicURL = strings.TrimRight(c.Server.PublicURL, "/")
	for i := range c.Connections {
		conn := &c.Connections[i]
		conn.URL = strings.TrimRight(conn.URL, "/")
		if conn.Auth.Type != AuthOAuth {
			continue
		}
		a := &conn.Auth
		if a.AuthURL == "" {
			a.AuthURL = DefaultOAuthAuthURL
		}
		if a.TokenURL == "" {
			a.TokenURL = DefaultOAuthTokenURL
		}
		if a.ResourcesURL == "" {
			a.ResourcesURL = DefaultOAuthResourcesURL
		}
		if a.APIGatewayURL == "" {
			a.APIGatewayURL = DefaultOAuthGatewayURL
		}
		if len(a.Scopes) == 0 {
			a.Scopes = slices.Clone(DefaultOAuthScopes)
		}
		if a.RedirectURL == "" {
			a.RedirectURL = c.Server.BaseURL() + OAuthCallbackPath
		}
	}
}

// BaseURL is where the server is reached from outside: public_url, or
// http://addr when it is not set.
func (s Server) BaseURL() string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	scheme := "http"
	if s.TLSCert != "" {
		scheme = "https"
	}
	return scheme + "://" + s.Addr
}

var connNameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// validator collects errors; each names the key path and the bad value.
type validator struct{ errs []error }

func (v *validator) add(path, format string, args ...any) {
	v.errs = append(v.errs, switchyard.FieldErrorf(switchyard.ErrInvalid, path, format, args...))
}

func (v *validator) oneOf(path, val string, allowed ...string) bool {
	if slices.Contains(allowed, val) {
		return true
	}
	if val == "" {
		v.add(path, "is empty; use one of %s", strings.Join(allowed, ", "))
	} else {
		v.add(path, "%q is not one of %s", clip(val), strings.Join(allowed, ", "))
	}
	return false
}

// httpURL checks an absolute http(s) URL. The value is quoted in errors
// only when it holds no credentials.
func (v *validator) httpURL(path, raw string, required bool) {
	if raw == "" {
		if required {
			v.add(path, "is empty; want an absolute http(s) URL")
		}
		return
	}
	u, err := url.Parse(raw)
	if err == nil && u.User != nil {
		v.add(path, "must not contain a user name or password; use auth instead")
		return
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.add(path, "%q is not an absolute http(s) URL", clip(maskTokens(raw)))
		return
	}
	if u.RawQuery != "" || u.Fragment != "" {
		// A query is where such URLs carry tokens: never quote it.
		v.add(path, "%q must not have a query or fragment", clip(shownURL(u)))
	}
}

// shownURL is u as an error may quote it: scheme, host and path, with path
// segments that look like tokens replaced by "…".
func shownURL(u *url.URL) string {
	return u.Scheme + "://" + u.Host + maskTokens(u.EscapedPath())
}

// maskTokens cuts s at a query or fragment and replaces the /-separated
// parts that look like tokens (long, or mixing letters and digits) by "…".
func maskTokens(s string) string {
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		s = s[:i]
	}
	segs := strings.Split(s, "/")
	for i, seg := range segs {
		if len(seg) >= 24 || len(seg) >= 12 && strings.ContainsAny(seg, "0123456789") && strings.ContainsAny(strings.ToLower(seg), "abcdefghijklmnopqrstuvwxyz") {
			segs[i] = "…"
		}
	}
	return strings.Join(segs, "/")
}

func (v *validator) duration(path string, d, minimum, maximum time.Duration, zeroOK bool) {
	if d == 0 && zeroOK {
		return
	}
	if d < minimum {
		v.add(path, "%s is below the minimum of %s", d, minimum)
	} else if maximum > 0 && d > maximum {
		v.add(path, "%s is above the maximum of %s", d, maximum)
	}
}

// Validate checks the whole configuration and returns every problem found,
// joined; each wraps switchyard.ErrInvalid and names its key.
func (c *Config) Validate() error {
	v := &validator{}
	if strings.TrimSpace(c.DataDir) == "" {
		v.add("data_dir", "is empty")
	}
	c.Store.applyDefaults()
	c.Store.validate(v)
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json")
	c.Server.validate(v)
	names := map[string]int{}
	anyOAuth := false
	for i := range c.Connections {
		conn := &c.Connections[i]
		path := fmt.Sprintf("connections[%d]", i)
		if j, dup := names[conn.Name]; dup && conn.Name != "" {
			v.add(path+".name", "%q is already used by connections[%d]", conn.Name, j)
		}
		names[conn.Name] = i
		conn.validate(v, path)
		anyOAuth = anyOAuth || conn.Auth.Type == AuthOAuth
	}
	if anyOAuth && !c.Server.EncryptionKey.IsSet() {
		v.add("server.encryption_key", "is empty; OAuth connections need it to encrypt tokens at rest (32 bytes, base64 or hex)")
	}
	for i, a := range c.Approvals.Approvers {
		if strings.TrimSpace(a) == "" {
			v.add(fmt.Sprintf("approvals.approvers[%d]", i), "is empty")
		} else if j := slices.Index(c.Approvals.Approvers, a); j < i {
			v.add(fmt.Sprintf("approvals.approvers[%d]", i), "%q is listed twice", clip(a))
		}
	}
	v.duration("approvals.expiry", c.Approvals.Expiry, time.Minute, 30*24*time.Hour, false)
	c.validateRunbook(v)
	return errors.Join(v.errs...)
}

func (s *Server) validate(v *validator) {
	if host, port, err := net.SplitHostPort(s.Addr); err != nil {
		v.add("server.addr", "%q is not HOST:PORT (e.g. 127.0.0.1:8080)", clip(s.Addr))
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 || strings.ContainsAny(host, " /") {
		v.add("server.addr", "%q is not HOST:PORT with a port in 0..65535", clip(s.Addr))
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		if s.TLSCert == "" {
			v.add("server.tls_cert", "is empty but server.tls_key is set; set both or neither")
		} else {
			v.add("server.tls_key", "is empty but server.tls_cert is set; set both or neither")
		}
	}
	v.httpURL("server.public_url", s.PublicURL, false)
	if s.MaxBodyBytes <= 0 || s.MaxBodyBytes > 1<<30 {
		v.add("server.max_body_bytes", "%s is not between 1 and 1GiB", s.MaxBodyBytes)
	}
	if s.EncryptionKey.IsSet() {
		if _, err := decodeKey(s.EncryptionKey.Value()); err != nil {
			v.add("server.encryption_key", "%v", err)
		}
	}
	// A zero deadline would mean none at all, which is what they prevent.
	v.duration("server.read_header_timeout", s.ReadHeaderTimeout, 100*time.Millisecond, 10*time.Minute, false)
	v.duration("server.read_timeout", s.ReadTimeout, 100*time.Millisecond, 24*time.Hour, false)
	v.duration("server.write_timeout", s.WriteTimeout, 100*time.Millisecond, 24*time.Hour, false)
	v.duration("server.idle_timeout", s.IdleTimeout, 100*time.Millisecond, 24*time.Hour, false)
	if s.ReadHeaderTimeout > s.ReadTimeout && s.ReadTimeout > 0 {
		v.add("server.read_header_timeout", "%s is longer than server.read_timeout (%s), which also covers the headers", s.ReadHeaderTimeout, s.ReadTimeout)
	}
	if !(s.UnauthenticatedRequestsPerSecond > 0) || s.UnauthenticatedRequestsPerSecond > 100000 {
		v.add("server.unauthenticated_requests_per_second", "%v is not above 0 (and at most 100000)", s.UnauthenticatedRequestsPerSecond)
	}
	if s.UnauthenticatedBurst < 1 || s.UnauthenticatedBurst > 1000000 {
		v.add("server.unauthenticated_burst", "%d is not between 1 and 1000000", s.UnauthenticatedBurst)
	}
	for i, p := range s.TrustedProxies {
		if _, err := parseProxy(p); err != nil {
			v.add(fmt.Sprintf("server.trusted_proxies[%d]", i), "%q is not an IP address or a CIDR such as 10.0.0.0/8", clip(p))
		}
	}
}

func (c *Connection) validate(v *validator, path string) {
	if !connNameRe.MatchString(c.Name) {
		if c.Name == "" {
			v.add(path+".name", "is empty; want a short nickname such as acme")
		} else {
			v.add(path+".name", "%q must be 1-32 of a-z, 0-9, _ and -, starting with a letter or digit", clip(c.Name))
		}
	}
	kindOK := v.oneOf(path+".kind", c.Kind, KindCloud, KindDataCenter)
	v.httpURL(path+".url", c.URL, true)
	a := &c.Auth
	ap := path + ".auth"
	if v.oneOf(ap+".type", a.Type, AuthAPIToken, AuthOAuth, AuthPAT, AuthBasic) {
		a.validate(v, ap)
		if kindOK && c.Kind == KindCloud && a.Type == AuthPAT {
			v.add(ap+".type", "%q is not available on Jira Cloud; use api_token or oauth", a.Type)
		}
		if kindOK && c.Kind == KindDataCenter && a.Type == AuthOAuth {
			v.add(ap+".type", "%q (3LO) is only for Jira Cloud; use pat or basic on Data Center", a.Type)
		}
	}
	if !(c.RequestsPerSecond > 0) || c.RequestsPerSecond > 10000 {
		v.add(path+".requests_per_second", "%v is not above 0 (and at most 10000)", c.RequestsPerSecond)
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		v.add(path+".concurrency", "%d is not in 1..64", c.Concurrency)
	}
	s := &c.Sync
	sp := path + ".sync"
	v.oneOf(sp+".strategy", s.Strategy, StrategyScheduled, StrategyManual)
	v.duration(sp+".interval", s.Interval, time.Minute, 0, false)
	v.duration(sp+".identity_interval", s.IdentityInterval, time.Minute, 0, true)
	v.duration(sp+".reconcile_interval", s.ReconcileInterval, time.Minute, 0, true)
	if s.Overlap < 0 || s.Overlap > 24*time.Hour {
		v.add(sp+".overlap", "%s is not in 0..24h", s.Overlap)
	}
	if s.AttachmentMaxBytes <= 0 || s.AttachmentMaxBytes > 1<<30 {
		v.add(sp+".attachment_max_bytes", "%s is not between 1 and 1GiB", s.AttachmentMaxBytes)
	}
	if err := s.Filters.Validate(); err != nil {
		for _, e := range unjoin(err) {
			var fe *switchyard.Error
			if errors.As(e, &fe) {
				v.add(sp+".filters."+fe.Field, "%s", fe.Message)
			} else {
				v.add(sp+".filters", "%v", e)
			}
		}
	}
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// authFields lists, per auth type, the keys that type uses; any other key
// that is set is an error, so a typo in the type cannot silently drop a
// credential.
var authFields = map[string][]string{
	AuthAPIToken: {"email", "token"},
	AuthOAuth:    {"client_id", "client_secret", "redirect_url", "scopes", "auth_url", "token_url", "resources_url", "api_gateway_url"},
	AuthPAT:      {"token"},
	AuthBasic:    {"username", "password"},
}

func (a *Auth) set() map[string]bool {
	return map[string]bool{
		"email": a.Email != "", "token": a.Token.IsSet(),
		"client_id": a.ClientID != "", "client_secret": a.ClientSecret.IsSet(), "redirect_url": a.RedirectURL != "",
		"scopes": len(a.Scopes) > 0, "auth_url": a.AuthURL != "", "token_url": a.TokenURL != "",
		"resources_url": a.ResourcesURL != "", "api_gateway_url": a.APIGatewayURL != "",
		"username": a.Username != "", "password": a.Password.IsSet(),
	}
}

func (a *Auth) validate(v *validator, path string) {
	set := a.set()
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if set[k] && !slices.Contains(authFields[a.Type], k) {
			v.add(path+"."+k, "is set but auth type %s does not use it (it uses %s)", a.Type, strings.Join(authFields[a.Type], ", "))
		}
	}
	secret := func(key string, s Secret) {
		if !s.IsSet() {
			v.add(path+"."+key, "is empty; auth type %s needs it", a.Type)
		}
	}
	switch a.Type {
	case AuthAPIToken:
		if a.Email == "" {
			v.add(path+".email", "is empty; auth type api_token needs the account's email")
		} else if !strings.Contains(a.Email, "@") {
			v.add(path+".email", "%q is not an email address", clip(a.Email))
		}
		secret("token", a.Token)
	case AuthPAT:
		secret("token", a.Token)
	case AuthBasic:
		if a.Username == "" {
			v.add(path+".username", "is empty; auth type basic needs it")
		}
		secret("password", a.Password)
	case AuthOAuth:
		if a.ClientID == "" {
			v.add(path+".client_id", "is empty; auth type oauth needs the app's client id")
		}
		secret("client_secret", a.ClientSecret)
		for _, u := range []struct{ key, val string }{
			{"redirect_url", a.RedirectURL}, {"auth_url", a.AuthURL}, {"token_url", a.TokenURL},
			{"resources_url", a.ResourcesURL}, {"api_gateway_url", a.APIGatewayURL},
		} {
			v.httpURL(path+"."+u.key, u.val, true)
		}
		for i, s := range a.Scopes {
			if s == "" || strings.ContainsAny(s, " \t\n") {
				v.add(fmt.Sprintf("%s.scopes[%d]", path, i), "%q is not a scope", clip(s))
			}
		}
		if !slices.Contains(a.Scopes, "offline_access") {
			v.add(path+".scopes", "must include offline_access, or tokens cannot be refreshed")
		}
	}
}
