package index

import (
	"context"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2/search/query"

	"switchyard"
)

// MaxVisibleKeys bounds one VisibleKeys call.
const MaxVisibleKeys = 1000

// VisibleKeysRequest asks which of Keys the user may see.
type VisibleKeysRequest struct {
	Connection string
	AsUser     string // account id or e-mail, resolved through Index.Source
	Keys       []string
}

// VisibleKeys reports which of the issue keys the user may see in Jira,
// in one search under the user's permission filter: a key the user may not
// see, and one that is not synced, are both absent from the answer. Callers
// that show Jira content about many issues at once (the approval queue)
// filter by it.
func (idx *Index) VisibleKeys(ctx context.Context, req VisibleKeysRequest) (map[string]bool, error) {
	start := time.Now()
	if err := validConn(req.Connection); err != nil {
		return nil, err
	}
	if len(req.Keys) > MaxVisibleKeys {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "keys", "%d keys, at most %d", len(req.Keys), MaxVisibleKeys)
	}
	out := map[string]bool{}
	var terms []query.Query
	seen := map[string]bool{}
	for _, k := range req.Keys {
		k = strings.ToUpper(strings.TrimSpace(k))
		if !keyLike.MatchString(k) || seen[k] {
			continue
		}
		seen[k] = true
		terms = append(terms, termQ(fKey, k))
	}
	if len(terms) == 0 {
		return out, nil
	}
	sreq := SearchRequest{Connection: req.Connection, AsUser: req.AsUser, Types: []string{TypeIssue}}
	res, err := idx.run(ctx, sreq, and(or(terms...), termQ(fFacetType, TypeIssue)), nil, len(terms), start)
	if err != nil {
		return nil, err
	}
	for _, h := range res.Hits {
		if seen[h.Key] {
			out[h.Key] = true
		}
	}
	return out, nil
}
