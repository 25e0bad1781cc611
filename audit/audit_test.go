package audit_test

import (
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard"
	"switchyard/audit"
	"switchyard/store"
)

// newChain opens a real SQLite store and returns the chain on it with n
// records appended, and a raw connection to the same file for tampering.
func newChain(t *testing.T, n int) (*audit.Chain, *sql.DB, *store.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "audit.db")
	db, err := store.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	raw, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	tick := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	c := audit.New(db, audit.WithClock(func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		tick = tick.Add(1500 * time.Microsecond)
		return tick
	}))
	ctx := context.Background()
	types := []string{audit.TypeIngest, audit.TypeClassify, audit.TypeNotify, audit.TypeDecision, audit.TypeExecute, audit.TypeWriteback}
	for i := 1; i <= n; i++ {
		_, err := c.Append(ctx, audit.Entry{Type: types[i%len(types)], Actor: "system", Subject: fmt.Sprintf("ITSM-%d", i),
			Payload: map[string]any{"run": i, "note": "step " + fmt.Sprint(i)}})
		if err != nil {
			t.Fatal(err)
		}
	}
	return c, raw, db
}

func mustExec(t *testing.T, db *sql.DB, q string, args ...any) {
	t.Helper()
	if _, err := db.Exec(q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestAppendAndVerify(t *testing.T) {
	c, _, _ := newChain(t, 10)
	ctx := context.Background()
	res, err := c.Verify(ctx)
	if err != nil || !res.OK || res.Records != 10 || res.FirstBad != 0 {
		t.Fatalf("Verify = %+v, %v", res, err)
	}
	recs, err := c.List(ctx, 1, 100)
	if err != nil || len(recs) != 10 {
		t.Fatalf("List = %d, %v", len(recs), err)
	}
	if recs[0].PrevHash != audit.GenesisHash || res.HeadHash != recs[9].Hash {
		t.Errorf("genesis %q head %q last %q", recs[0].PrevHash, res.HeadHash, recs[9].Hash)
	}
	for i, r := range recs {
		if r.Seq != int64(i+1) || (i > 0 && r.PrevHash != recs[i-1].Hash) || r.Time.Location() != time.UTC || r.Time.Nanosecond()%int(time.Millisecond) != 0 {
			t.Errorf("record %d: %+v", i+1, r)
		}
	}
	if page, _ := c.List(ctx, 4, 3); len(page) != 3 || page[0].Seq != 4 {
		t.Errorf("List(4, 3) = %+v", page)
	}
	head, _ := c.Head(ctx)
	if head.Seq != 10 {
		t.Errorf("Head = %+v", head)
	}
	// An empty chain verifies.
	empty, _, _ := newChain(t, 0)
	if res, err := empty.Verify(ctx); err != nil || !res.OK || res.Records != 0 {
		t.Errorf("empty chain: %+v %v", res, err)
	}
}

func TestAppendRejectsBadEntries(t *testing.T) {
	c, _, _ := newChain(t, 2)
	ctx := context.Background()
	bad := []audit.Entry{
		{Type: "", Actor: "a"},
		{Type: "Bad Type", Actor: "a"},
		{Type: "ingest", Actor: " "},
		{Type: "ingest", Actor: "a", Payload: make(chan int)},
	}
	for _, e := range bad {
		if _, err := c.Append(ctx, e); err == nil {
			t.Errorf("Append(%+v) succeeded", e)
		}
	}
	if _, err := c.Append(ctx, audit.Entry{Type: "", Actor: "a"}); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("empty type: %v, want ErrInvalid", err)
	}
	if res, _ := c.Verify(ctx); !res.OK || res.Records != 2 {
		t.Errorf("bad entries changed the chain: %+v", res)
	}
}

func TestTamperingDetectedAtTheRightRow(t *testing.T) {
	tests := []struct {
		name     string
		tamper   func(t *testing.T, raw *sql.DB, recs []audit.Record)
		firstBad int64
		reason   string
	}{
		{"payload changed", func(t *testing.T, raw *sql.DB, _ []audit.Record) {
			mustExec(t, raw, `UPDATE audit_log SET payload = '{"note":"step 4","run":400}' WHERE seq = 4`)
		}, 4, "payload"},
		{"payload and its hash changed", func(t *testing.T, raw *sql.DB, _ []audit.Record) {
			p := []byte(`{"note":"forged","run":5}`)
			mustExec(t, raw, `UPDATE audit_log SET payload = ?, payload_hash = ? WHERE seq = 5`, string(p), audit.PayloadHash(p))
		}, 5, "hash does not match"},
		{"actor changed", func(t *testing.T, raw *sql.DB, _ []audit.Record) {
			mustExec(t, raw, `UPDATE audit_log SET actor = 'mallory' WHERE seq = 6`)
		}, 6, "field"},
		{"type changed", func(t *testing.T, raw *sql.DB, _ []audit.Record) {
			mustExec(t, raw, `UPDATE audit_log SET type = 'decision' WHERE seq = 2`)
		}, 2, "field"},
		{"time changed", func(t *testing.T, raw *sql.DB, _ []audit.Record) {
			mustExec(t, raw, `UPDATE audit_log SET time_ms = time_ms - 86400000 WHERE seq = 3`)
		}, 3, "field"},
		{"subject changed with the hash recomputed", func(t *testing.T, raw *sql.DB, recs []audit.Record) {
			r := recs[6] // seq 7
			r.Subject = "HR-1"
			mustExec(t, raw, `UPDATE audit_log SET subject = ?, hash = ? WHERE seq = 7`, r.Subject, r.ComputeHash())
		}, 8, "does not link"},
		{"rows reordered", func(t *testing.T, raw *sql.DB, _ []audit.Record) {
			mustExec(t, raw, `UPDATE audit_log SET seq = -1 WHERE seq = 3`)
			mustExec(t, raw, `UPDATE audit_log SET seq = 3 WHERE seq = 7`)
			mustExec(t, raw, `UPDATE audit_log SET seq = 7 WHERE seq = -1`)
		}, 3, "does not link"},
		{"row deleted", func(t *testing.T, raw *sql.DB, _ []audit.Record) {
			mustExec(t, raw, `DELETE FROM audit_log WHERE seq = 5`)
		}, 5, "missing"},
		{"first row deleted", func(t *testing.T, raw *sql.DB, _ []audit.Record) {
			mustExec(t, raw, `DELETE FROM audit_log WHERE seq = 1`)
		}, 1, "missing"},
		{"row inserted in the middle, forged to link", func(t *testing.T, raw *sql.DB, recs []audit.Record) {
			for s := 10; s >= 5; s-- {
				mustExec(t, raw, `UPDATE audit_log SET seq = seq + 1 WHERE seq = ?`, s)
			}
			p := []byte(`{"forged":true}`)
			f := audit.Record{Seq: 5, Time: recs[3].Time, Type: "decision", Actor: "mallory", Subject: "ITSM-5",
				Payload: p, PayloadHash: audit.PayloadHash(p), PrevHash: recs[3].Hash}
			f.Hash = f.ComputeHash()
			mustExec(t, raw, `INSERT INTO audit_log (seq, time_ms, type, actor, subject, payload, payload_hash, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				f.Seq, f.Time.UnixMilli(), f.Type, f.Actor, f.Subject, string(f.Payload), f.PayloadHash, f.PrevHash, f.Hash)
		}, 6, "does not link"},
		{"row appended with a bad hash", func(t *testing.T, raw *sql.DB, recs []audit.Record) {
			mustExec(t, raw, `INSERT INTO audit_log (seq, time_ms, type, actor, subject, payload, payload_hash, prev_hash, hash) VALUES (11, 0, 'execute', 'm', 's', '{}', ?, ?, 'x')`,
				audit.PayloadHash([]byte(`{}`)), recs[9].Hash)
		}, 11, "field"},
		{"row inserted before the first", func(t *testing.T, raw *sql.DB, _ []audit.Record) {
			mustExec(t, raw, `INSERT INTO audit_log (seq, time_ms, type, actor, subject, payload, payload_hash, prev_hash, hash) VALUES (0, 0, 'x', 'm', 's', '{}', '', '', '')`)
		}, 1, "before record 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, raw, _ := newChain(t, 10)
			ctx := context.Background()
			recs, _ := c.List(ctx, 1, 100)
			tt.tamper(t, raw, recs)
			res, err := c.Verify(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if res.OK || res.FirstBad != tt.firstBad || !strings.Contains(res.Reason, tt.reason) {
				t.Errorf("Verify = %+v; want first bad %d with reason containing %q", res, tt.firstBad, tt.reason)
			}
			if res.Records != tt.firstBad-1 {
				t.Errorf("good records = %d, want %d", res.Records, tt.firstBad-1)
			}
		})
	}
}

func TestConcurrentAppendsNeverFork(t *testing.T) {
	c, _, _ := newChain(t, 0)
	ctx := context.Background()
	const writers, each = 50, 8
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				if _, err := c.Append(ctx, audit.Entry{Type: audit.TypeIngest, Actor: fmt.Sprintf("w%d", w), Subject: "s", Payload: i}); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	res, err := c.Verify(ctx)
	if err != nil || !res.OK || res.Records != writers*each {
		t.Errorf("Verify after concurrent appends = %+v, %v", res, err)
	}
}

func TestVerifyPagesThroughLongChains(t *testing.T) {
	c, raw, _ := newChain(t, 1)
	ctx := context.Background()
	// Build records 2..2100 as Append would, in one raw transaction (2,100
	// separate commits would only slow the test down).
	prev, _ := c.Head(ctx)
	tx, err := raw.Begin()
	if err != nil {
		t.Fatal(err)
	}
	ins, err := tx.Prepare(`INSERT INTO audit_log (seq, time_ms, type, actor, subject, payload, payload_hash, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		t.Fatal(err)
	}
	for i := int64(2); i <= 2100; i++ {
		p := []byte(fmt.Sprint(i))
		r := audit.Record{Seq: i, Time: prev.Time.Add(time.Millisecond), Type: "ingest", Actor: "a", Subject: "s",
			Payload: p, PayloadHash: audit.PayloadHash(p), PrevHash: prev.Hash}
		r.Hash = r.ComputeHash()
		if _, err := ins.Exec(r.Seq, r.Time.UnixMilli(), r.Type, r.Actor, r.Subject, string(r.Payload), r.PayloadHash, r.PrevHash, r.Hash); err != nil {
			t.Fatal(err)
		}
		prev = r
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	// Append continues the chain built outside it.
	if r, err := c.Append(ctx, audit.Entry{Type: "ingest", Actor: "a"}); err != nil || r.Seq != 2101 || r.PrevHash != prev.Hash {
		t.Fatalf("append after 2100: %+v %v", r, err)
	}
	if res, _ := c.Verify(ctx); !res.OK || res.Records != 2101 {
		t.Fatalf("Verify = %+v", res)
	}
	mustExec(t, raw, `UPDATE audit_log SET payload = '7' WHERE seq = 2050`)
	if res, _ := c.Verify(ctx); res.OK || res.FirstBad != 2050 {
		t.Errorf("tampering on the third page: %+v", res)
	}
}

func TestCanonicalPayload(t *testing.T) {
	type p struct {
		B  int    `json:"b"`
		A  string `json:"a"`
		ID int64  `json:"id"`
	}
	s, _ := audit.CanonicalJSON(p{B: 1, A: "x", ID: 9007199254740993})
	m, _ := audit.CanonicalJSON(map[string]any{"a": "x", "b": 1, "id": int64(9007199254740993)})
	if string(s) != string(m) || string(s) != `{"a":"x","b":1,"id":9007199254740993}` {
		t.Errorf("canonical struct %s, map %s", s, m)
	}
	n, _ := audit.CanonicalJSON(nil)
	if string(n) != "null" {
		t.Errorf("nil payload = %s", n)
	}
}

func TestCheckpoints(t *testing.T) {
	c, raw, _ := newChain(t, 10)
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(nil)
	cp, err := c.SignCheckpoint(ctx, priv)
	if err != nil {
		t.Fatal(err)
	}
	head, _ := c.Head(ctx)
	if cp.Size != 10 || cp.HeadHash != head.Hash || cp.KeyID != audit.KeyID(pub) {
		t.Errorf("checkpoint %+v, head %+v", cp, head)
	}
	if err := audit.VerifyCheckpoint(pub, cp); err != nil {
		t.Errorf("VerifyCheckpoint: %v", err)
	}
	otherPub, _, _ := ed25519.GenerateKey(nil)
	forged := cp
	forged.Size = 5
	for name, tc := range map[string]struct {
		pub ed25519.PublicKey
		cp  audit.Checkpoint
	}{"wrong key": {otherPub, cp}, "changed size": {pub, forged}} {
		if err := audit.VerifyCheckpoint(tc.pub, tc.cp); !errors.Is(err, audit.ErrBadSignature) {
			t.Errorf("%s: %v", name, err)
		}
	}

	// The file round-trips and is written atomically.
	path := filepath.Join(t.TempDir(), "checkpoint.json")
	if err := audit.WriteCheckpointFile(path, cp); err != nil {
		t.Fatal(err)
	}
	back, err := audit.ReadCheckpointFile(path)
	if err != nil || audit.VerifyCheckpoint(pub, back) != nil || back.Size != cp.Size {
		t.Errorf("read back %+v, %v", back, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	os.WriteFile(path, []byte(`{"size": "ten"}`), 0o644)
	if _, err := audit.ReadCheckpointFile(path); !errors.Is(err, switchyard.ErrInvalid) {
		t.Errorf("garbage checkpoint: %v", err)
	}

	// Growth is fine; truncation and rewrites are caught.
	c.Append(ctx, audit.Entry{Type: "ingest", Actor: "a"})
	if res, err := c.VerifyAgainst(ctx, cp); err != nil || !res.OK || res.Records != 11 {
		t.Errorf("after growth: %+v %v", res, err)
	}
	mustExec(t, raw, `DELETE FROM audit_log WHERE seq > 6`)
	if res, _ := c.Verify(ctx); !res.OK {
		t.Fatalf("a truncated chain should verify on its own: %+v", res)
	}
	res, _ := c.VerifyAgainst(ctx, cp)
	if res.OK || res.FirstBad != 7 || !strings.Contains(res.Reason, "removed") {
		t.Errorf("after truncation: %+v", res)
	}
	// A wholesale rewrite of the same length.
	c2, raw2, _ := newChain(t, 10)
	cp2, _ := c2.SignCheckpoint(ctx, priv)
	mustExec(t, raw2, `DELETE FROM audit_log`)
	for i := 0; i < 10; i++ {
		c2.Append(ctx, audit.Entry{Type: "ingest", Actor: "mallory", Payload: i})
	}
	res, _ = c2.VerifyAgainst(ctx, cp2)
	if res.OK || res.FirstBad != 10 || !strings.Contains(res.Reason, "rewritten") {
		t.Errorf("after rewrite: %+v", res)
	}
	// A broken chain is not signed.
	mustExec(t, raw2, `UPDATE audit_log SET actor = 'x' WHERE seq = 2`)
	if _, err := c2.SignCheckpoint(ctx, priv); err == nil || !strings.Contains(err.Error(), "record 2") {
		t.Errorf("signing a broken chain: %v", err)
	}
}

func TestParseKeys(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	seed := priv.Seed()
	for _, s := range []string{hex.EncodeToString(seed), hex.EncodeToString(priv), b64(seed), b64(priv)} {
		got, err := audit.ParsePrivateKey(s)
		if err != nil || !got.Equal(priv) {
			t.Errorf("ParsePrivateKey(%q) = %v", s, err)
		}
	}
	if got, err := audit.ParsePublicKey(b64(pub)); err != nil || !got.Equal(pub) {
		t.Errorf("ParsePublicKey: %v", err)
	}
	bad := append([]byte(nil), priv...)
	bad[40] ^= 1
	for _, s := range []string{"", "!!!", b64([]byte("short")), hex.EncodeToString(bad)} {
		if _, err := audit.ParsePrivateKey(s); err == nil {
			t.Errorf("ParsePrivateKey(%q) accepted", s)
		}
	}
	if _, err := audit.ParsePublicKey(b64(seed[:10])); err == nil {
		t.Error("short public key accepted")
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
