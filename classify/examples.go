package classify

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/whitespace"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search/query"
	index "github.com/blevesearch/bleve_index_api"
)

// Example sources.
const (
	sourceCatalog  = "catalog"
	sourceDecision = "decision"
)

// example is one labelled example: a catalog utterance or a recorded decision.
type example struct {
	ID     string `json:"-"`
	Class  string `json:"class"`  // the intent it votes for, or no_action
	Source string `json:"source"` // catalog | decision
	// Decided is the intent a decision was about (for a denial, Class is
	// no_action and Decided is the intent that was refused).
	Decided  string `json:"decided,omitempty"`
	Approved bool   `json:"approved,omitempty"`
	Text     string `json:"text"`
	Terms    string `json:"terms"` // analysed terms, space separated
}

// exampleIndex is the bleve index of labelled examples, scored with BM25.
// Text and labels are stored so an on-disk index can rebuild the in-memory
// models after a restart.
type exampleIndex struct {
	idx bleve.Index
}

const termsAnalyzer = "switchyard_terms"

func exampleMapping() (mapping.IndexMapping, error) {
	im := bleve.NewIndexMapping()
	im.ScoringModel = index.BM25Scoring
	// Terms arrive analysed (stemmed, negation-marked, typo-corrected) by
	// this package, so the index only splits on spaces.
	if err := im.AddCustomAnalyzer(termsAnalyzer, map[string]any{
		"type":      custom.Name,
		"tokenizer": whitespace.Name,
	}); err != nil {
		return nil, err
	}
	doc := bleve.NewDocumentStaticMapping()
	terms := bleve.NewTextFieldMapping()
	terms.Analyzer = termsAnalyzer
	terms.Store = true
	terms.IncludeTermVectors = false
	doc.AddFieldMappingsAt("terms", terms)
	for _, f := range []string{"class", "source", "decided", "text"} {
		fm := bleve.NewKeywordFieldMapping()
		fm.Index = f != "text"
		fm.Store = true
		fm.IncludeInAll = false
		doc.AddFieldMappingsAt(f, fm)
	}
	approved := bleve.NewBooleanFieldMapping()
	approved.Store = true
	doc.AddFieldMappingsAt("approved", approved)
	im.DefaultMapping = doc
	im.DefaultAnalyzer = termsAnalyzer
	return im, nil
}

// openExampleIndex opens the index at path, creating it if needed; an empty
// path means an in-memory index.
func openExampleIndex(path string) (*exampleIndex, error) {
	m, err := exampleMapping()
	if err != nil {
		return nil, fmt.Errorf("example mapping: %w", err)
	}
	if path == "" {
		// Scorch in memory rather than bleve.NewMemOnly (upsidedown): only
		// scorch keeps the statistics BM25 scoring needs, and it is faster.
		idx, err := bleve.NewUsing("", m, scorch.Name, scorch.Name, nil)
		if err != nil {
			return nil, fmt.Errorf("create in-memory example index: %w", err)
		}
		return &exampleIndex{idx: idx}, nil
	}
	idx, err := bleve.Open(path)
	if errors.Is(err, bleve.ErrorIndexPathDoesNotExist) {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("create example index dir: %w", err)
		}
		idx, err = bleve.New(path, m)
	}
	if err != nil {
		return nil, fmt.Errorf("open example index %s: %w", path, err)
	}
	return &exampleIndex{idx: idx}, nil
}

func (x *exampleIndex) close() error { return x.idx.Close() }

// put writes examples in one batch.
func (x *exampleIndex) put(exs []example) error {
	b := x.idx.NewBatch()
	for _, e := range exs {
		if err := b.Index(e.ID, e); err != nil {
			return fmt.Errorf("index example %s: %w", e.ID, err)
		}
		if b.Size() >= 1000 {
			if err := x.idx.Batch(b); err != nil {
				return fmt.Errorf("write examples: %w", err)
			}
			b.Reset()
		}
	}
	if err := x.idx.Batch(b); err != nil {
		return fmt.Errorf("write examples: %w", err)
	}
	return nil
}

func (x *exampleIndex) delete(ids []string) error {
	b := x.idx.NewBatch()
	for _, id := range ids {
		b.Delete(id)
	}
	return x.idx.Batch(b)
}

// all loads every stored example.
func (x *exampleIndex) all(ctx context.Context) ([]example, error) {
	n, err := x.idx.DocCount()
	if err != nil {
		return nil, fmt.Errorf("count examples: %w", err)
	}
	var out []example
	const page = 1000
	for from := 0; from < int(n); from += page {
		req := bleve.NewSearchRequestOptions(bleve.NewMatchAllQuery(), page, from, false)
		req.Fields = []string{"class", "source", "decided", "approved", "text", "terms"}
		req.SortBy([]string{"_id"})
		res, err := x.idx.SearchInContext(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("load examples: %w", err)
		}
		for _, h := range res.Hits {
			e := example{ID: h.ID}
			e.Class, _ = h.Fields["class"].(string)
			e.Source, _ = h.Fields["source"].(string)
			e.Decided, _ = h.Fields["decided"].(string)
			e.Approved, _ = h.Fields["approved"].(bool)
			e.Text, _ = h.Fields["text"].(string)
			e.Terms, _ = h.Fields["terms"].(string)
			out = append(out, e)
		}
	}
	return out, nil
}

// hit is one neighbour of a ticket.
type hit struct {
	id    string
	score float64
}

// neighbours returns the k examples nearest to terms by BM25.
func (x *exampleIndex) neighbours(ctx context.Context, terms []string, k int) ([]hit, error) {
	if len(terms) == 0 {
		return nil, nil
	}
	qs := make([]query.Query, 0, len(terms))
	for _, t := range terms {
		tq := bleve.NewTermQuery(t)
		tq.SetField("terms")
		qs = append(qs, tq)
	}
	req := bleve.NewSearchRequestOptions(bleve.NewDisjunctionQuery(qs...), k, 0, false)
	// Ties broken by id: equal scores are common among short examples,
	// and the k-th neighbour must not depend on how segments were merged.
	req.SortBy([]string{"-_score", "_id"})
	res, err := x.idx.SearchInContext(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("search examples: %w", err)
	}
	out := make([]hit, 0, len(res.Hits))
	for _, h := range res.Hits {
		out = append(out, hit{id: h.ID, score: h.Score})
	}
	return out, nil
}

func (x *exampleIndex) getInternal(key string) (string, error) {
	b, err := x.idx.GetInternal([]byte(key))
	return string(b), err
}

func (x *exampleIndex) setInternal(key, val string) error {
	return x.idx.SetInternal([]byte(key), []byte(val))
}
