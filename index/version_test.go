package index

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2"

	"switchyard"
)

// TestOpenOtherVersion checks the error an index of another version gets:
// it matches ErrOtherVersion and ErrInvalid, is a *switchyard.Error (the API
// shows its message), names the path and both versions, and leaves the
// index as it was. No other Open failure matches ErrOtherVersion.
func TestOpenOtherVersion(t *testing.T) {
	for _, old := range []string{"switchyard-index-1", "", "switchyard-index-99"} {
		t.Run("stamp="+old, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "index.bleve")
			idx, err := Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			if err := idx.IndexIssues(context.Background(), "c", []switchyard.Issue{sampleIssue("1", []string{"10"}, nil)}); err != nil {
				t.Fatal(err)
			}
			if err := idx.bleve.SetInternal(internalVersionKey, []byte(old)); err != nil {
				t.Fatal(err)
			}
			idx.Close()

			_, err = Open(dir)
			if !errors.Is(err, ErrOtherVersion) || !errors.Is(err, switchyard.ErrInvalid) {
				t.Fatalf("open: %v; want ErrOtherVersion and ErrInvalid", err)
			}
			var se *switchyard.Error
			if !errors.As(err, &se) || se.Kind != switchyard.ErrInvalid {
				t.Fatalf("open: %v (%T) is not a *switchyard.Error of kind ErrInvalid", err, err)
			}
			var ve *VersionError
			if !errors.As(err, &ve) || ve.Path != dir || ve.Found != old || ve.Want != mappingVersion {
				t.Fatalf("open: %#v; want a *VersionError naming %s, %q and %q", ve, dir, old, mappingVersion)
			}
			for _, want := range []string{dir, `"` + old + `"`, `"` + mappingVersion + `"`} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not name %s", err, want)
				}
			}

			// The refused index is untouched: its stamp and documents are
			// still there for whoever rebuilds it to decide.
			b, err := bleve.Open(dir)
			if err != nil {
				t.Fatal(err)
			}
			v, err := b.GetInternal(internalVersionKey)
			if err != nil {
				t.Fatal(err)
			}
			n, err := b.DocCount()
			b.Close()
			if err != nil {
				t.Fatal(err)
			}
			if string(v) != old || n != 2 {
				t.Fatalf("after a refused open: stamp %q, %d documents; want %q and 2", v, n, old)
			}
		})
	}

	// Other failures are not version mismatches: callers must not rebuild
	// (delete) an index for them.
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"empty path": "", "plain file": file} {
		if _, err := Open(path); err == nil || errors.Is(err, ErrOtherVersion) {
			t.Errorf("%s: %v; want an error that is not ErrOtherVersion", name, err)
		}
	}
	dir := filepath.Join(t.TempDir(), "current")
	for i := range 2 { // create, then reopen
		idx, err := Open(dir)
		if err != nil {
			t.Fatalf("open %d of an index of this version: %v", i, err)
		}
		idx.Close()
	}
}
