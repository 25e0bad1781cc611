// Package syncer is the sync engine: it copies a Jira site's users, groups,
// projects, roles, permission grants, security levels, issues, comments and
// attachments into the store and the search index, keeps them current with
// incremental runs, removes deletions, and runs each connection on a schedule.
//
// The directory is sync/ (as DESIGN names it); the package is syncer so that it
// does not shadow the standard library's sync in its own files.
//
// The engine owns the small interfaces it consumes (Jira, Store, Index); the
// real connector, store and index satisfy them through adapters.go.
package syncer

import (
	"context"
	"io"
	"time"

	"switchyard"
	"switchyard/store"
)

// Stage names, in the order a run executes them.
const (
	StageUsers       = "users"
	StageGroups      = "groups"
	StageProjects    = "projects"
	StageRoles       = "roles"
	StagePermissions = "permissions"
	StageIssues      = "issues"
	StageDeletions   = "deletions"
	StageReconcile   = "reconciliation"
)

// Stages lists every stage in run order.
var Stages = []string{StageUsers, StageGroups, StageCustomers, StageProjects, StageRoles, StagePermissions, StageIssues, StageDeletions, StageReconcile}

// Jira is what the engine needs from a Jira site. One client is shared by all
// of a connection's workers so they share its rate limiter.
type Jira interface {
	Users(ctx context.Context) ([]switchyard.User, error)
	// Groups returns every group with its direct members.
	Groups(ctx context.Context) ([]switchyard.Group, error)
	ApplicationRoles(ctx context.Context) ([]switchyard.ApplicationRole, error)
	// Projects returns every project the account can see (without roles or grants).
	Projects(ctx context.Context) ([]switchyard.Project, error)
	ProjectRoles(ctx context.Context, projectKey string) ([]switchyard.ProjectRole, error)
	BrowseGrants(ctx context.Context, projectKey string) ([]switchyard.Holder, error)
	SecurityLevels(ctx context.Context, projectKey string) ([]switchyard.SecurityLevel, error)

	// SearchIDs returns one page of issue ids matching jql (Cloud search/jql,
	// ids only) and the token of the next page, "" on the last page.
	SearchIDs(ctx context.Context, jql, pageToken string, max int) (ids []string, next string, err error)
	// ApproximateCount estimates how many issues match jql (for progress only).
	ApproximateCount(ctx context.Context, jql string) (int, error)
	// BulkFetch hydrates up to 100 issues. Comments and attachments are
	// requested only when asked, so excluded content is never downloaded.
	BulkFetch(ctx context.Context, ids []string, f Fields) ([]switchyard.Issue, error)
	// SearchIssues is the Data Center path: /rest/api/2/search with startAt.
	SearchIssues(ctx context.Context, jql string, startAt, max int, f Fields) (issues []switchyard.Issue, total int, err error)
	// Comments returns all comments of an issue, paging as needed.
	Comments(ctx context.Context, issueKeyOrID string) ([]switchyard.Comment, error)
	// Issue fetches one issue; switchyard.ErrNotFound when it is gone or invisible.
	Issue(ctx context.Context, keyOrID string, f Fields) (switchyard.Issue, error)
	// AttachmentContent streams an attachment's bytes, failing past max bytes.
	AttachmentContent(ctx context.Context, id string, max int64) (io.ReadCloser, error)
	// DeletedIssues returns ISSUE_DELETE audit records created at or after since;
	// switchyard.ErrForbidden when the account may not read the audit log.
	DeletedIssues(ctx context.Context, since time.Time) ([]DeleteRecord, error)
}

// CustomFieldSetter is implemented by Jira clients that fetch custom fields
// only when told their ids. The engine passes the user and group picker
// fields that permission holders name, so issue documents carry their values.
type CustomFieldSetter interface {
	SetCustomFields(fields []string) error
}

// Fields says which parts of an issue to fetch.
type Fields struct {
	Comments    bool
	Attachments bool
}

// DeleteRecord is one ISSUE_DELETE audit record.
type DeleteRecord struct {
	IssueID  string // may be empty when the audit log names only the key
	IssueKey string
	Created  time.Time
}

// Store is what the engine needs from the SQLite store (adapters.go wraps
// *store.DB). Everything is scoped by connection name.
type Store interface {
	ReplaceUsers(ctx context.Context, conn string, users []switchyard.User) error
	ReplaceGroups(ctx context.Context, conn string, groups []switchyard.Group) error
	ReplaceApplicationRoles(ctx context.Context, conn string, roles []switchyard.ApplicationRole) error
	ReplaceProjects(ctx context.Context, conn string, projects []switchyard.Project) error
	Projects(ctx context.Context, conn string) ([]switchyard.Project, error)

	// CommitIssues writes a page in one transaction: the issues with their
	// comments and attachments (replacing what was stored for each), the
	// attachments' extraction outcomes, and, when gen > 0, marks the issues
	// seen by that mark-and-sweep generation. An issue whose stored version is
	// newer (a webhook refresh landed while this page was in flight) is left as
	// it is, but still marked seen. It returns the issues it wrote, which are
	// the ones to index.
	CommitIssues(ctx context.Context, conn string, issues []switchyard.Issue, outcomes map[string]Extraction, gen int64) ([]switchyard.Issue, error)
	// DeleteIssues removes issues with their comments and attachments.
	DeleteIssues(ctx context.Context, conn string, ids []string) error
	// Issue returns one stored issue (by id or key) with comments and
	// attachments; switchyard.ErrNotFound when absent.
	Issue(ctx context.Context, conn, idOrKey string) (switchyard.Issue, error)
	// IssueVersions returns every stored issue of the connection by id.
	IssueVersions(ctx context.Context, conn string) (map[string]IssueVersion, error)
	// UnseenIssues returns the ids of stored issues not marked seen by gen.
	UnseenIssues(ctx context.Context, conn string, gen int64) ([]string, error)
	// Attachments returns an issue's stored attachments with text and status.
	Attachments(ctx context.Context, conn, issueID string) ([]StoredAttachment, error)
	// PendingAttachments returns attachments whose extraction is pending or failed.
	PendingAttachments(ctx context.Context, conn string, limit int) ([]StoredAttachment, error)

	// Checkpoint returns a checkpoint's cursor ("", 0 when absent).
	Checkpoint(ctx context.Context, conn, stage, scope string) (cursor string, ms int64, err error)
	SetCheckpoint(ctx context.Context, conn, stage, scope, cursor string, ms int64) error
	DeleteCheckpoints(ctx context.Context, conn, stage string) error
	Checkpoints(ctx context.Context, conn string) ([]CheckpointInfo, error)
	FilterHash(ctx context.Context, conn string) (string, error)
	SetFilterHash(ctx context.Context, conn, hash string) error

	// SaveRun records a run: it creates it when run.ID is 0 (setting the id),
	// updates it while run.Finished is zero, and finishes it otherwise.
	SaveRun(ctx context.Context, run *RunStats) error
	Runs(ctx context.Context, conn string, limit int) ([]RunStats, error)
	Counts(ctx context.Context, conn string) (map[string]int, error)
}

// Extraction is the outcome of extracting one attachment's text.
type Extraction struct {
	Status string // ok | failed | skipped
	Text   string // when ok
	Reason string // when failed or skipped
}

// Extraction statuses.
const (
	ExtractOK      = "ok"
	ExtractFailed  = "failed"
	ExtractSkipped = "skipped"
	ExtractPending = "pending"
)

// StoredAttachment is an attachment with its extraction state.
type StoredAttachment struct {
	switchyard.Attachment
	Status   string
	Error    string
	Attempts int
}

// CheckpointInfo is one stored checkpoint, for status.
type CheckpointInfo struct {
	Stage    string    `json:"stage"`
	Scope    string    `json:"scope,omitempty"`
	Cursor   string    `json:"cursor,omitempty"`
	CursorMS int64     `json:"cursorMs,omitempty"`
	Updated  time.Time `json:"updatedAt"`
}

// IssueVersion is what deletions and reconciliation need to know about a
// stored issue.
type IssueVersion struct {
	Key       string
	ProjectID string
	Updated   time.Time
}

// Index is what the engine needs from the search index. IndexIssues writes one
// document per issue, comment and attachment in one batch, replacing the
// issue's previous documents.
type Index interface {
	IndexIssues(ctx context.Context, conn string, issues []switchyard.Issue) error
	DeleteIssues(ctx context.Context, conn string, ids []string) error
}

// Scope is a connection's validated filter set, as the engine applies it.
type Scope struct {
	ProjectsIn    []string // keys; empty means all
	ProjectsNotIn []string
	// Clause is an extra JQL condition (created/updated dates) built from
	// validated values; "" when there is none.
	Clause string
	// Hash identifies the filter set; a change forces a full sync.
	Hash string
	// Index toggles: excluded content is never downloaded or indexed.
	Issues, Comments, Attachments bool
}

// InScope reports whether a project key passes the project filters.
func (s Scope) InScope(key string) bool {
	if len(s.ProjectsIn) > 0 && !contains(s.ProjectsIn, key) {
		return false
	}
	return !contains(s.ProjectsNotIn, key)
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Settings are a connection's sync settings (config connections[].sync).
type Settings struct {
	Strategy           string        // scheduled | manual
	Interval           time.Duration // between scheduled runs
	IdentityInterval   time.Duration // 0: identity and permission stages run every time
	ReconcileInterval  time.Duration // between reconciliations; 0: only after full syncs (and when the audit log is unreadable)
	Overlap            time.Duration // incremental window overlap
	AttachmentMaxBytes int64
	Concurrency        int // hydration workers sharing the site's limiter
	PageSize           int // ids per search page (default 5000)
}

// Connection is one Jira site the engine syncs.
type Connection struct {
	Name     string
	Mode     switchyard.Mode
	BaseURL  string // for issue URLs
	Jira     Jira
	Settings Settings
	Scope    Scope
}

// StageStats are one stage's counts in one run.
type StageStats struct {
	Stage    string        `json:"stage"`
	Skipped  bool          `json:"skipped,omitempty"` // identity_interval not yet elapsed
	Fetched  int           `json:"fetched"`
	Written  int           `json:"written"`
	Deleted  int           `json:"deleted"`
	Failed   int           `json:"failed"`
	Duration time.Duration `json:"duration"`
}

// RunStats is one run's record, stored for the status command and API.
type RunStats struct {
	ID          int64        `json:"id"`
	Connection  string       `json:"connection"`
	Full        bool         `json:"full"`
	Stage       string       `json:"stage,omitempty"` // the stage running, or the last one reached
	Reason      string       `json:"reason"`          // why full or incremental
	State       string       `json:"state,omitempty"` // running | succeeded | failed | canceled (stored runs)
	Started     time.Time    `json:"started"`
	Finished    time.Time    `json:"finished"`
	Stages      []StageStats `json:"stages"`
	Issues      int          `json:"issues"`      // issues written
	Comments    int          `json:"comments"`    // comments written
	Attachments int          `json:"attachments"` // attachments written
	Extracted   int          `json:"extracted"`   // attachment texts extracted
	Deleted     int          `json:"deleted"`     // issues removed
	Failures    int          `json:"failures"`    // attachment extractions that failed (retried next run)
	Skipped     int          `json:"skipped"`     // attachments not extracted (over the cap)
	Warnings    []string     `json:"warnings,omitempty"`
	Error       string       `json:"error,omitempty"`
}

// Duration is the run's wall time.
func (r RunStats) Duration() time.Duration {
	if r.Finished.IsZero() {
		return 0
	}
	return r.Finished.Sub(r.Started)
}

// Progress is a snapshot of a running sync, sent to Options.Progress.
type Progress struct {
	Connection string        `json:"connection"`
	Stage      string        `json:"stage"`
	Done       int           `json:"done"`
	Total      int           `json:"total"` // 0 when unknown; approximate for issues
	Rate       float64       `json:"rate"`  // items per second in this stage
	ETA        time.Duration `json:"eta"`
}

// Status is a connection's sync state.
type Status struct {
	Connection  string           `json:"connection"`
	State       string           `json:"state"` // idle | running
	Progress    *Progress        `json:"progress,omitempty"`
	Counts      map[string]int   `json:"counts"`
	FilterHash  string           `json:"filterHash,omitempty"`
	Checkpoints []CheckpointInfo `json:"checkpoints"`
	LastRuns    []RunStats       `json:"lastRuns"`
	Warnings    []string         `json:"warnings,omitempty"`
	// IndexReset is the latest replacement of the search index that reset
	// the checkpoints (missing, damaged or of another version), if any.
	IndexReset *store.IndexReset `json:"indexReset,omitempty"`
}
