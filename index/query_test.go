package index

import (
	"context"
	"errors"
	"strings"
	"testing"

	"switchyard"
)

func TestQueryRejected(t *testing.T) {
	idx, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	perms := buildTable(t, idx, holderCases())
	tests := []struct{ query, wantInMsg string }{
		{`perm_project:20000`, `unknown field "perm_project"`},
		{`perm_vis:none`, `unknown field "perm_vis"`},
		{`perm_level:none`, `unknown field`},
		{`perm_reporter:alice`, `unknown field`},
		{`perm_cf:customfield_1=carol`, `unknown field`},
		{`conn:t`, `unknown field "conn"`},
		{`scope:t/2000101`, `unknown field`},
		{`_id:t/issue/2000101`, `unknown field "_id"`},
		{`_all:common`, `unknown field "_all"`},
		{`f_status:Done`, `unknown field`},
		{`head:common`, `unknown field`},
		{`reporter:alice`, `unknown field "reporter"`},
		{`+common +PERM_PROJECT:20000`, `unknown field`},
		{`/.*/`, `regular expressions`},
		{`body:/comm.*/`, `regular expressions`},
		{`c*`, `at least two characters`},
		{`summary:*`, `at least two characters`},
		{`?ommon`, `at least two characters`},
		{`summary:>5`, `numeric ranges`},
		{`status:>="2024-01-01"`, `does not take a range`},
		{`updated:vpn`, `takes a date range`},
		{`summary:"unterminated`, `syntax error`},
		{`status:`, `syntax error`},
		{`+`, `syntax error`},
		{strings.Repeat("a", 1025), `too long`},
		{strings.Repeat("word ", 40), `too many clauses`},
		{"bad \xff utf8", `UTF-8`},
		{"nul\x00byte", `NUL`},
	}
	for _, tt := range tests {
		t.Run(tt.query[:min(len(tt.query), 30)], func(t *testing.T) {
			_, err := idx.Search(context.Background(), SearchRequest{Connection: "t", Query: tt.query, Viewer: &Viewer{}, Permissions: perms})
			if err == nil {
				t.Fatalf("query %q: no error", tt.query)
			}
			if !errors.Is(err, switchyard.ErrInvalid) {
				t.Fatalf("query %q: error %v does not wrap ErrInvalid", tt.query, err)
			}
			if !strings.Contains(err.Error(), tt.wantInMsg) {
				t.Fatalf("query %q: error %q does not say %q", tt.query, err, tt.wantInMsg)
			}
		})
	}
}

// TestCraftedQueriesStayInsideTheFilter: whatever a query parses to, results
// are a subset of what the same viewer sees with a match-everything query.
func TestCraftedQueriesStayInsideTheFilter(t *testing.T) {
	idx, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	perms := buildTable(t, idx, holderCases())
	crafted := []string{
		`common`, `-common`, `-zzz`, `+common -zzz`, `common OR perm_project`, `common || true`, `"common words"`,
		`*`, `**`, `co*`, `common~2`, `common^100`, `+words +common`, `-"common words"`, `type:issue`, `type:comment`,
		`key:C0-1`, `C3-1`, `project:c0`, `status:done`, `updated:>="1970-01-01"`, `updated:<"2100-01-01"`,
		`the`, `+the`, `-the`, `ünïcödé 日本語 common`, `"\"perm_vis:none\""`, `summary:"perm_project:20000"`,
		`common\:perm_vis`, `text:common`, `comment:common`, `attachment:attached`, `description:common`,
		strings.Repeat("common ", 30), strings.Repeat("x", 1000),
	}
	for user, v := range tableViewers {
		all := searchAll(t, idx, SearchRequest{Connection: "t", Viewer: &v, Permissions: perms})
		for _, q := range crafted {
			res, err := idx.Search(context.Background(), SearchRequest{Connection: "t", Query: q, Viewer: &v, Permissions: perms, Size: MaxSize})
			if err != nil {
				if !errors.Is(err, switchyard.ErrInvalid) {
					t.Errorf("as %s, %q: error %v is not ErrInvalid", user, q, err)
				}
				continue
			}
			for _, h := range res.Hits {
				if !all[h.ID] {
					t.Errorf("as %s, query %q returned %s, which match-everything does not", user, q, h.ID)
				}
			}
		}
	}
	// The generic query must reach hidden documents for the check to mean anything.
	v := tableViewers["unknown"]
	got := searchAll(t, idx, SearchRequest{Connection: "t", Query: "common", Viewer: &v, Permissions: perms})
	if len(got) == 0 {
		t.Fatal("unknown viewer finds nothing for 'common'")
	}
	alice := tableViewers["alice"]
	if a := searchAll(t, idx, SearchRequest{Connection: "t", Query: "common", Viewer: &alice, Permissions: perms}); len(a) <= len(got) {
		t.Fatalf("alice sees %d, unknown %d: the table does not separate viewers", len(a), len(got))
	}
}

// TestOtherConnectionInvisible: documents of another connection never show.
func TestOtherConnectionInvisible(t *testing.T) {
	idx, err := OpenMem()
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	ctx := context.Background()
	is := switchyard.Issue{ID: "1", Key: "A-1", ProjectID: "20000", Summary: "shared words"}
	if err := idx.IndexIssue(ctx, "other", is); err != nil {
		t.Fatal(err)
	}
	perms := &Permissions{Projects: []switchyard.Project{{ID: "20000", Key: "A", Browse: []switchyard.Holder{H("anyone", "")}}}}
	res, err := idx.Search(ctx, SearchRequest{Connection: "mine", Query: "shared", Viewer: &Viewer{}, Permissions: perms})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 0 {
		t.Fatalf("connection mine sees %d documents of connection other", res.Total)
	}
	res, err = idx.Search(ctx, SearchRequest{Connection: "other", Query: "shared", Viewer: &Viewer{}, Permissions: perms})
	if err != nil || res.Total != 1 {
		t.Fatalf("connection other: %v, %v", res, err)
	}
}
