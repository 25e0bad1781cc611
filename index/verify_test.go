package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchyard"
)

// diskIndex writes a closed on-disk index of n issues and returns its path.
func diskIndex(t *testing.T, n int) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "index.bleve")
	idx, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	var issues []switchyard.Issue
	for i := range n {
		is := sampleIssue(fmt.Sprint(100+i), []string{"10"}, nil)
		is.Summary = fmt.Sprintf("vpn printer laptop %d", i)
		issues = append(issues, is)
	}
	if err := idx.IndexIssues(context.Background(), "c", issues); err != nil {
		t.Fatal(err)
	}
	if err := idx.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

func zapFiles(t *testing.T, dir string) []string {
	t.Helper()
	zaps, _ := filepath.Glob(filepath.Join(dir, scorchDir, "*.zap"))
	if len(zaps) == 0 {
		t.Fatalf("no .zap segment in %s", dir)
	}
	return zaps
}

// liveZap is a segment file of the index's current snapshot (a file merged
// away may linger until the next open).
func liveZap(t *testing.T, dir string) string {
	t.Helper()
	b, err := openBleve(dir, nil, true)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	files, err := liveSegments(b)
	if err != nil || len(files) == 0 {
		t.Fatalf("no live segment in %s: %v", dir, err)
	}
	return files[0]
}

// overwrite writes junk over n bytes at off (a negative off counts from the end).
func overwrite(t *testing.T, file string, off int64, n int) {
	t.Helper()
	f, err := os.OpenFile(file, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if off < 0 {
		fi, _ := f.Stat()
		off += fi.Size()
	}
	if _, err := f.WriteAt([]byte(strings.Repeat("\xab\xcd\xef\x01", n/4)), off); err != nil {
		t.Fatal(err)
	}
}

func TestOpenVerifiesSoundIndex(t *testing.T) {
	dir := diskIndex(t, 40)
	for _, z := range zapFiles(t, dir) {
		if err := checkZap(z); err != nil {
			t.Fatalf("a sound segment fails its check: %v", err)
		}
	}
	for name, open := range map[string]func(string) (*Index, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
		idx, err := open(dir)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := idx.Check(context.Background()); err != nil {
			t.Errorf("%s: Check of a sound index: %v", name, err)
		}
		n, _, _, err := idx.Count(context.Background(), "c")
		idx.Close()
		if err != nil || n != 40 {
			t.Errorf("%s: %d issues, %v", name, n, err)
		}
	}
}

// A damaged root.bolt or .zap file is reported at open, naming the file,
// where bleve and bolt used to panic ("invalid freelist page", slice bounds
// out of range) or fail with a message that named neither.
func TestOpenDamagedIndex(t *testing.T) {
	cases := []struct {
		name   string
		damage func(t *testing.T, dir string) (file string)
	}{
		{"bolt freelist and pages", func(t *testing.T, dir string) string {
			f := filepath.Join(dir, scorchDir, "root.bolt")
			// Pages 0 and 1 are bolt's meta pages; everything after them
			// (the freelist, the buckets) is overwritten.
			fi, _ := os.Stat(f)
			overwrite(t, f, 2*4096, int(fi.Size())-2*4096)
			return f
		}},
		{"zap middle", func(t *testing.T, dir string) string {
			z := liveZap(t, dir)
			fi, _ := os.Stat(z)
			overwrite(t, z, fi.Size()/2, 64)
			return z
		}},
		{"zap early bytes", func(t *testing.T, dir string) string {
			z := liveZap(t, dir)
			overwrite(t, z, 100, 20)
			return z
		}},
		{"zap footer", func(t *testing.T, dir string) string {
			z := liveZap(t, dir)
			overwrite(t, z, -40, 32)
			return z
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := diskIndex(t, 40)
			file := c.damage(t, dir)
			for name, open := range map[string]func(string) (*Index, error){"Open": Open, "OpenReadOnly": OpenReadOnly} {
				idx, err := open(dir)
				if err == nil {
					idx.Close()
					t.Fatalf("%s of a damaged index succeeded", name)
				}
				t.Logf("%s: %v", name, err)
				var ce *CorruptError
				if !errors.Is(err, ErrCorrupt) || !errors.As(err, &ce) || ce.File != file || !strings.Contains(err.Error(), file) {
					t.Errorf("%s: %v; want a *CorruptError naming %s", name, err, file)
				}
			}
		})
	}
}

// Damage to a segment while the index is open is found by Check (the
// readiness probe), naming the file.
func TestCheckFindsDamageWhileOpen(t *testing.T) {
	dir := diskIndex(t, 40)
	z := liveZap(t, dir)
	idx, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if err := idx.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
	fi, _ := os.Stat(z)
	overwrite(t, z, fi.Size()/2, 64)
	err = idx.Check(context.Background())
	var ce *CorruptError
	if !errors.As(err, &ce) || ce.File != z {
		t.Fatalf("Check after damaging %s: %v", z, err)
	}
}
