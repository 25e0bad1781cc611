package config

import (
	"fmt"
	"strings"
)

// validatePolicies checks approvals.policies and approvals.delegations: a
// policy needs steps, each step a non-empty approver set and a Required it
// can meet, and delegations must not form a cycle. (Groups and roles are
// checked against the synced identity by the runbook service at start.)
func (c *Config) validatePolicies(v *validator) {
	a := &c.Approvals
	names := map[string]bool{}
	for i := range a.Policies {
		p := &a.Policies[i]
		key := fmt.Sprintf("approvals.policies[%d]", i)
		if strings.TrimSpace(p.Name) == "" {
			v.add(key+".name", "is required")
		} else if names[p.Name] {
			v.add(key+".name", "%q is used by another policy", clip(p.Name))
		}
		names[p.Name] = true
		if p.Risk == "" {
			p.Risk = RiskAny
		}
		v.oneOf(key+".risk", p.Risk, RiskAny, RiskNormal, RiskPrivileged)
		if len(p.Steps) == 0 {
			v.add(key+".steps", "is empty; a policy needs at least one step")
		}
		for j := range p.Steps {
			st := &p.Steps[j]
			sk := fmt.Sprintf("%s.steps[%d]", key, j)
			if st.Required == 0 {
				st.Required = 1
			}
			checkSet(v, sk+".approvers", st.Approvers)
			switch {
			case st.Required < 0:
				v.add(sk+".required", "must be at least 1, not %d", st.Required)
			case st.Approvers.Empty():
			case len(st.Approvers.Groups)+len(st.Approvers.Roles) == 0 && st.Required > len(st.Approvers.Users):
				v.add(sk+".required", "is %d but the step names only %d user(s): the step could never be approved", st.Required, len(st.Approvers.Users))
			}
		}
		if p.RemindAfter < 0 || p.EscalateAfter < 0 {
			v.add(key+".remind_after", "remind_after and escalate_after must not be negative")
		}
		if p.EscalateAfter > 0 && p.Fallback.Empty() {
			v.add(key+".fallback", "is empty but escalate_after is set: escalation needs a fallback approver set")
		}
		if !p.Fallback.Empty() {
			checkSet(v, key+".fallback", p.Fallback)
		}
		if p.RemindAfter > 0 && p.EscalateAfter > 0 && p.EscalateAfter <= p.RemindAfter {
			v.add(key+".escalate_after", "(%s) must be later than remind_after (%s)", p.EscalateAfter, p.RemindAfter)
		}
		if a.Expiry > 0 && p.EscalateAfter >= a.Expiry {
			v.add(key+".escalate_after", "(%s) is not before approvals.expiry (%s): the request would expire first", p.EscalateAfter, a.Expiry)
		}
	}
	for i, g := range a.PrivilegedGroups {
		if strings.TrimSpace(g) == "" {
			v.add(fmt.Sprintf("approvals.privileged_groups[%d]", i), "is empty")
		}
	}
	// Delegations: each complete, and no cycle among them.
	edges := map[string][]string{}
	for i, d := range a.Delegations {
		key := fmt.Sprintf("approvals.delegations[%d]", i)
		from, to := strings.ToLower(strings.TrimSpace(d.From)), strings.ToLower(strings.TrimSpace(d.To))
		switch {
		case from == "":
			v.add(key+".from", "is required")
		case to == "":
			v.add(key+".to", "is required")
		case from == to:
			v.add(key+".to", "%q delegates to themselves", clip(d.To))
		case d.Until.IsZero():
			v.add(key+".until", "is required: a delegation is for a time window")
		case !d.Start.IsZero() && !d.Until.After(d.Start):
			v.add(key+".until", "(%s) is not after start (%s)", d.Until.Format("2006-01-02T15:04Z07:00"), d.Start.Format("2006-01-02T15:04Z07:00"))
		default:
			edges[from] = append(edges[from], to)
		}
	}
	if cyc := delegationCycle(edges); cyc != "" {
		v.add("approvals.delegations", "form a cycle: %s", cyc)
	}
}

func checkSet(v *validator, key string, s ApproverSet) {
	if s.Empty() {
		v.add(key, "is empty: name groups, roles or users who may approve")
	}
	for i, g := range s.Groups {
		if strings.TrimSpace(g) == "" {
			v.add(fmt.Sprintf("%s.groups[%d]", key, i), "is empty")
		}
	}
	for i, r := range s.Roles {
		if strings.TrimSpace(r.Project) == "" || strings.TrimSpace(r.Role) == "" {
			v.add(fmt.Sprintf("%s.roles[%d]", key, i), "needs project and role")
		}
	}
	for i, u := range s.Users {
		if strings.TrimSpace(u) == "" || strings.ContainsAny(u, " \t") {
			v.add(fmt.Sprintf("%s.users[%d]", key, i), "%q is not an account id or e-mail", clip(u))
		}
	}
}

// delegationCycle returns "a → b → a" for the first cycle found, or "".
func delegationCycle(edges map[string][]string) string {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var path []string
	var found string
	var visit func(n string) bool
	visit = func(n string) bool {
		color[n] = grey
		path = append(path, n)
		for _, m := range edges[n] {
			if color[m] == grey {
				i := len(path) - 1
				for path[i] != m {
					i--
				}
				found = strings.Join(append(append([]string{}, path[i:]...), m), " → ")
				return true
			}
			if color[m] == white && visit(m) {
				return true
			}
		}
		path = path[:len(path)-1]
		color[n] = black
		return false
	}
	for _, n := range sortedKeys(edges) {
		if color[n] == white && visit(n) {
			return found
		}
	}
	return ""
}
