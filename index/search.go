package index

import (
	"context"
	"crypto/sha256"
	"fmt"
	"html"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"switchyard"
)

// Paging limits.
const (
	DefaultSize = 20
	MaxSize     = 100
	MaxWindow   = 10000 // From+Size; deeper paging costs more than it helps
	snippetLen  = 160
)

// SearchRequest is one search as a given user.
type SearchRequest struct {
	Connection string
	Query      string // see the syntax in query.go; "" or "*" matches everything
	// AsUser is an account id or email, resolved through Index.Source. Ignored
	// when Viewer is set.
	AsUser string
	// Viewer and Permissions, when set, are used as given (the caller resolved
	// them); otherwise Index.Source provides them.
	Viewer      *Viewer
	Permissions *Permissions

	Projects []string // project keys (exact, as facets report them)
	Types    []string // issue | comment | attachment
	Statuses []string // status names (exact, as facets report them)
	// RequestTypes are JSM request type names (exact, as facets report them).
	RequestTypes []string
	// UpdatedFrom and UpdatedTo bound the updated day (UTC), both inclusive;
	// a zero bound is open.
	UpdatedFrom time.Time
	UpdatedTo   time.Time
	From, Size  int

	noFilter bool // internal measurement only: skip the permission filter
}

// SearchResult is one page of results.
type SearchResult struct {
	Total  uint64
	Hits   []Hit
	Facets map[string][]FacetCount // "project", "status", "type", "issuetype"
	Took   time.Duration
}

// Hit is one result. Snippet is HTML-escaped text with <mark> around matches.
type Hit struct {
	ID           string    `json:"id"`
	Type         string    `json:"type"`
	Key          string    `json:"key"`
	IssueID      string    `json:"issueId"`
	CommentID    string    `json:"commentId,omitempty"`
	AttachmentID string    `json:"attachmentId,omitempty"`
	Title        string    `json:"title"`
	Snippet      string    `json:"snippet"`
	Project      string    `json:"project"`
	Status       string    `json:"status,omitempty"`
	Updated      time.Time `json:"updated"`
	URL          string    `json:"url,omitempty"`
	Score        float64   `json:"score"`
}

// FacetCount is one facet value with its count.
type FacetCount struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// maxFacetValues is how many values of each facet a result lists.
const maxFacetValues = 50

// Search runs req as its user and returns only what that user may see.
func (idx *Index) Search(ctx context.Context, req SearchRequest) (*SearchResult, error) {
	start := time.Now()
	if err := validConn(req.Connection); err != nil {
		return nil, err
	}
	size := req.Size
	if size == 0 {
		size = DefaultSize
	}
	if size < 0 || size > MaxSize {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "size", "%d is out of range 1..%d", req.Size, MaxSize)
	}
	if req.From < 0 || req.From+size > MaxWindow {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "from", "%d is out of range (from+size at most %d)", req.From, MaxWindow)
	}
	for _, t := range req.Types {
		if t != TypeIssue && t != TypeComment && t != TypeAttachment {
			return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "type", "%q is not one of issue, comment, attachment", t)
		}
	}
	if !req.UpdatedFrom.IsZero() && !req.UpdatedTo.IsZero() && req.UpdatedTo.Before(req.UpdatedFrom) {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "updated", "range ends (%s) before it starts (%s)",
			req.UpdatedTo.Format(time.RFC3339), req.UpdatedFrom.Format(time.RFC3339))
	}
	userQ, terms, err := idx.parseUserQuery(req.Query)
	if err != nil {
		return nil, err
	}
	return idx.run(ctx, req, userQ, terms, size, start)
}

// run searches userQ under the request's permission filter and filters;
// terms mark snippets. The request is validated.
func (idx *Index) run(ctx context.Context, req SearchRequest, userQ query.Query, terms map[string]bool, size int, start time.Time) (*SearchResult, error) {

	// The permission filter (or, unfiltered, the connection) comes with a
	// cache key; the request's own filters are hashed onto it.
	var filters, extra []query.Query
	var key [32]byte
	cacheable := true
	if req.noFilter {
		filters = []query.Query{termQ(fConn, req.Connection)}
		key = sha256.Sum256([]byte("unfiltered\x00" + req.Connection))
	} else {
		v, perms, err := idx.resolve(ctx, req)
		if err != nil {
			return nil, err
		}
		vf := idx.viewers.get(req.Connection, v, perms)
		if vf.q == nil {
			return &SearchResult{Facets: countFacets(nil, nil), Took: time.Since(start)}, nil
		}
		filters, key, cacheable = []query.Query{vf.q}, vf.key, vf.cacheable
	}
	if len(req.Projects) > 0 {
		extra = append(extra, newTermsQuery(fFacetProject, req.Projects))
	}
	if len(req.Types) > 0 {
		extra = append(extra, newTermsQuery(fFacetType, req.Types))
	}
	if len(req.RequestTypes) > 0 {
		extra = append(extra, newTermsQuery(fFacetRequestType, req.RequestTypes))
	}
	if len(req.Statuses) > 0 {
		extra = append(extra, newTermsQuery(fFacetStatus, req.Statuses))
	}
	if !req.UpdatedFrom.IsZero() || !req.UpdatedTo.IsZero() {
		incl := true
		extra = append(extra, dayRange(fUpdatedDay, req.UpdatedFrom, req.UpdatedTo, &incl, &incl))
	}
	fq := and(append(filters, extra...)...)
	if cacheable && len(extra) > 0 {
		ek, err := filterKey(and(extra...))
		key, cacheable = sha256.Sum256(append(key[:], ek[:]...)), err == nil
	}
	var q query.Query = &filteredQuery{q: userQ, filter: &cachedFilter{q: fq, key: key, cache: &idx.filters}}
	if !cacheable { // evaluated as it is
		q = query.NewConjunctionQuery([]query.Query{userQ, &filterQuery{fq}})
	}
	rec := newRecordQuery(q, &idx.facets)
	rec.pageEnd = req.From + size
	sr := bleve.NewSearchRequestOptions(rec, size, req.From, false)
	sr.Fields = []string{fKey, fSummary, fFacetProject, fFacetStatus, fUpdated, fURL, fHead, fFilename}
	if len(terms) == 0 {
		// Without words every score is equal: order by id so that pages stay
		// consistent while segments merge underneath. (Scored queries skip
		// this: loading every candidate's id costs too much.)
		sr.SortBy([]string{"-_score", "_id"})
	}
	res, err := idx.bleve.SearchInContext(ctx, sr)
	if err != nil {
		return nil, fmt.Errorf("search: %w", err)
	}
	if rec.err != nil {
		return nil, fmt.Errorf("search: facets: %w", rec.err)
	}
	if rec.facets == nil { // nothing was searched (a cancelled context)
		rec.facets = countFacets(nil, nil)
	}
	out := &SearchResult{Total: res.Total, Facets: rec.facets}
	for _, h := range res.Hits {
		out.Hits = append(out.Hits, idx.toHit(h, terms))
	}
	if err := idx.fillFromIssues(ctx, req.Connection, out.Hits); err != nil {
		return nil, err
	}
	out.Took = time.Since(start)
	return out, nil
}

// fillFromIssues gives comment and attachment hits the title and URL of their
// issue, which only the issue document stores.
func (idx *Index) fillFromIssues(ctx context.Context, conn string, hits []Hit) error {
	var ids []string
	seen := map[string]bool{}
	for _, h := range hits {
		if h.Type != TypeIssue {
			id := docID(conn, TypeIssue, h.IssueID)
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		return nil
	}
	sr := bleve.NewSearchRequestOptions(query.NewDocIDQuery(ids), len(ids), 0, false)
	sr.Fields = []string{fSummary, fURL}
	sr.Score = "none"
	res, err := idx.bleve.SearchInContext(ctx, sr)
	if err != nil {
		return fmt.Errorf("search: issue titles: %w", err)
	}
	type info struct{ title, url string }
	byIssue := map[string]info{}
	for _, d := range res.Hits {
		t, _ := d.Fields[fSummary].(string)
		u, _ := d.Fields[fURL].(string)
		byIssue[d.ID] = info{t, u}
	}
	for i := range hits {
		h := &hits[i]
		if h.Type == TypeIssue {
			continue
		}
		in := byIssue[docID(conn, TypeIssue, h.IssueID)]
		if h.Title == "" {
			h.Title = in.title
		} else {
			h.Title = h.Title + " — " + in.title
		}
		if in.url != "" {
			if h.Type == TypeComment {
				h.URL = in.url + "?focusedCommentId=" + h.CommentID
			} else {
				h.URL = in.url
			}
		}
	}
	return nil
}

// withViewer returns req with its viewer and permissions resolved, so that
// several searches for one request (a source lookup, then the search) run
// as the same user and resolve them once.
func (idx *Index) withViewer(ctx context.Context, req SearchRequest) (SearchRequest, error) {
	if req.Viewer != nil && req.Permissions != nil {
		return req, nil
	}
	v, perms, err := idx.resolve(ctx, req)
	if err != nil {
		return req, err
	}
	req.Viewer, req.Permissions = &v, perms
	return req, nil
}

func (idx *Index) resolve(ctx context.Context, req SearchRequest) (Viewer, *Permissions, error) {
	v := Viewer{}
	if req.Viewer != nil {
		v = *req.Viewer
	} else if req.AsUser != "" {
		if idx.Source == nil {
			return v, nil, fmt.Errorf("search as %q: no permission source configured", req.AsUser)
		}
		var err error
		if v, err = idx.Source.Viewer(ctx, req.Connection, req.AsUser); err != nil {
			return v, nil, fmt.Errorf("resolve user: %w", err)
		}
	}
	perms := req.Permissions
	if perms == nil {
		if idx.Source == nil {
			return v, nil, fmt.Errorf("search %s: no permission source configured", req.Connection)
		}
		var err error
		if perms, err = idx.Source.Permissions(ctx, req.Connection); err != nil {
			return v, nil, fmt.Errorf("load permissions: %w", err)
		}
		if perms == nil {
			perms = &Permissions{}
		}
	}
	return v, perms, nil
}

func (idx *Index) toHit(h *search.DocumentMatch, terms map[string]bool) Hit {
	hit := Hit{ID: h.ID, Score: h.Score}
	// conn/type/issue[/child]
	parts := strings.Split(h.ID, "/")
	if len(parts) >= 3 {
		hit.Type = parts[1]
		hit.IssueID = parts[2]
		if len(parts) >= 4 {
			switch hit.Type {
			case TypeComment:
				hit.CommentID = parts[3]
			case TypeAttachment:
				hit.AttachmentID = parts[3]
			}
		}
	}
	str := func(f string) string { s, _ := h.Fields[f].(string); return s }
	hit.Key = str(fKey)
	hit.Title = str(fSummary)
	if hit.Type == TypeAttachment {
		hit.Title = str(fFilename)
	}
	hit.Project = str(fFacetProject)
	hit.Status = str(fFacetStatus)
	hit.URL = str(fURL)
	if t, err := time.Parse(time.RFC3339Nano, str(fUpdated)); err == nil {
		hit.Updated = t
	}
	// Snippet: the stored head of the body with the matches in it marked;
	// else the matched summary or file name; else the head as it is.
	head := str(fHead)
	hit.Snippet = html.EscapeString(head)
	for _, text := range []string{head, str(fSummary), str(fFilename)} {
		if s, ok := idx.markText(text, terms); ok {
			hit.Snippet = s
			break
		}
	}
	return hit
}

// markText HTML-escapes s and wraps the words whose analysed form is one of
// terms in <mark>; ok is false when no word matched. Re-analysing the short
// stored text costs less than storing term vectors for every body.
func (idx *Index) markText(s string, terms map[string]bool) (string, bool) {
	if s == "" || len(terms) == 0 {
		return "", false
	}
	var b strings.Builder
	cur, marked := 0, false
	for _, tok := range idx.analyzer().Analyze([]byte(s)) {
		if !terms[string(tok.Term)] || tok.Start < cur || tok.End > len(s) {
			continue
		}
		b.WriteString(html.EscapeString(s[cur:tok.Start]))
		b.WriteString("<mark>")
		b.WriteString(html.EscapeString(s[tok.Start:tok.End]))
		b.WriteString("</mark>")
		cur, marked = tok.End, true
	}
	if !marked {
		return "", false
	}
	b.WriteString(html.EscapeString(s[cur:]))
	return b.String(), true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
