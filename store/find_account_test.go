package store

import (
	"context"
	"errors"
	"testing"

	"switchyard"
)

func TestFindAccount(t *testing.T) { eachDriver(t, testFindAccount) }

func testFindAccount(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.ReplaceUsers(ctx, "b", []switchyard.User{
		{AccountID: "u1", DisplayName: "Sarah (b)", Email: "sarah@example.com", Active: true, AccountType: "atlassian"},
		{AccountID: "app1", DisplayName: "Bot", Email: "shared@example.com", Active: true, AccountType: "app"},
		{AccountID: "old", DisplayName: "Old Sam", Email: "shared@example.com", Active: false, AccountType: "atlassian"},
		{AccountID: "sam", DisplayName: "Sam", Email: "shared@example.com", Active: true, AccountType: "atlassian"},
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.ReplaceUsers(ctx, "a", []switchyard.User{
		{AccountID: "u1", DisplayName: "Sarah (a)", Email: "Sarah@Example.com", Active: true, AccountType: "atlassian"},
	}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, find, wantID, wantName string
		wantErr                      error
	}{
		{name: "account id, first connection wins", find: " u1 ", wantID: "u1", wantName: "Sarah (a)"},
		{name: "e-mail in any case", find: "SARAH@example.COM", wantID: "u1", wantName: "Sarah (a)"},
		{name: "e-mail shared: active person first", find: "shared@example.com", wantID: "sam", wantName: "Sam"},
		{name: "account id is exact", find: "U1", wantErr: switchyard.ErrNotFound},
		{name: "unknown e-mail", find: "nobody@example.com", wantErr: switchyard.ErrNotFound},
		{name: "empty", find: "  ", wantErr: switchyard.ErrInvalid},
	}
	for _, tt := range tests {
		u, err := db.FindAccount(ctx, tt.find)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("%s: %+v, %v; want %v", tt.name, u, err, tt.wantErr)
			}
			continue
		}
		if err != nil || u.AccountID != tt.wantID || u.DisplayName != tt.wantName {
			t.Errorf("%s: %+v, %v; want %s (%s)", tt.name, u, err, tt.wantID, tt.wantName)
		}
	}
}

func TestQuickCheckSoundStore(t *testing.T) { eachDriver(t, testQuickCheckSoundStore) }

func testQuickCheckSoundStore(t *testing.T, openTest opener) {
	db := openTest(t)
	ctx := context.Background()
	if err := db.ReplaceUsers(ctx, "c", []switchyard.User{{AccountID: "u1"}}); err != nil {
		t.Fatal(err)
	}
	if problems, err := db.QuickCheck(ctx); err != nil || len(problems) != 0 {
		t.Errorf("QuickCheck on a sound store = %v, %v", problems, err)
	}
}
