package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"switchyard"
	"switchyard/classify"
)

const classifyLearnHelp = `Usage: switchyard classify learn --config FILE [--data CSV] [--reserved FILE] LABELS

Teaches the daemon's classifier a labelled set of tickets. Every row becomes
a recorded decision in classify.index (default <data_dir>/classify.bleve),
exactly as an approver's decision is recorded: a row labelled with an action
intent is an approved example of it, a row labelled no_action an example of
the tickets no runbook fits. From then on the classifier's neighbours and
naive Bayes vote with them, also after a restart. What that is worth on real
tickets is what "switchyard classify eval --kfold 5 --learn LABELS" measures.

LABELS is a .tsv of row labels into a data set (row, intent[, target[,
sample]]; the text is read from --data, default
$SWITCHYARD_SHARED/datasets/it-service-tickets.csv, and rows of --reserved are
refused), or a CSV (text,intent[,reporter]) or JSONL ({"text","intent"}) file.
Every intent is checked against the catalog before anything is written.

Running it again with the same rows adds nothing: an example is keyed by its
text and label. serve, demo and sync must be stopped first (the command
refuses while one of them owns the data directory). In the replicated mode
each node keeps its own classify.index: teach every node.
`

func runClassifyLearn(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("classify learn", "--config FILE [--data CSV] [--reserved FILE] LABELS", stderr)
	fs.Usage = func() { fmt.Fprint(stderr, classifyLearnHelp+"\nFlags:\n"); fs.PrintDefaults() }
	cfgPath := fs.String("config", "switchyard.yaml", "configuration `FILE`")
	data := fs.String("data", "", "data set `CSV` a .tsv of row labels points into")
	reserved := fs.String("reserved", "", "`FILE` of reserved row numbers that must not be learned; default: reserved-rows.txt next to the data set, when there")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "switchyard classify learn: exactly one LABELS file is required")
		fs.Usage()
		return errUsage
	}
	cfg, err := loadConfigNoArgs("classify learn", nil, *cfgPath)
	if err != nil {
		return err
	}
	rows, err := loadLabels(pos[0], *data, *reserved, stderr)
	if err != nil {
		return err
	}
	cat, err := configCatalog(cfg)
	if err != nil {
		return err
	}
	// Every label is checked before the first example is written, so a typo
	// in row 800 does not leave 799 rows learned.
	known := map[string]bool{classify.NoAction: true}
	var ids []string
	for _, in := range cat.Intents {
		known[in.ID] = true
		ids = append(ids, in.ID)
	}
	tsv := strings.EqualFold(filepath.Ext(pos[0]), ".tsv")
	for i, l := range rows {
		if !known[l.Intent] {
			return switchyard.Errorf(switchyard.ErrInvalid, "%s: %s: intent %q is not in the catalog (known: %s, %s)", pos[0], rowName(l, i, tsv), l.Intent, strings.Join(ids, ", "), classify.NoAction)
		}
	}

	// The store's synced users and groups mask names as serve does, so an
	// example learned here reads like one an approver's decision records.
	lock, db, err := ownDataDirStore(cfg, "classify learn")
	if err != nil {
		return err
	}
	defer lock.Close()
	defer db.Close()
	c, err := classify.New(classify.Options{Catalog: cat, Path: cfg.Classify.Index, Directory: storeDirectories(cfg, db)})
	if err != nil {
		return fmt.Errorf("classify.index %s: %w", cfg.Classify.Index, err)
	}
	defer c.Close()

	before := c.Examples()
	// One call for the whole set: every row is read against the same
	// vocabulary, as cross-validation's --learn and a restart read them.
	ds := make([]classify.Decision, len(rows))
	for i, l := range rows {
		ds[i] = classify.Decision{Ticket: l.Ticket(""), Intent: l.Intent, Approved: true}
	}
	fmt.Fprintf(stderr, "learning %d rows …\n", len(rows))
	skippedIdx, err := c.LearnLabelled(ctx, ds)
	if err != nil {
		var de *classify.DecisionError
		if errors.As(err, &de) {
			return fmt.Errorf("%s: %s: %w", pos[0], rowName(rows[de.Index], de.Index, tsv), de.Err)
		}
		return fmt.Errorf("learn %s: %w", pos[0], err)
	}
	skip := map[int]bool{}
	var skipped []string
	for _, i := range skippedIdx {
		skip[i] = true
		skipped = append(skipped, fmt.Sprintf("%s %.60q: no words to learn from", rowName(rows[i], i, tsv), rows[i].Text))
	}
	if len(skipped) == len(rows) {
		return switchyard.Errorf(switchyard.ErrInvalid, "%s: none of its %d rows has words to learn from (first: %s)", pos[0], len(rows), skipped[0])
	}
	perIntent := map[string]int{}
	for i, l := range rows {
		if !skip[i] {
			perIntent[l.Intent]++
		}
	}
	added := c.Examples() - before
	var parts []string
	for in, n := range perIntent {
		parts = append(parts, fmt.Sprintf("%s %d", in, n))
	}
	sort.Strings(parts)
	fmt.Fprintf(stdout, "learned %d rows into %s (%s): %d new examples, %d already known; the classifier votes with %d examples\n",
		len(rows)-len(skipped), cfg.Classify.Index, strings.Join(parts, ", "), added, len(rows)-len(skipped)-added, c.Examples())
	for _, s := range skipped {
		fmt.Fprintf(stderr, "skipped %s\n", s)
	}
	return nil
}

// rowName names a row as its file does: a data-set row number for row
// labels, else its line among the rows.
func rowName(l classify.Labelled, i int, tsv bool) string {
	if tsv {
		return fmt.Sprintf("data-set row %d", l.Row)
	}
	return fmt.Sprintf("row %d", i+1)
}
