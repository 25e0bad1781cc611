package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strings"

	"switchyard"
)

func fieldErr(field, format string, args ...any) error {
	return switchyard.FieldErrorf(switchyard.ErrInvalid, field, format, args...)
}

func notFound(format string, args ...any) error {
	return switchyard.Errorf(switchyard.ErrNotFound, format, args...)
}

// ReplaceUsers makes the connection's users exactly users.
func (tx *Tx) ReplaceUsers(ctx context.Context, conn string, users []switchyard.User) error {
	if err := validConn(conn); err != nil {
		return err
	}
	seen := make(map[string]bool, len(users))
	for i, u := range users {
		if u.AccountID == "" {
			return fieldErr(fmt.Sprintf("users[%d].accountId", i), "empty account id")
		}
		if seen[u.AccountID] {
			return fieldErr(fmt.Sprintf("users[%d].accountId", i), "duplicate account id %q", u.AccountID)
		}
		seen[u.AccountID] = true
	}
	if err := tx.bumpIdentity(ctx, conn); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM users WHERE conn = ?`, conn); err != nil {
		return err
	}
	for _, u := range users {
		if _, err := tx.exec(ctx, `INSERT INTO users (conn, account_id, display_name, email, active, account_type) VALUES (?, ?, ?, ?, ?, ?)`,
			conn, u.AccountID, u.DisplayName, nullString(u.Email), u.Active, u.AccountType); err != nil {
			return err
		}
	}
	return nil
}

// ReplaceGroups makes the connection's groups and their members exactly groups.
func (tx *Tx) ReplaceGroups(ctx context.Context, conn string, groups []switchyard.Group) error {
	if err := validConn(conn); err != nil {
		return err
	}
	seen := make(map[string]bool, len(groups))
	for i, g := range groups {
		if g.ID == "" {
			return fieldErr(fmt.Sprintf("groups[%d].groupId", i), "empty group id")
		}
		if seen[g.ID] {
			return fieldErr(fmt.Sprintf("groups[%d].groupId", i), "duplicate group id %q", g.ID)
		}
		seen[g.ID] = true
	}
	if err := tx.bumpIdentity(ctx, conn); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM jira_groups WHERE conn = ?`, conn); err != nil {
		return err
	}
	for _, g := range groups {
		if _, err := tx.exec(ctx, `INSERT INTO jira_groups (conn, group_id, name) VALUES (?, ?, ?)`, conn, g.ID, g.Name); err != nil {
			return err
		}
		for _, m := range g.Members {
			if _, err := tx.exec(ctx, `INSERT OR IGNORE INTO group_members (conn, group_id, account_id) VALUES (?, ?, ?)`, conn, g.ID, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReplaceApplicationRoles makes the connection's application roles exactly roles.
func (tx *Tx) ReplaceApplicationRoles(ctx context.Context, conn string, roles []switchyard.ApplicationRole) error {
	if err := validConn(conn); err != nil {
		return err
	}
	seen := make(map[string]bool, len(roles))
	for i, r := range roles {
		if r.Key == "" {
			return fieldErr(fmt.Sprintf("applicationRoles[%d].key", i), "empty application role key")
		}
		if seen[r.Key] {
			return fieldErr(fmt.Sprintf("applicationRoles[%d].key", i), "duplicate application role %q", r.Key)
		}
		seen[r.Key] = true
	}
	if err := tx.bumpIdentity(ctx, conn); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM app_roles WHERE conn = ?`, conn); err != nil {
		return err
	}
	for _, r := range roles {
		if _, err := tx.exec(ctx, `INSERT INTO app_roles (conn, role_key) VALUES (?, ?)`, conn, r.Key); err != nil {
			return err
		}
		for _, g := range r.Groups {
			if _, err := tx.exec(ctx, `INSERT OR IGNORE INTO app_role_groups (conn, role_key, group_id) VALUES (?, ?, ?)`, conn, r.Key, g); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReplaceProjects makes the connection's projects exactly projects, each with
// its roles and actors, browse grants and security levels with members.
func (tx *Tx) ReplaceProjects(ctx context.Context, conn string, projects []switchyard.Project) error {
	if err := validConn(conn); err != nil {
		return err
	}
	seen := make(map[string]bool, len(projects))
	for i, p := range projects {
		f := fmt.Sprintf("projects[%d]", i)
		if p.ID == "" || p.Key == "" {
			return fieldErr(f, "project needs an id and a key (id %q, key %q)", p.ID, p.Key)
		}
		if seen[p.ID] {
			return fieldErr(f+".id", "duplicate project id %q", p.ID)
		}
		seen[p.ID] = true
		roles := map[string]bool{}
		for j, r := range p.Roles {
			if r.ID == "" || roles[r.ID] {
				return fieldErr(fmt.Sprintf("%s.roles[%d].id", f, j), "empty or duplicate role id %q in project %s", r.ID, p.Key)
			}
			roles[r.ID] = true
		}
		levels := map[string]bool{}
		for j, l := range p.SecurityLevels {
			if l.ID == "" || levels[l.ID] {
				return fieldErr(fmt.Sprintf("%s.securityLevels[%d].id", f, j), "empty or duplicate security level id %q in project %s", l.ID, p.Key)
			}
			levels[l.ID] = true
		}
	}
	if err := tx.bumpIdentity(ctx, conn); err != nil {
		return err
	}
	// Cascades remove roles, actors, grants and levels.
	if _, err := tx.exec(ctx, `DELETE FROM projects WHERE conn = ?`, conn); err != nil {
		return err
	}
	for _, p := range projects {
		if _, err := tx.exec(ctx, `INSERT INTO projects (conn, id, key, name, lead_account_id) VALUES (?, ?, ?, ?, ?)`,
			conn, p.ID, p.Key, p.Name, p.LeadAccountID); err != nil {
			return err
		}
		for _, r := range p.Roles {
			if _, err := tx.exec(ctx, `INSERT INTO project_roles (conn, project_id, role_id, name) VALUES (?, ?, ?, ?)`,
				conn, p.ID, r.ID, r.Name); err != nil {
				return err
			}
			for _, u := range r.Actors.Users {
				if _, err := tx.exec(ctx, `INSERT OR IGNORE INTO role_actors (conn, project_id, role_id, actor_type, actor_id) VALUES (?, ?, ?, 'user', ?)`,
					conn, p.ID, r.ID, u); err != nil {
					return err
				}
			}
			for _, g := range r.Actors.Groups {
				if _, err := tx.exec(ctx, `INSERT OR IGNORE INTO role_actors (conn, project_id, role_id, actor_type, actor_id) VALUES (?, ?, ?, 'group', ?)`,
					conn, p.ID, r.ID, g); err != nil {
					return err
				}
			}
		}
		for i, h := range p.Browse {
			if _, err := tx.exec(ctx, `INSERT INTO browse_grants (conn, project_id, pos, holder_type, parameter) VALUES (?, ?, ?, ?, ?)`,
				conn, p.ID, i, h.Type, h.Parameter); err != nil {
				return err
			}
		}
		for _, l := range p.SecurityLevels {
			if _, err := tx.exec(ctx, `INSERT INTO security_levels (conn, project_id, level_id, name) VALUES (?, ?, ?, ?)`,
				conn, p.ID, l.ID, l.Name); err != nil {
				return err
			}
			for i, h := range l.Members {
				if _, err := tx.exec(ctx, `INSERT INTO security_level_members (conn, project_id, level_id, pos, holder_type, parameter) VALUES (?, ?, ?, ?, ?, ?)`,
					conn, p.ID, l.ID, i, h.Type, h.Parameter); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// ReplaceUsers makes the connection's users exactly users, in one transaction.
func (db *DB) ReplaceUsers(ctx context.Context, conn string, users []switchyard.User) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.ReplaceUsers(ctx, conn, users) })
}

// ReplaceGroups makes the connection's groups exactly groups, in one transaction.
func (db *DB) ReplaceGroups(ctx context.Context, conn string, groups []switchyard.Group) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.ReplaceGroups(ctx, conn, groups) })
}

// ReplaceApplicationRoles makes the connection's application roles exactly roles.
func (db *DB) ReplaceApplicationRoles(ctx context.Context, conn string, roles []switchyard.ApplicationRole) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.ReplaceApplicationRoles(ctx, conn, roles) })
}

// ReplaceProjects makes the connection's projects exactly projects, in one transaction.
func (db *DB) ReplaceProjects(ctx context.Context, conn string, projects []switchyard.Project) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.ReplaceProjects(ctx, conn, projects) })
}

func (tx *Tx) bumpIdentity(ctx context.Context, conn string) error {
	_, err := tx.exec(ctx, `INSERT INTO connections (conn, identity_version, updated_ms) VALUES (?, 1, ?)
		ON CONFLICT (conn) DO UPDATE SET identity_version = connections.identity_version + 1`, conn, tx.now.UnixMilli())
	return err
}

// IdentityVersion is a number that changes whenever the connection's users,
// groups, application roles or projects (roles, grants, levels) are
// replaced: a reader may cache what it computed from them until it changes.
func (db *DB) IdentityVersion(ctx context.Context, conn string) (int64, error) {
	var v int64
	err := db.queryRow(ctx, `SELECT identity_version FROM connections WHERE conn = ?`, conn).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, db.wrap("identity version", err)
	}
	return v, nil
}

const userCols = `account_id, display_name, email, active, account_type`

func scanUser(row interface{ Scan(...any) error }) (switchyard.User, error) {
	var u switchyard.User
	var email sql.NullString
	err := row.Scan(&u.AccountID, &u.DisplayName, &email, &u.Active, &u.AccountType)
	u.Email = email.String
	return u, err
}

// User returns the connection's user with that account id, or ErrNotFound.
func (db *DB) User(ctx context.Context, conn, accountID string) (switchyard.User, error) {
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE conn = ? AND account_id = ?`, conn, accountID))
	if errors.Is(err, sql.ErrNoRows) {
		return u, notFound("no user with account id %q in connection %q", accountID, conn)
	}
	if err != nil {
		return u, db.wrap("user", err)
	}
	return u, nil
}

// UserByEmail returns the connection's user with that email (case-insensitive),
// or ErrNotFound. Users who hide their email cannot be found this way.
func (db *DB) UserByEmail(ctx context.Context, conn, email string) (switchyard.User, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return switchyard.User{}, fieldErr("email", "empty email")
	}
	// Two accounts may share an email (e.g. an app and a person); prefer an
	// active atlassian account deterministically.
	u, err := scanUser(db.queryRow(ctx, `SELECT `+userCols+` FROM users
		WHERE conn = ? AND email = ? COLLATE NOCASE
		ORDER BY active DESC, account_type = 'atlassian' DESC, account_id LIMIT 1`, conn, email))
	if errors.Is(err, sql.ErrNoRows) {
		return u, notFound("no user with email %q in connection %q", email, conn)
	}
	if err != nil {
		return u, db.wrap("user by email", err)
	}
	return u, nil
}

// Users returns the connection's users ordered by account id.
func (db *DB) Users(ctx context.Context, conn string) ([]switchyard.User, error) {
	rows, err := db.query(ctx, `SELECT `+userCols+` FROM users WHERE conn = ? ORDER BY account_id`, conn)
	if err != nil {
		return nil, db.wrap("users", err)
	}
	defer rows.Close()
	var out []switchyard.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, db.wrap("users", err)
		}
		out = append(out, u)
	}
	return out, db.wrap("users", rows.Err())
}

// GroupsOfUser returns the ids of the connection's groups the account is a
// direct member of, sorted.
func (db *DB) GroupsOfUser(ctx context.Context, conn, accountID string) ([]string, error) {
	return db.strings(ctx, "groups of user",
		`SELECT group_id FROM group_members WHERE conn = ? AND account_id = ? ORDER BY group_id`, conn, accountID)
}

// Groups returns the connection's groups with their members, ordered by id.
func (db *DB) Groups(ctx context.Context, conn string) ([]switchyard.Group, error) {
	rows, err := db.query(ctx, `SELECT g.group_id, g.name, m.account_id FROM jira_groups g
		LEFT JOIN group_members m ON m.conn = g.conn AND m.group_id = g.group_id
		WHERE g.conn = ? ORDER BY g.group_id, m.account_id`, conn)
	if err != nil {
		return nil, db.wrap("groups", err)
	}
	defer rows.Close()
	var out []switchyard.Group
	for rows.Next() {
		var id, name string
		var member sql.NullString
		if err := rows.Scan(&id, &name, &member); err != nil {
			return nil, db.wrap("groups", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, switchyard.Group{ID: id, Name: name, Members: []string{}})
		}
		if member.Valid {
			g := &out[len(out)-1]
			g.Members = append(g.Members, member.String)
		}
	}
	return out, db.wrap("groups", rows.Err())
}

// ApplicationRoles returns the connection's application roles with their
// group ids, ordered by key.
func (db *DB) ApplicationRoles(ctx context.Context, conn string) ([]switchyard.ApplicationRole, error) {
	rows, err := db.query(ctx, `SELECT r.role_key, g.group_id FROM app_roles r
		LEFT JOIN app_role_groups g ON g.conn = r.conn AND g.role_key = r.role_key
		WHERE r.conn = ? ORDER BY r.role_key, g.group_id`, conn)
	if err != nil {
		return nil, db.wrap("application roles", err)
	}
	defer rows.Close()
	var out []switchyard.ApplicationRole
	for rows.Next() {
		var key string
		var group sql.NullString
		if err := rows.Scan(&key, &group); err != nil {
			return nil, db.wrap("application roles", err)
		}
		if len(out) == 0 || out[len(out)-1].Key != key {
			out = append(out, switchyard.ApplicationRole{Key: key, Groups: []string{}})
		}
		if group.Valid {
			r := &out[len(out)-1]
			r.Groups = append(r.Groups, group.String)
		}
	}
	return out, db.wrap("application roles", rows.Err())
}

// Projects returns the connection's projects, ordered by key, each complete:
// roles with actors, browse grants (in stored order) and security levels with
// members. The index computes permissions from these at query time.
func (db *DB) Projects(ctx context.Context, conn string) ([]switchyard.Project, error) {
	// One read transaction so that the five queries see one snapshot even while
	// an identity sync replaces the projects.
	rtx, err := db.read.BeginTx(ctx, nil)
	if err != nil {
		return nil, db.wrap("projects", err)
	}
	defer rtx.Rollback()
	q := func(query string, scan func(*sql.Rows) error) error {
		ps, err := db.readStmt(ctx, query)
		if err != nil {
			return db.wrap("projects", err)
		}
		rows, err := rtx.StmtContext(ctx, ps).QueryContext(ctx, conn)
		if err != nil {
			return db.wrap("projects", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return db.wrap("projects", err)
			}
		}
		return db.wrap("projects", rows.Err())
	}

	var out []switchyard.Project
	idx := map[string]int{}
	err = q(`SELECT id, key, name, lead_account_id FROM projects WHERE conn = ? ORDER BY key, id`, func(r *sql.Rows) error {
		p := switchyard.Project{Roles: []switchyard.ProjectRole{}, Browse: []switchyard.Holder{}, SecurityLevels: []switchyard.SecurityLevel{}}
		if err := r.Scan(&p.ID, &p.Key, &p.Name, &p.LeadAccountID); err != nil {
			return err
		}
		idx[p.ID] = len(out)
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, err
	}
	roleIdx := map[[2]string]int{}
	err = q(`SELECT project_id, role_id, name FROM project_roles WHERE conn = ? ORDER BY project_id, role_id`, func(r *sql.Rows) error {
		var pid string
		role := switchyard.ProjectRole{Actors: switchyard.RoleActors{Users: []string{}, Groups: []string{}}}
		if err := r.Scan(&pid, &role.ID, &role.Name); err != nil {
			return err
		}
		p := &out[idx[pid]]
		roleIdx[[2]string{pid, role.ID}] = len(p.Roles)
		p.Roles = append(p.Roles, role)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT project_id, role_id, actor_type, actor_id FROM role_actors WHERE conn = ? ORDER BY project_id, role_id, actor_type, actor_id`, func(r *sql.Rows) error {
		var pid, rid, typ, actor string
		if err := r.Scan(&pid, &rid, &typ, &actor); err != nil {
			return err
		}
		role := &out[idx[pid]].Roles[roleIdx[[2]string{pid, rid}]]
		if typ == "user" {
			role.Actors.Users = append(role.Actors.Users, actor)
		} else {
			role.Actors.Groups = append(role.Actors.Groups, actor)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT project_id, holder_type, parameter FROM browse_grants WHERE conn = ? ORDER BY project_id, pos`, func(r *sql.Rows) error {
		var pid string
		var h switchyard.Holder
		if err := r.Scan(&pid, &h.Type, &h.Parameter); err != nil {
			return err
		}
		p := &out[idx[pid]]
		p.Browse = append(p.Browse, h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	levelIdx := map[[2]string]int{}
	err = q(`SELECT project_id, level_id, name FROM security_levels WHERE conn = ? ORDER BY project_id, level_id`, func(r *sql.Rows) error {
		var pid string
		l := switchyard.SecurityLevel{Members: []switchyard.Holder{}}
		if err := r.Scan(&pid, &l.ID, &l.Name); err != nil {
			return err
		}
		p := &out[idx[pid]]
		levelIdx[[2]string{pid, l.ID}] = len(p.SecurityLevels)
		p.SecurityLevels = append(p.SecurityLevels, l)
		return nil
	})
	if err != nil {
		return nil, err
	}
	err = q(`SELECT project_id, level_id, holder_type, parameter FROM security_level_members WHERE conn = ? ORDER BY project_id, level_id, pos`, func(r *sql.Rows) error {
		var pid, lid string
		var h switchyard.Holder
		if err := r.Scan(&pid, &lid, &h.Type, &h.Parameter); err != nil {
			return err
		}
		l := &out[idx[pid]].SecurityLevels[levelIdx[[2]string{pid, lid}]]
		l.Members = append(l.Members, h)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Project returns one project by id or key, complete, or ErrNotFound.
func (db *DB) Project(ctx context.Context, conn, idOrKey string) (switchyard.Project, error) {
	ps, err := db.Projects(ctx, conn)
	if err != nil {
		return switchyard.Project{}, err
	}
	for _, p := range ps {
		if p.ID == idOrKey || p.Key == idOrKey {
			return p, nil
		}
	}
	return switchyard.Project{}, notFound("no project %q in connection %q", idOrKey, conn)
}

// Connections returns the names of every connection with any stored state, sorted.
func (db *DB) Connections(ctx context.Context) ([]string, error) {
	names, err := db.strings(ctx, "connections", `SELECT conn FROM connections
		UNION SELECT DISTINCT conn FROM users UNION SELECT DISTINCT conn FROM projects
		UNION SELECT DISTINCT conn FROM issues UNION SELECT DISTINCT conn FROM sync_runs`)
	sort.Strings(names)
	return names, err
}

func (db *DB) strings(ctx context.Context, op, query string, args ...any) ([]string, error) {
	rows, err := db.query(ctx, query, args...)
	if err != nil {
		return nil, db.wrap(op, err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, db.wrap(op, err)
		}
		out = append(out, s)
	}
	return out, db.wrap(op, rows.Err())
}

// FindAccount finds a synced Jira account by account id or, when name has
// an @, by e-mail, in any connection (people are the same across the
// connections of one site; the first match by connection name wins). An
// unknown name is ErrNotFound.
func (db *DB) FindAccount(ctx context.Context, name string) (switchyard.User, error) {
	name = strings.TrimSpace(name)
	if name == "" {
		return switchyard.User{}, fieldErr("account", "empty account")
	}
	q := `SELECT ` + userCols + ` FROM users WHERE account_id = ? ORDER BY conn LIMIT 1`
	if strings.Contains(name, "@") {
		q = `SELECT ` + userCols + ` FROM users WHERE email = ? COLLATE NOCASE
			ORDER BY conn, active DESC, account_type = 'atlassian' DESC, account_id LIMIT 1`
	}
	u, err := scanUser(db.queryRow(ctx, q, name))
	if errors.Is(err, sql.ErrNoRows) {
		return u, notFound("no synced Jira user %q (give an account id, or the e-mail of a user whose e-mail is visible; sync first)", name)
	}
	if err != nil {
		return u, db.wrap("find account", err)
	}
	return u, nil
}
