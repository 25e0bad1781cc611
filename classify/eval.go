package classify

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"

	"switchyard"
)

// Labelled is one row of an evaluation file.
type Labelled struct {
	Text     string `json:"text"`
	Intent   string `json:"intent"`
	Reporter string `json:"reporter,omitempty"`
	// Target, when set on an action row, is whose account the runbook must
	// act on: self (the reporter) or other. A suggestion for the right
	// intent on the wrong account is wrong.
	Target string `json:"target,omitempty"`
	// Row is the data-set row of a row-labelled file; Note its sample.
	Row  int    `json:"-"`
	Note string `json:"-"`
}

// Ticket splits the text into summary (first line) and description.
func (l Labelled) Ticket(defaultReporter string) Ticket {
	summary, desc, _ := strings.Cut(l.Text, "\n")
	rep := l.Reporter
	if rep == "" {
		rep = defaultReporter
	}
	return Ticket{Summary: summary, Description: desc, ReporterEmail: rep}
}

// LoadLabelled reads a labelled file: JSONL ({"text","intent"[,"reporter"]}
// per line) when the name ends in .jsonl or .json, else CSV with a header
// naming the columns text and intent (and optionally reporter).
func LoadLabelled(path string) ([]Labelled, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open labelled file: %w", err)
	}
	defer f.Close()
	switch strings.ToLower(filepath.Ext(path)) {
	case ".jsonl", ".json", ".ndjson":
		return readJSONL(f, path)
	default:
		return readCSV(f, path)
	}
}

func readJSONL(r io.Reader, name string) ([]Labelled, error) {
	var out []Labelled
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 4<<20)
	line := 0
	for sc.Scan() {
		line++
		b := strings.TrimSpace(sc.Text())
		if b == "" {
			continue
		}
		var l Labelled
		dec := json.NewDecoder(strings.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: %v", name, line, err)
		}
		if err := checkLabelled(l); err != nil {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: %v", name, line, err)
		}
		out = append(out, l)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s: no labelled rows", name)
	}
	return out, nil
}

func readCSV(r io.Reader, name string) ([]Labelled, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s: read CSV header: %v", name, err)
	}
	col := map[string]int{}
	for i, h := range head {
		col[strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))] = i
	}
	ti, ok1 := col["text"]
	ii, ok2 := col["intent"]
	if !ok1 || !ok2 {
		return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s: CSV header must name columns text and intent, got %q", name, head)
	}
	ri, hasRep := col["reporter"]
	var out []Labelled
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s: %v", name, err)
		}
		if ti >= len(rec) || ii >= len(rec) {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: too few columns", name, line)
		}
		l := Labelled{Text: rec[ti], Intent: strings.TrimSpace(rec[ii])}
		if hasRep && ri < len(rec) {
			l.Reporter = strings.TrimSpace(rec[ri])
		}
		if err := checkLabelled(l); err != nil {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s line %d: %v", name, line, err)
		}
		out = append(out, l)
	}
	if len(out) == 0 {
		return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s: no labelled rows", name)
	}
	return out, nil
}

func checkLabelled(l Labelled) error {
	if strings.TrimSpace(l.Text) == "" {
		return errors.New("text is empty")
	}
	if l.Intent == "" {
		return errors.New("intent is empty")
	}
	return nil
}

// Report is the outcome of an evaluation.
type Report struct {
	Rows    int
	Classes []string // action intents in catalog order, then no_action
	// Confusion[true][predicted] counts rows.
	Confusion map[string]map[string]int
	PerClass  map[string]ClassMetrics
	// MacroF1 is the mean F1 over action intents.
	MacroF1 float64
	// Coverage is the share of all rows sent for approval.
	Coverage float64
	// NoActionFPR is the share of no_action rows that got an action intent.
	NoActionFPR float64
	Reasons     map[string]int // abstentions by reason
	// Acted counts rows sent for approval, ActedRight those with the right
	// runbook (intent); ActionRows the rows labelled with an action intent;
	// WrongTarget right-runbook suggestions on the wrong account (the
	// confusion matrix and per-class figures count them as misses);
	// NeedsInput the rows waiting for an input, NeedsInputRight those whose
	// intent is the label's.
	Acted, ActedRight, ActionRows, WrongTarget, NeedsInput, NeedsInputRight int
	// NeedsInputNoAction counts no_action rows put in needs_input.
	NeedsInputNoAction int
	// Calibration bins suggestions by confidence: predicted vs observed.
	Calibration []CalibrationBin
	ECE         float64 // expected calibration error over suggestions
	Errors      []Miss  // misclassified rows, for inspection
}

// ClassMetrics are one class's figures.
type ClassMetrics struct {
	Threshold float64
	Support   int // rows labelled with the class
	Predicted int
	Precision float64
	Recall    float64
	F1        float64
	// Coverage is the share of the class's rows the classifier did not
	// abstain on (whatever intent it chose).
	Coverage float64
}

// CalibrationBin is one confidence bucket of suggestions.
type CalibrationBin struct {
	Lo, Hi        float64
	N             int
	MeanConf, Acc float64
}

// Miss is a misclassified row.
type Miss struct {
	Text, Want, Got, Reason string
	Confidence              float64
	Row                     int // data-set row, for row-labelled files
}

// Evaluate classifies every row and computes the report. Rows without a
// reporter get defaultReporter, as every Jira ticket has one.
func Evaluate(ctx context.Context, c *Classifier, rows []Labelled, defaultReporter string) (*Report, error) {
	known := map[string]bool{NoAction: true}
	var classes []string
	for _, in := range c.cat.Intents {
		known[in.ID] = true
		classes = append(classes, in.ID)
	}
	classes = append(classes, NoAction)
	for i, l := range rows {
		if !known[l.Intent] {
			return nil, switchyard.Errorf(switchyard.ErrInvalid, "row %d: intent %q is not in the catalog (known: %s)", i+1, l.Intent, strings.Join(classes, ", "))
		}
	}
	rep := &Report{Rows: len(rows), Classes: classes, Confusion: map[string]map[string]int{}, PerClass: map[string]ClassMetrics{}, Reasons: map[string]int{}}
	for _, cl := range classes {
		rep.Confusion[cl] = map[string]int{}
	}
	nonAbstain := map[string]int{}
	type sugg struct {
		conf    float64
		correct bool
	}
	var suggs []sugg
	for _, l := range rows {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		r, err := c.Classify(ctx, l.Ticket(defaultReporter))
		if err != nil {
			return nil, fmt.Errorf("classify %.40q: %w", l.Text, err)
		}
		// Only a suggestion sent for approval counts as acting; needs_input
		// waits for an agent and is counted on its own.
		got := r.Intent
		if r.Disposition != PendingApproval {
			got = NoAction
		}
		// The right runbook on the wrong account is a wrong suggestion.
		wrongTarget := r.Disposition == PendingApproval && got == l.Intent && !targetMatches(l, r.Inputs, rowReporter(l, defaultReporter))
		if wrongTarget {
			rep.WrongTarget++
			rep.Confusion[l.Intent][NoAction+"/wrong_target"]++
		} else {
			rep.Confusion[l.Intent][got]++
		}
		right := got == l.Intent && !wrongTarget
		switch r.Disposition {
		case PendingApproval:
			nonAbstain[l.Intent]++
			rep.Acted++
			// The confidence is the runbook's; the account is the
			// extractor's, counted in WrongTarget.
			if got == l.Intent {
				rep.ActedRight++
			}
			suggs = append(suggs, sugg{r.Confidence, got == l.Intent})
		default:
			rep.Reasons[r.Reason]++
			if l.Intent == NoAction {
				nonAbstain[NoAction]++
			}
			if r.Disposition == NeedsInput {
				rep.NeedsInput++
				if r.Intent == l.Intent {
					rep.NeedsInputRight++
				}
				if l.Intent == NoAction {
					rep.NeedsInputNoAction++
				}
			}
		}
		if l.Intent != NoAction {
			rep.ActionRows++
		}
		if !right {
			g := got
			if wrongTarget {
				g += " (wrong target)"
			}
			rep.Errors = append(rep.Errors, Miss{Text: l.Text, Want: l.Intent, Got: g, Reason: r.Reason, Confidence: r.Confidence, Row: l.Row})
		}
	}
	var f1sum float64
	for _, cl := range classes {
		var m ClassMetrics
		if in, ok := c.intents[cl]; ok {
			m.Threshold = in.Threshold
		}
		tp := rep.Confusion[cl][cl]
		for _, t := range classes {
			m.Support += rep.Confusion[cl][t]
			m.Predicted += rep.Confusion[t][cl]
		}
		wt := rep.Confusion[cl][NoAction+"/wrong_target"]
		m.Support += wt
		m.Predicted += wt
		m.Precision = ratio(tp, m.Predicted)
		m.Recall = ratio(tp, m.Support)
		if m.Precision+m.Recall > 0 {
			m.F1 = 2 * m.Precision * m.Recall / (m.Precision + m.Recall)
		}
		m.Coverage = ratio(nonAbstain[cl], m.Support)
		rep.PerClass[cl] = m
		if cl != NoAction {
			f1sum += m.F1
		}
	}
	rep.MacroF1 = f1sum / float64(len(classes)-1)
	rep.Coverage = ratio(len(suggs), len(rows))
	na := rep.PerClass[NoAction]
	rep.NoActionFPR = ratio(na.Support-rep.Confusion[NoAction][NoAction], na.Support)

	edges := []float64{0, 0.6, 0.7, 0.8, 0.9, 1.0001}
	for i := 0; i+1 < len(edges); i++ {
		b := CalibrationBin{Lo: edges[i], Hi: math.Min(edges[i+1], 1)}
		var conf, acc float64
		for _, s := range suggs {
			if s.conf >= edges[i] && s.conf < edges[i+1] {
				b.N++
				conf += s.conf
				if s.correct {
					acc++
				}
			}
		}
		if b.N > 0 {
			b.MeanConf, b.Acc = conf/float64(b.N), acc/float64(b.N)
			rep.ECE += float64(b.N) / float64(len(suggs)) * math.Abs(b.MeanConf-b.Acc)
		}
		rep.Calibration = append(rep.Calibration, b)
	}
	return rep, nil
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// GivenFigures are the figures cross-validation reports, from one pass:
// a run waiting for input has its runbook chosen too, so it counts as given
// an intent, and a no_action row put in needs_input is not left alone.
type GivenFigures struct {
	Given, Right                        int
	Precision, Coverage, NoActionRecall float64
}

// GivenIntent counts suggestions and needs_input runs together.
func (r *Report) GivenIntent() GivenFigures {
	g := GivenFigures{Given: r.Acted + r.NeedsInput, Right: r.ActedRight + r.NeedsInputRight}
	g.Precision, g.Coverage = ratio(g.Right, g.Given), ratio(g.Right, r.ActionRows)
	g.NoActionRecall = ratio(r.Confusion[NoAction][NoAction]-r.NeedsInputNoAction, r.PerClass[NoAction].Support)
	return g
}

// Print writes the report as text tables.
func (r *Report) Print(w io.Writer, showErrors bool) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "rows: %d\n\n", r.Rows)
	fmt.Fprintln(tw, "intent\tthreshold\tsupport\tpredicted\tprecision\trecall\tF1\tcoverage\t")
	for _, cl := range r.Classes {
		m := r.PerClass[cl]
		th := "-"
		if cl != NoAction {
			th = fmt.Sprintf("%.2f", m.Threshold)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t\n", cl, th, m.Support, m.Predicted, m.Precision, m.Recall, m.F1, m.Coverage)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nmacro-F1 (action intents): %.3f\n", r.MacroF1)
	fmt.Fprintf(w, "coverage (rows sent for approval): %.3f\n", r.Coverage)
	fmt.Fprintf(w, "action precision: %.3f (%d of %d sent for approval had the right runbook)   action coverage: %.3f (of %d action rows)\n",
		ratio(r.ActedRight, r.Acted), r.ActedRight, r.Acted, ratio(r.ActedRight, r.ActionRows), r.ActionRows)
	fmt.Fprintf(w, "  right runbook and account: %.3f (%d of %d; right runbook, wrong account: %d)\n",
		ratio(r.ActedRight-r.WrongTarget, r.Acted), r.ActedRight-r.WrongTarget, r.Acted, r.WrongTarget)
	fmt.Fprintf(w, "needs_input: %d (the label's intent: %d; labelled no_action: %d)\n", r.NeedsInput, r.NeedsInputRight, r.NeedsInputNoAction)
	g := r.GivenIntent()
	fmt.Fprintf(w, "given an intent (approval or needs_input): precision %.3f (%d of %d had the right runbook), coverage %.3f (of %d action rows), no_action recall %.3f\n",
		g.Precision, g.Right, g.Given, g.Coverage, r.ActionRows, g.NoActionRecall)
	fmt.Fprintf(w, "no_action recall: %.3f   no_action false-positive rate: %.3f\n", r.PerClass[NoAction].Recall, r.NoActionFPR)
	fmt.Fprintf(w, "abstentions: %s\n", countList(r.Reasons, ""))

	fmt.Fprintln(w, "\nconfusion matrix (rows: labelled, columns: predicted)")
	printConfusion(tw, r.Classes, r.Confusion)

	fmt.Fprintln(w, "\ncalibration of suggestions (confidence bin: n, mean confidence, accuracy)")
	for _, b := range r.Calibration {
		if b.N == 0 {
			continue
		}
		fmt.Fprintf(w, "  [%.1f, %.1f)  n=%-4d conf=%.3f acc=%.3f\n", b.Lo, b.Hi, b.N, b.MeanConf, b.Acc)
	}
	fmt.Fprintf(w, "  expected calibration error: %.3f\n", r.ECE)
	if showErrors && len(r.Errors) > 0 {
		fmt.Fprintf(w, "\nmisclassified (%d):\n", len(r.Errors))
		for _, m := range r.Errors {
			text := strings.ReplaceAll(m.Text, "\n", " | ")
			if len(text) > 110 {
				text = text[:110] + "…"
			}
			fmt.Fprintf(w, "  want %-24s got %-24s %-15s %.2f  %s\n", m.Want, m.Got, m.Reason, m.Confidence, text)
		}
	}
	return nil
}

func abbrev(i int, classes []string) string {
	if classes[i] == NoAction {
		return "NA"
	}
	return fmt.Sprintf("C%d", i+1)
}

// countList prints counts as "k=v" sorted by key; an empty key is shown as
// empty (when not "").
func countList(counts map[string]int, empty string) string {
	var out []string
	for k, v := range counts {
		if k == "" && empty != "" {
			k = empty
		}
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

// printConfusion prints a confusion matrix over classes, abbreviated
// column heads, and flushes tw.
func printConfusion(tw *tabwriter.Writer, classes []string, confusion map[string]map[string]int) {
	fmt.Fprint(tw, "\t")
	for i := range classes {
		fmt.Fprintf(tw, "%s\t", abbrev(i, classes))
	}
	fmt.Fprintln(tw)
	for i, t := range classes {
		fmt.Fprintf(tw, "%s %s\t", abbrev(i, classes), t)
		for _, p := range classes {
			fmt.Fprintf(tw, "%d\t", confusion[t][p])
		}
		fmt.Fprintln(tw)
	}
	tw.Flush()
}
