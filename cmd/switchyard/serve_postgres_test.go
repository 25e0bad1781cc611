package main

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchyard/connector/jirasim"
	"switchyard/store"
	"switchyard/store/pgtest"
)

// serve with store.driver postgres keeps its state in PostgreSQL: a sync
// fills the schema, and a second replica with an empty data directory of
// its own serves the same keys and the same issues (its index rebuilt by its
// own first sync).
func TestServeOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 3, Projects: 2, Issues: 30}})
	hs := httptest.NewServer(sim)
	sim.SetBaseURL(hs.URL)
	defer func() { hs.Close(); sim.Close() }()

	t.Setenv("SWITCHYARD_TEST_DSN", dsn)
	cfgFor := func(dir string) string {
		p := writeServeConfig(t, dir, hs.URL, sim.AdminEmail())
		b, _ := os.ReadFile(p)
		b = append(b, []byte("store: {driver: postgres, dsn: \"${SWITCHYARD_TEST_DSN}\"}\n")...)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	adminKey := store.GenerateAPIKeySecret()
	t.Setenv("SWITCHYARD_ADMIN_KEY", adminKey)
	dirA := t.TempDir()
	p := startServe(t, cfgFor(dirA))
	waitSynced := func(url string) {
		t.Helper()
		var st struct {
			Connections []struct {
				State    string `json:"state"`
				LastRuns []struct {
					Issues int    `json:"issues"`
					Error  string `json:"error"`
				} `json:"lastRuns"`
			} `json:"connections"`
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			if code := getJSON(t, url+"/api/v1/sync/status", adminKey, &st); code != 200 {
				t.Fatalf("sync status: %d", code)
			}
			if len(st.Connections) == 1 && len(st.Connections[0].LastRuns) > 0 && st.Connections[0].State == "idle" {
				if r := st.Connections[0].LastRuns[0]; r.Error != "" || r.Issues == 0 {
					t.Fatalf("scheduled run: %+v", r)
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("the scheduled sync did not finish: %+v", st)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	waitSynced(p.url)
	var sr struct {
		Total int `json:"total"`
	}
	if code := getJSON(t, p.url+"/api/v1/search?q=&as="+sim.AdminEmail(), adminKey, &sr); code != 200 || sr.Total == 0 {
		t.Fatalf("search on the first replica: %d total %d", code, sr.Total)
	}
	first := sr.Total
	if _, err := os.Stat(filepath.Join(dirA, "data", storeFile)); err == nil {
		t.Errorf("a SQLite file was created in data_dir although store.driver is postgres")
	}

	// The state is in PostgreSQL.
	db, err := store.OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	c, err := db.Counts(context.Background(), "acme")
	db.Close()
	if err != nil || c.Issues != 30 {
		t.Fatalf("PostgreSQL counts %+v, %v; want 30 issues", c, err)
	}
	p.stop(t)

	// Another replica, empty data_dir: the key imported by the first works
	// and no new admin key is printed (the store is not empty).
	t.Setenv("SWITCHYARD_ADMIN_KEY", "")
	p2 := startServe(t, cfgFor(t.TempDir()))
	if strings.Contains(strings.Join(p2.stdout, "\n"), "admin API key") {
		t.Fatalf("a replica on the shared store printed a new admin key: %q", p2.stdout)
	}
	if code := getJSON(t, p2.url+"/api/v1/whoami", adminKey, nil); code != 200 {
		t.Fatalf("the shared key on the second replica: %d", code)
	}
	waitSynced(p2.url)
	sr.Total = 0
	if code := getJSON(t, p2.url+"/api/v1/search?q=&as="+sim.AdminEmail(), adminKey, &sr); code != 200 || sr.Total != first {
		t.Fatalf("search on the second replica: %d total %d, want %d as on the first", code, sr.Total, first)
	}
}
