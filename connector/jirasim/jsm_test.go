package jirasim

import (
	"encoding/json"
	"fmt"
	"slices"
	"testing"

	"switchyard"
)

// The servicedeskapi has no OpenAPI document in ../shared; these checks hold
// the simulator to the documented PagedDTO and DTO keys (Atlassian's JSM REST
// reference: start, limit, size, isLastPage, values, _links).
func TestJSMEndpointShapes(t *testing.T) {
	s := newTestSim(t, Options{GenerateOptions: GenerateOptions{Seed: 11, Projects: 4, Issues: 150}})
	st := s.srv.World().State()
	type paged struct {
		Start, Limit, Size int
		IsLastPage         *bool             `json:"isLastPage"`
		Values             []json.RawMessage `json:"values"`
		Links              map[string]any    `json:"_links"`
	}
	keys := func(raw json.RawMessage, want ...string) {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range want {
			if _, ok := m[k]; !ok {
				t.Errorf("%s lacks %q", raw, k)
			}
		}
	}
	get := func(path string) paged {
		t.Helper()
		var p paged
		s.getJSON(path, 200, &p)
		if p.IsLastPage == nil || p.Links == nil || p.Size != len(p.Values) {
			t.Fatalf("%s: not a PagedDTO: %+v", path, p)
		}
		return p
	}
	desks := get("/rest/servicedeskapi/servicedesk")
	if len(desks.Values) == 0 {
		t.Fatal("no service desks")
	}
	keys(desks.Values[0], "id", "projectId", "projectKey", "projectName", "_links")
	var desk struct{ ID string }
	json.Unmarshal(desks.Values[0], &desk)
	rts := get("/rest/servicedeskapi/servicedesk/" + desk.ID + "/requesttype")
	keys(rts.Values[0], "id", "name", "description", "helpText", "issueTypeId", "serviceDeskId", "portalId", "groupIds", "icon",
		"restrictionStatus", "_expands", "_links")
	// Paged with start and limit, linked next and prev, as Atlassian documents it.
	p1 := get("/rest/servicedeskapi/servicedesk/" + desk.ID + "/requesttype?limit=2")
	if len(rts.Values) <= 2 || len(p1.Values) != 2 || *p1.IsLastPage || p1.Links["next"] == nil || p1.Links["prev"] != nil {
		t.Fatalf("requesttype?limit=2: %d values of %d, isLastPage %v, links %v", len(p1.Values), len(rts.Values), *p1.IsLastPage, p1.Links)
	}
	p2 := get("/rest/servicedeskapi/servicedesk/" + desk.ID + fmt.Sprintf("/requesttype?start=%d&limit=2", len(rts.Values)-1))
	if len(p2.Values) != 1 || !*p2.IsLastPage || p2.Start != len(rts.Values)-1 || p2.Links["next"] != nil || p2.Links["prev"] == nil {
		t.Fatalf("last requesttype page: %+v", p2)
	}
	get("/rest/servicedeskapi/servicedesk/" + desk.ID + "/organization")
	orgs := get("/rest/servicedeskapi/organization?limit=2")
	if len(orgs.Values) != 2 || *orgs.IsLastPage {
		t.Fatalf("organization?limit=2: %d values, isLastPage %v; want 2 of %d, not last", len(orgs.Values), *orgs.IsLastPage, len(st.Organizations))
	}
	keys(orgs.Values[0], "id", "name", "_links")
	members := get("/rest/servicedeskapi/organization/" + st.Organizations[0].ID + "/user")
	keys(members.Values[0], "accountId", "displayName", "active", "timeZone", "_links")

	var withParts, withApproval *StateIssue
	for i := range st.Issues {
		is := &st.Issues[i]
		if len(is.Participants) > 0 && withParts == nil {
			withParts = is
		}
		if len(is.Approvals) > 0 && withApproval == nil {
			withApproval = is
		}
	}
	if withParts == nil || withApproval == nil {
		t.Fatal("the world has no request with participants or with an approval")
	}
	parts := get("/rest/servicedeskapi/request/" + withParts.Key + "/participant")
	if len(parts.Values) != len(withParts.Participants) {
		t.Errorf("participants of %s: %d, want %d", withParts.Key, len(parts.Values), len(withParts.Participants))
	}
	aps := get("/rest/servicedeskapi/request/" + withApproval.Key + "/approval")
	keys(aps.Values[0], "id", "name", "finalDecision", "canAnswerApproval", "approvers", "createdDate", "_links")
	// The admin is an approver: answer once; a second answer is refused.
	ap := withApproval.Approvals[0]
	var out map[string]any
	s.call("POST", "/rest/servicedeskapi/request/"+withApproval.Key+"/approval/"+ap.ID, map[string]string{"decision": "approve"}, 200, &out)
	if out["finalDecision"] != "approved" {
		t.Fatalf("after approve: %v", out["finalDecision"])
	}
	s.call("POST", "/rest/servicedeskapi/request/"+withApproval.Key+"/approval/"+ap.ID, map[string]string{"decision": "decline"}, 409, nil)
	s.call("POST", "/rest/servicedeskapi/request/"+withApproval.Key+"/approval/"+ap.ID, map[string]string{"decision": "maybe"}, 400, nil)
	// A plain project has no requests.
	for _, is := range st.Issues {
		if p := s.srv.World().ProjectByID(is.ProjectID); p.ServiceDesk == nil {
			s.call("GET", "/rest/servicedeskapi/request/"+is.Key+"/participant", nil, 404, nil)
			break
		}
	}

	// The JSM fields are found by schema type, and issues carry them under those ids.
	var fields []struct {
		ID     string
		Schema struct{ Custom string }
	}
	s.getJSON("/rest/api/3/field", 200, &fields)
	found := map[string]string{}
	for _, f := range fields {
		found[f.Schema.Custom] = f.ID
	}
	if found[SchemaRequestType] != st.JSMFields["requestType"] || found[SchemaParticipants] != st.JSMFields["participants"] ||
		found[SchemaOrganizations] != st.JSMFields["organizations"] || found[SchemaRequestType] == "" {
		t.Fatalf("field list %v disagrees with state %v", found, st.JSMFields)
	}
	var issue struct {
		Fields map[string]json.RawMessage
	}
	s.getJSON("/rest/api/3/issue/"+withParts.Key+"?fields="+found[SchemaParticipants]+","+found[SchemaRequestType]+",comment", 200, &issue)
	var pu []struct{ AccountID string }
	json.Unmarshal(issue.Fields[found[SchemaParticipants]], &pu)
	if len(pu) != len(withParts.Participants) {
		t.Fatalf("participants field %s, want %v", issue.Fields[found[SchemaParticipants]], withParts.Participants)
	}
}

// jsdPublic follows the sd.public.comment property, not the visibility.
func TestJSDPublicFollowsProperty(t *testing.T) {
	s := newTestSim(t, Options{GenerateOptions: GenerateOptions{Seed: 5, Projects: 2, Issues: 60}})
	w := s.srv.World()
	st := w.State()
	var key, cid string
	for _, is := range st.Issues {
		if w.ProjectByID(is.ProjectID).ServiceDesk != nil && len(is.Comments) > 0 && is.Comments[0].Visibility == nil {
			key, cid = is.Key, is.Comments[0].ID
			break
		}
	}
	if key == "" {
		t.Fatal("no request with an unrestricted first comment")
	}
	for _, internal := range []bool{true, false} {
		if err := w.SetCommentInternal("", key, cid, internal); err != nil {
			t.Fatal(err)
		}
		var page struct {
			Comments []struct {
				ID        string
				JSDPublic *bool `json:"jsdPublic"`
			}
		}
		s.getJSON("/rest/api/3/issue/"+key+"/comment", 200, &page)
		for _, c := range page.Comments {
			if c.ID == cid && (c.JSDPublic == nil || *c.JSDPublic == internal) {
				t.Fatalf("internal=%v: jsdPublic %v", internal, c.JSDPublic)
			}
		}
	}
}

// The oracle's customer rules, one by one.
func TestOracleCustomers(t *testing.T) {
	w := Generate(GenerateOptions{Seed: 5, Projects: 2, Issues: 60})
	w.Index()
	var desk *SimProject
	for _, p := range w.Projects {
		if p.ServiceDesk != nil {
			desk = p
		}
	}
	var cust, other string
	for _, u := range w.Users {
		if u.AccountType == "customer" && u.Active {
			if cust == "" {
				cust = u.AccountID
			} else if other == "" {
				other = u.AccountID
			}
		}
	}
	iss, err := w.CreateIssue("", IssueCreate{ProjectKey: desk.Key, Summary: "printer on fire", IssueType: "Incident"})
	if err != nil {
		t.Fatal(err)
	}
	c, err := w.AddComment("", iss.Key, TextToADF("internal note"), nil)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(w.SetCommentInternal("", iss.Key, c.ID, true))
	org := w.Organizations[0]
	must(w.SetOrganizationMembers("", org.ID, []string{other}))
	if w.CanSee(cust, iss.Key, "") || w.CanSee(other, iss.Key, "") {
		t.Fatal("a customer sees a request not theirs")
	}
	must(w.SetParticipants("", iss.Key, []string{cust}))
	if !w.CanSee(cust, iss.Key, "") || w.CanSee(cust, iss.Key, c.ID) {
		t.Fatal("participant: wants the request but not the internal note")
	}
	if !w.CanSee(w.AdminAccountID(), iss.Key, c.ID) {
		t.Fatal("an agent must see the internal note")
	}
	must(w.SetServiceDeskOrganizations("", desk.Key, []string{org.ID}))
	must(w.SetRequestOrganizations("", iss.Key, []string{org.ID}))
	if !w.CanSee(other, iss.Key, "") {
		t.Fatal("an organization member of a shared request must see it")
	}
	must(w.SetServiceDeskOrganizations("", desk.Key, nil))
	if w.CanSee(other, iss.Key, "") {
		t.Fatal("an organization removed from the service desk still gives access")
	}
	// Without the portal grant, customers see nothing.
	var grants []switchyard.Holder
	for _, h := range desk.Browse {
		if h.Type != switchyard.HolderSDCustomerPortal {
			grants = append(grants, h)
		}
	}
	must(w.SetBrowseGrants("", desk.Key, grants))
	if w.CanSee(cust, iss.Key, "") {
		t.Fatal("a participant sees a request without sd.customer.portal.only")
	}
	if slices.ContainsFunc(w.Projects, func(p *SimProject) bool { return p.ServiceDesk != nil && p.ProjectTypeKey != "service_desk" }) {
		t.Fatal("a service desk on a project that is not a service_desk project")
	}
}

// /_sim/can-see answers for attachments as CanSeeAttachment does, and a
// customer never sees a file an internal note shows.
func TestCanSeeAttachmentHTTP(t *testing.T) {
	s := newTestSim(t, Options{GenerateOptions: GenerateOptions{Seed: 11, Projects: 2, Issues: 120}})
	w := s.srv.World()
	st := w.State()
	var checked, hidden int
	for _, u := range st.Users {
		if u.AccountType != "customer" {
			continue
		}
		for _, is := range st.Issues {
			internal := map[string]bool{}
			for _, c := range is.Comments {
				internal[c.ID] = !c.JSDPublic
			}
			for _, a := range is.Attachments {
				var v struct{ Visible bool }
				s.getJSON("/_sim/can-see?account="+u.AccountID+"&issue="+is.Key+"&attachment="+a.ID, 200, &v)
				if v.Visible != w.CanSeeAttachment(u.AccountID, is.Key, a.ID) {
					t.Fatalf("%s %s: HTTP %v, CanSeeAttachment disagrees", is.Key, a.ID, v.Visible)
				}
				if internal[a.CommentID] {
					if v.Visible {
						t.Fatalf("customer %s sees %s of internal note %s", u.AccountID, a.ID, a.CommentID)
					}
					if w.CanSee(u.AccountID, is.Key, "") {
						hidden++
					}
				}
				checked++
			}
		}
	}
	if checked == 0 || hidden == 0 {
		t.Fatalf("checked %d, hidden-but-issue-visible %d: the world proves nothing", checked, hidden)
	}
	s.call("GET", "/_sim/can-see?account=x&issue="+st.Issues[0].Key+"&attachment=999999", nil, 400, nil)
}
