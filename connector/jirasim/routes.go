package jirasim

import "net/http"

// cloudRoutes are the Jira Cloud REST endpoints the connector uses. Path
// wildcards are named the same way in both modes so handlers are shared.
func (s *Server) cloudRoutes() *http.ServeMux {
	m := http.NewServeMux()
	const v3 = "/rest/api/3"
	m.HandleFunc("GET "+v3+"/myself", s.myself)
	m.HandleFunc("GET "+v3+"/field", s.fieldList)
	m.HandleFunc("GET "+v3+"/project/{project}/statuses", s.projectStatuses)
	s.jsmRoutes(m)
	m.HandleFunc("GET "+v3+"/users/search", s.usersSearch)
	m.HandleFunc("GET "+v3+"/user/groups", s.userGroups)
	m.HandleFunc("GET "+v3+"/group/bulk", s.groupBulk)
	m.HandleFunc("GET "+v3+"/group/member", s.groupMember)
	m.HandleFunc("GET "+v3+"/applicationrole", s.applicationRoles)
	m.HandleFunc("GET "+v3+"/project/search", s.projectSearch)
	m.HandleFunc("GET "+v3+"/project/{project}/role", s.projectRoles)
	m.HandleFunc("GET "+v3+"/project/{project}/role/{id}", s.projectRole)
	m.HandleFunc("GET "+v3+"/project/{project}/permissionscheme", s.projectPermissionScheme)
	m.HandleFunc("GET "+v3+"/permissionscheme/{schemeId}", s.permissionSchemeGet)
	m.HandleFunc("GET "+v3+"/project/{project}/issuesecuritylevelscheme", s.projectSecurityScheme)
	m.HandleFunc("GET "+v3+"/issuesecurityschemes/level/member", s.securityLevelMembers)
	m.HandleFunc("GET "+v3+"/issuesecurityschemes/{schemeId}/members", s.securitySchemeMembers)
	m.HandleFunc("POST "+v3+"/search/jql", s.searchJQLPost)
	m.HandleFunc("GET "+v3+"/search/jql", s.searchJQLGet)
	m.HandleFunc("POST "+v3+"/search/approximate-count", s.approximateCount)
	m.HandleFunc("POST "+v3+"/issue/bulkfetch", s.bulkFetch)
	m.HandleFunc("GET "+v3+"/issue/{issueIdOrKey}", s.issueGet)
	m.HandleFunc("GET "+v3+"/issue/{issueIdOrKey}/comment", s.issueComments)
	m.HandleFunc("GET "+v3+"/attachment/{id}", s.attachmentMeta)
	m.HandleFunc("GET "+v3+"/attachment/content/{id}", s.attachmentContent)
	m.HandleFunc("GET "+v3+"/auditing/record", s.auditRecordsCloud)
	s.writeRoutes(m, v3)
	m.HandleFunc("GET /secure/useravatar", s.avatar)
	m.HandleFunc("POST "+v3+"/webhook", s.webhookRegister)
	m.HandleFunc("GET "+v3+"/webhook", s.webhookList)
	m.HandleFunc("DELETE "+v3+"/webhook", s.webhookDelete)
	m.HandleFunc("PUT "+v3+"/webhook/refresh", s.webhookRefresh)
	// Removed in 2025: Cloud answers 410 Gone.
	for _, p := range []string{"/rest/api/3/search", "/rest/api/2/search"} {
		m.HandleFunc(p, s.searchGone)
	}
	m.HandleFunc("/", apiNotFound)
	return m
}

// dcRoutes are the Data Center equivalents under /rest/api/2 (v3 is absent).
func (s *Server) dcRoutes() *http.ServeMux {
	m := http.NewServeMux()
	const v2 = "/rest/api/2"
	m.HandleFunc("GET "+v2+"/myself", s.myself)
	m.HandleFunc("GET "+v2+"/project/{project}/statuses", s.projectStatuses)
	m.HandleFunc("GET "+v2+"/user/search", s.dcUserSearch)
	m.HandleFunc("GET "+v2+"/user", s.dcUser)
	if s.opts.DataCenter.UserListEndpoint {
		m.HandleFunc("GET "+v2+"/user/list", s.dcUserList)
	}
	m.HandleFunc("GET "+v2+"/groups/picker", s.dcGroupsPicker)
	m.HandleFunc("GET "+v2+"/group/member", s.groupMember)
	m.HandleFunc("GET "+v2+"/applicationrole", s.applicationRoles)
	m.HandleFunc("GET "+v2+"/project", s.dcProjects)
	m.HandleFunc("GET "+v2+"/project/{project}/role", s.projectRoles)
	m.HandleFunc("GET "+v2+"/project/{project}/role/{id}", s.projectRole)
	m.HandleFunc("GET "+v2+"/project/{project}/permissionscheme", s.projectPermissionScheme)
	m.HandleFunc("GET "+v2+"/permissionscheme/{schemeId}", s.permissionSchemeGet)
	m.HandleFunc("GET "+v2+"/project/{project}/issuesecuritylevelscheme", s.projectSecurityScheme)
	// The Data Center reference (8.x through 9.12) lists only
	// GET /issuesecurityschemes and /issuesecurityschemes/{id}: no level
	// members. A real site answers 404 here unless told otherwise.
	if s.opts.DataCenter.LevelMembersEndpoint {
		m.HandleFunc("GET "+v2+"/issuesecurityschemes/{schemeId}/members", s.securitySchemeMembers)
	}
	m.HandleFunc("GET "+v2+"/search", s.dcSearchGet)
	m.HandleFunc("POST "+v2+"/search", s.dcSearchPost)
	m.HandleFunc("GET "+v2+"/issue/{issueIdOrKey}", s.issueGet)
	m.HandleFunc("GET "+v2+"/issue/{issueIdOrKey}/comment", s.issueComments)
	m.HandleFunc("GET "+v2+"/attachment/{id}", s.attachmentMeta)
	m.HandleFunc("GET /secure/attachment/{id}/{filename}", s.attachmentContent)
	m.HandleFunc("GET /rest/auditing/1.0/events", s.auditEventsDC)
	s.writeRoutes(m, v2)
	m.HandleFunc("GET /secure/useravatar", s.avatar)
	m.HandleFunc("/", apiNotFound)
	return m
}

func apiNotFound(rw http.ResponseWriter, r *http.Request) {
	apiError(rw, http.StatusNotFound, "No resource found at "+r.Method+" "+r.URL.Path+".")
}
