package jirasim

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ledongthuc/pdf"
)

// The generated files are real: a PDF reader extracts the text, the DOCX is a
// zip with word/document.xml, JSON parses, CSV has a header.
func TestGeneratedAttachmentsAreReal(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, kind := range attachmentKinds {
		name, mimeType, content := genAttachment(r, nil, kind, "vpn", "VPN (drops) every 5 minutes", at)
		if len(content) == 0 || name == "" || mimeType == "" {
			t.Fatalf("%s: empty attachment", kind)
		}
		switch kind {
		case "pdf":
			rd, err := pdf.NewReader(bytes.NewReader(content), int64(len(content)))
			if err != nil {
				t.Fatalf("pdf: %v", err)
			}
			txt, err := rd.GetPlainText()
			if err != nil {
				t.Fatalf("pdf text: %v", err)
			}
			b, _ := io.ReadAll(txt)
			if !strings.Contains(string(b), "VPN (drops) every 5 minutes") || !strings.Contains(string(b), "Incident report") {
				t.Errorf("pdf text = %q", b)
			}
		case "docx":
			zr, err := zip.NewReader(bytes.NewReader(content), int64(len(content)))
			if err != nil {
				t.Fatalf("docx: %v", err)
			}
			var doc string
			for _, f := range zr.File {
				if f.Name == "word/document.xml" {
					rc, _ := f.Open()
					b, _ := io.ReadAll(rc)
					rc.Close()
					doc = string(b)
				}
			}
			if !strings.Contains(doc, "<w:t xml:space=\"preserve\">VPN (drops) every 5 minutes</w:t>") {
				t.Errorf("docx document.xml = %q", doc)
			}
		case "json":
			if !json.Valid(content) {
				t.Errorf("json attachment invalid: %s", content)
			}
		case "csv":
			if !strings.HasPrefix(string(content), "user,device,site,last_seen,status\n") {
				t.Errorf("csv = %q", content)
			}
		case "html":
			if !strings.Contains(string(content), "<title>VPN (drops) every 5 minutes</title>") {
				t.Errorf("html = %q", content)
			}
		}
	}
}
