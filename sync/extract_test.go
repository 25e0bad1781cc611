package syncer

import (
	"archive/zip"
	"bytes"
	"strings"
	"testing"

	"switchyard"
	"switchyard/connector/jirasim"
)

// The simulator generates real files; each extractor must find their text.
func TestExtractGeneratedAttachments(t *testing.T) {
	w := jirasim.Generate(jirasim.GenerateOptions{Seed: 4, Projects: 3, Issues: 300})
	want := map[string]string{ // MIME type → text its content always holds
		"application/pdf": "Incident report",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Request form",
		"text/html":        "# Something went wrong",
		"text/plain":       "",
		"text/markdown":    "## Checks",
		"text/csv":         "user,device,site",
		"application/json": `"checks"`,
	}
	seen := map[string]int{}
	for _, is := range w.Issues {
		for _, a := range is.Attachments {
			x := extractor(switchyard.Attachment{Filename: a.Filename, MimeType: a.MimeType})
			sub, ok := want[a.MimeType]
			if !ok {
				if x != nil {
					t.Errorf("%s (%s) is extracted though its type is not indexed", a.Filename, a.MimeType)
				}
				continue
			}
			if x == nil {
				t.Fatalf("no extractor for %s (%s)", a.Filename, a.MimeType)
			}
			text, err := x(a.Content)
			if err != nil {
				t.Fatalf("%s: %v", a.Filename, err)
			}
			if strings.TrimSpace(text) == "" || !strings.Contains(text, sub) {
				t.Fatalf("%s (%s): text %.200q does not contain %q", a.Filename, a.MimeType, text, sub)
			}
			if a.MimeType == "text/html" && strings.Contains(text, "<h1>") {
				t.Errorf("HTML not converted to Markdown: %.100q", text)
			}
			seen[a.MimeType]++
		}
	}
	for mt := range want {
		if seen[mt] == 0 {
			t.Errorf("the generated world has no %s attachment to test", mt)
		}
	}
}

func TestExtractErrors(t *testing.T) {
	var docx bytes.Buffer
	zw := zip.NewWriter(&docx)
	f, _ := zw.Create("word/other.xml")
	f.Write([]byte("<x/>"))
	zw.Close()
	tests := []struct {
		name string
		fn   extractFunc
		in   []byte
		want string
	}{
		{"binary as text", extractText, []byte{0xff, 0xfe, 0x00, 0x81}, "not valid UTF-8"},
		{"truncated PDF", extractPDF, []byte("%PDF-1.4\n1 0 obj"), "PDF"},
		{"not a zip", extractDOCX, []byte("plain"), "read DOCX"},
		{"zip without document", extractDOCX, docx.Bytes(), "no word/document.xml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.fn(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
}
