package jirasim

import (
	"net/http"
	"slices"
)

// Comments: GET /rest/api/3/issue/{issueIdOrKey}/comment (startAt/maxResults,
// total of the comments the caller may see).

const commentPageMax = 100

func (s *Server) issueComments(rw http.ResponseWriter, r *http.Request) {
	start, max, ok := pageParams(rw, r, "startAt", "maxResults", 100, commentPageMax)
	if !ok {
		return
	}
	q := r.URL.Query()
	orderBy := q.Get("orderBy")
	switch orderBy {
	case "", "created", "+created", "-created":
	default:
		apiError(rw, http.StatusBadRequest, "orderBy '"+orderBy+"' is not valid; use created or -created.")
		return
	}
	ex := parseExpand(q["expand"]...)
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	is := v.visibleIssue(rw, r.PathValue("issueIdOrKey"))
	if is == nil {
		return
	}
	visible := v.visibleComments(is)
	if orderBy == "-created" {
		visible = slices.Clone(visible)
		slices.Reverse(visible)
	}
	cs := []any{}
	for _, c := range slicePage(visible, start, max) {
		cs = append(cs, v.comment(is, c, ex["renderedBody"]))
	}
	apiJSON(rw, http.StatusOK, map[string]any{
		"startAt":    start,
		"maxResults": max,
		"total":      len(visible),
		"comments":   cs,
	})
}

// commentByID finds a comment and its issue anywhere in the world. Read lock required.
func (v *view) commentByID(id string) (*SimComment, *SimIssue) {
	for _, is := range v.w.Issues {
		if c := is.CommentByID(id); c != nil {
			return c, is
		}
	}
	return nil, nil
}
