package runbook

import (
	"context"
	"strings"

	"switchyard"
)

// The approver rules compare people, not strings: an approver may be named
// by e-mail, by Jira account id or through a Slack mapping to either, and a
// reporter may hide their e-mail. Each name is resolved through the
// connection's synced users to the account id and e-mail it stands for.

// person is one resolved name: the name itself and, when the synced users
// know it, the account id and e-mail.
type person struct {
	name      string // lower-cased as given
	accountID string
	email     string // lower-cased; "" when hidden or unknown
}

// resolve looks name up among conn's synced users, as an account id first,
// then as an e-mail.
func (s *Service) resolve(ctx context.Context, conn, name string) person {
	name = strings.TrimSpace(name)
	p := person{name: strings.ToLower(name)}
	if name == "" {
		return p
	}
	var u switchyard.User
	var err error
	if strings.Contains(name, "@") {
		u, err = s.db.UserByEmail(ctx, conn, name)
	} else {
		u, err = s.db.User(ctx, conn, name)
	}
	if err == nil {
		p.accountID, p.email = u.AccountID, strings.ToLower(u.Email)
	} else if strings.Contains(name, "@") {
		p.email = p.name
	}
	return p
}

// names are the forms a person may be listed or compared under.
func (p person) names() []string {
	out := []string{p.name}
	if p.accountID != "" {
		out = append(out, strings.ToLower(p.accountID))
	}
	if p.email != "" {
		out = append(out, p.email)
	}
	return out
}

// is reports whether p and q are the same person by any shared name.
func (p person) is(q person) bool {
	for _, a := range p.names() {
		for _, b := range q.names() {
			if a != "" && a == b {
				return true
			}
		}
	}
	return false
}

// reporters are the people a run's request may not be decided by as its
// reporter: Jira's reporter (by account id, and e-mail when visible) and,
// to be safe, whoever the ingest caller claimed reported it.
func (s *Service) reporters(ctx context.Context, run Run) []person {
	var out []person
	if id := run.Ticket.ReporterAccountID; id != "" {
		p := s.resolve(ctx, run.Connection, id)
		if p.accountID == "" {
			p.accountID = id // not synced yet: the id still identifies them
		}
		out = append(out, p)
	}
	if e := run.Ticket.ReporterEmail; e != "" {
		out = append(out, s.resolve(ctx, run.Connection, e))
	}
	if c := run.CallerTicket; c != nil && c.ReporterEmail != "" {
		out = append(out, s.resolve(ctx, run.Connection, c.ReporterEmail))
	}
	return out
}

// target is the person the runbook acts on, when it is one: the target
// input's account id (set when the directory resolved it) or its value.
func (s *Service) target(ctx context.Context, run Run) (person, bool) {
	if run.TargetUser == "" {
		return person{}, false
	}
	for _, in := range run.Inputs {
		if in.Value == run.TargetUser && in.AccountID != "" {
			p := s.resolve(ctx, run.Connection, in.AccountID)
			p.accountID = in.AccountID
			if p.email == "" && strings.Contains(in.Value, "@") {
				p.email = strings.ToLower(in.Value)
			}
			return p, true
		}
	}
	return s.resolve(ctx, run.Connection, run.TargetUser), true
}

// configuredApprover reports whether p is in approvals.approvers, listed by
// any of their names.
func (s *Service) configuredApprover(p person) bool {
	for _, n := range p.names() {
		if s.approvers[n] {
			return true
		}
	}
	return false
}

// allowed applies the approver rules: not the reporter, not the person the
// runbook acts on, and (with approvers configured) a configured approver;
// each compared by account id as well as by e-mail.
func (s *Service) allowed(ctx context.Context, run Run, approver string) error {
	who := s.resolve(ctx, run.Connection, approver)
	for _, rep := range s.reporters(ctx, run) {
		if who.is(rep) {
			return switchyard.Errorf(switchyard.ErrForbidden, "%s reported %s and cannot decide on their own request", approver, run.IssueKey)
		}
	}
	if tg, ok := s.target(ctx, run); ok && who.is(tg) {
		return switchyard.Errorf(switchyard.ErrForbidden, "%s is the target user of %s and cannot decide on a runbook that acts on themselves", approver, run.IssueKey)
	}
	if len(s.approvers) > 0 && !s.configuredApprover(who) {
		return switchyard.Errorf(switchyard.ErrForbidden, "%s is not a configured approver (approvals.approvers)", approver)
	}
	return nil
}
