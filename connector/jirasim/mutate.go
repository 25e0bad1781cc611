package jirasim

import (
	"bytes"
	"encoding/json"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// Mutations change the world the way Jira would: each takes the write lock,
// validates everything before changing anything (bad input changes nothing),
// moves the clock strictly forward for `updated`, writes the audit log where
// Jira does, and queues webhooks. actor is the account that makes the change
// ("" means the admin); it becomes the webhook's user, so receivers can ignore
// their own echoes. Do not call them while holding the lock.

// MaxAttachmentSize mirrors Jira Cloud's default attachment limit.
const MaxAttachmentSize = 10 << 20

// IssueCreate is the input of CreateIssue. Description is plain text turned
// into ADF; DescriptionADF, when set, is used as is.
type IssueCreate struct {
	ProjectKey      string              `json:"projectKey"`
	Summary         string              `json:"summary"`
	Description     string              `json:"description,omitempty"`
	DescriptionADF  json.RawMessage     `json:"descriptionAdf,omitempty"`
	IssueType       string              `json:"issueType,omitempty"`
	Status          string              `json:"status,omitempty"`
	Priority        string              `json:"priority,omitempty"`
	Labels          []string            `json:"labels,omitempty"`
	Reporter        string              `json:"reporter,omitempty"` // default: the actor
	Assignee        string              `json:"assignee,omitempty"`
	SecurityLevelID string              `json:"securityLevelId,omitempty"`
	CustomFields    map[string][]string `json:"customFields,omitempty"`
}

// IssueUpdate is the input of UpdateIssue: nil fields stay as they are; an
// empty string clears assignee, reporter and securityLevelId; a custom field
// set to an empty list is cleared.
type IssueUpdate struct {
	Summary         *string             `json:"summary,omitempty"`
	Description     *string             `json:"description,omitempty"`
	DescriptionADF  json.RawMessage     `json:"descriptionAdf,omitempty"`
	IssueType       *string             `json:"issueType,omitempty"`
	Status          *string             `json:"status,omitempty"`
	Priority        *string             `json:"priority,omitempty"`
	Labels          *[]string           `json:"labels,omitempty"`
	Reporter        *string             `json:"reporter,omitempty"`
	Assignee        *string             `json:"assignee,omitempty"`
	SecurityLevelID *string             `json:"securityLevelId,omitempty"`
	CustomFields    map[string][]string `json:"customFields,omitempty"`
}

// UserCreate is the input of CreateUser.
type UserCreate struct {
	DisplayName string   `json:"displayName"`
	Email       string   `json:"email"`
	HideEmail   bool     `json:"hideEmail,omitempty"`
	AccountType string   `json:"accountType,omitempty"` // atlassian (default) | app | customer
	Inactive    bool     `json:"inactive,omitempty"`
	Groups      []string `json:"groups,omitempty"` // group ids or names
}

func notFound(kind, key string) error {
	return switchyard.Errorf(switchyard.ErrNotFound, "%s %q not found", kind, key)
}

func invalid(field, format string, args ...any) error {
	return switchyard.FieldErrorf(switchyard.ErrInvalid, field, format, args...)
}

// tick advances the simulated clock: max(now, last+1ms), so `updated` is
// strictly increasing and epoch-millisecond cursors never see two changes at
// the same instant. Write lock held.
func (w *World) tick() time.Time {
	t := time.Now().UTC().Truncate(time.Millisecond)
	if !t.After(w.clock) {
		t = w.clock.Add(time.Millisecond)
	}
	w.clock = t
	return t
}

// beginWrite takes the write lock, refreshes the index and resolves actor
// (empty means the admin). The lock is held even on error: callers must
// defer w.unlockAndDispatch() straight after.
func (w *World) beginWrite(actor string) (string, error) {
	w.mu.Lock()
	w.ensureIndex()
	return w.resolveActor(actor)
}

// beginIssueWrite is beginWrite followed by finding the issue by id or key.
// The caller defers unlockAndDispatch whatever it returns.
func (w *World) beginIssueWrite(actor, key string) (string, *SimIssue, *SimProject, error) {
	actor, err := w.beginWrite(actor)
	if err != nil {
		return "", nil, nil, err
	}
	iss, p, err := w.issueForWrite(key)
	return actor, iss, p, err
}

// beginCommentWrite is beginIssueWrite followed by finding the comment.
func (w *World) beginCommentWrite(actor, key, commentID string) (string, *SimIssue, *SimProject, *SimComment, error) {
	actor, iss, p, err := w.beginIssueWrite(actor, key)
	if err != nil {
		return "", nil, nil, nil, err
	}
	c := iss.CommentByID(commentID)
	if c == nil {
		return "", nil, nil, nil, notFound("comment", commentID)
	}
	return actor, iss, p, c, nil
}

// projectForWrite finds a project by id or key for a mutation. Write lock held.
func (w *World) projectForWrite(key string) (*SimProject, error) {
	p := w.ProjectByIDOrKey(key)
	if p == nil {
		return nil, notFound("project", key)
	}
	return p, nil
}

func (w *World) resolveActor(actor string) (string, error) {
	if actor == "" {
		return w.adminAccountID, nil
	}
	if w.UserByID(actor) == nil {
		return "", invalid("actor", "no user with account id %q", actor)
	}
	return actor, nil
}

func (w *World) audit(actor, summary, category, typeName, objectID, name string) {
	if w.nextID == 0 {
		w.nextID = 1
	}
	w.Audit = append(w.Audit, AuditRecord{ID: w.nextID, Created: w.clock, Summary: summary, Category: category,
		TypeName: typeName, ObjectID: objectID, Name: name, Author: actor})
	w.nextID++
}

func (w *World) issueForWrite(key string) (*SimIssue, *SimProject, error) {
	iss := w.IssueByIDOrKey(key)
	if iss == nil {
		return nil, nil, notFound("issue", key)
	}
	return iss, w.ProjectByID(iss.ProjectID), nil
}

func (w *World) checkUser(field, id string) error {
	if id != "" && w.UserByID(id) == nil {
		return invalid(field, "no user with account id %q", id)
	}
	return nil
}

func checkADF(field string, raw json.RawMessage) error {
	var doc struct {
		Type    string            `json:"type"`
		Version int               `json:"version"`
		Content []json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil || doc.Type != "doc" {
		return invalid(field, "must be an ADF document ({\"type\":\"doc\",\"version\":1,…})")
	}
	return nil
}

func compactJSON(raw json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return raw
	}
	return b.Bytes()
}

func (w *World) checkCustomFields(fields map[string][]string) error {
	for _, k := range sortedKeys(fields) {
		switch k {
		case FieldUserPicker:
			for _, id := range fields[k] {
				if w.UserByID(id) == nil {
					return invalid("customFields."+k, "no user with account id %q", id)
				}
			}
		case FieldGroupPicker:
			for _, id := range fields[k] {
				if w.GroupByID(id) == nil {
					return invalid("customFields."+k, "no group with id %q", id)
				}
			}
		default:
			return invalid("customFields."+k, "unknown custom field (known: %s, %s)", FieldUserPicker, FieldGroupPicker)
		}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func statusIn(p *SimProject, s string) (name, cat string, ok bool) {
	for _, st := range workflows[p.ProjectTypeKey].statuses {
		if strings.EqualFold(st.name, s) {
			return st.name, st.cat, true
		}
	}
	return "", "", false
}

func typeIn(p *SimProject, t string) (string, bool) {
	for _, it := range p.IssueTypes {
		if strings.EqualFold(it, t) {
			return it, true
		}
	}
	return "", false
}

func priorityValid(s string) (string, bool) {
	for _, p := range Priorities {
		if strings.EqualFold(p, s) {
			return p, true
		}
	}
	return "", false
}

func validLabels(ls []string) error {
	for _, l := range ls {
		if l == "" || strings.ContainsAny(l, " \t\n") {
			return invalid("labels", "label %q must be non-empty and contain no spaces", l)
		}
	}
	return nil
}

// mimeByExt is a fixed table: the system's mime.types would make the guess
// differ between machines.
var mimeByExt = map[string]string{
	".txt": "text/plain", ".log": "text/plain", ".md": "text/markdown", ".csv": "text/csv", ".json": "application/json",
	".html": "text/html", ".htm": "text/html", ".xml": "application/xml", ".pdf": "application/pdf",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".png":  "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif", ".zip": "application/zip",
}

// CreateIssue creates an issue in in.ProjectKey with the next key and id.
func (w *World) CreateIssue(actor string, in IssueCreate) (*SimIssue, error) {
	actor, err := w.beginWrite(actor)
	defer w.unlockAndDispatch()
	if err != nil {
		return nil, err
	}
	p := w.ProjectByKey(in.ProjectKey)
	if p == nil {
		return nil, invalid("projectKey", "no project with key %q", in.ProjectKey)
	}
	summary := strings.TrimSpace(in.Summary)
	if summary == "" || len(summary) > 255 {
		return nil, invalid("summary", "must be 1 to 255 characters")
	}
	it := p.IssueTypes[0]
	if in.IssueType != "" {
		var ok bool
		if it, ok = typeIn(p, in.IssueType); !ok {
			return nil, invalid("issueType", "%q is not an issue type of %s (have %s)", in.IssueType, p.Key, strings.Join(p.IssueTypes, ", "))
		}
	}
	st := workflows[p.ProjectTypeKey].statuses[0]
	status, cat := st.name, st.cat
	if in.Status != "" {
		var ok bool
		if status, cat, ok = statusIn(p, in.Status); !ok {
			return nil, invalid("status", "%q is not a status of %s", in.Status, p.Key)
		}
	}
	prio := "Medium"
	if in.Priority != "" {
		var ok bool
		if prio, ok = priorityValid(in.Priority); !ok {
			return nil, invalid("priority", "%q is not a priority (have %s)", in.Priority, strings.Join(Priorities, ", "))
		}
	}
	reporter := in.Reporter
	if reporter == "" {
		reporter = actor
	}
	if err := w.checkUser("reporter", reporter); err != nil {
		return nil, err
	}
	if err := w.checkUser("assignee", in.Assignee); err != nil {
		return nil, err
	}
	if in.SecurityLevelID != "" && p.SecurityLevelByID(in.SecurityLevelID) == nil {
		return nil, invalid("securityLevelId", "project %s has no security level %q", p.Key, in.SecurityLevelID)
	}
	if err := w.checkCustomFields(in.CustomFields); err != nil {
		return nil, err
	}
	if err := validLabels(in.Labels); err != nil {
		return nil, err
	}
	desc := TextToADF(in.Description)
	if len(in.DescriptionADF) > 0 {
		if err := checkADF("descriptionAdf", in.DescriptionADF); err != nil {
			return nil, err
		}
		desc = compactJSON(in.DescriptionADF)
	}

	now := w.tick()
	if w.nextIssueID == 0 {
		w.nextIssueID = 10000
	}
	w.keySeq[p.ID]++
	iss := &SimIssue{
		ID: strconv.FormatInt(w.nextIssueID, 10), Key: p.Key + "-" + strconv.Itoa(w.keySeq[p.ID]), ProjectID: p.ID,
		Summary: summary, Description: desc, IssueType: it, Status: status, StatusCategory: cat, Priority: prio,
		Labels: slices.Clone(in.Labels), Reporter: reporter, Assignee: in.Assignee, Created: now, Updated: now,
		SecurityLevelID: in.SecurityLevelID, CustomFields: map[string][]string{}, Comments: []*SimComment{},
		Attachments: []*SimAttachment{}, Properties: map[string]json.RawMessage{},
	}
	if iss.Labels == nil {
		iss.Labels = []string{}
	}
	for k, v := range in.CustomFields {
		if len(v) > 0 {
			iss.CustomFields[k] = dedupe(slices.Clone(v))
		}
	}
	w.nextIssueID++
	w.Issues = append(w.Issues, iss)
	w.issuesByID[iss.ID] = iss
	w.issuesByKey[iss.Key] = iss
	w.emit("jira:issue_created", w.issuePayload(actor, iss, "issue_created"), iss)
	return iss, nil
}

// UpdateIssue changes the given fields of an issue (by key, old key or id).
func (w *World) UpdateIssue(actor, key string, u IssueUpdate) (*SimIssue, error) {
	actor, iss, p, err := w.beginIssueWrite(actor, key)
	defer w.unlockAndDispatch()
	if err != nil {
		return nil, err
	}
	// Validate everything first.
	var summary, it, status, cat, prio string
	if u.Summary != nil {
		if summary = strings.TrimSpace(*u.Summary); summary == "" || len(summary) > 255 {
			return nil, invalid("summary", "must be 1 to 255 characters")
		}
	}
	if u.IssueType != nil {
		var ok bool
		if it, ok = typeIn(p, *u.IssueType); !ok {
			return nil, invalid("issueType", "%q is not an issue type of %s", *u.IssueType, p.Key)
		}
	}
	if u.Status != nil {
		var ok bool
		if status, cat, ok = statusIn(p, *u.Status); !ok {
			return nil, invalid("status", "%q is not a status of %s", *u.Status, p.Key)
		}
	}
	if u.Priority != nil {
		var ok bool
		if prio, ok = priorityValid(*u.Priority); !ok {
			return nil, invalid("priority", "%q is not a priority", *u.Priority)
		}
	}
	if u.Reporter != nil {
		if err := w.checkUser("reporter", *u.Reporter); err != nil {
			return nil, err
		}
	}
	if u.Assignee != nil {
		if err := w.checkUser("assignee", *u.Assignee); err != nil {
			return nil, err
		}
	}
	if u.SecurityLevelID != nil && *u.SecurityLevelID != "" && p.SecurityLevelByID(*u.SecurityLevelID) == nil {
		return nil, invalid("securityLevelId", "project %s has no security level %q", p.Key, *u.SecurityLevelID)
	}
	if err := w.checkCustomFields(u.CustomFields); err != nil {
		return nil, err
	}
	if u.Labels != nil {
		if err := validLabels(*u.Labels); err != nil {
			return nil, err
		}
	}
	if len(u.DescriptionADF) > 0 {
		if err := checkADF("descriptionAdf", u.DescriptionADF); err != nil {
			return nil, err
		}
	}
	if u.Summary == nil && u.Description == nil && len(u.DescriptionADF) == 0 && u.IssueType == nil && u.Status == nil &&
		u.Priority == nil && u.Labels == nil && u.Reporter == nil && u.Assignee == nil && u.SecurityLevelID == nil && len(u.CustomFields) == 0 {
		return nil, invalid("fields", "nothing to update")
	}

	var log []map[string]any
	change := func(field, from, to string) {
		if from != to {
			log = append(log, map[string]any{"field": field, "fieldtype": "jira", "fromString": from, "toString": to})
		}
	}
	if u.Summary != nil {
		change("summary", iss.Summary, summary)
		iss.Summary = summary
	}
	if u.Description != nil {
		change("description", ADFPlainText(iss.Description), *u.Description)
		iss.Description = TextToADF(*u.Description)
	}
	if len(u.DescriptionADF) > 0 {
		change("description", ADFPlainText(iss.Description), ADFPlainText(u.DescriptionADF))
		iss.Description = compactJSON(u.DescriptionADF)
	}
	if u.IssueType != nil {
		change("issuetype", iss.IssueType, it)
		iss.IssueType = it
	}
	if u.Status != nil {
		change("status", iss.Status, status)
		iss.Status, iss.StatusCategory = status, cat
	}
	if u.Priority != nil {
		change("priority", iss.Priority, prio)
		iss.Priority = prio
	}
	if u.Labels != nil {
		change("labels", strings.Join(iss.Labels, " "), strings.Join(*u.Labels, " "))
		iss.Labels = append([]string{}, *u.Labels...)
	}
	if u.Reporter != nil {
		change("reporter", iss.Reporter, *u.Reporter)
		iss.Reporter = *u.Reporter
	}
	if u.Assignee != nil {
		change("assignee", iss.Assignee, *u.Assignee)
		iss.Assignee = *u.Assignee
	}
	if u.SecurityLevelID != nil {
		change("security", iss.SecurityLevelID, *u.SecurityLevelID)
		iss.SecurityLevelID = *u.SecurityLevelID
	}
	for _, k := range sortedKeys(u.CustomFields) {
		v := u.CustomFields[k]
		change(k, strings.Join(iss.CustomFields[k], ","), strings.Join(v, ","))
		if len(v) == 0 {
			delete(iss.CustomFields, k)
		} else {
			iss.CustomFields[k] = dedupe(slices.Clone(v))
		}
	}
	iss.Updated = w.tick()
	pl := w.issuePayload(actor, iss, "issue_updated")
	pl["changelog"] = map[string]any{"id": strconv.FormatInt(iss.Updated.UnixMilli(), 10), "items": orEmptyMaps(log)}
	w.emit("jira:issue_updated", pl, iss)
	return iss, nil
}

func orEmptyMaps(x []map[string]any) []map[string]any {
	if x == nil {
		return []map[string]any{}
	}
	return x
}

// DeleteIssue removes an issue, records ISSUE_DELETE in the audit log (the key
// in objectItem.name, as Jira does) and lists the key in Deleted.
func (w *World) DeleteIssue(actor, key string) error {
	actor, iss, _, err := w.beginIssueWrite(actor, key)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	w.tick()
	w.emit("jira:issue_deleted", w.issuePayload(actor, iss, "issue_deleted"), iss)
	w.Issues = slices.DeleteFunc(w.Issues, func(x *SimIssue) bool { return x == iss })
	delete(w.issuesByID, iss.ID)
	delete(w.issuesByKey, iss.Key)
	for _, old := range sortedKeys(w.movedKeys) {
		if w.movedKeys[old] == iss.ID {
			delete(w.movedKeys, old)
		}
	}
	w.Deleted = append(w.Deleted, iss.Key)
	w.audit(actor, "Issue deleted", "issue management", "ISSUE_DELETE", iss.ID, iss.Key)
	return nil
}

// checkVisibility resolves a comment restriction against the issue's project:
// a group by id (identifier) or name (value); a role by name. It returns the
// normalised visibility (identifier = group id or role name).
func (w *World) checkVisibility(p *SimProject, v *switchyard.Visibility) (*switchyard.Visibility, error) {
	if v == nil {
		return nil, nil
	}
	switch v.Type {
	case "group":
		g := w.GroupByID(v.Identifier)
		if g == nil {
			g = w.GroupByName(v.Value)
		}
		if g == nil {
			return nil, invalid("visibility", "no group with id %q or name %q", v.Identifier, v.Value)
		}
		return &switchyard.Visibility{Type: "group", Value: g.Name, Identifier: g.ID}, nil
	case "role":
		name := v.Value
		if name == "" {
			name = v.Identifier
		}
		for _, r := range p.Roles {
			if r.Name == name || r.ID == name {
				return &switchyard.Visibility{Type: "role", Value: r.Name, Identifier: r.Name}, nil
			}
		}
		return nil, invalid("visibility", "project %s has no role %q", p.Key, name)
	}
	return nil, invalid("visibility.type", "must be group or role, not %q", v.Type)
}

// AddComment adds a comment (ADF body) with an optional visibility.
func (w *World) AddComment(actor, key string, body json.RawMessage, vis *switchyard.Visibility) (*SimComment, error) {
	actor, iss, p, err := w.beginIssueWrite(actor, key)
	defer w.unlockAndDispatch()
	if err != nil {
		return nil, err
	}
	if err := checkADF("body", body); err != nil {
		return nil, err
	}
	if strings.TrimSpace(ADFPlainText(body)) == "" {
		return nil, invalid("body", "comment body must not be empty")
	}
	v, err := w.checkVisibility(p, vis)
	if err != nil {
		return nil, err
	}
	now := w.tick()
	if w.nextCommentID == 0 {
		w.nextCommentID = 100000
	}
	c := &SimComment{ID: strconv.FormatInt(w.nextCommentID, 10), Author: actor, Body: compactJSON(body), Created: now, Updated: now,
		Visibility: v, Properties: map[string]json.RawMessage{}}
	w.nextCommentID++
	iss.Comments = append(iss.Comments, c)
	iss.Updated = now
	w.emit("comment_created", w.commentPayload(actor, iss, c), iss)
	w.emit("jira:issue_updated", w.issuePayload(actor, iss, "issue_commented"), iss)
	return c, nil
}

// UpdateComment replaces a comment's body (nil keeps it) and its visibility
// (nil makes it public, as a Jira edit without visibility does).
func (w *World) UpdateComment(actor, key, commentID string, body json.RawMessage, vis *switchyard.Visibility) (*SimComment, error) {
	actor, iss, p, c, err := w.beginCommentWrite(actor, key, commentID)
	defer w.unlockAndDispatch()
	if err != nil {
		return nil, err
	}
	if body != nil {
		if err := checkADF("body", body); err != nil {
			return nil, err
		}
	}
	v, err := w.checkVisibility(p, vis)
	if err != nil {
		return nil, err
	}
	now := w.tick()
	if body != nil {
		c.Body = compactJSON(body)
	}
	c.Visibility = v
	c.Updated = now
	iss.Updated = now
	w.emit("comment_updated", w.commentPayload(actor, iss, c), iss)
	return c, nil
}

// DeleteComment removes a comment.
func (w *World) DeleteComment(actor, key, commentID string) error {
	actor, iss, _, c, err := w.beginCommentWrite(actor, key, commentID)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	iss.Updated = w.tick()
	iss.Comments = slices.DeleteFunc(iss.Comments, func(x *SimComment) bool { return x == c })
	w.emit("comment_deleted", w.commentPayload(actor, iss, c), iss)
	return nil
}

// AddAttachment attaches content to an issue. An empty mimeType is guessed
// from the file extension.
func (w *World) AddAttachment(actor, key, filename, mimeType string, content []byte) (*SimAttachment, error) {
	actor, iss, _, err := w.beginIssueWrite(actor, key)
	defer w.unlockAndDispatch()
	if err != nil {
		return nil, err
	}
	if filename == "" || strings.ContainsAny(filename, "/\\") {
		return nil, invalid("filename", "must be a plain file name, got %q", filename)
	}
	if len(content) > MaxAttachmentSize {
		return nil, invalid("content", "%d bytes is over the %d byte attachment limit", len(content), MaxAttachmentSize)
	}
	if mimeType == "" {
		mimeType = mimeByExt[strings.ToLower(filepath.Ext(filename))]
		if mimeType == "" {
			mimeType = "application/octet-stream"
		}
	}
	now := w.tick()
	if w.nextAttachmentID == 0 {
		w.nextAttachmentID = 200000
	}
	a := &SimAttachment{ID: strconv.FormatInt(w.nextAttachmentID, 10), Filename: filename, MimeType: mimeType, Author: actor,
		Created: now, Content: slices.Clone(content)}
	w.nextAttachmentID++
	iss.Attachments = append(iss.Attachments, a)
	iss.Updated = now
	pl := w.issuePayload(actor, iss, "issue_updated")
	pl["changelog"] = map[string]any{"id": strconv.FormatInt(now.UnixMilli(), 10), "items": []map[string]any{
		{"field": "Attachment", "fieldtype": "jira", "from": nil, "fromString": nil, "to": a.ID, "toString": a.Filename}}}
	w.emit("jira:issue_updated", pl, iss)
	return a, nil
}

// MoveIssue moves an issue to another project: same id, a new key there; the
// old key keeps resolving (IssueByKey) like Jira's redirect. Issue type and
// status fall back to the target's first when unknown there; a security
// level the target does not define is cleared.
func (w *World) MoveIssue(actor, key, toProjectKey string) (*SimIssue, error) {
	actor, iss, from, err := w.beginIssueWrite(actor, key)
	defer w.unlockAndDispatch()
	if err != nil {
		return nil, err
	}
	to := w.ProjectByKey(toProjectKey)
	if to == nil {
		return nil, invalid("projectKey", "no project with key %q", toProjectKey)
	}
	if to.ID == from.ID {
		return nil, invalid("projectKey", "issue %s is already in %s", iss.Key, to.Key)
	}
	now := w.tick()
	oldKey := iss.Key
	w.keySeq[to.ID]++
	iss.Key = to.Key + "-" + strconv.Itoa(w.keySeq[to.ID])
	iss.ProjectID = to.ID
	if t, ok := typeIn(to, iss.IssueType); ok {
		iss.IssueType = t
	} else {
		iss.IssueType = to.IssueTypes[0]
	}
	if s, c, ok := statusIn(to, iss.Status); ok {
		iss.Status, iss.StatusCategory = s, c
	} else {
		st := workflows[to.ProjectTypeKey].statuses[0]
		iss.Status, iss.StatusCategory = st.name, st.cat
	}
	if iss.SecurityLevelID != "" && to.SecurityLevelByID(iss.SecurityLevelID) == nil {
		iss.SecurityLevelID = ""
	}
	iss.Updated = now
	delete(w.issuesByKey, oldKey)
	w.issuesByKey[iss.Key] = iss
	w.movedKeys[oldKey] = iss.ID
	pl := w.issuePayload(actor, iss, "issue_moved")
	pl["changelog"] = map[string]any{"id": strconv.FormatInt(now.UnixMilli(), 10), "items": []map[string]any{
		{"field": "Key", "fieldtype": "jira", "fromString": oldKey, "toString": iss.Key},
		{"field": "project", "fieldtype": "jira", "from": from.ID, "fromString": from.Name, "to": to.ID, "toString": to.Name}}}
	w.emit("jira:issue_updated", pl, iss)
	return iss, nil
}

func (w *World) groupByIDOrName(s string) *SimGroup {
	if g := w.GroupByID(s); g != nil {
		return g
	}
	return w.GroupByName(s)
}

// AddGroupMember adds a user to a group (by id or name). ErrConflict when
// already a member.
func (w *World) AddGroupMember(actor, group, accountID string) error {
	actor, err := w.beginWrite(actor)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	g := w.groupByIDOrName(group)
	if g == nil {
		return notFound("group", group)
	}
	if w.UserByID(accountID) == nil {
		return invalid("accountId", "no user with account id %q", accountID)
	}
	if slices.Contains(g.Members, accountID) {
		return switchyard.FieldErrorf(switchyard.ErrConflict, "accountId", "%q is already a member of %s", accountID, g.Name)
	}
	w.tick()
	g.Members = append(g.Members, accountID)
	w.audit(actor, "User added to group", "group management", "GROUP", g.ID, g.Name)
	return nil
}

// RemoveGroupMember removes a user from a group. ErrNotFound when not a member.
func (w *World) RemoveGroupMember(actor, group, accountID string) error {
	actor, err := w.beginWrite(actor)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	g := w.groupByIDOrName(group)
	if g == nil {
		return notFound("group", group)
	}
	if !slices.Contains(g.Members, accountID) {
		return notFound("member of "+g.Name, accountID)
	}
	w.tick()
	g.Members = slices.DeleteFunc(slices.Clone(g.Members), func(m string) bool { return m == accountID })
	w.audit(actor, "User removed from group", "group management", "GROUP", g.ID, g.Name)
	return nil
}

// checkHolders validates the parameters of known holder types. Unknown types
// are accepted as they are, so tests can check they grant nothing.
func (w *World) checkHolders(field string, p *SimProject, hs []switchyard.Holder) error {
	for i, h := range hs {
		f := field + "[" + strconv.Itoa(i) + "]"
		switch h.Type {
		case "":
			return invalid(f+".type", "holder type is required")
		case switchyard.HolderGroup:
			if w.GroupByID(h.Parameter) == nil {
				return invalid(f+".parameter", "no group with id %q", h.Parameter)
			}
		case switchyard.HolderProjectRole:
			if p.RoleByID(h.Parameter) == nil {
				return invalid(f+".parameter", "no project role with id %q", h.Parameter)
			}
		case switchyard.HolderUser:
			if w.UserByID(h.Parameter) == nil {
				return invalid(f+".parameter", "no user with account id %q", h.Parameter)
			}
		case switchyard.HolderApplicationRole:
			if h.Parameter != "" && !slices.ContainsFunc(w.ApplicationRoles, func(a *switchyard.ApplicationRole) bool { return a.Key == h.Parameter }) {
				return invalid(f+".parameter", "no application role %q", h.Parameter)
			}
		case switchyard.HolderUserCustomField, switchyard.HolderGroupCustomField:
			if h.Parameter == "" {
				return invalid(f+".parameter", "custom field id is required")
			}
		case switchyard.HolderAnyone, switchyard.HolderProjectLead, switchyard.HolderReporter, switchyard.HolderAssignee, switchyard.HolderSDCustomerPortal:
			if h.Parameter != "" {
				return invalid(f+".parameter", "holder type %s takes no parameter", h.Type)
			}
		}
	}
	return nil
}

// SetBrowseGrants replaces the BROWSE_PROJECTS grants of a project's scheme.
func (w *World) SetBrowseGrants(actor, projectKey string, holders []switchyard.Holder) error {
	actor, err := w.beginWrite(actor)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	p, err := w.projectForWrite(projectKey)
	if err != nil {
		return err
	}
	if err := w.checkHolders("holders", p, holders); err != nil {
		return err
	}
	w.tick()
	p.Browse = append([]switchyard.Holder{}, holders...)
	w.audit(actor, "Permission scheme updated", "permissions", "PERMISSION_SCHEME", p.PermissionSchemeID, p.Key)
	return nil
}

// SetRoleActors replaces a project role's user and group actors.
func (w *World) SetRoleActors(actor, projectKey, roleID string, a switchyard.RoleActors) error {
	actor, err := w.beginWrite(actor)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	p, err := w.projectForWrite(projectKey)
	if err != nil {
		return err
	}
	role := p.RoleByID(roleID)
	if role == nil {
		return notFound("project role", roleID)
	}
	for i, u := range a.Users {
		if w.UserByID(u) == nil {
			return invalid("users["+strconv.Itoa(i)+"]", "no user with account id %q", u)
		}
	}
	for i, g := range a.Groups {
		if w.GroupByID(g) == nil {
			return invalid("groups["+strconv.Itoa(i)+"]", "no group with id %q", g)
		}
	}
	w.tick()
	role.Actors = switchyard.RoleActors{Users: dedupe(append([]string{}, a.Users...)), Groups: dedupe(append([]string{}, a.Groups...))}
	w.audit(actor, "Project roles changed", "projects", "PROJECT_ROLE", role.ID, p.Key+" "+role.Name)
	return nil
}

// SetSecurityLevelMembers replaces a security level's member holders.
func (w *World) SetSecurityLevelMembers(actor, projectKey, levelID string, members []switchyard.Holder) error {
	actor, err := w.beginWrite(actor)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	p, err := w.projectForWrite(projectKey)
	if err != nil {
		return err
	}
	l := p.SecurityLevelByID(levelID)
	if l == nil {
		return notFound("security level", levelID)
	}
	if err := w.checkHolders("members", p, members); err != nil {
		return err
	}
	w.tick()
	l.Members = append([]switchyard.Holder{}, members...)
	w.audit(actor, "Issue security level updated", "issue security", "SECURITY_LEVEL", l.ID, l.Name)
	return nil
}

// SetUserActive activates or deactivates an account.
func (w *World) SetUserActive(actor, accountID string, active bool) error {
	actor, err := w.beginWrite(actor)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	u := w.UserByID(accountID)
	if u == nil {
		return notFound("user", accountID)
	}
	if u.Active == active {
		return nil
	}
	w.tick()
	u.Active = active
	summary := "User deactivated"
	if active {
		summary = "User activated"
	}
	w.audit(actor, summary, "user management", "USER", u.AccountID, u.DisplayName)
	w.emit("user_updated", map[string]any{"user": w.userRepr(u.AccountID)}, nil)
	return nil
}

// CreateUser adds an account (atlassian by default) and its group memberships.
func (w *World) CreateUser(actor string, in UserCreate) (*SimUser, error) {
	actor, err := w.beginWrite(actor)
	defer w.unlockAndDispatch()
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.DisplayName)
	if name == "" {
		return nil, invalid("displayName", "is required")
	}
	typ := in.AccountType
	if typ == "" {
		typ = "atlassian"
	}
	if typ != "atlassian" && typ != "app" && typ != "customer" {
		return nil, invalid("accountType", "must be atlassian, app or customer, not %q", typ)
	}
	if typ != "app" {
		if in.Email == "" || !strings.Contains(in.Email, "@") {
			return nil, invalid("email", "a valid email is required, got %q", in.Email)
		}
		if w.UserByEmail(in.Email) != nil {
			return nil, switchyard.FieldErrorf(switchyard.ErrConflict, "email", "%q is already used", in.Email)
		}
	}
	var groups []*SimGroup
	for i, g := range in.Groups {
		grp := w.groupByIDOrName(g)
		if grp == nil {
			return nil, invalid("groups["+strconv.Itoa(i)+"]", "no group %q", g)
		}
		groups = append(groups, grp)
	}
	w.tick()
	w.nextUserSeq++
	u := &SimUser{User: switchyard.User{DisplayName: name, Email: in.Email, Active: !in.Inactive, AccountType: typ}, TimeZone: "UTC"}
	// Account ids derive from the seed and a counter: unique and repeatable.
	suffix := strconv.FormatInt(w.nextUserSeq, 16)
	base := strconv.FormatUint(uint64(w.seed)&0xffffffff, 16)
	switch typ {
	case "app":
		u.AccountID = "557058:sim-" + base + "-" + suffix
		u.Email = ""
	case "customer":
		u.AccountID = "qm:sim-" + base + ":" + suffix
	default:
		id := "5e" + strings.Repeat("0", 22)
		tail := base + suffix
		u.AccountID = id[:24-len(tail)] + tail
	}
	for w.usersByID[u.AccountID] != nil {
		u.AccountID += "x"
	}
	if in.HideEmail && u.Email != "" {
		u.HiddenEmail, u.Email = u.Email, ""
	}
	w.Users = append(w.Users, u)
	w.usersByID[u.AccountID] = u
	for _, g := range groups {
		if !slices.Contains(g.Members, u.AccountID) {
			g.Members = append(g.Members, u.AccountID)
		}
	}
	w.audit(actor, "User created", "user management", "USER", u.AccountID, u.DisplayName)
	w.emit("user_created", map[string]any{"user": w.userRepr(u.AccountID)}, nil)
	return u, nil
}

// SetIssueProperty stores an issue property (Jira entity property).
func (w *World) SetIssueProperty(actor, key, propKey string, value json.RawMessage) error {
	_, iss, _, err := w.beginIssueWrite(actor, key)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	if propKey == "" || !json.Valid(value) {
		return invalid("property", "needs a key and a JSON value")
	}
	if iss.Properties == nil {
		iss.Properties = map[string]json.RawMessage{}
	}
	iss.Properties[propKey] = compactJSON(value)
	return nil
}

// SetCommentProperty stores a comment property (used for write-back idempotency).
func (w *World) SetCommentProperty(actor, key, commentID, propKey string, value json.RawMessage) error {
	_, _, _, c, err := w.beginCommentWrite(actor, key, commentID)
	defer w.unlockAndDispatch()
	if err != nil {
		return err
	}
	if propKey == "" || !json.Valid(value) {
		return invalid("property", "needs a key and a JSON value")
	}
	if c.Properties == nil {
		c.Properties = map[string]json.RawMessage{}
	}
	c.Properties[propKey] = compactJSON(value)
	return nil
}

// Webhook payload pieces, in the shape Jira sends them.

// JiraTime formats t like Jira's REST API: 2006-01-02T15:04:05.000+0000.
func JiraTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000-0700") }

func (w *World) userRepr(id string) any {
	if id == "" {
		return nil
	}
	if w.Mode == switchyard.ModeDataCenter {
		// Data Center / Server: users by name and key, as its REST answers.
		if m := (&view{w: w, base: w.BaseURL, dc: true}).user(id); m != nil {
			return m
		}
		return map[string]any{"self": w.BaseURL + "/rest/api/2/user?username=" + url.QueryEscape(id), "name": id, "key": id}
	}
	m := map[string]any{"accountId": id, "self": w.BaseURL + "/rest/api/3/user?accountId=" + url.QueryEscape(id)}
	if u := w.UserByID(id); u != nil {
		m["displayName"] = u.DisplayName
		m["active"] = u.Active
		m["accountType"] = u.AccountType
		m["timeZone"] = u.TimeZone
		if u.Email != "" {
			m["emailAddress"] = u.Email
		}
	}
	return m
}

func (w *World) issuePayload(actor string, iss *SimIssue, eventType string) map[string]any {
	return map[string]any{
		"timestamp":             w.clock.UnixMilli(),
		"issue_event_type_name": eventType,
		"user":                  w.userRepr(actor),
		"issue":                 w.issueRepr(iss),
	}
}

func (w *World) issueRepr(iss *SimIssue) map[string]any {
	p := w.ProjectByID(iss.ProjectID)
	fields := map[string]any{
		"summary":   iss.Summary,
		"created":   JiraTime(iss.Created),
		"updated":   JiraTime(iss.Updated),
		"issuetype": map[string]any{"name": iss.IssueType},
		"status":    map[string]any{"name": iss.Status, "statusCategory": map[string]any{"key": iss.StatusCategory}},
		"priority":  map[string]any{"name": iss.Priority},
		"labels":    orEmpty(iss.Labels),
		"reporter":  w.userRepr(iss.Reporter),
		"assignee":  w.userRepr(iss.Assignee),
		"security":  nil,
	}
	if p != nil {
		fields["project"] = map[string]any{"id": p.ID, "key": p.Key, "name": p.Name, "self": w.BaseURL + "/rest/api/3/project/" + p.ID}
		if l := p.SecurityLevelByID(iss.SecurityLevelID); l != nil {
			fields["security"] = map[string]any{"id": l.ID, "name": l.Name, "self": w.BaseURL + "/rest/api/3/securitylevel/" + l.ID}
		}
	}
	if v := iss.CustomFields[FieldUserPicker]; len(v) > 0 {
		var us []any
		for _, id := range v {
			us = append(us, w.userRepr(id))
		}
		fields[FieldUserPicker] = us
	}
	if v := iss.CustomFields[FieldGroupPicker]; len(v) > 0 {
		var gs []any
		for _, id := range v {
			g := map[string]any{"groupId": id}
			if grp := w.GroupByID(id); grp != nil {
				g["name"] = grp.Name
			}
			gs = append(gs, g)
		}
		fields[FieldGroupPicker] = gs
	}
	return map[string]any{"id": iss.ID, "key": iss.Key, "self": w.BaseURL + "/rest/api/3/issue/" + iss.ID, "fields": fields}
}

func (w *World) commentPayload(actor string, iss *SimIssue, c *SimComment) map[string]any {
	cm := map[string]any{
		"id":           c.ID,
		"self":         w.BaseURL + "/rest/api/3/issue/" + iss.ID + "/comment/" + c.ID,
		"author":       w.userRepr(c.Author),
		"updateAuthor": w.userRepr(actor),
		"body":         ADFPlainText(c.Body),
		"created":      JiraTime(c.Created),
		"updated":      JiraTime(c.Updated),
		"jsdPublic":    !c.Internal(),
	}
	if c.Visibility != nil {
		cm["visibility"] = map[string]any{"type": c.Visibility.Type, "value": c.Visibility.Value, "identifier": c.Visibility.Identifier}
	}
	if w.Mode == switchyard.ModeDataCenter {
		// Jira Server's comment events: no issue and no user object; the
		// issue is named only in the comment's self URL.
		cm["self"] = w.BaseURL + "/rest/api/2/issue/" + iss.ID + "/comment/" + c.ID
		delete(cm, "jsdPublic")
		if c.Visibility != nil {
			cm["visibility"] = map[string]any{"type": c.Visibility.Type, "value": c.Visibility.Value}
		}
		return map[string]any{"timestamp": w.clock.UnixMilli(), "comment": cm}
	}
	return map[string]any{
		"timestamp": w.clock.UnixMilli(),
		"user":      w.userRepr(actor),
		"comment":   cm,
		"issue":     w.issueRepr(iss),
	}
}
