package api_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchyard/api"
)

// dial opens a raw TCP connection to the server under test.
func (e *env) dial() net.Conn {
	e.t.Helper()
	u, _ := url.Parse(e.url)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { c.Close() })
	return c
}

// rawGet is a GET whose answer is not checked against the API document.
func (e *env) rawGet(path string) int {
	e.t.Helper()
	res, err := e.client.Get(e.url + path)
	if err != nil {
		e.t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

// closedWithin reads c until the server closes it, or d passes; it returns
// what was read and whether the server closed the connection.
func closedWithin(c net.Conn, d time.Duration) (string, bool) {
	_ = c.SetReadDeadline(time.Now().Add(d))
	b, err := io.ReadAll(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return string(b), false
	}
	return string(b), true
}

// TestE2EConnectionDeadlines: over a real listener, a body trickled one byte
// every 50ms, headers trickled the same way, and an idle keep-alive are cut
// off by the server's deadlines.
func TestE2EConnectionDeadlines(t *testing.T) {
	e := newEnv(t, envOptions{tune: func(o *api.Options) {
		o.ReadHeaderTimeout, o.ReadTimeout, o.IdleTimeout = 300*time.Millisecond, 600*time.Millisecond, 400*time.Millisecond
	}})
	const guard = 5 * time.Second // far beyond every deadline above; a trickle would take minutes

	trickle := func(c net.Conn, n int) chan int {
		sent := make(chan int, 1)
		go func() {
			i := 0
			for ; i < n; i++ {
				if _, err := c.Write([]byte("a")); err != nil {
					break
				}
				time.Sleep(50 * time.Millisecond)
			}
			sent <- i
		}()
		return sent
	}

	t.Run("trickled body", func(t *testing.T) {
		c := e.dial()
		start := time.Now()
		fmt.Fprintf(c, "POST /api/v1/webhooks/jira/%s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n", connName)
		sent := trickle(c, 100000)
		got, closed := closedWithin(c, guard)
		if !closed {
			t.Fatalf("a body trickled for %s is still being read", guard)
		}
		t.Logf("cut off after %s", time.Since(start).Round(time.Millisecond))
		if strings.Contains(got, " 202 ") {
			t.Fatalf("the trickled delivery was accepted: %q", got)
		}
		c.Close()
		if n := <-sent; n >= 100000 {
			t.Fatal("the whole body was sent")
		}
	})

	t.Run("trickled headers", func(t *testing.T) {
		c := e.dial()
		fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
		sent := trickle(c, 100000)
		if _, closed := closedWithin(c, guard); !closed {
			t.Fatalf("headers trickled for %s are still being read", guard)
		}
		c.Close()
		<-sent
	})

	t.Run("idle keep-alive", func(t *testing.T) {
		c := e.dial()
		fmt.Fprint(c, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
		br := bufio.NewReader(c)
		res, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || res.Close {
			t.Fatalf("healthz: %d close=%v", res.StatusCode, res.Close)
		}
		start := time.Now()
		_ = c.SetReadDeadline(time.Now().Add(guard))
		_, err = br.ReadByte()
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("an idle keep-alive connection is still open after %s", guard)
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) && !strings.Contains(fmt.Sprint(err), "reset") {
			t.Fatalf("idle connection: %v, want EOF", err)
		}
		t.Logf("idle connection closed after %s", time.Since(start).Round(time.Millisecond))
	})

	// A normal request still works after all that.
	if r := e.do("GET", "/api/v1/whoami", e.admin, nil); r.status != 200 {
		t.Fatalf("whoami: %d", r.status)
	}
}

// TestE2EUnauthenticatedLimit: requests without a valid credential from one
// address get 429 once its budget is spent; a valid key, a signed webhook and
// the health probes from the same address are not limited.
func TestE2EUnauthenticatedLimit(t *testing.T) {
	const burst = 5
	e := newEnv(t, envOptions{tune: func(o *api.Options) { o.UnauthRate, o.UnauthBurst = 0.2, burst }})
	account, visible, _ := e.viewerPair()
	for i := 0; i < burst; i++ {
		if r := e.do("GET", "/api/v1/whoami", "", nil); r.status != 401 {
			t.Fatalf("unauthenticated request %d: %d %s, want 401", i+1, r.status, r.raw)
		}
	}
	r := e.do("GET", "/api/v1/whoami", "", nil)
	if r.status != 429 || r.errCode() != "rate_limited" || r.header.Get("Retry-After") == "" {
		t.Fatalf("request past the budget: %d %s Retry-After %q, want 429", r.status, r.raw, r.header.Get("Retry-After"))
	}
	for name, send := range map[string]func() int{
		"wrong key": func() int {
			return e.do("GET", "/api/v1/whoami", "sy_wrongwrongwrongwrongwrongwrongwrongw", nil).status
		},
		"sign-in page":     func() int { return e.do("GET", "/console/signin", "", nil).status },
		"unsigned hook":    func() int { return e.postWebhook(connName, []byte(`{}`), nil).status },
		"api document":     func() int { return e.do("GET", "/api/v1/openapi.yaml", "", nil).status },
		"unknown path":     func() int { return e.rawGet("/nope") },
		"unknown api path": func() int { return e.rawGet("/api/v1/nope") },
		"console no auth":  func() int { return e.do("GET", "/console/sync", "", nil).status },
	} {
		if got := send(); got != 429 {
			t.Errorf("%s past the budget: %d, want 429", name, got)
		}
	}
	// Credentials are not charged to the address.
	for i := 0; i < 3*burst; i++ {
		if r := e.do("GET", "/api/v1/whoami", e.admin, nil); r.status != 200 {
			t.Fatalf("authenticated request %d from a limited address: %d %s", i+1, r.status, r.raw)
		}
	}
	body := issueEvent("jira:issue_updated", account, visible.ID, visible.Key)
	if r := e.postWebhook(connName, body, map[string]string{"X-Hub-Signature": hubSig(webhookSecret, body), "X-Atlassian-Webhook-Identifier": "lim-1"}); r.status != 202 {
		t.Fatalf("signed delivery from a limited address: %d %s", r.status, r.raw)
	}
	if r := e.do("GET", "/healthz", "", nil); r.status != 200 {
		t.Fatalf("healthz from a limited address: %d", r.status)
	}
}

// TestE2EUnauthenticatedLimitBehindProxy: X-Forwarded-For names the client
// only when the peer is a trusted proxy; otherwise a forged header does not
// buy a fresh budget.
func TestE2EUnauthenticatedLimitBehindProxy(t *testing.T) {
	whoami := func(e *env, xff string) int {
		req, _ := http.NewRequest("GET", e.url+"/api/v1/whoami", nil)
		req.Header.Set("X-Forwarded-For", xff)
		res, err := e.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	const burst = 3
	t.Run("no trusted proxy", func(t *testing.T) {
		e := newEnv(t, envOptions{tune: func(o *api.Options) { o.UnauthRate, o.UnauthBurst = 0.2, burst }})
		for i := 0; i < burst; i++ {
			whoami(e, fmt.Sprintf("203.0.113.%d", i))
		}
		if got := whoami(e, "203.0.113.200"); got != 429 {
			t.Fatalf("a forged X-Forwarded-For escaped the limit: %d", got)
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		e := newEnv(t, envOptions{tune: func(o *api.Options) {
			o.UnauthRate, o.UnauthBurst = 0.2, burst
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}
		}})
		for i := 0; i < burst; i++ {
			if got := whoami(e, "203.0.113.1"); got != 401 {
				t.Fatalf("request %d: %d, want 401", i+1, got)
			}
		}
		if got := whoami(e, "203.0.113.1"); got != 429 {
			t.Fatalf("client behind the proxy past its budget: %d, want 429", got)
		}
		if got := whoami(e, "203.0.113.2"); got != 401 {
			t.Fatalf("another client behind the same proxy: %d, want 401 (its own budget)", got)
		}
	})
}
