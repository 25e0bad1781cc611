package index

import (
	"path/filepath"
	"testing"
)

func TestMarksSurviveReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "i.bleve")
	idx, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if v, err := idx.Mark("seq"); err != nil || v != nil {
		t.Fatalf("unset mark = %q, %v", v, err)
	}
	if err := idx.SetMark("seq", []byte("42")); err != nil {
		t.Fatal(err)
	}
	idx.Close()
	if idx, err = Open(path); err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if v, err := idx.Mark("seq"); err != nil || string(v) != "42" {
		t.Fatalf("mark after reopen = %q, %v", v, err)
	}
}
