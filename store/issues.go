package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"switchyard"
)

// Attachment text extraction states. Failed extractions are retried on the
// next run (PendingAttachments returns them); skipped ones (over the size cap,
// unsupported type) carry their reason and are not retried.
const (
	ExtractPending = "pending"
	ExtractOK      = "ok"
	ExtractFailed  = "failed"
	ExtractSkipped = "skipped"
)

// IssueRef identifies a stored issue and its last update, for mark-and-sweep
// and reconciliation diffs.
type IssueRef struct {
	ID        string `json:"id"`
	Key       string `json:"key"`
	ProjectID string `json:"projectId"`
	UpdatedMS int64  `json:"updatedMs"`
}

// AttachmentState is an attachment with its extraction bookkeeping.
type AttachmentState struct {
	switchyard.Attachment
	Status   string `json:"extractStatus"`
	Error    string `json:"extractError,omitempty"`
	Attempts int    `json:"extractAttempts"`
}

// PutIssue inserts or updates an issue and makes its stored comments and
// attachments exactly those in is.Comments and is.Attachments. Extracted
// attachment text survives an update of the same attachment id (Jira
// attachments are immutable); new attachments start pending, or ok when
// is.Attachments[i].Text is already set. An older issue holding the same key
// (Jira keys move with their issue) is removed.
func (tx *Tx) PutIssue(ctx context.Context, conn string, is switchyard.Issue) error {
	if err := validConn(conn); err != nil {
		return err
	}
	switch {
	case is.ID == "":
		return fieldErr("issue.id", "empty issue id (key %q)", is.Key)
	case is.Key == "":
		return fieldErr("issue.key", "empty key for issue %q", is.ID)
	case is.ProjectID == "":
		return fieldErr("issue.projectId", "empty project id for issue %s", is.Key)
	}
	comments, attachments := is.Comments, is.Attachments
	cIDs := make([]string, 0, len(comments))
	seen := map[string]bool{}
	for i, c := range comments {
		if c.ID == "" || seen[c.ID] {
			return fieldErr(fmt.Sprintf("issue.comments[%d].id", i), "empty or duplicate comment id %q on %s", c.ID, is.Key)
		}
		seen[c.ID] = true
		cIDs = append(cIDs, c.ID)
	}
	aIDs := make([]string, 0, len(attachments))
	clear(seen)
	for i, a := range attachments {
		if a.ID == "" || seen[a.ID] {
			return fieldErr(fmt.Sprintf("issue.attachments[%d].id", i), "empty or duplicate attachment id %q on %s", a.ID, is.Key)
		}
		seen[a.ID] = true
		aIDs = append(aIDs, a.ID)
	}

	row := is
	row.Comments, row.Attachments = nil, nil
	data, err := json.Marshal(row)
	if err != nil {
		return fmt.Errorf("put issue %s: %w", is.Key, err)
	}
	cf := []byte("{}")
	if len(is.CustomFields) > 0 {
		if cf, err = json.Marshal(is.CustomFields); err != nil {
			return fmt.Errorf("put issue %s: %w", is.Key, err)
		}
	}
	if tx.db.postgres() {
		// An issue that had this key before (moved) leaves every index.
		rows, err := tx.query(ctx, `SELECT id FROM issues WHERE conn = ? AND key = ? AND id <> ?`, conn, is.Key, is.ID)
		if err != nil {
			return tx.db.wrap("put issue", err)
		}
		var gone []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return tx.db.wrap("put issue", err)
			}
			gone = append(gone, id)
		}
		rows.Close()
		for _, id := range gone {
			if err := tx.logIndexChange(ctx, conn, id, IndexDelete); err != nil {
				return err
			}
		}
		if err := tx.logIndexChange(ctx, conn, is.ID, IndexPut); err != nil {
			return err
		}
	}
	if _, err := tx.exec(ctx, `DELETE FROM issues WHERE conn = ? AND key = ? AND id <> ?`, conn, is.Key, is.ID); err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO issues (conn, id, key, project_id, project_key, summary, status, updated_ms,
			security_level_id, reporter, assignee, custom_fields, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (conn, id) DO UPDATE SET key = excluded.key, project_id = excluded.project_id,
			project_key = excluded.project_key, summary = excluded.summary, status = excluded.status,
			updated_ms = excluded.updated_ms, security_level_id = excluded.security_level_id,
			reporter = excluded.reporter, assignee = excluded.assignee,
			custom_fields = excluded.custom_fields, data = excluded.data`,
		conn, is.ID, is.Key, is.ProjectID, is.ProjectKey, is.Summary, is.Status, ms(is.Updated),
		is.SecurityLevelID, is.Reporter, is.Assignee, string(cf), string(data))
	if err != nil {
		return err
	}

	ids, _ := json.Marshal(cIDs)
	if _, err := tx.exec(ctx, `DELETE FROM comments WHERE conn = ? AND issue_id = ? AND id NOT IN (SELECT value FROM json_each(?))`,
		conn, is.ID, string(ids)); err != nil {
		return err
	}
	for _, c := range comments {
		c.IssueID = is.ID
		var vis sql.NullString
		if c.Visibility != nil {
			b, _ := json.Marshal(c.Visibility)
			vis = sql.NullString{String: string(b), Valid: true}
		}
		b, err := json.Marshal(c)
		if err != nil {
			return fmt.Errorf("put issue %s: comment %s: %w", is.Key, c.ID, err)
		}
		if _, err := tx.exec(ctx, `INSERT INTO comments (conn, id, issue_id, visibility, body, data) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (conn, id) DO UPDATE SET issue_id = excluded.issue_id, visibility = excluded.visibility,
				body = excluded.body, data = excluded.data`,
			conn, c.ID, is.ID, vis, c.Body, string(b)); err != nil {
			return err
		}
	}

	ids, _ = json.Marshal(aIDs)
	if _, err := tx.exec(ctx, `DELETE FROM attachments WHERE conn = ? AND issue_id = ? AND id NOT IN (SELECT value FROM json_each(?))`,
		conn, is.ID, string(ids)); err != nil {
		return err
	}
	for _, a := range attachments {
		a.IssueID = is.ID
		text := a.Text
		a.Text = ""
		b, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("put issue %s: attachment %s: %w", is.Key, a.ID, err)
		}
		if text != "" {
			_, err = tx.exec(ctx, `INSERT INTO attachments (conn, id, issue_id, data, text, extract_status) VALUES (?, ?, ?, ?, ?, 'ok')
				ON CONFLICT (conn, id) DO UPDATE SET issue_id = excluded.issue_id, data = excluded.data,
					text = excluded.text, extract_status = 'ok', extract_error = ''`,
				conn, a.ID, is.ID, string(b), text)
		} else {
			_, err = tx.exec(ctx, `INSERT INTO attachments (conn, id, issue_id, data) VALUES (?, ?, ?, ?)
				ON CONFLICT (conn, id) DO UPDATE SET issue_id = excluded.issue_id, data = excluded.data`,
				conn, a.ID, is.ID, string(b))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// PutIssue stores one issue with its comments and attachments in one transaction.
func (db *DB) PutIssue(ctx context.Context, conn string, is switchyard.Issue) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.PutIssue(ctx, conn, is) })
}

// DeleteIssue removes an issue with its comments and attachments. Deleting an
// issue that is not stored is not an error (deletions are replayed).
func (tx *Tx) DeleteIssue(ctx context.Context, conn, id string) error {
	if _, err := tx.exec(ctx, `DELETE FROM issues WHERE conn = ? AND id = ?`, conn, id); err != nil {
		return err
	}
	return tx.logIndexChange(ctx, conn, id, IndexDelete)
}

// DeleteIssue removes an issue with its comments and attachments.
func (db *DB) DeleteIssue(ctx context.Context, conn, id string) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.DeleteIssue(ctx, conn, id) })
}

// DeleteConnectionData removes every Jira entity, checkpoint and token stored
// for the connection (an explicit purge); sync runs are kept as history.
func (tx *Tx) DeleteConnectionData(ctx context.Context, conn string) error {
	for _, t := range []string{"issues", "users", "jira_groups", "app_roles", "projects", "jsm_organizations", "jsm_service_desks", "checkpoints", "oauth_tokens", "connections"} {
		if _, err := tx.exec(ctx, `DELETE FROM `+t+` WHERE conn = ?`, conn); err != nil {
			return err
		}
	}
	return tx.logIndexChange(ctx, conn, "", IndexPurge)
}

// MarkSeen records that the issues were seen by the mark-and-sweep generation
// gen (use the sync run id). Unknown ids are ignored.
func (tx *Tx) MarkSeen(ctx context.Context, conn string, gen int64, ids ...string) error {
	if len(ids) == 0 {
		return nil
	}
	b, _ := json.Marshal(ids)
	_, err := tx.exec(ctx, `UPDATE issues SET seen_gen = ? WHERE conn = ? AND id IN (SELECT value FROM json_each(?))`, gen, conn, string(b))
	return err
}

// UnseenIssues returns the issues of the given projects (all projects when
// projectIDs is empty) not marked seen by generation gen or later: what a full
// sync's sweep must remove from the index and then the store.
func (db *DB) UnseenIssues(ctx context.Context, conn string, gen int64, projectIDs ...string) ([]IssueRef, error) {
	q := `SELECT id, key, project_id, updated_ms FROM issues WHERE conn = ? AND seen_gen < ?`
	args := []any{conn, gen}
	if len(projectIDs) > 0 {
		b, _ := json.Marshal(projectIDs)
		q += ` AND project_id IN (SELECT value FROM json_each(?))`
		args = append(args, string(b))
	}
	return db.issueRefs(ctx, q+` ORDER BY id`, args...)
}

// IssueIDs returns the stored issues of a project (all projects when projectID
// is empty) with their update times, ordered by id.
func (db *DB) IssueIDs(ctx context.Context, conn, projectID string) ([]IssueRef, error) {
	if projectID == "" {
		return db.issueRefs(ctx, `SELECT id, key, project_id, updated_ms FROM issues WHERE conn = ? ORDER BY id`, conn)
	}
	return db.issueRefs(ctx, `SELECT id, key, project_id, updated_ms FROM issues WHERE conn = ? AND project_id = ? ORDER BY id`, conn, projectID)
}

func (db *DB) issueRefs(ctx context.Context, q string, args ...any) ([]IssueRef, error) {
	rows, err := db.query(ctx, q, args...)
	if err != nil {
		return nil, db.wrap("issue ids", err)
	}
	defer rows.Close()
	out := []IssueRef{}
	for rows.Next() {
		var r IssueRef
		if err := rows.Scan(&r.ID, &r.Key, &r.ProjectID, &r.UpdatedMS); err != nil {
			return nil, db.wrap("issue ids", err)
		}
		out = append(out, r)
	}
	return out, db.wrap("issue ids", rows.Err())
}

// Issue returns the stored issue with that id or key, with its comments and
// attachments (including extracted text), or ErrNotFound.
func (db *DB) Issue(ctx context.Context, conn, idOrKey string) (switchyard.Issue, error) {
	var is switchyard.Issue
	var data string
	// Two indexed lookups: an OR across id and key would scan the table.
	err := db.queryRow(ctx, `SELECT data FROM issues WHERE conn = ? AND id = ?`, conn, idOrKey).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		err = db.queryRow(ctx, `SELECT data FROM issues WHERE conn = ? AND key = ? LIMIT 1`, conn, idOrKey).Scan(&data)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return is, notFound("no issue %q in connection %q", idOrKey, conn)
	}
	if err != nil {
		return is, db.wrap("issue", err)
	}
	if err := json.Unmarshal([]byte(data), &is); err != nil {
		return is, fmt.Errorf("store %s: issue %s: %w", db.path, idOrKey, err)
	}
	if is.Comments, err = db.comments(ctx, conn, is.ID); err != nil {
		return is, err
	}
	as, err := db.Attachments(ctx, conn, is.ID)
	if err != nil {
		return is, err
	}
	for _, a := range as {
		is.Attachments = append(is.Attachments, a.Attachment)
	}
	return is, nil
}

// ForEachIssue calls fn for every stored issue of the connection (of one
// project when projectID is set), complete as Issue returns it, in id order.
// It loads the id list, then one issue at a time, so memory stays flat; fn
// must not call DB write methods while a DB.Tx of its own caller is open.
func (db *DB) ForEachIssue(ctx context.Context, conn, projectID string, fn func(switchyard.Issue) error) error {
	refs, err := db.IssueIDs(ctx, conn, projectID)
	if err != nil {
		return err
	}
	for _, r := range refs {
		is, err := db.Issue(ctx, conn, r.ID)
		if errors.Is(err, switchyard.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return err
		}
		if err := fn(is); err != nil {
			return err
		}
	}
	return nil
}

func (db *DB) comments(ctx context.Context, conn, issueID string) ([]switchyard.Comment, error) {
	rows, err := db.query(ctx, `SELECT data FROM comments WHERE conn = ? AND issue_id = ? ORDER BY CAST(id AS INTEGER), id`, conn, issueID)
	if err != nil {
		return nil, db.wrap("comments", err)
	}
	defer rows.Close()
	var out []switchyard.Comment
	for rows.Next() {
		var data string
		var c switchyard.Comment
		if err := rows.Scan(&data); err != nil {
			return nil, db.wrap("comments", err)
		}
		if err := json.Unmarshal([]byte(data), &c); err != nil {
			return nil, fmt.Errorf("store %s: comment: %w", db.path, err)
		}
		out = append(out, c)
	}
	return out, db.wrap("comments", rows.Err())
}

// Attachments returns an issue's attachments with extracted text and status.
func (db *DB) Attachments(ctx context.Context, conn, issueID string) ([]AttachmentState, error) {
	return db.attachments(ctx, `WHERE conn = ? AND issue_id = ? ORDER BY CAST(id AS INTEGER), id`, conn, issueID)
}

// PendingAttachments returns up to limit attachments whose text still has to be
// extracted: never tried, or failed before (retried every run, fewest
// attempts first).
func (db *DB) PendingAttachments(ctx context.Context, conn string, limit int) ([]AttachmentState, error) {
	if limit <= 0 {
		limit = 1000
	}
	return db.attachments(ctx, `WHERE conn = ? AND extract_status IN ('pending', 'failed')
		ORDER BY extract_attempts, CAST(id AS INTEGER), id LIMIT ?`, conn, limit)
}

func (db *DB) attachments(ctx context.Context, where string, args ...any) ([]AttachmentState, error) {
	rows, err := db.query(ctx, `SELECT data, text, extract_status, extract_error, extract_attempts FROM attachments `+where, args...)
	if err != nil {
		return nil, db.wrap("attachments", err)
	}
	defer rows.Close()
	var out []AttachmentState
	for rows.Next() {
		var data string
		var a AttachmentState
		if err := rows.Scan(&data, &a.Text, &a.Status, &a.Error, &a.Attempts); err != nil {
			return nil, db.wrap("attachments", err)
		}
		text := a.Text
		if err := json.Unmarshal([]byte(data), &a.Attachment); err != nil {
			return nil, fmt.Errorf("store %s: attachment: %w", db.path, err)
		}
		a.Text = text
		out = append(out, a)
	}
	return out, db.wrap("attachments", rows.Err())
}

// SetAttachmentText records a successful extraction.
func (tx *Tx) SetAttachmentText(ctx context.Context, conn, id, text string) error {
	return tx.setExtract(ctx, conn, id, `UPDATE attachments SET text = ?, extract_status = 'ok', extract_error = '',
		extract_attempts = extract_attempts + 1 WHERE conn = ? AND id = ?`, text)
}

// SetAttachmentFailed records a failed extraction; it is retried next run.
func (tx *Tx) SetAttachmentFailed(ctx context.Context, conn, id, reason string) error {
	return tx.setExtract(ctx, conn, id, `UPDATE attachments SET text = '', extract_status = 'failed', extract_error = ?,
		extract_attempts = extract_attempts + 1 WHERE conn = ? AND id = ?`, reason)
}

// SetAttachmentSkipped records that the attachment is deliberately not
// extracted (over the size cap, unsupported type), with the reason.
func (tx *Tx) SetAttachmentSkipped(ctx context.Context, conn, id, reason string) error {
	return tx.setExtract(ctx, conn, id, `UPDATE attachments SET text = '', extract_status = 'skipped', extract_error = ?
		WHERE conn = ? AND id = ?`, reason)
}

func (tx *Tx) setExtract(ctx context.Context, conn, id, q, v string) error {
	res, err := tx.exec(ctx, q, v, conn, id)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("no attachment %q in connection %q", id, conn)
	}
	return tx.logAttachmentChange(ctx, conn, id)
}

// SetAttachmentText records a successful extraction.
func (db *DB) SetAttachmentText(ctx context.Context, conn, id, text string) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.SetAttachmentText(ctx, conn, id, text) })
}

// SetAttachmentFailed records a failed extraction; it is retried next run.
func (db *DB) SetAttachmentFailed(ctx context.Context, conn, id, reason string) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.SetAttachmentFailed(ctx, conn, id, reason) })
}

// SetAttachmentSkipped records a deliberate skip with its reason.
func (db *DB) SetAttachmentSkipped(ctx context.Context, conn, id, reason string) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.SetAttachmentSkipped(ctx, conn, id, reason) })
}

// Counts are the stored entities of one connection.
type Counts struct {
	Users              int64 `json:"users"`
	Groups             int64 `json:"groups"`
	Projects           int64 `json:"projects"`
	Issues             int64 `json:"issues"`
	Comments           int64 `json:"comments"`
	Attachments        int64 `json:"attachments"`
	AttachmentsPending int64 `json:"attachmentsPending"`
	AttachmentsFailed  int64 `json:"attachmentsFailed"`
}

// Counts returns the connection's stored entity counts.
func (db *DB) Counts(ctx context.Context, conn string) (Counts, error) {
	var c Counts
	err := db.queryRow(ctx, `SELECT
		(SELECT COUNT(*) FROM users WHERE conn = ?1),
		(SELECT COUNT(*) FROM jira_groups WHERE conn = ?1),
		(SELECT COUNT(*) FROM projects WHERE conn = ?1),
		(SELECT COUNT(*) FROM issues WHERE conn = ?1),
		(SELECT COUNT(*) FROM comments WHERE conn = ?1),
		(SELECT COUNT(*) FROM attachments WHERE conn = ?1),
		(SELECT COUNT(*) FROM attachments WHERE conn = ?1 AND extract_status = 'pending'),
		(SELECT COUNT(*) FROM attachments WHERE conn = ?1 AND extract_status = 'failed')`, conn).
		Scan(&c.Users, &c.Groups, &c.Projects, &c.Issues, &c.Comments, &c.Attachments, &c.AttachmentsPending, &c.AttachmentsFailed)
	if err != nil {
		return c, db.wrap("counts", err)
	}
	return c, nil
}

// IssueUpdatedMS returns the stored issue's Jira updated time (epoch ms) and
// whether the issue is stored. The sync uses it inside the commit transaction
// so that a page fetched earlier never overwrites a newer version written
// meanwhile (by a webhook refresh, for instance).
func (tx *Tx) IssueUpdatedMS(ctx context.Context, conn, id string) (int64, bool, error) {
	var ms int64
	err := tx.queryRow(ctx, `SELECT updated_ms FROM issues WHERE conn = ? AND id = ?`, conn, id).Scan(&ms)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("issue %s updated: %w", id, err)
	}
	return ms, true, nil
}
