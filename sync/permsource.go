package syncer

import (
	"context"
	"errors"
	"strings"
	"sync"

	"switchyard"
	"switchyard/index"
	"switchyard/store"
)

// PermissionSource answers the index's questions about who a viewer is and what
// each project grants, from the identity the sync last stored. Because the
// index evaluates these at query time, a membership or grant change takes
// effect after the next identity sync without re-indexing issue documents.
//
// Permissions are cached per connection and reloaded only when the store's
// identity version changes (every identity sync bumps it), so a search costs
// one small query instead of reloading every project, role and group.
type PermissionSource struct {
	DB *store.DB

	mu    sync.Mutex
	cache map[string]cachedPermissions
}

type cachedPermissions struct {
	version int64
	perms   *index.Permissions
}

// NewPermissionSource returns a source reading db.
func NewPermissionSource(db *store.DB) *PermissionSource {
	return &PermissionSource{DB: db} // the cache is made on first use
}

var _ index.PermissionSource = (*PermissionSource)(nil)

// Viewer resolves an account id, or an email through synced users, to a viewer.
// Unknown users, and emails hidden by privacy settings, are Known=false: they
// match only `anyone` grants.
func (p *PermissionSource) Viewer(ctx context.Context, conn, accountIDOrEmail string) (index.Viewer, error) {
	who := strings.TrimSpace(accountIDOrEmail)
	if who == "" {
		return index.Viewer{}, nil
	}
	var (
		u   switchyard.User
		err error
	)
	if strings.Contains(who, "@") {
		u, err = p.DB.UserByEmail(ctx, conn, who)
	} else {
		u, err = p.DB.User(ctx, conn, who)
	}
	if errors.Is(err, switchyard.ErrNotFound) {
		return index.Viewer{}, nil
	}
	if err != nil {
		return index.Viewer{}, err
	}
	groups, err := p.DB.GroupsOfUser(ctx, conn, u.AccountID)
	if err != nil {
		return index.Viewer{}, err
	}
	v := index.Viewer{AccountID: u.AccountID, Known: true, Active: u.Active, Groups: groups}
	if u.AccountType == "customer" {
		// A portal customer: its organizations as the last identity sync saw them.
		v.Customer = true
		if v.Organizations, err = p.DB.OrganizationsOfUser(ctx, conn, u.AccountID); err != nil {
			return index.Viewer{}, err
		}
	}
	return v, nil
}

// Permissions loads the connection's projects (roles, grants, security levels),
// application roles and group names.
func (p *PermissionSource) Permissions(ctx context.Context, conn string) (*index.Permissions, error) {
	version, err := p.DB.IdentityVersion(ctx, conn)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	c, ok := p.cache[conn]
	p.mu.Unlock()
	if ok && c.version == version {
		return c.perms, nil
	}
	perms, err := p.load(ctx, conn)
	if err != nil {
		return nil, err
	}
	p.mu.Lock()
	if p.cache == nil {
		p.cache = map[string]cachedPermissions{}
	}
	p.cache[conn] = cachedPermissions{version: version, perms: perms}
	p.mu.Unlock()
	return perms, nil
}

// load reads a connection's permission data. The version is read before the
// data, so a concurrent identity sync can only make the cache reload early,
// never keep stale data under a new version.
func (p *PermissionSource) load(ctx context.Context, conn string) (*index.Permissions, error) {
	projects, err := p.DB.Projects(ctx, conn)
	if err != nil {
		return nil, err
	}
	roles, err := p.DB.ApplicationRoles(ctx, conn)
	if err != nil {
		return nil, err
	}
	groups, err := p.DB.Groups(ctx, conn)
	if err != nil {
		return nil, err
	}
	names := make(map[string]string, len(groups))
	for _, g := range groups {
		names[g.ID] = g.Name
	}
	desks, err := p.DB.ServiceDesks(ctx, conn)
	if err != nil {
		return nil, err
	}
	var sd map[string][]string
	for _, d := range desks {
		if sd == nil {
			sd = map[string][]string{}
		}
		sd[d.ProjectID] = d.Organizations
	}
	return &index.Permissions{Projects: projects, ApplicationRoles: roles, Groups: names, ServiceDesks: sd}, nil
}
