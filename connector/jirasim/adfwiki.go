package jirasim

import (
	"encoding/json"
	"fmt"
	"html"
	"strings"
	"time"
)

// ADF → Jira wiki markup (Data Center bodies) and ADF → HTML (Cloud
// renderedFields / renderedBody). Unknown nodes keep their text.

type wikiNode struct {
	Type    string         `json:"type"`
	Attrs   map[string]any `json:"attrs"`
	Content []wikiNode     `json:"content"`
	Text    string         `json:"text"`
	Marks   []wikiMark     `json:"marks"`
}

type wikiMark struct {
	Type  string         `json:"type"`
	Attrs map[string]any `json:"attrs"`
}

func apiParseADF(raw json.RawMessage) (wikiNode, bool) {
	var n wikiNode
	if len(raw) == 0 || json.Unmarshal(raw, &n) != nil {
		return n, false
	}
	return n, true
}

func adfAttr(a map[string]any, k string) string {
	switch x := a[k].(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(int64(x))
	}
	return ""
}

// adfToWiki renders an ADF document as wiki markup; a body that is not ADF JSON
// (already text) is returned as it is.
func adfToWiki(raw json.RawMessage) string {
	n, ok := apiParseADF(raw)
	if !ok {
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return string(raw)
	}
	var b strings.Builder
	wikiBlocks(&b, n.Content, "")
	return strings.TrimRight(b.String(), "\n")
}

func wikiBlocks(b *strings.Builder, nodes []wikiNode, listPrefix string) {
	for _, n := range nodes {
		wikiBlock(b, n, listPrefix)
	}
}

func wikiBlock(b *strings.Builder, n wikiNode, listPrefix string) {
	switch n.Type {
	case "paragraph":
		wikiInline(b, n.Content)
		b.WriteString("\n\n")
	case "heading":
		lvl := adfAttr(n.Attrs, "level")
		if lvl == "" {
			lvl = "1"
		}
		b.WriteString("h" + lvl + ". ")
		wikiInline(b, n.Content)
		b.WriteString("\n\n")
	case "bulletList", "orderedList":
		mark := "*"
		if n.Type == "orderedList" {
			mark = "#"
		}
		for _, item := range n.Content {
			wikiListItem(b, item, listPrefix+mark)
		}
		if listPrefix == "" {
			b.WriteString("\n")
		}
	case "codeBlock":
		if lang := adfAttr(n.Attrs, "language"); lang != "" {
			b.WriteString("{code:" + lang + "}\n")
		} else {
			b.WriteString("{code}\n")
		}
		for _, t := range n.Content {
			b.WriteString(t.Text)
		}
		b.WriteString("\n{code}\n\n")
	case "blockquote":
		b.WriteString("{quote}\n")
		var inner strings.Builder
		wikiBlocks(&inner, n.Content, "")
		b.WriteString(strings.TrimRight(inner.String(), "\n"))
		b.WriteString("\n{quote}\n\n")
	case "panel":
		t := adfAttr(n.Attrs, "panelType")
		if t == "" {
			t = "info"
		}
		b.WriteString("{panel:title=" + t + "}\n")
		var inner strings.Builder
		wikiBlocks(&inner, n.Content, "")
		b.WriteString(strings.TrimRight(inner.String(), "\n"))
		b.WriteString("\n{panel}\n\n")
	case "rule":
		b.WriteString("----\n\n")
	case "table":
		for _, row := range n.Content {
			sep := "|"
			for _, cell := range row.Content {
				if cell.Type == "tableHeader" {
					sep = "||"
				}
			}
			b.WriteString(sep)
			for _, cell := range row.Content {
				var inner strings.Builder
				for _, c := range cell.Content {
					if c.Type == "paragraph" {
						wikiInline(&inner, c.Content)
						inner.WriteString(" ")
					} else {
						wikiBlock(&inner, c, "")
					}
				}
				b.WriteString(" " + strings.TrimSpace(inner.String()) + " " + sep)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	case "mediaSingle", "mediaGroup":
		for _, m := range n.Content {
			name := adfAttr(m.Attrs, "alt")
			if name == "" {
				name = adfAttr(m.Attrs, "id")
			}
			b.WriteString("!" + name + "!\n")
		}
		b.WriteString("\n")
	case "expand", "nestedExpand":
		if t := adfAttr(n.Attrs, "title"); t != "" {
			b.WriteString("*" + t + "*\n")
		}
		wikiBlocks(b, n.Content, listPrefix)
	default:
		if len(n.Content) > 0 {
			if isInlineContainer(n.Content) {
				wikiInline(b, n.Content)
				b.WriteString("\n\n")
			} else {
				wikiBlocks(b, n.Content, listPrefix)
			}
		} else if n.Text != "" {
			b.WriteString(n.Text + "\n\n")
		}
	}
}

func isInlineContainer(ns []wikiNode) bool {
	for _, n := range ns {
		switch n.Type {
		case "text", "hardBreak", "mention", "emoji", "date", "status", "inlineCard":
		default:
			return false
		}
	}
	return true
}

func wikiListItem(b *strings.Builder, item wikiNode, prefix string) {
	b.WriteString(prefix + " ")
	first := true
	for _, c := range item.Content {
		switch c.Type {
		case "bulletList", "orderedList":
			if first {
				b.WriteString("\n")
			}
			mark := "*"
			if c.Type == "orderedList" {
				mark = "#"
			}
			for _, it := range c.Content {
				wikiListItem(b, it, prefix+mark)
			}
			first = false
			continue
		case "paragraph":
			if !first {
				b.WriteString(" ")
			}
			wikiInline(b, c.Content)
		default:
			var inner strings.Builder
			wikiBlock(&inner, c, "")
			b.WriteString(strings.TrimSpace(inner.String()))
		}
		if first {
			first = false
			b.WriteString("\n")
		}
	}
	if first {
		b.WriteString("\n")
	}
}

func wikiInline(b *strings.Builder, nodes []wikiNode) {
	for _, n := range nodes {
		switch n.Type {
		case "text":
			t := n.Text
			var href string
			for _, m := range n.Marks {
				switch m.Type {
				case "strong":
					t = "*" + t + "*"
				case "em":
					t = "_" + t + "_"
				case "strike":
					t = "-" + t + "-"
				case "underline":
					t = "+" + t + "+"
				case "code":
					t = "{{" + t + "}}"
				case "subsup":
					if adfAttr(m.Attrs, "type") == "sup" {
						t = "^" + t + "^"
					} else {
						t = "~" + t + "~"
					}
				case "textColor":
					t = "{color:" + adfAttr(m.Attrs, "color") + "}" + t + "{color}"
				case "link":
					href = adfAttr(m.Attrs, "href")
				}
			}
			if href != "" {
				t = "[" + t + "|" + href + "]"
			}
			b.WriteString(t)
		case "hardBreak":
			b.WriteString("\n")
		case "mention":
			id := adfAttr(n.Attrs, "id")
			b.WriteString("[~" + id + "]") // Data Center mentions name the user; DC user names are the account ids here
		case "emoji":
			s := adfAttr(n.Attrs, "text")
			if s == "" {
				s = adfAttr(n.Attrs, "shortName")
			}
			b.WriteString(s)
		case "date":
			b.WriteString(adfDateText(n.Attrs))
		case "status":
			b.WriteString("*[" + adfAttr(n.Attrs, "text") + "]*")
		case "inlineCard":
			b.WriteString("[" + adfAttr(n.Attrs, "url") + "]")
		default:
			if n.Text != "" {
				b.WriteString(n.Text)
			}
			wikiInline(b, n.Content)
		}
	}
}

// adfDateText renders a date node's timestamp (epoch ms as a string) as yyyy-MM-dd.
func adfDateText(a map[string]any) string {
	ts := adfAttr(a, "timestamp")
	var ms int64
	if _, err := fmt.Sscan(ts, &ms); err != nil {
		return ts
	}
	return time.UnixMilli(ms).UTC().Format("2006-01-02")
}

// adfToHTML renders an ADF document as the HTML Jira puts in renderedFields.
func adfToHTML(raw json.RawMessage) string {
	n, ok := apiParseADF(raw)
	if !ok {
		return ""
	}
	var b strings.Builder
	htmlBlocks(&b, n.Content)
	return b.String()
}

func htmlBlocks(b *strings.Builder, nodes []wikiNode) {
	for _, n := range nodes {
		htmlBlock(b, n)
	}
}

func htmlBlock(b *strings.Builder, n wikiNode) {
	switch n.Type {
	case "paragraph":
		b.WriteString("<p>")
		htmlInline(b, n.Content)
		b.WriteString("</p>\n")
	case "heading":
		lvl := adfAttr(n.Attrs, "level")
		if lvl == "" {
			lvl = "1"
		}
		b.WriteString("<h" + lvl + ">")
		htmlInline(b, n.Content)
		b.WriteString("</h" + lvl + ">\n")
	case "bulletList", "orderedList":
		tag := "ul"
		if n.Type == "orderedList" {
			tag = "ol"
		}
		b.WriteString("<" + tag + ">\n")
		for _, item := range n.Content {
			b.WriteString("<li>")
			for _, c := range item.Content {
				if c.Type == "paragraph" {
					htmlInline(b, c.Content)
				} else {
					htmlBlock(b, c)
				}
			}
			b.WriteString("</li>\n")
		}
		b.WriteString("</" + tag + ">\n")
	case "codeBlock":
		lang := adfAttr(n.Attrs, "language")
		b.WriteString(`<div class="code panel"><div class="codeContent panelContent"><pre class="code-` + html.EscapeString(lang) + `">`)
		for _, t := range n.Content {
			b.WriteString(html.EscapeString(t.Text))
		}
		b.WriteString("</pre></div></div>\n")
	case "blockquote":
		b.WriteString("<blockquote>")
		htmlBlocks(b, n.Content)
		b.WriteString("</blockquote>\n")
	case "panel":
		b.WriteString(`<div class="panel" data-panel-type="` + html.EscapeString(adfAttr(n.Attrs, "panelType")) + `"><div class="panelContent">`)
		htmlBlocks(b, n.Content)
		b.WriteString("</div></div>\n")
	case "rule":
		b.WriteString("<hr />\n")
	case "table":
		b.WriteString("<table>\n")
		for _, row := range n.Content {
			b.WriteString("<tr>")
			for _, cell := range row.Content {
				tag := "td"
				if cell.Type == "tableHeader" {
					tag = "th"
				}
				b.WriteString("<" + tag + ">")
				for _, c := range cell.Content {
					if c.Type == "paragraph" {
						htmlInline(b, c.Content)
					} else {
						htmlBlock(b, c)
					}
				}
				b.WriteString("</" + tag + ">")
			}
			b.WriteString("</tr>\n")
		}
		b.WriteString("</table>\n")
	case "mediaSingle", "mediaGroup":
		for _, m := range n.Content {
			name := adfAttr(m.Attrs, "alt")
			if name == "" {
				name = adfAttr(m.Attrs, "id")
			}
			b.WriteString(`<p><span class="image-wrap"><img src="` + html.EscapeString(name) + `" alt="` + html.EscapeString(name) + `" /></span></p>` + "\n")
		}
	default:
		if isInlineContainer(n.Content) && len(n.Content) > 0 {
			b.WriteString("<p>")
			htmlInline(b, n.Content)
			b.WriteString("</p>\n")
		} else {
			htmlBlocks(b, n.Content)
		}
	}
}

func htmlInline(b *strings.Builder, nodes []wikiNode) {
	for _, n := range nodes {
		switch n.Type {
		case "text":
			t := html.EscapeString(n.Text)
			for _, m := range n.Marks {
				switch m.Type {
				case "strong":
					t = "<b>" + t + "</b>"
				case "em":
					t = "<em>" + t + "</em>"
				case "strike":
					t = "<del>" + t + "</del>"
				case "underline":
					t = "<ins>" + t + "</ins>"
				case "code":
					t = "<tt>" + t + "</tt>"
				case "link":
					t = `<a href="` + html.EscapeString(adfAttr(m.Attrs, "href")) + `">` + t + "</a>"
				}
			}
			b.WriteString(t)
		case "hardBreak":
			b.WriteString("<br/>")
		case "mention":
			name := strings.TrimPrefix(adfAttr(n.Attrs, "text"), "@")
			b.WriteString(`<a href="#" class="user-hover" data-account-id="` + html.EscapeString(adfAttr(n.Attrs, "id")) + `">` + html.EscapeString(name) + "</a>")
		case "emoji":
			b.WriteString(html.EscapeString(adfAttr(n.Attrs, "text")))
		case "date":
			b.WriteString("<time>" + adfDateText(n.Attrs) + "</time>")
		case "status":
			b.WriteString(`<span class="status-macro">` + html.EscapeString(adfAttr(n.Attrs, "text")) + "</span>")
		case "inlineCard":
			u := html.EscapeString(adfAttr(n.Attrs, "url"))
			b.WriteString(`<a href="` + u + `">` + u + "</a>")
		default:
			b.WriteString(html.EscapeString(n.Text))
			htmlInline(b, n.Content)
		}
	}
}
