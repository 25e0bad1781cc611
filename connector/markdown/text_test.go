package markdown

import (
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"
)

// validADF checks the ADF rules Jira enforces on what ADFFromText emits:
// a version 1 doc, allowed children per node, no empty text nodes, marks
// only on text.
func validADF(t *testing.T, raw json.RawMessage) {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if doc["type"] != "doc" || doc["version"] != float64(1) {
		t.Fatalf("not a version 1 doc: %s", raw)
	}
	allowed := map[string][]string{
		"doc":        {"paragraph", "bulletList"},
		"bulletList": {"listItem"},
		"listItem":   {"paragraph"},
		"paragraph":  {"text", "hardBreak"},
	}
	var walk func(n map[string]any)
	walk = func(n map[string]any) {
		typ, _ := n["type"].(string)
		if typ == "text" {
			if s, _ := n["text"].(string); s == "" {
				t.Errorf("empty text node in %s", raw)
			}
		} else if _, ok := n["marks"]; ok {
			t.Errorf("marks on %s node", typ)
		}
		content, _ := n["content"].([]any)
		if (typ == "bulletList" || typ == "listItem" || typ == "doc") && len(content) == 0 {
			t.Errorf("%s without content in %s", typ, raw)
		}
		for _, c := range content {
			cm := c.(map[string]any)
			ct, _ := cm["type"].(string)
			ok := false
			for _, a := range allowed[typ] {
				ok = ok || a == ct
			}
			if !ok {
				t.Errorf("%s inside %s", ct, typ)
			}
			walk(cm)
		}
	}
	walk(doc)
}

func TestADFFromText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", `{"type":"doc","version":1,"content":[{"type":"paragraph"}]}`},
		{"bold", "a **b** c", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"a "},{"type":"text","text":"b","marks":[{"type":"strong"}]},{"type":"text","text":" c"}]}]}`},
		{"unmatched bold stays", "a ** b", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"a ** b"}]}]}`},
		{"lines and bullets", "x\ny\n- one\n- two\n\nz", `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"x"},{"type":"hardBreak"},{"type":"text","text":"y"}]},{"type":"bulletList","content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"one"}]}]},{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"two"}]}]}]},{"type":"paragraph","content":[{"type":"text","text":"z"}]}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := ADFFromText(tc.in)
			validADF(t, got)
			if string(got) != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
		})
	}
}

// TestTextRoundTrip checks ADFFromText → FromADF keeps the text and its
// structure: Markdown hard breaks stand for the input's line breaks.
func TestTextRoundTrip(t *testing.T) {
	words := []string{"reset", "password", "for", "alice@example.com", "ITSM-12", "Okta", "2024-06-01", "ok."}
	rng := rand.New(rand.NewPCG(1, 2))
	gen := func() string {
		var paras []string
		for range 1 + rng.IntN(4) {
			var lines []string
			for range 1 + rng.IntN(3) {
				var ws []string
				for range 1 + rng.IntN(5) {
					w := words[rng.IntN(len(words))]
					if rng.IntN(5) == 0 {
						w = "**" + w + "**"
					}
					ws = append(ws, w)
				}
				line := strings.Join(ws, " ")
				if rng.IntN(3) == 0 {
					line = "- " + line
				}
				lines = append(lines, line)
			}
			paras = append(paras, strings.Join(lines, "\n"))
		}
		return strings.Join(paras, "\n\n")
	}
	for i := range 300 {
		in := gen()
		raw := ADFFromText(in)
		validADF(t, raw)
		md, err := FromADF(raw, ADFOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// A bullet run and the lines next to it are separate blocks in the
		// Markdown; in the input they are only separated by a newline.
		got := strings.ReplaceAll(md, hardBreak, "\n")
		want := normalizeBlocks(in)
		if got != want {
			t.Fatalf("case %d:\ninput:\n%s\nmarkdown:\n%s\nwant:\n%s", i, in, got, want)
		}
	}
}

// normalizeBlocks puts a blank line wherever a bullet run starts or ends, as
// the Markdown rendering does, and nothing else.
func normalizeBlocks(in string) string {
	var out []string
	prevBullet := false
	for i, l := range strings.Split(in, "\n") {
		bullet := strings.HasPrefix(l, "- ")
		if i > 0 && l != "" && out[len(out)-1] != "" && bullet != prevBullet {
			out = append(out, "")
		}
		out = append(out, l)
		if l != "" {
			prevBullet = bullet
		}
	}
	return strings.Join(out, "\n")
}

func TestTextRoundTripSpecials(t *testing.T) {
	in := "Run `rm -rf` [now] *carefully*\n# not heading"
	md, err := FromADF(ADFFromText(in), ADFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := unescape(strings.ReplaceAll(md, hardBreak, "\n")); got != in {
		t.Errorf("specials not preserved: %q → %q", in, md)
	}
}

func TestWikiFromText(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Decision: **APPROVED**", "Decision: *APPROVED*"},
		{"- one\n- two **b**", "* one\n* two *b*"},
		{"a\nb\n\nc", "a\nb\n\nc"},
		{"{code} [link|x] a_b *c* ~d^ +e+ !img!", `\{code\} \[link\|x\] a\_b \*c\* \~d\^ \+e\+ \!img\!`},
		{"-strike- 2024-01-01 -- x", `\-strike- 2024-01-01 \-- x`},
		{"h1. not heading", `h1\. not heading`},
		{"#1 ticket", `\#1 ticket`},
		{"cite ??x??", `cite \??x\??`},
		{"**  spaced **", "*spaced*"},
		{"", ""},
	} {
		if got := WikiFromText(tc.in); got != tc.want {
			t.Errorf("WikiFromText(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
