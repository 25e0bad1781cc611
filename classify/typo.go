package classify

// speller corrects a term that the examples never use to one they do, when the
// two are one deletion apart on either side (SymSpell's deletion neighbourhood,
// edit distance 1 plus transpositions): "passwrd" → "password", "acount" →
// "account". It works on stems, the form the examples are stored in.
type speller struct {
	vocab   map[string]int    // term → document frequency
	deletes map[string]string // one-deletion variant → most frequent vocab term
}

func newSpeller() *speller {
	return &speller{vocab: map[string]int{}, deletes: map[string]string{}}
}

// minTypoLen keeps short terms (e3, vpn, hr) out of correction, where one edit
// changes the meaning.
const minTypoLen = 5

func (s *speller) add(term string) {
	s.vocab[term]++
	if len(term) < minTypoLen || len(term) > 20 {
		return
	}
	for i := range len(term) {
		d := term[:i] + term[i+1:]
		if cur, ok := s.deletes[d]; !ok || s.vocab[term] > s.vocab[cur] {
			s.deletes[d] = term
		}
	}
}

// correct returns the vocabulary term closest to t, or t itself.
func (s *speller) correct(t string) string {
	if _, ok := s.vocab[t]; ok || len(t) < minTypoLen-1 || len(t) > 20 {
		return t
	}
	// t is the vocab term with one letter dropped ("pasword").
	if v, ok := s.deletes[t]; ok {
		return v
	}
	// t has one extra letter, or one letter changed/transposed.
	best, bestN := t, 0
	for i := range len(t) {
		d := t[:i] + t[i+1:]
		if n, ok := s.vocab[d]; ok && len(d) >= minTypoLen && n > bestN {
			best, bestN = d, n
		}
		if v, ok := s.deletes[d]; ok && s.vocab[v] > bestN {
			best, bestN = v, s.vocab[v]
		}
	}
	return best
}
