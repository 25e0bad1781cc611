-- PostgreSQL form of ../0006_index_resets.sql.
-- When the search index had to be replaced by an empty one (it was missing,
-- damaged or of another version), the sync checkpoints of each connection
-- were reset so that the next sync is full. One row per connection, the
-- latest replacement; status reports it until a full sync started after it
-- has succeeded.
CREATE TABLE index_resets (
	conn   TEXT COLLATE "C" PRIMARY KEY,
	reason TEXT COLLATE "C" NOT NULL,
	at_ms  BIGINT NOT NULL
);
