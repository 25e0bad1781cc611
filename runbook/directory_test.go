package runbook

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"switchyard"
	"switchyard/store"
)

func TestStoreDirectory(t *testing.T) {
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	users := []switchyard.User{
		{AccountID: "a1", DisplayName: "Ada Lovelace", Email: "ada@example.com", Active: true, AccountType: "atlassian"},
		{AccountID: "a2", DisplayName: "Hidden  Email", Active: true, AccountType: "atlassian"},
	}
	if err := db.ReplaceUsers(ctx, "acme", users); err != nil {
		t.Fatal(err)
	}
	if err := db.ReplaceGroups(ctx, "acme", []switchyard.Group{{ID: "g1", Name: "VPN Users", Members: []string{"a1"}}}); err != nil {
		t.Fatal(err)
	}
	d := NewStoreDirectory(db, "acme")
	other := NewStoreDirectory(db, "other")

	if u, err := d.UserByEmail(ctx, "ADA@example.com"); err != nil || u.AccountID != "a1" {
		t.Errorf("UserByEmail = %+v, %v", u, err)
	}
	if _, err := other.UserByEmail(ctx, "ada@example.com"); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("other connection: err = %v, want not found", err)
	}
	if _, err := d.UserByEmail(ctx, ""); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("empty email: err = %v, want not found", err)
	}
	for _, tt := range []struct {
		name string
		want int
	}{{"ada lovelace", 1}, {"hidden email", 1}, {"Ada", 0}, {"", 0}} {
		got, err := d.UsersByName(ctx, tt.name)
		if err != nil || len(got) != tt.want {
			t.Errorf("UsersByName(%q) = %v, %v; want %d", tt.name, got, err, tt.want)
		}
	}
	if g, err := d.GroupsByName(ctx, "vpn users"); err != nil || len(g) != 1 || g[0].ID != "g1" {
		t.Errorf("GroupsByName = %v, %v", g, err)
	}
	// A later identity sync is seen without a restart.
	users = append(users, switchyard.User{AccountID: "a3", DisplayName: "Grace Hopper", Email: "grace@example.com", Active: true})
	if err := db.ReplaceUsers(ctx, "acme", users); err != nil {
		t.Fatal(err)
	}
	if got, err := d.UsersByName(ctx, "Grace Hopper"); err != nil || len(got) != 1 {
		t.Errorf("after re-sync: UsersByName = %v, %v", got, err)
	}
}
