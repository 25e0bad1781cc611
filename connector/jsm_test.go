package connector_test

import (
	"context"
	"slices"
	"testing"

	"switchyard"
	"switchyard/connector"
	"switchyard/connector/jirasim"
)

// TestJSMAgainstSimulator: the JSM fields are discovered by schema type and
// decoded from the same issue reads; internal notes, the files comments show,
// service desks, organizations, requests and approvals match the world.
func TestJSMAgainstSimulator(t *testing.T) {
	s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 11, Projects: 3, Issues: 90}})
	c := s.client(t, nil)
	ctx := context.Background()
	st := s.state(t)
	f, err := c.DiscoverJSMFields(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if f.RequestType != st.JSMFields["requestType"] || f.Participants != st.JSMFields["participants"] || f.Organizations != st.JSMFields["organizations"] {
		t.Fatalf("discovered %+v, the site has %v", f, st.JSMFields)
	}
	var ids []string
	byID := map[string]jirasim.StateIssue{}
	for _, is := range st.Issues {
		ids = append(ids, is.ID)
		byID[is.ID] = is
	}
	names := map[string]string{}
	for _, p := range st.Projects {
		if p.ServiceDesk != nil {
			for _, rt := range p.ServiceDesk.RequestTypes {
				names[rt.ID] = rt.Name
			}
		}
	}
	var internal, files, parts, orgs, types int
	for start := 0; start < len(ids); start += 100 {
		issues, err := c.BulkFetch(ctx, ids[start:min(start+100, len(ids))])
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range issues {
			want := byID[is.ID]
			wantRT := ""
			if want.RequestType != nil {
				wantRT = names[*want.RequestType]
			}
			if is.RequestType != wantRT || !slices.Equal(sorted(is.Participants), sorted(want.Participants)) ||
				!slices.Equal(sorted(is.Organizations), sorted(want.Organizations)) {
				t.Fatalf("%s: request type %q participants %v organizations %v; want %q %v %v", is.Key, is.RequestType,
					is.Participants, is.Organizations, wantRT, want.Participants, want.Organizations)
			}
			if is.RequestType != "" {
				types++
			}
			parts += len(is.Participants)
			orgs += len(is.Organizations)
			pub := map[string]bool{}
			for _, wc := range want.Comments {
				pub[wc.ID] = wc.JSDPublic
			}
			shown := map[string]string{} // comment id → file it shows
			for _, a := range want.Attachments {
				if a.CommentID != "" {
					shown[a.CommentID] = a.Filename
				}
			}
			for _, cm := range is.Comments {
				if cm.Internal == pub[cm.ID] {
					t.Fatalf("%s comment %s: internal %v, jsdPublic %v", is.Key, cm.ID, cm.Internal, pub[cm.ID])
				}
				if cm.Internal {
					internal++
				}
				if name := shown[cm.ID]; name != "" {
					if !slices.Contains(cm.Files, name) {
						t.Fatalf("%s comment %s shows %q; Files %v", is.Key, cm.ID, name, cm.Files)
					}
					files++
				}
			}
		}
	}
	if internal == 0 || files == 0 || parts == 0 || orgs == 0 || types == 0 {
		t.Fatalf("nothing checked: %d internal, %d files, %d participants, %d organizations, %d request types", internal, files, parts, orgs, types)
	}

	desks, err := c.ServiceDesks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range st.Projects {
		if p.ServiceDesk == nil {
			continue
		}
		i := slices.IndexFunc(desks, func(d switchyard.ServiceDesk) bool { return d.ProjectID == p.ID })
		if i < 0 || desks[i].ID != p.ServiceDesk.ID || !slices.Equal(desks[i].Organizations, p.ServiceDesk.Organizations) {
			t.Fatalf("desk of %s: %+v, want %+v", p.Key, desks, p.ServiceDesk)
		}
		// The desk's request types, with the issue type each creates.
		rts, err := c.RequestTypes(ctx, p.ServiceDesk.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(rts) != len(p.ServiceDesk.RequestTypes) || len(rts) == 0 {
			t.Fatalf("desk of %s: request types %+v, want %+v", p.Key, rts, p.ServiceDesk.RequestTypes)
		}
		for j, rt := range p.ServiceDesk.RequestTypes {
			if rts[j].ID != rt.ID || rts[j].Name != rt.Name || rts[j].IssueTypeID == "" {
				t.Fatalf("desk of %s: request type %d is %+v, want %+v", p.Key, j, rts[j], rt)
			}
		}
	}
	got, err := c.Organizations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(st.Organizations) {
		t.Fatalf("%d organizations, want %d", len(got), len(st.Organizations))
	}
	for i, o := range st.Organizations {
		if got[i].ID != o.ID || got[i].Name != o.Name || !slices.Equal(sorted(got[i].Members), sorted(o.Members)) {
			t.Fatalf("organization %d: %+v, want %+v", i, got[i], o)
		}
	}

	var req, plain string
	var withApproval jirasim.StateIssue
	for _, is := range st.Issues {
		desk := slices.ContainsFunc(st.Projects, func(p jirasim.StateProject) bool { return p.ID == is.ProjectID && p.ServiceDesk != nil })
		switch {
		case desk && req == "":
			req = is.Key
		case !desk && plain == "":
			plain = is.Key
		}
		if len(is.Approvals) > 0 && withApproval.Key == "" {
			withApproval = is
		}
	}
	if ok, err := c.IsRequest(ctx, req); err != nil || !ok {
		t.Fatalf("IsRequest(%s) = %v, %v", req, ok, err)
	}
	if ok, err := c.IsRequest(ctx, plain); err != nil || ok {
		t.Fatalf("IsRequest(%s) = %v, %v", plain, ok, err)
	}
	aps, err := c.Approvals(ctx, withApproval.Key)
	if err != nil || len(aps) != len(withApproval.Approvals) || !aps[0].CanAnswerApproval || aps[0].FinalDecision != "pending" {
		t.Fatalf("approvals of %s: %+v, %v", withApproval.Key, aps, err)
	}
	a, err := c.AnswerApproval(ctx, withApproval.Key, aps[0].ID, "decline")
	if err != nil || a.FinalDecision != "declined" {
		t.Fatalf("answer: %+v, %v", a, err)
	}
	if _, err := c.AnswerApproval(ctx, withApproval.Key, aps[0].ID, "approve"); err == nil {
		t.Fatal("a second answer was accepted")
	}
	if _, err := c.AnswerApproval(ctx, withApproval.Key, aps[0].ID, "maybe"); err == nil {
		t.Fatal("decision maybe accepted")
	}
}

// A Data Center client has no JSM layer: nothing discovered, no desks.
func TestJSMDataCenterNone(t *testing.T) {
	s := newSim(t, jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 11, Projects: 2, Issues: 10, Mode: switchyard.ModeDataCenter}})
	c := s.client(t, nil)
	f, err := c.DiscoverJSMFields(context.Background())
	if err != nil || f != (connector.JSMFields{}) {
		t.Fatalf("%+v, %v", f, err)
	}
	if d, err := c.ServiceDesks(context.Background()); err != nil || d != nil {
		t.Fatalf("%v, %v", d, err)
	}
}
