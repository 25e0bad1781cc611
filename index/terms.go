package index

import (
	"context"

	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/blevesearch/bleve/v2/search/searcher"
	bindex "github.com/blevesearch/bleve_index_api"
)

// termsQuery matches documents whose field holds any of terms. Bleve has no
// public terms query; the multi-term searcher turns large sets into one
// bitmap union when scores are not needed (our filters).
type termsQuery struct {
	field string
	terms []string
}

func newTermsQuery(field string, terms []string) query.Query {
	switch len(terms) {
	case 0:
		return query.NewMatchNoneQuery()
	case 1:
		q := query.NewTermQuery(terms[0])
		q.SetField(field)
		return q
	}
	return &termsQuery{field: field, terms: terms}
}

func (q *termsQuery) Searcher(ctx context.Context, r bindex.IndexReader, _ mapping.IndexMapping, opts search.SearcherOptions) (search.Searcher, error) {
	terms := q.terms
	if pr, ok := r.(*prefilteredReader); ok && len(terms) > pruneTermsOver {
		var err error
		if terms, err = pr.present(q.field, terms); err != nil {
			return nil, err
		}
		if len(terms) == 0 {
			return searcher.NewMatchNoneSearcher(r)
		}
	}
	return searcher.NewMultiTermSearcher(ctx, r, terms, q.field, 1, opts, false)
}

// pruneTermsOver: a permission filter of a user in many groups holds
// thousands of visibility terms, and a searcher per term costs more than a
// dictionary lookup. Evaluated on the few new segments a write makes (the
// subset reader), most are in none of them: they are dropped first.
const pruneTermsOver = 64

// filterQuery evaluates its query without scores or term vectors: conjoined
// with the user's query it restricts the matches without changing ranking.
type filterQuery struct{ q query.Query }

func (f *filterQuery) Searcher(ctx context.Context, r bindex.IndexReader, m mapping.IndexMapping, _ search.SearcherOptions) (search.Searcher, error) {
	return f.q.Searcher(ctx, r, m, search.SearcherOptions{Score: "none"})
}

func termQ(field, term string) query.Query {
	q := query.NewTermQuery(term)
	q.SetField(field)
	return q
}

func and(qs ...query.Query) query.Query {
	if len(qs) == 1 {
		return qs[0]
	}
	return query.NewConjunctionQuery(qs)
}

func or(qs ...query.Query) query.Query {
	switch len(qs) {
	case 0:
		return query.NewMatchNoneQuery()
	case 1:
		return qs[0]
	}
	return query.NewDisjunctionQuery(qs)
}
