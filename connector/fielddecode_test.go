package connector_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector"
	"switchyard/store"
)

// dcPage is a /rest/api/2/search page in the Data Center shape, written for
// this test: KEEP-2 carries a priority as a bare string, a number where the
// issue type object belongs, a comment with an object for its id and an
// attachment list entry that is a string. KEEP-3 has a security field that
// is a bare number.
const dcPage = `{"expand":"schema,names","startAt":0,"maxResults":50,"total":3,"issues":[
 {"id":"10001","key":"KEEP-1","self":"https://jira.example.com/jira/rest/api/2/issue/10001","fields":{
   "summary":"VPN drops every hour","project":{"id":"10100","key":"KEEP","name":"Keep"},
   "priority":{"id":"2","name":"High"},"issuetype":{"id":"1","name":"Bug"},
   "created":"2019-03-04T10:15:00.000-0700","updated":"2019-03-05T08:00:00.000+0000",
   "reporter":{"name":"jdoe","key":"JIRAUSER10100","displayName":"Jane Doe"},
   "comment":{"comments":[],"maxResults":0,"total":0,"startAt":0}}},
 {"id":"10002","key":"KEEP-2","fields":{
   "summary":"Printer on floor 3 jams","project":{"id":"10100","key":"KEEP"},
   "priority":"High","issuetype":7,
   "created":"2019-03-04T11:00:00.000+0000","updated":"2019-03-06T09:30:00.000+0100",
   "status":{"name":"Open","statusCategory":{"key":"new"}},
   "attachment":["jam.jpg",{"id":"20001","filename":"tray.png","mimeType":"image/png","size":1234,"created":"2019-03-04T11:01:00.000+0000","content":"https://jira.example.com/jira/secure/attachment/20001/tray.png"}],
   "comment":{"comments":[
     {"id":{"n":1},"body":"lost","created":"2019-03-04T11:05:00.000+0000"},
     {"id":"30002","body":"Tray 2 is empty","visibility":{"type":"role","value":"Developers"},
      "author":{"name":"jdoe","key":"JIRAUSER10100"},"created":"2019-03-04T11:06:00.000+0000","updated":"2019-03-04T11:06:00.000+0000"}],
    "maxResults":2,"total":2,"startAt":0}}},
 {"id":"10003","key":"KEEP-3","fields":{
   "summary":"Payroll export","project":{"id":"10100","key":"KEEP"},"security":10001,
   "assignee":{"self":"https://jira.example.com/jira/rest/api/2/user?username=ops.lead","displayName":"Ops Lead"},
   "attachment":[{"filename":"export.csv","mimeType":"text/csv","size":99,"created":"2019-03-04T12:00:00.000+0000","content":"https://jira.example.com/jira/secure/attachment/20002/export.csv"}],
   "created":"2019-03-04T12:00:00.000+0000","updated":"2019-03-04T12:00:00.000+0000"}}]}`

// TestFieldByFieldDecode: one issue with fields of unexpected shapes does not
// fail its page; the bad fields are recorded on the issue, survive the store,
// and an unreadable security field hides the issue (fail closed) instead of
// making it public.
func TestFieldByFieldDecode(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.URL.Path != "/rest/api/2/search" {
			http.NotFound(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, dcPage)
	}))
	defer ts.Close()
	c, err := connector.New(connector.Options{Name: "dc", Mode: switchyard.ModeDataCenter, BaseURL: ts.URL,
		Auth: connector.PATAuth("pat"), RequestsPerSecond: 1000})
	if err != nil {
		t.Fatal(err)
	}
	issues, total, err := c.Search(context.Background(), "project = KEEP", 0, 50)
	if err != nil {
		t.Fatalf("one bad issue failed the page: %v", err)
	}
	if total != 3 || len(issues) != 3 {
		t.Fatalf("got %d issues (total %d), want all 3", len(issues), total)
	}
	byKey := map[string]switchyard.Issue{}
	for _, is := range issues {
		byKey[is.Key] = is
	}
	good, bad, sec := byKey["KEEP-1"], byKey["KEEP-2"], byKey["KEEP-3"]
	if len(good.FieldErrors) != 0 || good.Priority != "High" || good.IssueType != "Bug" ||
		!good.Created.Equal(time.Date(2019, 3, 4, 17, 15, 0, 0, time.UTC)) || good.Reporter != "JIRAUSER10100" {
		t.Errorf("KEEP-1 (all fields well-formed): %+v", good)
	}
	fields := map[string]string{}
	for _, fe := range bad.FieldErrors {
		fields[fe.Field] = fe.Error
	}
	for _, f := range []string{"priority", "issuetype", "attachment[0]", "comment.comments[0]"} {
		if fields[f] == "" {
			t.Errorf("KEEP-2: field %s not recorded; recorded %v", f, bad.FieldErrors)
		}
	}
	if !strings.Contains(fields["priority"], `"High"`) || !strings.Contains(fields["priority"], "string") {
		t.Errorf("KEEP-2 priority error should name the value and its shape: %q", fields["priority"])
	}
	if bad.Summary != "Printer on floor 3 jams" || bad.Status != "Open" || bad.ProjectID != "10100" || bad.Priority != "" ||
		!bad.Updated.Equal(time.Date(2019, 3, 6, 8, 30, 0, 0, time.UTC)) {
		t.Errorf("KEEP-2 readable fields lost: %+v", bad)
	}
	if len(bad.Attachments) != 1 || bad.Attachments[0].ID != "20001" || bad.Attachments[0].Size != 1234 {
		t.Errorf("KEEP-2 attachments %+v, want only 20001", bad.Attachments)
	}
	if len(bad.Comments) != 1 || bad.Comments[0].ID != "30002" || bad.Comments[0].Visibility == nil ||
		bad.Comments[0].Visibility.Value != "Developers" || bad.Comments[0].Body != "Tray 2 is empty" {
		t.Errorf("KEEP-2 comments %+v, want only 30002 restricted to Developers", bad.Comments)
	}
	// A user named only by its self URL, an attachment only by its content URL.
	if sec.Assignee != "ops.lead" || len(sec.Attachments) != 1 || sec.Attachments[0].ID != "20002" {
		t.Errorf("KEEP-3 assignee %q attachments %+v; want ops.lead and attachment 20002", sec.Assignee, sec.Attachments)
	}
	if sec.SecurityLevelID == "" || len(sec.FieldErrors) != 1 || sec.FieldErrors[0].Field != "security" {
		t.Errorf("KEEP-3 unreadable security: level %q errors %v; want a level that nobody holds and the field recorded",
			sec.SecurityLevelID, sec.FieldErrors)
	}

	// The record survives the store.
	db, err := store.Open(filepath.Join(t.TempDir(), "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if err := db.PutIssue(ctx, "dc", bad); err != nil {
		t.Fatal(err)
	}
	got, err := db.Issue(ctx, "dc", "KEEP-2")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got.FieldErrors, bad.FieldErrors) {
		t.Errorf("stored field errors %v, want %v", got.FieldErrors, bad.FieldErrors)
	}
}
