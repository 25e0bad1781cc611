package store

import (
	"context"
	"errors"
	"fmt"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// maxCheckProblems bounds how many problems QuickCheck reports: a badly
// damaged file yields thousands, and the first few say enough.
const maxCheckProblems = 20

// QuickCheck runs SQLite's PRAGMA quick_check over the whole file and returns
// the problems it finds (nil when the file is sound). It reads every page, so
// it finds damage in the middle of the file that ordinary queries reach only
// when they touch that page. An error means the check itself could not run
// (it is wrapped with the file's path). Damage bad enough to stop the check
// half-way (SQLite's "database disk image is malformed") is a problem, not
// an error.
//
// On PostgreSQL it returns nil: the server checksums and checks its own
// pages, and there is no cheap whole-database check to run from a client.
func (db *DB) QuickCheck(ctx context.Context) (problems []string, err error) {
	if db.postgres() {
		return nil, nil
	}
	defer func() {
		var se *sqlite.Error
		if err != nil && errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_CORRUPT {
			problems, err = append(problems, se.Error()), nil
		}
	}()
	rows, err := db.read.QueryContext(ctx, fmt.Sprintf(`PRAGMA quick_check(%d)`, maxCheckProblems))
	if err != nil {
		return nil, db.wrap("quick_check", err)
	}
	defer rows.Close()
	for rows.Next() {
		var line string
		if err := rows.Scan(&line); err != nil {
			return nil, db.wrap("quick_check", err)
		}
		if line != "ok" {
			problems = append(problems, line)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, db.wrap("quick_check", err)
	}
	return problems, nil
}
