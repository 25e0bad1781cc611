package store

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"switchyard"
)

//go:embed migrations/*.sql migrations/postgres/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations for driver sorted by version.
// File names are NNNN_description.sql; a duplicate or malformed number is a
// build mistake.
//
// migrations/NNNN_x.sql is the SQLite form; migrations/postgres/NNNN_x.sql,
// with the same name, is the PostgreSQL form of the same change. A migration
// without both forms makes OpenPostgres fail, naming the file, and fails
// TestEveryMigrationHasPostgresForm (which needs no server), so a schema
// change cannot reach one driver only unnoticed; SQLite stores still open.
func migrations(driver string) ([]migration, error) {
	lite, err := readMigrations("migrations")
	if err != nil {
		return nil, err
	}
	pg, err := readMigrations("migrations/postgres")
	if err != nil {
		return nil, err
	}
	if driver != DriverPostgres {
		return lite, nil
	}
	if err := sameMigrations(lite, pg); err != nil {
		return nil, err
	}
	return pg, nil
}

// sameMigrations checks that the two drivers' migrations pair up by name.
func sameMigrations(lite, pg []migration) error {
	names := map[string]bool{}
	for _, m := range pg {
		names[m.name] = true
	}
	var missing []string
	for _, m := range lite {
		if !names[m.name] {
			missing = append(missing, m.name)
		}
		delete(names, m.name)
	}
	if len(missing) > 0 {
		return fmt.Errorf("migration %s has no PostgreSQL form: add store/migrations/postgres/%s (the same change in PostgreSQL's SQL; see README, Replicated mode)",
			strings.Join(missing, ", "), missing[0])
	}
	for n := range names {
		return fmt.Errorf("store/migrations/postgres/%s has no SQLite form store/migrations/%s", n, n)
	}
	return nil
}

func readMigrations(dir string) ([]migration, error) {
	names, err := fs.Glob(migrationFS, dir+"/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	seen := map[int]string{}
	for _, n := range names {
		base := path.Base(n)
		num, _, ok := strings.Cut(base, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", n)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, n, v)
		}
		seen[v] = n
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// SchemaVersion is the newest schema version this build knows.
func SchemaVersion() int {
	ms, err := migrations(DriverSQLite)
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies every migration newer than the database, each in its own
// transaction together with its schema_version row, so a crash leaves the
// database at a whole version.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations(db.Driver())
	if err != nil {
		return fmt.Errorf("store %s: %w", db.path, err)
	}
	latest := ms[len(ms)-1].version
	// In a transaction: on PostgreSQL its write lock keeps replicas that
	// start together from racing to create the table.
	integer := "INTEGER"
	if db.postgres() {
		integer = "BIGINT"
	}
	err = db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    `+integer+` PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_ms `+integer+` NOT NULL)`)
		return err
	})
	if err != nil {
		return db.wrap("migrate", err)
	}
	for _, m := range ms {
		err := db.Tx(ctx, func(tx *Tx) error {
			// Read the version inside the (immediate) transaction: another
			// process may have migrated since we looked.
			var cur int
			if err := tx.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&cur); err != nil {
				return db.wrap("migrate", err)
			}
			if cur > latest {
				return switchyard.Errorf(switchyard.ErrConflict,
					"store %s has schema version %d, newer than this build of switchyard supports (%d): run a newer switchyard", db.path, cur, latest)
			}
			if cur >= m.version {
				return nil
			}
			if _, err := tx.tx.ExecContext(ctx, m.sql); err != nil {
				return db.wrap("migration "+m.name, err)
			}
			_, err := tx.exec(ctx, `INSERT INTO schema_version (version, name, applied_ms) VALUES (?, ?, ?)`,
				m.version, m.name, ms0(tx))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func ms0(tx *Tx) int64 { return tx.now.UnixMilli() }

// Version returns the database's schema version.
func (db *DB) Version(ctx context.Context) (int, error) {
	var v int
	if err := db.queryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_version`).Scan(&v); err != nil {
		return 0, db.wrap("schema version", err)
	}
	return v, nil
}
