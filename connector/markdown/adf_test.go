package markdown

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFromADFEmptyAndMalformed(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		wantErr        bool
	}{
		{name: "nil", in: "", want: ""},
		{name: "blank", in: "  \n", want: ""},
		{name: "null", in: "null", want: ""},
		{name: "empty doc", in: `{"type":"doc","version":1,"content":[]}`, want: ""},
		{name: "plain string (Data Center)", in: `"just text"`, want: "just text"},
		{name: "array of nodes", in: `[{"type":"paragraph","content":[{"type":"text","text":"a"}]}]`, want: "a"},
		{name: "wrong attribute types are ignored", in: `{"type":"heading","attrs":{"level":"x"},"content":[{"type":"text","text":"h","marks":[{"type":"link","attrs":{"href":5}}]}]}`, want: "# h"},
		{name: "content not an array", in: `{"type":"paragraph","content":"oops","text":"t"}`, want: ""},
		{name: "truncated", in: `{"type":"doc","content":[`, wantErr: true},
		{name: "not json", in: `<p>html</p>`, wantErr: true},
		{name: "number", in: `42`, wantErr: true},
		{name: "trailing garbage", in: `{} {}`, wantErr: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromADF(json.RawMessage(tc.in), ADFOptions{})
			if tc.wantErr {
				if err == nil {
					t.Fatalf("want an error, got %q", got)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestFromADFCases(t *testing.T) {
	p := func(inner string) string {
		return `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[` + inner + `]}]}`
	}
	for _, tc := range []struct {
		name, in, want string
		opts           ADFOptions
	}{
		{name: "whitespace moves outside emphasis", in: p(`{"type":"text","text":" bold ","marks":[{"type":"strong"}]},{"type":"text","text":"x"}`), want: "**bold** x"},
		{name: "whitespace-only marked text has no delimiters", in: p(`{"type":"text","text":"a"},{"type":"text","text":"  ","marks":[{"type":"em"}]},{"type":"text","text":"b"}`), want: "a  b"},
		{name: "adjacent links with different hrefs", in: p(`{"type":"text","text":"a","marks":[{"type":"link","attrs":{"href":"https://a"}}]},{"type":"text","text":"b","marks":[{"type":"link","attrs":{"href":"https://b"}}]}`), want: "[a](https://a)[b](https://b)"},
		{name: "mention resolved", in: p(`{"type":"mention","attrs":{"id":"acc-1","text":"@Old"}}`), opts: ADFOptions{ResolveMention: func(string) string { return "New Name" }}, want: "@New Name"},
		{name: "mention resolver miss falls back to text", in: p(`{"type":"mention","attrs":{"id":"acc-1","text":"@Old"}}`), opts: ADFOptions{ResolveMention: func(string) string { return "" }}, want: "@Old"},
		{name: "mention bare id", in: p(`{"type":"mention","attrs":{"id":"acc-1"}}`), want: "@acc-1"},
		{name: "date is UTC", in: p(`{"type":"date","attrs":{"timestamp":"1704153599999"}}`), want: "2024-01-01"},
		{name: "media name from callback", in: `{"type":"mediaSingle","content":[{"type":"media","attrs":{"id":"m1","alt":"alt.png"}}]}`, opts: ADFOptions{AttachmentName: func(string) string { return "real.png" }}, want: "[attachment: real.png]"},
		{name: "media falls back to alt then id", in: `{"type":"mediaGroup","content":[{"type":"media","attrs":{"id":"m1","alt":"alt.png"}},{"type":"media","attrs":{"id":"m2"}}]}`, want: "[attachment: alt.png]  \n[attachment: m2]"},
		{name: "ordered list start", in: `{"type":"orderedList","attrs":{"order":7},"content":[{"type":"listItem","content":[{"type":"paragraph","content":[{"type":"text","text":"x"}]}]}]}`, want: "7. x"},
		{name: "ordered list negative start", in: `{"type":"orderedList","attrs":{"order":-3},"content":[{"type":"listItem","content":[]}]}`, want: "1."},
		{name: "link destination with spaces and parens", in: p(`{"type":"text","text":"x","marks":[{"type":"link","attrs":{"href":"https://h/a (b)"}}]}`), want: "[x](https://h/a%20%28b%29)"},
		{name: "code span with backticks", in: p(`{"type":"text","text":"a` + "``" + `b","marks":[{"type":"code"}]}`), want: "```a``b```"},
		{name: "code keeps specials raw", in: p(`{"type":"text","text":"*x* [y]","marks":[{"type":"code"}]}`), want: "`*x* [y]`"},
		{name: "status upper case", in: p(`{"type":"status","attrs":{"text":"done"}}`), want: "[DONE]"},
		{name: "trailing hard break dropped", in: p(`{"type":"text","text":"a"},{"type":"hardBreak"}`), want: "a"},
		{name: "panel unknown type", in: `{"type":"panel","attrs":{"panelType":"weird"},"content":[{"type":"paragraph","content":[{"type":"text","text":"x"}]}]}`, want: "> **Note:** x"},
		{name: "table pipes escaped in code", in: `{"type":"table","content":[{"type":"tableRow","content":[{"type":"tableCell","content":[{"type":"paragraph","content":[{"type":"text","text":"a|b","marks":[{"type":"code"}]}]}]}]}]}`, want: "| `a\\|b` |\n| --- |"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromADF(json.RawMessage(tc.in), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestFromADFDeepNesting checks that hostile nesting is flattened, not
// rendered with output quadratic in the depth.
func TestFromADFDeepNesting(t *testing.T) {
	const depth = 2000
	in := strings.Repeat(`{"type":"blockquote","content":[`, depth) +
		`{"type":"paragraph","content":[{"type":"text","text":"deep"}]}` +
		strings.Repeat(`]}`, depth)
	got, err := FromADF(json.RawMessage(in), ADFOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got, "deep") {
		t.Errorf("text lost: %q", got)
	}
	if len(got) > 4*maxDepth+100 {
		t.Errorf("output of %d bytes grows with nesting depth", len(got))
	}
}

// unescape undoes Markdown backslash escapes, for the escaping property.
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && isASCIIPunct(s[i+1]) {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func stripLineIndent(s string) string {
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimLeft(l, " \t")
	}
	return strings.Join(lines, "\n")
}

func TestEscapeTextLosesNothing(t *testing.T) {
	for _, s := range []string{
		"# h", "a * b", "**x**", "snake_case", "_x_", "[a](b)", "<b>", "&amp;", "a\\b", "a\\*",
		"1. x", "10) y", "- z", "+ q", "> q", "---", "~~s~~", "`c`", "x\n# y", "   lead", "ünïcödé_ß_x",
	} {
		got := escapeText(s, true)
		if back := unescape(got); back != stripLineIndent(s) {
			t.Errorf("escapeText(%q) = %q, unescapes to %q", s, got, back)
		}
	}
}

func FuzzFromADF(f *testing.F) {
	for _, s := range []string{
		`{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"hi","marks":[{"type":"strong"}]}]}]}`,
		`{"type":"table","content":[{"type":"tableRow","content":[{"type":"tableCell","attrs":{"colspan":3}}]}]}`,
		`{"type":"orderedList","attrs":{"order":1e300},"content":[{"type":"listItem"}]}`,
		`{"type":"date","attrs":{"timestamp":"99999999999999999999"}}`,
		`[1,"a",null,{"type":"mention"}]`,
		`"text"`, `null`, `{`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := FromADF(in, goldenOptions)
		if err == nil && !json.Valid(in) && len(strings.Trim(string(in), " \t\r\n")) > 0 {
			t.Errorf("invalid JSON %q accepted", in)
		}
		if len(out) > 64*len(in)+1024 {
			t.Errorf("output of %d bytes for %d bytes of input", len(out), len(in))
		}
	})
}

func FuzzEscapeText(f *testing.F) {
	for _, s := range []string{"# x", "*a*", "a_b_", "1. x", "\\`", "&lt;", "<a>", "x\n- y"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := escapeText(s, true)
		if back := unescape(got); back != stripLineIndent(s) {
			t.Errorf("escapeText(%q) = %q, unescapes to %q", s, got, back)
		}
	})
}
