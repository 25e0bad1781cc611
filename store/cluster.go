package store

import (
	"context"
	"errors"

	"hash/fnv"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Leader election for replicas sharing a PostgreSQL store: the leader is the
// replica whose dedicated connection holds a session advisory lock. The lock
// goes with the session, so a leader that dies (or whose connection breaks)
// frees it, and the server drops a silent peer's session within about one
// lease (TCP keepalives and tcp_user_timeout set from the lease). The holder
// checks its connection every lease/3 and stops acting as leader as soon as
// a check fails or a whole lease passes without a good one; a replica that
// wins the lock waits one lease before it acts, so the two never overlap.
// Failover therefore takes between one and two leases.
//
// Elector implements gocron's Elector (IsLeader). On SQLite the one process
// that owns the data directory is always the leader.

// ErrNotLeader is IsLeader's answer on a follower.
var ErrNotLeader = errors.New("this replica is not the leader")

// DefaultLease is the election lease when none is given.
const DefaultLease = 15 * time.Second

// leaderClass is the first key of the leader lock (pg_locks.classid): "SY".
const leaderClass = 0x5359

// Elector elects this replica leader, or not; see the comment above.
type Elector struct {
	db    *DB
	id    string
	lease time.Duration

	mu       sync.Mutex
	conn     *pgx.Conn
	leader   bool
	lastGood time.Time // last successful health check while leader
	ready    bool      // the lock was won a lease ago and onChange(true) has returned
	term     int       // bumped on every step down
	key      int32     // the lock's second key, from the schema
	changed  func(leader bool)
}

// NewElector returns an elector for the replica named id. Run it with Run;
// until then (and on errors) it is a follower. lease <= 0 is DefaultLease.
// onChange, when set, is called when leadership is gained (before IsLeader
// returns nil: clean up after the previous leader there) or lost.
func (db *DB) NewElector(id string, lease time.Duration, onChange func(leader bool)) (*Elector, error) {
	if strings.TrimSpace(id) == "" {
		return nil, fieldErr("replicaId", "empty replica id")
	}
	if lease <= 0 {
		lease = DefaultLease
	}
	return &Elector{db: db, id: id, lease: lease, changed: onChange}, nil
}

// ID is this replica's id.
func (e *Elector) ID() string { return e.id }

// Lease is the election lease.
func (e *Elector) Lease() time.Duration { return e.lease }

// IsLeader returns nil when this replica is the leader, else ErrNotLeader
// (gocron's Elector).
func (e *Elector) IsLeader(context.Context) error {
	if !e.db.postgres() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.leader && e.ready && time.Since(e.lastGood) < e.lease {
		return nil
	}
	return ErrNotLeader
}

// Leader reports whether this replica is the leader now.
func (e *Elector) Leader() bool { return e.IsLeader(context.Background()) == nil }

// Run campaigns and keeps the lease until ctx ends, then gives the lock up.
func (e *Elector) Run(ctx context.Context) {
	if !e.db.postgres() {
		if e.changed != nil {
			e.changed(true)
		}
		<-ctx.Done()
		return
	}
	tick := time.NewTicker(e.lease / 3)
	defer tick.Stop()
	for {
		e.step(ctx)
		select {
		case <-ctx.Done():
			e.resign()
			return
		case <-tick.C:
		}
	}
}

func (e *Elector) step(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, e.lease/3)
	defer cancel()
	e.mu.Lock()
	conn, leader := e.conn, e.leader
	e.mu.Unlock()
	if conn == nil {
		var err error
		if conn, err = e.connect(cctx); err != nil {
			e.db.logElection("connect", err)
			return
		}
		e.mu.Lock()
		e.conn = conn
		e.mu.Unlock()
	}
	if leader {
		if err := conn.Ping(cctx); err != nil {
			e.db.logElection("health check", err)
			e.drop()
			return
		}
		e.mu.Lock()
		e.lastGood = time.Now()
		e.mu.Unlock()
		return
	}
	var got bool
	if err := conn.QueryRow(cctx, `SELECT pg_try_advisory_lock($1, $2)`, int32(leaderClass), e.key).Scan(&got); err != nil {
		e.db.logElection("campaign", err)
		e.drop()
		return
	}
	if got {
		// A previous leader whose connection died may not know yet; it
		// stops within one lease of its last good check, so wait that long
		// before acting (no two leaders at once).
		e.mu.Lock()
		e.leader, e.lastGood = true, time.Now()
		term := e.term
		e.mu.Unlock()
		go e.takeOver(ctx, term)
	}
}

// takeOver makes this replica act as leader one lease after it won the lock,
// once onChange(true) (which may clean up after the previous leader) has
// returned, unless it stepped down meanwhile.
func (e *Elector) takeOver(ctx context.Context, term int) {
	select {
	case <-ctx.Done():
		return
	case <-time.After(e.lease):
	}
	e.mu.Lock()
	still := e.leader && e.term == term
	e.mu.Unlock()
	if !still {
		return
	}
	if e.changed != nil {
		e.changed(true)
	}
	e.mu.Lock()
	if e.leader && e.term == term {
		e.ready = true
	}
	e.mu.Unlock()
}

// connect opens the elector's own connection. Its application_name carries
// the replica id, which is how others learn who leads (LeaderID).
func (e *Elector) connect(ctx context.Context) (*pgx.Conn, error) {
	cfg := e.db.pgcfg.Copy()
	cfg.RuntimeParams["application_name"] = appNamePrefix + e.id
	secs := strconv.Itoa(max(1, int(e.lease.Seconds()/3)))
	// The server notices a vanished leader within about one lease.
	cfg.RuntimeParams["tcp_keepalives_idle"] = secs
	cfg.RuntimeParams["tcp_keepalives_interval"] = secs
	cfg.RuntimeParams["tcp_keepalives_count"] = "2"
	cfg.RuntimeParams["tcp_user_timeout"] = strconv.Itoa(int(e.lease.Milliseconds()))
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	var schema string
	if err := conn.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		conn.Close(context.Background())
		return nil, err
	}
	e.key = leaderKey(schema)
	return conn, nil
}

const appNamePrefix = "switchyard replica "

// leaderKey is the lock's second key: replicas of one schema share it.
func leaderKey(schema string) int32 {
	h := fnv.New32a()
	h.Write([]byte(schema))
	return int32(h.Sum32() & 0x7fffffff)
}

// drop closes the connection (freeing the lock if held) and steps down.
func (e *Elector) drop() {
	e.mu.Lock()
	conn, was := e.conn, e.leader && e.ready
	e.conn, e.leader, e.ready = nil, false, false
	e.term++
	e.mu.Unlock()
	if conn != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn.Close(ctx)
		cancel()
	}
	if was && e.changed != nil {
		e.changed(false)
	}
}

// resign gives the lock up at shutdown so that another replica takes over
// at once rather than after the lease.
func (e *Elector) resign() { e.drop() }

func (db *DB) logElection(what string, err error) {
	if db.electionLog != nil {
		db.electionLog(what, err)
	}
}

// WithElectionLog reports the elector's connection troubles (they are
// retried every lease/3).
func WithElectionLog(f func(what string, err error)) Option {
	return func(db *DB) error { db.electionLog = f; return nil }
}

// LeaderID returns the id of the replica holding the leader lock, or "" when
// none does. On SQLite it is "" too (there are no replicas).
func (db *DB) LeaderID(ctx context.Context) (string, error) {
	if !db.postgres() {
		return "", nil
	}
	var schema string
	if err := db.read.QueryRowContext(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return "", db.wrap("leader", err)
	}
	var app string
	err := db.read.QueryRowContext(ctx, `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
		WHERE l.locktype = 'advisory' AND l.granted AND l.classid::bigint = $1 AND l.objid::bigint = $2 AND l.objsubid = 2
			AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
		int64(leaderClass), int64(leaderKey(schema))).Scan(&app)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) || strings.Contains(err.Error(), "no rows") {
			return "", nil
		}
		return "", db.wrap("leader", err)
	}
	return strings.TrimPrefix(app, appNamePrefix), nil
}

// SyncRequest is a sync asked of a follower, for the leader to run.
type SyncRequest struct {
	ID          int64
	Conn        string
	Full        bool
	RequestedBy string
	Requested   time.Time
}

// RequestSync records a sync of conn for the leader (a follower's manual
// trigger or webhook refresh).
func (db *DB) RequestSync(ctx context.Context, conn string, full bool, by string) error {
	if err := validConn(conn); err != nil {
		return err
	}
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO sync_requests (conn, full, requested_by, requested_ms) VALUES (?, ?, ?, ?)`,
			conn, full, by, tx.now.UnixMilli())
		return err
	})
}

// TakeSyncRequests removes and returns the waiting sync requests, oldest
// first (the leader runs them).
func (db *DB) TakeSyncRequests(ctx context.Context) ([]SyncRequest, error) {
	var out []SyncRequest
	err := db.Tx(ctx, func(tx *Tx) error {
		rows, err := tx.query(ctx, `DELETE FROM sync_requests RETURNING id, conn, full, requested_by, requested_ms`)
		if err != nil {
			return tx.db.wrap("take sync requests", err)
		}
		defer rows.Close()
		for rows.Next() {
			var r SyncRequest
			var at int64
			if err := rows.Scan(&r.ID, &r.Conn, &r.Full, &r.RequestedBy, &at); err != nil {
				return tx.db.wrap("take sync requests", err)
			}
			r.Requested = fromMS(at)
			out = append(out, r)
		}
		return tx.db.wrap("take sync requests", rows.Err())
	})
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].ID < out[j-1].ID; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out, err
}
