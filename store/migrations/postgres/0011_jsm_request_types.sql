-- PostgreSQL form of ../0011_jsm_request_types.sql.
-- 0011: the request types of each JSM service desk
-- (/rest/servicedeskapi/servicedesk/{id}/requesttype), replaced with the
-- desks on every identity sync. An issue's request type field may hold only
-- the id, or a name from before a rename: the current name comes from here.
CREATE TABLE jsm_request_types (
	conn          TEXT COLLATE "C" NOT NULL,
	desk_id       TEXT COLLATE "C" NOT NULL,
	rt_id         TEXT COLLATE "C" NOT NULL,
	name          TEXT COLLATE "C" NOT NULL DEFAULT '',
	issue_type_id TEXT COLLATE "C" NOT NULL DEFAULT '',
	PRIMARY KEY (conn, desk_id, rt_id),
	FOREIGN KEY (conn, desk_id) REFERENCES jsm_service_desks (conn, desk_id) ON DELETE CASCADE
);
