package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"

	"switchyard/connector/jirasim"
	_ "switchyard/index" // registers the analysis (word pairs) the index's mapping names
	"switchyard/runbook"
	"switchyard/store"
)

// fingerprint summarises the simulator's issues, comments and attachments;
// it changes whenever any of them does.
func (s *Soak) fingerprint() string {
	s.world.RLock()
	defer s.world.RUnlock()
	var n, c, a int
	var last time.Time
	for _, iss := range s.world.Issues {
		n++
		c += len(iss.Comments)
		a += len(iss.Attachments)
		if iss.Updated.After(last) {
			last = iss.Updated
		}
	}
	return fmt.Sprintf("%d/%d/%d/%d", n, c, a, last.UnixMilli())
}

type runStats struct {
	ID    int64  `json:"id"`
	Full  bool   `json:"full"`
	State string `json:"state"`
	Error string `json:"error"`
}

type syncStatus struct {
	Connections []struct {
		State    string     `json:"state"`
		LastRuns []runStats `json:"lastRuns"`
	} `json:"connections"`
}

func (s *Soak) status(ctx context.Context) (string, []runStats, error) {
	var st syncStatus
	if _, err := s.api(ctx, "GET", "/api/v1/sync/status?connection="+conn, nil, &st); err != nil {
		return "", nil, err
	}
	if len(st.Connections) == 0 {
		return "", nil, errors.New("sync status lists no connection")
	}
	return st.Connections[0].State, st.Connections[0].LastRuns, nil
}

// fullSync triggers a full sync and waits until a full run that started
// after the trigger has finished; it retries a failed run.
func (s *Soak) fullSync(ctx context.Context) error {
	for attempt := 1; attempt <= 4; attempt++ {
		_, runs, err := s.status(ctx)
		if err != nil {
			return fmt.Errorf("final sync: %w", err)
		}
		var prev int64
		for _, r := range runs {
			prev = max(prev, r.ID)
		}
		if _, err := s.api(ctx, "POST", "/api/v1/sync", map[string]any{"connection": conn, "full": true}, nil); err != nil {
			return fmt.Errorf("final sync: trigger: %w", err)
		}
		deadline := time.Now().Add(5 * time.Minute)
		var done *runStats
		for done == nil && time.Now().Before(deadline) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(500 * time.Millisecond):
			}
			state, runs, err := s.status(ctx)
			if err != nil {
				continue
			}
			for i := range runs {
				r := runs[i]
				if r.ID > prev && r.Full && r.State != "" && r.State != "running" && state == "idle" {
					done = &r
				}
			}
		}
		if done == nil {
			return errors.New("final sync: no full run finished within 5 minutes")
		}
		if done.State == "succeeded" {
			return nil
		}
		fmt.Fprintf(s.opts.Log, "soak: final full sync #%d %s (%s); retrying\n", done.ID, done.State, done.Error)
	}
	return errors.New("final sync: four full runs in a row did not succeed")
}

// settle waits until the simulator stops changing (write-backs of decided
// approvals land there) for quiet, at most limit.
func (s *Soak) settle(ctx context.Context, quiet, limit time.Duration) {
	end := time.Now().Add(limit)
	fp, since := s.fingerprint(), time.Now()
	for time.Now().Before(end) && ctx.Err() == nil {
		time.Sleep(250 * time.Millisecond)
		if f := s.fingerprint(); f != fp {
			fp, since = f, time.Now()
		} else if time.Since(since) >= quiet {
			return
		}
	}
}

// finish turns faults off, lets the pipeline settle, runs a final full
// sync (again while the simulator changed under it), stops the daemon and
// compares everything.
func (s *Soak) finish(ctx context.Context) ([]string, FinalCounts, error) {
	var fc FinalCounts
	if err := s.sim.SetKnobs(jirasim.Knobs{}); err != nil {
		return nil, fc, err
	}
	s.dmu.Lock()
	up := s.daemon != nil
	s.dmu.Unlock()
	if !up {
		if err := s.startDaemon(ctx); err != nil {
			return nil, fc, err
		}
	}
	s.settle(ctx, 4*time.Second, 60*time.Second)
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	_ = s.world.FlushWebhooks(fctx)
	cancel()
	for i := 0; i < 3; i++ {
		before := s.fingerprint()
		if err := s.fullSync(ctx); err != nil {
			return nil, fc, err
		}
		s.settle(ctx, 3*time.Second, 30*time.Second)
		if s.fingerprint() == before {
			break
		}
		fmt.Fprintf(s.opts.Log, "soak: the simulator changed during the final sync (write-backs); syncing again\n")
	}
	s.stopDaemon()
	return s.compare(ctx)
}

// compare opens the daemon's SQLite store and bleve index (the daemon is
// stopped) and checks them, the ticket runs, the write-back comments and the
// audit chain against the simulator.
func (s *Soak) compare(ctx context.Context) ([]string, FinalCounts, error) {
	var fc FinalCounts
	var bad []string
	// The daemon syncs as the simulator's admin: what that account may see
	// (restricted comments of groups it is not in stay hidden, as in Jira).
	want := map[string]bool{} // "issue/ID", "comment/ISSUE/ID", "attachment/ISSUE/ID"
	wantKey := map[string]string{}
	admin := s.world.AdminAccountID()
	s.world.RLock()
	for _, iss := range s.world.Issues {
		if !s.world.CanSeeLocked(admin, iss, nil) {
			continue
		}
		want["issue/"+iss.ID] = true
		wantKey[iss.ID] = iss.Key
		fc.Issues++
		for _, c := range iss.Comments {
			if s.world.CanSeeLocked(admin, iss, c) {
				want["comment/"+iss.ID+"/"+c.ID] = true
				fc.Comments++
			}
		}
		for _, a := range iss.Attachments {
			want["attachment/"+iss.ID+"/"+a.ID] = true
			fc.Attachments++
		}
	}
	s.world.RUnlock()

	data := filepath.Join(s.dir, "data")
	db, err := store.Open(filepath.Join(data, "switchyard.db"))
	if err != nil {
		return nil, fc, fmt.Errorf("open store: %w", err)
	}
	defer db.Close()
	refs, err := db.IssueIDs(ctx, conn, "")
	if err != nil {
		return nil, fc, err
	}
	got := map[string]bool{}
	for _, ref := range refs {
		is, err := db.Issue(ctx, conn, ref.ID)
		if err != nil {
			return nil, fc, fmt.Errorf("store issue %s: %w", ref.ID, err)
		}
		got["issue/"+is.ID] = true
		if k, ok := wantKey[is.ID]; ok && k != is.Key {
			bad = append(bad, fmt.Sprintf("store: issue %s has key %s, the simulator %s", is.ID, is.Key, k))
		}
		for _, c := range is.Comments {
			got["comment/"+is.ID+"/"+c.ID] = true
		}
		for _, a := range is.Attachments {
			got["attachment/"+is.ID+"/"+a.ID] = true
		}
	}
	bad = append(bad, diff("store", want, got)...)

	// Identity: every group membership of the simulator, and no other.
	wantM, gotM := map[string]bool{}, map[string]bool{}
	for _, g := range s.world.State().Groups {
		for _, m := range g.Members {
			wantM["member/"+g.GroupID+"/"+m] = true
		}
	}
	groups, err := db.Groups(ctx, conn)
	if err != nil {
		return nil, fc, err
	}
	for _, g := range groups {
		for _, m := range g.Members {
			gotM["member/"+g.ID+"/"+m] = true
		}
	}
	bad = append(bad, diff("store group members", wantM, gotM)...)

	ix, err := bleve.Open(filepath.Join(data, "index.bleve"))
	if err != nil {
		return nil, fc, fmt.Errorf("open index: %w", err)
	}
	docs, err := allDocIDs(ix)
	ix.Close()
	if err != nil {
		return nil, fc, fmt.Errorf("read index: %w", err)
	}
	idx := map[string]bool{}
	for _, id := range docs {
		if rest, ok := strings.CutPrefix(id, conn+"/"); ok {
			idx[rest] = true
		} else {
			bad = append(bad, "index: document of an unknown connection: "+id)
		}
	}
	bad = append(bad, diff("index", want, idx)...)

	m, runs, wb, err := s.checkRuns(ctx, db)
	if err != nil {
		return nil, fc, err
	}
	bad = append(bad, m...)
	fc.Runs, fc.WritebackComments = runs, wb

	out, err := exec.CommandContext(ctx, s.bin, "audit", "verify", "--config", s.cfgPath).CombinedOutput()
	fc.AuditRecords = strings.TrimSpace(string(out))
	if err != nil {
		bad = append(bad, fmt.Sprintf("switchyard audit verify: %v: %s", err, fc.AuditRecords))
	}
	return bad, fc, nil
}

// diff lists what one side has that the other lacks, at most 10 of each.
func diff(where string, want, got map[string]bool) []string {
	var missing, extra []string
	for k := range want {
		if !got[k] {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if !want[k] {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	var out []string
	if len(missing) > 0 {
		out = append(out, fmt.Sprintf("%s lacks %d documents the simulator has, e.g. %s", where, len(missing), strings.Join(missing[:min(10, len(missing))], ", ")))
	}
	if len(extra) > 0 {
		out = append(out, fmt.Sprintf("%s has %d documents the simulator does not, e.g. %s", where, len(extra), strings.Join(extra[:min(10, len(extra))], ", ")))
	}
	return out
}

// allDocIDs pages through every document id of the index.
func allDocIDs(ix bleve.Index) ([]string, error) {
	const page = 5000
	var out []string
	var after []string
	for {
		req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), page, 0, false)
		req.SortBy([]string{"_id"})
		req.Score = "none"
		if after != nil {
			req.SearchAfter = after
		}
		res, err := ix.Search(req)
		if err != nil {
			return nil, err
		}
		for _, h := range res.Hits {
			out = append(out, h.ID)
		}
		if len(res.Hits) < page {
			return out, nil
		}
		after = []string{res.Hits[len(res.Hits)-1].ID}
	}
}

// checkRuns: every ticket the API took has exactly its one run (the id the
// API returned), and no issue carries more than one write-back comment per
// run (nor more than one in all).
func (s *Soak) checkRuns(ctx context.Context, db *store.DB) (bad []string, runs, writebacks int, err error) {
	all, err := db.TicketRuns(ctx, "", 1_000_000)
	if err != nil {
		return nil, 0, 0, err
	}
	perKey := map[string][]int64{}
	for _, r := range all {
		perKey[r.Conn+"/"+r.IssueKey] = append(perKey[r.Conn+"/"+r.IssueKey], r.ID)
	}
	runs = len(all)
	s.imu.Lock()
	ingested := make(map[string]int64, len(s.ingested))
	for k, v := range s.ingested {
		ingested[k] = v
	}
	s.imu.Unlock()
	for key, id := range ingested {
		ids := perKey[conn+"/"+key]
		if len(ids) != 1 || ids[0] != id {
			bad = append(bad, fmt.Sprintf("ticket %s: want exactly run %d, the store has runs %v", key, id, ids))
		}
	}
	for key, ids := range perKey {
		if len(ids) > 1 {
			bad = append(bad, fmt.Sprintf("ticket %s has %d runs %v", key, len(ids), ids))
		}
	}
	// Write-back comments carry the runbook.CommentProperty with the run id.
	s.world.RLock()
	defer s.world.RUnlock()
	for _, r := range all {
		iss := s.world.IssueByKey(r.IssueKey)
		if iss == nil {
			continue // deleted (or never existed in Jira)
		}
		n := 0
		for _, c := range iss.Comments {
			raw, ok := c.Properties[runbook.CommentProperty]
			if !ok {
				continue
			}
			var p struct {
				RunID int64 `json:"runId"`
			}
			if json.Unmarshal(raw, &p) == nil && p.RunID == r.ID {
				n++
			}
		}
		writebacks += n
		if n > 1 {
			bad = append(bad, fmt.Sprintf("ticket %s (run %d) has %d write-back comments", r.IssueKey, r.ID, n))
		}
	}
	return bad, runs, writebacks, nil
}
