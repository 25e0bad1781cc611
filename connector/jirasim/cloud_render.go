package jirasim

import (
	"encoding/json"
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// Rendering of Jira entities as JSON, shared by the Cloud (v3) and Data Center
// (v2) routes. Everything here runs under the world's read lock.

// jiraTimeLayout is how Jira writes timestamps ("2024-01-02T10:20:30.123+0000").
const jiraTimeLayout = "2006-01-02T15:04:05.000-0700"

func jiraTime(t time.Time) string { return t.UTC().Format(jiraTimeLayout) }

// view is what a handler renders with: the world, the caller, the base URL, the
// API version and flavour.
type view struct {
	s    *Server
	w    *World
	c    caller
	base string
	dc   bool // Data Center: v2 paths, names/keys for users and groups, wiki text bodies

	users map[string]json.RawMessage // encoded users, reused across one response
}

func (s *Server) view(r *http.Request) *view {
	return &view{s: s, w: s.world, c: callerFrom(r.Context()), base: s.base(r), dc: s.world.Mode == switchyard.ModeDataCenter}
}

func (v *view) api() string {
	if v.dc {
		return v.base + "/rest/api/2"
	}
	return v.base + "/rest/api/3"
}

func avatarURLs(base, id string) map[string]string {
	u := base + "/secure/useravatar?ownerId=" + url.QueryEscape(id)
	return map[string]string{"48x48": u, "24x24": u + "&size=small", "16x16": u + "&size=xsmall", "32x32": u + "&size=medium"}
}

// avatarPNG is a 1×1 transparent PNG served for every avatar URL.
var avatarPNG = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")

func (s *Server) avatar(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Type", "image/png")
	rw.Header().Set("Content-Length", strconv.Itoa(len(avatarPNG)))
	_, _ = rw.Write(avatarPNG)
}

// user renders a user in the User / UserDetails shape; nil when unknown.
// Hidden emails are omitted, as Jira Cloud omits them.
func (v *view) user(accountID string) map[string]any {
	if accountID == "" {
		return nil
	}
	u := v.w.UserByID(accountID)
	if u == nil {
		return nil
	}
	m := map[string]any{
		"displayName": u.DisplayName,
		"active":      u.Active,
		"avatarUrls":  avatarURLs(v.base, u.AccountID),
		"timeZone":    userTZ(u),
	}
	if v.dc {
		// Data Center users have a username (name, renamable) and a user key
		// (stable); they differ for users created since Jira 8 (JIRAUSER…)
		// and for renamed ones. The world's account id is the key.
		name := dcUsername(u)
		m["self"] = v.api() + "/user?username=" + url.QueryEscape(name)
		m["name"] = name
		m["key"] = u.AccountID
		email := u.Email
		if email == "" {
			email = u.HiddenEmail
		}
		if email != "" {
			m["emailAddress"] = email
		}
		return m
	}
	m["self"] = v.api() + "/user?accountId=" + u.AccountID
	m["accountId"] = u.AccountID
	m["accountType"] = u.AccountType
	if u.Email != "" {
		m["emailAddress"] = u.Email
	}
	return m
}

func userTZ(u *SimUser) string {
	if u.TimeZone == "" {
		return "UTC"
	}
	return u.TimeZone
}

// userRef is a user encoded once per response (issues repeat the same people
// many times); nil when unknown. Encoding maps dominated bulkfetch time.
func (v *view) userRef(accountID string) json.RawMessage {
	if accountID == "" {
		return nil
	}
	if raw, ok := v.users[accountID]; ok {
		return raw
	}
	var raw json.RawMessage
	if m := v.user(accountID); m != nil {
		raw, _ = json.Marshal(m)
	}
	if v.users == nil {
		v.users = map[string]json.RawMessage{}
	}
	v.users[accountID] = raw
	return raw
}

// userOrNull is userRef as a field value: JSON null when unknown.
func (v *view) userOrNull(accountID string) any {
	if raw := v.userRef(accountID); raw != nil {
		return raw
	}
	return nil
}

// groupName renders the GroupName shape.
func (v *view) groupName(g *SimGroup) map[string]any {
	m := map[string]any{"name": g.Name, "self": v.api() + "/group?groupId=" + g.ID}
	if v.dc {
		m["self"] = v.api() + "/group?groupname=" + g.Name
		return m
	}
	m["groupId"] = g.ID
	return m
}

// apiStableID turns a name into a stable numeric id for things the world names
// but does not number (statuses, issue types, grants).
func apiStableID(prefix, name string) string {
	h := fnv.New32a()
	h.Write([]byte(prefix + ":" + name))
	return strconv.Itoa(10000 + int(h.Sum32()%80000))
}

var statusIDs = map[string]string{"To Do": "10000", "Open": "1", "In Progress": "3", "Waiting for support": "10002", "Waiting for customer": "10003", "Pending": "10004", "Resolved": "5", "Closed": "6", "Done": "10001", "Canceled": "10005", "Cancelled": "10005", "Backlog": "10006", "Escalated": "10007"}

var statusCategories = map[string]map[string]any{
	"new":           {"id": 2, "key": "new", "name": "To Do", "colorName": "blue-gray"},
	"indeterminate": {"id": 4, "key": "indeterminate", "name": "In Progress", "colorName": "yellow"},
	"done":          {"id": 3, "key": "done", "name": "Done", "colorName": "green"},
}

func statusID(name string) string {
	if id, ok := statusIDs[name]; ok {
		return id
	}
	return apiStableID("status", name)
}

func (v *view) status(name, category string) map[string]any {
	cat, ok := statusCategories[category]
	if !ok {
		cat = statusCategories["new"]
	}
	sc := map[string]any{"self": v.api() + "/statuscategory/" + strconv.Itoa(cat["id"].(int))}
	for k, x := range cat {
		sc[k] = x
	}
	id := statusID(name)
	return map[string]any{
		"self": v.api() + "/status/" + id, "id": id, "name": name, "description": "",
		"iconUrl": v.base + "/images/icons/statuses/generic.png", "statusCategory": sc,
	}
}

var priorityIDs = map[string]string{"Highest": "1", "High": "2", "Medium": "3", "Low": "4", "Lowest": "5"}

func (v *view) priority(name string) any {
	if name == "" {
		return nil
	}
	id, ok := priorityIDs[name]
	if !ok {
		id = apiStableID("priority", name)
	}
	return map[string]any{"self": v.api() + "/priority/" + id, "id": id, "name": name, "iconUrl": v.base + "/images/icons/priorities/" + strings.ToLower(name) + ".svg"}
}

func (v *view) issueType(name string) map[string]any {
	id := apiStableID("issuetype", name)
	return map[string]any{"self": v.api() + "/issuetype/" + id, "id": id, "name": name, "subtask": false, "description": "", "iconUrl": v.base + "/images/icons/issuetypes/" + strings.ToLower(strings.ReplaceAll(name, " ", "")) + ".svg", "hierarchyLevel": 0}
}

func (v *view) projectRef(p *SimProject) map[string]any {
	if p == nil {
		return nil
	}
	return map[string]any{
		"self": v.api() + "/project/" + p.ID, "id": p.ID, "key": p.Key, "name": p.Name,
		"projectTypeKey": p.ProjectTypeKey, "simplified": false, "avatarUrls": avatarURLs(v.base, "project-"+p.ID),
	}
}

func (v *view) securityLevel(p *SimProject, id string) any {
	if id == "" || p == nil {
		return nil
	}
	for _, l := range p.SecurityLevels {
		if l.ID == id {
			return map[string]any{"self": v.api() + "/securitylevel/" + l.ID, "id": l.ID, "name": l.Name, "description": l.Name + " issues"}
		}
	}
	return nil
}

// fieldSet is a parsed `fields` parameter: names, *all, *navigable, -exclusions.
type fieldSet struct {
	all     bool
	include map[string]bool
	exclude map[string]bool
}

// parseFields reads fields=a,b or repeated fields params; def applies when none.
func parseFields(list []string, def string) fieldSet {
	fs := fieldSet{include: map[string]bool{}, exclude: map[string]bool{}}
	var names []string
	for _, l := range list {
		for _, n := range strings.Split(l, ",") {
			if n = strings.TrimSpace(n); n != "" {
				names = append(names, n)
			}
		}
	}
	if len(names) == 0 {
		names = []string{def}
	}
	for _, n := range names {
		switch {
		case n == "*all" || n == "*navigable":
			fs.all = true
		case strings.HasPrefix(n, "-"):
			fs.exclude[n[1:]] = true
		default:
			fs.include[n] = true
		}
	}
	return fs
}

func (fs fieldSet) want(name string) bool {
	if fs.exclude[name] {
		return false
	}
	return fs.all || fs.include[name]
}

// onlyIDs reports whether the field list asks for nothing but ids/keys, the
// case where Cloud search pages hold up to 5000 issues.
func (fs fieldSet) onlyIDs() bool {
	if fs.all {
		return false
	}
	for n := range fs.include {
		if n != "id" && n != "key" {
			return false
		}
	}
	return true
}

// expandSet is a parsed expand parameter.
type expandSet map[string]bool

func parseExpand(list ...string) expandSet {
	e := expandSet{}
	for _, l := range list {
		for _, n := range strings.Split(l, ",") {
			if n = strings.TrimSpace(n); n != "" {
				e[n] = true
			}
		}
	}
	return e
}

// embeddedComments is how many comments an issue response embeds (Jira caps at 20).
const embeddedComments = 20

// issue renders an issue with the requested fields. Comments the caller may
// not see are left out, and the totals count only visible ones.
func (v *view) issue(is *SimIssue, fs fieldSet, ex expandSet, props []string) map[string]any {
	out := map[string]any{
		"id":     is.ID,
		"key":    is.Key,
		"self":   v.api() + "/issue/" + is.ID,
		"expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
	}
	p := v.w.ProjectByID(is.ProjectID)
	f := map[string]any{}
	set := func(name string, val func() any) {
		if fs.want(name) {
			f[name] = val()
		}
	}
	set("summary", func() any { return is.Summary })
	set("description", func() any { return v.body(is.Description) })
	set("issuetype", func() any { return v.issueType(is.IssueType) })
	set("status", func() any { return v.status(is.Status, is.StatusCategory) })
	set("priority", func() any { return v.priority(is.Priority) })
	set("labels", func() any {
		if is.Labels == nil {
			return []string{}
		}
		return is.Labels
	})
	set("reporter", func() any { return v.userOrNull(is.Reporter) })
	set("creator", func() any { return v.userOrNull(is.Reporter) })
	set("assignee", func() any { return v.userOrNull(is.Assignee) })
	set("created", func() any { return jiraTime(is.Created) })
	set("updated", func() any { return jiraTime(is.Updated) })
	set("project", func() any { return v.projectRef(p) })
	set("security", func() any { return v.securityLevel(p, is.SecurityLevelID) })
	set("attachment", func() any {
		atts := []any{}
		for _, a := range is.Attachments {
			atts = append(atts, v.attachment(a, false))
		}
		return atts
	})
	if fs.want("comment") {
		visible := v.visibleComments(is)
		page := visible
		if len(page) > embeddedComments {
			page = page[:embeddedComments]
		}
		cs := []any{}
		for _, c := range page {
			cs = append(cs, v.comment(is, c, ex["renderedBody"]))
		}
		f["comment"] = map[string]any{
			"comments":   cs,
			"self":       v.api() + "/issue/" + is.ID + "/comment",
			"maxResults": embeddedComments,
			"total":      len(visible),
			"startAt":    0,
		}
	}
	v.jsmFields(is, p, fs, f)
	for id, vals := range is.CustomFields {
		if fs.want(id) {
			f[id] = v.customField(p, id, vals)
		}
	}
	out["fields"] = f
	if ex["renderedFields"] {
		rf := map[string]any{}
		if fs.want("description") {
			rf["description"] = adfToHTML(is.Description)
		}
		if fs.want("comment") {
			visible := v.visibleComments(is)
			if len(visible) > embeddedComments {
				visible = visible[:embeddedComments]
			}
			cs := []any{}
			for _, c := range visible {
				cm := v.comment(is, c, false)
				cm["body"] = adfToHTML(c.Body)
				cs = append(cs, cm)
			}
			rf["comment"] = map[string]any{"comments": cs, "maxResults": embeddedComments, "total": len(v.visibleComments(is)), "startAt": 0}
		}
		if fs.want("created") {
			rf["created"] = is.Created.UTC().Format("02/Jan/06 3:04 PM")
		}
		if fs.want("updated") {
			rf["updated"] = is.Updated.UTC().Format("02/Jan/06 3:04 PM")
		}
		out["renderedFields"] = rf
	}
	if len(props) > 0 {
		pm := map[string]any{}
		for _, k := range props {
			for _, kk := range strings.Split(k, ",") {
				if val, ok := is.Properties[kk]; ok {
					pm[kk] = val
				}
			}
		}
		out["properties"] = pm
	}
	return out
}

// body renders an ADF body: ADF on Cloud, wiki markup text on Data Center.
func (v *view) body(adf json.RawMessage) any {
	if len(adf) == 0 {
		return nil
	}
	if v.dc {
		return adfToWiki(adf)
	}
	return adf
}

// customField renders user-picker values as users and group-picker values as
// groups; anything else as plain strings.
func (v *view) customField(p *SimProject, id string, vals []string) any {
	isGroup := p != nil && id == p.CustomFieldGroupPick
	isUser := p != nil && id == p.CustomFieldUserPick
	if !isGroup && !isUser && len(vals) > 0 {
		isUser = v.w.UserByID(vals[0]) != nil
		isGroup = !isUser && v.w.GroupByID(vals[0]) != nil
	}
	out := []any{}
	for _, x := range vals {
		switch {
		case isUser:
			if u := v.userRef(x); u != nil {
				out = append(out, u)
			}
		case isGroup:
			if g := v.w.GroupByID(x); g != nil {
				out = append(out, v.groupName(g))
			}
		default:
			out = append(out, x)
		}
	}
	return out
}

// visibleComments are the issue's comments the caller may see, oldest first.
func (v *view) visibleComments(is *SimIssue) []*SimComment {
	out := make([]*SimComment, 0, len(is.Comments))
	for _, c := range is.Comments {
		if v.s.canSee(v.c, is, c) {
			out = append(out, c)
		}
	}
	return out
}

func (v *view) comment(is *SimIssue, c *SimComment, rendered bool) map[string]any {
	m := map[string]any{
		"self":    v.api() + "/issue/" + is.ID + "/comment/" + c.ID,
		"id":      c.ID,
		"body":    v.body(c.Body),
		"created": jiraTime(c.Created),
		"updated": jiraTime(c.Updated),
	}
	if a := v.userRef(c.Author); a != nil {
		m["author"] = a
		m["updateAuthor"] = a
	}
	if !v.dc {
		m["jsdPublic"] = !c.Internal()
	}
	if c.Visibility != nil {
		vis := map[string]any{"type": c.Visibility.Type, "value": c.Visibility.Value}
		if !v.dc {
			vis["identifier"] = c.Visibility.Identifier
		}
		m["visibility"] = vis
	}
	if rendered {
		m["renderedBody"] = adfToHTML(c.Body)
	}
	return m
}

// attachment renders AttachmentMetadata (numeric id when standalone, string id
// when embedded in an issue, as Jira does).
func (v *view) attachment(a *SimAttachment, standalone bool) map[string]any {
	var id any = a.ID
	if standalone {
		id = apiIDNum(a.ID)
	}
	content := v.api() + "/attachment/content/" + a.ID
	if v.dc {
		content = v.base + "/secure/attachment/" + a.ID + "/" + a.Filename
	}
	m := map[string]any{
		"self":     v.api() + "/attachment/" + a.ID,
		"id":       id,
		"filename": a.Filename,
		"created":  jiraTime(a.Created),
		"size":     int64(len(a.Content)),
		"mimeType": a.MimeType,
		"content":  content,
	}
	if u := v.userRef(a.Author); u != nil {
		m["author"] = u
	}
	return m
}
