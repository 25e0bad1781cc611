// Package audit is Switchyard's tamper-evident log: an append-only SHA-256
// hash chain of every step of a ticket's run, verifiable end to end, with
// Ed25519-signed checkpoints so that the chain can be checked from outside
// (truncation and wholesale rewrites are only detectable against one).
//
// The package holds the logic; storage is the small Store interface, which
// the store package implements on SQLite.
package audit

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// Record types written by Switchyard. Others may be added; a type is a short
// lowercase word.
const (
	TypeIngest    = "ingest"
	TypeClassify  = "classify"
	TypeNotify    = "notify"
	TypeDecision  = "decision"
	TypeExecute   = "execute"
	TypeWriteback = "writeback"
)

// GenesisHash is the previous hash of record 1.
var GenesisHash = strings.Repeat("0", 64)

// Record is one link of the chain. Hash covers every other field, with the
// payload through PayloadHash; PrevHash is the Hash of record Seq-1.
type Record struct {
	Seq         int64           `json:"seq"`
	Time        time.Time       `json:"time"` // UTC, millisecond precision
	Type        string          `json:"type"`
	Actor       string          `json:"actor"`
	Subject     string          `json:"subject"`
	Payload     json.RawMessage `json:"payload"` // canonical JSON
	PayloadHash string          `json:"payloadHash"`
	PrevHash    string          `json:"prevHash"`
	Hash        string          `json:"hash"`
}

// ComputeHash returns the SHA-256 of the record's canonical encoding: every
// field but Hash and Payload (covered by PayloadHash), each length-prefixed so
// that no two different records encode alike.
func (r Record) ComputeHash() string {
	h := sha256.New()
	for _, f := range []string{
		"switchyard-audit-v1",
		strconv.FormatInt(r.Seq, 10),
		strconv.FormatInt(r.Time.UnixMilli(), 10),
		r.Type, r.Actor, r.Subject, r.PayloadHash, r.PrevHash,
	} {
		fmt.Fprintf(h, "%d:%s,", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// PayloadHash returns the hex SHA-256 of canonical payload bytes.
func PayloadHash(canonical []byte) string {
	s := sha256.Sum256(canonical)
	return hex.EncodeToString(s[:])
}

// CanonicalJSON encodes v as JSON with object keys sorted and numbers kept
// exactly as written, so that equal payloads hash equally whatever Go type
// (struct or map) carried them.
func CanonicalJSON(v any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	return json.Marshal(x)
}

// Store keeps the records. AppendAudit must run next with the current last
// record (the zero Record when the chain is empty) and store its result
// atomically, serialized against every other append, so that the chain never
// forks. AuditRecords returns up to limit records with Seq >= from in Seq
// order. AuditHead returns the last record (zero when empty).
type Store interface {
	AppendAudit(ctx context.Context, next func(prev Record) (Record, error)) (Record, error)
	AuditRecords(ctx context.Context, from int64, limit int) ([]Record, error)
	AuditHead(ctx context.Context) (Record, error)
}

// Entry is what a caller appends.
type Entry struct {
	Type    string
	Actor   string // who: an account id, email, API key name, "system"
	Subject string // what: an issue key, "run:42"
	Payload any    // JSON-encodable details
}

// Chain appends to and verifies one hash chain.
type Chain struct {
	store Store
	now   func() time.Time
}

// Option configures a Chain.
type Option func(*Chain)

// WithClock replaces the clock (tests).
func WithClock(now func() time.Time) Option { return func(c *Chain) { c.now = now } }

// New returns a chain stored in s.
func New(s Store, opts ...Option) *Chain {
	c := &Chain{store: s, now: time.Now}
	for _, o := range opts {
		o(c)
	}
	return c
}

var typeRE = regexp.MustCompile(`^[a-z][a-z0-9_.-]{0,63}$`)

// Append adds an entry at the end of the chain and returns its record.
func (c *Chain) Append(ctx context.Context, e Entry) (Record, error) {
	if !typeRE.MatchString(e.Type) {
		return Record{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "type", "invalid audit record type %q (lowercase word, e.g. %s)", e.Type, TypeDecision)
	}
	if strings.TrimSpace(e.Actor) == "" {
		return Record{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "actor", "audit record %s needs an actor", e.Type)
	}
	payload, err := CanonicalJSON(e.Payload)
	if err != nil {
		return Record{}, fmt.Errorf("audit %s: payload: %w", e.Type, err)
	}
	ph := PayloadHash(payload)
	rec, err := c.store.AppendAudit(ctx, func(prev Record) (Record, error) {
		r := Record{
			Seq:         prev.Seq + 1,
			Time:        c.now().UTC().Truncate(time.Millisecond),
			Type:        e.Type,
			Actor:       e.Actor,
			Subject:     e.Subject,
			Payload:     payload,
			PayloadHash: ph,
			PrevHash:    prev.Hash,
		}
		if prev.Seq == 0 {
			r.PrevHash = GenesisHash
		}
		r.Hash = r.ComputeHash()
		return r, nil
	})
	if err != nil {
		return Record{}, fmt.Errorf("audit append %s: %w", e.Type, err)
	}
	return rec, nil
}

// List returns up to limit records starting at sequence from (1 = first).
func (c *Chain) List(ctx context.Context, from int64, limit int) ([]Record, error) {
	if from < 1 {
		from = 1
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return c.store.AuditRecords(ctx, from, limit)
}

// Head returns the last record (the zero Record when the chain is empty).
func (c *Chain) Head(ctx context.Context) (Record, error) {
	return c.store.AuditHead(ctx)
}

// VerifyResult is the outcome of a verification. FirstBad is the first
// sequence number that does not verify (0 when OK).
type VerifyResult struct {
	OK       bool   `json:"ok"`
	Records  int64  `json:"records"` // records checked and found good
	FirstBad int64  `json:"firstBad,omitempty"`
	Reason   string `json:"reason,omitempty"`
	HeadHash string `json:"headHash,omitempty"`
}

func bad(good, seq int64, format string, args ...any) VerifyResult {
	return VerifyResult{Records: good, FirstBad: seq, Reason: fmt.Sprintf(format, args...)}
}

const verifyPage = 1000

// Verify checks the whole chain: consecutive sequence numbers from 1, each
// payload against its hash, each record's hash against its contents, and each
// link to the previous record. It names the first bad sequence number. A
// truncated tail or a wholesale rewrite only shows against a checkpoint
// (VerifyAgainst).
func (c *Chain) Verify(ctx context.Context) (VerifyResult, error) {
	prevHash := GenesisHash
	var good int64
	next := int64(1)
	// The first page starts below 1 so that a row slipped in before the
	// first record is seen too.
	from := int64(math.MinInt64)
	for {
		recs, err := c.store.AuditRecords(ctx, from, verifyPage)
		if err != nil {
			return VerifyResult{}, fmt.Errorf("audit verify: %w", err)
		}
		for _, r := range recs {
			switch {
			case r.Seq < 1:
				return bad(good, 1, "unexpected record with sequence %d before record 1 (inserted)", r.Seq), nil
			case r.Seq != next:
				return bad(good, next, "record %d is missing (the next stored record is %d)", next, r.Seq), nil
			case r.PrevHash != prevHash:
				return bad(good, r.Seq, "record %d does not link to record %d (previous hash mismatch): a record was changed, removed, inserted or reordered", r.Seq, r.Seq-1), nil
			case PayloadHash(r.Payload) != r.PayloadHash:
				return bad(good, r.Seq, "record %d: payload does not match its payload hash (payload changed)", r.Seq), nil
			case r.ComputeHash() != r.Hash:
				return bad(good, r.Seq, "record %d: hash does not match its contents (a field was changed)", r.Seq), nil
			}
			prevHash = r.Hash
			good++
			next++
		}
		if len(recs) < verifyPage {
			break
		}
		from = next
	}
	if good == 0 {
		prevHash = ""
	}
	return VerifyResult{OK: true, Records: good, HeadHash: prevHash}, nil
}
