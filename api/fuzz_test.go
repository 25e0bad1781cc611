package api_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"switchyard/api"
	"switchyard/audit"
	"switchyard/classify"
	"switchyard/connector/jirasim"
	"switchyard/runbook"
	"switchyard/store"
	syncer "switchyard/sync"
)

// The fuzz targets drive the real server (ServeHTTP, the full middleware
// chain) over a real SQLite store; they are built once per fuzz function, so
// each input costs one request. A panic inside a handler is turned into a 500
// by the recover middleware, so "never a 5xx" also means "never a panic".

const (
	fuzzConn      = "acme"     // admin webhooks (X-Hub-Signature)
	fuzzOAuthConn = "cloudapp" // dynamic webhooks (JWT)
	oauthSecret   = "oauth-client-secret-0123"
	fuzzSite      = "http://jira.invalid" // both connections' site; iss of their JWTs
)

// fuzzEngine records what the server asks of the sync engine.
type fuzzEngine struct{ calls atomic.Int64 }

func (e *fuzzEngine) Trigger(string, bool) error { e.calls.Add(1); return nil }
func (e *fuzzEngine) Status(context.Context, string) (syncer.Status, error) {
	return syncer.Status{}, nil
}
func (e *fuzzEngine) SetScope(string, syncer.Scope) error { e.calls.Add(1); return nil }
func (e *fuzzEngine) RefreshIssue(context.Context, string, string) error {
	e.calls.Add(1)
	return nil
}
func (e *fuzzEngine) RemoveIssue(context.Context, string, string) error { e.calls.Add(1); return nil }

// fuzzStore is the real store, counting webhook delivery records.
type fuzzStore struct {
	*store.DB
	deliveries atomic.Int64
}

func (s *fuzzStore) FirstDelivery(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	s.deliveries.Add(1)
	return s.DB.FirstDelivery(ctx, id, ttl)
}

type fuzzServer struct {
	srv    *api.Server
	db     *store.DB
	st     *fuzzStore
	eng    *fuzzEngine
	reg    *prometheus.Registry
	ingest string // key secret with tickets:ingest
}

func newFuzzServer(tb testing.TB) *fuzzServer {
	tb.Helper()
	db, err := store.Open(filepath.Join(tb.TempDir(), "switchyard.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	cls, err := classify.New(classify.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { cls.Close() })
	chain := audit.New(db)
	// The service's background work (execution, write-back) is not started:
	// ingest itself is what is fuzzed. The Jira client is never called by
	// Ingest; the map only names the known connection.
	svc, err := runbook.New(runbook.Options{Store: db, Audit: chain, Classifier: cls,
		Jira: map[string]runbook.Jira{fuzzConn: nil}, DefaultConnection: fuzzConn,
		Approvers: []string{"carol@example.com"}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { svc.Close() })
	fs := &fuzzServer{db: db, st: &fuzzStore{DB: db}, eng: &fuzzEngine{}, reg: prometheus.NewRegistry()}
	fs.srv, err = api.New(api.Options{
		Store: fs.st, Engine: fs.eng, Runbook: svc, Audit: chain, Registry: fs.reg,
		KeyRate: 1e9, KeyBurst: 1 << 30, MaxBodyBytes: 256 << 10, Logger: slog.New(slog.DiscardHandler),
		UnauthRate: 1e9, UnauthBurst: 1 << 30, // one fake client address sends every input
		Connections: []api.Connection{{Name: fuzzConn, Kind: "cloud", URL: "http://jira.invalid", Auth: "api_token",
			WebhookSecret: webhookSecret,
			Account:       func(context.Context) (string, error) { return "self-account", nil }},
			{Name: fuzzOAuthConn, Kind: "cloud", URL: fuzzSite, Auth: "oauth", OAuthClientSecret: oauthSecret, OAuthClientID: jirasim.DefaultOAuthClientID,
				Account: func(context.Context) (string, error) { return "self-account", nil }}},
	})
	if err != nil {
		tb.Fatal(err)
	}
	_, fs.ingest, err = db.CreateAPIKey(context.Background(), store.NewAPIKey{Name: "fuzz", Scopes: []string{api.ScopeTicketIngest}})
	if err != nil {
		tb.Fatal(err)
	}
	return fs
}

func (fs *fuzzServer) serve(req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	fs.srv.ServeHTTP(rec, req)
	return rec
}

// runs is the number of ticket runs and the audit head: what an ingest changes.
func (fs *fuzzServer) runs(t *testing.T) (int, int64) {
	t.Helper()
	ctx := context.Background()
	rs, err := fs.db.TicketRuns(ctx, "", 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	head, err := fs.db.AuditHead(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return len(rs), head.Seq
}

// webhookCounts reads switchyard_webhooks_received_total by status.
func (fs *fuzzServer) webhookCounts(t *testing.T) map[string]float64 {
	t.Helper()
	mfs, err := fs.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != "switchyard_webhooks_received_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "status" {
					out[l.GetValue()] += m.GetCounter().GetValue()
				}
			}
		}
	}
	return out
}

func FuzzIngestBody(f *testing.F) {
	for _, s := range []string{
		`{"source":"jira","ticket":{"issueKey":"ITSM-1","summary":"Please reset my VPN password","description":"locked out","reporterEmail":"bob@example.com","url":"https://acme.atlassian.net/browse/ITSM-1"}}`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-2","summary":"The coffee machine is broken"}}`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-1","summary":"a different body for the same key"}}`,
		`{"source":"jira"}`,
		`{"ticket":{"issueKey":"ITSM-3","summary":"x"}}`,
		`{"source":"jira","ticket":{"issueKey":"itsm-3","summary":"x"}}`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-0","summary":"x"}}`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-4","summary":"   "}}`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-5","summary":"x","url":"javascript:alert(1)"}}`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-6","summary":"x","reporterEmail":"Bob <bob@example.com>"}}`,
		`{"source":42,"ticket":{"issueKey":7,"summary":["x"]}}`,
		`{"source":"jira","ticket":"ITSM-7"}`,
		`{"source":"jira","ticket":null}`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-8","summary":"x","extra":true}}`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-9","summary":"x"}} {"again":1}`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-10","summary":"` + strings.Repeat("long ", 60) + `"}}`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-11","summary":"réinitialiser mot de passe 日本語 \u0000 \ud800"}}`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-12","summary":"x","description":"` + strings.Repeat("d", 70000) + `"}}`,
		`[[[[[[[[[[{"a":{"b":{"c":[1,2,{"d":null}]}}}]]]]]]]]]]`,
		`{"source":"jira","ticket":{"issueKey":"ITSM-13","summary":"x"`,
		"\xff\xfe\x00{",
		``,
		`null`,
	} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`{"source":"jira","ticket":{"issueKey":"ITSM-14","summary":"x"}}`), "text/plain")
	f.Add([]byte(`{"source":"jira","ticket":{"issueKey":"ITSM-15","summary":"x"}}`), "application/vnd.api+json; charset=utf-8")
	f.Add([]byte(`{}`), "")

	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		runsBefore, headBefore := fs.runs(t)
		req := httptest.NewRequest("POST", "/api/v1/tickets/ingest", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+fs.ingest)
		if ctype != "" {
			req.Header["Content-Type"] = []string{ctype}
		}
		rec := fs.serve(req)
		runsAfter, headAfter := fs.runs(t)
		switch st := rec.Code; {
		case st >= 500:
			t.Fatalf("status %d for body %q (content type %q): %s", st, body, ctype, rec.Body.Bytes())
		case st == http.StatusCreated:
			if runsAfter != runsBefore+1 || headAfter <= headBefore {
				t.Fatalf("201 but runs %d→%d, audit head %d→%d", runsBefore, runsAfter, headBefore, headAfter)
			}
		case st == http.StatusOK:
			if runsAfter != runsBefore || headAfter != headBefore {
				t.Fatalf("200 (repeat) but runs %d→%d, audit head %d→%d", runsBefore, runsAfter, headBefore, headAfter)
			}
		case st >= 400:
			if runsAfter != runsBefore || headAfter != headBefore {
				t.Fatalf("%d but runs %d→%d, audit head %d→%d for body %q", st, runsBefore, runsAfter, headBefore, headAfter, body)
			}
			var e struct {
				Error struct{ Code, Message string }
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
				t.Fatalf("%d without the error shape: %s", st, rec.Body.Bytes())
			}
		default:
			t.Fatalf("unexpected status %d: %s", st, rec.Body.Bytes())
		}
	})
}

// Signature modes of FuzzJiraWebhook.
const (
	sigNone      = iota // no signature at all
	sigValid            // X-Hub-Signature over the body with the secret
	sigWrongKey         // HMAC with another secret
	sigBadHex           // sha256=<not hex>
	sigJWTJunk          // the body's first bytes as a Bearer JWT, to the OAuth connection
	sigOtherBody        // valid HMAC of a different body
	sigValidJWT         // a valid JWT, to the OAuth connection
	sigClaimsJWT        // the body as the claims of a correctly signed JWT, to the OAuth connection
	sigNoSecret         // a valid X-Hub-Signature to the OAuth connection, which has no webhook_secret
	sigModes
)

// signedClaims is an HS256 JWT over arbitrary claim bytes.
func signedClaims(secret string, claims []byte) string {
	enc := base64.RawURLEncoding
	s := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`)) + "." + enc.EncodeToString(claims)
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(s))
	return s + "." + enc.EncodeToString(m.Sum(nil))
}

// liveClaims tells whether claims are JSON with an exp not yet past.
func liveClaims(claims []byte) bool {
	var c struct {
		Exp *float64 `json:"exp"`
	}
	return json.Unmarshal(claims, &c) == nil && c.Exp != nil && *c.Exp >= float64(time.Now().Unix()-60)
}

// namesIssue tells whether a payload is a JSON object whose issue has a
// non-empty id or key string and whose actor is not the integration itself:
// the only webhook that may queue a refresh.
func namesIssue(body []byte) bool {
	// Each part on its own, as Jira's shapes vary: an issue id may be a
	// string or a number; Jira Server 7 comment events name the issue only
	// in comment.self.
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) != nil {
		return false
	}
	var user struct {
		AccountID string `json:"accountId"`
	}
	if json.Unmarshal(top["user"], &user) == nil && user.AccountID == "self-account" {
		return false
	}
	var issue map[string]any
	json.Unmarshal(top["issue"], &issue)
	switch id := issue["id"].(type) {
	case string:
		if id != "" {
			return true
		}
	case float64:
		return true
	}
	if key, _ := issue["key"].(string); key != "" {
		return true
	}
	var comment map[string]any
	json.Unmarshal(top["comment"], &comment)
	self, _ := comment["self"].(string)
	return strings.Contains(self, "/rest/") && strings.Contains(self, "/issue/") && strings.Contains(self, "/comment/")
}

func FuzzJiraWebhook(f *testing.F) {
	seeds := []string{
		`{"webhookEvent":"jira:issue_updated","user":{"accountId":"u1"},"issue":{"id":"10001","key":"ITSM-1"}}`,
		`{"webhookEvent":"jira:issue_deleted","issue":{"id":"10002","key":"ITSM-2"}}`,
		`{"webhookEvent":"comment_created","comment":{"author":{"accountId":"self-account"}},"issue":{"id":"10003"}}`,
		`{"webhookEvent":"jira:issue_updated","user":{"accountId":"self-account"},"issue":{"id":"10004"}}`,
		`{"webhookEvent":"project_created","project":{"id":"1"}}`,
		`{"webhookEvent":"jira:issue_updated","issue":{"id":10005}}`,
		`{"webhookEvent":"jira:issue_updated","issue":"ITSM-6"}`,
		`{"issue":{"id":"","key":""}}`,
		`{"webhookEvent":"jira:issue_updated","issue":{"id":"10007"}} trailing`,
		`[1,2,3]`, `null`, ``, `{`, "\xff\xfe", `{"issue":{"key":"` + strings.Repeat("K", 5000) + `"}}`,
		`{"comment":{"updateAuthor":{"accountId":"self-account"},"author":null},"issue":{"key":"ITSM-9"}}`,
		// Also JWT claims (mode sigClaimsJWT): live, far future, past, wrong type.
		`{"exp":9999999999,"webhookEvent":"jira:issue_created","issue":{"id":"10010"}}`,
		`{"exp":1e300,"issue":{"id":"10011"}}`, `{"exp":-9e18,"issue":{"id":"10012"}}`, `{"exp":"tomorrow"}`, `{"exp":null}`,
	}
	for i, s := range seeds {
		for mode := range sigModes {
			delivery := "" // half the seeds carry a delivery id, unique per seed
			if i%2 == 1 {
				delivery = fmt.Sprintf("seed-%d-%d", i, mode)
			}
			f.Add([]byte(s), uint8(mode), delivery)
		}
	}

	fs := newFuzzServer(f)
	f.Fuzz(func(t *testing.T, body []byte, mode uint8, delivery string) {
		mode %= sigModes
		conn := fuzzConn
		if mode == sigJWTJunk || mode == sigValidJWT || mode == sigClaimsJWT || mode == sigNoSecret {
			conn = fuzzOAuthConn
		}
		req := httptest.NewRequest("POST", "/api/v1/webhooks/jira/"+conn, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		switch mode {
		case sigValid:
			req.Header.Set("X-Hub-Signature", hubSig(webhookSecret, body))
		case sigWrongKey:
			req.Header.Set("X-Hub-Signature", hubSig("not-"+webhookSecret, body))
		case sigBadHex:
			req.Header.Set("X-Hub-Signature", "sha256="+string(body[:min(len(body), 16)]))
		case sigJWTJunk:
			req.Header.Set("Authorization", "Bearer "+string(body[:min(len(body), 64)]))
		case sigOtherBody:
			req.Header.Set("X-Hub-Signature", hubSig(webhookSecret, append([]byte("x"), body...)))
		case sigValidJWT:
			req.Header.Set("Authorization", "Bearer "+signJWT(oauthSecret, "HS256", hookClaims(fuzzSite, "/api/v1/webhooks/jira/"+fuzzOAuthConn, time.Now())))
		case sigClaimsJWT:
			req.Header.Set("Authorization", "Bearer "+signedClaims(oauthSecret, body))
		case sigNoSecret:
			req.Header.Set("X-Hub-Signature", hubSig(webhookSecret, body))
		}
		if delivery != "" {
			req.Header["X-Atlassian-Webhook-Identifier"] = []string{delivery}
		}
		deliveriesBefore, engineBefore, countsBefore := fs.st.deliveries.Load(), fs.eng.calls.Load(), fs.webhookCounts(t)
		rec := fs.serve(req)
		counts := fs.webhookCounts(t)
		queued := counts["queued"]+counts["sync_queued"] > countsBefore["queued"]+countsBefore["sync_queued"]
		if rec.Code >= 500 {
			t.Fatalf("mode %d, body %q: status %d: %s", mode, body, rec.Code, rec.Body.Bytes())
		}
		signed := mode == sigValid || mode == sigValidJWT || (mode == sigClaimsJWT && rec.Code != http.StatusUnauthorized)
		if mode == sigClaimsJWT && signed && !liveClaims(body) {
			t.Fatalf("a JWT with claims %q (no live exp) was accepted: %d %s", body, rec.Code, rec.Body.Bytes())
		}
		if !signed {
			// Forged, unsigned or expired: refused before the body is read as JSON.
			if rec.Code != http.StatusUnauthorized {
				t.Fatalf("mode %d (not validly signed): status %d, want 401: %s", mode, rec.Code, rec.Body.Bytes())
			}
			if fs.st.deliveries.Load() != deliveriesBefore || fs.eng.calls.Load() != engineBefore || queued {
				t.Fatalf("mode %d: a forged webhook changed state (deliveries %d→%d, engine %d→%d, queued %v)",
					mode, deliveriesBefore, fs.st.deliveries.Load(), engineBefore, fs.eng.calls.Load(), queued)
			}
			return
		}
		switch {
		case rec.Code == http.StatusAccepted:
			var ack struct{ Status string }
			if err := json.Unmarshal(rec.Body.Bytes(), &ack); err != nil {
				t.Fatalf("202 with a body that is not JSON: %q", rec.Body.Bytes())
			}
			if ack.Status == "queued" || ack.Status == "sync_queued" {
				if !namesIssue(body) {
					t.Fatalf("payload %q naming no issue was %s", body, ack.Status)
				}
			} else if queued || fs.eng.calls.Load() != engineBefore {
				t.Fatalf("ack %q but a refresh was queued for %q", ack.Status, body)
			}
		case rec.Code >= 400:
			if json.Valid(body) && namesIssue(body) {
				t.Fatalf("a valid signed payload naming an issue was refused: %d %s", rec.Code, rec.Body.Bytes())
			}
			if fs.st.deliveries.Load() != deliveriesBefore || fs.eng.calls.Load() != engineBefore || queued {
				t.Fatalf("%d for %q, but state changed", rec.Code, body)
			}
		default:
			t.Fatalf("unexpected status %d: %s", rec.Code, rec.Body.Bytes())
		}
	})
}
