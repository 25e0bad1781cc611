package markdown

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// goldenOptions resolve the ids used by testdata/adf.
var goldenOptions = ADFOptions{
	ResolveMention: func(id string) string {
		return map[string]string{"5b10a2844c20165700ede21g": "Alice Admin"}[id]
	},
	AttachmentName: func(id string) string {
		return map[string]string{"media-1": "screenshot.png", "media-3": "vpn_diag.log"}[id]
	},
}

// golden compares got with the file want (or rewrites it under -update).
func golden(t *testing.T, want, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(want, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	b, err := os.ReadFile(want)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if string(b) != got {
		t.Errorf("%s differs from the output:\n--- want\n%s\n--- got\n%s", want, b, got)
	}
}

func TestFromADFGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/adf/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".json")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := FromADF(raw, goldenOptions)
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(in, ".json")+".md", got+"\n")
		})
	}
}

func TestFromHTMLGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/html/*.html")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden inputs: %v", err)
	}
	for _, in := range files {
		name := strings.TrimSuffix(filepath.Base(in), ".html")
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, err := FromHTML(string(raw))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, strings.TrimSuffix(in, ".html")+".md", got+"\n")
		})
	}
}
