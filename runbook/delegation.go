package runbook

import (
	"context"
	"strings"
	"time"

	"switchyard"
	"switchyard/store"
)

// Delegation through the API and the console: an approver hands their part
// to another person for a time window. Cycles (A → B while B → A, directly or
// through others, in overlapping windows) are refused.

// maxDelegation bounds a delegation's window.
const maxDelegation = 90 * 24 * time.Hour

// Delegate stores a delegation from → to for [start, until) and audits it.
// from is the authenticated person creating it.
func (s *Service) Delegate(ctx context.Context, from, to string, start, until time.Time) (store.Delegation, error) {
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	now := s.now()
	if start.IsZero() {
		start = now
	}
	switch {
	case from == "":
		return store.Delegation{}, switchyard.Errorf(switchyard.ErrForbidden, "a delegation is made by an authenticated person")
	case to == "":
		return store.Delegation{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "to", "is required: who acts for you")
	case until.IsZero():
		return store.Delegation{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "until", "is required: a delegation is for a time window")
	case !until.After(start) || !until.After(now):
		return store.Delegation{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "until", "(%s) must be after the start and in the future", until.UTC().Format(time.RFC3339))
	case until.Sub(start) > maxDelegation:
		return store.Delegation{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "until", "the window is longer than %d days", int(maxDelegation.Hours()/24))
	}
	conn := s.opts.DefaultConnection
	fp, tp := s.resolve(ctx, conn, from), s.resolve(ctx, conn, to)
	if fp.is(tp) {
		return store.Delegation{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "to", "%s is yourself", to)
	}
	if tp.accountID == "" {
		return store.Delegation{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "to", "no synced Jira user %q (give an account id, or a visible e-mail)", to)
	}
	d := store.Delegation{From: fp.accountID, To: tp.accountID, Start: start.UTC().Truncate(time.Millisecond), Until: until.UTC().Truncate(time.Millisecond), CreatedBy: from}
	if d.From == "" {
		d.From = fp.name
	}
	d, err := s.db.CreateDelegation(ctx, d, func(existing []store.Delegation) error {
		// A path to → … → from among overlapping delegations would close a cycle.
		edges := map[string][]string{}
		add := func(a, b string, st, un time.Time) {
			if st.Before(d.Until) && d.Start.Before(un) {
				edges[strings.ToLower(a)] = append(edges[strings.ToLower(a)], strings.ToLower(b))
			}
		}
		for _, x := range existing {
			add(x.From, x.To, x.Start, x.Until)
		}
		for _, x := range s.opts.Delegations {
			a, b := s.resolve(ctx, conn, x.From), s.resolve(ctx, conn, x.To)
			an, bn := a.accountID, b.accountID
			if an == "" {
				an = a.name
			}
			if bn == "" {
				bn = b.name
			}
			add(an, bn, x.Start, x.Until)
		}
		seen := map[string]bool{}
		stack := []string{strings.ToLower(d.To)}
		for len(stack) > 0 {
			n := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if n == strings.ToLower(d.From) {
				return switchyard.Errorf(switchyard.ErrConflict, "%s already acts, directly or through others, for %s in that window: the delegation would make a cycle", d.To, d.From)
			}
			if !seen[n] {
				seen[n] = true
				stack = append(stack, edges[n]...)
			}
		}
		return nil
	})
	if err != nil {
		return d, err
	}
	s.appendAudit(ctx, "approval.delegation", from, "delegation", map[string]any{
		"delegation": d.ID, "from": d.From, "to": d.To, "start": d.Start.Format(timeFormat), "until": d.Until.Format(timeFormat),
	})
	return d, nil
}

// Delegations lists the stored delegations in force or to come.
func (s *Service) Delegations(ctx context.Context) ([]store.Delegation, error) {
	return s.db.Delegations(ctx)
}

// RevokeDelegation ends a delegation now; only the person who delegated
// (or created it) may.
func (s *Service) RevokeDelegation(ctx context.Context, id int64, by string) (store.Delegation, error) {
	who := s.resolve(ctx, s.opts.DefaultConnection, by)
	name := who.accountID
	if name == "" {
		name = by
	}
	d, err := s.db.RevokeDelegation(ctx, id, name)
	if err != nil {
		return d, err
	}
	s.appendAudit(ctx, "approval.delegation.revoked", by, "delegation", map[string]any{"delegation": d.ID, "from": d.From, "to": d.To})
	return d, nil
}
