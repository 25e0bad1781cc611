package jirasim

import (
	"bytes"
	"context"
	"crypto/subtle"
	"fmt"
	"math"
	"net"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"switchyard"
)

// caller is the authenticated principal of an API request. Every credential the
// simulator accepts belongs to the admin account.
type caller struct {
	AccountID string
	OAuth     bool   // authenticated with an OAuth access token (through the gateway)
	ClientID  string // the OAuth app
}

type callerKey struct{}

func callerFrom(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// serveAPI is the pipeline of a REST request: latency, rate limit, faults,
// authentication, then the mode's routes. Stats see the final status.
func (s *Server) serveAPI(rw http.ResponseWriter, r *http.Request, gateway bool) {
	mux := s.routes()
	_, pattern := mux.Handler(r)
	if pattern == "" {
		pattern = "(unmatched)"
	}
	rec := &statusRecorder{ResponseWriter: rw}
	defer func() { s.stats.record(pattern, rec.status) }()

	k := s.Knobs()
	if k.Latency > 0 {
		t := time.NewTimer(k.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	if !s.allow(rec) {
		s.stats.limited()
		return
	}
	if fault := s.pickFault(k.FaultRate); fault != "" {
		s.stats.fault(fault)
		if s.injectFault(rec, r, fault, mux) {
			return
		}
	}
	c, ok := s.authenticate(r, gateway)
	if !ok {
		rec.Header().Set("WWW-Authenticate", `Basic realm="protected-area"`)
		apiError(rec, http.StatusUnauthorized, "You are not authenticated. Authentication required to perform this operation.")
		return
	}
	mux.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
}

// authenticate checks the request's credentials. Basic (admin email + token) is
// the Cloud API token and Data Center basic auth; Bearer with the admin token is
// a Data Center PAT; Bearer OAuth access tokens are valid only on the gateway.
func (s *Server) authenticate(r *http.Request, gateway bool) (caller, bool) {
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	switch {
	case gateway:
		if !strings.EqualFold(scheme, "Bearer") {
			return caller{}, false
		}
		clientID, ok := s.oauth.validAccessToken(cred)
		if !ok {
			return caller{}, false
		}
		return caller{AccountID: s.adminAccountID, OAuth: true, ClientID: clientID}, true
	case strings.EqualFold(scheme, "Basic"):
		user, pass, ok := r.BasicAuth()
		if !ok || s.adminEmail == "" {
			return caller{}, false
		}
		// Data Center basic auth names the username; the email works too.
		named := strings.EqualFold(user, s.adminEmail) ||
			(s.world.Mode == switchyard.ModeDataCenter && strings.EqualFold(user, s.adminUsername()))
		if !named || !constEq(pass, s.opts.AdminToken) {
			return caller{}, false
		}
		return caller{AccountID: s.adminAccountID}, true
	case strings.EqualFold(scheme, "Bearer") && s.world.Mode == switchyard.ModeDataCenter:
		if !constEq(cred, s.opts.AdminToken) {
			return caller{}, false
		}
		return caller{AccountID: s.adminAccountID}, true
	}
	return caller{}, false
}

func constEq(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// allow applies the token bucket. On refusal it writes Jira's 429 with
// Retry-After (whole seconds), X-RateLimit-* and RateLimit-Reason.
func (s *Server) allow(rw http.ResponseWriter) bool {
	s.mu.Lock()
	lim := s.limiter
	s.mu.Unlock()
	if lim == nil {
		return true
	}
	now := time.Now()
	if lim.AllowN(now, 1) {
		rw.Header().Set("X-RateLimit-Limit", strconv.Itoa(lim.Burst()))
		rw.Header().Set("X-RateLimit-Remaining", strconv.Itoa(int(math.Max(0, lim.TokensAt(now)))))
		return true
	}
	res := lim.ReserveN(now, 1)
	wait := res.DelayFrom(now)
	res.CancelAt(now)
	secs := int(math.Ceil(wait.Seconds()))
	if secs < 1 {
		secs = 1
	}
	h := rw.Header()
	h.Set("Retry-After", strconv.Itoa(secs))
	h.Set("X-RateLimit-Limit", strconv.Itoa(lim.Burst()))
	h.Set("X-RateLimit-Remaining", "0")
	h.Set("X-RateLimit-Reset", now.Add(wait).UTC().Format("2006-01-02T15:04:05.000Z"))
	h.Set("RateLimit-Reason", "jira-burst-based")
	apiError(rw, http.StatusTooManyRequests, "Rate limit exceeded.")
	return false
}

// Fault kinds injected at FaultRate.
const (
	Fault500       = "500"
	Fault502       = "502"
	Fault503       = "503"
	FaultReset     = "reset"
	FaultTruncated = "truncated"
)

var faultKinds = []string{Fault500, Fault502, Fault503, FaultReset, FaultTruncated}

// pickFault draws from the seeded generator, so a given seed and request
// sequence fails the same way every run.
func (s *Server) pickFault(rate float64) string {
	if rate <= 0 {
		return ""
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.rng.Float64() >= rate {
		return ""
	}
	return faultKinds[s.rng.IntN(len(faultKinds))]
}

// injectFault writes the fault; it reports false when the request should go on
// (the truncation fault runs the real handler and cuts its body).
func (s *Server) injectFault(rw http.ResponseWriter, r *http.Request, kind string, mux *http.ServeMux) bool {
	switch kind {
	case Fault500:
		apiError(rw, http.StatusInternalServerError, "Internal server error (simulated fault).")
	case Fault502:
		apiError(rw, http.StatusBadGateway, "Bad gateway (simulated fault).")
	case Fault503:
		rw.Header().Set("Retry-After", "1")
		apiError(rw, http.StatusServiceUnavailable, "Service unavailable (simulated fault).")
	case FaultReset:
		resetConn(rw)
	case FaultTruncated:
		c, ok := s.authenticate(r, strings.HasPrefix(r.RequestURI, "/ex/jira/"))
		if !ok {
			return false
		}
		buf := &bufferedWriter{header: http.Header{}}
		mux.ServeHTTP(buf, r.WithContext(context.WithValue(r.Context(), callerKey{}, c)))
		body := buf.body.Bytes()
		for k, v := range buf.header {
			rw.Header()[k] = v
		}
		rw.Header().Set("Content-Length", strconv.Itoa(len(body)))
		st := buf.status
		if st == 0 {
			st = http.StatusOK
		}
		rw.WriteHeader(st)
		_, _ = rw.Write(body[:len(body)/2])
		_ = http.NewResponseController(rw).Flush()
		// Aborting the handler makes net/http close the connection without
		// writing the rest: the client sees a short body (unexpected EOF).
		panic(http.ErrAbortHandler)
	}
	return true
}

// resetConn closes the TCP connection with RST (linger 0) before any response.
func resetConn(rw http.ResponseWriter) {
	conn, _, err := http.NewResponseController(rw).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// statusRecorder remembers the status for stats; Unwrap lets
// http.ResponseController reach Hijack and Flush.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header { return b.header }
func (b *bufferedWriter) WriteHeader(code int) {
	if b.status == 0 {
		b.status = code
	}
}
func (b *bufferedWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// Stats are request counts since start.
type Stats struct {
	Requests    int64                       `json:"requests"`
	ByRoute     map[string]map[string]int64 `json:"byRoute"` // route pattern → status → count
	RateLimited int64                       `json:"rateLimited"`
	Faults      map[string]int64            `json:"faults"` // 500 | 502 | 503 | reset | truncated → count
}

type statsCounter struct {
	mu          sync.Mutex
	requests    int64
	byRoute     map[string]map[string]int64
	rateLimited int64
	faults      map[string]int64
}

func (c *statsCounter) record(pattern string, status int) {
	st := "aborted"
	if status != 0 {
		st = strconv.Itoa(status)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.requests++
	if c.byRoute == nil {
		c.byRoute = map[string]map[string]int64{}
	}
	m := c.byRoute[pattern]
	if m == nil {
		m = map[string]int64{}
		c.byRoute[pattern] = m
	}
	m[st]++
}

func (c *statsCounter) limited() {
	c.mu.Lock()
	c.rateLimited++
	c.mu.Unlock()
}

func (c *statsCounter) fault(kind string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.faults == nil {
		c.faults = map[string]int64{}
	}
	c.faults[kind]++
}

// Stats returns a copy of the request counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	c.mu.Lock()
	defer c.mu.Unlock()
	out := Stats{Requests: c.requests, RateLimited: c.rateLimited, ByRoute: map[string]map[string]int64{}, Faults: map[string]int64{}}
	for p, m := range c.byRoute {
		cp := make(map[string]int64, len(m))
		for k, v := range m {
			cp[k] = v
		}
		out.ByRoute[p] = cp
	}
	for k, v := range c.faults {
		out.Faults[k] = v
	}
	return out
}

// String renders stats for logs, sorted by route.
func (st Stats) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "requests=%d rateLimited=%d", st.Requests, st.RateLimited)
	routes := make([]string, 0, len(st.ByRoute))
	for p := range st.ByRoute {
		routes = append(routes, p)
	}
	sort.Strings(routes)
	for _, p := range routes {
		fmt.Fprintf(&b, "\n  %s %v", p, st.ByRoute[p])
	}
	return b.String()
}

// adminUsername is the admin's Data Center username.
func (s *Server) adminUsername() string {
	s.world.RLock()
	defer s.world.RUnlock()
	if u := s.world.UserByID(s.adminAccountID); u != nil {
		return dcUsername(u)
	}
	return ""
}
