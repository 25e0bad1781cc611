package jirasim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

type simClient struct {
	t   *testing.T
	url string
}

func newSimServer(t *testing.T) (*World, *simClient) {
	w := Generate(GenerateOptions{Seed: 21, Issues: 50})
	srv := httptest.NewServer(http.HandlerFunc(w.ServeSim))
	t.Cleanup(srv.Close)
	t.Cleanup(w.Close)
	return w, &simClient{t, srv.URL}
}

// do sends a request and returns status and decoded JSON body (nil when empty).
func (c *simClient) do(method, path, body string) (int, map[string]any, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, c.url+path, rd)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(bytes.TrimSpace(raw)) > 0 && raw[0] == '{' {
		if err := json.Unmarshal(raw, &m); err != nil {
			c.t.Fatalf("%s %s: body is not JSON: %s", method, path, raw)
		}
	}
	return resp.StatusCode, m, raw
}

func TestSimStateAndCanSee(t *testing.T) {
	w, c := newSimServer(t)
	st, _, raw := c.do("GET", "/_sim/state", "")
	if st != 200 || !bytes.Equal(raw, w.StateJSON()) {
		t.Fatalf("state: %d", st)
	}
	admin := w.AdminAccountID()
	iss := w.Issues[0]
	var restricted, commentIssue string
	for _, i := range w.Issues {
		for _, cm := range i.Comments {
			if cm.Visibility != nil {
				restricted, commentIssue = cm.ID, i.Key
			}
		}
	}
	tests := []struct {
		query  string
		status int
		field  string
		want   any
	}{
		{"account=" + admin + "&issue=" + iss.Key, 200, "", true},
		{"account=" + admin + "&issue=" + iss.ID, 200, "", true},
		{"account=" + admin + "&issue=" + commentIssue + "&comment=" + restricted, 200, "", true},
		{"account=&issue=" + commentIssue + "&comment=" + restricted, 200, "", false},
		{"issue=" + iss.Key, 400, "account", nil},
		{"account=" + admin, 400, "issue", nil},
		{"account=" + admin + "&issue=NOPE-1", 400, "issue", nil},
		{"account=" + admin + "&issue=" + iss.Key + "&comment=1", 400, "comment", nil},
		{"account=" + admin + "&issue=" + iss.Key + "&user=x", 400, "user", nil},
	}
	for _, tt := range tests {
		st, m, raw := c.do("GET", "/_sim/can-see?"+tt.query, "")
		if st != tt.status {
			t.Errorf("%s: status %d, want %d (%s)", tt.query, st, tt.status, raw)
			continue
		}
		if tt.status == 200 && m["visible"] != tt.want {
			t.Errorf("%s: visible = %v, want %v", tt.query, m["visible"], tt.want)
		}
		if tt.field != "" && m["field"] != tt.field {
			t.Errorf("%s: error field = %v, want %s (%s)", tt.query, m["field"], tt.field, raw)
		}
	}
	// Every answer agrees with the Go oracle, for several accounts.
	for _, u := range w.Users[:6] {
		for _, i := range w.Issues[:20] {
			_, m, _ := c.do("GET", "/_sim/can-see?account="+url.QueryEscape(u.AccountID)+"&issue="+i.Key, "")
			if m["visible"] != w.CanSee(u.AccountID, i.Key, "") {
				t.Fatalf("can-see %s %s disagrees with CanSee", u.AccountID, i.Key)
			}
		}
	}
}

func TestSimMutationRoutes(t *testing.T) {
	w, c := newSimServer(t)
	admin := w.AdminAccountID()
	agent := w.Users[1].AccountID
	w.RLock()
	itID := w.GroupByName("it-support").ID
	w.RUnlock()

	st, m, raw := c.do("POST", "/_sim/issues?actor="+agent, `{"projectKey":"ITSM","summary":"Laptop will not boot","description":"Black screen","labels":["laptop"]}`)
	if st != 201 || m["key"] == nil || m["reporter"] != agent {
		t.Fatalf("create: %d %s", st, raw)
	}
	key := m["key"].(string)

	steps := []struct {
		method, path, body string
		status             int
		field              string
	}{
		{"POST", "/_sim/issues", `{"projectKey":"ITSM","summary":"x","colour":"red"}`, 400, "colour"},
		{"POST", "/_sim/issues", `{"projectKey":"ITSM","summary":42}`, 400, "summary"},
		{"POST", "/_sim/issues", `{"projectKey":"ITSM",`, 400, "body"},
		{"POST", "/_sim/issues", ``, 400, "body"},
		{"POST", "/_sim/issues", `{"projectKey":"ITSM","summary":"a"} {}`, 400, "body"},
		{"POST", "/_sim/issues", `{"projectKey":"ZZZ","summary":"a"}`, 400, "projectKey"},
		{"POST", "/_sim/issues?actor=ghost", `{"projectKey":"ITSM","summary":"a"}`, 400, "actor"},
		{"PATCH", "/_sim/issues/" + key, `{"status":"Resolved","assignee":"` + agent + `"}`, 200, ""},
		{"PATCH", "/_sim/issues/" + key, `{"status":"Nirvana"}`, 400, "status"},
		{"PATCH", "/_sim/issues/NOPE-9", `{"summary":"x"}`, 404, ""},
		{"POST", "/_sim/issues/" + key + "/comments", `{"body":"Checked the BIOS","visibility":{"type":"group","value":"it-support"}}`, 201, ""},
		{"POST", "/_sim/issues/" + key + "/comments", `{}`, 400, "body"},
		{"POST", "/_sim/issues/" + key + "/comments", `{"body":"x","visibility":{"type":"planet","value":"mars"}}`, 400, "visibility.type"},
		{"POST", "/_sim/issues/NOPE-9/comments", `{"body":"x"}`, 404, ""},
		{"POST", "/_sim/issues/" + key + "/attachments", `{"filename":"bios.txt","text":"version 1.2"}`, 201, ""},
		{"POST", "/_sim/issues/" + key + "/attachments", `{"filename":"b.bin","contentBase64":"%%%"}`, 400, "contentBase64"},
		{"POST", "/_sim/issues/" + key + "/move", `{"projectKey":"OPS"}`, 200, ""},
		{"POST", "/_sim/issues/" + key + "/move", `{"project":"OPS"}`, 400, "project"},
		{"POST", "/_sim/groups/it-support/members", `{"accountId":"` + w.Users[4].AccountID + `"}`, 204, ""},
		{"POST", "/_sim/groups/" + itID + "/members", `{"accountId":"` + w.Users[4].AccountID + `"}`, 409, "accountId"},
		{"DELETE", "/_sim/groups/" + itID + "/members?accountId=" + url.QueryEscape(w.Users[4].AccountID), "", 204, ""},
		{"DELETE", "/_sim/groups/" + itID + "/members", `{"accountId":"` + w.Users[4].AccountID + `"}`, 404, ""},
		{"POST", "/_sim/groups/nope/members", `{"accountId":"` + admin + `"}`, 404, ""},
		{"PUT", "/_sim/projects/HR/browse", `[{"type":"group","parameter":"` + itID + `"},{"type":"projectRole","parameter":"10002"}]`, 204, ""},
		{"PUT", "/_sim/projects/HR/browse", `[{"type":"group","parameter":"nope"}]`, 400, "holders[0].parameter"},
		{"PUT", "/_sim/projects/HR/browse", `[{"type":"user","parameter":"x","extra":1}]`, 400, "extra"},
		{"PUT", "/_sim/projects/NOPE/browse", `[]`, 404, ""},
		{"PUT", "/_sim/projects/HR/roles/10001", `{"users":["` + agent + `"],"groups":[]}`, 204, ""},
		{"PUT", "/_sim/projects/HR/roles/99", `{"users":[],"groups":[]}`, 404, ""},
		{"PUT", "/_sim/projects/HR/roles/10001", `{"users":["ghost"]}`, 400, "users[0]"},
		{"PUT", "/_sim/projects/HR/security-levels/" + w.Projects[3].SecurityLevels[0].ID + "/members", `[{"type":"reporter"}]`, 204, ""},
		{"PUT", "/_sim/projects/HR/security-levels/1/members", `[]`, 404, ""},
		{"PUT", "/_sim/projects/HR/security-levels/" + w.Projects[3].SecurityLevels[0].ID + "/members", `[{"type":"reporter","parameter":"x"}]`, 400, "members[0].parameter"},
		{"PATCH", "/_sim/users/" + url.PathEscape(w.Users[4].AccountID), `{"active":false}`, 204, ""},
		{"PATCH", "/_sim/users/" + url.PathEscape(w.Users[4].AccountID), `{}`, 400, "active"},
		{"PATCH", "/_sim/users/ghost", `{"active":true}`, 404, ""},
		{"POST", "/_sim/users", `{"displayName":"Pat New","email":"pat.new@example.com","groups":["hr-team"]}`, 201, ""},
		{"POST", "/_sim/users", `{"displayName":"Pat New","email":"pat.new@example.com"}`, 409, "email"},
		{"POST", "/_sim/webhooks", `{"url":"ftp://x","events":["jira:issue_created"]}`, 400, "url"},
		{"POST", "/_sim/webhooks", `{"url":"http://127.0.0.1:1/hook","events":["issue_exploded"]}`, 400, "events"},
		{"DELETE", "/_sim/webhooks/abc", "", 400, "id"},
		{"DELETE", "/_sim/webhooks/999", "", 404, ""},
		{"GET", "/_sim/nothing-here", "", 404, ""},
		{"DELETE", "/_sim/issues/" + key, "", 204, ""},
		{"DELETE", "/_sim/issues/" + key, "", 404, ""},
	}
	for _, s := range steps {
		st, m, raw := c.do(s.method, s.path, s.body)
		if st != s.status {
			t.Errorf("%s %s %s: status %d, want %d: %s", s.method, s.path, s.body, st, s.status, raw)
			continue
		}
		if s.field != "" && m["field"] != s.field {
			t.Errorf("%s %s %s: field %v, want %q: %s", s.method, s.path, s.body, m["field"], s.field, raw)
		}
		if st >= 400 && (m == nil || m["error"] == "") {
			t.Errorf("%s %s: error without message: %s", s.method, s.path, raw)
		}
	}
	state := w.State()
	if state.Deleted[len(state.Deleted)-1] == "" || !strings.HasPrefix(state.Deleted[len(state.Deleted)-1], "OPS-") {
		t.Errorf("deleted = %v (moved issue deleted under its new key)", state.Deleted)
	}
	if u := w.UserByEmail("pat.new@example.com"); u == nil {
		t.Error("created user not found")
	}
}

func TestSimWebhookRoutes(t *testing.T) {
	w, c := newSimServer(t)
	rcv := newHookReceiver(t)
	st, m, raw := c.do("POST", "/_sim/webhooks", `{"url":"`+rcv.srv.URL+`","secret":"topsecret","events":["comment_created"]}`)
	if st != 201 {
		t.Fatalf("register: %d %s", st, raw)
	}
	id := int64(m["id"].(float64))
	_, _, list := c.do("GET", "/_sim/webhooks", "")
	if bytes.Contains(list, []byte("topsecret")) || !bytes.Contains(list, []byte(rcv.srv.URL)) {
		t.Errorf("webhook list leaks the secret or lacks the URL: %s", list)
	}
	agent := w.Users[1].AccountID
	key := w.Issues[0].Key
	if st, _, raw := c.do("POST", "/_sim/issues/"+key+"/comments?actor="+agent, `{"body":"On it"}`); st != 201 {
		t.Fatalf("comment: %d %s", st, raw)
	}
	if st, _, _ := c.do("POST", "/_sim/webhooks/flush", ""); st != 204 {
		t.Fatalf("flush: %d", st)
	}
	got := rcv.events("comment_created")
	if len(got) != 1 {
		t.Fatalf("%d deliveries", len(got))
	}
	if got[0].header.Get("X-Hub-Signature") != "sha256="+HubSignature("topsecret", got[0].body) {
		t.Error("bad signature")
	}
	if got[0].event["user"].(map[string]any)["accountId"] != agent {
		t.Error("webhook user is not the actor")
	}
	if st, _, _ := c.do("DELETE", "/_sim/webhooks/"+itoa(int(id)), ""); st != 204 {
		t.Fatalf("delete webhook: %d", st)
	}
	// Attachments sent as base64 keep their bytes.
	pdf := minimalPDF([]string{"hello"})
	if st, _, raw := c.do("POST", "/_sim/issues/"+key+"/attachments", `{"filename":"r.pdf","contentBase64":"`+base64.StdEncoding.EncodeToString(pdf)+`"}`); st != 201 {
		t.Fatalf("attach: %d %s", st, raw)
	}
	w.RLock()
	iss := w.IssueByKey(key)
	last := iss.Attachments[len(iss.Attachments)-1]
	ok := bytes.Equal(last.Content, pdf) && last.MimeType == "application/pdf"
	w.RUnlock()
	if !ok {
		t.Error("attachment bytes or type lost")
	}
}
