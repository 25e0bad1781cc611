package markdown

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// FromADF converts an Atlassian Document Format document to Markdown
// (CommonMark with GFM tables, task lists and strikethrough).
//
// Empty input and JSON null give "". A JSON string is returned as plain text.
// Only input that is not valid JSON is an error.
func FromADF(raw json.RawMessage, opts ADFOptions) (string, error) {
	n, ok, err := parseADF(raw)
	if err != nil || !ok {
		return "", err
	}
	r := &renderer{opts: opts}
	var parts []block
	if n.Type == "doc" {
		parts = r.blocks(n.Content)
	} else {
		parts = r.blocks([]node{n})
	}
	return joinBlocks(parts), nil
}

// maxDepth bounds nesting; deeper structure is flattened to its text so that
// hostile documents cannot make the output grow with the square of the input.
const maxDepth = 48

type renderer struct {
	opts  ADFOptions
	depth int
	// Markdown tables cannot nest: a table inside a table cell is rendered
	// after the outermost table, as its own table, and the cell names it.
	tables int           // tables being rendered (1 = outermost)
	nested []nestedTable // deferred tables of the outermost table, in document order
	done   int           // nested tables of earlier outermost tables (numbering runs through the document)
	where  string        // the cell being rendered, for the nested tables' captions
}

type nestedTable struct {
	where, text string
}

// block is one rendered block and what kind of node produced it, which
// decides how it is separated from its neighbours.
type block struct {
	kind string
	text string
}

func joinBlocks(bs []block) string {
	var b strings.Builder
	for i, x := range bs {
		if i > 0 {
			b.WriteString("\n\n")
		}
		b.WriteString(x.text)
	}
	return b.String()
}

var inlineTypes = map[string]bool{
	"text": true, "hardBreak": true, "mention": true, "emoji": true, "date": true,
	"status": true, "inlineCard": true, "mediaInline": true, "placeholder": true,
	"inlineExtension": true,
}

var blockTypes = map[string]bool{
	"doc": true, "paragraph": true, "heading": true, "bulletList": true, "orderedList": true,
	"listItem": true, "codeBlock": true, "blockquote": true, "rule": true, "panel": true,
	"table": true, "tableRow": true, "tableHeader": true, "tableCell": true,
	"mediaSingle": true, "mediaGroup": true, "media": true, "blockCard": true, "embedCard": true,
	"expand": true, "nestedExpand": true, "taskList": true, "taskItem": true,
	"decisionList": true, "decisionItem": true, "extension": true, "bodiedExtension": true,
	"multiBodiedExtension": true, "extensionFrame": true, "layoutSection": true,
	"layoutColumn": true, "caption": true, "applicationCard": true,
}

// isInline says whether a node belongs inside a paragraph. Unknown nodes are
// inline when they carry text or only inline children.
func isInline(n node) bool {
	if inlineTypes[n.Type] {
		return true
	}
	if blockTypes[n.Type] {
		return false
	}
	if n.Text != "" {
		return true
	}
	for _, c := range n.Content {
		if !isInline(c) {
			return false
		}
	}
	return true
}

func isBlock(typ string) bool { return blockTypes[typ] }

// blocks renders a sequence of nodes as blocks, gathering runs of inline
// nodes into paragraphs. Empty blocks are dropped.
func (r *renderer) blocks(ns []node) []block {
	var out []block
	for i := 0; i < len(ns); {
		if isInline(ns[i]) {
			j := i
			for j < len(ns) && isInline(ns[j]) {
				j++
			}
			if s := r.inline(ns[i:j]); s != "" {
				out = append(out, block{"paragraph", s})
			}
			i = j
			continue
		}
		if s := r.block(ns[i]); s != "" {
			out = append(out, block{ns[i].Type, s})
		}
		i++
	}
	return out
}

func (r *renderer) block(n node) string {
	r.depth++
	defer func() { r.depth-- }()
	if r.depth > maxDepth {
		var b strings.Builder
		plainText(n, &b)
		return r.inline([]node{{Type: "text", Text: b.String()}})
	}
	switch n.Type {
	case "paragraph":
		return r.inline(n.Content)
	case "heading":
		level, _ := attrInt(n.Attrs, "level")
		level = min(max(level, 1), 6)
		text := r.inline(n.Content)
		if text == "" {
			return ""
		}
		// A heading is one line: hard breaks become spaces.
		text = strings.ReplaceAll(text, hardBreak, " ")
		return strings.Repeat("#", int(level)) + " " + text
	case "bulletList", "listItem":
		items := n.Content
		if n.Type == "listItem" {
			items = []node{n}
		}
		var lines []string
		for _, it := range items {
			lines = append(lines, r.listItem(it, "- "))
		}
		return strings.Join(lines, "\n")
	case "orderedList":
		start, ok := attrInt(n.Attrs, "order")
		if !ok || start < 0 {
			start = 1
		}
		start = min(start, 999999999-int64(len(n.Content)))
		start = max(start, 0)
		var lines []string
		for i, it := range n.Content {
			lines = append(lines, r.listItem(it, strconv.FormatInt(start+int64(i), 10)+". "))
		}
		return strings.Join(lines, "\n")
	case "taskList", "decisionList":
		return r.taskList(n)
	case "taskItem", "decisionItem":
		return r.taskList(node{Type: "taskList", Content: []node{n}})
	case "codeBlock":
		var b strings.Builder
		for _, c := range n.Content {
			plainText(c, &b)
		}
		return codeBlock(attrString(n.Attrs, "language"), b.String())
	case "blockquote":
		return quote(joinBlocks(r.blocks(n.Content)))
	case "rule":
		return "---"
	case "panel":
		return r.panel(n)
	case "table":
		return r.table(n)
	case "mediaSingle", "mediaGroup", "media", "caption":
		return r.mediaBlock(n)
	case "blockCard", "embedCard":
		return cardLink(n)
	case "applicationCard":
		return r.atom(n)
	case "expand", "nestedExpand":
		body := r.blocks(n.Content)
		if title := attrString(n.Attrs, "title"); title != "" {
			body = append([]block{{"paragraph", "**" + escapeText(strings.TrimSpace(title), false) + "**"}}, body...)
		}
		return joinBlocks(body)
	case "extension":
		return escapeText(attrString(n.Attrs, "text"), true)
	}
	// doc, layouts, bodied extensions, table parts outside a table and
	// unknown containers: keep what they hold.
	return joinBlocks(r.blocks(n.Content))
}

// listItem renders one item with its marker; continuation lines are indented
// to the marker's width so nested lists and paragraphs stay inside the item.
func (r *renderer) listItem(n node, marker string) string {
	content := n.Content
	if n.Type != "listItem" {
		content = []node{n}
	}
	bs := r.blocks(content)
	var b strings.Builder
	for i, x := range bs {
		if i > 0 {
			if isList(x.kind) {
				b.WriteString("\n")
			} else {
				b.WriteString("\n\n")
			}
		}
		b.WriteString(x.text)
	}
	if b.Len() == 0 {
		return strings.TrimRight(marker, " ")
	}
	return indent(marker, b.String())
}

func isList(kind string) bool {
	switch kind {
	case "bulletList", "orderedList", "taskList", "decisionList":
		return true
	}
	return false
}

func indent(marker, body string) string {
	pad := strings.Repeat(" ", len(marker))
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		switch {
		case i == 0:
			lines[i] = marker + l
		case l != "":
			lines[i] = pad + l
		}
	}
	return strings.Join(lines, "\n")
}

func quote(body string) string {
	if body == "" {
		return ""
	}
	lines := strings.Split(body, "\n")
	for i, l := range lines {
		if l == "" {
			lines[i] = ">"
		} else {
			lines[i] = "> " + l
		}
	}
	return strings.Join(lines, "\n")
}

func (r *renderer) taskList(n node) string {
	var lines []string
	for _, it := range n.Content {
		switch it.Type {
		case "taskItem":
			box := "- [ ] "
			if strings.EqualFold(attrString(it.Attrs, "state"), "DONE") {
				box = "- [x] "
			}
			lines = append(lines, r.itemLine(box, it.Content))
		case "decisionItem":
			lines = append(lines, r.itemLine("- Decision: ", it.Content))
		case "taskList", "decisionList":
			// A nested list belongs to the item above it.
			r.depth++
			if s := r.block(it); s != "" {
				lines = append(lines, indent("  ", s))
			}
			r.depth--
		default:
			lines = append(lines, r.listItem(it, "- "))
		}
	}
	return strings.Join(lines, "\n")
}

func (r *renderer) itemLine(marker string, content []node) string {
	body := joinBlocks(r.blocks(content))
	if body == "" {
		return strings.TrimRight(marker, " ")
	}
	return indent(marker, body)
}

var panelLabels = map[string]string{
	"info": "Info", "note": "Note", "warning": "Warning", "success": "Success",
	"error": "Error", "tip": "Tip", "custom": "Note",
}

func (r *renderer) panel(n node) string {
	label := panelLabels[strings.ToLower(attrString(n.Attrs, "panelType"))]
	if label == "" {
		label = "Note"
	}
	bs := r.blocks(n.Content)
	body := "**" + label + ":**"
	if len(bs) > 0 {
		// A paragraph continues the label's line; other blocks start fresh.
		if bs[0].kind == "paragraph" {
			body += " " + bs[0].text
			bs = bs[1:]
		}
		if len(bs) > 0 {
			body += "\n\n" + joinBlocks(bs)
		}
	}
	return quote(body)
}

// table renders a GFM table. The first row is the header, as GFM requires
// one; short rows are padded and colspans filled with empty cells. Tables
// nested in its cells (at any depth) follow it, each as a table of its own
// with a caption naming the cell it belongs to; that cell reads
// "[nested table N]", so every cell keeps its own text.
func (r *renderer) table(n node) string {
	if r.tables > 0 {
		where := r.where
		r.nested = append(r.nested, nestedTable{where: where})
		i := len(r.nested) - 1
		name := "nested table " + strconv.Itoa(r.done+i+1)
		r.tables++
		text := r.gfmTable(n, name+", ")
		r.tables--
		r.where = where
		r.nested[i].text = text
		return "[" + name + "]"
	}
	r.tables++
	text := r.gfmTable(n, "")
	r.tables--
	nested := r.nested
	r.nested, r.where = nil, ""
	var b strings.Builder
	b.WriteString(text)
	for i, t := range nested {
		if t.text == "" {
			continue
		}
		b.WriteString("\n\n*Nested table " + strconv.Itoa(r.done+i+1) + " (in " + t.where + "):*\n\n")
		b.WriteString(t.text)
	}
	r.done += len(nested)
	return b.String()
}

// gfmTable renders one table's rows; prefix names the table in the
// captions of the tables nested in it.
func (r *renderer) gfmTable(n node, prefix string) string {
	var rows [][]string
	width := 0
	for ri, row := range n.Content {
		if row.Type != "tableRow" {
			continue
		}
		var cells []string
		for _, c := range row.Content {
			r.where = prefix + "row " + strconv.Itoa(ri+1) + ", column " + strconv.Itoa(len(cells)+1)
			cells = append(cells, r.cell(c))
			if span, ok := attrInt(c.Attrs, "colspan"); ok && span > 1 {
				for k := int64(1); k < min(span, 64); k++ {
					cells = append(cells, "")
				}
			}
		}
		width = max(width, len(cells))
		rows = append(rows, cells)
	}
	if width == 0 {
		return ""
	}
	var b strings.Builder
	writeRow := func(cells []string) {
		b.WriteString("|")
		for i := 0; i < width; i++ {
			c := ""
			if i < len(cells) {
				c = cells[i]
			}
			b.WriteString(" " + c + " |")
		}
	}
	writeRow(rows[0])
	b.WriteString("\n|")
	for i := 0; i < width; i++ {
		b.WriteString(" --- |")
	}
	for _, row := range rows[1:] {
		b.WriteString("\n")
		writeRow(row)
	}
	return b.String()
}

// cell renders a table cell on one line: blocks and line breaks become <br>,
// pipes are escaped.
func (r *renderer) cell(n node) string {
	content := n.Content
	if n.Type != "tableCell" && n.Type != "tableHeader" {
		content = []node{n}
	}
	var parts []string
	for _, x := range r.blocks(content) {
		s := strings.ReplaceAll(x.text, hardBreak, "<br>")
		s = strings.ReplaceAll(s, "\n", "<br>")
		parts = append(parts, s)
	}
	s := strings.Join(parts, "<br>")
	return strings.ReplaceAll(s, "|", `\|`)
}

func (r *renderer) mediaBlock(n node) string {
	var lines []string
	var walk func(node)
	walk = func(m node) {
		switch m.Type {
		case "media", "mediaInline":
			lines = append(lines, r.media(m))
		case "caption":
			if s := r.inline(m.Content); s != "" {
				lines = append(lines, s)
			}
		default:
			for _, c := range m.Content {
				walk(c)
			}
		}
	}
	walk(n)
	return strings.Join(lines, hardBreak)
}

// media is a reference to an attachment: the index holds attachments as
// their own documents, so the description only names them.
func (r *renderer) media(n node) string {
	id := attrString(n.Attrs, "id")
	name := ""
	if id != "" && r.opts.AttachmentName != nil {
		name = r.opts.AttachmentName(id)
	}
	if name == "" {
		name = attrString(n.Attrs, "alt")
	}
	if name == "" {
		name = attrString(n.Attrs, "url")
	}
	if name == "" {
		name = id
	}
	if name == "" {
		name = "unnamed"
	}
	return "[attachment: " + escapeText(name, false) + "]"
}

func cardLink(n node) string {
	url := attrString(n.Attrs, "url")
	if url == "" {
		if data, ok := n.Attrs["data"].(map[string]any); ok {
			url = attrString(data, "url")
		}
	}
	if url == "" {
		return ""
	}
	return autolink(url)
}

func (r *renderer) mention(n node) string {
	id := attrString(n.Attrs, "id")
	name := ""
	if id != "" && r.opts.ResolveMention != nil {
		name = r.opts.ResolveMention(id)
	}
	if name == "" {
		name = strings.TrimPrefix(attrString(n.Attrs, "text"), "@")
	}
	if name == "" {
		name = id
	}
	if name == "" {
		return ""
	}
	return "@" + escapeText(name, false)
}

func dateText(n node) string {
	ms, ok := attrInt(n.Attrs, "timestamp")
	if !ok {
		return escapeText(attrString(n.Attrs, "timestamp"), false)
	}
	t := time.UnixMilli(ms).UTC()
	if t.Year() < 0 || t.Year() > 9999 {
		return strconv.FormatInt(ms, 10)
	}
	return t.Format("2006-01-02")
}
