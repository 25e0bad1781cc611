package index

import (
	"cmp"
	"slices"

	bindex "github.com/blevesearch/bleve_index_api"
)

// reader opens a reader of the index's current snapshot; close it.
func (idx *Index) reader() (bindex.IndexReader, error) {
	adv, err := idx.bleve.Advanced()
	if err != nil {
		return nil, err
	}
	return adv.Reader()
}

// weightedTerm is a term with what ranks it (a tf·idf, a document count).
type weightedTerm[W cmp.Ordered] struct {
	term   string
	weight W
}

// topTerms returns the n terms of the highest weight, ties by term.
func topTerms[W cmp.Ordered](ts []weightedTerm[W], n int) []string {
	slices.SortFunc(ts, func(a, b weightedTerm[W]) int {
		if c := cmp.Compare(b.weight, a.weight); c != 0 {
			return c
		}
		return cmp.Compare(a.term, b.term)
	})
	var out []string
	for _, t := range ts[:min(n, len(ts))] {
		out = append(out, t.term)
	}
	return out
}
