// Command bench-api measures the HTTP API under concurrent load on loopback:
// it starts the real server with a real store and on-disk index, syncs the
// simulator into them, then drives GET /api/v1/search and GET
// /api/v1/sync/status from many clients for a fixed time and prints
// requests/s and latency percentiles. Run it through scripts/bench-api.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"switchyard"
	"switchyard/api"
	"switchyard/connector"
	"switchyard/connector/jirasim"
	"switchyard/index"
	"switchyard/store"
	syncer "switchyard/sync"
)

func main() {
	duration := flag.Duration("duration", 5*time.Second, "load time per endpoint")
	clients := flag.Int("concurrency", 16, "concurrent clients")
	issues := flag.Int("issues", 2000, "simulated issues to sync before the load")
	flag.Parse()
	if err := run(*duration, *clients, *issues); err != nil {
		fmt.Fprintln(os.Stderr, "bench-api:", err)
		os.Exit(1)
	}
}

func run(duration time.Duration, clients, issues int) error {
	if duration <= 0 || duration > 5*time.Minute || clients < 1 || clients > 1024 || issues < 1 {
		return fmt.Errorf("want 0 < -duration <= 5m, 1 <= -concurrency <= 1024, -issues >= 1")
	}
	ctx := context.Background()
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 42, Projects: 6, Issues: issues}})
	hs := httptest.NewServer(sim)
	defer hs.Close()
	defer sim.Close()
	sim.SetBaseURL(hs.URL)

	dir, err := os.MkdirTemp("", "bench-api-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	db, err := store.Open(filepath.Join(dir, "switchyard.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	idx, err := index.Open(filepath.Join(dir, "index.bleve"))
	if err != nil {
		return err
	}
	defer idx.Close()
	idx.Source = syncer.NewPermissionSource(db)

	auth := connector.APITokenAuth(sim.AdminEmail(), jirasim.DefaultAdminToken)
	j, err := syncer.NewJiraBuilder(func(fields []string) (syncer.JiraClient, error) {
		return connector.New(connector.Options{Name: "acme", BaseURL: hs.URL, Auth: auth, RequestsPerSecond: 100000, Concurrency: 8, CustomFields: fields})
	}, 8)
	if err != nil {
		return err
	}
	scope, err := syncer.ScopeFrom(switchyard.SyncFilters{})
	if err != nil {
		return err
	}
	eng, err := syncer.New(syncer.Options{Store: syncer.NewStore(db), Index: syncer.NewIndex(idx),
		Connections: []syncer.Connection{{Name: "acme", BaseURL: hs.URL, Jira: j, Scope: scope, Settings: syncer.Settings{Strategy: "manual"}}}})
	if err != nil {
		return err
	}
	start := time.Now()
	rs, err := eng.SyncOnce(ctx, "acme", true)
	if err != nil {
		return err
	}
	fmt.Printf("setup: synced %d issues, %d comments in %s\n", rs.Issues, rs.Comments, time.Since(start).Round(time.Millisecond))

	srv, err := api.New(api.Options{Addr: "127.0.0.1:0", Logger: slog.New(slog.DiscardHandler), KeyRate: 1e9, KeyBurst: 1 << 30,
		Store: db, Index: idx, Engine: eng, Connections: []api.Connection{{Name: "acme", Kind: "cloud", URL: hs.URL, Auth: "api_token"}}})
	if err != nil {
		return err
	}
	if err := srv.Open(); err != nil {
		return err
	}
	defer srv.Close(ctx)
	_, key, err := db.CreateAPIKey(ctx, store.NewAPIKey{Name: "bench", Scopes: api.AllScopes})
	if err != nil {
		return err
	}

	w := sim.World()
	w.RLock()
	var users []string
	for _, u := range w.Users {
		if u.Active && u.AccountType == "atlassian" {
			users = append(users, u.AccountID)
		}
	}
	w.RUnlock()
	words := []string{"vpn", "password", "laptop", "access", "error", "outage", "printer", "deploy", "database", "email"}

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}}
	fmt.Printf("load: %d clients, %s per endpoint, GOMAXPROCS-bound loopback\n\n", clients, duration)
	fmt.Printf("%-22s %10s %10s %10s %10s %10s %8s\n", "endpoint", "requests", "req/s", "p50", "p99", "max", "errors")
	for _, ep := range []struct {
		name string
		path func(r *rand.Rand) string
	}{
		{"GET /api/v1/search", func(r *rand.Rand) string {
			return "/api/v1/search?" + url.Values{"q": {words[r.IntN(len(words))]}, "as": {users[r.IntN(len(users))]}}.Encode()
		}},
		{"GET /api/v1/sync/status", func(*rand.Rand) string { return "/api/v1/sync/status" }},
	} {
		lat, errs := load(client, srv.URL(), key, clients, duration, ep.path)
		slices.Sort(lat)
		pct := func(p float64) time.Duration {
			if len(lat) == 0 {
				return 0
			}
			return lat[min(len(lat)-1, int(p*float64(len(lat))))]
		}
		fmt.Printf("%-22s %10d %10.0f %10s %10s %10s %8d\n", ep.name, len(lat), float64(len(lat))/duration.Seconds(),
			pct(0.50).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), pct(1).Round(10*time.Microsecond), errs)
	}
	return nil
}

// load runs clients goroutines against path for d and returns each successful
// request's latency and the number of failures.
func load(c *http.Client, base, key string, clients int, d time.Duration, path func(*rand.Rand) string) ([]time.Duration, int) {
	var mu sync.Mutex
	var all []time.Duration
	errs := 0
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			var lat []time.Duration
			bad := 0
			for time.Now().Before(deadline) {
				req, _ := http.NewRequest("GET", base+path(r), nil)
				req.Header.Set("Authorization", "Bearer "+key)
				t0 := time.Now()
				res, err := c.Do(req)
				if err != nil {
					bad++
					continue
				}
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != 200 {
					bad++
					continue
				}
				lat = append(lat, time.Since(t0))
			}
			mu.Lock()
			all = append(all, lat...)
			errs += bad
			mu.Unlock()
		}()
	}
	wg.Wait()
	return all, errs
}
