package jirasim

import (
	"archive/zip"
	"bytes"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Attachment bodies are generated in code with real bytes, so content download,
// size caps and text extraction (PDF, DOCX, HTML …) run against real files.

// attachmentKinds is the rotation of generated attachment types.
var attachmentKinds = []string{"log", "txt", "md", "csv", "json", "html", "pdf", "docx"}

// genAttachment returns a filename, MIME type and content for kind, themed on
// the ticket text.
func genAttachment(r *rand.Rand, memo map[string]string, kind, topic, summary string, at time.Time) (name, mime string, content []byte) {
	switch kind {
	case "log":
		var b strings.Builder
		t := at.Add(-time.Duration(r.IntN(3600)) * time.Second)
		for i := 0; i < 20+r.IntN(40); i++ {
			t = t.Add(time.Duration(1+r.IntN(30)) * time.Second)
			lvl := pick(r, []string{"INFO", "INFO", "INFO", "WARN", "ERROR"})
			fmt.Fprintf(&b, "%s %-5s %s: %s\n", t.UTC().Format("2006-01-02T15:04:05.000Z"), lvl,
				pick(r, []string{"auth", "tunnel", "spooler", "sync", "http"}), fillM(r, memo, pick(r, []string{
					"request to {host} failed: {error}", "retrying in 5s", "connection established to {host}",
					"user session refreshed", "health check ok", "{app} returned {error}"})))
		}
		return pick(r, []string{"error.log", "client.log", "system.log"}), "text/plain", []byte(b.String())
	case "txt":
		return "notes.txt", "text/plain", []byte(fmt.Sprintf("Notes for: %s\n\n%s\n%s\n", summary,
			fillM(r, memo, "Checked with the user at {time}, device {device} in {site}."),
			fillM(r, memo, "Next step: escalate to {team} if it happens again.")))
	case "md":
		return "runbook-notes.md", "text/markdown", []byte(fmt.Sprintf("# %s\n\n## Checks\n\n- Verified account status\n- %s\n\n```\n%s\n```\n",
			summary, fillM(r, memo, "Looked at logs on {host}"), fillM(r, memo, "error: {error}")))
	case "csv":
		var b strings.Builder
		b.WriteString("user,device,site,last_seen,status\n")
		for i := 0; i < 5+r.IntN(10); i++ {
			fmt.Fprintf(&b, "%s.%s,%s,%s,%s,%s\n", strings.ToLower(pick(r, firstNames)), strings.ToLower(pick(r, lastNames)),
				pick(r, corpusDevices), pick(r, corpusSites), at.AddDate(0, 0, -r.IntN(30)).Format("2006-01-02"), pick(r, []string{"ok", "failed", "pending"}))
		}
		return "affected-users.csv", "text/csv", []byte(b.String())
	case "json":
		return "diagnostics.json", "application/json", []byte(fmt.Sprintf(
			"{\n  \"topic\": %q,\n  \"host\": %q,\n  \"error\": %q,\n  \"checks\": [\"dns\", \"tls\", \"auth\"],\n  \"ok\": false\n}\n",
			topic, pick(r, corpusHosts), pick(r, corpusErrors)))
	case "html":
		return "error-page.html", "text/html", []byte(fmt.Sprintf(
			"<!DOCTYPE html>\n<html><head><title>%s</title></head><body><h1>Something went wrong</h1><p>%s</p><ul><li>%s</li><li>%s</li></ul></body></html>\n",
			htmlEscape(summary), htmlEscape(fillM(r, memo, "The server returned {error} while loading {app}.")), pick(r, corpusHosts), pick(r, corpusSites)))
	case "pdf":
		return "incident-report.pdf", "application/pdf", minimalPDF([]string{
			"Incident report", summary, fillM(r, memo, "Affected system: {app} on {host}"), fillM(r, memo, "Error: {error}")})
	case "docx":
		return "request-form.docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", minimalDOCX([]string{
			"Request form", summary, fillM(r, memo, "Requested for the {team} team in {site}."), "Approved by the line manager."})
	}
	return "file.bin", "application/octet-stream", []byte{0, 1, 2, 3}
}

var htmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;")

func htmlEscape(s string) string { return htmlEscaper.Replace(s) }

// minimalPDF writes a one-page PDF 1.4 with an uncompressed content stream in
// Helvetica, so any PDF text extractor finds the lines. The xref offsets are
// computed, so the file is valid, not merely PDF-looking.
func minimalPDF(lines []string) []byte {
	var content strings.Builder
	content.WriteString("BT /F1 12 Tf 72 720 Td 16 TL\n")
	for i, l := range lines {
		if i > 0 {
			content.WriteString("T*\n")
		}
		fmt.Fprintf(&content, "(%s) Tj\n", pdfEscape(l))
	}
	content.WriteString("ET\n")
	objs := []string{
		"<< /Type /Catalog /Pages 2 0 R >>",
		"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
		"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
		"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
		fmt.Sprintf("<< /Length %d >>\nstream\n%sendstream", content.Len(), content.String()),
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offsets := make([]int, len(objs))
	for i, o := range objs {
		offsets[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, off := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", off)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

func pdfEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 32 || r > 126:
			b.WriteByte('?') // keep the stream 7-bit; WinAnsi has no safe mapping here
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// minimalDOCX writes the smallest Word document Word and text extractors
// accept: content types, the package relationship and word/document.xml.
// Entry times are fixed so the bytes are deterministic.
func minimalDOCX(paras []string) []byte {
	var doc strings.Builder
	doc.WriteString(`<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
		`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>`)
	for _, p := range paras {
		doc.WriteString(`<w:p><w:r><w:t xml:space="preserve">` + xmlEscape(p) + `</w:t></w:r></w:p>`)
	}
	doc.WriteString(`</w:body></w:document>`)
	files := []struct{ name, body string }{
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
			`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>` +
			`</Types>`},
		{"_rels/.rels", `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n" +
			`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">` +
			`<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>` +
			`</Relationships>`},
		{"word/document.xml", doc.String()},
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, f := range files {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.name, Method: zip.Deflate, Modified: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)})
		if err != nil {
			panic(err) // writing to memory cannot fail
		}
		_, _ = w.Write([]byte(f.body))
	}
	if err := zw.Close(); err != nil {
		panic(err)
	}
	return b.Bytes()
}

var xmlEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", "\"", "&quot;", "'", "&apos;")

func xmlEscape(s string) string { return xmlEscaper.Replace(s) }
