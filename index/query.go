package index

import (
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search/query"

	"switchyard"
)

// The user's query syntax is bleve's query-string syntax, restricted:
//
//	vpn outage            either word (BM25 ranks documents with both higher)
//	+vpn +outage -printer must / must not
//	"disk full"           phrase (in the text: through word pairs, see pairs.go)
//	summary:"vpn"         phrase or word in one field
//	status:Done           keyword fields match whole values, case-insensitively
//	vpn~1                 fuzzy (edit distance 1 or 2)
//	sched*                wildcard, at least two leading characters
//	updated:>="2024-01-01" date ranges on updated and created (UTC days)
//	vpn^2                 boost
//
// Fields are the names of fieldAliases only; any other name, regular
// expressions and numeric ranges are rejected with an error wrapping
// switchyard.ErrInvalid. The query is rebuilt from the parsed tree onto the
// internal fields, so it cannot name a permission field, and it is always
// conjoined with the permission filter, so no query can widen what a viewer sees.

const (
	maxQueryBytes   = 1024
	maxQueryClauses = 32
)

type fieldKind int

const (
	kindText fieldKind = iota
	kindKeyword
	kindDate
)

type fieldAlias struct {
	kind   fieldKind
	fields []string // internal fields searched (a disjunction)
	typ    string   // restricts to a document type when set
	lower  bool     // lower-case the value (keyword fields)
	upper  bool     // upper-case the value (Jira keys)
}

// fieldAliases are the field names users may type.
var fieldAliases = map[string]fieldAlias{
	"summary":     {kind: kindText, fields: []string{fSummary}},
	"title":       {kind: kindText, fields: []string{fSummary}},
	"body":        {kind: kindText, fields: []string{fText}},
	"text":        {kind: kindText, fields: []string{fText}},
	"description": {kind: kindText, fields: []string{fText}, typ: TypeIssue},
	"comment":     {kind: kindText, fields: []string{fText}, typ: TypeComment},
	"attachment":  {kind: kindText, fields: []string{fText}, typ: TypeAttachment},
	"filename":    {kind: kindText, fields: []string{fFilename}},
	"key":         {kind: kindKeyword, fields: []string{fKey}, upper: true},
	"project":     {kind: kindKeyword, fields: []string{fFacetProject}, upper: true},
	"status":      {kind: kindKeyword, fields: []string{fStatus}},
	"type":        {kind: kindKeyword, fields: []string{fFacetType}, lower: true},
	"issuetype":   {kind: kindKeyword, fields: []string{fIType}},
	"priority":    {kind: kindKeyword, fields: []string{fPriority}},
	"label":       {kind: kindKeyword, fields: []string{fLabels}},
	"labels":      {kind: kindKeyword, fields: []string{fLabels}},
	"created":     {kind: kindDate, fields: []string{fCreatedDay}},
	"updated":     {kind: kindDate, fields: []string{fUpdatedDay}},
}

// defaultFields are searched by words without a field.
var defaultFields = []string{fText}

var keyLike = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*-[0-9]+$`)

// FieldNames lists the fields a query may name, for help texts.
func FieldNames() []string {
	names := make([]string, 0, len(fieldAliases))
	for n := range fieldAliases {
		names = append(names, n)
	}
	return names
}

func queryErr(format string, args ...any) error {
	return switchyard.FieldErrorf(switchyard.ErrInvalid, "query", format, args...)
}

// parseUserQuery validates the user's query and rebuilds it on internal fields.
// An empty query or "*" matches every document (the filter still applies).
//
// terms are the analysed words the query looks for (not the excluded ones),
// for marking snippets.
func (idx *Index) parseUserQuery(s string) (q query.Query, terms map[string]bool, err error) {
	r := rewriter{idx: idx, terms: map[string]bool{}}
	q, err = r.parse(s)
	return q, r.terms, err
}

func (r *rewriter) parse(s string) (query.Query, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxQueryBytes {
		return nil, queryErr("too long (%d bytes, at most %d)", len(s), maxQueryBytes)
	}
	if !utf8.ValidString(s) {
		return nil, queryErr("not valid UTF-8")
	}
	if strings.ContainsRune(s, 0) {
		return nil, queryErr("contains a NUL character")
	}
	if s == "" || s == "*" {
		return query.NewMatchAllQuery(), nil
	}
	parsed, err := query.NewQueryStringQuery(s).Parse()
	if err != nil {
		return nil, queryErr("syntax error in %q: %s", s, firstLine(err.Error()))
	}
	top, ok := parsed.(*query.BooleanQuery)
	if !ok {
		return nil, queryErr("unsupported query %q", s)
	}
	r.sole = clauseCount(top.Must)+clauseCount(top.Should)+clauseCount(top.MustNot) == 1
	must, err := r.list(top.Must)
	if err != nil {
		return nil, err
	}
	should, err := r.list(top.Should)
	if err != nil {
		return nil, err
	}
	r.negated = true
	mustNot, err := r.list(top.MustNot)
	if err != nil {
		return nil, err
	}
	if r.clauses > maxQueryClauses {
		return nil, queryErr("too many clauses (%d, at most %d)", r.clauses, maxQueryClauses)
	}
	if len(must) == 0 && len(should) == 0 && len(mustNot) == 0 {
		// Only stop words: nothing to look for.
		return query.NewMatchNoneQuery(), nil
	}
	// The common shapes without the boolean wrapper: its disjunction of one
	// clause cost a third of a common word's search time.
	switch {
	case len(mustNot) == 0 && len(must) == 0 && len(should) == 1:
		return should[0], nil
	case len(mustNot) == 0 && len(should) == 0:
		return and(must...), nil
	}
	return query.NewBooleanQueryForQueryString(must, should, mustNot), nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// clauseCount is the number of clauses of a parsed conjunction or disjunction.
func clauseCount(q query.Query) int {
	switch q := q.(type) {
	case *query.ConjunctionQuery:
		return len(q.Conjuncts)
	case *query.DisjunctionQuery:
		return len(q.Disjuncts)
	}
	return 0
}

type rewriter struct {
	idx     *Index
	clauses int
	sole    bool            // the query is one clause (a key alone ranks differently)
	negated bool            // rewriting must-not clauses
	terms   map[string]bool // analysed words sought, for snippets
}

// list rewrites the children of a parsed conjunction or disjunction.
func (r *rewriter) list(q query.Query) ([]query.Query, error) {
	var children []query.Query
	switch q := q.(type) {
	case nil:
		return nil, nil
	case *query.ConjunctionQuery:
		children = q.Conjuncts
	case *query.DisjunctionQuery:
		children = q.Disjuncts
	default:
		return nil, queryErr("unsupported query structure %T", q)
	}
	var out []query.Query
	for _, c := range children {
		r.clauses++
		if r.clauses > maxQueryClauses {
			return nil, queryErr("too many clauses (more than %d)", maxQueryClauses)
		}
		rq, err := r.node(c)
		if err != nil {
			return nil, err
		}
		if rq != nil {
			out = append(out, rq)
		}
	}
	return out, nil
}

// node rewrites one clause; nil means the clause has no searchable words.
func (r *rewriter) node(q query.Query) (query.Query, error) {
	switch q := q.(type) {
	case *query.MatchQuery:
		return r.match(q.FieldVal, q.Match, q.Fuzziness, q.BoostVal, false)
	case *query.MatchPhraseQuery:
		return r.match(q.FieldVal, q.MatchPhrase, 0, q.BoostVal, true)
	case *query.WildcardQuery:
		return r.wildcard(q)
	case *query.DisjunctionQuery:
		// field:123 parses as "the word 123 or the number 123": keep the word.
		for _, d := range q.Disjuncts {
			if m, ok := d.(*query.MatchQuery); ok {
				return r.match(m.FieldVal, m.Match, m.Fuzziness, m.BoostVal, false)
			}
		}
		return nil, queryErr("unsupported clause")
	case *query.DateRangeQuery:
		return r.dateRange(q)
	case *query.RegexpQuery:
		return nil, queryErr("regular expressions (/%s/) are not supported", q.Regexp)
	case *query.NumericRangeQuery:
		return nil, queryErr("numeric ranges are not supported on %q", q.FieldVal)
	}
	return nil, queryErr("unsupported clause %T", q)
}

func (r *rewriter) alias(field string) (fieldAlias, error) {
	a, ok := fieldAliases[strings.ToLower(field)]
	if !ok {
		return a, queryErr("unknown field %q (fields: summary, body, comment, attachment, description, filename, text, key, project, status, type, issuetype, priority, label, created, updated)", field)
	}
	return a, nil
}

func (r *rewriter) match(field, text string, fuzz int, boost *query.Boost, phrase bool) (query.Query, error) {
	if fuzz > 2 {
		fuzz = 2
	}
	if !r.negated {
		for _, tok := range r.idx.analyzer().Analyze([]byte(text)) {
			r.terms[string(tok.Term)] = true
		}
	}
	if field == "" {
		var qs []query.Query
		if !phrase && fuzz == 0 && keyLike.MatchString(text) {
			qs = append(qs, r.keyQ(strings.ToUpper(text))...)
		}
		if r.idx.hasTokens(text) {
			for _, f := range defaultFields {
				qs = append(qs, r.textQ(f, text, fuzz, boost, phrase))
			}
		}
		if len(qs) == 0 {
			return nil, nil
		}
		return or(qs...), nil
	}
	a, err := r.alias(field)
	if err != nil {
		if looksLikeIdentifier(field, text) {
			// https://host/path, Trojan:Win32/Wacatac, host:443: not a field.
			return r.match("", field+":"+text, fuzz, boost, phrase)
		}
		return nil, err
	}
	switch a.kind {
	case kindDate:
		return nil, queryErr("field %q takes a date range, e.g. %s:>=\"2024-01-31\"", field, field)
	case kindKeyword:
		if a.lower {
			text = strings.ToLower(text)
		}
		if a.upper {
			text = strings.ToUpper(text)
		}
		// A keyword value is one token: a phrase is the same as a word.
		return restrict(a, matchQ(a.fields[0], text, fuzz, boost, false)), nil
	}
	if !r.idx.hasTokens(text) {
		return nil, nil
	}
	var qs []query.Query
	for _, f := range a.fields {
		qs = append(qs, r.textQ(f, text, fuzz, boost, phrase))
	}
	return restrict(a, or(qs...)), nil
}

// keyQ is what an issue key in the query looks for besides its words (see
// rank.go): alone, the issue first and then its comments and attachments;
// in a longer query, the issue strongly boosted. Like every clause it is
// under the permission filter: a key the user may not see matches nothing
// here, exactly as a key that does not exist.
func (r *rewriter) keyQ(key string) []query.Query {
	if r.negated {
		return []query.Query{termQ(fKey, key)}
	}
	issue := and(termQ(fKey, key), termQ(fFacetType, TypeIssue))
	if !r.sole {
		return []query.Query{&constScoreQuery{q: issue, score: keyInTextScore}}
	}
	return []query.Query{&constScoreQuery{q: issue, score: keyIssueScore}, &constScoreQuery{q: termQ(fKey, key), score: keyChildScore}}
}

// looksLikeIdentifier tells a pasted identifier with a colon (a URL, a
// drive path, a malware name like Trojan:Win32/Wacatac) from a field name,
// which is an error when unknown: the part after the colon holds a slash
// or backslash, and the name is none of the index's own fields (those
// stay an error, so that no query can even name a permission field).
func looksLikeIdentifier(field, value string) bool {
	if field == "" || !strings.ContainsAny(value, "/\\") || strings.HasPrefix(field, "_") {
		return false
	}
	f := strings.ToLower(field)
	for _, name := range internalFields {
		if f == name {
			return false
		}
	}
	return true
}

// internalFields are the index's field names (mapping.go).
var internalFields = []string{fConn, fScope, fKey, fStatus, fIType, fPriority, fLabels, fSummary, fText, fHead, fPairs,
	fFilename, fCreatedDay, fUpdatedDay, fUpdated, fURL, fFacetProject, fFacetStatus, fFacetType, fFacetIType,
	fPermProject, fPermLevel, fPermReporter, fPermAssignee, fPermCF, fPermVis}

func restrict(a fieldAlias, q query.Query) query.Query {
	if a.typ == "" {
		return q
	}
	return query.NewConjunctionQuery([]query.Query{q, &filterQuery{termQ(fFacetType, a.typ)}})
}

func (r *rewriter) textQ(field, text string, fuzz int, boost *query.Boost, phrase bool) query.Query {
	if phrase && field == fText {
		if q, ok := r.idx.phraseQuery(fText, fPairs, text, boost); ok {
			return q
		}
		phrase = false // one word: the word itself
	}
	if !phrase && fuzz == 0 {
		// One word is one term query: bleve's match query wraps even a single
		// word in a disjunction, a tenth of a common word's search time.
		if toks := r.idx.analyzer().Analyze([]byte(text)); len(toks) == 1 {
			tq := query.NewTermQuery(string(toks[0].Term))
			tq.SetField(field)
			if boost != nil {
				tq.SetBoost(boost.Value())
			}
			return tq
		}
	}
	return matchQ(field, text, fuzz, boost, phrase)
}

func matchQ(field, text string, fuzz int, boost *query.Boost, phrase bool) query.Query {
	if phrase {
		q := query.NewMatchPhraseQuery(text)
		q.SetField(field)
		if boost != nil {
			q.SetBoost(boost.Value())
		}
		return q
	}
	q := query.NewMatchQuery(text)
	q.SetField(field)
	if fuzz > 0 {
		q.SetFuzziness(fuzz)
	}
	if boost != nil {
		q.SetBoost(boost.Value())
	}
	return q
}

func (r *rewriter) wildcard(q *query.WildcardQuery) (query.Query, error) {
	if t := strings.TrimRight(q.Wildcard, "?"); t != "" && t != q.Wildcard && !strings.ContainsAny(t, "*?") {
		// "why is OPS-12 still open?": a question mark ends a question far
		// more often than it stands for one character.
		return r.match(q.FieldVal, t, 0, q.BoostVal, false)
	}
	w := strings.ToLower(q.Wildcard)
	lead := strings.IndexAny(w, "*?")
	if lead >= 0 && lead < 2 {
		return nil, queryErr("wildcard %q needs at least two characters before * or ?", q.Wildcard)
	}
	fields := defaultFields
	var a fieldAlias
	if q.FieldVal != "" {
		var err error
		if a, err = r.alias(q.FieldVal); err != nil {
			return nil, err
		}
		if a.kind == kindDate {
			return nil, queryErr("field %q takes a date range, not a wildcard", q.FieldVal)
		}
		fields = a.fields
	}
	var qs []query.Query
	for _, f := range fields {
		wq := query.NewWildcardQuery(w)
		wq.SetField(f)
		if q.BoostVal != nil {
			wq.SetBoost(q.BoostVal.Value())
		}
		qs = append(qs, wq)
	}
	return restrict(a, or(qs...)), nil
}

func (r *rewriter) dateRange(q *query.DateRangeQuery) (query.Query, error) {
	a, err := r.alias(q.FieldVal)
	if err != nil {
		return nil, err
	}
	if a.kind != kindDate {
		return nil, queryErr("field %q does not take a range", q.FieldVal)
	}
	return &filterQuery{dayRange(a.fields[0], q.Start.Time, q.End.Time, q.InclusiveStart, q.InclusiveEnd)}, nil
}

// dayRange matches documents whose day field lies in the range, at day
// precision: a bound's time of day is ignored. Zero bounds are open.
func dayRange(field string, from, to time.Time, fromIncl, toIncl *bool) query.Query {
	var lo, hi string
	if !from.IsZero() {
		lo = dayTerm(from)
	}
	if !to.IsZero() {
		hi = dayTerm(to)
	}
	q := query.NewTermRangeInclusiveQuery(lo, hi, fromIncl, toIncl)
	q.SetField(field)
	return q
}

// hasTokens reports whether English analysis leaves any word of text (stop
// words alone leave none).
func (idx *Index) hasTokens(text string) bool {
	var ts analysis.TokenStream = idx.analyzer().Analyze([]byte(text))
	return len(ts) > 0
}

func (idx *Index) analyzer() analysis.Analyzer {
	return idx.mapping.AnalyzerNamed(idx.mapping.DefaultAnalyzer)
}
