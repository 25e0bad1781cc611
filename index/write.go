package index

import (
	"context"
	"fmt"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"switchyard"
)

// Batch collects issue writes and deletions for one connection and applies
// them in one bleve batch: the sync engine uses one per committed page.
type Batch struct {
	idx     *Index
	conn    string
	issues  map[string]*switchyard.Issue // by issue id; nil = delete
	order   []string
	invalid error
}

// NewBatch starts a batch for conn.
func (idx *Index) NewBatch(conn string) *Batch {
	b := &Batch{idx: idx, conn: conn, issues: map[string]*switchyard.Issue{}}
	if err := validConn(conn); err != nil {
		b.invalid = err
	}
	return b
}

// Index adds or replaces an issue with its comments and attachments. Comments
// and attachments the issue no longer has are removed on Apply.
func (b *Batch) Index(is switchyard.Issue) {
	if b.invalid != nil {
		return
	}
	if err := validIssue(&is); err != nil {
		b.invalid = err
		return
	}
	b.put(is.ID, &is)
}

// Delete removes an issue with its comments and attachments.
func (b *Batch) Delete(issueID string) {
	if b.invalid != nil {
		return
	}
	if err := validID("issue id", issueID); err != nil {
		b.invalid = err
		return
	}
	b.put(issueID, nil)
}

func (b *Batch) put(id string, is *switchyard.Issue) {
	if _, ok := b.issues[id]; !ok {
		b.order = append(b.order, id)
	}
	b.issues[id] = is
}

// Len is the number of issues in the batch.
func (b *Batch) Len() int { return len(b.order) }

// Apply writes the batch. A batch with an invalid issue or id writes nothing.
func (b *Batch) Apply(ctx context.Context) error {
	if b.invalid != nil {
		return b.invalid
	}
	if len(b.order) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	idx := b.idx
	idx.writeMu.Lock()
	defer idx.writeMu.Unlock()

	scopes := make([]string, len(b.order))
	for i, id := range b.order {
		scopes[i] = scopeOf(b.conn, id)
	}
	existing, err := idx.docIDs(ctx, newTermsQuery(fScope, scopes))
	if err != nil {
		return fmt.Errorf("index batch: %w", err)
	}
	bb := idx.bleve.NewBatch()
	keep := map[string]bool{}
	for _, id := range b.order {
		is := b.issues[id]
		if is == nil {
			continue
		}
		for docID, d := range issueDocs(b.conn, is) {
			keep[docID] = true
			if err := bb.Index(docID, d); err != nil {
				return fmt.Errorf("index issue %s: %w", is.Key, err)
			}
		}
	}
	for _, id := range existing {
		if !keep[id] {
			bb.Delete(id)
		}
	}
	if err := idx.bleve.Batch(bb); err != nil {
		return fmt.Errorf("index batch: %w", err)
	}
	return nil
}

// IndexIssue adds or replaces one issue with its comments and attachments.
func (idx *Index) IndexIssue(ctx context.Context, conn string, is switchyard.Issue) error {
	b := idx.NewBatch(conn)
	b.Index(is)
	return b.Apply(ctx)
}

// IndexIssues adds or replaces many issues in one batch.
func (idx *Index) IndexIssues(ctx context.Context, conn string, issues []switchyard.Issue) error {
	b := idx.NewBatch(conn)
	for _, is := range issues {
		b.Index(is)
	}
	return b.Apply(ctx)
}

// DeleteIssue removes an issue with its comments and attachments. Deleting an
// issue the index does not hold is not an error.
func (idx *Index) DeleteIssue(ctx context.Context, conn, issueID string) error {
	b := idx.NewBatch(conn)
	b.Delete(issueID)
	return b.Apply(ctx)
}

// DeleteConnection removes every document of conn.
func (idx *Index) DeleteConnection(ctx context.Context, conn string) error {
	if err := validConn(conn); err != nil {
		return err
	}
	idx.writeMu.Lock()
	defer idx.writeMu.Unlock()
	ids, err := idx.docIDs(ctx, termQ(fConn, conn))
	if err != nil {
		return fmt.Errorf("delete connection %s: %w", conn, err)
	}
	const chunk = 10000
	for len(ids) > 0 {
		n := min(chunk, len(ids))
		bb := idx.bleve.NewBatch()
		for _, id := range ids[:n] {
			bb.Delete(id)
		}
		if err := idx.bleve.Batch(bb); err != nil {
			return fmt.Errorf("delete connection %s: %w", conn, err)
		}
		ids = ids[n:]
	}
	return nil
}

// Count returns how many issue, comment and attachment documents conn has.
func (idx *Index) Count(ctx context.Context, conn string) (issues, comments, attachments int, err error) {
	if err := validConn(conn); err != nil {
		return 0, 0, 0, err
	}
	var n [3]int
	for i, typ := range []string{TypeIssue, TypeComment, TypeAttachment} {
		req := bleve.NewSearchRequestOptions(and(termQ(fConn, conn), termQ(fFacetType, typ)), 0, 0, false)
		req.Score = "none"
		res, err := idx.bleve.SearchInContext(ctx, req)
		if err != nil {
			return 0, 0, 0, fmt.Errorf("count %s: %w", conn, err)
		}
		n[i] = int(res.Total)
	}
	issues, comments, attachments = n[0], n[1], n[2]
	return issues, comments, attachments, nil
}

// IssueIDs returns the ids of conn's indexed issues, sorted as strings.
func (idx *Index) IssueIDs(ctx context.Context, conn string) ([]string, error) {
	if err := validConn(conn); err != nil {
		return nil, err
	}
	ids, err := idx.docIDs(ctx, and(termQ(fConn, conn), termQ(fFacetType, TypeIssue)))
	if err != nil {
		return nil, fmt.Errorf("issue ids %s: %w", conn, err)
	}
	prefix := docID(conn, TypeIssue, "")
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		out = append(out, strings.TrimPrefix(id, prefix))
	}
	return out, nil
}

// docIDs pages through every document id matching q, in id order.
func (idx *Index) docIDs(ctx context.Context, q query.Query) ([]string, error) {
	const page = 10000
	var out []string
	var after []string
	for {
		req := bleve.NewSearchRequestOptions(q, page, 0, false)
		req.SortBy([]string{"_id"})
		req.Score = "none"
		if after != nil {
			req.SearchAfter = after
		}
		res, err := idx.bleve.SearchInContext(ctx, req)
		if err != nil {
			return nil, err
		}
		for _, h := range res.Hits {
			out = append(out, h.ID)
		}
		if len(res.Hits) < page {
			return out, nil
		}
		after = []string{res.Hits[len(res.Hits)-1].ID}
	}
}

func validConn(conn string) error {
	if conn == "" {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "connection", "must not be empty")
	}
	if strings.ContainsAny(conn, "/\x00") {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "connection", "%q must not contain '/'", conn)
	}
	return nil
}

func validID(what, id string) error {
	if id == "" {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, what, "must not be empty")
	}
	if strings.ContainsAny(id, "/\x00") {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, what, "%q must not contain '/'", id)
	}
	return nil
}

func validIssue(is *switchyard.Issue) error {
	if err := validID("issue id", is.ID); err != nil {
		return err
	}
	if is.ProjectID == "" {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "issue "+is.ID+" projectId", "must not be empty")
	}
	for _, c := range is.Comments {
		if err := validID("issue "+is.ID+" comment id", c.ID); err != nil {
			return err
		}
	}
	for _, a := range is.Attachments {
		if err := validID("issue "+is.ID+" attachment id", a.ID); err != nil {
			return err
		}
	}
	return nil
}
