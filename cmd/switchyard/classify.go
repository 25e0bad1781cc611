package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"switchyard/classify"
)

func init() {
	register(command{
		name:    "classify",
		summary: "classify a ticket's text into a runbook intent (or: classify eval FILE, classify learn LABELS)",
		run:     runClassify,
	})
}

// classifyFlags are shared by "classify" and "classify eval".
type classifyFlags struct {
	catalog, directory, index, reporter string
}

func (f *classifyFlags) open() (*classify.Classifier, error) {
	var opts classify.Options
	if f.catalog != "" {
		cat, err := classify.LoadCatalog(f.catalog)
		if err != nil {
			return nil, err
		}
		opts.Catalog = cat
	}
	if f.directory != "" {
		dir, err := classify.LoadDirectory(f.directory)
		if err != nil {
			return nil, err
		}
		opts.Directory = dir
	}
	opts.Path = f.index
	return classify.New(opts)
}

func runClassify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "eval" {
		return runClassifyEval(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "learn" {
		return runClassifyLearn(ctx, args[1:], stdout, stderr)
	}
	fs := newFlagSet("classify", "[--json] [--catalog FILE] [--directory FILE] [--reporter EMAIL] TEXT\n       switchyard classify eval [--catalog FILE] [--directory FILE] [--index DIR] [--kfold K | --test TEST] [--learn] [--data CSV] [--reserved FILE] FILE\n       switchyard classify learn --config FILE [--data CSV] [--reserved FILE] LABELS", stderr)
	var f classifyFlags
	asJSON := fs.Bool("json", false, "print the result as JSON")
	fs.StringVar(&f.catalog, "catalog", "", "runbook catalog `FILE` (YAML); default: the built-in catalog")
	fs.StringVar(&f.directory, "directory", "", "synced users and groups `FILE` (JSON {\"users\":[…],\"groups\":[…]}) to match names against")
	fs.StringVar(&f.index, "index", "", "example index `DIR` holding recorded decisions; default: in memory")
	fs.StringVar(&f.reporter, "reporter", "", "the ticket reporter's `EMAIL` (target user fallback)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	text := strings.TrimSpace(strings.Join(pos, " "))
	if text == "" {
		fmt.Fprintln(stderr, "switchyard classify: TEXT is required (the ticket's summary and description)")
		fs.Usage()
		return errUsage
	}
	c, err := f.open()
	if err != nil {
		return err
	}
	defer c.Close()
	summary, desc, _ := strings.Cut(text, "\n")
	res, err := c.Classify(ctx, classify.Ticket{Summary: summary, Description: desc, ReporterEmail: f.reporter})
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printResult(stdout, c, res)
	return nil
}

func printResult(w io.Writer, c *classify.Classifier, r classify.Result) {
	if r.Disposition == classify.PendingApproval || r.Disposition == classify.NeedsInput {
		in, _ := c.Catalog().Intent(r.Intent)
		fmt.Fprintf(w, "intent:      %s (%s, %s on %s)\n", r.Intent, r.Runbook, in.Name, in.TargetSystem)
	} else {
		fmt.Fprintf(w, "intent:      %s\n", r.Intent)
	}
	fmt.Fprintf(w, "confidence:  %.3f\n", r.Confidence)
	fmt.Fprintf(w, "disposition: %s\n", r.Disposition)
	if r.Reason != "" {
		fmt.Fprintf(w, "reason:      %s\n", r.Reason)
	}
	if r.Explanation != "" {
		fmt.Fprintf(w, "why:         %s\n", r.Explanation)
	}
	if r.Candidate != "" {
		fmt.Fprintf(w, "closest:     %s\n", r.Candidate)
	}
	if len(r.Missing) > 0 {
		fmt.Fprintf(w, "missing:     %s\n", strings.Join(r.Missing, ", "))
	}
	for _, in := range r.Inputs {
		extra := ""
		if in.DisplayName != "" {
			extra = " (" + in.DisplayName + ")"
		}
		fmt.Fprintf(w, "input:       %s = %s%s  [%s]\n", in.Name, in.Value, extra, in.Source)
	}
	var top []string
	for _, s := range r.Evidence.Top {
		top = append(top, fmt.Sprintf("%s %.3f", s.Intent, s.Confidence))
	}
	fmt.Fprintf(w, "top:         %s\n", strings.Join(top, ", "))
	if r.Evidence.Rule != "" {
		fmt.Fprintf(w, "phrase:      %q\n", r.Evidence.Rule)
	}
	if len(r.Evidence.Words) > 0 {
		fmt.Fprintf(w, "words:       %s\n", strings.Join(r.Evidence.Words, ", "))
	}
}

func runClassifyEval(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("classify", "eval [--catalog FILE] [--directory FILE] [--index DIR] [--errors] [--kfold K | --test TEST] [--learn] [--target-precision P] [--data CSV] [--reserved FILE] FILE", stderr)
	var f classifyFlags
	fs.StringVar(&f.catalog, "catalog", "", "runbook catalog `FILE` (YAML); default: the built-in catalog")
	fs.StringVar(&f.directory, "directory", "", "synced users and groups `FILE` (JSON) to match names against")
	fs.StringVar(&f.reporter, "reporter", "reporter@example.invalid", "reporter `EMAIL` for rows that name none")
	fs.StringVar(&f.index, "index", "", "example index `DIR` with recorded decisions (a stopped deployment's classify.index, e.g. after classify learn); default: the catalog's examples only")
	showErrors := fs.Bool("errors", false, "list the misclassified rows")
	kfold := fs.Int("kfold", 0, "cross-validate over `K` folds: calibration and threshold fitted on the training folds, figures on the held-out ones")
	seed := fs.Int64("seed", 1, "`N` that shuffles rows into folds")
	learn := fs.Bool("learn", false, "with --kfold or --test: the classifier also learns the training rows as recorded decisions, as `switchyard classify learn` records them (what it does after the desk decided that many tickets)")
	testFile := fs.String("test", "", "labelled `TEST` set drawn apart from FILE: train on every row of FILE (calibration, thresholds and, with --learn, the examples), report on TEST")
	target := fs.Float64("target-precision", 0.985, "action `PRECISION` each fold's threshold is chosen for on its training folds")
	data := fs.String("data", "", "data set `CSV` (Document column) that a row-label FILE (.tsv) points into; default: $SWITCHYARD_SHARED/datasets/it-service-tickets.csv")
	reserved := fs.String("reserved", "", "`FILE` of reserved row numbers that must not be labelled; default: reserved-rows.txt next to the data set, when there")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "switchyard classify eval: exactly one labelled FILE (CSV with text,intent columns, JSONL, or a .tsv of row labels) is required")
		fs.Usage()
		return errUsage
	}
	if (*kfold != 0 || *testFile != "") && f.index != "" {
		// Cross-validation builds each fold's classifier from the catalog
		// (and, with --learn, the training folds); examples already in an
		// index would be in every fold, training and held-out alike.
		fmt.Fprintln(stderr, "switchyard classify eval: --index cannot be combined with --kfold or --test: its recorded examples would leak into the held-out figures")
		return errUsage
	}
	rows, err := loadLabels(pos[0], *data, *reserved, stderr)
	if err != nil {
		return err
	}
	var test []classify.Labelled
	if *testFile != "" {
		if *kfold == 0 {
			*kfold = 5 // the training rows' own k-fold, for --learn's thresholds
		}
		if test, err = loadLabels(*testFile, *data, *reserved, stderr); err != nil {
			return err
		}
	}
	c, err := f.open()
	if err != nil {
		return err
	}
	defer c.Close()
	if *kfold != 0 {
		rep, err := classify.CrossValidate(ctx, c, rows, classify.CVOptions{Folds: *kfold, Seed: *seed, TargetPrecision: *target, Reporter: f.reporter, Learn: *learn, Test: test})
		if err != nil {
			return err
		}
		return rep.Print(stdout, *showErrors)
	}
	rep, err := classify.Evaluate(ctx, c, rows, f.reporter)
	if err != nil {
		return err
	}
	return rep.Print(stdout, *showErrors)
}

// loadLabels reads a labelled file: a .tsv of row labels joined with the
// data set (--data, or $SWITCHYARD_SHARED's), refusing reserved rows, or a
// CSV/JSONL of text and intent.
func loadLabels(path, data, reserved string, stderr io.Writer) ([]classify.Labelled, error) {
	if !strings.EqualFold(filepath.Ext(path), ".tsv") {
		return classify.LoadLabelled(path)
	}
	csvPath := data
	if csvPath == "" {
		shared := os.Getenv("SWITCHYARD_SHARED")
		if shared == "" {
			fmt.Fprintf(stderr, "switchyard classify: %s is a .tsv of row labels and needs the data set: pass --data CSV or set SWITCHYARD_SHARED\n", path)
			return nil, errUsage
		}
		csvPath = filepath.Join(shared, "datasets", "it-service-tickets.csv")
	}
	if reserved == "" {
		if p := filepath.Join(filepath.Dir(csvPath), "reserved-rows.txt"); fileExists(p) {
			reserved = p
		}
	}
	return classify.LoadRowLabels(path, csvPath, reserved)
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}
