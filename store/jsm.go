package store

import (
	"context"
	"database/sql"
	"fmt"

	"switchyard"
)

// Jira Service Management identity: organizations with members and service
// desks with their organizations. Replacing either bumps the identity
// version, so permission caches reload and membership changes take effect
// without re-indexing.

// ReplaceOrganizations makes the connection's organizations exactly orgs.
func (tx *Tx) ReplaceOrganizations(ctx context.Context, conn string, orgs []switchyard.Organization) error {
	if err := validConn(conn); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, o := range orgs {
		if o.ID == "" || seen[o.ID] {
			return fieldErr(fmt.Sprintf("organizations[%d].id", i), "empty or duplicate organization id %q", o.ID)
		}
		seen[o.ID] = true
	}
	if err := tx.bumpIdentity(ctx, conn); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM jsm_organizations WHERE conn = ?`, conn); err != nil {
		return err
	}
	for _, o := range orgs {
		if _, err := tx.exec(ctx, `INSERT INTO jsm_organizations (conn, org_id, name) VALUES (?, ?, ?)`, conn, o.ID, o.Name); err != nil {
			return err
		}
		for _, m := range o.Members {
			if _, err := tx.exec(ctx, `INSERT OR IGNORE INTO jsm_organization_members (conn, org_id, account_id) VALUES (?, ?, ?)`, conn, o.ID, m); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReplaceServiceDesks makes the connection's service desks exactly desks.
func (tx *Tx) ReplaceServiceDesks(ctx context.Context, conn string, desks []switchyard.ServiceDesk) error {
	if err := validConn(conn); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, d := range desks {
		if d.ID == "" || d.ProjectID == "" || seen[d.ID] {
			return fieldErr(fmt.Sprintf("serviceDesks[%d]", i), "service desk needs a unique id and a project id (id %q, project %q)", d.ID, d.ProjectID)
		}
		for j, rt := range d.RequestTypes {
			if rt.ID == "" {
				return fieldErr(fmt.Sprintf("serviceDesks[%d].requestTypes[%d].id", i, j), "empty request type id on service desk %q", d.ID)
			}
		}
		seen[d.ID] = true
	}
	if err := tx.bumpIdentity(ctx, conn); err != nil {
		return err
	}
	if _, err := tx.exec(ctx, `DELETE FROM jsm_service_desks WHERE conn = ?`, conn); err != nil {
		return err
	}
	for _, d := range desks {
		if _, err := tx.exec(ctx, `INSERT INTO jsm_service_desks (conn, desk_id, project_id, project_key) VALUES (?, ?, ?, ?)`,
			conn, d.ID, d.ProjectID, d.ProjectKey); err != nil {
			return err
		}
		for _, o := range d.Organizations {
			if _, err := tx.exec(ctx, `INSERT OR IGNORE INTO jsm_service_desk_organizations (conn, desk_id, org_id) VALUES (?, ?, ?)`, conn, d.ID, o); err != nil {
				return err
			}
		}
		for _, rt := range d.RequestTypes {
			if _, err := tx.exec(ctx, `INSERT INTO jsm_request_types (conn, desk_id, rt_id, name, issue_type_id) VALUES (?, ?, ?, ?, ?)
				ON CONFLICT (conn, desk_id, rt_id) DO UPDATE SET name = excluded.name, issue_type_id = excluded.issue_type_id`,
				conn, d.ID, rt.ID, rt.Name, rt.IssueTypeID); err != nil {
				return err
			}
		}
	}
	return nil
}

// ReplaceOrganizations is the one-transaction form.
func (db *DB) ReplaceOrganizations(ctx context.Context, conn string, orgs []switchyard.Organization) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.ReplaceOrganizations(ctx, conn, orgs) })
}

// ReplaceServiceDesks is the one-transaction form.
func (db *DB) ReplaceServiceDesks(ctx context.Context, conn string, desks []switchyard.ServiceDesk) error {
	return db.Tx(ctx, func(tx *Tx) error { return tx.ReplaceServiceDesks(ctx, conn, desks) })
}

// OrganizationsOfUser lists the organizations the account is a member of.
func (db *DB) OrganizationsOfUser(ctx context.Context, conn, accountID string) ([]string, error) {
	return db.strings(ctx, "organizations of user",
		`SELECT org_id FROM jsm_organization_members WHERE conn = ? AND account_id = ? ORDER BY org_id`, conn, accountID)
}

// Organizations returns the connection's organizations with members, by id.
func (db *DB) Organizations(ctx context.Context, conn string) ([]switchyard.Organization, error) {
	rows, err := db.query(ctx, `SELECT o.org_id, o.name, m.account_id FROM jsm_organizations o
		LEFT JOIN jsm_organization_members m ON m.conn = o.conn AND m.org_id = o.org_id
		WHERE o.conn = ? ORDER BY o.org_id, m.account_id`, conn)
	if err != nil {
		return nil, db.wrap("organizations", err)
	}
	defer rows.Close()
	var out []switchyard.Organization
	for rows.Next() {
		var id, name string
		var member sql.NullString
		if err := rows.Scan(&id, &name, &member); err != nil {
			return nil, db.wrap("organizations", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, switchyard.Organization{ID: id, Name: name, Members: []string{}})
		}
		if member.Valid {
			o := &out[len(out)-1]
			o.Members = append(o.Members, member.String)
		}
	}
	return out, db.wrap("organizations", rows.Err())
}

// ServiceDesks returns the connection's service desks with their organizations.
func (db *DB) ServiceDesks(ctx context.Context, conn string) ([]switchyard.ServiceDesk, error) {
	rows, err := db.query(ctx, `SELECT d.desk_id, d.project_id, d.project_key, o.org_id FROM jsm_service_desks d
		LEFT JOIN jsm_service_desk_organizations o ON o.conn = d.conn AND o.desk_id = d.desk_id
		WHERE d.conn = ? ORDER BY d.desk_id, o.org_id`, conn)
	if err != nil {
		return nil, db.wrap("service desks", err)
	}
	defer rows.Close()
	var out []switchyard.ServiceDesk
	for rows.Next() {
		var id, project, key string
		var org sql.NullString
		if err := rows.Scan(&id, &project, &key, &org); err != nil {
			return nil, db.wrap("service desks", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, switchyard.ServiceDesk{ID: id, ProjectID: project, ProjectKey: key, Organizations: []string{}})
		}
		if org.Valid {
			d := &out[len(out)-1]
			d.Organizations = append(d.Organizations, org.String)
		}
	}
	return out, db.wrap("service desks", rows.Err())
}

// DeskRequestType is a stored request type with its desk and project.
type DeskRequestType struct {
	switchyard.RequestType
	DeskID    string
	ProjectID string
}

// RequestTypes returns the connection's request types, by desk then id.
func (db *DB) RequestTypes(ctx context.Context, conn string) ([]DeskRequestType, error) {
	rows, err := db.query(ctx, `SELECT r.desk_id, d.project_id, r.rt_id, r.name, r.issue_type_id FROM jsm_request_types r
		JOIN jsm_service_desks d ON d.conn = r.conn AND d.desk_id = r.desk_id
		WHERE r.conn = ? ORDER BY r.desk_id, r.rt_id`, conn)
	if err != nil {
		return nil, db.wrap("request types", err)
	}
	defer rows.Close()
	var out []DeskRequestType
	for rows.Next() {
		var rt DeskRequestType
		if err := rows.Scan(&rt.DeskID, &rt.ProjectID, &rt.ID, &rt.Name, &rt.IssueTypeID); err != nil {
			return nil, db.wrap("request types", err)
		}
		out = append(out, rt)
	}
	return out, db.wrap("request types", rows.Err())
}
