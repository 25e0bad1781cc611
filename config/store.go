package config

import (
	"regexp"
	"strings"
	"time"

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
	// ReplicaID names this replica (GET /api/v1/cluster, the leader's id);
	// "" is <hostname>-<random>, kept in <data_dir>/replica-id.
	ReplicaID string `yaml:"replica_id"`
	// Lease bounds failover: a dead leader is replaced within 2 × lease.
	Lease time.Duration `yaml:"lease"`
	// ChangeLogRetention is how long the index change log keeps changes; a
	// replica away longer rebuilds its index from the store.
	ChangeLogRetention time.Duration `yaml:"change_log_retention"`
}

// Defaults of the replicated mode.
const (
	DefaultLease              = 15 * time.Second
	DefaultChangeLogRetention = 7 * 24 * time.Hour
)

var replicaIDRe = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

// applyDefaults fills what was left out (Validate runs it, so that Default
// stays as it was before the store key existed).
func (s *Store) applyDefaults() {
	if s.Driver == "" {
		s.Driver = StoreSQLite
	}
	if s.Lease == 0 {
		s.Lease = DefaultLease
	}
	if s.ChangeLogRetention == 0 {
		s.ChangeLogRetention = DefaultChangeLogRetention
	}
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
		if s.ReplicaID != "" && !replicaIDRe.MatchString(s.ReplicaID) {
			v.add("store.replica_id", "%q must be 1-63 of A-Z a-z 0-9 . _ - (starting with a letter or digit)", clip(s.ReplicaID))
		}
		v.duration("store.lease", s.Lease, 3*time.Second, 5*time.Minute, false)
		v.duration("store.change_log_retention", s.ChangeLogRetention, time.Hour, 365*24*time.Hour, false)
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
