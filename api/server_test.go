package api

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard/store"
)

// testKeys is a real store in a temp dir with a movable clock.
type testKeys struct {
	db  *store.DB
	now time.Time
	mu  sync.Mutex
}

func (k *testKeys) clock() time.Time {
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.now
}

func (k *testKeys) advance(d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.now = k.now.Add(d)
}

func (k *testKeys) add(t *testing.T, name string, scopes []string, expires time.Time) (store.APIKey, string) {
	t.Helper()
	key, secret, err := k.db.CreateAPIKey(context.Background(), store.NewAPIKey{Name: name, Scopes: scopes, Expires: expires})
	if err != nil {
		t.Fatal(err)
	}
	return key, secret
}

func newTestServer(t *testing.T, opts Options) (*Server, *testKeys) {
	t.Helper()
	keys := &testKeys{now: time.Now()}
	db, err := store.Open(filepath.Join(t.TempDir(), "switchyard.db"), store.WithClock(keys.clock))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	keys.db = db
	opts.Keys = db
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s, keys
}

func do(t *testing.T, h http.Handler, method, path, key string, body io.Reader) (*http.Response, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, body)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	res := rec.Result()
	var out map[string]any
	_ = json.NewDecoder(res.Body).Decode(&out)
	return res, out
}

func TestValidateScopes(t *testing.T) {
	if err := ValidateScopes([]string{ScopeSearchRead, ScopeAuditRead}); err != nil {
		t.Fatal(err)
	}
	err := ValidateScopes([]string{"search:read", "search:write"})
	if err == nil || !strings.Contains(err.Error(), `"search:write"`) {
		t.Fatalf("want error naming search:write, got %v", err)
	}
	if err := ValidateScopes(nil); err == nil {
		t.Fatal("empty scopes accepted")
	}
}

func TestAuthStatuses(t *testing.T) {
	s, keys := newTestServer(t, Options{KeyRate: 1000, KeyBurst: 1000})
	ctx := context.Background()
	_, good := keys.add(t, "good", []string{ScopeSearchRead}, time.Time{})
	rk, revoked := keys.add(t, "revoked", AllScopes, time.Time{})
	if _, err := keys.db.RevokeAPIKey(ctx, rk.ID); err != nil {
		t.Fatal(err)
	}
	_, expired := keys.add(t, "expiring", AllScopes, keys.clock().Add(time.Hour))
	keys.advance(2 * time.Hour)
	unknown := store.GenerateAPIKeySecret()

	cases := []struct {
		name, method, path, key string
		status                  int
		code                    string
	}{
		{"no key", "GET", "/api/v1/whoami", "", 401, "unauthorized"},
		{"malformed key", "GET", "/api/v1/whoami", "sy_nope", 401, "unauthorized"},
		{"unknown key", "GET", "/api/v1/whoami", unknown, 401, "unauthorized"},
		{"revoked key", "GET", "/api/v1/whoami", revoked, 401, "unauthorized"},
		{"expired key", "GET", "/api/v1/whoami", expired, 401, "unauthorized"},
		{"good key", "GET", "/api/v1/whoami", good, 200, ""},
		{"wrong method", "DELETE", "/api/v1/whoami", good, 405, "method_not_allowed"},
		{"unknown route", "GET", "/api/v1/nope", good, 404, "not_found"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(t, s, tc.method, tc.path, tc.key, nil)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (body %v)", res.StatusCode, tc.status, body)
			}
			if tc.code != "" {
				e, _ := body["error"].(map[string]any)
				if e["code"] != tc.code || e["message"] == "" {
					t.Fatalf("error body %v, want code %s and a message", body, tc.code)
				}
			}
			if res.Header.Get("X-Request-Id") == "" {
				t.Fatal("no X-Request-Id")
			}
		})
	}
}

func TestScopeEnforced(t *testing.T) {
	s, keys := newTestServer(t, Options{})
	_, key := keys.add(t, "audit only", []string{ScopeAuditRead}, time.Time{})
	s.api("GET", "/api/v1/test-scoped", ScopeSearchRead, func(w http.ResponseWriter, r *http.Request) error {
		writeJSON(w, 200, map[string]string{"ok": "yes"})
		return nil
	})
	s.mount() // re-register with the extra route
	res, body := do(t, s, "GET", "/api/v1/test-scoped", key, nil)
	if res.StatusCode != 403 || !strings.Contains(body["error"].(map[string]any)["message"].(string), ScopeSearchRead) {
		t.Fatalf("status %d body %v, want 403 naming the scope", res.StatusCode, body)
	}
}

func TestKeyRateLimit(t *testing.T) {
	s, keys := newTestServer(t, Options{KeyRate: 0.5, KeyBurst: 3})
	_, a := keys.add(t, "a", AllScopes, time.Time{})
	_, b := keys.add(t, "b", AllScopes, time.Time{})
	for i := 0; i < 3; i++ {
		if res, _ := do(t, s, "GET", "/api/v1/whoami", a, nil); res.StatusCode != 200 {
			t.Fatalf("request %d: %d", i, res.StatusCode)
		}
	}
	res, _ := do(t, s, "GET", "/api/v1/whoami", a, nil)
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Fatalf("4th request: status %d Retry-After %q, want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// Limits are per key: another key is unaffected.
	if res, _ := do(t, s, "GET", "/api/v1/whoami", b, nil); res.StatusCode != 200 {
		t.Fatalf("other key: %d", res.StatusCode)
	}
}

func TestDecodeJSON(t *testing.T) {
	type body struct {
		Name  string `json:"name"`
		Count int    `json:"count"`
	}
	cases := []struct {
		name, ct, body string
		status         int
		mention        string
	}{
		{"ok", "application/json", `{"name":"a","count":1}`, 200, ""},
		{"no content type", "", `{}`, 415, "Content-Type"},
		{"wrong content type", "text/plain", `{}`, 415, "text/plain"},
		{"malformed", "application/json", `{"name":`, 400, "malformed"},
		{"unknown field", "application/json", `{"name":"a","evil":1}`, 400, "evil"},
		{"wrong type", "application/json", `{"count":"x"}`, 400, "count: must be a whole number, not string"},
		{"object for string", "application/json", `{"name":{"a":1}}`, 400, "name: must be a string, not object"},
		{"trailing data", "application/json", `{} {}`, 400, "single JSON value"},
		{"empty", "application/json", ``, 400, "empty"},
		{"too large", "application/json", `{"name":"` + strings.Repeat("x", 300) + `"}`, 413, "limit"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := newTestServer(t, Options{MaxBodyBytes: 256})
			req := httptest.NewRequest("POST", "/x", strings.NewReader(tc.body))
			if tc.ct != "" {
				req.Header.Set("Content-Type", tc.ct)
			}
			rec := httptest.NewRecorder()
			var v body
			if err := decodeJSON(rec, req, s.opts.MaxBodyBytes, &v); err != nil {
				s.writeError(rec, req, err)
			} else {
				writeJSON(rec, 200, v)
			}
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.mention != "" && !strings.Contains(rec.Body.String(), tc.mention) {
				t.Fatalf("body %s does not mention %q", rec.Body, tc.mention)
			}
		})
	}
}

func TestHealthAndReadiness(t *testing.T) {
	var ready error
	s, _ := newTestServer(t, Options{Ready: func(context.Context) error { return ready }})
	if res, _ := do(t, s, "GET", "/healthz", "", nil); res.StatusCode != 200 {
		t.Fatalf("healthz %d", res.StatusCode)
	}
	if res, _ := do(t, s, "GET", "/readyz", "", nil); res.StatusCode != 200 {
		t.Fatalf("readyz %d", res.StatusCode)
	}
	ready = io.ErrClosedPipe
	if res, _ := do(t, s, "GET", "/readyz", "", nil); res.StatusCode != 503 {
		t.Fatalf("readyz when not ready: %d", res.StatusCode)
	}
}

func TestMetricsAndInternalErrorsHideDetails(t *testing.T) {
	s, keys := newTestServer(t, Options{})
	_, key := keys.add(t, "k", AllScopes, time.Time{})
	s.api("GET", "/api/v1/boom", "", func(w http.ResponseWriter, r *http.Request) error {
		return io.ErrUnexpectedEOF // an internal error with internal text
	})
	s.mount()
	res, body := do(t, s, "GET", "/api/v1/boom", key, nil)
	msg := body["error"].(map[string]any)["message"].(string)
	if res.StatusCode != 500 || strings.Contains(msg, "unexpected EOF") {
		t.Fatalf("status %d message %q: internal errors must be 500 without internals", res.StatusCode, msg)
	}
	// Metrics count it by route pattern and status.
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if !strings.Contains(rec.Body.String(), `switchyard_api_requests_total{route="/api/v1/boom",status="500"} 1`) {
		t.Fatalf("metrics missing the request:\n%s", grepLines(rec.Body.String(), "switchyard_api_requests_total"))
	}
}

func grepLines(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
