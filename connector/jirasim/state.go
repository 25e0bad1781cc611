package jirasim

import (
	"encoding/json"
	"time"

	"switchyard"
)

// State is the whole world in the shape of shared/jira/sim-state.md. Field
// names are fixed by that document; extra fields only add.
type State struct {
	Mode             switchyard.Mode `json:"mode"`
	AdminAccountID   string          `json:"adminAccountId"`
	Users            []StateUser     `json:"users"`
	Groups           []StateGroup    `json:"groups"`
	ApplicationRoles []StateAppRole  `json:"applicationRoles"`
	Projects         []StateProject  `json:"projects"`
	Issues           []StateIssue    `json:"issues"`
	Deleted          []string        `json:"deleted"`
	// JSM (additions to sim-state.md): customer organizations and the
	// per-site ids of the request type, participants and organizations fields.
	Organizations []StateOrganization `json:"organizations"`
	JSMFields     map[string]string   `json:"jsmFields"`
}

type StateUser struct {
	AccountID    string  `json:"accountId"`
	DisplayName  string  `json:"displayName"`
	EmailAddress *string `json:"emailAddress"` // null when hidden
	Active       bool    `json:"active"`
	AccountType  string  `json:"accountType"`
}

type StateGroup struct {
	GroupID string   `json:"groupId"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

type StateAppRole struct {
	Key    string   `json:"key"`
	Groups []string `json:"groups"`
}

type StateProject struct {
	ID             string               `json:"id"`
	Key            string               `json:"key"`
	Name           string               `json:"name"`
	ProjectTypeKey string               `json:"projectTypeKey"`
	LeadAccountID  string               `json:"leadAccountId"`
	Roles          []StateRole          `json:"roles"`
	Browse         []StateHolder        `json:"browse"`
	SecurityLevels []StateSecurityLevel `json:"securityLevels"`
	ServiceDesk    *StateServiceDesk    `json:"serviceDesk,omitempty"`
}

type StateRole struct {
	ID     string      `json:"id"`
	Name   string      `json:"name"`
	Actors StateActors `json:"actors"`
}

type StateActors struct {
	Users  []string `json:"users"`
	Groups []string `json:"groups"`
}

// StateHolder omits parameter when the holder type takes none ("absent otherwise");
// applicationRole keeps "" meaning any application.
type StateHolder struct {
	Type      string  `json:"type"`
	Parameter *string `json:"parameter,omitempty"`
}

type StateSecurityLevel struct {
	ID      string        `json:"id"`
	Name    string        `json:"name"`
	Members []StateHolder `json:"members"`
}

type StateIssue struct {
	ID              string              `json:"id"`
	Key             string              `json:"key"`
	ProjectID       string              `json:"projectId"`
	Summary         string              `json:"summary"`
	IssueType       string              `json:"issueType"`
	Status          string              `json:"status"`
	StatusCategory  string              `json:"statusCategory"`
	Priority        string              `json:"priority"`
	Labels          []string            `json:"labels"`
	Created         string              `json:"created"`
	Updated         string              `json:"updated"`
	Reporter        *string             `json:"reporter"`
	Assignee        *string             `json:"assignee"`
	SecurityLevelID *string             `json:"securityLevelId"`
	CustomFields    map[string][]string `json:"customFields"`
	Comments        []StateComment      `json:"comments"`
	Attachments     []StateAttachment   `json:"attachments"`
	RequestType     *string             `json:"requestType"` // request type id, or null
	Participants    []string            `json:"participants"`
	Organizations   []string            `json:"organizations"`
	Approvals       []StateApproval     `json:"approvals"`
}

type StateComment struct {
	ID         string                 `json:"id"`
	Author     string                 `json:"author"`
	Created    string                 `json:"created"`
	Updated    string                 `json:"updated"`
	Visibility *switchyard.Visibility `json:"visibility"`
	JSDPublic  bool                   `json:"jsdPublic"` // false for an internal note
}

type StateAttachment struct {
	ID       string `json:"id"`
	Filename string `json:"filename"`
	MimeType string `json:"mimeType"`
	Size     int64  `json:"size"`
	Created  string `json:"created"`
	// CommentID is the comment the file came with; absent for the issue's own.
	CommentID string `json:"commentId,omitempty"`
}

// StateTime formats t as sim-state.md wants: RFC 3339 in UTC with milliseconds.
func StateTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z07:00") }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func orEmpty(xs []string) []string {
	if xs == nil {
		return []string{}
	}
	return append([]string{}, xs...)
}

func stateHolders(hs []switchyard.Holder) []StateHolder {
	out := make([]StateHolder, 0, len(hs))
	for _, h := range hs {
		sh := StateHolder{Type: h.Type}
		if h.Parameter != "" || h.Type == switchyard.HolderApplicationRole {
			p := h.Parameter
			sh.Parameter = &p
		}
		out = append(out, sh)
	}
	return out
}

// State snapshots the world. It takes the read lock; the result shares nothing
// with the world.
func (w *World) State() State {
	w.mu.RLock()
	defer w.mu.RUnlock()
	s := State{Mode: w.Mode, AdminAccountID: w.adminAccountID, Users: []StateUser{}, Groups: []StateGroup{},
		ApplicationRoles: []StateAppRole{}, Projects: []StateProject{}, Issues: []StateIssue{}, Deleted: orEmpty(w.Deleted),
		Organizations: []StateOrganization{}, JSMFields: map[string]string{
			"requestType": w.fieldRequestType, "participants": w.fieldParticipants, "organizations": w.fieldOrganizations}}
	for _, o := range w.Organizations {
		s.Organizations = append(s.Organizations, StateOrganization{ID: o.ID, Name: o.Name, Members: orEmpty(o.Members)})
	}
	for _, u := range w.Users {
		s.Users = append(s.Users, StateUser{AccountID: u.AccountID, DisplayName: u.DisplayName, EmailAddress: nullable(u.Email),
			Active: u.Active, AccountType: u.AccountType})
	}
	for _, g := range w.Groups {
		s.Groups = append(s.Groups, StateGroup{GroupID: g.ID, Name: g.Name, Members: orEmpty(g.Members)})
	}
	for _, ar := range w.ApplicationRoles {
		s.ApplicationRoles = append(s.ApplicationRoles, StateAppRole{Key: ar.Key, Groups: orEmpty(ar.Groups)})
	}
	for _, p := range w.Projects {
		sp := StateProject{ID: p.ID, Key: p.Key, Name: p.Name, ProjectTypeKey: p.ProjectTypeKey, LeadAccountID: p.LeadAccountID,
			Roles: []StateRole{}, Browse: stateHolders(p.Browse), SecurityLevels: []StateSecurityLevel{},
			ServiceDesk: stateServiceDesk(p.ServiceDesk)}
		for _, r := range p.Roles {
			sp.Roles = append(sp.Roles, StateRole{ID: r.ID, Name: r.Name, Actors: StateActors{Users: orEmpty(r.Actors.Users), Groups: orEmpty(r.Actors.Groups)}})
		}
		for _, l := range p.SecurityLevels {
			sp.SecurityLevels = append(sp.SecurityLevels, StateSecurityLevel{ID: l.ID, Name: l.Name, Members: stateHolders(l.Members)})
		}
		s.Projects = append(s.Projects, sp)
	}
	for _, iss := range w.Issues {
		s.Issues = append(s.Issues, stateIssue(iss))
	}
	return s
}

// StateJSON is State encoded as indented JSON (what GET /_sim/state serves).
func (w *World) StateJSON() []byte {
	b, err := json.MarshalIndent(w.State(), "", "  ")
	if err != nil {
		panic(err) // plain data only
	}
	return append(b, '\n')
}

// stateIssue converts one issue to its State shape. Lock held by the caller.
func stateIssue(iss *SimIssue) StateIssue {
	si := StateIssue{ID: iss.ID, Key: iss.Key, ProjectID: iss.ProjectID, Summary: iss.Summary, IssueType: iss.IssueType,
		Status: iss.Status, StatusCategory: iss.StatusCategory, Priority: iss.Priority, Labels: orEmpty(iss.Labels),
		Created: StateTime(iss.Created), Updated: StateTime(iss.Updated),
		Reporter: nullable(iss.Reporter), Assignee: nullable(iss.Assignee), SecurityLevelID: nullable(iss.SecurityLevelID),
		CustomFields: map[string][]string{}, Comments: []StateComment{}, Attachments: []StateAttachment{},
		RequestType: nullable(iss.RequestType), Participants: orEmpty(iss.Participants), Organizations: orEmpty(iss.Organizations),
		Approvals: []StateApproval{}}
	for _, a := range iss.Approvals {
		si.Approvals = append(si.Approvals, cloneApproval(a))
	}
	for k, v := range iss.CustomFields {
		if len(v) > 0 {
			si.CustomFields[k] = orEmpty(v) // map keys are sorted by encoding/json
		}
	}
	for _, c := range iss.Comments {
		var vis *switchyard.Visibility
		if c.Visibility != nil {
			v := *c.Visibility
			vis = &v
		}
		si.Comments = append(si.Comments, StateComment{ID: c.ID, Author: c.Author, Created: StateTime(c.Created), Updated: StateTime(c.Updated), Visibility: vis,
			JSDPublic: !c.Internal()})
	}
	for _, a := range iss.Attachments {
		si.Attachments = append(si.Attachments, StateAttachment{ID: a.ID, Filename: a.Filename, MimeType: a.MimeType, Size: int64(len(a.Content)), Created: StateTime(a.Created),
			CommentID: a.CommentID})
	}
	return si
}
