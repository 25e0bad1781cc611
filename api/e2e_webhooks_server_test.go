package api_test

import (
	"encoding/json"
	"testing"
	"time"

	"switchyard/connector"
	"switchyard/connector/jirasim"
)

// serverUser is a user as Jira Server 7 webhooks embed it: often only a
// self URL naming the user (?username=), sometimes name and key as well.
func serverUser(base, name string, withFields bool) map[string]any {
	u := map[string]any{"self": base + "/jira/rest/api/2/user?username=" + name, "displayName": name, "active": true,
		"timeZone": "Europe/Berlin"}
	if withFields {
		u["name"], u["key"] = name, "JIRAUSER"+name
	}
	return u
}

// TestE2EServerEraWebhooks: a Jira Server comment event without an issue
// object refreshes the issue named in comment.self; events caused by the
// integration's own Data Center user (matched by name or key, no account id
// anywhere) are ignored as echoes.
func TestE2EServerEraWebhooks(t *testing.T) {
	const botName = "switchyard-bot"
	e := newEnv(t, envOptions{self: &connector.Identity{Key: "JIRAUSER" + botName, Name: botName}})
	w := e.sim.World()
	account, visible, _ := e.viewerPair()
	e.syncNow(connName, true)

	// No webhook is registered with the simulator: the change is quiet and
	// only the delivery below can bring it in.
	summary := "ocelot firmware rollout"
	if _, err := w.UpdateIssue(account, visible.Key, jirasim.IssueUpdate{Summary: &summary}); err != nil {
		t.Fatal(err)
	}
	comment := func(event, id string, author map[string]any) []byte {
		b, _ := json.Marshal(map[string]any{
			"timestamp": time.Now().UnixMilli(), "webhookEvent": event,
			"comment": map[string]any{
				"self": e.simURL + "/jira/rest/api/2/issue/" + visible.ID + "/comment/" + id, "id": id,
				"author": author, "updateAuthor": author, "body": "see the attached log",
				"created": "2017-11-30T12:28:04.304+0300", "updated": "2017-11-30T12:28:04.304+0300",
			},
		})
		return b
	}
	post := func(body []byte, id string) response {
		return e.postWebhook(connName, body, map[string]string{"X-Hub-Signature": hubSig(webhookSecret, body), "X-Atlassian-Webhook-Identifier": id})
	}

	r := post(comment("comment_created", "31039", serverUser(e.simURL, "ii_ivanov", false)), "srv-1")
	if r.status != 202 || r.body["status"] != "queued" {
		t.Fatalf("server comment_created without issue: %d %s, want 202 queued", r.status, r.raw)
	}
	e.waitFor("the issue named by comment.self to be refreshed", 10*time.Second, func() bool {
		return e.searchFinds(connName, "ocelot", account, visible.Key)
	})

	// Echo by name (self URL only) and by name/key fields; never by account id.
	for i, author := range []map[string]any{serverUser(e.simURL, botName, false), serverUser(e.simURL, botName, true)} {
		r := post(comment("comment_updated", "31040", author), "srv-echo-"+string(rune('a'+i)))
		if r.status != 202 || r.body["status"] != "ignored" || r.body["reason"] != "caused by the integration's own account" {
			t.Errorf("own comment (author %v): %d %s, want 202 ignored as own", author, r.status, r.raw)
		}
	}
	upd, _ := json.Marshal(map[string]any{"webhookEvent": "jira:issue_updated", "timestamp": time.Now().UnixMilli(),
		"user":  map[string]any{"name": botName, "key": "JIRAUSER" + botName, "self": e.simURL + "/jira/rest/api/2/user?username=" + botName},
		"issue": map[string]any{"id": visible.ID, "key": visible.Key}})
	if r := post(upd, "srv-echo-c"); r.body["status"] != "ignored" {
		t.Errorf("own issue update by name/key: %d %s, want ignored", r.status, r.raw)
	}
	// Someone else whose name merely equals the bot's key is not an echo.
	other, _ := json.Marshal(map[string]any{"webhookEvent": "jira:issue_updated",
		"user":  map[string]any{"name": "JIRAUSER" + botName, "key": "JIRAUSER99"},
		"issue": map[string]any{"id": visible.ID, "key": visible.Key}})
	if r := post(other, "srv-other"); r.body["status"] != "queued" {
		t.Errorf("another user's update: %d %s, want queued", r.status, r.raw)
	}
	// A comment event naming no issue anywhere is still ignored, with a reason.
	bare, _ := json.Marshal(map[string]any{"webhookEvent": "comment_created", "comment": map[string]any{"id": "5", "self": "https://jira.example/x"}})
	if r := post(bare, "srv-bare"); r.body["status"] != "ignored" {
		t.Errorf("comment without any issue reference: %d %s, want ignored", r.status, r.raw)
	}
}
