// Package pgtest gives tests an empty PostgreSQL schema of their own on the
// server named by SWITCHYARD_TEST_POSTGRES (scripts/test starts a throw-away
// one), and skips them, saying why, when no server is configured.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// EnvVar names the test server's DSN.
const EnvVar = "SWITCHYARD_TEST_POSTGRES"

// DSN creates an empty schema and returns a DSN whose search_path selects
// it; stores opened with it share it as replicas would. The schema is
// dropped when the test ends. Without EnvVar the test is skipped.
func DSN(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		t.Skip(EnvVar + " is not set: no PostgreSQL server to run the postgres variant against (scripts/test starts a throw-away one)")
	}
	admin := adminDB(t, base)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.Exec(`CREATE SCHEMA ` + schema); err != nil {
		t.Fatalf("create test schema: %v", err)
	}
	t.Cleanup(func() {
		if _, err := admin.Exec(`DROP SCHEMA ` + schema + ` CASCADE`); err != nil {
			t.Errorf("drop test schema %s: %v", schema, err)
		}
	})
	if !strings.Contains(base, "://") {
		return base + " search_path=" + schema
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "search_path=" + url.QueryEscape(schema)
}

var (
	once     sync.Once
	admin    *sql.DB
	adminErr error
)

func adminDB(t testing.TB, dsn string) *sql.DB {
	once.Do(func() {
		admin, adminErr = sql.Open("pgx", dsn)
		if adminErr == nil {
			adminErr = admin.PingContext(context.Background())
		}
	})
	if adminErr != nil {
		t.Fatalf("%s: %v", EnvVar, adminErr)
	}
	return admin
}
