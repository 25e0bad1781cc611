package syncer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"switchyard"
	"switchyard/connector"
)

// identity runs the identity and permission stages: users, groups (with
// members and application roles), projects in scope, their roles and actors,
// their browse grants and security levels. They are cheap, so every run (or
// every identity_interval) replaces them wholesale. Their requests are
// independent, so they are all started at once and each stage waits only for
// its own data; the stages still complete and commit in order.
func (s *session) identity(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	s.pre = prefetch{
		users:    future(ctx, s.jira.Users),
		groups:   future(ctx, s.jira.Groups),
		appRoles: future(ctx, s.jira.ApplicationRoles),
		projects: future(ctx, s.jira.Projects),
	}
	if jj, ok := s.jira.(JSMJira); ok {
		s.pre.desks = future(ctx, jj.ServiceDesks)
		s.pre.orgs = future(ctx, jj.Organizations)
	}
	// Per-project roles, grants and levels start as soon as the project
	// list is known, without waiting for the users and groups stages.
	s.pre.perProject = future(ctx, func(ctx context.Context) ([]switchyard.Project, error) {
		all, err := s.pre.projects.get(ctx)
		if err != nil {
			return nil, err
		}
		var in []switchyard.Project
		for _, p := range all {
			if s.c.Scope.InScope(p.Key) {
				in = append(in, p)
			}
		}
		return in, s.fetchPerProject(ctx, in)
	})
	if err := s.stage(ctx, StageUsers, s.users); err != nil {
		return err
	}
	if err := s.stage(ctx, StageGroups, s.groups); err != nil {
		return err
	}
	if err := s.stage(ctx, StageCustomers, s.customers); err != nil {
		return err
	}
	if err := s.stage(ctx, StageProjects, s.projectsStage); err != nil {
		return err
	}
	if err := s.stage(ctx, StageRoles, s.roles); err != nil {
		return err
	}
	if err := s.stage(ctx, StagePermissions, s.permissions); err != nil {
		return err
	}
	return s.setCP(ctx, ckIdentityAt, s.e.now().UTC().Format(time.RFC3339Nano))
}

// prefetch holds the identity requests started ahead of their stages.
type prefetch struct {
	users      *promise[[]switchyard.User]
	groups     *promise[[]switchyard.Group]
	appRoles   *promise[[]switchyard.ApplicationRole]
	projects   *promise[[]switchyard.Project]
	perProject *promise[[]switchyard.Project]      // in-scope projects with roles, grants and levels
	desks      *promise[[]switchyard.ServiceDesk]  // nil when the Jira serves no JSM
	orgs       *promise[[]switchyard.Organization] // with desks
}

type promise[T any] struct {
	v    T
	err  error
	done chan struct{}
}

func future[T any](ctx context.Context, fn func(context.Context) (T, error)) *promise[T] {
	p := &promise[T]{done: make(chan struct{})}
	go func() {
		defer close(p.done)
		p.v, p.err = fn(ctx)
	}()
	return p
}

func (p *promise[T]) get(ctx context.Context) (T, error) {
	select {
	case <-p.done:
		return p.v, p.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

func (s *session) users(ctx context.Context, st *StageStats) error {
	users, err := s.pre.users.get(ctx)
	if err != nil {
		return fmt.Errorf("fetch users: %w", err)
	}
	st.Fetched = len(users)
	if err := s.e.store.ReplaceUsers(ctx, s.c.Name, users); err != nil {
		return fmt.Errorf("store users: %w", err)
	}
	st.Written = len(users)
	s.advance(len(users))
	return nil
}

func (s *session) groups(ctx context.Context, st *StageStats) error {
	groups, err := s.pre.groups.get(ctx)
	if err != nil {
		return fmt.Errorf("fetch groups: %w", err)
	}
	roles, err := s.pre.appRoles.get(ctx)
	if err != nil {
		return fmt.Errorf("fetch application roles: %w", err)
	}
	st.Fetched = len(groups) + len(roles)
	if err := s.e.store.ReplaceGroups(ctx, s.c.Name, groups); err != nil {
		return fmt.Errorf("store groups: %w", err)
	}
	if err := s.e.store.ReplaceApplicationRoles(ctx, s.c.Name, roles); err != nil {
		return fmt.Errorf("store application roles: %w", err)
	}
	st.Written = st.Fetched
	s.advance(st.Fetched)
	return nil
}

// projectsStage lists projects, keeps those in scope, and removes the stored
// issues of projects that left the scope (or Jira).
func (s *session) projectsStage(ctx context.Context, st *StageStats) error {
	all, err := s.pre.projects.get(ctx)
	if err != nil {
		return fmt.Errorf("fetch projects: %w", err)
	}
	st.Fetched = len(all)
	s.projects = s.projects[:0]
	keep := map[string]bool{}
	for _, p := range all {
		if s.c.Scope.InScope(p.Key) {
			s.projects = append(s.projects, p)
			keep[p.ID] = true
		}
	}
	versions, err := s.e.store.IssueVersions(ctx, s.c.Name)
	if err != nil {
		return fmt.Errorf("stored issues: %w", err)
	}
	var gone []string
	for id, v := range versions {
		if !keep[v.ProjectID] {
			gone = append(gone, id)
		}
	}
	n, err := s.deleteIssues(ctx, gone)
	st.Deleted = n
	s.advance(len(all))
	return err
}

// fetchPerProject fetches the roles, browse grants and security levels of
// every in-scope project concurrently; each task fills its own project.
func (s *session) fetchPerProject(ctx context.Context, projects []switchyard.Project) error {
	type task struct {
		i    int
		kind string
	}
	var tasks []task
	for i := range projects {
		tasks = append(tasks, task{i, "roles"}, task{i, "browse"}, task{i, "levels"})
	}
	roles := make([][]switchyard.ProjectRole, len(projects))
	browse := make([][]switchyard.Holder, len(projects))
	levels := make([][]switchyard.SecurityLevel, len(projects))
	levelWarnings := make([]error, len(projects))
	err := forEach(ctx, s.c.Settings.Concurrency, tasks, func(ctx context.Context, t task) error {
		key := projects[t.i].Key
		var err error
		switch t.kind {
		case "roles":
			if roles[t.i], err = s.jira.ProjectRoles(ctx, key); err != nil {
				return fmt.Errorf("fetch roles of %s: %w", key, err)
			}
		case "browse":
			if browse[t.i], err = s.jira.BrowseGrants(ctx, key); err != nil {
				return fmt.Errorf("fetch browse grants of %s: %w", key, err)
			}
		case "levels":
			levels[t.i], err = s.jira.SecurityLevels(ctx, key)
			if errors.Is(err, connector.ErrLevelMembersUnavailable) {
				// Keep the levels without members: their issues are hidden
				// from everyone (fail closed) while the rest of the
				// identity sync goes on.
				levelWarnings[t.i], err = err, nil
			}
			if err != nil {
				return fmt.Errorf("fetch security levels of %s: %w", key, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// Warned by the roles stage, on the session's own goroutine: this runs
	// as a prefetch.
	s.levelWarnings = nil
	for _, w := range levelWarnings {
		if w != nil {
			s.levelWarnings = append(s.levelWarnings, w)
		}
	}
	for i := range projects {
		projects[i].Roles, projects[i].Browse, projects[i].SecurityLevels = roles[i], browse[i], levels[i]
	}
	return nil
}

func (s *session) roles(ctx context.Context, st *StageStats) error {
	s.setTotal(3 * len(s.projects))
	projects, err := s.pre.perProject.get(ctx)
	if err != nil {
		return err
	}
	for _, w := range s.levelWarnings {
		s.warn("%v", w)
	}
	s.projects = projects
	st.Fetched = len(s.projects)
	s.advance(3 * len(s.projects))
	return nil
}

func (s *session) permissions(ctx context.Context, st *StageStats) error {
	st.Fetched = len(s.projects)
	// Projects are written once, with roles, grants and levels, so a crash
	// never leaves a project without its permissions.
	if err := s.e.store.ReplaceProjects(ctx, s.c.Name, s.projects); err != nil {
		return fmt.Errorf("store projects: %w", err)
	}
	st.Written = len(s.projects)
	return nil
}
