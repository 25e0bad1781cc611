package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchyard/connector/jirasim"
	"switchyard/index"
	"switchyard/store"
)

// The data directory failing under the commands: read-only and full. Root
// ignores permission bits, so as root a read-only bind mount (and a small
// tmpfs for a full disk) stand in for the real thing; as another user chmod
// makes the directory read-only and the disk-full case cannot be staged.

// dataDirEnv is a simulator and a config whose data_dir is data.
type dataDirEnv struct {
	sim  *jirasim.Server
	cfg  string
	data string
}

func newDataDirEnv(t *testing.T, data string, issues int) *dataDirEnv {
	t.Helper()
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 11, Projects: 2, Issues: issues}})
	hs := httptest.NewServer(sim)
	sim.SetBaseURL(hs.URL)
	t.Cleanup(func() { hs.Close(); sim.Close() })
	cfg := filepath.Join(t.TempDir(), "switchyard.yaml")
	body := fmt.Sprintf(`data_dir: %s
log: {level: error}
server: {addr: "127.0.0.1:0"}
connections:
  - name: sim
    kind: cloud
    url: %s
    auth: {type: api_token, email: %s, token: %s}
    requests_per_second: 1000
    concurrency: 4
    sync: {strategy: manual}
`, data, hs.URL, sim.AdminEmail(), jirasim.DefaultAdminToken)
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return &dataDirEnv{sim: sim, cfg: cfg, data: data}
}

// cli runs one command with a deadline, so a command that should fail at
// start-up but serves instead is caught.
func (e *dataDirEnv) cli(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var out, errb bytes.Buffer
	code := run(ctx, args, &out, &errb)
	if ctx.Err() != nil {
		t.Fatalf("%v: still running after 60s (want a start-up error)\nstderr: %s", args, errb.String())
	}
	return code, out.String(), errb.String()
}

func (e *dataDirEnv) commands() [][]string {
	return [][]string{
		{"sync", "--config", e.cfg, "--no-progress"},
		{"serve", "--config", e.cfg},
		{"keys", "create", "--config", e.cfg, "--name", "ops", "--scope", "search:read"},
	}
}

// treeDigest hashes every file (path, mode, content) under dir: "nothing
// changed" for a read-only directory.
func treeDigest(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s|%v|", rel, d.Type())
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			h.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

// makeReadOnly makes dir read-only until the test ends (or the returned
// undo is called).
func makeReadOnly(t *testing.T, dir string) (undo func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		var dirs []string
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, p)
			}
			return nil
		})
		for _, d := range dirs {
			if err := os.Chmod(d, 0o555); err != nil {
				t.Fatal(err)
			}
		}
		done := false
		undo = func() {
			if !done {
				done = true
				for _, d := range dirs {
					os.Chmod(d, 0o755)
				}
			}
		}
		t.Cleanup(undo)
		return undo
	}
	if err := syscall.Mount(dir, dir, "", syscall.MS_BIND, ""); err != nil {
		t.Skipf("running as root, a read-only data directory needs a bind mount, and mount(2) failed: %v", err)
	}
	if err := syscall.Mount("", dir, "", syscall.MS_BIND|syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		syscall.Unmount(dir, 0)
		t.Skipf("running as root, remounting the bind mount read-only failed: %v", err)
	}
	done := false
	undo = func() {
		if !done {
			done = true
			if err := syscall.Unmount(dir, 0); err != nil {
				t.Errorf("unmount %s: %v", dir, err)
			}
		}
	}
	t.Cleanup(undo)
	// Prove the directory is really read-only before trusting the test.
	if f, err := os.CreateTemp(dir, "probe"); err == nil {
		f.Close()
		os.Remove(f.Name())
		t.Fatalf("%s is still writable", dir)
	}
	return undo
}

// checkStore opens the data directory's store and index the way a later
// command does and checks SQLite's own integrity check.
func checkStore(t *testing.T, data string, agree bool) (issues int) {
	t.Helper()
	path := filepath.Join(data, storeFile)
	raw, err := sql.Open("sqlite", path+"?_pragma=query_only(1)")
	if err != nil {
		t.Fatal(err)
	}
	var res string
	if err := raw.QueryRow(`PRAGMA integrity_check`).Scan(&res); err != nil || res != "ok" {
		t.Fatalf("integrity_check of %s: %q, %v", path, res, err)
	}
	raw.Close()
	db, err := store.Open(path)
	if err != nil {
		t.Fatalf("the store does not open afterwards: %v", err)
	}
	c, err := db.Counts(context.Background(), "sim")
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	idx, err := index.Open(filepath.Join(data, indexDir))
	if err != nil {
		t.Fatalf("the index does not open afterwards: %v", err)
	}
	n, _, _, err := idx.Count(context.Background(), "sim")
	idx.Close()
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case agree && int64(n) != c.Issues:
		t.Errorf("index holds %d issues, store %d", n, c.Issues)
	case int64(n) > c.Issues:
		// The store commits first, so the index never runs ahead of it.
		t.Errorf("index holds %d issues, more than the store's %d", n, c.Issues)
	default:
		t.Logf("%s: store %d issues, index %d", data, c.Issues, n)
	}
	return int(c.Issues)
}

func TestReadOnlyDataDir(t *testing.T) {
	t.Run("empty", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		if err := os.Mkdir(data, 0o755); err != nil {
			t.Fatal(err)
		}
		e := newDataDirEnv(t, data, 10)
		makeReadOnly(t, data)
		for _, args := range e.commands() {
			code, _, stderr := e.cli(t, args...)
			if code != 1 {
				t.Errorf("%s: exit %d, want 1\n%s", args[0], code, stderr)
			}
			if !strings.Contains(stderr, data) || !strings.Contains(stderr, "not writable") {
				t.Errorf("%s: error does not say the data directory %s is not writable:\n%s", args[0], data, stderr)
			}
		}
		if entries, _ := os.ReadDir(data); len(entries) != 0 {
			t.Errorf("the read-only data directory gained %d entries", len(entries))
		}
	})
	t.Run("after a sync", func(t *testing.T) {
		data := filepath.Join(t.TempDir(), "data")
		e := newDataDirEnv(t, data, 40)
		if code, _, stderr := e.cli(t, "sync", "--config", e.cfg, "--no-progress"); code != 0 {
			t.Fatalf("first sync: exit %d\n%s", code, stderr)
		}
		before := treeDigest(t, data)
		undo := makeReadOnly(t, data)
		for _, args := range e.commands() {
			code, _, stderr := e.cli(t, args...)
			if code != 1 {
				t.Errorf("%s: exit %d, want 1\n%s", args[0], code, stderr)
			}
			if !strings.Contains(stderr, data) || !strings.Contains(stderr, "not writable") {
				t.Errorf("%s: error does not name %s as not writable:\n%s", args[0], data, stderr)
			}
		}
		undo()
		if after := treeDigest(t, data); after != before {
			t.Error("the data directory changed while read-only")
		}
		if n := checkStore(t, data, true); n != 40 {
			t.Errorf("store holds %d issues after the failures, want 40", n)
		}
		// Writable again: the next sync just works.
		if code, out, stderr := e.cli(t, "sync", "--config", e.cfg, "--no-progress"); code != 0 || !strings.Contains(out, "incremental") {
			t.Fatalf("sync after the directory is writable again: exit %d\n%s\n%s", code, out, stderr)
		}
	})
	t.Run("parent read-only, data_dir missing", func(t *testing.T) {
		parent := filepath.Join(t.TempDir(), "parent")
		if err := os.Mkdir(parent, 0o755); err != nil {
			t.Fatal(err)
		}
		data := filepath.Join(parent, "data")
		e := newDataDirEnv(t, data, 10)
		makeReadOnly(t, parent)
		for _, args := range e.commands() {
			code, _, stderr := e.cli(t, args...)
			if code != 1 || !strings.Contains(stderr, data) {
				t.Errorf("%s: exit %d, want 1 with an error naming %s:\n%s", args[0], code, data, stderr)
			}
		}
	})
}

// TestDiskFullDuringSync syncs into a data directory on a tmpfs too small
// for the workspace: the sync fails with an error that says the disk is full
// and exits 1; the store and index still open, pass SQLite's integrity check
// and agree; once there is space, the next sync completes the job.
func TestDiskFullDuringSync(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("staging a full disk needs a small tmpfs, and mounting one needs root (the store's own test covers SQLITE_FULL via max_page_count)")
	}
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", data, "tmpfs", 0, "size=512k"); err != nil {
		t.Skipf("running as root, mounting a tmpfs failed: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(data, 0); err != nil {
			t.Errorf("unmount %s: %v", data, err)
		}
	})
	const issues = 200
	e := newDataDirEnv(t, data, issues)
	code, out, stderr := e.cli(t, "sync", "--config", e.cfg, "--no-progress")
	if code != 1 {
		t.Fatalf("sync into a 512 KiB volume: exit %d, want 1\n%s\n%s", code, out, stderr)
	}
	if !strings.Contains(stderr, "disk full") && !strings.Contains(stderr, "no space left on device") {
		t.Errorf("error does not say the disk is full:\n%s", stderr)
	}
	if !strings.Contains(stderr, data) {
		t.Errorf("error does not name the data directory %s:\n%s", data, stderr)
	}
	t.Logf("stderr of the failed sync:\n%s", stderr)
	// The index may lag the store after a failure; the next sync repairs it.
	stored := checkStore(t, data, false)
	if stored >= issues {
		t.Fatalf("all %d issues stored on a full disk: the volume is not small enough to test anything", stored)
	}

	// Grow the volume: the next sync finishes and everything agrees.
	if err := syscall.Mount("tmpfs", data, "tmpfs", syscall.MS_REMOUNT, "size=256m"); err != nil {
		t.Fatalf("remount bigger: %v", err)
	}
	code, out, stderr = e.cli(t, "sync", "--config", e.cfg, "--no-progress")
	if code != 0 {
		t.Fatalf("sync after space was freed: exit %d\n%s\n%s", code, out, stderr)
	}
	t.Logf("recovery sync:\n%s", out)
	if n := checkStore(t, data, true); n != issues {
		t.Errorf("store holds %d issues after the recovery sync, want %d", n, issues)
	}
	if code, out, stderr := e.cli(t, "audit", "verify", "--config", e.cfg); code != 0 {
		t.Errorf("audit verify after the recovery: exit %d\n%s\n%s", code, out, stderr)
	}
}

// TestDiskFullAtStart: with the data directory's volume full, keys create
// (and a first start that must create the store) fail with a clear error,
// exit 1 and leave the existing store intact.
func TestDiskFullAtStart(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("staging a full disk needs a small tmpfs, and mounting one needs root")
	}
	vol := filepath.Join(t.TempDir(), "vol")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", vol, "tmpfs", 0, "size=2m"); err != nil {
		t.Skipf("running as root, mounting a tmpfs failed: %v", err)
	}
	t.Cleanup(func() {
		if err := syscall.Unmount(vol, 0); err != nil {
			t.Errorf("unmount %s: %v", vol, err)
		}
	})
	e := newDataDirEnv(t, filepath.Join(vol, "data"), 10)
	if code, _, stderr := e.cli(t, "keys", "create", "--config", e.cfg, "--name", "first", "--scope", "search:read"); code != 0 {
		t.Fatalf("keys create with space: exit %d\n%s", code, stderr)
	}
	// Fill what is left of the volume.
	filler, err := os.Create(filepath.Join(vol, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	chunk := make([]byte, 64<<10)
	for {
		if _, err := filler.Write(chunk); err != nil {
			break
		}
	}
	for {
		if _, err := filler.Write(chunk[:512]); err != nil {
			break
		}
	}
	filler.Close()

	for _, args := range e.commands() {
		if args[0] == "sync" {
			continue // TestDiskFullDuringSync
		}
		code, _, stderr := e.cli(t, args...)
		if code != 1 {
			t.Errorf("%s on a full volume: exit %d, want 1\n%s", args[0], code, stderr)
		}
		if !strings.Contains(stderr, e.data) || !strings.Contains(stderr, "full") {
			t.Errorf("%s on a full volume: error does not name %s and say the volume may be full:\n%s", args[0], e.data, stderr)
		}
	}
	if err := os.Remove(filepath.Join(vol, "filler")); err != nil {
		t.Fatal(err)
	}
	checkStore(t, e.data, true)
	// Space again: the one key made before is still there and new ones work.
	if code, out, stderr := e.cli(t, "keys", "list", "--config", e.cfg); code != 0 || strings.Count(out, "search:read") != 1 {
		t.Errorf("keys list after the failures: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := e.cli(t, "keys", "create", "--config", e.cfg, "--name", "second", "--scope", "search:read"); code != 0 {
		t.Errorf("keys create after space was freed: exit %d\n%s", code, stderr)
	}
}
