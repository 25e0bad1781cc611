package connector

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"switchyard"
	"switchyard/connector/markdown"
)

// issueFields are the fields Switchyard stores; custom fields are appended.
var issueFields = []string{"summary", "description", "issuetype", "status", "priority", "labels",
	"reporter", "assignee", "created", "updated", "security", "project", "comment", "attachment"}

// fields is the field list of issue reads: the standard ones, the custom
// fields of Options, and every user/group custom field a permission grant or
// security level referenced so far (the sync reads those before issues).
func (c *Client) fields(opts ...FetchOption) []string {
	all := append(append(append([]string(nil), issueFields...), c.customFields()...), c.jsmFieldList()...)
	var fc fetchConfig
	for _, o := range opts {
		o(&fc)
	}
	if len(fc.without) == 0 {
		return all
	}
	out := all[:0]
	for _, f := range all {
		if !fc.without[f] {
			out = append(out, f)
		}
	}
	return out
}

// FetchOption adjusts which fields an issue read asks Jira for.
type FetchOption func(*fetchConfig)

type fetchConfig struct{ without map[string]bool }

// WithoutFields leaves fields (e.g. "comment", "attachment") out of the
// request, so content a sync filter excludes is never downloaded.
func WithoutFields(names ...string) FetchOption {
	return func(fc *fetchConfig) {
		if fc.without == nil {
			fc.without = map[string]bool{}
		}
		for _, n := range names {
			fc.without[n] = true
		}
	}
}

func (c *Client) customFields() []string {
	c.cfMu.Lock()
	defer c.cfMu.Unlock()
	out := append([]string(nil), c.opts.CustomFields...)
	for _, f := range c.learned {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// learnHolder remembers the custom field a holder refers to.
func (c *Client) learnHolder(h switchyard.Holder) {
	if h.Type != switchyard.HolderUserCustomField && h.Type != switchyard.HolderGroupCustomField || h.Parameter == "" {
		return
	}
	c.cfMu.Lock()
	defer c.cfMu.Unlock()
	if !slices.Contains(c.learned, h.Parameter) {
		c.learned = append(c.learned, h.Parameter)
		sort.Strings(c.learned)
	}
}

type issueJSON struct {
	ID             json64
	Key            string
	Fields         json.RawMessage
	RenderedFields map[string]json.RawMessage
	// bad are top-level members (id, key, renderedFields) of an unexpected
	// shape; the issue is still converted from what could be read.
	bad []switchyard.FieldError
}

// UnmarshalJSON reads an issue bean member by member, so that one member of
// an unexpected shape does not fail the page the issue is in.
func (ij *issueJSON) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return fmt.Errorf("issue: %w", err)
	}
	for name, dst := range map[string]any{"id": &ij.ID, "key": &ij.Key, "fields": &ij.Fields, "renderedFields": &ij.RenderedFields} {
		if r, ok := m[name]; ok && !isNull(r) {
			if err := json.Unmarshal(r, dst); err != nil {
				ij.bad = append(ij.bad, fieldError(name, r, err))
			}
		}
	}
	return nil
}

// fieldError describes a value of an unexpected shape, naming the field and
// quoting the start of the value.
func fieldError(field string, raw json.RawMessage, err error) switchyard.FieldError {
	v := strings.TrimSpace(string(raw))
	if len(v) > 60 {
		v = v[:60] + "…"
	}
	msg := err.Error()
	var ute *json.UnmarshalTypeError
	if errors.As(err, &ute) {
		msg = "unexpected " + ute.Value
		if ute.Field != "" {
			msg += " at " + ute.Field
		}
	}
	return switchyard.FieldError{Field: field, Error: fmt.Sprintf("%s: %s", msg, v)}
}

type statusJSON struct {
	Name           string `json:"name"`
	StatusCategory *struct {
		Key string `json:"key"`
	} `json:"statusCategory"`
}

type namedJSON struct {
	Name string `json:"name"`
}

type idJSON struct {
	ID  json64 `json:"id"`
	Key string `json:"key"`
}

type commentsJSON struct {
	Comments   []json.RawMessage `json:"comments"`
	Total      int               `json:"total"`
	MaxResults int               `json:"maxResults"`
}

type commentJSON struct {
	ID           json64                 `json:"id"`
	Author       *userRef               `json:"author"`
	Body         json.RawMessage        `json:"body"`
	RenderedBody string                 `json:"renderedBody"`
	Created      jtime                  `json:"created"`
	Updated      jtime                  `json:"updated"`
	Visibility   *switchyard.Visibility `json:"visibility"`
	JSDPublic    *bool                  `json:"jsdPublic"` // false: a JSM internal note
}

type attachmentJSON struct {
	ID       json64   `json:"id"`
	Filename string   `json:"filename"`
	MimeType string   `json:"mimeType"`
	Size     int64    `json:"size"`
	Created  jtime    `json:"created"`
	Content  string   `json:"content"`
	Author   *userRef `json:"author"`
}

// idFromContent reads an attachment id from its content URL
// (/secure/attachment/{id}/{name}, /attachment/content/{id}, or the
// /attachments/{id} of the Server reference example) for a bean without one.
func idFromContent(content string) string {
	u, err := url.Parse(content)
	if err != nil {
		return ""
	}
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	for i := len(seg) - 2; i >= 0; i-- {
		switch seg[i] {
		case "attachment", "attachments", "content":
			if _, err := strconv.ParseInt(seg[i+1], 10, 64); err == nil {
				return seg[i+1]
			}
		}
	}
	return ""
}

func (a attachmentJSON) attachment(issueID string) switchyard.Attachment {
	return switchyard.Attachment{ID: string(a.ID), IssueID: issueID, Filename: a.Filename, MimeType: a.MimeType,
		Size: a.Size, Created: a.Created.T(), ContentURL: a.Content}
}

func (c *Client) adfOptions(atts []attachmentJSON) markdown.ADFOptions {
	return markdown.ADFOptions{
		ResolveMention: c.displayName,
		AttachmentName: func(id string) string {
			for _, a := range atts {
				if string(a.ID) == id {
					return a.Filename
				}
			}
			return ""
		},
	}
}

// comment converts one comment; bodies become Markdown.
func (c *Client) comment(cj commentJSON, issueID string, opts markdown.ADFOptions) (switchyard.Comment, error) {
	c.remember(cj.Author)
	body, err := c.richText(cj.Body, cj.RenderedBody, opts)
	if err != nil {
		// The comment is still returned (without its body), so that the
		// caller can keep it and record the field.
		err = fmt.Errorf("comment %s body: %w", cj.ID, err)
	}
	v := cj.Visibility
	if v != nil && v.Type == "" {
		v = nil
	}
	if v != nil && v.Identifier == "" {
		// Data Center sends no identifier: groups are known by name there,
		// and a role's identifier is its name on Cloud too.
		cp := *v
		cp.Identifier = cp.Value
		v = &cp
	}
	return switchyard.Comment{ID: string(cj.ID), IssueID: issueID, Author: cj.Author.id(), Body: body,
		Created: cj.Created.T(), Updated: cj.Updated.T(), Visibility: v,
		Internal: cj.JSDPublic != nil && !*cj.JSDPublic, Files: mediaFiles(cj.Body)}, err
}

// unreadableLevel is the security level of an issue whose security field
// could not be read: it names no level, so no member matches and nobody sees
// the issue (fail closed) until Jira sends a readable value.
const unreadableLevel = "unreadable"

// issue converts a v2/v3 issue bean to the domain issue. Each field is
// decoded on its own: a field of an unexpected shape is left out and
// recorded in Issue.FieldErrors, and the rest of the issue is kept. Only an
// issue without an id or key fails.
func (c *Client) issue(ij issueJSON) (switchyard.Issue, error) {
	if ij.ID == "" || ij.Key == "" {
		return switchyard.Issue{}, fmt.Errorf("issue %q (id %q): no id or key (%v)", ij.Key, ij.ID, ij.bad)
	}
	is := switchyard.Issue{ID: string(ij.ID), Key: ij.Key, URL: c.siteURL + "/browse/" + ij.Key, FieldErrors: ij.bad}
	var fm map[string]json.RawMessage
	if !isNull(ij.Fields) {
		if err := json.Unmarshal(ij.Fields, &fm); err != nil {
			is.FieldErrors = append(is.FieldErrors, fieldError("fields", ij.Fields, err))
		}
	}
	// dec decodes one field into v; absent and null leave v as it is.
	dec := func(name string, v any) bool {
		r, ok := fm[name]
		if !ok || isNull(r) {
			return false
		}
		if err := json.Unmarshal(r, v); err != nil {
			is.FieldErrors = append(is.FieldErrors, fieldError(name, r, err))
			return false
		}
		return true
	}
	dec("summary", &is.Summary)
	dec("labels", &is.Labels)
	var reporter, assignee *userRef
	if dec("reporter", &reporter) {
		is.Reporter = reporter.id()
		c.remember(reporter)
	}
	if dec("assignee", &assignee) {
		is.Assignee = assignee.id()
		c.remember(assignee)
	}
	var created, updated jtime
	if dec("created", &created) {
		is.Created = created.T()
	}
	if dec("updated", &updated) {
		is.Updated = updated.T()
	}
	var it, pr namedJSON
	if dec("issuetype", &it) {
		is.IssueType = it.Name
	}
	if dec("priority", &pr) {
		is.Priority = pr.Name
	}
	var st statusJSON
	if dec("status", &st) {
		is.Status = st.Name
		if st.StatusCategory != nil {
			is.StatusCategory = st.StatusCategory.Key
		}
	}
	if r, ok := fm["security"]; ok && !isNull(r) {
		var sec idJSON
		err := json.Unmarshal(r, &sec)
		if err == nil && sec.ID == "" {
			err = errors.New("no level id")
		}
		if err != nil {
			is.SecurityLevelID = unreadableLevel
			is.FieldErrors = append(is.FieldErrors, fieldError("security", r, err))
		} else {
			is.SecurityLevelID = string(sec.ID)
		}
	}
	var pj idJSON
	if dec("project", &pj) {
		is.ProjectID, is.ProjectKey = string(pj.ID), pj.Key
	}
	var atts []attachmentJSON
	var rawAtts []json.RawMessage
	dec("attachment", &rawAtts)
	for i, r := range rawAtts {
		var a attachmentJSON
		err := json.Unmarshal(r, &a)
		if err == nil && a.ID == "" {
			a.ID = json64(idFromContent(a.Content))
		}
		if err != nil || a.ID == "" {
			if err == nil {
				err = errors.New("no attachment id")
			}
			is.FieldErrors = append(is.FieldErrors, fieldError(fmt.Sprintf("attachment[%d]", i), r, err))
			continue
		}
		atts = append(atts, a)
		is.Attachments = append(is.Attachments, a.attachment(is.ID))
	}
	opts := c.adfOptions(atts)
	var rendered string
	if r, ok := ij.RenderedFields["description"]; ok && isJSONString(r) {
		json.Unmarshal(r, &rendered)
	}
	if r, ok := fm["description"]; ok {
		d, err := c.richText(r, rendered, opts)
		if err != nil {
			is.FieldErrors = append(is.FieldErrors, fieldError("description", r, err))
		}
		is.Description = d
	}
	var cm commentsJSON
	if dec("comment", &cm) {
		is.CommentTotal = cm.Total
		html := renderedComments(ij.RenderedFields["comment"])
		for i, r := range cm.Comments {
			var cj commentJSON
			if err := json.Unmarshal(r, &cj); err != nil || cj.ID == "" {
				// Dropped, not kept without its visibility: a comment
				// whose restriction cannot be read is not shown to anyone.
				if err == nil {
					err = errors.New("no comment id")
				}
				is.FieldErrors = append(is.FieldErrors, fieldError(fmt.Sprintf("comment.comments[%d]", i), r, err))
				continue
			}
			if cj.RenderedBody == "" {
				// Data Center: the embedded comment's body is wiki source;
				// its rendered HTML sits in renderedFields. Converting that
				// gives the same text Comments produces from renderedBody.
				cj.RenderedBody = html[string(cj.ID)]
			}
			cmt, err := c.comment(cj, is.ID, opts)
			if err != nil {
				is.FieldErrors = append(is.FieldErrors, fieldError(fmt.Sprintf("comment.comments[%d].body", i), cj.Body, err))
			}
			is.Comments = append(is.Comments, cmt)
		}
		if is.CommentTotal < len(cm.Comments) {
			is.CommentTotal = len(cm.Comments)
		}
	}
	for _, cf := range c.customFields() {
		if ids := pickerIDs(fm[cf]); len(ids) > 0 {
			if is.CustomFields == nil {
				is.CustomFields = map[string][]string{}
			}
			is.CustomFields[cf] = ids
		}
	}
	if err := c.jsmIssue(ij.Fields, &is); err != nil {
		return switchyard.Issue{}, err
	}
	return is, nil
}

// renderedComments maps comment id to rendered HTML body, read from
// renderedFields.comment (Data Center, expand=renderedFields); a shape it
// does not know gives none.
func renderedComments(raw json.RawMessage) map[string]string {
	if isNull(raw) {
		return nil
	}
	var rc struct {
		Comments []struct {
			ID   json64          `json:"id"`
			Body json.RawMessage `json:"body"`
		} `json:"comments"`
	}
	if json.Unmarshal(raw, &rc) != nil {
		return nil
	}
	out := make(map[string]string, len(rc.Comments))
	for _, c := range rc.Comments {
		var s string
		if isJSONString(c.Body) && json.Unmarshal(c.Body, &s) == nil && s != "" {
			out[string(c.ID)] = s
		}
	}
	return out
}

// pickerIDs reads a user or group picker field (single or multi) as account
// ids or group ids.
func pickerIDs(raw json.RawMessage) []string {
	if isNull(raw) {
		return nil
	}
	type ref struct {
		AccountID string `json:"accountId"`
		Key       string `json:"key"`
		GroupID   string `json:"groupId"`
		Name      string `json:"name"`
	}
	id := func(r ref) string {
		for _, s := range []string{r.AccountID, r.GroupID, r.Key, r.Name} {
			if s != "" {
				return s
			}
		}
		return ""
	}
	var many []ref
	if json.Unmarshal(raw, &many) == nil {
		var out []string
		for _, r := range many {
			if s := id(r); s != "" {
				out = append(out, s)
			}
		}
		return out
	}
	var one ref
	if json.Unmarshal(raw, &one) == nil {
		if s := id(one); s != "" {
			return []string{s}
		}
	}
	var s string
	if json.Unmarshal(raw, &s) == nil && s != "" {
		return []string{s}
	}
	return nil
}

// SearchIDs lists the ids of issues matching jql, one page at a time. Pass
// the returned next token to get the following page; "" means done. On Cloud
// it is POST search/jql asking only for ids (up to 5000 a page); on Data
// Center the token is the startAt offset of /rest/api/2/search.
func (c *Client) SearchIDs(ctx context.Context, jql, pageToken string, max int) (ids []string, next string, err error) {
	if strings.TrimSpace(jql) == "" {
		return nil, "", switchyard.FieldErrorf(switchyard.ErrInvalid, "jql", "is empty (Jira Cloud needs a bounded query)")
	}
	if max <= 0 || max > searchIDsPage {
		max = c.page(searchIDsPage)
	}
	if c.dc() {
		start := 0
		if pageToken != "" {
			if start, err = strconv.Atoi(pageToken); err != nil || start < 0 {
				return nil, "", switchyard.FieldErrorf(switchyard.ErrInvalid, "pageToken", "must be a startAt offset on Data Center, not %q", pageToken)
			}
		}
		var r dcSearchResult
		if err := c.dcSearch(ctx, jql, start, min(max, 1000), []string{"id"}, &r); err != nil {
			return nil, "", err
		}
		for _, is := range r.Issues {
			ids = append(ids, string(is.ID))
		}
		if len(r.Issues) > 0 && start+len(r.Issues) < r.Total {
			next = strconv.Itoa(start + len(r.Issues))
		}
		return ids, next, nil
	}
	body := map[string]any{"jql": jql, "fields": []string{"id"}, "maxResults": max}
	if pageToken != "" {
		body["nextPageToken"] = pageToken
	}
	var r struct {
		Issues []struct {
			ID json64 `json:"id"`
		} `json:"issues"`
		NextPageToken string `json:"nextPageToken"`
		IsLast        *bool  `json:"isLast"`
	}
	if err := c.do(ctx, call{endpoint: "POST /rest/api/3/search/jql", idempotent: true}, http.MethodPost, "/rest/api/3/search/jql", body, &r); err != nil {
		return nil, "", err
	}
	ids = make([]string, len(r.Issues))
	for i, is := range r.Issues {
		ids[i] = string(is.ID)
	}
	if r.IsLast != nil && *r.IsLast {
		return ids, "", nil
	}
	return ids, r.NextPageToken, nil
}

// ApproximateCount is Jira's estimate of how many issues match jql (for
// progress and ETA; not exact on Cloud).
func (c *Client) ApproximateCount(ctx context.Context, jql string) (int, error) {
	if c.dc() {
		var r dcSearchResult
		if err := c.dcSearch(ctx, jql, 0, 0, []string{"id"}, &r); err != nil {
			return 0, err
		}
		return r.Total, nil
	}
	var r struct {
		Count int `json:"count"`
	}
	err := c.do(ctx, call{endpoint: "POST /rest/api/3/search/approximate-count", idempotent: true}, http.MethodPost, "/rest/api/3/search/approximate-count", map[string]string{"jql": jql}, &r)
	return r.Count, err
}

// BulkFetch hydrates up to 100 issues by id or key. Issues that no longer
// exist or are not visible are simply absent from the result.
func (c *Client) BulkFetch(ctx context.Context, ids []string, opts ...FetchOption) ([]switchyard.Issue, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	if len(ids) > bulkFetchMax {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "ids", "at most %d per bulk fetch, got %d", bulkFetchMax, len(ids))
	}
	var beans []issueJSON
	if c.dc() {
		// Data Center has no bulkfetch; a search by id does the same job.
		for _, id := range ids {
			if _, err := strconv.ParseInt(id, 10, 64); err != nil {
				return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "ids", "Data Center bulk fetch takes numeric ids, not %q", id)
			}
		}
		var r dcSearchResult
		if err := c.dcSearch(ctx, "id in ("+strings.Join(ids, ",")+") ORDER BY id", 0, len(ids), c.fields(opts...), &r); err != nil {
			return nil, err
		}
		beans = r.Issues
	} else {
		body := map[string]any{"issueIdsOrKeys": ids, "fields": c.fields(opts...)}
		var r struct {
			Issues []issueJSON `json:"issues"`
		}
		if err := c.do(ctx, call{endpoint: "POST /rest/api/3/issue/bulkfetch", idempotent: true}, http.MethodPost, "/rest/api/3/issue/bulkfetch", body, &r); err != nil {
			return nil, err
		}
		beans = r.Issues
	}
	out := make([]switchyard.Issue, 0, len(beans))
	for _, b := range beans {
		is, err := c.issue(b)
		if err != nil {
			c.log.Warn("issue without id or key left out of the page", "err", err)
			continue
		}
		out = append(out, is)
	}
	return out, nil
}

type dcSearchResult struct {
	StartAt    int         `json:"startAt"`
	MaxResults int         `json:"maxResults"`
	Total      int         `json:"total"`
	Issues     []issueJSON `json:"issues"`
}

func (c *Client) dcSearch(ctx context.Context, jql string, startAt, max int, fields []string, r *dcSearchResult) error {
	body := map[string]any{"jql": jql, "startAt": startAt, "maxResults": max, "fields": fields}
	if len(fields) > 1 {
		body["expand"] = []string{"renderedFields"}
	}
	return c.do(ctx, call{endpoint: "POST " + c.v() + "/search", idempotent: true}, http.MethodPost, c.v()+"/search", body, r)
}

// Search is the classic offset search, /rest/api/2/search with startAt and
// total: the Data Center listing path (it fails past 10,000 results, so the
// caller pages by updated/id windows). Jira Cloud removed it: there it
// returns an error wrapping ErrGone.
func (c *Client) Search(ctx context.Context, jql string, startAt, max int, opts ...FetchOption) (issues []switchyard.Issue, total int, err error) {
	if startAt < 0 {
		return nil, 0, switchyard.FieldErrorf(switchyard.ErrInvalid, "startAt", "must not be negative, got %d", startAt)
	}
	if max <= 0 || max > dcSearchPage {
		max = c.page(dcSearchPage)
	}
	var r dcSearchResult
	if err := c.dcSearch(ctx, jql, startAt, max, c.fields(opts...), &r); err != nil {
		return nil, 0, err
	}
	for _, b := range r.Issues {
		is, err := c.issue(b)
		if err != nil {
			c.log.Warn("issue without id or key left out of the page", "err", err)
			continue
		}
		issues = append(issues, is)
	}
	return issues, r.Total, nil
}

// Issue fetches one issue (404 → ErrNotFound): the deletion check and the
// webhook refresh use it.
func (c *Client) Issue(ctx context.Context, idOrKey string) (switchyard.Issue, error) {
	if err := checkKey("issueIdOrKey", idOrKey); err != nil {
		return switchyard.Issue{}, err
	}
	q := url.Values{"fields": {strings.Join(c.fields(), ",")}}
	if c.dc() {
		q.Set("expand", "renderedFields")
	}
	var b issueJSON
	p := c.v() + "/issue/" + url.PathEscape(idOrKey) + "?" + q.Encode()
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/issue/{issueIdOrKey}"}, http.MethodGet, p, nil, &b); err != nil {
		return switchyard.Issue{}, err
	}
	return c.issue(b)
}

// Comments pages through an issue's comments in creation order; use it when
// Issue.CommentTotal is larger than the embedded page.
func (c *Client) Comments(ctx context.Context, issueKey string, fn func([]switchyard.Comment) error) error {
	if err := checkKey("issueKey", issueKey); err != nil {
		return err
	}
	for start := 0; ; {
		q := url.Values{"startAt": {strconv.Itoa(start)}, "maxResults": {strconv.Itoa(c.page(commentPage))}, "orderBy": {"created"}}
		if c.dc() {
			q.Set("expand", "renderedBody")
		}
		var p struct {
			StartAt  int               `json:"startAt"`
			Total    int               `json:"total"`
			Comments []json.RawMessage `json:"comments"`
		}
		path := c.v() + "/issue/" + url.PathEscape(issueKey) + "/comment?" + q.Encode()
		if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/issue/{issueIdOrKey}/comment"}, http.MethodGet, path, nil, &p); err != nil {
			return err
		}
		if len(p.Comments) == 0 {
			return nil
		}
		out := make([]switchyard.Comment, 0, len(p.Comments))
		opts := c.adfOptions(nil)
		for i, r := range p.Comments {
			var cj commentJSON
			if err := json.Unmarshal(r, &cj); err != nil || cj.ID == "" {
				// Left out (fail closed: its visibility is unknown); the
				// rest of the page is kept.
				fe := fieldError(fmt.Sprintf("comments[%d]", start+i), r, cmp.Or(err, errors.New("no comment id")))
				c.log.Warn("comment not decoded; left out", "issue", issueKey, "field", fe.Field, "error", fe.Error)
				continue
			}
			cm, err := c.comment(cj, "", opts)
			if err != nil {
				c.log.Warn("comment body not converted; kept without its body", "issue", issueKey, "comment", cm.ID, "err", err)
			}
			out = append(out, cm)
		}
		if err := fn(out); err != nil {
			return err
		}
		start += len(p.Comments)
		if start >= p.Total {
			return nil
		}
	}
}

// ErrTooLarge means content exceeded the configured cap.
var ErrTooLarge = errors.New("too large")

// AttachmentContent streams an attachment's bytes, refusing more than max
// (Options.MaxAttachmentBytes when max ≤ 0). The caller closes the reader; a
// read past the cap fails with an error wrapping ErrTooLarge that names it.
func (c *Client) AttachmentContent(ctx context.Context, id string, max int64) (io.ReadCloser, error) {
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "attachmentId", "must be numeric, not %q", id)
	}
	if max <= 0 {
		max = c.opts.MaxAttachmentBytes
	}
	jc, err := c.api(ctx)
	if err != nil {
		return nil, err
	}
	var req *http.Request
	if c.dc() {
		// Data Center serves bytes at the metadata's content URL
		// (/secure/attachment/{id}/{filename}), which Jira gives absolute and
		// with the context path already in it: request it as it is.
		var meta attachmentJSON
		if err := c.do(ctx, call{endpoint: "GET /rest/api/2/attachment/{id}"}, http.MethodGet, "/rest/api/2/attachment/"+id, nil, &meta); err != nil {
			return nil, err
		}
		if meta.Content == "" {
			return nil, fmt.Errorf("attachment %s: no content URL in its metadata", id)
		}
		u, err := c.contentURL(meta.Content)
		if err != nil {
			return nil, fmt.Errorf("attachment %s: content %w", id, err)
		}
		ctx := withCall(ctx, call{endpoint: "GET /secure/attachment/{id}/{filename}", stream: true})
		if req, err = http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil); err != nil {
			return nil, fmt.Errorf("GET %s: %w", redactURL(u), err)
		}
	} else {
		ctx := withCall(ctx, call{endpoint: "GET /rest/api/3/attachment/content/{id}", stream: true})
		if req, err = jc.NewRequestWithContext(ctx, http.MethodGet, "/rest/api/3/attachment/content/"+id, nil); err != nil {
			return nil, fmt.Errorf("GET attachment content %s: %w", id, err)
		}
	}
	target := redactURL(req.URL)
	req.Header.Del("Content-Type")
	req.Header.Set("Accept", "*/*")
	resp, err := c.http.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("GET %s: %w", target, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, statusError(http.MethodGet, target, resp)
	}
	if resp.ContentLength > max {
		resp.Body.Close()
		return nil, fmt.Errorf("attachment %s: %d bytes exceeds the %d-byte cap: %w", id, resp.ContentLength, max, ErrTooLarge)
	}
	return &cappedBody{rc: resp.Body, left: max, max: max, id: id}, nil
}

type cappedBody struct {
	rc   io.ReadCloser
	left int64
	max  int64
	id   string
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fmt.Errorf("attachment %s exceeds the %d-byte cap: %w", b.id, b.max, ErrTooLarge)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n + int(b.left), fmt.Errorf("attachment %s exceeds the %d-byte cap: %w", b.id, b.max, ErrTooLarge)
	}
	return n, err
}

func (b *cappedBody) Close() error { return b.rc.Close() }
