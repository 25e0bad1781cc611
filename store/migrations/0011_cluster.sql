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
