package jirasim

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"switchyard"
)

func TestGenerateDeterministic(t *testing.T) {
	a := Generate(GenerateOptions{Seed: 7, Issues: 30}).StateJSON()
	b := Generate(GenerateOptions{Seed: 7, Issues: 30}).StateJSON()
	if !bytes.Equal(a, b) {
		t.Fatal("same seed gave different State JSON")
	}
	c := Generate(GenerateOptions{Seed: 8, Issues: 30}).StateJSON()
	if bytes.Equal(a, c) {
		t.Fatal("different seeds gave identical State JSON")
	}
	// Descriptions and attachment bytes are deterministic too (not in State).
	w1, w2 := Generate(GenerateOptions{Seed: 7, Issues: 30}), Generate(GenerateOptions{Seed: 7, Issues: 30})
	for i := range w1.Issues {
		if !bytes.Equal(w1.Issues[i].Description, w2.Issues[i].Description) {
			t.Fatalf("issue %s description differs between runs", w1.Issues[i].Key)
		}
		for j := range w1.Issues[i].Attachments {
			if !bytes.Equal(w1.Issues[i].Attachments[j].Content, w2.Issues[i].Attachments[j].Content) {
				t.Fatalf("attachment %s bytes differ between runs", w1.Issues[i].Attachments[j].ID)
			}
		}
	}
}

func TestGenerateEveryHolderType(t *testing.T) {
	all := []string{"anyone", "applicationRole:key", "applicationRole:any", "group", "projectRole", "user", "projectLead",
		"reporter", "assignee", "userCustomField", "groupCustomField", "sd.customer.portal.only"}
	for _, seed := range []int64{1, 2, 3, 42, 1234} {
		for _, projects := range []int{4, 7} {
			w := Generate(GenerateOptions{Seed: seed, Projects: projects, Issues: 8})
			seen := map[string]bool{}
			for _, p := range w.Projects {
				for _, h := range p.Browse {
					k := h.Type
					if h.Type == switchyard.HolderApplicationRole {
						k += map[bool]string{true: ":any", false: ":key"}[h.Parameter == ""]
					}
					seen[k] = true
				}
			}
			for _, k := range all {
				if !seen[k] {
					t.Errorf("seed %d projects %d: no BROWSE grant of holder type %s", seed, projects, k)
				}
			}
		}
	}
}

func TestGenerateContent(t *testing.T) {
	w := Generate(GenerateOptions{Seed: 3, Issues: 200})
	if len(w.Issues) != 200 || len(w.Projects) != 4 {
		t.Fatalf("got %d issues, %d projects", len(w.Issues), len(w.Projects))
	}
	if got, want := len(w.Users), 20+4+200/40; got != want {
		t.Errorf("users = %d, want %d (issues/10, plus 4+issues/40 JSM customers)", got, want)
	}
	var hidden, inactive, app, customer int
	for _, u := range w.Users {
		if u.Email == "" && u.HiddenEmail != "" {
			hidden++
		}
		if !u.Active {
			inactive++
		}
		switch u.AccountType {
		case "app":
			app++
		case "customer":
			customer++
		}
	}
	if hidden == 0 || inactive == 0 || app == 0 || customer == 0 {
		t.Errorf("hidden=%d inactive=%d app=%d customer=%d; want each > 0", hidden, inactive, app, customer)
	}
	nodes := map[string]bool{}
	marks := map[string]bool{}
	var longThread, restricted, leveled, ufield, gfield, attached int
	mimes := map[string]bool{}
	for i, iss := range w.Issues {
		if want := 10000 + i; iss.ID != itoa(want) {
			t.Fatalf("issue %d has id %s, want %d", i, iss.ID, want)
		}
		if i > 0 && iss.Created.Before(w.Issues[i-1].Created) {
			t.Fatalf("issue %s created before its predecessor", iss.Key)
		}
		if iss.Updated.Before(iss.Created) || iss.Updated.After(BaseTime) {
			t.Fatalf("issue %s updated %v outside [created, base]", iss.Key, iss.Updated)
		}
		walkADF(t, iss.Description, nodes, marks)
		if len(iss.Comments) > 20 {
			longThread++
		}
		for _, c := range iss.Comments {
			if c.Visibility != nil {
				restricted++
			}
		}
		if iss.SecurityLevelID != "" {
			leveled++
		}
		if len(iss.CustomFields[FieldUserPicker]) > 0 {
			ufield++
		}
		if len(iss.CustomFields[FieldGroupPicker]) > 0 {
			gfield++
		}
		if len(iss.Attachments) > 0 {
			attached++
		}
		for _, a := range iss.Attachments {
			mimes[a.MimeType] = true
			if len(a.Content) == 0 {
				t.Errorf("attachment %s has no bytes", a.ID)
			}
		}
	}
	for _, n := range []string{"paragraph", "heading", "bulletList", "orderedList", "listItem", "codeBlock", "table", "tableRow", "tableHeader", "tableCell",
		"panel", "mention", "inlineCard", "status", "date", "mediaSingle", "media", "hardBreak", "rule", "blockquote", "text"} {
		if !nodes[n] {
			t.Errorf("no description uses ADF node %s", n)
		}
	}
	for _, m := range []string{"strong", "em", "code", "link"} {
		if !marks[m] {
			t.Errorf("no description uses ADF mark %s", m)
		}
	}
	for _, m := range []string{"text/plain", "text/markdown", "text/csv", "application/json", "text/html", "application/pdf",
		"application/vnd.openxmlformats-officedocument.wordprocessingml.document"} {
		if !mimes[m] {
			t.Errorf("no attachment of type %s", m)
		}
	}
	if longThread == 0 || restricted == 0 || leveled == 0 || ufield == 0 || gfield == 0 {
		t.Errorf("long threads=%d restricted comments=%d leveled=%d userField=%d groupField=%d; want each > 0",
			longThread, restricted, leveled, ufield, gfield)
	}
	if attached < 35 || attached > 85 {
		t.Errorf("%d of 200 issues have attachments, want about 30%%", attached)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

func walkADF(t *testing.T, raw json.RawMessage, nodes, marks map[string]bool) {
	t.Helper()
	var n adfNode
	if err := json.Unmarshal(raw, &n); err != nil {
		t.Fatalf("description is not JSON: %v", err)
	}
	if n.Type != "doc" || n.Version != 1 {
		t.Fatalf("description root = %s v%d", n.Type, n.Version)
	}
	var walk func(adfNode)
	walk = func(n adfNode) {
		nodes[n.Type] = true
		for _, m := range n.Marks {
			marks[m.Type] = true
		}
		if n.Type == "codeBlock" && n.Attrs["language"] == nil {
			t.Errorf("codeBlock without language")
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
}

// The admin must see every issue and comment of a fresh world, so a full sync
// run as the admin copies everything.
func TestGenerateAdminSeesEverything(t *testing.T) {
	for _, seed := range []int64{1, 5, 9} {
		w := Generate(GenerateOptions{Seed: seed, Projects: 6, Issues: 80, AdminEmail: "it.admin@corp.example"})
		admin := w.AdminAccountID()
		if u := w.UserByEmail("IT.Admin@corp.example"); u == nil || u.AccountID != admin || u.DisplayName != "It Admin" {
			t.Fatalf("admin lookup by email: %+v", u)
		}
		var hiddenFromSomeone int
		for _, iss := range w.Issues {
			if !w.CanSee(admin, iss.Key, "") {
				t.Fatalf("seed %d: admin cannot see %s", seed, iss.Key)
			}
			for _, c := range iss.Comments {
				if !w.CanSee(admin, iss.Key, c.ID) {
					t.Fatalf("seed %d: admin cannot see comment %s on %s (%+v)", seed, c.ID, iss.Key, c.Visibility)
				}
			}
			for _, u := range w.Users[2:6] {
				if u.Active && !w.CanSee(u.AccountID, iss.Key, "") {
					hiddenFromSomeone++
				}
			}
		}
		if hiddenFromSomeone == 0 {
			t.Errorf("seed %d: every issue visible to users 2-5; permissions do not restrict anything", seed)
		}
	}
}

func TestTextToADF(t *testing.T) {
	got := string(TextToADF("Line one\nline two\n\nSecond para"))
	want := `{"type":"doc","version":1,"content":[{"type":"paragraph","content":[{"type":"text","text":"Line one"},{"type":"hardBreak"},{"type":"text","text":"line two"}]},{"type":"paragraph","content":[{"type":"text","text":"Second para"}]}]}`
	if got != want {
		t.Errorf("TextToADF:\n got %s\nwant %s", got, want)
	}
	if got := ADFPlainText(TextToADF("a\nb\n\nc")); got != "a\nb\nc" {
		t.Errorf("ADFPlainText round trip = %q", got)
	}
	list := adfDoc(adfPara(adfText("Steps:")), adfNode{Type: "bulletList", Content: []adfNode{
		adfListItem(adfPara(adfText("one"))), adfListItem(adfPara(adfText("two")))}},
		adfPara(adfNode{Type: "mention", Attrs: map[string]any{"id": "x", "text": "@Sam"}}, adfText(" see "),
			adfNode{Type: "inlineCard", Attrs: map[string]any{"url": "https://kb.example.com/1"}}))
	if got, want := ADFPlainText(list), "Steps:\none\ntwo\n@Sam see https://kb.example.com/1"; got != want {
		t.Errorf("ADFPlainText(list) = %q, want %q", got, want)
	}
	if got := ADFPlainText(json.RawMessage(`{not json`)); got != "" {
		t.Errorf("invalid ADF gave %q", got)
	}
	if got := string(TextToADF("  ")); !strings.Contains(got, `"content":[]`) {
		t.Errorf("empty text: %s", got)
	}
}

func TestGenerateSizes(t *testing.T) {
	tests := []struct {
		o                   GenerateOptions
		projects, issues, u int
	}{
		{GenerateOptions{}, 4, 200, 20 + 9}, // + 4+issues/40 JSM customers
		{GenerateOptions{Issues: -1}, 4, 0, 12 + 4},
		{GenerateOptions{Projects: 1, Issues: 3}, 1, 3, 12 + 4},
		{GenerateOptions{Projects: 14, Issues: 30, Mode: switchyard.ModeDataCenter}, 14, 30, 12},
	}
	for _, tt := range tests {
		w := Generate(tt.o)
		if len(w.Projects) != tt.projects || len(w.Issues) != tt.issues || len(w.Users) != tt.u {
			t.Errorf("%+v: %d projects, %d issues, %d users; want %d, %d, %d", tt.o, len(w.Projects), len(w.Issues), len(w.Users), tt.projects, tt.issues, tt.u)
		}
		keys := map[string]bool{}
		for _, p := range w.Projects {
			if keys[p.Key] || !regexp.MustCompile(`^[A-Z][A-Z0-9]+$`).MatchString(p.Key) {
				t.Errorf("bad or duplicate project key %q", p.Key)
			}
			keys[p.Key] = true
		}
		if tt.o.Mode != "" && w.Mode != tt.o.Mode {
			t.Errorf("mode = %s", w.Mode)
		}
		// Mutations work on every size.
		if _, err := w.CreateIssue("", IssueCreate{ProjectKey: w.Projects[0].Key, Summary: "new"}); err != nil {
			t.Errorf("%+v: create: %v", tt.o, err)
		}
	}
}
