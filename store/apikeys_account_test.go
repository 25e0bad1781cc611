package store

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"switchyard"
)

func TestAPIKeyAccountBinding(t *testing.T) { eachDriver(t, testAPIKeyAccountBinding) }

func testAPIKeyAccountBinding(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	keys := []struct {
		name, account, want string
		wantErr             error
	}{
		{name: "unbound", account: "", want: ""},
		{name: "agent", account: " 5b10ac8d82e05b22cc7d4ef5 ", want: "5b10ac8d82e05b22cc7d4ef5"},
		{name: "bot", account: "712020:0e2f3c4d-aaaa-bbbb-cccc-1234567890ab", want: "712020:0e2f3c4d-aaaa-bbbb-cccc-1234567890ab"},
		{name: "spaces", account: "not an id", wantErr: switchyard.ErrInvalid},
		{name: "too long", account: strings.Repeat("a", 129), wantErr: switchyard.ErrInvalid},
	}
	made := map[int64]string{}
	var secrets []string
	for _, k := range keys {
		clk.add(time.Second)
		got, secret, err := db.CreateAPIKey(ctx, NewAPIKey{Name: k.name, Scopes: []string{"search:read"}, AccountID: k.account})
		if k.wantErr != nil {
			if !errors.Is(err, k.wantErr) {
				t.Errorf("%s: %v, want %v", k.name, err, k.wantErr)
			}
			continue
		}
		if err != nil || got.AccountID != k.want {
			t.Fatalf("%s: created %+v, %v; want account %q", k.name, got, err, k.want)
		}
		made[got.ID] = k.want
		secrets = append(secrets, secret)
		// Every read path returns the binding.
		if byID, err := db.APIKey(ctx, got.ID); err != nil || byID.AccountID != k.want {
			t.Errorf("%s: APIKey = %+v, %v", k.name, byID, err)
		}
		if byHash, err := db.APIKeyByHash(ctx, HashAPIKey(secret)); err != nil || byHash.AccountID != k.want {
			t.Errorf("%s: APIKeyByHash = %+v, %v", k.name, byHash, err)
		}
		if auth, err := db.Authenticate(ctx, secret); err != nil || auth.AccountID != k.want {
			t.Errorf("%s: Authenticate = %+v, %v", k.name, auth, err)
		}
	}
	if len(made) != 3 {
		t.Fatalf("%d keys made, want 3", len(made))
	}
	// What `keys list` shows: every key, newest first, with its account
	// and last use; a revoked one keeps its binding.
	first := int64(0)
	for id := range made {
		if first == 0 || id < first {
			first = id
		}
	}
	revoked, err := db.RevokeAPIKey(ctx, first+1)
	if err != nil || revoked.AccountID != made[first+1] || revoked.Revoked.IsZero() {
		t.Errorf("revoke = %+v, %v", revoked, err)
	}
	list, err := db.APIKeys(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("APIKeys = %+v, %v", list, err)
	}
	var gotIDs, wantIDs []int64
	for i, k := range list {
		gotIDs = append(gotIDs, k.ID)
		wantIDs = append(wantIDs, first+int64(len(list)-1-i))
		if k.AccountID != made[k.ID] {
			t.Errorf("key %d lists account %q, want %q", k.ID, k.AccountID, made[k.ID])
		}
		if k.LastUsed.IsZero() {
			t.Errorf("key %d: last use not recorded", k.ID)
		}
		if (k.ID == first+1) == k.Revoked.IsZero() {
			t.Errorf("key %d: revoked %v", k.ID, k.Revoked)
		}
	}
	if !reflect.DeepEqual(gotIDs, wantIDs) {
		t.Errorf("APIKeys order %v, want newest first %v", gotIDs, wantIDs)
	}
	if _, err := db.Authenticate(ctx, secrets[1]); !errors.Is(err, switchyard.ErrUnauthorized) {
		t.Errorf("revoked bound key authenticated: %v", err)
	}
}
