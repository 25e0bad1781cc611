-- 0009: Jira Service Management identity, replaced wholesale per connection
-- on every identity sync like the rest of identity: customer organizations
-- with their members, and the organizations added to each service desk.
CREATE TABLE jsm_organizations (
	conn   TEXT NOT NULL,
	org_id TEXT NOT NULL,
	name   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (conn, org_id)
) WITHOUT ROWID;

CREATE TABLE jsm_organization_members (
	conn       TEXT NOT NULL,
	org_id     TEXT NOT NULL,
	account_id TEXT NOT NULL,
	PRIMARY KEY (conn, org_id, account_id),
	FOREIGN KEY (conn, org_id) REFERENCES jsm_organizations (conn, org_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX jsm_organization_members_account ON jsm_organization_members (conn, account_id);

CREATE TABLE jsm_service_desks (
	conn        TEXT NOT NULL,
	desk_id     TEXT NOT NULL,
	project_id  TEXT NOT NULL,
	project_key TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (conn, desk_id)
) WITHOUT ROWID;

CREATE TABLE jsm_service_desk_organizations (
	conn    TEXT NOT NULL,
	desk_id TEXT NOT NULL,
	org_id  TEXT NOT NULL,
	PRIMARY KEY (conn, desk_id, org_id),
	FOREIGN KEY (conn, desk_id) REFERENCES jsm_service_desks (conn, desk_id) ON DELETE CASCADE
) WITHOUT ROWID;
