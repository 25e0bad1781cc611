package classify

import (
	"strings"
	"unicode"

	porter "github.com/blevesearch/go-porterstemmer"
)

// maxTextRunes bounds how much of a ticket is read: long e-mail threads repeat
// themselves, and the first few thousand characters carry the request.
const maxTextRunes = 6000

// negPrefix marks a term inside a negation's scope ("not a password issue"
// yields neg_password), so it votes for something other than "password".
const negPrefix = "neg_"

// word is one token of the raw text, with whether punctuation ended a clause
// right after it.
type word struct {
	text   string
	breaks bool
}

// splitWords lower-cases text and splits it into words. Apostrophes inside
// words are dropped so that "can't" and "cant" are the same word.
func splitWords(text string) []word {
	var words []word
	var b strings.Builder
	n := 0
	flush := func(brk bool) {
		if b.Len() > 0 {
			words = append(words, word{text: b.String()})
			b.Reset()
		}
		if brk && len(words) > 0 {
			words[len(words)-1].breaks = true
		}
	}
	for _, r := range text {
		if n++; n > maxTextRunes {
			break
		}
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(unicode.ToLower(r))
		case r == '\'' || r == '’':
			// inside a word: drop it
		case r == '.' || r == ',' || r == ';' || r == ':' || r == '!' || r == '?' || r == '\n' || r == '(' || r == ')':
			flush(true)
		default:
			flush(false)
		}
	}
	flush(false)
	return words
}

var stopwords = toSet(`a an the to for of in on at by from with and or but if so as is are was were be been
being am do does did i im ive id me my mine we our us you your yours he him his she her it its they them their
this that these those there here please pls plz kindly hi hello hey dear thanks thank thx regards best cheers
can could would should will shall may might must just also again still some any all one get got have has had
need needs needed want wants would like help team ticket request re fw fwd hii ok okay sir madam today now`)

// negation cues open a scope over the next few content words.
var negators = toSet(`not no never dont doesnt didnt isnt arent wasnt werent without nothing neither nor wont shouldnt`)

// scopeEnders close a negation scope early ("not the printer but the password").
var scopeEnders = toSet(`but however instead rather though although actually just only`)

const negationScope = 3

func toSet(s string) map[string]bool {
	m := map[string]bool{}
	for _, f := range strings.Fields(s) {
		m[f] = true
	}
	return m
}

// synonyms fold helpdesk shorthand and common misspellings onto the words
// the examples use, before stemming.
var synonyms = map[string]string{
	"pw": "password", "pwd": "password", "passwd": "password", "passwort": "password", "pword": "password",
	"passcode": "password", "acct": "account", "lic": "licence", "license": "licence",
	"licenses": "licences", "licensed": "licenced", "2fa": "mfa", "2sv": "mfa", "totp": "mfa",
	"u": "you", "ur": "your", "pls": "please", "plz": "please", "asap": "urgent",
	"unlocking": "unlock", "onboarding": "onboard",
}

// stem returns the Porter stem of an ASCII word; other scripts pass through.
func stem(w string) string {
	for _, r := range w {
		if r > unicode.MaxASCII {
			return w
		}
	}
	if len(w) <= 3 {
		return w
	}
	return porter.StemString(w)
}

// tokenize turns text into the terms the classifier indexes and counts:
// lower-cased, stop words removed, stemmed, without negation marks.
func tokenize(text string) []string {
	var out []string
	for _, w := range splitWords(text) {
		if stopwords[w.text] || negators[w.text] {
			continue
		}
		t := w.text
		if syn, ok := synonyms[t]; ok {
			t = syn
		}
		out = append(out, stem(t))
	}
	return out
}

// analyze is tokenize with negation handling: a salient term (one that names
// an intent's subject, as decided by salient) inside a negation scope becomes
// neg_term. Only salient terms are marked, because "the code is not accepted"
// still describes an MFA problem while "not a password issue" denies one.
// fix, when not nil, corrects a stem (typos) before it is used.
func analyze(text string, fix func(string) string, salient func(string) bool) []string {
	var out []string
	scope := 0
	for _, w := range splitWords(text) {
		switch {
		case negators[w.text]:
			scope = negationScope
			// "no need to reset", "no longer": same scope.
		case scopeEnders[w.text]:
			scope = 0
		case stopwords[w.text]:
		default:
			t := w.text
			if syn, ok := synonyms[t]; ok {
				t = syn
			}
			t = stem(t)
			if fix != nil {
				t = fix(t)
			}
			if scope > 0 {
				scope--
				if salient != nil && salient(t) {
					t = negPrefix + t
				}
			}
			out = append(out, t)
		}
		if w.breaks {
			scope = 0
		}
	}
	return out
}

// normalizeText folds a ticket's text for de-duplication of decisions.
func normalizeText(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(s)), " ")
}
