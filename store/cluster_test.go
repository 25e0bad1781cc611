package store

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// Three replicas campaign: exactly one leads, the others see its id; when it
// resigns, or its connection is killed, another takes over within the lease.
func TestElectorOneLeaderAndFailover(t *testing.T) {
	dsn := postgresTestDSN(t)
	const lease = 1500 * time.Millisecond
	type replica struct {
		db     *DB
		el     *Elector
		cancel context.CancelFunc
		done   chan struct{}
	}
	start := func(id string) *replica {
		db, err := OpenPostgres(dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		el, err := db.NewElector(id, lease, nil)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r := &replica{db: db, el: el, cancel: cancel, done: make(chan struct{})}
		go func() { defer close(r.done); el.Run(ctx) }()
		t.Cleanup(func() { cancel(); <-r.done })
		return r
	}
	rs := []*replica{start("r1"), start("r2"), start("r3")}
	ctx := context.Background()

	// waitLeader waits for exactly one leader among live and returns it.
	waitLeader := func(live []*replica, within time.Duration) (*replica, time.Duration) {
		t.Helper()
		t0 := time.Now()
		for {
			var leaders []*replica
			for _, r := range live {
				if r.el.Leader() {
					leaders = append(leaders, r)
				}
			}
			if len(leaders) > 1 {
				t.Fatalf("%d leaders at once", len(leaders))
			}
			if len(leaders) == 1 {
				id, err := live[0].db.LeaderID(ctx)
				if err == nil && id == leaders[0].el.ID() {
					return leaders[0], time.Since(t0)
				}
			}
			if time.Since(t0) > within {
				t.Fatalf("no single leader within %s", within)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	first, took := waitLeader(rs, 2*lease)
	if took < lease*9/10 {
		t.Errorf("the first leader acted after %s, before a lease (%s) had passed", took, lease)
	}
	for _, r := range rs {
		if r != first {
			if err := r.el.IsLeader(ctx); !errors.Is(err, ErrNotLeader) {
				t.Errorf("%s: IsLeader = %v, want ErrNotLeader", r.el.ID(), err)
			}
		}
	}

	// The leader shuts down: it resigns and another leads within a lease.
	first.cancel()
	<-first.done
	var live []*replica
	for _, r := range rs {
		if r != first {
			live = append(live, r)
		}
	}
	second, took := waitLeader(live, 2*lease)
	t.Logf("takeover after resign: %s", took)

	// The leader's connection dies under it (as when its host vanishes):
	// it steps down by its health check, and a leader (maybe itself, after
	// reconnecting) is there again within two leases, never two at once.
	var pid int
	admin := pgAdminForTest(t)
	if err := admin.QueryRow(`SELECT pid FROM pg_stat_activity WHERE application_name = $1`, appNamePrefix+second.el.ID()).Scan(&pid); err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec(`SELECT pg_terminate_backend($1)`, pid); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(lease)
	for second.el.Leader() {
		if time.Now().After(deadline) {
			t.Fatal("the replica whose connection died still calls itself leader after a lease")
		}
		time.Sleep(10 * time.Millisecond)
	}
	third, took := waitLeader(live, 2*lease)
	t.Logf("leader after the connection was killed: %s after %s", third.el.ID(), took)
}

func TestElectorSQLiteAlwaysLeads(t *testing.T) {
	db := openTest(t)
	el, err := db.NewElector("solo", 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := el.IsLeader(context.Background()); err != nil {
		t.Errorf("SQLite elector: %v, want leader", err)
	}
	if id, err := db.LeaderID(context.Background()); id != "" || err != nil {
		t.Errorf("LeaderID on SQLite = %q, %v", id, err)
	}
	if _, err := db.NewElector(" ", 0, nil); err == nil {
		t.Error("empty replica id accepted")
	}
}

func TestSyncRequests(t *testing.T) { eachDriver(t, testSyncRequests) }

func testSyncRequests(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	for i, full := range []bool{false, true, false} {
		if err := db.RequestSync(ctx, fmt.Sprintf("c%d", i), full, "r2"); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.RequestSync(ctx, "", false, "r2"); err == nil {
		t.Error("empty connection accepted")
	}
	got, err := db.TakeSyncRequests(ctx)
	if err != nil || len(got) != 3 || got[0].Conn != "c0" || !got[1].Full || got[2].Full || got[2].RequestedBy != "r2" {
		t.Fatalf("TakeSyncRequests = %+v, %v", got, err)
	}
	if again, _ := db.TakeSyncRequests(ctx); len(again) != 0 {
		t.Errorf("taken twice: %+v", again)
	}
}
