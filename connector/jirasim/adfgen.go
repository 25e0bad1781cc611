package jirasim

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
)

// adfNode is one node of an Atlassian Document Format tree. Attrs is a map so
// each node type carries only its own attributes; encoding/json sorts map keys,
// which keeps generated documents byte-for-byte deterministic.
type adfNode struct {
	Type    string         `json:"type"`
	Version int            `json:"version,omitempty"` // only on doc
	Attrs   map[string]any `json:"attrs,omitempty"`
	Content []adfNode      `json:"content,omitempty"`
	Text    string         `json:"text,omitempty"`
	Marks   []adfMark      `json:"marks,omitempty"`
}

type adfMark struct {
	Type  string         `json:"type"`
	Attrs map[string]any `json:"attrs,omitempty"`
}

func adfDoc(content ...adfNode) json.RawMessage {
	b, err := json.Marshal(adfNode{Type: "doc", Version: 1, Content: content})
	if err != nil {
		panic(err) // only plain values inside; cannot fail
	}
	return b
}

func adfText(s string, marks ...adfMark) adfNode {
	return adfNode{Type: "text", Text: s, Marks: marks}
}

func adfPara(content ...adfNode) adfNode { return adfNode{Type: "paragraph", Content: content} }

func adfListItem(content ...adfNode) adfNode { return adfNode{Type: "listItem", Content: content} }

// TextToADF turns plain text into an ADF document: blank lines separate
// paragraphs, single newlines become hardBreaks. Empty text gives an empty doc.
func TextToADF(s string) json.RawMessage {
	var paras []adfNode
	for _, block := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n\n") {
		block = strings.Trim(block, "\n")
		if strings.TrimSpace(block) == "" {
			continue
		}
		var content []adfNode
		for i, line := range strings.Split(block, "\n") {
			if i > 0 {
				content = append(content, adfNode{Type: "hardBreak"})
			}
			if line != "" {
				content = append(content, adfText(line))
			}
		}
		paras = append(paras, adfPara(content...))
	}
	if paras == nil {
		paras = []adfNode{}
	}
	b, _ := json.Marshal(struct {
		Type    string    `json:"type"`
		Version int       `json:"version"`
		Content []adfNode `json:"content"`
	}{"doc", 1, paras})
	return b
}

// ADFPlainText extracts the readable text of an ADF document: text nodes,
// mentions, dates, status lozenges, card URLs; blocks end with a newline.
// Invalid JSON yields "". It is what the DC mode and text search use.
func ADFPlainText(raw json.RawMessage) string {
	if len(raw) == 0 {
		return ""
	}
	var n adfNode
	if err := json.Unmarshal(raw, &n); err != nil {
		return ""
	}
	var b strings.Builder
	writePlain(&b, n)
	return strings.TrimSpace(b.String())
}

func writePlain(b *strings.Builder, n adfNode) {
	switch n.Type {
	case "text":
		b.WriteString(n.Text)
	case "hardBreak":
		b.WriteString("\n")
	case "mention", "emoji":
		if t, ok := n.Attrs["text"].(string); ok {
			b.WriteString(t)
		}
	case "status":
		if t, ok := n.Attrs["text"].(string); ok {
			b.WriteString(t)
		}
	case "date":
		if t, ok := n.Attrs["timestamp"].(string); ok {
			b.WriteString(t)
		}
	case "inlineCard", "blockCard":
		if u, ok := n.Attrs["url"].(string); ok {
			b.WriteString(u)
		}
	case "media":
		if a, ok := n.Attrs["alt"].(string); ok {
			b.WriteString(a)
		}
	}
	for _, c := range n.Content {
		writePlain(b, c)
		switch c.Type {
		case "paragraph", "heading", "codeBlock", "listItem", "tableRow", "rule", "mediaSingle", "blockquote", "panel":
			if !strings.HasSuffix(b.String(), "\n") {
				b.WriteString("\n")
			}
		case "tableCell", "tableHeader":
			b.WriteString("\t")
		}
	}
}

// descMedia is an attachment the generated description may embed.
type descMedia struct {
	MediaID  string
	Filename string
}

// describe builds the ADF description (date nodes carry epoch milliseconds
// as a string, as Jira's ADF does) of a generated ticket. Which optional
// nodes appear depends on r, so the world as a whole uses every node type.
func describe(r *rand.Rand, memo map[string]string, t *ticketTemplate, mention *SimUser, media *descMedia, created string) json.RawMessage {
	var c []adfNode
	first := fillM(r, memo, pick(r, t.details))
	c = append(c, adfPara(adfText(first)))

	if r.IntN(3) == 0 {
		c = append(c, adfNode{Type: "heading", Attrs: map[string]any{"level": 1 + r.IntN(3)}, Content: []adfNode{adfText("Steps to reproduce")}})
	}
	if len(t.steps) > 0 {
		listType := "bulletList"
		if r.IntN(2) == 0 {
			listType = "orderedList"
		}
		list := adfNode{Type: listType}
		if listType == "orderedList" {
			list.Attrs = map[string]any{"order": 1}
		}
		for _, s := range t.steps {
			list.Content = append(list.Content, adfListItem(adfPara(adfText(fillM(r, memo, s)))))
		}
		c = append(c, list)
	}

	// A paragraph mixing marks, a mention, a status lozenge, a date and a link.
	var mixed []adfNode
	mixed = append(mixed, adfText("Impact: "), adfText(pick(r, []string{"single user", "whole team", "one office", "all staff"}), adfMark{Type: "strong"}))
	if mention != nil && r.IntN(2) == 0 {
		mixed = append(mixed, adfText(". Reported together with "),
			adfNode{Type: "mention", Attrs: map[string]any{"id": mention.AccountID, "text": "@" + mention.DisplayName, "accessLevel": ""}})
	}
	if r.IntN(3) == 0 {
		mixed = append(mixed, adfText(". Current state "),
			adfNode{Type: "status", Attrs: map[string]any{"text": pick(r, []string{"BLOCKED", "IN PROGRESS", "WAITING"}), "color": pick(r, []string{"red", "blue", "yellow"}), "localId": randUUID(r)}})
	}
	if r.IntN(3) == 0 {
		mixed = append(mixed, adfText(". Needed by "), adfNode{Type: "date", Attrs: map[string]any{"timestamp": created}})
	}
	if r.IntN(3) == 0 {
		mixed = append(mixed, adfText(". See the "), adfText("knowledge base article", adfMark{Type: "link", Attrs: map[string]any{"href": "https://kb.example.com/articles/" + t.topic}}))
	}
	if r.IntN(4) == 0 {
		mixed = append(mixed, adfText(". Docs: "), adfNode{Type: "inlineCard", Attrs: map[string]any{"url": "https://confluence.example.com/wiki/spaces/IT/pages/" + t.topic}})
	}
	if r.IntN(3) == 0 {
		mixed = append(mixed, adfText(". Error shown: "), adfText(pick(r, corpusErrors), adfMark{Type: "code"}))
	}
	mixed = append(mixed, adfText("."), adfNode{Type: "hardBreak"}, adfText("Thanks", adfMark{Type: "em"}))
	c = append(c, adfPara(mixed...))

	if t.code != "" && r.IntN(2) == 0 {
		c = append(c, adfNode{Type: "codeBlock", Attrs: map[string]any{"language": t.codeLang}, Content: []adfNode{adfText(fillM(r, memo, t.code))}})
	}
	if r.IntN(4) == 0 {
		c = append(c, adfNode{Type: "panel", Attrs: map[string]any{"panelType": pick(r, []string{"info", "warning", "note", "error", "success"})},
			Content: []adfNode{adfPara(adfText(pick(r, []string{"Workaround: use the web version until this is fixed.", "Do not share passwords in tickets.", "This affects a VIP user, please prioritise."})))}})
	}
	if r.IntN(5) == 0 {
		c = append(c, adfNode{Type: "table", Attrs: map[string]any{"isNumberColumnEnabled": false, "layout": "default"}, Content: []adfNode{
			{Type: "tableRow", Content: []adfNode{
				{Type: "tableHeader", Content: []adfNode{adfPara(adfText("Item"))}},
				{Type: "tableHeader", Content: []adfNode{adfPara(adfText("Value"))}},
			}},
			{Type: "tableRow", Content: []adfNode{
				{Type: "tableCell", Content: []adfNode{adfPara(adfText("Device"))}},
				{Type: "tableCell", Content: []adfNode{adfPara(adfText(pick(r, corpusDevices)))}},
			}},
			{Type: "tableRow", Content: []adfNode{
				{Type: "tableCell", Content: []adfNode{adfPara(adfText("Location"))}},
				{Type: "tableCell", Content: []adfNode{adfPara(adfText(pick(r, corpusSites)))}},
			}},
		}})
	}
	if r.IntN(6) == 0 {
		c = append(c, adfNode{Type: "blockquote", Content: []adfNode{adfPara(adfText(fillM(r, memo, pick(r, t.details))))}})
	}
	if r.IntN(6) == 0 {
		c = append(c, adfNode{Type: "rule"})
	}
	if media != nil {
		c = append(c, adfNode{Type: "mediaSingle", Attrs: map[string]any{"layout": "center"}, Content: []adfNode{
			{Type: "media", Attrs: map[string]any{"id": media.MediaID, "type": "file", "collection": "", "alt": media.Filename}},
		}})
	}
	return adfDoc(c...)
}

// commentBody builds a comment's ADF: usually one paragraph, sometimes with a
// mention of the reporter or a short code span.
func commentBody(r *rand.Rand, memo map[string]string, t *ticketTemplate, mention *SimUser) json.RawMessage {
	text := fillM(r, memo, pick(r, t.comments))
	if mention != nil && r.IntN(4) == 0 {
		return adfDoc(adfPara(
			adfNode{Type: "mention", Attrs: map[string]any{"id": mention.AccountID, "text": "@" + mention.DisplayName, "accessLevel": ""}},
			adfText(" "+text)))
	}
	if r.IntN(8) == 0 {
		return adfDoc(adfPara(adfText(text)), adfPara(adfText("Ref: "), adfText(pick(r, corpusHosts), adfMark{Type: "code"})))
	}
	return adfDoc(adfPara(adfText(text)))
}
