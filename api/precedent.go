package api

import (
	"context"

	"switchyard/index"
	"switchyard/runbook"
)

// SimilarTickets adapts the search index's more-like-this to what the
// runbook service needs for precedent on Slack and Teams cards
// (runbook.Options.Similar): the issues most similar to one, as an account
// may see them in Jira. nil without an index that finds similar issues.
func SimilarTickets(ix Index) runbook.SimilarFinder {
	sim, ok := ix.(Similarer)
	if !ok || sim == nil {
		return nil
	}
	return similarTickets{sim}
}

type similarTickets struct{ ix Similarer }

func (s similarTickets) SimilarTickets(ctx context.Context, conn, issueKey, account string, size int) ([]runbook.SimilarTicket, error) {
	res, err := s.ix.Similar(ctx, index.SimilarRequest{Connection: conn, Key: issueKey, AsUser: account, Size: size})
	if err != nil {
		return nil, err
	}
	out := make([]runbook.SimilarTicket, 0, len(res.Hits))
	for _, h := range res.Hits {
		out = append(out, runbook.SimilarTicket{Key: h.Key, Title: h.Title, URL: h.URL, Status: h.Status})
	}
	return out, nil
}
