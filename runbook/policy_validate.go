package runbook

import (
	"context"
	"fmt"
	"strings"

	"switchyard"
)

// CheckPolicies checks approvals.policies against the synced identity: a
// group, or a project role, that no synced connection knows is an error
// naming the key. A connection that has never synced its identity cannot
// tell, so it is not held against the config (the first sync will be).
// serve calls it at start.
func (s *Service) CheckPolicies(ctx context.Context) error {
	if len(s.opts.Policies) == 0 && len(s.opts.PrivilegedGroups) == 0 {
		return nil
	}
	conns, err := s.db.Connections(ctx)
	if err != nil {
		return err
	}
	groups := map[string]bool{}
	roles := map[string]bool{}
	synced := false
	for _, c := range conns {
		if v, err := s.db.IdentityVersion(ctx, c); err != nil {
			return err
		} else if v == 0 {
			continue
		}
		synced = true
		gs, err := s.db.Groups(ctx, c)
		if err != nil {
			return err
		}
		for _, g := range gs {
			groups[strings.ToLower(g.Name)], groups[g.ID] = true, true
		}
		ps, err := s.db.Projects(ctx, c)
		if err != nil {
			return err
		}
		for _, p := range ps {
			for _, r := range p.Roles {
				roles[strings.ToLower(p.Key+"\x00"+r.Name)] = true
			}
		}
	}
	if !synced {
		return nil
	}
	var errs []string
	checkSet := func(key string, set ApproverSet) {
		for i, g := range set.Groups {
			if !groups[strings.ToLower(g)] && !groups[g] {
				errs = append(errs, fmt.Sprintf("%s.groups[%d]: no synced Jira group %q", key, i, g))
			}
		}
		for i, r := range set.Roles {
			if !roles[strings.ToLower(r.Project+"\x00"+r.Role)] {
				errs = append(errs, fmt.Sprintf("%s.roles[%d]: project %s has no synced role %q", key, i, r.Project, r.Role))
			}
		}
	}
	for i, g := range s.opts.PrivilegedGroups {
		if !groups[strings.ToLower(g)] && !groups[g] {
			errs = append(errs, fmt.Sprintf("approvals.privileged_groups[%d]: no synced Jira group %q", i, g))
		}
	}
	for i, p := range s.opts.Policies {
		for j, st := range p.Steps {
			checkSet(fmt.Sprintf("approvals.policies[%d].steps[%d].approvers", i, j), st.Approvers)
		}
		checkSet(fmt.Sprintf("approvals.policies[%d].fallback", i), p.Fallback)
	}
	if len(errs) > 0 {
		return switchyard.Errorf(switchyard.ErrInvalid, "%s", strings.Join(errs, "; "))
	}
	return nil
}
