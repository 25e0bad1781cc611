package jirasim

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// JSM REST endpoints (/rest/servicedeskapi/…, paged with start/limit and
// isLastPage) and the platform's field list, where the JSM fields are found
// by their schema type.

const (
	sdPrefix   = "/rest/servicedeskapi"
	sdPageMax  = 50
	sdPageDflt = 50
)

func (s *Server) jsmRoutes(m *http.ServeMux) {
	m.HandleFunc("GET "+sdPrefix+"/servicedesk", s.sdList)
	m.HandleFunc("GET "+sdPrefix+"/servicedesk/{serviceDeskId}/requesttype", s.sdRequestTypes)
	m.HandleFunc("GET "+sdPrefix+"/servicedesk/{serviceDeskId}/organization", s.sdOrganizations)
	m.HandleFunc("GET "+sdPrefix+"/organization", s.orgList)
	m.HandleFunc("GET "+sdPrefix+"/organization/{organizationId}/user", s.orgUsers)
	m.HandleFunc("GET "+sdPrefix+"/request/{issueIdOrKey}", s.readRequest(s.requestGet))
	m.HandleFunc("GET "+sdPrefix+"/request/{issueIdOrKey}/participant", s.readRequest(s.requestParticipants))
	m.HandleFunc("GET "+sdPrefix+"/request/{issueIdOrKey}/approval", s.readRequest(s.requestApprovals))
	m.HandleFunc("GET "+sdPrefix+"/request/{issueIdOrKey}/approval/{approvalId}", s.readRequest(s.requestApproval))
	m.HandleFunc("POST "+sdPrefix+"/request/{issueIdOrKey}/approval/{approvalId}", s.answerApproval)
	m.HandleFunc("POST /rest/api/3/workflows", s.workflowsRead)
}

// sdPage writes one PagedDTO page of values.
func sdPage[T any](rw http.ResponseWriter, r *http.Request, v *view, all []T, render func(T) any) {
	start, limit, ok := pageParams(rw, r, "start", "limit", sdPageDflt, sdPageMax)
	if !ok {
		return
	}
	page := slicePage(all, start, limit)
	values := make([]any, 0, len(page))
	for _, x := range page {
		values = append(values, render(x))
	}
	links := map[string]any{"base": v.base + sdPrefix, "context": "", "self": v.base + r.URL.RequestURI()}
	last := start+len(page) >= len(all)
	// next and prev, as Atlassian's PagedDTO links them.
	pageURL := func(at int) string {
		q := r.URL.Query()
		q.Set("start", strconv.Itoa(at))
		q.Set("limit", strconv.Itoa(limit))
		return v.base + r.URL.Path + "?" + q.Encode()
	}
	if !last {
		links["next"] = pageURL(start + len(page))
	}
	if start > 0 {
		links["prev"] = pageURL(max(0, start-limit))
	}
	apiJSON(rw, http.StatusOK, map[string]any{"_expands": []string{}, "size": len(values), "start": start, "limit": limit,
		"isLastPage": last, "_links": links, "values": values})
}

func (v *view) sdUser(id string) any {
	u := v.w.UserByID(id)
	if u == nil {
		return nil
	}
	m := map[string]any{"accountId": u.AccountID, "displayName": u.DisplayName, "active": u.Active, "timeZone": userTZ(u),
		"_links": map[string]any{"self": v.api() + "/user?accountId=" + u.AccountID, "avatarUrls": avatarURLs(v.base, u.AccountID)}}
	if u.Email != "" {
		m["emailAddress"] = u.Email
	}
	return m
}

func (v *view) sdOrg(o *SimOrganization) any {
	return map[string]any{"id": o.ID, "name": o.Name, "_links": map[string]any{"self": v.base + sdPrefix + "/organization/" + o.ID}}
}

func (s *Server) sdList(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	var desks []*SimProject
	for _, p := range v.w.Projects {
		if p.ServiceDesk != nil {
			desks = append(desks, p)
		}
	}
	sdPage(rw, r, v, desks, func(p *SimProject) any {
		return map[string]any{"id": p.ServiceDesk.ID, "projectId": p.ID, "projectKey": p.Key, "projectName": p.Name,
			"_links": map[string]any{"self": v.base + sdPrefix + "/servicedesk/" + p.ServiceDesk.ID}}
	})
}

func (s *Server) deskOr404(rw http.ResponseWriter, r *http.Request, v *view) *SimProject {
	id := r.PathValue("serviceDeskId")
	p := v.w.ServiceDeskByID(id)
	if p == nil {
		apiError(rw, http.StatusNotFound, "The service project with ID '"+id+"' does not exist.")
	}
	return p
}

func (s *Server) sdRequestTypes(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	p := s.deskOr404(rw, r, v)
	if p == nil {
		return
	}
	sdPage(rw, r, v, p.ServiceDesk.RequestTypes, func(rt SimRequestType) any { return v.requestType(p, rt) })
}

func (v *view) requestType(p *SimProject, rt SimRequestType) map[string]any {
	// RequestTypeDTO, as /servicedesk/{id}/requesttype lists it.
	return map[string]any{"_expands": []string{"field"}, "id": rt.ID, "name": rt.Name, "description": "", "helpText": "",
		"issueTypeId": apiStableID("issuetype", rt.IssueType), "serviceDeskId": p.ServiceDesk.ID, "portalId": p.ServiceDesk.ID,
		"groupIds": []string{}, "restrictionStatus": "OPEN",
		"icon": map[string]any{"id": "10500", "_links": map[string]any{"iconUrls": map[string]string{
			"48x48": v.base + "/secure/viewavatar?avatarType=SD_REQTYPE&size=large&avatarId=10500"}}},
		"_links": map[string]any{"self": v.base + sdPrefix + "/servicedesk/" + p.ServiceDesk.ID + "/requesttype/" + rt.ID}}
}

func (s *Server) sdOrganizations(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	p := s.deskOr404(rw, r, v)
	if p == nil {
		return
	}
	var orgs []*SimOrganization
	for _, id := range p.ServiceDesk.Organizations {
		if o := v.w.OrganizationByID(id); o != nil {
			orgs = append(orgs, o)
		}
	}
	sdPage(rw, r, v, orgs, v.sdOrg)
}

func (s *Server) orgList(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	sdPage(rw, r, v, v.w.Organizations, v.sdOrg)
}

func (s *Server) orgUsers(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	id := r.PathValue("organizationId")
	o := v.w.OrganizationByID(id)
	if o == nil {
		apiError(rw, http.StatusNotFound, "The organization with ID '"+id+"' does not exist.")
		return
	}
	sdPage(rw, r, v, o.Members, v.sdUser)
}

// requestOr404 finds a customer request the caller may see.
func (s *Server) requestOr404(rw http.ResponseWriter, r *http.Request, v *view) (*SimIssue, *SimProject) {
	key := r.PathValue("issueIdOrKey")
	iss := v.w.IssueByIDOrKey(key)
	var p *SimProject
	if iss != nil {
		p = v.w.ProjectByID(iss.ProjectID)
	}
	if iss == nil || p == nil || p.ServiceDesk == nil || !s.canSee(v.c, iss, nil) {
		apiError(rw, http.StatusNotFound, "The request with key '"+key+"' does not exist or you do not have permission to view it.")
		return nil, nil
	}
	return iss, p
}

// readRequest serves a read of one request under the world's read lock:
// h runs only for a request the caller may see (else the 404 is written).
func (s *Server) readRequest(h func(rw http.ResponseWriter, r *http.Request, v *view, iss *SimIssue, p *SimProject)) http.HandlerFunc {
	return func(rw http.ResponseWriter, r *http.Request) {
		v := s.view(r)
		s.world.RLock()
		defer s.world.RUnlock()
		if iss, p := s.requestOr404(rw, r, v); iss != nil {
			h(rw, r, v, iss, p)
		}
	}
}

func (s *Server) requestParticipants(rw http.ResponseWriter, r *http.Request, v *view, iss *SimIssue, _ *SimProject) {
	sdPage(rw, r, v, iss.Participants, v.sdUser)
}

func sdDate(t time.Time) map[string]any {
	return map[string]any{"epochMillis": t.UnixMilli(), "iso8601": t.UTC().Format("2006-01-02T15:04:05-0700"),
		"jira": JiraTime(t), "friendly": t.UTC().Format("02/Jan/06 3:04 PM")}
}

func (v *view) approval(iss *SimIssue, a *SimApproval) map[string]any {
	approvers := []any{}
	for _, id := range a.Approvers {
		d := "pending"
		switch a.Answers[id] {
		case "approve":
			d = "approved"
		case "decline":
			d = "declined"
		}
		approvers = append(approvers, map[string]any{"approver": v.sdUser(id), "approverDecision": d})
	}
	m := map[string]any{"id": a.ID, "name": a.Name, "finalDecision": a.Decision,
		"canAnswerApproval": a.Decision == "pending" && slices.Contains(a.Approvers, v.c.AccountID),
		"approvers":         approvers, "createdDate": sdDate(a.Created),
		"_links": map[string]any{"self": v.base + sdPrefix + "/request/" + iss.ID + "/approval/" + a.ID}}
	if !a.Completed.IsZero() {
		m["completedDate"] = sdDate(a.Completed)
	}
	return m
}

func (s *Server) requestApprovals(rw http.ResponseWriter, r *http.Request, v *view, iss *SimIssue, _ *SimProject) {
	sdPage(rw, r, v, iss.Approvals, func(a *SimApproval) any { return v.approval(iss, a) })
}

func findApproval(iss *SimIssue, id string) *SimApproval {
	for _, a := range iss.Approvals {
		if a.ID == id {
			return a
		}
	}
	return nil
}

func (s *Server) requestApproval(rw http.ResponseWriter, r *http.Request, v *view, iss *SimIssue, _ *SimProject) {
	a := findApproval(iss, r.PathValue("approvalId"))
	if a == nil {
		apiError(rw, http.StatusNotFound, "The approval with ID '"+r.PathValue("approvalId")+"' does not exist.")
		return
	}
	apiJSON(rw, http.StatusOK, v.approval(iss, a))
}

func (s *Server) answerApproval(rw http.ResponseWriter, r *http.Request) {
	var body struct {
		Decision string `json:"decision"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 1<<16)).Decode(&body); err != nil {
		apiError(rw, http.StatusBadRequest, "The request body is not valid JSON: "+err.Error())
		return
	}
	v := s.view(r)
	s.world.RLock()
	iss, _ := s.requestOr404(rw, r, v)
	s.world.RUnlock()
	if iss == nil {
		return
	}
	a, err := s.world.AnswerApproval(v.c.AccountID, iss.Key, r.PathValue("approvalId"), body.Decision)
	if err != nil {
		mutationError(rw, err)
		return
	}
	s.world.RLock()
	defer s.world.RUnlock()
	apiJSON(rw, http.StatusOK, v.approval(iss, a))
}

// jsmFields renders the request type, participants and organizations fields
// of a request (only service desk projects have them).
func (v *view) jsmFields(is *SimIssue, p *SimProject, fs fieldSet, f map[string]any) {
	if p == nil || p.ServiceDesk == nil {
		return
	}
	if id := v.w.fieldRequestType; fs.want(id) {
		var val any
		if rt := p.RequestTypeByID(is.RequestType); rt != nil {
			val = map[string]any{"_links": map[string]any{"jiraRest": v.api() + "/issue/" + is.ID},
				"requestType":   v.requestType(p, *rt),
				"currentStatus": map[string]any{"status": is.Status, "statusCategory": strings.ToUpper(is.StatusCategory)}}
		}
		f[id] = val
	}
	if id := v.w.fieldParticipants; fs.want(id) {
		out := []any{}
		for _, a := range is.Participants {
			if u := v.userRef(a); u != nil {
				out = append(out, u)
			}
		}
		f[id] = out
	}
	if id := v.w.fieldOrganizations; fs.want(id) {
		out := []any{}
		for _, oid := range is.Organizations {
			if o := v.w.OrganizationByID(oid); o != nil {
				out = append(out, v.sdOrg(o))
			}
		}
		f[id] = out
	}
}

// fieldList is GET /rest/api/3/field: system fields the connector reads, the
// picker fields and the JSM fields with their schema types.
func (s *Server) fieldList(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	system := func(id, name, typ string) map[string]any {
		return map[string]any{"id": id, "key": id, "name": name, "custom": false, "orderable": true, "navigable": true, "searchable": true,
			"clauseNames": []string{id}, "schema": map[string]any{"type": typ, "system": id}}
	}
	custom := func(id, name, typ, items, custom string) map[string]any {
		n, _ := strconv.ParseInt(strings.TrimPrefix(id, "customfield_"), 10, 64)
		schema := map[string]any{"type": typ, "custom": custom, "customId": n}
		if items != "" {
			schema["items"] = items
		}
		return map[string]any{"id": id, "key": id, "name": name, "custom": true, "orderable": true, "navigable": true, "searchable": true,
			"clauseNames": []string{"cf[" + strconv.FormatInt(n, 10) + "]", name}, "schema": schema}
	}
	out := []any{
		system("summary", "Summary", "string"), system("description", "Description", "string"), system("status", "Status", "status"),
		system("reporter", "Reporter", "user"), system("assignee", "Assignee", "user"), system("labels", "Labels", "array"),
		custom(FieldUserPicker, "Stakeholders", "array", "user", "com.atlassian.jira.plugin.system.customfieldtypes:multiuserpicker"),
		custom(FieldGroupPicker, "Teams", "array", "group", "com.atlassian.jira.plugin.system.customfieldtypes:multigrouppicker"),
		custom(v.w.fieldRequestType, "Request Type", "sd-customerrequesttype", "", SchemaRequestType),
		custom(v.w.fieldParticipants, "Request participants", "array", "user", SchemaParticipants),
		custom(v.w.fieldOrganizations, "Organizations", "array", "sd-customerorganization", SchemaOrganizations),
	}
	apiJSON(rw, http.StatusOK, out)
}

// requestGet is GET /rest/servicedeskapi/request/{issueIdOrKey} (CustomerRequestDTO).
func (s *Server) requestGet(rw http.ResponseWriter, r *http.Request, v *view, iss *SimIssue, p *SimProject) {
	apiJSON(rw, http.StatusOK, map[string]any{"issueId": iss.ID, "issueKey": iss.Key, "requestTypeId": iss.RequestType,
		"serviceDeskId": p.ServiceDesk.ID, "createdDate": sdDate(iss.Created), "reporter": v.sdUser(iss.Reporter),
		"requestFieldValues": []any{}, "currentStatus": map[string]any{"status": iss.Status, "statusCategory": strings.ToUpper(iss.StatusCategory)},
		"_links": map[string]any{"self": v.base + sdPrefix + "/request/" + iss.ID, "jiraRest": v.api() + "/issue/" + iss.ID}})
}

// projectStatuses is GET /rest/api/{2,3}/project/{projectIdOrKey}/statuses:
// each issue type with the statuses of its workflow.
func (s *Server) projectStatuses(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	key := r.PathValue("project")
	p := v.w.ProjectByIDOrKey(key)
	if p == nil {
		apiError(rw, http.StatusNotFound, "No project could be found with key '"+key+"'.")
		return
	}
	out := []any{}
	for _, it := range p.IssueTypes {
		sts := []any{}
		for _, st := range workflows[p.ProjectTypeKey].statuses {
			sts = append(sts, map[string]any{"id": statusID(st.name), "name": st.name, "description": "", "self": v.api() + "/status/" + statusID(st.name),
				"iconUrl": v.base + "/images/icons/statuses/generic.png", "untranslatedName": st.name})
		}
		out = append(out, map[string]any{"id": apiStableID("issuetype", it), "name": it, "self": v.api() + "/issuetype/" + apiStableID("issuetype", it),
			"subtask": false, "statuses": sts})
	}
	apiJSON(rw, http.StatusOK, out)
}

// workflowsRead is POST /rest/api/3/workflows (bulk get workflows) by
// projectAndIssueTypes: the workflow of each project's issue types with its
// statuses and transitions (name, toStatusReference).
func (s *Server) workflowsRead(rw http.ResponseWriter, r *http.Request) {
	var in struct {
		ProjectAndIssueTypes []struct {
			ProjectID   string `json:"projectId"`
			IssueTypeID string `json:"issueTypeId"`
		} `json:"projectAndIssueTypes"`
		WorkflowIDs   []string `json:"workflowIds"`
		WorkflowNames []string `json:"workflowNames"`
	}
	if err := apiDecode(rw, r, 1<<20, &in); err != nil {
		apiBadBody(rw, err)
		return
	}
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	statuses, workflowsOut := []any{}, []any{}
	seenType, seenStatus := map[string]bool{}, map[string]bool{}
	for _, pi := range in.ProjectAndIssueTypes {
		p := v.w.ProjectByID(pi.ProjectID)
		if p == nil || seenType[p.ProjectTypeKey] {
			continue
		}
		seenType[p.ProjectTypeKey] = true
		wf := workflows[p.ProjectTypeKey]
		refs, ts := []any{}, []any{}
		for i, st := range wf.statuses {
			id := statusID(st.name)
			refs = append(refs, map[string]any{"statusReference": id, "deprecated": false, "properties": map[string]any{}})
			ts = append(ts, map[string]any{"id": strconv.Itoa((i+1)*10 + 1), "name": st.name, "description": "", "type": "GLOBAL",
				"toStatusReference": id, "links": []any{}, "actions": []any{}, "validators": []any{}, "triggers": []any{}, "properties": map[string]any{}})
			if !seenStatus[id] {
				seenStatus[id] = true
				statuses = append(statuses, map[string]any{"id": id, "name": st.name, "statusReference": id, "description": "",
					"statusCategory": map[string]string{"new": "TODO", "indeterminate": "IN_PROGRESS", "done": "DONE"}[st.cat],
					"scope":          map[string]any{"type": "GLOBAL"}})
			}
		}
		for i, t := range namedTransitions[p.ProjectTypeKey] {
			ts = append(ts, map[string]any{"id": strconv.Itoa(100 + i + 1), "name": t.name, "description": "", "type": "GLOBAL",
				"toStatusReference": statusID(t.to), "links": []any{}, "actions": []any{}, "validators": []any{}, "triggers": []any{}, "properties": map[string]any{}})
		}
		workflowsOut = append(workflowsOut, map[string]any{"id": apiStableID("workflow", p.ProjectTypeKey), "name": "Workflow for " + p.ProjectTypeKey,
			"description": "", "isEditable": true, "scope": map[string]any{"type": "GLOBAL"}, "statuses": refs, "transitions": ts,
			"version": map[string]any{"id": apiStableID("workflowversion", p.ProjectTypeKey), "versionNumber": 1}})
	}
	apiJSON(rw, http.StatusOK, map[string]any{"statuses": statuses, "workflows": workflowsOut})
}
