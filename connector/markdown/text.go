package markdown

import (
	"encoding/json"
	"strings"
)

// span is a run of plain text, bold or not.
type span struct {
	bold bool
	text string
}

// textBlock is a paragraph (lines joined by line breaks) or a bullet list
// (one item per line).
type textBlock struct {
	bullets bool
	lines   [][]span
}

// parseText reads the small plain-text dialect write-back comments use:
// blank lines separate paragraphs, lines starting "- " are bullets and
// **text** is bold.
func parseText(text string) []textBlock {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text = strings.ReplaceAll(text, "\r", "\n")
	var out []textBlock
	var cur *textBlock
	flush := func() {
		if cur != nil && len(cur.lines) > 0 {
			out = append(out, *cur)
		}
		cur = nil
	}
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, " \t")
		if strings.TrimSpace(line) == "" {
			flush()
			continue
		}
		bullet := strings.HasPrefix(line, "- ")
		if bullet {
			line = strings.TrimLeft(line[2:], " \t")
		}
		if cur != nil && cur.bullets != bullet {
			flush()
		}
		if cur == nil {
			cur = &textBlock{bullets: bullet}
		}
		if spans := parseSpans(line); len(spans) > 0 {
			cur.lines = append(cur.lines, spans)
		}
	}
	flush()
	return out
}

// parseSpans splits a line at matched ** pairs; an unmatched ** is literal.
func parseSpans(line string) []span {
	var out []span
	for line != "" {
		open := strings.Index(line, "**")
		if open < 0 {
			break
		}
		end := strings.Index(line[open+2:], "**")
		if end < 0 {
			break
		}
		inner := line[open+2 : open+2+end]
		if strings.TrimSpace(inner) == "" {
			// "****" or "** **" is not bold: keep it as text.
			out = appendSpan(out, span{text: line[:open+2+end+2]})
			line = line[open+2+end+2:]
			continue
		}
		out = appendSpan(out, span{text: line[:open]})
		out = appendSpan(out, span{bold: true, text: inner})
		line = line[open+2+end+2:]
	}
	return appendSpan(out, span{text: line})
}

func appendSpan(out []span, s span) []span {
	if s.text == "" {
		return out
	}
	if n := len(out); n > 0 && out[n-1].bold == s.bold {
		out[n-1].text += s.text
		return out
	}
	return append(out, s)
}

// adfNode is the JSON shape of the ADF nodes ADFFromText emits.
type adfNode struct {
	Type    string    `json:"type"`
	Version int       `json:"version,omitempty"`
	Text    string    `json:"text,omitempty"`
	Marks   []adfMark `json:"marks,omitempty"`
	Content []adfNode `json:"content,omitempty"`
}

type adfMark struct {
	Type string `json:"type"`
}

// ADFFromText converts plain text (see parseText) to an ADF document, version
// 1, as Jira Cloud wants for comment bodies. Empty text gives a document with
// one empty paragraph, which Jira accepts.
func ADFFromText(text string) json.RawMessage {
	doc := adfNode{Type: "doc", Version: 1}
	for _, b := range parseText(text) {
		if b.bullets {
			list := adfNode{Type: "bulletList"}
			for _, l := range b.lines {
				list.Content = append(list.Content, adfNode{Type: "listItem", Content: []adfNode{
					{Type: "paragraph", Content: adfInline([][]span{l})},
				}})
			}
			doc.Content = append(doc.Content, list)
			continue
		}
		doc.Content = append(doc.Content, adfNode{Type: "paragraph", Content: adfInline(b.lines)})
	}
	if len(doc.Content) == 0 {
		doc.Content = []adfNode{{Type: "paragraph"}}
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		// Only strings and ints: marshalling cannot fail.
		panic("markdown: marshal adf: " + err.Error())
	}
	return raw
}

func adfInline(lines [][]span) []adfNode {
	var out []adfNode
	for i, l := range lines {
		if i > 0 {
			out = append(out, adfNode{Type: "hardBreak"})
		}
		for _, s := range l {
			n := adfNode{Type: "text", Text: s.text}
			if s.bold {
				n.Marks = []adfMark{{Type: "strong"}}
			}
			out = append(out, n)
		}
	}
	return out
}

// WikiFromText converts plain text (see parseText) to Jira wiki markup for
// Data Center comments: *bold*, "* " bullets, other markup characters escaped.
func WikiFromText(text string) string {
	var blocks []string
	for _, b := range parseText(text) {
		var lines []string
		for _, l := range b.lines {
			var s strings.Builder
			if b.bullets {
				s.WriteString("* ")
			}
			for j, sp := range l {
				t := wikiEscape(sp.text, j == 0 && !b.bullets)
				if sp.bold {
					// Jira only reads *x* as bold without blanks just inside.
					inner := strings.TrimSpace(t)
					lead := t[:strings.Index(t, inner)]
					s.WriteString(lead + "*" + inner + "*" + t[len(lead)+len(inner):])
					continue
				}
				s.WriteString(t)
			}
			lines = append(lines, strings.TrimSpace(s.String()))
		}
		blocks = append(blocks, strings.Join(lines, "\n"))
	}
	return strings.Join(blocks, "\n\n")
}

// wikiEscape escapes characters Jira's wiki renderer reads as markup.
func wikiEscape(s string, atStart bool) string {
	var b strings.Builder
	if atStart {
		trimmed := strings.TrimLeft(s, " \t")
		lower := strings.ToLower(trimmed)
		switch {
		case strings.HasPrefix(trimmed, "#"), strings.HasPrefix(trimmed, "*"), strings.HasPrefix(trimmed, "-"):
			// list markers and rules; '*' and '-' are escaped below anyway
		case len(lower) >= 3 && lower[0] == 'h' && lower[1] >= '1' && lower[1] <= '6' && lower[2] == '.':
			b.WriteString(trimmed[:2] + `\.`)
			s = trimmed[3:]
		case strings.HasPrefix(lower, "bq."):
			b.WriteString(trimmed[:2] + `\.`)
			s = trimmed[3:]
		}
		if strings.HasPrefix(s, "#") {
			b.WriteString(`\#`)
			s = s[1:]
		}
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '{', '}', '[', ']', '|', '*', '_', '+', '^', '~', '!':
			b.WriteByte('\\')
		case '-':
			// -strike- opens at a word start; "--" and "---" are dashes.
			if (i+1 < len(s) && s[i+1] == '-') || ((i == 0 || s[i-1] == ' ') && i+1 < len(s) && s[i+1] != ' ') {
				b.WriteByte('\\')
			}
		case '?':
			if i+1 < len(s) && s[i+1] == '?' {
				b.WriteByte('\\')
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
