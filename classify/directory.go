package classify

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"switchyard"
)

// Directory is the synced identity data extraction matches names against.
// The store (or a sync snapshot) implements it; a nil Directory matches
// nothing. Lookups are case-insensitive and exact on the whole name.
type Directory interface {
	// UserByEmail returns switchyard.ErrNotFound when no user has the email.
	UserByEmail(ctx context.Context, email string) (switchyard.User, error)
	// UsersByName returns the users whose display name is name.
	UsersByName(ctx context.Context, name string) ([]switchyard.User, error)
	// GroupsByName returns the groups called name.
	GroupsByName(ctx context.Context, name string) ([]switchyard.Group, error)
}

// MemDirectory is an in-memory Directory, for the CLI (--directory FILE) and
// tests.
type MemDirectory struct {
	byEmail map[string]switchyard.User
	byName  map[string][]switchyard.User
	groups  map[string][]switchyard.Group
}

// NewMemDirectory indexes users and groups by lower-cased email and name.
func NewMemDirectory(users []switchyard.User, groups []switchyard.Group) *MemDirectory {
	d := &MemDirectory{byEmail: map[string]switchyard.User{}, byName: map[string][]switchyard.User{}, groups: map[string][]switchyard.Group{}}
	for _, u := range users {
		if u.Email != "" {
			d.byEmail[strings.ToLower(u.Email)] = u
		}
		if n := foldName(u.DisplayName); n != "" {
			d.byName[n] = append(d.byName[n], u)
		}
	}
	for _, g := range groups {
		if n := foldName(g.Name); n != "" {
			d.groups[n] = append(d.groups[n], g)
		}
	}
	return d
}

// LoadDirectory reads a JSON file {"users": [...], "groups": [...]} in the
// shapes of switchyard.User and switchyard.Group (a sync snapshot).
func LoadDirectory(path string) (*MemDirectory, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read directory: %w", err)
	}
	var f struct {
		Users  []switchyard.User  `json:"users"`
		Groups []switchyard.Group `json:"groups"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, switchyard.Errorf(switchyard.ErrInvalid, "directory %s: %v", path, err)
	}
	return NewMemDirectory(f.Users, f.Groups), nil
}

func foldName(s string) string { return strings.Join(strings.Fields(strings.ToLower(s)), " ") }

func (d *MemDirectory) UserByEmail(_ context.Context, email string) (switchyard.User, error) {
	if u, ok := d.byEmail[strings.ToLower(email)]; ok {
		return u, nil
	}
	return switchyard.User{}, switchyard.ErrNotFound
}

func (d *MemDirectory) UsersByName(_ context.Context, name string) ([]switchyard.User, error) {
	return d.byName[foldName(name)], nil
}

func (d *MemDirectory) GroupsByName(_ context.Context, name string) ([]switchyard.Group, error) {
	return d.groups[foldName(name)], nil
}
