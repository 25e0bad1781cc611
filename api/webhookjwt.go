package api

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"switchyard"
)

// The JWT of an OAuth 2.0 app's dynamic webhook (Authorization: Bearer …,
// HS256 with the app's client secret) is checked like an Atlassian Connect
// server-to-server token: the signature, then every claim that binds it to
// this app, this site, this request and a short time window. Atlassian does
// not document more of the claim set for OAuth apps, so this is the Connect
// scheme (https://developer.atlassian.com/cloud/jira/platform/understanding-jwt-for-connect-apps/).
// qsh covers the method, path and query but not the body; the receiver
// accepts each token once (see jiraWebhook), so a captured token cannot carry
// another body.

const (
	// jwtMaxLifetime bounds exp-iat: Jira signs each delivery just before
	// sending it, so a token meant to live longer (a year) is refused.
	jwtMaxLifetime = 10 * time.Minute
	// jwtSkew is the clock difference tolerated on exp, iat and nbf.
	jwtSkew = time.Minute
	// jwtLatestTime bounds numeric dates (year 2242) so that a huge value
	// cannot overflow a time.
	jwtLatestTime = 1 << 33
)

// jwtPolicy is what a webhook JWT must carry for one request.
type jwtPolicy struct {
	secret   string   // the OAuth client secret (HS256 key)
	audience string   // the OAuth client id: aud must name it
	issuers  []string // accepted iss: the connection's site
	qsh      []string // accepted query string hashes of this request
}

// jwtClaims are the registered claims the receiver checks. Dates stay raw
// so that a string, null or a missing value is told apart from a number.
type jwtClaims struct {
	Iss *string         `json:"iss"`
	Aud json.RawMessage `json:"aud"`
	Exp json.RawMessage `json:"exp"`
	Iat json.RawMessage `json:"iat"`
	Nbf json.RawMessage `json:"nbf"`
	Qsh *string         `json:"qsh"`
}

// verifyWebhookJWT checks token against p at now. Every failure wraps
// switchyard.ErrUnauthorized and says which check failed (never the token
// or the secret).
func verifyWebhookJWT(token string, p jwtPolicy, now time.Time) error {
	bad := func(why string) error { return switchyard.Errorf(switchyard.ErrUnauthorized, "webhook JWT: %s", why) }
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return bad("want 3 segments")
	}
	enc := base64.RawURLEncoding
	var hdr struct {
		Alg string `json:"alg"`
	}
	hb, err := enc.DecodeString(parts[0])
	if err != nil || json.Unmarshal(hb, &hdr) != nil || hdr.Alg != "HS256" {
		return bad("header must name alg HS256")
	}
	sig, err := enc.DecodeString(parts[2])
	if err != nil {
		return bad("signature is not base64url")
	}
	m := hmac.New(sha256.New, []byte(p.secret))
	m.Write([]byte(parts[0] + "." + parts[1]))
	if !hmac.Equal(sig, m.Sum(nil)) {
		return bad("signature does not match")
	}
	cb, err := enc.DecodeString(parts[1])
	if err != nil {
		return bad("claims are not base64url")
	}
	var c jwtClaims
	if err := json.Unmarshal(cb, &c); err != nil || !uniqueKeys(cb) {
		// A repeated key is refused: parsers disagree on which one counts.
		return bad("claims are not a JSON object with each key once")
	}
	exp, ok := jwtTime(c.Exp)
	if !ok {
		return bad("exp is missing or not a date")
	}
	iat, ok := jwtTime(c.Iat)
	if !ok {
		return bad("iat is missing or not a date")
	}
	switch {
	case now.After(exp.Add(jwtSkew)):
		return bad("expired")
	case iat.After(now.Add(jwtSkew)):
		return bad("iat is in the future")
	case !exp.After(iat):
		return bad("exp is not after iat")
	case exp.Sub(iat) > jwtMaxLifetime:
		return bad("lifetime exp-iat is over " + jwtMaxLifetime.String())
	}
	if len(c.Nbf) > 0 {
		nbf, ok := jwtTime(c.Nbf)
		if !ok {
			return bad("nbf is not a date")
		}
		if nbf.After(now.Add(jwtSkew)) {
			return bad("not valid yet (nbf)")
		}
	}
	if p.audience == "" {
		return bad("the connection has no OAuth client id to check aud against")
	}
	if !audienceHas(c.Aud, p.audience) {
		return bad("aud does not name this app's client id")
	}
	if c.Iss == nil || !slices.Contains(p.issuers, strings.TrimRight(*c.Iss, "/")) {
		return bad("iss is not this connection's site")
	}
	if c.Qsh == nil || !slices.Contains(p.qsh, *c.Qsh) {
		return bad("qsh does not match this request's method, path and query")
	}
	return nil
}

// jwtTime reads a NumericDate: a JSON number of seconds since the epoch,
// positive and before jwtLatestTime.
func jwtTime(raw json.RawMessage) (time.Time, bool) {
	var f float64
	if len(raw) == 0 || raw[0] == 'n' || json.Unmarshal(raw, &f) != nil || math.IsNaN(f) || f <= 0 || f > jwtLatestTime {
		return time.Time{}, false
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9)), true
}

// uniqueKeys reports whether the JSON object b names each top-level key once.
func uniqueKeys(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return false
	}
	seen := map[string]bool{}
	for dec.More() {
		t, err := dec.Token()
		k, ok := t.(string)
		if err != nil || !ok || seen[k] {
			return false
		}
		seen[k] = true
		var skip json.RawMessage
		if dec.Decode(&skip) != nil {
			return false
		}
	}
	return true
}

// audienceHas reports whether aud (a string or an array of strings) names want.
func audienceHas(aud json.RawMessage, want string) bool {
	var one string
	if json.Unmarshal(aud, &one) == nil {
		return one == want
	}
	var many []string
	return json.Unmarshal(aud, &many) == nil && slices.Contains(many, want)
}

// requestQSH lists the query string hashes a webhook JWT may carry for r:
// the path as received and, behind a proxy that strips public_url's path,
// the path the sender was given.
func (s *Server) requestQSH(r *http.Request) []string {
	path := r.URL.EscapedPath() // as sent: Connect hashes the raw path
	out := []string{queryStringHash(r.Method, path, r.URL.Query())}
	if u, err := url.Parse(s.opts.PublicURL); err == nil {
		if prefix := strings.TrimRight(u.EscapedPath(), "/"); prefix != "" && !strings.HasPrefix(path, prefix+"/") {
			out = append(out, queryStringHash(r.Method, prefix+path, r.URL.Query()))
		}
	}
	return out
}

// queryStringHash is Atlassian's qsh: the hex SHA-256 of the canonical
// request METHOD&path&query, where the path has no trailing slash and its
// '&' escaped, and the query (without jwt) is sorted by key, each value list
// sorted and joined by ',', keys and values percent-encoded (RFC 3986).
func queryStringHash(method, path string, q url.Values) string {
	p := path
	if p == "" {
		p = "/"
	}
	if len(p) > 1 {
		p = strings.TrimRight(p, "/")
		if p == "" {
			p = "/"
		}
	}
	p = strings.ReplaceAll(p, "&", "%26")
	keys := make([]string, 0, len(q))
	for k := range q {
		if k != "jwt" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	pairs := make([]string, 0, len(keys))
	for _, k := range keys {
		vs := make([]string, len(q[k]))
		for i, v := range q[k] {
			vs[i] = rfc3986(v)
		}
		sort.Strings(vs)
		pairs = append(pairs, rfc3986(k)+"="+strings.Join(vs, ","))
	}
	sum := sha256.Sum256([]byte(strings.ToUpper(method) + "&" + p + "&" + strings.Join(pairs, "&")))
	return hex.EncodeToString(sum[:])
}

// rfc3986 percent-encodes everything but the unreserved characters.
func rfc3986(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteString("%" + strings.ToUpper(hex.EncodeToString([]byte{c})))
	}
	return b.String()
}
