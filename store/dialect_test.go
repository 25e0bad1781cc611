package store

import "testing"

func TestPGRewrite(t *testing.T) {
	tests := []struct{ in, want string }{
		{`SELECT a FROM t WHERE x = ? AND y = ?`, `SELECT a FROM t WHERE x = $1 AND y = $2`},
		{`UPDATE t SET a = ?1 WHERE b <= ?2 AND c = ?1 LIMIT ?`, `UPDATE t SET a = $1 WHERE b <= $2 AND c = $1 LIMIT $3`},
		{`SELECT '?' || "a?" FROM t -- why?
WHERE x = ? /* ? */`, `SELECT '?' || "a?" FROM t -- why?
WHERE x = $1 /* ? */`},
		{`SELECT 'it''s ?' WHERE a = ?`, `SELECT 'it''s ?' WHERE a = $1`},
		{`INSERT OR IGNORE INTO g (a, b) VALUES (?, ?)`, `INSERT INTO g (a, b) VALUES ($1, $2) ON CONFLICT DO NOTHING`},
		{`INSERT OR IGNORE INTO g (a) VALUES (?) RETURNING a`, `INSERT INTO g (a) VALUES ($1) ON CONFLICT DO NOTHING RETURNING a`},
		{`DELETE FROM c WHERE id NOT IN (SELECT value FROM json_each(?))`, `DELETE FROM c WHERE id NOT IN (SELECT value FROM json_array_elements_text(CAST($1 AS json)))`},
		{`SELECT a FROM users WHERE conn = ? AND email = ? COLLATE NOCASE`, `SELECT a FROM users WHERE conn = $1 AND lower(email) = lower($2)`},
		{`SELECT id, full FROM sync_runs WHERE full = 1 AND x_full = 'full' -- full sync`, `SELECT id, "full" FROM sync_runs WHERE "full" = 1 AND x_full = 'full' -- full sync`},
		{`SELECT a FROM t FULL JOIN u`, `SELECT a FROM t FULL JOIN u`},
		{`UPDATE k SET last = MAX(last, ?) WHERE id = ?`, `UPDATE k SET last = GREATEST(last, $1) WHERE id = $2`},
		{`SELECT COALESCE(MAX(version), 0), MIN(a), MAX(f(a, b)) FROM s`, `SELECT COALESCE(MAX(version), 0), MIN(a), MAX(f(a, b)) FROM s`},
		{`SELECT data FROM c ORDER BY CAST(id AS INTEGER), id`, `SELECT data FROM c ORDER BY COALESCE(CAST(substring(id FROM '^\s*[-+]?[0-9]+') AS NUMERIC), 0), id`},
		{`SELECT a FROM o WHERE k >= ?1 AND k < ?1 || char(1114111) ORDER BY id`, `SELECT a FROM o WHERE k >= $1 AND k < $1 || chr(1114111) ORDER BY id`},
		{`SELECT pg_advisory_xact_lock($1)`, `SELECT pg_advisory_xact_lock($1)`},
	}
	for _, tt := range tests {
		if got := pgRewrite(tt.in); got != tt.want {
			t.Errorf("pgRewrite(%q)\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}
