package jirasim

import (
	"net/http"
	"strings"

	"switchyard"
)

// Projects: GET /rest/api/3/project/search (≤100, isLast), project roles and
// their actors.

const projectPageMax = 100

func (v *view) project(p *SimProject, ex expandSet) map[string]any {
	m := map[string]any{
		"self":           v.api() + "/project/" + p.ID,
		"id":             p.ID,
		"key":            p.Key,
		"name":           p.Name,
		"projectTypeKey": p.ProjectTypeKey,
		"avatarUrls":     avatarURLs(v.base, "project-"+p.ID),
		"simplified":     false,
		"style":          "classic",
		"isPrivate":      false,
		"properties":     map[string]any{},
	}
	if ex["lead"] {
		if u := v.userRef(p.LeadAccountID); u != nil {
			m["lead"] = u
		}
	}
	if ex["description"] {
		m["description"] = p.Name + " project"
	}
	if ex["issueTypes"] {
		its := []any{}
		for _, t := range p.IssueTypes {
			its = append(its, v.issueType(t))
		}
		m["issueTypes"] = its
	}
	if ex["roles"] || v.dc {
		m["roles"] = v.roleLinks(p)
	}
	return m
}

func (s *Server) projectSearch(rw http.ResponseWriter, r *http.Request) {
	start, max, ok := pageParams(rw, r, "startAt", "maxResults", 50, projectPageMax)
	if !ok {
		return
	}
	q := r.URL.Query()
	ex := parseExpand(q["expand"]...)
	var keys []string
	for _, k := range q["keys"] {
		keys = append(keys, strings.Split(k, ",")...)
	}
	query := strings.ToLower(q.Get("query"))
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	var all []map[string]any
	for _, p := range v.w.Projects {
		if len(keys) > 0 && !apiHasFold(keys, p.Key) {
			continue
		}
		if query != "" && !strings.Contains(strings.ToLower(p.Key), query) && !strings.Contains(strings.ToLower(p.Name), query) {
			continue
		}
		all = append(all, v.project(p, ex))
	}
	apiJSON(rw, http.StatusOK, pageBean(r, v.base, all, start, max))
}

// projectFromPath resolves the {projectIdOrKey}/{projectKeyOrId} path value.
func (v *view) projectFromPath(rw http.ResponseWriter, r *http.Request) *SimProject {
	k := r.PathValue("project")
	p := v.w.ProjectByIDOrKey(k)
	if p == nil {
		apiError(rw, http.StatusNotFound, "No project could be found with key '"+k+"'.")
	}
	return p
}

func (v *view) roleLinks(p *SimProject) map[string]string {
	out := map[string]string{}
	for _, role := range p.Roles {
		out[role.Name] = v.api() + "/project/" + p.ID + "/role/" + role.ID
	}
	return out
}

func (s *Server) projectRoles(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	p := v.projectFromPath(rw, r)
	if p == nil {
		return
	}
	apiJSON(rw, http.StatusOK, v.roleLinks(p))
}

func (s *Server) projectRole(rw http.ResponseWriter, r *http.Request) {
	excludeInactive := apiBoolParam(r.URL.Query(), "excludeInactiveUsers")
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	p := v.projectFromPath(rw, r)
	if p == nil {
		return
	}
	id, ok := numericPathID(rw, r, "id", "role")
	if !ok {
		return
	}
	role := p.RoleByID(id)
	if role == nil {
		apiError(rw, http.StatusNotFound, "Can not retrieve a role actor for a null project role.")
		return
	}
	apiJSON(rw, http.StatusOK, v.role(p, role, excludeInactive))
}

func (v *view) role(p *SimProject, role *switchyard.ProjectRole, excludeInactive bool) map[string]any {
	actors := []any{}
	n := int64(0)
	actorID := func() int64 { n++; return apiIDNum(role.ID)*1000 + n }
	for _, uid := range role.Actors.Users {
		u := v.w.UserByID(uid)
		if u == nil || (excludeInactive && !u.Active) {
			continue
		}
		a := map[string]any{
			"id":          actorID(),
			"displayName": u.DisplayName,
			"type":        "atlassian-user-role-actor",
			"avatarUrl":   avatarURLs(v.base, u.AccountID)["48x48"],
		}
		if v.dc {
			a["name"] = dcUsername(u) // the username, not the key
		} else {
			a["actorUser"] = map[string]any{"accountId": u.AccountID}
		}
		actors = append(actors, a)
	}
	for _, gid := range role.Actors.Groups {
		g := v.w.GroupByID(gid)
		if g == nil {
			continue
		}
		a := map[string]any{
			"id":          actorID(),
			"displayName": g.Name,
			"type":        "atlassian-group-role-actor",
			"name":        g.Name,
		}
		if !v.dc {
			a["actorGroup"] = map[string]any{"name": g.Name, "displayName": g.Name, "groupId": g.ID}
		}
		actors = append(actors, a)
	}
	return map[string]any{
		"self":        v.api() + "/project/" + p.ID + "/role/" + role.ID,
		"name":        role.Name,
		"id":          apiIDNum(role.ID),
		"description": "A project role that represents " + strings.ToLower(role.Name) + " in a project",
		"actors":      actors,
	}
}
