package connector

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"switchyard"
)

func TestBulkFetchMapsV3Issue(t *testing.T) {
	fixture, err := os.ReadFile("testdata/bulkfetch_v3.json")
	if err != nil {
		t.Fatal(err)
	}
	var req map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/rest/api/3/issue/bulkfetch" {
			t.Errorf("%s %s", r.Method, r.URL.Path)
		}
		json.NewDecoder(r.Body).Decode(&req)
		w.Write(fixture)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, func(o *Options) { o.CustomFields = []string{"customfield_10050", "customfield_10051"} })
	issues, err := c.BulkFetch(context.Background(), []string{"10001", "10002", "99999"})
	if err != nil {
		t.Fatal(err)
	}
	// The request asks for exactly the fields the sync needs, plus custom fields.
	fields, _ := req["fields"].([]any)
	if len(fields) != len(issueFields)+2 || fields[len(fields)-1] != "customfield_10051" {
		t.Fatalf("requested fields %v", fields)
	}
	if ids, _ := req["issueIdsOrKeys"].([]any); len(ids) != 3 {
		t.Fatalf("issueIdsOrKeys %v", req["issueIdsOrKeys"])
	}
	if len(issues) != 2 {
		t.Fatalf("got %d issues, want 2 (the missing one is skipped)", len(issues))
	}
	is := issues[0]
	want := switchyard.Issue{
		ID: "10001", Key: "ITSM-1", ProjectID: "10000", ProjectKey: "ITSM", Summary: "VPN drops every 10 minutes",
		IssueType: "Incident", Status: "In Progress", StatusCategory: "indeterminate", Priority: "High",
		Labels: []string{"vpn", "network"}, Reporter: "acc-1", Assignee: "acc-2",
		Created:         time.Date(2026, 3, 1, 8, 15, 0, 0, time.UTC),
		Updated:         time.Date(2026, 3, 2, 10, 0, 0, 123e6, time.UTC),
		SecurityLevelID: "10100",
		CustomFields:    map[string][]string{"customfield_10050": {"acc-3", "acc-4"}, "customfield_10051": {"g-1"}},
		URL:             srv.URL + "/browse/ITSM-1",
		CommentTotal:    23,
	}
	got := is
	got.Description, got.Comments, got.Attachments = "", nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("issue\n got %+v\nwant %+v", got, want)
	}
	// Description is Markdown: mention resolved, link kept, code with language.
	for _, s := range []string{"Sarah", "[the runbook](https://wiki.example/vpn)", "```bash", "ping -c 3 vpn.example"} {
		if !strings.Contains(is.Description, s) {
			t.Errorf("description %q lacks %q", is.Description, s)
		}
	}
	if strings.Contains(is.Description, `"type"`) {
		t.Errorf("description is raw ADF: %q", is.Description)
	}
	if len(is.Comments) != 2 {
		t.Fatalf("comments %+v", is.Comments)
	}
	c0, c1 := is.Comments[0], is.Comments[1]
	if c0.ID != "20001" || c0.Author != "acc-2" || c0.Body != "Looking into it" || c0.Visibility != nil || c0.IssueID != "10001" {
		t.Errorf("comment 0 %+v", c0)
	}
	if c1.Visibility == nil || *c1.Visibility != (switchyard.Visibility{Type: "role", Value: "Service Desk Team", Identifier: "Service Desk Team"}) {
		t.Errorf("comment 1 visibility %+v", c1.Visibility)
	}
	if c1.Body != "**Internal note**" || !c1.Updated.Equal(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) {
		t.Errorf("comment 1 %+v", c1)
	}
	wantAtt := switchyard.Attachment{ID: "30001", IssueID: "10001", Filename: "vpn.log", MimeType: "text/plain", Size: 2048,
		Created: time.Date(2026, 3, 1, 9, 20, 0, 0, time.UTC), ContentURL: "https://acme.atlassian.net/rest/api/3/attachment/content/30001"}
	if len(is.Attachments) != 1 || is.Attachments[0] != wantAtt {
		t.Errorf("attachments %+v", is.Attachments)
	}
	empty := issues[1]
	if empty.Description != "" || empty.Reporter != "" || empty.Priority != "" || empty.SecurityLevelID != "" || empty.CommentTotal != 0 {
		t.Errorf("empty issue %+v", empty)
	}
}

func TestBulkFetchRejectsTooMany(t *testing.T) {
	c, err := New(Options{BaseURL: "https://acme.atlassian.net", Auth: APITokenAuth("a@b.c", "t")})
	if err != nil {
		t.Fatal(err)
	}
	ids := make([]string, 101)
	if _, err := c.BulkFetch(context.Background(), ids); err == nil || !strings.Contains(err.Error(), "101") {
		t.Fatalf("err = %v", err)
	}
}

func TestHolderMapping(t *testing.T) {
	tests := []struct {
		in   holderJSON
		want switchyard.Holder
	}{
		{holderJSON{Type: "group", Parameter: "jira-users", Value: "g-uuid"}, switchyard.Holder{Type: "group", Parameter: "g-uuid"}},
		{holderJSON{Type: "group", Parameter: "jira-users"}, switchyard.Holder{Type: "group", Parameter: "jira-users"}},
		{holderJSON{Type: "projectRole", Parameter: "10002", Value: "10002"}, switchyard.Holder{Type: "projectRole", Parameter: "10002"}},
		{holderJSON{Type: "user", Value: "acc-1"}, switchyard.Holder{Type: "user", Parameter: "acc-1"}},
		{holderJSON{Type: "applicationRole"}, switchyard.Holder{Type: "applicationRole"}},
		{holderJSON{Type: "anyone", Parameter: "x"}, switchyard.Holder{Type: "anyone"}},
		{holderJSON{Type: "reporter"}, switchyard.Holder{Type: "reporter"}},
		{holderJSON{Type: "userCustomField", Parameter: "customfield_10050"}, switchyard.Holder{Type: "userCustomField", Parameter: "customfield_10050"}},
		{holderJSON{Type: "sd.customer.portal.only"}, switchyard.Holder{Type: "sd.customer.portal.only"}},
		{holderJSON{Type: "somethingNew", Parameter: "p"}, switchyard.Holder{Type: "somethingNew", Parameter: "p"}},
	}
	for _, tt := range tests {
		if got := tt.in.holder(); got != tt.want {
			t.Errorf("%+v → %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

func TestUsersPagesUntilShort(t *testing.T) {
	// The server caps pages at 7 users below what we ask: paging must not
	// stop at the first capped page.
	const total = 30
	var calls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls++
		start := atoi(r.URL.Query().Get("startAt"))
		var out []map[string]any
		for i := start; i < total && i < start+7; i++ {
			out = append(out, map[string]any{"accountId": "acc-" + itoa(i), "displayName": "U", "active": true})
		}
		if out == nil {
			io.WriteString(w, "[]")
			return
		}
		json.NewEncoder(w).Encode(out)
	}))
	defer srv.Close()
	c, _ := newTestClient(t, srv, nil)
	seen := map[string]bool{}
	err := c.Users(context.Background(), func(us []switchyard.User) error {
		for _, u := range us {
			if seen[u.AccountID] {
				t.Errorf("duplicate %s", u.AccountID)
			}
			seen[u.AccountID] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Fatalf("got %d users, want %d", len(seen), total)
	}
	if calls != 5 { // 7+7+7+7+2: the short fifth page ends it
		t.Fatalf("calls = %d, want 5", calls)
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
