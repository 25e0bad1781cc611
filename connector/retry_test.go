package connector

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchyard"
)

// fakeClock records requested sleeps and returns at once, so waits are
// asserted exactly without slowing the tests.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newFakeClock() *fakeClock { return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)} }

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if d > 0 {
		f.sleeps = append(f.sleeps, d)
		f.now = f.now.Add(d)
	}
	return ctx.Err()
}

func (f *fakeClock) waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.sleeps...)
}

type testObserver struct {
	mu       sync.Mutex
	requests map[string]int // endpoint|status → count
	retries  []time.Duration
}

func (o *testObserver) ObserveRequest(conn, endpoint string, status int, took time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.requests == nil {
		o.requests = map[string]int{}
	}
	o.requests[fmt.Sprintf("%s|%d", endpoint, status)]++
}

func (o *testObserver) ObserveRetry(conn, endpoint string, attempt int, wait time.Duration, reason string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.retries = append(o.retries, wait)
}

// newTestClient builds a client on srv with a fake clock and fast limits.
func newTestClient(t *testing.T, srv *httptest.Server, mod func(*Options)) (*Client, *fakeClock) {
	t.Helper()
	opts := Options{Name: "test", Mode: switchyard.ModeCloud, BaseURL: srv.URL, Auth: APITokenAuth("bot@example.com", "s3cr3t-token"),
		RequestsPerSecond: 1000, Concurrency: 4, RetryBaseDelay: 100 * time.Millisecond, RetryMaxDelay: 10 * time.Second}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	fc := newFakeClock()
	c.clock = fc
	return c, fc
}

func TestRetry429HonoursRetryAfter(t *testing.T) {
	// Headers are computed from the fake clock at each 429, as a server would.
	tests := []struct {
		name    string
		headers func(now time.Time) map[string]string
		want    time.Duration
	}{
		{"seconds", func(time.Time) map[string]string { return map[string]string{"Retry-After": "3"} }, 3 * time.Second},
		{"http date", func(now time.Time) map[string]string {
			return map[string]string{"Retry-After": now.Add(4 * time.Second).Format(http.TimeFormat)}
		}, 4 * time.Second},
		{"reset only", func(now time.Time) map[string]string {
			return map[string]string{"X-RateLimit-Reset": now.Add(7 * time.Second).Format("2006-01-02T15:04:05.000Z")}
		}, 7 * time.Second},
		{"capped", func(time.Time) map[string]string { return map[string]string{"Retry-After": "3600"} }, 10 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			var fc *fakeClock
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if hits.Add(1) <= 3 {
					for k, v := range tt.headers(fc.Now()) {
						w.Header().Set(k, v)
					}
					w.WriteHeader(http.StatusTooManyRequests)
					return
				}
				io.WriteString(w, `{"accountId":"a1","displayName":"Bot","active":true}`)
			}))
			defer srv.Close()
			obs := &testObserver{}
			var c *Client
			c, fc = newTestClient(t, srv, func(o *Options) { o.Observer = obs })
			u, err := c.Myself(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if u.AccountID != "a1" {
				t.Fatalf("account = %q", u.AccountID)
			}
			if got := hits.Load(); got != 4 {
				t.Fatalf("hits = %d, want 4", got)
			}
			// Each 429 imposes exactly the advertised wait (the shared pause
			// may add its own sleep of the remainder, which is then zero).
			var total time.Duration
			for _, w := range fc.waits() {
				total += w
			}
			if total != 3*tt.want {
				t.Fatalf("waits = %v (total %v), want 3 × %v", fc.waits(), total, tt.want)
			}
			if n := obs.requests["GET /rest/api/3/myself|429"]; n != 3 {
				t.Fatalf("observed 429s = %d, want 3 (%v)", n, obs.requests)
			}
		})
	}
}

func TestRetryGivesUpWithAttemptsAndRateLimited(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "1")
		w.Header().Set("RateLimit-Reason", "jira-burst-based")
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, func(o *Options) { o.MaxRetries = 3 })
	_, err := c.Myself(context.Background())
	if !errors.Is(err, switchyard.ErrRateLimited) {
		t.Fatalf("err = %v, want ErrRateLimited", err)
	}
	for _, want := range []string{"GET /rest/api/3/myself", "4 attempts", "429", "jira-burst-based"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
	if hits.Load() != 4 {
		t.Fatalf("hits = %d, want 4", hits.Load())
	}
}

func TestRetry5xxBurstBacksOffWithJitter(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 5 {
			http.Error(w, "boom", []int{500, 502, 503, 504, 500}[hits.Load()-1])
			return
		}
		io.WriteString(w, `{"accountId":"a1"}`)
	}))
	defer srv.Close()
	c, fc := newTestClient(t, srv, func(o *Options) { o.RetryBaseDelay = time.Second; o.RetryMaxDelay = 5 * time.Second })
	if _, err := c.Myself(context.Background()); err != nil {
		t.Fatal(err)
	}
	waits := fc.waits()
	if len(waits) > 5 {
		t.Fatalf("waits = %v, want at most 5", waits)
	}
	// Full jitter: attempt n waits in [0, min(cap, base·2^(n-1))].
	caps := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}
	for i, w := range waits {
		if w < 0 || w > caps[i] {
			t.Errorf("wait %d = %v, want within [0, %v]", i+1, w, caps[i])
		}
	}
}

func TestBackoffIsJitteredAndCapped(t *testing.T) {
	c := &Client{opts: Options{RetryBaseDelay: 100 * time.Millisecond, RetryMaxDelay: time.Second}}
	seen := map[time.Duration]bool{}
	for i := 0; i < 200; i++ {
		d := c.backoff(10)
		if d < 0 || d > time.Second {
			t.Fatalf("backoff(10) = %v, out of [0, 1s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 50 {
		t.Fatalf("backoff is not jittered: %d distinct values of 200", len(seen))
	}
}

func TestTruncatedBodyIsRetriedThenClearError(t *testing.T) {
	tests := []struct {
		name      string
		goodAfter int32
		wantErr   bool
	}{
		{"recovers", 2, false},
		{"gives up", 100, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				body := `{"accountId":"a1","displayName":"A very long display name"}`
				if hits.Add(1) <= tt.goodAfter {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
					io.WriteString(w, body[:10]) // the server closes the connection short
					return
				}
				io.WriteString(w, body)
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv, func(o *Options) { o.MaxRetries = 4 })
			u, err := c.Myself(context.Background())
			if tt.wantErr {
				if err == nil {
					t.Fatal("no error")
				}
				for _, want := range []string{"truncated", "5 attempts", "GET /rest/api/3/myself"} {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q lacks %q", err, want)
					}
				}
				if hits.Load() != 5 {
					t.Fatalf("hits = %d, want 5", hits.Load())
				}
				return
			}
			if err != nil || u.AccountID != "a1" {
				t.Fatalf("u=%+v err=%v", u, err)
			}
		})
	}
}

func TestNonIdempotentPOSTNotRetried(t *testing.T) {
	tests := []struct {
		name     string
		path     string
		status   int
		call     func(c *Client) error
		wantHits int32
	}{
		{"add comment 503", "/rest/api/3/issue/ITSM-1/comment", 503, func(c *Client) error {
			_, err := c.AddComment(context.Background(), "ITSM-1", CommentBody{Text: "hi"}, "", nil)
			return err
		}, 1},
		{"add comment 429", "/rest/api/3/issue/ITSM-1/comment", 429, func(c *Client) error {
			_, err := c.AddComment(context.Background(), "ITSM-1", CommentBody{Text: "hi"}, "", nil)
			return err
		}, 1},
		{"transition 500", "/rest/api/3/issue/ITSM-1/transitions", 500, func(c *Client) error {
			return c.DoTransition(context.Background(), "ITSM-1", "31")
		}, 1},
		{"search/jql is idempotent", "/rest/api/3/search/jql", 503, func(c *Client) error {
			_, _, err := c.SearchIDs(context.Background(), "project = ITSM", "", 100)
			return err
		}, 4},
		{"bulkfetch is idempotent", "/rest/api/3/issue/bulkfetch", 502, func(c *Client) error {
			_, err := c.BulkFetch(context.Background(), []string{"10001"})
			return err
		}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hits atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != tt.path {
					t.Errorf("path %s, want %s", r.URL.Path, tt.path)
				}
				hits.Add(1)
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(tt.status)
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv, func(o *Options) { o.MaxRetries = 3 })
			err := tt.call(c)
			if err == nil {
				t.Fatal("no error")
			}
			if hits.Load() != tt.wantHits {
				t.Fatalf("hits = %d, want %d (err %v)", hits.Load(), tt.wantHits, err)
			}
			if tt.wantHits == 1 && !strings.Contains(err.Error(), "not retried") {
				t.Errorf("error %q does not say it was not retried", err)
			}
		})
	}
}

func TestStatusErrorsMapToSentinels(t *testing.T) {
	tests := []struct {
		status int
		want   error
	}{
		{401, switchyard.ErrUnauthorized},
		{403, switchyard.ErrForbidden},
		{404, switchyard.ErrNotFound},
		{410, ErrGone},
		{400, switchyard.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				io.WriteString(w, `{"errorMessages":["Issue does not exist or you do not have permission to see it."],"errors":{}}`)
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv, nil)
			_, err := c.Issue(context.Background(), "ITSM-9")
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			for _, want := range []string{"/rest/api/3/issue/ITSM-9", fmt.Sprint(tt.status), "does not exist"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

func TestSecretsNeverLogged(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) <= 2 {
			w.WriteHeader(503)
			return
		}
		w.WriteHeader(401)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, _ := newTestClient(t, srv, func(o *Options) { o.Logger = logger })
	_, err := c.Myself(context.Background())
	if err == nil {
		t.Fatal("want 401 error")
	}
	logger.Info("options", "auth", c.opts.Auth)
	out := logs.String() + err.Error() + fmt.Sprint(c.opts.Auth) + fmt.Sprintf("%+v", c.opts.Auth)
	if !strings.Contains(logs.String(), "jira retry") {
		t.Fatalf("expected retry log lines, got %q", logs.String())
	}
	// Basic auth header value is base64(email:token); check both forms.
	for _, secret := range []string{"s3cr3t-token", "Ym90QGV4YW1wbGUuY29tOnMzY3IzdC10b2tlbg"} {
		if strings.Contains(out, secret) {
			t.Fatalf("secret %q leaked into %q", secret, out)
		}
	}
}

func TestConcurrencyLimitShared(t *testing.T) {
	var inflight, peak atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inflight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(5 * time.Millisecond)
		inflight.Add(-1)
		io.WriteString(w, `{"accountId":"a"}`)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, func(o *Options) { o.Concurrency = 3 })
	var wg sync.WaitGroup
	for i := 0; i < 30; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := c.Myself(context.Background()); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if p := peak.Load(); p > 3 || p < 2 {
		t.Fatalf("peak in flight = %d, want ≤ 3 (and some parallelism)", p)
	}
}

func TestRateLimitPaces(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"accountId":"a"}`)
	}))
	defer srv.Close()
	opts := Options{BaseURL: srv.URL, Auth: APITokenAuth("a@b.c", "t"), RequestsPerSecond: 50, Concurrency: 1}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := 0; i < 11; i++ {
		if _, err := c.Myself(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	// 11 requests at 50/s with a burst of 1 need at least 10 intervals of 20ms.
	if el := time.Since(start); el < 180*time.Millisecond {
		t.Fatalf("11 requests took %v, faster than 50/s allows", el)
	}
}

func TestSharedPauseAfter429(t *testing.T) {
	// One worker's 429 makes the others wait too.
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "5")
			w.WriteHeader(429)
			return
		}
		io.WriteString(w, `{"accountId":"a"}`)
	}))
	defer srv.Close()
	c, fc := newTestClient(t, srv, nil)
	if _, err := c.Myself(context.Background()); err != nil {
		t.Fatal(err)
	}
	if until := c.lim.pausedUntil(); !until.Equal(time.Date(2026, 1, 2, 3, 4, 10, 0, time.UTC)) {
		t.Fatalf("pause until %v", until)
	}
	if w := fc.waits(); len(w) != 1 || w[0] != 5*time.Second {
		t.Fatalf("waits %v, want [5s]", w)
	}
}

func TestOptionsValidation(t *testing.T) {
	good := Options{BaseURL: "https://acme.atlassian.net", Auth: APITokenAuth("a@b.c", "t")}
	tests := []struct {
		name  string
		mod   func(*Options)
		field string
	}{
		{"base url", func(o *Options) { o.BaseURL = "acme.atlassian.net" }, "base_url"},
		{"mode", func(o *Options) { o.Mode = "server" }, "mode"},
		{"rps", func(o *Options) { o.RequestsPerSecond = -1 }, "requests_per_second"},
		{"concurrency", func(o *Options) { o.Concurrency = -2 }, "concurrency"},
		{"retries", func(o *Options) { o.MaxRetries = -5 }, "max_retries"},
		{"max delay", func(o *Options) { o.RetryBaseDelay = time.Second; o.RetryMaxDelay = time.Millisecond }, "retry_max_delay"},
		{"attachment", func(o *Options) { o.MaxAttachmentBytes = -1 }, "max_attachment_bytes"},
		{"auth type", func(o *Options) { o.Auth = Auth{Type: "kerberos"} }, "auth.type"},
		{"auth none", func(o *Options) { o.Auth = Auth{} }, "auth.type"},
		{"email", func(o *Options) { o.Auth = APITokenAuth("", "t") }, "auth.email"},
		{"token", func(o *Options) { o.Auth = APITokenAuth("a@b.c", "") }, "auth.token"},
		{"pat", func(o *Options) { o.Auth = PATAuth("") }, "auth.token"},
		{"basic", func(o *Options) { o.Auth = BasicAuth("u", "") }, "auth.password"},
		{"oauth on dc", func(o *Options) {
			o.Mode = switchyard.ModeDataCenter
			o.Auth = OAuthAuth(&OAuthConfig{ClientID: "id", ClientSecret: "s"}, &memStore{})
		}, "auth.type"},
		{"oauth secret", func(o *Options) { o.Auth = OAuthAuth(&OAuthConfig{ClientID: "id"}, &memStore{}) }, "auth.client_secret"},
		{"oauth store", func(o *Options) { o.Auth = OAuthAuth(&OAuthConfig{ClientID: "id", ClientSecret: "s"}, nil) }, "auth.store"},
		{"oauth url", func(o *Options) {
			o.Auth = OAuthAuth(&OAuthConfig{ClientID: "id", ClientSecret: "s", TokenURL: "ftp://x"}, &memStore{})
		}, "auth.token_url"},
	}
	if _, err := New(good); err != nil {
		t.Fatalf("good options: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := good
			tt.mod(&o)
			_, err := New(o)
			var se *switchyard.Error
			if !errors.As(err, &se) || !errors.Is(err, switchyard.ErrInvalid) {
				t.Fatalf("err = %v, want invalid", err)
			}
			if se.Field != tt.field {
				t.Fatalf("field = %q (%v), want %q", se.Field, err, tt.field)
			}
		})
	}
}

func TestAuthHeaders(t *testing.T) {
	tests := []struct {
		name string
		mode switchyard.Mode
		auth Auth
		want string
	}{
		{"api token", switchyard.ModeCloud, APITokenAuth("bot@acme.com", "tok"), "Basic Ym90QGFjbWUuY29tOnRvaw=="},
		{"basic", switchyard.ModeDataCenter, BasicAuth("admin", "pw"), "Basic YWRtaW46cHc="},
		{"pat", switchyard.ModeDataCenter, PATAuth("pat123"), "Bearer pat123"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Header.Get("Authorization")
				io.WriteString(w, `{"key":"admin","name":"admin"}`)
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv, func(o *Options) { o.Mode = tt.mode; o.Auth = tt.auth })
			if _, err := c.Myself(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("Authorization = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAuthNotSentToRedirectHost(t *testing.T) {
	var mediaAuth atomic.Value
	media := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mediaAuth.Store(r.Header.Get("Authorization"))
		io.WriteString(w, "file bytes")
	}))
	defer media.Close()
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, media.URL+"/file/abc?token=signed", http.StatusSeeOther)
	}))
	defer api.Close()
	// httptest servers share 127.0.0.1; make the media host differ by name.
	mediaURL := strings.Replace(media.URL, "127.0.0.1", "localhost", 1)
	api.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, mediaURL+"/file/abc?token=signed", http.StatusSeeOther)
	})
	c, _ := newTestClient(t, api, nil)
	rc, err := c.AttachmentContent(context.Background(), "30001", 0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "file bytes" {
		t.Fatalf("body %q", b)
	}
	if a, _ := mediaAuth.Load().(string); a != "" {
		t.Fatalf("media host received Authorization %q", a)
	}
}

func TestAttachmentCap(t *testing.T) {
	tests := []struct {
		name          string
		size          int
		chunked       bool
		max           int64
		wantErr       bool
		wantErrOnOpen bool
	}{
		{"under", 100, false, 1000, false, false},
		{"exact", 1000, true, 1000, false, false},
		{"declared over", 2000, false, 1000, true, true},
		{"streamed over", 2000, true, 1000, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				data := bytes.Repeat([]byte("x"), tt.size)
				if tt.chunked {
					w.(http.Flusher).Flush()
				} else {
					w.Header().Set("Content-Length", fmt.Sprint(tt.size))
				}
				w.Write(data)
			}))
			defer srv.Close()
			c, _ := newTestClient(t, srv, nil)
			rc, err := c.AttachmentContent(context.Background(), "1", tt.max)
			if tt.wantErrOnOpen {
				if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1000-byte cap") {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if tt.wantErr {
				if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "1000-byte cap") {
					t.Fatalf("err = %v", err)
				}
				if int64(len(b)) > tt.max {
					t.Fatalf("read %d bytes past the cap", len(b))
				}
				return
			}
			if err != nil || len(b) != tt.size {
				t.Fatalf("read %d bytes, err %v", len(b), err)
			}
		})
	}
}

func TestParseRateLimitHeaders(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		header, value string
		want          time.Duration
		ok            bool
	}{
		{"Retry-After", "10", 10 * time.Second, true},
		{"Retry-After", "0.5", 500 * time.Millisecond, true},
		{"Retry-After", "Fri, 02 Jan 2026 03:04:15 GMT", 10 * time.Second, true},
		{"Retry-After", "soon", 0, false},
		{"X-RateLimit-Reset", "2026-01-02T03:06Z", 115 * time.Second, true},
		{"X-RateLimit-Reset", "2026-01-02T03:04:35.000Z", 30 * time.Second, true},
		{"X-RateLimit-Reset", "2026-01-02T03:04:35Z", 30 * time.Second, true},
		{"X-RateLimit-Reset", fmt.Sprint(now.Unix() + 20), 20 * time.Second, true},
		{"X-RateLimit-Reset", "garbage", 0, false},
	}
	for _, tt := range tests {
		var d time.Duration
		var ok bool
		if tt.header == "Retry-After" {
			d, ok = parseRetryAfter(tt.value, now)
		} else {
			d, ok = parseReset(tt.value, now)
		}
		if ok != tt.ok || d != tt.want {
			t.Errorf("%s: %q = %v, %v; want %v, %v", tt.header, tt.value, d, ok, tt.want, tt.ok)
		}
	}
}

func TestContextCancelStopsRetrying(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	c, err := New(Options{BaseURL: srv.URL, Auth: APITokenAuth("a@b.c", "t"), RetryMaxDelay: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = c.Myself(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	if time.Since(start) > 5*time.Second || hits.Load() != 1 {
		t.Fatalf("took %v with %d hits", time.Since(start), hits.Load())
	}
}

func Test503WithRetryAfterIsHonoured(t *testing.T) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hits.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(503)
			return
		}
		io.WriteString(w, `{"accountId":"a"}`)
	}))
	defer srv.Close()
	c, fc := newTestClient(t, srv, nil)
	if _, err := c.Myself(context.Background()); err != nil {
		t.Fatal(err)
	}
	if w := fc.waits(); len(w) != 1 || w[0] != 2*time.Second {
		t.Fatalf("waits %v, want [2s]", w)
	}
}
