package api_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchyard/connector/jirasim"
)

// Flags of FuzzWebhookJWT's structured claims.
const (
	jwtWrongSecret = 1 << iota // sign with another secret
	jwtNoExp
	jwtNoIat
	jwtWithNbf
	jwtAudArray // aud as a list holding the value
	jwtNoQsh
	jwtQshOtherPath // qsh of another receiver
	jwtRaw          // use raw as the claims, verbatim
)

// jwtVerdict is the oracle's view of a token: accepted, refused, or too close
// to a time boundary to say (the server's clock moves on between the two).
type jwtVerdict int

const (
	jwtRefused jwtVerdict = iota
	jwtAccepted
	jwtBorderline
)

// judgeJWT decides, independently of the server's code, whether claims
// (JSON) signed correctly (or not) with header alg should be accepted for a
// POST to path at now: RFC 7519 NumericDates, a lifetime of at most 10
// minutes, a minute of clock skew, aud naming the client id, iss the site,
// qsh the request's hash, and each key once.
func judgeJWT(alg string, rightSecret bool, claims []byte, path string, now time.Time) jwtVerdict {
	if alg != "HS256" || !rightSecret {
		return jwtRefused
	}
	dec := json.NewDecoder(bytes.NewReader(claims))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil || tok != json.Delim('{') {
		return jwtRefused
	}
	c := map[string]any{}
	for dec.More() {
		kt, err := dec.Token()
		k, _ := kt.(string)
		if err != nil {
			return jwtRefused
		}
		if _, dup := c[k]; dup {
			return jwtRefused
		}
		var v any
		if dec.Decode(&v) != nil {
			return jwtRefused
		}
		c[k] = v
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return jwtRefused
	}
	if _, err := dec.Token(); err == nil { // trailing data
		return jwtRefused
	}
	date := func(key string) (float64, bool, bool) { // value, present, valid
		v, ok := c[key]
		if !ok || v == nil {
			return 0, false, false
		}
		n, isNum := v.(json.Number)
		if !isNum {
			return 0, true, false
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || f <= 0 || f > 1<<33 || math.IsInf(f, 0) {
			return 0, true, false
		}
		return f, true, true
	}
	exp, _, okExp := date("exp")
	iat, _, okIat := date("iat")
	if !okExp || !okIat {
		return jwtRefused
	}
	nbf, hasNbf, okNbf := date("nbf")
	if hasNbf && !okNbf {
		return jwtRefused
	}
	if _, present := c["nbf"]; present && c["nbf"] == nil {
		// null is "not a date" for the server too
		return jwtRefused
	}
	str := func(key string) (string, bool) { s, ok := c[key].(string); return s, ok }
	aud := false
	switch a := c["aud"].(type) {
	case string:
		aud = a == jirasim.DefaultOAuthClientID
	case []any: // a list of strings, one of them the client id
		strs := true
		for _, x := range a {
			s, ok := x.(string)
			strs = strs && ok
			aud = aud || s == jirasim.DefaultOAuthClientID
		}
		aud = aud && strs
	}
	iss, okIss := str("iss")
	qsh, okQsh := str("qsh")
	if _, present := c["iss"]; present && !okIss && c["iss"] != nil {
		return jwtRefused // a wrong type fails the whole decode
	}
	if _, present := c["qsh"]; present && !okQsh && c["qsh"] != nil {
		return jwtRefused
	}
	if !aud || !okIss || strings.TrimRight(iss, "/") != fuzzSite || !okQsh ||
		qsh != jirasim.QueryStringHash(http.MethodPost, &url.URL{Path: path}) {
		return jwtRefused
	}
	if math.Abs(exp-iat-600) < 1e-3 || math.Abs(exp-iat) < 1e-3 {
		return jwtBorderline // float rounding of fractional dates
	}
	if exp <= iat || exp-iat > 600 {
		return jwtRefused
	}
	t := float64(now.UnixNano()) / 1e9
	// Each time check, with a margin of 2s either side for the moving clock.
	checks := []float64{exp + 60 - t, t + 60 - iat} // both must be >= 0
	if hasNbf {
		checks = append(checks, t+60-nbf)
	}
	verdict := jwtAccepted
	for _, d := range checks {
		switch {
		case math.Abs(d) < 2:
			verdict = jwtBorderline
		case d < 0:
			return jwtRefused
		}
	}
	return verdict
}

// FuzzWebhookJWT drives the real receiver with tokens whose header, secret
// and claims vary (structured, around now, or raw bytes) and checks each
// answer against judgeJWT: accepted exactly when the oracle says so, never a
// 5xx, and a refused token changes nothing.
func FuzzWebhookJWT(f *testing.F) {
	none := []byte(nil)
	for _, s := range []struct {
		raw          []byte
		iatOff       int64
		expOff       int64
		nbfOff       int64
		flags        uint8
		aud, iss, al string
	}{
		{none, 0, 300, 0, 0, jirasim.DefaultOAuthClientID, fuzzSite, "HS256"},                                  // good
		{none, -30, 270, -30, jwtWithNbf | jwtAudArray, jirasim.DefaultOAuthClientID, fuzzSite + "/", "HS256"}, // good, variants
		{none, 0, 365 * 86400, 0, 0, jirasim.DefaultOAuthClientID, fuzzSite, "HS256"},                          // one-year exp
		{none, 0, 601, 0, 0, jirasim.DefaultOAuthClientID, fuzzSite, "HS256"},                                  // just over the lifetime
		{none, -3600, -3300, 0, 0, jirasim.DefaultOAuthClientID, fuzzSite, "HS256"},                            // expired
		{none, 3600, 3900, 0, 0, jirasim.DefaultOAuthClientID, fuzzSite, "HS256"},                              // iat in the future
		{none, 0, 300, 600, jwtWithNbf, jirasim.DefaultOAuthClientID, fuzzSite, "HS256"},                       // nbf later
		{none, 0, 300, 0, jwtNoIat, jirasim.DefaultOAuthClientID, fuzzSite, "HS256"},                           // no iat
		{none, 0, 300, 0, jwtNoExp, jirasim.DefaultOAuthClientID, fuzzSite, "HS256"},                           // no exp
		{none, 0, 300, 0, jwtNoQsh, jirasim.DefaultOAuthClientID, fuzzSite, "HS256"},                           // no qsh
		{none, 0, 300, 0, jwtQshOtherPath, jirasim.DefaultOAuthClientID, fuzzSite, "HS256"},                    // qsh elsewhere
		{none, 0, 300, 0, 0, "another-app", fuzzSite, "HS256"},                                                 // aud
		{none, 0, 300, 0, 0, jirasim.DefaultOAuthClientID, "https://evil.example", "HS256"},                    // iss
		{none, 0, 300, 0, jwtWrongSecret, jirasim.DefaultOAuthClientID, fuzzSite, "HS256"},                     // secret
		{none, 0, 300, 0, 0, jirasim.DefaultOAuthClientID, fuzzSite, "none"},                                   // alg none
		{none, 0, 300, 0, 0, jirasim.DefaultOAuthClientID, fuzzSite, "HS512"},                                  // alg
		{[]byte(`{"exp":"9999999999","iat":"1"}`), 0, 0, 0, jwtRaw, "", "", "HS256"},
		{[]byte(`{"exp":1e400,"iat":1}`), 0, 0, 0, jwtRaw, "", "", "HS256"},
		{[]byte(`{"iss":1,"iss":"` + fuzzSite + `"}`), 0, 0, 0, jwtRaw, "", "", "HS256"},
		{[]byte(`{"exp":null,"iat":null,"nbf":null}`), 0, 0, 0, jwtRaw, "", "", "HS256"},
		{[]byte(`[{"exp":1}]`), 0, 0, 0, jwtRaw, "", "", "HS256"},
		{[]byte(`{} {}`), 0, 0, 0, jwtRaw, "", "", "HS256"},
		{[]byte("\xff"), 0, 0, 0, jwtRaw, "", "", "HS256"},
	} {
		f.Add(s.raw, s.iatOff, s.expOff, s.nbfOff, s.flags, s.aud, s.iss, s.al)
	}

	fs := newFuzzServer(f)
	path := "/api/v1/webhooks/jira/" + fuzzOAuthConn
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, raw []byte, iatOff, expOff, nbfOff int64, flags uint8, aud, iss, alg string) {
		now := time.Now()
		claims := raw
		if flags&jwtRaw == 0 {
			c := map[string]any{"iss": iss}
			if flags&jwtAudArray != 0 {
				c["aud"] = []string{"x", aud}
			} else {
				c["aud"] = aud
			}
			clamp := func(off int64) int64 { return max(min(off, 1<<34), -(1 << 34)) }
			if flags&jwtNoIat == 0 {
				c["iat"] = now.Unix() + clamp(iatOff)
			}
			if flags&jwtNoExp == 0 {
				c["exp"] = now.Unix() + clamp(expOff)
			}
			if flags&jwtWithNbf != 0 {
				c["nbf"] = now.Unix() + clamp(nbfOff)
			}
			switch {
			case flags&jwtNoQsh != 0:
			case flags&jwtQshOtherPath != 0:
				c["qsh"] = jirasim.QueryStringHash(http.MethodPost, &url.URL{Path: "/api/v1/webhooks/jira/" + fuzzConn})
			default:
				c["qsh"] = jirasim.QueryStringHash(http.MethodPost, &url.URL{Path: path})
			}
			claims, _ = json.Marshal(c)
		}
		secret := oauthSecret
		if flags&jwtWrongSecret != 0 {
			secret = "not-" + oauthSecret
		}
		enc := base64.RawURLEncoding
		h, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
		token := signedClaimsWith(secret, enc.EncodeToString(h), claims)

		// A fresh body each time, so that only the token decides.
		body := []byte(fmt.Sprintf(`{"timestamp":%d,"webhookEvent":"jira:issue_updated","issue":{"id":"%d"}}`, now.UnixNano(), 20000+n.Add(1)))
		req := httptest.NewRequest("POST", path, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		engineBefore := fs.eng.calls.Load()
		deliveriesBefore := fs.st.deliveries.Load()
		rec := fs.serve(req)
		if rec.Code >= 500 {
			t.Fatalf("claims %q: status %d: %s", claims, rec.Code, rec.Body.Bytes())
		}
		verdict := judgeJWT(alg, flags&jwtWrongSecret == 0, claims, path, now)
		accepted := rec.Code == http.StatusAccepted
		switch {
		case verdict == jwtAccepted && !accepted:
			t.Fatalf("a valid token (alg %q, claims %s) was refused: %d %s", alg, claims, rec.Code, rec.Body.Bytes())
		case verdict == jwtRefused && accepted:
			t.Fatalf("an invalid token (alg %q, secret ok %v, claims %s) was accepted: %s", alg, flags&jwtWrongSecret == 0, claims, rec.Body.Bytes())
		case !accepted && rec.Code != http.StatusUnauthorized:
			t.Fatalf("a refused token answered %d, want 401: %s", rec.Code, rec.Body.Bytes())
		case !accepted && (fs.eng.calls.Load() != engineBefore || fs.st.deliveries.Load() != deliveriesBefore):
			t.Fatalf("a refused token changed state: %s", claims)
		}
	})
}

// signedClaimsWith is an HS256 JWT of a given encoded header and raw claims.
func signedClaimsWith(secret, header string, claims []byte) string {
	s := header + "." + base64.RawURLEncoding.EncodeToString(claims)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(s))
	return s + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
