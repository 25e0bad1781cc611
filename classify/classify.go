// Package classify turns a ticket's text into a runbook intent with a
// calibrated confidence and the inputs the runbook needs, and says no_action
// whenever it is unsure: nothing downstream may act on a guess.
//
// The classification index is a bleve index (BM25) of labelled examples: the
// catalog's utterances plus every recorded approval or denial. A ticket's
// nearest neighbours vote; a naive Bayes model over the same examples and the
// catalog's unmistakable phrases vote too. The confidence is the share of the
// combined vote, a probability over the intents and no_action.
package classify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"sort"
	"strings"
	"sync"

	"switchyard"
)

// Dispositions.
const (
	PendingApproval = "pending_approval"
	DispositionNone = "no_action"
	// NeedsInput: the intent is recognised but an input the runbook needs
	// (the target account, a group, a licence) is not in the ticket; an
	// agent supplies it and sends the run on to approval.
	NeedsInput = "needs_input"
)

// Abstain reasons.
const (
	ReasonLowConfidence = "low_confidence"
	ReasonUnrecognized  = "unrecognized"
	ReasonMissingInput  = "missing_input"
)

// Ticket is what the classifier reads.
type Ticket struct {
	Summary       string `json:"summary"`
	Description   string `json:"description"`
	ReporterEmail string `json:"reporter_email,omitempty"`
}

func (t Ticket) text() string { return t.Summary + "\n" + t.Description }

// Result is a classification. When Disposition is no_action, Intent is
// no_action and Candidate names the intent that came closest, if any.
type Result struct {
	Intent      string   `json:"intent"`
	Runbook     string   `json:"runbook,omitempty"`
	Confidence  float64  `json:"confidence"`
	Disposition string   `json:"disposition"`
	Reason      string   `json:"reason,omitempty"`
	Candidate   string   `json:"candidate,omitempty"`
	Missing     []string `json:"missing,omitempty"`
	Inputs      []Input  `json:"inputs"`
	// Explanation says in words why the result abstains or waits, e.g.
	// `already resolved: "problem solved"` (empty when it does neither).
	Explanation string   `json:"explanation,omitempty"`
	Evidence    Evidence `json:"evidence"`

	// raw is the decision before the intent's threshold, for evaluation:
	// cross-validation picks its own thresholds and calibration.
	raw rawScore
}

// rawScore is a result before the threshold is applied.
type rawScore struct {
	// intent is the top class when it is an action intent ("" otherwise).
	intent string
	// conf is the uncalibrated vote share of intent.
	conf float64
	// hard is set when the result abstains whatever the threshold (two
	// intents' phrases, a close second, or a discourse reason).
	hard bool
	// inputs and missing are what the intent's inputs would be.
	inputs  []Input
	missing []string
}

// Evidence explains a result to the approver.
type Evidence struct {
	// Neighbours and Bayes are each signal's probability for the top class.
	Neighbours float64 `json:"neighbours"`
	Bayes      float64 `json:"bayes"`
	// Rule is the unmistakable phrase that matched, if any.
	Rule string `json:"rule,omitempty"`
	// Words are the ticket's words that decided the intent: the matched
	// phrase, then the words most typical of the intent's examples against
	// no_action's, strongest first.
	Words []string `json:"words,omitempty"`
	// Top are the best classes with their combined confidence.
	Top []Score `json:"top"`
}

// Score is one class's combined confidence.
type Score struct {
	Intent     string  `json:"intent"`
	Confidence float64 `json:"confidence"`
}

// Options configure a Classifier.
type Options struct {
	// Catalog is the runbook catalog; nil means DefaultCatalog.
	Catalog *Catalog
	// Path is the directory of an on-disk example index, so recorded
	// decisions survive restarts. Empty means in memory.
	Path string
	// Directory resolves names to synced users and groups; nil matches none.
	Directory Directory
	// Neighbours is k for the nearest-neighbour vote (default 25).
	Neighbours int
	Logger     *slog.Logger
}

// Weights of the signals in the combined vote. A matched phrase takes its
// share from the other two; without one they share the whole vote.
const (
	weightNeighbours = 0.55
	weightBayes      = 0.30
	weightRule       = 0.15
	// weightHeadRule is the phrase's share when it is in the first
	// headWords words (the summary, in most tickets).
	weightHeadRule = 0.30
	headWords      = 8
)

// maxQueryTerms bounds the BM25 query of long e-mail threads.
const maxQueryTerms = 80

// Classifier classifies tickets. It is safe for concurrent use.
type Classifier struct {
	cat     *Catalog
	intents map[string]Intent
	rules   []rule
	salient map[string]bool
	// topic holds each intent's own subject terms (its id, name and
	// phrases): a ticket none of whose words is one of them is not about
	// the intent, however its other words vote.
	topic map[string]map[string]bool
	idx   *exampleIndex
	ext   extractor
	k     int
	log   *slog.Logger

	mu    sync.RWMutex
	class map[string]string // example id → class
	// decided marks the examples that are recorded decisions.
	decided map[string]bool
	nb      *bayes
	spell   *speller
}

// analyzerVersion changes when analysis changes, forcing a re-index.
const analyzerVersion = "6"

// New opens the example index (creating it on first use), loads the catalog's
// examples into it and rebuilds the in-memory models from everything stored.
func New(opts Options) (*Classifier, error) {
	cat := opts.Catalog
	if cat == nil {
		var err error
		if cat, err = DefaultCatalog(); err != nil {
			return nil, err
		}
	} else if err := cat.Validate(); err != nil {
		return nil, fmt.Errorf("catalog: %w", err)
	}
	c := &Classifier{
		cat:     cat,
		intents: map[string]Intent{},
		rules:   compileRules(cat),
		salient: salientTerms(cat),
		topic:   topicTerms(cat),
		ext:     extractor{dir: opts.Directory},
		k:       opts.Neighbours,
		log:     opts.Logger,
	}
	if c.k <= 0 {
		c.k = 25
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	for _, in := range cat.Intents {
		c.intents[in.ID] = in
	}
	idx, err := openExampleIndex(opts.Path)
	if err != nil {
		return nil, err
	}
	c.idx = idx
	if err := c.load(context.Background()); err != nil {
		idx.close()
		return nil, err
	}
	return c, nil
}

// Close closes the example index.
func (c *Classifier) Close() error {
	if err := c.idx.close(); err != nil {
		return fmt.Errorf("close example index: %w", err)
	}
	return nil
}

// Catalog returns the catalog in use.
func (c *Classifier) Catalog() *Catalog { return c.cat }

func topicTerms(cat *Catalog) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, in := range cat.Intents {
		s := map[string]bool{}
		for _, text := range append([]string{strings.ReplaceAll(in.ID, "_", " "), in.Name}, in.Phrases...) {
			for _, t := range tokenize(text) {
				s[t] = true
			}
		}
		out[in.ID] = s
	}
	return out
}

// decisionNear reports whether one of the nearest neighbours is a recorded
// approval of intent: what approvers taught is on topic even in words the
// catalog never used.
func (c *Classifier) decisionNear(hits []hit, intent string) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for i, h := range hits {
		if i == 3 {
			break
		}
		if c.decided[h.id] && c.class[h.id] == intent {
			return true
		}
	}
	return false
}

// onTopic reports whether terms name intent's subject.
func (c *Classifier) onTopic(intent string, terms []string) bool {
	s := c.topic[intent]
	for _, t := range terms {
		if s[t] {
			return true
		}
	}
	return false
}

func salientTerms(cat *Catalog) map[string]bool {
	s := map[string]bool{}
	add := func(text string) {
		for _, t := range tokenize(text) {
			s[t] = true
		}
	}
	for _, slot := range []string{slotPerson, slotGroup, slotEmail, slotSKU} {
		s[slot] = true
	}
	for _, in := range cat.Intents {
		add(strings.ReplaceAll(in.ID, "_", " "))
		add(in.Name)
		for _, p := range in.Phrases {
			add(p)
		}
	}
	return s
}

func (c *Classifier) isSalient(t string) bool { return c.salient[t] }

func exampleID(prefix, class, text string) string {
	h := sha256.Sum256([]byte(class + "\x00" + normalizeText(text)))
	return prefix + hex.EncodeToString(h[:12])
}

// load syncs the catalog's examples into the index and rebuilds the models.
// Stored decisions are re-analysed when the catalog or analysis changed,
// since the negation and spelling of their terms depend on both.
func (c *Classifier) load(ctx context.Context) error {
	stored, err := c.idx.all(ctx)
	if err != nil {
		return err
	}
	fp := c.fingerprint()
	old, err := c.idx.getInternal("fingerprint")
	if err != nil {
		return fmt.Errorf("read index fingerprint: %w", err)
	}
	changed := old != fp

	c.resetModels()
	var catalog []example
	want := map[string]bool{}
	addCat := func(class, text string) {
		e := example{ID: exampleID("c:", class, text), Class: class, Source: sourceCatalog, Text: text}
		if want[e.ID] {
			return
		}
		want[e.ID] = true
		e.Terms = strings.Join(analyze(maskStatic(text), nil, c.isSalient), " ")
		catalog = append(catalog, e)
	}
	for _, in := range c.cat.Intents {
		for _, u := range in.Examples {
			addCat(in.ID, u)
		}
	}
	for _, u := range c.cat.NoAction.Examples {
		addCat(NoAction, u)
	}
	// Catalog examples first: they define the vocabulary typos are fixed to.
	for _, e := range catalog {
		c.addModel(e)
	}

	var stale []string
	var decisions []example
	have := map[string]bool{}
	for _, e := range stored {
		have[e.ID] = true
		switch {
		case e.Source == sourceCatalog && !want[e.ID]:
			stale = append(stale, e.ID)
		case e.Source == sourceDecision:
			if _, ok := c.intents[e.Class]; !ok && e.Class != NoAction {
				// The catalog lost this intent: the decision cannot vote.
				c.log.Warn("classify: decision for an intent no longer in the catalog", "intent", e.Class, "id", e.ID)
				continue
			}
			if changed {
				ents, err := c.ext.extract(ctx, Ticket{Summary: e.Text})
				if err != nil {
					return fmt.Errorf("re-analyse decision %s: %w", e.ID, err)
				}
				e.Terms = strings.Join(analyze(ents.mask(focus(e.Text)), c.fixer(e.Text), c.isSalient), " ")
			}
			decisions = append(decisions, e)
		}
	}
	var write []example
	for _, e := range catalog {
		if changed || !have[e.ID] {
			write = append(write, e)
		}
	}
	if changed {
		write = append(write, decisions...)
	}
	if len(stale) > 0 {
		if err := c.idx.delete(stale); err != nil {
			return fmt.Errorf("delete stale examples: %w", err)
		}
	}
	if len(write) > 0 {
		if err := c.idx.put(write); err != nil {
			return err
		}
	}
	if changed {
		if err := c.idx.setInternal("fingerprint", fp); err != nil {
			return fmt.Errorf("write index fingerprint: %w", err)
		}
	}
	for _, e := range decisions {
		c.addModel(e)
	}
	c.log.Debug("classify: examples loaded", "catalog", len(catalog), "decisions", len(decisions), "reindexed", changed)
	return nil
}

func (c *Classifier) fingerprint() string {
	h := sha256.New()
	fmt.Fprintf(h, "v%s\n", analyzerVersion)
	for _, in := range c.cat.Intents {
		fmt.Fprintf(h, "%s\x00%q\x00", in.ID, in.Phrases)
		for _, u := range in.Examples {
			fmt.Fprintf(h, "%s\x00", u)
		}
	}
	for _, u := range c.cat.NoAction.Examples {
		fmt.Fprintf(h, "%s\x00", u)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (c *Classifier) resetModels() {
	c.class = map[string]string{}
	c.decided = map[string]bool{}
	c.nb = newBayes()
	c.spell = newSpeller()
}

// addModel adds an example to the in-memory models. Callers hold mu or own c.
func (c *Classifier) addModel(e example) {
	if _, dup := c.class[e.ID]; dup {
		return
	}
	terms := strings.Fields(e.Terms)
	c.class[e.ID] = e.Class
	if e.Source == sourceDecision {
		c.decided[e.ID] = true
	}
	for _, t := range unique(terms) {
		c.spell.add(t)
	}
	c.nb.add(e.Class, terms)
}

func unique(terms []string) []string {
	seen := make(map[string]bool, len(terms))
	out := make([]string, 0, len(terms))
	for _, t := range terms {
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out
}

// Classify classifies one ticket.
func (c *Classifier) Classify(ctx context.Context, t Ticket) (Result, error) {
	text := t.text()
	if strings.TrimSpace(text) == "" {
		return Result{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "summary", "ticket has no text")
	}
	ents, err := c.ext.extract(ctx, t)
	if err != nil {
		return Result{}, fmt.Errorf("extract inputs: %w", err)
	}
	// The request is at the top of a ticket; a forwarded thread's legal
	// footer and quoted history below only add noise to the vote.
	text = focus(text)
	c.mu.RLock()
	terms := analyze(ents.mask(text), c.fixer(text), c.isSalient)
	q := unique(terms)
	if len(q) > maxQueryTerms {
		q = q[:maxQueryTerms]
	}
	c.mu.RUnlock()

	hits, err := c.idx.neighbours(ctx, q, c.k)
	if err != nil {
		return Result{}, err
	}

	c.mu.RLock()
	knn := c.vote(hits)
	nb := c.nb.posterior(terms)
	c.mu.RUnlock()
	ruleHits := matchRules(c.rules, text)

	// Combine the three signals into one distribution.
	combined := map[string]float64{}
	wk, wb := weightNeighbours, weightBayes
	wr := weightRule
	// A phrase in the summary says what the ticket is about; one deep in a
	// quoted thread is weaker evidence.
	headHits := matchRules(c.rules, firstWords(text, headWords))
	if len(ruleHits) == 1 && len(headHits) == 1 {
		for in := range ruleHits {
			if _, ok := headHits[in]; ok {
				wr = weightHeadRule
			}
		}
	}
	if len(ruleHits) == 0 {
		wk, wb = wk/(wk+wb), wb/(wk+wb)
	} else {
		wk, wb = wk*(1-wr)/(wk+wb), wb*(1-wr)/(wk+wb)
	}
	for cl, p := range knn {
		combined[cl] += wk * p
	}
	for cl, p := range nb {
		combined[cl] += wb * p
	}
	for in := range ruleHits {
		combined[in] += wr / float64(len(ruleHits))
	}
	ranked := make([]Score, 0, len(combined))
	for cl, p := range combined {
		ranked = append(ranked, Score{Intent: cl, Confidence: round(p)})
	}
	sort.Slice(ranked, func(i, j int) bool {
		if ranked[i].Confidence != ranked[j].Confidence {
			return ranked[i].Confidence > ranked[j].Confidence
		}
		return ranked[i].Intent < ranked[j].Intent
	})
	if len(ranked) == 0 {
		ranked = []Score{{Intent: NoAction, Confidence: 1}}
	}
	top := ranked[0]
	conf := top.Confidence
	if top.Intent != NoAction {
		conf = round(c.cat.Calibration.Apply(conf))
	}
	res := Result{
		Intent:      NoAction,
		Confidence:  conf,
		Disposition: DispositionNone,
		Inputs:      []Input{},
		Evidence: Evidence{
			Neighbours: round(knn[top.Intent]),
			Bayes:      round(nb[top.Intent]),
			Rule:       ruleHits[top.Intent],
			Top:        ranked[:min(3, len(ranked))],
		},
	}

	// The best action intent, which may rank below no_action.
	best := Score{}
	second := 0.0
	for _, s := range ranked {
		if s.Intent == NoAction {
			continue
		}
		if best.Intent == "" {
			best = s
		} else {
			second = s.Confidence
			break
		}
	}
	if top.Intent == NoAction {
		res.Reason = ReasonUnrecognized
		if best.Intent != "" && best.Confidence >= 0.2 {
			res.Candidate = best.Intent
			// Say why when the discourse explains it better than "unrecognized".
			if reason, why := discourse(text, best.Intent); reason != "" {
				res.Reason, res.Explanation = reason, why
			}
		}
		return res, nil
	}
	in := c.intents[top.Intent]
	res.Candidate = in.ID
	inputs, missing := ents.inputsFor(in)
	res.raw = rawScore{intent: in.ID, conf: top.Confidence, inputs: inputs, missing: missing}
	c.mu.RLock()
	res.Evidence.Words = c.decidingWords(text, terms, in.ID, ruleHits[in.ID])
	c.mu.RUnlock()
	// Voted for by words that are not the intent's subject ("monday",
	// "please add"): neighbours agree on style, not on what is asked.
	if !c.onTopic(in.ID, terms) && !c.decisionNear(hits, in.ID) {
		res.raw.hard = true
		res.Reason = ReasonLowConfidence
		res.Explanation = "no word of the ticket names the subject of " + in.ID
		return res, nil
	}
	// Two intents close together, or both intents' unmistakable phrases:
	// the ticket asks for two runbooks, and acting on one of them would be
	// a guess at what matters. (No_action's share is the threshold's job.)
	if top.Confidence-second < c.cat.MinMargin || len(ruleHits) > 1 {
		res.raw.hard = true
		res.Reason = ReasonLowConfidence
		return res, nil
	}
	// On the topic, but resolved, a notice, a question, an investigation
	// or another system: nothing to run, whatever the confidence.
	if reason, why := discourse(text, in.ID); reason != "" {
		res.raw.hard = true
		res.Reason, res.Explanation = reason, why
		return res, nil
	}
	if res.Confidence < in.Threshold {
		res.Reason = ReasonLowConfidence
		return res, nil
	}
	res.Inputs = append(res.Inputs, inputs...)
	res.Intent = in.ID
	res.Runbook = in.Runbook
	res.Candidate = ""
	if len(missing) > 0 {
		// Recognised, but the runbook cannot run without an input: an agent
		// supplies it (needs_input) rather than the ticket vanishing.
		res.Disposition = NeedsInput
		res.Reason = ReasonMissingInput
		res.Missing = missing
		res.Explanation = "needs " + strings.Join(missing, ", ")
		if contains(missing, InputTargetUser) && ents.someoneElse != "" {
			res.Explanation += fmt.Sprintf(`: the ticket is for someone else (%q) and names no account`, ents.someoneElse)
		}
		return res, nil
	}
	res.Disposition = PendingApproval
	return res, nil
}

// vote turns neighbours into a distribution over classes: each neighbour
// votes for its class with weight (score/best score)², so near-ties share the
// vote and distant neighbours barely count. Denied decisions are no_action
// examples and vote against the intent that was refused.
func (c *Classifier) vote(hits []hit) map[string]float64 {
	out := map[string]float64{}
	if len(hits) == 0 || hits[0].score <= 0 {
		out[NoAction] = 1
		return out
	}
	total := 0.0
	for _, h := range hits {
		cl, ok := c.class[h.id]
		if !ok {
			continue // written after this process loaded; not in the models
		}
		r := h.score / hits[0].score
		w := r * r
		out[cl] += w
		total += w
	}
	if total == 0 {
		return map[string]float64{NoAction: 1}
	}
	for cl := range out {
		out[cl] /= total
	}
	return out
}

// decidingWords names the ticket's words that decided intent: the matched
// phrase first, then up to five words whose naive Bayes weight for the
// intent most exceeds their weight for no_action. Callers hold mu.
func (c *Classifier) decidingWords(text string, terms []string, intent, phrase string) []string {
	var out []string
	if phrase != "" {
		out = append(out, phrase)
	}
	type tw struct {
		term string
		w    float64
	}
	var ws []tw
	seen := map[string]bool{}
	for _, t := range terms {
		if seen[t] || strings.HasPrefix(t, negPrefix) || strings.HasPrefix(t, "zz") {
			continue
		}
		seen[t] = true
		if w := c.nb.lift(t, intent, NoAction); w > 0.5 {
			ws = append(ws, tw{t, w})
		}
	}
	sort.SliceStable(ws, func(i, j int) bool { return ws[i].w > ws[j].w })
	surface := surfaceWords(text)
	for _, x := range ws {
		if len(out) >= 6 {
			break
		}
		w := surface[x.term]
		if w == "" {
			w = x.term
		}
		if phrase != "" && strings.Contains(" "+phrase+" ", " "+w+" ") {
			continue
		}
		out = append(out, w)
	}
	return out
}

// surfaceWords maps each stem to the first word of text that has it, so
// evidence shows "locked", not "lock".
func surfaceWords(text string) map[string]string {
	out := map[string]string{}
	for _, w := range splitWords(strings.ToLower(text)) {
		t := w.text
		if syn, ok := synonyms[t]; ok {
			t = syn
		}
		t = stem(t)
		if _, ok := out[t]; !ok {
			out[t] = w.text
		}
	}
	return out
}

// fixer is the typo corrector for text, or nil when the text is not
// English: "reste" in a French ticket is a word, not a typo of "reset".
// Callers hold mu.
func (c *Classifier) fixer(text string) func(string) string {
	for _, r := range text {
		if r >= 0xC0 && r <= 0x24F && r != 0xD7 && r != 0xF7 {
			return nil
		}
	}
	return c.spell.correct
}

func round(f float64) float64 { return math.Round(f*1000) / 1000 }

// RecordDecision learns from a human decision on a suggestion: an approval
// makes the ticket a positive example of intent, a denial makes it a no_action
// example. On an on-disk index the decision persists before this returns.
func (c *Classifier) RecordDecision(ctx context.Context, t Ticket, intent string, approved bool) error {
	return c.RecordDecisions(ctx, []Decision{{Ticket: t, Intent: intent, Approved: approved}})
}

// Decision is one human decision to learn from (see RecordDecision).
type Decision struct {
	Ticket   Ticket
	Intent   string
	Approved bool
}

// RecordDecisions learns several decisions together: every one is read
// against the same vocabulary (as a restart reads them) and written in
// index batches of 1,000 rather than one per row. A bad decision fails them
// all before anything is written; the error says which (its index in ds,
// from 0). A write that fails part way leaves the batches already written
// on disk: they are learned at the next start, and recording the same
// decisions again adds nothing (an example is keyed by text and class).
func (c *Classifier) RecordDecisions(ctx context.Context, ds []Decision) error {
	es := make([]example, 0, len(ds))
	for i, d := range ds {
		e, err := c.decisionExample(ctx, d)
		if err != nil {
			if len(ds) > 1 {
				return &DecisionError{Index: i, Err: err}
			}
			return err
		}
		es = append(es, e)
	}
	return c.recordExamples(ctx, es)
}

// recordExamples writes decision examples to the index, then to the models.
func (c *Classifier) recordExamples(ctx context.Context, es []example) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(es) == 0 {
		return nil
	}
	if err := c.idx.put(es); err != nil {
		return fmt.Errorf("record decision: %w", err)
	}
	c.mu.Lock()
	for _, e := range es {
		c.addModel(e)
	}
	c.mu.Unlock()
	return nil
}

// LearnLabelled records ds as RecordDecisions does, leaving out the tickets
// with no text or no words to learn from: it returns their indexes in ds,
// and an error (a *DecisionError for a refused decision) for anything else.
func (c *Classifier) LearnLabelled(ctx context.Context, ds []Decision) (skipped []int, err error) {
	es := make([]example, 0, len(ds))
	for i, d := range ds {
		e, err := c.decisionExample(ctx, d)
		if nothingToLearn(err) {
			skipped = append(skipped, i)
			continue
		}
		if err != nil {
			return skipped, &DecisionError{Index: i, Err: err}
		}
		es = append(es, e)
	}
	return skipped, c.recordExamples(ctx, es)
}

// nothingToLearn reports decisionExample's refusal of the ticket's text
// (empty, or no words), as against its intent.
func nothingToLearn(err error) bool {
	var e *switchyard.Error
	return errors.As(err, &e) && errors.Is(err, switchyard.ErrInvalid) && e.Field == "summary"
}

// DecisionError is a refused decision of RecordDecisions.
type DecisionError struct {
	Index int
	Err   error
}

func (e *DecisionError) Error() string { return fmt.Sprintf("decision %d: %v", e.Index, e.Err) }
func (e *DecisionError) Unwrap() error { return e.Err }

func (c *Classifier) decisionExample(ctx context.Context, d Decision) (example, error) {
	t, intent, approved := d.Ticket, d.Intent, d.Approved
	text := t.text()
	if strings.TrimSpace(text) == "" {
		return example{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "summary", "ticket has no text")
	}
	if _, ok := c.intents[intent]; !ok && intent != NoAction {
		return example{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "intent", "unknown intent %q", intent)
	}
	class := intent
	if !approved {
		if intent == NoAction {
			return example{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "intent", "cannot deny %q: name the intent that was refused", NoAction)
		}
		class = NoAction
	}
	ents, err := c.ext.extract(ctx, t)
	if err != nil {
		return example{}, fmt.Errorf("extract inputs: %w", err)
	}
	c.mu.RLock()
	// Learned as classified: the top of the ticket, typos fixed only in English.
	terms := analyze(ents.mask(focus(text)), c.fixer(text), c.isSalient)
	c.mu.RUnlock()
	if len(terms) == 0 {
		return example{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "summary", "ticket has no words to learn from")
	}
	return example{
		ID:       exampleID("d:", class, text),
		Class:    class,
		Source:   sourceDecision,
		Decided:  intent,
		Approved: approved,
		Text:     text,
		Terms:    strings.Join(terms, " "),
	}, nil
}

// Examples reports how many labelled examples the classifier votes with.
func (c *Classifier) Examples() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.class)
}
