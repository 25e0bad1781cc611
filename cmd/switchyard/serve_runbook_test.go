package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchyard/connector/jirasim"
	"switchyard/runbook"
	"switchyard/store"
)

// TestServeRunbookWriteBack: serve wires the runbook pipeline: a ticket
// ingested through the API waits for approval; the approval runs the sandbox
// executor and exactly one comment lands on the simulator's issue.
func TestServeRunbookWriteBack(t *testing.T) {
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 3, Projects: 4, Issues: 20}})
	hs := httptest.NewServer(sim)
	sim.SetBaseURL(hs.URL)
	defer func() { hs.Close(); sim.Close() }()
	dir := t.TempDir()
	cfgPath := writeServeConfig(t, dir, hs.URL, sim.AdminEmail())
	b, _ := os.ReadFile(cfgPath)
	cfg := string(b) + fmt.Sprintf("approvals: {sandbox: false, approvers: [%s]}\nclassify: {index: %s}\n", sim.AdminEmail(), filepath.Join(dir, "examples.bleve"))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	adminKey := store.GenerateAPIKeySecret()
	t.Setenv("SWITCHYARD_ADMIN_KEY", adminKey)
	p := startServe(t, cfgPath)
	waitFirstSync(t, p, adminKey)

	// Jira holds the ticket's text (ingest classifies Jira's text), filed by
	// someone other than the approver (who may not decide their own request).
	w := sim.World()
	iss, err := w.CreateIssue("", jirasim.IssueCreate{ProjectKey: "ITSM", IssueType: "Service Request", Summary: "Lost my MFA token",
		Description: "My MFA token is lost, please reset my authenticator.", Reporter: otherUser(t, sim)})
	if err != nil {
		t.Fatal(err)
	}
	bearer := adminKey // the admin key, then a key bound to the approver
	post := func(path string, body any, v any) int {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", p.url+path, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+bearer)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		_ = json.NewDecoder(res.Body).Decode(v)
		return res.StatusCode
	}
	var ing struct {
		State      string `json:"state"`
		Intent     string `json:"intent"`
		ApprovalID int64  `json:"approvalId"`
	}
	code := post("/api/v1/tickets/ingest", map[string]any{"source": "jira", "ticket": map[string]string{
		"issueKey": iss.Key, "summary": "Lost my MFA token", "description": "My MFA token is lost, please reset my authenticator.",
		"reporterEmail": "someone@example.com"}}, &ing)
	if code != http.StatusCreated || ing.State != "pending_approval" || ing.ApprovalID == 0 {
		t.Fatalf("ingest: %d %+v", code, ing)
	}
	// Only a key bound to a Jira account decides (keys create --as, here
	// through the API): the approver's, by their e-mail.
	var created struct {
		Secret string `json:"secret"`
		Key    struct {
			AccountID string `json:"accountId"`
		} `json:"key"`
	}
	if code := post("/api/v1/keys", map[string]any{"name": "approver", "scopes": []string{"approvals:decide"}, "as": sim.AdminEmail()}, &created); code != http.StatusCreated || created.Key.AccountID != w.AdminAccountID() {
		t.Fatalf("create a key bound to the approver: %d %+v", code, created.Key)
	}
	var refused map[string]any
	if code := post(fmt.Sprintf("/api/v1/approvals/%d/decision", ing.ApprovalID), map[string]string{"decision": "approve"}, &refused); code != http.StatusForbidden {
		t.Fatalf("the unbound admin key decided: %d %v", code, refused)
	}
	bearer = created.Secret
	var run runbook.Run
	if code := post(fmt.Sprintf("/api/v1/approvals/%d/decision", ing.ApprovalID), map[string]string{"decision": "approve", "approver": sim.AdminEmail()}, &run); code != http.StatusOK {
		t.Fatalf("decision: %d", code)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		w.RLock()
		var bodies []string
		for _, c := range w.IssueByKey(iss.Key).Comments {
			bodies = append(bodies, string(c.Body))
		}
		w.RUnlock()
		if len(bodies) == 1 && strings.Contains(bodies[0], "APPROVED") {
			break
		}
		if len(bodies) > 1 || time.Now().After(deadline) {
			t.Fatalf("comments on %s: %q; want exactly one APPROVED write-back", iss.Key, bodies)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var v struct {
		OK bool `json:"ok"`
	}
	if code := getJSON(t, p.url+"/api/v1/audit/verify", adminKey, &v); code != 200 || !v.OK {
		t.Errorf("audit verify: %d %+v", code, v)
	}
}

// otherUser is an active simulator account that is not the admin.
func otherUser(t *testing.T, sim *jirasim.Server) string {
	t.Helper()
	w := sim.World()
	w.RLock()
	defer w.RUnlock()
	for _, u := range w.Users {
		if u.Active && u.AccountID != w.AdminAccountID() && u.AccountType == "atlassian" && u.Email != "" {
			return u.AccountID
		}
	}
	t.Fatal("the simulator has no second user")
	return ""
}
