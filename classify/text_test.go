package classify

import (
	"slices"
	"strings"
	"testing"
)

func TestAnalyzeNegation(t *testing.T) {
	salient := func(s string) bool { return s == "password" || s == "reset" || s == "group" || s == "zzsku" }
	tests := []struct {
		text       string
		has, lacks []string
	}{
		{"This is not a password issue", []string{"neg_password"}, []string{"password"}},
		{"No need to reset my password", []string{"neg_reset", "neg_password"}, []string{"reset"}},
		{"Please reset my password", []string{"reset", "password"}, []string{"neg_password"}},
		// the scope ends at punctuation and at "but"
		{"Not the printer. Reset my password", []string{"reset", "password"}, []string{"neg_password"}},
		{"It's not the printer but the password", []string{"password"}, []string{"neg_password"}},
		// non-salient words in scope stay as they are: the code is still an MFA code
		{"the code is not accepted", []string{"code", "accept"}, []string{"neg_accept"}},
		{"I don't want a zzsku licence", []string{"neg_zzsku"}, []string{"zzsku"}},
		// "can't" is a problem description, not a negation of the subject
		{"I can't reset my password", []string{"reset", "password"}, []string{"neg_reset"}},
	}
	for _, tt := range tests {
		got := analyze(tt.text, nil, salient)
		for _, h := range tt.has {
			if !slices.Contains(got, h) {
				t.Errorf("analyze(%q) = %v, lacks %q", tt.text, got, h)
			}
		}
		for _, l := range tt.lacks {
			if slices.Contains(got, l) {
				t.Errorf("analyze(%q) = %v, should not contain %q", tt.text, got, l)
			}
		}
	}
}

func TestSynonymsAndStopwords(t *testing.T) {
	got := strings.Join(tokenize("Hi, pls reset my pwd and unlock my acct"), " ")
	if got != "reset password unlock account" {
		t.Errorf("tokenize = %q", got)
	}
}

func TestSpeller(t *testing.T) {
	s := newSpeller()
	for _, w := range []string{"password", "account", "licenc", "unlock", "mfa"} {
		s.add(w)
	}
	tests := map[string]string{
		"passwrd":  "password", // deletion
		"passowrd": "password", // transposition
		"passwird": "password", // substitution
		"accountt": "account",  // insertion
		"acount":   "account",
		"printer":  "printer", // unknown and far: unchanged
		"mfb":      "mfb",     // too short to correct
		"password": "password",
	}
	for in, want := range tests {
		if got := s.correct(in); got != want {
			t.Errorf("correct(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestRulesRespectNegation(t *testing.T) {
	cat, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	rs := compileRules(cat)
	tests := []struct {
		text, want string
	}{
		{"Please reset my password, thanks", "password_reset"},
		{"No need to reset my password, I remembered it", ""},
		{"I don't want you to reset my password", ""},
		{"My account is locked since this morning", "account_unlock"},
		{"The printer is broken", ""},
	}
	for _, tt := range tests {
		hits := matchRules(rs, tt.text)
		if tt.want == "" {
			if len(hits) != 0 {
				t.Errorf("matchRules(%q) = %v, want none", tt.text, hits)
			}
			continue
		}
		if _, ok := hits[tt.want]; !ok {
			t.Errorf("matchRules(%q) = %v, want %s", tt.text, hits, tt.want)
		}
	}
}
