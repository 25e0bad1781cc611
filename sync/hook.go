package syncer

import (
	"context"

	"switchyard"
)

// IssuesHook is told about issues once they are committed to the store and
// the index (sync pages and webhook refreshes), e.g. so that the runbook
// pipeline can take in new tickets. It runs on the sync goroutine: it must be
// quick (hand long work off) and must not fail the sync.
type IssuesHook func(ctx context.Context, conn string, issues []switchyard.Issue)

// committed hands committed issues to the hook, if any.
func (e *Engine) committed(ctx context.Context, conn string, issues []switchyard.Issue) {
	if e.onIssues != nil && len(issues) > 0 {
		e.onIssues(ctx, conn, issues)
	}
}

type originKey struct{}

// WithOrigin names where a refresh came from ("webhook") for the hook;
// Origin reads it back ("sync" when unnamed).
func WithOrigin(ctx context.Context, origin string) context.Context {
	return context.WithValue(ctx, originKey{}, origin)
}

// Origin is the origin named by WithOrigin, or "sync".
func Origin(ctx context.Context) string {
	if o, ok := ctx.Value(originKey{}).(string); ok && o != "" {
		return o
	}
	return "sync"
}
