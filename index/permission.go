package index

import (
	"context"
	"sort"
	"strings"

	"github.com/blevesearch/bleve/v2/search/query"

	"switchyard"
)

// Viewer is the user a search runs as, resolved by the caller from synced users
// and group memberships.
type Viewer struct {
	AccountID string
	// Known is false for a request with no user or one that maps to no synced
	// account: such a viewer matches only `anyone` grants.
	Known bool
	// Active is false for deactivated accounts, which see nothing.
	Active bool
	Groups []string // group ids the user is a direct member of
	// Customer is true for a JSM portal customer (accountType customer): it
	// sees only requests of service desks whose browse grants hold
	// sd.customer.portal.only, that it reported, participates in, or that are
	// shared with one of its Organizations added to the desk; never internal
	// notes nor the files they show.
	Customer      bool
	Organizations []string // JSM organization ids the user is a member of
}

// Permissions is a connection's permission data as the last identity sync saw it.
// Do not modify one after handing it to Search: viewers' filters are cached by
// its address (a new identity sync brings a new value).
type Permissions struct {
	Projects         []switchyard.Project // with Roles (actors), Browse grants and SecurityLevels
	ApplicationRoles []switchyard.ApplicationRole
	// Groups maps group id → name. Only needed when comment visibility names a
	// group without its id (Data Center).
	Groups map[string]string
	// ServiceDesks maps the id of each project that is a JSM service desk to
	// the organizations added to the desk.
	ServiceDesks map[string][]string
}

// PermissionSource resolves the viewer and the permission data of a connection.
// The store implements it (or an adapter in cmd). Viewer must map an email to
// its account id and return Viewer{Known: false} with a nil error for an
// unknown or unmapped user; errors are for failures only.
type PermissionSource interface {
	Viewer(ctx context.Context, conn, accountIDOrEmail string) (Viewer, error)
	Permissions(ctx context.Context, conn string) (*Permissions, error)
}

// fieldTerm is one issue-dependent condition: the document's field holds
// term. A groupCF condition stands for "custom field term holds any group of
// the viewer" and is expanded only when the query is built, so that grouping
// stays cheap for viewers in many groups.
type fieldTerm struct {
	field, term string
	groupCF     bool
}

// principal is a viewer prepared for holder matching.
type principal struct {
	customer bool            // a JSM portal customer: only the portal grant matches
	orgs     map[string]bool // its organizations
	desks    map[string][]string
	account  string // "" for unknown viewers
	groups   map[string]bool
	groupIDs []string
	appAny   bool
	appKeys  map[string]bool
}

func newPrincipal(v Viewer, p *Permissions) *principal {
	pr := &principal{groups: map[string]bool{}, appKeys: map[string]bool{}}
	if !v.Known || v.AccountID == "" {
		return pr // matches only `anyone`
	}
	pr.account = v.AccountID
	if v.Customer {
		pr.customer, pr.orgs, pr.desks = true, map[string]bool{}, p.ServiceDesks
		for _, o := range v.Organizations {
			pr.orgs[o] = true
		}
	}
	for _, g := range v.Groups {
		if g != "" && !pr.groups[g] {
			pr.groups[g] = true
			pr.groupIDs = append(pr.groupIDs, g)
		}
	}
	sort.Strings(pr.groupIDs)
	for _, ar := range p.ApplicationRoles {
		for _, g := range ar.Groups {
			if pr.groups[g] {
				pr.appAny = true
				pr.appKeys[ar.Key] = true
			}
		}
	}
	return pr
}

func (pr *principal) holdsRole(role *switchyard.ProjectRole) bool {
	if pr.account == "" {
		return false
	}
	for _, u := range role.Actors.Users {
		if u == pr.account {
			return true
		}
	}
	for _, g := range role.Actors.Groups {
		if pr.groups[g] {
			return true
		}
	}
	return false
}

// match resolves a holder for issues of proj: static reports a match that does
// not depend on the issue; dyn lists issue-dependent conditions, any of which
// matches. Unknown holder types grant nothing; sd.customer.portal.only grants
// only portal customers, who match nothing else (see portal).
func (pr *principal) match(h switchyard.Holder, proj *switchyard.Project) (static bool, dyn []fieldTerm) {
	if pr.customer {
		return false, pr.portal(h, proj)
	}
	if h.Type == switchyard.HolderAnyone {
		return true, nil
	}
	if pr.account == "" {
		return false, nil
	}
	switch h.Type {
	case switchyard.HolderApplicationRole:
		if h.Parameter == "" {
			return pr.appAny, nil
		}
		return pr.appKeys[h.Parameter], nil
	case switchyard.HolderGroup:
		return h.Parameter != "" && pr.groups[h.Parameter], nil
	case switchyard.HolderProjectRole:
		for i := range proj.Roles {
			if proj.Roles[i].ID == h.Parameter {
				return pr.holdsRole(&proj.Roles[i]), nil
			}
		}
		return false, nil
	case switchyard.HolderUser:
		return h.Parameter == pr.account, nil
	case switchyard.HolderProjectLead:
		return proj.LeadAccountID == pr.account, nil
	case switchyard.HolderReporter:
		return false, []fieldTerm{{field: fPermReporter, term: pr.account}}
	case switchyard.HolderAssignee:
		return false, []fieldTerm{{field: fPermAssignee, term: pr.account}}
	case switchyard.HolderUserCustomField:
		if h.Parameter == "" {
			return false, nil
		}
		return false, []fieldTerm{{field: fPermCF, term: cfTerm(h.Parameter, pr.account)}}
	case switchyard.HolderGroupCustomField:
		if h.Parameter == "" {
			return false, nil
		}
		if len(pr.groupIDs) == 0 {
			return false, nil
		}
		return false, []fieldTerm{{field: fPermCF, term: h.Parameter, groupCF: true}}
	}
	return false, nil
}

// portal resolves a holder for a portal customer: only
// sd.customer.portal.only of a service desk project matches, per issue, as
// reporter, as participant, or through an organization that is both the
// customer's and added to the desk.
func (pr *principal) portal(h switchyard.Holder, proj *switchyard.Project) []fieldTerm {
	deskOrgs, isDesk := pr.desks[proj.ID]
	if h.Type != switchyard.HolderSDCustomerPortal || !isDesk || pr.account == "" {
		return nil
	}
	out := []fieldTerm{{field: fPermReporter, term: pr.account}, {field: fPermPart, term: pr.account}}
	for _, o := range deskOrgs {
		if pr.orgs[o] {
			out = append(out, fieldTerm{field: fPermOrg, term: o})
		}
	}
	return out
}

// matchAll resolves a list of holders (grants or level members).
func (pr *principal) matchAll(hs []switchyard.Holder, proj *switchyard.Project) (bool, dynSet) {
	var ds dynSet
	for _, h := range hs {
		st, dyn := pr.match(h, proj)
		if st {
			return true, dynSet{}
		}
		ds.add(dyn...)
	}
	return false, ds
}

// dynSet is a set of issue-dependent conditions; its key groups projects and
// levels that share the same conditions into one clause.
type dynSet struct{ terms []fieldTerm }

func (d *dynSet) add(fts ...fieldTerm) { d.terms = append(d.terms, fts...) }

func (d *dynSet) empty() bool { return len(d.terms) == 0 }

func (d *dynSet) normalize() {
	sort.Slice(d.terms, func(i, j int) bool {
		a, b := d.terms[i], d.terms[j]
		if a.field != b.field {
			return a.field < b.field
		}
		if a.groupCF != b.groupCF {
			return b.groupCF
		}
		return a.term < b.term
	})
	out := d.terms[:0]
	for i, t := range d.terms {
		if i == 0 || t != d.terms[i-1] {
			out = append(out, t)
		}
	}
	d.terms = out
}

func (d *dynSet) key() string {
	var b strings.Builder
	for _, t := range d.terms {
		b.WriteString(t.field)
		if t.groupCF {
			b.WriteByte(1)
		}
		b.WriteByte(0)
		b.WriteString(t.term)
		b.WriteByte(0)
	}
	return b.String()
}

func (d *dynSet) query(groups []string) query.Query {
	var qs []query.Query
	for i := 0; i < len(d.terms); {
		j := i
		var terms []string
		for ; j < len(d.terms) && d.terms[j].field == d.terms[i].field; j++ {
			if t := d.terms[j]; t.groupCF {
				for _, g := range groups {
					terms = append(terms, cfTerm(t.term, g))
				}
			} else {
				terms = append(terms, t.term)
			}
		}
		qs = append(qs, newTermsQuery(d.terms[i].field, terms))
		i = j
	}
	return or(qs...)
}

// grouped collects terms of one field under a grouping key.
type grouped struct {
	order []string
	dyn   map[string]dynSet
	terms map[string][]string
}

func newGrouped() *grouped {
	return &grouped{dyn: map[string]dynSet{}, terms: map[string][]string{}}
}

func (g *grouped) add(d dynSet, terms ...string) {
	k := d.key()
	if _, ok := g.dyn[k]; !ok {
		g.order = append(g.order, k)
		g.dyn[k] = d
	}
	g.terms[k] = append(g.terms[k], terms...)
}

// permissionFilter builds the query that matches exactly the documents of conn
// the viewer may see. ok is false when the viewer may see nothing at all.
//
// Per project, static holders (anyone, applicationRole, group, projectRole,
// user, projectLead) resolve to a boolean now; issue-dependent holders
// (reporter, assignee, user/group custom fields) become term clauses on the
// document's permission fields. Projects and levels with the same conditions
// share one clause, so the query grows with the number of distinct conditions,
// not with the number of projects or principals.
func permissionFilter(conn string, v Viewer, p *Permissions) (q query.Query, ok bool) {
	if v.Known && !v.Active {
		return nil, false
	}
	pr := newPrincipal(v, p)

	var fullProjects []string // a static browse grant matches
	fullLevels := []string{levelNone}
	fullDynLevels := newGrouped()          // levels of full projects matched only per issue
	partial := newGrouped()                // projects matched only per issue, by browse conditions
	partialLevels := map[string][]string{} // browse key → static levels
	partialDynLevels := map[string]*grouped{}
	var visTerms []string

	for i := range p.Projects {
		proj := &p.Projects[i]
		if proj.ID == "" {
			continue
		}
		for r := range proj.Roles {
			if proj.Roles[r].Name != "" && pr.holdsRole(&proj.Roles[r]) {
				visTerms = append(visTerms, roleVisTerm(proj.ID, proj.Roles[r].Name))
			}
		}
		browseStatic, browseDyn := pr.matchAll(proj.Browse, proj)
		if !browseStatic && browseDyn.empty() {
			continue
		}
		browseDyn.normalize()
		bk := browseDyn.key()
		if !browseStatic {
			partial.add(browseDyn, proj.ID)
			if _, ok := partialDynLevels[bk]; !ok {
				partialDynLevels[bk] = newGrouped()
				partialLevels[bk] = []string{levelNone}
			}
		} else {
			fullProjects = append(fullProjects, proj.ID)
		}
		for l := range proj.SecurityLevels {
			lv := &proj.SecurityLevels[l]
			if lv.ID == "" {
				continue
			}
			term := levelTerm(proj.ID, lv.ID)
			lStatic, lDyn := pr.matchAll(lv.Members, proj)
			switch {
			case lStatic && browseStatic:
				fullLevels = append(fullLevels, term)
			case lStatic:
				partialLevels[bk] = append(partialLevels[bk], term)
			case lDyn.empty():
				// nobody in this level matches: its issues stay hidden
			case browseStatic:
				lDyn.normalize()
				fullDynLevels.add(lDyn, term)
			default:
				lDyn.normalize()
				partialDynLevels[bk].add(lDyn, term)
			}
		}
	}

	var cases []query.Query
	if len(fullProjects) > 0 {
		cases = append(cases, and(
			newTermsQuery(fPermProject, fullProjects),
			newTermsQuery(fPermLevel, fullLevels)))
	}
	for _, k := range fullDynLevels.order {
		d := fullDynLevels.dyn[k]
		cases = append(cases, and(newTermsQuery(fPermLevel, fullDynLevels.terms[k]), d.query(pr.groupIDs)))
	}
	for _, bk := range partial.order {
		bd := partial.dyn[bk]
		cases = append(cases, and(
			newTermsQuery(fPermProject, partial.terms[bk]),
			bd.query(pr.groupIDs),
			newTermsQuery(fPermLevel, partialLevels[bk])))
		g := partialDynLevels[bk]
		for _, lk := range g.order {
			ld := g.dyn[lk]
			cases = append(cases, and(newTermsQuery(fPermLevel, g.terms[lk]), bd.query(pr.groupIDs), ld.query(pr.groupIDs)))
		}
	}
	if len(cases) == 0 {
		return nil, false
	}

	// Comment visibility: unrestricted, a group the viewer is in, or a role
	// the viewer holds in the comment's project (the term carries the project).
	visTerms = append(visTerms, visNone)
	for _, g := range pr.groupIDs {
		visTerms = append(visTerms, "g:"+g)
		if name := p.Groups[g]; name != "" {
			visTerms = append(visTerms, "gn:"+name)
		}
	}
	if !pr.customer {
		// Internal notes: everyone who may see the comment otherwise, except
		// portal customers.
		for _, t := range visTerms {
			visTerms = append(visTerms, internalTerm(t))
		}
	}
	sort.Strings(visTerms)

	return and(
		termQ(fConn, conn),
		or(cases...),
		newTermsQuery(fPermVis, visTerms),
	), true
}
