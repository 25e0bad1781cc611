package index

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchyard"
)

func sampleIssue(id string, comments, attachments []string) switchyard.Issue {
	is := switchyard.Issue{ID: id, Key: "K-" + id, ProjectID: "1", Summary: "summary " + id, Description: "body " + id}
	for _, c := range comments {
		is.Comments = append(is.Comments, switchyard.Comment{ID: c, Body: "comment " + c})
	}
	for _, a := range attachments {
		is.Attachments = append(is.Attachments, switchyard.Attachment{ID: a, Filename: a + ".txt", Text: "text " + a})
	}
	return is
}

func counts(t *testing.T, idx *Index, conn string) [3]int {
	t.Helper()
	i, c, a, err := idx.Count(context.Background(), conn)
	if err != nil {
		t.Fatal(err)
	}
	return [3]int{i, c, a}
}

func TestWriteLifecycle(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	idx, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := idx.IndexIssues(ctx, "a", []switchyard.Issue{
		sampleIssue("1", []string{"11", "12"}, []string{"13"}),
		sampleIssue("2", []string{"21"}, nil),
	}); err != nil {
		t.Fatal(err)
	}
	if err := idx.IndexIssue(ctx, "b", sampleIssue("1", []string{"11"}, nil)); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, idx, "a"); got != [3]int{2, 3, 1} {
		t.Fatalf("counts a = %v", got)
	}

	// Re-indexing an issue drops the comments and attachments it no longer has.
	if err := idx.IndexIssue(ctx, "a", sampleIssue("1", []string{"12"}, nil)); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, idx, "a"); got != [3]int{2, 2, 0} {
		t.Fatalf("counts a after replace = %v", got)
	}
	perms := &Permissions{Projects: []switchyard.Project{{ID: "1", Key: "K", Browse: []switchyard.Holder{H("anyone", "")}}}}
	got := searchAll(t, idx, SearchRequest{Connection: "a", Viewer: &Viewer{}, Permissions: perms})
	for _, id := range []string{"a/comment/1/11", "a/attachment/1/13"} {
		if got[id] {
			t.Fatalf("%s still found after its issue was re-indexed without it", id)
		}
	}
	if !got["a/comment/1/12"] || !got["a/issue/2"] {
		t.Fatalf("kept documents missing: %v", got)
	}

	// Close and reopen: everything persisted.
	if err := idx.Close(); err != nil {
		t.Fatal(err)
	}
	if idx, err = Open(dir); err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	if got := counts(t, idx, "a"); got != [3]int{2, 2, 0} {
		t.Fatalf("counts a after reopen = %v", got)
	}
	ids, err := idx.IssueIDs(ctx, "a")
	if err != nil || strings.Join(ids, ",") != "1,2" {
		t.Fatalf("issue ids = %v, %v", ids, err)
	}

	// Batch with an index and a delete.
	b := idx.NewBatch("a")
	b.Index(sampleIssue("3", nil, []string{"31"}))
	b.Delete("2")
	b.Delete("404") // deleting what is not there is fine
	if err := b.Apply(ctx); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, idx, "a"); got != [3]int{2, 1, 1} {
		t.Fatalf("counts a after batch = %v", got)
	}
	if err := idx.DeleteIssue(ctx, "a", "1"); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, idx, "a"); got != [3]int{1, 0, 1} {
		t.Fatalf("counts a after delete = %v", got)
	}
	if err := idx.DeleteConnection(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, idx, "a"); got != [3]int{} {
		t.Fatalf("counts a after deleting the connection = %v", got)
	}
	if got := counts(t, idx, "b"); got != [3]int{1, 1, 0} {
		t.Fatalf("connection b changed: %v", got)
	}
	if err := idx.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if got := counts(t, idx, "b"); got != [3]int{1, 1, 0} {
		t.Fatalf("connection b after compaction: %v", got)
	}
}

func TestWriteRejectsBadInput(t *testing.T) {
	idx, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	ctx := context.Background()
	noProject := sampleIssue("9", nil, nil)
	noProject.ProjectID = ""
	tests := []struct {
		name string
		conn string
		is   switchyard.Issue
	}{
		{"empty connection", "", sampleIssue("1", nil, nil)},
		{"slash in connection", "a/b", sampleIssue("1", nil, nil)},
		{"empty issue id", "a", sampleIssue("", nil, nil)},
		{"slash in issue id", "a", sampleIssue("1/2", nil, nil)},
		{"empty comment id", "a", sampleIssue("1", []string{""}, nil)},
		{"slash in attachment id", "a", sampleIssue("1", nil, []string{"x/y"})},
		{"no project", "a", noProject},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A valid issue in the same batch must not be written either.
			err := idx.IndexIssues(ctx, tt.conn, []switchyard.Issue{sampleIssue("5", nil, nil), tt.is})
			if !errors.Is(err, switchyard.ErrInvalid) {
				t.Fatalf("error %v, want ErrInvalid", err)
			}
			if got := counts(t, idx, "a"); got != [3]int{} {
				t.Fatalf("bad batch wrote %v", got)
			}
		})
	}
	if err := idx.DeleteConnection(ctx, ""); !errors.Is(err, switchyard.ErrInvalid) {
		t.Fatalf("delete empty connection: %v", err)
	}
	if _, err := idx.IssueIDs(ctx, "x/y"); !errors.Is(err, switchyard.ErrInvalid) {
		t.Fatalf("issue ids of a bad connection: %v", err)
	}
}

func TestOpenRejectsOtherVersion(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "idx")
	idx, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := idx.bleve.SetInternal(internalVersionKey, []byte("switchyard-index-0")); err != nil {
		t.Fatal(err)
	}
	idx.Close()
	if _, err := Open(dir); !errors.Is(err, switchyard.ErrInvalid) || !errors.Is(err, ErrOtherVersion) || !strings.Contains(err.Error(), "full sync") {
		t.Fatalf("open an index of another version: %v", err)
	}
	if _, err := Open(""); !errors.Is(err, switchyard.ErrInvalid) {
		t.Fatalf("open empty path: %v", err)
	}
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(file); err == nil {
		t.Fatal("opening a plain file as an index succeeded")
	}
}
