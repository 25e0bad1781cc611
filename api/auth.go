package api

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"switchyard"
	"switchyard/store"
)

// KeyStore resolves a presented key secret. Unknown, revoked and expired keys
// are errors wrapping switchyard.ErrUnauthorized; it reads storage on every
// call, so a revocation takes effect immediately. *store.DB implements it.
type KeyStore interface {
	Authenticate(ctx context.Context, secret string) (store.APIKey, error)
}

func principal(ctx context.Context) (store.APIKey, bool) {
	k, ok := ctx.Value(ctxPrincipal).(store.APIKey)
	return k, ok
}

// authenticate resolves the bearer key of a request. A malformed key is
// rejected by its checksum before any lookup.
func (s *Server) authenticate(r *http.Request) (store.APIKey, error) {
	secret, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	secret = strings.TrimSpace(secret)
	if !ok || secret == "" {
		return store.APIKey{}, switchyard.Errorf(switchyard.ErrUnauthorized, "missing API key: send Authorization: Bearer <key>")
	}
	// Generated keys carry a checksum, so a mistyped one is refused without a
	// lookup; an imported key (SWITCHYARD_ADMIN_KEY) may have any shape.
	if strings.HasPrefix(secret, "sy_") {
		if err := store.CheckAPIKeyFormat(secret); err != nil {
			return store.APIKey{}, err
		}
	}
	return s.opts.Keys.Authenticate(r.Context(), secret)
}

// requireScope wraps an API handler: authenticate, apply the key's rate limit,
// then check the scope ("" = any valid key). The lookup happens on every request, so a revocation
// takes effect immediately.
func (s *Server) requireScope(scope string, h func(http.ResponseWriter, *http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		k, err := s.authenticate(r)
		if err != nil {
			if !s.chargeUnauthenticated(w, r) {
				return
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="switchyard"`)
			s.writeError(w, r, err)
			return
		}
		if wait, ok := s.limiters.allow(k.ID); !ok {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			s.writeError(w, r, switchyard.Errorf(switchyard.ErrRateLimited, "rate limit for this API key exceeded; retry after %s", wait.Round(time.Millisecond)))
			return
		}
		if scope != "" && !k.HasScope(scope) {
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
	m     map[int64]*rate.Limiter
}

func newKeyLimiters(rps float64, burst int) *keyLimiters {
	return &keyLimiters{rate: rate.Limit(rps), burst: burst, m: map[int64]*rate.Limiter{}}
}

// allow takes a token for key id, or says how long until one is available.
func (l *keyLimiters) allow(id int64) (time.Duration, bool) {
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
