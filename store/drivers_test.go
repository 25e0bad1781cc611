package store

import (
	"database/sql"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchyard/store/pgtest"
)

// opener opens a fresh, empty store for one test.
type opener func(t *testing.T, opts ...Option) *DB

// eachDriver runs test once against SQLite and once against PostgreSQL, as
// subtests named after the driver. The PostgreSQL run needs a server:
// SWITCHYARD_TEST_POSTGRES names one (scripts/test starts a throw-away one).
func eachDriver(t *testing.T, test func(t *testing.T, openTest opener)) {
	t.Run(DriverSQLite, func(t *testing.T) { test(t, openTest) })
	t.Run(DriverPostgres, func(t *testing.T) { test(t, openPostgresTest) })
}

// sharedOpener opens the same store (one SQLite file, one PostgreSQL
// schema) on every call: reopening, or several processes or replicas.
type sharedOpener func(opts ...Option) (*DB, error)

// eachDriverShared runs test once per driver with a sharedOpener for a new
// empty store; the test closes what it opens.
func eachDriverShared(t *testing.T, test func(t *testing.T, open sharedOpener)) {
	t.Run(DriverSQLite, func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "s.db")
		test(t, func(opts ...Option) (*DB, error) { return Open(path, opts...) })
	})
	t.Run(DriverPostgres, func(t *testing.T) {
		dsn := postgresTestDSN(t)
		test(t, func(opts ...Option) (*DB, error) { return OpenPostgres(dsn, opts...) })
	})
}

// openPostgresTest opens a store in a new schema of the test server; the
// schema is dropped when the test ends.
func openPostgresTest(t *testing.T, opts ...Option) *DB {
	t.Helper()
	db, err := OpenPostgres(postgresTestDSN(t), opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// postgresTestDSN is pgtest.DSN: a new empty schema, or a skip.
func postgresTestDSN(t *testing.T) string { return pgtest.DSN(t) }

// TestEveryMigrationHasPostgresForm needs no server: a SQLite migration added
// without its migrations/postgres twin fails here, naming the file.
func TestEveryMigrationHasPostgresForm(t *testing.T) {
	for _, d := range []string{DriverSQLite, DriverPostgres} {
		ms, err := migrations(d)
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 || ms[len(ms)-1].version != SchemaVersion() {
			t.Fatalf("%s: %d migrations, last is not version %d", d, len(ms), SchemaVersion())
		}
	}
	lite, err := readMigrations("migrations")
	if err != nil {
		t.Fatal(err)
	}
	pg, err := readMigrations("migrations/postgres")
	if err != nil {
		t.Fatal(err)
	}
	if err := sameMigrations(lite, pg); err != nil {
		t.Fatal(err)
	}
	lite = []migration{{version: 1, name: "0001_a.sql"}, {version: 9, name: "0009_jsm.sql"}}
	err = sameMigrations(lite, lite[:1])
	if err == nil || !strings.Contains(err.Error(), "0009_jsm.sql has no PostgreSQL form: add store/migrations/postgres/0009_jsm.sql") {
		t.Errorf("missing form: %v", err)
	}
	if err := sameMigrations(lite[:1], lite); err == nil || !strings.Contains(err.Error(), "postgres/0009_jsm.sql has no SQLite form") {
		t.Errorf("missing SQLite form: %v", err)
	}
}

func TestOpenPostgresErrors(t *testing.T) {
	tests := []struct{ name, dsn, want string }{
		{"empty", "  ", "store.dsn is empty"},
		{"unparsable", "postgres://u:secretpw@h:notaport/db", "store.dsn"},
		// Nothing listens on port 1: the message says what to check.
		{"unreachable", "postgres://u:secretpw@127.0.0.1:1/db?connect_timeout=2", "cannot connect to PostgreSQL (check store.dsn"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := OpenPostgres(tt.dsn)
			if err == nil {
				db.Close()
				t.Fatal("opened")
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secretpw") {
				t.Errorf("error %q: want %q and no password", err, tt.want)
			}
		})
	}
	t.Run("no such database", func(t *testing.T) {
		dsn := os.Getenv("SWITCHYARD_TEST_POSTGRES")
		if dsn == "" {
			t.Skip("SWITCHYARD_TEST_POSTGRES is not set: no PostgreSQL server (scripts/test starts a throw-away one)")
		}
		u, err := url.Parse(dsn)
		if err != nil {
			t.Skip("SWITCHYARD_TEST_POSTGRES is not a URL")
		}
		u.Path = "/no_such_db_h15"
		_, err = OpenPostgres(u.String())
		if err == nil || !strings.Contains(err.Error(), "the database does not exist") {
			t.Errorf("error %v, want: the database does not exist", err)
		}
	})
}

// pgAdminForTest is a plain connection to the test server (outside any
// test schema), for what a test does behind the store's back.
func pgAdminForTest(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", os.Getenv(pgtest.EnvVar))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
