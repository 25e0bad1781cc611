package runbook_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"switchyard"
	"switchyard/connector/jirasim"
	"switchyard/runbook"
)

// execCapture is a webhook executor target that records what it was asked.
type execCapture struct {
	mu   sync.Mutex
	reqs []runbook.ExecRequest
	ts   *httptest.Server
}

func newExecCapture(t *testing.T) *execCapture {
	c := &execCapture{}
	c.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req runbook.ExecRequest
		_ = json.Unmarshal(b, &req)
		c.mu.Lock()
		c.reqs = append(c.reqs, req)
		c.mu.Unlock()
	}))
	t.Cleanup(c.ts.Close)
	return c
}

// reconfigure is a restart with changed options.
func (h *harness) reconfigure(mod func(*runbook.Options)) {
	h.stop()
	mod(&h.opts)
	h.openStore()
	h.start()
}

// syncUsers copies Jira's users into the store, as the identity sync does.
func (h *harness) syncUsers() {
	h.t.Helper()
	var all []switchyard.User
	if err := h.jira.Users(context.Background(), func(us []switchyard.User) error { all = append(all, us...); return nil }); err != nil {
		h.t.Fatal(err)
	}
	if err := h.db.ReplaceUsers(context.Background(), "sim", all); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) simReporter(key string) string {
	w := h.sim.World()
	w.RLock()
	defer w.RUnlock()
	return w.IssueByKey(key).Reporter
}

// TestIngestUsesJiraText: an ingest caller sends a fake summary,
// description, reporterEmail and a phishing url for a real issue. Approvers
// are shown Jira's text with the caller's marked as differing, the executor
// acts on the target named in Jira's text, and every link is on the site's
// host. Both ways Jira's issue is known: synced into the store, and only
// fetchable with the connection's account.
func TestIngestUsesJiraText(t *testing.T) {
	for _, synced := range []bool{true, false} {
		name := "fetched"
		if synced {
			name = "synced"
		}
		t.Run(name, func(t *testing.T) {
			exec := newExecCapture(t)
			h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) {
				o.Executors = map[string]runbook.ExecutorConfig{"RB-001": {Kind: "webhook", URL: exec.ts.URL, Secret: "exec-secret"}}
			})
			key := h.issueKeys()[2]
			h.setIssueText(key, pwSummary, pwDesc) // Jira: reset jane.doe's password
			if synced {
				h.syncIssue(key)
			}
			const fakeSummary = "Reset the password of mallory, urgent"
			fake := runbook.Ticket{Source: "jira", IssueKey: key, Summary: fakeSummary,
				Description: "Please reset the password for mallory@evil.example, she forgot it.",
				URL:         "https://evil.example/browse/" + key, ReporterEmail: "dave@example.com"}
			res := h.ingest(fake)
			run := res.Run
			site, _ := url.Parse(h.simTS.URL)
			switch {
			case run.Ticket.Summary != pwSummary || !strings.Contains(run.Ticket.Description, "jane.doe@example.com"):
				t.Fatalf("run shows the caller's text: %+v", run.Ticket)
			case !run.CallerTextDiffers || run.JiraCheck != runbook.CheckDiffers || run.CallerTicket == nil || run.CallerTicket.Summary != fakeSummary:
				t.Fatalf("run not marked: check %q differs %v caller %+v", run.JiraCheck, run.CallerTextDiffers, run.CallerTicket)
			case run.TargetUser != "jane.doe@example.com":
				t.Fatalf("target %q, want Jira's jane.doe@example.com", run.TargetUser)
			case run.Ticket.ReporterAccountID != h.simReporter(key):
				t.Fatalf("reporter %q, want Jira's %q", run.Ticket.ReporterAccountID, h.simReporter(key))
			}
			if u, err := url.Parse(run.Ticket.URL); err != nil || u.Host != site.Host {
				t.Fatalf("link %q is not on the site %s", run.Ticket.URL, site.Host)
			}

			// The cards: Jira's text, the mark, the site's link; the fake
			// summary only inside the warning, the phishing host nowhere.
			h.waitRun(run.ID, "notifications", notified(2))
			slackCard, _ := json.Marshal(h.slack.cards()[0].Body)
			teamsCard, _ := json.Marshal(h.teams.requests("")[0].Body)
			for n, card := range map[string]string{"slack": string(slackCard), "teams": string(teamsCard)} {
				if !strings.Contains(card, pwSummary) || !strings.Contains(card, "Caller text differs from Jira") || strings.Contains(card, "evil.example") {
					t.Errorf("%s card: %s", n, card)
				}
				if strings.Count(card, fakeSummary) != 1 {
					t.Errorf("%s card shows the caller's summary %d times, want once (in the warning)", n, strings.Count(card, fakeSummary))
				}
			}
			if !strings.Contains(string(slackCard), site.Host+"/browse/"+key) {
				t.Errorf("slack card lacks the site's link: %s", slackCard)
			}

			// The executor acts on Jira's target.
			if _, err := h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"}); err != nil {
				t.Fatal(err)
			}
			h.waitRun(run.ID, "write-back", writtenBack)
			exec.mu.Lock()
			defer exec.mu.Unlock()
			if len(exec.reqs) != 1 || exec.reqs[0].TargetUser != "jane.doe@example.com" {
				t.Fatalf("executor asked %+v", exec.reqs)
			}
			for _, in := range exec.reqs[0].Inputs {
				if strings.Contains(in.Value, "mallory") {
					t.Fatalf("executor input from the caller's text: %+v", in)
				}
			}
		})
	}
}

// TestIngestMatchingText: the same text as Jira's (formatting aside) is not
// marked; a ticket without a link gets the site's.
func TestIngestMatchingText(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	key := h.issueKeys()[1]
	h.setIssueText(key, pwSummary, pwDesc)
	tk := runbook.Ticket{Source: "jira", IssueKey: key, Summary: "  " + pwSummary + " ", Description: strings.ReplaceAll(pwDesc, " ", "\n ")}
	run := h.ingest(tk).Run
	if run.CallerTextDiffers || run.JiraCheck != runbook.CheckMatches {
		t.Fatalf("same text marked: %q %v", run.JiraCheck, run.CallerTextDiffers)
	}
	if want := h.simTS.URL + "/browse/" + key; run.Ticket.URL != want {
		t.Fatalf("link %q, want %q", run.Ticket.URL, want)
	}
}

// TestIngestUnknownIssue: an issue that does not exist and one in a
// security level the connection's account may not see get the same answer,
// which carries none of the issue's content, and nothing is ingested.
func TestIngestUnknownIssue(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	w := h.sim.World()
	w.RLock()
	var projectKey, levelID, other string
	for _, p := range w.Projects {
		if len(p.SecurityLevels) > 0 {
			projectKey, levelID = p.Key, p.SecurityLevels[0].ID
			break
		}
	}
	for _, u := range w.Users {
		if u.AccountID != w.AdminAccountID() && u.Active && u.AccountType == "atlassian" {
			other = u.AccountID
			break
		}
	}
	w.RUnlock()
	if projectKey == "" || other == "" {
		t.Fatal("the simulator's world has no security level or no second user")
	}
	const secret = "Merger with Initech closes Friday"
	iss, err := w.CreateIssue(other, jirasim.IssueCreate{ProjectKey: projectKey, Summary: secret,
		Description: "Reset the password for jane.doe@example.com. " + secret, SecurityLevelID: levelID})
	if err != nil {
		t.Fatal(err)
	}
	// Another one, synced while the account could still see it.
	synced, err := w.CreateIssue(other, jirasim.IssueCreate{ProjectKey: projectKey, Summary: secret, Description: secret, SecurityLevelID: levelID})
	if err != nil {
		t.Fatal(err)
	}
	h.syncIssue(synced.Key)
	if err := w.SetSecurityLevelMembers("", projectKey, levelID, []switchyard.Holder{{Type: switchyard.HolderUser, Parameter: other}}); err != nil {
		t.Fatal(err)
	}
	if w.CanSee(w.AdminAccountID(), iss.Key, "") {
		t.Fatal("precondition: the connection's account still sees the restricted issue")
	}
	answer := func(key string) string {
		_, err := h.svc.Ingest(context.Background(), "sim", runbook.Ticket{Source: "jira", IssueKey: key, Summary: pwSummary, Description: pwDesc})
		if err == nil || !errors.Is(err, switchyard.ErrInvalid) {
			t.Fatalf("ingest %s: %v, want an invalid-input refusal", key, err)
		}
		if _, err := h.svc.RunByIssue(context.Background(), "sim", key); !errors.Is(err, switchyard.ErrNotFound) {
			t.Fatalf("ingest %s left a run: %v", key, err)
		}
		return strings.ReplaceAll(err.Error(), key, "KEY")
	}
	restricted, missing, hiddenSince := answer(iss.Key), answer(projectKey+"-99999"), answer(synced.Key)
	if restricted != missing || hiddenSince != missing {
		t.Fatalf("the answers differ, telling a restricted issue from a missing one:\n%s\n%s\n%s", restricted, missing, hiddenSince)
	}
	if strings.Contains(restricted, "Merger") || strings.Contains(restricted, "security") && strings.Contains(restricted, levelID) {
		t.Fatalf("the answer leaks the issue: %s", restricted)
	}
	if n := h.auditTypes(iss.Key); len(n) != 0 {
		t.Fatalf("refused ingest audited as %v", n)
	}
}

// TestSelfApprovalByAccountID: the approver rules compare Jira account ids:
// a reporter who hides their e-mail, approvers listed by account id, a
// forged reporterEmail and the target user deciding on their own runbook
// are all refused; an approver listed by account id may decide by e-mail.
func TestSelfApprovalByAccountID(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	w := h.sim.World()
	mk := func(name, email string, hide bool) *jirasim.SimUser {
		u, err := w.CreateUser("", jirasim.UserCreate{DisplayName: name, Email: email, HideEmail: hide})
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	hidden := mk("Hana Hidden", "hana.hidden@example.com", true)
	visible := mk("Vic Visible", "vic.visible@example.com", false)
	approver := mk("Ann Approver", "ann.approver@example.com", false)
	target := mk("Tom Target", "tom.target@example.com", false)
	h.syncUsers()
	// Approvers listed by account id (ann only that way), and tom by e-mail.
	h.reconfigure(func(o *runbook.Options) {
		o.Approvers = []string{hidden.AccountID, visible.AccountID, approver.AccountID, target.Email}
	})
	keys := h.issueKeys()
	file := func(key, reporter, forged string) runbook.Run {
		t.Helper()
		summary, desc := pwSummary, "Please reset the password for "+target.Email+", he forgot it."
		if _, err := w.UpdateIssue("", key, jirasim.IssueUpdate{Summary: &summary, Description: &desc, Reporter: &reporter}); err != nil {
			t.Fatal(err)
		}
		run := h.ingest(runbook.Ticket{Source: "jira", IssueKey: key, Summary: pwSummary, Description: desc, ReporterEmail: forged}).Run
		if run.Approval == nil || run.TargetUser != target.Email {
			t.Fatalf("run %+v", run)
		}
		return run
	}
	hiddenRun := file(keys[0], hidden.AccountID, "")
	forgedRun := file(keys[1], visible.AccountID, "someone.else@example.com")
	for _, tc := range []struct {
		name, approver, want string
		run                  runbook.Run
	}{
		{"reporter with a hidden e-mail, by account id", hidden.AccountID, "own request", hiddenRun},
		{"reporter behind a forged reporterEmail, by e-mail", visible.Email, "own request", forgedRun},
		{"reporter behind a forged reporterEmail, by account id", visible.AccountID, "own request", forgedRun},
		{"target user, by e-mail", target.Email, "target user", hiddenRun},
		{"target user, by account id", target.AccountID, "target user", forgedRun},
		{"not an approver", "stranger@example.com", "not a configured approver", forgedRun},
	} {
		_, err := h.svc.Decide(context.Background(), tc.run.Approval.ID, runbook.Decision{Decision: "approve", Approver: tc.approver})
		if !errors.Is(err, switchyard.ErrForbidden) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want forbidden (%s)", tc.name, err, tc.want)
		}
	}
	// Ann is listed by account id and decides by e-mail: allowed.
	r, err := h.svc.Decide(context.Background(), hiddenRun.Approval.ID, runbook.Decision{Decision: "approve", Approver: approver.Email})
	if err != nil || r.Approval.Status != "approved" {
		t.Fatalf("approver listed by account id, deciding by e-mail: %v %+v", err, r.Approval)
	}
	// The reporter gets no decision link on the card of their own request.
	links, err := h.svc.DecisionLinks(context.Background(), forgedRun.ID)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if l.Approver == visible.AccountID || l.Approver == target.Email {
			t.Errorf("decision link for %s, who may not decide", l.Approver)
		}
	}
}
