package jirasim

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// BaseTime is the fixed "now" of a generated world: created and updated times
// spread over the two years before it, so a seed always yields the same world.
var BaseTime = time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)

// Fixed ids Jira uses for the global project roles and the picker fields.
const (
	RoleUsers           = "10000"
	RoleDevelopers      = "10001"
	RoleAdministrators  = "10002"
	RoleServiceDeskTeam = "10003"

	FieldUserPicker  = "customfield_10050" // multi user picker: account ids
	FieldGroupPicker = "customfield_10051" // multi group picker: group ids

	GroupAdministrators = "jira-administrators"
)

var roleNames = []struct{ id, name string }{
	{RoleUsers, "Users"}, {RoleDevelopers, "Developers"}, {RoleAdministrators, "Administrators"}, {RoleServiceDeskTeam, "Service Desk Team"},
}

// GenerateOptions sizes a generated world. Zero values take the defaults:
// Projects 4, Issues 200, Mode cloud, AdminEmail admin@example.com.
type GenerateOptions struct {
	Seed       int64
	Projects   int
	Issues     int
	Mode       switchyard.Mode
	AdminEmail string
	// ExtraGroups adds that many groups (dept-001, dept-002, …) beside the
	// nine built-in ones, each with a few members. Their names sort before
	// most built-in groups, so with more than a picker page of them the
	// groups that carry grants fall past a capped groups/picker page.
	ExtraGroups int
}

func (o *GenerateOptions) defaults() {
	if o.Projects <= 0 {
		o.Projects = 4
	}
	if o.Issues < 0 {
		o.Issues = 0
	} else if o.Issues == 0 {
		o.Issues = 200
	}
	if o.Mode == "" {
		o.Mode = switchyard.ModeCloud
	}
	if o.AdminEmail == "" {
		o.AdminEmail = "admin@example.com"
	}
}

// projectSpec is the fixed head of the project list; later projects are generic.
type projectSpec struct{ key, name, kind, typeKey string }

var projectSpecs = []projectSpec{
	{"ITSM", "IT Service Desk", "itsm", "service_desk"},
	{"OPS", "Platform Operations", "ops", "software"},
	{"SEC", "Security Engineering", "sec", "software"},
	{"HR", "People Operations", "hr", "business"},
	{"FIN", "Finance Systems", "biz", "business"},
	{"NET", "Network Engineering", "ops", "software"},
	{"FAC", "Facilities", "biz", "business"},
	{"DEV", "Developer Experience", "ops", "software"},
	{"DATA", "Data Platform", "ops", "software"},
	{"LEG", "Legal Requests", "biz", "business"},
}

// workflow is a project kind's issue types and statuses (with their category).
type workflow struct {
	types    []string
	statuses []struct{ name, cat string }
}

var workflows = map[string]workflow{
	"service_desk": {[]string{"Service Request", "Incident", "Problem", "Change"}, []struct{ name, cat string }{
		{"Open", "new"}, {"Waiting for support", "new"}, {"In Progress", "indeterminate"}, {"Waiting for customer", "indeterminate"},
		{"Resolved", "done"}, {"Closed", "done"}}},
	"software": {[]string{"Task", "Bug", "Story", "Epic"}, []struct{ name, cat string }{
		{"To Do", "new"}, {"In Progress", "indeterminate"}, {"In Review", "indeterminate"}, {"Done", "done"}}},
	"business": {[]string{"Task", "Request"}, []struct{ name, cat string }{
		{"To Do", "new"}, {"In Progress", "indeterminate"}, {"Done", "done"}}},
}

// StatusCategoryOf returns the status category key (new, indeterminate, done)
// of a status in a project type, or "" when the workflow has no such status.
func StatusCategoryOf(projectTypeKey, status string) string {
	for _, s := range workflows[projectTypeKey].statuses {
		if strings.EqualFold(s.name, status) {
			return s.cat
		}
	}
	return ""
}

// Priorities are Jira's default priority names, highest first.
var Priorities = []string{"Highest", "High", "Medium", "Low", "Lowest"}

// Generate builds a deterministic world: the same options always give the same
// world, byte for byte in State JSON. No map iteration feeds the output.
func Generate(o GenerateOptions) *World {
	o.defaults()
	r := rand.New(rand.NewPCG(uint64(o.Seed), uint64(o.Seed)^0x9e3779b97f4a7c15))
	w := &World{Mode: o.Mode, seed: o.Seed, keySeq: map[string]int{}}
	g := &generator{w: w, r: r, o: o}
	g.users()
	g.groups()
	g.projects()
	g.issues()
	g.generateJSM()
	w.reindex() // also sets the id counters past the generated ids
	w.clock = BaseTime
	return w
}

type generator struct {
	w      *World
	r      *rand.Rand
	o      GenerateOptions
	staff  []*SimUser // atlassian accounts (active or not), admin first
	agents []*SimUser // active staff who work tickets
	custs  []*SimUser
	group  map[string]*SimGroup // by name; only looked up, never iterated
}

func randHex(r *rand.Rand, n int) string {
	const hex = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hex[r.IntN(16)]
	}
	return string(b)
}

func randUUID(r *rand.Rand) string {
	h := randHex(r, 32)
	variant := "89ab"[r.IntN(4)] // RFC 4122 variant bits
	return h[0:8] + "-" + h[8:12] + "-4" + h[13:16] + "-" + string(variant) + h[17:20] + "-" + h[20:32]
}

func titleWord(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

func (g *generator) users() {
	n := max(12, g.o.Issues/10)
	r := g.r
	seenEmail := map[string]bool{}
	zones := []string{"Europe/London", "Europe/Berlin", "America/Chicago", "Asia/Singapore", "America/Toronto", "Europe/Lisbon", "UTC"}

	local := g.o.AdminEmail
	if i := strings.IndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	var parts []string
	for _, p := range strings.FieldsFunc(local, func(c rune) bool { return c == '.' || c == '_' || c == '-' }) {
		parts = append(parts, titleWord(p))
	}
	adminName := strings.Join(parts, " ")
	if adminName == "" || strings.EqualFold(adminName, "admin") {
		adminName = "Site Admin"
	}
	admin := &SimUser{User: switchyard.User{AccountID: randHex(r, 24), DisplayName: adminName, Email: g.o.AdminEmail,
		Active: true, AccountType: "atlassian"}, TimeZone: "UTC"}
	seenEmail[strings.ToLower(g.o.AdminEmail)] = true
	g.w.Users = append(g.w.Users, admin)
	g.w.adminAccountID = admin.AccountID
	g.staff = append(g.staff, admin)
	g.agents = append(g.agents, admin)

	apps := 0
	for i := 1; i < n; i++ {
		first, last := pick(r, firstNames), pick(r, lastNames)
		u := &SimUser{TimeZone: pick(r, zones)}
		u.Active = true
		switch {
		case i%10 == 3 && apps < len(appUsers):
			u.AccountType = "app"
			u.AccountID = "557058:" + randUUID(r)
			u.DisplayName = appUsers[apps]
			apps++
		case i%10 == 7:
			u.AccountType = "customer"
			u.AccountID = "qm:" + randUUID(r) + ":" + randUUID(r)
			u.DisplayName = first + " " + last
			u.Email = g.email(strings.ToLower(first)+"."+strings.ToLower(last), pick(r, customerOrgs), seenEmail)
			g.custs = append(g.custs, u)
		default:
			u.AccountType = "atlassian"
			u.AccountID = randHex(r, 24)
			u.DisplayName = first + " " + last
			u.Email = g.email(strings.ToLower(first)+"."+strings.ToLower(last), "example.com", seenEmail)
			// Index 2 always hides its email and index 5 is always inactive,
			// so every world has both cases.
			if i == 2 || r.Float64() < 0.15 {
				u.HiddenEmail, u.Email = u.Email, ""
			}
			if i == 5 || r.Float64() < 0.08 {
				u.Active = false
			}
			g.staff = append(g.staff, u)
			if u.Active && (len(g.agents) < 3 || r.Float64() < 0.3) {
				g.agents = append(g.agents, u)
			}
		}
		g.w.Users = append(g.w.Users, u)
	}
}

func (g *generator) email(local, domain string, seen map[string]bool) string {
	e := local + "@" + domain
	for i := 2; seen[e]; i++ {
		e = local + strconv.Itoa(i) + "@" + domain
	}
	seen[e] = true
	return e
}

func (g *generator) groups() {
	r := g.r
	g.group = map[string]*SimGroup{}
	mk := func(name string) *SimGroup {
		grp := &SimGroup{Group: switchyard.Group{ID: randUUID(r), Name: name, Members: []string{}}}
		g.w.Groups = append(g.w.Groups, grp)
		g.group[name] = grp
		return grp
	}
	admins := mk(GroupAdministrators)
	sw := mk("jira-software-users")
	sd := mk("jira-servicedesk-users")
	it := mk("it-support")
	secg := mk("security-team")
	hr := mk("hr-team")
	contractors := mk("contractors")
	fin := mk("finance")
	net := mk("network-team")

	admin := g.staff[0].AccountID
	admins.Members = append(admins.Members, admin, g.staff[1].AccountID)
	for _, u := range g.staff {
		sw.Members = append(sw.Members, u.AccountID)
	}
	for _, u := range g.agents {
		sd.Members = append(sd.Members, u.AccountID)
		it.Members = append(it.Members, u.AccountID)
	}
	// The admin is also in security-team so restricted comments there stay
	// visible to a full sync run as the admin.
	secg.Members = append(secg.Members, admin)
	rest := g.staff[1:]
	sample := func(grp *SimGroup, p float64) {
		for _, u := range rest {
			if r.Float64() < p {
				grp.Members = append(grp.Members, u.AccountID)
			}
		}
		if len(grp.Members) == 0 || (grp == secg && len(grp.Members) == 1) {
			grp.Members = append(grp.Members, pick(r, rest).AccountID)
		}
	}
	sample(secg, 0.1)
	sample(hr, 0.1)
	sample(contractors, 0.1)
	sample(fin, 0.1)
	sample(net, 0.1)
	for i := 1; i <= g.o.ExtraGroups; i++ {
		sample(mk(fmt.Sprintf("dept-%03d", i)), 0.15)
	}
	for _, grp := range g.w.Groups {
		grp.Members = dedupe(grp.Members)
	}
	g.w.ApplicationRoles = []*switchyard.ApplicationRole{
		{Key: "jira-software", Groups: []string{sw.ID, admins.ID}},
		{Key: "jira-servicedesk", Groups: []string{sd.ID}},
	}
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	out := xs[:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func (g *generator) projects() {
	r := g.r
	levelID := 10100
	nextLevel := func(name string, members ...switchyard.Holder) switchyard.SecurityLevel {
		l := switchyard.SecurityLevel{ID: strconv.Itoa(levelID), Name: name,
			Members: append(members, switchyard.Holder{Type: switchyard.HolderGroup, Parameter: g.group[GroupAdministrators].ID})}
		levelID++
		return l
	}
	H := func(t, p string) switchyard.Holder { return switchyard.Holder{Type: t, Parameter: p} }
	gid := func(name string) string { return g.group[name].ID }
	activeStaff := func() *SimUser {
		for {
			if u := pick(r, g.staff[1:]); u.Active {
				return u
			}
		}
	}

	for i := 0; i < g.o.Projects; i++ {
		var spec projectSpec
		if i < len(projectSpecs) {
			spec = projectSpecs[i]
		} else {
			kinds := []projectSpec{{"", "", "ops", "software"}, {"", "", "biz", "business"}, {"", "", "itsm", "service_desk"}}
			spec = pick(r, kinds)
			spec.key = "P" + strconv.Itoa(i+1)
			spec.name = fmt.Sprintf("%s Project %d", pick(r, corpusTeams), i+1)
		}
		p := &SimProject{ProjectTypeKey: spec.typeKey, PermissionSchemeID: strconv.Itoa(10000 + i),
			IssueTypes: workflows[spec.typeKey].types, CustomFieldUserPick: FieldUserPicker, CustomFieldGroupPick: FieldGroupPicker}
		p.ID = strconv.Itoa(10000 + i)
		p.Key = spec.key
		p.Name = spec.name
		lead := pick(r, g.agents)
		if i > 0 {
			lead = activeStaff()
		}
		p.LeadAccountID = lead.AccountID
		usersGroup := gid("jira-software-users")
		if spec.typeKey == "service_desk" {
			usersGroup = gid("jira-servicedesk-users")
		}
		var devUsers, sdUsers, usrUsers []string
		for k := 0; k < 2+r.IntN(3); k++ {
			devUsers = append(devUsers, activeStaff().AccountID)
		}
		for k := 0; k < 2; k++ {
			usrUsers = append(usrUsers, pick(r, g.staff[1:]).AccountID)
		}
		for _, a := range g.agents[1:] {
			if r.IntN(2) == 0 {
				sdUsers = append(sdUsers, a.AccountID)
			}
		}
		devGroups := []string{}
		if r.IntN(2) == 0 {
			devGroups = append(devGroups, gid("contractors"))
		}
		actors := map[string]switchyard.RoleActors{
			RoleUsers:           {Users: dedupe(usrUsers), Groups: []string{usersGroup}},
			RoleDevelopers:      {Users: dedupe(devUsers), Groups: devGroups},
			RoleAdministrators:  {Users: []string{p.LeadAccountID}, Groups: []string{gid(GroupAdministrators)}},
			RoleServiceDeskTeam: {Users: dedupe(append([]string{}, sdUsers...)), Groups: []string{gid("it-support")}},
		}
		for _, rn := range roleNames {
			a := actors[rn.id]
			if a.Users == nil {
				a.Users = []string{}
			}
			p.Roles = append(p.Roles, switchyard.ProjectRole{ID: rn.id, Name: rn.name, Actors: a})
		}

		// Every project grants the administrators; the rest of the grants are
		// chosen so that the first four projects together use every holder type.
		p.Browse = []switchyard.Holder{H(switchyard.HolderGroup, gid(GroupAdministrators)), H(switchyard.HolderProjectRole, RoleAdministrators)}
		switch i {
		case 0:
			p.Browse = append(p.Browse, H(switchyard.HolderApplicationRole, "jira-servicedesk"), H(switchyard.HolderProjectRole, RoleServiceDeskTeam),
				H(switchyard.HolderReporter, ""), H(switchyard.HolderSDCustomerPortal, ""), H(switchyard.HolderGroup, gid("it-support")),
				H(switchyard.HolderUserCustomField, FieldUserPicker))
			p.SecurityLevels = []switchyard.SecurityLevel{nextLevel("Restricted to IT",
				H(switchyard.HolderGroup, gid("it-support")), H(switchyard.HolderProjectRole, RoleServiceDeskTeam), H(switchyard.HolderReporter, ""))}
		case 1:
			p.Browse = append(p.Browse, H(switchyard.HolderAnyone, ""), H(switchyard.HolderApplicationRole, ""), H(switchyard.HolderProjectRole, RoleDevelopers),
				H(switchyard.HolderAssignee, ""), H(switchyard.HolderProjectLead, ""), H(switchyard.HolderGroupCustomField, FieldGroupPicker))
		case 2:
			p.Browse = append(p.Browse, H(switchyard.HolderGroup, gid("security-team")), H(switchyard.HolderUser, activeStaff().AccountID),
				H(switchyard.HolderProjectRole, RoleDevelopers), H(switchyard.HolderReporter, ""), H(switchyard.HolderAssignee, ""))
			p.SecurityLevels = []switchyard.SecurityLevel{
				nextLevel("Confidential", H(switchyard.HolderProjectRole, RoleAdministrators), H(switchyard.HolderGroup, gid("security-team"))),
				nextLevel("Internal", H(switchyard.HolderReporter, ""), H(switchyard.HolderAssignee, ""), H(switchyard.HolderProjectRole, RoleDevelopers)),
			}
		case 3:
			p.Browse = append(p.Browse, H(switchyard.HolderGroup, gid("hr-team")), H(switchyard.HolderProjectLead, ""), H(switchyard.HolderReporter, ""),
				H(switchyard.HolderUserCustomField, FieldUserPicker))
			p.SecurityLevels = []switchyard.SecurityLevel{nextLevel("HR only",
				H(switchyard.HolderGroup, gid("hr-team")), H(switchyard.HolderReporter, ""), H(switchyard.HolderUserCustomField, FieldUserPicker))}
		default:
			pool := []switchyard.Holder{
				H(switchyard.HolderApplicationRole, "jira-software"), H(switchyard.HolderGroup, pick(r, g.w.Groups[3:]).ID),
				H(switchyard.HolderProjectRole, RoleUsers), H(switchyard.HolderProjectRole, RoleDevelopers),
				H(switchyard.HolderUser, activeStaff().AccountID), H(switchyard.HolderProjectLead, ""), H(switchyard.HolderReporter, ""),
				H(switchyard.HolderAssignee, ""), H(switchyard.HolderUserCustomField, FieldUserPicker), H(switchyard.HolderGroupCustomField, FieldGroupPicker),
			}
			r.Shuffle(len(pool), func(a, b int) { pool[a], pool[b] = pool[b], pool[a] })
			p.Browse = append(p.Browse, pool[:2+r.IntN(3)]...)
			if r.IntN(10) == 0 {
				p.Browse = append(p.Browse, H(switchyard.HolderAnyone, ""))
			}
			if r.IntN(5) < 2 {
				p.SecurityLevels = []switchyard.SecurityLevel{nextLevel("Restricted",
					H(switchyard.HolderProjectRole, RoleDevelopers), H(switchyard.HolderReporter, ""))}
			}
		}
		if len(p.SecurityLevels) > 0 {
			p.SecuritySchemeID = strconv.Itoa(10000 + i)
		} else {
			p.SecurityLevels = []switchyard.SecurityLevel{}
		}
		g.w.Projects = append(g.w.Projects, p)
	}
}

func projectKind(p *SimProject) string {
	for _, s := range projectSpecs {
		if s.key == p.Key {
			return s.kind
		}
	}
	switch p.ProjectTypeKey {
	case "service_desk":
		return "itsm"
	case "business":
		return "biz"
	}
	return "ops"
}

func (g *generator) issues() {
	r, w := g.r, g.w
	type slot struct {
		p       *SimProject
		created time.Time
	}
	const span = int64(730 * 24 * time.Hour / time.Millisecond)
	slots := make([]slot, g.o.Issues)
	for i := range slots {
		var p *SimProject
		if i < len(w.Projects) {
			p = w.Projects[i]
		} else if r.IntN(3) == 0 {
			p = w.Projects[0] // the service desk gets the lion's share
		} else {
			p = pick(r, w.Projects)
		}
		slots[i] = slot{p, BaseTime.Add(-time.Duration(1+r.Int64N(span)) * time.Millisecond)}
	}
	// Ids grow with creation time, as in Jira.
	slices.SortStableFunc(slots, func(a, b slot) int { return a.created.Compare(b.created) })

	commentID, attachID := int64(100000), int64(200000)
	attachKind := 0
	groupPickable := []*SimGroup{g.group["it-support"], g.group["security-team"], g.group["hr-team"], g.group["contractors"], g.group["finance"], g.group["network-team"]}
	forcedLong := min(3, len(slots)-1)

	for i, s := range slots {
		p := s.p
		kind := projectKind(p)
		t := pick(r, templatesFor(kind))
		wf := workflows[p.ProjectTypeKey]
		memo := map[string]string{} // one ticket, one host/app/site
		w.keySeq[p.ID]++
		iss := &SimIssue{
			ID: strconv.Itoa(10000 + i), Key: p.Key + "-" + strconv.Itoa(w.keySeq[p.ID]), ProjectID: p.ID,
			Summary: fillM(r, memo, pick(r, t.summaries)), IssueType: pick(r, wf.types), Priority: Priorities[min(r.IntN(6), 4)],
			Created: s.created, CustomFields: map[string][]string{}, Properties: map[string]json.RawMessage{},
			Comments: []*SimComment{}, Attachments: []*SimAttachment{},
		}
		st := wf.statuses[r.IntN(len(wf.statuses))]
		iss.Status, iss.StatusCategory = st.name, st.cat
		iss.Labels = []string{t.topic}
		for _, l := range []string{"vip", "remote", "hardware", "follow-up"} {
			if r.IntN(8) == 0 {
				iss.Labels = append(iss.Labels, l)
			}
		}
		switch x := r.IntN(100); {
		case x < 3:
			// anonymous reporter: Jira allows none
		case kind == "itsm" && x < 35 && len(g.custs) > 0:
			iss.Reporter = pick(r, g.custs).AccountID
		default:
			iss.Reporter = pick(r, g.staff).AccountID
		}
		if r.IntN(4) != 0 {
			iss.Assignee = pick(r, g.agents).AccountID
		}
		maxUpd := BaseTime.Sub(s.created)
		iss.Updated = s.created.Add(time.Duration(r.Int64N(int64(min(maxUpd, 60*24*time.Hour)/time.Millisecond)+1)) * time.Millisecond)
		if len(p.SecurityLevels) > 0 && r.IntN(100) < 15 {
			iss.SecurityLevelID = pick(r, p.SecurityLevels).ID
		}
		if r.IntN(4) == 0 {
			n := 1 + r.IntN(2)
			var ids []string
			for k := 0; k < n; k++ {
				ids = append(ids, pick(r, g.staff).AccountID)
			}
			iss.CustomFields[FieldUserPicker] = dedupe(ids)
		}
		if r.IntN(5) == 0 {
			iss.CustomFields[FieldGroupPicker] = []string{pick(r, groupPickable).ID}
		}
		between := func(a, b time.Time) time.Time {
			if !b.After(a) {
				return a
			}
			return a.Add(time.Duration(r.Int64N(int64(b.Sub(a)/time.Millisecond)+1)) * time.Millisecond)
		}
		if r.IntN(100) < 30 {
			for k := 0; k < 1+r.IntN(3); k++ {
				at := between(iss.Created, iss.Updated)
				name, mime, content := genAttachment(r, memo, attachmentKinds[attachKind%len(attachmentKinds)], t.topic, iss.Summary, at)
				attachKind++
				author := iss.Reporter
				if author == "" {
					author = pick(r, g.agents).AccountID
				}
				iss.Attachments = append(iss.Attachments, &SimAttachment{ID: strconv.FormatInt(attachID, 10), Filename: name, MimeType: mime,
					Author: author, Created: at, Content: content})
				attachID++
			}
			slices.SortStableFunc(iss.Attachments, func(a, b *SimAttachment) int { return a.Created.Compare(b.Created) })
		}
		var media *descMedia
		if len(iss.Attachments) > 0 && r.IntN(2) == 0 {
			media = &descMedia{MediaID: randUUID(r), Filename: iss.Attachments[0].Filename}
		}
		var mention *SimUser
		if iss.Reporter != "" {
			mention = w.findUser(iss.Reporter)
		}
		iss.Description = describe(r, memo, t, pick(r, []*SimUser{mention, pick(r, g.agents)}), media, strconv.FormatInt(iss.Created.UnixMilli(), 10))

		var nComments int
		switch x := r.Float64(); {
		case i == forcedLong:
			nComments = 25 // every world has a thread over the 20-comment cap
		case x < 0.35:
		case x < 0.85:
			nComments = 1 + r.IntN(6)
		case x < 0.94:
			nComments = 7 + r.IntN(14)
		default:
			nComments = 21 + r.IntN(10)
		}
		times := make([]time.Time, nComments)
		for k := range times {
			times[k] = between(iss.Created, iss.Updated)
		}
		slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
		for k := 0; k < nComments; k++ {
			author := pick(r, g.agents).AccountID
			if iss.Reporter != "" && r.IntN(3) == 0 {
				author = iss.Reporter
			}
			c := &SimComment{ID: strconv.FormatInt(commentID, 10), Author: author, Body: commentBody(r, memo, t, mention),
				Created: times[k], Updated: times[k], Properties: map[string]json.RawMessage{}}
			commentID++
			if r.IntN(10) == 0 {
				c.Updated = between(c.Created, iss.Updated)
			}
			if r.IntN(100) < 15 {
				c.Visibility = g.visibility(p)
			}
			iss.Comments = append(iss.Comments, c)
		}
		for _, c := range iss.Comments {
			if c.Updated.After(iss.Updated) {
				iss.Updated = c.Updated
			}
		}
		w.Issues = append(w.Issues, iss)
	}
	w.nextCommentID, w.nextAttachmentID = commentID, attachID
	w.clock = BaseTime
}

// visibility picks a comment restriction the admin still satisfies: groups the
// admin is in, or roles whose group actors include the admin's groups.
func (g *generator) visibility(p *SimProject) *switchyard.Visibility {
	r := g.r
	if r.IntN(2) == 0 {
		grp := pick(r, []*SimGroup{g.group["it-support"], g.group[GroupAdministrators], g.group["security-team"]})
		return &switchyard.Visibility{Type: "group", Value: grp.Name, Identifier: grp.ID}
	}
	name := "Administrators"
	if p.ProjectTypeKey == "service_desk" && r.IntN(2) == 0 {
		name = "Service Desk Team"
	}
	return &switchyard.Visibility{Type: "role", Value: name, Identifier: name}
}

// findUser scans Users; used during generation before the lookup maps exist.
func (w *World) findUser(id string) *SimUser {
	for _, u := range w.Users {
		if u.AccountID == id {
			return u
		}
	}
	return nil
}
