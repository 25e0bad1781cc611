package jirasim

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// The JQL a sync sends, and only that: project, key/issuekey, id, created and
// updated with comparison operators, IN / NOT IN, AND / OR / NOT, parentheses,
// quoted strings with escapes, and ORDER BY. Anything else is a 400 in Jira's
// shape, as Jira rejects what it does not know.

type jqlQuery struct {
	where   jqlExpr // nil when the query has no restriction
	orderBy []jqlOrder
}

type jqlOrder struct {
	field string // updated | created | key | id
	desc  bool
}

// jqlEnv resolves what clauses need from the world while evaluating.
type jqlEnv struct {
	project func(keyOrID string) *SimProject // nil when unknown
	loc     *time.Location                   // the API user's time zone (date literals)
}

type jqlExpr interface {
	eval(is *SimIssue) bool
}

type jqlAnd struct{ l, r jqlExpr }
type jqlOr struct{ l, r jqlExpr }
type jqlNot struct{ e jqlExpr }

func (e jqlAnd) eval(is *SimIssue) bool { return e.l.eval(is) && e.r.eval(is) }
func (e jqlOr) eval(is *SimIssue) bool  { return e.l.eval(is) || e.r.eval(is) }
func (e jqlNot) eval(is *SimIssue) bool { return !e.e.eval(is) }

// jqlClause is `field op value(s)` with the values already resolved.
type jqlClause struct {
	field string
	op    string // = != > >= < <= in "not in"
	// resolved values
	strs  []string    // project ids (project), keys (key)
	nums  []int64     // ids (id), issue numbers for key ordering
	times []time.Time // created/updated
}

func (c *jqlClause) eval(is *SimIssue) bool {
	switch c.field {
	case "project":
		in := apiHasStr(c.strs, is.ProjectID)
		if c.op == "=" || c.op == "in" {
			return in
		}
		return !in
	case "key":
		switch c.op {
		case "=", "in":
			return apiHasStr(c.strs, strings.ToUpper(is.Key))
		case "!=", "not in":
			return !apiHasStr(c.strs, strings.ToUpper(is.Key))
		}
		// Ordering on keys compares issue numbers within the same project.
		p, n := apiSplitKey(is.Key)
		kp, kn := apiSplitKey(c.strs[0])
		if p != kp {
			return false
		}
		return cmpOp(c.op, int64Cmp(n, kn))
	case "id":
		id, _ := strconv.ParseInt(is.ID, 10, 64)
		switch c.op {
		case "=", "in":
			return apiHasInt(c.nums, id)
		case "!=", "not in":
			return !apiHasInt(c.nums, id)
		}
		return cmpOp(c.op, int64Cmp(id, c.nums[0]))
	case "created", "updated":
		t := is.Created
		if c.field == "updated" {
			t = is.Updated
		}
		switch c.op {
		case "in":
			for _, v := range c.times {
				if t.Equal(v) {
					return true
				}
			}
			return false
		case "not in":
			for _, v := range c.times {
				if t.Equal(v) {
					return false
				}
			}
			return true
		}
		return cmpOp(c.op, timeCmp(t, c.times[0]))
	}
	return false
}

func cmpOp(op string, c int) bool {
	switch op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	}
	return false
}

func int64Cmp(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func timeCmp(a, b time.Time) int { return a.Compare(b) }

func apiHasStr(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

func apiHasInt(xs []int64, n int64) bool {
	for _, x := range xs {
		if x == n {
			return true
		}
	}
	return false
}

// apiSplitKey splits "ITSM-12" into ("ITSM", 12).
func apiSplitKey(k string) (string, int64) {
	i := strings.LastIndexByte(k, '-')
	if i < 0 {
		return strings.ToUpper(k), -1
	}
	n, err := strconv.ParseInt(k[i+1:], 10, 64)
	if err != nil {
		return strings.ToUpper(k), -1
	}
	return strings.ToUpper(k[:i]), n
}

// jqlError is a JQL syntax or validation error; handlers answer 400 with it.
type jqlError struct{ msg string }

func (e *jqlError) Error() string { return e.msg }

// --- lexer ---

type tokKind int

const (
	tEOF tokKind = iota
	tWord
	tString
	tOp
	tLParen
	tRParen
	tComma
)

type jqlToken struct {
	kind tokKind
	text string
	pos  int // 1-based character
}

func lexJQL(s string) ([]jqlToken, error) {
	var toks []jqlToken
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(':
			toks = append(toks, jqlToken{tLParen, "(", i + 1})
			i++
		case r == ')':
			toks = append(toks, jqlToken{tRParen, ")", i + 1})
			i++
		case r == ',':
			toks = append(toks, jqlToken{tComma, ",", i + 1})
			i++
		case r == '"' || r == '\'':
			start := i
			var b strings.Builder
			i++
			closed := false
			for i < len(rs) {
				c := rs[i]
				if c == '\\' {
					if i+1 >= len(rs) {
						break
					}
					n := rs[i+1]
					switch n {
					case 'n':
						b.WriteRune('\n')
					case 't':
						b.WriteRune('\t')
					case 'r':
						b.WriteRune('\r')
					case '"', '\'', '\\', ' ':
						b.WriteRune(n)
					case 'u':
						if i+5 < len(rs) {
							v, err := strconv.ParseUint(string(rs[i+2:i+6]), 16, 32)
							if err == nil {
								b.WriteRune(rune(v))
								i += 6
								continue
							}
						}
						return nil, &jqlError{fmt.Sprintf("Error in the JQL Query: '\\u' is an illegal JQL escape sequence. (line 1, character %d)", i+1)}
					default:
						return nil, &jqlError{fmt.Sprintf("Error in the JQL Query: '\\%c' is an illegal JQL escape sequence. The valid escape sequences are \\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX. (line 1, character %d)", n, i+1)}
					}
					i += 2
					continue
				}
				if c == r {
					closed = true
					i++
					break
				}
				b.WriteRune(c)
				i++
			}
			if !closed {
				return nil, &jqlError{fmt.Sprintf("Error in the JQL Query: The quoted string '%s' has not been completed. (line 1, character %d)", string(rs[start:]), start+1)}
			}
			toks = append(toks, jqlToken{tString, b.String(), start + 1})
		case r == '=' || r == '!' || r == '<' || r == '>' || r == '~':
			start := i
			op := string(r)
			if i+1 < len(rs) && rs[i+1] == '=' {
				op += "="
				i++
			} else if r == '!' && i+1 < len(rs) && rs[i+1] == '~' {
				op = "!~"
				i++
			}
			i++
			if op == "!" {
				return nil, &jqlError{fmt.Sprintf("Error in the JQL Query: The character '!' is a reserved JQL character. You must enclose it in a string or use the escape '\\u0021' instead. (line 1, character %d)", start+1)}
			}
			toks = append(toks, jqlToken{tOp, op, start + 1})
		case isWordRune(r):
			start := i
			for i < len(rs) && isWordRune(rs[i]) {
				i++
			}
			toks = append(toks, jqlToken{tWord, string(rs[start:i]), start + 1})
		default:
			return nil, &jqlError{fmt.Sprintf("Error in the JQL Query: The character '%c' is a reserved JQL character. You must enclose it in a string or use the escape '\\u%04x' instead. (line 1, character %d)", r, r, i+1)}
		}
	}
	toks = append(toks, jqlToken{tEOF, "", len(rs) + 1})
	return toks, nil
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.' || r == ':' || r == '/' || r == '@' || r == '+'
}

// --- parser ---

type jqlParser struct {
	toks []jqlToken
	i    int
	env  jqlEnv
}

// parseJQL parses and resolves a query against env; errors are *jqlError.
func parseJQL(s string, env jqlEnv) (*jqlQuery, error) {
	toks, err := lexJQL(s)
	if err != nil {
		return nil, err
	}
	p := &jqlParser{toks: toks, env: env}
	q := &jqlQuery{}
	if !p.atOrderBy() && p.peek().kind != tEOF {
		q.where, err = p.parseOr()
		if err != nil {
			return nil, err
		}
	}
	if p.atOrderBy() {
		p.i += 2
		for {
			t := p.next()
			if t.kind != tWord && t.kind != tString {
				return nil, p.expected("a field name", t)
			}
			f := strings.ToLower(t.text)
			if f == "issuekey" {
				f = "key"
			}
			switch f {
			case "updated", "created", "key", "id":
			default:
				return nil, &jqlError{fmt.Sprintf("Not able to sort using field '%s'.", t.text)}
			}
			o := jqlOrder{field: f, desc: f == "updated" || f == "created"}
			if w := p.peek(); w.kind == tWord {
				switch strings.ToUpper(w.text) {
				case "ASC":
					o.desc = false
					p.i++
				case "DESC":
					o.desc = true
					p.i++
				}
			}
			q.orderBy = append(q.orderBy, o)
			if p.peek().kind != tComma {
				break
			}
			p.i++
		}
	}
	if t := p.peek(); t.kind != tEOF {
		if q.orderBy != nil {
			return nil, p.expected("either a comma (',') or the end of the query", t)
		}
		return nil, p.expected("either 'OR' or 'AND'", t)
	}
	return q, nil
}

func (p *jqlParser) peek() jqlToken { return p.toks[p.i] }
func (p *jqlParser) next() jqlToken {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

func (p *jqlParser) isWord(t jqlToken, w string) bool {
	return t.kind == tWord && strings.EqualFold(t.text, w)
}

func (p *jqlParser) atOrderBy() bool {
	return p.isWord(p.peek(), "order") && p.i+1 < len(p.toks) && p.isWord(p.toks[p.i+1], "by")
}

func (p *jqlParser) expected(what string, t jqlToken) error {
	got := "'" + t.text + "'"
	if t.kind == tEOF {
		got = "the end of the query"
	}
	return &jqlError{fmt.Sprintf("Error in the JQL Query: Expecting %s but got %s. (line 1, character %d)", what, got, t.pos)}
}

func (p *jqlParser) parseOr() (jqlExpr, error) {
	l, err := p.parseAnd()
	if err != nil {
		return nil, err
	}
	for p.isWord(p.peek(), "or") {
		p.i++
		r, err := p.parseAnd()
		if err != nil {
			return nil, err
		}
		l = jqlOr{l, r}
	}
	return l, nil
}

func (p *jqlParser) parseAnd() (jqlExpr, error) {
	l, err := p.parseNot()
	if err != nil {
		return nil, err
	}
	for p.isWord(p.peek(), "and") {
		p.i++
		r, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		l = jqlAnd{l, r}
	}
	return l, nil
}

func (p *jqlParser) parseNot() (jqlExpr, error) {
	if p.isWord(p.peek(), "not") {
		p.i++
		e, err := p.parseNot()
		if err != nil {
			return nil, err
		}
		return jqlNot{e}, nil
	}
	if p.peek().kind == tLParen {
		p.i++
		e, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if t := p.next(); t.kind != tRParen {
			return nil, p.expected("')'", t)
		}
		return e, nil
	}
	return p.parseClause()
}

var jqlReserved = map[string]bool{"and": true, "or": true, "not": true, "order": true, "by": true, "in": true, "is": true, "empty": true, "null": true}

func (p *jqlParser) parseClause() (jqlExpr, error) {
	ft := p.next()
	if ft.kind != tWord && ft.kind != tString || (ft.kind == tWord && jqlReserved[strings.ToLower(ft.text)]) {
		return nil, p.expected("a field name", ft)
	}
	field := strings.ToLower(ft.text)
	switch field {
	case "issuekey", "issue":
		field = "key"
	case "project", "key", "id", "created", "updated", "createddate", "updateddate":
	default:
		return nil, &jqlError{fmt.Sprintf("Field '%s' does not exist or you do not have permission to view it.", ft.text)}
	}
	switch field {
	case "createddate":
		field = "created"
	case "updateddate":
		field = "updated"
	}
	// operator
	var op string
	t := p.next()
	switch {
	case t.kind == tOp:
		op = t.text
	case p.isWord(t, "in"):
		op = "in"
	case p.isWord(t, "not") && p.isWord(p.peek(), "in"):
		p.i++
		op = "not in"
	case p.isWord(t, "is"):
		return nil, &jqlError{fmt.Sprintf("The operator 'is' is not supported by the simulator's JQL for the '%s' field.", ft.text)}
	default:
		return nil, p.expected("operator", t)
	}
	switch op {
	case "=", "!=", ">", ">=", "<", "<=", "in", "not in":
	default:
		return nil, &jqlError{fmt.Sprintf("The operator '%s' is not supported by the '%s' field.", op, ft.text)}
	}
	if field == "project" && op != "=" && op != "!=" && op != "in" && op != "not in" {
		return nil, &jqlError{fmt.Sprintf("The operator '%s' is not supported by the '%s' field.", op, ft.text)}
	}
	// values
	var vals []jqlToken
	if op == "in" || op == "not in" {
		if t := p.next(); t.kind != tLParen {
			return nil, p.expected("'('", t)
		}
		for {
			v := p.next()
			if v.kind != tWord && v.kind != tString {
				return nil, p.expected("a value", v)
			}
			vals = append(vals, v)
			sep := p.next()
			if sep.kind == tRParen {
				break
			}
			if sep.kind != tComma {
				return nil, p.expected("either a comma (',') or ')'", sep)
			}
		}
	} else {
		v := p.next()
		if v.kind != tWord && v.kind != tString {
			return nil, p.expected("either a value, list or function", v)
		}
		if v.kind == tWord && jqlReserved[strings.ToLower(v.text)] {
			return nil, p.expected("either a value, list or function", v)
		}
		vals = append(vals, v)
	}
	c := &jqlClause{field: field, op: op}
	for _, v := range vals {
		if err := p.resolve(c, ft.text, v); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (p *jqlParser) resolve(c *jqlClause, fieldName string, v jqlToken) error {
	switch c.field {
	case "project":
		var pr *SimProject
		if p.env.project != nil {
			pr = p.env.project(v.text)
		}
		if pr == nil {
			return &jqlError{fmt.Sprintf("The value '%s' does not exist for the field '%s'.", v.text, fieldName)}
		}
		c.strs = append(c.strs, pr.ID)
	case "key":
		pk, n := apiSplitKey(v.text)
		if n < 0 || pk == "" {
			return &jqlError{fmt.Sprintf("The issue key '%s' for field '%s' is invalid.", v.text, fieldName)}
		}
		c.strs = append(c.strs, strings.ToUpper(v.text))
	case "id":
		n, err := strconv.ParseInt(v.text, 10, 64)
		if err != nil {
			return &jqlError{fmt.Sprintf("The value '%s' is not a valid issue id for field '%s'.", v.text, fieldName)}
		}
		c.nums = append(c.nums, n)
	case "created", "updated":
		t, err := parseJQLDate(v.text, p.env.loc)
		if err != nil {
			return &jqlError{fmt.Sprintf("Date value '%s' for field '%s' is invalid. Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period format e.g. '-5d', '4w 2d'.", v.text, fieldName)}
		}
		c.times = append(c.times, t)
	}
	return nil
}

// parseJQLDate reads epoch milliseconds, or yyyy-MM-dd[ HH:mm] (also with '/')
// in loc — the API user's time zone, as Jira does; this is why a sync must send
// epoch milliseconds rather than a formatted UTC time.
func parseJQLDate(s string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(n), nil
	}
	s2 := strings.ReplaceAll(s, "/", "-")
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s2, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("bad date %q", s)
}

// less orders two issues by q's ORDER BY, then by id ascending for a stable
// order. Without ORDER BY Jira's default is key descending.
func (q *jqlQuery) less(a, b *SimIssue) bool {
	order := q.orderBy
	if len(order) == 0 {
		order = []jqlOrder{{field: "key", desc: true}}
	}
	for _, o := range order {
		var c int
		switch o.field {
		case "updated":
			c = a.Updated.Compare(b.Updated)
		case "created":
			c = a.Created.Compare(b.Created)
		case "key":
			pa, na := apiSplitKey(a.Key)
			pb, nb := apiSplitKey(b.Key)
			c = strings.Compare(pa, pb)
			if c == 0 {
				c = int64Cmp(na, nb)
			}
		case "id":
			c = int64Cmp(apiIDNum(a.ID), apiIDNum(b.ID))
		}
		if o.desc {
			c = -c
		}
		if c != 0 {
			return c < 0
		}
	}
	return apiIDNum(a.ID) < apiIDNum(b.ID)
}

func apiIDNum(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// match returns the issues matching q in q's order.
func (q *jqlQuery) match(issues []*SimIssue) []*SimIssue {
	var out []*SimIssue
	for _, is := range issues {
		if q.where == nil || q.where.eval(is) {
			out = append(out, is)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return q.less(out[i], out[j]) })
	return out
}
