package index

import (
	"context"
	"errors"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"switchyard"
)

// FuzzSearchQuery sends arbitrary query strings through the parser and Search
// of an on-disk index holding the permission table (permission_test.go) plus a
// document of another connection. Every answer is either an error wrapping
// ErrInvalid or hits that the table says the viewer may see.
func FuzzSearchQuery(f *testing.F) {
	for _, s := range []string{
		``, `*`, `common`, `-common`, `+common -zzz`, `"common words"`, `co*`, `common~2`, `common^100`,
		`type:comment`, `key:C0-1`, `project:c0`, `status:done`, `updated:>="1970-01-01"`, `updated:<"2100-01-01"`,
		`summary:"perm_project:20000"`, `perm_project:20000`, `perm_vis:none`, `_id:t/issue/2000101`, `_all:common`,
		`conn:other`, `other shared`, `/.*/`, `c*`, `summary:>5`, `summary:"unterminated`, `status:`, `+`,
		`common OR perm_project`, `common || true`, `(common`, `common)`, `((((((((((common))))))))))`,
		`text:common AND NOT comment:common`, `ünïcödé 日本語 common`, "bad \xff utf8", "nul\x00byte",
		`common\:perm_vis`, `updated:[2020-01-01 TO 2030-01-01]`, `summary:/x/`, `a:b:c:d`, `"" ""`, `\`, `"\`,
		strings.Repeat("common ", 30), strings.Repeat("(", 200), strings.Repeat("x", 1025),
	} {
		for u := range 5 { // alice, bob, carol, dave (inactive), unknown
			f.Add(s, uint8(u))
		}
	}

	users := make([]string, 0, len(tableViewers))
	for u := range tableViewers {
		users = append(users, u)
	}
	sort.Strings(users)
	cases := holderCases()
	// allowed is what each viewer may see, from the table's own expectations
	// (TestHolderTable checks the index agrees with them).
	allowed := map[string]map[string]bool{}
	for _, u := range users {
		allowed[u] = map[string]bool{}
		for ci, c := range cases {
			for id := range caseDocs(ci, c.want[u]) {
				allowed[u][id] = true
			}
		}
	}

	idx, err := Open(filepath.Join(f.TempDir(), "index.bleve"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { idx.Close() })
	// Visible to anyone, but in another connection: must never show.
	other := switchyard.Issue{ID: "9", Key: "O-1", ProjectID: "20000", Summary: "other shared common words"}
	if err := idx.IndexIssue(context.Background(), "other", other); err != nil {
		f.Fatal(err)
	}
	var (
		once  sync.Once
		perms *Permissions
	)
	f.Fuzz(func(t *testing.T, q string, who uint8) {
		once.Do(func() { perms = buildTable(t, idx, cases) })
		user := users[int(who)%len(users)]
		v := tableViewers[user]
		res, err := idx.Search(context.Background(), SearchRequest{Connection: "t", Query: q, Viewer: &v, Permissions: perms, Size: MaxSize})
		if err != nil {
			if !errors.Is(err, switchyard.ErrInvalid) {
				t.Fatalf("as %s, query %q: error %v does not wrap ErrInvalid", user, q, err)
			}
			if err.Error() == "" {
				t.Fatalf("as %s, query %q: empty error message", user, q)
			}
			return
		}
		if res.Total > uint64(len(allowed[user])) {
			t.Fatalf("as %s, query %q: total %d, but only %d documents are visible", user, q, res.Total, len(allowed[user]))
		}
		for _, h := range res.Hits {
			if !allowed[user][h.ID] {
				t.Fatalf("as %s, query %q returned %s, which the viewer may not see", user, q, h.ID)
			}
		}
	})
}
