package classify

import "math"

// bayes is a multinomial naive Bayes model over analysed terms: the second
// opinion next to the nearest-neighbour vote. It sees every term of every
// example, so it catches tickets whose wording is spread over many examples.
type bayes struct {
	docs       map[string]int            // class → examples
	termCounts map[string]map[string]int // class → term → count
	totals     map[string]int            // class → total terms
	vocab      map[string]bool
	n          int
}

func newBayes() *bayes {
	return &bayes{docs: map[string]int{}, termCounts: map[string]map[string]int{}, totals: map[string]int{}, vocab: map[string]bool{}}
}

func (b *bayes) add(class string, terms []string) {
	b.docs[class]++
	b.n++
	tc := b.termCounts[class]
	if tc == nil {
		tc = map[string]int{}
		b.termCounts[class] = tc
	}
	for _, t := range terms {
		tc[t]++
		b.totals[class]++
		b.vocab[t] = true
	}
}

// bayesAlpha is the additive smoothing; small because examples are short.
const bayesAlpha = 0.2

// posterior returns P(class | terms) for each class. Terms the model has never
// seen are ignored. The log-likelihood is divided by a temperature that grows
// with the number of known terms: naive Bayes treats words as independent and
// so grows over-confident on long texts; tempering keeps it a usable vote.
func (b *bayes) posterior(terms []string) map[string]float64 {
	out := make(map[string]float64, len(b.docs))
	if b.n == 0 {
		return out
	}
	known := terms[:0:0]
	for _, t := range terms {
		if b.vocab[t] {
			known = append(known, t)
		}
	}
	temp := 1 + math.Sqrt(float64(len(known)))
	v := float64(len(b.vocab))
	logp := make(map[string]float64, len(b.docs))
	maxLog := math.Inf(-1)
	for class, nd := range b.docs {
		lp := math.Log(float64(nd) / float64(b.n))
		denom := math.Log(float64(b.totals[class]) + bayesAlpha*v)
		tc := b.termCounts[class]
		ll := 0.0
		for _, t := range known {
			ll += math.Log(float64(tc[t])+bayesAlpha) - denom
		}
		lp += ll / temp
		logp[class] = lp
		maxLog = max(maxLog, lp)
	}
	sum := 0.0
	for class, lp := range logp {
		e := math.Exp(lp - maxLog)
		out[class] = e
		sum += e
	}
	for class := range out {
		out[class] /= sum
	}
	return out
}

// lift is how much more likely term is under class a than under class b,
// as a log ratio of the smoothed term probabilities.
func (b *bayes) lift(term, a, bc string) float64 {
	if !b.vocab[term] {
		return 0
	}
	v := float64(len(b.vocab))
	pa := (float64(b.termCounts[a][term]) + bayesAlpha) / (float64(b.totals[a]) + bayesAlpha*v)
	pb := (float64(b.termCounts[bc][term]) + bayesAlpha) / (float64(b.totals[bc]) + bayesAlpha*v)
	return math.Log(pa / pb)
}
