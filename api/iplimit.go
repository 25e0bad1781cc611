package api

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"switchyard"
)

// Requests that carry no valid credential (no API key, a bad one, an
// unsigned or forged webhook, the sign-in page, decision links, the OAuth
// callback) share one token bucket per client address, so that one host
// cannot make the server do unbounded key lookups, signature checks or page
// renders. Requests with a valid key, session or signature are never
// charged here (keys have their own budget, see keyLimiters).

// ipLimiters holds one token bucket per client address (an IPv6 client is
// its /64: one host usually owns the whole prefix).
type ipLimiters struct {
	mu    sync.Mutex
	rate  rate.Limit
	burst int
	m     map[netip.Addr]*rate.Limiter
	adds  int
}

// ipSweepEvery is how many new addresses trigger a sweep of idle buckets.
const ipSweepEvery = 1024

func newIPLimiters(rps float64, burst int) *ipLimiters {
	return &ipLimiters{rate: rate.Limit(rps), burst: burst, m: map[netip.Addr]*rate.Limiter{}}
}

// allow takes a token for addr, or says how long until one is available.
func (l *ipLimiters) allow(addr netip.Addr, now time.Time) (time.Duration, bool) {
	l.mu.Lock()
	lim, ok := l.m[addr]
	if !ok {
		l.adds++
		if l.adds%ipSweepEvery == 0 {
			l.sweep(now)
		}
		lim = rate.NewLimiter(l.rate, l.burst)
		l.m[addr] = lim
	}
	l.mu.Unlock()
	res := lim.ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d, false
	}
	return 0, true
}

// sweep drops buckets that have refilled: a fresh one is the same thing, so
// the map holds only addresses seen in the last burst/rate seconds.
func (l *ipLimiters) sweep(now time.Time) {
	for a, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, a)
		}
	}
}

// clientAddr is the address a request's budget is kept under: the peer's IP,
// or, when the peer is a trusted proxy, the nearest address in
// X-Forwarded-For that is not one (the proxies append, so the entries left of
// it could be anything the client wrote). An IPv6 address is reduced to its /64.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	a := parseIP(r.RemoteAddr)
	if len(s.opts.TrustedProxies) > 0 && s.trusted(a) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			h := parseIP(strings.TrimSpace(hops[i]))
			if !h.IsValid() {
				break // a garbled entry: keep the last address known good
			}
			a = h
			if !s.trusted(h) {
				break
			}
		}
	}
	if a.Is6() {
		if p, err := a.Prefix(64); err == nil {
			a = p.Addr()
		}
	}
	return a
}

func (s *Server) trusted(a netip.Addr) bool {
	for _, p := range s.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseIP reads "ip", "ip:port" or "[ip]:port" (zero Addr when it is none).
func parseIP(v string) netip.Addr {
	if host, _, err := net.SplitHostPort(v); err == nil {
		v = host
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// chargeUnauthenticated takes a token from the client's budget; when it is
// spent it answers 429 with Retry-After and returns false.
func (s *Server) chargeUnauthenticated(w http.ResponseWriter, r *http.Request) bool {
	wait, ok := s.ipLimits.allow(s.clientAddr(r), time.Now())
	if ok {
		return true
	}
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	s.writeError(w, r, switchyard.Errorf(switchyard.ErrRateLimited, "too many unauthenticated requests from this address; retry after %s", wait.Round(time.Millisecond)))
	return false
}

// checksOwnCredentials reports whether the route behind path authenticates
// the request itself (API keys, Jira and Slack signatures) and charges the
// client's budget only when that fails. Health probes are never limited.
func checksOwnCredentials(path string) bool {
	switch {
	case path == "/healthz" || path == "/readyz":
		return true
	case path == "/api/v1/openapi.yaml":
		return false
	case strings.HasPrefix(path, "/api/v1/approvals/") && strings.HasSuffix(path, "/link"):
		return false // decision links: a token, but anyone may present one
	}
	return strings.HasPrefix(path, "/api/")
}

// withIPLimit charges requests that present no credential up front: the
// console without a valid session, the sign-in form, decision links, the
// OAuth callback, the API document, /metrics and unknown paths.
func (s *Server) withIPLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if checksOwnCredentials(r.URL.Path) || s.hasSession(r) {
			next.ServeHTTP(w, r)
			return
		}
		if !s.chargeUnauthenticated(w, r) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hasSession reports whether the request carries a live console session (the
// console handler still checks its key and scope).
func (s *Server) hasSession(r *http.Request) bool {
	c, err := r.Cookie(sessionCookie)
	return err == nil && s.sessions.get(c.Value) != nil
}
