package markdown

import (
	"strings"
)

// hardBreak is a CommonMark hard line break.
const hardBreak = "  \n"

// inlineMark is a formatting mark Markdown can express. Marks are kept in a
// fixed nesting order (link outermost) so adjacent text nodes share them.
type inlineMark struct {
	typ  string
	href string
}

var markRank = map[string]int{"link": 0, "strong": 1, "em": 2, "strike": 3}

var markOpen = map[string]string{"strong": "**", "em": "*", "strike": "~~", "link": "["}

func (m inlineMark) open() string { return markOpen[m.typ] }

func (m inlineMark) close() string {
	if m.typ == "link" {
		return "](" + linkDestination(m.href) + ")"
	}
	return markOpen[m.typ]
}

// marksOf returns the node's expressible marks in nesting order and whether
// it is code. Underline, colours, sub/superscript and annotations keep only
// their text.
func marksOf(n node) ([]inlineMark, bool) {
	var out []inlineMark
	code := false
	for _, m := range n.Marks {
		switch m.Type {
		case "code":
			code = true
		case "strong", "em", "strike":
			out = append(out, inlineMark{typ: m.Type})
		case "link":
			href, _ := m.Attrs["href"].(string)
			if href == "" {
				continue
			}
			out = append(out, inlineMark{typ: "link", href: href})
		}
	}
	// insertion sort by rank, dropping duplicates
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && markRank[out[j].typ] < markRank[out[j-1].typ]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	dedup := out[:0]
	for i, m := range out {
		if i > 0 && m.typ == out[i-1].typ {
			continue
		}
		dedup = append(dedup, m)
	}
	return dedup, code
}

// inlineWriter assembles inline Markdown, opening and closing marks lazily so
// that whitespace never sits just inside a delimiter (where CommonMark would
// not recognise it).
type inlineWriter struct {
	buf   []byte
	stack []inlineMark
}

func (w *inlineWriter) atLineStart() bool {
	return len(w.buf) == 0 || w.buf[len(w.buf)-1] == '\n'
}

// closeTo closes open marks until only k remain, moving trailing whitespace
// outside the closing delimiters.
func (w *inlineWriter) closeTo(k int) {
	if len(w.stack) <= k {
		return
	}
	end := len(w.buf)
	for end > 0 && (w.buf[end-1] == ' ' || w.buf[end-1] == '\t' || w.buf[end-1] == '\n') {
		end--
	}
	trail := string(w.buf[end:])
	w.buf = w.buf[:end]
	for i := len(w.stack) - 1; i >= k; i-- {
		w.buf = append(w.buf, w.stack[i].close()...)
	}
	w.stack = w.stack[:k]
	w.buf = append(w.buf, trail...)
}

// write emits already-rendered content under the given marks.
func (w *inlineWriter) write(marks []inlineMark, content string) {
	k := 0
	for k < len(w.stack) && k < len(marks) && w.stack[k] == marks[k] {
		k++
	}
	w.closeTo(k)
	if k == len(marks) {
		w.buf = append(w.buf, content...)
		return
	}
	trimmed := strings.TrimLeft(content, " \t")
	if trimmed == "" {
		w.buf = append(w.buf, content...)
		return
	}
	w.buf = append(w.buf, content[:len(content)-len(trimmed)]...)
	for _, m := range marks[k:] {
		w.buf = append(w.buf, m.open()...)
		w.stack = append(w.stack, m)
	}
	w.buf = append(w.buf, trimmed...)
}

// inline renders inline nodes as one paragraph's Markdown.
func (r *renderer) inline(ns []node) string {
	r.depth++
	defer func() { r.depth-- }()
	ns = mergeText(ns)
	w := &inlineWriter{}
	for _, n := range ns {
		marks, code := marksOf(n)
		switch {
		case n.Type == "hardBreak":
			w.closeTo(0)
			trimTrailingSpace(w)
			if len(w.buf) > 0 && !w.atLineStart() {
				w.buf = append(w.buf, hardBreak...)
			}
		case n.Type == "text" || (n.Text != "" && !inlineTypes[n.Type] && !blockTypes[n.Type]):
			if code {
				if s := codeSpan(n.Text); s != "" {
					w.write(marks, s)
				}
				continue
			}
			k := 0
			for k < len(w.stack) && k < len(marks) && w.stack[k] == marks[k] {
				k++
			}
			// Line-start escaping applies only when no opener will precede the text.
			atStart := w.atLineStart() && (k == len(marks) || strings.TrimLeft(n.Text, " \t") == "")
			if s := escapeText(n.Text, atStart); s != "" {
				w.write(marks, s)
			}
		default:
			if s := r.atom(n); s != "" {
				w.write(marks, s)
			}
		}
	}
	w.closeTo(0)
	return strings.Trim(string(w.buf), " \t\n")
}

func trimTrailingSpace(w *inlineWriter) {
	for len(w.buf) > 0 && (w.buf[len(w.buf)-1] == ' ' || w.buf[len(w.buf)-1] == '\t') {
		w.buf = w.buf[:len(w.buf)-1]
	}
}

// atom renders an inline node that is not plain text.
func (r *renderer) atom(n node) string {
	if r.depth > maxDepth {
		var b strings.Builder
		plainText(n, &b)
		return escapeText(b.String(), false)
	}
	switch n.Type {
	case "mention":
		return r.mention(n)
	case "emoji":
		return escapeText(inlineAtomText(n), false)
	case "date":
		return dateText(n)
	case "status":
		t := strings.TrimSpace(attrString(n.Attrs, "text"))
		if t == "" {
			return ""
		}
		return "[" + escapeText(strings.ToUpper(t), false) + "]"
	case "inlineCard":
		return cardLink(n)
	case "mediaInline":
		return r.media(n)
	case "placeholder", "inlineExtension":
		return escapeText(attrString(n.Attrs, "text"), false)
	case "applicationCard":
		// The ADF v1 card of an app: its text, linked to textUrl (or link.url).
		text := attrString(n.Attrs, "text")
		url := attrString(n.Attrs, "textUrl")
		if l, ok := n.Attrs["link"].(map[string]any); ok && url == "" {
			url = attrString(l, "url")
		}
		switch {
		case text == "":
			return cardLink(node{Attrs: map[string]any{"url": url}})
		case url == "":
			return escapeText(text, false)
		}
		return "[" + escapeText(text, false) + "](" + linkDestination(url) + ")"
	}
	if blockTypes[n.Type] {
		// A block where a paragraph's content belongs: keep its text.
		var b strings.Builder
		plainText(n, &b)
		return escapeText(strings.ReplaceAll(b.String(), "\n", " "), false)
	}
	// Unknown inline container: keep its children.
	return r.inline(n.Content)
}

// mergeText joins adjacent text nodes with identical marks, so that a code
// span or emphasis split across nodes is emitted once.
func mergeText(ns []node) []node {
	out := make([]node, 0, len(ns))
	for _, n := range ns {
		if n.Type == "text" && len(out) > 0 {
			p := &out[len(out)-1]
			if p.Type == "text" && sameMarks(p.Marks, n.Marks) {
				p.Text += n.Text
				continue
			}
		}
		out = append(out, n)
	}
	return out
}

func sameMarks(a, b []mark) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type != b[i].Type || attrString(a[i].Attrs, "href") != attrString(b[i].Attrs, "href") {
			return false
		}
	}
	return true
}
