package syncer

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"switchyard"
	"switchyard/connector/jirasim"
	"switchyard/index"
)

// startDenyingSim is startSim with a switch that makes Jira answer 403 on
// the request type endpoint (an account that is no agent of the desk).
func startDenyingSim(t *testing.T, o jirasim.Options) (*sim, *atomic.Bool) {
	t.Helper()
	srv := jirasim.New(o)
	var deny atomic.Bool
	hs := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if deny.Load() && strings.HasPrefix(r.URL.Path, "/rest/servicedeskapi/servicedesk/") && strings.HasSuffix(r.URL.Path, "/requesttype") {
			rw.Header().Set("Content-Type", "application/json")
			rw.WriteHeader(http.StatusForbidden)
			rw.Write([]byte(`{"errorMessage":"You do not have permission to view this service project."}`))
			return
		}
		srv.ServeHTTP(rw, r)
	}))
	srv.SetBaseURL(hs.URL)
	t.Cleanup(func() { hs.Close(); srv.Close() })
	return &sim{t: t, srv: srv, url: hs.URL, base: hs.URL}, &deny
}

func requestTypeFacet(t *testing.T, s *sim, h *harness, filter string) map[string]int {
	t.Helper()
	req := index.SearchRequest{Connection: "acme", AsUser: s.admin(), Types: []string{"issue"}, Size: 1}
	if filter != "" {
		req.RequestTypes = []string{filter}
	}
	res, err := h.idx.Search(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, fc := range res.Facets["requesttype"] {
		out[fc.Value] = fc.Count
	}
	return out
}

// TestRequestTypesFromServiceDesk: the customers stage reads each desk's
// request types (/servicedesk/{id}/requesttype) into the store; a request
// type renamed in JSM, which changes no issue, shows its new name in the
// search facets and filter after the next identity sync; a 403 on the
// endpoint warns and the sync completes with the desks still stored.
func TestRequestTypesFromServiceDesk(t *testing.T) {
	ctx := context.Background()
	s, deny := startDenyingSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 11, Projects: 4, Issues: 60}})
	h := newHarness(t, s.jira(4), allScope(), Settings{Concurrency: 4, PageSize: 50, Overlap: time.Minute})
	h.idx.Source = NewPermissionSource(h.db)
	h.sync(false)

	st := s.state()
	want := map[string]string{} // id → name
	var deskKey string
	for _, p := range st.Projects {
		if p.ServiceDesk == nil {
			continue
		}
		deskKey = p.Key
		for _, rt := range p.ServiceDesk.RequestTypes {
			want[rt.ID] = rt.Name
		}
	}
	stored, err := h.db.RequestTypes(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rt := range stored {
		got[rt.ID] = rt.Name
	}
	if len(want) == 0 || len(got) != len(want) {
		t.Fatalf("stored %d request types %v, Jira has %d %v", len(got), got, len(want), want)
	}
	for id, n := range want {
		if got[id] != n {
			t.Fatalf("request type %s stored as %q, Jira calls it %q", id, got[id], n)
		}
	}
	if c, err := NewStore(h.db).Counts(ctx, "acme"); err != nil || c["request_types"] != len(want) {
		t.Fatalf("counts: request_types = %d (%v), want %d", c["request_types"], err, len(want))
	}

	// Rename a request type in use in the desk of deskKey.
	var rtID string
	n := 0
	for _, is := range st.Issues {
		if is.RequestType != nil && strings.HasPrefix(is.Key, deskKey+"-") {
			if rtID == "" {
				rtID = *is.RequestType
			}
			if *is.RequestType == rtID {
				n++
			}
		}
	}
	if rtID == "" {
		t.Fatalf("no request in %s has a request type", deskKey)
	}
	old := want[rtID]
	if requestTypeFacet(t, s, h, "")[old] < n {
		t.Fatalf("facet %q before the rename: %v, want at least %d", old, requestTypeFacet(t, s, h, ""), n)
	}
	body := bytes.NewBufferString(`{"name":"Renamed in JSM"}`)
	req, _ := http.NewRequest(http.MethodPatch, s.url+"/_sim/projects/"+deskKey+"/service-desk/request-types/"+rtID, body)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("rename: %v %v", resp, err)
	}
	resp.Body.Close()
	before := s.stats()
	if rs := h.sync(false); rs.Full {
		t.Fatalf("sync after the rename was full (%s)", rs.Reason)
	}
	checkNoPerIssueJSMCalls(t, before, s.stats())
	facet := requestTypeFacet(t, s, h, "")
	if facet["Renamed in JSM"] != n {
		t.Fatalf("facet after the rename: %v, want %q = %d", facet, "Renamed in JSM", n)
	}
	if f := requestTypeFacet(t, s, h, "Renamed in JSM"); f["Renamed in JSM"] != n {
		t.Fatalf("request_type filter on the new name: %v, want %d", f, n)
	}
	renamed := 0
	err = h.db.ForEachIssue(ctx, "acme", "", func(is switchyard.Issue) error {
		if is.RequestTypeID == rtID {
			renamed++
			if is.RequestType != "Renamed in JSM" {
				t.Errorf("stored issue %s still names request type %q", is.Key, is.RequestType)
			}
		}
		return nil
	})
	if err != nil || renamed != n {
		t.Fatalf("stored issues of request type %s: %d (%v), want %d", rtID, renamed, err, n)
	}

	// 403 on the endpoint: a warning, the sync completes, desks stay stored.
	deny.Store(true)
	rs := h.sync(false)
	warned := false
	for _, w := range rs.Warnings {
		warned = warned || strings.HasPrefix(w, "request types of service desk ")
	}
	if !warned {
		t.Fatalf("warnings %q: want one for the unreadable request types", rs.Warnings)
	}
	desks, err := h.db.ServiceDesks(ctx, "acme")
	if err != nil || len(desks) == 0 {
		t.Fatalf("service desks after a 403 on request types: %v, %v", desks, err)
	}
	if f := requestTypeFacet(t, s, h, ""); f["Renamed in JSM"] != n {
		t.Fatalf("facet after a 403 on request types: %v, want %q = %d kept", f, "Renamed in JSM", n)
	}
}

// rtJira is a Jira with one service desk on project AP and its request types.
type rtJira struct {
	*fakeJira
	rts []switchyard.RequestType
}

func (j rtJira) ServiceDesks(context.Context) ([]switchyard.ServiceDesk, error) {
	return []switchyard.ServiceDesk{{ID: "1", ProjectID: "100", ProjectKey: "AP", Organizations: []string{}}}, nil
}

func (rtJira) Organizations(context.Context) ([]switchyard.Organization, error) { return nil, nil }

func (j rtJira) RequestTypes(_ context.Context, desk string) ([]switchyard.RequestType, error) {
	if desk != "1" {
		return nil, &switchyard.Error{Kind: switchyard.ErrNotFound, Message: "no desk " + desk}
	}
	return j.rts, nil
}

// TestRequestTypeNameFromDesk: an issue whose request type field holds only
// the id, or a name from before a rename, is stored and indexed with the
// desk's current name; an id the desk does not list keeps the field's name.
func TestRequestTypeNameFromDesk(t *testing.T) {
	f := newFakeJira(2, 6)
	want := map[string]string{}
	n := 0
	for _, is := range f.issues {
		if is.ProjectID != "100" {
			continue
		}
		switch n % 3 {
		case 0:
			is.RequestTypeID, is.RequestType = "7", "" // only the id
			want[is.ID] = "Get IT help"
		case 1:
			is.RequestTypeID, is.RequestType = "8", "Hardware (old name)"
			want[is.ID] = "Request new hardware"
		case 2:
			is.RequestTypeID, is.RequestType = "99", "Retired type"
			want[is.ID] = "Retired type"
		}
		n++
	}
	j := rtJira{f, []switchyard.RequestType{{ID: "7", Name: "Get IT help"}, {ID: "8", Name: "Request new hardware"}}}
	h := newHarness(t, j, allScope(), Settings{Concurrency: 2, PageSize: 50, Overlap: time.Minute})
	h.sync(false)
	for id, name := range want {
		is, err := h.db.Issue(context.Background(), "acme", id)
		if err != nil {
			t.Fatal(err)
		}
		if is.RequestType != name {
			t.Errorf("issue %s (request type %s): name %q, want %q", is.Key, is.RequestTypeID, is.RequestType, name)
		}
	}
	if len(want) < 3 {
		t.Fatalf("only %d issues on the desk", len(want))
	}
}
