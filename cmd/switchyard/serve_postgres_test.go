package main

import (
	"context"
	"encoding/json"
	"net/http"
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

type clusterView struct {
	Driver    string `json:"driver"`
	ReplicaID string `json:"replicaId"`
	Leader    bool   `json:"leader"`
	LeaderID  string `json:"leaderId"`
	IndexLag  int64  `json:"indexLag"`
	HeadSeq   int64  `json:"headSeq"`
}

// Two serve replicas on one PostgreSQL store: one leads and syncs, the other
// follows (its index fed from the change log); a sync asked of the follower
// runs on the leader; when the leader stops, the follower takes over within
// two leases.
func TestServeReplicasOnPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 3, Projects: 2, Issues: 30}})
	hs := httptest.NewServer(sim)
	sim.SetBaseURL(hs.URL)
	defer func() { hs.Close(); sim.Close() }()

	const lease = 3 * time.Second
	t.Setenv("SWITCHYARD_TEST_DSN", dsn)
	cfgFor := func(id string) (cfg, dataDir string) {
		dir := t.TempDir()
		p := writeServeConfig(t, dir, hs.URL, sim.AdminEmail())
		b, _ := os.ReadFile(p)
		b = append(b, []byte("store: {driver: postgres, dsn: \"${SWITCHYARD_TEST_DSN}\", lease: 3s, replica_id: "+id+"}\n")...)
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return p, filepath.Join(dir, "data")
	}
	adminKey := store.GenerateAPIKeySecret()
	t.Setenv("SWITCHYARD_ADMIN_KEY", adminKey)
	cfgA, dataA := cfgFor("a")
	a := startServe(t, cfgA)
	t.Setenv("SWITCHYARD_ADMIN_KEY", "")
	cfgB, _ := cfgFor("b")
	b := startServe(t, cfgB)
	if strings.Contains(strings.Join(b.stdout, "\n"), "admin API key") {
		t.Fatalf("a replica on the shared store printed a new admin key: %q", b.stdout)
	}
	if _, err := os.Stat(filepath.Join(dataA, storeFile)); err == nil {
		t.Errorf("a SQLite file was created in data_dir although store.driver is postgres")
	}

	cluster := func(p *serveProc) clusterView {
		t.Helper()
		var c clusterView
		if code := getJSON(t, p.url+"/api/v1/cluster", adminKey, &c); code != 200 {
			t.Fatalf("GET /api/v1/cluster: %d", code)
		}
		return c
	}
	// One leader, the same for both, within two leases.
	var leader, follower *serveProc
	deadline := time.Now().Add(2*lease + 2*time.Second)
	for leader == nil {
		ca, cb := cluster(a), cluster(b)
		if ca.Leader && cb.Leader {
			t.Fatalf("two leaders: %+v %+v", ca, cb)
		}
		if (ca.Leader || cb.Leader) && ca.LeaderID == cb.LeaderID && ca.LeaderID != "" {
			leader, follower = a, b
			if cb.Leader {
				leader, follower = b, a
			}
			if ca.ReplicaID != "a" || cb.ReplicaID != "b" || ca.Driver != "postgres" {
				t.Fatalf("cluster views %+v %+v", ca, cb)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no single leader: %+v %+v", ca, cb)
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The leader's first sync fills the store; both indexes follow.
	searchTotal := func(p *serveProc) int {
		var sr struct {
			Total int `json:"total"`
		}
		if code := getJSON(t, p.url+"/api/v1/search?q=&as="+sim.AdminEmail(), adminKey, &sr); code != 200 {
			t.Fatalf("search: %d", code)
		}
		return sr.Total
	}
	waitConverged := func(what string, ps ...*serveProc) int {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for {
			db, err := store.OpenPostgres(dsn)
			if err != nil {
				t.Fatal(err)
			}
			c, _ := db.Counts(context.Background(), "acme")
			db.Close()
			ok := c.Issues == 30
			var totals []int
			for _, p := range ps {
				cv := cluster(p)
				n := searchTotal(p)
				totals = append(totals, n)
				ok = ok && cv.IndexLag == 0 && cv.HeadSeq > 0 && n > 0 && n == totals[0]
			}
			if ok {
				return totals[0]
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: not converged: %d issues stored, search totals %v", what, c.Issues, totals)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	total := waitConverged("first sync", leader, follower)

	// switchyard status shows the same as GET /api/v1/cluster.
	var out, errb strings.Builder
	if code := run(context.Background(), []string{"status", "--config", cfgA, "--json"}, &out, &errb); code != 0 {
		t.Fatalf("status: exit %d: %s", code, errb.String())
	}
	var sj struct {
		Cluster struct {
			clusterView
			Replicas []struct {
				ID string `json:"id"`
			} `json:"replicas"`
		} `json:"cluster"`
	}
	if err := json.Unmarshal([]byte(out.String()), &sj); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out.String())
	}
	if c, api := sj.Cluster, cluster(a); c.ReplicaID != "a" || c.LeaderID != api.LeaderID || c.Leader != api.Leader || c.IndexLag != 0 || len(c.Replicas) != 2 {
		t.Errorf("status cluster %+v, API %+v", sj.Cluster, api)
	}
	out.Reset()
	run(context.Background(), []string{"status", "--config", cfgB}, &out, &errb)
	if !strings.Contains(out.String(), "this data directory is replica b") || !strings.Contains(out.String(), "index lag 0") {
		t.Errorf("status text lacks the cluster line:\n%s", out.String())
	}

	// A sync asked of the follower runs on the leader.
	runsBefore := syncRuns(t, follower.url, adminKey)
	req, _ := http.NewRequest("POST", follower.url+"/api/v1/sync", strings.NewReader(`{"connection":"acme"}`))
	req.Header.Set("Authorization", "Bearer "+adminKey)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusAccepted {
		t.Fatalf("trigger on the follower: %d", res.StatusCode)
	}
	deadline = time.Now().Add(30 * time.Second)
	for syncRuns(t, follower.url, adminKey) <= runsBefore {
		if time.Now().After(deadline) {
			t.Fatal("the forwarded sync did not run")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// The leader stops: the follower leads within two leases.
	leader.stop(t)
	start := time.Now()
	for !cluster(follower).Leader {
		if time.Since(start) > 2*lease+time.Second {
			t.Fatalf("no takeover within 2 x lease: %+v", cluster(follower))
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Logf("takeover after the leader stopped: %s", time.Since(start).Round(time.Millisecond))
	if got := searchTotal(follower); got != total {
		t.Errorf("search on the new leader: %d, want %d", got, total)
	}
}

// syncRuns counts the stored runs of acme as sync status shows them.
func syncRuns(t *testing.T, url, key string) int {
	t.Helper()
	var st struct {
		Connections []struct {
			LastRuns []struct {
				ID int64 `json:"id"`
			} `json:"lastRuns"`
		} `json:"connections"`
	}
	if code := getJSON(t, url+"/api/v1/sync/status", key, &st); code != 200 || len(st.Connections) != 1 {
		t.Fatalf("sync status: %d", code)
	}
	var max int64
	for _, r := range st.Connections[0].LastRuns {
		if r.ID > max {
			max = r.ID
		}
	}
	return int(max)
}
