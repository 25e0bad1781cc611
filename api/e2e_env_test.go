package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"golang.org/x/oauth2"

	"switchyard"
	"switchyard/api"
	"switchyard/connector"
	"switchyard/connector/jirasim"
	"switchyard/index"
	"switchyard/runbook"
	"switchyard/store"
	syncer "switchyard/sync"
)

const (
	connName      = "acme"
	oauthConnName = "cloudapp"
	webhookSecret = "whsec-e2e-0123456789"
)

// env is the real server on a loopback port with a real store, a real on-disk
// index and the sync engine against the simulator over HTTP.
type env struct {
	t      *testing.T
	sim    *jirasim.Server
	simURL string
	db     *store.DB
	idx    *index.Index
	eng    *syncer.Engine
	srv    *api.Server
	url    string
	admin  string // all-scopes key secret
	router routers.Router
	client *http.Client
	conns  []api.Connection // as given to the server
	rb     *runbook.Service // with envOptions.runbook
	rbTune func(*env, *runbook.Options)
}

type envOptions struct {
	// self is the acme connection's own identity (default: the sim's admin account id).
	self *connector.Identity

	keyRate  float64
	keyBurst int
	maxBody  int64
	oauth    bool                         // add the OAuth connection
	runbook  bool                         // add the runbook service and audit chain (see e2e_runbook_env_test.go)
	policies []runbook.Policy             // the runbook service's approval policies
	rbTune   func(*env, *runbook.Options) // last changes to the runbook service's options

	tune func(*api.Options) // last changes to the server's options
}

var (
	docOnce   sync.Once
	docRouter routers.Router
	docErr    error
)

// openAPIRouter loads api/openapi.yaml once and validates it.
func openAPIRouter(t *testing.T) routers.Router {
	t.Helper()
	docOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromData(api.OpenAPI())
		if err != nil {
			docErr = err
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			docErr = err
			return
		}
		docRouter, docErr = gorillamux.NewRouter(doc)
	})
	if docErr != nil {
		t.Fatalf("openapi.yaml: %v", docErr)
	}
	return docRouter
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	if o.keyRate == 0 {
		o.keyRate, o.keyBurst = 1000, 1000
	}
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 7, Projects: 3, Issues: 60}})
	hs := httptest.NewServer(sim)
	sim.SetBaseURL(hs.URL)
	t.Cleanup(func() { hs.Close(); sim.Close() })

	dir := t.TempDir()
	key := bytes.Repeat([]byte{7}, 32)
	db, err := store.Open(filepath.Join(dir, "switchyard.db"), store.WithTokenKey(key))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := index.Open(filepath.Join(dir, "index.bleve"))
	if err != nil {
		t.Fatal(err)
	}
	idx.Source = syncer.NewPermissionSource(db)

	e := &env{t: t, sim: sim, simURL: hs.URL, db: db, idx: idx, router: openAPIRouter(t),
		client: &http.Client{Timeout: 20 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	tokenAuth := connector.APITokenAuth(sim.AdminEmail(), jirasim.DefaultAdminToken)
	conns := []syncer.Connection{e.syncConn(connName, tokenAuth)}
	var oauthCfg *connector.OAuthConfig
	if o.oauth {
		oauthCfg = &connector.OAuthConfig{
			ClientID: jirasim.DefaultOAuthClientID, ClientSecret: jirasim.DefaultOAuthClientSecret,
			AuthURL: hs.URL + "/authorize", TokenURL: hs.URL + "/oauth/token",
			ResourcesURL: hs.URL + "/oauth/token/accessible-resources", APIGatewayURL: hs.URL,
		}
		conns = append(conns, e.syncConn(oauthConnName, connector.OAuthAuth(oauthCfg, tokens{db})))
	}
	eng, err := syncer.New(syncer.Options{Store: syncer.NewStore(db), Index: syncer.NewIndex(idx), Connections: conns})
	if err != nil {
		t.Fatal(err)
	}
	e.eng = eng
	ctx, cancel := context.WithCancel(context.Background())
	engDone := make(chan struct{})
	go func() { defer close(engDone); _ = eng.Run(ctx) }()

	adminID := sim.World().AdminAccountID()
	apiConns := []api.Connection{{
		Name: connName, Kind: "cloud", URL: hs.URL, Auth: "api_token", WebhookSecret: webhookSecret,
		Account:   func(context.Context) (string, error) { return adminID, nil },
		SetPaused: func(p bool) { _ = eng.SetPaused(connName, p) },
	}}
	if o.self != nil {
		self := *o.self
		apiConns[0].Self = func(context.Context) (connector.Identity, error) { return self, nil }
	}
	if o.oauth {
		// The server's own client for the OAuth connection: dynamic webhooks.
		oc, err := connector.New(connector.Options{Name: oauthConnName, BaseURL: hs.URL, Auth: connector.OAuthAuth(oauthCfg, tokens{db}), RequestsPerSecond: 100})
		if err != nil {
			t.Fatal(err)
		}
		apiConns = append(apiConns, api.Connection{
			Name: oauthConnName, Kind: "cloud", URL: hs.URL, Auth: "oauth",
			OAuth: oauthCfg, OAuthClientSecret: jirasim.DefaultOAuthClientSecret, OAuthClientID: jirasim.DefaultOAuthClientID, Webhooks: oc,
			Account:   func(context.Context) (string, error) { return adminID, nil },
			SetPaused: func(p bool) { _ = eng.SetPaused(oauthConnName, p) },
		})
	}
	logger := slog.New(slog.NewJSONHandler(io.Discard, nil))
	if os.Getenv("SWITCHYARD_TEST_LOG") != "" {
		logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	opts := api.Options{
		Addr: "127.0.0.1:0", Logger: logger, KeyRate: o.keyRate, KeyBurst: o.keyBurst, MaxBodyBytes: o.maxBody,
		Store: db, Index: idx, Engine: eng, Connections: apiConns,
		Ready: func(ctx context.Context) error { return db.Ping(ctx) },
	}
	stopRunbook := func() {}
	if o.runbook {
		opts.AtlassianSignIn = &api.AtlassianSignIn{ClientID: jirasim.DefaultOAuthClientID, ClientSecret: jirasim.DefaultOAuthClientSecret,
			AuthURL: hs.URL + "/authorize", TokenURL: hs.URL + "/oauth/token", MeURL: hs.URL + "/me"}
		e.rbTune = o.rbTune
		opts.Runbook, opts.Audit, stopRunbook = e.runbook(logger, o.policies)
		e.rb = opts.Runbook
	}
	// Every test client is 127.0.0.1; the per-address limit has its own test.
	opts.UnauthRate, opts.UnauthBurst = 10000, 10000
	if o.tune != nil {
		o.tune(&opts)
	}
	srv, err := api.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Open(); err != nil {
		t.Fatal(err)
	}
	e.srv, e.url, e.conns = srv, srv.URL(), apiConns
	if oauthCfg != nil {
		oauthCfg.RedirectURL = e.url + "/oauth/callback"
	}
	t.Cleanup(func() {
		sctx, c := context.WithTimeout(context.Background(), 10*time.Second)
		defer c()
		_ = srv.Close(sctx)
		stopRunbook()
		cancel()
		<-engDone
		idx.Close()
		db.Close()
	})
	// The all-scopes key is bound to the env's approver, so API tests can
	// decide with it (a console session signed in with it still cannot).
	_, e.admin = e.keyAs("admin", rbApprover, api.AllScopes...)
	return e
}

func (e *env) syncConn(name string, auth connector.Auth) syncer.Connection {
	e.t.Helper()
	j, err := syncer.NewJiraBuilder(func(fields []string) (syncer.JiraClient, error) {
		return connector.New(connector.Options{
			Name: name, BaseURL: e.simURL, Auth: auth, RequestsPerSecond: 10000, Concurrency: 4,
			RetryBaseDelay: 5 * time.Millisecond, RetryMaxDelay: 100 * time.Millisecond, CustomFields: fields,
		})
	}, 4)
	if err != nil {
		e.t.Fatal(err)
	}
	return syncer.Connection{Name: name, BaseURL: e.simURL, Jira: j, Scope: mustScope(e.t), Settings: syncer.Settings{Strategy: "manual", ReconcileInterval: time.Hour}}
}

// tokens keeps OAuth tokens in the store (as cmd/switchyard does).
type tokens struct{ db *store.DB }

func (s tokens) LoadToken(ctx context.Context, conn string) (*oauth2.Token, error) {
	var t oauth2.Token
	if err := s.db.LoadToken(ctx, conn, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

func (s tokens) SaveToken(ctx context.Context, conn string, t *oauth2.Token) error {
	return s.db.SaveToken(ctx, conn, t)
}

func (e *env) key(name string, scopes ...string) (store.APIKey, string) {
	e.t.Helper()
	k, secret, err := e.db.CreateAPIKey(context.Background(), store.NewAPIKey{Name: name, Scopes: scopes})
	if err != nil {
		e.t.Fatal(err)
	}
	return k, secret
}

// keyAs is a key bound to a Jira account (keys create --as).
func (e *env) keyAs(name, account string, scopes ...string) (store.APIKey, string) {
	e.t.Helper()
	k, secret, err := e.db.CreateAPIKey(context.Background(), store.NewAPIKey{Name: name, Scopes: scopes, AccountID: account})
	if err != nil {
		e.t.Fatal(err)
	}
	return k, secret
}

// response is one API answer.
type response struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func (r response) errCode() string {
	e, _ := r.body["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

func (r response) errMessage() string {
	e, _ := r.body["error"].(map[string]any)
	m, _ := e["message"].(string)
	return m
}

// do sends a request and validates the answer against the OpenAPI document
// (every /api/v1 call of the e2e tests is checked).
func (e *env) do(method, path, key string, body any) response {
	e.t.Helper()
	return e.doCT(method, path, key, "application/json", body)
}

func (e *env) doCT(method, path, key, ct string, body any) response {
	e.t.Helper()
	var rd io.Reader
	var reqBody []byte
	switch b := body.(type) {
	case nil:
	case string:
		reqBody = []byte(b)
	case []byte:
		reqBody = b
	default:
		reqBody, _ = json.Marshal(b)
	}
	if body != nil {
		rd = bytes.NewReader(reqBody)
	}
	req, err := http.NewRequest(method, e.url+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != nil && ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := e.client.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := response{status: res.StatusCode, header: res.Header, raw: raw}
	_ = json.Unmarshal(raw, &out.body)
	if strings.HasPrefix(path, "/api/v1/") {
		e.validate(req, reqBody, res, raw)
	}
	return out
}

// validate checks a response against the OpenAPI document: its route, status
// and body schema.
func (e *env) validate(req *http.Request, reqBody []byte, res *http.Response, raw []byte) {
	e.t.Helper()
	r2 := req.Clone(context.Background())
	r2.Body = io.NopCloser(bytes.NewReader(reqBody))
	route, params, err := e.router.FindRoute(r2)
	if err != nil {
		if res.StatusCode == http.StatusNotFound || res.StatusCode == http.StatusMethodNotAllowed {
			return // unknown routes and methods are not documented, by design
		}
		e.t.Errorf("openapi: %s %s is not documented: %v", req.Method, req.URL.Path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: r2, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, ExcludeRequestBody: true}}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode, Header: res.Header,
		Body: io.NopCloser(bytes.NewReader(raw)), Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		e.t.Errorf("openapi: %s %s → %d does not match the document: %v\nbody: %.400s", req.Method, req.URL.Path, res.StatusCode, err, raw)
	}
}

// waitFor polls cond until it holds or the deadline passes.
func (e *env) waitFor(what string, d time.Duration, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// lastRunID is the id of the newest finished run of conn (0: none).
func (e *env) lastRun(conn string) syncer.RunStats {
	e.t.Helper()
	st, err := e.eng.Status(context.Background(), conn)
	if err != nil {
		e.t.Fatal(err)
	}
	for _, r := range st.LastRuns {
		if !r.Finished.IsZero() {
			return r
		}
	}
	return syncer.RunStats{}
}

// syncNow triggers a sync through the API and waits for it to finish.
func (e *env) syncNow(conn string, full bool) syncer.RunStats {
	e.t.Helper()
	before := e.lastRun(conn).ID
	res := e.do("POST", "/api/v1/sync", e.admin, map[string]any{"connection": conn, "full": full})
	if res.status != http.StatusAccepted {
		e.t.Fatalf("POST /api/v1/sync: %d %s", res.status, res.raw)
	}
	var run syncer.RunStats
	e.waitFor("sync of "+conn, 60*time.Second, func() bool {
		run = e.lastRun(conn)
		return run.ID > before
	})
	if run.Error != "" {
		e.t.Fatalf("sync of %s failed: %s", conn, run.Error)
	}
	return run
}

func mustScope(t *testing.T) syncer.Scope {
	t.Helper()
	sc, err := syncer.ScopeFrom(switchyard.SyncFilters{})
	if err != nil {
		t.Fatal(err)
	}
	return sc
}
