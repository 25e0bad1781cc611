package jirasim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// Jira Service Management (JSM): service desks with request types, customer
// organizations, request participants, internal notes and native approvals.
//
// A comment is an internal note when its sd.public.comment property says
// {"internal": true}; the platform API shows that as jsdPublic false. The
// request type, participants and organizations live in custom fields whose ids
// differ per site (discovered through /rest/api/3/field by their schema type).

// Custom field schema types of the JSM fields.
const (
	SchemaRequestType   = "com.atlassian.servicedesk:vp-origin"
	SchemaParticipants  = "com.atlassian.servicedesk:sd-request-participants"
	SchemaOrganizations = "com.atlassian.servicedesk:sd-customer-organizations"
	PropPublicComment   = "sd.public.comment"
)

// SimOrganization is a JSM customer organization; Members are account ids.
type SimOrganization struct {
	ID      string
	Name    string
	Members []string
}

// SimServiceDesk is the service desk of a service_desk project. Organizations
// are the organizations added to it: a request shared with an organization
// gives that organization's members access only while the organization is
// added to the service desk (its customer-sharing setting).
type SimServiceDesk struct {
	ID            string
	Organizations []string
	RequestTypes  []SimRequestType
}

// SimRequestType is one request type of a service desk.
type SimRequestType struct {
	ID        string
	Name      string
	IssueType string
}

// SimApproval is a JSM approval on a request. Decision is pending, approved
// or declined; Answers maps an approver to approve|decline.
type SimApproval struct {
	ID        string
	Name      string
	Approvers []string
	Answers   map[string]string
	Decision  string
	Created   time.Time
	Completed time.Time
}

// jsmFieldIDs gives the per-site ids of the three JSM fields.
func jsmFieldIDs(seed int64) (requestType, participants, organizations string) {
	base := 10010 + int(uint64(seed)%10)*3
	return "customfield_" + strconv.Itoa(base), "customfield_" + strconv.Itoa(base+1), "customfield_" + strconv.Itoa(base+2)
}

// FieldIDs returns the ids of the request type, participants and organizations fields.
func (w *World) FieldIDs() (requestType, participants, organizations string) {
	return w.fieldRequestType, w.fieldParticipants, w.fieldOrganizations
}

// Internal reports whether the comment is an internal note (sd.public.comment
// says internal: true).
func (c *SimComment) Internal() bool {
	raw, ok := c.Properties[PropPublicComment]
	if !ok {
		return false
	}
	var v struct {
		Internal bool `json:"internal"`
	}
	return json.Unmarshal(raw, &v) == nil && v.Internal
}

// jsmRequestTypes are the request types a service desk offers, by issue type.
var jsmRequestTypes = []SimRequestType{
	{Name: "Get IT help", IssueType: "Service Request"},
	{Name: "Request new hardware", IssueType: "Service Request"},
	{Name: "Report a system problem", IssueType: "Incident"},
	{Name: "Investigate a problem", IssueType: "Problem"},
	{Name: "Request a change", IssueType: "Change"},
}

var jsmOrgNames = []string{"Acme Retail", "Globex Field Ops", "Initech Finance", "Umbrella Labs"}

// generateJSM adds the service management layer to a generated world. It uses
// its own random stream so the rest of the world stays as it was.
func (g *generator) generateJSM() {
	w := g.w
	if w.Mode == switchyard.ModeDataCenter {
		return // see isCustomer
	}
	r := rand.New(rand.NewPCG(uint64(g.o.Seed), 0x4a534d))
	w.fieldRequestType, w.fieldParticipants, w.fieldOrganizations = jsmFieldIDs(g.o.Seed)

	// More customers, some hiding their e-mail.
	seen := map[string]bool{}
	for _, u := range w.Users {
		seen[strings.ToLower(u.Email)] = true
	}
	for i := 0; i < 4+g.o.Issues/40; i++ {
		first, last := pick(r, firstNames), pick(r, lastNames)
		u := &SimUser{TimeZone: "UTC"}
		u.Active = true
		u.AccountType = "customer"
		u.AccountID = "qm:" + randUUID(r) + ":" + randUUID(r)
		u.DisplayName = first + " " + last
		u.Email = g.email(strings.ToLower(first)+"."+strings.ToLower(last), pick(r, customerOrgs), seen)
		if r.IntN(3) == 0 {
			u.HiddenEmail, u.Email = u.Email, ""
		}
		w.Users = append(w.Users, u)
		g.custs = append(g.custs, u)
	}
	for i, name := range jsmOrgNames {
		o := &SimOrganization{ID: strconv.Itoa(i + 1), Name: name, Members: []string{}}
		for _, c := range g.custs {
			if r.IntN(3) == 0 {
				o.Members = append(o.Members, c.AccountID)
			}
		}
		if len(o.Members) == 0 && len(g.custs) > 0 {
			o.Members = append(o.Members, pick(r, g.custs).AccountID)
		}
		w.Organizations = append(w.Organizations, o)
	}
	rtID, sdID := 1, 1
	for _, p := range w.Projects {
		if p.ProjectTypeKey != "service_desk" {
			continue
		}
		sd := &SimServiceDesk{ID: strconv.Itoa(sdID)}
		sdID++
		// Not every organization is added to every desk, so some shares give no access.
		for _, o := range w.Organizations {
			if r.IntN(3) != 0 {
				sd.Organizations = append(sd.Organizations, o.ID)
			}
		}
		for _, rt := range jsmRequestTypes {
			rt.ID = strconv.Itoa(rtID)
			rtID++
			sd.RequestTypes = append(sd.RequestTypes, rt)
		}
		p.ServiceDesk = sd
		if !slices.ContainsFunc(p.Browse, func(h switchyard.Holder) bool { return h.Type == switchyard.HolderSDCustomerPortal }) {
			p.Browse = append(p.Browse, switchyard.Holder{Type: switchyard.HolderSDCustomerPortal})
		}
	}
	approvalID := 1
	for _, iss := range w.Issues {
		p := w.findProject(iss.ProjectID)
		if p == nil || p.ServiceDesk == nil {
			continue
		}
		sd := p.ServiceDesk
		var fits []SimRequestType
		for _, rt := range sd.RequestTypes {
			if rt.IssueType == iss.IssueType {
				fits = append(fits, rt)
			}
		}
		if len(fits) > 0 && r.IntN(10) != 0 {
			iss.RequestType = pick(r, fits).ID
		}
		if len(g.custs) > 0 && r.IntN(3) == 0 {
			iss.Participants = dedupe([]string{pick(r, g.custs).AccountID, pick(r, g.custs).AccountID})
			if r.IntN(4) == 0 {
				iss.Participants = append(iss.Participants, pick(r, g.agents).AccountID)
			}
		}
		if r.IntN(3) == 0 {
			iss.Organizations = []string{pick(r, w.Organizations).ID}
		}
		for _, c := range iss.Comments {
			if r.IntN(3) == 0 {
				c.Properties[PropPublicComment] = json.RawMessage(`{"internal":true}`)
			}
		}
		// Some attachments came with a comment: its body shows the file.
		for _, a := range iss.Attachments {
			if len(iss.Comments) == 0 || r.IntN(2) == 0 || !uniqueFilename(iss, a.Filename) {
				continue
			}
			c := pick(r, iss.Comments)
			a.CommentID = c.ID
			c.Body = withMedia(c.Body, randUUID(r), a.Filename)
		}
		if iss.RequestType != "" && iss.StatusCategory != "done" && r.IntN(5) == 0 {
			ap := &SimApproval{ID: strconv.Itoa(approvalID), Name: "Manager approval", Answers: map[string]string{}, Decision: "pending", Created: iss.Updated,
				Approvers: dedupe([]string{w.adminAccountID, pick(r, g.agents).AccountID})}
			approvalID++
			iss.Approvals = append(iss.Approvals, ap)
		}
	}
	w.nextApprovalID = int64(approvalID)
}

func (w *World) findProject(id string) *SimProject {
	for _, p := range w.Projects {
		if p.ID == id {
			return p
		}
	}
	return nil
}

func uniqueFilename(iss *SimIssue, name string) bool {
	n := 0
	for _, a := range iss.Attachments {
		if a.Filename == name {
			n++
		}
	}
	return n == 1
}

// withMedia appends a mediaSingle node showing the file to an ADF document.
func withMedia(body json.RawMessage, mediaID, filename string) json.RawMessage {
	var doc map[string]any
	if json.Unmarshal(body, &doc) != nil {
		return body
	}
	content, _ := doc["content"].([]any)
	content = append(content, map[string]any{"type": "mediaSingle", "attrs": map[string]any{"layout": "center"}, "content": []any{
		map[string]any{"type": "media", "attrs": map[string]any{"id": mediaID, "type": "file", "collection": "", "alt": filename}},
	}})
	doc["content"] = content
	b, err := json.Marshal(doc)
	if err != nil {
		return body
	}
	return b
}

// OrganizationByID finds an organization. Lock held by the caller.
func (w *World) OrganizationByID(id string) *SimOrganization {
	for _, o := range w.Organizations {
		if o.ID == id {
			return o
		}
	}
	return nil
}

// ServiceDeskByID finds the project of a service desk by the desk's id or the
// project's id or key. Lock held by the caller.
func (w *World) ServiceDeskByID(id string) *SimProject {
	for _, p := range w.Projects {
		if p.ServiceDesk != nil && (p.ServiceDesk.ID == id || p.ID == id || p.Key == id) {
			return p
		}
	}
	return nil
}

// RequestTypeByID finds a request type in a project's desk.
func (p *SimProject) RequestTypeByID(id string) *SimRequestType {
	if p == nil || p.ServiceDesk == nil {
		return nil
	}
	for i := range p.ServiceDesk.RequestTypes {
		if p.ServiceDesk.RequestTypes[i].ID == id {
			return &p.ServiceDesk.RequestTypes[i]
		}
	}
	return nil
}

// isCustomer: a portal-only customer account. The Data Center model has no
// JSM layer (no servicedeskapi, no accountType in its user shape), so there
// customers stay ordinary users as before.
func (w *World) isCustomer(u *SimUser) bool {
	return u != nil && u.AccountType == "customer" && w.Mode != switchyard.ModeDataCenter
}

// customerReaches is the portal rule: the customer reported the request,
// participates in it, or belongs to an organization it is shared with that
// is added to the project's service desk.
func (w *World) customerReaches(id string, p *SimProject, iss *SimIssue) bool {
	if p.ServiceDesk == nil {
		return false
	}
	if iss.Reporter == id || slices.Contains(iss.Participants, id) {
		return true
	}
	for _, oid := range iss.Organizations {
		if !slices.Contains(p.ServiceDesk.Organizations, oid) {
			continue
		}
		if o := w.OrganizationByID(oid); o != nil && slices.Contains(o.Members, id) {
			return true
		}
	}
	return false
}

// CanSeeAttachment is the oracle for one attachment: its issue must be
// visible; a customer additionally sees an attachment that came with a comment
// only when that comment is public and unrestricted.
func (w *World) CanSeeAttachment(accountID, issueKeyOrID, attachmentID string) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	iss := w.IssueByIDOrKey(issueKeyOrID)
	if iss == nil {
		return false
	}
	for _, a := range iss.Attachments {
		if a.ID == attachmentID {
			return w.canSeeAttachmentLocked(accountID, iss, a)
		}
	}
	return false
}

func (w *World) canSeeAttachmentLocked(accountID string, iss *SimIssue, a *SimAttachment) bool {
	if !w.CanSeeLocked(accountID, iss, nil) {
		return false
	}
	if !w.isCustomer(w.UserByID(accountID)) || a.CommentID == "" {
		return true
	}
	c := iss.CommentByID(a.CommentID)
	return c != nil && !c.Internal() && c.Visibility == nil
}

// Mutations for tests (also under /_sim/).

// SetParticipants replaces a request's participants.
func (w *World) SetParticipants(actor, key string, accountIDs []string) error {
	actor, iss, _, err := w.beginIssueWrite(actor, key)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	for i, id := range accountIDs {
		if err := w.checkUser(fmt.Sprintf("participants[%d]", i), id); err != nil {
			return err
		}
	}
	iss.Participants = dedupe(append([]string{}, accountIDs...))
	iss.Updated = w.tick()
	w.emit("jira:issue_updated", w.issuePayload(actor, iss, "issue_updated"), iss)
	return nil
}

// SetRequestOrganizations replaces the organizations a request is shared with.
func (w *World) SetRequestOrganizations(actor, key string, orgIDs []string) error {
	actor, iss, _, err := w.beginIssueWrite(actor, key)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	for i, id := range orgIDs {
		if w.OrganizationByID(id) == nil {
			return invalid(fmt.Sprintf("organizations[%d]", i), "unknown organization %q", id)
		}
	}
	iss.Organizations = dedupe(append([]string{}, orgIDs...))
	iss.Updated = w.tick()
	w.emit("jira:issue_updated", w.issuePayload(actor, iss, "issue_updated"), iss)
	return nil
}

// SetOrganizationMembers replaces an organization's members (customers).
func (w *World) SetOrganizationMembers(actor, orgID string, accountIDs []string) error {
	_, err := w.beginWrite(actor)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	o := w.OrganizationByID(orgID)
	if o == nil {
		return notFound("organization", orgID)
	}
	for i, id := range accountIDs {
		if err := w.checkUser(fmt.Sprintf("members[%d]", i), id); err != nil {
			return err
		}
	}
	o.Members = dedupe(append([]string{}, accountIDs...))
	w.tick()
	return nil
}

// SetServiceDeskOrganizations replaces the organizations added to a project's
// service desk (what requests may be shared with to any effect).
func (w *World) SetServiceDeskOrganizations(actor, projectKey string, orgIDs []string) error {
	_, err := w.beginWrite(actor)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	p, err := w.projectForWrite(projectKey)
	if err != nil {
		return err
	}
	if p.ServiceDesk == nil {
		return invalid("project", "project %s is not a service desk", p.Key)
	}
	for i, id := range orgIDs {
		if w.OrganizationByID(id) == nil {
			return invalid(fmt.Sprintf("organizations[%d]", i), "unknown organization %q", id)
		}
	}
	p.ServiceDesk.Organizations = dedupe(append([]string{}, orgIDs...))
	w.tick()
	return nil
}

// RenameRequestType renames a request type of a project's service desk. As
// in JSM, no issue changes: its request type field shows the new name, but
// its updated time stays, so an incremental sync does not fetch it again.
func (w *World) RenameRequestType(actor, projectKey, requestTypeID, name string) error {
	_, err := w.beginWrite(actor)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	p, err := w.projectForWrite(projectKey)
	if err != nil {
		return err
	}
	if p.ServiceDesk == nil {
		return invalid("project", "project %s is not a service desk", p.Key)
	}
	name = strings.TrimSpace(name)
	if name == "" {
		return invalid("name", "is required")
	}
	rt := p.RequestTypeByID(requestTypeID)
	if rt == nil {
		return notFound("request type", requestTypeID)
	}
	rt.Name = name
	w.tick()
	return nil
}

// SetCommentInternal marks a comment internal or public through its property.
func (w *World) SetCommentInternal(actor, key, commentID string, internal bool) error {
	v := json.RawMessage(`{"internal":false}`)
	if internal {
		v = json.RawMessage(`{"internal":true}`)
	}
	return w.SetCommentProperty(actor, key, commentID, PropPublicComment, v)
}

// AddApproval opens a pending approval on a request.
func (w *World) AddApproval(actor, key, name string, approvers []string) (*SimApproval, error) {
	_, iss, p, err := w.beginIssueWrite(actor, key)
	defer w.unlockAndDispatch()
	if err != nil {
		return nil, err
	}
	if p.ServiceDesk == nil {
		return nil, invalid("issue", "%s is not a request of a service desk", iss.Key)
	}
	if len(approvers) == 0 {
		return nil, invalid("approvers", "an approval needs at least one approver")
	}
	for i, id := range approvers {
		if err := w.checkUser(fmt.Sprintf("approvers[%d]", i), id); err != nil {
			return nil, err
		}
	}
	if w.nextApprovalID == 0 {
		w.nextApprovalID = 1
	}
	ap := &SimApproval{ID: strconv.FormatInt(w.nextApprovalID, 10), Name: name, Approvers: dedupe(append([]string{}, approvers...)),
		Answers: map[string]string{}, Decision: "pending"}
	w.nextApprovalID++
	iss.Approvals = append(iss.Approvals, ap)
	iss.Updated = w.tick()
	ap.Created = iss.Updated
	return ap, nil
}

// AnswerApproval records an approver's decision (approve | decline). The
// first answer decides, as with the default "one approver" condition; a second
// answer is a conflict, as Jira refuses an approval that is no longer pending.
func (w *World) AnswerApproval(actor, key, approvalID, decision string) (*SimApproval, error) {
	actor, iss, _, err := w.beginIssueWrite(actor, key)
	defer w.unlockAndDispatch()
	if err != nil {
		return nil, err
	}
	var ap *SimApproval
	for _, a := range iss.Approvals {
		if a.ID == approvalID {
			ap = a
		}
	}
	if ap == nil {
		return nil, notFound("approval", approvalID)
	}
	if decision != "approve" && decision != "decline" {
		return nil, invalid("decision", "must be approve or decline, not %q", decision)
	}
	if !slices.Contains(ap.Approvers, actor) {
		return nil, &switchyard.Error{Kind: switchyard.ErrForbidden, Message: "you are not an approver of this approval"}
	}
	if ap.Decision != "pending" {
		return nil, &switchyard.Error{Kind: switchyard.ErrConflict, Message: "this approval has already been " + ap.Decision}
	}
	ap.Answers[actor] = decision
	ap.Decision = map[string]string{"approve": "approved", "decline": "declined"}[decision]
	iss.Updated = w.tick()
	ap.Completed = iss.Updated
	w.emit("jira:issue_updated", w.issuePayload(actor, iss, "issue_updated"), iss)
	return ap, nil
}

func cloneApproval(a *SimApproval) StateApproval {
	s := StateApproval{ID: a.ID, Name: a.Name, Approvers: orEmpty(a.Approvers), Answers: map[string]string{}, FinalDecision: a.Decision}
	for k, v := range a.Answers {
		s.Answers[k] = v
	}
	return s
}

// StateOrganization, StateServiceDesk and StateApproval are the JSM parts of State.
type StateOrganization struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

type StateServiceDesk struct {
	ID            string             `json:"id"`
	Organizations []string           `json:"organizations"`
	RequestTypes  []StateRequestType `json:"requestTypes"`
}

type StateRequestType struct {
	ID        string `json:"id"`
	Name      string `json:"name"`
	IssueType string `json:"issueType"`
}

type StateApproval struct {
	ID            string            `json:"id"`
	Name          string            `json:"name"`
	Approvers     []string          `json:"approvers"`
	Answers       map[string]string `json:"answers"`
	FinalDecision string            `json:"finalDecision"`
}

func stateServiceDesk(sd *SimServiceDesk) *StateServiceDesk {
	if sd == nil {
		return nil
	}
	out := &StateServiceDesk{ID: sd.ID, Organizations: orEmpty(sd.Organizations), RequestTypes: []StateRequestType{}}
	for _, rt := range sd.RequestTypes {
		out.RequestTypes = append(out.RequestTypes, StateRequestType(rt))
	}
	return out
}

// jsmSimRoutes are the /_sim/ mutations of the JSM model.
func (w *World) jsmSimRoutes(m *http.ServeMux) {
	ids := func(name string, set func(r *http.Request, ids []string) error) http.HandlerFunc {
		return func(rw http.ResponseWriter, r *http.Request) {
			var in map[string][]string
			if err := decodeStrict(rw, r, &in); err != nil {
				simFail(rw, err)
				return
			}
			for k := range in {
				if k != name {
					simFail(rw, invalid(k, "unknown field %q (want %s)", k, name))
					return
				}
			}
			if err := set(r, in[name]); err != nil {
				simFail(rw, err)
				return
			}
			simJSON(rw, http.StatusOK, map[string]any{name: orEmpty(in[name])})
		}
	}
	m.HandleFunc("PUT /_sim/issues/{key}/participants", ids("participants", func(r *http.Request, v []string) error {
		return w.SetParticipants(actorOf(r), r.PathValue("key"), v)
	}))
	m.HandleFunc("PUT /_sim/issues/{key}/organizations", ids("organizations", func(r *http.Request, v []string) error {
		return w.SetRequestOrganizations(actorOf(r), r.PathValue("key"), v)
	}))
	m.HandleFunc("PUT /_sim/organizations/{id}/members", ids("members", func(r *http.Request, v []string) error {
		return w.SetOrganizationMembers(actorOf(r), r.PathValue("id"), v)
	}))
	m.HandleFunc("PUT /_sim/projects/{key}/service-desk/organizations", ids("organizations", func(r *http.Request, v []string) error {
		return w.SetServiceDeskOrganizations(actorOf(r), r.PathValue("key"), v)
	}))
	m.HandleFunc("PATCH /_sim/projects/{key}/service-desk/request-types/{id}", func(rw http.ResponseWriter, r *http.Request) {
		var in struct {
			Name string `json:"name"`
		}
		if err := decodeStrict(rw, r, &in); err != nil {
			simFail(rw, err)
			return
		}
		if err := w.RenameRequestType(actorOf(r), r.PathValue("key"), r.PathValue("id"), in.Name); err != nil {
			simFail(rw, err)
			return
		}
		simJSON(rw, http.StatusOK, map[string]string{"id": r.PathValue("id"), "name": strings.TrimSpace(in.Name)})
	})
	m.HandleFunc("PUT /_sim/issues/{key}/comments/{id}/internal", func(rw http.ResponseWriter, r *http.Request) {
		var in struct {
			Internal *bool `json:"internal"`
		}
		if err := decodeStrict(rw, r, &in); err != nil {
			simFail(rw, err)
			return
		}
		if in.Internal == nil {
			simFail(rw, invalid("internal", "is required (true or false)"))
			return
		}
		if err := w.SetCommentInternal(actorOf(r), r.PathValue("key"), r.PathValue("id"), *in.Internal); err != nil {
			simFail(rw, err)
			return
		}
		simJSON(rw, http.StatusOK, map[string]bool{"internal": *in.Internal})
	})
	m.HandleFunc("POST /_sim/issues/{key}/approvals", func(rw http.ResponseWriter, r *http.Request) {
		var in struct {
			Name      string   `json:"name"`
			Approvers []string `json:"approvers"`
		}
		if err := decodeStrict(rw, r, &in); err != nil {
			simFail(rw, err)
			return
		}
		if in.Name == "" {
			in.Name = "Approval"
		}
		ap, err := w.AddApproval(actorOf(r), r.PathValue("key"), in.Name, in.Approvers)
		if err != nil {
			simFail(rw, err)
			return
		}
		w.mu.RLock()
		defer w.mu.RUnlock()
		simJSON(rw, http.StatusCreated, cloneApproval(ap))
	})
}
