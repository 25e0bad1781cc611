package runbook

import (
	"errors"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"switchyard"
)

// FuzzTicketValidate: Validate never panics, rejects with a field error
// wrapping ErrInvalid, and whatever it accepts meets the documented limits.
// The body hash of two tickets that differ in any field differs (its fields
// are length-prefixed, so no two tickets share an encoding).
func FuzzTicketValidate(f *testing.F) {
	f.Add("jira", "ITSM-1", "Please reset my VPN password", "locked out", "https://acme.atlassian.net/browse/ITSM-1", "bob@example.com", "summary")
	f.Add("jira", "ITSM-1", "x", "", "", "", "description")
	f.Add("", "ITSM-1", "x", "", "", "", "source")
	f.Add("Jira", "itsm-1", "x", "", "", "", "url")
	f.Add("jira", "ITSM-0", "  ", "", "", "", "summary")
	f.Add("jira", "A_1-99", strings.Repeat("é", 256), "", "", "", "summary")
	f.Add("jira", "ITSM-1", "x", "", "javascript:alert(1)", "", "url")
	f.Add("jira", "ITSM-1", "x", "", "http://", "", "url")
	f.Add("jira", "ITSM-1", "x", "", "", "Bob <bob@example.com>", "reporterEmail")
	f.Add("jira", "ITSM-1", "x\xff", "", "", "", "summary")
	f.Add("jira", "ITSM-1", "x", "\x00", "", "", "description")
	f.Add("jira", "ITSM-1", "x", "", "", "\"a b\"@example.com", "reporterEmail")
	f.Add("a-b_c", "Z-1234567890", "x", "", "https://h/"+strings.Repeat("p", 3000), "", "url")

	f.Fuzz(func(t *testing.T, source, key, summary, description, rawURL, email, other string) {
		tk := Ticket{Source: source, IssueKey: key, Summary: summary, Description: description, URL: rawURL, ReporterEmail: email}
		err := tk.Validate()
		if err != nil {
			var e *switchyard.Error
			if !errors.Is(err, switchyard.ErrInvalid) || !errors.As(err, &e) || e.Field == "" {
				t.Fatalf("Validate(%+v) = %v: not a field error wrapping ErrInvalid", tk, err)
			}
			if !utf8.ValidString(err.Error()) {
				t.Fatalf("error message is not valid UTF-8: %q", err)
			}
		} else {
			switch {
			case !sourceRE.MatchString(source), !issueKeyRE.MatchString(key):
				t.Fatalf("accepted source %q, key %q", source, key)
			case strings.TrimSpace(summary) == "", utf8.RuneCountInString(summary) > maxSummary, len(description) > maxDescription:
				t.Fatalf("accepted summary %q (%d bytes of description)", summary, len(description))
			case !utf8.ValidString(summary + description + rawURL + email):
				t.Fatal("accepted text that is not UTF-8")
			}
			if rawURL != "" {
				u, err := url.Parse(rawURL)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(rawURL) > maxURL {
					t.Fatalf("accepted url %q", rawURL)
				}
			}
			if email != "" {
				if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
					t.Fatalf("accepted reporter email %q", email)
				}
			}
		}

		// Change one field to other: the hash must change with it.
		if tk.hash() != tk.hash() {
			t.Fatal("hash is not deterministic")
		}
		for i, field := range []*string{&tk.Source, &tk.IssueKey, &tk.Summary, &tk.Description, &tk.URL, &tk.ReporterEmail} {
			if *field == other {
				continue
			}
			t2 := tk
			f2 := []*string{&t2.Source, &t2.IssueKey, &t2.Summary, &t2.Description, &t2.URL, &t2.ReporterEmail}[i]
			*f2 = other
			if t2.hash() == tk.hash() {
				t.Fatalf("field %d changed from %q to %q but the hash did not", i, *field, other)
			}
		}
	})
}

// FuzzIngestCrossCheck: whatever an ingest caller sends about an issue Jira
// knows, the run carries Jira's summary, description and reporter, a link
// only on the site's host, and the caller's text is marked as differing
// whenever a reader would see other words. It never panics.
func FuzzIngestCrossCheck(f *testing.F) {
	site := "https://acme.atlassian.net"
	f.Add("Password reset needed", "Please reset jane.doe@example.com", "", "", "Password reset needed", "Please reset jane.doe@example.com", "acc-1", site+"/browse/ITSM-1", site, "")
	f.Add("Reset mallory", "mallory@evil.example", "carol@example.com", "https://evil.example/browse/ITSM-1", "Password reset needed", "Please reset jane.doe@example.com", "acc-1", site+"/browse/ITSM-1", site, "bob@example.com")
	f.Add("Password *reset*", "Please\n\n reset   \\_jane\\_", "", site+"/browse/ITSM-1", "password reset", "please reset _jane_", "acc-1", "", site, "")
	f.Add("x", "", "bob@example.com", "http://acme.atlassian.net/browse/ITSM-1", "x", "", "", "https://evil.example/x", site, "BOB@example.com")
	f.Add("x", "", "", "https://user:pw@acme.atlassian.net/browse/ITSM-1", "y", "", "", "", "", "")
	f.Add("é", "日本語", "", "", "É", "日本語 ", "a", "javascript:alert(1)", "not a site", "")
	f.Fuzz(func(t *testing.T, cSum, cDesc, cEmail, cURL, jSum, jDesc, jReporter, jURL, site, jEmail string) {
		caller := Ticket{Source: "jira", IssueKey: "ITSM-1", Summary: cSum, Description: cDesc, ReporterEmail: cEmail, URL: cURL}
		iss := switchyard.Issue{Key: "ITSM-1", Summary: jSum, Description: jDesc, Reporter: jReporter, URL: jURL}
		used, differs := crossCheck(caller, iss, jEmail, site)
		switch {
		case used.Summary != truncate(jSum, maxSummary-3), used.Description != truncate(jDesc, maxDescription-8):
			t.Fatalf("run text is not Jira's: %+v", used)
		case used.ReporterAccountID != jReporter || used.ReporterEmail != jEmail:
			t.Fatalf("reporter is not Jira's: %+v", used)
		case used.IssueKey != caller.IssueKey || used.Source != caller.Source:
			t.Fatalf("key or source changed: %+v", used)
		}
		if used.URL != "" && !sameHost(used.URL, site) {
			t.Fatalf("link %q is not on the site %q", used.URL, site)
		}
		if su, err := url.Parse(site); err == nil && su.Host != "" && (su.Scheme == "http" || su.Scheme == "https") && used.URL == "" {
			t.Fatalf("no link although the site %q is known", site)
		}
		if textKey(cSum) != textKey(jSum) || textKey(cDesc) != textKey(jDesc) {
			if !differs {
				t.Fatalf("other words not marked: caller %q/%q, Jira %q/%q", cSum, cDesc, jSum, jDesc)
			}
		}
		if cEmail != "" && jEmail != "" && !strings.EqualFold(cEmail, jEmail) && !differs {
			t.Fatalf("forged reporterEmail %q (Jira %q) not marked", cEmail, jEmail)
		}
		// Jira's own text, as sent back by an honest caller, is not marked.
		honest := Ticket{Source: "jira", IssueKey: "ITSM-1", Summary: jSum, Description: jDesc, ReporterEmail: jEmail, URL: used.URL}
		if _, d := crossCheck(honest, iss, jEmail, site); d {
			t.Fatalf("Jira's own text marked as differing: %+v", honest)
		}
		if !sameText(cSum, cSum) || sameText(cSum, jSum) != sameText(jSum, cSum) {
			t.Fatal("sameText is not reflexive and symmetric")
		}
	})
}
