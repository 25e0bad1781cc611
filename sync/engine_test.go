package syncer

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard"
	"switchyard/index"
	"switchyard/store"
)

// harness is an engine over a Jira (fake or simulator), a real SQLite file
// and a real bleve index on disk.
type harness struct {
	t    *testing.T
	dir  string
	db   *store.DB
	idx  *index.Index
	eng  *Engine
	conn Connection

	progress func(Progress)
}

func allScope() Scope {
	sc, err := ScopeFrom(switchyard.SyncFilters{})
	if err != nil {
		panic(err)
	}
	return sc
}

func newHarness(t *testing.T, j Jira, sc Scope, set Settings) *harness {
	t.Helper()
	h := &harness{t: t, dir: t.TempDir()}
	h.conn = Connection{Name: "acme", Mode: switchyard.ModeCloud, BaseURL: "https://acme.example", Jira: j, Settings: set, Scope: sc}
	h.open()
	return h
}

func (h *harness) open() {
	t := h.t
	var err error
	if h.db, err = store.Open(filepath.Join(h.dir, "switchyard.db")); err != nil {
		t.Fatal(err)
	}
	if h.idx, err = index.Open(filepath.Join(h.dir, "index.bleve")); err != nil {
		t.Fatal(err)
	}
	var log *slog.Logger
	if os.Getenv("SYNC_TEST_DEBUG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h.eng, err = New(Options{Store: NewStore(h.db), Index: NewIndex(h.idx), Connections: []Connection{h.conn}, Logger: log, Progress: h.progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.close)
}

func (h *harness) close() {
	if h.idx != nil {
		h.idx.Close()
		h.idx = nil
	}
	if h.db != nil {
		h.db.Close()
		h.db = nil
	}
}

// reconfigure reopens the engine with new scope or settings (same data).
func (h *harness) reconfigure(sc Scope, set Settings) {
	h.close()
	h.conn.Scope, h.conn.Settings = sc, set
	h.open()
}

func (h *harness) sync(full bool) RunStats {
	h.t.Helper()
	rs, err := h.eng.SyncOnce(context.Background(), "acme", full)
	if err != nil {
		h.t.Fatalf("sync: %v", err)
	}
	return rs
}

// state is what the store and the index hold: issue id → (comments, attachments).
func (h *harness) state() (stored, indexed map[string][2]int) {
	t := h.t
	t.Helper()
	ctx := context.Background()
	refs, err := h.db.IssueIDs(ctx, "acme", "")
	if err != nil {
		t.Fatal(err)
	}
	stored = map[string][2]int{}
	for _, r := range refs {
		is, err := h.db.Issue(ctx, "acme", r.ID)
		if err != nil {
			t.Fatal(err)
		}
		stored[r.ID] = [2]int{len(is.Comments), len(is.Attachments)}
	}
	ids, err := h.idx.IssueIDs(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	indexed = map[string][2]int{}
	for _, id := range ids {
		indexed[id] = [2]int{}
	}
	return stored, indexed
}

// checkConverged asserts the store holds exactly want (with comment and
// attachment counts) and the index holds exactly the same issues, comments
// and attachments.
func (h *harness) checkConverged(want map[string][2]int) {
	t := h.t
	t.Helper()
	stored, indexed := h.state()
	if diff := diffKeys(want, stored); diff != "" {
		t.Fatalf("store issues differ from Jira: %s", diff)
	}
	for id, w := range want {
		if stored[id] != w {
			t.Errorf("issue %s: stored (comments, attachments) = %v, Jira has %v", id, stored[id], w)
		}
	}
	if diff := diffKeys(want, indexed); diff != "" {
		t.Fatalf("index issues differ from Jira: %s", diff)
	}
	var wc, wa int
	for _, w := range want {
		wc += w[0]
		wa += w[1]
	}
	is, cs, as, err := h.idx.Count(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if is != len(want) || cs != wc || as != wa {
		t.Errorf("index counts (issues, comments, attachments) = (%d, %d, %d), want (%d, %d, %d)", is, cs, as, len(want), wc, wa)
	}
}

func diffKeys[V any](want, got map[string]V) string {
	var missing, extra []string
	for k := range want {
		if _, ok := got[k]; !ok {
			missing = append(missing, k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	if len(missing) == 0 && len(extra) == 0 {
		return ""
	}
	sort.Strings(missing)
	sort.Strings(extra)
	return "missing " + strings.Join(missing, ",") + "; extra " + strings.Join(extra, ",")
}

func smallSettings() Settings {
	return Settings{Concurrency: 4, PageSize: 7, Overlap: 0}
}

func TestFullThenIncrementalConverges(t *testing.T) {
	f := newFakeJira(3, 30)
	h := newHarness(t, f, allScope(), smallSettings())

	rs := h.sync(false)
	if !rs.Full || rs.Reason != "no checkpoint" {
		t.Fatalf("first run: full=%v reason=%q, want a full sync because there is no checkpoint", rs.Full, rs.Reason)
	}
	h.checkConverged(f.expected(h.conn.Scope))
	if got := f.Calls("comments"); got == 0 {
		t.Errorf("no comment paging although issues have more comments than the embedded page")
	}
	// Attachment text was extracted for the text file.
	is, err := h.db.Issue(context.Background(), "acme", "10001")
	if err != nil {
		t.Fatal(err)
	}
	_ = is

	// No change: incremental, nothing written beyond the overlap.
	f.calls = map[string]int{}
	rs = h.sync(false)
	if rs.Full {
		t.Fatalf("second run is full (%s), want incremental", rs.Reason)
	}
	if rs.Issues > 3 {
		t.Errorf("no-change incremental rewrote %d issues", rs.Issues)
	}
	if f.Calls("content") != 0 {
		t.Errorf("no-change incremental downloaded %d attachments", f.Calls("content"))
	}

	// Mutations: create, update, comment, delete, move between projects,
	// membership change.
	var ids []string
	for id := range f.expected(h.conn.Scope) {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	f.mu.Lock()
	created := f.create("BP", true, true)
	f.groups[0].Members = append(f.groups[0].Members, "u2")
	f.mu.Unlock()
	f.update(ids[0], "renamed summary")
	f.comment(ids[1], "a new comment")
	f.remove(ids[2])
	f.move(ids[3], "CP")
	rs = h.sync(false)
	if rs.Full {
		t.Fatalf("run after mutations is full (%s)", rs.Reason)
	}
	h.checkConverged(f.expected(h.conn.Scope))
	got, err := h.db.Issue(context.Background(), "acme", ids[0])
	if err != nil || got.Summary != "renamed summary" {
		t.Errorf("updated issue: summary %q, err %v", got.Summary, err)
	}
	moved, err := h.db.Issue(context.Background(), "acme", ids[3])
	if err != nil || moved.ProjectKey != "CP" || !strings.HasPrefix(moved.Key, "CP-") {
		t.Errorf("moved issue: project %q key %q err %v, want project CP", moved.ProjectKey, moved.Key, err)
	}
	if _, err := h.db.Issue(context.Background(), "acme", created.ID); err != nil {
		t.Errorf("created issue not stored: %v", err)
	}
	groups, err := h.db.Groups(context.Background(), "acme")
	if err != nil || len(groups) != 1 || len(groups[0].Members) != 2 {
		t.Errorf("membership change not synced: %+v %v", groups, err)
	}
	if rs.Deleted != 1 {
		t.Errorf("deleted = %d, want 1 (via the audit log)", rs.Deleted)
	}
}

func TestFilterChangeTriggersFullAndSweeps(t *testing.T) {
	f := newFakeJira(3, 10)
	h := newHarness(t, f, allScope(), smallSettings())
	h.sync(false)
	h.checkConverged(f.expected(h.conn.Scope))

	sc, err := ScopeFrom(switchyard.SyncFilters{Projects: switchyard.ProjectFilter{NotIn: []string{"BP"}}})
	if err != nil {
		t.Fatal(err)
	}
	h.reconfigure(sc, smallSettings())
	rs := h.sync(false)
	if !rs.Full || rs.Reason != "filters changed" {
		t.Fatalf("after filter change: full=%v reason=%q", rs.Full, rs.Reason)
	}
	h.checkConverged(f.expected(sc))

	// Comments toggled off: they are removed and never fetched again.
	off := false
	sc2, _ := ScopeFrom(switchyard.SyncFilters{Index: switchyard.IndexToggles{Comments: &off}})
	h.reconfigure(sc2, smallSettings())
	f.calls = map[string]int{}
	rs = h.sync(false)
	if !rs.Full {
		t.Fatalf("toggle change did not force a full sync")
	}
	h.checkConverged(f.expected(sc2))
	if f.Calls("comments") != 0 {
		t.Errorf("comments paged although excluded")
	}
}

func TestDeletionWithoutAuditRightsFoundByReconciliation(t *testing.T) {
	f := newFakeJira(2, 10)
	h := newHarness(t, f, allScope(), smallSettings())
	h.sync(false)
	f.auditErr = switchyard.Errorf(switchyard.ErrForbidden, "403 from auditing/record")
	for id := range f.expected(h.conn.Scope) {
		f.remove(id)
		break
	}
	rs := h.sync(false)
	h.checkConverged(f.expected(h.conn.Scope))
	if rs.Deleted != 1 {
		t.Errorf("deleted = %d, want 1", rs.Deleted)
	}
	if len(rs.Warnings) != 1 || !strings.HasPrefix(rs.Warnings[0], "audit log not readable: ") {
		t.Errorf("warnings = %q, want one starting with 'audit log not readable: '", rs.Warnings)
	}
	st, err := h.eng.Status(context.Background(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Warnings) != 1 {
		t.Errorf("status warnings = %q, want the audit warning", st.Warnings)
	}
}

func TestReconciliationRemovesSilentDeletions(t *testing.T) {
	f := newFakeJira(2, 10)
	set := smallSettings()
	set.ReconcileInterval = time.Nanosecond // every run
	h := newHarness(t, f, allScope(), set)
	h.sync(false)
	// Deleted without an audit record (e.g. the account lost access).
	f.mu.Lock()
	for id := range f.issues {
		delete(f.issues, id)
		break
	}
	f.mu.Unlock()
	rs := h.sync(false)
	h.checkConverged(f.expected(h.conn.Scope))
	if rs.Deleted != 1 {
		t.Errorf("deleted = %d, want 1 by reconciliation", rs.Deleted)
	}
}

func TestAttachmentFailureRecordedAndRetried(t *testing.T) {
	f := newFakeJira(1, 6)
	var att string
	for _, is := range f.issues {
		for _, a := range is.Attachments {
			if a.MimeType == "text/plain" {
				att = a.ID
			}
		}
	}
	f.contentFails[att] = 1
	h := newHarness(t, f, allScope(), smallSettings())
	rs := h.sync(false)
	if rs.Failures != 1 {
		t.Fatalf("failures = %d, want 1", rs.Failures)
	}
	c, _ := h.db.Counts(context.Background(), "acme")
	if c.AttachmentsFailed != 1 {
		t.Fatalf("store records %d failed attachments, want 1", c.AttachmentsFailed)
	}
	rs = h.sync(false)
	c, _ = h.db.Counts(context.Background(), "acme")
	if c.AttachmentsFailed != 0 || c.AttachmentsPending != 0 {
		t.Fatalf("after retry: %d failed, %d pending, want 0", c.AttachmentsFailed, c.AttachmentsPending)
	}
	found := false
	for _, is := range f.issues {
		for _, a := range is.Attachments {
			if a.ID == att {
				st, _ := h.db.Attachments(context.Background(), "acme", is.ID)
				for _, s := range st {
					if s.ID == att && s.Text == string(f.content[att]) {
						found = true
					}
				}
			}
		}
	}
	if !found {
		t.Errorf("retried attachment text not stored")
	}
}

func TestCrashMidPageResumesFull(t *testing.T) {
	f := newFakeJira(2, 40)
	set := smallSettings()
	set.Concurrency = 1
	h := newHarness(t, f, allScope(), set)
	f.bulkFailAt = 3
	if _, err := h.eng.SyncOnce(context.Background(), "acme", false); err == nil {
		t.Fatal("sync with an injected failure succeeded")
	}
	f.bulkFailAt = 0
	rs := h.sync(false)
	if !rs.Full || rs.Reason != "resuming an interrupted full sync" {
		t.Fatalf("rerun: full=%v reason=%q", rs.Full, rs.Reason)
	}
	h.checkConverged(f.expected(h.conn.Scope))
	runs, _ := h.db.Runs(context.Background(), "acme", 5)
	if len(runs) != 2 || runs[1].State != store.RunFailed || runs[0].State != store.RunSucceeded {
		t.Errorf("runs = %+v", runs)
	}
}

func TestDataCenterWindows(t *testing.T) {
	f := newFakeJira(2, 30)
	h := newHarness(t, f, allScope(), smallSettings())
	h.conn.Mode = switchyard.ModeDataCenter
	h.reconfigure(h.conn.Scope, h.conn.Settings)
	old := dcWindowLimit
	dcWindowLimit = 12 // force several updated windows per project
	defer func() { dcWindowLimit = old }()
	h.sync(false)
	h.checkConverged(f.expected(h.conn.Scope))
	if f.Calls("bulkfetch") != 0 || f.Calls("dcsearch") == 0 {
		t.Errorf("Data Center path used bulkfetch %d times and search %d times", f.Calls("bulkfetch"), f.Calls("dcsearch"))
	}
}

func TestTriggerCoalesces(t *testing.T) {
	f := newFakeJira(1, 3)
	h := newHarness(t, f, allScope(), Settings{Strategy: "manual"})
	runs := 0
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Queue three triggers before the loop runs: they coalesce into one run.
	for i := 0; i < 3; i++ {
		if err := h.eng.Trigger("acme", false); err != nil {
			t.Fatal(err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- h.eng.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		rs, _ := h.db.Runs(context.Background(), "acme", 10)
		runs = len(rs)
		if runs > 0 && rs[0].State != store.RunRunning {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	rs, _ := h.db.Runs(context.Background(), "acme", 10)
	if len(rs) != 1 {
		t.Errorf("three coalesced triggers ran %d times, want 1", len(rs))
	}
	if err := h.eng.Trigger("nope", false); !errors.Is(err, ErrUnknownConnection) {
		t.Errorf("trigger of an unknown connection: %v", err)
	}
}

func TestRefreshAndRemoveIssue(t *testing.T) {
	f := newFakeJira(2, 5)
	h := newHarness(t, f, allScope(), smallSettings())
	h.sync(false)
	var id string
	for k := range f.expected(h.conn.Scope) {
		id = k
		break
	}
	f.update(id, "changed via webhook")
	if err := h.eng.RefreshIssue(context.Background(), "acme", id); err != nil {
		t.Fatal(err)
	}
	got, _ := h.db.Issue(context.Background(), "acme", id)
	if got.Summary != "changed via webhook" {
		t.Errorf("refreshed summary %q", got.Summary)
	}
	if err := h.eng.RemoveIssue(context.Background(), "acme", id); err != nil {
		t.Fatal(err)
	}
	if _, err := h.db.Issue(context.Background(), "acme", id); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("removed issue still stored: %v", err)
	}
	ids, _ := h.idx.IssueIDs(context.Background(), "acme")
	for _, x := range ids {
		if x == id {
			t.Errorf("removed issue still indexed")
		}
	}
}

func TestScheduleRunsRepeatedlyWithoutOverlap(t *testing.T) {
	f := newFakeJira(1, 5)
	h := newHarness(t, f, allScope(), Settings{Strategy: "scheduled", Interval: 150 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 1500*time.Millisecond)
	defer cancel()
	if err := h.eng.Run(ctx); err != nil {
		t.Fatal(err)
	}
	runs, err := h.eng.store.Runs(context.Background(), "acme", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) < 3 {
		t.Fatalf("%d scheduled runs in 1.5s at a 150ms interval, want at least 3", len(runs))
	}
	// Newest first: each run starts after the previous one finished.
	for i := 0; i+1 < len(runs); i++ {
		prev, next := runs[i+1], runs[i]
		if !prev.Finished.IsZero() && next.Started.Before(prev.Finished.Truncate(time.Millisecond)) {
			t.Errorf("run %d started at %s before run %d finished at %s", next.ID, next.Started, prev.ID, prev.Finished)
		}
	}
	if !runs[len(runs)-1].Full || runs[len(runs)-2].Full {
		t.Errorf("first scheduled run should be full, the next incremental")
	}
}

func TestProgressReported(t *testing.T) {
	f := newFakeJira(2, 40)
	var mu sync.Mutex
	var events []Progress
	h := &harness{t: t, dir: t.TempDir(), progress: func(p Progress) {
		mu.Lock()
		events = append(events, p)
		mu.Unlock()
	}}
	h.conn = Connection{Name: "acme", Jira: f, Settings: smallSettings(), Scope: allScope()}
	h.open()
	rs := h.sync(false)
	mu.Lock()
	defer mu.Unlock()
	var order []string
	last := map[string]Progress{}
	for _, e := range events {
		if len(order) == 0 || order[len(order)-1] != e.Stage {
			order = append(order, e.Stage)
		}
		last[e.Stage] = e
	}
	if strings.Join(order, ",") != strings.Join(Stages, ",") {
		t.Errorf("stages reported in order %v, want %v", order, Stages)
	}
	is := last[StageIssues]
	if is.Total != rs.Issues || is.Done != rs.Issues {
		t.Errorf("issues progress %d/%d, want %d/%d", is.Done, is.Total, rs.Issues, rs.Issues)
	}
}
