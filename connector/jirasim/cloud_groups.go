package jirasim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Groups: GET /rest/api/3/group/bulk, /group/member (≤50 per page, isLast),
// /applicationrole.

const groupPageMax = 50

func (s *Server) groupBulk(rw http.ResponseWriter, r *http.Request) {
	start, max, ok := pageParams(rw, r, "startAt", "maxResults", 50, groupPageMax)
	if !ok {
		return
	}
	q := r.URL.Query()
	ids, names := q["groupId"], q["groupName"]
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	var all []map[string]any
	for _, g := range v.w.Groups {
		if len(ids) > 0 && !apiHasStr(ids, g.ID) {
			continue
		}
		if len(names) > 0 && !apiHasFold(names, g.Name) {
			continue
		}
		all = append(all, map[string]any{"groupId": g.ID, "name": g.Name})
	}
	apiJSON(rw, http.StatusOK, pageBean(r, v.base, all, start, max))
}

func apiHasFold(xs []string, s string) bool {
	for _, x := range xs {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// groupFromQuery resolves groupId or groupname (names are case-insensitive).
func (v *view) groupFromQuery(rw http.ResponseWriter, r *http.Request) *SimGroup {
	q := r.URL.Query()
	id, name := q.Get("groupId"), q.Get("groupname")
	if id == "" && name == "" {
		apiError(rw, http.StatusBadRequest, "You must specify a group name or a group ID.")
		return nil
	}
	var g *SimGroup
	if id != "" {
		g = v.w.GroupByID(id)
	} else {
		g = v.w.GroupByName(name)
	}
	if g == nil {
		apiError(rw, http.StatusNotFound, "Specified group does not exist.")
	}
	return g
}

func (s *Server) groupMember(rw http.ResponseWriter, r *http.Request) {
	start, max, ok := pageParams(rw, r, "startAt", "maxResults", 50, groupPageMax)
	if !ok {
		return
	}
	inactive := apiBoolParam(r.URL.Query(), "includeInactiveUsers")
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	g := v.groupFromQuery(rw, r)
	if g == nil {
		return
	}
	var all []json.RawMessage
	for _, id := range g.Members {
		u := v.w.UserByID(id)
		if u == nil || (!u.Active && !inactive) {
			continue
		}
		all = append(all, v.userRef(id))
	}
	apiJSON(rw, http.StatusOK, pageBean(r, v.base, all, start, max))
}

func (s *Server) applicationRoles(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	out := []any{}
	for _, ar := range v.w.ApplicationRoles {
		names := []string{}
		details := []any{}
		users := map[string]bool{}
		for _, gid := range ar.Groups {
			g := v.w.GroupByID(gid)
			if g == nil {
				continue
			}
			names = append(names, g.Name)
			details = append(details, v.groupName(g))
			for _, m := range g.Members {
				users[m] = true
			}
		}
		def := names
		if len(def) > 1 {
			def = def[:1]
		}
		out = append(out, map[string]any{
			"key":                  ar.Key,
			"name":                 appRoleName(ar.Key),
			"groups":               names,
			"groupDetails":         details,
			"defaultGroups":        def,
			"defaultGroupsDetails": details[:len(def)],
			"selectedByDefault":    false,
			"defined":              true,
			"numberOfSeats":        10000,
			"remainingSeats":       10000 - len(users),
			"userCount":            len(users),
			"userCountDescription": "users",
			"hasUnlimitedSeats":    false,
			"platform":             false,
		})
	}
	apiJSON(rw, http.StatusOK, out)
}

func appRoleName(key string) string {
	switch key {
	case "jira-software":
		return "Jira Software"
	case "jira-servicedesk":
		return "Jira Service Management"
	case "jira-core", "jira-work-management":
		return "Jira Work Management"
	}
	return key
}
