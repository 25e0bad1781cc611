// Package jirasim is an in-process, deterministic Jira (Cloud and Data Center)
// served as an http.Handler. Tests, benchmarks and the demo run against it over
// real HTTP. Its world is generated from a seed, mutated through /_sim/*, and
// published as JSON in the shape of shared/jira/sim-state.md.
package jirasim

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	"switchyard"
)

// World is the simulator's whole state. Every field is guarded by mu; handlers
// take the read lock, mutations the write lock.
type World struct {
	mu sync.RWMutex

	Mode             switchyard.Mode
	BaseURL          string // set by Server when it knows its address; used in self links
	Users            []*SimUser
	Groups           []*SimGroup
	ApplicationRoles []*switchyard.ApplicationRole
	Projects         []*SimProject
	Issues           []*SimIssue // ordered by id
	Deleted          []string    // issue keys deleted since generation
	Audit            []AuditRecord
	Webhooks         []*Webhook
	Organizations    []*SimOrganization // JSM customer organizations (jsm.go)

	nextID int64     // next numeric id for issues, comments, attachments, audit records
	clock  time.Time // simulated "now"; advances with every mutation so updated is strictly increasing

	// DuplicateRate (0..1) is the share of webhook deliveries sent a second time
	// with the same X-Atlassian-Webhook-Identifier, so receivers must de-duplicate.
	// Set it before mutating (it is read under the write lock when events are queued).
	DuplicateRate float64
	// WebhookClient sends webhook deliveries; nil means a client with a 5 s timeout.
	// Read when the first delivery starts the workers.
	WebhookClient *http.Client
	// WebhookRetries is how many times a failed delivery is retried (default 3);
	// read when the workers start.
	WebhookRetries int

	// Separate counters keep Jira's id ranges apart: issues from 10000,
	// comments from 100000, attachments from 200000 (nextID serves audit records).
	nextIssueID      int64
	nextCommentID    int64
	nextAttachmentID int64
	nextUserSeq      int64
	nextWebhookID    int64
	keySeq           map[string]int // project id → last issue number used for keys
	adminAccountID   string
	seed             int64
	nextApprovalID   int64

	// Per-site ids of the JSM custom fields (jsm.go).
	fieldRequestType, fieldParticipants, fieldOrganizations string

	// Lookup maps, kept in sync by every mutation (see lookup.go).
	issuesByID   map[string]*SimIssue
	issuesByKey  map[string]*SimIssue
	movedKeys    map[string]string // old key → issue id, like Jira's redirect after a move
	usersByID    map[string]*SimUser
	groupsByID   map[string]*SimGroup
	groupsByName map[string]*SimGroup
	projectsByID map[string]*SimProject
	projectsKey  map[string]*SimProject

	outbox         []delivery // deliveries built under the write lock, sent after it
	closed         bool
	nextDeliveryID int64
	dupRand        *rand.Rand
	hooks          *webhookQueue                        // delivery workers; started lazily (webhookdelivery.go)
	jqlMatch       func(jql string, iss *SimIssue) bool // dynamic webhook filter, set by the REST layer
	simMuxOnce     sync.Once
	simMux         *http.ServeMux
}

// SimUser is a user plus what only the simulator knows (timezone, hidden email).
type SimUser struct {
	switchyard.User
	HiddenEmail string // the real address when Email is hidden; lets tests map email → account
	TimeZone    string
}

// SimGroup is a group; Members are account ids.
type SimGroup struct {
	switchyard.Group
}

// SimProject is a project with its scheme ids and issue types.
type SimProject struct {
	switchyard.Project
	ProjectTypeKey       string // software | service_desk | business
	PermissionSchemeID   string
	SecuritySchemeID     string // empty when the project has no issue security scheme
	IssueTypes           []string
	CustomFieldUserPick  string // id of the user-picker custom field its grants/levels may reference
	CustomFieldGroupPick string
	ServiceDesk          *SimServiceDesk // service_desk projects only (jsm.go)
}

// SimIssue is an issue as Jira holds it: the description and comment bodies are ADF.
type SimIssue struct {
	ID              string
	Key             string
	ProjectID       string
	Summary         string
	Description     json.RawMessage // ADF document (Cloud); DC renders it to wiki text
	IssueType       string
	Status          string
	StatusCategory  string // new | indeterminate | done
	Priority        string
	Labels          []string
	Reporter        string // account id or ""
	Assignee        string
	Created         time.Time
	Updated         time.Time
	SecurityLevelID string
	CustomFields    map[string][]string
	Comments        []*SimComment
	Attachments     []*SimAttachment
	Properties      map[string]json.RawMessage // issue properties
	// JSM: the request type id, participants (account ids), the organizations
	// the request is shared with (ids) and native approvals.
	RequestType   string
	Participants  []string
	Organizations []string
	Approvals     []*SimApproval
}

// SimComment is a comment; Body is ADF.
type SimComment struct {
	ID         string
	Author     string
	Body       json.RawMessage
	Created    time.Time
	Updated    time.Time
	Visibility *switchyard.Visibility
	Properties map[string]json.RawMessage // comment properties (write-back idempotency)
}

// SimAttachment carries real bytes so content download and text extraction are real.
type SimAttachment struct {
	ID       string
	Filename string
	MimeType string
	Author   string
	Created  time.Time
	Content  []byte
	// CommentID is the comment the file came with ("" for the issue itself):
	// customers see it only when that comment is public.
	CommentID string
}

// AuditRecord is one entry of the audit log (only ISSUE_DELETE matters to the sync).
type AuditRecord struct {
	ID       int64
	Created  time.Time
	Summary  string // "Issue deleted"
	Category string // "issue management"
	TypeName string // objectItem.typeName, e.g. ISSUE_DELETE
	ObjectID string // issue id
	Name     string // issue key
	Author   string
}

// Webhook is a registered receiver. Secret signs deliveries with X-Hub-Signature;
// dynamic (OAuth app) webhooks have an expiry and a JQL filter.
type Webhook struct {
	ID        int64
	URL       string
	Secret    string
	Events    []string
	JQLFilter string
	Expires   time.Time // zero for admin webhooks
	Dynamic   bool
	// ClientID and ClientSecret belong to the OAuth 2.0 app that registered a
	// dynamic webhook; the secret signs the JWT sent with each delivery.
	ClientID     string
	ClientSecret string
}
