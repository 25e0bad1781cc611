package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"

	"switchyard"
	"switchyard/connector/jirasim"
	"switchyard/index"
	"switchyard/store"
)

// oldIndexVersion is what the previous release stamped its index with.
const oldIndexVersion = "switchyard-index-1"

// stampIndex stamps the index at path with version, as an older binary
// would have left it (the key is the index package's internal version key),
// and adds a document no version of Switchyard writes, to tell the old index
// from a rebuilt one.
func stampIndex(t *testing.T, path, version string) {
	t.Helper()
	var b bleve.Index
	var err error
	if _, serr := os.Stat(path); errors.Is(serr, os.ErrNotExist) {
		b, err = bleve.New(path, bleve.NewIndexMapping())
	} else {
		b, err = bleve.Open(path)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.SetInternal([]byte("switchyard.mapping"), []byte(version)); err != nil {
		t.Fatal(err)
	}
	if err := b.Index("old-binary-marker", map[string]any{"summary": "left by an old binary"}); err != nil {
		t.Fatal(err)
	}
}

// oldIndexState is what a test checks to see that an old index was left alone.
func oldIndexState(t *testing.T, path string) (version string, marker bool) {
	t.Helper()
	b, err := bleve.Open(path)
	if err != nil {
		t.Fatalf("open %s with bleve: %v", path, err)
	}
	defer b.Close()
	v, err := b.GetInternal([]byte("switchyard.mapping"))
	if err != nil {
		t.Fatal(err)
	}
	d, err := b.Document("old-binary-marker")
	if err != nil {
		t.Fatal(err)
	}
	return string(v), d != nil
}

func checkpointCount(t *testing.T, db *store.DB, conn string) int {
	t.Helper()
	cps, err := db.Checkpoints(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	return len(cps)
}

// TestSyncRebuildsIndexOfOtherVersion upgrades a data directory synced by
// an "older binary" (its index stamped with the previous version) by running
// `switchyard sync` of one of two connections against the simulator over
// HTTP: the index is rebuilt for this version, both connections' checkpoints
// are reset so that each one's next sync is full, and after those syncs the
// index holds everything again; later syncs are incremental.
func TestSyncRebuildsIndexOfOtherVersion(t *testing.T) {
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 11, Projects: 3, Issues: 40}})
	hs := httptest.NewServer(sim)
	defer hs.Close()
	defer sim.Close()
	sim.SetBaseURL(hs.URL)

	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "switchyard.yaml")
	conn := func(name string) string {
		return `  - name: ` + name + `
    kind: cloud
    url: ` + hs.URL + `
    auth: {type: api_token, email: admin@example.com, token: ` + jirasim.DefaultAdminToken + `}
    requests_per_second: 1000
    concurrency: 4
`
	}
	if err := os.WriteFile(cfg, []byte("data_dir: "+data+"\nconnections:\n"+conn("a")+conn("b")), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	sync := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := run(ctx, append([]string{"sync", "--config", cfg, "--no-progress"}, args...), &out, &errb); code != 0 {
			t.Fatalf("sync %v: exit %d\n%s\n%s", args, code, out.String(), errb.String())
		}
		return out.String()
	}
	counts := func(conn string) [3]int {
		t.Helper()
		idx, err := index.Open(filepath.Join(data, indexDir))
		if err != nil {
			t.Fatalf("open the index: %v", err)
		}
		defer idx.Close()
		i, c, a, err := idx.Count(ctx, conn)
		if err != nil {
			t.Fatal(err)
		}
		return [3]int{i, c, a}
	}
	resp, err := http.Get(hs.URL + "/_sim/state")
	if err != nil {
		t.Fatal(err)
	}
	var st jirasim.State
	err = json.NewDecoder(resp.Body).Decode(&st)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}

	// The data directory as the old binary left it: synced, checkpoints set.
	sync()
	synced := counts("a")
	if synced[0] != len(st.Issues) || counts("b") != synced {
		t.Fatalf("first sync indexed a %v, b %v; the simulator has %d issues", synced, counts("b"), len(st.Issues))
	}
	path := filepath.Join(data, indexDir)
	stampIndex(t, path, oldIndexVersion)
	db, err := store.Open(filepath.Join(data, storeFile))
	if err != nil {
		t.Fatal(err)
	}
	if checkpointCount(t, db, "a") == 0 || checkpointCount(t, db, "b") == 0 {
		t.Fatal("no checkpoints after the first sync")
	}
	db.Close()

	// The new binary syncs one connection.
	out := sync("--connection", "a")
	if !strings.Contains(out, "a: full sync") {
		t.Fatalf("the sync after the upgrade is not full:\n%s", out)
	}
	if _, marker := oldIndexState(t, path); marker {
		t.Fatal("the old index's documents survived the rebuild")
	}
	if got := counts("a"); got != synced {
		t.Fatalf("after the rebuild and full sync of a, the index holds %v of a; want %v", got, synced)
	}
	if got := counts("b"); got != [3]int{} {
		t.Fatalf("b was not synced yet but the rebuilt index holds %v of it", got)
	}
	db, err = store.Open(filepath.Join(data, storeFile))
	if err != nil {
		t.Fatal(err)
	}
	if n := checkpointCount(t, db, "b"); n != 0 {
		t.Fatalf("b keeps %d checkpoints after the index was rebuilt; its next sync would be incremental", n)
	}
	if checkpointCount(t, db, "a") == 0 {
		t.Fatal("a has no checkpoints after its full sync")
	}
	db.Close()
	entries, err := os.ReadDir(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), indexDir+".") {
			t.Errorf("the old index was left behind as %s", e.Name())
		}
	}

	// b's next sync is full (the other process's checkpoints were reset);
	// then everything is incremental again.
	if out := sync("--connection", "b"); !strings.Contains(out, "b: full sync") {
		t.Fatalf("b's first sync after the rebuild is not full:\n%s", out)
	}
	if got := counts("b"); got != synced {
		t.Fatalf("after b's full sync the index holds %v of b; want %v", got, synced)
	}
	out = sync()
	if !strings.Contains(out, "a: incremental sync") || !strings.Contains(out, "b: incremental sync") {
		t.Fatalf("the syncs after the rebuild are not incremental:\n%s", out)
	}
}

// TestOpenSyncIndex checks openSyncIndex on a real store and index: what it
// rebuilds, the order it leaves things in after a crash, and what it must
// not touch.
func TestOpenSyncIndex(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (string, *store.DB) {
		dir := t.TempDir()
		db, err := store.Open(filepath.Join(dir, storeFile))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		// "gone" is no longer configured but still has state in the store.
		for _, c := range []string{"a", "gone"} {
			if err := db.SetFilterHash(ctx, c, "h"); err != nil {
				t.Fatal(err)
			}
			for _, stage := range []string{"last_success", "issues", "full"} {
				if err := db.SetCheckpoint(ctx, store.Checkpoint{Conn: c, Stage: stage, Scope: "", Cursor: "x"}); err != nil {
					t.Fatal(err)
				}
			}
		}
		return filepath.Join(dir, indexDir), db
	}
	logger := func() (*slog.Logger, *bytes.Buffer) {
		var buf bytes.Buffer
		return slog.New(slog.NewTextHandler(&buf, nil)), &buf
	}

	t.Run("other version", func(t *testing.T) {
		path, db := setup(t)
		stampIndex(t, path, oldIndexVersion)
		unrelated := path + ".old-notes" // not ours: a rebuild never leaves such a name
		if err := os.WriteFile(unrelated, []byte("keep"), 0o600); err != nil {
			t.Fatal(err)
		}
		log, buf := logger()
		idx, err := openSyncIndex(ctx, path, db, []string{"a", "b"}, log)
		if err != nil {
			t.Fatal(err)
		}
		idx.Close()
		if _, marker := oldIndexState(t, path); marker {
			t.Error("the old index's documents survived")
		}
		if idx, err := index.Open(path); err != nil {
			t.Errorf("the rebuilt index does not open: %v", err)
		} else {
			idx.Close()
		}
		for _, c := range []string{"a", "gone"} {
			if n := checkpointCount(t, db, c); n != 0 {
				t.Errorf("%s keeps %d checkpoints", c, n)
			}
		}
		if _, err := os.Stat(unrelated); err != nil {
			t.Errorf("a file that is not an old index was removed: %v", err)
		}
		line := buf.String()
		for _, want := range []string{"level=WARN", "rebuilt", "full sync", oldIndexVersion, "connections=\"[a b gone]\""} {
			if !strings.Contains(line, want) {
				t.Errorf("warning %q lacks %q", line, want)
			}
		}
		if n := strings.Count(line, "\n"); n != 1 {
			t.Errorf("%d log lines, want 1:\n%s", n, line)
		}
	})

	t.Run("crash after moving the old index aside", func(t *testing.T) {
		// The checkpoints were reset and the old index renamed, then the
		// process died: the next open creates the index, removes the
		// leftover and, the checkpoints being gone, the next sync is full.
		path, db := setup(t)
		stampIndex(t, path+".old-1700000000", oldIndexVersion)
		for _, c := range []string{"a", "gone"} {
			if err := db.DeleteCheckpoints(ctx, c, ""); err != nil {
				t.Fatal(err)
			}
		}
		log, buf := logger()
		idx, err := openSyncIndex(ctx, path, db, []string{"a"}, log)
		if err != nil {
			t.Fatal(err)
		}
		idx.Close()
		if _, err := os.Stat(path + ".old-1700000000"); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("the leftover old index is still there: %v", err)
		}
		if buf.Len() != 0 {
			t.Errorf("unexpected log:\n%s", buf.String())
		}
	})

	t.Run("current version and other errors change nothing", func(t *testing.T) {
		path, db := setup(t)
		idx, err := index.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		idx.Close()
		if idx, err = openSyncIndex(ctx, path, db, []string{"a"}, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		idx.Close()
		if idx, err = openSyncIndex(ctx, path, db, []string{"a"}, slog.New(slog.DiscardHandler)); err != nil {
			t.Fatal(err)
		}
		idx.Close()
		// A plain file where the index should be is not an index of
		// another version: it is reported, not deleted.
		file := filepath.Join(t.TempDir(), indexDir)
		if err := os.WriteFile(file, []byte("not an index"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := openSyncIndex(ctx, file, db, []string{"a"}, slog.New(slog.DiscardHandler)); err == nil {
			t.Fatal("a plain file opened as an index")
		}
		if b, err := os.ReadFile(file); err != nil || string(b) != "not an index" {
			t.Errorf("the plain file changed: %q, %v", b, err)
		}
		for _, c := range []string{"a", "gone"} {
			if n := checkpointCount(t, db, c); n != 3 {
				t.Errorf("%s has %d checkpoints, want its 3 kept", c, n)
			}
		}
	})

	// A missing index next to a store that has synced, and a damaged one,
	// are replaced like one of another version: the checkpoints go, so the
	// next sync is full, and the reason is recorded for status.
	for _, c := range []struct {
		name, want string
		spoil      func(t *testing.T, path string)
	}{
		{"missing", "was missing", func(t *testing.T, path string) {}},
		{"damaged segment", "damaged", func(t *testing.T, path string) {
			idx, err := index.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := idx.IndexIssues(ctx, "a", []switchyard.Issue{{ID: "1", Key: "A-1", ProjectID: "10", ProjectKey: "A", Summary: "x"}}); err != nil {
				t.Fatal(err)
			}
			idx.Close()
			zaps, _ := filepath.Glob(filepath.Join(path, "store", "*.zap"))
			if len(zaps) == 0 {
				t.Fatal("no segment file")
			}
			for _, z := range zaps { // any may be the live one
				f, err := os.OpenFile(z, os.O_RDWR, 0)
				if err != nil {
					t.Fatal(err)
				}
				f.WriteAt([]byte("damage damage damage"), 100)
				f.Close()
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			path, db := setup(t)
			c.spoil(t, path)
			log, buf := logger()
			idx, err := openSyncIndex(ctx, path, db, []string{"a"}, log)
			if err != nil {
				t.Fatal(err)
			}
			idx.Close()
			for _, conn := range []string{"a", "gone"} {
				if n := checkpointCount(t, db, conn); n != 0 {
					t.Errorf("%s keeps %d checkpoints", conn, n)
				}
				r, ok, err := db.IndexReset(ctx, conn)
				if err != nil || !ok || !strings.Contains(r.Reason, c.want) || r.RefilledBy != 0 {
					t.Errorf("%s: index reset %+v, %v, %v; want one saying %q", conn, r, ok, err, c.want)
				}
			}
			if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "full sync") {
				t.Errorf("no warning:\n%s", buf.String())
			}
		})
	}
}

// TestSearchRefusesIndexOfOtherVersion: `switchyard search` only reads, so
// on an index of another version it says how to rebuild it and deletes
// nothing.
func TestSearchRefusesIndexOfOtherVersion(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "switchyard.yaml")
	if err := os.WriteFile(cfg, []byte(`data_dir: `+data+`
connections:
  - name: sim
    kind: cloud
    url: https://jira.example
    auth: {type: api_token, email: admin@example.com, token: x}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(data, indexDir)
	stampIndex(t, path, oldIndexVersion)
	ctx := context.Background()
	db, err := store.Open(filepath.Join(data, storeFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetCheckpoint(ctx, store.Checkpoint{Conn: "sim", Stage: "last_success", Cursor: "x"}); err != nil {
		t.Fatal(err)
	}
	db.Close()

	var out, errb bytes.Buffer
	code := run(ctx, []string{"search", "--config", cfg, "--as", "admin@example.com", "vpn"}, &out, &errb)
	if code == 0 {
		t.Fatalf("search of an index of another version succeeded:\n%s", out.String())
	}
	msg := errb.String()
	for _, want := range []string{path, oldIndexVersion, "switchyard sync --config " + cfg, "rebuild"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q lacks %q", msg, want)
		}
	}
	if v, marker := oldIndexState(t, path); v != oldIndexVersion || !marker {
		t.Errorf("search changed the index: version %q, marker kept %v", v, marker)
	}
	db, err = store.Open(filepath.Join(data, storeFile))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := checkpointCount(t, db, "sim"); n != 1 {
		t.Errorf("search changed the checkpoints: %d left, want 1", n)
	}
}
