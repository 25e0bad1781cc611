package config

import (
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
)

// Store drivers (store.driver).
const (
	StoreSQLite   = "sqlite"   // <data_dir>/switchyard.db, one machine (default)
	StorePostgres = "postgres" // a PostgreSQL database shared by replicas
)

// Store selects where Switchyard keeps its state.
type Store struct {
	Driver string `yaml:"driver"` // sqlite | postgres
	// DSN names the PostgreSQL database (driver postgres): a URL such as
	// postgres://switchyard@db:5432/switchyard?sslmode=verify-full or
	// libpq key=value pairs. It may hold a password, so it is a Secret.
	DSN Secret `yaml:"dsn"`
}

func (s *Store) validate(v *validator) {
	if !v.oneOf("store.driver", s.Driver, StoreSQLite, StorePostgres) {
		return
	}
	dsn := strings.TrimSpace(s.DSN.Value())
	switch s.Driver {
	case StoreSQLite:
		if dsn != "" {
			v.add("store.dsn", "is set but store.driver is sqlite (the SQLite store is <data_dir>/switchyard.db); set store.driver: postgres to use it")
		}
	case StorePostgres:
		if dsn == "" {
			v.add("store.dsn", "is empty; driver postgres needs a DSN such as postgres://switchyard@db.example.com:5432/switchyard")
			return
		}
		// pgconn's parse errors mask the password.
		if _, err := pgconn.ParseConfig(dsn); err != nil {
			v.add("store.dsn", "is not a PostgreSQL DSN: %v", err)
		}
	}
}
