package connector

import (
	"context"
	"math"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter paces one site's requests: a token bucket for requests/s, a
// semaphore for requests in flight, and a shared pause that a 429's
// Retry-After imposes on every worker, not just the one that received it.
type limiter struct {
	rate *rate.Limiter
	sem  chan struct{}

	mu    sync.Mutex
	until time.Time // no request starts before this
}

func newLimiter(rps float64, concurrency int) *limiter {
	burst := int(math.Ceil(rps))
	if burst > concurrency {
		burst = concurrency
	}
	if burst < 1 {
		burst = 1
	}
	return &limiter{
		rate: rate.NewLimiter(rate.Limit(rps), burst),
		sem:  make(chan struct{}, concurrency),
	}
}

// pause makes every request wait until t (the site said so).
func (l *limiter) pause(t time.Time) {
	l.mu.Lock()
	if t.After(l.until) {
		l.until = t
	}
	l.mu.Unlock()
}

func (l *limiter) pausedUntil() time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until
}

// acquire waits for the shared pause, a rate token and a concurrency slot.
// The returned release must be called once the response body is consumed.
func (l *limiter) acquire(ctx context.Context, clk clock) (release func(), err error) {
	if d := l.pausedUntil().Sub(clk.Now()); d > 0 {
		if err := clk.Sleep(ctx, d); err != nil {
			return nil, err
		}
	}
	if err := l.rate.Wait(ctx); err != nil {
		return nil, err
	}
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var once sync.Once
	return func() { once.Do(func() { <-l.sem }) }, nil
}

// clock is time, replaceable in tests so waits can be asserted without sleeping.
type clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
