package api

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"switchyard"
)

// KeyStore finds API keys by the SHA-256 of their secret. It returns an error
// wrapping switchyard.ErrNotFound for an unknown hash.
type KeyStore interface {
	LookupKey(ctx context.Context, hash string) (Key, error)
}

func principal(ctx context.Context) (Key, bool) {
	k, ok := ctx.Value(ctxPrincipal).(Key)
	return k, ok
}

// authenticate resolves the bearer key of a request. Every failure is the same
// 401 to the client, so that it cannot probe which keys exist.
func (s *Server) authenticate(r *http.Request) (Key, error) {
	h := r.Header.Get("Authorization")
	secret, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || secret == "" {
		return Key{}, switchyard.Errorf(switchyard.ErrUnauthorized, "missing API key: send Authorization: Bearer <key>")
	}
	secret = strings.TrimSpace(secret)
	if !WellFormedKey(secret) {
		return Key{}, switchyard.Errorf(switchyard.ErrUnauthorized, "invalid API key")
	}
	k, err := s.opts.Keys.LookupKey(r.Context(), HashKey(secret))
	switch {
	case errors.Is(err, switchyard.ErrNotFound):
		return Key{}, switchyard.Errorf(switchyard.ErrUnauthorized, "invalid API key")
	case err != nil:
		return Key{}, err
	case k.Revoked:
		return Key{}, switchyard.Errorf(switchyard.ErrUnauthorized, "API key has been revoked")
	case !k.ExpiresAt.IsZero() && time.Now().After(k.ExpiresAt):
		return Key{}, switchyard.Errorf(switchyard.ErrUnauthorized, "API key expired at %s", k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	return k, nil
}

// requireScope wraps an API handler: authenticate, apply the key's rate limit,
// then check the scope ("" = any valid key). The lookup happens on every request, so a revocation
// takes effect immediately.
func (s *Server) requireScope(scope string, h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, err := s.authenticate(r)
		if err != nil {
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchyard"`)
			s.writeError(w, r, err)
			return
		}
		if wait, ok := s.limiters.allow(k.ID); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			s.writeError(w, r, switchyard.Errorf(switchyard.ErrRateLimited, "rate limit for this API key exceeded; retry after %s", wait.Round(time.Millisecond)))
			return
		}
		if scope != "" && !k.has(scope) {
			s.writeError(w, r, switchyard.Errorf(switchyard.ErrForbidden, "this API key lacks the %s scope", scope))
			return
		}
		ctx := context.WithValue(r.Context(), ctxPrincipal, k)
		if err := h(w, r.WithContext(ctx)); err != nil {
			s.writeError(w, r, err)
		}
	}
}

// keyLimiters holds one token bucket per API key.
type keyLimiters struct {
	mu    sync.Mutex
	rate  rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

func newKeyLimiters(rps float64, burst int) *keyLimiters {
	return &keyLimiters{rate: rate.Limit(rps), burst: burst, m: map[string]*rate.Limiter{}}
}

// allow takes a token for key id, or says how long until one is available.
func (l *keyLimiters) allow(id string) (time.Duration, bool) {
	l.mu.Lock()
	lim, ok := l.m[id]
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.m[id] = lim
	}
	l.mu.Unlock()
	res := lim.Reserve()
	if d := res.Delay(); d > 0 {
		res.Cancel()
		return d, false
	}
	return 0, true
}
