package markdown

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// escapeText escapes the characters of plain text that Markdown would read as
// syntax, and nothing else, so the text stays readable in the index. atStart
// says whether s begins a line; every line after a newline in s does too.
func escapeText(s string, atStart bool) string {
	if s == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	lineStart := atStart
	for i := 0; i < len(s); {
		if lineStart {
			// Leading blanks would turn into indented code or vanish anyway.
			for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
				i++
			}
			if i >= len(s) {
				break
			}
			lineStart = false
			if esc := lineStartEscape(s[i:]); esc >= 0 {
				b.WriteString(s[i : i+esc])
				b.WriteByte('\\')
				b.WriteByte(s[i+esc])
				i += esc + 1
				continue
			}
		}
		c := s[i]
		if c == '\n' {
			b.WriteByte('\n')
			lineStart = true
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			_, size := utf8.DecodeRuneInString(s[i:])
			b.WriteString(s[i : i+size])
			i += size
			continue
		}
		if needsEscape(s, i) {
			b.WriteByte('\\')
		}
		b.WriteByte(c)
		i++
	}
	return b.String()
}

// needsEscape decides for the ASCII byte at s[i] whether it would start or
// end Markdown syntax in this position.
func needsEscape(s string, i int) bool {
	c := s[i]
	switch c {
	case '`', '[', ']':
		return true
	case '\\':
		return i+1 >= len(s) || isASCIIPunct(s[i+1])
	case '*', '~':
		// A lone delimiter between spaces is literal.
		return !(i > 0 && isSpace(s[i-1]) && i+1 < len(s) && isSpace(s[i+1]))
	case '_':
		// Inside a word (snake_case) an underscore cannot emphasise.
		return !(i > 0 && isWordRune(lastRune(s[:i])) && i+1 < len(s) && isWordRune(firstRune(s[i+1:])))
	case '<':
		if i+1 < len(s) {
			n := s[i+1]
			return n == '/' || n == '!' || n == '?' || (n < utf8.RuneSelf && unicode.IsLetter(rune(n)))
		}
	case '&':
		return isEntity(s[i:])
	}
	return false
}

// lineStartEscape returns the offset of the byte to escape when line (which
// begins a Markdown line) would otherwise start a block, or -1.
func lineStartEscape(line string) int {
	eol := strings.IndexByte(line, '\n')
	if eol < 0 {
		eol = len(line)
	}
	l := line[:eol]
	if l == "" {
		return -1
	}
	blankAfter := func(j int) bool { return j >= len(l) || l[j] == ' ' || l[j] == '\t' }
	switch c := l[0]; c {
	case '#':
		j := 0
		for j < len(l) && l[j] == '#' {
			j++
		}
		if j <= 6 && blankAfter(j) {
			return 0
		}
	case '>':
		return 0
	case '-', '+', '=':
		if blankAfter(1) || onlyOf(l, c) {
			return 0
		}
	case '|':
		return 0
	case '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		j := 0
		for j < len(l) && j < 10 && l[j] >= '0' && l[j] <= '9' {
			j++
		}
		if j <= 9 && j < len(l) && (l[j] == '.' || l[j] == ')') && blankAfter(j+1) {
			return j
		}
	}
	return -1
}

// onlyOf reports whether l is made of c and blanks only (a thematic break or
// setext underline).
func onlyOf(l string, c byte) bool {
	for i := 0; i < len(l); i++ {
		if l[i] != c && l[i] != ' ' && l[i] != '\t' {
			return false
		}
	}
	return true
}

func isEntity(s string) bool {
	// &name; &#123; &#x1F;
	j := 1
	if j < len(s) && s[j] == '#' {
		j++
	}
	start := j
	for j < len(s) && j < 40 && (s[j] >= 'a' && s[j] <= 'z' || s[j] >= 'A' && s[j] <= 'Z' || s[j] >= '0' && s[j] <= '9') {
		j++
	}
	return j > start && j < len(s) && s[j] == ';'
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' }

func isASCIIPunct(c byte) bool {
	return c >= '!' && c <= '/' || c >= ':' && c <= '@' || c >= '[' && c <= '`' || c >= '{' && c <= '~'
}

func isWordRune(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

func lastRune(s string) rune  { r, _ := utf8.DecodeLastRuneInString(s); return r }
func firstRune(s string) rune { r, _ := utf8.DecodeRuneInString(s); return r }

// codeSpan wraps text in enough backticks that none inside can close it.
func codeSpan(text string) string {
	text = strings.ReplaceAll(text, "\n", " ")
	if text == "" {
		return ""
	}
	fence := strings.Repeat("`", longestRun(text, '`')+1)
	if text[0] == '`' || text[len(text)-1] == '`' || (text[0] == ' ' && text[len(text)-1] == ' ' && strings.Trim(text, " ") != "") {
		text = " " + text + " "
	}
	return fence + text + fence
}

// codeBlock fences code with a fence longer than any run of backticks in it.
func codeBlock(lang, code string) string {
	code = strings.TrimRight(code, "\n")
	fence := strings.Repeat("`", max(3, longestRun(code, '`')+1))
	// The info string may not hold backticks or line breaks.
	lang = strings.Map(func(r rune) rune {
		if r == '`' || r == '\n' || r == '\r' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, lang)
	return fence + lang + "\n" + code + "\n" + fence
}

func longestRun(s string, c byte) int {
	best, cur := 0, 0
	for i := 0; i < len(s); i++ {
		if s[i] == c {
			cur++
			best = max(best, cur)
		} else {
			cur = 0
		}
	}
	return best
}

// linkDestination makes href safe inside (...): characters that would end or
// break the destination are percent-encoded.
func linkDestination(href string) string {
	var b strings.Builder
	for i := 0; i < len(href); i++ {
		switch c := href[i]; c {
		case ' ':
			b.WriteString("%20")
		case '(':
			b.WriteString("%28")
		case ')':
			b.WriteString("%29")
		case '<':
			b.WriteString("%3C")
		case '>':
			b.WriteString("%3E")
		case '\n', '\r', '\t':
			// dropped: a line break cannot be part of a destination
		case '\\':
			b.WriteString("%5C")
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// autolink renders a bare URL as a link.
func autolink(url string) string {
	if !autolinkRe.MatchString(url) {
		return "[" + escapeText(url, false) + "](" + linkDestination(url) + ")"
	}
	return "<" + url + ">"
}

// autolinkRe is CommonMark's absolute URI: a scheme, then no blanks or angle brackets.
var autolinkRe = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\x00-\x20<>]*$`)
