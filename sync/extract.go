package syncer

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/ledongthuc/pdf"
)

// htmlToMarkdown converts HTML to Markdown; adapters.go points it at the
// connector's converter so attachments and rendered fields read the same.
var htmlToMarkdown = func(html string) (string, error) { return html, nil }

// extractText accepts UTF-8 text (plain, Markdown, CSV, JSON) as is.
func extractText(b []byte) (string, error) {
	b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
	if !utf8.Valid(b) {
		return "", errBinary
	}
	return string(b), nil
}

func extractHTML(b []byte) (string, error) {
	s, err := extractText(b)
	if err != nil {
		return "", err
	}
	return htmlToMarkdown(s)
}

// extractPDF returns the plain text of every page.
func extractPDF(b []byte) (text string, err error) {
	// The PDF parser panics on some malformed files; a bad attachment must
	// fail its own extraction, not the sync.
	defer func() {
		if r := recover(); r != nil {
			text, err = "", fmt.Errorf("malformed PDF: %v", r)
		}
	}()
	r, err := pdf.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return "", fmt.Errorf("read PDF: %w", err)
	}
	tr, err := r.GetPlainText()
	if err != nil {
		return "", fmt.Errorf("read PDF text: %w", err)
	}
	out, err := io.ReadAll(tr)
	if err != nil {
		return "", fmt.Errorf("read PDF text: %w", err)
	}
	return strings.TrimSpace(string(out)), nil
}

// extractDOCX reads word/document.xml from the zip: text runs (w:t), tabs,
// breaks and paragraph ends.
func extractDOCX(b []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return "", fmt.Errorf("read DOCX: %w", err)
	}
	var doc *zip.File
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			doc = f
			break
		}
	}
	if doc == nil {
		return "", errors.New("read DOCX: no word/document.xml")
	}
	rc, err := doc.Open()
	if err != nil {
		return "", fmt.Errorf("read DOCX: %w", err)
	}
	defer rc.Close()
	dec := xml.NewDecoder(rc)
	var sb strings.Builder
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("read DOCX XML: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "t":
				inText = true
			case "tab":
				sb.WriteByte('\t')
			case "br", "cr":
				sb.WriteByte('\n')
			}
		case xml.EndElement:
			switch t.Name.Local {
			case "t":
				inText = false
			case "p":
				sb.WriteByte('\n')
			}
		case xml.CharData:
			if inText {
				sb.Write(t)
			}
		}
	}
	return strings.TrimSpace(sb.String()), nil
}
