package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"sync"
	"time"

	"switchyard"
	"switchyard/connector"
	"switchyard/connector/markdown"
	"switchyard/index"
	"switchyard/store"
)

func init() { htmlToMarkdown = markdown.FromHTML }

// JiraClient is the connector's method set the engine uses; *connector.Client
// satisfies it. NewJira adapts it to Jira.
type JiraClient interface {
	Users(ctx context.Context, fn func([]switchyard.User) error) error
	Groups(ctx context.Context, fn func([]switchyard.Group) error) error
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
	ApplicationRoles(ctx context.Context) ([]switchyard.ApplicationRole, error)
	Projects(ctx context.Context, fn func([]switchyard.Project) error) error
	ProjectRoles(ctx context.Context, projectKey string) ([]switchyard.ProjectRole, error)
	BrowseGrants(ctx context.Context, projectKey string) ([]switchyard.Holder, error)
	SecurityLevels(ctx context.Context, projectKey string) ([]switchyard.SecurityLevel, error)
	SearchIDs(ctx context.Context, jql, pageToken string, max int) (ids []string, next string, err error)
	ApproximateCount(ctx context.Context, jql string) (int, error)
	BulkFetch(ctx context.Context, ids []string, opts ...connector.FetchOption) ([]switchyard.Issue, error)
	Search(ctx context.Context, jql string, startAt, max int, opts ...connector.FetchOption) (issues []switchyard.Issue, total int, err error)
	Issue(ctx context.Context, idOrKey string) (switchyard.Issue, error)
	Comments(ctx context.Context, issueKey string, fn func([]switchyard.Comment) error) error
	AttachmentContent(ctx context.Context, id string, max int64) (io.ReadCloser, error)
	AuditRecords(ctx context.Context, from time.Time, fn func([]connector.Deletion) error) error
}

var _ JiraClient = (*connector.Client)(nil)

// NewJira adapts a connector client. concurrency bounds the per-group member
// requests (the client's own limiter still applies).
func NewJira(c JiraClient, concurrency int) Jira {
	if concurrency < 1 {
		concurrency = DefaultConcurrency
	}
	return &jiraAdapter{cl: c, n: concurrency}
}

// NewJiraBuilder adapts a client built by build, rebuilding it when the sync
// learns of user or group picker custom fields that permission holders name
// (the connector fetches custom fields only when told their ids).
func NewJiraBuilder(build func(customFields []string) (JiraClient, error), concurrency int) (Jira, error) {
	c, err := build(nil)
	if err != nil {
		return nil, err
	}
	j := NewJira(c, concurrency).(*jiraAdapter)
	j.build = build
	return j, nil
}

type jiraAdapter struct {
	mu     sync.Mutex
	cl     JiraClient
	n      int
	build  func([]string) (JiraClient, error)
	fields []string
	jsmFor JiraClient // the client whose JSM fields were discovered (jsm.go)
}

func (j *jiraAdapter) client() JiraClient {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.cl
}

// SetCustomFields makes the client fetch these custom fields (CustomFieldSetter).
func (j *jiraAdapter) SetCustomFields(fields []string) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.build == nil || slices.Equal(fields, j.fields) {
		return nil
	}
	c, err := j.build(fields)
	if err != nil {
		return err
	}
	j.cl, j.fields = c, fields
	return nil
}

func (j *jiraAdapter) Users(ctx context.Context) ([]switchyard.User, error) {
	var out []switchyard.User
	err := j.client().Users(ctx, func(us []switchyard.User) error { out = append(out, us...); return nil })
	return out, err
}

func (j *jiraAdapter) Groups(ctx context.Context) ([]switchyard.Group, error) {
	var out []switchyard.Group
	if err := j.client().Groups(ctx, func(gs []switchyard.Group) error { out = append(out, gs...); return nil }); err != nil {
		return nil, err
	}
	idx := make([]int, len(out))
	for i := range idx {
		idx[i] = i
	}
	err := forEach(ctx, j.n, idx, func(ctx context.Context, i int) error {
		id := out[i].ID
		if id == "" {
			id = out[i].Name // Data Center groups are named, not numbered
		}
		m, err := j.client().GroupMembers(ctx, id)
		if err != nil {
			return fmt.Errorf("members of group %s: %w", out[i].Name, err)
		}
		out[i].Members = m
		return nil
	})
	return out, err
}

func (j *jiraAdapter) ApplicationRoles(ctx context.Context) ([]switchyard.ApplicationRole, error) {
	return j.client().ApplicationRoles(ctx)
}

func (j *jiraAdapter) Projects(ctx context.Context) ([]switchyard.Project, error) {
	var out []switchyard.Project
	err := j.client().Projects(ctx, func(ps []switchyard.Project) error { out = append(out, ps...); return nil })
	return out, err
}

func (j *jiraAdapter) ProjectRoles(ctx context.Context, key string) ([]switchyard.ProjectRole, error) {
	return j.client().ProjectRoles(ctx, key)
}

func (j *jiraAdapter) BrowseGrants(ctx context.Context, key string) ([]switchyard.Holder, error) {
	return j.client().BrowseGrants(ctx, key)
}

func (j *jiraAdapter) SecurityLevels(ctx context.Context, key string) ([]switchyard.SecurityLevel, error) {
	return j.client().SecurityLevels(ctx, key)
}

func (j *jiraAdapter) SearchIDs(ctx context.Context, jql, token string, max int) ([]string, string, error) {
	return j.client().SearchIDs(ctx, jql, token, max)
}

func (j *jiraAdapter) ApproximateCount(ctx context.Context, jql string) (int, error) {
	return j.client().ApproximateCount(ctx, jql)
}

// strip drops the parts the scope excludes. The connector always asks for
// the comment and attachment fields; excluded attachments are never
// downloaded and excluded comments are never paged, stored or indexed.
func strip(is *switchyard.Issue, f Fields) {
	if !f.Comments {
		is.Comments, is.CommentTotal = nil, 0
	}
	if !f.Attachments {
		is.Attachments = nil
	}
}

// excluded names the issue fields a sync filter leaves out, so that Jira never
// sends them (strip still drops anything a server sends regardless).
func excluded(f Fields) []connector.FetchOption {
	var without []string
	if !f.Comments {
		without = append(without, "comment")
	}
	if !f.Attachments {
		without = append(without, "attachment")
	}
	if len(without) == 0 {
		return nil
	}
	return []connector.FetchOption{connector.WithoutFields(without...)}
}

func (j *jiraAdapter) BulkFetch(ctx context.Context, ids []string, f Fields) ([]switchyard.Issue, error) {
	if err := j.ensureJSMFields(ctx); err != nil {
		return nil, err
	}
	issues, err := j.client().BulkFetch(ctx, ids, excluded(f)...)
	for i := range issues {
		strip(&issues[i], f)
	}
	return issues, err
}

func (j *jiraAdapter) SearchIssues(ctx context.Context, jql string, startAt, max int, f Fields) ([]switchyard.Issue, int, error) {
	if err := j.ensureJSMFields(ctx); err != nil {
		return nil, 0, err
	}
	issues, total, err := j.client().Search(ctx, jql, startAt, max, excluded(f)...)
	for i := range issues {
		strip(&issues[i], f)
	}
	return issues, total, err
}

func (j *jiraAdapter) Comments(ctx context.Context, issueKey string) ([]switchyard.Comment, error) {
	var out []switchyard.Comment
	err := j.client().Comments(ctx, issueKey, func(cs []switchyard.Comment) error { out = append(out, cs...); return nil })
	return out, err
}

func (j *jiraAdapter) Issue(ctx context.Context, keyOrID string, f Fields) (switchyard.Issue, error) {
	if err := j.ensureJSMFields(ctx); err != nil {
		return switchyard.Issue{}, err
	}
	is, err := j.client().Issue(ctx, keyOrID)
	strip(&is, f)
	return is, err
}

func (j *jiraAdapter) AttachmentContent(ctx context.Context, id string, max int64) (io.ReadCloser, error) {
	return j.client().AttachmentContent(ctx, id, max)
}

func (j *jiraAdapter) DeletedIssues(ctx context.Context, since time.Time) ([]DeleteRecord, error) {
	var out []DeleteRecord
	err := j.client().AuditRecords(ctx, since, func(ds []connector.Deletion) error {
		for _, d := range ds {
			out = append(out, DeleteRecord{IssueID: d.IssueID, IssueKey: d.Key, Created: d.At})
		}
		return nil
	})
	return out, err
}

// NewIndex adapts the bleve index.
func NewIndex(idx *index.Index) Index { return indexAdapter{idx} }

type indexAdapter struct{ idx *index.Index }

func (a indexAdapter) IndexIssues(ctx context.Context, conn string, issues []switchyard.Issue) error {
	return a.idx.IndexIssues(ctx, conn, issues)
}

func (a indexAdapter) DeleteIssues(ctx context.Context, conn string, ids []string) error {
	b := a.idx.NewBatch(conn)
	for _, id := range ids {
		b.Delete(id)
	}
	return b.Apply(ctx)
}

// NewStore adapts the SQLite store.
func NewStore(db *store.DB) Store { return storeAdapter{db} }

type storeAdapter struct{ db *store.DB }

func (a storeAdapter) ReplaceUsers(ctx context.Context, conn string, v []switchyard.User) error {
	return a.db.ReplaceUsers(ctx, conn, v)
}

func (a storeAdapter) ReplaceGroups(ctx context.Context, conn string, v []switchyard.Group) error {
	return a.db.ReplaceGroups(ctx, conn, v)
}

func (a storeAdapter) ReplaceApplicationRoles(ctx context.Context, conn string, v []switchyard.ApplicationRole) error {
	return a.db.ReplaceApplicationRoles(ctx, conn, v)
}

func (a storeAdapter) ReplaceProjects(ctx context.Context, conn string, v []switchyard.Project) error {
	return a.db.ReplaceProjects(ctx, conn, v)
}

func (a storeAdapter) Projects(ctx context.Context, conn string) ([]switchyard.Project, error) {
	return a.db.Projects(ctx, conn)
}

func (a storeAdapter) CommitIssues(ctx context.Context, conn string, issues []switchyard.Issue, outcomes map[string]Extraction, gen int64) ([]switchyard.Issue, error) {
	var written []switchyard.Issue
	err := a.db.Tx(ctx, func(tx *store.Tx) error {
		written = written[:0]
		ids := make([]string, 0, len(issues))
		for _, is := range issues {
			ids = append(ids, is.ID)
			stored, ok, err := tx.IssueUpdatedMS(ctx, conn, is.ID)
			if err != nil {
				return err
			}
			if ok && stored > is.Updated.UnixMilli() {
				continue // a newer version is already stored; this page is stale for it
			}
			if err := tx.PutIssue(ctx, conn, is); err != nil {
				return err
			}
			written = append(written, is)
			for _, att := range is.Attachments {
				o, ok := outcomes[att.ID]
				if !ok {
					continue
				}
				var err error
				switch o.Status {
				case ExtractOK:
					err = tx.SetAttachmentText(ctx, conn, att.ID, o.Text)
				case ExtractFailed:
					err = tx.SetAttachmentFailed(ctx, conn, att.ID, o.Reason)
				case ExtractSkipped:
					err = tx.SetAttachmentSkipped(ctx, conn, att.ID, o.Reason)
				}
				if err != nil {
					return err
				}
			}
		}
		if gen > 0 {
			return tx.MarkSeen(ctx, conn, gen, ids...)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return written, nil
}

func (a storeAdapter) DeleteIssues(ctx context.Context, conn string, ids []string) error {
	return a.db.Tx(ctx, func(tx *store.Tx) error {
		for _, id := range ids {
			if err := tx.DeleteIssue(ctx, conn, id); err != nil {
				return err
			}
		}
		return nil
	})
}

func (a storeAdapter) IndexReset(ctx context.Context, conn string) (store.IndexReset, bool, error) {
	return a.db.IndexReset(ctx, conn)
}

func (a storeAdapter) Issue(ctx context.Context, conn, idOrKey string) (switchyard.Issue, error) {
	return a.db.Issue(ctx, conn, idOrKey)
}

func (a storeAdapter) IssueVersions(ctx context.Context, conn string) (map[string]IssueVersion, error) {
	refs, err := a.db.IssueIDs(ctx, conn, "")
	if err != nil {
		return nil, err
	}
	out := make(map[string]IssueVersion, len(refs))
	for _, r := range refs {
		out[r.ID] = IssueVersion{Key: r.Key, ProjectID: r.ProjectID, Updated: time.UnixMilli(r.UpdatedMS).UTC()}
	}
	return out, nil
}

func (a storeAdapter) UnseenIssues(ctx context.Context, conn string, gen int64) ([]string, error) {
	refs, err := a.db.UnseenIssues(ctx, conn, gen)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(refs))
	for i, r := range refs {
		out[i] = r.ID
	}
	return out, nil
}

func storedAttachments(as []store.AttachmentState) []StoredAttachment {
	out := make([]StoredAttachment, len(as))
	for i, a := range as {
		out[i] = StoredAttachment{Attachment: a.Attachment, Status: a.Status, Error: a.Error, Attempts: a.Attempts}
	}
	return out
}

func (a storeAdapter) Attachments(ctx context.Context, conn, issueID string) ([]StoredAttachment, error) {
	as, err := a.db.Attachments(ctx, conn, issueID)
	return storedAttachments(as), err
}

func (a storeAdapter) PendingAttachments(ctx context.Context, conn string, limit int) ([]StoredAttachment, error) {
	as, err := a.db.PendingAttachments(ctx, conn, limit)
	return storedAttachments(as), err
}

func (a storeAdapter) Checkpoint(ctx context.Context, conn, stage, scope string) (string, int64, error) {
	cp, err := a.db.Checkpoint(ctx, conn, stage, scope)
	if errors.Is(err, switchyard.ErrNotFound) {
		return "", 0, nil
	}
	return cp.Cursor, cp.CursorMS, err
}

func (a storeAdapter) SetCheckpoint(ctx context.Context, conn, stage, scope, cursor string, ms int64) error {
	return a.db.SetCheckpoint(ctx, store.Checkpoint{Conn: conn, Stage: stage, Scope: scope, Cursor: cursor, CursorMS: ms})
}

func (a storeAdapter) DeleteCheckpoints(ctx context.Context, conn, stage string) error {
	return a.db.DeleteCheckpoints(ctx, conn, stage)
}

func (a storeAdapter) Checkpoints(ctx context.Context, conn string) ([]CheckpointInfo, error) {
	cps, err := a.db.Checkpoints(ctx, conn)
	out := make([]CheckpointInfo, len(cps))
	for i, cp := range cps {
		out[i] = CheckpointInfo{Stage: cp.Stage, Scope: cp.Scope, Cursor: cp.Cursor, CursorMS: cp.CursorMS, Updated: cp.Updated}
	}
	return out, err
}

func (a storeAdapter) FilterHash(ctx context.Context, conn string) (string, error) {
	return a.db.FilterHash(ctx, conn)
}

func (a storeAdapter) SetFilterHash(ctx context.Context, conn, hash string) error {
	return a.db.SetFilterHash(ctx, conn, hash)
}

// Run stats are stored as the store's stage → counter → value map.
const runTotals = "run"

func (a storeAdapter) SaveRun(ctx context.Context, r *RunStats) error {
	if r.ID == 0 {
		sr, err := a.db.StartRun(ctx, r.Connection, r.Full)
		if err != nil {
			return err
		}
		r.ID = sr.ID
	}
	sr := store.SyncRun{ID: r.ID, Conn: r.Connection, Full: r.Full, Stage: r.Stage, Warnings: r.Warnings, Error: r.Error,
		Stats: map[string]map[string]int64{}}
	sr.Stats[runTotals] = map[string]int64{
		"issues": int64(r.Issues), "comments": int64(r.Comments), "attachments": int64(r.Attachments),
		"extracted": int64(r.Extracted), "deleted": int64(r.Deleted), "failures": int64(r.Failures), "skipped": int64(r.Skipped),
	}
	for _, st := range r.Stages {
		m := map[string]int64{"fetched": int64(st.Fetched), "written": int64(st.Written), "deleted": int64(st.Deleted),
			"failed": int64(st.Failed), "duration_ms": st.Duration.Milliseconds()}
		if st.Skipped {
			m["skipped"] = 1
		}
		sr.Stats[st.Stage] = m
	}
	if r.Finished.IsZero() {
		return a.db.UpdateRun(ctx, sr)
	}
	sr.State = store.RunSucceeded
	if r.Error != "" {
		sr.State = store.RunFailed
		if errors.Is(ctx.Err(), context.Canceled) || r.Error == context.Canceled.Error() {
			sr.State = store.RunCanceled
		}
	}
	return a.db.FinishRun(ctx, sr)
}

func (a storeAdapter) Runs(ctx context.Context, conn string, limit int) ([]RunStats, error) {
	srs, err := a.db.Runs(ctx, conn, limit)
	if err != nil {
		return nil, err
	}
	out := make([]RunStats, len(srs))
	for i, sr := range srs {
		r := RunStats{ID: sr.ID, Connection: sr.Conn, Full: sr.Full, Stage: sr.Stage, Started: sr.Started, Finished: sr.Finished,
			Warnings: sr.Warnings, Error: sr.Error, State: sr.State}
		t := sr.Stats[runTotals]
		r.Issues, r.Comments, r.Attachments = int(t["issues"]), int(t["comments"]), int(t["attachments"])
		r.Extracted, r.Deleted, r.Failures, r.Skipped = int(t["extracted"]), int(t["deleted"]), int(t["failures"]), int(t["skipped"])
		for _, name := range Stages {
			m, ok := sr.Stats[name]
			if !ok {
				continue
			}
			r.Stages = append(r.Stages, StageStats{Stage: name, Skipped: m["skipped"] == 1, Fetched: int(m["fetched"]),
				Written: int(m["written"]), Deleted: int(m["deleted"]), Failed: int(m["failed"]),
				Duration: time.Duration(m["duration_ms"]) * time.Millisecond})
		}
		out[i] = r
	}
	return out, nil
}

func (a storeAdapter) RequestTypeNames(ctx context.Context, conn string) (map[string]map[string]string, error) {
	rts, err := a.db.RequestTypes(ctx, conn)
	if err != nil {
		return nil, err
	}
	out := map[string]map[string]string{}
	for _, rt := range rts {
		if out[rt.DeskID] == nil {
			out[rt.DeskID] = map[string]string{}
		}
		out[rt.DeskID][rt.ID] = rt.Name
	}
	return out, nil
}

func (a storeAdapter) ForEachIssue(ctx context.Context, conn, projectID string, fn func(switchyard.Issue) error) error {
	return a.db.ForEachIssue(ctx, conn, projectID, fn)
}

func (a storeAdapter) Counts(ctx context.Context, conn string) (map[string]int, error) {
	c, err := a.db.Counts(ctx, conn)
	if err != nil {
		return nil, err
	}
	rts, err := a.db.RequestTypes(ctx, conn)
	return map[string]int{
		"request_types": len(rts),
		"users":         int(c.Users), "groups": int(c.Groups), "projects": int(c.Projects), "issues": int(c.Issues),
		"comments": int(c.Comments), "attachments": int(c.Attachments),
		"attachments_pending": int(c.AttachmentsPending), "attachments_failed": int(c.AttachmentsFailed),
	}, err
}
