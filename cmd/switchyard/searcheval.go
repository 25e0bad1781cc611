package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"switchyard/config"
	"switchyard/index"
)

// runSearchEval: switchyard search eval --config F JUDGMENTS.jsonl
func runSearchEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("search eval", "--config F [--connection C] [--json] [--queries] JUDGMENTS.jsonl", stderr)
	cfgPath := fs.String("config", "switchyard.yaml", "configuration file")
	conn := fs.String("connection", "", "connection to search (default: the first configured)")
	asJSON := fs.Bool("json", false, "print the report as JSON, every query with its ranking")
	perQuery := fs.Bool("queries", false, "also print each query's figures and top keys")
	fs.Usage = func() {
		fmt.Fprintf(stderr, `Usage: switchyard search eval --config F [--connection C] [--json] [--queries] JUDGMENTS.jsonl

Runs every judged query as its user against the synced index and prints
nDCG@10, MRR and recall@20, overall and per query kind. Each line of
JUDGMENTS.jsonl is one query:

  {"query": "vpn drops", "as": "user@example.com", "kind": "topic",
   "relevant": ["ITSM-12"], "graded": {"ITSM-12": 3, "OPS-4": 1}}

graded gives grades 0..3 (a key in relevant without a grade counts 1).
Rankings are by issue: a comment or attachment hit counts for its issue.
recall@20 divides by min(relevant, 20). Queries without relevant keys are
run but not averaged.

`)
		fs.PrintDefaults()
	}
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("search eval takes one JUDGMENTS.jsonl file (got %d arguments)", len(pos))
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return fmt.Errorf("judgments: %w", err)
	}
	js, err := index.ReadJudgments(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("judgments %s: %w", pos[0], err)
	}
	if len(js) == 0 {
		return fmt.Errorf("judgments %s: no queries", pos[0])
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		return err
	}
	name, err := pickConnection(cfg, *conn)
	if err != nil {
		return err
	}
	if o := readOwner(cfg.DataDir); o != nil {
		return fmt.Errorf("data directory %s is in use by %s: an evaluation reads the index itself; run it when that process has finished", cfg.DataDir, o)
	}
	idx, closeAll, err := openSearchIndex(ctx, cfg, *cfgPath)
	if err != nil {
		return err
	}
	defer closeAll()
	rep, err := idx.Evaluate(ctx, name, js)
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	printEvalReport(stdout, rep, *perQuery)
	return nil
}

func printEvalReport(w io.Writer, rep *index.EvalReport, perQuery bool) {
	if perQuery {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "kind\tquery\tas\tnDCG@10\tRR\trecall@20\ttop keys\n")
		for _, q := range rep.Queries {
			top := q.Ranked
			if len(top) > 5 {
				top = top[:5]
			}
			extra := strings.Join(top, " ")
			if q.Error != "" {
				extra = "error: " + q.Error
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%.3f\t%.3f\t%.3f\t%s\n", q.Kind, truncateRunes(q.Query, 40), truncateRunes(q.As, 24), q.NDCG10, q.RR, q.Recall20, extra)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "kind\tqueries\tnDCG@10\tMRR\trecall@20\t\n")
	for _, k := range rep.Kinds() {
		m := rep.ByKind[k]
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t\n", k, m.Queries, m.NDCG10, m.MRR, m.Recall20)
	}
	m := rep.Overall
	fmt.Fprintf(tw, "overall\t%d\t%.3f\t%.3f\t%.3f\t\n", m.Queries, m.NDCG10, m.MRR, m.Recall20)
	tw.Flush()
	if rep.Unjudged > 0 {
		fmt.Fprintf(w, "%d quer(ies) without relevant keys were run but not averaged\n", rep.Unjudged)
	}
	errs := 0
	for _, q := range rep.Queries {
		if q.Error != "" {
			errs++
		}
	}
	if errs > 0 {
		fmt.Fprintf(w, "%d quer(ies) were rejected and scored 0 (see --queries)\n", errs)
	}
}
