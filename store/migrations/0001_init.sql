-- 0001: the whole first schema. Every Jira entity is scoped by connection
-- name (conn); times are Unix milliseconds, UTC.

-- Identity: replaced wholesale per connection on every identity sync.
CREATE TABLE users (
	conn         TEXT NOT NULL,
	account_id   TEXT NOT NULL,
	display_name TEXT NOT NULL DEFAULT '',
	email        TEXT,
	active       INTEGER NOT NULL DEFAULT 1,
	account_type TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (conn, account_id)
) WITHOUT ROWID;
CREATE INDEX users_email ON users (conn, email COLLATE NOCASE);

CREATE TABLE jira_groups (
	conn     TEXT NOT NULL,
	group_id TEXT NOT NULL,
	name     TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (conn, group_id)
) WITHOUT ROWID;

CREATE TABLE group_members (
	conn       TEXT NOT NULL,
	group_id   TEXT NOT NULL,
	account_id TEXT NOT NULL,
	PRIMARY KEY (conn, group_id, account_id),
	FOREIGN KEY (conn, group_id) REFERENCES jira_groups (conn, group_id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX group_members_account ON group_members (conn, account_id);

CREATE TABLE app_roles (
	conn     TEXT NOT NULL,
	role_key TEXT NOT NULL,
	PRIMARY KEY (conn, role_key)
) WITHOUT ROWID;

CREATE TABLE app_role_groups (
	conn     TEXT NOT NULL,
	role_key TEXT NOT NULL,
	group_id TEXT NOT NULL,
	PRIMARY KEY (conn, role_key, group_id),
	FOREIGN KEY (conn, role_key) REFERENCES app_roles (conn, role_key) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE projects (
	conn            TEXT NOT NULL,
	id              TEXT NOT NULL,
	key             TEXT NOT NULL,
	name            TEXT NOT NULL DEFAULT '',
	lead_account_id TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (conn, id)
) WITHOUT ROWID;
CREATE INDEX projects_key ON projects (conn, key);

CREATE TABLE project_roles (
	conn       TEXT NOT NULL,
	project_id TEXT NOT NULL,
	role_id    TEXT NOT NULL,
	name       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (conn, project_id, role_id),
	FOREIGN KEY (conn, project_id) REFERENCES projects (conn, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE role_actors (
	conn       TEXT NOT NULL,
	project_id TEXT NOT NULL,
	role_id    TEXT NOT NULL,
	actor_type TEXT NOT NULL CHECK (actor_type IN ('user', 'group')),
	actor_id   TEXT NOT NULL,
	PRIMARY KEY (conn, project_id, role_id, actor_type, actor_id),
	FOREIGN KEY (conn, project_id, role_id) REFERENCES project_roles (conn, project_id, role_id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE browse_grants (
	conn        TEXT NOT NULL,
	project_id  TEXT NOT NULL,
	pos         INTEGER NOT NULL,
	holder_type TEXT NOT NULL,
	parameter   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (conn, project_id, pos),
	FOREIGN KEY (conn, project_id) REFERENCES projects (conn, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE security_levels (
	conn       TEXT NOT NULL,
	project_id TEXT NOT NULL,
	level_id   TEXT NOT NULL,
	name       TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (conn, project_id, level_id),
	FOREIGN KEY (conn, project_id) REFERENCES projects (conn, id) ON DELETE CASCADE
) WITHOUT ROWID;

CREATE TABLE security_level_members (
	conn        TEXT NOT NULL,
	project_id  TEXT NOT NULL,
	level_id    TEXT NOT NULL,
	pos         INTEGER NOT NULL,
	holder_type TEXT NOT NULL,
	parameter   TEXT NOT NULL DEFAULT '',
	PRIMARY KEY (conn, project_id, level_id, pos),
	FOREIGN KEY (conn, project_id, level_id) REFERENCES security_levels (conn, project_id, level_id) ON DELETE CASCADE
) WITHOUT ROWID;

-- Content: upserted per issue; comments and attachments follow their issue.
CREATE TABLE issues (
	conn              TEXT NOT NULL,
	id                TEXT NOT NULL,
	key               TEXT NOT NULL,
	project_id        TEXT NOT NULL,
	project_key       TEXT NOT NULL DEFAULT '',
	summary           TEXT NOT NULL DEFAULT '',
	status            TEXT NOT NULL DEFAULT '',
	updated_ms        INTEGER NOT NULL DEFAULT 0,
	security_level_id TEXT NOT NULL DEFAULT '',
	reporter          TEXT NOT NULL DEFAULT '',
	assignee          TEXT NOT NULL DEFAULT '',
	custom_fields     TEXT NOT NULL DEFAULT '{}',
	data              TEXT NOT NULL,
	seen_gen          INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (conn, id)
);
CREATE INDEX issues_key ON issues (conn, key);
CREATE INDEX issues_project ON issues (conn, project_id, updated_ms);

CREATE TABLE comments (
	conn       TEXT NOT NULL,
	id         TEXT NOT NULL,
	issue_id   TEXT NOT NULL,
	visibility TEXT,
	body       TEXT NOT NULL DEFAULT '',
	data       TEXT NOT NULL,
	PRIMARY KEY (conn, id),
	FOREIGN KEY (conn, issue_id) REFERENCES issues (conn, id) ON DELETE CASCADE
);
CREATE INDEX comments_issue ON comments (conn, issue_id);

CREATE TABLE attachments (
	conn             TEXT NOT NULL,
	id               TEXT NOT NULL,
	issue_id         TEXT NOT NULL,
	data             TEXT NOT NULL,
	text             TEXT NOT NULL DEFAULT '',
	extract_status   TEXT NOT NULL DEFAULT 'pending' CHECK (extract_status IN ('pending', 'ok', 'failed', 'skipped')),
	extract_error    TEXT NOT NULL DEFAULT '',
	extract_attempts INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (conn, id),
	FOREIGN KEY (conn, issue_id) REFERENCES issues (conn, id) ON DELETE CASCADE
);
CREATE INDEX attachments_issue ON attachments (conn, issue_id);
CREATE INDEX attachments_extract ON attachments (conn, extract_status);

-- Sync bookkeeping.
CREATE TABLE connections (
	conn        TEXT PRIMARY KEY,
	filter_hash TEXT NOT NULL DEFAULT '',
	filters     TEXT,
	disabled    INTEGER NOT NULL DEFAULT 0,
	-- bumped by every identity replace, so readers can cache permissions
	identity_version INTEGER NOT NULL DEFAULT 0,
	updated_ms  INTEGER NOT NULL
);

CREATE TABLE checkpoints (
	conn       TEXT NOT NULL,
	stage      TEXT NOT NULL,
	scope      TEXT NOT NULL DEFAULT '',
	cursor     TEXT NOT NULL DEFAULT '',
	cursor_ms  INTEGER NOT NULL DEFAULT 0,
	updated_ms INTEGER NOT NULL,
	PRIMARY KEY (conn, stage, scope)
) WITHOUT ROWID;

CREATE TABLE sync_runs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	conn        TEXT NOT NULL,
	full        INTEGER NOT NULL,
	started_ms  INTEGER NOT NULL,
	finished_ms INTEGER NOT NULL DEFAULT 0,
	state       TEXT NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'canceled')),
	stage       TEXT NOT NULL DEFAULT '',
	stats       TEXT NOT NULL DEFAULT '{}',
	warnings    TEXT NOT NULL DEFAULT '[]',
	error       TEXT NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_conn ON sync_runs (conn, id);

-- Credentials: API keys as SHA-256 only; OAuth tokens AES-256-GCM sealed.
CREATE TABLE api_keys (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	name         TEXT NOT NULL,
	prefix       TEXT NOT NULL,
	hash         BLOB NOT NULL UNIQUE,
	scopes       TEXT NOT NULL,
	created_ms   INTEGER NOT NULL,
	expires_ms   INTEGER NOT NULL DEFAULT 0,
	revoked_ms   INTEGER NOT NULL DEFAULT 0,
	last_used_ms INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE oauth_tokens (
	conn       TEXT PRIMARY KEY,
	sealed     BLOB NOT NULL,
	updated_ms INTEGER NOT NULL
);

CREATE TABLE oauth_states (
	state      TEXT PRIMARY KEY,
	conn       TEXT NOT NULL,
	created_ms INTEGER NOT NULL,
	expires_ms INTEGER NOT NULL
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_ms);

-- Ticket runs (ingest → approval → execution → write-back).
CREATE TABLE ticket_runs (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	conn        TEXT NOT NULL,
	issue_key   TEXT NOT NULL,
	body_hash   TEXT NOT NULL,
	intent      TEXT NOT NULL DEFAULT '',
	runbook     TEXT NOT NULL DEFAULT '',
	confidence  REAL NOT NULL DEFAULT 0,
	disposition TEXT NOT NULL DEFAULT '',
	reason      TEXT NOT NULL DEFAULT '',
	inputs      TEXT NOT NULL DEFAULT '{}',
	state       TEXT NOT NULL,
	created_ms  INTEGER NOT NULL,
	updated_ms  INTEGER NOT NULL,
	UNIQUE (conn, issue_key)
);

CREATE TABLE approvals (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	run_id        INTEGER NOT NULL UNIQUE REFERENCES ticket_runs (id) ON DELETE CASCADE,
	status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
	decided_by    TEXT NOT NULL DEFAULT '',
	decided_at_ms INTEGER NOT NULL DEFAULT 0,
	note          TEXT NOT NULL DEFAULT '',
	expires_at_ms INTEGER NOT NULL,
	created_ms    INTEGER NOT NULL
);
CREATE INDEX approvals_status ON approvals (status, expires_at_ms);

CREATE TABLE outbox (
	id               INTEGER PRIMARY KEY AUTOINCREMENT,
	kind             TEXT NOT NULL,
	dedupe_key       TEXT UNIQUE,
	payload          TEXT NOT NULL,
	attempts         INTEGER NOT NULL DEFAULT 0,
	next_attempt_ms  INTEGER NOT NULL,
	claimed_until_ms INTEGER NOT NULL DEFAULT 0,
	last_error       TEXT NOT NULL DEFAULT '',
	done             INTEGER NOT NULL DEFAULT 0,
	created_ms       INTEGER NOT NULL,
	done_ms          INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (done, next_attempt_ms);

CREATE TABLE webhook_deliveries (
	id         TEXT PRIMARY KEY,
	expires_ms INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_expires ON webhook_deliveries (expires_ms);

-- The audit hash chain; seq is the chain position, 1..n.
CREATE TABLE audit_log (
	seq          INTEGER PRIMARY KEY,
	time_ms      INTEGER NOT NULL,
	type         TEXT NOT NULL,
	actor        TEXT NOT NULL,
	subject      TEXT NOT NULL,
	payload      TEXT NOT NULL,
	payload_hash TEXT NOT NULL,
	prev_hash    TEXT NOT NULL,
	hash         TEXT NOT NULL
);
