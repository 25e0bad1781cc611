package runbook

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// closedURL is a URL on a local port nobody listens on.
func closedURL(t *testing.T, pathAndQuery string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + pathAndQuery
}

// TestRedactedCallErrors: a failed call of every notifier and executor kind
// yields an error that names no secret part of its URL, while errors.Is
// still sees through it.
func TestRedactedCallErrors(t *testing.T) {
	const sig = "Sig0nTheTeamsUrl9kQ2vX7"
	const token = "exec-token-77ab19"
	teamsURL := closedURL(t, "/workflows/3f9a2c7e1b8d4e6f9a0b1c2d3e4f5a6b/triggers/manual/paths/invoke?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig="+sig)
	hookURL := closedURL(t, "/services/T0001/B0002/Hk7pathSecretXyZ12345?token="+token)
	userURL := strings.Replace(closedURL(t, "/flo/reset"), "http://", "http://svc:pa55w0rd-secret@", 1)
	hc := &http.Client{Timeout: 2 * time.Second}
	ctx := context.Background()

	teams, _ := NewTeamsNotifier("teams", teamsURL, hc)
	hook, _ := NewWebhookNotifier("webhook", hookURL, []byte("notifier-secret"), hc)
	slack, _ := NewSlackNotifier("slack", userURL, "xoxb-bot-token-123", "C1", hc)
	ex, err := newExecutor("default", ExecutorConfig{Kind: ExecWebhook, URL: hookURL, Secret: "exec-signing"}, hc)
	if err != nil {
		t.Fatal(err)
	}
	uex, _ := newExecutor("u", ExecutorConfig{Kind: ExecWebhook, URL: userURL, Secret: "exec-signing"}, hc)
	req := ApprovalRequest{Links: []DecisionLinks{{Approver: "a", Approve: "x", Deny: "y"}}}
	_, teamsErr := teams.Deliver(ctx, req)
	_, hookErr := hook.Deliver(ctx, req)
	_, slackErr := slack.Deliver(ctx, req)
	e1 := ex.Execute(ctx, ExecRequest{RunID: 1})
	e2 := uex.Execute(ctx, ExecRequest{RunID: 2})
	texts := map[string]string{
		"teams": teamsErr.Error(), "webhook notifier": hookErr.Error(), "slack": slackErr.Error(),
		"executor error": e1.Error, "executor summary": e1.Summary, "executor url": e1.URL,
		"userinfo executor": e2.Error + " " + e2.Summary + " " + e2.URL,
	}
	secrets := []string{sig, token, "Hk7pathSecretXyZ12345", "3f9a2c7e1b8d4e6f9a0b1c2d3e4f5a6b", "pa55w0rd-secret", "xoxb-bot-token-123", "notifier-secret", "exec-signing"}
	for what, text := range texts {
		if text == "" {
			t.Errorf("%s: empty", what)
		}
		for _, s := range secrets {
			if strings.Contains(text, s) {
				t.Errorf("%s leaks %q: %s", what, s, text)
			}
		}
		if !strings.Contains(text, "127.0.0.1") {
			t.Errorf("%s no longer says which host failed: %s", what, text)
		}
	}
	if strings.Contains(teamsErr.Error(), "/workflows") {
		t.Errorf("teams error shows the path of a URL that is itself the secret: %s", teamsErr)
	}
	var ne net.Error
	if !errors.As(hookErr, &ne) {
		t.Errorf("the network error is no longer reachable with errors.As: %#v", hookErr)
	}
}

func TestRedactURL(t *testing.T) {
	for _, tc := range []struct{ in, url, host string }{
		{"https://acme.okta.com/api/flo/reset?clientToken=abc", "https://acme.okta.com/api/flo/reset", "https://acme.okta.com/…"},
		{"https://u:p@h.example/x#frag", "https://h.example/x", "https://h.example/…"},
		{"https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX", "https://hooks.slack.com/services/T00000000/B00000000/…", "https://hooks.slack.com/…"},
		{"https://prod-1.westus.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke?sig=s", "https://prod-1.westus.logic.azure.com:443/workflows/…/triggers/manual/paths/invoke", "https://prod-1.westus.logic.azure.com:443/…"},
		{"::not a url", "(URL hidden)", "(URL hidden)"},
	} {
		if got := redactURL(tc.in); got != tc.url {
			t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.url)
		}
		if got := redactHost(tc.in); got != tc.host {
			t.Errorf("redactHost(%q) = %q, want %q", tc.in, got, tc.host)
		}
	}
}
