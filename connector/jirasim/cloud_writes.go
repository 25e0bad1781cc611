package jirasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"switchyard"
)

// Writes the write-back uses: add a comment (ADF on Cloud, wiki text on Data
// Center) with properties, comment and issue properties, transitions. They go
// through the world's mutation methods so the audit log and webhooks follow.

const (
	propertyMaxBytes = 32768
	propertyKeyMax   = 255
)

func (s *Server) writeRoutes(m *http.ServeMux, prefix string) {
	m.HandleFunc("POST "+prefix+"/issue/{issueIdOrKey}/comment", s.addComment)
	m.HandleFunc("GET "+prefix+"/comment/{commentId}/properties/{propertyKey}", s.commentPropertyGet)
	m.HandleFunc("PUT "+prefix+"/comment/{commentId}/properties/{propertyKey}", s.commentPropertyPut)
	m.HandleFunc("GET "+prefix+"/issue/{issueIdOrKey}/properties/{propertyKey}", s.issuePropertyGet)
	m.HandleFunc("PUT "+prefix+"/issue/{issueIdOrKey}/properties/{propertyKey}", s.issuePropertyPut)
	m.HandleFunc("GET "+prefix+"/issue/{issueIdOrKey}/transitions", s.transitionsGet)
	m.HandleFunc("POST "+prefix+"/issue/{issueIdOrKey}/transitions", s.transitionsPost)
}

// mutationError maps a world mutation error to Jira's status and shape.
func mutationError(rw http.ResponseWriter, err error) {
	var e *switchyard.Error
	status := http.StatusInternalServerError
	switch {
	case errors.Is(err, switchyard.ErrNotFound):
		status = http.StatusNotFound
	case errors.Is(err, switchyard.ErrInvalid):
		status = http.StatusBadRequest
	case errors.Is(err, switchyard.ErrForbidden):
		status = http.StatusForbidden
	case errors.Is(err, switchyard.ErrConflict):
		status = http.StatusConflict
	}
	if errors.As(err, &e) && e.Field != "" {
		apiFieldError(rw, status, e.Field, e.Message)
		return
	}
	apiError(rw, status, err.Error())
}

type entityProperty struct {
	Key   string          `json:"key"`
	Value json.RawMessage `json:"value"`
}

func (s *Server) addComment(rw http.ResponseWriter, r *http.Request) {
	var in struct {
		Body       json.RawMessage        `json:"body"`
		Visibility *switchyard.Visibility `json:"visibility"`
		Properties []entityProperty       `json:"properties"`
	}
	if err := apiDecode(rw, r, 1<<20, &in); err != nil {
		apiBadBody(rw, err)
		return
	}
	dc := s.world.Mode == switchyard.ModeDataCenter
	body := in.Body
	if dc {
		var text string
		if err := json.Unmarshal(in.Body, &text); err != nil {
			apiFieldError(rw, http.StatusBadRequest, "body", "Comment body must be a string of wiki markup.")
			return
		}
		body = TextToADF(text)
	}
	if len(in.Body) == 0 || string(in.Body) == "null" {
		apiFieldError(rw, http.StatusBadRequest, "comment", "Comment body can not be empty!")
		return
	}
	for _, p := range in.Properties {
		if msg := checkProperty(p.Key, p.Value); msg != "" {
			apiFieldError(rw, http.StatusBadRequest, "properties", msg)
			return
		}
	}
	c := callerFrom(r.Context())
	s.world.RLock()
	is := s.world.IssueByIDOrKey(r.PathValue("issueIdOrKey"))
	visible := is != nil && s.canSee(c, is, nil)
	var issueID string
	if visible {
		issueID = is.ID
	}
	s.world.RUnlock()
	if !visible {
		apiError(rw, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
		return
	}
	cm, err := s.world.AddComment(c.AccountID, issueID, body, in.Visibility)
	if err != nil {
		mutationError(rw, err)
		return
	}
	commentID := cm.ID
	for _, p := range in.Properties {
		if err := s.world.SetCommentProperty(c.AccountID, issueID, commentID, p.Key, p.Value); err != nil {
			mutationError(rw, err)
			return
		}
	}
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	is = s.world.IssueByIDOrKey(issueID)
	if is == nil {
		apiError(rw, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
		return
	}
	cm = is.CommentByID(commentID)
	if cm == nil {
		apiError(rw, http.StatusNotFound, "The comment was deleted while it was being created.")
		return
	}
	out := v.comment(is, cm, false)
	if len(in.Properties) > 0 {
		props := []any{}
		for _, p := range in.Properties {
			props = append(props, map[string]any{"key": p.Key, "value": cm.Properties[p.Key]})
		}
		out["properties"] = props
	}
	apiJSON(rw, http.StatusCreated, out)
}

// checkProperty returns Jira's complaint about a property key or value, or "".
func checkProperty(key string, value json.RawMessage) string {
	switch {
	case key == "":
		return "The property key cannot be empty."
	case len(key) > propertyKeyMax:
		return fmt.Sprintf("The property key is too long: %d characters (at most %d).", len(key), propertyKeyMax)
	case len(value) == 0 || !json.Valid(value):
		return "The property value must be valid JSON."
	case len(value) > propertyMaxBytes:
		return fmt.Sprintf("The property value is too large: %d bytes (at most %d).", len(value), propertyMaxBytes)
	}
	return ""
}

// readPropertyValue reads a PUT property body: any JSON value up to 32 KB.
func readPropertyValue(rw http.ResponseWriter, r *http.Request) (json.RawMessage, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, propertyMaxBytes+1))
	if err != nil || len(b) > propertyMaxBytes {
		apiError(rw, http.StatusRequestEntityTooLarge, fmt.Sprintf("The property value is too large (at most %d bytes).", propertyMaxBytes))
		return nil, false
	}
	if msg := checkProperty(r.PathValue("propertyKey"), b); msg != "" {
		apiError(rw, http.StatusBadRequest, msg)
		return nil, false
	}
	return b, true
}

func (s *Server) commentPropertyGet(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	cm, is := v.commentByID(r.PathValue("commentId"))
	if cm == nil || !s.canSee(v.c, is, cm) {
		apiError(rw, http.StatusNotFound, "Comment does not exist or you do not have permission to see it.")
		return
	}
	writeEntityProperty(rw, cm.Properties, r.PathValue("propertyKey"))
}

func (s *Server) commentPropertyPut(rw http.ResponseWriter, r *http.Request) {
	val, ok := readPropertyValue(rw, r)
	if !ok {
		return
	}
	v := s.view(r)
	key := r.PathValue("propertyKey")
	s.world.RLock()
	cm, is := v.commentByID(r.PathValue("commentId"))
	visible := cm != nil && s.canSee(v.c, is, cm)
	var issueID, commentID string
	existed := false
	if visible {
		issueID, commentID = is.ID, cm.ID
		_, existed = cm.Properties[key]
	}
	s.world.RUnlock()
	if !visible {
		apiError(rw, http.StatusNotFound, "Comment does not exist or you do not have permission to see it.")
		return
	}
	if err := s.world.SetCommentProperty(v.c.AccountID, issueID, commentID, key, val); err != nil {
		mutationError(rw, err)
		return
	}
	propertyWritten(rw, existed)
}

// writeEntityProperty answers a property GET from props, or 404 if key is unset.
func writeEntityProperty(rw http.ResponseWriter, props map[string]json.RawMessage, key string) {
	val, ok := props[key]
	if !ok {
		apiError(rw, http.StatusNotFound, "The property with key '"+key+"' does not exist.")
		return
	}
	apiJSON(rw, http.StatusOK, entityProperty{Key: key, Value: val})
}

func propertyWritten(rw http.ResponseWriter, existed bool) {
	if existed {
		rw.WriteHeader(http.StatusOK)
		return
	}
	rw.WriteHeader(http.StatusCreated)
}

func (s *Server) issuePropertyGet(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	is := v.visibleIssue(rw, r.PathValue("issueIdOrKey"))
	if is == nil {
		return
	}
	writeEntityProperty(rw, is.Properties, r.PathValue("propertyKey"))
}

func (s *Server) issuePropertyPut(rw http.ResponseWriter, r *http.Request) {
	val, ok := readPropertyValue(rw, r)
	if !ok {
		return
	}
	v := s.view(r)
	key := r.PathValue("propertyKey")
	s.world.RLock()
	is := s.world.IssueByIDOrKey(r.PathValue("issueIdOrKey"))
	visible := is != nil && s.canSee(v.c, is, nil)
	var issueID string
	existed := false
	if visible {
		issueID = is.ID
		_, existed = is.Properties[key]
	}
	s.world.RUnlock()
	if !visible {
		apiError(rw, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
		return
	}
	if err := s.world.SetIssueProperty(v.c.AccountID, issueID, key, val); err != nil {
		mutationError(rw, err)
		return
	}
	propertyWritten(rw, existed)
}

// transition is one workflow transition: to every status of the project's
// workflow except the current one ("global" transitions, as in simple workflows).
type transition struct {
	id, name, to, cat string
}

func (v *view) transitions(is *SimIssue) []transition {
	p := v.w.ProjectByID(is.ProjectID)
	if p == nil {
		return nil
	}
	var out []transition
	for i, st := range workflows[p.ProjectTypeKey].statuses {
		if strings.EqualFold(st.name, is.Status) {
			continue
		}
		out = append(out, transition{id: strconv.Itoa((i+1)*10 + 1), name: st.name, to: st.name, cat: st.cat})
	}
	for i, t := range namedTransitions[p.ProjectTypeKey] {
		if !strings.EqualFold(t.to, is.Status) {
			out = append(out, transition{id: strconv.Itoa(100 + i + 1), name: t.name, to: t.to, cat: StatusCategoryOf(p.ProjectTypeKey, t.to)})
		}
	}
	return out
}

// namedTransitions are transitions named other than their target status, as
// JSM's own workflows have them ("Resolve this issue" → Resolved), besides
// the global transitions named after each status.
var namedTransitions = map[string][]struct{ name, to string }{
	"service_desk": {{"Resolve this issue", "Resolved"}, {"Start work", "In Progress"}},
}

func (s *Server) transitionsGet(rw http.ResponseWriter, r *http.Request) {
	only := r.URL.Query().Get("transitionId")
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	is := v.visibleIssue(rw, r.PathValue("issueIdOrKey"))
	if is == nil {
		return
	}
	ts := []any{}
	for _, t := range v.transitions(is) {
		if only != "" && t.id != only {
			continue
		}
		ts = append(ts, map[string]any{
			"id": t.id, "name": t.name, "to": v.status(t.to, t.cat),
			"hasScreen": false, "isGlobal": true, "isInitial": false, "isAvailable": true, "isConditional": false, "isLooped": false,
		})
	}
	apiJSON(rw, http.StatusOK, map[string]any{"expand": "transitions", "transitions": ts})
}

func (s *Server) transitionsPost(rw http.ResponseWriter, r *http.Request) {
	var in struct {
		Transition *struct {
			ID string `json:"id"`
		} `json:"transition"`
		Fields          map[string]json.RawMessage `json:"fields"`
		Update          map[string]json.RawMessage `json:"update"`
		HistoryMetadata json.RawMessage            `json:"historyMetadata"`
		Properties      []entityProperty           `json:"properties"`
	}
	if err := apiDecode(rw, r, 1<<20, &in); err != nil {
		apiBadBody(rw, err)
		return
	}
	if in.Transition == nil || in.Transition.ID == "" {
		apiFieldError(rw, http.StatusBadRequest, "transition", "You must specify a transition id.")
		return
	}
	v := s.view(r)
	s.world.RLock()
	is := s.world.IssueByIDOrKey(r.PathValue("issueIdOrKey"))
	if is == nil || !s.canSee(v.c, is, nil) {
		s.world.RUnlock()
		apiError(rw, http.StatusNotFound, "Issue does not exist or you do not have permission to see it.")
		return
	}
	issueID := is.ID
	var to string
	for _, t := range v.transitions(is) {
		if t.id == in.Transition.ID {
			to = t.to
		}
	}
	s.world.RUnlock()
	if to == "" {
		apiError(rw, http.StatusBadRequest, "Transition id '"+in.Transition.ID+"' is not valid for this issue.")
		return
	}
	if _, err := s.world.UpdateIssue(v.c.AccountID, issueID, IssueUpdate{Status: &to}); err != nil {
		mutationError(rw, err)
		return
	}
	for _, p := range in.Properties {
		if msg := checkProperty(p.Key, p.Value); msg != "" {
			apiFieldError(rw, http.StatusBadRequest, "properties", msg)
			return
		}
		if err := s.world.SetIssueProperty(v.c.AccountID, issueID, p.Key, p.Value); err != nil {
			mutationError(rw, err)
			return
		}
	}
	rw.WriteHeader(http.StatusNoContent)
}
