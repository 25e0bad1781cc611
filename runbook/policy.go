package runbook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"switchyard"
	"switchyard/classify"
	"switchyard/store"
)

// Approval policies (approvals.policies): which runbook at which risk needs
// whom, in which steps. A run's policy is chosen when it is ingested and kept
// on the run; the approver sets are resolved at decision time through the
// synced identity (groups, project roles, users), so a membership change in
// Jira counts from the next identity sync.

// Policy risks.
const (
	RiskAny        = "any"
	RiskNormal     = "normal"
	RiskPrivileged = "privileged"
)

// Policy is one approval policy.
type Policy struct {
	Name            string
	Runbooks        []string // runbook ids or intents; empty = every runbook
	Risk            string   // any (default), normal or privileged
	Steps           []Step
	RemindAfter     time.Duration // 0 = never
	EscalateAfter   time.Duration // 0 = never
	Fallback        ApproverSet
	ReasonOnApprove bool
}

// Step needs Required approvals from Approvers.
type Step struct {
	Name      string
	Approvers ApproverSet
	Required  int
}

// ApproverSet is groups (names or ids), project roles and named users
// (account ids or e-mails).
type ApproverSet struct {
	Groups []string
	Roles  []RoleRef
	Users  []string
}

// RoleRef names a project role.
type RoleRef struct{ Project, Role string }

// Delegation lets To act for From in [Start, Until) (approvals.delegations).
type Delegation struct {
	From, To     string
	Start, Until time.Time
}

func (a ApproverSet) String() string {
	var parts []string
	for _, g := range a.Groups {
		parts = append(parts, "group "+g)
	}
	for _, r := range a.Roles {
		parts = append(parts, "role "+r.Role+" of "+r.Project)
	}
	for _, u := range a.Users {
		parts = append(parts, u)
	}
	return strings.Join(parts, ", ")
}

func (p *Policy) matches(run Run, risk string) bool {
	if len(p.Runbooks) > 0 && !slices.ContainsFunc(p.Runbooks, func(r string) bool {
		return strings.EqualFold(r, run.Runbook) || strings.EqualFold(r, run.Intent)
	}) {
		return false
	}
	return p.Risk == "" || p.Risk == RiskAny || p.Risk == risk
}

// policyNote is what a run keeps of its policy.
type policyNote struct {
	Name string `json:"name"`
	Risk string `json:"risk"`
}

// ingesterNote is who ingested a run (separation of duties).
type ingesterNote struct {
	Actor   string `json:"actor"`
	Account string `json:"account,omitempty"`
}

type personKey struct{}

// WithPerson names the Jira account of the person acting with ctx (a key
// bound with keys create --as), so that who ingests a ticket cannot approve
// it.
func WithPerson(ctx context.Context, accountID string) context.Context {
	return context.WithValue(ctx, personKey{}, accountID)
}

func personOf(ctx context.Context) string {
	p, _ := ctx.Value(personKey{}).(string)
	return p
}

// risk is "privileged" when the run's target user is a member of one of
// approvals.privileged_groups, else "normal".
func (s *Service) risk(ctx context.Context, run Run) (string, error) {
	if len(s.opts.PrivilegedGroups) == 0 {
		return RiskNormal, nil
	}
	tg, ok := s.target(ctx, run)
	if !ok || tg.accountID == "" {
		return RiskNormal, nil
	}
	members, err := s.groupMembers(ctx, run.Connection, s.opts.PrivilegedGroups)
	if err != nil {
		return "", err
	}
	if members[strings.ToLower(tg.accountID)] {
		return RiskPrivileged, nil
	}
	return RiskNormal, nil
}

// choosePolicy is the first policy matching the run and its risk.
func (s *Service) choosePolicy(ctx context.Context, run Run) (*policyNote, error) {
	if len(s.opts.Policies) == 0 {
		return nil, nil
	}
	risk, err := s.risk(ctx, run)
	if err != nil {
		return nil, err
	}
	for i := range s.opts.Policies {
		if p := &s.opts.Policies[i]; p.matches(run, risk) {
			return &policyNote{Name: p.Name, Risk: risk}, nil
		}
	}
	return nil, nil
}

// policyOf is the run's policy as recorded at ingest, or nil.
func (s *Service) policyOf(ctx context.Context, runID int64) (*Policy, policyNote, error) {
	notes, err := s.db.RunNotes(ctx, runID)
	if err != nil {
		return nil, policyNote{}, err
	}
	raw, ok := notes["policy"]
	if !ok {
		return nil, policyNote{}, nil
	}
	var pn policyNote
	if err := json.Unmarshal(raw, &pn); err != nil {
		return nil, pn, err
	}
	for i := range s.opts.Policies {
		if s.opts.Policies[i].Name == pn.Name {
			return &s.opts.Policies[i], pn, nil
		}
	}
	// The policy was removed from the config since: nobody can fill its
	// steps any more, so the request waits for its expiry.
	return &Policy{Name: pn.Name}, pn, nil
}

// groupMembers is the set of (lower-cased) account ids in any of groups,
// named by name or id, from the synced identity.
func (s *Service) groupMembers(ctx context.Context, conn string, groups []string) (map[string]bool, error) {
	out := map[string]bool{}
	if len(groups) == 0 {
		return out, nil
	}
	all, err := s.syncedGroups(ctx, conn)
	if err != nil {
		return nil, err
	}
	for _, g := range all {
		for _, want := range groups {
			if strings.EqualFold(want, g.Name) || want == g.ID {
				for _, m := range g.Members {
					out[strings.ToLower(m)] = true
				}
			}
		}
	}
	return out, nil
}

// syncedGroups are the connection's groups with members, cached until the
// identity sync replaces them (IdentityVersion changes).
func (s *Service) syncedGroups(ctx context.Context, conn string) ([]switchyard.Group, error) {
	v, err := s.db.IdentityVersion(ctx, conn)
	if err != nil {
		return nil, err
	}
	s.groupsMu.Lock()
	c, ok := s.groupsCache[conn]
	s.groupsMu.Unlock()
	if ok && c.version == v && v != 0 {
		return c.groups, nil
	}
	gs, err := s.db.Groups(ctx, conn)
	if err != nil {
		return nil, err
	}
	s.groupsMu.Lock()
	if s.groupsCache == nil {
		s.groupsCache = map[string]groupsAt{}
	}
	s.groupsCache[conn] = groupsAt{version: v, groups: gs}
	s.groupsMu.Unlock()
	return gs, nil
}

type groupsAt struct {
	version int64
	groups  []switchyard.Group
}

// members resolves an approver set to account ids (lower-cased) and the
// names of named users the synced users do not know (kept as given).
func (s *Service) members(ctx context.Context, conn string, set ApproverSet) (map[string]bool, error) {
	out, err := s.groupMembers(ctx, conn, set.Groups)
	if err != nil {
		return nil, err
	}
	for _, r := range set.Roles {
		p, err := s.db.Project(ctx, conn, r.Project)
		if errors.Is(err, switchyard.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, role := range p.Roles {
			if !strings.EqualFold(role.Name, r.Role) && role.ID != r.Role {
				continue
			}
			for _, u := range role.Actors.Users {
				out[strings.ToLower(u)] = true
			}
			gm, err := s.groupMembers(ctx, conn, role.Actors.Groups)
			if err != nil {
				return nil, err
			}
			for m := range gm {
				out[m] = true
			}
		}
	}
	for _, u := range set.Users {
		for _, n := range s.resolve(ctx, conn, u).names() {
			out[n] = true
		}
	}
	return out, nil
}

func inSet(p person, set map[string]bool) bool {
	for _, n := range p.names() {
		if n != "" && set[n] {
			return true
		}
	}
	return false
}

// separated applies separation of duties: the reporter, the target user and
// whoever ingested the ticket cannot approve it.
func (s *Service) separated(ctx context.Context, run Run, who person, approver string) error {
	for _, rep := range s.reporters(ctx, run) {
		if who.is(rep) {
			return switchyard.Errorf(switchyard.ErrForbidden, "%s reported %s and cannot decide on their own request", approver, run.IssueKey)
		}
	}
	if tg, ok := s.target(ctx, run); ok && who.is(tg) {
		return switchyard.Errorf(switchyard.ErrForbidden, "%s is the target user of %s and cannot decide on a runbook that acts on themselves", approver, run.IssueKey)
	}
	notes, err := s.db.RunNotes(ctx, run.ID)
	if err != nil {
		return err
	}
	var in ingesterNote
	if raw, ok := notes["ingester"]; ok && json.Unmarshal(raw, &in) == nil && in.Account != "" {
		if who.is(s.resolve(ctx, run.Connection, in.Account)) {
			return switchyard.Errorf(switchyard.ErrForbidden, "%s ingested %s and cannot also approve it (separation of duties)", approver, run.IssueKey)
		}
	}
	return nil
}

// delegatorsOf are the people who have delegated to who now (from config
// and from the store), each as resolved people.
func (s *Service) delegatorsOf(ctx context.Context, conn string, who person) ([]person, error) {
	ds, err := s.delegations(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var out []person
	for _, d := range ds {
		if !now.Before(d.Start) && who.is(s.resolve(ctx, conn, d.To)) {
			out = append(out, s.resolve(ctx, conn, d.From))
		}
	}
	return out, nil
}

// delegations are the config's and the stored delegations that have not
// ended (in force, or to come) and were not revoked.
func (s *Service) delegations(ctx context.Context) ([]Delegation, error) {
	now := s.now()
	var out []Delegation
	for _, d := range s.opts.Delegations {
		if now.Before(d.Until) {
			out = append(out, d)
		}
	}
	stored, err := s.db.Delegations(ctx)
	if err != nil {
		return nil, err
	}
	for _, d := range stored { // the store leaves out revoked and ended ones
		if now.Before(d.Until) { // by this service's clock too
			out = append(out, Delegation{From: d.From, To: d.To, Start: d.Start, Until: d.Until})
		}
	}
	return out, nil
}

// eligibility says, per step, whether who may fill it and on whose behalf
// ("" = their own right).
type eligibility struct {
	ok     bool
	behalf string
	how    string // "member", "fallback", "delegate"
}

func (s *Service) eligible(ctx context.Context, run Run, pol *Policy, who person, events map[string]time.Time) ([]eligibility, error) {
	out := make([]eligibility, len(pol.Steps))
	dels, err := s.delegatorsOf(ctx, run.Connection, who)
	if err != nil {
		return nil, err
	}
	var fallback map[string]bool
	for i, st := range pol.Steps {
		set, err := s.members(ctx, run.Connection, st.Approvers)
		if err != nil {
			return nil, err
		}
		switch {
		case inSet(who, set):
			out[i] = eligibility{ok: true, how: "member"}
		case !events[store.EventKey(eventEscalated, i)].IsZero():
			if fallback == nil {
				if fallback, err = s.members(ctx, run.Connection, pol.Fallback); err != nil {
					return nil, err
				}
			}
			if inSet(who, fallback) {
				out[i] = eligibility{ok: true, how: "fallback"}
			}
		}
		if !out[i].ok {
			for _, d := range dels {
				if inSet(d, set) {
					name := d.accountID
					if name == "" {
						name = d.name
					}
					out[i] = eligibility{ok: true, behalf: name, how: "delegate"}
					break
				}
			}
		}
	}
	return out, nil
}

// currentStep is the first step not yet approved by enough people, or
// len(steps) when all are.
func currentStep(pol *Policy, votes []store.Vote) int {
	for i, st := range pol.Steps {
		n := 0
		for _, v := range votes {
			if v.Step == i && v.Decision == "approve" {
				n++
			}
		}
		if n < max(st.Required, 1) {
			return i
		}
	}
	return len(pol.Steps)
}

// stepStart is when step i began waiting: the request's creation, or the
// last approval of the step before.
func stepStart(a store.Approval, votes []store.Vote, i int) time.Time {
	t := a.Created
	for _, v := range votes {
		if v.Step == i-1 && v.At.After(t) {
			t = v.At
		}
	}
	return t
}

const (
	eventReminded  = "remind"
	eventEscalated = "escalate"
	chaseProgress  = "progress" // a step was decided; the request goes on
)

// decidePolicy records d as a vote on the run's current step under pol.
func (s *Service) decidePolicy(ctx context.Context, a store.Approval, run Run, pol *Policy, d Decision) (Run, error) {
	refuse := func(err error) (Run, error) {
		s.appendAudit(ctx, "decision.refused", d.Approver, run.IssueKey, map[string]any{
			"run": run.ID, "approval": a.ID, "decision": d.Decision, "channel": d.Channel, "policy": pol.Name, "reason": err.Error(),
		})
		return run, err
	}
	if len(pol.Steps) == 0 {
		return refuse(switchyard.Errorf(switchyard.ErrConflict, "policy %q of this request is no longer configured; nobody can decide it, and it expires at %s", pol.Name, a.Expires.UTC().Format(timeFormat)))
	}
	if strings.TrimSpace(d.Comment) == "" && (d.Decision == "deny" || pol.ReasonOnApprove) {
		return refuse(switchyard.FieldErrorf(switchyard.ErrInvalid, "comment", "a reason is required to %s under policy %q", d.Decision, pol.Name))
	}
	who := s.resolve(ctx, run.Connection, d.Approver)
	if err := s.separated(ctx, run, who, d.Approver); err != nil {
		return refuse(err)
	}
	events, err := s.db.ApprovalEvents(ctx, a.ID)
	if err != nil {
		return run, err
	}
	elig, err := s.eligible(ctx, run, pol, who, events)
	if err != nil {
		return run, err
	}
	account := who.accountID
	if account == "" {
		account = who.name
	}
	var behalf string
	var stepNo int
	check := func(a store.Approval, votes []store.Vote) (int, *store.Decision, error) {
		// One person fills one step: also not as someone's delegate.
		for _, v := range votes {
			if v.OnBehalfOf != "" && who.is(s.resolve(ctx, run.Connection, v.OnBehalfOf)) {
				return 0, nil, switchyard.Errorf(switchyard.ErrConflict, "%s's step %d was already filled by their delegate %s", d.Approver, v.Step+1, v.Account)
			}
		}
		i := currentStep(pol, votes)
		if i >= len(pol.Steps) {
			return 0, nil, switchyard.Errorf(switchyard.ErrConflict, "every step of approval %d is already approved", a.ID)
		}
		e := elig[i]
		if !e.ok {
			return 0, nil, switchyard.Errorf(switchyard.ErrForbidden, "%s may not decide step %d (%s) of policy %q: it needs %s", d.Approver, i+1, stepName(pol, i), pol.Name, pol.Steps[i].Approvers)
		}
		if e.behalf != "" {
			for _, v := range votes {
				if s.resolve(ctx, run.Connection, e.behalf).is(s.resolve(ctx, run.Connection, v.Account)) {
					return 0, nil, switchyard.Errorf(switchyard.ErrConflict, "%s, for whom %s acts, already decided step %d", e.behalf, d.Approver, v.Step+1)
				}
			}
		}
		behalf, stepNo = e.behalf, i
		if d.Decision == "deny" {
			return i, &store.Decision{Status: store.ApprovalDenied, By: account, Note: d.Comment}, nil
		}
		approved := 1
		for _, v := range votes {
			if v.Step == i && v.Decision == "approve" {
				approved++
			}
		}
		if approved >= max(pol.Steps[i].Required, 1) && i == len(pol.Steps)-1 {
			return i, &store.Decision{Status: store.ApprovalApproved, By: account, Note: d.Comment}, nil
		}
		return i, nil, nil
	}
	vote := store.Vote{Account: account, Decision: d.Decision, Reason: d.Comment, Channel: d.Channel}
	_, _, err = s.db.CastVote(ctx, a.ID, vote, func(a store.Approval, votes []store.Vote) (store.VoteOutcome, error) {
		i, final, err := check(a, votes)
		return store.VoteOutcome{Step: i, OnBehalfOf: behalf, Final: final}, err
	}, func(tx *store.Tx, a store.Approval, votes []store.Vote, decided bool) error {
		payload := map[string]any{"run": run.ID, "approval": a.ID, "policy": pol.Name, "step": stepNo + 1, "stepName": stepName(pol, stepNo),
			"decision": d.Decision, "by": account, "reason": d.Comment, "channel": d.Channel}
		if behalf != "" {
			payload["onBehalfOf"] = behalf
		}
		if _, err := s.auditTx(ctx, tx, "approval.step", account, run.IssueKey, payload); err != nil {
			return err
		}
		if decided {
			return s.after(ctx, d.Channel)(tx, a)
		}
		// A step done, the request goes on: the cards say so (and the next
		// step's approvers are told).
		for _, n := range s.opts.Notifiers {
			it := store.OutboxItem{Kind: kindChase, Key: fmt.Sprintf("run:%d:progress:%d:%s", run.ID, len(votes), n.Name()),
				Payload: mustJSON(itemPayload{Run: run.ID, Notifier: n.Name(), What: chaseProgress, Step: stepNo})}
			if _, _, err := tx.Enqueue(ctx, it); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		var se *switchyard.Error
		if errors.As(err, &se) && (errors.Is(err, switchyard.ErrForbidden) || errors.Is(err, switchyard.ErrConflict)) {
			s.appendAudit(ctx, "decision.refused", d.Approver, run.IssueKey, map[string]any{
				"run": run.ID, "approval": a.ID, "decision": d.Decision, "channel": d.Channel, "policy": pol.Name, "reason": err.Error(),
			})
		}
		return run, err
	}
	s.wake()
	out, err := s.Get(ctx, run.ID)
	if err == nil && out.Approval != nil && out.Approval.Status != store.ApprovalPending && out.Approval.Status != store.ApprovalExpired {
		if l, ok := s.opts.Classifier.(Learner); ok && out.Intent != "" {
			t := classifyTicket(out)
			if lerr := l.RecordDecision(ctx, t, out.Intent, out.Approval.Status == store.ApprovalApproved); lerr != nil {
				s.log.Warn("classifier did not learn from the decision", "run", out.ID, "err", lerr)
			}
		}
	}
	return out, err
}

func stepName(pol *Policy, i int) string {
	if i < len(pol.Steps) && pol.Steps[i].Name != "" {
		return pol.Steps[i].Name
	}
	return fmt.Sprintf("step %d", i+1)
}

// PolicyStatus is a request's policy and where it stands: each step, who
// decided it and who is still awaited.
type PolicyStatus struct {
	Policy   string       `json:"policy"`
	Risk     string       `json:"risk"`
	Current  int          `json:"currentStep"` // 1-based; 0 when every step is done or the request is decided
	Steps    []StepStatus `json:"steps"`
	Denial   *store.Vote  `json:"denial,omitempty"`
	Reminded bool         `json:"-"`
}

// StepStatus is one step of a request.
type StepStatus struct {
	Name        string       `json:"name"`
	Required    int          `json:"required"`
	Approvers   string       `json:"approvers"`
	Done        bool         `json:"done"`
	Decisions   []store.Vote `json:"decisions"`
	Awaiting    []string     `json:"awaiting,omitempty"` // who may still decide (names), while it is the current step
	awaitingIDs []string     // their account ids (signed links go to them)
	RemindedAt  *time.Time   `json:"remindedAt,omitempty"`
	EscalatedAt *time.Time   `json:"escalatedAt,omitempty"`
	Fallback    string       `json:"fallback,omitempty"` // who may also decide once escalated
}

// maxAwaiting caps the names listed as awaited; maxAwaitingScan the
// members looked at to find them.
const (
	maxAwaiting     = 20
	maxAwaitingScan = 500
)

// policyStatus builds a run's PolicyStatus, or nil without a policy.
func (s *Service) policyStatus(ctx context.Context, run Run) (*PolicyStatus, error) {
	if run.Approval == nil {
		return nil, nil
	}
	pol, pn, err := s.policyOf(ctx, run.ID)
	if err != nil || pol == nil {
		return nil, err
	}
	votes, err := s.db.Votes(ctx, run.Approval.ID)
	if err != nil {
		return nil, err
	}
	events, err := s.db.ApprovalEvents(ctx, run.Approval.ID)
	if err != nil {
		return nil, err
	}
	ps := &PolicyStatus{Policy: pol.Name, Risk: pn.Risk, Steps: []StepStatus{}}
	cur := currentStep(pol, votes)
	for _, v := range votes {
		if v.Decision == "deny" {
			v := v
			ps.Denial = &v
		}
	}
	pending := run.Approval.Status == store.ApprovalPending
	if pending && cur < len(pol.Steps) {
		ps.Current = cur + 1
	}
	for i, st := range pol.Steps {
		ss := StepStatus{Name: stepName(pol, i), Required: max(st.Required, 1), Approvers: st.Approvers.String(), Decisions: []store.Vote{}}
		for _, v := range votes {
			if v.Step == i {
				ss.Decisions = append(ss.Decisions, v)
			}
		}
		ss.Done = i < cur
		if t, ok := events[store.EventKey(eventReminded, i)]; ok {
			ss.RemindedAt = &t
		}
		if t, ok := events[store.EventKey(eventEscalated, i)]; ok {
			ss.EscalatedAt = &t
			ss.Fallback = pol.Fallback.String()
		}
		if pending && i == cur {
			ss.Awaiting, ss.awaitingIDs, err = s.awaiting(ctx, run, pol, i, votes, ss.EscalatedAt != nil)
			if err != nil {
				return nil, err
			}
		}
		ps.Steps = append(ps.Steps, ss)
	}
	return ps, nil
}

// awaiting names who may still decide step i: its set (and the fallback
// once escalated), less who already decided, the reporter and the target.
func (s *Service) awaiting(ctx context.Context, run Run, pol *Policy, i int, votes []store.Vote, escalated bool) ([]string, []string, error) {
	set, err := s.members(ctx, run.Connection, pol.Steps[i].Approvers)
	if err != nil {
		return nil, nil, err
	}
	if escalated {
		fb, err := s.members(ctx, run.Connection, pol.Fallback)
		if err != nil {
			return nil, nil, err
		}
		for k := range fb {
			set[k] = true
		}
	}
	voted := map[string]bool{}
	for _, v := range votes {
		voted[strings.ToLower(v.Account)] = true
	}
	// Who may never decide this run, worked out once (groups can be large).
	excluded := s.reporters(ctx, run)
	if tg, ok := s.target(ctx, run); ok {
		excluded = append(excluded, tg)
	}
	if notes, err := s.db.RunNotes(ctx, run.ID); err == nil {
		var in ingesterNote
		if raw, ok := notes["ingester"]; ok && json.Unmarshal(raw, &in) == nil && in.Account != "" {
			excluded = append(excluded, s.resolve(ctx, run.Connection, in.Account))
		}
	}
	seen := map[string]bool{}
	var out, ids []string
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for n, k := range keys {
		if n == maxAwaitingScan {
			out = append(out, "…")
			break
		}
		p := s.resolve(ctx, run.Connection, k)
		id := p.accountID
		if id == "" {
			id = p.name
		}
		if seen[id] || voted[strings.ToLower(id)] || slices.ContainsFunc(excluded, p.is) {
			continue
		}
		seen[id] = true
		name := id
		if u, err := s.db.User(ctx, run.Connection, p.accountID); err == nil && u.DisplayName != "" {
			name = u.DisplayName + " (" + u.AccountID + ")"
		}
		out, ids = append(out, name), append(ids, id)
		if len(out) == maxAwaiting {
			out = append(out, "…")
			break
		}
	}
	return out, ids, nil
}

// PolicyLines are the policy's lines on a card: the policy, then each step
// with who decided it or who is awaited.
func PolicyLines(ps *PolicyStatus) []string {
	if ps == nil {
		return nil
	}
	out := []string{fmt.Sprintf("Policy %s (risk %s)", ps.Policy, ps.Risk)}
	for i, st := range ps.Steps {
		line := fmt.Sprintf("Step %d %s (%d of %s): ", i+1, st.Name, st.Required, st.Approvers)
		var parts []string
		for _, v := range st.Decisions {
			p := v.Decision + "d by " + v.Account
			if v.Decision == "approve" {
				p = "approved by " + v.Account
			} else {
				p = "DENIED by " + v.Account
			}
			if v.OnBehalfOf != "" {
				p += " for " + v.OnBehalfOf
			}
			p += " at " + v.At.UTC().Format(timeFormat)
			if v.Reason != "" {
				p += " (" + truncate(v.Reason, 120) + ")"
			}
			parts = append(parts, p)
		}
		switch {
		case ps.Current == i+1 && len(st.Awaiting) > 0:
			parts = append(parts, "awaiting "+strings.Join(st.Awaiting, ", "))
		case ps.Current == i+1:
			parts = append(parts, "awaiting: nobody eligible is known yet (check the identity sync)")
		case ps.Current > 0 && i+1 > ps.Current:
			parts = append(parts, "after step "+fmt.Sprint(ps.Current))
		}
		if st.EscalatedAt != nil {
			parts = append(parts, "escalated at "+st.EscalatedAt.UTC().Format(timeFormat)+" to "+st.Fallback)
		}
		out = append(out, line+strings.Join(parts, "; "))
	}
	return out
}

func classifyTicket(run Run) classify.Ticket {
	return classify.Ticket{Summary: run.Ticket.Summary, Description: run.Ticket.Description, ReporterEmail: run.Ticket.ReporterEmail}
}
