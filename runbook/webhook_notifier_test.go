package runbook_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"switchyard"
	"switchyard/runbook"
)

// TestWebhookNotifier: requests and decisions are POSTed as signed JSON a
// receiver can verify; a forged copy does not verify.
func TestWebhookNotifier(t *testing.T) {
	secret := []byte("notify-secret")
	var mu sync.Mutex
	var types []string
	var bad int
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		if runbook.VerifySignature(secret, r.Header.Get("X-Switchyard-Timestamp"), r.Header.Get("X-Switchyard-Signature"), b, time.Now(), 5*time.Minute) != nil {
			bad++
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		var m struct {
			Type    string                  `json:"type"`
			Request runbook.ApprovalRequest `json:"request"`
		}
		json.Unmarshal(b, &m)
		if m.Request.IssueKey == "" || m.Request.Runbook != "RB-001" || len(m.Request.Inputs) == 0 || m.Request.Inputs[0].Source == "" {
			bad++
		}
		types = append(types, m.Type)
	}))
	defer rcv.Close()
	wn, err := runbook.NewWebhookNotifier("hook", rcv.URL, secret, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := runbook.NewWebhookNotifier("hook", "ftp://x", secret, nil); err == nil {
		t.Fatal("bad URL accepted")
	}
	if _, err := runbook.NewWebhookNotifier("hook", rcv.URL, nil, nil); err == nil {
		t.Fatal("unsigned webhook accepted")
	}
	h := newHarness(t, switchyard.ModeCloud, func(o *runbook.Options) { o.Notifiers = []runbook.Notifier{wn} })
	run := h.ingest(h.ticket(h.issueKeys()[0], pwSummary, pwDesc, reporter)).Run
	h.waitRun(run.ID, "notification", notified(1))
	if _, err := h.svc.Decide(context.Background(), run.Approval.ID, runbook.Decision{Decision: "deny", Approver: "dave@example.com"}); err != nil {
		t.Fatal(err)
	}
	h.waitRun(run.ID, "decision notification", func(r runbook.Run) bool {
		for _, n := range r.Notifications {
			if n.Kind == "decision" && n.Delivered {
				return true
			}
		}
		return false
	})
	mu.Lock()
	defer mu.Unlock()
	if bad != 0 || len(types) != 2 || types[0] != "approval_request" || types[1] != "approval_decision" {
		t.Fatalf("deliveries %v, %d bad", types, bad)
	}
	// A tampered delivery does not verify.
	if runbook.VerifySignature(secret, "1700000000", runbook.Sign(secret, "1700000000", []byte("a")), []byte("b"), time.Unix(1700000000, 0), time.Minute) == nil {
		t.Fatal("tampered body verifies")
	}
}
