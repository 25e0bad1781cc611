-- PostgreSQL form of ../0009_jsm.sql (h14's migration, merged to main).
-- 0009: Jira Service Management identity, replaced wholesale per connection
-- on every identity sync like the rest of identity: customer organizations
-- with their members, and the organizations added to each service desk.
CREATE TABLE jsm_organizations (
	conn   TEXT COLLATE "C" NOT NULL,
	org_id TEXT COLLATE "C" NOT NULL,
	name   TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (conn, org_id)
);

CREATE TABLE jsm_organization_members (
	conn       TEXT COLLATE "C" NOT NULL,
	org_id     TEXT COLLATE "C" NOT NULL,
	account_id TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (conn, org_id, account_id),
	FOREIGN KEY (conn, org_id) REFERENCES jsm_organizations (conn, org_id) ON DELETE CASCADE
);
CREATE INDEX jsm_organization_members_account ON jsm_organization_members (conn, account_id);

CREATE TABLE jsm_service_desks (
	conn        TEXT COLLATE "C" NOT NULL,
	desk_id     TEXT COLLATE "C" NOT NULL,
	project_id  TEXT COLLATE "C" NOT NULL,
	project_key TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (conn, desk_id)
);

CREATE TABLE jsm_service_desk_organizations (
	conn    TEXT COLLATE "C" NOT NULL,
	desk_id TEXT COLLATE "C" NOT NULL,
	org_id  TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (conn, desk_id, org_id),
	FOREIGN KEY (conn, desk_id) REFERENCES jsm_service_desks (conn, desk_id) ON DELETE CASCADE
);
