package index

import (
	"hash/fnv"
	"strconv"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/lang/en"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/token/porter"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/registry"
	"github.com/blevesearch/bleve/v2/search/query"
)

// Phrases in the text are answered from a word-pair field instead of term
// vectors, which were about half of the index. Every two neighbouring
// analysed words of a text are hashed into one of pairBuckets terms: a phrase
// is then its words, scored as usual, conjoined with the buckets of each of
// its pairs, so the candidates are the few documents holding those buckets,
// however common the words are. Hashing bounds the dictionary: exact pairs
// made the index 2.6x the raw text (the pairs of a ticket's words are mostly
// unique). The price: a document that holds every word of a phrase, but not
// next to each other, matches when one of its own pairs shares the bucket,
// about n/pairBuckets for a text of n words (1 in 10,000 for 100 words).
// A second hash per pair would make that rarer but doubled the field's
// postings, which are its whole cost (1.58x instead of 1.49x at 250,000
// documents).
// Stop words removed between two words count (as a number), so "disk is
// full" finds "disk was full" but not "disk full", as a positional phrase
// search would.

const (
	analyzerPairs   = "en_pairs"
	tokenFilterPair = "word_pairs"
	pairBits        = 20
	pairBuckets     = 1 << pairBits
)

// pairFilter turns an analysed token stream into the buckets of its neighbour pairs.
type pairFilter struct{}

func (pairFilter) Filter(in analysis.TokenStream) analysis.TokenStream {
	if len(in) < 2 {
		return in[:0]
	}
	out := make(analysis.TokenStream, 0, len(in)-1)
	for i := 1; i < len(in); i++ {
		out = append(out, &analysis.Token{Term: pairBucket(in[i-1], in[i]), Position: i, Start: in[i-1].Start, End: in[i].End, Type: analysis.Shingle})
	}
	return out
}

const pairAlphabet = "0123456789abcdefghijklmnopqrstuv"

// pairBucket hashes the pair (a, b), with the number of stop words between
// them, into its bucket term.
func pairBucket(a, b *analysis.Token) []byte {
	h := fnv.New32a()
	h.Write(a.Term)
	h.Write([]byte{0})
	if gap := b.Position - a.Position; gap > 1 {
		h.Write(strconv.AppendInt(nil, int64(gap-1), 10))
		h.Write([]byte{0})
	}
	h.Write(b.Term)
	return bucketTerm(h.Sum32() % pairBuckets)
}

func bucketTerm(v uint32) []byte {
	t := make([]byte, (pairBits+4)/5)
	for i := range t {
		t[i] = pairAlphabet[v&31]
		v >>= 5
	}
	return t
}

func init() {
	if err := registry.RegisterTokenFilter(tokenFilterPair, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return pairFilter{}, nil
	}); err != nil {
		panic(err)
	}
}

// pairsAnalyzerConfig is the English analyzer followed by the pair filter, so
// that the pairs are made of exactly the words the body field indexes.
var pairsAnalyzerConfig = map[string]any{
	"type":          "custom",
	"tokenizer":     unicode.Name,
	"token_filters": []string{en.PossessiveName, lowercase.Name, en.StopName, porter.Name, tokenFilterPair},
}

// phraseQuery matches documents whose field holds the words of text with
// every neighbour pair's bucket in pairField; ok is false when text has fewer
// than two words (the caller then searches the word itself).
func (idx *Index) phraseQuery(field, pairField, text string, boost *query.Boost) (q query.Query, ok bool) {
	toks := idx.mapping.AnalyzerNamed(analyzerPairs).Analyze([]byte(text))
	if len(toks) == 0 {
		return nil, false
	}
	seen := map[string]bool{}
	var pairs []query.Query
	for _, t := range toks {
		if term := string(t.Term); !seen[term] {
			seen[term] = true
			pairs = append(pairs, termQ(pairField, term))
		}
	}
	words := query.NewMatchQuery(text)
	words.SetField(field)
	words.SetOperator(query.MatchQueryOperatorAnd)
	if boost != nil {
		words.SetBoost(boost.Value())
	}
	return query.NewConjunctionQuery([]query.Query{words, &filterQuery{and(pairs...)}}), true
}
