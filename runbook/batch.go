package runbook

import (
	"context"
	"time"

	"switchyard/store"
)

// Group commit: concurrent ingests share one SQLite transaction, so the
// single writer commits once per batch instead of once per ticket. A batch
// that fails is retried one ticket per transaction, so one bad ticket never
// fails the others.

const maxBatch = 64

type createReq struct {
	ctx     context.Context
	run     store.TicketRun
	expires time.Time
	then    func(*store.Tx, store.TicketRun, store.Approval) error
	done    chan createRes
}

type createRes struct {
	run     store.TicketRun
	appr    store.Approval
	created bool
	err     error
}

// create stores a new run (see store.CreateRunWithApproval) through the
// batcher, or directly once the service is closed.
func (s *Service) create(ctx context.Context, r store.TicketRun, expires time.Time, then func(*store.Tx, store.TicketRun, store.Approval) error) (store.TicketRun, store.Approval, bool, error) {
	req := createReq{ctx: ctx, run: r, expires: expires, then: then, done: make(chan createRes, 1)}
	select {
	case s.creates <- req:
	case <-s.batchStop:
		return s.db.CreateRunWithApproval(ctx, r, expires, then)
	case <-ctx.Done():
		return r, store.Approval{}, false, ctx.Err()
	}
	// Once queued, the request is committed or failed whatever ctx does; a
	// caller that gives up and retries finds the run.
	res := <-req.done
	return res.run, res.appr, res.created, res.err
}

func (s *Service) batcher() {
	defer close(s.batchDone)
	for {
		var first createReq
		select {
		case first = <-s.creates:
		case <-s.batchStop:
			// Serve whatever was queued before the stop.
			for {
				select {
				case r := <-s.creates:
					s.commit([]createReq{r})
				default:
					return
				}
			}
		}
		batch := []createReq{first}
	fill:
		for len(batch) < maxBatch {
			select {
			case r := <-s.creates:
				batch = append(batch, r)
			default:
				break fill
			}
		}
		s.commit(batch)
	}
}

func (s *Service) commit(batch []createReq) {
	res := make([]createRes, len(batch))
	err := s.db.Tx(context.Background(), func(tx *store.Tx) error {
		for i, r := range batch {
			var err error
			res[i].run, res[i].appr, res[i].created, err = tx.CreateRunWithApproval(r.ctx, r.run, r.expires, r.then)
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil && len(batch) > 1 {
		for _, r := range batch {
			s.commit([]createReq{r})
		}
		return
	}
	for i, r := range batch {
		res[i].err = err
		r.done <- res[i]
	}
}
