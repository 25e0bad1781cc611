package index

import (
	"math"
	"strings"
	"testing"
)

func TestScoreRanking(t *testing.T) {
	l2 := func(i int) float64 { return math.Log2(float64(i + 1)) } // discount at rank i (1-based)
	for _, tc := range []struct {
		name             string
		ranked           []string
		j                Judgment
		ndcg, rr, recall float64
	}{
		{"perfect single", []string{"A-1", "B-2"}, Judgment{Relevant: []string{"A-1"}}, 1, 1, 1},
		{"second place", []string{"B-2", "A-1"}, Judgment{Relevant: []string{"A-1"}}, 1 / l2(2), 0.5, 1},
		{"missing", []string{"B-2"}, Judgment{Relevant: []string{"A-1"}}, 0, 0, 0},
		{"graded order", []string{"A-1", "A-3"}, Judgment{Graded: map[string]int{"A-3": 3, "A-1": 1}},
			(1 + 7/l2(2)) / (7 + 1/l2(2)), 1, 1},
		{"grade 0 is not relevant", []string{"A-1"}, Judgment{Relevant: []string{"A-1"}, Graded: map[string]int{"A-1": 0, "A-2": 2}}, 0, 0, 0},
		{"recall capped at 20", keys(20), Judgment{Relevant: keys(40)}, 1, 1, 1},
		{"recall half", keys(20)[10:], Judgment{Relevant: keys(20)}, -1, 1, 0.5},
		{"no relevant", []string{"A-1"}, Judgment{}, 0, 0, 0},
	} {
		ndcg, rr, recall := ScoreRanking(tc.ranked, tc.j)
		if (tc.ndcg >= 0 && math.Abs(ndcg-tc.ndcg) > 1e-9) || math.Abs(rr-tc.rr) > 1e-9 || math.Abs(recall-tc.recall) > 1e-9 {
			t.Errorf("%s: nDCG %.4f RR %.4f recall %.4f, want %.4f %.4f %.4f", tc.name, ndcg, rr, recall, tc.ndcg, tc.rr, tc.recall)
		}
	}
}

func keys(n int) []string {
	var out []string
	for i := range n {
		out = append(out, "K-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	return out
}

func TestReadJudgments(t *testing.T) {
	js, err := ReadJudgments(strings.NewReader("# comment\n\n{\"query\":\"vpn\",\"as\":\"u\",\"relevant\":[\"A-1\"],\"kind\":\"topic\"}\n{\"query\":\"A-1\",\"as\":\"u\",\"graded\":{\"A-1\":3}}\n"))
	if err != nil || len(js) != 2 || js[0].Kind != "topic" || js[1].Kind != "unlabelled" {
		t.Fatalf("%+v %v", js, err)
	}
	for _, bad := range []struct{ in, mention string }{
		{`{"query":"x","graded":{"A-1":4}}`, "line 1: grade of A-1 is 4"},
		{"\n" + `{"query":""}`, "line 2: \"query\" is empty"},
		{`{"query":"x","relevent":["A-1"]}`, "line 1: json: unknown field \"relevent\""},
		{`not json`, "line 1:"},
	} {
		if _, err := ReadJudgments(strings.NewReader(bad.in)); err == nil || !strings.Contains(err.Error(), bad.mention) {
			t.Errorf("%q: %v, want an error with %q", bad.in, err, bad.mention)
		}
	}
}
