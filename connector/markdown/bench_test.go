package markdown

import (
	"os"
	"testing"
)

func BenchmarkFromADFFull(b *testing.B) {
	raw, err := os.ReadFile("testdata/adf/full.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := FromADF(raw, goldenOptions); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkFromHTML(b *testing.B) {
	raw, err := os.ReadFile("testdata/html/description.html")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := FromHTML(string(raw)); err != nil {
			b.Fatal(err)
		}
	}
}
