package syncer

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"switchyard"
	"switchyard/store"
)

// A page fetched before a webhook refresh may commit after it. It must not put
// the older version back: that would, for example, show a moved issue under
// its old project, where people who may not see it now would find it.
func TestStalePageDoesNotOverwriteNewerVersion(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st := NewStore(db)
	t1 := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	older := switchyard.Issue{ID: "10001", Key: "HR-3", ProjectID: "1", ProjectKey: "HR", Summary: "before the move", Updated: t1, Created: t1}
	newer := older
	newer.Key, newer.ProjectID, newer.ProjectKey, newer.Summary, newer.Updated = "ITSM-9", "2", "ITSM", "after the move", t1.Add(time.Second)

	cases := []struct {
		name    string
		commit  switchyard.Issue
		gen     int64
		written int
		wantKey string
	}{
		{"first version is written", newer, 0, 1, "ITSM-9"},
		{"an older version is skipped", older, 7, 0, "ITSM-9"},
		{"the same version is rewritten (retries, extraction)", newer, 0, 1, "ITSM-9"},
	}
	for _, tc := range cases {
		written, err := st.CommitIssues(ctx, "acme", []switchyard.Issue{tc.commit}, nil, tc.gen)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if len(written) != tc.written {
			t.Fatalf("%s: wrote %d issues, want %d", tc.name, len(written), tc.written)
		}
		got, err := db.Issue(ctx, "acme", "10001")
		if err != nil {
			t.Fatal(err)
		}
		if got.Key != tc.wantKey {
			t.Fatalf("%s: stored key %s, want %s", tc.name, got.Key, tc.wantKey)
		}
	}
	// The skipped issue still counts as seen by that full sync's generation,
	// so mark-and-sweep does not delete it.
	unseen, err := st.UnseenIssues(ctx, "acme", 7)
	if err != nil {
		t.Fatal(err)
	}
	if len(unseen) != 0 {
		t.Fatalf("issue skipped as stale was swept as unseen: %v", unseen)
	}
}
