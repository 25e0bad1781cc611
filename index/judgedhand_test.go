package index

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"switchyard/connector/jirasim"
)

// The hand-written judged set (testdata/judged-hand.jsonl): queries a
// person would type into the demo world's search box, each written by hand
// with the information need (note) and what makes an issue relevant to it,
// graded 3 (exactly what was asked), 2 (clearly about it), 1 (on topic).
// The keys are listed from the demo world by those criteria, so a judgment
// says which issues answer the need, not which ones search returns. Keep it
// in step with
//
//	go test ./index -run TestJudgedHand -update-judged
//
// and evaluate it against a demo data directory with
//
//	switchyard search eval --config D/demo.yaml index/testdata/judged-hand.jsonl

const judgedHandFile = "testdata/judged-hand.jsonl"

const (
	admin = "admin@example.com"
	james = "james.dubois@example.com"
	rahul = "rahul.johansson@example.com"
)

// handQuery is one hand-written query with its relevance criteria; an
// issue's grade is the highest any criterion gives it.
type handQuery struct {
	query, as, kind, note string
	keys                  map[string]int // these issues, by hand
	summary3, summary2    []string       // summary holds one of these (case-insensitive)
	topic                 string         // issues of this corpus topic…
	topicGrade            int            // …get this grade (default 1)
	text                  []string       // anywhere the user can see: 3 summary, 2 description, 1 comment/attachment
	status                string         // only issues in this status count
}

var handQueries = []handQuery{
	// Keys, typed as people type them.
	{query: "ITSM-42", as: admin, kind: "key", note: "open the ticket", keys: map[string]int{"ITSM-42": 3}},
	{query: "itsm-42", as: james, kind: "key", note: "lower case key", keys: map[string]int{"ITSM-42": 3}},
	{query: "OPS-7", as: admin, kind: "key", note: "short key", keys: map[string]int{"OPS-7": 3}},
	{query: "ops-300", as: rahul, kind: "key", note: "key as a restricted user", keys: map[string]int{"OPS-300": 3}},
	{query: "Sec-12", as: admin, kind: "key", note: "mixed case", keys: map[string]int{"SEC-12": 3}},
	{query: "HR-3", as: admin, kind: "key", note: "HR is also a common word", keys: map[string]int{"HR-3": 3}},
	{query: "hr-77", as: james, kind: "key", note: "HR is also a common word", keys: map[string]int{"HR-77": 3}},
	{query: "FIN-100", as: admin, kind: "key", note: "key", keys: map[string]int{"FIN-100": 3}},
	{query: "fin-9", as: rahul, kind: "key", note: "one-digit key as a restricted user", keys: map[string]int{"FIN-9": 3}},
	{query: "NET-250", as: admin, kind: "key", note: "key", keys: map[string]int{"NET-250": 3}},
	{query: "net-18", as: admin, kind: "key", note: "key", keys: map[string]int{"NET-18": 3}},
	{query: "ITSM-1500", as: james, kind: "key", note: "four-digit key", keys: map[string]int{"ITSM-1500": 3}},
	{query: "SEC-401", as: admin, kind: "key", note: "key", keys: map[string]int{"SEC-401": 3}},
	{query: "OPS-58", as: rahul, kind: "key", note: "ranked 13th before", keys: map[string]int{"OPS-58": 3}},
	{query: "hr-359", as: admin, kind: "key", note: "not in the top 20 before", keys: map[string]int{"HR-359": 3}},
	{query: " ITSM-2001 ", as: admin, kind: "key", note: "pasted with spaces", keys: map[string]int{"ITSM-2001": 3}},
	// A key with words.
	{query: "ITSM-42 printer", as: admin, kind: "key-in-text", note: "the ticket, named with its topic", keys: map[string]int{"ITSM-42": 3}},
	{query: "status of OPS-7", as: admin, kind: "key-in-text", note: "a question about a ticket", keys: map[string]int{"OPS-7": 3}},
	{query: "why is sec-12 still open", as: admin, kind: "key-in-text", note: "a question about a ticket", keys: map[string]int{"SEC-12": 3}},
	{query: "HR-3 payslip", as: admin, kind: "key-in-text", note: "key and topic", keys: map[string]int{"HR-3": 3}},
	{query: "follow up NET-250 zoom outage", as: admin, kind: "key-in-text", note: "key among many words", keys: map[string]int{"NET-250": 3}},
	{query: "ops-300 vpn austin", as: rahul, kind: "key-in-text", note: "key and its words", keys: map[string]int{"OPS-300": 3}},
	{query: "FIN-100 keyboard", as: admin, kind: "key-in-text", note: "key and topic", keys: map[string]int{"FIN-100": 3}},
	{query: "duplicate of ITSM-1500?", as: james, kind: "key-in-text", note: "key with punctuation", keys: map[string]int{"ITSM-1500": 3}},
	// Identifiers copied out of tickets.
	{query: "app-eu-12", as: admin, kind: "identifier", note: "host name", text: []string{"app-eu-12"}},
	{query: "app-eu", as: james, kind: "identifier", note: "first parts of a host name", text: []string{"app-eu-12"}},
	{query: "db-prod-03", as: rahul, kind: "identifier", note: "host name", text: []string{"db-prod-03"}},
	{query: "k8s-node-21", as: admin, kind: "identifier", note: "host name", text: []string{"k8s-node-21"}},
	{query: "build-agent", as: admin, kind: "identifier", note: "host name without its number", text: []string{"build-agent-7"}},
	{query: "fs01.corp.example.com", as: james, kind: "identifier", note: "FQDN", text: []string{"fs01.corp.example.com"}},
	{query: "fs01.corp", as: admin, kind: "identifier", note: "FQDN prefix", text: []string{"fs01.corp.example.com"}},
	{query: "ldap01", as: rahul, kind: "identifier", note: "host name", text: []string{"ldap01"}},
	{query: "mail-relay-2", as: admin, kind: "identifier", note: "host name", text: []string{"mail-relay-2"}},
	{query: "0x80070005", as: admin, kind: "identifier", note: "Windows error code", text: []string{"0x80070005"}},
	{query: "0x80070005", as: rahul, kind: "identifier", note: "Windows error code, restricted user", text: []string{"0x80070005"}},
	{query: "AADSTS50076", as: james, kind: "identifier", note: "Azure AD error", text: []string{"AADSTS50076"}},
	{query: "aadsts50076", as: admin, kind: "identifier", note: "lower-cased error", text: []string{"AADSTS50076"}},
	{query: "ERR_CONNECTION_RESET", as: admin, kind: "identifier", note: "browser error", text: []string{"ERR_CONNECTION_RESET"}},
	{query: "CRITICAL_PROCESS_DIED", as: james, kind: "identifier", note: "blue screen stop code", text: []string{"CRITICAL_PROCESS_DIED"}},
	{query: "CVE-2024-3094", as: admin, kind: "identifier", note: "CVE id", text: []string{"CVE-2024-3094"}},
	{query: "cve-2024-3094", as: rahul, kind: "identifier", note: "CVE id, lower case", text: []string{"CVE-2024-3094"}},
	{query: "PRN-LOBBY", as: admin, kind: "identifier", note: "printer name", text: []string{"PRN-LOBBY"}},
	{query: "PRN-3F-EAST", as: james, kind: "identifier", note: "printer name", text: []string{"PRN-3F-EAST"}},
	{query: "prn-2f", as: admin, kind: "identifier", note: "printer name prefix", text: []string{"PRN-2F-FIN"}},
	{query: "PRN-HR-01", as: admin, kind: "identifier", note: "printer name", text: []string{"PRN-HR-01"}},
	{query: "incident-report.pdf", as: admin, kind: "identifier", note: "file name", text: []string{"incident-report.pdf"}},
	{query: "diagnostics.json", as: james, kind: "identifier", note: "file name", text: []string{"diagnostics.json"}},
	{query: "affected-users.csv", as: rahul, kind: "identifier", note: "file name", text: []string{"affected-users.csv"}},
	{query: "runbook-notes", as: admin, kind: "identifier", note: "file name without extension", text: []string{"runbook-notes.md"}},
	{query: `\\fs01\finance`, as: admin, kind: "identifier", note: "UNC path", text: []string{`\\fs01\finance`}},
	{query: "gw-london.example.com", as: admin, kind: "identifier", note: "gateway host in a log line", text: []string{"gw-london.example.com"}},
	{query: "/dev/sda3", as: admin, kind: "identifier", note: "device path in df output", text: []string{"/dev/sda3"}},
	{query: "Trojan:Win32/Wacatac", as: admin, kind: "identifier", note: "malware name", text: []string{"Trojan:Win32/Wacatac"}},
	{query: "CrashLoopBackOff", as: admin, kind: "identifier", note: "pod state", text: []string{"CrashLoopBackOff"}},
	// Prose: what people describe.
	{query: "vpn keeps disconnecting", as: admin, kind: "topic", note: "VPN drops", summary3: []string{"VPN disconnects every few minutes"}, topic: "vpn"},
	{query: "cannot connect to vpn from home", as: james, kind: "topic", note: "VPN from home", summary3: []string{"Cannot connect to VPN from home"}, topic: "vpn"},
	{query: "slow vpn berlin", as: admin, kind: "topic", note: "slow VPN in Berlin", summary3: []string{"Slow VPN from the Berlin office"}, summary2: []string{"Slow VPN"}, topic: "vpn"},
	{query: "laptop battery drains", as: admin, kind: "topic", note: "battery", summary3: []string{"battery drains"}, topic: "laptop"},
	{query: "blue screen", as: james, kind: "topic", note: "BSOD", summary3: []string{"Blue screen on"}, text: []string{"blue screen"}},
	{query: "laptop won't boot", as: admin, kind: "topic", note: "no boot", summary3: []string{"Laptop won't boot"}, topic: "laptop"},
	{query: "paper jam", as: admin, kind: "topic", note: "printer jam", summary3: []string{"Paper jam on"}, topic: "printer"},
	{query: "scan to email not working", as: james, kind: "topic", note: "scanner mail", summary3: []string{"Scan to email not working"}, topic: "printer"},
	{query: "outlook keeps asking for password", as: admin, kind: "topic", note: "Outlook prompts", summary3: []string{"Outlook keeps asking for password"}, topic: "email"},
	{query: "shared mailbox missing", as: admin, kind: "topic", note: "shared mailbox", summary3: []string{"Shared mailbox not showing"}, topic: "email"},
	{query: "mailbox full", as: james, kind: "topic", note: "mailbox quota", summary3: []string{"Mailbox full warning"}, topic: "email"},
	{query: "second monitor", as: admin, kind: "topic", note: "monitor request", summary3: []string{"Request second monitor"}, topic: "hardware-request"},
	{query: "docking station", as: admin, kind: "topic", note: "dock", summary3: []string{"Docking station for"}, text: []string{"docking station"}},
	{query: "disk almost full", as: admin, kind: "topic", note: "disk space", summary3: []string{"Disk almost full"}, topic: "deploy"},
	{query: "certificate expires", as: rahul, kind: "topic", note: "cert expiry", summary3: []string{"expires in 7 days"}, text: []string{"certificate"}},
	{query: "nightly backup failed", as: admin, kind: "topic", note: "backup job", summary3: []string{"Nightly backup job failed"}, topic: "deploy"},
	{query: "ci pipeline failing", as: james, kind: "topic", note: "build broken", summary3: []string{"CI pipeline failing"}, topic: "deploy"},
	{query: "phishing invoice", as: admin, kind: "topic", note: "fake invoice", summary3: []string{"fake invoice"}, topic: "phishing"},
	{query: "clicked a link in a suspicious email", as: admin, kind: "topic", note: "clicked phishing", summary3: []string{"I clicked a link"}, topic: "phishing"},
	{query: "malware alert", as: admin, kind: "topic", note: "EDR alert", summary3: []string{"Malware alert on"}, topic: "security-incident"},
	{query: "secret committed to repository", as: admin, kind: "topic", note: "leaked secret", summary3: []string{"Secret committed to repository"}, topic: "security-incident"},
	{query: "new starter onboarding", as: admin, kind: "topic", note: "new hire", summary3: []string{"Onboarding: new starter"}, summary2: []string{"New hire setup"}, topic: "onboarding"},
	{query: "disable accounts leaver", as: admin, kind: "topic", note: "offboarding", summary3: []string{"Disable accounts for departing employee"}, summary2: []string{"Offboarding: leaver"}, topic: "offboarding"},
	{query: "payslip missing", as: admin, kind: "topic", note: "payslip", summary3: []string{"Payslip not visible"}, topic: "hr-systems"},
	{query: "holiday balance wrong", as: james, kind: "topic", note: "leave balance", summary3: []string{"Holiday balance wrong"}, topic: "hr-systems"},
	{query: "mfa push notifications", as: admin, kind: "topic", note: "MFA push", summary3: []string{"MFA push notifications not arriving"}, topic: "mfa"},
	{query: "lost hardware token", as: admin, kind: "topic", note: "token lost", summary3: []string{"Lost hardware token"}, keys: map[string]int{"ITSM-2205": 2}, topic: "mfa"},
	{query: "guest wifi portal", as: admin, kind: "topic", note: "guest wifi", summary3: []string{"Guest Wi-Fi portal"}, topic: "wifi"},
	{query: "python docker", as: admin, kind: "topic", note: "dev tools", summary3: []string{"Need Python and Docker"}},
	{query: "software center install stuck", as: admin, kind: "topic", note: "stuck install", summary3: []string{"Software Center install of"}, topic: "software-install"},
	{query: "visio license", as: admin, kind: "topic", note: "Visio licence", summary3: []string{"Visio license", "Install Visio"}, summary2: []string{"Visio"}},
	{query: "salesforce down", as: admin, kind: "topic", note: "Salesforce outage", summary3: []string{"Salesforce is down", "Outage: Salesforce", "Salesforce unavailable"}, summary2: []string{"Salesforce"}},
	{query: "password reset workday", as: admin, kind: "topic", note: "Workday password", summary3: []string{"Password reset for Workday", "Forgot my Workday password", "log in to Workday"}, topic: "password-reset"},
	{query: "locked out", as: admin, kind: "topic", note: "account lockout", summary3: []string{"Locked out of my account"}, text: []string{"locked out"}},
	{query: "ergonomic keyboard", as: admin, kind: "topic", note: "keyboard request", summary3: []string{"Ergonomic keyboard request"}, topic: "hardware-request"},
	{query: "access to production database", as: admin, kind: "topic", note: "prod DB access", summary3: []string{"Access to production database"}, topic: "access-request"},
	// Words from comments and attachments.
	{query: "toner was empty", as: admin, kind: "comment", note: "a resolution in a comment", text: []string{"Toner was empty"}},
	{query: "spooler restarted", as: james, kind: "comment", note: "a resolution in a comment", text: []string{"spooler restarted"}},
	{query: "failover to the secondary region", as: admin, kind: "comment", note: "incident comment", text: []string{"Failover to the secondary region"}},
	{query: "expired certificate on the load balancer", as: admin, kind: "comment", note: "root cause comment", text: []string{"expired certificate on the load balancer"}},
	{query: "battery health report", as: admin, kind: "comment", note: "battery diagnosis", text: []string{"Battery health report"}},
	{query: "temporary access pass", as: admin, kind: "comment", note: "MFA bypass", text: []string{"Temporary access pass"}},
	{query: "split-tunnel profile", as: admin, kind: "comment", note: "VPN fix", text: []string{"split-tunnel profile"}},
	{query: "keepalive timeout", as: admin, kind: "attachment", note: "VPN log line", text: []string{"keepalive timeout"}},
	// Query syntax.
	{query: `summary:"paper jam"`, as: admin, kind: "syntax", note: "summary phrase", summary3: []string{"Paper jam"}},
	{query: `"disk almost full"`, as: admin, kind: "syntax", note: "phrase", summary3: []string{"Disk almost full"}},
	{query: "vpn status:Done", as: admin, kind: "syntax", note: "VPN tickets that are done", summary3: []string{"VPN"}, topic: "vpn", status: "Done"},
	{query: "+printer -jam", as: admin, kind: "syntax", note: "printer tickets that are not jams", summary3: []string{"not printing", "Can't add the", "Scan to email"}, topic: "printer"},
	// More prose and pasted text.
	{query: "https://kb.example.com/articles/vpn", as: admin, kind: "identifier", note: "pasted knowledge base URL: VPN tickets", topic: "vpn"},
	{query: "printer not printing", as: james, kind: "topic", note: "print queue stuck", summary3: []string{"not printing"}, topic: "printer"},
	{query: "wifi drops in meeting rooms", as: admin, kind: "topic", note: "meeting room wifi", summary3: []string{"Wi-Fi drops in the"}, topic: "wifi"},
}

// handGrade is the grade of one issue for q, 0 when not relevant or not
// visible to q's user.
func handGrade(w *jirasim.World, account string, q handQuery, ji judgedIssue) int {
	if !w.CanSee(account, ji.si.Key, "") || (q.status != "" && ji.si.Status != q.status) {
		return 0
	}
	g := q.keys[ji.si.Key]
	lower := strings.ToLower(ji.si.Summary)
	for _, s := range q.summary3 {
		if strings.Contains(lower, strings.ToLower(s)) {
			g = max(g, 3)
		}
	}
	for _, s := range q.summary2 {
		if strings.Contains(lower, strings.ToLower(s)) {
			g = max(g, 2)
		}
	}
	if q.topic != "" && ji.si.Labels[0] == q.topic {
		g = max(g, max(q.topicGrade, 1))
	}
	for _, s := range q.text {
		g = max(g, identifierGrade(w, account, ji, s))
	}
	return g
}

func generateHandJudgments(t *testing.T) []Judgment {
	w, issues, accounts := judgedWorld()
	var out []Judgment
	for _, q := range handQueries {
		account := accounts[q.as]
		if account == "" {
			t.Fatalf("%q: user %s is not in the demo world", q.query, q.as)
		}
		g := map[string]int{}
		for _, ji := range issues {
			if v := handGrade(w, account, q, ji); v > 0 {
				g[ji.si.Key] = v
			}
		}
		for k, v := range q.keys {
			// Issues the demo files itself are not in the generated world.
			if w.IssueByKey(k) == nil {
				g[k] = v
			} else if !w.CanSee(account, k, "") {
				t.Errorf("%q: %s is not visible to %s", q.query, k, q.as)
			}
		}
		if len(g) == 0 {
			t.Errorf("%q as %s: no relevant issue", q.query, q.as)
			continue
		}
		var keys []string
		high := map[string]int{}
		for k, v := range g {
			keys = append(keys, k)
			if v > 1 {
				high[k] = v
			}
		}
		sort.Strings(keys)
		if len(high) == 0 {
			high = nil
		}
		out = append(out, Judgment{Query: q.query, As: q.as, Kind: q.kind, Note: q.note, Relevant: keys, Graded: high})
	}
	return out
}

func TestJudgedHand(t *testing.T) {
	js := generateHandJudgments(t)
	if len(js) < 80 {
		t.Errorf("%d hand-written queries, want at least 80", len(js))
	}
	var b bytes.Buffer
	b.WriteString("# Hand-written queries against the demo world (switchyard demo: seed 42, 6 projects, 5000 issues); criteria in index/judgedhand_test.go.\n")
	for _, j := range js {
		line, err := json.Marshal(j)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	path := filepath.FromSlash(judgedHandFile)
	if *updateJudged {
		if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update-judged to write it)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("%s is out of date: run go test ./index -run TestJudgedHand -update-judged", path)
	}
}
