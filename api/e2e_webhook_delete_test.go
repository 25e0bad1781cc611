package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// refreshes is the number of webhook refreshes the server has finished for
// conn (any outcome), read from /metrics.
func (e *env) refreshes(conn string) int {
	e.t.Helper()
	res, err := e.client.Get(e.url + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	n := 0
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "switchyard_webhook_refreshes_total{") || !strings.Contains(line, `connection="`+conn+`"`) {
			continue
		}
		f := strings.Fields(line)
		v, _ := strconv.ParseFloat(f[len(f)-1], 64)
		n += int(v)
	}
	return n
}

// issueEvent is a Jira-shaped issue event; the timestamp makes each body
// unique, as Jira's are.
func issueEvent(event, actor, id, key string) []byte {
	b, _ := json.Marshal(map[string]any{"timestamp": time.Now().UnixNano(), "webhookEvent": event,
		"user": map[string]any{"accountId": actor}, "issue": map[string]any{"id": id, "key": key}})
	return b
}

// TestE2EWebhookDeleteIsConfirmed: a signed jira:issue_deleted for an issue
// Jira still has changes nothing (the receiver asks Jira first); once the
// issue is really gone, the same kind of delivery removes it.
func TestE2EWebhookDeleteIsConfirmed(t *testing.T) {
	e := newEnv(t, envOptions{})
	ctx := context.Background()
	w := e.sim.World()
	account, visible, _ := e.viewerPair()
	e.syncNow(connName, true)
	if !e.searchFinds(connName, visible.Summary, account, visible.Key) {
		t.Fatalf("%s is not searchable after the sync", visible.Key)
	}

	// Forged but signed: the webhook secret leaked, or a delivery was altered
	// upstream. The issue still exists in Jira.
	before := e.refreshes(connName)
	forged := issueEvent("jira:issue_deleted", account, visible.ID, visible.Key)
	r := e.postWebhook(connName, forged, map[string]string{"X-Hub-Signature": hubSig(webhookSecret, forged), "X-Atlassian-Webhook-Identifier": "del-forged"})
	if r.status != http.StatusAccepted || r.body["status"] != "queued" {
		t.Fatalf("forged delete: %d %s", r.status, r.raw)
	}
	e.waitFor("the forged delete's refresh", 10*time.Second, func() bool { return e.refreshes(connName) > before })
	if _, err := e.db.Issue(ctx, connName, visible.Key); err != nil {
		t.Fatalf("a delete event for an existing issue removed it from the store: %v", err)
	}
	if !e.searchFinds(connName, visible.Summary, account, visible.Key) {
		t.Fatalf("a delete event for an existing issue removed it from search")
	}

	// A real deletion: Jira answers 404, so the delivery removes the issue.
	if err := w.DeleteIssue(account, visible.Key); err != nil {
		t.Fatal(err)
	}
	real := issueEvent("jira:issue_deleted", account, visible.ID, visible.Key)
	r = e.postWebhook(connName, real, map[string]string{"X-Hub-Signature": hubSig(webhookSecret, real), "X-Atlassian-Webhook-Identifier": "del-real"})
	if r.status != http.StatusAccepted || r.body["status"] != "queued" {
		t.Fatalf("real delete: %d %s", r.status, r.raw)
	}
	// The index and the store are updated one after the other: wait for both.
	e.waitFor("the deleted issue to leave search and the store", 10*time.Second, func() bool {
		_, err := e.db.Issue(ctx, connName, visible.Key)
		return err != nil && !e.searchFinds(connName, visible.Summary, account, visible.Key)
	})
}
