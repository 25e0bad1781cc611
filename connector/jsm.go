package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"switchyard"
)

// Jira Service Management (Cloud). The request type, participants and
// organizations are custom fields whose ids differ per site: DiscoverJSMFields
// finds them in /rest/api/3/field by their schema type, and from then on every
// issue read asks for them in the same request as the other fields (no
// per-issue calls). Service desks, organizations and members come from the
// servicedeskapi, read by the identity stage.

// Schema types (FieldDetails.schema.custom) of the JSM fields.
const (
	SchemaRequestType   = "com.atlassian.servicedesk:vp-origin"
	SchemaParticipants  = "com.atlassian.servicedesk:sd-request-participants"
	SchemaOrganizations = "com.atlassian.servicedesk:sd-customer-organizations"
	// PropPublicComment is the comment property JSM marks internal notes with.
	PropPublicComment = "sd.public.comment"
)

const sdPage = 50

// JSMFields are a site's field ids of the JSM fields ("" when absent).
type JSMFields struct {
	RequestType, Participants, Organizations string
}

// DiscoverJSMFields reads the site's field list and remembers the JSM field
// ids so issue reads include them. A site without JSM has none of them.
func (c *Client) DiscoverJSMFields(ctx context.Context) (JSMFields, error) {
	if c.dc() {
		return JSMFields{}, nil
	}
	var fields []struct {
		ID     string `json:"id"`
		Schema *struct {
			Custom string `json:"custom"`
		} `json:"schema"`
	}
	if err := c.do(ctx, call{endpoint: "GET /rest/api/3/field"}, http.MethodGet, "/rest/api/3/field", nil, &fields); err != nil {
		return JSMFields{}, err
	}
	var f JSMFields
	for _, fd := range fields {
		if fd.Schema == nil {
			continue
		}
		switch fd.Schema.Custom {
		case SchemaRequestType:
			f.RequestType = fd.ID
		case SchemaParticipants:
			f.Participants = fd.ID
		case SchemaOrganizations:
			f.Organizations = fd.ID
		}
	}
	c.cfMu.Lock()
	c.jsm = f
	c.cfMu.Unlock()
	return f, nil
}

func (c *Client) jsmFieldList() []string {
	c.cfMu.Lock()
	defer c.cfMu.Unlock()
	var out []string
	for _, id := range []string{c.jsm.RequestType, c.jsm.Participants, c.jsm.Organizations} {
		if id != "" {
			out = append(out, id)
		}
	}
	return out
}

// jsmIssue decodes the JSM fields of an issue's fields object.
func (c *Client) jsmIssue(fields json.RawMessage, is *switchyard.Issue) error {
	c.cfMu.Lock()
	f := c.jsm
	c.cfMu.Unlock()
	if f == (JSMFields{}) {
		return nil
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(fields, &raw); err != nil {
		return fmt.Errorf("issue %s fields: %w", is.Key, err)
	}
	if v := raw[f.RequestType]; f.RequestType != "" && !isNull(v) {
		var rt struct {
			RequestType *struct {
				ID   json64 `json:"id"`
				Name string `json:"name"`
			} `json:"requestType"`
		}
		if err := json.Unmarshal(v, &rt); err != nil {
			return fmt.Errorf("issue %s request type %s: %w", is.Key, f.RequestType, err)
		}
		if rt.RequestType != nil {
			is.RequestTypeID, is.RequestType = string(rt.RequestType.ID), rt.RequestType.Name
		}
	}
	if f.Participants != "" {
		is.Participants = pickerIDs(raw[f.Participants])
	}
	if v := raw[f.Organizations]; f.Organizations != "" && !isNull(v) {
		var orgs []struct {
			ID json64 `json:"id"`
		}
		if err := json.Unmarshal(v, &orgs); err != nil {
			return fmt.Errorf("issue %s organizations %s: %w", is.Key, f.Organizations, err)
		}
		for _, o := range orgs {
			if o.ID != "" {
				is.Organizations = append(is.Organizations, string(o.ID))
			}
		}
	}
	return nil
}

// mediaFiles are the file names (alt) of an ADF body's media nodes.
func mediaFiles(body json.RawMessage) []string {
	if len(body) == 0 || body[0] != '{' {
		return nil
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if x["type"] == "media" {
				if attrs, ok := x["attrs"].(map[string]any); ok {
					if s, ok := attrs["alt"].(string); ok && s != "" {
						out = append(out, s)
					}
				}
			}
			if c, ok := x["content"]; ok {
				walk(c)
			}
		case []any:
			for _, c := range x {
				walk(c)
			}
		}
	}
	var v any
	if json.Unmarshal(body, &v) == nil {
		walk(v)
	}
	return out
}

// sdPaged is the servicedeskapi's PagedDTO.
type sdPaged[T any] struct {
	Start      int  `json:"start"`
	Limit      int  `json:"limit"`
	Size       int  `json:"size"`
	IsLastPage bool `json:"isLastPage"`
	Values     []T  `json:"values"`
}

// sdAll pages a servicedeskapi listing to the end.
func sdAll[T any](ctx context.Context, c *Client, endpoint, path string) ([]T, error) {
	var all []T
	sep := "?"
	for start := 0; ; {
		var p sdPaged[T]
		q := fmt.Sprintf("%s%sstart=%d&limit=%d", path, sep, start, sdPage)
		if err := c.do(ctx, call{endpoint: "GET " + endpoint}, http.MethodGet, q, nil, &p); err != nil {
			return nil, err
		}
		all = append(all, p.Values...)
		if p.IsLastPage || len(p.Values) == 0 {
			return all, nil
		}
		start += len(p.Values)
	}
}

// ServiceDesks lists the site's service desks with the organizations added to
// each. A site without JSM (404) has none; Data Center is not modelled.
func (c *Client) ServiceDesks(ctx context.Context) ([]switchyard.ServiceDesk, error) {
	if c.dc() {
		return nil, nil
	}
	type deskJSON struct {
		ID         json64 `json:"id"`
		ProjectID  json64 `json:"projectId"`
		ProjectKey string `json:"projectKey"`
	}
	desks, err := sdAll[deskJSON](ctx, c, "/rest/servicedeskapi/servicedesk", "/rest/servicedeskapi/servicedesk")
	if errors.Is(err, switchyard.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("service desks: %w", err)
	}
	out := make([]switchyard.ServiceDesk, 0, len(desks))
	for _, d := range desks {
		orgs, err := sdAll[struct {
			ID json64 `json:"id"`
		}](ctx, c, "/rest/servicedeskapi/servicedesk/{serviceDeskId}/organization",
			"/rest/servicedeskapi/servicedesk/"+url.PathEscape(string(d.ID))+"/organization")
		if err != nil {
			return nil, fmt.Errorf("service desk %s organizations: %w", d.ID, err)
		}
		sd := switchyard.ServiceDesk{ID: string(d.ID), ProjectID: string(d.ProjectID), ProjectKey: d.ProjectKey, Organizations: []string{}}
		for _, o := range orgs {
			sd.Organizations = append(sd.Organizations, string(o.ID))
		}
		out = append(out, sd)
	}
	return out, nil
}

// RequestTypes lists a service desk's request types
// (GET /rest/servicedeskapi/servicedesk/{serviceDeskId}/requesttype, paged).
func (c *Client) RequestTypes(ctx context.Context, deskID string) ([]switchyard.RequestType, error) {
	if c.dc() {
		return nil, nil
	}
	if deskID == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "serviceDeskId", "empty service desk id")
	}
	list, err := sdAll[struct {
		ID          json64 `json:"id"`
		Name        string `json:"name"`
		IssueTypeID json64 `json:"issueTypeId"`
	}](ctx, c, "/rest/servicedeskapi/servicedesk/{serviceDeskId}/requesttype",
		"/rest/servicedeskapi/servicedesk/"+url.PathEscape(deskID)+"/requesttype")
	if err != nil {
		return nil, fmt.Errorf("service desk %s request types: %w", deskID, err)
	}
	out := make([]switchyard.RequestType, 0, len(list))
	for _, rt := range list {
		if rt.ID != "" {
			out = append(out, switchyard.RequestType{ID: string(rt.ID), Name: rt.Name, IssueTypeID: string(rt.IssueTypeID)})
		}
	}
	return out, nil
}

// Organizations lists the customer organizations with their members.
func (c *Client) Organizations(ctx context.Context) ([]switchyard.Organization, error) {
	if c.dc() {
		return nil, nil
	}
	orgs, err := sdAll[struct {
		ID   json64 `json:"id"`
		Name string `json:"name"`
	}](ctx, c, "/rest/servicedeskapi/organization", "/rest/servicedeskapi/organization")
	if errors.Is(err, switchyard.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("organizations: %w", err)
	}
	out := make([]switchyard.Organization, 0, len(orgs))
	for _, o := range orgs {
		users, err := sdAll[userRef](ctx, c, "/rest/servicedeskapi/organization/{organizationId}/user",
			"/rest/servicedeskapi/organization/"+url.PathEscape(string(o.ID))+"/user")
		if err != nil {
			return nil, fmt.Errorf("organization %s members: %w", o.ID, err)
		}
		org := switchyard.Organization{ID: string(o.ID), Name: o.Name, Members: []string{}}
		for i := range users {
			if id := users[i].id(); id != "" {
				org.Members = append(org.Members, id)
			}
		}
		out = append(out, org)
	}
	return out, nil
}

// Approval is a JSM approval on a request.
type Approval struct {
	ID                string
	Name              string
	FinalDecision     string // pending | approved | declined
	CanAnswerApproval bool   // true when the caller is a pending approver
	Approvers         []string
}

type approvalJSON struct {
	ID                json64 `json:"id"`
	Name              string `json:"name"`
	FinalDecision     string `json:"finalDecision"`
	CanAnswerApproval bool   `json:"canAnswerApproval"`
	Approvers         []struct {
		Approver *userRef `json:"approver"`
	} `json:"approvers"`
}

func (a approvalJSON) approval() Approval {
	out := Approval{ID: string(a.ID), Name: a.Name, FinalDecision: a.FinalDecision, CanAnswerApproval: a.CanAnswerApproval}
	for _, ap := range a.Approvers {
		if id := ap.Approver.id(); id != "" {
			out.Approvers = append(out.Approvers, id)
		}
	}
	return out
}

// Approvals lists a request's approvals.
func (c *Client) Approvals(ctx context.Context, issueKey string) ([]Approval, error) {
	if err := checkKey("issueKey", issueKey); err != nil {
		return nil, err
	}
	list, err := sdAll[approvalJSON](ctx, c, "/rest/servicedeskapi/request/{issueIdOrKey}/approval",
		"/rest/servicedeskapi/request/"+url.PathEscape(issueKey)+"/approval")
	if err != nil {
		return nil, err
	}
	out := make([]Approval, 0, len(list))
	for _, a := range list {
		out = append(out, a.approval())
	}
	return out, nil
}

// AnswerApproval answers an approval as the connection's account (decision
// approve | decline). A POST, never retried; callers check Approvals first.
func (c *Client) AnswerApproval(ctx context.Context, issueKey, approvalID, decision string) (Approval, error) {
	if err := checkKey("issueKey", issueKey); err != nil {
		return Approval{}, err
	}
	if _, err := strconv.ParseInt(approvalID, 10, 64); err != nil {
		return Approval{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "approvalId", "must be numeric, not %q", approvalID)
	}
	if decision != "approve" && decision != "decline" {
		return Approval{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "decision", "must be approve or decline, not %q", decision)
	}
	var a approvalJSON
	p := "/rest/servicedeskapi/request/" + url.PathEscape(issueKey) + "/approval/" + approvalID
	if err := c.do(ctx, call{endpoint: "POST /rest/servicedeskapi/request/{issueIdOrKey}/approval/{approvalId}"}, http.MethodPost, p,
		map[string]string{"decision": decision}, &a); err != nil {
		return Approval{}, err
	}
	return a.approval(), nil
}

// IsRequest reports whether the issue is a JSM customer request (GET
// /rest/servicedeskapi/request/{key}: 404 for a plain issue). Data Center is
// not modelled: never a request.
func (c *Client) IsRequest(ctx context.Context, issueKey string) (bool, error) {
	if err := checkKey("issueKey", issueKey); err != nil {
		return false, err
	}
	if c.dc() {
		return false, nil
	}
	var r struct {
		IssueKey string `json:"issueKey"`
	}
	err := c.do(ctx, call{endpoint: "GET /rest/servicedeskapi/request/{issueIdOrKey}"}, http.MethodGet,
		"/rest/servicedeskapi/request/"+url.PathEscape(issueKey), nil, &r)
	if errors.Is(err, switchyard.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// ProjectStatuses lists the status names of a project's workflows
// (GET /project/{key}/statuses, all issue types).
func (c *Client) ProjectStatuses(ctx context.Context, projectKey string) ([]string, error) {
	if err := checkKey("projectKey", projectKey); err != nil {
		return nil, err
	}
	var types []struct {
		Statuses []struct {
			Name string `json:"name"`
		} `json:"statuses"`
	}
	p := c.v() + "/project/" + url.PathEscape(projectKey) + "/statuses"
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/project/{projectIdOrKey}/statuses"}, http.MethodGet, p, nil, &types); err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	var out []string
	for _, t := range types {
		for _, s := range t.Statuses {
			if s.Name != "" && !seen[s.Name] {
				seen[s.Name] = true
				out = append(out, s.Name)
			}
		}
	}
	return out, nil
}

// WorkflowTransition is one transition of a workflow: its name and the name
// of the status it leads to.
type WorkflowTransition struct {
	Name string `json:"name"`
	To   string `json:"to"`
}

// WorkflowTransitions lists the transitions of the workflows a project's
// issue types use: the issue types from GET /project/{key}/statuses, then
// POST /rest/api/3/workflows (bulk get) by projectAndIssueTypes, which
// answers with each workflow's transitions (toStatusReference) and statuses.
// Jira Cloud lists transitions per project only this way (or per issue).
// It needs Administer Jira, or Administer projects / View workflow.
func (c *Client) WorkflowTransitions(ctx context.Context, projectID, projectKey string) ([]WorkflowTransition, error) {
	if err := checkKey("projectKey", projectKey); err != nil {
		return nil, err
	}
	if projectID == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "projectId", "empty project id for %s", projectKey)
	}
	var types []struct {
		ID json64 `json:"id"`
	}
	p := c.v() + "/project/" + url.PathEscape(projectKey) + "/statuses"
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/project/{projectIdOrKey}/statuses"}, http.MethodGet, p, nil, &types); err != nil {
		return nil, err
	}
	type pair struct {
		ProjectID   string `json:"projectId"`
		IssueTypeID string `json:"issueTypeId"`
	}
	body := struct {
		ProjectAndIssueTypes []pair `json:"projectAndIssueTypes"`
	}{ProjectAndIssueTypes: []pair{}}
	for _, t := range types {
		if t.ID != "" {
			body.ProjectAndIssueTypes = append(body.ProjectAndIssueTypes, pair{projectID, string(t.ID)})
		}
	}
	if len(body.ProjectAndIssueTypes) == 0 {
		return nil, nil
	}
	var resp struct {
		Statuses []struct {
			Name            string `json:"name"`
			StatusReference string `json:"statusReference"`
		} `json:"statuses"`
		Workflows []struct {
			Transitions []struct {
				Name              string `json:"name"`
				ToStatusReference string `json:"toStatusReference"`
			} `json:"transitions"`
		} `json:"workflows"`
	}
	if err := c.do(ctx, call{endpoint: "POST /rest/api/3/workflows"}, http.MethodPost, "/rest/api/3/workflows", body, &resp); err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, s := range resp.Statuses {
		names[s.StatusReference] = s.Name
	}
	seen := map[WorkflowTransition]bool{}
	var out []WorkflowTransition
	for _, w := range resp.Workflows {
		for _, t := range w.Transitions {
			wt := WorkflowTransition{Name: t.Name, To: names[t.ToStatusReference]}
			if !seen[wt] {
				seen[wt] = true
				out = append(out, wt)
			}
		}
	}
	return out, nil
}
