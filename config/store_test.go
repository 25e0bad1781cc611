package config

import (
	"strings"
	"testing"
)

func TestStoreValidation(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"store driver", "store: {driver: mysql}", `store.driver: "mysql" is not one of sqlite, postgres (line 1)`},
		{"store postgres needs dsn", "store: {driver: postgres}", `store.dsn: is empty; driver postgres needs a DSN`},
		{"store dsn for sqlite", "store: {dsn: 'postgres://u@h/db'}", `store.dsn: is set but store.driver is sqlite`},
		{"store lease", "store: {driver: postgres, dsn: 'postgres://u@h/db', lease: 1s}", `store.lease: 1s is below the minimum of 3s`},
		{"store replica id", "store: {driver: postgres, dsn: 'postgres://u@h/db', replica_id: 'a b'}", `store.replica_id: "a b" must be 1-63 of`},
		{"store bad dsn hides password", "store: {driver: postgres, dsn: 'postgres://u:` + secretPass + `@h:port/db'}", `store.dsn: is not a PostgreSQL DSN`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), getenv)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), secretPass) {
				t.Errorf("error shows the password: %v", err)
			}
		})
	}
	cfg, err := Parse([]byte("store: {driver: postgres, dsn: 'postgres://u@h/db'}"), getenv)
	if err != nil {
		t.Fatal(err)
	}
	if s := cfg.Store; s.Lease != DefaultLease || s.ChangeLogRetention != DefaultChangeLogRetention || s.ReplicaID != "" {
		t.Errorf("defaults: %+v", s)
	}
	if cfg, err := Parse([]byte("data_dir: x"), getenv); err != nil || cfg.Store.Driver != StoreSQLite {
		t.Errorf("default driver: %+v, %v", cfg, err)
	}
}
