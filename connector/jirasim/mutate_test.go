package jirasim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard"
)

// hookReceiver records webhook deliveries; failFirst makes the first attempt
// of each identifier fail with 500 to exercise retries.
type hookReceiver struct {
	mu        sync.Mutex
	got       []received
	failFirst bool
	seen      map[string]bool
	srv       *httptest.Server
}

type received struct {
	header http.Header
	body   []byte
	event  map[string]any
}

func newHookReceiver(t *testing.T) *hookReceiver {
	h := &hookReceiver{seen: map[string]bool{}}
	h.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var ev map[string]any
		_ = json.Unmarshal(b, &ev)
		h.mu.Lock()
		id := r.Header.Get("X-Atlassian-Webhook-Identifier")
		fail := h.failFirst && !h.seen[id]
		h.seen[id] = true
		h.got = append(h.got, received{r.Header.Clone(), b, ev})
		h.mu.Unlock()
		if fail {
			rw.WriteHeader(http.StatusInternalServerError)
			return
		}
		rw.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hookReceiver) events(name string) []received {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []received
	for _, r := range h.got {
		if r.event["webhookEvent"] == name {
			out = append(out, r)
		}
	}
	return out
}

func flush(t *testing.T, w *World) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := w.FlushWebhooks(ctx); err != nil {
		t.Fatal(err)
	}
}

func newTestWorld(t *testing.T) *World {
	w := Generate(GenerateOptions{Seed: 5, Issues: 60})
	w.SetBaseURL("http://sim.example")
	t.Cleanup(w.Close)
	return w
}

func str(s string) *string { return &s }

func TestCreateUpdateIssueWithSignedWebhook(t *testing.T) {
	w := newTestWorld(t)
	rcv := newHookReceiver(t)
	if _, err := w.RegisterWebhook(Webhook{URL: rcv.srv.URL, Secret: "s3cret", Events: []string{"jira:issue_created", "jira:issue_updated"}}); err != nil {
		t.Fatal(err)
	}
	agent := w.Users[1].AccountID
	before := len(w.Issues)
	iss, err := w.CreateIssue(agent, IssueCreate{ProjectKey: "itsm", Summary: "  Printer on floor 3 jammed ", Description: "It jams.\n\nEvery time.",
		Labels: []string{"printer"}, CustomFields: map[string][]string{FieldUserPicker: {agent}}})
	if err != nil {
		t.Fatal(err)
	}
	w.RLock()
	if iss.ID != "1006"+"0" || iss.Summary != "Printer on floor 3 jammed" || iss.Reporter != agent || iss.Status != "Open" || !iss.Created.Equal(iss.Updated) {
		t.Errorf("created issue = id %s summary %q reporter %s status %s", iss.ID, iss.Summary, iss.Reporter, iss.Status)
	}
	if !strings.HasPrefix(iss.Key, "ITSM-") || w.IssueByKey(iss.Key) != iss || w.IssueByIDOrKey(iss.ID) != iss || len(w.Issues) != before+1 {
		t.Errorf("lookup maps not updated for %s", iss.Key)
	}
	created, key := iss.Updated, iss.Key
	w.RUnlock()

	iss2, err := w.UpdateIssue(agent, key, IssueUpdate{Status: str("in progress"), Assignee: str(agent), Summary: str("Printer jammed (floor 3)")})
	if err != nil {
		t.Fatal(err)
	}
	w.RLock()
	if iss2.Status != "In Progress" || iss2.StatusCategory != "indeterminate" || iss2.Assignee != agent || !iss2.Updated.After(created) {
		t.Errorf("update not applied: %s %s %s %v", iss2.Status, iss2.StatusCategory, iss2.Assignee, iss2.Updated)
	}
	w.RUnlock()

	// Bad input changes nothing.
	snap := w.StateJSON()
	for _, u := range []IssueUpdate{
		{Status: str("Teleported")}, {Assignee: str("nobody")}, {SecurityLevelID: str("1")},
		{CustomFields: map[string][]string{"customfield_1": {"x"}}}, {Summary: str(" ")}, {}, {Labels: &[]string{"two words"}},
		{Summary: str("ok"), Priority: str("Urgent!")},
	} {
		if _, err := w.UpdateIssue(agent, key, u); !errors.Is(err, switchyard.ErrInvalid) {
			t.Errorf("update %+v: err = %v, want ErrInvalid", u, err)
		}
	}
	if _, err := w.UpdateIssue(agent, "ITSM-99999", IssueUpdate{Summary: str("x")}); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("unknown key: %v", err)
	}
	if _, err := w.CreateIssue("ghost", IssueCreate{ProjectKey: "ITSM", Summary: "x"}); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("unknown actor: %v", err)
	}
	if !bytes.Equal(snap, w.StateJSON()) {
		t.Error("rejected mutations changed the world")
	}

	flush(t, w)
	for _, ev := range []string{"jira:issue_created", "jira:issue_updated"} {
		got := rcv.events(ev)
		if len(got) != 1 {
			t.Fatalf("%s delivered %d times, want 1", ev, len(got))
		}
		r := got[0]
		if sig := r.header.Get("X-Hub-Signature"); sig != "sha256="+HubSignature("s3cret", r.body) {
			t.Errorf("%s: bad X-Hub-Signature %q", ev, sig)
		}
		if r.header.Get("X-Atlassian-Webhook-Identifier") == "" {
			t.Errorf("%s: no identifier", ev)
		}
		if u := r.event["user"].(map[string]any); u["accountId"] != agent {
			t.Errorf("%s: user = %v, want the acting account", ev, u["accountId"])
		}
		issue := r.event["issue"].(map[string]any)
		fields := issue["fields"].(map[string]any)
		if issue["key"] != key || issue["self"] != "http://sim.example/rest/api/3/issue/"+iss.ID || fields["project"].(map[string]any)["key"] != "ITSM" {
			t.Errorf("%s: issue = %v", ev, issue)
		}
		if _, ok := r.event["timestamp"].(float64); !ok {
			t.Errorf("%s: timestamp missing", ev)
		}
	}
	items := rcv.events("jira:issue_updated")[0].event["changelog"].(map[string]any)["items"].([]any)
	if len(items) != 3 {
		t.Errorf("changelog items = %v", items)
	}
}

func TestClockStrictlyIncreasing(t *testing.T) {
	w := newTestWorld(t)
	key := w.Issues[0].Key
	var last time.Time
	for i := 0; i < 50; i++ {
		iss, err := w.UpdateIssue("", key, IssueUpdate{Summary: str("rename " + itoa(i))})
		if err != nil {
			t.Fatal(err)
		}
		w.RLock()
		u := iss.Updated
		w.RUnlock()
		if !u.After(last) || u.Truncate(time.Millisecond) != u {
			t.Fatalf("update %d: updated %v not after %v or not whole ms", i, u, last)
		}
		last = u
	}
}

func TestDeleteIssueAuditAndWebhook(t *testing.T) {
	w := newTestWorld(t)
	rcv := newHookReceiver(t)
	w.RegisterWebhook(Webhook{URL: rcv.srv.URL, Events: []string{"jira:issue_deleted"}})
	iss := w.Issues[3]
	key, id := iss.Key, iss.ID
	if err := w.DeleteIssue("", key); err != nil {
		t.Fatal(err)
	}
	if err := w.DeleteIssue("", key); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	w.RLock()
	if w.IssueByKey(key) != nil || w.IssueByIDOrKey(id) != nil {
		t.Error("deleted issue still resolves")
	}
	rec := w.Audit[len(w.Audit)-1]
	w.RUnlock()
	if rec.TypeName != "ISSUE_DELETE" || rec.Name != key || rec.ObjectID != id || rec.Author != w.AdminAccountID() {
		t.Errorf("audit record = %+v", rec)
	}
	st := w.State()
	if st.Deleted[len(st.Deleted)-1] != key {
		t.Errorf("deleted = %v", st.Deleted)
	}
	if w.CanSee(w.AdminAccountID(), key, "") {
		t.Error("oracle sees a deleted issue")
	}
	flush(t, w)
	got := rcv.events("jira:issue_deleted")
	if len(got) != 1 || got[0].event["issue"].(map[string]any)["key"] != key {
		t.Fatalf("issue_deleted deliveries: %d", len(got))
	}
	if got[0].header.Get("X-Hub-Signature") != "" {
		t.Error("webhook without secret must not be signed")
	}
}

func TestCommentsLifecycle(t *testing.T) {
	w := newTestWorld(t)
	rcv := newHookReceiver(t)
	w.RegisterWebhook(Webhook{URL: rcv.srv.URL, Secret: "k", Events: []string{"comment_created", "comment_updated", "comment_deleted"}})
	var itsm *SimIssue
	for _, iss := range w.Issues {
		if iss.ProjectID == w.Projects[0].ID && iss.SecurityLevelID == "" {
			itsm = iss
			break
		}
	}
	key := itsm.Key
	agent := w.Users[1].AccountID
	// Group visibility given by name is normalised to the group id.
	c, err := w.AddComment(agent, key, TextToADF("Internal note: reset done"), &switchyard.Visibility{Type: "group", Value: "it-support"})
	if err != nil {
		t.Fatal(err)
	}
	w.RLock()
	itID := w.GroupByName("it-support").ID
	cid, vis := c.ID, *c.Visibility
	w.RUnlock()
	if vis.Identifier != itID || vis.Value != "it-support" {
		t.Errorf("visibility = %+v", vis)
	}
	var outsider string
	w.RLock()
	for _, u := range w.Users {
		if u.Active && w.CanSeeLocked(u.AccountID, itsm, nil) && !w.inGroup(u.AccountID, itID) {
			outsider = u.AccountID
			break
		}
	}
	w.RUnlock()
	if outsider != "" && w.CanSee(outsider, key, cid) {
		t.Errorf("non-member %s sees the it-support comment", outsider)
	}
	if !w.CanSee(w.AdminAccountID(), key, cid) {
		t.Error("admin cannot see the restricted comment")
	}
	if _, err := w.AddComment(agent, key, TextToADF("x"), &switchyard.Visibility{Type: "role", Value: "Wizards"}); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("unknown role: %v", err)
	}
	if _, err := w.AddComment(agent, key, json.RawMessage(`{"type":"paragraph"}`), nil); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("non-doc body: %v", err)
	}
	// Making it public through an update.
	if _, err := w.UpdateComment(agent, key, cid, TextToADF("Reset done, all good"), nil); err != nil {
		t.Fatal(err)
	}
	if outsider != "" && !w.CanSee(outsider, key, cid) {
		t.Error("comment made public is still hidden")
	}
	if err := w.DeleteComment(agent, key, cid); err != nil {
		t.Fatal(err)
	}
	if err := w.DeleteComment(agent, key, cid); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("second delete: %v", err)
	}
	flush(t, w)
	for _, ev := range []string{"comment_created", "comment_updated", "comment_deleted"} {
		got := rcv.events(ev)
		if len(got) != 1 {
			t.Fatalf("%s delivered %d times", ev, len(got))
		}
		cm := got[0].event["comment"].(map[string]any)
		if cm["id"] != cid || got[0].event["issue"].(map[string]any)["key"] != key {
			t.Errorf("%s payload: %v", ev, got[0].event)
		}
		if got[0].header.Get("X-Hub-Signature") != "sha256="+HubSignature("k", got[0].body) {
			t.Errorf("%s: bad signature", ev)
		}
	}
	if v := rcv.events("comment_created")[0].event["comment"].(map[string]any)["visibility"].(map[string]any); v["identifier"] != itID {
		t.Errorf("comment_created visibility = %v", v)
	}
}

func TestAttachmentAndMove(t *testing.T) {
	w := newTestWorld(t)
	var src *SimIssue
	for _, iss := range w.Issues {
		if iss.ProjectID == w.Projects[2].ID && iss.SecurityLevelID != "" { // SEC issue with a level
			src = iss
			break
		}
	}
	if src == nil {
		src = w.Issues[2]
	}
	oldKey, id := src.Key, src.ID
	a, err := w.AddAttachment("", oldKey, "trace.log", "", []byte("line 1\nline 2\n"))
	if err != nil {
		t.Fatal(err)
	}
	if a.MimeType != "text/plain" || a.ID < "200000" {
		t.Errorf("attachment = %+v", a)
	}
	if _, err := w.AddAttachment("", oldKey, "../etc/passwd", "", nil); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("path filename: %v", err)
	}
	if _, err := w.AddAttachment("", oldKey, "big.bin", "", make([]byte, MaxAttachmentSize+1)); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("oversized: %v", err)
	}
	moved, err := w.MoveIssue("", oldKey, "OPS")
	if err != nil {
		t.Fatal(err)
	}
	w.RLock()
	newKey := moved.Key
	if !strings.HasPrefix(newKey, "OPS-") || moved.ID != id || moved.ProjectID != w.ProjectByKey("OPS").ID || moved.SecurityLevelID != "" {
		t.Errorf("moved = %s id %s project %s level %q", moved.Key, moved.ID, moved.ProjectID, moved.SecurityLevelID)
	}
	if w.IssueByKey(oldKey) != moved || w.IssueByKey(newKey) != moved {
		t.Error("old and new keys must both resolve")
	}
	w.RUnlock()
	if _, err := w.MoveIssue("", newKey, "OPS"); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("move to same project: %v", err)
	}
	if _, err := w.MoveIssue("", newKey, "NOPE"); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("move to unknown project: %v", err)
	}
	// A new issue in OPS must not reuse the moved issue's key.
	iss, err := w.CreateIssue("", IssueCreate{ProjectKey: "OPS", Summary: "after move"})
	if err != nil {
		t.Fatal(err)
	}
	if iss.Key == newKey {
		t.Errorf("key %s reused", newKey)
	}
	st := w.State()
	for _, si := range st.Issues {
		if si.ID == id && si.Key != newKey {
			t.Errorf("state has %s for moved issue", si.Key)
		}
	}
}

func TestPermissionMutations(t *testing.T) {
	w := newTestWorld(t)
	admin := w.AdminAccountID()
	w.RLock()
	p := w.ProjectByKey("HR")
	hr := w.GroupByName("hr-team")
	var bob string
	for _, u := range w.Users[1:] {
		if u.Active && u.AccountType == "atlassian" && !w.inGroup(u.AccountID, hr.ID) && !w.inGroup(u.AccountID, w.GroupByName(GroupAdministrators).ID) && p.LeadAccountID != u.AccountID {
			bob = u.AccountID
			break
		}
	}
	var key string
	for _, iss := range w.Issues {
		if iss.ProjectID == p.ID && iss.SecurityLevelID == "" && iss.Reporter != bob && !w.CanSeeLocked(bob, iss, nil) {
			key = iss.Key
			break
		}
	}
	hrID := hr.ID
	w.RUnlock()
	if key == "" {
		t.Fatal("fixture: no HR issue hidden from the test user")
	}
	// Group membership grants through the browse grant on hr-team.
	if err := w.AddGroupMember("", "hr-team", bob); err != nil {
		t.Fatal(err)
	}
	if !w.CanSee(bob, key, "") {
		t.Error("member of hr-team should see HR issue")
	}
	if err := w.AddGroupMember("", hrID, bob); !errors.Is(err, switchyard.ErrConflict) {
		t.Errorf("double add: %v", err)
	}
	if err := w.RemoveGroupMember("", hrID, bob); err != nil {
		t.Fatal(err)
	}
	if w.CanSee(bob, key, "") {
		t.Error("removed member still sees HR issue")
	}
	if err := w.RemoveGroupMember("", hrID, bob); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("remove non-member: %v", err)
	}
	if err := w.AddGroupMember("", "no-such-group", bob); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("unknown group: %v", err)
	}

	// Browse grants.
	if err := w.SetBrowseGrants("", "HR", []switchyard.Holder{{Type: "group", Parameter: "bogus"}}); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("bad grant: %v", err)
	}
	if err := w.SetBrowseGrants("", "HR", []switchyard.Holder{{Type: "user", Parameter: bob}}); err != nil {
		t.Fatal(err)
	}
	if !w.CanSee(bob, key, "") || w.CanSee(admin, key, "") {
		t.Error("browse grants not applied")
	}
	// Role actors.
	if err := w.SetBrowseGrants("", "HR", []switchyard.Holder{{Type: "projectRole", Parameter: RoleDevelopers}}); err != nil {
		t.Fatal(err)
	}
	if err := w.SetRoleActors("", "HR", RoleDevelopers, switchyard.RoleActors{Users: []string{}, Groups: []string{hrID}}); err != nil {
		t.Fatal(err)
	}
	if w.CanSee(bob, key, "") {
		t.Error("bob is not in the role's group")
	}
	if err := w.SetRoleActors("", "HR", RoleDevelopers, switchyard.RoleActors{Users: []string{bob}}); err != nil {
		t.Fatal(err)
	}
	if !w.CanSee(bob, key, "") {
		t.Error("bob as user actor should see")
	}
	if err := w.SetRoleActors("", "HR", "77777", switchyard.RoleActors{}); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("unknown role: %v", err)
	}
	// Security level members.
	w.RLock()
	level := p.SecurityLevels[0].ID
	w.RUnlock()
	if _, err := w.UpdateIssue("", key, IssueUpdate{SecurityLevelID: str(level)}); err != nil {
		t.Fatal(err)
	}
	if err := w.SetSecurityLevelMembers("", "HR", level, []switchyard.Holder{{Type: "user", Parameter: admin}}); err != nil {
		t.Fatal(err)
	}
	if w.CanSee(bob, key, "") {
		t.Error("level excludes bob")
	}
	if err := w.SetSecurityLevelMembers("", "HR", level, []switchyard.Holder{{Type: "user", Parameter: bob}}); err != nil {
		t.Fatal(err)
	}
	if !w.CanSee(bob, key, "") {
		t.Error("level admits bob")
	}
	// Deactivation hides everything; reactivation restores.
	if err := w.SetUserActive("", bob, false); err != nil {
		t.Fatal(err)
	}
	if w.CanSee(bob, key, "") {
		t.Error("inactive user sees an issue")
	}
	if err := w.SetUserActive("", bob, true); err != nil {
		t.Fatal(err)
	}
	if !w.CanSee(bob, key, "") {
		t.Error("reactivated user lost access")
	}
	w.RLock()
	var types []string
	for _, a := range w.Audit {
		types = append(types, a.Summary)
	}
	w.RUnlock()
	want := []string{"User added to group", "User removed from group", "Permission scheme updated", "Permission scheme updated",
		"Project roles changed", "Project roles changed", "Issue security level updated", "Issue security level updated", "User deactivated", "User activated"}
	if strings.Join(types, "|") != strings.Join(want, "|") {
		t.Errorf("audit = %v\nwant %v", types, want)
	}
}

func TestCreateUser(t *testing.T) {
	w := newTestWorld(t)
	u, err := w.CreateUser("", UserCreate{DisplayName: "New Starter", Email: "new.starter@example.com", HideEmail: true, Groups: []string{"it-support"}})
	if err != nil {
		t.Fatal(err)
	}
	w.RLock()
	id := u.AccountID
	if u.Email != "" || u.HiddenEmail != "new.starter@example.com" || w.UserByEmail("NEW.starter@example.com") != u || w.UserByID(id) != u {
		t.Errorf("user = %+v", u)
	}
	if gs := w.GroupsOfUser(id); len(gs) != 1 || gs[0].Name != "it-support" {
		t.Errorf("groups = %v", gs)
	}
	w.RUnlock()
	if _, err := w.CreateUser("", UserCreate{DisplayName: "Dup", Email: "new.starter@example.com"}); !errors.Is(err, switchyard.ErrConflict) {
		t.Errorf("duplicate email: %v", err)
	}
	if _, err := w.CreateUser("", UserCreate{DisplayName: "X", Email: "x@example.com", AccountType: "robot"}); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("bad type: %v", err)
	}
	u2, err := w.CreateUser("", UserCreate{DisplayName: "Another", Email: "another@example.com"})
	if err != nil || u2.AccountID == id || len(u2.AccountID) != 24 {
		t.Errorf("second user id %q (err %v)", u2.AccountID, err)
	}
}

func TestWebhookDuplicatesAndRetries(t *testing.T) {
	w := newTestWorld(t)
	w.DuplicateRate = 1
	rcv := newHookReceiver(t)
	rcv.failFirst = true
	w.RegisterWebhook(Webhook{URL: rcv.srv.URL, Secret: "x", Events: []string{"jira:issue_updated"}})
	for i := 0; i < 3; i++ {
		if _, err := w.UpdateIssue("", w.Issues[i].Key, IssueUpdate{Priority: str("Highest")}); err != nil {
			t.Fatal(err)
		}
	}
	flush(t, w)
	got := rcv.events("jira:issue_updated")
	// Each event: a failed attempt, a retry, then a duplicate re-delivery.
	byID := map[string][]received{}
	for _, r := range got {
		id := r.header.Get("X-Atlassian-Webhook-Identifier")
		byID[id] = append(byID[id], r)
	}
	if len(byID) != 3 {
		t.Fatalf("%d distinct identifiers, want 3", len(byID))
	}
	for id, rs := range byID {
		if len(rs) != 3 {
			t.Errorf("identifier %s delivered %d times, want 3 (fail, retry, duplicate)", id, len(rs))
			continue
		}
		if rs[1].header.Get("X-Atlassian-Webhook-Retry") != "1" {
			t.Errorf("retry header = %q", rs[1].header.Get("X-Atlassian-Webhook-Retry"))
		}
		if !bytes.Equal(rs[0].body, rs[2].body) {
			t.Error("duplicate body differs")
		}
	}
}

func TestDynamicWebhookJWT(t *testing.T) {
	w := newTestWorld(t)
	rcv := newHookReceiver(t)
	h1, err := w.RegisterWebhook(Webhook{URL: rcv.srv.URL, Dynamic: true, ClientID: "app1", ClientSecret: "client-secret",
		Events: []string{"jira:issue_created"}, JQLFilter: "project = ITSM", Expires: time.Now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	h2, _ := w.RegisterWebhook(Webhook{URL: rcv.srv.URL, Dynamic: true, ClientID: "app1", ClientSecret: "client-secret",
		Events: []string{"jira:issue_created"}, JQLFilter: "project = OPS"})
	if _, err := w.RegisterWebhook(Webhook{URL: rcv.srv.URL, Dynamic: true, Events: []string{"jira:issue_created"}}); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("dynamic without secret: %v", err)
	}
	// The REST layer owns JQL; a tiny matcher stands in for it here.
	w.SetWebhookJQLMatcher(func(jql string, iss *SimIssue) bool {
		return strings.HasPrefix(iss.Key, strings.TrimPrefix(jql, "project = ")+"-")
	})
	actor := w.Users[1].AccountID
	if _, err := w.CreateIssue(actor, IssueCreate{ProjectKey: "ITSM", Summary: "VPN down"}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.CreateIssue(actor, IssueCreate{ProjectKey: "HR", Summary: "Payslip"}); err != nil {
		t.Fatal(err)
	}
	w.SetWebhookJQLMatcher(nil)
	if _, err := w.CreateIssue(actor, IssueCreate{ProjectKey: "SEC", Summary: "Phish"}); err != nil {
		t.Fatal(err)
	}
	flush(t, w)
	got := rcv.events("jira:issue_created")
	if len(got) != 2 {
		t.Fatalf("%d deliveries, want 2 (ITSM matched h1; SEC matched both with no matcher; HR none)", len(got))
	}
	// Two workers deliver, so order is not guaranteed: index by project.
	matched := map[string][]any{}
	for _, r := range got {
		key := r.event["issue"].(map[string]any)["key"].(string)
		matched[key[:strings.IndexByte(key, '-')]] = r.event["matchedWebhookIds"].([]any)
	}
	if m := matched["ITSM"]; len(m) != 1 || m[0] != float64(h1.ID) {
		t.Errorf("ITSM matchedWebhookIds = %v", m)
	}
	if m := matched["SEC"]; len(m) != 2 || m[0] != float64(h1.ID) || m[1] != float64(h2.ID) {
		t.Errorf("SEC matchedWebhookIds = %v", m)
	}
	for _, r := range got {
		auth := r.header.Get("Authorization")
		if !strings.HasPrefix(auth, "Bearer ") {
			t.Fatalf("Authorization = %q", auth)
		}
		claims, err := VerifyJWT(strings.TrimPrefix(auth, "Bearer "), "client-secret")
		if err != nil {
			t.Fatal(err)
		}
		if claims["aud"] != "app1" {
			t.Errorf("claims = %v", claims)
		}
		if _, err := VerifyJWT(strings.TrimPrefix(auth, "Bearer "), "wrong"); err == nil {
			t.Error("JWT verified with the wrong secret")
		}
		if r.header.Get("X-Hub-Signature") != "" {
			t.Error("dynamic webhook carries X-Hub-Signature")
		}
	}
}

func TestCloseStopsDelivery(t *testing.T) {
	w := Generate(GenerateOptions{Seed: 5, Issues: 20})
	rcv := newHookReceiver(t)
	w.RegisterWebhook(Webhook{URL: rcv.srv.URL, Events: []string{"jira:issue_updated"}})
	w.UpdateIssue("", w.Issues[0].Key, IssueUpdate{Priority: str("Low")})
	flush(t, w)
	w.Close()
	w.Close()
	if _, err := w.UpdateIssue("", w.Issues[0].Key, IssueUpdate{Priority: str("High")}); err != nil {
		t.Fatal(err)
	}
	flush(t, w)
	if n := len(rcv.events("jira:issue_updated")); n != 1 {
		t.Errorf("%d deliveries, want 1 (none after Close)", n)
	}
}

// Concurrent writers, readers and webhook delivery: run under -race.
func TestConcurrentMutationsAndReads(t *testing.T) {
	w := newTestWorld(t)
	rcv := newHookReceiver(t)
	w.RegisterWebhook(Webhook{URL: rcv.srv.URL, Secret: "s", Events: WebhookEvents})
	admin := w.AdminAccountID()
	firstID := w.Issues[0].ID
	var wg sync.WaitGroup
	keys := make(chan string, 40)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				iss, err := w.CreateIssue("", IssueCreate{ProjectKey: "OPS", Summary: "concurrent " + itoa(g*10+i)})
				if err != nil {
					t.Error(err)
					return
				}
				w.RLock()
				k := iss.Key
				w.RUnlock()
				keys <- k
				if _, err := w.AddComment("", k, TextToADF("hi"), nil); err != nil {
					t.Error(err)
				}
			}
		}(g)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; i < 20; i++ {
			_ = w.State()
			w.CanSee(admin, firstID, "")
		}
	}()
	wg.Wait()
	close(keys)
	seen := map[string]bool{}
	for k := range keys {
		if seen[k] {
			t.Errorf("key %s issued twice", k)
		}
		seen[k] = true
		if !w.CanSee(admin, k, "") {
			t.Errorf("admin cannot see %s", k)
		}
	}
	flush(t, w)
	if n := len(rcv.events("jira:issue_created")); n != 40 {
		t.Errorf("%d issue_created deliveries, want 40", n)
	}
	if n := len(rcv.events("comment_created")); n != 40 {
		t.Errorf("%d comment_created deliveries, want 40", n)
	}
}
