package jirasim

import (
	"net/http"
)

// Users: GET /rest/api/3/myself, /users/search (a bare array: page until a short
// page), /user/groups (an array).

const usersSearchMax = 1000

func (s *Server) myself(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	u := v.user(v.c.AccountID)
	if u == nil {
		apiError(rw, http.StatusUnauthorized, "You are not authenticated. Authentication required to perform this operation.")
		return
	}
	if sim := v.w.UserByID(v.c.AccountID); sim != nil && v.dc {
		email := sim.Email
		if email == "" {
			email = sim.HiddenEmail
		}
		u["emailAddress"] = email
	} else if sim != nil && sim.Email == "" && sim.HiddenEmail != "" {
		// Your own email is always visible to you.
		u["emailAddress"] = sim.HiddenEmail
	}
	u["locale"] = "en_US"
	apiJSON(rw, http.StatusOK, u)
}

func (s *Server) usersSearch(rw http.ResponseWriter, r *http.Request) {
	start, max, ok := pageParams(rw, r, "startAt", "maxResults", 50, usersSearchMax)
	if !ok {
		return
	}
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	out := []any{}
	for _, u := range slicePage(v.w.Users, start, max) {
		out = append(out, v.user(u.AccountID))
	}
	apiJSON(rw, http.StatusOK, out)
}

func (s *Server) userGroups(rw http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("accountId")
	if id == "" {
		apiFieldError(rw, http.StatusBadRequest, "accountId", "The accountId query parameter is required.")
		return
	}
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	if v.w.UserByID(id) == nil {
		apiError(rw, http.StatusNotFound, "The user with account ID '"+id+"' does not exist.")
		return
	}
	out := []any{}
	for _, g := range v.w.GroupsOfUser(id) {
		out = append(out, v.groupName(g))
	}
	apiJSON(rw, http.StatusOK, out)
}
