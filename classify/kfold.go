package classify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand"
	"sort"
	"strings"
	"text/tabwriter"

	"switchyard"
)

// CVOptions configure a cross-validated evaluation.
type CVOptions struct {
	// Folds is k (default 5); Seed shuffles rows into folds (default 1).
	Folds int
	Seed  int64
	// TargetPrecision is the action precision each fold's threshold is
	// chosen for on its training folds (default 0.985).
	TargetPrecision float64
	// Reporter is the reporter of rows that name none.
	Reporter string
	// Learn makes the training folds recorded decisions (approved for an
	// action label, no_action examples otherwise) before the held-out fold
	// is classified: what the classifier does after the desk has decided
	// that many real tickets. Off, the classifier is the catalog's.
	Learn bool
	// Test, when set, replaces the folds with one split: every row is
	// training (calibration, thresholds and, with Learn, the examples
	// learned) and the figures are over Test, a set drawn apart.
	Test []Labelled
}

// CVReport is the outcome of a k-fold cross-validated evaluation. Every
// figure is over held-out rows: each fold is classified with a calibration
// and a threshold fitted on the other folds only.
type CVReport struct {
	Rows, Folds int
	// TestRows is the size of the held-out test set (0: k-fold).
	TestRows int
	Learn    bool // the training folds were learned as decisions
	Classes  []string
	// Confusion[true][predicted]; predicted is the intent suggested or
	// waiting for input, else no_action.
	Confusion map[string]map[string]int
	PerClass  map[string]CVClass
	// Acted counts rows given an intent (sent for approval or needs_input);
	// Correct the acted rows whose intent is right: the right runbook, which
	// is what the action precision and coverage count. Whether a
	// suggestion also names the right account is WrongTarget's.
	Acted, Correct int
	// Approval and NeedsInput split Acted by disposition; ApprovalCorrect
	// and NeedsInputCorrect are their right ones.
	Approval, ApprovalCorrect, NeedsInput, NeedsInputCorrect int
	ActionRows                                               int
	// ActionPrecision = Correct/Acted, Coverage = Correct/ActionRows,
	// NoActionRecall = no_action rows left alone / no_action rows.
	ActionPrecision, Coverage, NoActionRecall float64
	// WrongTarget counts suggestions sent for approval with the right
	// runbook on the wrong account; AccountPrecision is the share of acted
	// rows right in both (a needs_input row's account is the agent's).
	WrongTarget      int
	AccountPrecision float64
	Thresholds       []float64 // per fold, on the calibrated confidence
	// IntentThresholds are, per fold, the intents' own thresholds.
	IntentThresholds []map[string]float64
	Reasons          map[string]int
	Reliability      []CalibrationBin
	ECE              float64
	Curve            []CurvePoint
	// Fit is the calibration and threshold fitted on every row, for the
	// catalog (its figures are in-sample; the CV figures are the estimate).
	Fit Calibration
	// FitThreshold is the global threshold chosen on every row, and
	// FitIntentThresholds the intents' own.
	FitThreshold        float64
	FitIntentThresholds map[string]float64
	Errors              []Miss
}

// CVClass is one class's held-out figures.
type CVClass struct {
	Support, Acted, Correct int
	Approval, NeedsInput    int
	Precision, Recall       float64
}

// CurvePoint is precision and coverage at one fixed threshold.
type CurvePoint struct {
	Threshold                           float64
	Acted                               int
	Precision, Coverage, NoActionRecall float64
}

type cvRow struct {
	l    Labelled
	r    Result
	fold int
}

// outcome is what a row's result becomes under a calibration and threshold.
type outcome struct {
	disposition, intent, reason string
	p                           float64 // calibrated confidence of the candidate
	correct                     bool
	wrongTarget                 bool
}

// thresholdSet is a fold's thresholds: each intent with enough training
// candidates has its own, the others share the global one.
type thresholdSet struct {
	global float64
	per    map[string]float64
}

func (t thresholdSet) of(intent string) float64 {
	if v, ok := t.per[intent]; ok {
		return v
	}
	return t.global
}

func flat(t float64) thresholdSet { return thresholdSet{global: t} }

func (c *Classifier) outcomeOf(row cvRow, cal Calibration, ths thresholdSet, reporter string) outcome {
	r := row.r
	o := outcome{disposition: DispositionNone, intent: NoAction, reason: r.Reason}
	if r.raw.intent == "" || r.raw.hard {
		return o
	}
	o.p = cal.Apply(r.raw.conf)
	if o.p < ths.of(r.raw.intent) {
		o.reason = ReasonLowConfidence
		return o
	}
	o.intent = r.raw.intent
	if len(r.raw.missing) > 0 {
		o.disposition, o.reason = NeedsInput, ReasonMissingInput
		o.correct = o.intent == row.l.Intent
		return o
	}
	o.disposition, o.reason = PendingApproval, ""
	// The confidence says how likely the runbook is right; the account is
	// the extractor's and is counted on its own (wrongTarget).
	o.correct = o.intent == row.l.Intent
	o.wrongTarget = o.correct && !targetMatches(row.l, r.raw.inputs, rowReporter(row.l, reporter))
	return o
}

func rowReporter(l Labelled, def string) string {
	if l.Reporter != "" {
		return l.Reporter
	}
	return def
}

// targetMatches reports whether the target the classifier found is the
// kind of account the label says (self: the reporter; other: anyone else).
func targetMatches(l Labelled, inputs []Input, reporter string) bool {
	if l.Target == "" {
		return true
	}
	for _, in := range inputs {
		if in.Name != InputTargetUser {
			continue
		}
		self := in.Source == SourceReporterFallback || strings.EqualFold(in.Value, reporter)
		return self == (l.Target == TargetSelf)
	}
	return true // the intent needs no target account (e.g. a new hire's name)
}

// CrossValidate classifies every row once, then runs k-fold
// cross-validation over the results: for each fold it fits the calibration
// (isotonic, on the vote share) and chooses the threshold (the lowest whose
// precision on the training folds reaches TargetPrecision) on the other
// folds, and applies both to the held-out fold. The classifier's own
// examples are the catalog's; the folds never teach it words, so the figures
// estimate what the shipped classifier does on unseen tickets.
func CrossValidate(ctx context.Context, c *Classifier, rows []Labelled, opts CVOptions) (*CVReport, error) {
	if opts.Folds == 0 {
		opts.Folds = 5
	}
	if opts.Folds < 2 || opts.Folds > len(rows) {
		return nil, switchyard.Errorf(switchyard.ErrInvalid, "folds must be between 2 and the number of rows (%d), got %d", len(rows), opts.Folds)
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.TargetPrecision == 0 {
		opts.TargetPrecision = 0.985
	}
	classes := c.classes()
	known := map[string]bool{}
	for _, cl := range classes {
		known[cl] = true
	}
	for n, set := range [][]Labelled{rows, opts.Test} {
		for i, l := range set {
			if !known[l.Intent] {
				which := "row"
				if n == 1 {
					which = "test row"
				}
				return nil, switchyard.Errorf(switchyard.ErrInvalid, "%s %d: intent %q is not in the catalog (known: %s)", which, i+1, l.Intent, strings.Join(classes, ", "))
			}
		}
	}
	classifyAll := func(set []Labelled, fold int) ([]cvRow, error) {
		out := make([]cvRow, len(set))
		for i, l := range set {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r, err := c.Classify(ctx, l.Ticket(opts.Reporter))
			if err != nil {
				return nil, fmt.Errorf("classify %.40q: %w", l.Text, err)
			}
			out[i] = cvRow{l: l, r: r, fold: fold}
		}
		return out, nil
	}
	var all []cvRow
	splits := opts.Folds
	if opts.Test == nil {
		var err error
		if all, err = classifyAll(rows, 0); err != nil {
			return nil, err
		}
		// Stratified folds: each intent's rows are shuffled and dealt round.
		byClass := map[string][]int{}
		for i, row := range all {
			byClass[row.l.Intent] = append(byClass[row.l.Intent], i)
		}
		rng := rand.New(rand.NewSource(opts.Seed))
		deal := 0
		for _, cl := range classes {
			idx := byClass[cl]
			rng.Shuffle(len(idx), func(a, b int) { idx[a], idx[b] = idx[b], idx[a] })
			for _, i := range idx {
				all[i].fold = deal % opts.Folds
				deal++
			}
		}
	} else {
		if err := disjoint(rows, opts.Test); err != nil {
			return nil, err
		}
		// One split: the rows train (fold -1 is never a test fold), the
		// test set is fold 0.
		train, err := classifyAll(rows, -1)
		if err != nil {
			return nil, err
		}
		test, err := classifyAll(opts.Test, 0)
		if err != nil {
			return nil, err
		}
		all, splits = append(train, test...), 1
	}

	rep := &CVReport{Rows: len(rows), Folds: opts.Folds, TestRows: len(opts.Test), Classes: classes, Confusion: map[string]map[string]int{}, PerClass: map[string]CVClass{}, Reasons: map[string]int{}}
	for _, cl := range classes {
		rep.Confusion[cl] = map[string]int{}
	}
	type heldOut struct {
		row cvRow
		cal Calibration
		th  thresholdSet
	}
	var held []heldOut
	for f := 0; f < splits; f++ {
		var train []cvRow
		for _, row := range all {
			if row.fold != f {
				train = append(train, row)
			}
		}
		var test []cvRow
		for _, row := range all {
			if row.fold == f {
				test = append(test, row)
			}
		}
		fitOn := train
		if opts.Learn {
			// The training folds become recorded decisions, as approvals
			// and denials would make them. Calibration and thresholds are
			// fitted on the training rows scored out of fold (an inner
			// k-fold), never on rows the classifier has learned.
			var err error
			if fitOn, err = c.innerOutOfFold(ctx, train, opts); err != nil {
				return nil, err
			}
			if test, err = c.scoreLearned(ctx, train, test, opts); err != nil {
				return nil, err
			}
		}
		cal, th := c.fit(fitOn, opts)
		rep.Thresholds = append(rep.Thresholds, th.global)
		rep.IntentThresholds = append(rep.IntentThresholds, th.per)
		for _, row := range test {
			held = append(held, heldOut{row, cal, th})
		}
	}
	rep.Learn = opts.Learn
	var fitTh thresholdSet
	var fitRows []cvRow
	for _, row := range all {
		if opts.Test == nil || row.fold < 0 {
			fitRows = append(fitRows, row)
		}
	}
	rep.Fit, fitTh = c.fit(fitRows, opts)
	rep.FitThreshold, rep.FitIntentThresholds = fitTh.global, fitTh.per

	var rel []relPoint
	for _, h := range held {
		o := c.outcomeOf(h.row, h.cal, h.th, opts.Reporter)
		want := h.row.l.Intent
		rep.Confusion[want][o.intent]++
		m := rep.PerClass[want]
		m.Support++
		rep.PerClass[want] = m
		if want != NoAction {
			rep.ActionRows++
		}
		if o.disposition == DispositionNone {
			rep.Reasons[o.reason]++
		} else {
			rep.Acted++
			pm := rep.PerClass[o.intent]
			pm.Acted++
			if o.correct {
				pm.Correct++
				rep.Correct++
			}
			if o.disposition == PendingApproval {
				pm.Approval++
				rep.Approval++
				if o.correct {
					rep.ApprovalCorrect++
				}
			} else {
				pm.NeedsInput++
				rep.NeedsInput++
				if o.correct {
					rep.NeedsInputCorrect++
				}
			}
			rep.PerClass[o.intent] = pm
			if o.wrongTarget {
				rep.WrongTarget++
			}
		}
		if o.intent != want || o.wrongTarget {
			got := o.intent
			if o.wrongTarget {
				got += " (wrong target)"
			}
			rep.Errors = append(rep.Errors, Miss{Text: h.row.l.Text, Want: want, Got: got, Reason: o.reason, Confidence: o.p, Row: h.row.l.Row})
		}
		// Reliability: every candidate the threshold decides, whether or
		// not it passed, with its held-out calibrated confidence.
		if h.row.r.raw.intent != "" && !h.row.r.raw.hard {
			full := c.outcomeOf(h.row, h.cal, flat(-1), opts.Reporter)
			rel = append(rel, relPoint{p: full.p, correct: full.correct})
		}
	}
	for cl, m := range rep.PerClass {
		m.Precision = ratio(m.Correct, m.Acted)
		if cl == NoAction {
			m.Correct = rep.Confusion[NoAction][NoAction]
			m.Recall = ratio(m.Correct, m.Support)
		} else {
			m.Recall = ratio(m.Correct, m.Support)
		}
		rep.PerClass[cl] = m
	}
	rep.ActionPrecision = ratio(rep.Correct, rep.Acted)
	rep.AccountPrecision = ratio(rep.Correct-rep.WrongTarget, rep.Acted)
	rep.Coverage = ratio(rep.Correct, rep.ActionRows)
	rep.NoActionRecall = rep.PerClass[NoAction].Recall
	rep.Reliability, rep.ECE = reliability(rel)

	for t := 0.10; t < 0.999; t += 0.05 {
		p := CurvePoint{Threshold: round(t)}
		correct, naKept, naRows := 0, 0, 0
		for _, h := range held {
			o := c.outcomeOf(h.row, h.cal, flat(t), opts.Reporter)
			if h.row.l.Intent == NoAction {
				naRows++
				if o.disposition == DispositionNone {
					naKept++
				}
			}
			if o.disposition != DispositionNone {
				p.Acted++
				if o.correct {
					correct++
				}
			}
		}
		p.Precision = ratio(correct, p.Acted)
		p.Coverage = ratio(correct, rep.ActionRows)
		p.NoActionRecall = ratio(naKept, naRows)
		rep.Curve = append(rep.Curve, p)
	}
	return rep, nil
}

// disjoint refuses a test set that shares a ticket text with the training
// rows (the same data-set row, or a duplicate ticket): its figures would not
// be held out.
func disjoint(train, test []Labelled) error {
	texts := map[string]bool{}
	for _, l := range train {
		texts[normalizeText(l.Text)] = true
	}
	shared, first := 0, ""
	for i, l := range test {
		if !texts[normalizeText(l.Text)] {
			continue
		}
		shared++
		if first == "" {
			first = fmt.Sprintf("test row %d, %.40q", i+1, l.Text)
			if l.Row > 0 {
				first = fmt.Sprintf("test row %d (data-set row %d)", i+1, l.Row)
			}
		}
	}
	if shared > 0 {
		return switchyard.Errorf(switchyard.ErrInvalid, "the test set shares %d tickets with the training rows (first: %s): its figures would not be held out", shared, first)
	}
	return nil
}

func (c *Classifier) classes() []string {
	var out []string
	for _, in := range c.cat.Intents {
		out = append(out, in.ID)
	}
	return append(out, NoAction)
}

// fit fits the calibration and chooses the thresholds on rows: the lowest
// global one whose precision reaches the target, then, for the intents with
// enough candidates, their own thresholds chosen together so that the
// pooled precision reaches the target (jointThresholds).
func (c *Classifier) fit(rows []cvRow, opts CVOptions) (Calibration, thresholdSet) {
	var pts []relPoint
	perIntent := map[string]int{}
	for _, row := range rows {
		if row.r.raw.intent == "" || row.r.raw.hard {
			continue
		}
		o := c.outcomeOf(row, Calibration{}, flat(-1), opts.Reporter)
		pts = append(pts, relPoint{p: row.r.raw.conf, correct: o.correct})
		perIntent[row.r.raw.intent]++
	}
	cal := FitIsotonic(pts)
	scan := func(lo float64, only string) float64 {
		// The lowest threshold whose suggestions, all of them from the top
		// down, reach the target precision.
		best := 1.01
		for t := 0.99; t >= lo-1e-9; t -= 0.01 {
			acted, correct := 0, 0
			for _, row := range rows {
				if only != "" && row.r.raw.intent != only {
					continue
				}
				o := c.outcomeOf(row, cal, flat(t), opts.Reporter)
				if o.disposition != DispositionNone {
					acted++
					if o.correct {
						correct++
					}
				}
			}
			if acted >= minActed && float64(correct)/float64(acted) >= opts.TargetPrecision {
				best = round(t)
			}
		}
		return best
	}
	ths := thresholdSet{global: scan(0.05, ""), per: map[string]float64{}}
	var own []string
	for in, n := range perIntent {
		if n >= minIntentCandidates {
			own = append(own, in)
		}
	}
	sort.Strings(own)
	ths.per = c.jointThresholds(rows, cal, ths.global, own, opts)
	return cal, ths
}

// jointThresholds chooses the intents' own thresholds together, for the
// most right suggestions while the pooled precision of all of them (the
// figure a desk sees) reaches the target. One threshold per intent, each
// at the target on its own, leaves an intent whose top candidates hold a
// single mistake never acting although the pool has room for it. For a
// price λ of a wrong suggestion in right ones, every intent takes the
// threshold that maximises right − λ·wrong on its candidates; the
// smallest λ whose pooled precision reaches the target wins (a Lagrangian
// relaxation of "most right at that precision").
func (c *Classifier) jointThresholds(rows []cvRow, cal Calibration, global float64, own []string, opts CVOptions) map[string]float64 {
	type cand struct {
		p       float64
		correct bool
	}
	byIntent := map[string][]cand{}
	ownSet := map[string]bool{}
	for _, in := range own {
		ownSet[in] = true
	}
	// Intents without a threshold of their own act at the global one; their
	// suggestions count in the pool as they are.
	fixedActed, fixedCorrect := 0, 0
	for _, row := range rows {
		if row.r.raw.intent == "" || row.r.raw.hard {
			continue
		}
		o := c.outcomeOf(row, cal, flat(-1), opts.Reporter)
		if ownSet[row.r.raw.intent] {
			byIntent[row.r.raw.intent] = append(byIntent[row.r.raw.intent], cand{o.p, o.correct})
			continue
		}
		if o.p >= global {
			fixedActed++
			if o.correct {
				fixedCorrect++
			}
		}
	}
	// Each intent's choices: act on its top n candidates, n = 0..len,
	// cutting only between distinct confidences.
	type choice struct {
		threshold      float64
		acted, correct int
	}
	choices := map[string][]choice{}
	for in, cs := range byIntent {
		sort.Slice(cs, func(i, j int) bool { return cs[i].p > cs[j].p })
		ch := []choice{{threshold: 1.01}}
		acted, correct := 0, 0
		for i, k := range cs {
			acted++
			if k.correct {
				correct++
			}
			if i+1 < len(cs) && cs[i+1].p == k.p {
				continue
			}
			ch = append(ch, choice{threshold: k.p, acted: acted, correct: correct})
		}
		choices[in] = ch
	}
	best := map[string]float64{}
	for _, in := range own {
		best[in] = 1.01
	}
	bestCorrect := -1
	for lambda := 200.0; lambda >= 0.5; lambda /= 1.1 {
		picked := map[string]float64{}
		acted, correct := fixedActed, fixedCorrect
		for _, in := range own {
			pick, gain := choice{threshold: 1.01}, 0.0
			for _, ch := range choices[in] {
				// Fewer than minActed suggestions are no evidence either way.
				if ch.acted > 0 && ch.acted < minActed {
					continue
				}
				if g := float64(ch.correct) - lambda*float64(ch.acted-ch.correct); g > gain {
					pick, gain = ch, g
				}
			}
			picked[in] = pick.threshold
			acted += pick.acted
			correct += pick.correct
		}
		if acted == 0 || float64(correct)/float64(acted) < opts.TargetPrecision {
			continue
		}
		if correct > bestCorrect {
			bestCorrect, best = correct, picked
		}
	}
	// Not rounded: a threshold is a candidate's own confidence, and rounding
	// would drop that candidate or admit unjudged ones below it.
	return best
}

// minActed is the fewest suggestions a threshold is judged on.
const minActed = 5

// minIntentCandidates is how many candidates an intent needs in the
// training folds for a threshold of its own.
const minIntentCandidates = 15

type relPoint struct {
	p       float64
	correct bool
}

// reliability bins confidences into tenths: mean confidence vs accuracy.
func reliability(pts []relPoint) ([]CalibrationBin, float64) {
	var bins []CalibrationBin
	ece := 0.0
	for i := 0; i < 10; i++ {
		lo, hi := float64(i)/10, float64(i+1)/10
		b := CalibrationBin{Lo: lo, Hi: hi}
		var conf, acc float64
		for _, p := range pts {
			if p.p >= lo && (p.p < hi || (i == 9 && p.p <= 1)) {
				b.N++
				conf += p.p
				if p.correct {
					acc++
				}
			}
		}
		if b.N > 0 {
			b.MeanConf, b.Acc = conf/float64(b.N), acc/float64(b.N)
			ece += float64(b.N) / float64(len(pts)) * math.Abs(b.MeanConf-b.Acc)
		}
		bins = append(bins, b)
	}
	return bins, ece
}

// Print writes the cross-validated report.
func (r *CVReport) Print(w io.Writer, showErrors bool) error {
	if r.TestRows > 0 {
		fmt.Fprintf(w, "training rows: %d   test rows: %d   (every figure is over the test set; calibration and threshold fitted on the training rows)\n", r.Rows, r.TestRows)
		if r.Learn {
			fmt.Fprintln(w, "learning: the classifier learned every training row as a recorded decision; thresholds from a k-fold of the training rows")
		}
	} else {
		fmt.Fprintf(w, "rows: %d   folds: %d   (every figure is over held-out folds; calibration and threshold fitted on the training folds)\n", r.Rows, r.Folds)
		if r.Learn {
			fmt.Fprintln(w, "learning: each fold's classifier learned its training folds as recorded decisions; thresholds from an inner k-fold of the training folds")
		}
	}
	var ths []string
	for _, t := range r.Thresholds {
		ths = append(ths, fmt.Sprintf("%.2f", t))
	}
	fmt.Fprintf(w, "thresholds chosen per fold (calibrated confidence): %s\n", strings.Join(ths, " "))
	for f, per := range r.IntentThresholds {
		if len(per) > 0 {
			fmt.Fprintf(w, "  fold %d per intent: %s\n", f+1, fmtThresholds(per))
		}
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "intent\tsupport\tacted\tapproval\tneeds_input\tcorrect\tprecision\trecall\t")
	for _, cl := range r.Classes {
		m := r.PerClass[cl]
		if cl == NoAction {
			fmt.Fprintf(tw, "%s\t%d\t-\t-\t-\t%d\t-\t%.3f\t\n", cl, m.Support, m.Correct, m.Recall)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%d\t%.3f\t%.3f\t\n", cl, m.Support, m.Acted, m.Approval, m.NeedsInput, m.Correct, m.Precision, m.Recall)
	}
	tw.Flush()
	fmt.Fprintf(w, "\naction precision: %.3f (%d of %d given an intent had the right runbook)\n", r.ActionPrecision, r.Correct, r.Acted)
	fmt.Fprintf(w, "  right runbook and account: %.3f (%d of %d; right runbook, wrong account: %d)\n", r.AccountPrecision, r.Correct-r.WrongTarget, r.Acted, r.WrongTarget)
	fmt.Fprintf(w, "coverage: %.3f (%d of %d action tickets got the right intent)\n", r.Coverage, r.Correct, r.ActionRows)
	fmt.Fprintf(w, "  sent for approval: %d, right runbook: %d, right account too: %d; needs_input: %d, right runbook: %d\n",
		r.Approval, r.ApprovalCorrect, r.ApprovalCorrect-r.WrongTarget, r.NeedsInput, r.NeedsInputCorrect)
	fmt.Fprintf(w, "no_action recall: %.3f\n", r.NoActionRecall)
	fmt.Fprintf(w, "no_action by reason: %s\n", countList(r.Reasons, "none"))

	fmt.Fprintln(w, "\nconfusion matrix (rows: labelled, columns: given)")
	printConfusion(tw, r.Classes, r.Confusion)

	fmt.Fprintln(w, "\nreliability of the calibrated confidence (held-out candidates, above or below the threshold)")
	fmt.Fprintln(tw, "confidence\tn\tmean confidence\taccuracy\t")
	for _, b := range r.Reliability {
		if b.N == 0 {
			continue
		}
		fmt.Fprintf(tw, "[%.1f, %.1f)\t%d\t%.3f\t%.3f\t\n", b.Lo, b.Hi, b.N, b.MeanConf, b.Acc)
	}
	tw.Flush()
	fmt.Fprintf(w, "expected calibration error: %.3f\n", r.ECE)

	fmt.Fprintln(w, "\nprecision-coverage curve (one threshold for every fold)")
	fmt.Fprintln(tw, "threshold\tacted\tprecision\tcoverage\tno_action recall\t")
	for _, p := range r.Curve {
		fmt.Fprintf(tw, "%.2f\t%d\t%.3f\t%.3f\t%.3f\t\n", p.Threshold, p.Acted, p.Precision, p.Coverage, p.NoActionRecall)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nfitted on every row (for the catalog; in-sample): threshold %.2f %s, calibration %s\n", r.FitThreshold, fmtThresholds(r.FitIntentThresholds), r.Fit)
	if showErrors && len(r.Errors) > 0 {
		fmt.Fprintf(w, "\nerrors (%d):\n", len(r.Errors))
		for _, m := range r.Errors {
			text := m.Text
			if len(text) > 100 {
				text = text[:100] + "…"
			}
			fmt.Fprintf(w, "  row %-6d want %-24s got %-36s %-15s %.2f  %s\n", m.Row, m.Want, m.Got, m.Reason, m.Confidence, text)
		}
	}
	return nil
}

func fmtThresholds(m map[string]float64) string {
	var parts []string
	for in, t := range m {
		parts = append(parts, fmt.Sprintf("%s=%.2f", in, t))
	}
	sort.Strings(parts)
	return strings.Join(parts, " ")
}

// learned returns a classifier that has recorded rows as the desk's
// decisions, as "switchyard classify learn" records a labelled set: each row
// its label's example (an action intent approved, or no_action).
func (c *Classifier) learned(ctx context.Context, rows []cvRow, reporter string) (*Classifier, error) {
	lc, err := New(Options{Catalog: c.cat, Directory: c.ext.dir, Neighbours: c.k, Logger: c.log})
	if err != nil {
		return nil, err
	}
	ds := make([]Decision, len(rows))
	for i, row := range rows {
		ds[i] = Decision{Ticket: row.l.Ticket(reporter), Intent: row.l.Intent, Approved: true}
	}
	// A row with no words to learn from is left out, as classify learn
	// leaves it out; it is still classified and counted.
	if _, err := lc.LearnLabelled(ctx, ds); err != nil {
		lc.Close()
		var de *DecisionError
		if errors.As(err, &de) {
			return nil, fmt.Errorf("learn %.40q: %w", rows[de.Index].l.Text, de.Err)
		}
		return nil, err
	}
	return lc, nil
}

// scoreLearned classifies test with a classifier that learned train.
func (c *Classifier) scoreLearned(ctx context.Context, train, test []cvRow, opts CVOptions) ([]cvRow, error) {
	lc, err := c.learned(ctx, train, opts.Reporter)
	if err != nil {
		return nil, err
	}
	defer lc.Close()
	out := make([]cvRow, len(test))
	for i, row := range test {
		r, err := lc.Classify(ctx, row.l.Ticket(opts.Reporter))
		if err != nil {
			return nil, fmt.Errorf("classify %.40q: %w", row.l.Text, err)
		}
		out[i] = cvRow{l: row.l, r: r, fold: row.fold}
	}
	return out, nil
}

// innerOutOfFold scores every training row with a classifier that learned
// the other training rows only (an inner k-fold).
func (c *Classifier) innerOutOfFold(ctx context.Context, train []cvRow, opts CVOptions) ([]cvRow, error) {
	k := opts.Folds - 1
	if k < 2 {
		k = 2
	}
	var out []cvRow
	for j := 0; j < k; j++ {
		var learn, score []cvRow
		for i, row := range train {
			if i%k == j {
				score = append(score, row)
			} else {
				learn = append(learn, row)
			}
		}
		scored, err := c.scoreLearned(ctx, learn, score, opts)
		if err != nil {
			return nil, err
		}
		out = append(out, scored...)
	}
	return out, nil
}
