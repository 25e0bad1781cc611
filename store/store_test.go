package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard"
)

// openTest opens a store in a fresh temporary directory.
func openTest(t *testing.T, opts ...Option) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "switchyard.db"), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }
func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func TestOpenPragmasAndSchema(t *testing.T) { eachDriver(t, testOpenPragmasAndSchema) }

func testOpenPragmasAndSchema(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	if db.postgres() {
		var ro, iso string
		db.read.QueryRow(`SHOW default_transaction_read_only`).Scan(&ro)
		db.read.QueryRow(`SHOW default_transaction_isolation`).Scan(&iso)
		if ro != "on" || iso != "repeatable read" {
			t.Errorf("read pool: default_transaction_read_only=%q isolation=%q; want on, repeatable read", ro, iso)
		}
	} else {
		var mode string
		if err := db.write.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Fatalf("journal_mode = %q, %v; want wal", mode, err)
		}
		for _, pool := range []*sql.DB{db.write, db.read} {
			var fk, sync, busy int
			pool.QueryRow(`PRAGMA foreign_keys`).Scan(&fk)
			pool.QueryRow(`PRAGMA synchronous`).Scan(&sync)
			pool.QueryRow(`PRAGMA busy_timeout`).Scan(&busy)
			if fk != 1 || sync != 1 || busy < 1000 {
				t.Errorf("foreign_keys=%d synchronous=%d busy_timeout=%d; want 1, 1 (NORMAL), >=1000", fk, sync, busy)
			}
		}
	}
	v, err := db.Version(ctx)
	if err != nil || v != SchemaVersion() || v < 1 {
		t.Fatalf("version %d, %v; want %d", v, err, SchemaVersion())
	}
	// The read pool must not be able to write.
	if _, err := db.read.Exec(`INSERT INTO webhook_deliveries (id, expires_ms) VALUES ('x', 1)`); err == nil {
		t.Error("read pool accepted a write")
	}
}

func TestMigrationsIdempotentOnReopen(t *testing.T) {
	eachDriverShared(t, testMigrationsIdempotentOnReopen)
}

func testMigrationsIdempotentOnReopen(t *testing.T, open sharedOpener) {
	ctx := context.Background()
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	if err := db.ReplaceUsers(ctx, "c", []switchyard.User{{AccountID: "a1", DisplayName: "A", Active: true}}); err != nil {
		t.Fatal(err)
	}
	db.Close()
	for i := 0; i < 3; i++ {
		db, err = open()
		if err != nil {
			t.Fatalf("reopen %d: %v", i, err)
		}
		var rows int
		db.read.QueryRow(`SELECT COUNT(*) FROM schema_version`).Scan(&rows)
		// One row per migration applied (versions may have gaps).
		ms, _ := migrations(db.Driver())
		if rows != len(ms) {
			t.Errorf("schema_version has %d rows after reopen, want %d", rows, len(ms))
		}
		if u, err := db.User(ctx, "c", "a1"); err != nil || u.DisplayName != "A" {
			t.Errorf("user after reopen: %+v, %v", u, err)
		}
		db.Close()
	}
}

func TestOpenRefusesNewerSchema(t *testing.T) { eachDriverShared(t, testOpenRefusesNewerSchema) }

func testOpenRefusesNewerSchema(t *testing.T, open sharedOpener) {
	db, err := open()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.write.Exec(`INSERT INTO schema_version (version, name, applied_ms) VALUES (?, 'future', 0)`, SchemaVersion()+5); err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	db.Close()
	_, err = open()
	if err == nil {
		t.Fatal("opened a database newer than the code")
	}
	want := fmt.Sprintf("schema version %d, newer than this build", SchemaVersion()+5)
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
		t.Errorf("error %q does not say %q and name the path", err, want)
	}
}

func TestOpenErrors(t *testing.T) {
	// A read-only directory: chmod works for ordinary users; root ignores
	// permission bits, so for root use /sys, which refuses new files to anyone.
	roDir := filepath.Join(t.TempDir(), "ro")
	if err := os.Mkdir(roDir, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(roDir, 0o755) })
	if os.Geteuid() == 0 {
		roDir = "/sys"
	}
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, []byte("x"), 0o600)
	garbage := filepath.Join(t.TempDir(), "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("this is not sqlite ", 100)), 0o600)

	tests := []struct {
		name, path string
		want       []string
	}{
		{"read-only directory", filepath.Join(roDir, "s.db"), []string{"is not writable", roDir}},
		{"parent is a file", filepath.Join(notDir, "s.db"), []string{"is not a directory"}},
		{"path is a directory", t.TempDir(), []string{"is a directory"}},
		{"not a database", garbage, []string{"not a Switchyard database", garbage}},
		{"empty path", "", []string{"empty path"}},
		{"query in path", filepath.Join(t.TempDir(), "a?mode=ro"), []string{"must not contain"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := Open(tt.path)
			if err == nil {
				db.Close()
				t.Fatalf("Open(%q) succeeded", tt.path)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
	if _, err := Open(filepath.Join(t.TempDir(), "k.db"), WithTokenKey([]byte("short"))); err == nil || !strings.Contains(err.Error(), "32 bytes") {
		t.Errorf("short token key: %v", err)
	}
}

func TestOpenCreatesMissingDirectoryOwnerOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "s.db")
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	db.SetCheckpoint(context.Background(), Checkpoint{Conn: "c", Stage: "s"})
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %v, want 0600", p, fi.Mode().Perm())
		}
	}
	db.Close()
}

// TestDiskFullIsClear is SQLite's: PostgreSQL's disk-full (SQLSTATE 53100)
// happens on the server, which a test cannot fill.
func TestDiskFullIsClear(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	// max_page_count makes SQLite report SQLITE_FULL exactly as a full disk does.
	var pages int
	db.write.QueryRow(`PRAGMA page_count`).Scan(&pages)
	if _, err := db.write.Exec(fmt.Sprintf(`PRAGMA max_page_count = %d`, pages+2)); err != nil {
		t.Fatal(err)
	}
	users := make([]switchyard.User, 5000)
	for i := range users {
		users[i] = switchyard.User{AccountID: fmt.Sprintf("acct-%06d", i), DisplayName: strings.Repeat("n", 200), Active: true}
	}
	err := db.ReplaceUsers(ctx, "c", users)
	if err == nil {
		t.Fatal("no error with the database full")
	}
	if !strings.Contains(err.Error(), "disk full") || !strings.Contains(err.Error(), db.Path()) {
		t.Errorf("error %q does not say disk full and name the path", err)
	}
	// Nothing half-written.
	if c, _ := db.Counts(ctx, "c"); c.Users != 0 {
		t.Errorf("%d users stored after a failed replace", c.Users)
	}
}

func TestTxRollbackLeavesNothing(t *testing.T) { eachDriver(t, testTxRollbackLeavesNothing) }

func testTxRollbackLeavesNothing(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	boom := errors.New("boom")
	err := db.Tx(ctx, func(tx *Tx) error {
		if err := tx.ReplaceUsers(ctx, "c", []switchyard.User{{AccountID: "u1"}}); err != nil {
			return err
		}
		if err := tx.PutIssue(ctx, "c", testIssue("1", "P-1")); err != nil {
			return err
		}
		if err := tx.SetCheckpoint(ctx, Checkpoint{Conn: "c", Stage: "issues", Scope: "P", CursorMS: 5}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Tx returned %v, want boom", err)
	}
	c, _ := db.Counts(ctx, "c")
	if c != (Counts{}) {
		t.Errorf("counts after rollback: %+v", c)
	}
	if _, err := db.Checkpoint(ctx, "c", "issues", "P"); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("checkpoint after rollback: %v", err)
	}
	// A panic rolls back too, and the writer is usable afterwards.
	func() {
		defer func() { recover() }()
		db.Tx(ctx, func(tx *Tx) error {
			tx.ReplaceUsers(ctx, "c", []switchyard.User{{AccountID: "u2"}})
			panic("oops")
		})
	}()
	if c, _ := db.Counts(ctx, "c"); c.Users != 0 {
		t.Errorf("users after panic: %d", c.Users)
	}
	if err := db.ReplaceUsers(ctx, "c", []switchyard.User{{AccountID: "u3"}}); err != nil {
		t.Fatalf("writer stuck after panic: %v", err)
	}
}

func TestConcurrentWriters(t *testing.T) { eachDriver(t, testConcurrentWriters) }

func testConcurrentWriters(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	const writers, each = 50, 6
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				is := testIssue(fmt.Sprintf("%d", w*1000+i), fmt.Sprintf("P-%d", w*1000+i))
				if err := db.PutIssue(ctx, "c", is); err != nil {
					errs <- err
					return
				}
				if err := db.SetCheckpoint(ctx, Checkpoint{Conn: "c", Stage: "issues", Scope: fmt.Sprint(w), CursorMS: int64(i)}); err != nil {
					errs <- err
					return
				}
				// Readers run alongside.
				if _, err := db.Issue(ctx, "c", is.Key); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	c, err := db.Counts(ctx, "c")
	if err != nil || c.Issues != writers*each || c.Comments != writers*each || c.Attachments != writers*each {
		t.Errorf("counts %+v, %v; want %d issues, comments, attachments", c, err, writers*each)
	}
	cps, _ := db.Checkpoints(ctx, "c")
	if len(cps) != writers {
		t.Errorf("%d checkpoints, want %d", len(cps), writers)
	}
	for _, cp := range cps {
		if cp.CursorMS != each-1 {
			t.Errorf("checkpoint %s = %d, want %d", cp.Scope, cp.CursorMS, each-1)
		}
	}
}

func TestTwoProcessesShareTheFile(t *testing.T) { eachDriverShared(t, testTwoProcessesShareTheFile) }

func testTwoProcessesShareTheFile(t *testing.T, open sharedOpener) {
	// Two DB handles on one file (or schema) stand in for `serve` and a CLI
	// command, or for two replicas.
	a, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := open()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx := context.Background()
	var wg sync.WaitGroup
	for _, db := range []*DB{a, b} {
		wg.Add(1)
		go func(db *DB) {
			defer wg.Done()
			for i := 0; i < 30; i++ {
				if _, _, err := db.Enqueue(ctx, OutboxItem{Kind: "k", Payload: []byte(`{}`)}); err != nil {
					t.Error(err)
					return
				}
			}
		}(db)
	}
	wg.Wait()
	items, _ := a.OutboxItems(ctx, true, 1000)
	if len(items) != 60 {
		t.Errorf("%d items, want 60", len(items))
	}
}
