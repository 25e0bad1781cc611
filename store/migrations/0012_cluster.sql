-- Replicated mode (store.driver postgres; the tables exist on SQLite too so
-- that both drivers have one schema, and stay empty there).
--
-- sync_requests: a manual sync (or a webhook refresh) asked of a replica that
-- is not the leader, for the leader to run; taken (deleted) by the leader.
CREATE TABLE sync_requests (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	conn         TEXT NOT NULL,
	full         INTEGER NOT NULL DEFAULT 0,
	requested_by TEXT NOT NULL DEFAULT '',
	requested_ms INTEGER NOT NULL
);

-- index_changes: the change log that feeds every replica's search index,
-- written (on PostgreSQL only) in the same transaction as the issue change;
-- seq orders them (writers are serialized). op: put | delete | purge (every
-- issue of conn).
CREATE TABLE index_changes (
	seq      INTEGER PRIMARY KEY AUTOINCREMENT,
	conn     TEXT NOT NULL,
	issue_id TEXT NOT NULL DEFAULT '',
	op       TEXT NOT NULL CHECK (op IN ('put', 'delete', 'purge')),
	at_ms    INTEGER NOT NULL
);
CREATE INDEX index_changes_at ON index_changes (at_ms);

-- replicas: each replica's last applied change-log seq (its index position),
-- so that status anywhere shows every replica's index lag.
CREATE TABLE replicas (
	id         TEXT PRIMARY KEY,
	index_seq  INTEGER NOT NULL DEFAULT 0,
	updated_ms INTEGER NOT NULL
);
