package syncer

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// deleteIssues removes issues with their comments and attachments, from the
// index first: a crash in between leaves them in the store, where the next
// reconciliation finds and removes them again.
func (s *session) deleteIssues(ctx context.Context, ids []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	sort.Strings(ids)
	n := 0
	for len(ids) > 0 {
		k := min(500, len(ids))
		chunk := ids[:k]
		ids = ids[k:]
		if err := s.e.index.DeleteIssues(ctx, s.c.Name, chunk); err != nil {
			return 0, fmt.Errorf("unindex issues: %w", err)
		}
		if err := s.e.store.DeleteIssues(ctx, s.c.Name, chunk); err != nil {
			return 0, fmt.Errorf("delete issues: %w", err)
		}
		n += len(chunk)
	}
	s.count(func(r *RunStats) { r.Deleted += n })
	return n, nil
}

// deletions reads ISSUE_DELETE audit records since the watermark, confirms
// each with a GET (404 = gone) and removes what is confirmed. The watermark
// advances only after a successful read. Without audit rights the run
// records a warning and reconciliation takes over.
// auditRead is the result of reading the audit log since the watermark.
type auditRead struct {
	since time.Time
	recs  []DeleteRecord
	err   error // the read's error (handled by the deletions stage)
}

// readAudit reads the audit log since the watermark; it is started at the
// beginning of a run and consumed by the deletions stage.
func (s *session) readAudit(ctx context.Context) (auditRead, error) {
	var r auditRead
	wm, err := s.cp(ctx, ckAuditWatermark)
	if err != nil {
		return r, err
	}
	if wm != "" {
		if r.since, err = time.Parse(time.RFC3339Nano, wm); err != nil {
			return r, fmt.Errorf("checkpoint %s: %w", ckAuditWatermark, err)
		}
	}
	r.recs, r.err = s.jira.DeletedIssues(ctx, r.since)
	return r, nil
}

func (s *session) deletions(ctx context.Context, st *StageStats) error {
	if s.audit == nil {
		s.audit = future(ctx, s.readAudit)
	}
	ar, err := s.audit.get(ctx)
	if err != nil {
		return err
	}
	since, recs, err := ar.since, ar.recs, ar.err
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.auditForbidden = true
		if errors.Is(err, switchyard.ErrForbidden) || errors.Is(err, switchyard.ErrUnauthorized) {
			s.warn("audit log not readable: %v; deletions are found by reconciliation", err)
		} else {
			s.warn("audit log read failed: %v; deletions are found by reconciliation", err)
		}
		return nil
	}
	st.Fetched = len(recs)
	versions, err := s.e.store.IssueVersions(ctx, s.c.Name)
	if err != nil {
		return fmt.Errorf("stored issues: %w", err)
	}
	byKey := make(map[string]string, len(versions))
	for id, v := range versions {
		byKey[v.Key] = id
	}
	var gone []string
	top := since
	for _, rec := range recs {
		if rec.Created.After(top) {
			top = rec.Created
		}
		id := rec.IssueID
		if _, ok := versions[id]; !ok {
			id = byKey[rec.IssueKey]
		}
		if id == "" {
			continue // never stored (or already removed)
		}
		_, err := s.jira.Issue(ctx, id, Fields{})
		switch {
		case isNotFound(err):
			gone = append(gone, id)
		case err != nil:
			return fmt.Errorf("confirm deletion of %s: %w", rec.IssueKey, err)
		}
		s.advance(1)
	}
	n, err := s.deleteIssues(ctx, gone)
	st.Deleted = n
	if err != nil {
		return err
	}
	if top.After(since) {
		return s.setCP(ctx, ckAuditWatermark, top.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// reconcile lists the ids of every in-scope project (ids only, large pages)
// and removes stored issues Jira no longer lists: deletions the audit log
// missed, issues moved out of scope, issues the account can no longer see.
func (s *session) reconcile(ctx context.Context, st *StageStats) error {
	if !s.c.Scope.Issues {
		return nil
	}
	live := map[string]bool{}
	for _, p := range s.projects {
		jql := "project = " + quoteJQL(p.Key)
		if s.c.Scope.Clause != "" {
			jql += " AND (" + s.c.Scope.Clause + ")"
		}
		ids, err := s.listIDs(ctx, jql)
		if err != nil {
			return fmt.Errorf("list %s: %w", p.Key, err)
		}
		for _, id := range ids {
			live[id] = true
		}
		st.Fetched += len(ids)
		s.advance(len(ids))
	}
	versions, err := s.e.store.IssueVersions(ctx, s.c.Name)
	if err != nil {
		return fmt.Errorf("stored issues: %w", err)
	}
	var candidates []string
	for id := range versions {
		if !live[id] {
			candidates = append(candidates, id)
		}
	}
	sort.Strings(candidates)
	// An issue moved into scope while we listed is absent from the listing
	// but present in Jira: confirm candidates with one more search.
	still := map[string]bool{}
	for i := 0; i < len(candidates); i += bulkFetchMax {
		chunk := candidates[i:min(i+bulkFetchMax, len(candidates))]
		ids, err := s.listIDs(ctx, s.scopeJQL()+" AND id in ("+strings.Join(chunk, ",")+")")
		if err != nil {
			return fmt.Errorf("confirm: %w", err)
		}
		for _, id := range ids {
			still[id] = true
		}
	}
	var gone []string
	for _, id := range candidates {
		if !still[id] {
			gone = append(gone, id)
		}
	}
	n, err := s.deleteIssues(ctx, gone)
	st.Deleted = n
	return err
}

// scopeJQL matches every in-scope issue.
func (s *session) scopeJQL() string {
	keys := make([]string, len(s.projects))
	for i, p := range s.projects {
		keys[i] = quoteJQL(p.Key)
	}
	if len(keys) == 0 {
		keys = []string{`"-"`}
	}
	jql := "project in (" + strings.Join(keys, ",") + ")"
	if s.c.Scope.Clause != "" {
		jql += " AND (" + s.c.Scope.Clause + ")"
	}
	return jql
}

// listIDs returns every issue id matching jql: search/jql pages on Cloud,
// id-keyset windows of /rest/api/2/search on Data Center.
func (s *session) listIDs(ctx context.Context, jql string) ([]string, error) {
	var out []string
	if s.c.Mode != switchyard.ModeDataCenter {
		token := ""
		for {
			ids, next, err := s.jira.SearchIDs(ctx, jql, token, s.c.Settings.PageSize)
			if err != nil {
				return nil, err
			}
			out = append(out, ids...)
			if next == "" || len(ids) == 0 {
				return out, nil
			}
			token = next
		}
	}
	// Data Center: ids only, ordered by id, in id windows that each stay
	// under the search's 10,000-result limit.
	var after int64
	for {
		q := jql
		if after > 0 {
			q += " AND id > " + strconv.FormatInt(after, 10)
		}
		q += " ORDER BY id ASC"
		token, inWindow, cut := "", 0, false
		for {
			ids, next, err := s.jira.SearchIDs(ctx, q, token, 1000)
			if err != nil {
				return nil, err
			}
			for _, id := range ids {
				out = append(out, id)
				if n, err := strconv.ParseInt(id, 10, 64); err == nil && n > after {
					after = n
				}
			}
			inWindow += len(ids)
			if next == "" || len(ids) == 0 {
				break
			}
			if inWindow+1000 > dcWindowLimit {
				cut = true
				break
			}
			token = next
		}
		if !cut {
			return out, nil
		}
	}
}
