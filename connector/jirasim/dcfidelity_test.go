package jirasim

import (
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"switchyard"
)

func newDCFidelitySim(t *testing.T, extraGroups int, dc DCOptions) *testSim {
	return newTestSim(t, Options{GenerateOptions: GenerateOptions{Mode: switchyard.ModeDataCenter, Issues: 40, ExtraGroups: extraGroups}, DataCenter: dc})
}

type pickerAnswer struct {
	Header string
	Total  int
	Groups []struct{ Name string }
}

func (p pickerAnswer) names() []string {
	var out []string
	for _, g := range p.Groups {
		out = append(out, g.Name)
	}
	return out
}

// TestDCPickerCap: groups/picker answers at most the cap whatever maxResults
// asks, sorted by name, with the total of all matches; exclude and query
// narrow the matches.
func TestDCPickerCap(t *testing.T) {
	s := newDCFidelitySim(t, 30, DCOptions{})
	var all []string
	s.srv.World().RLock()
	for _, g := range s.srv.World().Groups {
		all = append(all, g.Name)
	}
	s.srv.World().RUnlock()
	sort.Strings(all)

	var p pickerAnswer
	s.getJSON("/rest/api/2/groups/picker?maxResults=100000", 200, &p)
	if len(p.Groups) != DefaultPickerLimit || p.Total != len(all) || p.Header != "Showing 20 of 39 matching groups" {
		t.Fatalf("picker: %d groups, total %d, header %q; want the cap of 20 of %d", len(p.Groups), p.Total, p.Header, len(all))
	}
	if got := p.names(); strings.Join(got, ",") != strings.Join(all[:20], ",") {
		t.Fatalf("picker page %v, want the first 20 by name %v", got, all[:20])
	}
	q := url.Values{"maxResults": {"1000"}, "exclude": p.names()}
	var rest pickerAnswer
	s.getJSON("/rest/api/2/groups/picker?"+q.Encode(), 200, &rest)
	if strings.Join(rest.names(), ",") != strings.Join(all[20:], ",") || rest.Total != len(all)-20 {
		t.Fatalf("after exclude: %v (total %d), want %v", rest.names(), rest.Total, all[20:])
	}
	var some pickerAnswer
	s.getJSON("/rest/api/2/groups/picker?query=TEAM&maxResults=5", 200, &some)
	for _, n := range some.names() {
		if !strings.Contains(n, "team") {
			t.Fatalf("query TEAM matched %q", n)
		}
	}
	if len(some.Groups) == 0 || len(some.Groups) > 5 {
		t.Fatalf("query TEAM: %v", some.names())
	}

	open := newDCFidelitySim(t, 30, DCOptions{PickerLimit: -1})
	open.getJSON("/rest/api/2/groups/picker?maxResults=1000", 200, &p)
	if len(p.Groups) != len(all) {
		t.Fatalf("uncapped picker: %d of %d", len(p.Groups), len(all))
	}
}

// TestDCContextPathRouting: everything Jira serves lives below the context
// path and links carry it; /_sim/ stays at the root.
func TestDCContextPathRouting(t *testing.T) {
	s := newDCFidelitySim(t, 0, DCOptions{ContextPath: "jira/"})
	if cp := s.srv.Options().DataCenter.ContextPath; cp != "/jira" {
		t.Fatalf("context path normalised to %q, want /jira", cp)
	}
	var me map[string]any
	s.getJSON("/jira/rest/api/2/myself", 200, &me)
	if self, _ := me["self"].(string); !strings.HasPrefix(self, s.ts.URL+"/jira/rest/api/2/user") {
		t.Fatalf("self link %q lacks the context path", me["self"])
	}
	for _, p := range []string{"/rest/api/2/myself", "/jira/jira/rest/api/2/myself", "/jira/authorize", "/jirax/rest/api/2/myself"} {
		s.getJSON(p, 404, nil)
	}
	s.getJSON("/_sim/state", 200, nil)

	w := s.srv.World()
	w.RLock()
	var att *SimAttachment
	for _, is := range w.Issues {
		if len(is.Attachments) > 0 {
			att = is.Attachments[0]
			break
		}
	}
	w.RUnlock()
	if att == nil {
		t.Fatal("no attachment in the world")
	}
	var meta struct{ Content string }
	s.getJSON("/jira/rest/api/2/attachment/"+att.ID, 200, &meta)
	if !strings.HasPrefix(meta.Content, s.ts.URL+"/jira/secure/attachment/"+att.ID+"/") {
		t.Fatalf("content URL %q lacks the context path", meta.Content)
	}
	resp, b := s.req("GET", strings.TrimPrefix(meta.Content, s.ts.URL), nil)
	if resp.StatusCode != 200 || string(b) != string(att.Content) {
		t.Fatalf("content at %s: %d", meta.Content, resp.StatusCode)
	}
}

// TestDCLevelMembersEndpoint: absent from the Data Center set by default (as
// in the reference), present when asked for.
func TestDCLevelMembersEndpoint(t *testing.T) {
	for _, has := range []bool{false, true} {
		s := newDCFidelitySim(t, 0, DCOptions{LevelMembersEndpoint: has})
		w := s.srv.World()
		w.RLock()
		var scheme, key string
		for _, p := range w.Projects {
			if p.SecuritySchemeID != "" {
				scheme, key = p.SecuritySchemeID, p.Key
				break
			}
		}
		w.RUnlock()
		if scheme == "" {
			t.Fatal("no security scheme in the world")
		}
		s.getJSON("/rest/api/2/project/"+key+"/issuesecuritylevelscheme", 200, nil)
		want := 404
		if has {
			want = 200
		}
		s.getJSON("/rest/api/2/issuesecurityschemes/"+scheme+"/members", want, nil)
	}
}

// TestDCAuditCursor: pages chain by nextPageCursor; a page after the cursor
// holds only older events, so an event logged meanwhile repeats nothing.
func TestDCAuditCursor(t *testing.T) {
	s := newDCFidelitySim(t, 0, DCOptions{ContextPath: "/jira"})
	w := s.srv.World()
	w.RLock()
	var keys []string
	for _, is := range w.Issues[:5] {
		keys = append(keys, is.Key)
	}
	w.RUnlock()
	for _, k := range keys {
		if err := w.DeleteIssue("", k); err != nil {
			t.Fatal(err)
		}
	}
	type page struct {
		Entities []struct {
			AffectedObjects []struct{ Name string }
		}
		PagingInfo struct {
			LastPage       bool
			NextPageCursor string
			NextPageLink   string
		}
	}
	var got []string
	path := "/jira/rest/auditing/1.0/events?limit=2"
	for i := 0; ; i++ {
		var p page
		s.getJSON(path, 200, &p)
		for _, e := range p.Entities {
			got = append(got, e.AffectedObjects[0].Name)
		}
		if i == 0 { // logged after the first page: must not shift the next
			if err := w.DeleteIssue("", w.Issues[0].Key); err != nil {
				t.Fatal(err)
			}
		}
		if p.PagingInfo.LastPage {
			break
		}
		if p.PagingInfo.NextPageCursor == "" || !strings.HasPrefix(p.PagingInfo.NextPageLink, s.ts.URL+"/jira/rest/auditing/1.0/events?") {
			t.Fatalf("page %d: cursor %q, link %q", i, p.PagingInfo.NextPageCursor, p.PagingInfo.NextPageLink)
		}
		path = strings.TrimPrefix(p.PagingInfo.NextPageLink, s.ts.URL)
		if i > 10 {
			t.Fatal("the cursor never reaches the last page")
		}
	}
	sort.Strings(got)
	sort.Strings(keys)
	if strings.Join(got, ",") != strings.Join(keys, ",") {
		t.Fatalf("events %v, want each of %v once", got, keys)
	}
	s.getJSON("/jira/rest/auditing/1.0/events?pageCursor=nonsense", 400, nil)
}

// TestDCShapesMatchRealFixtures compares the simulator's Data Center answers
// with real ones from ../shared/realjira/fixtures: every key the real answer
// has, the simulator has too, except those the table explains.
func TestDCShapesMatchRealFixtures(t *testing.T) {
	shared := os.Getenv("SWITCHYARD_SHARED")
	if shared == "" {
		t.Skip("SWITCHYARD_SHARED is not set: the shape check needs shared/realjira/fixtures (scripts/test sets it when ../shared exists)")
	}
	fx := filepath.Join(shared, "realjira", "fixtures")
	if _, err := os.Stat(fx); err != nil {
		t.Fatalf("SWITCHYARD_SHARED is set but %s is unreadable: %v", fx, err)
	}
	s := newDCFidelitySim(t, 30, DCOptions{ContextPath: "/jira"})
	w := s.srv.World()
	for _, is := range w.Issues[:3] {
		if err := w.DeleteIssue("", is.Key); err != nil {
			t.Fatal(err)
		}
	}
	var group string
	w.RLock()
	for _, g := range w.Groups {
		if len(g.Members) > 1 {
			group = g.Name
			break
		}
	}
	w.RUnlock()
	cases := []struct {
		fixture string
		path    string
		// element: where list items are compared; missing: real keys the
		// simulator leaves out, and why.
		element string
		missing map[string]string
	}{
		{"dc/auditing-events-page1.elastic.json", "/jira/rest/auditing/1.0/events?limit=1", "entities", nil},
		{"dc/auditing-events-page2.elastic.json", "/jira/rest/auditing/1.0/events?limit=1000", "entities", nil},
		{"dc/group-member.go-jira.json", "/jira/rest/api/2/group/member?groupname=" + url.QueryEscape(group), "values", nil},
		{"dc/user-search.go-jira.json", "/jira/rest/api/2/user/search?username=.", "", map[string]string{
			"groups": "only with expand=groups", "applicationRoles": "only with expand", "expand": "only with expand"}},
		{"cloud/groups-picker.openapi.json", "/jira/rest/api/2/groups/picker", "groups", map[string]string{
			"groupId": "Data Center groups have no ids (the fixture is the Cloud document's example of the same resource)"}},
	}
	for _, tc := range cases {
		t.Run(filepath.Base(tc.fixture), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(fx, tc.fixture))
			if err != nil {
				t.Fatal(err)
			}
			var real any
			if err := json.Unmarshal(b, &real); err != nil {
				t.Fatalf("fixture %s: %v", tc.fixture, err)
			}
			var sim any
			s.getJSON(tc.path, 200, &sim)
			for _, miss := range missingKeys(real, sim, tc.element, "") {
				leaf := miss[strings.LastIndex(miss, ".")+1:]
				if _, ok := tc.missing[leaf]; !ok {
					t.Errorf("%s: the simulator's answer lacks %s", tc.fixture, miss)
				}
			}
			if strings.Contains(string(mustJSON(sim)), `"accountId"`) {
				t.Errorf("%s: Data Center answers carry no accountId", tc.path)
			}
		})
	}
}

// missingKeys lists keys of real absent from sim: top-level object keys,
// and the keys of the first item of each list (element names the list whose
// items are compared key by key; for a bare array, the items themselves).
func missingKeys(real, sim any, element, at string) []string {
	var out []string
	switch r := real.(type) {
	case map[string]any:
		sm, _ := sim.(map[string]any)
		for k, v := range r {
			sv, ok := sm[k]
			if !ok {
				out = append(out, at+k)
				continue
			}
			if _, isObj := v.(map[string]any); isObj || k == element {
				out = append(out, missingKeys(v, sv, "", at+k+".")...)
			}
		}
	case []any:
		sa, _ := sim.([]any)
		if len(r) == 0 || len(sa) == 0 {
			return nil
		}
		out = append(out, missingKeys(r[0], sa[0], "", at+"[0].")...)
	}
	sort.Strings(out)
	return out
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
