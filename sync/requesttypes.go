package syncer

import (
	"context"
	"fmt"
	"maps"

	"switchyard"
)

// Request types. The issue's request type field (vp-origin) may carry only
// the id, or the name it had when the issue last changed: renaming a request
// type in JSM updates no issue. The customers stage therefore reads each
// desk's request types (/servicedesk/{id}/requesttype), every issue written
// gets its desk's current name, and a rename re-writes the stored issues of
// that desk from the store (no Jira call per issue) so facets and the
// request_type filter show the new name after the next identity sync.

// RequestTypeJira is implemented by a Jira that lists a desk's request types.
type RequestTypeJira interface {
	RequestTypes(ctx context.Context, deskID string) ([]switchyard.RequestType, error)
}

// RequestTypeStore is implemented by stores that keep request types and can
// hand back their stored issues for re-writing.
type RequestTypeStore interface {
	// RequestTypeNames maps request type id to its stored name, per desk.
	RequestTypeNames(ctx context.Context, conn string) (map[string]map[string]string, error)
	ForEachIssue(ctx context.Context, conn, projectID string, fn func(switchyard.Issue) error) error
}

// deskRequestTypes fills in each desk's request types. An account that may
// not read them leaves them unknown (the issues keep their field's name).
func (s *session) deskRequestTypes(ctx context.Context, desks []switchyard.ServiceDesk) error {
	rj, ok := s.jira.(RequestTypeJira)
	if !ok {
		return nil
	}
	for i := range desks {
		rts, err := rj.RequestTypes(ctx, desks[i].ID)
		if denied(err) {
			s.warn("request types of service desk %s not readable (%v): its requests keep the request type name their field holds; make the account a service desk agent (OAuth: read:servicedesk-request)", desks[i].ID, err)
			continue
		}
		if err != nil {
			return fmt.Errorf("fetch request types: %w", err)
		}
		desks[i].RequestTypes = rts
	}
	return nil
}

// storedRequestTypes returns the stored request types per desk (nil when the
// store keeps none).
func (s *session) storedRequestTypes(ctx context.Context) (map[string]map[string]string, error) {
	rs, ok := s.e.store.(RequestTypeStore)
	if !ok {
		return nil, nil
	}
	m, err := rs.RequestTypeNames(ctx, s.c.Name)
	if err != nil {
		return nil, fmt.Errorf("stored request types: %w", err)
	}
	return m, nil
}

// requestTypeNames returns id → current name, loaded once per session (and
// again after the customers stage replaced them).
func (s *session) requestTypeNames(ctx context.Context) (map[string]string, error) {
	s.rtMu.Lock()
	defer s.rtMu.Unlock()
	if s.rtNames != nil {
		return s.rtNames, nil
	}
	per, err := s.storedRequestTypes(ctx)
	if err != nil {
		return nil, err
	}
	names := map[string]string{}
	for _, m := range per {
		maps.Copy(names, m)
	}
	s.rtNames = names
	return names, nil
}

// applyRequestTypes gives every issue whose request type id is known its
// current name. It reports whether it changed any.
func (s *session) applyRequestTypes(ctx context.Context, issues []switchyard.Issue) (bool, error) {
	names, err := s.requestTypeNames(ctx)
	if err != nil {
		return false, err
	}
	changed := false
	for i := range issues {
		is := &issues[i]
		if is.RequestTypeID == "" {
			continue
		}
		if n, ok := names[is.RequestTypeID]; ok && n != "" && n != is.RequestType {
			is.RequestType = n
			changed = true
		}
	}
	return changed, nil
}

// renameRequestTypes re-writes, from the store, the issues of every desk
// whose request types changed since the last identity sync (a first read
// counts as a change, which also mends issues stored with only an id).
func (s *session) renameRequestTypes(ctx context.Context, before map[string]map[string]string, desks []switchyard.ServiceDesk) error {
	s.rtMu.Lock()
	s.rtNames = nil
	s.rtMu.Unlock()
	rs, ok := s.e.store.(RequestTypeStore)
	if !ok || !s.c.Scope.Issues {
		return nil
	}
	for _, d := range desks {
		if d.RequestTypes == nil {
			continue
		}
		now := map[string]string{}
		for _, rt := range d.RequestTypes {
			now[rt.ID] = rt.Name
		}
		if maps.Equal(now, before[d.ID]) {
			continue
		}
		if err := s.rewriteDesk(ctx, rs, d.ProjectID); err != nil {
			return fmt.Errorf("request types of service desk %s: %w", d.ID, err)
		}
	}
	return nil
}

const rewriteBatch = 100

func (s *session) rewriteDesk(ctx context.Context, rs RequestTypeStore, projectID string) error {
	var batch []switchyard.Issue
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		written, err := s.e.store.CommitIssues(ctx, s.c.Name, batch, nil, 0)
		if err != nil {
			return fmt.Errorf("store issues: %w", err)
		}
		if err := s.e.index.IndexIssues(ctx, s.c.Name, written); err != nil {
			return fmt.Errorf("index issues: %w", err)
		}
		batch = batch[:0]
		return nil
	}
	err := rs.ForEachIssue(ctx, s.c.Name, projectID, func(is switchyard.Issue) error {
		one := []switchyard.Issue{is}
		changed, err := s.applyRequestTypes(ctx, one)
		if err != nil || !changed {
			return err
		}
		batch = append(batch, one[0])
		if len(batch) >= rewriteBatch {
			return flush()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return flush()
}
