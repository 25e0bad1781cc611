package api

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"testing"

	"switchyard/connector/jirasim"
)

// TestQueryStringHash checks the canonical request against Atlassian's
// rules: method upper-cased, path without a trailing slash and its '&'
// escaped, query sorted by key without jwt, repeated values sorted and
// joined by ',', RFC 3986 percent-encoding (a space is %20).
func TestQueryStringHash(t *testing.T) {
	for _, tc := range []struct {
		method, path, query, canonical string
	}{
		{"GET", "/", "param=foo", "GET&/&param=foo"},
		{"post", "/user", "", "POST&/user&"},
		{"POST", "", "", "POST&/&"},
		{"POST", "/api/v1/webhooks/jira/acme/", "", "POST&/api/v1/webhooks/jira/acme&"},
		{"GET", "/a&b", "", "GET&/a%26b&"},
		{"GET", "/x", "b=2&a=1&jwt=abc", "GET&/x&a=1&b=2"},
		{"GET", "/x", "k=z&k=a&k=m", "GET&/x&k=a,m,z"},
		{"GET", "/x", "q=a+b&r=%2A~", "GET&/x&q=a%20b&r=%2A~"},
		{"GET", "/x", "empty=", "GET&/x&empty="},
	} {
		q, _ := url.ParseQuery(tc.query)
		sum := sha256.Sum256([]byte(tc.canonical))
		if got := queryStringHash(tc.method, tc.path, q); got != hex.EncodeToString(sum[:]) {
			t.Errorf("%s %s?%s: hash is not that of %q", tc.method, tc.path, tc.query, tc.canonical)
		}
		// The simulator's signer, written apart, agrees.
		u := &url.URL{Path: tc.path, RawQuery: tc.query}
		if got := jirasim.QueryStringHash(tc.method, u); got != hex.EncodeToString(sum[:]) {
			t.Errorf("simulator: %s %s?%s: hash is not that of %q", tc.method, tc.path, tc.query, tc.canonical)
		}
	}
}
