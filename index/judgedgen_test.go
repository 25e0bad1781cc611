package index

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/blevesearch/bleve/v2/mapping"

	"switchyard"
	"switchyard/connector/jirasim"
)

// The generated judged set (testdata/judged-generated.jsonl) is written from
// the demo world (seed 42, 6 projects, 5,000 issues), where the generator
// knows what each issue is about: its key, the identifiers its text holds,
// its topic and which summary template it came from. Regenerate it with
//
//	go test ./index -run TestJudgedGenerated -update-judged
//
// and evaluate it with
//
//	switchyard demo --once --data-dir D
//	switchyard search eval --config D/demo.yaml index/testdata/judged-generated.jsonl

var updateJudged = flag.Bool("update-judged", false, "rewrite testdata/judged-generated.jsonl")

const judgedGeneratedFile = "testdata/judged-generated.jsonl"

// The users the queries run as: the admin sees everything, the others a
// large and a small part of the world (as the demo shows).
var judgedUsers = []string{"admin@example.com", "james.dubois@example.com", "rahul.johansson@example.com"}

// judgedIdentifiers are identifier values of the simulator's corpus, whole
// and by parts (a part finds every identifier that holds it).
var judgedIdentifiers = []struct{ query, matches string }{
	{"db-prod-03", "db-prod-03"}, {"app-eu-12", "app-eu-12"}, {"build-agent-7", "build-agent-7"},
	{"fs01.corp.example.com", "fs01.corp.example.com"}, {"k8s-node-21", "k8s-node-21"},
	{"mail-relay-2", "mail-relay-2"}, {"ldap01", "ldap01"},
	{"0x80070005", "0x80070005"}, {"ERR_CONNECTION_RESET", "ERR_CONNECTION_RESET"}, {"AADSTS50076", "AADSTS50076"},
	{"CRITICAL_PROCESS_DIED", "CRITICAL_PROCESS_DIED"}, {"CVE-2024-3094", "CVE-2024-3094"},
	{"PRN-3F-EAST", "PRN-3F-EAST"}, {"PRN-LOBBY", "PRN-LOBBY"}, {"PRN-2F-FIN", "PRN-2F-FIN"}, {"PRN-HR-01", "PRN-HR-01"},
	{"diagnostics.json", "diagnostics.json"}, {"incident-report.pdf", "incident-report.pdf"},
	{"affected-users.csv", "affected-users.csv"}, {"runbook-notes.md", "runbook-notes.md"},
	// parts
	{"app-eu", "app-eu-12"}, {"db-prod", "db-prod-03"}, {"k8s-node", "k8s-node-21"}, {"mail-relay", "mail-relay-2"},
	{"build-agent", "build-agent-7"}, {"fs01.corp", "fs01.corp.example.com"}, {"PRN-3F", "PRN-3F-EAST"},
	{"affected-users", "affected-users.csv"}, {"incident-report", "incident-report.pdf"},
}

// judgedTopics are the corpus topics as people name them.
var judgedTopics = []struct{ query, topic string }{
	{"password reset", "password-reset"}, {"mfa", "mfa"}, {"vpn", "vpn"}, {"laptop", "laptop"},
	{"access request", "access-request"}, {"license", "license"}, {"onboarding", "onboarding"},
	{"offboarding", "offboarding"}, {"printer", "printer"}, {"outage", "outage"}, {"outlook email", "email"},
	{"wifi", "wifi"}, {"phishing", "phishing"}, {"security incident", "security-incident"},
	{"deploy pipeline", "deploy"}, {"payroll", "hr-systems"}, {"hardware request", "hardware-request"},
	{"software install", "software-install"},
}

// judgedParaphrases describe a summary template in other words: summary is
// a fixed part of the template's summary (what the issue's summary holds).
var judgedParaphrases = []struct{ query, topic, summary string }{
	{"tunnel keeps dropping", "vpn", "VPN disconnects every few minutes"},
	{"tunnel fails at my house", "vpn", "Cannot connect to VPN from home"},
	{"forgot credentials sign in", "password-reset", "password expired"},
	{"blocked after wrong passphrase tries", "password-reset", "Locked out of my account"},
	{"notebook power cell dies quickly", "laptop", "battery drains in an hour"},
	{"built-in panel shimmers", "laptop", "Laptop screen flickering"},
	{"computer stuck on startup", "laptop", "Laptop won't boot after update"},
	{"sheets caught inside the copier", "printer", "Paper jam"},
	{"copier cannot send documents to inbox", "printer", "Scan to email not working"},
	{"whole service unavailable for all users", "outage", "is down for everyone"},
	{"bad gateway responses", "outage", "returning 502 errors"},
	{"bogus bill from vendor", "phishing", "fake invoice from supplier"},
	{"storage nearly exhausted", "deploy", "Disk almost full"},
	{"tls cert close to expiry", "deploy", "expires in 7 days"},
	{"salary statement missing", "hr-systems", "Payslip not visible"},
	{"extra screen for desk", "hardware-request", "Request second monitor"},
	{"wireless keeps disconnecting during conference calls", "wifi", "Wi-Fi drops"},
	{"replacement mobile authenticator setup", "mfa", "New phone - need MFA re-enrolled"},
}

type judgedIssue struct {
	si *jirasim.SimIssue
	// where each identifier occurs, per document: "summary", "description",
	// or the comment id / "attachment".
	desc     string
	comments []string
	attach   []string
}

func judgedWorld() (*jirasim.World, []judgedIssue, map[string]string) {
	w := jirasim.Generate(jirasim.GenerateOptions{Seed: 42, Projects: 6, Issues: 5000, Mode: switchyard.ModeCloud})
	var out []judgedIssue
	for _, si := range w.Issues {
		ji := judgedIssue{si: si, desc: jirasim.ADFPlainText(si.Description)}
		for _, c := range si.Comments {
			ji.comments = append(ji.comments, jirasim.ADFPlainText(c.Body))
		}
		for _, a := range si.Attachments {
			// Names and contents of text files; PDFs hold their lines
			// uncompressed, DOCX only the summary (searched above).
			ji.attach = append(ji.attach, a.Filename+"\n"+string(a.Content))
		}
		out = append(out, ji)
	}
	accounts := map[string]string{}
	for _, email := range judgedUsers {
		for _, u := range w.Users {
			if strings.EqualFold(u.Email, email) {
				accounts[email] = u.AccountID
			}
		}
	}
	return w, out, accounts
}

// identifierGrade is how relevant an issue is to an identifier the user can
// see in it: 3 in the summary, 2 in the description, 1 in a comment or
// attachment (0: not there, or only where the user cannot look).
func identifierGrade(w *jirasim.World, account string, ji judgedIssue, id string) int {
	if !w.CanSee(account, ji.si.Key, "") {
		return 0
	}
	has := func(s string) bool { return strings.Contains(strings.ToLower(s), strings.ToLower(id)) }
	switch {
	case has(ji.si.Summary):
		return 3
	case has(ji.desc):
		return 2
	}
	for i, c := range ji.comments {
		if has(c) && w.CanSee(account, ji.si.Key, ji.si.Comments[i].ID) {
			return 1
		}
	}
	for _, a := range ji.attach {
		if has(a) {
			return 1
		}
	}
	return 0
}

func generateJudgments(t *testing.T) []Judgment {
	w, issues, accounts := judgedWorld()
	for _, u := range judgedUsers {
		if accounts[u] == "" {
			t.Fatalf("user %s is not in the demo world", u)
		}
	}
	r := rand.New(rand.NewPCG(12, 12))
	var out []Judgment
	graded := func(g map[string]int) ([]string, map[string]int) {
		var keys []string
		for k := range g {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		// Grade 1 is implied by relevant: list only the higher grades.
		high := map[string]int{}
		for k, v := range g {
			if v > 1 {
				high[k] = v
			}
		}
		if len(high) == 0 {
			high = nil
		}
		return keys, high
	}

	// Keys, in the case people type them, as a user who may see the issue.
	cases := []func(string) string{strings.ToUpper, strings.ToLower, func(s string) string {
		return strings.ToUpper(s[:1]) + strings.ToLower(s[1:])
	}}
	for n := 0; n < 60; {
		ji := issues[r.IntN(len(issues))]
		as := judgedUsers[r.IntN(len(judgedUsers))]
		if !w.CanSee(accounts[as], ji.si.Key, "") {
			continue
		}
		q := cases[n%len(cases)](ji.si.Key)
		out = append(out, Judgment{Query: q, As: as, Kind: "key", Relevant: []string{ji.si.Key}, Graded: map[string]int{ji.si.Key: 3}})
		n++
	}
	// A key inside a longer query: the key and a word people would add.
	for n := 0; n < 30; {
		ji := issues[r.IntN(len(issues))]
		as := judgedUsers[r.IntN(len(judgedUsers))]
		if !w.CanSee(accounts[as], ji.si.Key, "") {
			continue
		}
		words := []string{"status", "update", "ticket", "still open", "follow up", "vpn", "printer"}
		q := ji.si.Key + " " + words[n%len(words)]
		if n%2 == 1 {
			q = words[n%len(words)] + " " + strings.ToLower(ji.si.Key)
		}
		out = append(out, Judgment{Query: q, As: as, Kind: "key-in-text", Relevant: []string{ji.si.Key}, Graded: map[string]int{ji.si.Key: 3}})
		n++
	}
	// Identifiers, whole and by parts, as each user.
	for _, id := range judgedIdentifiers {
		for _, as := range judgedUsers {
			g := map[string]int{}
			for _, ji := range issues {
				if v := identifierGrade(w, accounts[as], ji, id.matches); v > 0 {
					g[ji.si.Key] = v
				}
			}
			if len(g) == 0 {
				continue
			}
			keys, g := graded(g)
			out = append(out, Judgment{Query: id.query, As: as, Kind: "identifier", Relevant: keys, Graded: g})
		}
	}
	// Topics: every visible issue of the topic is relevant; those whose
	// summary holds the query's words more so.
	for _, tp := range judgedTopics {
		as := judgedUsers[r.IntN(len(judgedUsers))]
		g := map[string]int{}
		for _, ji := range issues {
			if ji.si.Labels[0] != tp.topic || !w.CanSee(accounts[as], ji.si.Key, "") {
				continue
			}
			g[ji.si.Key] = 1
		}
		keys, g := graded(g)
		out = append(out, Judgment{Query: tp.query, As: as, Kind: "topic", Relevant: keys, Graded: g})
	}
	// Paraphrases sharing no word with the summary they describe: issues
	// with that summary are grade 2, others of the topic grade 1.
	an := (&Index{mapping: mustMapping(t)}).analyzer()
	words := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, tok := range an.Analyze([]byte(s)) {
			m[string(tok.Term)] = true
		}
		return m
	}
	for _, p := range judgedParaphrases {
		qw := words(p.query)
		as := judgedUsers[r.IntN(len(judgedUsers))]
		g := map[string]int{}
		for _, ji := range issues {
			if ji.si.Labels[0] != p.topic || !w.CanSee(accounts[as], ji.si.Key, "") {
				continue
			}
			g[ji.si.Key] = 1
			if strings.Contains(ji.si.Summary, p.summary) {
				for word := range words(ji.si.Summary) {
					if qw[word] {
						t.Errorf("paraphrase %q shares %q with the summary %q", p.query, word, ji.si.Summary)
					}
				}
				g[ji.si.Key] = 2
			}
		}
		if t.Failed() {
			continue
		}
		keys, g := graded(g)
		out = append(out, Judgment{Query: p.query, As: as, Kind: "paraphrase", Relevant: keys, Graded: g})
	}
	return out
}

func mustMapping(t *testing.T) *mapping.IndexMappingImpl {
	m, err := newMapping()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func encodeJudgments(js []Judgment) []byte {
	var b bytes.Buffer
	b.WriteString("# Generated by `go test ./index -run TestJudgedGenerated -update-judged` from the demo world (seed 42, 6 projects, 5000 issues).\n")
	for _, j := range js {
		line, err := json.Marshal(j)
		if err != nil {
			panic(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// TestJudgedGenerated keeps the generated judged set in step with the
// simulator's world: a change to the generator or the corpus shows here.
func TestJudgedGenerated(t *testing.T) {
	js := generateJudgments(t)
	got := encodeJudgments(js)
	path := filepath.FromSlash(judgedGeneratedFile)
	if *updateJudged {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-judged to write it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s is out of date with the simulator's world: run go test ./index -run TestJudgedGenerated -update-judged", path)
	}
	parsed, err := ReadJudgments(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]int{}
	for _, j := range parsed {
		kinds[j.Kind]++
	}
	for _, k := range []string{"key", "key-in-text", "identifier", "topic", "paraphrase"} {
		if kinds[k] == 0 {
			t.Errorf("no %s queries in %s", k, path)
		}
	}
	t.Log(fmt.Sprint(kinds))
}
