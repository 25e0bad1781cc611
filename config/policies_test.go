package config

import (
	"strings"
	"testing"
	"time"
)

const policiesValid = valid + `
approvals:
  privileged_groups: [org-admins]
  policies:
    - name: admin-mfa
      runbooks: [RB-002]
      risk: privileged
      steps:
        - {name: helpdesk, approvers: {groups: [helpdesk-leads]}}
        - {name: security, approvers: {groups: [security], roles: [{project: SEC, role: Administrators}], users: [ciso@acme.com]}, required: 2}
      remind_after: 2h
      escalate_after: 8h
      fallback: {groups: [it-managers]}
  delegations:
    - {from: ada@acme.com, to: bob@acme.com, until: 2027-01-04T00:00:00Z}
`

func TestPolicies(t *testing.T) {
	cfg, err := Parse([]byte(policiesValid), getenv)
	if err != nil {
		t.Fatal(err)
	}
	p := cfg.Approvals.Policies[0]
	if p.Risk != RiskPrivileged || len(p.Steps) != 2 || p.Steps[0].Required != 1 || p.Steps[1].Required != 2 || p.EscalateAfter != 8*time.Hour {
		t.Fatalf("policy %+v", p)
	}
	if r := p.Steps[1].Approvers.Roles[0]; r.Project != "SEC" || r.Role != "Administrators" {
		t.Fatalf("role %+v", r)
	}
	if d := cfg.Approvals.Delegations[0]; d.Until.IsZero() || d.To != "bob@acme.com" {
		t.Fatalf("delegation %+v", d)
	}
}

// TestPolicyErrors: each mistake is a start-up error naming the key.
func TestPolicyErrors(t *testing.T) {
	for _, tc := range []struct{ name, old, new, want string }{
		{"empty approver set", "{name: helpdesk, approvers: {groups: [helpdesk-leads]}}", "{name: helpdesk, approvers: {}}",
			"approvals.policies[0].steps[0].approvers: is empty"},
		{"impossible step", "{name: helpdesk, approvers: {groups: [helpdesk-leads]}}", "{name: helpdesk, approvers: {users: [a@acme.com]}, required: 2}",
			"approvals.policies[0].steps[0].required: is 2 but the step names only 1 user(s)"},
		{"no steps", "      steps:\n        - {name: helpdesk, approvers: {groups: [helpdesk-leads]}}\n        - {name: security, approvers: {groups: [security], roles: [{project: SEC, role: Administrators}], users: [ciso@acme.com]}, required: 2}\n", "      steps: []\n",
			"approvals.policies[0].steps: is empty"},
		{"bad risk", "risk: privileged", "risk: extreme", "approvals.policies[0].risk"},
		{"escalation without fallback", "      fallback: {groups: [it-managers]}\n", "",
			"approvals.policies[0].fallback: is empty but escalate_after is set"},
		{"escalation after expiry", "escalate_after: 8h", "escalate_after: 30h", "approvals.policies[0].escalate_after"},
		{"delegation cycle", "    - {from: ada@acme.com, to: bob@acme.com, until: 2027-01-04T00:00:00Z}\n",
			"    - {from: ada@acme.com, to: bob@acme.com, until: 2027-01-04T00:00:00Z}\n    - {from: bob@acme.com, to: cy@acme.com, until: 2027-01-04T00:00:00Z}\n    - {from: cy@acme.com, to: ada@acme.com, until: 2027-01-04T00:00:00Z}\n",
			"approvals.delegations: form a cycle: ada@acme.com → bob@acme.com → cy@acme.com → ada@acme.com"},
		{"delegation without window", "to: bob@acme.com, until: 2027-01-04T00:00:00Z", "to: bob@acme.com", "approvals.delegations[0].until: is required"},
	} {
		y := strings.Replace(policiesValid, tc.old, tc.new, 1)
		if y == policiesValid {
			t.Fatalf("%s: the replacement did not apply", tc.name)
		}
		_, err := Parse([]byte(y), getenv)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
}
