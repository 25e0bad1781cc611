package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"switchyard"
	"switchyard/api"
	"switchyard/config"
	"switchyard/index"
	"switchyard/store"
	syncer "switchyard/sync"
)

// Replicated mode (store.driver postgres): this serve is one replica of
// several sharing the store. The elector decides whether it leads (only the
// leader syncs and works the outbox); the index follower feeds its own index
// from the store's change log.

// replicaIDFile keeps a generated replica id in the data directory.
const replicaIDFile = "replica-id"

// replicaID is store.replica_id, or the id kept in <data_dir>/replica-id,
// created (<hostname>-<random>) on first use when create is set.
func replicaID(cfg *config.Config, create bool) (string, error) {
	if cfg.Store.ReplicaID != "" {
		return cfg.Store.ReplicaID, nil
	}
	path := filepath.Join(cfg.DataDir, replicaIDFile)
	if b, err := os.ReadFile(path); err == nil {
		if id := strings.TrimSpace(string(b)); id != "" {
			return id, nil
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", fmt.Errorf("replica id: %w", err)
	}
	if !create {
		return "", nil
	}
	host, _ := os.Hostname()
	host = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' {
			return r
		}
		return '-'
	}, host)
	if host == "" {
		host = "replica"
	}
	b := make([]byte, 3)
	rand.Read(b)
	id := fmt.Sprintf("%.50s-%s", host, hex.EncodeToString(b))
	if err := os.WriteFile(path, []byte(id+"\n"), 0o640); err != nil {
		return "", fmt.Errorf("replica id: %w", err)
	}
	return id, nil
}

// replica is this serve among the replicas.
type replica struct {
	id    string
	db    *store.DB
	el    *store.Elector
	index *indexFollower
	log   *slog.Logger
	// scheduled are the connections synced on a schedule: a new leader syncs
	// them at once (gocron skipped their start while it was a follower).
	scheduled []string
}

// newReplica prepares the elector; onLead runs when this replica becomes
// leader, before it acts as one.
func newReplica(cfg *config.Config, db *store.DB, log *slog.Logger) (*replica, error) {
	id, err := replicaID(cfg, true)
	if err != nil {
		return nil, err
	}
	r := &replica{id: id, db: db, log: log}
	for _, cc := range cfg.Connections {
		if cc.Sync.Strategy == config.StrategyScheduled {
			r.scheduled = append(r.scheduled, cc.Name)
		}
	}
	r.el, err = db.NewElector(id, cfg.Store.Lease, r.leadership)
	if err != nil {
		return nil, err
	}
	return r, nil
}

// leadership logs changes; on taking over it marks the previous leader's
// unfinished runs as interrupted (a single process does that at start).
func (r *replica) leadership(leader bool) {
	if !leader {
		r.log.Warn("this replica is no longer the leader", "replica", r.id)
		return
	}
	r.log.Info("this replica is the leader", "replica", r.id)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if n, err := r.db.InterruptRuns(ctx); err != nil {
		r.log.Error("mark the previous leader's runs interrupted", "err", err)
	} else if n > 0 {
		r.log.Warn("marked interrupted runs of the previous leader as failed", "runs", n)
	}
	// Picked up as forwarded syncs once this replica acts as leader.
	for _, conn := range r.scheduled {
		if err := r.db.RequestSync(ctx, conn, false, r.id); err != nil {
			r.log.Error("queue the new leader's first sync", "connection", conn, "err", err)
		}
	}
}

// IsLeader, Forward and Forwarded make a replica the engine's Cluster.
func (r *replica) IsLeader(ctx context.Context) error { return r.el.IsLeader(ctx) }

func (r *replica) Forward(ctx context.Context, conn string, full bool) error {
	return r.db.RequestSync(ctx, conn, full, r.id)
}

func (r *replica) Forwarded(ctx context.Context) ([]syncer.ForwardedSync, error) {
	reqs, err := r.db.TakeSyncRequests(ctx)
	out := make([]syncer.ForwardedSync, 0, len(reqs))
	for _, q := range reqs {
		out = append(out, syncer.ForwardedSync{Conn: q.Conn, Full: q.Full})
	}
	return out, err
}

// status answers GET /api/v1/cluster.
func (r *replica) status(ctx context.Context) (api.ClusterStatus, error) {
	st := api.ClusterStatus{Driver: store.DriverPostgres, ReplicaID: r.id, Leader: r.el.Leader(), LeaseMS: r.el.Lease().Milliseconds()}
	var err error
	if st.LeaderID, err = r.db.LeaderID(ctx); err != nil {
		return st, err
	}
	if _, st.HeadSeq, err = r.db.IndexChangeBounds(ctx); err != nil {
		return st, err
	}
	st.IndexSeq = r.index.applied.Load()
	st.IndexLag = max(0, st.HeadSeq-st.IndexSeq)
	return st, nil
}

// singleStatus is GET /api/v1/cluster with the SQLite store: one replica.
func singleStatus(cfg *config.Config) func(context.Context) (api.ClusterStatus, error) {
	id := cfg.Store.ReplicaID
	if id == "" {
		id, _ = os.Hostname()
	}
	return func(context.Context) (api.ClusterStatus, error) {
		return api.ClusterStatus{Driver: store.DriverSQLite, ReplicaID: id, Leader: true, LeaderID: id}, nil
	}
}

// indexFollower applies the change log to this replica's index.
type indexFollower struct {
	db        *store.DB
	idx       *index.Index
	replicaID string
	conns     []string
	retention time.Duration
	leader    func() bool
	log       *slog.Logger

	applied  atomic.Int64
	wake     chan struct{}
	lastTrim time.Time
}

// seqMark names the index mark holding the last applied change-log seq: it
// lives in the index, so an index replaced by an empty one starts from 0.
const seqMark = "changelog.seq"

// changePage is how many changes are applied per index batch.
const changePage = 500

func newIndexFollower(db *store.DB, idx *index.Index, replicaID string, conns []string, retention time.Duration, leader func() bool, log *slog.Logger) (*indexFollower, error) {
	if retention <= 0 {
		retention = config.DefaultChangeLogRetention
	}
	f := &indexFollower{db: db, idx: idx, replicaID: replicaID, conns: conns, retention: retention, leader: leader, log: log, wake: make(chan struct{}, 1)}
	v, err := idx.Mark(seqMark)
	if err != nil {
		return nil, err
	}
	if len(v) > 0 {
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("index change-log mark %q: %w", v, err)
		}
		f.applied.Store(n)
	}
	return f, nil
}

func (f *indexFollower) kick() {
	select {
	case f.wake <- struct{}{}:
	default:
	}
}

// run follows the log until ctx ends: woken by NOTIFY, and every few seconds
// in case a notification was lost.
func (f *indexFollower) run(ctx context.Context) {
	go f.db.ListenIndexChanges(ctx, f.kick)
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		if err := f.catchUp(ctx); err != nil && ctx.Err() == nil {
			f.log.Error("index change log", "err", err)
		}
		f.trim(ctx)
		select {
		case <-ctx.Done():
			return
		case <-f.wake:
		case <-t.C:
		}
	}
}

// catchUp applies every change after the applied seq, or rebuilds the index
// from the store when the log no longer holds them.
func (f *indexFollower) catchUp(ctx context.Context) error {
	oldest, head, err := f.db.IndexChangeBounds(ctx)
	if err != nil {
		return err
	}
	applied := f.applied.Load()
	if head == 0 || applied == head {
		return nil
	}
	if applied > head || oldest > applied+1 {
		// Trimmed past us (or a store that was reset): start over from the store.
		if err := f.rebuild(ctx, head); err != nil {
			return err
		}
		applied = head
	}
	for applied < head {
		changes, err := f.db.IndexChanges(ctx, applied, changePage)
		if err != nil {
			return err
		}
		if len(changes) == 0 {
			break
		}
		if err := f.apply(ctx, changes); err != nil {
			return err
		}
		applied = changes[len(changes)-1].Seq
		if err := f.save(ctx, applied); err != nil {
			return err
		}
	}
	return nil
}

// apply brings the index to the store's current state for every issue the
// changes name: order among puts and deletes does not matter then, only
// purges are applied where they fall.
func (f *indexFollower) apply(ctx context.Context, changes []store.IndexChange) error {
	pending := map[string][]string{} // conn → issue ids
	seen := map[[2]string]bool{}
	flush := func() error {
		for conn, ids := range pending {
			var put []switchyard.Issue
			var gone []string
			for _, id := range ids {
				is, err := f.db.Issue(ctx, conn, id)
				switch {
				case errors.Is(err, switchyard.ErrNotFound):
					gone = append(gone, id)
				case err != nil:
					return err
				default:
					put = append(put, is)
				}
			}
			if len(put) > 0 {
				if err := f.idx.IndexIssues(ctx, conn, put); err != nil {
					return err
				}
			}
			if len(gone) > 0 {
				b := f.idx.NewBatch(conn)
				for _, id := range gone {
					b.Delete(id)
				}
				if err := b.Apply(ctx); err != nil {
					return err
				}
			}
		}
		clear(pending)
		clear(seen)
		return nil
	}
	for _, c := range changes {
		if c.Op == store.IndexPurge {
			if err := flush(); err != nil {
				return err
			}
			if err := f.idx.DeleteConnection(ctx, c.Conn); err != nil {
				return err
			}
			continue
		}
		k := [2]string{c.Conn, c.IssueID}
		if !seen[k] {
			seen[k] = true
			pending[c.Conn] = append(pending[c.Conn], c.IssueID)
		}
	}
	return flush()
}

// rebuild refills the index from the store (the change log was trimmed
// past this replica's position).
func (f *indexFollower) rebuild(ctx context.Context, head int64) error {
	f.log.Warn("index change log trimmed past this replica's index: rebuilding it from the store", "replica", f.replicaID,
		"applied", f.applied.Load(), "head", head)
	for _, conn := range f.conns {
		if err := f.idx.DeleteConnection(ctx, conn); err != nil {
			return err
		}
		var page []switchyard.Issue
		err := f.db.ForEachIssue(ctx, conn, "", func(is switchyard.Issue) error {
			if page = append(page, is); len(page) == rebuildPage {
				err := f.idx.IndexIssues(ctx, conn, page)
				page = page[:0]
				return err
			}
			return nil
		})
		if err == nil && len(page) > 0 {
			err = f.idx.IndexIssues(ctx, conn, page)
		}
		if err != nil {
			return fmt.Errorf("rebuild index of %s: %w", conn, err)
		}
	}
	return f.save(ctx, head)
}

func (f *indexFollower) save(ctx context.Context, seq int64) error {
	if err := f.idx.SetMark(seqMark, []byte(strconv.FormatInt(seq, 10))); err != nil {
		return err
	}
	f.applied.Store(seq)
	return f.db.SetReplicaIndexSeq(ctx, f.replicaID, seq)
}

// trim, on the leader, drops changes older than the retention once an hour.
func (f *indexFollower) trim(ctx context.Context) {
	if !f.leader() || time.Since(f.lastTrim) < time.Hour {
		return
	}
	f.lastTrim = time.Now()
	n, err := f.db.TrimIndexChanges(ctx, time.Now().Add(-f.retention))
	if err != nil {
		f.log.Error("trim the index change log", "err", err)
	} else if n > 0 {
		f.log.Info("trimmed the index change log", "changes", n)
	}
}

// clusterStatus is serve's GET /api/v1/cluster.
func clusterStatus(cfg *config.Config, env *syncEnv) func(context.Context) (api.ClusterStatus, error) {
	if env.replica == nil {
		return singleStatus(cfg)
	}
	return env.replica.status
}

// clusterReport is the status command's view of the cluster: the same fields
// as GET /api/v1/cluster for the replica of this data directory, plus every
// replica's reported index position.
type clusterReport struct {
	api.ClusterStatus
	Replicas []store.ReplicaState `json:"replicas,omitempty"`
}

// storedCluster reads the cluster from the store alone (status runs beside
// serve, not inside it).
func storedCluster(ctx context.Context, cfg *config.Config, db *store.DB) (clusterReport, error) {
	if db.Driver() != store.DriverPostgres {
		st, _ := singleStatus(cfg)(ctx)
		return clusterReport{ClusterStatus: st}, nil
	}
	id, err := replicaID(cfg, false)
	if err != nil {
		return clusterReport{}, err
	}
	r := clusterReport{ClusterStatus: api.ClusterStatus{Driver: store.DriverPostgres, ReplicaID: id, LeaseMS: cfg.Store.Lease.Milliseconds()}}
	if r.LeaderID, err = db.LeaderID(ctx); err != nil {
		return r, err
	}
	r.Leader = id != "" && r.LeaderID == id
	if _, r.HeadSeq, err = db.IndexChangeBounds(ctx); err != nil {
		return r, err
	}
	if r.Replicas, err = db.Replicas(ctx); err != nil {
		return r, err
	}
	for _, rs := range r.Replicas {
		if rs.ID == id {
			r.IndexSeq = rs.IndexSeq
		}
	}
	r.IndexLag = max(0, r.HeadSeq-r.IndexSeq)
	return r, nil
}

func printCluster(w io.Writer, c clusterReport) {
	if c.Driver != store.DriverPostgres {
		return
	}
	leader := c.LeaderID
	if leader == "" {
		leader = "none (an election is under way, or no replica runs)"
	}
	role := "follower"
	if c.Leader {
		role = "leader"
	}
	me := c.ReplicaID
	if me == "" {
		me = "(none yet: serve has not run on this data directory)"
	}
	fmt.Fprintf(w, "cluster: leader %s; this data directory is replica %s (%s), index lag %d (seq %d of %d)\n",
		leader, me, role, c.IndexLag, c.IndexSeq, c.HeadSeq)
	for _, r := range c.Replicas {
		fmt.Fprintf(w, "  replica %s: index at seq %d, lag %d, reported %s\n", r.ID, r.IndexSeq, max(0, c.HeadSeq-r.IndexSeq), r.Updated.Format(time.RFC3339))
	}
}
