package runbook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"switchyard"
	"switchyard/store"
)

// Precedent on the channel cards (Slack, Teams, the webhook's JSON): the
// past tickets most similar to the run's, each with what was decided on it
// here, so approvers see how such requests went before.
//
// A channel card is seen by every approver of the run's policy, so it lists
// only tickets every one of them may see in Jira: one more-like-this search
// per approver (Options.Similar, the index searched as that account) and
// the intersection, in the first approver's order. It fails closed: an
// approver who is no synced Jira user, a group or role that cannot be
// resolved, too many approvers, no approvers named at all, or any search
// error means no precedent. It never holds a card back: the searches share
// a short budget and a failure only leaves the precedent out.

const (
	precedentOnCard     = 3
	precedentSearchSize = 8  // a little more than shown, so intersections keep three
	precedentMaxPeople  = 20 // more approvers than this: no precedent (one search each)
	precedentBudget     = 2 * time.Second
	precedentCacheTTL   = time.Minute // a run's cards (Slack, Teams, webhook) share one lookup
)

// SimilarTicket is an issue similar to another, as one account sees it.
type SimilarTicket struct {
	Key, Title, URL, Status string
}

// SimilarFinder finds the issues most similar to issueKey that account may
// see in Jira, most similar first (the search index; api.SimilarTickets
// adapts it). An issueKey account may not see is switchyard.ErrNotFound.
type SimilarFinder interface {
	SimilarTickets(ctx context.Context, conn, issueKey, account string, size int) ([]SimilarTicket, error)
}

// Precedent is one similar past ticket on a card.
type Precedent struct {
	Key      string `json:"key"`
	Title    string `json:"title"`
	URL      string `json:"url,omitempty"`
	Decision string `json:"decision,omitempty"` // approved | denied | expired | no_action | a run state | "" (never seen here)
	By       string `json:"decidedBy,omitempty"`
	Status   string `json:"status,omitempty"` // the Jira status
}

type precedentAt struct {
	at time.Time
	p  []Precedent
}

// precedentCache keeps each run's precedent for a minute; the run's other
// cards wait for a lookup in flight (singleflight) rather than repeat it.
type precedentCache struct {
	mu       sync.Mutex
	m        map[int64]precedentAt
	inflight singleflight.Group
}

func (c *precedentCache) get(run int64) ([]Precedent, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.m[run]
	return p.p, ok && time.Since(p.at) < precedentCacheTTL
}

func (c *precedentCache) put(run int64, p []Precedent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) > 1000 {
		c.m = map[int64]precedentAt{}
	}
	c.m[run] = precedentAt{at: time.Now(), p: p}
}

var errNoPrecedent = errors.New("no precedent")

// precedent is the run's precedent for channel cards, or nil.
func (s *Service) precedent(ctx context.Context, run Run) []Precedent {
	if s.opts.Similar == nil || run.IssueKey == "" {
		return nil
	}
	c := &s.precedents
	if p, ok := c.get(run.ID); ok {
		return p
	}
	ch := c.inflight.DoChan(strconv.FormatInt(run.ID, 10), func() (any, error) {
		if p, ok := c.get(run.ID); ok { // answered while this call queued
			return p, nil
		}
		p := s.lookupPrecedent(ctx, run)
		// A lookup the caller abandoned (shutdown) says nothing about the
		// run: the next card asks again.
		if ctx.Err() == nil {
			c.put(run.ID, p)
		}
		return p, nil
	})
	select {
	case r := <-ch:
		p, _ := r.Val.([]Precedent)
		return p
	case <-ctx.Done():
		return nil
	}
}

// lookupPrecedent searches the run's precedent within the budget; a failure
// is logged and leaves the card without precedent.
func (s *Service) lookupPrecedent(ctx context.Context, run Run) []Precedent {
	lctx, cancel := context.WithTimeout(ctx, precedentBudget)
	defer cancel()
	p, err := s.findPrecedent(lctx, run)
	if err != nil {
		// Who may decide is configuration, and an approver who may not see
		// the run's issue a permission (debug); a failed search is not.
		level := slog.LevelWarn
		if errors.Is(err, errNoPrecedent) || errors.Is(err, switchyard.ErrNotFound) {
			level = slog.LevelDebug
		}
		s.log.Log(ctx, level, "approval card without precedent", "run", run.ID, "issue", run.IssueKey, "why", err.Error())
		return nil
	}
	return p
}

func (s *Service) findPrecedent(ctx context.Context, run Run) ([]Precedent, error) {
	people, err := s.cardApprovers(ctx, run)
	if err != nil {
		return nil, err
	}
	var ranked []SimilarTicket
	in := map[string]int{} // key → how many approvers' results hold it
	for i, acc := range people {
		hits, err := s.opts.Similar.SimilarTickets(ctx, run.Connection, run.IssueKey, acc, precedentSearchSize)
		if err != nil {
			return nil, fmt.Errorf("similar to %s as %s: %w", run.IssueKey, acc, err)
		}
		seen := map[string]bool{}
		for _, h := range hits {
			if !seen[h.Key] {
				seen[h.Key] = true
				in[h.Key]++
			}
		}
		if i == 0 {
			ranked = hits
		}
		common := 0
		for _, h := range ranked {
			if in[h.Key] == i+1 {
				common++
			}
		}
		if common == 0 {
			return nil, nil // nothing every approver may see: no need to ask the rest
		}
	}
	var out []Precedent
	for _, h := range ranked {
		if in[h.Key] != len(people) || strings.EqualFold(h.Key, run.IssueKey) {
			continue
		}
		p := Precedent{Key: h.Key, Title: h.Title, URL: h.URL, Status: h.Status}
		if tr, err := s.db.TicketRunByKey(ctx, run.Connection, h.Key); err == nil {
			p.Decision = tr.State
			if a, err := s.db.ApprovalForRun(ctx, tr.ID); err == nil && a.Status != store.ApprovalPending {
				p.Decision, p.By = a.Status, a.DecidedBy
			}
		}
		out = append(out, p)
		if len(out) == precedentOnCard {
			break
		}
	}
	return out, nil
}

// cardApprovers are the Jira account ids of everyone who may decide the
// run (every step of its policy and the policy's fallback, or else
// approvals.approvers): who sees its channel cards.
func (s *Service) cardApprovers(ctx context.Context, run Run) ([]string, error) {
	return s.deciders(ctx, run, precedentMaxPeople)
}

// MayDecide reports whether account is among those named to decide run:
// the approvers of its policy's steps and fallback (groups and roles
// expanded) and their delegates, or else approvals.approvers. Names that
// cannot be resolved are skipped; a run with no approval request, or with
// nobody named, is false: callers that show a request to its deciders fall
// back to what Jira lets the person see.
func (s *Service) MayDecide(ctx context.Context, run Run, account string) bool {
	if account == "" || run.Approval == nil {
		return false // nothing to decide: no_action and needs_input runs
	}
	ids, err := s.decidersOf(ctx, run, &accountSet{seen: map[string]bool{}, lenient: true})
	if err != nil {
		return false
	}
	for _, id := range ids {
		if strings.EqualFold(id, account) {
			return true
		}
	}
	return false
}

// deciders lists the account ids named to decide run (see MayDecide); more
// than max (when max > 0) is errNoPrecedent.
func (s *Service) deciders(ctx context.Context, run Run, max int) ([]string, error) {
	return s.decidersOf(ctx, run, &accountSet{seen: map[string]bool{}, max: max})
}

func (s *Service) decidersOf(ctx context.Context, run Run, acc *accountSet) ([]string, error) {
	if run.Policy != nil {
		pol, _, err := s.policyOf(ctx, run.ID)
		if err != nil {
			return nil, err
		}
		if pol == nil || len(pol.Steps) == 0 {
			return nil, fmt.Errorf("%w: the run's policy is no longer configured", errNoPrecedent)
		}
		for _, st := range pol.Steps {
			if err := s.setAccounts(ctx, run.Connection, st.Approvers, acc); err != nil {
				return nil, err
			}
		}
		if err := s.setAccounts(ctx, run.Connection, pol.Fallback, acc); err != nil {
			return nil, err
		}
	} else {
		if len(s.opts.Approvers) == 0 {
			return nil, fmt.Errorf("%w: no approvers are named (approvals.approvers), so anyone may hold the card", errNoPrecedent)
		}
		for _, name := range s.opts.Approvers {
			if err := s.userAccount(ctx, run.Connection, name, acc); err != nil {
				return nil, err
			}
		}
	}
	if len(acc.ids) == 0 {
		return nil, fmt.Errorf("%w: nobody may decide this run", errNoPrecedent)
	}
	// Delegations count in policy runs only, as Decide applies them.
	if run.Policy != nil {
		if err := s.addDelegates(ctx, run.Connection, acc); err != nil {
			return nil, err
		}
	}
	return acc.ids, nil
}

// addDelegates adds whoever an approver in acc has delegated to, now or
// later (config or stored, not ended or revoked): a delegate may decide the
// run, so reads its card too.
func (s *Service) addDelegates(ctx context.Context, conn string, acc *accountSet) error {
	ds, err := s.delegations(ctx)
	if err != nil {
		return err
	}
	approvers := map[string]bool{}
	for _, id := range acc.ids {
		approvers[strings.ToLower(id)] = true
	}
	for _, d := range ds {
		if from := s.resolve(ctx, conn, d.From); from.accountID != "" && approvers[strings.ToLower(from.accountID)] {
			if err := s.userAccount(ctx, conn, d.To, acc); err != nil {
				return err
			}
		}
	}
	return nil
}

type accountSet struct {
	ids  []string
	seen map[string]bool
	max  int // more is errNoPrecedent (0: no bound)
	// lenient skips names that cannot be resolved instead of failing: for
	// "is this person named?", one stale name must not hide the request
	// from everyone else (Decide keeps unknown names too).
	lenient bool
}

// unresolved is err, or nil when the set skips unresolvable names.
func (a *accountSet) unresolved(err error) error {
	if a.lenient {
		return nil
	}
	return err
}

func (a *accountSet) add(id string) error {
	if k := strings.ToLower(id); !a.seen[k] {
		a.seen[k] = true
		a.ids = append(a.ids, id)
	}
	if a.max > 0 && len(a.ids) > a.max {
		return fmt.Errorf("%w: more than %d approvers", errNoPrecedent, a.max)
	}
	return nil
}

// userAccount adds a named approver (account id, e-mail or mapped Slack
// user id); one the synced users do not know fails.
func (s *Service) userAccount(ctx context.Context, conn, name string, acc *accountSet) error {
	if jira, ok := s.opts.SlackUsers[name]; ok {
		name = jira
	}
	p := s.resolve(ctx, conn, name)
	if p.accountID == "" {
		return acc.unresolved(fmt.Errorf("%w: approver %q is no synced Jira user", errNoPrecedent, name))
	}
	return acc.add(p.accountID)
}

// setAccounts adds the members of an approver set; a group or project role
// that cannot be found fails (who is in it is unknown).
func (s *Service) setAccounts(ctx context.Context, conn string, set ApproverSet, acc *accountSet) error {
	groups, err := s.syncedGroups(ctx, conn)
	if err != nil {
		return err
	}
	addGroups := func(names []string) error {
		for _, want := range names {
			found := false
			for _, g := range groups {
				if strings.EqualFold(want, g.Name) || want == g.ID {
					found = true
					for _, m := range g.Members {
						if err := acc.add(m); err != nil {
							return err
						}
					}
				}
			}
			if !found {
				if err := acc.unresolved(fmt.Errorf("%w: group %q is not among the synced groups", errNoPrecedent, want)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := addGroups(set.Groups); err != nil {
		return err
	}
	for _, r := range set.Roles {
		p, err := s.db.Project(ctx, conn, r.Project)
		if errors.Is(err, switchyard.ErrNotFound) {
			if err := acc.unresolved(fmt.Errorf("%w: project %q is not synced", errNoPrecedent, r.Project)); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		found := false
		for _, role := range p.Roles {
			if !strings.EqualFold(role.Name, r.Role) && role.ID != r.Role {
				continue
			}
			found = true
			for _, u := range role.Actors.Users {
				if err := acc.add(u); err != nil {
					return err
				}
			}
			if err := addGroups(role.Actors.Groups); err != nil {
				return err
			}
		}
		if !found {
			if err := acc.unresolved(fmt.Errorf("%w: role %q of %s is not synced", errNoPrecedent, r.Role, r.Project)); err != nil {
				return err
			}
		}
	}
	for _, u := range set.Users {
		if err := s.userAccount(ctx, conn, u, acc); err != nil {
			return err
		}
	}
	return nil
}
