package classify

import "strings"

// rule is an unmistakable phrase for an intent, matched on whole words.
type rule struct {
	intent string
	words  []string
}

func compileRules(c *Catalog) []rule {
	var rs []rule
	for _, in := range c.Intents {
		for _, p := range in.Phrases {
			var ws []string
			for _, w := range splitWords(p) {
				ws = append(ws, w.text)
			}
			if len(ws) > 0 {
				rs = append(rs, rule{intent: in.ID, words: ws})
			}
		}
	}
	return rs
}

// matchRules returns the intents whose phrases occur in the text outside a
// negation ("no need to reset my password" does not fire "reset my password").
func matchRules(rs []rule, text string) map[string]string {
	ws := splitWords(text)
	// negated[i]: word i is within negationScope words after a negator in
	// the same clause.
	negated := make([]bool, len(ws))
	scope := 0
	for i, w := range ws {
		switch {
		case negators[w.text]:
			scope = negationScope + 2 // stop words count here, so reach further
		case scopeEnders[w.text]:
			scope = 0
		case scope > 0:
			negated[i] = true
			scope--
		}
		if w.breaks {
			scope = 0
		}
	}
	hits := map[string]string{}
	for _, r := range rs {
		if _, done := hits[r.intent]; done {
			continue
		}
	scan:
		for i := 0; i+len(r.words) <= len(ws); i++ {
			for j, rw := range r.words {
				if ws[i+j].text != rw {
					continue scan
				}
			}
			if negated[i] {
				continue
			}
			hits[r.intent] = strings.Join(r.words, " ")
			break
		}
	}
	return hits
}
