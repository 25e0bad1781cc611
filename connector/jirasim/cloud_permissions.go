package jirasim

import (
	"net/http"
	"strconv"

	"switchyard"
)

// Permission schemes and issue security: GET /project/{key}/permissionscheme,
// /permissionscheme/{id}?expand=permissions, /project/{key}/issuesecuritylevelscheme,
// /issuesecurityschemes/level/member and /issuesecurityschemes/{id}/members.

// holder renders a permission holder as Jira Cloud does: for groups the
// (deprecated) parameter is the group NAME and value the group id; Data Center
// has only the name.
func (v *view) holder(p *SimProject, h switchyard.Holder) map[string]any {
	m := map[string]any{"type": h.Type}
	switch h.Type {
	case switchyard.HolderGroup:
		name := h.Parameter
		if g := v.w.GroupByID(h.Parameter); g != nil {
			name = g.Name
		}
		m["parameter"] = name
		if !v.dc {
			m["value"] = h.Parameter
		}
		m["expand"] = "group"
	case switchyard.HolderProjectRole:
		m["parameter"] = h.Parameter
		if !v.dc {
			m["value"] = h.Parameter
		}
		m["expand"] = "projectRole"
	case switchyard.HolderUser:
		m["parameter"] = h.Parameter
		if !v.dc {
			m["value"] = h.Parameter
		}
		m["expand"] = "user"
	case switchyard.HolderApplicationRole:
		if h.Parameter != "" {
			m["parameter"] = h.Parameter
			if !v.dc {
				m["value"] = h.Parameter
			}
		}
	case switchyard.HolderUserCustomField, switchyard.HolderGroupCustomField:
		m["parameter"] = h.Parameter
		if !v.dc {
			m["value"] = h.Parameter
		}
		m["expand"] = "field"
	default:
		if h.Parameter != "" {
			m["parameter"] = h.Parameter
		}
	}
	return m
}

// schemeProject is the first project using a permission scheme (projects that
// share a scheme share its grants).
func (v *view) schemeProject(schemeID string) *SimProject {
	for _, p := range v.w.Projects {
		if p.PermissionSchemeID == schemeID {
			return p
		}
	}
	return nil
}

func (v *view) permissionScheme(p *SimProject, withGrants bool) map[string]any {
	m := map[string]any{
		"self":        v.api() + "/permissionscheme/" + p.PermissionSchemeID,
		"id":          apiIDNum(p.PermissionSchemeID),
		"name":        p.Key + " permission scheme",
		"description": "Permissions of the " + p.Name + " project",
		"expand":      "permissions,user,group,projectRole,field,all",
	}
	if withGrants {
		grants := []any{}
		n := apiIDNum(p.PermissionSchemeID) * 100
		add := func(perm string, h switchyard.Holder) {
			n++
			grants = append(grants, map[string]any{
				"id":         n,
				"self":       v.api() + "/permissionscheme/" + p.PermissionSchemeID + "/permission/" + strconv.FormatInt(n, 10),
				"holder":     v.holder(p, h),
				"permission": perm,
			})
		}
		for _, h := range p.Browse {
			add(switchyard.PermissionBrowseProject, h)
		}
		for _, h := range p.Browse {
			add("ADD_COMMENTS", h)
		}
		add("ADMINISTER_PROJECTS", switchyard.Holder{Type: switchyard.HolderProjectRole, Parameter: RoleAdministrators})
		m["permissions"] = grants
	}
	return m
}

func (s *Server) projectPermissionScheme(rw http.ResponseWriter, r *http.Request) {
	ex := parseExpand(r.URL.Query()["expand"]...)
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	p := v.projectFromPath(rw, r)
	if p == nil {
		return
	}
	apiJSON(rw, http.StatusOK, v.permissionScheme(p, ex["permissions"] || ex["all"]))
}

func (s *Server) permissionSchemeGet(rw http.ResponseWriter, r *http.Request) {
	id, ok := numericPathID(rw, r, "schemeId", "permission scheme")
	if !ok {
		return
	}
	ex := parseExpand(r.URL.Query()["expand"]...)
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	p := v.schemeProject(id)
	if p == nil {
		apiError(rw, http.StatusNotFound, "Permission scheme with id "+id+" not found.")
		return
	}
	apiJSON(rw, http.StatusOK, v.permissionScheme(p, ex["permissions"] || ex["all"]))
}

func (v *view) securityLevelJSON(p *SimProject, l switchyard.SecurityLevel) map[string]any {
	return map[string]any{
		"self":                  v.api() + "/securitylevel/" + l.ID,
		"id":                    l.ID,
		"name":                  l.Name,
		"description":           l.Name + " issues",
		"isDefault":             false,
		"issueSecuritySchemeId": p.SecuritySchemeID,
	}
}

func (s *Server) projectSecurityScheme(rw http.ResponseWriter, r *http.Request) {
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	p := v.projectFromPath(rw, r)
	if p == nil {
		return
	}
	if p.SecuritySchemeID == "" {
		apiError(rw, http.StatusNotFound, "The project "+p.Key+" does not have an issue security scheme.")
		return
	}
	levels := []any{}
	for _, l := range p.SecurityLevels {
		levels = append(levels, v.securityLevelJSON(p, l))
	}
	apiJSON(rw, http.StatusOK, map[string]any{
		"self":        v.api() + "/issuesecurityschemes/" + p.SecuritySchemeID,
		"id":          apiIDNum(p.SecuritySchemeID),
		"name":        p.Key + " issue security",
		"description": "Issue security of the " + p.Name + " project",
		"levels":      levels,
	})
}

// levelMember is one member holder of a security level with stable ids.
type levelMember struct {
	id       int64
	schemeID string
	levelID  string
	holder   map[string]any
}

// levelMembers lists members of the security schemes in schemes (all when
// empty), filtered by level ids when given.
func (v *view) levelMembers(schemes, levels []string) []levelMember {
	var out []levelMember
	for _, p := range v.w.Projects {
		if p.SecuritySchemeID == "" || (len(schemes) > 0 && !apiHasStr(schemes, p.SecuritySchemeID)) {
			continue
		}
		if v.firstProjectOfSecurityScheme(p.SecuritySchemeID) != p {
			continue
		}
		for _, l := range p.SecurityLevels {
			if len(levels) > 0 && !apiHasStr(levels, l.ID) {
				continue
			}
			for i, h := range l.Members {
				out = append(out, levelMember{id: apiIDNum(l.ID)*100 + int64(i) + 1, schemeID: p.SecuritySchemeID, levelID: l.ID, holder: v.holder(p, h)})
			}
		}
	}
	return out
}

func (v *view) firstProjectOfSecurityScheme(id string) *SimProject {
	for _, p := range v.w.Projects {
		if p.SecuritySchemeID == id {
			return p
		}
	}
	return nil
}

func apiSplitAll(xs []string) []string {
	var out []string
	for _, x := range xs {
		for _, y := range apiSplitComma(x) {
			out = append(out, y)
		}
	}
	return out
}

func (s *Server) securityLevelMembers(rw http.ResponseWriter, r *http.Request) {
	start, max, ok := pageParams(rw, r, "startAt", "maxResults", 50, 100)
	if !ok {
		return
	}
	q := r.URL.Query()
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	var all []map[string]any
	for _, m := range v.levelMembers(apiSplitAll(q["schemeId"]), apiSplitAll(q["levelId"])) {
		all = append(all, map[string]any{
			"id":                    strconv.FormatInt(m.id, 10),
			"issueSecurityLevelId":  m.levelID,
			"issueSecuritySchemeId": m.schemeID,
			"holder":                m.holder,
		})
	}
	apiJSON(rw, http.StatusOK, pageBean(r, v.base, all, start, max))
}

func (s *Server) securitySchemeMembers(rw http.ResponseWriter, r *http.Request) {
	start, max, ok := pageParams(rw, r, "startAt", "maxResults", 50, 100)
	if !ok {
		return
	}
	id, ok := numericPathID(rw, r, "schemeId", "issue security scheme")
	if !ok {
		return
	}
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	if v.firstProjectOfSecurityScheme(id) == nil {
		apiError(rw, http.StatusNotFound, "Issue security scheme with id "+id+" not found.")
		return
	}
	var all []map[string]any
	for _, m := range v.levelMembers([]string{id}, apiSplitAll(r.URL.Query()["issueSecurityLevelId"])) {
		all = append(all, map[string]any{
			"id":                   m.id,
			"issueSecurityLevelId": apiIDNum(m.levelID),
			"holder":               m.holder,
		})
	}
	apiJSON(rw, http.StatusOK, pageBean(r, v.base, all, start, max))
}
