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

//go:embed migrations/*.sql
var migrationFS embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

// migrations returns the embedded migrations sorted by version. File names are
// NNNN_description.sql; a duplicate or malformed number is a build mistake.
func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
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
			return nil, fmt.Errorf("migration %s: name must start with a positive number and '_'", base)
		}
		if prev, dup := seen[v]; dup {
			return nil, fmt.Errorf("migrations %s and %s share version %d", prev, base, v)
		}
		seen[v] = base
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
	ms, err := migrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrate applies every migration newer than the database, each in its own
// transaction together with its schema_version row, so a crash leaves the
// database at a whole version.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return fmt.Errorf("store %s: %w", db.path, err)
	}
	latest := ms[len(ms)-1].version
	if _, err := db.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_ms INTEGER NOT NULL)`); err != nil {
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
