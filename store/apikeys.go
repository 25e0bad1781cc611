package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math/big"
	"regexp"
	"strings"
	"time"

	"switchyard"
)

// APIKey is a stored API key. It never holds the secret or its hash, so it is
// safe to log and to return from the API.
type APIKey struct {
	ID       int64     `json:"id"`
	Name     string    `json:"name"`
	Prefix   string    `json:"prefix"` // the secret's first characters, for recognising a key
	Scopes   []string  `json:"scopes"`
	Created  time.Time `json:"createdAt"`
	Expires  time.Time `json:"expiresAt,omitzero"`
	Revoked  time.Time `json:"revokedAt,omitzero"`
	LastUsed time.Time `json:"lastUsedAt,omitzero"`
	// AccountID is the Jira account the key acts as (keys create --as); ""
	// for a key that is no person, which cannot decide approvals.
	AccountID string `json:"accountId,omitempty"`
}

// HasScope reports whether the key carries scope.
func (k APIKey) HasScope(scope string) bool {
	for _, s := range k.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// Usable reports whether the key is neither revoked nor expired at now.
func (k APIKey) Usable(now time.Time) bool {
	return k.Revoked.IsZero() && (k.Expires.IsZero() || now.Before(k.Expires))
}

// NewAPIKey is what CreateAPIKey needs. Secret is normally empty (one is
// generated); set it only to import a key chosen elsewhere, such as
// SWITCHYARD_ADMIN_KEY.
type NewAPIKey struct {
	Name    string
	Scopes  []string
	Expires time.Time // zero: never
	Secret  string
	// AccountID binds the key to a Jira account id (the caller resolves and
	// checks it); "" = unbound.
	AccountID string
}

// Key secrets look like sy_<30 base62 random><6 base62 CRC-32>: the checksum
// lets a client or scanner reject a mistyped or truncated key offline.
const (
	keyPrefix    = "sy_"
	keyRandomLen = 30
	keyCheckLen  = 6
	keyShowLen   = len(keyPrefix) + 8
	base62       = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

var scopeRE = regexp.MustCompile(`^[a-z][a-z0-9_-]*:[a-z][a-z0-9_-]*$`)

func encode62(b []byte, n int) string {
	v := new(big.Int).SetBytes(b)
	out := make([]byte, n)
	m := big.NewInt(62)
	r := new(big.Int)
	for i := n - 1; i >= 0; i-- {
		v.QuoRem(v, m, r)
		out[i] = base62[r.Int64()]
	}
	return string(out)
}

func keyChecksum(s string) string {
	c := crc32.ChecksumIEEE([]byte(s))
	return encode62([]byte{byte(c >> 24), byte(c >> 16), byte(c >> 8), byte(c)}, keyCheckLen)
}

// GenerateAPIKeySecret returns a new random key secret in the sy_ format.
func GenerateAPIKeySecret() string {
	body := keyPrefix + encode62(randomBytes(24), keyRandomLen)
	return body + keyChecksum(body)
}

// CheckAPIKeyFormat reports whether secret is a well-formed sy_ key with a
// correct checksum. It does not say whether the key exists.
func CheckAPIKeyFormat(secret string) error {
	if !strings.HasPrefix(secret, keyPrefix) || len(secret) != len(keyPrefix)+keyRandomLen+keyCheckLen {
		return switchyard.Errorf(switchyard.ErrUnauthorized, "malformed API key: expected sy_ followed by %d characters", keyRandomLen+keyCheckLen)
	}
	for _, c := range secret[len(keyPrefix):] {
		if !strings.ContainsRune(base62, c) {
			return switchyard.Errorf(switchyard.ErrUnauthorized, "malformed API key: unexpected character %q", c)
		}
	}
	body := secret[:len(secret)-keyCheckLen]
	if keyChecksum(body) != secret[len(body):] {
		return switchyard.Errorf(switchyard.ErrUnauthorized, "malformed API key: checksum mismatch (mistyped or truncated?)")
	}
	return nil
}

// HashAPIKey is the SHA-256 the store keeps instead of the secret.
func HashAPIKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateAPIKey stores a new key and returns it with its secret, which is shown
// once and never stored: only its SHA-256 and a short prefix are kept.
func (db *DB) CreateAPIKey(ctx context.Context, nk NewAPIKey) (APIKey, string, error) {
	nk.Name = strings.TrimSpace(nk.Name)
	if nk.Name == "" || len(nk.Name) > 100 {
		return APIKey{}, "", fieldErr("name", "key name must be 1 to 100 characters, got %q", nk.Name)
	}
	if len(nk.Scopes) == 0 {
		return APIKey{}, "", fieldErr("scopes", "a key needs at least one scope")
	}
	seen := map[string]bool{}
	scopes := make([]string, 0, len(nk.Scopes))
	for _, s := range nk.Scopes {
		if !scopeRE.MatchString(s) {
			return APIKey{}, "", fieldErr("scopes", "invalid scope %q (expected resource:action, e.g. search:read)", s)
		}
		if !seen[s] {
			seen[s] = true
			scopes = append(scopes, s)
		}
	}
	now := db.now().UTC()
	if !nk.Expires.IsZero() && !nk.Expires.After(now) {
		return APIKey{}, "", fieldErr("expires", "expiry %s is not in the future", nk.Expires.UTC().Format(time.RFC3339))
	}
	secret := nk.Secret
	if secret == "" {
		secret = GenerateAPIKeySecret()
	} else if strings.HasPrefix(secret, keyPrefix) {
		if err := CheckAPIKeyFormat(secret); err != nil {
			return APIKey{}, "", fieldErr("secret", "%v", err)
		}
	} else if len(secret) < 24 || strings.ContainsAny(secret, " \t\r\n") {
		return APIKey{}, "", fieldErr("secret", "an imported key must be at least 24 characters without spaces")
	}
	nk.AccountID = strings.TrimSpace(nk.AccountID)
	if len(nk.AccountID) > 128 || strings.ContainsAny(nk.AccountID, " \t\r\n") {
		return APIKey{}, "", fieldErr("as", "%q is not a Jira account id", nk.AccountID)
	}
	k := APIKey{Name: nk.Name, Prefix: secret[:min(keyShowLen, len(secret)/3)], Scopes: scopes,
		Created: now.Truncate(time.Millisecond), Expires: nk.Expires.UTC().Truncate(time.Millisecond), AccountID: nk.AccountID}
	if nk.Expires.IsZero() {
		k.Expires = time.Time{}
	}
	sc, _ := json.Marshal(scopes)
	err := db.Tx(ctx, func(tx *Tx) error {
		// RETURNING rather than LastInsertId: PostgreSQL has no last insert id.
		err := tx.queryRow(ctx, `INSERT INTO api_keys (name, prefix, hash, scopes, created_ms, expires_ms, account_id) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			k.Name, k.Prefix, HashAPIKey(secret), string(sc), ms(k.Created), ms(k.Expires), k.AccountID).Scan(&k.ID)
		if isUniqueViolation(err) {
			return switchyard.Errorf(switchyard.ErrConflict, "that key secret is already stored")
		}
		return tx.db.wrap("create key", err)
	})
	if err != nil {
		return APIKey{}, "", err
	}
	return k, secret, nil
}

const keyCols = `id, name, prefix, scopes, created_ms, expires_ms, revoked_ms, last_used_ms, account_id`

func scanKey(row interface{ Scan(...any) error }) (APIKey, error) {
	var k APIKey
	var scopes string
	var created, expires, revoked, used int64
	if err := row.Scan(&k.ID, &k.Name, &k.Prefix, &scopes, &created, &expires, &revoked, &used, &k.AccountID); err != nil {
		return k, err
	}
	k.Created, k.Expires, k.Revoked, k.LastUsed = fromMS(created), fromMS(expires), fromMS(revoked), fromMS(used)
	err := json.Unmarshal([]byte(scopes), &k.Scopes)
	return k, err
}

// APIKeyByHash returns the key with that SHA-256, revoked or not, or ErrNotFound.
func (db *DB) APIKeyByHash(ctx context.Context, hash []byte) (APIKey, error) {
	k, err := scanKey(db.queryRow(ctx, `SELECT `+keyCols+` FROM api_keys WHERE hash = ?`, hash))
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("no such API key")
	}
	if err != nil {
		return k, db.wrap("api key", err)
	}
	return k, nil
}

// APIKey returns the key with that id, or ErrNotFound.
func (db *DB) APIKey(ctx context.Context, id int64) (APIKey, error) {
	k, err := scanKey(db.queryRow(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return k, notFound("no API key with id %d", id)
	}
	if err != nil {
		return k, db.wrap("api key", err)
	}
	return k, nil
}

// Authenticate resolves a presented secret to its key. Unknown, revoked and
// expired keys are ErrUnauthorized; revocation takes effect immediately
// because every call reads the database. It records the last use at most
// once a minute per key.
func (db *DB) Authenticate(ctx context.Context, secret string) (APIKey, error) {
	if secret == "" {
		return APIKey{}, switchyard.Errorf(switchyard.ErrUnauthorized, "missing API key")
	}
	k, err := db.APIKeyByHash(ctx, HashAPIKey(secret))
	if errors.Is(err, switchyard.ErrNotFound) {
		return APIKey{}, switchyard.Errorf(switchyard.ErrUnauthorized, "invalid API key")
	}
	if err != nil {
		return APIKey{}, err
	}
	now := db.now().UTC()
	if !k.Revoked.IsZero() {
		return APIKey{}, switchyard.Errorf(switchyard.ErrUnauthorized, "API key %s was revoked", k.Prefix)
	}
	if !k.Expires.IsZero() && !now.Before(k.Expires) {
		return APIKey{}, switchyard.Errorf(switchyard.ErrUnauthorized, "API key %s expired at %s", k.Prefix, k.Expires.Format(time.RFC3339))
	}
	if err := db.TouchAPIKey(ctx, k.ID, now); err != nil {
		return APIKey{}, err
	}
	k.LastUsed = now.Truncate(time.Millisecond)
	return k, nil
}

// TouchAPIKey records a use of the key; writes are throttled to one per key per
// minute so authentication does not turn every request into a write.
func (db *DB) TouchAPIKey(ctx context.Context, id int64, at time.Time) error {
	db.touchMu.Lock()
	last, ok := db.touched[id]
	if ok && at.Sub(last) < time.Minute {
		db.touchMu.Unlock()
		return nil
	}
	db.touched[id] = at
	db.touchMu.Unlock()
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `UPDATE api_keys SET last_used_ms = MAX(last_used_ms, ?) WHERE id = ?`, at.UnixMilli(), id)
		return err
	})
}

// APIKeys lists every key, newest first (revoked ones included, marked).
func (db *DB) APIKeys(ctx context.Context) ([]APIKey, error) {
	rows, err := db.query(ctx, `SELECT `+keyCols+` FROM api_keys ORDER BY id DESC`)
	if err != nil {
		return nil, db.wrap("api keys", err)
	}
	defer rows.Close()
	out := []APIKey{}
	for rows.Next() {
		k, err := scanKey(rows)
		if err != nil {
			return nil, db.wrap("api keys", err)
		}
		out = append(out, k)
	}
	return out, db.wrap("api keys", rows.Err())
}

// RevokeAPIKey revokes a key at once. Revoking a revoked key keeps the first
// revocation time; an unknown id is ErrNotFound.
func (db *DB) RevokeAPIKey(ctx context.Context, id int64) (APIKey, error) {
	err := db.Tx(ctx, func(tx *Tx) error {
		res, err := tx.exec(ctx, `UPDATE api_keys SET revoked_ms = CASE WHEN revoked_ms = 0 THEN ? ELSE revoked_ms END WHERE id = ?`,
			tx.now.UnixMilli(), id)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return notFound("no API key with id %d", id)
		}
		return nil
	})
	if err != nil {
		return APIKey{}, err
	}
	return db.APIKey(ctx, id)
}

// String never prints secrets (APIKey has none) but keeps log lines short.
func (k APIKey) String() string {
	return fmt.Sprintf("key %d %q (%s…)", k.ID, k.Name, k.Prefix)
}
