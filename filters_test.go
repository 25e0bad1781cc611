package switchyard

import (
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"testing"
)

func date(t *testing.T, s string) *Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return &d
}

func TestSyncFiltersValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		f      SyncFilters
		field  string // the field the error names ("" = valid)
		quoted string // the bad value the message must quote
	}{
		{name: "zero value", f: SyncFilters{}},
		{name: "valid in", f: SyncFilters{Projects: ProjectFilter{In: []string{"ITSM", "OPS_2"}}}},
		{name: "injection", f: SyncFilters{Projects: ProjectFilter{In: []string{"ITSM", `ITSM") OR project = "X`}}}, field: "projects.in[1]", quoted: `"ITSM\") OR project = \"X"`},
		{name: "newline", f: SyncFilters{Projects: ProjectFilter{NotIn: []string{"OPS\nOR"}}}, field: "projects.not_in[0]", quoted: `"OPS\nOR"`},
		{name: "quote", f: SyncFilters{Projects: ProjectFilter{In: []string{`A"B`}}}, field: "projects.in[0]", quoted: `"A\"B"`},
		{name: "lower case", f: SyncFilters{Projects: ProjectFilter{In: []string{"itsm"}}}, field: "projects.in[0]", quoted: `"itsm"`},
		{name: "one letter", f: SyncFilters{Projects: ProjectFilter{In: []string{"A"}}}, field: "projects.in[0]", quoted: `"A"`},
		{name: "empty", f: SyncFilters{Projects: ProjectFilter{In: []string{""}}}, field: "projects.in[0]", quoted: `""`},
		{name: "starts with digit", f: SyncFilters{Projects: ProjectFilter{In: []string{"1AB"}}}, field: "projects.in[0]", quoted: `"1AB"`},
		{name: "too long", f: SyncFilters{Projects: ProjectFilter{In: []string{"A" + strings.Repeat("B", 255)}}}, field: "projects.in[0]", quoted: "at most 255"},
		{name: "both lists", f: SyncFilters{Projects: ProjectFilter{In: []string{"A1"}, NotIn: []string{"B1"}}}, field: "projects", quoted: "not both"},
		{name: "after not before before", f: SyncFilters{Created: DateRange{After: date(t, "2025-01-01"), Before: date(t, "2024-01-01")}}, field: "created", quoted: "2025-01-01"},
		{name: "equal bounds", f: SyncFilters{Updated: DateRange{After: date(t, "2025-01-01"), Before: date(t, "2025-01-01T00:00:00Z")}}, field: "updated", quoted: "2025-01-01"},
		{name: "before 1970", f: SyncFilters{Updated: DateRange{After: date(t, "1969-12-31")}}, field: "updated.after", quoted: "1969-12-31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.f.Validate()
			if tc.field == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatal("want an error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			var fe *Error
			if !errors.As(err, &fe) || fe.Field != tc.field {
				t.Errorf("error %q does not name field %s", err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.quoted) {
				t.Errorf("error %q does not contain %s", err, tc.quoted)
			}
		})
	}
}

func TestSyncFiltersJQL(t *testing.T) {
	no := false
	for _, tc := range []struct {
		name string
		f    SyncFilters
		want string
	}{
		{"none", SyncFilters{}, ""},
		{"in sorted and deduplicated", SyncFilters{Projects: ProjectFilter{In: []string{"OPS", "ITSM", "OPS"}}}, `project in ("ITSM", "OPS")`},
		{"not in", SyncFilters{Projects: ProjectFilter{NotIn: []string{"HR"}}}, `project not in ("HR")`},
		{"dates as epoch ms UTC", SyncFilters{Created: DateRange{After: date(t, "2024-01-01"), Before: date(t, "2025-01-01")}, Updated: DateRange{After: date(t, "2025-06-01T02:00:00+02:00")}},
			"created >= 1704067200000 AND created < 1735689600000 AND updated >= 1748736000000"},
		{"index toggles do not restrict", SyncFilters{Index: IndexToggles{Comments: &no}}, ""},
		{"invalid keys are never written", SyncFilters{Projects: ProjectFilter{In: []string{`ITSM") OR project = "X`, "OPS"}}}, `project in ("OPS")`},
		{"all-invalid in matches nothing", SyncFilters{Projects: ProjectFilter{In: []string{`x" OR 1=1`}}}, `project is EMPTY`},
		{"all-invalid not_in is no restriction", SyncFilters{Projects: ProjectFilter{NotIn: []string{"\n"}}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.f.JQL(); got != tc.want {
				t.Errorf("JQL() = %q, want %q", got, tc.want)
			}
		})
	}
}

// jqlGrammar is everything JQL() may produce: validated keys in quotes and
// integer dates, joined by AND.
var jqlGrammar = regexp.MustCompile(`^((project (not )?in \("[A-Z][A-Z0-9_]+"(, "[A-Z][A-Z0-9_]+")*\)|project is EMPTY|(created|updated) (>=|<) -?[0-9]+)( AND |$))*$`)

// FuzzSyncFiltersJQL is the proof that no input string reaches the JQL
// except as a validated, quoted project key.
func FuzzSyncFiltersJQL(f *testing.F) {
	f.Add("ITSM", `ITSM") OR project = "X`, "2024-01-01", true)
	f.Add("a\nb", `\"`, "2024-01-01T10:00:00+05:00", false)
	f.Fuzz(func(t *testing.T, k1, k2, d string, in bool) {
		var sf SyncFilters
		if in {
			sf.Projects.In = []string{k1, k2}
		} else {
			sf.Projects.NotIn = []string{k1, k2}
		}
		if v, err := ParseDate(d); err == nil {
			sf.Created.After = &v
			sf.Updated.Before = &v
		}
		q := sf.JQL()
		if !jqlGrammar.MatchString(q) {
			t.Fatalf("JQL %q outside the grammar", q)
		}
		for _, k := range []string{k1, k2} {
			if strings.Contains(q, `"`+k+`"`) && !ValidProjectKey(k) {
				t.Fatalf("unvalidated key %q reached JQL %q", k, q)
			}
		}
	})
}

func TestSyncFiltersHash(t *testing.T) {
	yes, no := true, false
	base := SyncFilters{Projects: ProjectFilter{In: []string{"OPS", "ITSM"}}, Created: DateRange{After: date(t, "2024-01-01")}}
	same := []SyncFilters{
		{Projects: ProjectFilter{In: []string{"ITSM", "OPS", "ITSM"}}, Created: DateRange{After: date(t, "2024-01-01T00:00:00Z")}},
		{Projects: ProjectFilter{In: []string{"OPS", "ITSM"}}, Created: DateRange{After: date(t, "2024-01-01T01:00:00+01:00")}, Index: IndexToggles{Issues: &yes, Comments: &yes}},
	}
	different := []SyncFilters{
		{Projects: ProjectFilter{In: []string{"OPS"}}, Created: DateRange{After: date(t, "2024-01-01")}},
		{Projects: ProjectFilter{NotIn: []string{"OPS", "ITSM"}}, Created: DateRange{After: date(t, "2024-01-01")}},
		{Projects: ProjectFilter{In: []string{"OPS", "ITSM"}}, Created: DateRange{Before: date(t, "2024-01-01")}},
		{Projects: ProjectFilter{In: []string{"OPS", "ITSM"}}, Updated: DateRange{After: date(t, "2024-01-01")}},
		{Projects: ProjectFilter{In: []string{"OPS", "ITSM"}}, Created: DateRange{After: date(t, "2024-01-02")}},
		{Projects: ProjectFilter{In: []string{"OPS", "ITSM"}}, Created: DateRange{After: date(t, "2024-01-01")}, Index: IndexToggles{Attachments: &no}},
	}
	h := base.Hash()
	if len(h) != 64 {
		t.Fatalf("hash %q is not hex SHA-256", h)
	}
	for i, f := range same {
		if f.Hash() != h {
			t.Errorf("same[%d] hashes differently", i)
		}
	}
	seen := map[string]int{h: -1}
	for i, f := range different {
		if j, ok := seen[f.Hash()]; ok {
			t.Errorf("different[%d] hashes like %d", i, j)
		}
		seen[f.Hash()] = i
	}
	if (SyncFilters{}).Hash() != (SyncFilters{Projects: ProjectFilter{In: []string{}}}).Hash() {
		t.Error("empty and nil lists hash differently")
	}
}

func TestSyncFiltersJSON(t *testing.T) {
	var f SyncFilters
	in := `{"projects":{"in":["ITSM"]},"created":{"after":"2024-01-01","before":"2025-01-01T12:00:00Z"},"index":{"comments":false}}`
	if err := json.Unmarshal([]byte(in), &f); err != nil {
		t.Fatal(err)
	}
	if !f.Created.After.DateOnly || f.Created.After.UnixMilli() != 1704067200000 {
		t.Errorf("after = %+v", f.Created.After)
	}
	if f.Created.Before.DateOnly || f.Created.Before.UnixMilli() != 1735732800000 {
		t.Errorf("before = %+v", f.Created.Before)
	}
	if !f.IndexIssues() || f.IndexComments() || !f.IndexAttachments() {
		t.Errorf("toggles = %v %v %v", f.IndexIssues(), f.IndexComments(), f.IndexAttachments())
	}
	out, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"projects":{"in":["ITSM"]},"created":{"after":"2024-01-01","before":"2025-01-01T12:00:00Z"},"updated":{},"index":{"comments":false}}`
	if string(out) != want {
		t.Errorf("marshal:\n got %s\nwant %s", out, want)
	}
	for _, bad := range []string{`{"created":{"after":"2024-13-01"}}`, `{"created":{"after":20240101}}`, `{"updated":{"before":"yesterday"}}`} {
		var g SyncFilters
		err := json.Unmarshal([]byte(bad), &g)
		if err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
}
