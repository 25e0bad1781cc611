package classify

import (
	"errors"
	"strings"
	"testing"

	"switchyard"
)

func TestDefaultCatalog(t *testing.T) {
	cat, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		id, runbook, system string
		inputs              []string
	}{
		{"password_reset", "RB-001", "Okta", []string{InputTargetUser}},
		{"mfa_reset", "RB-002", "Okta", []string{InputTargetUser}},
		{"new_hire_provisioning", "RB-003", "Okta + M365", []string{InputName, InputEmail}},
		{"m365_license_assignment", "RB-006", "Microsoft 365", []string{InputTargetUser, InputLicenseSKU}},
		{"account_unlock", "RB-007", "Entra ID", []string{InputTargetUser}},
		{"offboarding", "RB-011", "Okta", []string{InputTargetUser}},
		{"group_membership", "RB-013", "Entra ID", []string{InputTargetUser, InputGroup}},
	}
	if len(cat.Intents) != len(want) {
		t.Fatalf("default catalog has %d intents, want %d", len(cat.Intents), len(want))
	}
	for _, w := range want {
		in, ok := cat.Intent(w.id)
		if !ok {
			t.Errorf("intent %s missing", w.id)
			continue
		}
		if in.Runbook != w.runbook || in.TargetSystem != w.system || strings.Join(in.RequiredInputs, ",") != strings.Join(w.inputs, ",") {
			t.Errorf("intent %s = %s/%s/%v, want %s/%s/%v", w.id, in.Runbook, in.TargetSystem, in.RequiredInputs, w.runbook, w.system, w.inputs)
		}
		if len(in.Examples) < 30 {
			t.Errorf("intent %s has %d examples; the classifier needs many varied ones", w.id, len(in.Examples))
		}
	}
	if in, _ := cat.Intent("offboarding"); in.ReporterFallback {
		t.Error("offboarding must not fall back to the reporter: it would suspend the wrong account")
	}
	if len(cat.NoAction.Examples) < 100 {
		t.Errorf("no_action has %d examples, want many", len(cat.NoAction.Examples))
	}
}

func TestCatalogValidation(t *testing.T) {
	base := `version: 1
min_margin: 0.1
intents:
  - id: password_reset
    runbook: RB-001
    name: Password reset
    target_system: Okta
    required_inputs: [target_user]
    threshold: 0.7
    examples: [reset my password, forgot password, password expired]
no_action:
  examples: [printer broken]
`
	tests := []struct {
		name, from, to string
		wantField      string // substring the error must contain
	}{
		{"ok", "", "", ""},
		{"threshold too high", "threshold: 0.7", "threshold: 1.5", `intent "password_reset" field threshold`},
		{"threshold zero", "threshold: 0.7", "threshold: 0", `intent "password_reset" field threshold`},
		{"missing runbook", "runbook: RB-001", "runbook: ''", `intent "password_reset" field runbook`},
		{"bad runbook", "runbook: RB-001", "runbook: rb1", `intent "password_reset" field runbook`},
		{"unknown input", "[target_user]", "[target_user, phone]", `intent "password_reset" field required_inputs: unknown input "phone"`},
		{"few examples", "[reset my password, forgot password, password expired]", "[reset my password]", `intent "password_reset" field examples`},
		{"no_action id", "id: password_reset", "id: no_action", `intent "no_action" field id`},
		{"bad id", "id: password_reset", "id: Password-Reset", `field id`},
		{"missing system", "target_system: Okta", "target_system: ''", `intent "password_reset" field target_system`},
		{"unknown key", "threshold: 0.7", "threshold: 0.7\n    thresold: 0.8", "field thresold not found"},
		{"bad version", "version: 1", "version: 2", "version"},
		{"bad margin", "min_margin: 0.1", "min_margin: 1.2", "min_margin"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			y := base
			if tt.from != "" {
				if !strings.Contains(y, tt.from) {
					t.Fatalf("test setup: %q not in base", tt.from)
				}
				y = strings.Replace(y, tt.from, tt.to, 1)
			}
			_, err := ParseCatalog([]byte(y), "test.yaml")
			if tt.wantField == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want one naming %q", tt.wantField)
			}
			if !errors.Is(err, switchyard.ErrInvalid) {
				t.Errorf("error %v is not ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.wantField) {
				t.Errorf("error %q does not name %q", err, tt.wantField)
			}
		})
	}
}

func TestLoadCatalogFile(t *testing.T) {
	if _, err := LoadCatalog("testdata/does-not-exist.yaml"); err == nil {
		t.Fatal("missing catalog file: no error")
	}
	cat, err := LoadCatalog("catalog.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cat.Intent("group_membership"); !ok {
		t.Error("catalog.yaml lacks group_membership")
	}
}
