package runbook

import (
	"context"
	"strings"
	"sync"

	"switchyard"
	"switchyard/classify"
	"switchyard/store"
)

// StoreDirectory is the classifier's view of one connection's synced users
// and groups (classify.Directory over the store). Emails are looked up in
// SQLite; names are matched against an in-memory index rebuilt whenever the
// connection's identity version changes (i.e. after an identity sync).
type StoreDirectory struct {
	db   *store.DB
	conn string

	mu      sync.Mutex
	version int64
	loaded  bool
	mem     *classify.MemDirectory
}

var _ classify.Directory = (*StoreDirectory)(nil)

// NewStoreDirectory returns the directory of connection conn in db.
func NewStoreDirectory(db *store.DB, conn string) *StoreDirectory {
	return &StoreDirectory{db: db, conn: conn}
}

// UserByEmail returns the synced user with that email (case-insensitive), or
// switchyard.ErrNotFound. Users who hide their email are not found.
func (d *StoreDirectory) UserByEmail(ctx context.Context, email string) (switchyard.User, error) {
	if strings.TrimSpace(email) == "" {
		return switchyard.User{}, switchyard.ErrNotFound
	}
	return d.db.UserByEmail(ctx, d.conn, email)
}

// UsersByName returns the synced users whose display name is name
// (case-insensitive, whitespace folded).
func (d *StoreDirectory) UsersByName(ctx context.Context, name string) ([]switchyard.User, error) {
	m, err := d.names(ctx)
	if err != nil {
		return nil, err
	}
	return m.UsersByName(ctx, name)
}

// GroupsByName returns the synced groups called name.
func (d *StoreDirectory) GroupsByName(ctx context.Context, name string) ([]switchyard.Group, error) {
	m, err := d.names(ctx)
	if err != nil {
		return nil, err
	}
	return m.GroupsByName(ctx, name)
}

func (d *StoreDirectory) names(ctx context.Context) (*classify.MemDirectory, error) {
	v, err := d.db.IdentityVersion(ctx, d.conn)
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.loaded && v == d.version {
		return d.mem, nil
	}
	users, err := d.db.Users(ctx, d.conn)
	if err != nil {
		return nil, err
	}
	groups, err := d.db.Groups(ctx, d.conn)
	if err != nil {
		return nil, err
	}
	d.mem, d.version, d.loaded = classify.NewMemDirectory(users, groups), v, true
	return d.mem, nil
}
