// Package store keeps Switchyard's state in one SQLite file (modernc.org/sqlite,
// no cgo), or in a PostgreSQL database shared by replicas (OpenPostgres,
// pgx; see postgres.go and dialect.go): the Jira entities copied by the sync, sync bookkeeping, API keys,
// OAuth tokens, ticket runs, approvals, the outbox and the audit chain.
//
// Writes go through a single connection so that they are serialized inside the
// process (SQLite allows one writer anyway, and BEGIN IMMEDIATE serializes
// against other processes); reads use a separate pool and run concurrently
// thanks to WAL.
package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// DB is an open Switchyard store.
type DB struct {
	path   string          // the SQLite file, or the PostgreSQL DSN without password
	driver string          // "" (SQLite) or DriverPostgres
	pgcfg  *pgx.ConnConfig // PostgreSQL: for the elector's own connection
	write  *sql.DB         // exactly one connection: the writer
	read   *sql.DB         // concurrent readers

	tokenKey        []byte
	tokenKeySetting string

	now func() time.Time // the clock; tests replace it

	electionLog func(what string, err error) // Elector's connection troubles

	touchMu sync.Mutex
	touched map[int64]time.Time // API key id → last time last_used was written

	// Prepared statements: modernc's prepare costs more than most of our
	// statements' execution, so every constant query is prepared once.
	stmtMu sync.Mutex
	wstmts map[string]*sql.Stmt // on the writer, used through Tx.StmtContext
	rstmts map[string]*sql.Stmt // on the read pool
}

// Option configures Open.
type Option func(*DB) error

// WithTokenKey sets the 32-byte AES-256-GCM key that seals OAuth tokens.
// Without it, SaveToken fails and names the setting to configure.
func WithTokenKey(key []byte) Option {
	return func(db *DB) error {
		if len(key) == 0 {
			return nil
		}
		if len(key) != 32 {
			return fmt.Errorf("token key must be 32 bytes, got %d", len(key))
		}
		db.tokenKey = append([]byte(nil), key...)
		return nil
	}
}

// WithTokenKeySetting names the config key (or environment variable) that
// provides the token key, for the error SaveToken returns when it is missing.
func WithTokenKeySetting(name string) Option {
	return func(db *DB) error { db.tokenKeySetting = name; return nil }
}

// WithClock replaces the clock (tests).
func WithClock(now func() time.Time) Option {
	return func(db *DB) error { db.now = now; return nil }
}

// readers is the size of the read pool.
const readers = 4

// Open opens (creating when missing) the store at path and brings its schema
// up to date. It refuses a database written by a newer Switchyard.
func Open(path string, opts ...Option) (*DB, error) {
	if path == "" {
		return nil, fmt.Errorf("open store: empty path")
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open store %q: path must not contain '?' or '#'", path)
	}
	db, err := newDB(path, "", opts)
	if err != nil {
		return nil, err
	}
	if err := checkWritable(path); err != nil {
		return nil, err
	}

	// _txlock=immediate takes the write lock at BEGIN, so a transaction never
	// fails half-way with SQLITE_BUSY when it upgrades from read to write.
	common := "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
	w, err := sql.Open("sqlite", path+common+"&_pragma=journal_mode(WAL)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := db.useWriter(w); err != nil {
		return nil, err
	}
	r, err := sql.Open("sqlite", path+common+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	if err := db.useReaders(r); err != nil {
		return nil, err
	}
	return db, nil
}

// newDB is a DB named path on driver ("" for SQLite) with opts applied.
func newDB(path, driver string, opts []Option) (*DB, error) {
	db := &DB{
		path:            path,
		driver:          driver,
		tokenKeySetting: "server.encryption_key",
		now:             time.Now,
		touched:         make(map[int64]time.Time),
		wstmts:          make(map[string]*sql.Stmt),
		rstmts:          make(map[string]*sql.Stmt),
	}
	for _, o := range opts {
		if err := o(db); err != nil {
			return nil, fmt.Errorf("open store %s: %w", path, err)
		}
	}
	return db, nil
}

// useWriter makes w the one writer connection (kept open: it holds the
// prepared statements), checks it and brings the schema up to date; w is
// closed on failure.
func (db *DB) useWriter(w *sql.DB) error {
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	db.write = w
	if err := w.Ping(); err != nil {
		w.Close()
		return db.wrap("open", err)
	}
	if err := db.migrate(context.Background()); err != nil {
		w.Close()
		return err
	}
	return nil
}

// useReaders makes r the pool of readers and checks it; the whole DB is
// closed on failure.
func (db *DB) useReaders(r *sql.DB) error {
	r.SetMaxOpenConns(readers)
	r.SetMaxIdleConns(readers)
	db.read = r
	if err := r.Ping(); err != nil {
		db.Close()
		return db.wrap("open", err)
	}
	return nil
}

// checkWritable gives a clear error for a missing, read-only or non-directory
// parent before SQLite reports a bare "unable to open database file". SQLite in
// WAL mode also needs to create the -wal and -shm files next to the database.
func checkWritable(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return fmt.Errorf("open store %s: create directory %s: %w", path, dir, err)
		}
	case err != nil:
		return fmt.Errorf("open store %s: %w", path, err)
	case !fi.IsDir():
		return fmt.Errorf("open store %s: %s is not a directory", path, dir)
	}
	probe, err := os.CreateTemp(dir, ".switchyard-probe-*")
	if err != nil {
		return fmt.Errorf("open store %s: directory %s is not writable (the store needs to create the database and its -wal and -shm files there): %w", path, dir, err)
	}
	probe.Close()
	os.Remove(probe.Name())
	fi, err = os.Stat(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		// Create it owner-only: it holds key hashes and sealed tokens, and
		// SQLite gives the -wal and -shm files the database file's mode.
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil && !errors.Is(err, os.ErrExist) {
			return fmt.Errorf("open store %s: create: %w", path, err)
		}
		if f != nil {
			f.Close()
		}
	case err != nil:
		return fmt.Errorf("open store %s: %w", path, err)
	case fi.IsDir():
		return fmt.Errorf("open store %s: is a directory", path)
	default:
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return fmt.Errorf("open store %s: database file is not writable: %w", path, err)
		}
		f.Close()
	}
	return nil
}

// Close closes the store. Safe to call twice.
func (db *DB) Close() error {
	var errs []error
	db.stmtMu.Lock()
	for _, m := range []map[string]*sql.Stmt{db.wstmts, db.rstmts} {
		for q, s := range m {
			s.Close()
			delete(m, q)
		}
	}
	db.stmtMu.Unlock()
	if db.read != nil {
		errs = append(errs, db.read.Close())
		db.read = nil
	}
	if db.write != nil {
		// A checkpoint at close keeps the -wal file small between runs.
		if !db.postgres() {
			db.write.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`)
		}
		errs = append(errs, db.write.Close())
		db.write = nil
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("close store %s: %w", db.path, err)
	}
	return nil
}

// Path returns the database file's path (SQLite), or the PostgreSQL DSN
// without its password.
func (db *DB) Path() string { return db.path }

// Ping checks that the store answers (readiness).
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.read.QueryRowContext(ctx, `SELECT 1`).Scan(&one); err != nil {
		return db.wrap("ping", err)
	}
	return nil
}

// Tx is a write transaction. Its methods are the store's write operations; a
// group of them inside one DB.Tx commits atomically or not at all.
type Tx struct {
	tx  *sql.Tx
	db  *DB
	now time.Time

	local  map[string]*sql.Stmt // this transaction's statements
	wanted []string             // queries to prepare on the writer once it is free

	notified bool // PostgreSQL: the index change log's NOTIFY is queued
}

// Tx runs fn in one write transaction: committed when fn returns nil, rolled
// back when it returns an error or panics. Do not call DB write methods from
// fn (the single writer connection is held by fn): use the Tx's methods.
func (db *DB) Tx(ctx context.Context, fn func(*Tx) error) (err error) {
	return db.tx(ctx, true, fn)
}

// tx is Tx; serialize false skips PostgreSQL's all-writers lock, for the
// few transactions that are safe among concurrent replicas by themselves
// (row locks, SKIP LOCKED) and must not wait for other writers.
func (db *DB) tx(ctx context.Context, serialize bool, fn func(*Tx) error) (err error) {
	sqlTx, err := db.write.BeginTx(ctx, nil)
	if err != nil {
		return db.wrap("begin", err)
	}
	tx := &Tx{tx: sqlTx, db: db, now: db.now().UTC(), local: map[string]*sql.Stmt{}}
	if db.postgres() && serialize {
		// The counterpart of BEGIN IMMEDIATE: one writer across replicas.
		if _, err := sqlTx.ExecContext(ctx, writeLockSQL); err != nil {
			sqlTx.Rollback()
			return db.wrap("begin", err)
		}
	}
	defer func() {
		if p := recover(); p != nil {
			sqlTx.Rollback()
			panic(p)
		}
		if err != nil {
			sqlTx.Rollback()
		}
		// The single writer connection is free again: prepare what this
		// transaction had to prepare for itself, for the next ones.
		for _, q := range tx.wanted {
			db.prepareWrite(q)
		}
	}()
	if err = fn(tx); err != nil {
		return err
	}
	if err = sqlTx.Commit(); err != nil {
		return db.wrap("commit", err)
	}
	return nil
}

// Now is the transaction's clock reading (UTC), the same for every write in it.
func (tx *Tx) Now() time.Time { return tx.now }

// stmt returns a prepared statement for query within the transaction.
func (tx *Tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if s := tx.local[query]; s != nil {
		return s, nil
	}
	tx.db.stmtMu.Lock()
	p := tx.db.wstmts[query]
	tx.db.stmtMu.Unlock()
	if p != nil {
		s := tx.tx.StmtContext(ctx, p) // reuses p's statement on the one writer connection
		tx.local[query] = s
		return s, nil
	}
	// Preparing on the DB now would wait for the connection this
	// transaction holds: prepare within it, and on the DB after it ends.
	s, err := tx.tx.PrepareContext(ctx, query)
	if err != nil {
		return nil, tx.db.wrap("prepare", err)
	}
	tx.local[query] = s
	tx.wanted = append(tx.wanted, query)
	return s, nil
}

func (db *DB) prepareWrite(query string) {
	db.stmtMu.Lock()
	_, ok := db.wstmts[query]
	db.stmtMu.Unlock()
	if ok || db.write == nil {
		return
	}
	s, err := db.write.Prepare(query)
	if err != nil {
		return // the transaction that used it already reported any error
	}
	db.stmtMu.Lock()
	if _, ok := db.wstmts[query]; ok {
		s.Close()
	} else {
		db.wstmts[query] = s
	}
	db.stmtMu.Unlock()
}

func (tx *Tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	res, err := s.ExecContext(ctx, args...)
	if err != nil {
		return nil, tx.db.wrap("write", err)
	}
	return res, nil
}

// queryRow runs a one-row query within the transaction.
func (tx *Tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return tx.tx.QueryRowContext(ctx, query, args...) // carries the error
	}
	return s.QueryRowContext(ctx, args...)
}

// query runs a query within the transaction.
func (tx *Tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := tx.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (db *DB) readStmt(ctx context.Context, query string) (*sql.Stmt, error) {
	db.stmtMu.Lock()
	s := db.rstmts[query]
	db.stmtMu.Unlock()
	if s != nil {
		return s, nil
	}
	s, err := db.read.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	db.stmtMu.Lock()
	if prev := db.rstmts[query]; prev != nil {
		s.Close()
		s = prev
	} else {
		db.rstmts[query] = s
	}
	db.stmtMu.Unlock()
	return s, nil
}

// queryRow runs a one-row query on the read pool.
func (db *DB) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := db.readStmt(ctx, query)
	if err != nil {
		return db.read.QueryRowContext(ctx, query, args...) // carries the error
	}
	return s.QueryRowContext(ctx, args...)
}

// query runs a query on the read pool.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := db.readStmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

// collectRows scans every row of a query with scan, wrapping errors as op;
// it returns an empty (not nil) slice when there are no rows.
func collectRows[T any](db *DB, op string, rows *sql.Rows, err error, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	if err != nil {
		return nil, db.wrap(op, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, db.wrap(op, err)
		}
		out = append(out, v)
	}
	return out, db.wrap(op, rows.Err())
}

// wrap turns SQLite's disk-full and read-only codes into errors that say what
// to do, and names the database path on every error.
func (db *DB) wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("store %s: %s: %w", db.path, op, err)
	}
	if db.postgres() {
		return db.wrapPostgres(op, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL:
			return fmt.Errorf("store %s: %s: disk full (free space on the volume holding the database): %w", db.path, op, err)
		case sqlite3.SQLITE_IOERR:
			// A full volume often surfaces as an I/O error rather than
			// SQLITE_FULL: growing the -shm file (IOERR_SHMSIZE) or a write.
			return fmt.Errorf("store %s: %s: disk I/O error (check that the volume holding the database is not full and is healthy): %w", db.path, op, err)
		case sqlite3.SQLITE_READONLY:
			return fmt.Errorf("store %s: %s: database is read-only (check the file's and directory's permissions): %w", db.path, op, err)
		case sqlite3.SQLITE_CANTOPEN:
			return fmt.Errorf("store %s: %s: cannot open the database file (check that the directory exists and is writable): %w", db.path, op, err)
		case sqlite3.SQLITE_BUSY:
			return fmt.Errorf("store %s: %s: database is locked by another process: %w", db.path, op, err)
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return fmt.Errorf("store %s: %s: not a Switchyard database or corrupt: %w", db.path, op, err)
		}
	}
	return fmt.Errorf("store %s: %s: %w", db.path, op, err)
}

// ms converts a time to Unix milliseconds; the zero time is 0.
func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// fromMS converts Unix milliseconds to a UTC time; 0 is the zero time.
func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

// randomToken returns n random bytes; crypto/rand never fails on Linux.
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func nullString(s string) sql.NullString {
	return sql.NullString{String: s, Valid: s != ""}
}

func validConn(conn string) error {
	if strings.TrimSpace(conn) == "" {
		return fieldErr("connection", "connection name is empty")
	}
	return nil
}
