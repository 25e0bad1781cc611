package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector/jirasim"
	"switchyard/index"
	"switchyard/store"
	"switchyard/store/pgtest"
	syncer "switchyard/sync"
)

// replicaProc is `switchyard serve` in a process of its own (so that it can
// be SIGKILLed).
type replicaProc struct {
	id     string
	url    string
	cmd    *exec.Cmd
	stderr *lockedBuffer
	dead   bool
}

func startReplicaProc(t *testing.T, id, cfg string, env ...string) *replicaProc {
	t.Helper()
	cmd := exec.Command(os.Args[0], "serve", "--config", cfg, "--addr", "127.0.0.1:0")
	cmd.Env = append(append(os.Environ(), "SWITCHYARD_TEST_MAIN=1"), env...)
	p := &replicaProc{id: id, cmd: cmd, stderr: &lockedBuffer{}}
	cmd.Stderr = p.stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !p.dead {
			cmd.Process.Signal(syscall.SIGTERM)
			done := make(chan struct{})
			go func() { cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(40 * time.Second):
				cmd.Process.Kill()
			}
		}
	})
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if u, ok := strings.CutPrefix(sc.Text(), "switchyard serving on "); ok {
				urls <- u
			}
		}
	}()
	select {
	case p.url = <-urls:
	case <-time.After(60 * time.Second):
		t.Fatalf("replica %s did not start: %s", id, p.stderr.String())
	}
	return p
}

func (p *replicaProc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	p.cmd.Wait()
	p.dead = true
}

// The failover test across the real pieces: PostgreSQL, three serve
// processes and the simulator. The leader is SIGKILLed during a full sync
// and again during write-back; each time another leads within 2 × lease,
// the sync converges to the simulator's state, every ticket gets exactly one
// comment, every live replica's search agrees within 10 s, and the audit
// chain verifies.
func TestFailoverThreeReplicas(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the failover test takes about two minutes")
	}
	dsn := pgtest.DSN(t)
	sim := jirasim.New(jirasim.Options{Latency: 20 * time.Millisecond,
		GenerateOptions: jirasim.GenerateOptions{Seed: 11, Projects: 3, Issues: 240}})
	hs := httptest.NewServer(sim)
	sim.SetBaseURL(hs.URL)
	defer func() { hs.Close(); sim.Close() }()
	const lease = 3 * time.Second
	adminKey := store.GenerateAPIKeySecret()
	env := []string{"SWITCHYARD_TEST_DSN=" + dsn, "SWITCHYARD_ADMIN_KEY=" + adminKey}
	var reps []*replicaProc
	cfgs := map[string]string{}
	for i := 1; i <= 3; i++ {
		id := fmt.Sprintf("r%d", i)
		dir := t.TempDir()
		cfgPath := writeServeConfig(t, dir, hs.URL, sim.AdminEmail())
		b, _ := os.ReadFile(cfgPath)
		cfg := string(b) + fmt.Sprintf("approvals: {sandbox: false, approvers: [%s]}\nclassify: {index: %s}\n", sim.AdminEmail(), filepath.Join(dir, "examples.bleve")) +
			"store: {driver: postgres, dsn: \"${SWITCHYARD_TEST_DSN}\", lease: 3s, replica_id: " + id + "}\n"
		if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		cfgs[id] = cfgPath
		reps = append(reps, startReplicaProc(t, id, cfgPath, env...))
	}
	db, err := store.OpenPostgres(dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()

	cluster := func(p *replicaProc) (clusterView, bool) {
		req, _ := http.NewRequest("GET", p.url+"/api/v1/cluster", nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			return clusterView{}, false
		}
		defer res.Body.Close()
		var c clusterView
		return c, res.StatusCode == 200 && json.NewDecoder(res.Body).Decode(&c) == nil
	}
	live := func() []*replicaProc {
		var out []*replicaProc
		for _, p := range reps {
			if !p.dead {
				out = append(out, p)
			}
		}
		return out
	}
	// waitLeader waits for the live replicas to agree on one leader.
	waitLeader := func(within time.Duration) (*replicaProc, time.Duration) {
		t.Helper()
		t0 := time.Now()
		for {
			var leaders []*replicaProc
			agree := true
			var id string
			for _, p := range live() {
				c, ok := cluster(p)
				if !ok {
					agree = false
					continue
				}
				if c.Leader {
					leaders = append(leaders, p)
				}
				if id == "" {
					id = c.LeaderID
				}
				agree = agree && c.LeaderID == id && id != ""
			}
			if len(leaders) > 1 {
				t.Fatalf("%d replicas lead at once", len(leaders))
			}
			if len(leaders) == 1 && agree && leaders[0].id == id {
				return leaders[0], time.Since(t0)
			}
			if time.Since(t0) > within {
				t.Fatalf("no agreed leader within %s", within)
			}
			time.Sleep(150 * time.Millisecond) // within the API key's rate limit
		}
	}

	// 1. SIGKILL the leader during its first (full) sync.
	leader, _ := waitLeader(30 * time.Second)
	total := len(sim.World().Issues)
	deadline := time.Now().Add(60 * time.Second)
	for {
		c, _ := db.Counts(ctx, "acme")
		if c.Issues > 0 && c.Issues < int64(total) {
			break
		}
		if c.Issues >= int64(total) || time.Now().After(deadline) {
			t.Fatalf("did not catch the full sync under way (%d of %d issues stored)", c.Issues, total)
		}
		time.Sleep(5 * time.Millisecond)
	}
	leader.kill(t)
	firstKilled := leader
	leader, took := waitLeader(2*lease + time.Second)
	t.Logf("failover during the full sync: %s leads after %s (lease %s)", leader.id, took.Round(time.Millisecond), lease)
	if took > 2*lease {
		t.Errorf("takeover took %s, more than 2 x lease", took)
	}
	// Jira changes meanwhile; the new leader's runs pick them up.
	w := sim.World()
	w.RLock()
	first := w.Issues[0].Key
	w.RUnlock()
	newSummary := "Changed during failover"
	if _, err := w.UpdateIssue("", first, jirasim.IssueUpdate{Summary: &newSummary}); err != nil {
		t.Fatal(err)
	}
	triggerSync(t, live()[len(live())-1].url, adminKey)
	waitConvergedToSim(t, db, sim, 90*time.Second)
	lastChange := time.Now()
	waitSearchesAgree(t, db, live(), adminKey, sim.AdminEmail(), lastChange)

	// 2. SIGKILL the leader during write-back.
	// A slower Jira stretches write-back so that the kill lands inside it.
	k := sim.Knobs()
	k.Latency = 250 * time.Millisecond
	if err := sim.SetKnobs(k); err != nil {
		t.Fatal(err)
	}
	var keys []string
	w.RLock()
	reporter := ""
	for _, u := range w.Users {
		if u.Active && u.AccountID != w.AdminAccountID() && u.AccountType == "atlassian" && u.Email != "" {
			reporter = u.AccountID
			break
		}
	}
	w.RUnlock()
	const tickets = 8
	for i := 0; i < tickets; i++ {
		iss, err := w.CreateIssue("", jirasim.IssueCreate{ProjectKey: "ITSM", IssueType: "Service Request", Summary: fmt.Sprintf("Lost my MFA token %d", i),
			Description: "My MFA token is lost, please reset my authenticator.", Reporter: reporter})
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, iss.Key)
	}
	var followers []*replicaProc
	for _, p := range live() {
		if p != leader {
			followers = append(followers, p)
		}
	}
	var approvals []int64
	for i, k := range keys {
		var ing struct {
			State      string `json:"state"`
			ApprovalID int64  `json:"approvalId"`
		}
		code := postJSON(t, followers[i%len(followers)].url+"/api/v1/tickets/ingest", adminKey, map[string]any{"source": "jira", "ticket": map[string]string{
			"issueKey": k, "summary": fmt.Sprintf("Lost my MFA token %d", i), "description": "My MFA token is lost, please reset my authenticator.",
			"reporterEmail": "someone@example.com"}}, &ing)
		if code != http.StatusCreated || ing.ApprovalID == 0 {
			t.Fatalf("ingest %s on a follower: %d %+v", k, code, ing)
		}
		approvals = append(approvals, ing.ApprovalID)
	}
	// Only a key bound to a Jira account decides, as that account.
	var approverKey struct {
		Secret string `json:"secret"`
	}
	if code := postJSON(t, followers[0].url+"/api/v1/keys", adminKey, map[string]any{"name": "approver", "scopes": []string{"approvals:decide"}, "as": sim.AdminEmail()}, &approverKey); code != http.StatusCreated || approverKey.Secret == "" {
		t.Fatalf("create the approver's key on a follower: %d", code)
	}
	for i, id := range approvals {
		var body json.RawMessage
		p := followers[(i+1)%len(followers)]
		if code := postJSON(t, p.url+fmt.Sprintf("/api/v1/approvals/%d/decision", id), approverKey.Secret,
			map[string]string{"decision": "approve", "approver": sim.AdminEmail()}, &body); code != http.StatusOK {
			t.Fatalf("decision %d on a follower: %d %s\n%s", id, code, body, p.stderr.String())
		}
	}
	commented := func() (done int, over []string) {
		w.RLock()
		defer w.RUnlock()
		for _, k := range keys {
			n := len(w.IssueByKey(k).Comments)
			if n >= 1 {
				done++
			}
			if n > 1 {
				over = append(over, k)
			}
		}
		return done, over
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		done, _ := commented()
		if done > 0 && done < tickets {
			break
		}
		if done == tickets || time.Now().After(deadline) {
			t.Fatalf("did not catch the write-back under way (%d of %d tickets commented)", done, tickets)
		}
		time.Sleep(2 * time.Millisecond)
	}
	leader.kill(t)
	k.Latency = 20 * time.Millisecond
	sim.SetKnobs(k)
	leader, took = waitLeader(2*lease + time.Second)
	t.Logf("failover during write-back: %s leads after %s", leader.id, took.Round(time.Millisecond))
	if took > 2*lease {
		t.Errorf("takeover took %s, more than 2 x lease", took)
	}
	// Items the dead leader had claimed come back when their claim lease
	// (one minute) ends.
	deadline = time.Now().Add(150 * time.Second)
	for {
		done, over := commented()
		if len(over) > 0 {
			t.Fatalf("tickets with more than one comment: %v", over)
		}
		if done == tickets {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d tickets commented after the failover", done, tickets)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second) // a late duplicate would show now
	if _, over := commented(); len(over) > 0 {
		t.Fatalf("tickets with more than one comment: %v", over)
	}
	for _, p := range live() {
		var v struct {
			OK bool `json:"ok"`
		}
		if code := getJSON(t, p.url+"/api/v1/audit/verify", adminKey, &v); code != 200 || !v.OK {
			t.Errorf("audit verify on %s: %d %+v", p.id, code, v)
		}
	}
	waitSearchesAgree(t, db, live(), adminKey, sim.AdminEmail(), time.Now())

	// The replica killed first comes back on its data directory: its index
	// catches up from its last applied change and it follows.
	back := startReplicaProc(t, firstKilled.id, cfgs[firstKilled.id], env...)
	reps = append(reps, back)
	waitSearchesAgree(t, db, live(), adminKey, sim.AdminEmail(), time.Now())
	if c, _ := cluster(back); c.Leader || c.LeaderID != leader.id {
		t.Errorf("the restarted replica: %+v, want a follower of %s", c, leader.id)
	}
}

func postJSON(t *testing.T, url, key string, body, v any) int {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", url, bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if v != nil {
		_ = json.NewDecoder(res.Body).Decode(v)
	}
	return res.StatusCode
}

func triggerSync(t *testing.T, url, key string) {
	t.Helper()
	if code := postJSON(t, url+"/api/v1/sync", key, map[string]any{"connection": "acme"}, nil); code != http.StatusAccepted {
		t.Fatalf("trigger sync: %d", code)
	}
}

// waitConvergedToSim waits until the store holds exactly the simulator's
// issues with their summaries.
func waitConvergedToSim(t *testing.T, db *store.DB, sim *jirasim.Server, within time.Duration) {
	t.Helper()
	ctx := context.Background()
	deadline := time.Now().Add(within)
	for {
		want := map[string]string{}
		w := sim.World()
		w.RLock()
		for _, is := range w.Issues {
			want[is.Key] = is.Summary
		}
		w.RUnlock()
		got := map[string]string{}
		err := db.ForEachIssue(ctx, "acme", "", func(is switchyard.Issue) error {
			got[is.Key] = is.Summary
			return nil
		})
		same := err == nil && len(got) == len(want)
		for k, v := range want {
			same = same && got[k] == v
		}
		if same {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("store did not converge to the simulator: %d issues stored, %d in Jira (%v)", len(got), len(want), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// searchOracle is the search total for as over an index built afresh from
// the store (which the test checks against the simulator).
func searchOracle(t *testing.T, db *store.DB, as string) int {
	t.Helper()
	ctx := context.Background()
	idx, err := index.OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	idx.Source = syncer.NewPermissionSource(db)
	var page []switchyard.Issue
	if err := db.ForEachIssue(ctx, "acme", "", func(is switchyard.Issue) error {
		page = append(page, is)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := idx.IndexIssues(ctx, "acme", page); err != nil {
		t.Fatal(err)
	}
	res, err := idx.Search(ctx, index.SearchRequest{Connection: "acme", AsUser: as})
	if err != nil {
		t.Fatal(err)
	}
	return int(res.Total)
}

// waitSearchesAgree waits until every replica's search gives the oracle's
// total with no index lag, within 10 s of the last change.
func waitSearchesAgree(t *testing.T, db *store.DB, reps []*replicaProc, key, as string, lastChange time.Time) {
	t.Helper()
	for {
		totals := []int{searchOracle(t, db, as)}
		agree := true
		for _, p := range reps {
			var sr struct {
				Total int `json:"total"`
			}
			getJSON(t, p.url+"/api/v1/search?q=&as="+as, key, &sr)
			var c clusterView
			getJSON(t, p.url+"/api/v1/cluster", key, &c)
			totals = append(totals, sr.Total)
			agree = agree && c.IndexLag == 0 && sr.Total > 0 && sr.Total == totals[0]
		}
		if agree {
			t.Logf("searches agree with the oracle (%v) %s after the last change", totals, time.Since(lastChange).Round(time.Millisecond))
			return
		}
		if time.Since(lastChange) > 10*time.Second {
			t.Fatalf("searches on the replicas (after the oracle's) disagree 10 s after the last change: %v", totals)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
