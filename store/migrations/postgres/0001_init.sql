-- 0001 (PostgreSQL form of ../0001_init.sql; keep the two in step): the
-- whole first schema. SQLite's INTEGER is 64-bit, so every integer is BIGINT;
-- flags stay 0/1 integers so that queries are the same on both drivers; text
-- sorts bytewise (COLLATE "C") as in SQLite, whatever the server's locale.
-- Every Jira entity is scoped by connection
-- name (conn); times are Unix milliseconds, UTC.

-- Identity: replaced wholesale per connection on every identity sync.
CREATE TABLE users (
	conn         TEXT COLLATE "C" NOT NULL,
	account_id   TEXT COLLATE "C" NOT NULL,
	display_name TEXT COLLATE "C" NOT NULL DEFAULT '',
	email        TEXT COLLATE "C",
	active       BIGINT NOT NULL DEFAULT 1,
	account_type TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (conn, account_id)
);
CREATE INDEX users_email ON users (conn, lower(email));

CREATE TABLE jira_groups (
	conn     TEXT COLLATE "C" NOT NULL,
	group_id TEXT COLLATE "C" NOT NULL,
	name     TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (conn, group_id)
);

CREATE TABLE group_members (
	conn       TEXT COLLATE "C" NOT NULL,
	group_id   TEXT COLLATE "C" NOT NULL,
	account_id TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (conn, group_id, account_id),
	FOREIGN KEY (conn, group_id) REFERENCES jira_groups (conn, group_id) ON DELETE CASCADE
);
CREATE INDEX group_members_account ON group_members (conn, account_id);

CREATE TABLE app_roles (
	conn     TEXT COLLATE "C" NOT NULL,
	role_key TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (conn, role_key)
);

CREATE TABLE app_role_groups (
	conn     TEXT COLLATE "C" NOT NULL,
	role_key TEXT COLLATE "C" NOT NULL,
	group_id TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (conn, role_key, group_id),
	FOREIGN KEY (conn, role_key) REFERENCES app_roles (conn, role_key) ON DELETE CASCADE
);

CREATE TABLE projects (
	conn            TEXT COLLATE "C" NOT NULL,
	id              TEXT COLLATE "C" NOT NULL,
	key             TEXT COLLATE "C" NOT NULL,
	name            TEXT COLLATE "C" NOT NULL DEFAULT '',
	lead_account_id TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (conn, id)
);
CREATE INDEX projects_key ON projects (conn, key);

CREATE TABLE project_roles (
	conn       TEXT COLLATE "C" NOT NULL,
	project_id TEXT COLLATE "C" NOT NULL,
	role_id    TEXT COLLATE "C" NOT NULL,
	name       TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (conn, project_id, role_id),
	FOREIGN KEY (conn, project_id) REFERENCES projects (conn, id) ON DELETE CASCADE
);

CREATE TABLE role_actors (
	conn       TEXT COLLATE "C" NOT NULL,
	project_id TEXT COLLATE "C" NOT NULL,
	role_id    TEXT COLLATE "C" NOT NULL,
	actor_type TEXT COLLATE "C" NOT NULL CHECK (actor_type IN ('user', 'group')),
	actor_id   TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (conn, project_id, role_id, actor_type, actor_id),
	FOREIGN KEY (conn, project_id, role_id) REFERENCES project_roles (conn, project_id, role_id) ON DELETE CASCADE
);

CREATE TABLE browse_grants (
	conn        TEXT COLLATE "C" NOT NULL,
	project_id  TEXT COLLATE "C" NOT NULL,
	pos         BIGINT NOT NULL,
	holder_type TEXT COLLATE "C" NOT NULL,
	parameter   TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (conn, project_id, pos),
	FOREIGN KEY (conn, project_id) REFERENCES projects (conn, id) ON DELETE CASCADE
);

CREATE TABLE security_levels (
	conn       TEXT COLLATE "C" NOT NULL,
	project_id TEXT COLLATE "C" NOT NULL,
	level_id   TEXT COLLATE "C" NOT NULL,
	name       TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (conn, project_id, level_id),
	FOREIGN KEY (conn, project_id) REFERENCES projects (conn, id) ON DELETE CASCADE
);

CREATE TABLE security_level_members (
	conn        TEXT COLLATE "C" NOT NULL,
	project_id  TEXT COLLATE "C" NOT NULL,
	level_id    TEXT COLLATE "C" NOT NULL,
	pos         BIGINT NOT NULL,
	holder_type TEXT COLLATE "C" NOT NULL,
	parameter   TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (conn, project_id, level_id, pos),
	FOREIGN KEY (conn, project_id, level_id) REFERENCES security_levels (conn, project_id, level_id) ON DELETE CASCADE
);

-- Content: upserted per issue; comments and attachments follow their issue.
CREATE TABLE issues (
	conn              TEXT COLLATE "C" NOT NULL,
	id                TEXT COLLATE "C" NOT NULL,
	key               TEXT COLLATE "C" NOT NULL,
	project_id        TEXT COLLATE "C" NOT NULL,
	project_key       TEXT COLLATE "C" NOT NULL DEFAULT '',
	summary           TEXT COLLATE "C" NOT NULL DEFAULT '',
	status            TEXT COLLATE "C" NOT NULL DEFAULT '',
	updated_ms        BIGINT NOT NULL DEFAULT 0,
	security_level_id TEXT COLLATE "C" NOT NULL DEFAULT '',
	reporter          TEXT COLLATE "C" NOT NULL DEFAULT '',
	assignee          TEXT COLLATE "C" NOT NULL DEFAULT '',
	custom_fields     TEXT COLLATE "C" NOT NULL DEFAULT '{}',
	data              TEXT COLLATE "C" NOT NULL,
	seen_gen          BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (conn, id)
);
CREATE INDEX issues_key ON issues (conn, key);
CREATE INDEX issues_project ON issues (conn, project_id, updated_ms);

CREATE TABLE comments (
	conn       TEXT COLLATE "C" NOT NULL,
	id         TEXT COLLATE "C" NOT NULL,
	issue_id   TEXT COLLATE "C" NOT NULL,
	visibility TEXT COLLATE "C",
	body       TEXT COLLATE "C" NOT NULL DEFAULT '',
	data       TEXT COLLATE "C" NOT NULL,
	PRIMARY KEY (conn, id),
	FOREIGN KEY (conn, issue_id) REFERENCES issues (conn, id) ON DELETE CASCADE
);
CREATE INDEX comments_issue ON comments (conn, issue_id);

CREATE TABLE attachments (
	conn             TEXT COLLATE "C" NOT NULL,
	id               TEXT COLLATE "C" NOT NULL,
	issue_id         TEXT COLLATE "C" NOT NULL,
	data             TEXT COLLATE "C" NOT NULL,
	text             TEXT COLLATE "C" NOT NULL DEFAULT '',
	extract_status   TEXT COLLATE "C" NOT NULL DEFAULT 'pending' CHECK (extract_status IN ('pending', 'ok', 'failed', 'skipped')),
	extract_error    TEXT COLLATE "C" NOT NULL DEFAULT '',
	extract_attempts BIGINT NOT NULL DEFAULT 0,
	PRIMARY KEY (conn, id),
	FOREIGN KEY (conn, issue_id) REFERENCES issues (conn, id) ON DELETE CASCADE
);
CREATE INDEX attachments_issue ON attachments (conn, issue_id);
CREATE INDEX attachments_extract ON attachments (conn, extract_status);

-- Sync bookkeeping.
CREATE TABLE connections (
	conn        TEXT COLLATE "C" PRIMARY KEY,
	filter_hash TEXT COLLATE "C" NOT NULL DEFAULT '',
	filters     TEXT COLLATE "C",
	disabled    BIGINT NOT NULL DEFAULT 0,
	-- bumped by every identity replace, so readers can cache permissions
	identity_version BIGINT NOT NULL DEFAULT 0,
	updated_ms  BIGINT NOT NULL
);

CREATE TABLE checkpoints (
	conn       TEXT COLLATE "C" NOT NULL,
	stage      TEXT COLLATE "C" NOT NULL,
	scope      TEXT COLLATE "C" NOT NULL DEFAULT '',
	cursor     TEXT COLLATE "C" NOT NULL DEFAULT '',
	cursor_ms  BIGINT NOT NULL DEFAULT 0,
	updated_ms BIGINT NOT NULL,
	PRIMARY KEY (conn, stage, scope)
);

CREATE TABLE sync_runs (
	id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	conn        TEXT COLLATE "C" NOT NULL,
	"full"      BIGINT NOT NULL,
	started_ms  BIGINT NOT NULL,
	finished_ms BIGINT NOT NULL DEFAULT 0,
	state       TEXT COLLATE "C" NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'canceled')),
	stage       TEXT COLLATE "C" NOT NULL DEFAULT '',
	stats       TEXT COLLATE "C" NOT NULL DEFAULT '{}',
	warnings    TEXT COLLATE "C" NOT NULL DEFAULT '[]',
	error       TEXT COLLATE "C" NOT NULL DEFAULT ''
);
CREATE INDEX sync_runs_conn ON sync_runs (conn, id);

-- Credentials: API keys as SHA-256 only; OAuth tokens AES-256-GCM sealed.
CREATE TABLE api_keys (
	id           BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	name         TEXT COLLATE "C" NOT NULL,
	prefix       TEXT COLLATE "C" NOT NULL,
	hash         BYTEA NOT NULL UNIQUE,
	scopes       TEXT COLLATE "C" NOT NULL,
	created_ms   BIGINT NOT NULL,
	expires_ms   BIGINT NOT NULL DEFAULT 0,
	revoked_ms   BIGINT NOT NULL DEFAULT 0,
	last_used_ms BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE oauth_tokens (
	conn       TEXT COLLATE "C" PRIMARY KEY,
	sealed     BYTEA NOT NULL,
	updated_ms BIGINT NOT NULL
);

CREATE TABLE oauth_states (
	state      TEXT COLLATE "C" PRIMARY KEY,
	conn       TEXT COLLATE "C" NOT NULL,
	created_ms BIGINT NOT NULL,
	expires_ms BIGINT NOT NULL
);
CREATE INDEX oauth_states_expires ON oauth_states (expires_ms);

-- Ticket runs (ingest → approval → execution → write-back).
CREATE TABLE ticket_runs (
	id          BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	conn        TEXT COLLATE "C" NOT NULL,
	issue_key   TEXT COLLATE "C" NOT NULL,
	body_hash   TEXT COLLATE "C" NOT NULL,
	intent      TEXT COLLATE "C" NOT NULL DEFAULT '',
	runbook     TEXT COLLATE "C" NOT NULL DEFAULT '',
	confidence  DOUBLE PRECISION NOT NULL DEFAULT 0,
	disposition TEXT COLLATE "C" NOT NULL DEFAULT '',
	reason      TEXT COLLATE "C" NOT NULL DEFAULT '',
	inputs      TEXT COLLATE "C" NOT NULL DEFAULT '{}',
	state       TEXT COLLATE "C" NOT NULL,
	created_ms  BIGINT NOT NULL,
	updated_ms  BIGINT NOT NULL,
	UNIQUE (conn, issue_key)
);

CREATE TABLE approvals (
	id            BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	run_id        BIGINT NOT NULL UNIQUE REFERENCES ticket_runs (id) ON DELETE CASCADE,
	status        TEXT COLLATE "C" NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'expired')),
	decided_by    TEXT COLLATE "C" NOT NULL DEFAULT '',
	decided_at_ms BIGINT NOT NULL DEFAULT 0,
	note          TEXT COLLATE "C" NOT NULL DEFAULT '',
	expires_at_ms BIGINT NOT NULL,
	created_ms    BIGINT NOT NULL
);
CREATE INDEX approvals_status ON approvals (status, expires_at_ms);

CREATE TABLE outbox (
	id               BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
	kind             TEXT COLLATE "C" NOT NULL,
	dedupe_key       TEXT COLLATE "C" UNIQUE,
	payload          TEXT COLLATE "C" NOT NULL,
	attempts         BIGINT NOT NULL DEFAULT 0,
	next_attempt_ms  BIGINT NOT NULL,
	claimed_until_ms BIGINT NOT NULL DEFAULT 0,
	last_error       TEXT COLLATE "C" NOT NULL DEFAULT '',
	done             BIGINT NOT NULL DEFAULT 0,
	created_ms       BIGINT NOT NULL,
	done_ms          BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX outbox_due ON outbox (done, next_attempt_ms);

CREATE TABLE webhook_deliveries (
	id         TEXT COLLATE "C" PRIMARY KEY,
	expires_ms BIGINT NOT NULL
);
CREATE INDEX webhook_deliveries_expires ON webhook_deliveries (expires_ms);

-- The audit hash chain; seq is the chain position, 1..n.
CREATE TABLE audit_log (
	seq          BIGINT PRIMARY KEY,
	time_ms      BIGINT NOT NULL,
	type         TEXT COLLATE "C" NOT NULL,
	actor        TEXT COLLATE "C" NOT NULL,
	subject      TEXT COLLATE "C" NOT NULL,
	payload      TEXT COLLATE "C" NOT NULL,
	payload_hash TEXT COLLATE "C" NOT NULL,
	prev_hash    TEXT COLLATE "C" NOT NULL,
	hash         TEXT COLLATE "C" NOT NULL
);

-- Created on first use by store/runbook_extra.go (CREATE TABLE IF NOT EXISTS);
-- made here on PostgreSQL so that replicas starting together never race to
-- create it.
CREATE TABLE runbook_notes (
	run_id     BIGINT NOT NULL REFERENCES ticket_runs (id) ON DELETE CASCADE,
	name       TEXT COLLATE "C" NOT NULL,
	value      TEXT COLLATE "C" NOT NULL,
	updated_ms BIGINT NOT NULL,
	PRIMARY KEY (run_id, name)
);
