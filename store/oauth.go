package store

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"switchyard"
)

// ErrNoTokenKey is returned when an OAuth token is saved or loaded without a
// token key (see WithTokenKey).
var ErrNoTokenKey = errors.New("no OAuth token encryption key configured")

// ParseTokenKey decodes a token key given in configuration: 32 bytes as
// base64 (standard or URL, padded or not) or as 64 hex digits.
func ParseTokenKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("token key is empty")
	}
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("token key decodes to %d bytes, want 32 (generate one with `openssl rand -base64 32`)", len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("token key is neither base64 nor 64 hex digits")
}

func (db *DB) gcm() (cipher.AEAD, error) {
	if len(db.tokenKey) == 0 {
		return nil, fmt.Errorf("%w: set %s to 32 random bytes (base64 or hex), e.g. from `openssl rand -base64 32`", ErrNoTokenKey, db.tokenKeySetting)
	}
	block, err := aes.NewCipher(db.tokenKey)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// SaveToken stores a connection's OAuth token (any JSON-encodable value, such
// as *oauth2.Token) sealed with AES-256-GCM. The connection name is the
// additional data, so a sealed token copied to another connection's row does
// not open. One statement: the rotated refresh token is durable before the
// caller goes on to use the new access token.
func (db *DB) SaveToken(ctx context.Context, conn string, token any) error {
	if err := validConn(conn); err != nil {
		return err
	}
	aead, err := db.gcm()
	if err != nil {
		return fmt.Errorf("save token for %s: %w", conn, err)
	}
	plain, err := json.Marshal(token)
	if err != nil {
		return fmt.Errorf("save token for %s: %w", conn, err)
	}
	nonce := randomBytes(aead.NonceSize())
	sealed := aead.Seal(nonce, nonce, plain, []byte("switchyard-oauth-token:"+conn))
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `INSERT INTO oauth_tokens (conn, sealed, updated_ms) VALUES (?, ?, ?)
			ON CONFLICT (conn) DO UPDATE SET sealed = excluded.sealed, updated_ms = excluded.updated_ms`,
			conn, sealed, tx.now.UnixMilli())
		return err
	})
}

// LoadToken opens a connection's stored token into into (a pointer). No token
// is ErrNotFound; a token sealed under another key is an error that says so.
func (db *DB) LoadToken(ctx context.Context, conn string, into any) error {
	aead, err := db.gcm()
	if err != nil {
		return fmt.Errorf("load token for %s: %w", conn, err)
	}
	var sealed []byte
	err = db.queryRow(ctx, `SELECT sealed FROM oauth_tokens WHERE conn = ?`, conn).Scan(&sealed)
	if errors.Is(err, sql.ErrNoRows) {
		return notFound("no OAuth token stored for connection %q", conn)
	}
	if err != nil {
		return db.wrap("load token", err)
	}
	n := aead.NonceSize()
	if len(sealed) < n {
		return fmt.Errorf("load token for %s: stored token is truncated", conn)
	}
	plain, err := aead.Open(nil, sealed[:n], sealed[n:], []byte("switchyard-oauth-token:"+conn))
	if err != nil {
		return fmt.Errorf("load token for %s: cannot decrypt (was the token key changed?): %w", conn, err)
	}
	if err := json.Unmarshal(plain, into); err != nil {
		return fmt.Errorf("load token for %s: %w", conn, err)
	}
	return nil
}

// HasToken reports whether a token is stored for the connection (no key needed).
func (db *DB) HasToken(ctx context.Context, conn string) (bool, error) {
	var n int
	if err := db.queryRow(ctx, `SELECT COUNT(*) FROM oauth_tokens WHERE conn = ?`, conn).Scan(&n); err != nil {
		return false, db.wrap("has token", err)
	}
	return n > 0, nil
}

// DeleteToken removes a connection's token (disconnect). No token is not an error.
func (db *DB) DeleteToken(ctx context.Context, conn string) error {
	return db.Tx(ctx, func(tx *Tx) error {
		_, err := tx.exec(ctx, `DELETE FROM oauth_tokens WHERE conn = ?`, conn)
		return err
	})
}

// CreateOAuthState returns a new random OAuth state value for conn, valid for ttl.
func (db *DB) CreateOAuthState(ctx context.Context, conn string, ttl time.Duration) (string, error) {
	if err := validConn(conn); err != nil {
		return "", err
	}
	if ttl <= 0 {
		return "", fieldErr("ttl", "state lifetime must be positive, got %s", ttl)
	}
	state := base64.RawURLEncoding.EncodeToString(randomBytes(24))
	err := db.Tx(ctx, func(tx *Tx) error {
		now := tx.now.UnixMilli()
		if _, err := tx.exec(ctx, `DELETE FROM oauth_states WHERE expires_ms <= ?`, now); err != nil {
			return err
		}
		_, err := tx.exec(ctx, `INSERT INTO oauth_states (state, conn, created_ms, expires_ms) VALUES (?, ?, ?, ?)`,
			state, conn, now, now+ttl.Milliseconds())
		return err
	})
	return state, err
}

// ConsumeOAuthState checks a state value once: it returns the connection it
// was created for and deletes it. Unknown, reused and expired values are
// ErrInvalid.
func (db *DB) ConsumeOAuthState(ctx context.Context, state string) (string, error) {
	var conn string
	err := db.Tx(ctx, func(tx *Tx) error {
		var expires int64
		err := tx.queryRow(ctx, `DELETE FROM oauth_states WHERE state = ? RETURNING conn, expires_ms`, state).Scan(&conn, &expires)
		if errors.Is(err, sql.ErrNoRows) {
			return switchyard.FieldErrorf(switchyard.ErrInvalid, "state", "unknown or already used OAuth state")
		}
		if err != nil {
			return tx.db.wrap("consume oauth state", err)
		}
		if expires <= tx.now.UnixMilli() {
			conn = ""
			return switchyard.FieldErrorf(switchyard.ErrInvalid, "state", "OAuth state expired; start the connection again")
		}
		return nil
	})
	if err != nil {
		return "", err // expired rows are pruned by CreateOAuthState
	}
	return conn, nil
}
