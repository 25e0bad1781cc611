package index

import (
	"strings"
	"time"

	"switchyard"
)

// document is one bleve document: field name → value (string, []string or time.Time).
type document map[string]any

func docID(conn, typ string, parts ...string) string {
	return conn + "/" + typ + "/" + strings.Join(parts, "/")
}

func scopeOf(conn, issueID string) string { return conn + "/" + issueID }

// issueDocs turns an issue with its comments and attachments into documents, keyed by id.
func issueDocs(conn string, is *switchyard.Issue) map[string]document {
	docs := make(map[string]document, 1+len(is.Comments)+len(is.Attachments))

	// common holds what every document of the issue carries: scope, search
	// keywords and the permission fields (from the issue itself only).
	common := func(typ string) document {
		d := document{
			fConn:         conn,
			fScope:        scopeOf(conn, is.ID),
			fFacetType:    typ,
			fKey:          is.Key,
			fPermProject:  is.ProjectID,
			fPermLevel:    levelTerm(is.ProjectID, is.SecurityLevelID),
			fFacetProject: projectKey(is),
		}
		setStr(d, fStatus, is.Status)
		setStr(d, fFacetStatus, is.Status)
		setStr(d, fIType, is.IssueType)
		setStr(d, fFacetIType, is.IssueType)
		setStr(d, fPriority, is.Priority)
		if len(is.Labels) > 0 {
			d[fLabels] = is.Labels
		}
		setStr(d, fPermReporter, is.Reporter)
		setStr(d, fPermAssignee, is.Assignee)
		setStr(d, fFacetRequestType, is.RequestType)
		if len(is.Participants) > 0 {
			d[fPermPart] = is.Participants
		}
		if len(is.Organizations) > 0 {
			d[fPermOrg] = is.Organizations
		}
		if cf := customFieldTerms(is.CustomFields); len(cf) > 0 {
			d[fPermCF] = cf
		}
		d[fPermVis] = visNone
		return d
	}

	d := common(TypeIssue)
	setStr(d, fSummary, is.Summary)
	// The summary counts twice in the text (BM25F with summary weight 2):
	// a word of the summary outranks the same word in the description.
	setText(d, is.Description, is.Summary, is.Summary, is.Description)
	if is.Summary != "" {
		d[fPairs] = strings.Join(nonEmpty(is.Summary, is.Description), "\n")
	}
	setStr(d, fURL, is.URL)
	if !is.Created.IsZero() {
		d[fCreatedDay] = dayTerm(is.Created)
	}
	setTime(d, is.Updated)
	docs[docID(conn, TypeIssue, is.ID)] = d

	for i := range is.Comments {
		c := &is.Comments[i]
		d := common(TypeComment)
		setText(d, c.Body, c.Body)
		setTime(d, firstTime(c.Updated, c.Created))
		d[fPermVis] = visibilityTerm(is.ProjectID, c.Visibility)
		if c.Internal {
			d[fPermVis] = internalTerm(d[fPermVis].(string))
		}
		docs[docID(conn, TypeComment, is.ID, c.ID)] = d
	}
	agentOnly := agentOnlyFiles(is)
	for i := range is.Attachments {
		a := &is.Attachments[i]
		d := common(TypeAttachment)
		setStr(d, fFilename, a.Filename)
		setText(d, a.Text, a.Filename, a.Text)
		setTime(d, a.Created)
		if agentOnly[a.Filename] {
			d[fPermVis] = internalTerm(visNone)
		}
		docs[docID(conn, TypeAttachment, is.ID, a.ID)] = d
	}
	return docs
}

func projectKey(is *switchyard.Issue) string {
	if is.ProjectKey != "" {
		return is.ProjectKey
	}
	// Derive it from the issue key (PROJ-123) when the caller did not set it.
	if i := strings.LastIndexByte(is.Key, '-'); i > 0 {
		return is.Key[:i]
	}
	return ""
}

// levelTerm scopes a security level id by its project: the same level can be
// shared by projects through one scheme, while its projectRole members resolve
// per project.
func levelTerm(projectID, levelID string) string {
	if levelID == "" {
		return levelNone
	}
	return projectID + "/" + levelID
}

// visibilityTerm encodes a comment restriction. Unknown restriction types get a
// term no viewer is ever given, so they fail closed.
func visibilityTerm(projectID string, v *switchyard.Visibility) string {
	if v == nil || (v.Type == "" && v.Identifier == "" && v.Value == "") {
		return visNone
	}
	switch v.Type {
	case "group":
		if v.Identifier != "" {
			return "g:" + v.Identifier
		}
		return "gn:" + v.Value
	case "role":
		name := v.Identifier
		if name == "" {
			name = v.Value
		}
		return roleVisTerm(projectID, name)
	}
	return "unknown:" + v.Type
}

func roleVisTerm(projectID, roleName string) string { return "r:" + projectID + ":" + roleName }

func customFieldTerms(cf map[string][]string) []string {
	var out []string
	for field, vals := range cf {
		for _, v := range vals {
			if v != "" {
				out = append(out, cfTerm(field, v))
			}
		}
	}
	return out
}

func cfTerm(field, value string) string { return field + "=" + value }

func setStr(d document, field, v string) {
	if v != "" {
		d[field] = v
	}
}

// setText indexes the parts as the document's text and stores the head of
// its body: snippets come from the head, the full text stays in Jira (index
// size).
func setText(d document, body string, parts ...string) {
	if parts := nonEmpty(parts...); len(parts) > 0 {
		text := strings.Join(parts, "\n")
		d[fText] = text
		d[fPairs] = text
	}
	if body != "" {
		d[fHead] = truncate(body, snippetLen)
	}
}

func nonEmpty(parts ...string) []string {
	var out []string
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// setTime sets the updated day (indexed) and time (stored).
func setTime(d document, t time.Time) {
	if !t.IsZero() {
		d[fUpdatedDay] = dayTerm(t)
		d[fUpdated] = t.UTC().Format(time.RFC3339Nano)
	}
}

func dayTerm(t time.Time) string { return t.UTC().Format(time.DateOnly) }

func firstTime(ts ...time.Time) time.Time {
	for _, t := range ts {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

// internalTerm marks a visibility term as an internal note's: agents (every
// viewer but portal customers) are given the marked form of each term they
// hold, customers never.
func internalTerm(vis string) string { return "i:" + vis }

// agentOnlyFiles are the file names shown by an internal or restricted
// comment: customers see the attachments of the issue and of public comments
// only. A name shown by such a comment hides every attachment of that name
// (fail closed).
func agentOnlyFiles(is *switchyard.Issue) map[string]bool {
	var out map[string]bool
	for i := range is.Comments {
		c := &is.Comments[i]
		if !c.Internal && c.Visibility == nil {
			continue
		}
		for _, f := range c.Files {
			if out == nil {
				out = map[string]bool{}
			}
			out[f] = true
		}
	}
	return out
}
