// Package switchyard holds the domain: the Jira entities Switchyard copies, the
// permission vocabulary, and the errors shared by every package. It imports only
// the standard library; technology lives in the sub-packages (see DESIGN).
package switchyard

import "time"

// Mode is the flavour of a Jira site.
type Mode string

const (
	ModeCloud      Mode = "cloud"
	ModeDataCenter Mode = "datacenter"
)

// User is a Jira account. Email is empty when the user hides it; AccountID is the key.
type User struct {
	AccountID   string `json:"accountId"`
	DisplayName string `json:"displayName"`
	Email       string `json:"emailAddress,omitempty"`
	Active      bool   `json:"active"`
	AccountType string `json:"accountType"` // atlassian | app | customer
}

// Group is a Jira group with its direct members (account ids).
type Group struct {
	ID      string   `json:"groupId"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// ApplicationRole maps an application (jira-software, jira-servicedesk…) to the
// groups whose members use it.
type ApplicationRole struct {
	Key    string   `json:"key"`
	Groups []string `json:"groups"` // group ids
}

// Project is a Jira project with everything the permission model needs.
type Project struct {
	ID             string          `json:"id"`
	Key            string          `json:"key"`
	Name           string          `json:"name"`
	LeadAccountID  string          `json:"leadAccountId"`
	Roles          []ProjectRole   `json:"roles"`
	Browse         []Holder        `json:"browse"` // BROWSE_PROJECTS grants of its permission scheme
	SecurityLevels []SecurityLevel `json:"securityLevels"`
}

// ProjectRole is a role in one project with its actors.
type ProjectRole struct {
	ID     string     `json:"id"`
	Name   string     `json:"name"`
	Actors RoleActors `json:"actors"`
}

// RoleActors are a role's user actors (account ids) and group actors (group ids).
type RoleActors struct {
	Users  []string `json:"users"`
	Groups []string `json:"groups"`
}

// Holder types of permission grants and security-level members, as Jira names them.
const (
	HolderAnyone            = "anyone"
	HolderApplicationRole   = "applicationRole"
	HolderGroup             = "group"
	HolderProjectRole       = "projectRole"
	HolderUser              = "user"
	HolderProjectLead       = "projectLead"
	HolderReporter          = "reporter"
	HolderAssignee          = "assignee"
	HolderUserCustomField   = "userCustomField"
	HolderGroupCustomField  = "groupCustomField"
	HolderSDCustomerPortal  = "sd.customer.portal.only"
	PermissionBrowseProject = "BROWSE_PROJECTS"
)

// Holder is one permission holder. Parameter is a group id (group), role id
// (projectRole), account id (user), application key or "" for any application
// (applicationRole), custom field id (userCustomField, groupCustomField), and
// empty otherwise. A type the code does not know grants nothing.
type Holder struct {
	Type      string `json:"type"`
	Parameter string `json:"parameter,omitempty"`
}

// SecurityLevel is an issue security level with its member holders.
type SecurityLevel struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Members []Holder `json:"members"`
}

// Issue is a Jira issue as Switchyard stores and indexes it. Text fields are Markdown.
type Issue struct {
	ID              string              `json:"id"`
	Key             string              `json:"key"`
	ProjectID       string              `json:"projectId"`
	ProjectKey      string              `json:"projectKey,omitempty"`
	Summary         string              `json:"summary"`
	Description     string              `json:"description,omitempty"` // Markdown
	IssueType       string              `json:"issueType,omitempty"`
	Status          string              `json:"status,omitempty"`
	StatusCategory  string              `json:"statusCategory,omitempty"`
	Priority        string              `json:"priority,omitempty"`
	Labels          []string            `json:"labels,omitempty"`
	Reporter        string              `json:"reporter,omitempty"` // account id
	Assignee        string              `json:"assignee,omitempty"` // account id
	Created         time.Time           `json:"created"`
	Updated         time.Time           `json:"updated"`
	SecurityLevelID string              `json:"securityLevelId,omitempty"`
	CustomFields    map[string][]string `json:"customFields,omitempty"` // user/group picker fields: field id → account or group ids
	URL             string              `json:"url,omitempty"`
	Comments        []Comment           `json:"comments,omitempty"`
	Attachments     []Attachment        `json:"attachments,omitempty"`
	// CommentTotal is the number of comments Jira reports; more than len(Comments)
	// means the embedded page was capped and the rest must be paged.
	CommentTotal int `json:"commentTotal,omitempty"`
	// Jira Service Management: the request type (id and name), the request
	// participants (account ids) and the organizations it is shared with (ids).
	RequestTypeID string   `json:"requestTypeId,omitempty"`
	RequestType   string   `json:"requestType,omitempty"`
	Participants  []string `json:"participants,omitempty"`
	Organizations []string `json:"organizations,omitempty"`
	// FieldErrors are the fields Jira sent in a shape the connector could
	// not read; the rest of the issue was kept.
	FieldErrors []FieldError `json:"fieldErrors,omitempty"`
}

// Organization is a JSM customer organization with its members (account ids).
type Organization struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// ServiceDesk is a JSM service desk: its project and the organizations added
// to it (a request shared with an organization reaches its members only
// while the organization is added to the desk).
type ServiceDesk struct {
	ID            string   `json:"id"`
	ProjectID     string   `json:"projectId"`
	ProjectKey    string   `json:"projectKey,omitempty"`
	Organizations []string `json:"organizations"`
	// RequestTypes are the desk's request types
	// (/servicedesk/{id}/requesttype); nil when they were not readable.
	RequestTypes []RequestType `json:"requestTypes,omitempty"`
}

// RequestType is one request type of a JSM service desk.
type RequestType struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	IssueTypeID string `json:"issueTypeId,omitempty"`
}

// FieldError is one issue field that could not be decoded, and why.
type FieldError struct {
	Field string `json:"field"` // e.g. "priority", "comment.comments[2]"
	Error string `json:"error"`
}

// Comment is one issue comment. Body is Markdown.
type Comment struct {
	ID         string      `json:"id"`
	IssueID    string      `json:"issueId,omitempty"`
	Author     string      `json:"author,omitempty"` // account id
	Body       string      `json:"body,omitempty"`
	Created    time.Time   `json:"created"`
	Updated    time.Time   `json:"updated"`
	Visibility *Visibility `json:"visibility"`
	// Internal is true for a JSM internal note (jsdPublic false): customers
	// never see it, nor the files it shows.
	Internal bool `json:"internal,omitempty"`
	// Files are the file names the body shows (media nodes): attachments
	// that came with this comment.
	Files []string `json:"files,omitempty"`
}

// Visibility restricts a comment to a group or a project role.
type Visibility struct {
	Type       string `json:"type"`       // group | role
	Value      string `json:"value"`      // group or role name
	Identifier string `json:"identifier"` // group id, or role name for roles
}

// Attachment is an issue attachment's metadata and, once extracted, its text.
type Attachment struct {
	ID         string    `json:"id"`
	IssueID    string    `json:"issueId,omitempty"`
	Filename   string    `json:"filename"`
	MimeType   string    `json:"mimeType"`
	Size       int64     `json:"size"`
	Created    time.Time `json:"created"`
	ContentURL string    `json:"content,omitempty"`
	Text       string    `json:"text,omitempty"` // extracted, Markdown or plain
}
