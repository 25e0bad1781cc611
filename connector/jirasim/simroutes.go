package jirasim

// The /_sim/ routes: the world as JSON, the visibility oracle, and a mutation
// API for tests and outside checks. They need no authentication. Bodies are
// JSON, decoded strictly (unknown fields are a 400 naming the field); errors
// are {"error": "...", "field": "..."} with 400 (bad input), 404 (unknown
// issue, comment, project, role, level, group, user, webhook) or 409 (conflict).
// Every mutation accepts ?actor=ACCOUNT_ID (default: the admin); that account is
// the webhook's "user".
//
//	GET    /_sim/state                                   whole world (sim-state.md shape)
//	GET    /_sim/can-see?account=ID&issue=KEY[&comment=ID]  {"visible": bool}
//	POST   /_sim/issues                                  IssueCreate → 201 issue
//	PATCH  /_sim/issues/{key}                            IssueUpdate → 200 issue
//	DELETE /_sim/issues/{key}                            204 (audit ISSUE_DELETE, key in deleted)
//	POST   /_sim/issues/{key}/comments                   {"body": text | "bodyAdf": ADF, "visibility"?} → 201 comment
//	PATCH  /_sim/issues/{key}/comments/{id}              same body; visibility replaced (absent = public) → 200
//	DELETE /_sim/issues/{key}/comments/{id}              204
//	POST   /_sim/issues/{key}/attachments                {"filename", "mimeType"?, "text" | "contentBase64"} → 201
//	POST   /_sim/issues/{key}/move                       {"projectKey"} → 200 issue (old key still resolves)
//	POST   /_sim/groups/{id}/members                     {"accountId"} → 204  (group id or name)
//	DELETE /_sim/groups/{id}/members[?accountId=ID]      {"accountId"} or the query → 204
//	PUT    /_sim/projects/{key}/browse                   [holder, …] → 204
//	PUT    /_sim/projects/{key}/roles/{id}               {"users": [...], "groups": [...]} → 204
//	PUT    /_sim/projects/{key}/security-levels/{id}/members  [holder, …] → 204
//	POST   /_sim/users                                   UserCreate → 201 user
//	PATCH  /_sim/users/{id}                              {"active": bool} → 204
//	POST   /_sim/webhooks                                {"url", "secret"?, "events", "jqlFilter"?} → 201 {"id": n}
//	GET    /_sim/webhooks                                registered webhooks (secrets omitted)
//	DELETE /_sim/webhooks/{id}                           204
//	POST   /_sim/webhooks/flush                          waits (≤10 s) until queued deliveries are sent → 204

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

const simMaxBody = 16 << 20 // room for a base64 10 MiB attachment

// ServeSim serves every route under /_sim/ (see the list above).
func (w *World) ServeSim(rw http.ResponseWriter, r *http.Request) {
	w.simMuxOnce.Do(w.buildSimMux)
	w.simMux.ServeHTTP(rw, r)
}

func (w *World) buildSimMux() {
	m := http.NewServeMux()
	m.HandleFunc("GET /_sim/state", w.simState)
	m.HandleFunc("GET /_sim/can-see", w.simCanSee)
	m.HandleFunc("POST /_sim/issues", w.simCreateIssue)
	m.HandleFunc("PATCH /_sim/issues/{key}", w.simUpdateIssue)
	m.HandleFunc("DELETE /_sim/issues/{key}", w.simDeleteIssue)
	m.HandleFunc("POST /_sim/issues/{key}/comments", w.simAddComment)
	m.HandleFunc("PATCH /_sim/issues/{key}/comments/{id}", w.simUpdateComment)
	m.HandleFunc("DELETE /_sim/issues/{key}/comments/{id}", w.simDeleteComment)
	m.HandleFunc("POST /_sim/issues/{key}/attachments", w.simAddAttachment)
	m.HandleFunc("POST /_sim/issues/{key}/move", w.simMoveIssue)
	m.HandleFunc("POST /_sim/groups/{id}/members", w.simAddMember)
	m.HandleFunc("DELETE /_sim/groups/{id}/members", w.simRemoveMember)
	m.HandleFunc("PUT /_sim/projects/{key}/browse", w.simSetBrowse)
	m.HandleFunc("PUT /_sim/projects/{key}/roles/{id}", w.simSetRole)
	m.HandleFunc("PUT /_sim/projects/{key}/security-levels/{id}/members", w.simSetLevel)
	m.HandleFunc("POST /_sim/users", w.simCreateUser)
	m.HandleFunc("PATCH /_sim/users/{id}", w.simUpdateUser)
	m.HandleFunc("POST /_sim/webhooks", w.simRegisterWebhook)
	m.HandleFunc("GET /_sim/webhooks", w.simListWebhooks)
	m.HandleFunc("DELETE /_sim/webhooks/{id}", w.simDeleteWebhook)
	m.HandleFunc("POST /_sim/webhooks/flush", w.simFlush)
	w.jsmSimRoutes(m)
	m.HandleFunc("/_sim/", func(rw http.ResponseWriter, r *http.Request) {
		simError(rw, http.StatusNotFound, "", fmt.Sprintf("no simulator route %s %s", r.Method, r.URL.Path))
	})
	w.simMux = m
}

func simJSON(rw http.ResponseWriter, status int, v any) {
	rw.Header().Set("Content-Type", "application/json")
	rw.WriteHeader(status)
	_ = json.NewEncoder(rw).Encode(v)
}

func simError(rw http.ResponseWriter, status int, field, msg string) {
	body := map[string]string{"error": msg}
	if field != "" {
		body["field"] = field
	}
	simJSON(rw, status, body)
}

// simFail maps a mutation error to its status: the one place for /_sim/.
func simFail(rw http.ResponseWriter, err error) {
	var e *switchyard.Error
	field := ""
	if errors.As(err, &e) {
		field = e.Field
	}
	switch {
	case errors.Is(err, switchyard.ErrNotFound):
		simError(rw, http.StatusNotFound, field, err.Error())
	case errors.Is(err, switchyard.ErrInvalid):
		simError(rw, http.StatusBadRequest, field, err.Error())
	case errors.Is(err, switchyard.ErrConflict):
		simError(rw, http.StatusConflict, field, err.Error())
	default:
		simError(rw, http.StatusInternalServerError, field, err.Error())
	}
}

// decodeStrict reads one JSON value into v, rejecting unknown fields, wrong
// types and trailing data with an error that names the problem.
func decodeStrict(rw http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(rw, r.Body, simMaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		var mbe *http.MaxBytesError
		switch {
		case errors.Is(err, io.EOF):
			return invalid("body", "a JSON body is required")
		case errors.As(err, &te):
			return invalid(te.Field, "must be %s, not JSON %s", te.Type, te.Value)
		case errors.As(err, &se):
			return invalid("body", "malformed JSON at byte %d: %v", se.Offset, err)
		case errors.As(err, &mbe):
			return invalid("body", "larger than %d bytes", simMaxBody)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
			return invalid(name, "unknown field %q", name)
		}
		return invalid("body", "%v", err)
	}
	if dec.More() {
		return invalid("body", "trailing data after the JSON value")
	}
	return nil
}

func actorOf(r *http.Request) string { return r.URL.Query().Get("actor") }

func (w *World) simState(rw http.ResponseWriter, r *http.Request) {
	rw.Header().Set("Content-Type", "application/json")
	_, _ = rw.Write(w.StateJSON())
}

func (w *World) simCanSee(rw http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	for _, name := range sortedKeys(q) {
		if name != "account" && name != "issue" && name != "comment" && name != "attachment" {
			simError(rw, http.StatusBadRequest, name, fmt.Sprintf("unknown query parameter %q (want account, issue, comment, attachment)", name))
			return
		}
	}
	if !q.Has("account") {
		simError(rw, http.StatusBadRequest, "account", "missing query parameter account (an account id; empty means anonymous)")
		return
	}
	key := q.Get("issue")
	if key == "" {
		simError(rw, http.StatusBadRequest, "issue", "missing query parameter issue")
		return
	}
	account, commentID, attachmentID := q.Get("account"), q.Get("comment"), q.Get("attachment")
	if commentID != "" && attachmentID != "" {
		simError(rw, http.StatusBadRequest, "attachment", "ask about a comment or an attachment, not both")
		return
	}
	w.mu.RLock()
	iss := w.IssueByIDOrKey(key)
	var c *SimComment
	var att *SimAttachment
	known := iss != nil
	if known && commentID != "" {
		c = iss.CommentByID(commentID)
	}
	if known && attachmentID != "" {
		for _, a := range iss.Attachments {
			if a.ID == attachmentID {
				att = a
			}
		}
	}
	visible := false
	switch {
	case !known:
	case commentID != "" && c == nil:
	case attachmentID != "" && att == nil:
	case att != nil:
		visible = w.canSeeAttachmentLocked(account, iss, att)
	default:
		visible = w.CanSeeLocked(account, iss, c)
	}
	unknownAccount := account != "" && w.UserByID(account) == nil
	w.mu.RUnlock()
	switch {
	case !known:
		simError(rw, http.StatusBadRequest, "issue", fmt.Sprintf("unknown issue %q", key))
	case commentID != "" && c == nil:
		simError(rw, http.StatusBadRequest, "comment", fmt.Sprintf("issue %s has no comment %q", key, commentID))
	case attachmentID != "" && att == nil:
		simError(rw, http.StatusBadRequest, "attachment", fmt.Sprintf("issue %s has no attachment %q", key, attachmentID))
	case unknownAccount:
		// An unknown account is answered (it matches only "anyone"), but say so.
		simJSON(rw, http.StatusOK, map[string]any{"visible": visible, "unknownAccount": true})
	default:
		simJSON(rw, http.StatusOK, map[string]bool{"visible": visible})
	}
}

func (w *World) issueJSON(iss *SimIssue) StateIssue {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return stateIssue(iss)
}

func (w *World) simCreateIssue(rw http.ResponseWriter, r *http.Request) {
	var in IssueCreate
	if err := decodeStrict(rw, r, &in); err != nil {
		simFail(rw, err)
		return
	}
	iss, err := w.CreateIssue(actorOf(r), in)
	if err != nil {
		simFail(rw, err)
		return
	}
	simJSON(rw, http.StatusCreated, w.issueJSON(iss))
}

func (w *World) simUpdateIssue(rw http.ResponseWriter, r *http.Request) {
	var in IssueUpdate
	if err := decodeStrict(rw, r, &in); err != nil {
		simFail(rw, err)
		return
	}
	iss, err := w.UpdateIssue(actorOf(r), r.PathValue("key"), in)
	if err != nil {
		simFail(rw, err)
		return
	}
	simJSON(rw, http.StatusOK, w.issueJSON(iss))
}

func (w *World) simDeleteIssue(rw http.ResponseWriter, r *http.Request) {
	if err := w.DeleteIssue(actorOf(r), r.PathValue("key")); err != nil {
		simFail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

// commentInput is the body of the comment routes.
type commentInput struct {
	Body       string                 `json:"body,omitempty"`
	BodyADF    json.RawMessage        `json:"bodyAdf,omitempty"`
	Visibility *switchyard.Visibility `json:"visibility,omitempty"`
}

func (c commentInput) adf(required bool) (json.RawMessage, error) {
	switch {
	case len(c.BodyADF) > 0 && c.Body != "":
		return nil, invalid("body", "give body or bodyAdf, not both")
	case len(c.BodyADF) > 0:
		return c.BodyADF, nil
	case c.Body != "":
		return TextToADF(c.Body), nil
	case required:
		return nil, invalid("body", "body (text) or bodyAdf (ADF) is required")
	}
	return nil, nil
}

func commentJSON(c StateComment, body string) map[string]any {
	return map[string]any{"id": c.ID, "author": c.Author, "created": c.Created, "updated": c.Updated, "visibility": c.Visibility, "body": body}
}

func (w *World) commentOut(c *SimComment) map[string]any {
	w.mu.RLock()
	defer w.mu.RUnlock()
	var vis *switchyard.Visibility
	if c.Visibility != nil {
		v := *c.Visibility
		vis = &v
	}
	return commentJSON(StateComment{ID: c.ID, Author: c.Author, Created: StateTime(c.Created), Updated: StateTime(c.Updated), Visibility: vis}, ADFPlainText(c.Body))
}

func (w *World) simAddComment(rw http.ResponseWriter, r *http.Request) {
	var in commentInput
	if err := decodeStrict(rw, r, &in); err != nil {
		simFail(rw, err)
		return
	}
	body, err := in.adf(true)
	if err != nil {
		simFail(rw, err)
		return
	}
	c, err := w.AddComment(actorOf(r), r.PathValue("key"), body, in.Visibility)
	if err != nil {
		simFail(rw, err)
		return
	}
	simJSON(rw, http.StatusCreated, w.commentOut(c))
}

func (w *World) simUpdateComment(rw http.ResponseWriter, r *http.Request) {
	var in commentInput
	if err := decodeStrict(rw, r, &in); err != nil {
		simFail(rw, err)
		return
	}
	body, err := in.adf(false)
	if err != nil {
		simFail(rw, err)
		return
	}
	c, err := w.UpdateComment(actorOf(r), r.PathValue("key"), r.PathValue("id"), body, in.Visibility)
	if err != nil {
		simFail(rw, err)
		return
	}
	simJSON(rw, http.StatusOK, w.commentOut(c))
}

func (w *World) simDeleteComment(rw http.ResponseWriter, r *http.Request) {
	if err := w.DeleteComment(actorOf(r), r.PathValue("key"), r.PathValue("id")); err != nil {
		simFail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *World) simAddAttachment(rw http.ResponseWriter, r *http.Request) {
	var in struct {
		Filename      string `json:"filename"`
		MimeType      string `json:"mimeType,omitempty"`
		Text          string `json:"text,omitempty"`
		ContentBase64 string `json:"contentBase64,omitempty"`
	}
	if err := decodeStrict(rw, r, &in); err != nil {
		simFail(rw, err)
		return
	}
	content := []byte(in.Text)
	if in.ContentBase64 != "" {
		if in.Text != "" {
			simFail(rw, invalid("contentBase64", "give text or contentBase64, not both"))
			return
		}
		b, err := base64.StdEncoding.DecodeString(in.ContentBase64)
		if err != nil {
			simFail(rw, invalid("contentBase64", "not valid base64: %v", err))
			return
		}
		content = b
	}
	a, err := w.AddAttachment(actorOf(r), r.PathValue("key"), in.Filename, in.MimeType, content)
	if err != nil {
		simFail(rw, err)
		return
	}
	simJSON(rw, http.StatusCreated, StateAttachment{ID: a.ID, Filename: a.Filename, MimeType: a.MimeType, Size: int64(len(a.Content)), Created: StateTime(a.Created)})
}

func (w *World) simMoveIssue(rw http.ResponseWriter, r *http.Request) {
	var in struct {
		ProjectKey string `json:"projectKey"`
	}
	if err := decodeStrict(rw, r, &in); err != nil {
		simFail(rw, err)
		return
	}
	iss, err := w.MoveIssue(actorOf(r), r.PathValue("key"), in.ProjectKey)
	if err != nil {
		simFail(rw, err)
		return
	}
	simJSON(rw, http.StatusOK, w.issueJSON(iss))
}

type memberInput struct {
	AccountID string `json:"accountId"`
}

func (w *World) simAddMember(rw http.ResponseWriter, r *http.Request) {
	var in memberInput
	if err := decodeStrict(rw, r, &in); err != nil {
		simFail(rw, err)
		return
	}
	if err := w.AddGroupMember(actorOf(r), r.PathValue("id"), in.AccountID); err != nil {
		simFail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *World) simRemoveMember(rw http.ResponseWriter, r *http.Request) {
	var in memberInput
	if r.URL.Query().Has("accountId") {
		in.AccountID = r.URL.Query().Get("accountId")
	} else if err := decodeStrict(rw, r, &in); err != nil {
		simFail(rw, err)
		return
	}
	if in.AccountID == "" {
		simFail(rw, invalid("accountId", "is required (body or query)"))
		return
	}
	if err := w.RemoveGroupMember(actorOf(r), r.PathValue("id"), in.AccountID); err != nil {
		simFail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *World) simSetBrowse(rw http.ResponseWriter, r *http.Request) {
	var hs []switchyard.Holder
	if err := decodeStrict(rw, r, &hs); err != nil {
		simFail(rw, err)
		return
	}
	if err := w.SetBrowseGrants(actorOf(r), r.PathValue("key"), hs); err != nil {
		simFail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *World) simSetRole(rw http.ResponseWriter, r *http.Request) {
	var a switchyard.RoleActors
	if err := decodeStrict(rw, r, &a); err != nil {
		simFail(rw, err)
		return
	}
	if err := w.SetRoleActors(actorOf(r), r.PathValue("key"), r.PathValue("id"), a); err != nil {
		simFail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *World) simSetLevel(rw http.ResponseWriter, r *http.Request) {
	var hs []switchyard.Holder
	if err := decodeStrict(rw, r, &hs); err != nil {
		simFail(rw, err)
		return
	}
	if err := w.SetSecurityLevelMembers(actorOf(r), r.PathValue("key"), r.PathValue("id"), hs); err != nil {
		simFail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *World) simCreateUser(rw http.ResponseWriter, r *http.Request) {
	var in UserCreate
	if err := decodeStrict(rw, r, &in); err != nil {
		simFail(rw, err)
		return
	}
	u, err := w.CreateUser(actorOf(r), in)
	if err != nil {
		simFail(rw, err)
		return
	}
	w.mu.RLock()
	out := StateUser{AccountID: u.AccountID, DisplayName: u.DisplayName, EmailAddress: nullable(u.Email), Active: u.Active, AccountType: u.AccountType}
	w.mu.RUnlock()
	simJSON(rw, http.StatusCreated, out)
}

func (w *World) simUpdateUser(rw http.ResponseWriter, r *http.Request) {
	var in struct {
		Active *bool `json:"active"`
	}
	if err := decodeStrict(rw, r, &in); err != nil {
		simFail(rw, err)
		return
	}
	if in.Active == nil {
		simFail(rw, invalid("active", "is required (true or false)"))
		return
	}
	if err := w.SetUserActive(actorOf(r), r.PathValue("id"), *in.Active); err != nil {
		simFail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *World) simRegisterWebhook(rw http.ResponseWriter, r *http.Request) {
	var in struct {
		URL       string   `json:"url"`
		Secret    string   `json:"secret,omitempty"`
		Events    []string `json:"events"`
		JQLFilter string   `json:"jqlFilter,omitempty"`
	}
	if err := decodeStrict(rw, r, &in); err != nil {
		simFail(rw, err)
		return
	}
	h, err := w.RegisterWebhook(Webhook{URL: in.URL, Secret: in.Secret, Events: in.Events, JQLFilter: in.JQLFilter})
	if err != nil {
		simFail(rw, err)
		return
	}
	simJSON(rw, http.StatusCreated, map[string]int64{"id": h.ID})
}

func (w *World) simListWebhooks(rw http.ResponseWriter, r *http.Request) {
	type out struct {
		ID        int64    `json:"id"`
		URL       string   `json:"url"`
		Events    []string `json:"events"`
		JQLFilter string   `json:"jqlFilter,omitempty"`
		Dynamic   bool     `json:"dynamic"`
		Signed    bool     `json:"signed"`
		Expires   string   `json:"expires,omitempty"`
	}
	list := []out{}
	for _, h := range w.ListWebhooks() {
		o := out{ID: h.ID, URL: h.URL, Events: h.Events, JQLFilter: h.JQLFilter, Dynamic: h.Dynamic, Signed: h.Secret != "" || h.ClientSecret != ""}
		if !h.Expires.IsZero() {
			o.Expires = StateTime(h.Expires)
		}
		list = append(list, o)
	}
	simJSON(rw, http.StatusOK, list)
}

func (w *World) simDeleteWebhook(rw http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		simFail(rw, invalid("id", "webhook id must be a number, got %q", r.PathValue("id")))
		return
	}
	if err := w.DeleteWebhook(id); err != nil {
		simFail(rw, err)
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}

func (w *World) simFlush(rw http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	if err := w.FlushWebhooks(ctx); err != nil {
		simError(rw, http.StatusGatewayTimeout, "", err.Error())
		return
	}
	rw.WriteHeader(http.StatusNoContent)
}
