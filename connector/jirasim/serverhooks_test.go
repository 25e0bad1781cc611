package jirasim

import (
	"strings"
	"testing"

	"switchyard"
)

// TestDataCenterServerEraWebhooks: in Data Center mode, comment events have
// the Jira Server shape of the real payloads: no issue and no user object,
// the issue named only in comment.self, users by name and key without an
// account id.
func TestDataCenterServerEraWebhooks(t *testing.T) {
	w := Generate(GenerateOptions{Seed: 5, Issues: 30, Mode: switchyard.ModeDataCenter})
	w.SetBaseURL("http://sim.example")
	t.Cleanup(w.Close)
	rcv := newHookReceiver(t)
	w.RegisterWebhook(Webhook{URL: rcv.srv.URL, Events: []string{"comment_created", "jira:issue_updated"}})
	iss := w.Issues[0]
	agent := w.Users[1].AccountID
	c, err := w.AddComment(agent, iss.Key, TextToADF("restarted the print spooler"), nil)
	if err != nil {
		t.Fatal(err)
	}
	flush(t, w)
	got := rcv.events("comment_created")
	if len(got) != 1 {
		t.Fatalf("%d comment_created deliveries, want 1", len(got))
	}
	ev := got[0].event
	if _, ok := ev["issue"]; ok {
		t.Errorf("Server-era comment event carries an issue object: %v", ev["issue"])
	}
	if _, ok := ev["user"]; ok {
		t.Errorf("Server-era comment event carries a user object")
	}
	cm, _ := ev["comment"].(map[string]any)
	if self, _ := cm["self"].(string); self != "http://sim.example/rest/api/2/issue/"+iss.ID+"/comment/"+c.ID {
		t.Errorf("comment.self = %q", self)
	}
	author, _ := cm["author"].(map[string]any)
	if _, ok := author["accountId"]; ok || author["key"] != agent || author["name"] == nil ||
		!strings.Contains(author["self"].(string), "/rest/api/2/user?username=") {
		t.Errorf("author %v: want name and key, no accountId", author)
	}
	// The issue_updated of the same change keeps its issue object.
	if ups := rcv.events("jira:issue_updated"); len(ups) != 1 || ups[0].event["issue"] == nil {
		t.Errorf("issue_updated deliveries %d, want 1 with the issue", len(ups))
	}
}
