package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// OpenPostgres opens the store in the PostgreSQL database named by dsn (a
// libpq URL or key=value string; search_path selects a schema) and brings its
// schema up to date, like Open does for SQLite.
//
// The store keeps SQLite's semantics on PostgreSQL: one writer connection per
// process, and every write transaction first takes a transaction-scoped
// advisory lock (pg_advisory_xact_lock) on the schema, the counterpart of
// SQLite's BEGIN IMMEDIATE, so write transactions of all replicas are
// serialized and a read-then-write inside one never races another replica.
// Readers use a pool of read-only REPEATABLE READ connections, so a read
// transaction sees one snapshot as it does in SQLite's WAL mode.
func OpenPostgres(dsn string, opts ...Option) (*DB, error) {
	if strings.TrimSpace(dsn) == "" {
		return nil, fmt.Errorf("open store: store.dsn is empty (driver postgres needs a DSN such as postgres://user@host:5432/switchyard)")
	}
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// pgx's parse error masks the password.
		return nil, fmt.Errorf("open store: store.dsn: %w", err)
	}
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 10 * time.Second
	}
	db, err := newDB(describeDSN(cfg), DriverPostgres, opts)
	if err != nil {
		return nil, err
	}
	wcfg := cfg.Copy()
	if wcfg.RuntimeParams["application_name"] == "" {
		wcfg.RuntimeParams["application_name"] = "switchyard"
	}
	if err := db.useWriter(sql.OpenDB(pgConnector{stdlib.GetConnector(*wcfg)})); err != nil {
		return nil, err
	}
	db.pgcfg = wcfg.Copy()
	rcfg := wcfg.Copy()
	rcfg.RuntimeParams["default_transaction_read_only"] = "on"
	rcfg.RuntimeParams["default_transaction_isolation"] = "repeatable read"
	if err := db.useReaders(sql.OpenDB(pgConnector{stdlib.GetConnector(*rcfg)})); err != nil {
		return nil, err
	}
	return db, nil
}

// Driver returns the store's driver name (DriverSQLite or DriverPostgres).
func (db *DB) Driver() string {
	if db.driver == "" {
		return DriverSQLite
	}
	return db.driver
}

func (db *DB) postgres() bool { return db.driver == DriverPostgres }

// describeDSN names the database without its password, for errors and status.
func describeDSN(cfg *pgx.ConnConfig) string {
	host := cfg.Host
	if !strings.HasPrefix(host, "/") {
		host = net.JoinHostPort(host, strconv.Itoa(int(cfg.Port)))
	}
	s := "postgres://" + cfg.User + "@" + host + "/" + cfg.Database
	if sp := cfg.RuntimeParams["search_path"]; sp != "" {
		s += "?search_path=" + sp
	}
	return s
}

// writeLockSQL serializes write transactions across replicas sharing a schema
// (see OpenPostgres).
const writeLockSQL = `SELECT pg_advisory_xact_lock(hashtext('switchyard:' || current_schema()))`

// auditLockSQL orders audit appends (AppendAudit).
const auditLockSQL = `SELECT pg_advisory_xact_lock(hashtext('switchyard-audit:' || current_schema()))`

// pgConnector hands out connections that speak the store's SQLite dialect.
type pgConnector struct{ inner driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return &pgConn{Conn: cn.(*stdlib.Conn)}, nil
}

func (c pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// pgConn rewrites each statement (pgRewrite) and each boolean argument (the
// schema stores flags as 0/1 integers, as in SQLite) before pgx sees them.
type pgConn struct{ *stdlib.Conn }

func (c *pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(context.Background(), pgRewrite(query))
}

func (c *pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, pgRewrite(query))
}

func (c *pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, pgRewrite(query), args)
}

func (c *pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, pgRewrite(query), args)
}

// CheckNamedValue turns bools into 0/1; everything else gets database/sql's
// default conversion, exactly as with the SQLite driver.
func (c *pgConn) CheckNamedValue(nv *driver.NamedValue) error {
	if b, ok := nv.Value.(bool); ok {
		nv.Value = int64(0)
		if b {
			nv.Value = int64(1)
		}
		return nil
	}
	return driver.ErrSkip
}

// wrapPostgres gives PostgreSQL's failures that an operator can fix a message
// that says what to do.
func (db *DB) wrapPostgres(op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case pe.Code == "53100":
			return fmt.Errorf("store %s: %s: disk full on the PostgreSQL server: %w", db.path, op, err)
		case pe.Code == "25006":
			return fmt.Errorf("store %s: %s: the database is read-only (is store.dsn a standby?): %w", db.path, op, err)
		case pe.Code == "3D000":
			return fmt.Errorf("store %s: %s: the database does not exist (create it, or fix store.dsn): %w", db.path, op, err)
		case strings.HasPrefix(pe.Code, "28"):
			return fmt.Errorf("store %s: %s: PostgreSQL refused the login (check store.dsn's user and password): %w", db.path, op, err)
		case pe.Code == "42501":
			return fmt.Errorf("store %s: %s: permission denied (the store.dsn user needs to own the schema): %w", db.path, op, err)
		}
		return fmt.Errorf("store %s: %s: %w", db.path, op, err)
	}
	var ce *pgconn.ConnectError
	if errors.As(err, &ce) {
		return fmt.Errorf("store %s: %s: cannot connect to PostgreSQL (check store.dsn and that the server is running): %w", db.path, op, err)
	}
	return fmt.Errorf("store %s: %s: %w", db.path, op, err)
}

// isUniqueViolation reports a unique or primary-key constraint failure on
// either driver.
func isUniqueViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	return err != nil && strings.Contains(err.Error(), "UNIQUE")
}

// isForeignKeyViolation reports a foreign-key constraint failure on either
// driver.
func isForeignKeyViolation(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23503"
	}
	return err != nil && strings.Contains(err.Error(), "FOREIGN KEY")
}
