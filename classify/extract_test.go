package classify

import (
	"context"
	"fmt"
	"strings"
	"testing"
)

func testDirectory(t *testing.T) *MemDirectory {
	t.Helper()
	d, err := LoadDirectory("testdata/directory.json")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// inputString renders inputs as "name=value[source]" for compact comparison.
func inputString(ins []Input) string {
	var parts []string
	for _, in := range ins {
		op := ""
		if in.Operation != "" {
			op = "(" + in.Operation + ")"
		}
		parts = append(parts, fmt.Sprintf("%s=%s%s[%s]", in.Name, in.Value, op, in.Source))
	}
	return strings.Join(parts, " ")
}

func TestExtractProvenance(t *testing.T) {
	dir := testDirectory(t)
	cat, err := DefaultCatalog()
	if err != nil {
		t.Fatal(err)
	}
	const reporter = "sam.taylor@acme.test"
	tests := []struct {
		name, intent, text string
		noDir              bool
		want               string // inputString of the chosen inputs
		missing            string
	}{
		{"email in text", "password_reset", "Please reset the password for marco.rossi@acme.test",
			false, "target_user=marco.rossi@acme.test[text:email]", ""},
		{"email line wins over text email", "password_reset", "Reset for my colleague (cc lena.fischer@acme.test)\nUser: daniel.kim@acme.test",
			false, "target_user=daniel.kim@acme.test[text:email_line]", ""},
		{"Email: line", "account_unlock", "Account locked\nEmail: Aisha.Bello@acme.test\nthanks",
			false, "target_user=aisha.bello@acme.test[text:email_line]", ""},
		{"name matched in directory", "account_unlock", "My report Tom Becker is locked out",
			false, "target_user=tom.becker@acme.test[directory:name]", ""},
		{"possessive name", "offboarding", "Ingrid Larsen's contract ends today, please offboard her",
			false, "target_user=ingrid.larsen@acme.test[directory:name]", ""},
		{"user without email resolves to account id", "offboarding", "Ethan Cole left, suspend him",
			false, "target_user=acc-030[directory:name]", ""},
		{"ambiguous name is not guessed", "offboarding", "Alex Morgan left the company",
			false, "", "target_user"},
		{"reporter's own name in signature is not the target", "account_unlock", "Noah Brown is locked out.\nThanks, Sam Taylor",
			false, "target_user=noah.brown@acme.test[directory:name]", ""},
		{"reporter fallback", "mfa_reset", "Lost my phone, please reset my MFA",
			false, "target_user=sam.taylor@acme.test[reporter_fallback]", ""},
		{"no fallback for offboarding", "offboarding", "Someone in my team is leaving, please disable the account",
			false, "", "target_user"},
		{"header lines are not targets", "password_reset", "RE: password\nFrom: hannah.mueller@acme.test\nTo: servicedesk@acme.test\nPlease reset my password",
			false, "target_user=sam.taylor@acme.test[reporter_fallback]", ""},
		{"system mailboxes are not targets", "password_reset", "forwarded by helpdesk@acme.test: reset my password",
			false, "target_user=sam.taylor@acme.test[reporter_fallback]", ""},
		{"group matched in directory", "group_membership", "Please add Grace Okafor to HR Business Partners and qa-testers",
			false, "target_user=grace.okafor@acme.test[directory:name] group=HR Business Partners(add)[directory:group] group=qa-testers(add)[directory:group]", ""},
		{"remove and add", "group_membership", "Please take Aisha Bello out of Finance Team and add her to Payroll Admins.",
			false, "target_user=aisha.bello@acme.test[directory:name] group=Finance Team(remove)[directory:group] group=Payroll Admins(add)[directory:group]", ""},
		{"shouldn't be on", "group_membership", "I'm a contractor and shouldn't be on dl-all-staff",
			false, "target_user=sam.taylor@acme.test[reporter_fallback] group=dl-all-staff(remove)[directory:group]", ""},
		{"unknown group is missing", "group_membership", "Please add me to the rocket-club group",
			false, "target_user=sam.taylor@acme.test[reporter_fallback]", "group"},
		{"no directory, no group", "group_membership", "Please add me to vpn-users",
			true, "target_user=sam.taylor@acme.test[reporter_fallback]", "group"},
		{"sku gazetteer", "m365_license_assignment", "Please assign a Visio licence to mei.lin@acme.test",
			false, "target_user=mei.lin@acme.test[text:email] license_sku=Visio Plan 2[gazetteer:sku]", ""},
		{"sku upgrade takes the target", "m365_license_assignment", "Please upgrade me from E3 to E5",
			false, "target_user=sam.taylor@acme.test[reporter_fallback] license_sku=Microsoft 365 E5[gazetteer:sku]", ""},
		{"project needs a qualifier", "m365_license_assignment", "Internal project closure, please archive",
			false, "target_user=sam.taylor@acme.test[reporter_fallback]", "license_sku"},
		{"ms project", "m365_license_assignment", "I need MS Project and Power BI Pro",
			false, "target_user=sam.taylor@acme.test[reporter_fallback] license_sku=Project Plan 3[gazetteer:sku] license_sku=Power BI Pro[gazetteer:sku]", ""},
		{"new hire name and email lines", "new_hire_provisioning", "New starter\nName: Jordan Blake\nEmail: jordan.blake@acme.test",
			false, "name=Jordan Blake[text:name_line] email=jordan.blake@acme.test[text:email_line]", ""},
		{"new hire in prose", "new_hire_provisioning", "New hire Maya Patel starts Tuesday, her email is maya.patel@acme.test",
			false, "name=Maya Patel[text:name] email=maya.patel@acme.test[text:email]", ""},
		{"new hire joining", "new_hire_provisioning", "Ben Carter will join on Monday, ben.carter@acme.test",
			false, "name=Ben Carter[text:name] email=ben.carter@acme.test[text:email]", ""},
		{"weekday is not a name", "new_hire_provisioning", "New starter on Monday Jane Doe, jane.doe@acme.test",
			false, "name=Jane Doe[text:name] email=jane.doe@acme.test[text:email]", ""},
		{"no name at all", "new_hire_provisioning", "New hire starting Monday, jane.doe@acme.test",
			false, "email=jane.doe@acme.test[text:email]", "name"},
		{"name line on one line with email", "new_hire_provisioning", "Sure. Name: Olga Ivanova, Email: olga.ivanova@acme.test, starting Monday",
			false, "name=Olga Ivanova[text:name_line] email=olga.ivanova@acme.test[text:email_line]", ""},
		{"new hire without email", "new_hire_provisioning", "New hire Maya Patel starts Tuesday",
			false, "name=Maya Patel[text:name]", "email"},
		{"new hire: the reporter's email is not the hire's", "new_hire_provisioning", "New hire Maya Patel starts Tuesday. Questions to sam.taylor@acme.test",
			false, "name=Maya Patel[text:name]", "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := extractor{dir: dir}
			if tt.noDir {
				x.dir = nil
			}
			summary, desc, _ := strings.Cut(tt.text, "\n")
			ents, err := x.extract(context.Background(), Ticket{Summary: summary, Description: desc, ReporterEmail: reporter})
			if err != nil {
				t.Fatal(err)
			}
			in, _ := cat.Intent(tt.intent)
			got, missing := ents.inputsFor(in)
			if s := inputString(got); s != tt.want {
				t.Errorf("inputs:\n got %s\nwant %s", s, tt.want)
			}
			if m := strings.Join(missing, ","); m != tt.missing {
				t.Errorf("missing = %q, want %q", m, tt.missing)
			}
		})
	}
}

func TestMaskSlots(t *testing.T) {
	x := extractor{dir: testDirectory(t)}
	ents, err := x.extract(context.Background(), Ticket{Summary: "Please add Tom Becker and jane@x.test to Finance Team, and assign Business Premium"})
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(strings.Fields(ents.mask("Please add Tom Becker and jane@x.test to Finance Team, and assign Business Premium")), " ")
	want := "please add zzperson and zzemail to zzgroup , and assign zzsku"
	if got != want {
		t.Errorf("mask =\n %q\nwant\n %q", got, want)
	}
}
