package api_test

import (
	"encoding/json"
	"strings"
	"testing"

	"switchyard/api"
)

// TestNeedsInputAPI: over the real server and store, a request for someone
// else that names nobody is ingested as needs_input (listed, with what it
// misses and why), an agent's bad input is a 400 that changes nothing, the
// right one sends it to approval (200, then in the approvals queue), and a
// second supply is a 409. Every answer is checked against openapi.yaml.
func TestNeedsInputAPI(t *testing.T) {
	e := newRBEnv(t)
	const js = "application/json"
	key := e.issues[0]
	// Ingest classifies Jira's own text, so Jira holds the ticket's text.
	setSimText(t, e.sim, key, "Password reset for a colleague", "My colleague forgot her password and cannot log in, please reset it.")
	st, out, _ := e.do(t, "POST", "/api/v1/tickets/ingest", api.ScopeTicketIngest, js,
		ingestBody(key, "Password reset for a colleague", "My colleague forgot her password and cannot log in, please reset it.", "bob@example.com"))
	if st != 201 || out["disposition"] != "needs_input" || out["state"] != "needs_input" || out["intent"] != "password_reset" || out["approvalId"] != nil {
		t.Fatalf("ingest: %d %v", st, out)
	}
	if m, _ := json.Marshal(out["missing"]); string(m) != `["target_user"]` || !strings.Contains(out["explanation"].(string), "someone else") {
		t.Fatalf("missing %s, explanation %v", m, out["explanation"])
	}
	id := int64(out["runId"].(float64))
	path := "/api/v1/runs/" + jsonNum(id) + "/inputs"

	st, out, _ = e.do(t, "GET", "/api/v1/runs/needs-input", api.ScopeTicketIngest, "", nil)
	if runs, _ := out["runs"].([]any); st != 200 || len(runs) != 1 {
		t.Fatalf("list: %d %v", st, out)
	}
	for _, tc := range []struct {
		name, scope, body string
		status            int
		msg               string
	}{
		{"wrong scope", api.ScopeSearchRead, `{"inputs":{"target_user":"jane.doe@example.com"}}`, 403, "ticket:ingest"},
		{"not an email", api.ScopeTicketIngest, `{"inputs":{"target_user":"jane"}}`, 400, "not an e-mail address"},
		{"not needed", api.ScopeTicketIngest, `{"inputs":{"group":"vpn-users"}}`, 400, `does not need "group"`},
		{"unknown field", api.ScopeTicketIngest, `{"target_user":"jane.doe@example.com"}`, 400, "target_user"},
	} {
		st, out, _ := e.do(t, "POST", path, tc.scope, js, []byte(tc.body))
		if st != tc.status || !strings.Contains(errMsg(out), tc.msg) {
			t.Errorf("%s: %d %v, want %d mentioning %q", tc.name, st, out, tc.status, tc.msg)
		}
	}
	if st, out, _ = e.do(t, "POST", "/api/v1/runs/999999/inputs", api.ScopeTicketIngest, js, []byte(`{"inputs":{"target_user":"a@b.test"}}`)); st != 404 {
		t.Fatalf("unknown run: %d %v", st, out)
	}
	if st, out, _ = e.do(t, "GET", "/api/v1/approvals?status=pending", api.ScopeApprovalsDecide, "", nil); len(out["approvals"].([]any)) != 0 {
		t.Fatalf("bad inputs opened an approval: %v", out)
	}

	st, out, _ = e.do(t, "POST", path, api.ScopeTicketIngest, js, []byte(`{"inputs":{"target_user":"jane.doe@example.com"}}`))
	if st != 200 || out["state"] != "pending_approval" || out["targetUser"] != "jane.doe@example.com" || out["approval"] == nil {
		t.Fatalf("supply: %d %v", st, out)
	}
	st, out, _ = e.do(t, "GET", "/api/v1/approvals?status=pending", api.ScopeApprovalsDecide, "", nil)
	if list, _ := out["approvals"].([]any); st != 200 || len(list) != 1 {
		t.Fatalf("pending after supply: %d %v", st, out)
	}
	if st, out, _ = e.do(t, "POST", path, api.ScopeTicketIngest, js, []byte(`{"inputs":{"target_user":"someone@example.com"}}`)); st != 409 || !strings.Contains(errMsg(out), "not needs_input") {
		t.Fatalf("second supply: %d %v", st, out)
	}
	if st, out, _ = e.do(t, "GET", "/api/v1/runs/needs-input", api.ScopeTicketIngest, "", nil); len(out["runs"].([]any)) != 0 {
		t.Fatalf("still listed: %d %v", st, out)
	}
}

func jsonNum(n int64) string { b, _ := json.Marshal(n); return string(b) }
