-- An API key may be bound to a Jira account (keys create --as): only a bound
-- key decides approvals, and only as that account.
ALTER TABLE api_keys ADD COLUMN account_id TEXT NOT NULL DEFAULT '';

-- Approval policies: each person's vote on a step of an approval (one
-- person fills at most one step of a request), reminders and escalations
-- sent per step, and delegations for a time window.
CREATE TABLE approval_votes (
	approval_id INTEGER NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
	step        INTEGER NOT NULL,
	account     TEXT NOT NULL,
	decision    TEXT NOT NULL,
	reason      TEXT NOT NULL DEFAULT '',
	on_behalf   TEXT NOT NULL DEFAULT '',
	channel     TEXT NOT NULL DEFAULT '',
	at_ms       INTEGER NOT NULL,
	PRIMARY KEY (approval_id, account)
);

CREATE TABLE approval_events (
	approval_id INTEGER NOT NULL REFERENCES approvals (id) ON DELETE CASCADE,
	kind        TEXT NOT NULL,
	step        INTEGER NOT NULL,
	at_ms       INTEGER NOT NULL,
	PRIMARY KEY (approval_id, kind, step)
);

CREATE TABLE delegations (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	from_acct  TEXT NOT NULL,
	to_acct    TEXT NOT NULL,
	start_ms   INTEGER NOT NULL,
	until_ms   INTEGER NOT NULL,
	created_by TEXT NOT NULL,
	created_ms INTEGER NOT NULL,
	revoked_ms INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX delegations_from ON delegations (from_acct, until_ms);
