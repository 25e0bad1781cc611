package index

import (
	"sort"
	"unicode"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	unicodetok "github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/registry"
)

// People search for what they copy out of a ticket: host names (app-eu-12),
// error codes (0x80070005, ORA-12541), e-mail addresses, IP addresses,
// versions, URLs, paths and file names. The English analyzer cuts these at
// punctuation into words that are common on their own (app, eu, 12), so
// the identifier as a whole was not a term and its parts ranked like any
// prose. The text analyzer therefore adds, to the English words, each
// identifier of the text as one unstemmed term, every run of two or more of
// its parts (app-eu-12 gives app-eu-12, app-eu, eu-12), and each part the
// word splitter kept inside a longer token (fs01.corp.example.com gives
// corp). A query is analysed the same way, so "app-eu" matches the term
// app-eu that every document mentioning app-eu-12 holds, and prose search
// is unchanged: its words are the English words as before.

const (
	analyzerText  = "en_ident"
	tokenizerText = "unicode_ident"
	// identMaxParts bounds the runs of parts taken from one identifier (a
	// long URL); longer identifiers give the whole and runs up to it.
	identMaxParts = 8
	identMaxLen   = 256 // longer spans (base64, dumps) are not identifiers
)

// identTokenizer is the unicode word tokenizer plus identifier tokens.
type identTokenizer struct{ words analysis.Tokenizer }

func (t identTokenizer) Tokenize(input []byte) analysis.TokenStream {
	words := t.words.Tokenize(input)
	extra := identTokens(input, words)
	if len(extra) == 0 {
		return words
	}
	out := append(words, extra...)
	// In text order, the longer token first at the same start, so that
	// snippets mark a whole identifier rather than its first part.
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Start != out[j].Start {
			return out[i].Start < out[j].Start
		}
		return out[i].End > out[j].End
	})
	return out
}

// identSep are the characters that join the parts of an identifier.
func identSep(r rune) bool {
	switch r {
	case '-', '_', '.', '@', '/', '\\', ':', '+', '~', '%', '#', '&', '?', '=':
		return true
	}
	return false
}

func alnum(r rune) bool { return unicode.IsLetter(r) || unicode.IsDigit(r) }

// identTokens finds the identifiers in input (runs of letters, digits and
// joining characters with at least two parts) and returns their extra
// tokens; words are the word tokenizer's tokens (positions, and which parts
// it already yields).
func identTokens(input []byte, words analysis.TokenStream) analysis.TokenStream {
	var out analysis.TokenStream
	// words are in text order: the word at or before a byte offset is
	// found by binary search (a map cost more than the tokenizing).
	before := func(off int) int {
		return sort.Search(len(words), func(i int) bool { return words[i].Start > off }) - 1
	}
	wordAt := func(p [2]int) bool {
		i := before(p[0])
		return i >= 0 && words[i].Start == p[0] && words[i].End == p[1]
	}
	posAt := func(off int) int {
		if i := before(off); i >= 0 {
			return words[i].Position
		}
		return 1
	}
	i := 0
	for i < len(input) {
		r, n := utf8.DecodeRune(input[i:])
		if !alnum(r) && !identSep(r) {
			i += n
			continue
		}
		start := i
		for i < len(input) {
			r, n := utf8.DecodeRune(input[i:])
			if !alnum(r) && !identSep(r) {
				break
			}
			i += n
		}
		out = appendIdent(out, input, start, i, wordAt, posAt)
	}
	return out
}

// appendIdent adds the tokens of the span input[start:end].
func appendIdent(out analysis.TokenStream, input []byte, start, end int, wordAt func([2]int) bool, posAt func(int) int) analysis.TokenStream {
	if end-start > identMaxLen {
		return out
	}
	// The parts: maximal runs of letters and digits.
	var parts [][2]int
	for i := start; i < end; {
		r, n := utf8.DecodeRune(input[i:])
		if !alnum(r) {
			i += n
			continue
		}
		p := i
		for i < end {
			r, n := utf8.DecodeRune(input[i:])
			if !alnum(r) {
				break
			}
			i += n
		}
		parts = append(parts, [2]int{p, i})
	}
	if len(parts) < 2 {
		return out
	}
	tok := func(s, e int, keyword bool) *analysis.Token {
		return &analysis.Token{Term: append([]byte(nil), input[s:e]...), Start: s, End: e, Position: posAt(s), Type: analysis.AlphaNumeric, KeyWord: keyword}
	}
	// Runs of two or more parts, from the first part's start to the last's
	// end: the whole identifier without surrounding punctuation, and each
	// piece of it. KeyWord keeps the stemmer off them.
	for a := 0; a < len(parts); a++ {
		for b := a + 1; b < len(parts); b++ {
			if b-a+1 > identMaxParts && !(a == 0 && b == len(parts)-1) {
				continue
			}
			out = append(out, tok(parts[a][0], parts[b][1], true))
		}
	}
	// Single parts the word tokenizer did not yield on their own, as words
	// (stemmed and stop-filtered like prose): "corp" in fs01.corp.example.com.
	for _, p := range parts {
		if !wordAt(p) {
			out = append(out, tok(p[0], p[1], false))
		}
	}
	return out
}

func init() {
	if err := registry.RegisterTokenizer(tokenizerText, func(map[string]any, *registry.Cache) (analysis.Tokenizer, error) {
		return identTokenizer{words: unicodetok.NewUnicodeTokenizer()}, nil
	}); err != nil {
		panic(err)
	}
}

// textAnalyzerConfig is the English analyzer (possessives, lower case, stop
// words, Porter stemming) over the identifier-aware tokenizer.
var textAnalyzerConfig = map[string]any{
	"type":          "custom",
	"tokenizer":     tokenizerText,
	"token_filters": []string{en.PossessiveName, lowercase.Name, en.StopName, porter.Name},
}
