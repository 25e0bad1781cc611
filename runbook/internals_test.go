package runbook_test

import (
	"context"
	"net"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"switchyard"
	"switchyard/runbook"
)

// TestFailedExecutorCommentHidesInternals: a webhook executor that cannot
// connect fails the run; the comment the reporter reads on the simulator's
// issue says that the action failed and where to look (run, audit record),
// and carries no URL, host, port or error text. The details, redacted, are
// in the audit chain.
func TestFailedExecutorCommentHidesInternals(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nobody listens: connection refused
	const token = "tok-3f9a2c7e1b8d"
	target := "http://" + addr + "/okta/flows/reset?token=" + token
	h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) {
		o.Executors = map[string]runbook.ExecutorConfig{"RB-001": {Kind: "webhook", URL: target, Secret: "exec-secret"}}
	})
	key := h.issueKeys()[4]
	run := h.ingest(h.ticket(key, pwSummary, pwDesc, reporter)).Run
	if _, err := h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: "approve", Approver: "carol@example.com"}); err != nil {
		t.Fatal(err)
	}
	r := h.waitRun(run.ID, "write-back", writtenBack)
	if r.State != runbook.StateFailed {
		t.Fatalf("state %s", r.State)
	}
	ours, _ := h.comments(key)
	if len(ours) != 1 {
		t.Fatalf("%d write-back comments", len(ours))
	}
	body := string(ours[0].Body) // ADF JSON: every text node is in it
	_, port, _ := net.SplitHostPort(addr)
	for _, bad := range []string{"127.0.0.1", port, "http:", "okta", "refused", "dial", "tcp", token, "POST"} {
		if strings.Contains(body, bad) {
			t.Errorf("the comment contains %q: %s", bad, body)
		}
	}
	for _, want := range []string{"FAILED", "did not complete", "Switchyard run " + itoa(run.ID), "audit record #"} {
		if !strings.Contains(body, want) {
			t.Errorf("the comment lacks %q: %s", want, body)
		}
	}
	// The audit record the comment names holds the details, redacted.
	m := regexp.MustCompile(`audit record #(\d+)`).FindStringSubmatch(body)
	if m == nil {
		t.Fatal("no audit record number")
	}
	recs, err := h.chain.List(context.Background(), 1, 1000)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, rec := range recs {
		if itoa(rec.Seq) == m[1] {
			found = true
			p := string(rec.Payload)
			if rec.Type != "execute" || !strings.Contains(p, "connection refused") || !strings.Contains(p, addr) {
				t.Errorf("audit record #%s (%s) lacks the failure's details: %s", m[1], rec.Type, p)
			}
			if strings.Contains(p, token) {
				t.Errorf("audit record #%s holds the executor's token: %s", m[1], p)
			}
		}
	}
	if !found {
		t.Fatalf("audit record #%s not found", m[1])
	}
	if u, _ := url.Parse(r.Execution.URL); u == nil || u.RawQuery != "" {
		t.Errorf("execution URL %q keeps its query", r.Execution.URL)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
