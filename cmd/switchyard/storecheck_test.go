package main

import (
	"database/sql"
	"encoding/binary"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// corruptStoreMidFile vacuums the store (so that every page is in use) and
// overwrites the first half of a page in the middle of the file, as a bad
// disk block would: page 1 and the schema stay intact, so the file opens.
func corruptStoreMidFile(t *testing.T, path string) (page int) {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`VACUUM`); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	hdr := make([]byte, 100)
	if _, err := f.ReadAt(hdr, 0); err != nil {
		t.Fatal(err)
	}
	size := int64(binary.BigEndian.Uint16(hdr[16:18]))
	if size == 1 {
		size = 65536
	}
	fi, _ := f.Stat()
	pages := fi.Size() / size
	if pages < 20 {
		t.Fatalf("store has only %d pages; the test needs a file with a middle", pages)
	}
	page = int(pages / 2)
	junk := []byte(strings.Repeat("\xff\x13\x37\x00", int(size)/8))
	if _, err := f.WriteAt(junk, int64(page-1)*size); err != nil {
		t.Fatal(err)
	}
	return page
}

// A store damaged in the middle of the file is found at start: sync and
// serve refuse, naming the file and PRAGMA quick_check, instead of failing
// half-way through a sync; status shows the check's result.
func TestStoreCorruptMidFileFoundAtStart(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	e := newDataDirEnv(t, data, 150)
	if code, _, stderr := e.cli(t, "sync", "--config", e.cfg, "--no-progress"); code != 0 {
		t.Fatalf("sync: exit %d: %s", code, stderr)
	}
	code, out, _ := e.cli(t, "status", "--config", e.cfg)
	if code != 0 || !strings.Contains(out, "quick_check ok") {
		t.Fatalf("status of a sound store (exit %d):\n%s", code, out)
	}

	path := filepath.Join(data, storeFile)
	page := corruptStoreMidFile(t, path)
	t.Logf("overwrote page %d of %s", page, path)

	for _, args := range [][]string{
		{"sync", "--config", e.cfg, "--no-progress"},
		{"serve", "--config", e.cfg},
	} {
		code, _, stderr := e.cli(t, args...)
		if code != 1 || !strings.Contains(stderr, "quick_check") || !strings.Contains(stderr, path) || !strings.Contains(stderr, "refusing") {
			t.Errorf("%s on a damaged store: exit %d, stderr %q", args[0], code, stderr)
		}
	}

	code, out, stderr := e.cli(t, "status", "--config", e.cfg)
	if code != 1 || !strings.Contains(out, "quick_check FAILED") || !strings.Contains(stderr, "damaged") {
		t.Errorf("status of a damaged store: exit %d\nstdout:\n%s\nstderr:\n%s", code, out, stderr)
	}
	code, out, _ = e.cli(t, "status", "--config", e.cfg, "--json")
	var st struct {
		Store storeCheck `json:"store"`
	}
	if err := json.Unmarshal([]byte(out), &st); err != nil || code != 1 || st.Store.QuickCheck != "failed" || len(st.Store.Problems) == 0 || st.Store.Path != path {
		t.Errorf("status --json of a damaged store: exit %d, %v, %+v\n%s", code, err, st.Store, out)
	}
}
