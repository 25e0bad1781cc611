package jirasim

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file; if the change is intended run go test -update\n got: %.400s", path, got)
	}
}

func TestStateGolden(t *testing.T) {
	w := Generate(GenerateOptions{Seed: 1, Projects: 4, Issues: 12})
	golden(t, "state_seed1.json", w.StateJSON())
}

// The JSON obeys sim-state.md: string ids, RFC 3339 with milliseconds, nulls
// for hidden emails, absent levels, no reporter/assignee and public comments.
func TestStateShape(t *testing.T) {
	w := Generate(GenerateOptions{Seed: 11, Issues: 120})
	var doc map[string]any
	if err := json.Unmarshal(w.StateJSON(), &doc); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"mode", "users", "groups", "applicationRoles", "projects", "issues", "deleted"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("state lacks %q", k)
		}
	}
	ms := regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$`)
	var nullEmail, nullLevel, nullAssignee, nullVis, setVis bool
	for _, u := range doc["users"].([]any) {
		m := u.(map[string]any)
		if v, ok := m["emailAddress"]; !ok {
			t.Fatal("emailAddress must be present (null when hidden)")
		} else if v == nil {
			nullEmail = true
		}
	}
	for _, p := range doc["projects"].([]any) {
		for _, h := range p.(map[string]any)["browse"].([]any) {
			hm := h.(map[string]any)
			_, has := hm["parameter"]
			switch hm["type"] {
			case "anyone", "reporter", "assignee", "projectLead", "sd.customer.portal.only":
				if has {
					t.Errorf("holder %v must not carry a parameter", hm)
				}
			default:
				if !has {
					t.Errorf("holder %v needs a parameter", hm)
				}
			}
		}
	}
	for _, x := range doc["issues"].([]any) {
		m := x.(map[string]any)
		if _, ok := m["id"].(string); !ok {
			t.Fatalf("issue id %v is not a string", m["id"])
		}
		for _, k := range []string{"created", "updated"} {
			if !ms.MatchString(m[k].(string)) {
				t.Fatalf("issue %s %s = %q, want RFC 3339 with milliseconds", m["key"], k, m[k])
			}
		}
		for _, k := range []string{"securityLevelId", "reporter", "assignee", "customFields", "comments", "attachments"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("issue %s lacks %s", m["key"], k)
			}
		}
		nullLevel = nullLevel || m["securityLevelId"] == nil
		nullAssignee = nullAssignee || m["assignee"] == nil
		for _, c := range m["comments"].([]any) {
			cm := c.(map[string]any)
			if v, ok := cm["visibility"]; !ok {
				t.Fatal("comment lacks visibility")
			} else if v == nil {
				nullVis = true
			} else {
				setVis = true
				vm := v.(map[string]any)
				if vm["type"] != "group" && vm["type"] != "role" || vm["identifier"] == "" {
					t.Fatalf("bad visibility %v", vm)
				}
			}
		}
	}
	if !nullEmail || !nullLevel || !nullAssignee || !nullVis || !setVis {
		t.Errorf("nullEmail=%v nullLevel=%v nullAssignee=%v nullVis=%v setVis=%v; want all true", nullEmail, nullLevel, nullAssignee, nullVis, setVis)
	}
}
