package connector

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"sort"
	"strconv"
	"strings"

	jira "github.com/andygrunwald/go-jira"

	"switchyard"
)

func toProject(p jira.Project) switchyard.Project {
	return switchyard.Project{ID: p.ID, Key: p.Key, Name: p.Name, LeadAccountID: userID(p.Lead)}
}

// Projects pages through every project the connection can see, without
// roles, grants or levels (see ProjectRoles, BrowseGrants, SecurityLevels).
func (c *Client) Projects(ctx context.Context, fn func([]switchyard.Project) error) error {
	if c.dc() {
		var ps []jira.Project
		if err := c.do(ctx, call{endpoint: "GET /rest/api/2/project"}, http.MethodGet, "/rest/api/2/project?expand=lead", nil, &ps); err != nil {
			return err
		}
		if len(ps) == 0 {
			return nil
		}
		out := make([]switchyard.Project, len(ps))
		for i, p := range ps {
			out[i] = toProject(p)
		}
		return fn(out)
	}
	for start := 0; ; {
		var p pageBean[jira.Project]
		q := fmt.Sprintf("/rest/api/3/project/search?startAt=%d&maxResults=%d&orderBy=key&expand=lead", start, c.page(projectPage))
		if err := c.do(ctx, call{endpoint: "GET /rest/api/3/project/search"}, http.MethodGet, q, nil, &p); err != nil {
			return err
		}
		if len(p.Values) > 0 {
			out := make([]switchyard.Project, len(p.Values))
			for i, v := range p.Values {
				out[i] = toProject(v)
			}
			if err := fn(out); err != nil {
				return err
			}
		}
		if p.last(start) {
			return nil
		}
		start += len(p.Values)
	}
}

func checkKey(field, v string) error {
	if v == "" || strings.ContainsAny(v, "/?#") {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, field, "invalid value %q", v)
	}
	return nil
}

type roleActorJSON struct {
	ID        int64  `json:"id"`
	Type      string `json:"type"`
	Name      string `json:"name"`
	ActorUser *struct {
		AccountID string `json:"accountId"`
	} `json:"actorUser"`
	ActorGroup *struct {
		GroupID string `json:"groupId"`
		Name    string `json:"name"`
	} `json:"actorGroup"`
}

type projectRoleJSON struct {
	ID     int64           `json:"id"`
	Name   string          `json:"name"`
	Actors []roleActorJSON `json:"actors"`
}

// ProjectRoles is every role of a project with its user and group actors.
func (c *Client) ProjectRoles(ctx context.Context, projectKey string) ([]switchyard.ProjectRole, error) {
	if err := checkKey("projectKey", projectKey); err != nil {
		return nil, err
	}
	base := c.v() + "/project/" + url.PathEscape(projectKey) + "/role"
	var links map[string]string // role name → self URL ending in the role id
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/project/{projectIdOrKey}/role"}, http.MethodGet, base, nil, &links); err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(links))
	for name, link := range links {
		id := path.Base(link)
		if _, err := strconv.ParseInt(id, 10, 64); err != nil {
			return nil, fmt.Errorf("GET %s: role %q has no id in %q", base, name, link)
		}
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool {
		return len(ids[i]) < len(ids[j]) || (len(ids[i]) == len(ids[j]) && ids[i] < ids[j])
	})
	roles := make([]switchyard.ProjectRole, 0, len(ids))
	for _, id := range ids {
		var r projectRoleJSON
		err := c.do(ctx, call{endpoint: "GET " + c.v() + "/project/{projectIdOrKey}/role/{id}"}, http.MethodGet, base+"/"+id, nil, &r)
		if errors.Is(err, switchyard.ErrNotFound) {
			continue // removed between the two calls
		}
		if err != nil {
			return nil, err
		}
		pr := switchyard.ProjectRole{ID: strconv.FormatInt(r.ID, 10), Name: r.Name, Actors: switchyard.RoleActors{Users: []string{}, Groups: []string{}}}
		for _, a := range r.Actors {
			switch a.Type {
			case "atlassian-user-role-actor":
				id := ""
				switch {
				case a.ActorUser != nil && a.ActorUser.AccountID != "":
					id = a.ActorUser.AccountID
				case c.dc() && a.Name != "":
					// Data Center names the username; users are keyed by
					// their user key, which differs for most users.
					k, err := c.dcUserKey(ctx, a.Name)
					if err != nil {
						return nil, fmt.Errorf("role %s of %s: user %q: %w", r.Name, projectKey, a.Name, err)
					}
					id = k // "" when the user is gone: the actor grants nobody
				default:
					id = a.Name
				}
				if id != "" {
					pr.Actors.Users = append(pr.Actors.Users, id)
				}
			case "atlassian-group-role-actor":
				id := a.Name // Data Center: the group name
				if a.ActorGroup != nil && a.ActorGroup.GroupID != "" {
					id = a.ActorGroup.GroupID
				}
				if id != "" {
					pr.Actors.Groups = append(pr.Actors.Groups, id)
				}
			}
		}
		roles = append(roles, pr)
	}
	return roles, nil
}

type holderJSON struct {
	Type      string `json:"type"`
	Parameter string `json:"parameter"`
	Value     string `json:"value"`
	// Security-level members may name the user or group only in an
	// expanded object (Cloud example: {"type":"user","user":{…}}).
	User  *userRef `json:"user"`
	Group *struct {
		GroupID string `json:"groupId"`
		Name    string `json:"name"`
	} `json:"group"`
}

// holder maps Jira's permission holder to the domain's. Cloud puts the group
// name in parameter and the group id in value; the domain wants ids. Types
// without a parameter get none; unknown types are kept as they are, so the
// index fails closed on them.
func (h holderJSON) holder() switchyard.Holder {
	p := h.Parameter
	switch h.Type {
	case switchyard.HolderGroup:
		if h.Value != "" {
			p = h.Value
		}
	case switchyard.HolderAnyone, switchyard.HolderProjectLead, switchyard.HolderReporter, switchyard.HolderAssignee, switchyard.HolderSDCustomerPortal:
		p = ""
	default:
		if p == "" {
			p = h.Value
		}
	}
	if p == "" && h.Type == switchyard.HolderUser {
		p = h.User.id()
	}
	if p == "" && h.Type == switchyard.HolderGroup && h.Group != nil {
		p = cmp.Or(h.Group.GroupID, h.Group.Name)
	}
	return switchyard.Holder{Type: h.Type, Parameter: p}
}

// BrowseGrants is the BROWSE_PROJECTS holders of a project's permission scheme.
func (c *Client) BrowseGrants(ctx context.Context, projectKey string) ([]switchyard.Holder, error) {
	if err := checkKey("projectKey", projectKey); err != nil {
		return nil, err
	}
	var ref struct {
		ID int64 `json:"id"`
	}
	p := c.v() + "/project/" + url.PathEscape(projectKey) + "/permissionscheme"
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/project/{projectKeyOrId}/permissionscheme"}, http.MethodGet, p, nil, &ref); err != nil {
		return nil, err
	}
	var scheme struct {
		ID          int64 `json:"id"`
		Permissions []struct {
			Permission string     `json:"permission"`
			Holder     holderJSON `json:"holder"`
		} `json:"permissions"`
	}
	sp := fmt.Sprintf("%s/permissionscheme/%d?expand=permissions", c.v(), ref.ID)
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/permissionscheme/{schemeId}"}, http.MethodGet, sp, nil, &scheme); err != nil {
		return nil, err
	}
	out := []switchyard.Holder{}
	for _, g := range scheme.Permissions {
		if g.Permission == switchyard.PermissionBrowseProject {
			h := g.Holder.holder()
			c.learnHolder(h)
			out = append(out, h)
		}
	}
	return out, nil
}

// ErrLevelMembersUnavailable means Jira named a project's security levels but
// not who is in them. Data Center's REST reference (8.x through 9.12) has no
// level-members resource; SecurityLevels then returns the levels with no
// members (fail closed: nobody sees their issues) and a *LevelMembersError.
var ErrLevelMembersUnavailable = errors.New("issue security level members unavailable")

// LevelMembersError names the scheme whose members could not be read.
type LevelMembersError struct {
	Project    string
	SchemeID   string
	SchemeName string
	Levels     int
	Err        error // the failed members request
}

func (e *LevelMembersError) Error() string {
	return fmt.Sprintf("issue security scheme %q (id %s) of project %s: members not readable (%v); its %d level(s) fail closed: their issues are visible to nobody in search",
		e.SchemeName, e.SchemeID, e.Project, e.Err, e.Levels)
}

func (e *LevelMembersError) Unwrap() []error { return []error{ErrLevelMembersUnavailable, e.Err} }

// SecurityLevels is a project's issue security levels with their members; an
// empty list when the project has no issue security scheme.
//
// Members come from GET …/issuesecurityschemes/{id}/members (Cloud, and Data
// Center sites that have it). Where Data Center answers 404, or either answers
// 403 (no Administer Jira), the levels are returned without members together
// with an error wrapping
// ErrLevelMembersUnavailable: the caller keeps the levels, so issues at them
// are hidden from everyone rather than shown, and says so.
func (c *Client) SecurityLevels(ctx context.Context, projectKey string) ([]switchyard.SecurityLevel, error) {
	if err := checkKey("projectKey", projectKey); err != nil {
		return nil, err
	}
	var scheme struct {
		ID     json64 `json:"id"`
		Name   string `json:"name"`
		Levels []struct {
			ID   json64 `json:"id"`
			Name string `json:"name"`
		} `json:"levels"`
	}
	p := c.v() + "/project/" + url.PathEscape(projectKey) + "/issuesecuritylevelscheme"
	err := c.do(ctx, call{endpoint: "GET " + c.v() + "/project/{projectKeyOrId}/issuesecuritylevelscheme"}, http.MethodGet, p, nil, &scheme)
	if errors.Is(err, switchyard.ErrNotFound) {
		return []switchyard.SecurityLevel{}, nil
	}
	if err != nil {
		return nil, err
	}
	if scheme.ID == "" || len(scheme.Levels) == 0 {
		return []switchyard.SecurityLevel{}, nil
	}
	levels := make([]switchyard.SecurityLevel, len(scheme.Levels))
	byID := map[string]int{}
	for i, l := range scheme.Levels {
		levels[i] = switchyard.SecurityLevel{ID: string(l.ID), Name: l.Name, Members: []switchyard.Holder{}}
		byID[string(l.ID)] = i
	}
	members := map[int][]switchyard.Holder{}
	for start := 0; ; {
		var page pageBean[struct {
			LevelID json64     `json:"issueSecurityLevelId"`
			Holder  holderJSON `json:"holder"`
		}]
		mp := fmt.Sprintf("%s/issuesecurityschemes/%s/members?startAt=%d&maxResults=%d", c.v(), url.PathEscape(string(scheme.ID)), start, c.page(memberPage))
		err := c.do(ctx, call{endpoint: "GET " + c.v() + "/issuesecurityschemes/{issueSecuritySchemeId}/members"}, http.MethodGet, mp, nil, &page)
		if err != nil && membersUnsupported(c.dc(), err) {
			// Fail closed for this scheme only; no member of any page read
			// so far is kept, so a level never grants on half its members.
			return levels, &LevelMembersError{Project: projectKey, SchemeID: string(scheme.ID), SchemeName: scheme.Name, Levels: len(levels), Err: err}
		}
		if err != nil {
			return nil, err
		}
		for _, m := range page.Values {
			if i, ok := byID[string(m.LevelID)]; ok {
				members[i] = append(members[i], m.Holder.holder())
			}
		}
		if page.last(start) {
			break
		}
		start += len(page.Values)
	}
	for i := range levels {
		for _, h := range members[i] {
			c.learnHolder(h)
			levels[i].Members = append(levels[i].Members, h)
		}
	}
	return levels, nil
}

// membersUnsupported reports whether a members request failed because the
// site does not offer it to this caller: 403 (the sync account does not
// administer Jira, on Cloud too) or, on Data Center, 404 (absent, as in
// 8.x–9.x). On Cloud a 404 means the scheme went away: a real error.
func membersUnsupported(dc bool, err error) bool {
	return errors.Is(err, switchyard.ErrForbidden) || (dc && errors.Is(err, switchyard.ErrNotFound))
}
