package store

import (
	"strconv"
	"strings"
	"sync"
)

// The store's queries are written once, in SQLite's dialect with '?'
// placeholders. On PostgreSQL every statement passes through pgRewrite (in the
// driver wrapper, so even a direct db.write.ExecContext is covered), which
// turns the few SQLite-only forms the store uses into PostgreSQL's:
//
//	?, ?N                          → $k, $N
//	INSERT OR IGNORE INTO t …      → INSERT INTO t … ON CONFLICT DO NOTHING
//	json_each(x)                   → json_array_elements_text(CAST(x AS json))
//	col = ? COLLATE NOCASE         → lower(col) = lower(?)
//	full (sync_runs' column)       → "full" (a reserved word in PostgreSQL)
//	MAX(a, b), MIN(a, b)           → GREATEST(a, b), LEAST(a, b)
//	CAST(col AS INTEGER)           → its leading integer, 0 without one (as SQLite)
//	char(n)                        → chr(n)
//
// Anything else must be portable SQL (ON CONFLICT … DO UPDATE, RETURNING,
// COALESCE, CASE, LIMIT are). Schema changes are not rewritten: each migration
// has a PostgreSQL form in migrations/postgres (see migrate.go).

// Driver names, as in the store.driver setting.
const (
	DriverSQLite   = "sqlite"
	DriverPostgres = "postgres"
)

var rewritten sync.Map // SQLite query → PostgreSQL query

// pgRewrite returns query in PostgreSQL's dialect. A query that already uses
// $1 placeholders is taken as PostgreSQL's own and left alone.
func pgRewrite(query string) string {
	if v, ok := rewritten.Load(query); ok {
		return v.(string)
	}
	out := query
	if !strings.Contains(query, "$1") {
		out = rewritePlaceholders(query)
		out = rewriteInsertOrIgnore(out)
		out = rewriteJSONEach(out)
		out = rewriteNoCase(out)
		out = rewriteScalarMinMax(out)
		out = rewriteCastInteger(out)
	}
	rewritten.Store(query, out)
	return out
}

// rewritePlaceholders numbers '?' as SQLite does (a bare ? is one more than
// the largest number so far) outside literals, quoted names and comments.
func rewritePlaceholders(q string) string {
	var b strings.Builder
	b.Grow(len(q) + 16)
	maxN := 0
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			if j >= len(q) {
				j = len(q) - 1
			}
			b.WriteString(q[i : j+1])
			i = j
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+j])
			i += j - 1
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			if j < 0 {
				b.WriteString(q[i:])
				return b.String()
			}
			b.WriteString(q[i : i+2+j+2])
			i += 2 + j + 1
		case isWordByte(c) && (i == 0 || !isWordByte(q[i-1])):
			j := i
			for j < len(q) && isWordByte(q[j]) {
				j++
			}
			if w := q[i:j]; reservedColumns[w] {
				b.WriteString(`"` + w + `"`)
			} else if strings.EqualFold(w, "char") && j < len(q) && q[j] == '(' {
				b.WriteString("chr")
			} else {
				b.WriteString(w)
			}
			i = j - 1
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := maxN + 1
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			maxN = max(maxN, n)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// reservedColumns are column names that PostgreSQL reserves (quoted in its
// schema); lowercase only, so SQL keywords written in capitals are untouched.
var reservedColumns = map[string]bool{"full": true}

func isWordByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

func rewriteInsertOrIgnore(q string) string {
	const from = "INSERT OR IGNORE INTO"
	i := strings.Index(q, from)
	if i < 0 {
		return q
	}
	q = q[:i] + "INSERT INTO" + q[i+len(from):]
	if r := strings.Index(q, " RETURNING "); r >= 0 {
		return q[:r] + " ON CONFLICT DO NOTHING" + q[r:]
	}
	return strings.TrimRight(q, " \t\n;") + " ON CONFLICT DO NOTHING"
}

func rewriteJSONEach(q string) string {
	for {
		i := strings.Index(q, "json_each(")
		if i < 0 {
			return q
		}
		start := i + len("json_each(")
		depth, j := 1, start
		for ; j < len(q) && depth > 0; j++ {
			switch q[j] {
			case '(':
				depth++
			case ')':
				depth--
			}
		}
		arg := q[start : j-1]
		q = q[:i] + "json_array_elements_text(CAST(" + arg + " AS json))" + q[j:]
	}
}

// rewriteNoCase handles "name = $n COLLATE NOCASE" (SQLite's ASCII
// case-insensitive compare); the PostgreSQL schema indexes lower(name).
func rewriteNoCase(q string) string {
	const suffix = " COLLATE NOCASE"
	for {
		i := strings.Index(q, suffix)
		if i < 0 {
			return q
		}
		// Walk back over "col = $n".
		left := q[:i]
		eq := strings.LastIndex(left, " = ")
		if eq < 0 {
			return q
		}
		colStart := strings.LastIndexAny(left[:eq], " \t\n(") + 1
		col, param := left[colStart:eq], strings.TrimSpace(left[eq+3:])
		q = left[:colStart] + "lower(" + col + ") = lower(" + param + ")" + q[i+len(suffix):]
	}
}

// rewriteScalarMinMax turns SQLite's two-argument MAX/MIN (scalar functions)
// into GREATEST/LEAST; one-argument MAX/MIN are aggregates in both.
func rewriteScalarMinMax(q string) string {
	for _, f := range [][2]string{{"MAX(", "GREATEST("}, {"MIN(", "LEAST("}} {
		from := 0
		for {
			i := strings.Index(q[from:], f[0])
			if i < 0 {
				break
			}
			i += from
			from = i + len(f[0])
			if i > 0 && isWordByte(q[i-1]) {
				continue
			}
			depth, commas, j := 1, 0, from
			for ; j < len(q) && depth > 0; j++ {
				switch q[j] {
				case '(':
					depth++
				case ')':
					depth--
				case ',':
					if depth == 1 {
						commas++
					}
				}
			}
			if commas > 0 {
				q = q[:i] + f[1] + q[from:]
				from = i + len(f[1])
			}
		}
	}
	return q
}

// rewriteCastInteger gives CAST(col AS INTEGER) SQLite's meaning on text
// (the leading integer, else 0) rather than PostgreSQL's error; NUMERIC so
// that long digit strings compare without overflow.
func rewriteCastInteger(q string) string {
	const suffix = " AS INTEGER)"
	from := 0
	for {
		i := strings.Index(q[from:], suffix)
		if i < 0 {
			return q
		}
		i += from
		open := strings.LastIndex(q[:i], "CAST(")
		if open < 0 {
			return q
		}
		col := q[open+len("CAST(") : i]
		repl := "COALESCE(CAST(substring(" + col + " FROM '^\\s*[-+]?[0-9]+') AS NUMERIC), 0)"
		q = q[:open] + repl + q[i+len(suffix):]
		from = open + len(repl)
	}
}
