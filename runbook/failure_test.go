package runbook_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"switchyard"
	"switchyard/audit"
	"switchyard/connector/jirasim"
	"switchyard/runbook"
	"switchyard/store"
)

// TestJiraDownDuringWriteBack: the run finishes while Jira fails, the
// write-back is retried (visible on the run), the daemon restarts in the
// middle, and exactly one comment appears once Jira is back.
func TestJiraDownDuringWriteBack(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	key := h.issueKeys()[0]
	run := h.ingest(h.ticket(key, pwSummary, pwDesc, reporter)).Run
	h.waitRun(run.ID, "notifications", notified(2))
	if err := h.sim.SetKnobs(jirasim.Knobs{FaultRate: 1}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	r := h.waitRun(run.ID, "failed write-back attempts", func(r runbook.Run) bool {
		return r.WriteBack != nil && r.WriteBack.Attempts >= 2
	})
	if r.State != runbook.StateSucceeded || r.WriteBack.Status != "pending" || r.WriteBack.LastError == "" {
		t.Fatalf("run during the outage: state %s, write-back %+v", r.State, r.WriteBack)
	}
	if ours, _ := h.comments(key); len(ours) != 0 {
		t.Fatalf("%d comments while Jira is down", len(ours))
	}
	// A restart while Jira is still down, then Jira recovers.
	h.restart()
	time.Sleep(100 * time.Millisecond)
	h.sim.SetKnobs(jirasim.Knobs{})
	r = h.waitRun(run.ID, "write-back", writtenBack)
	time.Sleep(150 * time.Millisecond)
	if ours, _ := h.comments(key); len(ours) != 1 {
		t.Fatalf("%d comments after recovery, want 1", len(ours))
	}
	if types := h.auditTypes(key); types["writeback"] < 3 || types["execute"] != 1 {
		t.Fatalf("attempts not audited: %v", types)
	}
	h.verifyChain()
}

// TestRetryFindsPostedComment: a comment posted by an attempt whose outcome
// was lost (crash after the POST) is found by the next attempt, not doubled.
func TestRetryFindsPostedComment(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	key := h.issueKeys()[0]
	run := h.ingest(h.ticket(key, pwSummary, pwDesc, reporter)).Run
	// Jira already has the comment of this run (the lost attempt's).
	if _, err := h.jira.AddComment(context.Background(), key, connectorBody("earlier attempt"), runbook.CommentProperty, map[string]any{"runId": run.ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: "deny", Approver: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	h.waitRun(run.ID, "write-back", writtenBack)
	if ours, _ := h.comments(key); len(ours) != 1 {
		t.Fatalf("%d comments", len(ours))
	}
}

// TestRestartMidWay: ingested and approved by one process, executed and
// written back by the next.
func TestRestartMidWay(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	key := h.issueKeys()[0]
	h.stop()
	h.openStore()
	// A service that never runs its background work: the process dies after
	// the decision.
	o := h.opts
	o.Store, o.Audit = h.db, h.chain
	dead, err := runbook.New(o)
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	res, err := dead.Ingest(context.Background(), "sim", h.ticket(key, pwSummary, pwDesc, reporter))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.Decide(context.Background(), res.Run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "dave@example.com"}); err != nil {
		t.Fatal(err)
	}
	h.db.Close()
	h.openStore()
	h.start()
	r := h.waitRun(res.Run.ID, "write-back", writtenBack)
	if r.State != runbook.StateSucceeded || r.Execution == nil {
		t.Fatalf("%+v", r)
	}
	if len(h.slack.cards()) != 1 {
		t.Fatalf("%d cards", len(h.slack.cards()))
	}
	if ours, _ := h.comments(key); len(ours) != 1 {
		t.Fatalf("%d comments", len(ours))
	}
}

// TestInterruptedExecutionNotRepeated: a run found executing (the process
// died inside the executor) fails as interrupted and is never executed again.
func TestInterruptedExecutionNotRepeated(t *testing.T) {
	var calls atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer target.Close()
	h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) {
		o.DefaultExecutor = runbook.ExecutorConfig{Kind: "webhook", URL: target.URL, Secret: "s"}
	})
	key := h.issueKeys()[0]
	h.stop()
	h.openStore()
	o := h.opts
	o.Store, o.Audit = h.db, h.chain
	dead, _ := runbook.New(o)
	defer dead.Close()
	res, _ := dead.Ingest(context.Background(), "sim", h.ticket(key, pwSummary, pwDesc, reporter))
	if _, err := dead.Decide(context.Background(), res.Run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "dave@example.com"}); err != nil {
		t.Fatal(err)
	}
	// The dead process had moved the run to executing.
	if ok, err := h.db.TransitionTicketRun(context.Background(), res.Run.ID, runbook.StateApproved, runbook.StateExecuting); !ok || err != nil {
		t.Fatal(ok, err)
	}
	h.db.Close()
	h.openStore()
	h.start()
	r := h.waitRun(res.Run.ID, "write-back", writtenBack)
	if r.State != runbook.StateFailed || !strings.Contains(r.Execution.Error, "interrupted") || calls.Load() != 0 {
		t.Fatalf("state %s, execution %+v, executor calls %d", r.State, r.Execution, calls.Load())
	}
	ours, _ := h.comments(key)
	if len(ours) != 1 || !strings.Contains(string(ours[0].Body), "Switchyard: FAILED") {
		t.Fatalf("comments %d", len(ours))
	}
}

// TestWebhookExecutor: a signed POST whose status and body are recorded;
// errors and timeouts fail the run with the reason.
func TestWebhookExecutor(t *testing.T) {
	var mu sync.Mutex
	var got []*http.Request
	var bodies [][]byte
	status := 200
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got, bodies = append(got, r), append(bodies, b)
		st := status
		mu.Unlock()
		if st == 0 {
			time.Sleep(500 * time.Millisecond)
			return
		}
		w.WriteHeader(st)
		fmt.Fprintf(w, `{"result":"status %d"}`, st)
	}))
	defer target.Close()
	h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) {
		o.Executors = map[string]runbook.ExecutorConfig{"RB-001": {Kind: "webhook", URL: target.URL + "/okta?token=secret", Secret: "exec-secret", Timeout: 200 * time.Millisecond}}
	})
	keys := h.issueKeys()
	for i, tc := range []struct {
		status int
		state  string
		want   string
	}{
		{200, runbook.StateSucceeded, "HTTP 200"},
		{500, runbook.StateFailed, "HTTP 500"},
		{0, runbook.StateFailed, "timed out"},
	} {
		mu.Lock()
		status = tc.status
		mu.Unlock()
		run := h.ingest(h.ticket(keys[i], pwSummary, pwDesc, reporter)).Run
		if _, err := h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"}); err != nil {
			t.Fatal(err)
		}
		r := h.waitRun(run.ID, "write-back", writtenBack)
		e := r.Execution
		if r.State != tc.state || e == nil || e.Executor != "webhook" || !strings.Contains(e.Summary, tc.want) {
			t.Fatalf("status %d: state %s, execution %+v", tc.status, r.State, e)
		}
		if strings.Contains(e.URL, "secret") || strings.Contains(e.Summary, "token=") {
			t.Fatalf("executor URL query leaked: %+v", e)
		}
		if tc.status != 0 && (e.HTTPStatus != tc.status || !strings.Contains(e.Response, fmt.Sprint(tc.status))) {
			t.Fatalf("response not recorded: %+v", e)
		}
		ours, _ := h.comments(keys[i])
		wantLabel := "Switchyard: APPROVED"
		if tc.state == runbook.StateFailed {
			wantLabel = "Switchyard: FAILED"
		}
		if len(ours) != 1 || !strings.Contains(string(ours[0].Body), wantLabel) {
			t.Fatalf("comments: %d", len(ours))
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 3 {
		t.Fatalf("executor called %d times", len(got))
	}
	r := got[0]
	if err := runbook.VerifySignature([]byte("exec-secret"), r.Header.Get("X-Switchyard-Timestamp"), r.Header.Get("X-Switchyard-Signature"), bodies[0], time.Now(), time.Minute); err != nil {
		t.Fatalf("executor payload signature: %v", err)
	}
	if runbook.VerifySignature([]byte("wrong"), r.Header.Get("X-Switchyard-Timestamp"), r.Header.Get("X-Switchyard-Signature"), bodies[0], time.Now(), time.Minute) == nil {
		t.Fatal("a wrong secret verifies")
	}
	var req runbook.ExecRequest
	if err := json.Unmarshal(bodies[0], &req); err != nil || req.Runbook != "RB-001" || req.TargetUser != "jane.doe@example.com" || req.ApprovedBy != "carol@example.com" {
		t.Fatalf("payload %s %v", bodies[0], err)
	}
}

// TestSandboxMode: approvals.sandbox runs the sandbox executor and writes
// nothing to Jira.
func TestSandboxMode(t *testing.T) {
	var calls atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { calls.Add(1) }))
	defer target.Close()
	h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) {
		o.Sandbox = true
		o.DefaultExecutor = runbook.ExecutorConfig{Kind: "webhook", URL: target.URL, Secret: "s"}
	})
	keys := h.issueKeys()
	a := h.ingest(h.ticket(keys[0], pwSummary, pwDesc, reporter)).Run
	d := h.ingest(h.ticket(keys[1], pwSummary, pwDesc, reporter)).Run
	h.svc.Decide(context.Background(), a.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"})
	h.svc.Decide(context.Background(), d.Approval.ID, runbook.Decision{Decision: "deny", Approver: "carol@example.com"})
	skipped := func(r runbook.Run) bool { return r.WriteBack != nil && r.WriteBack.Status == "skipped" }
	ra := h.waitRun(a.ID, "skipped write-back", skipped)
	h.waitRun(d.ID, "skipped write-back", skipped)
	if ra.State != runbook.StateSucceeded || ra.Execution.Executor != "sandbox" || calls.Load() != 0 {
		t.Fatalf("%+v calls %d", ra.Execution, calls.Load())
	}
	time.Sleep(100 * time.Millisecond)
	for _, k := range keys[:2] {
		if ours, _ := h.comments(k); len(ours) != 0 {
			t.Fatalf("sandbox mode wrote to Jira")
		}
		if types := h.auditTypes(k); types["writeback"] != 1 {
			t.Fatalf("skipped write-back not audited: %v", types)
		}
	}
}

// TestNotifierFailureRetried: a failing notifier never loses the run; its
// failures are visible and it delivers once it recovers.
func TestNotifierFailureRetried(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	h.slack.setFail(true)
	run := h.ingest(h.ticket(h.issueKeys()[0], pwSummary, pwDesc, reporter)).Run
	r := h.waitRun(run.ID, "failed notification attempts", func(r runbook.Run) bool {
		for _, n := range r.Notifications {
			if n.Notifier == "slack" && n.Attempts >= 2 && !n.Delivered && strings.Contains(n.LastError, "503") {
				return true
			}
		}
		return false
	})
	if r.State != runbook.StatePending {
		t.Fatalf("state %s", r.State)
	}
	h.slack.setFail(false)
	h.waitRun(run.ID, "delivery", notified(2))
	if n := len(h.slack.cards()); n != 1 {
		t.Fatalf("%d cards", n)
	}
	card := h.slack.cards()[0]
	if card.Header.Get("Authorization") != "Bearer xoxb-test-token" {
		t.Fatal("no bot token")
	}
	b, _ := json.Marshal(card.Body)
	for _, w := range []string{`"action_id":"approve"`, `"action_id":"deny"`, "RB-001", "password_reset", "jane.doe@example.com", "text:email", "/browse/"} {
		if !strings.Contains(string(b), w) {
			t.Errorf("card lacks %s: %s", w, b)
		}
	}
	notes := 0
	for _, m := range h.slack.requests("/chat.postMessage") {
		if m.Body["thread_ts"] != nil && strings.Contains(fmt.Sprint(m.Body["text"]), "where they came from") {
			notes++
		}
	}
	if notes != 1 {
		t.Fatalf("%d threaded notes", notes)
	}
}

func slackPost(t *testing.T, h *harness, secret string, ts time.Time, user, action string, approval int64) (runbook.SlackReply, error) {
	t.Helper()
	payload := fmt.Sprintf(`{"type":"block_actions","user":{"id":%q},"actions":[{"action_id":%q,"value":"%d"}]}`, user, action, approval)
	body := []byte("payload=" + url.QueryEscape(payload))
	tss := strconv.FormatInt(ts.Unix(), 10)
	return h.svc.SlackInteraction(context.Background(), tss, runbook.SlackSignature(secret, tss, body), body)
}

// TestSlackInteractivity: forged, stale and replayed requests are refused;
// a signed click decides under the rules.
func TestSlackInteractivity(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	keys := h.issueKeys()
	run := h.ingest(h.ticket(keys[0], pwSummary, pwDesc, reporter)).Run
	id := run.Approval.ID
	now := h.clk.now()
	for name, call := range map[string]func() (runbook.SlackReply, error){
		"forged": func() (runbook.SlackReply, error) {
			return slackPost(t, h, "not-the-secret", now, "UCAROL", "approve", id)
		},
		"stale": func() (runbook.SlackReply, error) {
			return slackPost(t, h, "slack-signing-secret", now.Add(-6*time.Minute), "UCAROL", "approve", id)
		},
		"future": func() (runbook.SlackReply, error) {
			return slackPost(t, h, "slack-signing-secret", now.Add(6*time.Minute), "UCAROL", "approve", id)
		},
	} {
		if _, err := call(); !errors.Is(err, switchyard.ErrUnauthorized) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A tampered body with a once-valid signature.
	body := []byte("payload=" + url.QueryEscape(`{"type":"block_actions","user":{"id":"UCAROL"},"actions":[{"action_id":"approve","value":"1"}]}`))
	tss := strconv.FormatInt(now.Unix(), 10)
	sig := runbook.SlackSignature("slack-signing-secret", tss, body)
	tampered := []byte(strings.Replace(string(body), "approve", "deny", 1))
	if _, err := h.svc.SlackInteraction(context.Background(), tss, sig, tampered); !errors.Is(err, switchyard.ErrUnauthorized) {
		t.Errorf("tampered: %v", err)
	}
	if r, _ := h.svc.Get(context.Background(), run.ID); r.State != runbook.StatePending {
		t.Fatalf("refused requests changed the run: %s", r.State)
	}
	// The reporter (mapped from Slack) may not approve.
	rep, err := slackPost(t, h, "slack-signing-secret", now, "UBOB", "approve", id)
	if err != nil || !strings.Contains(rep.Text, "own request") {
		t.Fatalf("self-approval via Slack: %+v %v", rep, err)
	}
	// Carol approves.
	payload := fmt.Sprintf(`{"type":"block_actions","user":{"id":"UCAROL"},"actions":[{"action_id":"approve","value":"%d"}]}`, id)
	body = []byte("payload=" + url.QueryEscape(payload))
	sig = runbook.SlackSignature("slack-signing-secret", tss, body)
	rep, err = h.svc.SlackInteraction(context.Background(), tss, sig, body)
	if err != nil || !strings.Contains(rep.Text, "APPROVED") {
		t.Fatalf("approve: %+v %v", rep, err)
	}
	// The same request again is a replay.
	if _, err := h.svc.SlackInteraction(context.Background(), tss, sig, body); !errors.Is(err, switchyard.ErrUnauthorized) || !strings.Contains(err.Error(), "replayed") {
		t.Fatalf("replay: %v", err)
	}
	r := h.waitRun(run.ID, "write-back", writtenBack)
	if r.Approval.DecidedBy != "carol@example.com" {
		t.Fatalf("decided by %s", r.Approval.DecidedBy)
	}
	// The card is updated and the decision noted in its thread.
	h.waitRun(run.ID, "decision note", func(r runbook.Run) bool {
		for _, n := range r.Notifications {
			if n.Notifier == "slack" && n.Kind == "decision" && n.Delivered {
				return true
			}
		}
		return false
	})
	if len(h.slack.requests("/chat.update")) != 1 {
		t.Fatalf("card not updated")
	}
}

// TestTeamsLinks: the Adaptive Card's signed links decide once, as the
// approver they name; forged or reused links are refused.
func TestTeamsLinks(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	keys := h.issueKeys()
	run := h.ingest(h.ticket(keys[0], pwSummary, pwDesc, reporter)).Run
	h.waitRun(run.ID, "notifications", notified(2))
	cards := h.teams.requests("")
	if len(cards) != 1 {
		t.Fatalf("%d Teams posts", len(cards))
	}
	b, _ := json.Marshal(cards[0].Body)
	if !strings.Contains(string(b), "application/vnd.microsoft.card.adaptive") || !strings.Contains(string(b), "AdaptiveCard") {
		t.Fatalf("not an Adaptive Card: %s", b)
	}
	var links []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "Action.OpenUrl" {
				links = append(links, x["url"].(string))
			}
			for _, y := range x {
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(cards[0].Body)
	if len(links) != 4 { // approve and deny for carol and dave
		t.Fatalf("links %v", links)
	}
	token := func(link string) string {
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		return u.Query().Get("token")
	}
	id := run.Approval.ID
	// A forged token and one for another approval.
	if _, err := h.svc.DecideByLink(context.Background(), id, token(links[0])+"x", ""); !errors.Is(err, switchyard.ErrUnauthorized) {
		t.Fatalf("forged: %v", err)
	}
	if _, err := h.svc.DecideByLink(context.Background(), id+1, token(links[0]), ""); !errors.Is(err, switchyard.ErrUnauthorized) {
		t.Fatalf("other approval: %v", err)
	}
	info, err := h.svc.InspectLink(context.Background(), id, token(links[0]))
	if err != nil || info.Decision != "approve" || info.Approver != "carol@example.com" || info.IssueKey != keys[0] {
		t.Fatalf("inspect: %+v %v", info, err)
	}
	// A form that names someone other than the link's approver is refused,
	// and the link stays usable.
	if _, err := h.svc.DecideByLink(context.Background(), id, token(links[0]), "dave@example.com"); !errors.Is(err, switchyard.ErrForbidden) {
		t.Fatalf("link with another approver in the form: %v", err)
	}
	r, err := h.svc.DecideByLink(context.Background(), id, token(links[0]), "")
	if err != nil || r.Approval.Status != "approved" || r.Approval.DecidedBy != "carol@example.com" {
		t.Fatalf("link decision: %+v %v", r.Approval, err)
	}
	if _, err := h.svc.DecideByLink(context.Background(), id, token(links[0]), ""); !errors.Is(err, switchyard.ErrConflict) || !strings.Contains(err.Error(), "already used") {
		t.Fatalf("reuse: %v", err)
	}
	if _, err := h.svc.DecideByLink(context.Background(), id, token(links[3]), ""); !errors.Is(err, switchyard.ErrConflict) {
		t.Fatalf("second decision by link: %v", err)
	}
}

// TestAuditTamperDetected: changing a payload or a field, reordering or
// deleting any row is detected by verify at that row.
func TestAuditTamperDetected(t *testing.T) {
	h := newHarness(t, switchyard.ModeCloud, nil)
	keys := h.issueKeys()
	for i := 0; i < 2; i++ {
		run := h.ingest(h.ticket(keys[i], pwSummary, pwDesc, reporter)).Run
		h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"})
		h.waitRun(run.ID, "write-back", writtenBack)
	}
	h.stop()
	good := snapshot(t, h.dbPath)
	n := int64(len(good))
	if n < 10 {
		t.Fatalf("only %d records", n)
	}
	cases := []struct {
		name string
		sql  string
		seq  func(k int64) int64
	}{
		{"payload", `UPDATE audit_log SET payload = json_set(payload, '$.run', 999) WHERE seq = ?1`, nil},
		{"actor", `UPDATE audit_log SET actor = 'mallory' WHERE seq = ?1`, nil},
		{"time", `UPDATE audit_log SET time_ms = time_ms + 1 WHERE seq = ?1`, nil},
		{"delete", `DELETE FROM audit_log WHERE seq = ?1`, nil},
		{"swap", `UPDATE audit_log SET seq = CASE seq WHEN ?1 THEN ?1 + 1 ELSE ?1 END WHERE seq IN (?1, ?1 + 1)`, nil},
	}
	for _, tc := range cases {
		for _, k := range []int64{1, n / 2, n - 1} {
			t.Run(fmt.Sprintf("%s-%d", tc.name, k), func(t *testing.T) {
				restore(t, h.dbPath, good)
				raw, err := sql.Open("sqlite", h.dbPath)
				if err != nil {
					t.Fatal(err)
				}
				if tc.name == "swap" {
					// Swap rows k and k+1 through a free sequence number.
					for _, q := range []string{`UPDATE audit_log SET seq = -1 WHERE seq = ?1`, `UPDATE audit_log SET seq = ?1 WHERE seq = ?1 + 1`, `UPDATE audit_log SET seq = ?1 + 1 WHERE seq = -1`} {
						if _, err := raw.Exec(q, k); err != nil {
							t.Fatal(err)
						}
					}
				} else if _, err := raw.Exec(tc.sql, k); err != nil {
					t.Fatal(err)
				}
				raw.Close()
				db, err := store.Open(h.dbPath)
				if err != nil {
					t.Fatal(err)
				}
				defer db.Close()
				res, err := audit.New(db).Verify(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if res.OK || res.FirstBad != k {
					t.Fatalf("tampering with %d: %+v", k, res)
				}
			})
		}
	}
	restore(t, h.dbPath, good)
	db, _ := store.Open(h.dbPath)
	defer db.Close()
	if res, _ := audit.New(db).Verify(context.Background()); !res.OK || res.Records != n {
		t.Fatalf("untampered: %+v", res)
	}
}

type row struct {
	Seq, Time                                                  int64
	Type, Actor, Subject, Payload, PayloadHash, PrevHash, Hash string
}

func snapshot(t *testing.T, path string) []row {
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT seq, time_ms, type, actor, subject, payload, payload_hash, prev_hash, hash FROM audit_log ORDER BY seq`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []row
	for rows.Next() {
		var r row
		rows.Scan(&r.Seq, &r.Time, &r.Type, &r.Actor, &r.Subject, &r.Payload, &r.PayloadHash, &r.PrevHash, &r.Hash)
		out = append(out, r)
	}
	return out
}

func restore(t *testing.T, path string, rs []row) {
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`DELETE FROM audit_log`); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if _, err := raw.Exec(`INSERT INTO audit_log (seq, time_ms, type, actor, subject, payload, payload_hash, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.Seq, r.Time, r.Type, r.Actor, r.Subject, r.Payload, r.PayloadHash, r.PrevHash, r.Hash); err != nil {
			t.Fatal(err)
		}
	}
}
