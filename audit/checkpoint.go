package audit

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// Checkpoint commits to the chain's head at a size: whoever holds a signed
// checkpoint can later prove the chain still contains that head at that
// position, which catches truncation and rewrites that Verify alone cannot.
type Checkpoint struct {
	Size      int64     `json:"size"`
	HeadHash  string    `json:"headHash"`
	Time      time.Time `json:"time"`
	KeyID     string    `json:"keyId,omitempty"` // hex of the first 8 bytes of SHA-256(public key)
	Signature []byte    `json:"signature"`       // Ed25519 over SignedMessage
}

// SignedMessage is the exact byte string a checkpoint's signature covers.
func (cp Checkpoint) SignedMessage() []byte {
	return []byte("switchyard-audit-checkpoint-v1\n" +
		strconv.FormatInt(cp.Size, 10) + "\n" +
		cp.HeadHash + "\n" +
		strconv.FormatInt(cp.Time.UnixMilli(), 10) + "\n")
}

// KeyID names a public key briefly (for choosing among keys, not for trust).
func KeyID(pub ed25519.PublicKey) string {
	s := sha256.Sum256(pub)
	return hex.EncodeToString(s[:8])
}

// SignCheckpoint signs the chain's current head. It verifies the chain first:
// signing a broken chain would vouch for tampering.
func (c *Chain) SignCheckpoint(ctx context.Context, priv ed25519.PrivateKey) (Checkpoint, error) {
	if len(priv) != ed25519.PrivateKeySize {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: private key is %d bytes, want %d", len(priv), ed25519.PrivateKeySize)
	}
	res, err := c.Verify(ctx)
	if err != nil {
		return Checkpoint{}, err
	}
	if !res.OK {
		return Checkpoint{}, fmt.Errorf("sign checkpoint: chain does not verify at record %d: %s", res.FirstBad, res.Reason)
	}
	cp := Checkpoint{
		Size:     res.Records,
		HeadHash: res.HeadHash,
		Time:     c.now().UTC().Truncate(time.Millisecond),
		KeyID:    KeyID(priv.Public().(ed25519.PublicKey)),
	}
	cp.Signature = ed25519.Sign(priv, cp.SignedMessage())
	return cp, nil
}

// ErrBadSignature means a checkpoint's signature does not verify.
var ErrBadSignature = errors.New("audit checkpoint signature does not verify")

// VerifyCheckpoint checks a checkpoint's signature with pub.
func VerifyCheckpoint(pub ed25519.PublicKey, cp Checkpoint) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("verify checkpoint: public key is %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	if !ed25519.Verify(pub, cp.SignedMessage(), cp.Signature) {
		return ErrBadSignature
	}
	return nil
}

// VerifyAgainst verifies the chain and that it still holds cp's head hash at
// cp's size. Check cp's signature first with VerifyCheckpoint.
func (c *Chain) VerifyAgainst(ctx context.Context, cp Checkpoint) (VerifyResult, error) {
	res, err := c.Verify(ctx)
	if err != nil || !res.OK {
		return res, err
	}
	if cp.Size <= 0 {
		return res, nil
	}
	if res.Records < cp.Size {
		return VerifyResult{Records: res.Records, FirstBad: res.Records + 1,
			Reason: fmt.Sprintf("the chain has %d records but the checkpoint of %s covers %d: records %d to %d were removed",
				res.Records, cp.Time.Format(time.RFC3339), cp.Size, res.Records+1, cp.Size)}, nil
	}
	recs, err := c.store.AuditRecords(ctx, cp.Size, 1)
	if err != nil {
		return VerifyResult{}, fmt.Errorf("audit verify against checkpoint: %w", err)
	}
	if len(recs) == 0 || recs[0].Seq != cp.Size || recs[0].Hash != cp.HeadHash {
		return VerifyResult{Records: res.Records, FirstBad: cp.Size,
			Reason: fmt.Sprintf("record %d differs from the checkpoint of %s: the chain was rewritten up to there", cp.Size, cp.Time.Format(time.RFC3339))}, nil
	}
	return res, nil
}

// WriteCheckpointFile writes cp as JSON to path atomically (temporary file,
// fsync, rename), so a reader never sees a half-written checkpoint.
func WriteCheckpointFile(path string, cp Checkpoint) error {
	b, err := json.MarshalIndent(cp, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	if err := os.Chmod(tmp, 0o644); err != nil {
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("write checkpoint %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// ReadCheckpointFile reads a checkpoint written by WriteCheckpointFile.
func ReadCheckpointFile(path string) (Checkpoint, error) {
	var cp Checkpoint
	b, err := os.ReadFile(path)
	if err != nil {
		return cp, fmt.Errorf("read checkpoint: %w", err)
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cp); err != nil {
		return cp, switchyard.Errorf(switchyard.ErrInvalid, "read checkpoint %s: %v", path, err)
	}
	return cp, nil
}

// ParsePrivateKey decodes an Ed25519 private key given as base64 (standard or
// URL, padded or not) or hex, of either the 32-byte seed or the 64-byte key.
func ParsePrivateKey(s string) (ed25519.PrivateKey, error) {
	b, err := decodeKey(s)
	if err != nil {
		return nil, fmt.Errorf("audit signing key: %w", err)
	}
	switch len(b) {
	case ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case ed25519.PrivateKeySize:
		priv := ed25519.PrivateKey(b)
		// The second half must be the seed's public key, or signatures lie.
		if !ed25519.NewKeyFromSeed(priv.Seed()).Equal(priv) {
			return nil, fmt.Errorf("audit signing key: 64-byte key is inconsistent")
		}
		return priv, nil
	}
	return nil, fmt.Errorf("audit signing key: %d bytes, want a 32-byte seed or a 64-byte key", len(b))
}

// ParsePublicKey decodes a 32-byte Ed25519 public key given as base64 or hex.
func ParsePublicKey(s string) (ed25519.PublicKey, error) {
	b, err := decodeKey(s)
	if err != nil {
		return nil, fmt.Errorf("audit public key: %w", err)
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("audit public key: %d bytes, want %d", len(b), ed25519.PublicKeySize)
	}
	return ed25519.PublicKey(b), nil
}

func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty key")
	}
	if b, err := hex.DecodeString(s); err == nil && (len(b) == 32 || len(b) == 64) {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not base64 or hex")
}
