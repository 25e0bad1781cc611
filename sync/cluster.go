package syncer

import (
	"context"
	"time"

	"github.com/go-co-op/gocron/v2"
)

// Cluster makes an engine one of several replicas sharing a store: only the
// leader syncs (scheduled runs, triggers, webhook refreshes); a follower hands
// its triggers to the leader through the store.
type Cluster interface {
	// IsLeader returns nil on the leader (gocron's Elector).
	IsLeader(ctx context.Context) error
	// Forward records a sync of conn for the leader to run.
	Forward(ctx context.Context, conn string, full bool) error
	// Forwarded takes the syncs followers forwarded (the leader runs them).
	Forwarded(ctx context.Context) ([]ForwardedSync, error)
}

// ForwardedSync is a sync a follower asked for.
type ForwardedSync struct {
	Conn string
	Full bool
}

// forwardPoll is how often the leader looks for forwarded syncs.
const forwardPoll = time.Second

var _ gocron.Elector = Cluster(nil)

// leading reports whether this engine may sync now: always without a
// cluster.
func (e *Engine) leading() bool {
	return e.cluster == nil || e.cluster.IsLeader(context.Background()) == nil
}

// forward hands a trigger to the leader; errors are logged (the caller's
// request was accepted, and the leader's schedule catches up anyway).
func (e *Engine) forward(conn string, full bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.cluster.Forward(ctx, conn, full); err != nil {
		e.log.Error("forward sync to the leader", "connection", conn, "err", err)
	}
}

// runForwarded, on the leader, turns forwarded syncs into triggers.
func (e *Engine) runForwarded(ctx context.Context) {
	t := time.NewTicker(forwardPoll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if !e.leading() {
			continue
		}
		reqs, err := e.cluster.Forwarded(ctx)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("read forwarded syncs", "err", err)
			}
			continue
		}
		for _, r := range reqs {
			if err := e.Trigger(r.Conn, r.Full); err != nil {
				e.log.Warn("forwarded sync", "connection", r.Conn, "err", err)
			}
		}
	}
}
