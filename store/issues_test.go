package store

import (
	"context"
	"errors"
	"reflect"
	"testing"
	"time"

	"switchyard"
)

func testIssue(id, key string) switchyard.Issue {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 6_000_000, time.UTC)
	return switchyard.Issue{
		ID: id, Key: key, ProjectID: "10000", ProjectKey: "P", Summary: "VPN broken " + key,
		Description: "It **fails**", IssueType: "Task", Status: "Open", Priority: "High", Labels: []string{"vpn"},
		Reporter: "r1", Assignee: "a1", Created: t0, Updated: t0.Add(time.Hour), SecurityLevelID: "10100",
		CustomFields: map[string][]string{"customfield_10050": {"u9", "g1"}}, URL: "https://x/browse/" + key,
		Comments: []switchyard.Comment{{ID: "c" + id, Author: "r1", Body: "hello", Created: t0, Updated: t0,
			Visibility: &switchyard.Visibility{Type: "group", Value: "admins", Identifier: "g-admins"}}},
		Attachments:  []switchyard.Attachment{{ID: "a" + id, Filename: "log.txt", MimeType: "text/plain", Size: 10, Created: t0}},
		CommentTotal: 1,
	}
}

func TestIssueRoundTrip(t *testing.T) { eachDriver(t, testIssueRoundTrip) }

func testIssueRoundTrip(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	in := testIssue("1", "P-1")
	if err := db.PutIssue(ctx, "c", in); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{"1", "P-1"} {
		got, err := db.Issue(ctx, "c", ref)
		if err != nil {
			t.Fatal(err)
		}
		want := in
		want.Comments = []switchyard.Comment{in.Comments[0]}
		want.Comments[0].IssueID = "1"
		want.Attachments = []switchyard.Attachment{in.Attachments[0]}
		want.Attachments[0].IssueID = "1"
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Issue(%s):\n got %+v\nwant %+v", ref, got, want)
		}
	}
	// Scoped by connection.
	if _, err := db.Issue(ctx, "other", "P-1"); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("other connection: %v", err)
	}
	refs, _ := db.IssueIDs(ctx, "c", "10000")
	if len(refs) != 1 || refs[0] != (IssueRef{ID: "1", Key: "P-1", ProjectID: "10000", UpdatedMS: in.Updated.UnixMilli()}) {
		t.Errorf("IssueIDs = %+v", refs)
	}
	if refs, _ := db.IssueIDs(ctx, "c", "99999"); len(refs) != 0 {
		t.Errorf("IssueIDs of another project = %+v", refs)
	}
}

func TestPutIssueReplacesChildrenKeepsExtractedText(t *testing.T) {
	eachDriver(t, testPutIssueReplacesChildrenKeepsExtractedText)
}

func testPutIssueReplacesChildrenKeepsExtractedText(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	is := testIssue("1", "P-1")
	is.Comments = append(is.Comments, switchyard.Comment{ID: "c2", Body: "second"})
	is.Attachments = append(is.Attachments, switchyard.Attachment{ID: "a2", Filename: "b.pdf"})
	if err := db.PutIssue(ctx, "c", is); err != nil {
		t.Fatal(err)
	}
	pending, _ := db.PendingAttachments(ctx, "c", 10)
	if len(pending) != 2 || pending[0].Status != ExtractPending {
		t.Fatalf("pending = %+v", pending)
	}
	if err := db.SetAttachmentText(ctx, "c", "a1", "extracted words"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAttachmentFailed(ctx, "c", "a2", "pdf: bad xref"); err != nil {
		t.Fatal(err)
	}
	if err := db.SetAttachmentText(ctx, "c", "nope", "x"); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("unknown attachment: %v", err)
	}
	// Failed extractions are offered again (retried next run), not skipped.
	pending, _ = db.PendingAttachments(ctx, "c", 10)
	if len(pending) != 1 || pending[0].ID != "a2" || pending[0].Status != ExtractFailed || pending[0].Attempts != 1 || pending[0].Error != "pdf: bad xref" {
		t.Fatalf("pending after failure = %+v", pending)
	}
	c, _ := db.Counts(ctx, "c")
	if c.AttachmentsFailed != 1 || c.AttachmentsPending != 0 {
		t.Errorf("counts %+v", c)
	}

	// Update: comment c2 and attachment a2 are gone, c3 is new; a1 keeps its text.
	is.Summary = "changed"
	is.Comments = []switchyard.Comment{is.Comments[0], {ID: "c3", Body: "third"}}
	is.Attachments = is.Attachments[:1]
	if err := db.PutIssue(ctx, "c", is); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Issue(ctx, "c", "1")
	if got.Summary != "changed" || len(got.Comments) != 2 || got.Comments[1].ID != "c3" {
		t.Errorf("after update: summary %q comments %+v", got.Summary, got.Comments)
	}
	if len(got.Attachments) != 1 || got.Attachments[0].Text != "extracted words" {
		t.Errorf("attachments after update: %+v", got.Attachments)
	}
	if err := db.SetAttachmentSkipped(ctx, "c", "a1", "over 25 MiB"); err != nil {
		t.Fatal(err)
	}
	as, _ := db.Attachments(ctx, "c", "1")
	if as[0].Status != ExtractSkipped || as[0].Error != "over 25 MiB" {
		t.Errorf("skipped: %+v", as[0])
	}
	if p, _ := db.PendingAttachments(ctx, "c", 10); len(p) != 0 {
		t.Errorf("skipped attachment offered again: %+v", p)
	}
	// Text supplied with the issue marks the attachment ok.
	is.Attachments = []switchyard.Attachment{{ID: "a4", Filename: "x.md", Text: "inline"}}
	db.PutIssue(ctx, "c", is)
	as, _ = db.Attachments(ctx, "c", "1")
	if len(as) != 1 || as[0].Status != ExtractOK || as[0].Text != "inline" {
		t.Errorf("inline text: %+v", as)
	}
}

func TestMovedIssueAndStaleKey(t *testing.T) { eachDriver(t, testMovedIssueAndStaleKey) }

func testMovedIssueAndStaleKey(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	db.PutIssue(ctx, "c", testIssue("1", "P-1"))
	moved := testIssue("1", "Q-7")
	moved.ProjectID, moved.ProjectKey = "20000", "Q"
	if err := db.PutIssue(ctx, "c", moved); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Issue(ctx, "c", "P-1"); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("old key still resolves: %v", err)
	}
	got, err := db.Issue(ctx, "c", "Q-7")
	if err != nil || got.ProjectID != "20000" {
		t.Errorf("moved issue: %+v %v", got, err)
	}
	// Another id now holding key Q-7 replaces the stale row.
	db.PutIssue(ctx, "c", testIssue("2", "Q-7"))
	if c, _ := db.Counts(ctx, "c"); c.Issues != 1 {
		t.Errorf("issues = %d, want 1", c.Issues)
	}
}

func TestDeleteIssueRemovesChildren(t *testing.T) { eachDriver(t, testDeleteIssueRemovesChildren) }

func testDeleteIssueRemovesChildren(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	db.PutIssue(ctx, "c", testIssue("1", "P-1"))
	db.PutIssue(ctx, "c", testIssue("2", "P-2"))
	db.PutIssue(ctx, "d", testIssue("1", "P-1")) // same ids, other connection
	if err := db.DeleteIssue(ctx, "c", "1"); err != nil {
		t.Fatal(err)
	}
	if err := db.DeleteIssue(ctx, "c", "1"); err != nil {
		t.Errorf("second delete: %v", err)
	}
	c, _ := db.Counts(ctx, "c")
	if c.Issues != 1 || c.Comments != 1 || c.Attachments != 1 {
		t.Errorf("counts after delete: %+v", c)
	}
	if d, _ := db.Counts(ctx, "d"); d.Issues != 1 || d.Comments != 1 {
		t.Errorf("other connection touched: %+v", d)
	}
}

func TestMarkAndSweep(t *testing.T) { eachDriver(t, testMarkAndSweep) }

func testMarkAndSweep(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	for i, k := range []string{"P-1", "P-2", "P-3"} {
		db.PutIssue(ctx, "c", testIssue(string(rune('1'+i)), k))
	}
	other := testIssue("9", "Q-1")
	other.ProjectID = "20000"
	db.PutIssue(ctx, "c", other)

	run, err := db.StartRun(ctx, "c", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tx(ctx, func(tx *Tx) error { return tx.MarkSeen(ctx, "c", run.ID, "1", "3", "unknown") }); err != nil {
		t.Fatal(err)
	}
	unseen, _ := db.UnseenIssues(ctx, "c", run.ID, "10000")
	if len(unseen) != 1 || unseen[0].Key != "P-2" {
		t.Errorf("unseen in P = %+v, want P-2", unseen)
	}
	unseen, _ = db.UnseenIssues(ctx, "c", run.ID)
	if len(unseen) != 2 {
		t.Errorf("unseen everywhere = %+v, want P-2 and Q-1", unseen)
	}
	// A later generation sees nothing marked yet.
	if u, _ := db.UnseenIssues(ctx, "c", run.ID+1); len(u) != 4 {
		t.Errorf("next generation unseen = %d, want 4", len(u))
	}
}

func TestPutIssueRejectsBadInput(t *testing.T) { eachDriver(t, testPutIssueRejectsBadInput) }

func testPutIssueRejectsBadInput(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	dupComments := testIssue("1", "P-1")
	dupComments.Comments = append(dupComments.Comments, dupComments.Comments[0])
	tests := []struct {
		name string
		conn string
		is   switchyard.Issue
	}{
		{"no id", "c", switchyard.Issue{Key: "P-1", ProjectID: "1"}},
		{"no key", "c", switchyard.Issue{ID: "1", ProjectID: "1"}},
		{"no project", "c", switchyard.Issue{ID: "1", Key: "P-1"}},
		{"no connection", " ", testIssue("1", "P-1")},
		{"duplicate comment", "c", dupComments},
	}
	for _, tt := range tests {
		err := db.PutIssue(ctx, tt.conn, tt.is)
		if !errors.Is(err, switchyard.ErrInvalid) {
			t.Errorf("%s: %v, want ErrInvalid", tt.name, err)
		}
	}
	if c, _ := db.Counts(ctx, "c"); c.Issues != 0 {
		t.Errorf("bad input stored %d issues", c.Issues)
	}
}

func TestForEachIssueAndPurge(t *testing.T) { eachDriver(t, testForEachIssueAndPurge) }

func testForEachIssueAndPurge(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	for _, k := range []string{"1", "2", "3"} {
		db.PutIssue(ctx, "c", testIssue(k, "P-"+k))
	}
	var keys []string
	err := db.ForEachIssue(ctx, "c", "", func(is switchyard.Issue) error {
		if len(is.Comments) != 1 {
			t.Errorf("%s has %d comments", is.Key, len(is.Comments))
		}
		keys = append(keys, is.Key)
		return nil
	})
	if err != nil || !reflect.DeepEqual(keys, []string{"P-1", "P-2", "P-3"}) {
		t.Errorf("ForEachIssue: %v %v", keys, err)
	}
	db.ReplaceUsers(ctx, "c", []switchyard.User{{AccountID: "u"}})
	db.SetCheckpoint(ctx, Checkpoint{Conn: "c", Stage: "s"})
	if err := db.Tx(ctx, func(tx *Tx) error { return tx.DeleteConnectionData(ctx, "c") }); err != nil {
		t.Fatal(err)
	}
	if c, _ := db.Counts(ctx, "c"); c != (Counts{}) {
		t.Errorf("after purge: %+v", c)
	}
	if cps, _ := db.Checkpoints(ctx, "c"); len(cps) != 0 {
		t.Errorf("checkpoints after purge: %+v", cps)
	}
}
