package markdown

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ADFOptions resolves references an ADF document makes to things outside it.
// Both functions are optional; an empty result means "unknown".
type ADFOptions struct {
	// ResolveMention returns the display name of an account id.
	ResolveMention func(accountID string) string
	// AttachmentName returns the file name of a media id.
	AttachmentName func(mediaID string) string
}

// node is one ADF node, decoded leniently from generic JSON so that a field of
// an unexpected type is ignored rather than failing the whole document.
type node struct {
	Type    string
	Text    string
	Attrs   map[string]any
	Content []node
	Marks   []mark
}

type mark struct {
	Type  string
	Attrs map[string]any
}

// maxNodes bounds the work done for one document; Jira caps descriptions far
// below this, so only hostile input reaches it.
const maxNodes = 1 << 20

// parseADF decodes raw JSON into a node tree. A JSON string is taken as plain
// text (Data Center returns descriptions that way); an array as a list of nodes.
func parseADF(raw []byte) (node, bool, error) {
	raw = bytes.Trim(raw, " \t\r\n")
	if len(raw) == 0 || string(raw) == "null" {
		return node{}, false, nil
	}
	if !json.Valid(raw) {
		// Valid names no reason; decoding does, and trailing data is caught here.
		var v any
		if err := json.Unmarshal(raw, &v); err != nil {
			return node{}, false, fmt.Errorf("adf: %w", err)
		}
		return node{}, false, errors.New("adf: invalid JSON")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return node{}, false, fmt.Errorf("adf: %w", err)
	}
	budget := maxNodes
	switch v := v.(type) {
	case map[string]any:
		return toNode(v, &budget), true, nil
	case []any:
		return node{Type: "doc", Content: toNodes(v, &budget)}, true, nil
	case string:
		return node{Type: "doc", Content: []node{{Type: "paragraph", Content: []node{{Type: "text", Text: v}}}}}, true, nil
	default:
		return node{}, false, fmt.Errorf("adf: document is a JSON %s, not an object", jsonKind(v))
	}
}

func jsonKind(v any) string {
	switch v.(type) {
	case bool:
		return "boolean"
	case json.Number:
		return "number"
	}
	return "value"
}

func toNode(m map[string]any, budget *int) node {
	*budget--
	var n node
	n.Type, _ = m["type"].(string)
	n.Text, _ = m["text"].(string)
	n.Attrs, _ = m["attrs"].(map[string]any)
	if c, ok := m["content"].([]any); ok {
		n.Content = toNodes(c, budget)
	}
	if ms, ok := m["marks"].([]any); ok {
		for _, x := range ms {
			mm, ok := x.(map[string]any)
			if !ok {
				continue
			}
			t, _ := mm["type"].(string)
			a, _ := mm["attrs"].(map[string]any)
			n.Marks = append(n.Marks, mark{Type: t, Attrs: a})
		}
	}
	return n
}

func toNodes(c []any, budget *int) []node {
	out := make([]node, 0, len(c))
	for _, x := range c {
		if *budget <= 0 {
			break
		}
		if m, ok := x.(map[string]any); ok {
			out = append(out, toNode(m, budget))
		}
	}
	return out
}

// attrString returns a string attribute; numbers are formatted, other types ignored.
func attrString(attrs map[string]any, key string) string {
	switch v := attrs[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	}
	return ""
}

// attrInt returns an integer attribute given as a number or a numeric string.
func attrInt(attrs map[string]any, key string) (int64, bool) {
	var s string
	switch v := attrs[key].(type) {
	case json.Number:
		s = v.String()
	case string:
		s = strings.TrimSpace(v)
	default:
		return 0, false
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i, true
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil && f >= -9e18 && f <= 9e18 {
		return int64(f), true
	}
	return 0, false
}

// plainText is the concatenated text of a subtree, used where Markdown
// structure cannot go (code blocks) or nesting is too deep.
func plainText(n node, b *strings.Builder) {
	if n.Type == "text" {
		b.WriteString(n.Text)
		return
	}
	if n.Type == "hardBreak" {
		b.WriteByte('\n')
		return
	}
	if s := inlineAtomText(n); s != "" {
		b.WriteString(s)
		return
	}
	for i, c := range n.Content {
		if i > 0 && isBlock(c.Type) {
			b.WriteByte('\n')
		}
		plainText(c, b)
	}
}

// inlineAtomText is the plain text of leaf nodes that are not "text".
func inlineAtomText(n node) string {
	switch n.Type {
	case "mention":
		return attrString(n.Attrs, "text")
	case "emoji":
		if t := attrString(n.Attrs, "text"); t != "" {
			return t
		}
		return attrString(n.Attrs, "shortName")
	case "status":
		return attrString(n.Attrs, "text")
	case "inlineCard", "blockCard", "embedCard":
		return attrString(n.Attrs, "url")
	}
	return ""
}
