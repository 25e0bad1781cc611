package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchyard"
)

func TestAPIKeys(t *testing.T) { eachDriver(t, testAPIKeys) }

func testAPIKeys(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	k, secret, err := db.CreateAPIKey(ctx, NewAPIKey{Name: "ci", Scopes: []string{"search:read", "ticket:ingest", "search:read"}, Expires: clk.now().Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckAPIKeyFormat(secret); err != nil {
		t.Fatalf("generated secret %q: %v", secret, err)
	}
	if !strings.HasPrefix(secret, k.Prefix) || len(k.Prefix) >= len(secret)/2 {
		t.Errorf("prefix %q of %q", k.Prefix, secret)
	}
	if len(k.Scopes) != 2 || !k.HasScope("ticket:ingest") || k.HasScope("audit:read") {
		t.Errorf("scopes %v", k.Scopes)
	}
	// Neither the secret nor its hash is stored or serialised.
	var stored []byte
	db.read.QueryRow(`SELECT hash FROM api_keys WHERE id = ?`, k.ID).Scan(&stored)
	if !bytes.Equal(stored, HashAPIKey(secret)) {
		t.Error("stored hash is not SHA-256 of the secret")
	}
	raw, _ := os.ReadFile(db.Path())
	wal, _ := os.ReadFile(db.Path() + "-wal")
	if bytes.Contains(append(raw, wal...), []byte(secret)) {
		t.Error("secret found in the database file")
	}
	list, _ := db.APIKeys(ctx)
	b, _ := json.Marshal(list)
	if strings.Contains(string(b), secret) || strings.Contains(strings.ToLower(string(b)), "hash") {
		t.Errorf("key list JSON leaks: %s", b)
	}

	got, err := db.Authenticate(ctx, secret)
	if err != nil || got.ID != k.ID || got.LastUsed.IsZero() {
		t.Fatalf("Authenticate = %+v, %v", got, err)
	}
	if byHash, err := db.APIKeyByHash(ctx, HashAPIKey(secret)); err != nil || byHash.ID != k.ID {
		t.Errorf("APIKeyByHash = %+v %v", byHash, err)
	}
	for _, bad := range []string{"", "sy_nope", secret + "x", strings.ToUpper(secret)} {
		if _, err := db.Authenticate(ctx, bad); !errors.Is(err, switchyard.ErrUnauthorized) {
			t.Errorf("Authenticate(%q) = %v, want ErrUnauthorized", bad, err)
		}
	}
	// A mistyped character fails the checksum offline.
	typo := []byte(secret)
	typo[5] ^= 1
	if err := CheckAPIKeyFormat(string(typo)); err == nil {
		t.Error("checksum accepted a typo")
	}
	// Expiry.
	clk.add(2 * time.Hour)
	if _, err := db.Authenticate(ctx, secret); !errors.Is(err, switchyard.ErrUnauthorized) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired key: %v", err)
	}
	// Revocation is immediate.
	k2, s2, _ := db.CreateAPIKey(ctx, NewAPIKey{Name: "admin", Scopes: []string{"config:admin"}})
	if _, err := db.Authenticate(ctx, s2); err != nil {
		t.Fatal(err)
	}
	rk, err := db.RevokeAPIKey(ctx, k2.ID)
	if err != nil || rk.Revoked.IsZero() {
		t.Fatalf("revoke: %+v %v", rk, err)
	}
	if _, err := db.Authenticate(ctx, s2); !errors.Is(err, switchyard.ErrUnauthorized) || !strings.Contains(err.Error(), "revoked") {
		t.Errorf("revoked key: %v", err)
	}
	if _, err := db.RevokeAPIKey(ctx, 999); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("revoke unknown: %v", err)
	}
	// Imported secret (SWITCHYARD_ADMIN_KEY) and bad input.
	if _, _, err := db.CreateAPIKey(ctx, NewAPIKey{Name: "env", Scopes: []string{"config:admin"}, Secret: "an-admin-chosen-secret-value"}); err != nil {
		t.Errorf("import: %v", err)
	}
	if _, err := db.Authenticate(ctx, "an-admin-chosen-secret-value"); err != nil {
		t.Errorf("imported key: %v", err)
	}
	bad := []NewAPIKey{
		{Name: "", Scopes: []string{"search:read"}},
		{Name: "x", Scopes: nil},
		{Name: "x", Scopes: []string{"search read"}},
		{Name: "x", Scopes: []string{"search:read"}, Expires: clk.now().Add(-time.Second)},
		{Name: "x", Scopes: []string{"search:read"}, Secret: "short"},
		{Name: "x", Scopes: []string{"search:read"}, Secret: "an-admin-chosen-secret-value"},
	}
	before, _ := db.APIKeys(ctx)
	for _, nk := range bad {
		if _, _, err := db.CreateAPIKey(ctx, nk); err == nil {
			t.Errorf("CreateAPIKey(%+v) succeeded", nk)
		}
	}
	if after, _ := db.APIKeys(ctx); len(after) != len(before) {
		t.Errorf("bad input created keys: %d → %d", len(before), len(after))
	}
}

func TestTokens(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	dir := t.TempDir()
	path := filepath.Join(dir, "s.db")
	db, err := Open(path, WithTokenKey(key), WithTokenKeySetting("oauth.token_key"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	type token struct {
		AccessToken  string    `json:"access_token"`
		RefreshToken string    `json:"refresh_token"`
		Expiry       time.Time `json:"expiry"`
	}
	in := token{AccessToken: "access-SECRET-1", RefreshToken: "refresh-SECRET-1", Expiry: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	if err := db.SaveToken(ctx, "c", in); err != nil {
		t.Fatal(err)
	}
	in.RefreshToken = "refresh-SECRET-2" // rotation
	if err := db.SaveToken(ctx, "c", in); err != nil {
		t.Fatal(err)
	}
	var out token
	if err := db.LoadToken(ctx, "c", &out); err != nil || out != in {
		t.Fatalf("LoadToken = %+v, %v", out, err)
	}
	if ok, _ := db.HasToken(ctx, "c"); !ok {
		t.Error("HasToken false")
	}
	raw, _ := os.ReadFile(path)
	wal, _ := os.ReadFile(path + "-wal")
	if bytes.Contains(append(raw, wal...), []byte("SECRET")) {
		t.Error("token stored in clear")
	}
	// A sealed token moved to another connection's row does not open.
	db.SaveToken(ctx, "d", token{AccessToken: "other"})
	db.write.Exec(`UPDATE oauth_tokens SET sealed = (SELECT sealed FROM oauth_tokens WHERE conn = 'c') WHERE conn = 'd'`)
	if err := db.LoadToken(ctx, "d", &out); err == nil || !strings.Contains(err.Error(), "decrypt") {
		t.Errorf("swapped token: %v", err)
	}
	if err := db.DeleteToken(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if err := db.LoadToken(ctx, "c", &out); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("deleted token: %v", err)
	}

	// Another key cannot open it; no key is an error naming the setting.
	db.SaveToken(ctx, "c", in)
	db.Close()
	other, _ := Open(path, WithTokenKey(bytes.Repeat([]byte{8}, 32)))
	if err := other.LoadToken(ctx, "c", &out); err == nil || !strings.Contains(err.Error(), "token key changed") {
		t.Errorf("wrong key: %v", err)
	}
	other.Close()
	nokey, _ := Open(path, WithTokenKeySetting("oauth.token_key"))
	defer nokey.Close()
	err = nokey.SaveToken(ctx, "c", in)
	if !errors.Is(err, ErrNoTokenKey) || !strings.Contains(err.Error(), "oauth.token_key") {
		t.Errorf("save without key: %v", err)
	}
}

func TestOAuthState(t *testing.T) { eachDriver(t, testOAuthState) }

func testOAuthState(t *testing.T, openTest opener) {
	clk := newClock()
	db := openTest(t, WithClock(clk.now))
	ctx := context.Background()
	s, err := db.CreateOAuthState(ctx, "c", 10*time.Minute)
	if err != nil || len(s) < 20 {
		t.Fatalf("state %q, %v", s, err)
	}
	conn, err := db.ConsumeOAuthState(ctx, s)
	if err != nil || conn != "c" {
		t.Errorf("consume = %q, %v", conn, err)
	}
	if _, err := db.ConsumeOAuthState(ctx, s); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("reused state: %v", err)
	}
	s2, _ := db.CreateOAuthState(ctx, "c", time.Minute)
	clk.add(2 * time.Minute)
	if _, err := db.ConsumeOAuthState(ctx, s2); !errors.Is(err, switchyard.ErrInvalid) || !strings.Contains(err.Error(), "expired") {
		t.Errorf("expired state: %v", err)
	}
	if _, err := db.ConsumeOAuthState(ctx, "forged"); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("forged state: %v", err)
	}
}

func TestParseTokenKey(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	good := []string{"q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s=", "q6urq6urq6urq6urq6urq6urq6urq6urq6urq6urq6s", strings.Repeat("ab", 32)}
	for _, s := range good {
		if got, err := ParseTokenKey(s); err != nil || !bytes.Equal(got, key) {
			t.Errorf("ParseTokenKey(%q) = %x, %v", s, got, err)
		}
	}
	for _, s := range []string{"", "c2hvcnQ=", "not base64 !!", strings.Repeat("ab", 16)} {
		if _, err := ParseTokenKey(s); err == nil {
			t.Errorf("ParseTokenKey(%q) accepted", s)
		}
	}
}
