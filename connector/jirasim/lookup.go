package jirasim

import (
	"strconv"
	"strings"

	"switchyard"
)

// Locking. World.mu guards everything. The rule for code in this package:
//
//   - Mutation methods (mutate.go) take the write lock themselves; call them
//     WITHOUT holding any lock.
//   - CanSee, State, AdminAccountID take the read lock themselves.
//   - The lookup helpers below (IssueByKey, UserByID, …) and CanSeeLocked do
//     NOT lock: call them between w.RLock() and w.RUnlock() (or under the write
//     lock inside mutations), and do not keep the returned pointers past the
//     unlock — copy what you need to serve a response.

// RLock takes the world's read lock (for the lookup helpers).
func (w *World) RLock() { w.mu.RLock() }

// RUnlock releases the read lock.
func (w *World) RUnlock() { w.mu.RUnlock() }

// reindex rebuilds every lookup map from the slices. Generate calls it once;
// mutations keep the maps in sync incrementally (or call it after bulk change).
func (w *World) reindex() {
	w.issuesByID = make(map[string]*SimIssue, len(w.Issues))
	w.issuesByKey = make(map[string]*SimIssue, len(w.Issues))
	if w.movedKeys == nil {
		w.movedKeys = map[string]string{}
	}
	for _, iss := range w.Issues {
		w.issuesByID[iss.ID] = iss
		w.issuesByKey[iss.Key] = iss
	}
	w.usersByID = make(map[string]*SimUser, len(w.Users))
	for _, u := range w.Users {
		w.usersByID[u.AccountID] = u
	}
	w.groupsByID = make(map[string]*SimGroup, len(w.Groups))
	w.groupsByName = make(map[string]*SimGroup, len(w.Groups))
	for _, g := range w.Groups {
		w.groupsByID[g.ID] = g
		w.groupsByName[strings.ToLower(g.Name)] = g
	}
	w.projectsByID = make(map[string]*SimProject, len(w.Projects))
	w.projectsKey = make(map[string]*SimProject, len(w.Projects))
	for _, p := range w.Projects {
		w.projectsByID[p.ID] = p
		w.projectsKey[p.Key] = p
	}
	w.initCounters()
}

// initCounters fills counters a hand-built world lacks from the data it has,
// so mutations never reuse an id or a key.
func (w *World) initCounters() {
	if w.fieldRequestType == "" {
		w.fieldRequestType, w.fieldParticipants, w.fieldOrganizations = jsmFieldIDs(w.seed)
	}
	if w.keySeq == nil {
		w.keySeq = map[string]int{}
	}
	var maxIssue, maxComment, maxAttach int64 = 9999, 99999, 199999
	for _, iss := range w.Issues {
		if n, err := strconv.ParseInt(iss.ID, 10, 64); err == nil && n > maxIssue {
			maxIssue = n
		}
		if p := w.projectsByID[iss.ProjectID]; p != nil && strings.HasPrefix(iss.Key, p.Key+"-") {
			if n, err := strconv.Atoi(strings.TrimPrefix(iss.Key, p.Key+"-")); err == nil && n > w.keySeq[p.ID] {
				w.keySeq[p.ID] = n
			}
		}
		for _, c := range iss.Comments {
			if n, err := strconv.ParseInt(c.ID, 10, 64); err == nil && n > maxComment {
				maxComment = n
			}
		}
		for _, a := range iss.Attachments {
			if n, err := strconv.ParseInt(a.ID, 10, 64); err == nil && n > maxAttach {
				maxAttach = n
			}
		}
	}
	w.nextIssueID = max(w.nextIssueID, maxIssue+1)
	w.nextCommentID = max(w.nextCommentID, maxComment+1)
	w.nextAttachmentID = max(w.nextAttachmentID, maxAttach+1)
	for _, a := range w.Audit {
		w.nextID = max(w.nextID, a.ID+1)
	}
	w.nextID = max(w.nextID, 1)
	for _, h := range w.Webhooks {
		w.nextWebhookID = max(w.nextWebhookID, h.ID+1)
	}
	w.nextWebhookID = max(w.nextWebhookID, 1)
	for _, iss := range w.Issues {
		if iss.Updated.After(w.clock) {
			w.clock = iss.Updated
		}
	}
}

// Index builds the lookup maps and counters of a World assembled by hand
// (tests, fixtures). Generate does this itself. It takes the write lock.
func (w *World) Index() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.reindex()
}

// ensureIndex builds the maps for a World assembled by hand (tests, fixtures).
// Readers must not be the first to call it concurrently: call Index first.
func (w *World) ensureIndex() {
	if w.issuesByID == nil {
		w.reindex()
	}
}

// IssueByKey returns the issue with this key, following keys of moved issues
// like Jira's redirect; nil when unknown. Read lock required.
func (w *World) IssueByKey(key string) *SimIssue {
	w.ensureIndex()
	key = strings.ToUpper(key)
	if iss := w.issuesByKey[key]; iss != nil {
		return iss
	}
	if id, ok := w.movedKeys[key]; ok {
		return w.issuesByID[id]
	}
	return nil
}

// IssueByIDOrKey resolves a numeric id or a key (Jira accepts both in paths).
// Read lock required.
func (w *World) IssueByIDOrKey(idOrKey string) *SimIssue {
	w.ensureIndex()
	if iss := w.issuesByID[idOrKey]; iss != nil {
		return iss
	}
	return w.IssueByKey(idOrKey)
}

// UserByID returns the user with this account id, or nil. Read lock required.
func (w *World) UserByID(accountID string) *SimUser {
	w.ensureIndex()
	return w.usersByID[accountID]
}

// UserByEmail finds a user by visible or hidden email, case-insensitively; nil
// when none. Read lock required.
func (w *World) UserByEmail(email string) *SimUser {
	if email == "" {
		return nil
	}
	for _, u := range w.Users {
		if strings.EqualFold(u.Email, email) || strings.EqualFold(u.HiddenEmail, email) {
			return u
		}
	}
	return nil
}

// GroupByID returns the group with this id, or nil. Read lock required.
func (w *World) GroupByID(id string) *SimGroup {
	w.ensureIndex()
	return w.groupsByID[id]
}

// GroupByName returns the group with this name (Jira group names are
// case-insensitive), or nil. Read lock required.
func (w *World) GroupByName(name string) *SimGroup {
	w.ensureIndex()
	return w.groupsByName[strings.ToLower(name)]
}

// ProjectByKey returns the project with this key (case-insensitive), or nil.
// Read lock required.
func (w *World) ProjectByKey(key string) *SimProject {
	w.ensureIndex()
	return w.projectsKey[strings.ToUpper(key)]
}

// ProjectByID returns the project with this id, or nil. Read lock required.
func (w *World) ProjectByID(id string) *SimProject {
	w.ensureIndex()
	return w.projectsByID[id]
}

// ProjectByIDOrKey resolves either form, as Jira's paths accept both. Read lock required.
func (w *World) ProjectByIDOrKey(idOrKey string) *SimProject {
	if p := w.ProjectByID(idOrKey); p != nil {
		return p
	}
	return w.ProjectByKey(idOrKey)
}

// GroupsOfUser returns the groups the account is a direct member of, in world
// order. Read lock required.
func (w *World) GroupsOfUser(accountID string) []*SimGroup {
	var out []*SimGroup
	for _, g := range w.Groups {
		for _, m := range g.Members {
			if m == accountID {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// RoleByID returns a project's role, or nil. Read lock required.
func (p *SimProject) RoleByID(id string) *switchyard.ProjectRole {
	for i := range p.Roles {
		if p.Roles[i].ID == id {
			return &p.Roles[i]
		}
	}
	return nil
}

// SecurityLevelByID returns a project's security level, or nil. Read lock required.
func (p *SimProject) SecurityLevelByID(id string) *switchyard.SecurityLevel {
	for i := range p.SecurityLevels {
		if p.SecurityLevels[i].ID == id {
			return &p.SecurityLevels[i]
		}
	}
	return nil
}

// CommentByID returns the issue's comment, or nil. Read lock required.
func (iss *SimIssue) CommentByID(id string) *SimComment {
	for _, c := range iss.Comments {
		if c.ID == id {
			return c
		}
	}
	return nil
}

// AttachmentByID finds an attachment anywhere in the world with its issue; nil
// when unknown. Read lock required.
func (w *World) AttachmentByID(id string) (*SimAttachment, *SimIssue) {
	for _, iss := range w.Issues {
		for _, a := range iss.Attachments {
			if a.ID == id {
				return a, iss
			}
		}
	}
	return nil, nil
}

// SetAdminAccountID names the admin of a hand-built world (Generate sets it).
// The admin is the default actor of mutations. It takes the write lock.
func (w *World) SetAdminAccountID(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.adminAccountID = id
}

// AdminAccountID is the account id of the generated admin (AdminEmail). It
// takes the read lock.
func (w *World) AdminAccountID() string {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.adminAccountID
}
