package jirasim

import (
	"slices"

	"switchyard"
)

// The oracle answers "may account A see issue K / comment C" straight from the
// world, following the rules at the end of shared/jira/sim-state.md. It is the
// reference the index's permission filter is tested against, so it is written
// plainly, rule by rule, with no caching and no shared code from index/.

// CanSee reports whether accountID may see the issue (by key, old key or id)
// and, when commentID is not empty, that comment of it. Unknown issues and
// comments are not visible. It takes the read lock.
func (w *World) CanSee(accountID, issueKeyOrID, commentID string) bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	iss := w.IssueByIDOrKey(issueKeyOrID)
	if iss == nil {
		return false
	}
	var c *SimComment
	if commentID != "" {
		if c = iss.CommentByID(commentID); c == nil {
			return false
		}
	}
	return w.CanSeeLocked(accountID, iss, c)
}

// CanSeeLocked is CanSee for callers that already hold the lock and have the
// issue (and optionally a comment, nil for the issue alone). Attachments
// follow their issue.
func (w *World) CanSeeLocked(accountID string, iss *SimIssue, c *SimComment) bool {
	user := w.UserByID(accountID)
	// Inactive users see nothing at all.
	if user != nil && !user.Active {
		return false
	}
	project := w.ProjectByID(iss.ProjectID)
	if project == nil {
		return false
	}

	// At least one BROWSE_PROJECTS holder must match.
	if !w.anyHolderMatches(project.Browse, user, project, iss) {
		return false
	}
	// With a security level, at least one member of that level must match too.
	if iss.SecurityLevelID != "" {
		var level *switchyard.SecurityLevel
		for i := range project.SecurityLevels {
			if project.SecurityLevels[i].ID == iss.SecurityLevelID {
				level = &project.SecurityLevels[i]
			}
		}
		if level == nil || !w.anyHolderMatches(level.Members, user, project, iss) {
			return false // a level the project does not define admits nobody
		}
	}
	if c != nil && c.Internal() && w.isCustomer(user) {
		return false // customers never see internal notes
	}
	if c == nil || c.Visibility == nil {
		return true
	}
	// A restricted comment additionally needs its group (by id) or role (by name).
	if user == nil {
		return false
	}
	switch c.Visibility.Type {
	case "group":
		return w.inGroup(user.AccountID, c.Visibility.Identifier)
	case "role":
		for i := range project.Roles {
			if project.Roles[i].Name == c.Visibility.Identifier && w.holdsRole(user.AccountID, &project.Roles[i]) {
				return true
			}
		}
		return false
	}
	return false
}

func (w *World) anyHolderMatches(holders []switchyard.Holder, user *SimUser, p *SimProject, iss *SimIssue) bool {
	for _, h := range holders {
		if w.holderMatches(h, user, p, iss) {
			return true
		}
	}
	return false
}

// holderMatches applies one holder. user is nil for no user or an unknown one,
// which only "anyone" admits. Unknown holder types grant nothing.
func (w *World) holderMatches(h switchyard.Holder, user *SimUser, p *SimProject, iss *SimIssue) bool {
	if w.isCustomer(user) {
		// A portal customer reaches requests only through the portal grant
		// (not even "anyone"): as reporter, participant, or member of an
		// organization the request is shared with (added to the project's
		// service desk).
		return h.Type == switchyard.HolderSDCustomerPortal && w.customerReaches(user.AccountID, p, iss)
	}
	if h.Type == switchyard.HolderAnyone {
		return true
	}
	if user == nil {
		return false
	}
	id := user.AccountID
	switch h.Type {
	case switchyard.HolderApplicationRole:
		for _, ar := range w.ApplicationRoles {
			if h.Parameter != "" && ar.Key != h.Parameter {
				continue
			}
			for _, gid := range ar.Groups {
				if w.inGroup(id, gid) {
					return true
				}
			}
		}
		return false
	case switchyard.HolderGroup:
		return w.inGroup(id, h.Parameter)
	case switchyard.HolderProjectRole:
		for i := range p.Roles {
			if p.Roles[i].ID == h.Parameter && w.holdsRole(id, &p.Roles[i]) {
				return true
			}
		}
		return false
	case switchyard.HolderUser:
		return h.Parameter == id
	case switchyard.HolderProjectLead:
		return p.LeadAccountID == id
	case switchyard.HolderReporter:
		return iss.Reporter == id
	case switchyard.HolderAssignee:
		return iss.Assignee == id
	case switchyard.HolderUserCustomField:
		return slices.Contains(iss.CustomFields[h.Parameter], id)
	case switchyard.HolderGroupCustomField:
		for _, gid := range iss.CustomFields[h.Parameter] {
			if w.inGroup(id, gid) {
				return true
			}
		}
		return false
	}
	// sd.customer.portal.only (for anyone but customers) and anything
	// unknown: never (fail closed).
	return false
}

// inGroup reports direct membership of the group with this id.
func (w *World) inGroup(accountID, groupID string) bool {
	for _, g := range w.Groups {
		if g.ID == groupID {
			return slices.Contains(g.Members, accountID)
		}
	}
	return false
}

// holdsRole: a user actor of the role, or a member of one of its group actors.
func (w *World) holdsRole(accountID string, role *switchyard.ProjectRole) bool {
	if slices.Contains(role.Actors.Users, accountID) {
		return true
	}
	for _, gid := range role.Actors.Groups {
		if w.inGroup(accountID, gid) {
			return true
		}
	}
	return false
}
