package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"switchyard/api"
	"switchyard/connector/jirasim"
	"switchyard/runbook"
)

// setSimText gives the simulator's issue key this summary and description:
// ingest checks a caller's text against Jira's, so a test that ingests a
// ticket for a real issue first makes Jira hold that text.
func setSimText(t *testing.T, sim *jirasim.Server, key, summary, description string) {
	t.Helper()
	if _, err := sim.World().UpdateIssue("", key, jirasim.IssueUpdate{Summary: &summary, Description: &description}); err != nil {
		t.Fatalf("update %s in the simulator: %v", key, err)
	}
}

// TestIngestAPIChecksJira: through the ingest API, a caller sends a fake
// summary, description, reporterEmail and a phishing url for a real issue.
// The answer says the text differs and withholds what was drawn from Jira's
// text; the approvals API shows Jira's text, the caller's beside it and the
// mark, and a link on the Jira site's host; the executor acts on Jira's
// target; an issue Jira does not show the connection's account is a 400.
func TestIngestAPIChecksJira(t *testing.T) {
	e := newRBEnv(t)
	key := e.issues[2]
	setSimText(t, e.sim, key, "Password reset needed", "Please reset the password for jane.doe@example.com.")
	body, _ := json.Marshal(map[string]any{"source": "jira", "ticket": map[string]any{
		"issueKey": key, "summary": "Reset mallory's password", "description": "Please reset the password for mallory@evil.example.",
		"url": "https://evil.example/browse/" + key, "reporterEmail": "carol@example.com"}})
	st, out, _ := e.do(t, "POST", "/api/v1/tickets/ingest", api.ScopeTicketIngest, "application/json", body)
	if st != 201 || out["callerTextDiffers"] != true || out["jiraCheck"] != "differs" || out["targetUser"] != nil {
		t.Fatalf("ingest: %d %v", st, out)
	}
	if ins, _ := out["inputs"].([]any); len(ins) != 0 {
		t.Fatalf("the answer tells the caller what Jira's text holds: %v", out["inputs"])
	}
	id := int64(out["approvalId"].(float64))

	st, out, _ = e.do(t, "GET", "/api/v1/approvals?status=pending", api.ScopeApprovalsDecide, "", nil)
	raw, _ := json.Marshal(out)
	var page struct {
		Approvals []struct {
			Run runbook.Run `json:"run"`
		} `json:"approvals"`
	}
	if err := json.Unmarshal(raw, &page); err != nil || st != 200 || len(page.Approvals) != 1 {
		t.Fatalf("approvals: %d %s", st, raw)
	}
	run := page.Approvals[0].Run
	w := e.sim.World()
	w.RLock()
	siteLink := w.IssueByKey(key).Key
	w.RUnlock()
	if u, err := url.Parse(run.Ticket.URL); err != nil || !strings.HasPrefix(u.Host, "127.0.0.1:") || !strings.HasSuffix(u.Path, "/browse/"+siteLink) {
		t.Errorf("link %q is not the Jira site's", run.Ticket.URL)
	}
	switch {
	case run.Ticket.Summary != "Password reset needed" || run.TargetUser != "jane.doe@example.com":
		t.Fatalf("approvers see the caller's ticket: %+v target %s", run.Ticket, run.TargetUser)
	case !run.CallerTextDiffers || run.CallerTicket == nil || run.CallerTicket.Summary != "Reset mallory's password":
		t.Fatalf("the caller's text is not kept and marked: %+v", run)
	case strings.Contains(string(raw), "mallory@evil.example\",\"source"):
		t.Fatalf("an input was drawn from the caller's text: %s", raw)
	}
	st, out, _ = e.do(t, "POST", fmt.Sprintf("/api/v1/approvals/%d/decision", id), "as:dave@example.com", "application/json",
		[]byte(`{"decision":"approve","approver":"dave@example.com"}`))
	if st != 200 {
		t.Fatalf("approve: %d %v", st, out)
	}
	r := waitRunAPI(t, e, run.ID)
	if r.Execution == nil || !strings.Contains(r.Execution.Summary, "jane.doe@example.com") || strings.Contains(r.Execution.Summary, "mallory") {
		t.Fatalf("the executor did not act on Jira's target: %+v", r.Execution)
	}

	// Unknown to Jira: refused, nothing ingested.
	body, _ = json.Marshal(map[string]any{"source": "jira", "ticket": map[string]any{"issueKey": "ITSM-987654", "summary": "Password reset needed"}})
	if st, out, _ := e.do(t, "POST", "/api/v1/tickets/ingest", api.ScopeTicketIngest, "application/json", body); st != 400 || !strings.Contains(errMsg(out), "not known to Jira") {
		t.Fatalf("unknown issue: %d %v", st, out)
	}
}

// waitRunAPI waits until a run is written back, reading it through the
// approvals API.
func waitRunAPI(t *testing.T, e *rbEnv, runID int64) runbook.Run {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, out, _ := e.do(t, "GET", "/api/v1/approvals", api.ScopeApprovalsDecide, "", nil)
		raw, _ := json.Marshal(out)
		var page struct {
			Approvals []struct {
				Run runbook.Run `json:"run"`
			} `json:"approvals"`
		}
		_ = json.Unmarshal(raw, &page)
		for _, a := range page.Approvals {
			if a.Run.ID == runID && a.Run.WriteBack != nil && a.Run.WriteBack.Status == "done" {
				return a.Run
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("run %d not written back: %s", runID, raw)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestConsoleShowsJiraText: the console's approval card shows Jira's
// summary and reporter for a ticket ingested with other text, the
// "Caller text differs from Jira" mark with the caller's summary, and a link
// on the Jira site only.
func TestConsoleShowsJiraText(t *testing.T) {
	e := newEnv(t, envOptions{runbook: true})
	key := e.simIssueKeys(1)[0]
	setSimText(t, e.sim, key, "Password reset needed", "Please reset the password for jane.doe@example.com.")
	_, ingestKey := e.key("ingest "+key, api.ScopeTicketIngest)
	res := e.do("POST", "/api/v1/tickets/ingest", ingestKey, map[string]any{"source": "jira", "ticket": map[string]any{
		"issueKey": key, "summary": "Give mallory admin rights", "description": "Please reset the password for mallory@evil.example.",
		"url": "https://evil.example/phish/" + key, "reporterEmail": "dave@example.com"}})
	if res.status != 201 {
		t.Fatalf("ingest: %d %s", res.status, res.raw)
	}
	id := int64(res.body["approvalId"].(float64))
	_, page := signIn(t, e, e.admin).get("/console/approvals")
	i := strings.Index(page, fmt.Sprintf(`id="approval-%d"`, id))
	if i < 0 {
		t.Fatalf("no card for approval %d:\n%.800s", id, page)
	}
	card := page[i:]
	card = card[:strings.Index(card, "</article>")]
	w := e.sim.World()
	w.RLock()
	reporter := w.IssueByKey(key).Reporter
	w.RUnlock()
	wantReporter := "Jira account " + reporter
	if u, err := e.db.User(context.Background(), connName, reporter); err == nil && u.Email != "" {
		wantReporter = u.Email
	}
	for _, want := range []string{"Password reset needed", "Caller text differs from Jira", "Give mallory admin rights", "jane.doe@example.com", wantReporter,
		`href="` + e.simURL + "/browse/" + key + `"`} {
		if !strings.Contains(card, want) {
			t.Errorf("card lacks %q:\n%s", want, card)
		}
	}
	if strings.Contains(card, "evil.example") {
		t.Errorf("card shows the caller's link or target:\n%s", card)
	}
}
