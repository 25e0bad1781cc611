package syncer

import (
	"context"
	"fmt"
	"strconv"

	"switchyard"
)

// RefreshIssue re-fetches one issue now (a webhook said it changed) and writes
// it, with comments and attachment text, to the store and index. An issue that
// is gone, invisible or out of scope is removed instead.
func (e *Engine) RefreshIssue(ctx context.Context, conn, issueKeyOrID string) error {
	if !e.leading() {
		// Only the leader talks to Jira: its next incremental run (asked
		// for here) picks the change up.
		if _, err := e.runner(conn); err != nil {
			return err
		}
		e.forward(conn, false)
		return nil
	}
	s, err := e.adhoc(ctx, conn)
	if err != nil {
		return err
	}
	if !s.c.Scope.Issues {
		return nil
	}
	is, err := s.jira.Issue(ctx, issueKeyOrID, s.fields())
	if isNotFound(err) {
		id, err := s.storedID(ctx, issueKeyOrID)
		if err != nil || id == "" {
			return err
		}
		_, err = s.deleteIssues(ctx, []string{id})
		return err
	}
	if err != nil {
		return fmt.Errorf("refresh %s: %w", issueKeyOrID, err)
	}
	inScope := s.inScopeProject(is)
	if inScope && s.c.Scope.Clause != "" {
		// Date filters: ask Jira whether the issue still matches them.
		ids, err := s.listIDs(ctx, s.scopeJQL()+" AND id = "+is.ID)
		if err != nil {
			return fmt.Errorf("refresh %s: scope check: %w", issueKeyOrID, err)
		}
		inScope = len(ids) > 0
	}
	if !inScope {
		_, err = s.deleteIssues(ctx, []string{is.ID})
		return err
	}
	issues := []switchyard.Issue{is}
	outcomes, err := s.complete(ctx, issues)
	if err != nil {
		return fmt.Errorf("refresh %s: %w", issueKeyOrID, err)
	}
	if _, err := s.applyRequestTypes(ctx, issues); err != nil {
		return fmt.Errorf("refresh %s: %w", issueKeyOrID, err)
	}
	written, err := e.store.CommitIssues(ctx, conn, issues, outcomes, 0)
	if err != nil {
		return fmt.Errorf("refresh %s: store: %w", issueKeyOrID, err)
	}
	if err := e.index.IndexIssues(ctx, conn, written); err != nil {
		return fmt.Errorf("refresh %s: index: %w", issueKeyOrID, err)
	}
	e.committed(ctx, conn, written)
	return nil
}

// RemoveIssue removes one issue with its comments and attachments (a webhook
// said it was deleted).
func (e *Engine) RemoveIssue(ctx context.Context, conn, issueID string) error {
	s, err := e.adhoc(ctx, conn)
	if err != nil {
		return err
	}
	_, err = s.deleteIssues(ctx, []string{issueID})
	return err
}

// adhoc is a session outside a run, for webhook-driven changes.
func (e *Engine) adhoc(ctx context.Context, conn string) (*session, error) {
	r, err := e.runner(conn)
	if err != nil {
		return nil, err
	}
	c := r.connection()
	s := &session{e: e, r: r, c: c, jira: c.Jira, run: &RunStats{Connection: conn}}
	projects, err := e.store.Projects(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("stored projects: %w", err)
	}
	for _, p := range projects {
		if s.c.Scope.InScope(p.Key) {
			s.projects = append(s.projects, p)
		}
	}
	if err := s.useCustomFields(); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *session) inScopeProject(is switchyard.Issue) bool {
	for _, p := range s.projects {
		if p.ID == is.ProjectID || (is.ProjectID == "" && p.Key == is.ProjectKey) {
			return true
		}
	}
	return false
}

// storedID maps an issue key or id to the stored id ("" when not stored).
func (s *session) storedID(ctx context.Context, keyOrID string) (string, error) {
	versions, err := s.e.store.IssueVersions(ctx, s.c.Name)
	if err != nil {
		return "", fmt.Errorf("stored issues: %w", err)
	}
	if _, err := strconv.ParseInt(keyOrID, 10, 64); err == nil {
		if _, ok := versions[keyOrID]; ok {
			return keyOrID, nil
		}
		return "", nil
	}
	for id, v := range versions {
		if v.Key == keyOrID {
			return id, nil
		}
	}
	return "", nil
}
