package api

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"math/big"
	"strings"
	"time"

	"switchyard"
)

// Scopes an API key can carry.
const (
	ScopeTicketIngest    = "ticket:ingest"
	ScopeSearchRead      = "search:read"
	ScopeApprovalsDecide = "approvals:decide"
	ScopeSyncAdmin       = "sync:admin"
	ScopeConfigAdmin     = "config:admin"
	ScopeAuditRead       = "audit:read"
)

// AllScopes lists every scope; an admin key carries all of them.
var AllScopes = []string{ScopeTicketIngest, ScopeSearchRead, ScopeApprovalsDecide, ScopeSyncAdmin, ScopeConfigAdmin, ScopeAuditRead}

// ValidateScopes checks scope names, naming the first unknown one.
func ValidateScopes(scopes []string) error {
	if len(scopes) == 0 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "scopes", "at least one scope is required (one of %s)", strings.Join(AllScopes, ", "))
	}
	for _, s := range scopes {
		ok := false
		for _, a := range AllScopes {
			ok = ok || s == a
		}
		if !ok {
			return switchyard.FieldErrorf(switchyard.ErrInvalid, "scopes", "%q is not one of %s", s, strings.Join(AllScopes, ", "))
		}
	}
	return nil
}

// Key is what the server knows of an API key: never the secret itself.
type Key struct {
	ID        string
	Name      string
	Scopes    []string
	ExpiresAt time.Time // zero: never
	Revoked   bool
}

func (k Key) has(scope string) bool {
	for _, s := range k.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

const (
	keyPrefix     = "sy_"
	keyBodyLen    = 32 // base62 characters of randomness (~190 bits)
	keyChecksumLn = 6
	base62        = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
)

// NewKeySecret returns a fresh key "sy_<32 random base62><6 base62 CRC32>". The
// checksum lets the server (and secret scanners) reject typos and non-keys
// without a database lookup.
func NewKeySecret() (string, error) {
	var b strings.Builder
	b.WriteString(keyPrefix)
	max := big.NewInt(int64(len(base62)))
	for i := 0; i < keyBodyLen; i++ {
		n, err := rand.Int(rand.Reader, max)
		if err != nil {
			return "", fmt.Errorf("generate key: %w", err)
		}
		b.WriteByte(base62[n.Int64()])
	}
	body := b.String()[len(keyPrefix):]
	b.WriteString(checksum(body))
	return b.String(), nil
}

func checksum(body string) string {
	c := crc32.ChecksumIEEE([]byte(body))
	out := make([]byte, keyChecksumLn)
	for i := keyChecksumLn - 1; i >= 0; i-- {
		out[i] = base62[c%62]
		c /= 62
	}
	return string(out)
}

// WellFormedKey reports whether s has the key shape and a valid checksum.
func WellFormedKey(s string) bool {
	if !strings.HasPrefix(s, keyPrefix) || len(s) != len(keyPrefix)+keyBodyLen+keyChecksumLn {
		return false
	}
	rest := s[len(keyPrefix):]
	for i := 0; i < len(rest); i++ {
		if strings.IndexByte(base62, rest[i]) < 0 {
			return false
		}
	}
	return checksum(rest[:keyBodyLen]) == rest[keyBodyLen:]
}

// HashKey is how keys are stored and looked up: SHA-256, hex. Keys carry ~190
// bits of randomness, so a fast hash is enough (no password stretching needed).
func HashKey(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// KeyDisplayPrefix is the non-secret part shown in listings ("sy_AbC1…").
func KeyDisplayPrefix(secret string) string {
	if len(secret) < len(keyPrefix)+4 {
		return keyPrefix
	}
	return secret[:len(keyPrefix)+4]
}
