package index

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"switchyard"
)

// Relevance is measured on judged queries: a query, the user it runs as, and
// the issue keys a good answer holds, optionally graded 0..3. Rankings are
// compared at the issue level: a hit on a comment or attachment counts for
// its issue, at the rank of the first hit.

// Judgment is one judged query (one line of a JSONL file).
type Judgment struct {
	Query    string         `json:"query"`
	As       string         `json:"as"`
	Relevant []string       `json:"relevant"`
	Graded   map[string]int `json:"graded,omitempty"`
	// Kind groups queries in the report (key, identifier, topic, ...).
	Kind string `json:"kind,omitempty"`
	Note string `json:"note,omitempty"`
}

// grades is the judgment's relevance per key: Graded where given, else 1
// for a key listed in Relevant.
func (j *Judgment) grades() map[string]int {
	g := map[string]int{}
	for _, k := range j.Relevant {
		g[k] = 1
	}
	for k, v := range j.Graded {
		g[k] = v
	}
	for k, v := range g {
		if v <= 0 {
			delete(g, k)
		}
	}
	return g
}

// ReadJudgments reads JSONL judgments; blank lines and lines starting with
// # are skipped. An error names the line.
func ReadJudgments(r io.Reader) ([]Judgment, error) {
	var out []Judgment
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		s := strings.TrimSpace(sc.Text())
		if s == "" || strings.HasPrefix(s, "#") {
			continue
		}
		var j Judgment
		dec := json.NewDecoder(strings.NewReader(s))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&j); err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if strings.TrimSpace(j.Query) == "" {
			return nil, fmt.Errorf("line %d: \"query\" is empty", line)
		}
		for k, v := range j.Graded {
			if v < 0 || v > 3 {
				return nil, fmt.Errorf("line %d: grade of %s is %d, want 0..3", line, k, v)
			}
		}
		if j.Kind == "" {
			j.Kind = "unlabelled"
		}
		out = append(out, j)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("line %d: %w", line+1, err)
	}
	return out, nil
}

// Metrics are averages over the queries that have at least one relevant key.
type Metrics struct {
	Queries  int     `json:"queries"`
	NDCG10   float64 `json:"ndcg@10"`
	MRR      float64 `json:"mrr"`
	Recall20 float64 `json:"recall@20"`
}

// QueryScore is one query's figures and its ranked issue keys (top 20).
type QueryScore struct {
	Judgment
	NDCG10   float64  `json:"ndcg@10"`
	RR       float64  `json:"rr"`
	Recall20 float64  `json:"recall@20"`
	Ranked   []string `json:"ranked"`
	Error    string   `json:"error,omitempty"`
}

// EvalReport is the outcome of Evaluate.
type EvalReport struct {
	Overall Metrics            `json:"overall"`
	ByKind  map[string]Metrics `json:"byKind"`
	Queries []QueryScore       `json:"queries"`
	// Unjudged counts queries without any relevant key (not averaged).
	Unjudged int `json:"unjudged"`
}

// evalDepth is how many documents a query's ranking is read from: enough
// for 20 distinct issues in practice.
const evalDepth = MaxSize

// Evaluate runs every judged query as its user and scores the rankings.
// A query the index rejects scores zero and carries its error.
func (idx *Index) Evaluate(ctx context.Context, conn string, js []Judgment) (*EvalReport, error) {
	rep := &EvalReport{ByKind: map[string]Metrics{}}
	for _, j := range js {
		qs := QueryScore{Judgment: j}
		res, err := idx.Search(ctx, SearchRequest{Connection: conn, Query: j.Query, AsUser: j.As, Size: evalDepth})
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if !errors.Is(err, switchyard.ErrInvalid) {
				return nil, fmt.Errorf("query %q as %q: %w", j.Query, j.As, err)
			}
			qs.Error = err.Error()
		} else {
			qs.Ranked = RankedKeys(res.Hits, 20)
		}
		qs.NDCG10, qs.RR, qs.Recall20 = ScoreRanking(qs.Ranked, j)
		rep.Queries = append(rep.Queries, qs)
	}
	rep.summarize()
	return rep, nil
}

func (rep *EvalReport) summarize() {
	add := func(m *Metrics, q QueryScore) {
		m.Queries++
		m.NDCG10 += q.NDCG10
		m.MRR += q.RR
		m.Recall20 += q.Recall20
	}
	byKind := map[string]*Metrics{}
	for _, q := range rep.Queries {
		if len(q.grades()) == 0 {
			rep.Unjudged++
			continue
		}
		add(&rep.Overall, q)
		m := byKind[q.Kind]
		if m == nil {
			m = &Metrics{}
			byKind[q.Kind] = m
		}
		add(m, q)
	}
	avg := func(m *Metrics) {
		if m.Queries > 0 {
			n := float64(m.Queries)
			m.NDCG10, m.MRR, m.Recall20 = m.NDCG10/n, m.MRR/n, m.Recall20/n
		}
	}
	avg(&rep.Overall)
	for k, m := range byKind {
		avg(m)
		rep.ByKind[k] = *m
	}
}

// Kinds lists the report's query kinds in order.
func (rep *EvalReport) Kinds() []string {
	ks := make([]string, 0, len(rep.ByKind))
	for k := range rep.ByKind {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// RankedKeys turns hits into distinct issue keys in rank order, at most n.
func RankedKeys(hits []Hit, n int) []string {
	var out []string
	seen := map[string]bool{}
	for _, h := range hits {
		if h.Key == "" || seen[h.Key] {
			continue
		}
		seen[h.Key] = true
		out = append(out, h.Key)
		if len(out) == n {
			break
		}
	}
	return out
}

// ScoreRanking returns nDCG@10, the reciprocal rank of the first relevant
// key and recall@20 of a ranking. nDCG uses gain 2^grade-1 and the ideal
// ordering of all judged keys. Recall@20 divides by min(relevant, 20), so a
// query with more relevant issues than fit in 20 can still reach 1.
// A judgment without relevant keys scores 0.
func ScoreRanking(ranked []string, j Judgment) (ndcg, rr, recall float64) {
	g := j.grades()
	if len(g) == 0 {
		return 0, 0, 0
	}
	var dcg float64
	found := 0
	for i, k := range ranked {
		grade, ok := g[k]
		if !ok {
			continue
		}
		if i < 10 {
			dcg += (math.Exp2(float64(grade)) - 1) / math.Log2(float64(i+2))
		}
		if rr == 0 {
			rr = 1 / float64(i+1)
		}
		if i < 20 {
			found++
		}
	}
	ideal := make([]int, 0, len(g))
	for _, v := range g {
		ideal = append(ideal, v)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(ideal)))
	var idcg float64
	for i, v := range ideal {
		if i == 10 {
			break
		}
		idcg += (math.Exp2(float64(v)) - 1) / math.Log2(float64(i+2))
	}
	ndcg = dcg / idcg
	recall = float64(found) / float64(min(len(g), 20))
	return ndcg, rr, recall
}
