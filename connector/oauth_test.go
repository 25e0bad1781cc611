package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"switchyard"
)

// memStore is a TokenStore in memory that remembers every save.
type memStore struct {
	mu    sync.Mutex
	tok   *oauth2.Token
	saves []string // access tokens saved, in order
	fail  error
}

func (s *memStore) LoadToken(ctx context.Context, conn string) (*oauth2.Token, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.tok == nil {
		return nil, nil
	}
	t := *s.tok
	return &t, nil
}

func (s *memStore) SaveToken(ctx context.Context, conn string, tok *oauth2.Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return s.fail
	}
	t := *tok
	s.tok = &t
	s.saves = append(s.saves, tok.AccessToken)
	return nil
}

func (s *memStore) saved(access string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.saves {
		if a == access {
			return true
		}
	}
	return false
}

// fakeAtlassian is an authorization server, accessible-resources and API
// gateway with rotating refresh tokens.
type fakeAtlassian struct {
	t     *testing.T
	srv   *httptest.Server
	store *memStore

	mu        sync.Mutex
	n         int
	refresh   map[string]bool // valid refresh tokens
	access    map[string]bool // valid access tokens
	expiresIn int
	refreshes atomic.Int32
	apiCalls  atomic.Int32
	unsaved   atomic.Int32 // API calls made with a token not yet persisted
	bodies    []map[string]string
}

func newFakeAtlassian(t *testing.T, store *memStore) *fakeAtlassian {
	f := &fakeAtlassian{t: t, store: store, refresh: map[string]bool{}, access: map[string]bool{}, expiresIn: 3600}
	f.srv = httptest.NewServer(f)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeAtlassian) issue() (access, refresh string) {
	f.n++
	access, refresh = fmt.Sprintf("at-%d", f.n), fmt.Sprintf("rt-%d", f.n)
	f.access[access], f.refresh[refresh] = true, true
	return
}

func (f *fakeAtlassian) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/oauth/token":
		if ct := r.Header.Get("Content-Type"); ct != "application/json" {
			w.WriteHeader(400)
			fmt.Fprintf(w, `{"error":"invalid_request","error_description":"content type %s"}`, ct)
			return
		}
		var body map[string]string
		json.NewDecoder(r.Body).Decode(&body)
		f.mu.Lock()
		defer f.mu.Unlock()
		f.bodies = append(f.bodies, body)
		if body["client_id"] != "cid" || body["client_secret"] != "csecret" {
			w.WriteHeader(401)
			io.WriteString(w, `{"error":"invalid_client"}`)
			return
		}
		switch body["grant_type"] {
		case "authorization_code":
			if body["code"] != "good-code" {
				w.WriteHeader(403)
				io.WriteString(w, `{"error":"invalid_grant","error_description":"bad code"}`)
				return
			}
		case "refresh_token":
			f.refreshes.Add(1)
			time.Sleep(10 * time.Millisecond) // widen the race window for concurrent refreshes
			if !f.refresh[body["refresh_token"]] {
				w.WriteHeader(403)
				io.WriteString(w, `{"error":"invalid_grant","error_description":"Unknown or invalid refresh token."}`)
				return
			}
			delete(f.refresh, body["refresh_token"]) // rotation: the old one is spent
		}
		a, rt := f.issue()
		fmt.Fprintf(w, `{"access_token":%q,"refresh_token":%q,"expires_in":%d,"scope":"read:jira-work offline_access","token_type":"Bearer"}`, a, rt, f.expiresIn)
	case r.URL.Path == "/oauth/token/accessible-resources":
		if !f.valid(r) {
			w.WriteHeader(401)
			return
		}
		fmt.Fprintf(w, `[{"id":"other","url":"https://other.atlassian.net","name":"other"},{"id":"cloud-1","url":"https://acme.atlassian.net","name":"acme","scopes":["read:jira-work"]}]`)
	case strings.HasPrefix(r.URL.Path, "/ex/jira/cloud-1/rest/api/3/"):
		f.apiCalls.Add(1)
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !f.store.saved(tok) {
			f.unsaved.Add(1)
		}
		if !f.valid(r) {
			w.WriteHeader(401)
			return
		}
		io.WriteString(w, `{"accountId":"app-user","displayName":"App","active":true}`)
	default:
		w.WriteHeader(404)
	}
}

func (f *fakeAtlassian) valid(r *http.Request) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.access[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")]
}

func (f *fakeAtlassian) config() *OAuthConfig {
	return &OAuthConfig{ClientID: "cid", ClientSecret: "csecret", RedirectURL: "https://switchyard.example/oauth/callback",
		Scopes: []string{"read:jira-work", "read:jira-user"}, AuthURL: f.srv.URL + "/authorize", TokenURL: f.srv.URL + "/oauth/token",
		ResourcesURL: f.srv.URL + "/oauth/token/accessible-resources", APIGatewayURL: f.srv.URL}
}

func (f *fakeAtlassian) client(t *testing.T, conn string) *Client {
	c, err := New(Options{Name: conn, BaseURL: "https://acme.atlassian.net", Auth: OAuthAuth(f.config(), f.store), RequestsPerSecond: 1000, Concurrency: 8})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestAuthCodeURL(t *testing.T) {
	cfg := (&fakeAtlassian{}).configFor("https://auth.example")
	u, err := url.Parse(cfg.AuthCodeURL("st4te"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	want := map[string]string{"audience": "api.atlassian.com", "prompt": "consent", "state": "st4te", "client_id": "cid",
		"response_type": "code", "redirect_uri": "https://switchyard.example/oauth/callback"}
	for k, v := range want {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
	if s := q.Get("scope"); s != "read:jira-work offline_access" {
		t.Errorf("scope = %q", s)
	}
	if u.Host != "auth.example" || u.Path != "/authorize" {
		t.Errorf("url = %s", u)
	}
	if d := (&OAuthConfig{ClientID: "x"}).AuthCodeURL("s"); !strings.HasPrefix(d, DefaultAuthURL+"?") {
		t.Errorf("default auth url: %s", d)
	}
}

func (f *fakeAtlassian) configFor(base string) *OAuthConfig {
	return &OAuthConfig{ClientID: "cid", ClientSecret: "csecret", RedirectURL: "https://switchyard.example/oauth/callback",
		Scopes: []string{"read:jira-work"}, AuthURL: base + "/authorize"}
}

func TestExchangeAndCloudID(t *testing.T) {
	store := &memStore{}
	f := newFakeAtlassian(t, store)
	cfg := f.config()
	ctx := context.Background()
	if _, err := cfg.Exchange(ctx, "bad-code"); !errors.Is(err, switchyard.ErrReauthorize) {
		t.Fatalf("bad code: err = %v", err)
	}
	tok, err := cfg.Exchange(ctx, "good-code")
	if err != nil {
		t.Fatal(err)
	}
	if tok.AccessToken == "" || tok.RefreshToken == "" || time.Until(tok.Expiry) < 59*time.Minute {
		t.Fatalf("token %+v", tok)
	}
	last := f.bodies[len(f.bodies)-1]
	if last["grant_type"] != "authorization_code" || last["redirect_uri"] != cfg.RedirectURL {
		t.Fatalf("exchange body %v", last)
	}
	id, err := cfg.CloudID(ctx, tok, "https://ACME.atlassian.net/")
	if err != nil || id != "cloud-1" {
		t.Fatalf("cloud id %q, %v", id, err)
	}
	if _, err := cfg.CloudID(ctx, tok, "https://nope.atlassian.net"); !errors.Is(err, switchyard.ErrNotFound) || !strings.Contains(err.Error(), "nope.atlassian.net") {
		t.Fatalf("unknown site: %v", err)
	}
	bad := *cfg
	bad.ClientSecret = "wrong"
	if _, err := bad.Exchange(ctx, "good-code"); !errors.Is(err, switchyard.ErrUnauthorized) {
		t.Fatalf("bad secret: %v", err)
	}
}

func TestOAuthRefreshRotationPersistsBeforeUse(t *testing.T) {
	store := &memStore{}
	f := newFakeAtlassian(t, store)
	tok, err := f.config().Exchange(context.Background(), "good-code")
	if err != nil {
		t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(-time.Minute) // expired: first call must refresh
	store.SaveToken(context.Background(), "acme", tok)
	oldRefresh := tok.RefreshToken

	c := f.client(t, "acme-rotate")
	c.opts.Auth.oauth.conn = "acme" // the store key
	u, err := c.Myself(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if u.AccountID != "app-user" {
		t.Fatalf("user %+v", u)
	}
	if f.refreshes.Load() != 1 {
		t.Fatalf("refreshes = %d", f.refreshes.Load())
	}
	if f.unsaved.Load() != 0 {
		t.Fatalf("%d API calls used an access token before it was persisted", f.unsaved.Load())
	}
	cur, _ := store.LoadToken(context.Background(), "acme")
	if cur.RefreshToken == oldRefresh {
		t.Fatal("rotated refresh token was not persisted")
	}

	// A second client still holding the old refresh token is rejected:
	// re-authorize this connection.
	stale := &memStore{tok: &oauth2.Token{AccessToken: "gone", RefreshToken: oldRefresh, Expiry: time.Now().Add(-time.Hour)}}
	c2, err := New(Options{Name: "acme-stale", BaseURL: "https://acme.atlassian.net", Auth: OAuthAuth(f.config(), stale)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c2.Myself(context.Background())
	if !errors.Is(err, switchyard.ErrReauthorize) || !strings.Contains(err.Error(), "re-authorize this connection") {
		t.Fatalf("reused refresh token: err = %v", err)
	}
}

func TestOAuthConcurrentRefreshIsSerialized(t *testing.T) {
	store := &memStore{}
	f := newFakeAtlassian(t, store)
	tok, err := f.config().Exchange(context.Background(), "good-code")
	if err != nil {
		t.Fatal(err)
	}
	tok.Expiry = time.Now().Add(-time.Minute)
	store.SaveToken(context.Background(), "acme-concurrent", tok)
	// Two clients for one connection (say the API and the sync) and many workers.
	c1, c2 := f.client(t, "acme-concurrent"), f.client(t, "acme-concurrent")
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := 0; i < 40; i++ {
		wg.Add(1)
		go func(c *Client) {
			defer wg.Done()
			if _, err := c.Myself(context.Background()); err != nil {
				errs <- err
			}
		}([]*Client{c1, c2}[i%2])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := f.refreshes.Load(); n != 1 {
		t.Fatalf("refreshes = %d, want exactly 1", n)
	}
}

func TestOAuth401RefreshesOnce(t *testing.T) {
	store := &memStore{}
	f := newFakeAtlassian(t, store)
	tok, _ := f.config().Exchange(context.Background(), "good-code")
	store.SaveToken(context.Background(), "acme-401", tok)
	c := f.client(t, "acme-401")
	if _, err := c.Myself(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Revoke the access token server-side; the next call refreshes and succeeds.
	f.mu.Lock()
	delete(f.access, tok.AccessToken)
	f.mu.Unlock()
	if _, err := c.Myself(context.Background()); err != nil {
		t.Fatal(err)
	}
	if f.refreshes.Load() != 1 {
		t.Fatalf("refreshes = %d", f.refreshes.Load())
	}
}

func TestOAuthSaveFailureBlocksUse(t *testing.T) {
	store := &memStore{}
	f := newFakeAtlassian(t, store)
	tok, _ := f.config().Exchange(context.Background(), "good-code")
	tok.Expiry = time.Now().Add(-time.Minute)
	store.SaveToken(context.Background(), "acme-savefail", tok)
	store.fail = errors.New("disk full")
	c := f.client(t, "acme-savefail")
	_, err := c.Myself(context.Background())
	if err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("err = %v", err)
	}
	if f.apiCalls.Load() != 0 {
		t.Fatalf("API was called %d times with an unsaved token", f.apiCalls.Load())
	}
}

func TestOAuthNoToken(t *testing.T) {
	f := newFakeAtlassian(t, &memStore{})
	c := f.client(t, "acme-empty")
	if _, err := c.Myself(context.Background()); !errors.Is(err, switchyard.ErrReauthorize) {
		t.Fatalf("err = %v", err)
	}
}
