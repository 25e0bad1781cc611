package audit

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite testdata golden files")

// TestRecordHashGolden pins the canonical encoding: changing it would make
// every existing chain fail verification, so it must be a deliberate act
// (go test ./audit -run Golden -update) together with a new version tag.
func TestRecordHashGolden(t *testing.T) {
	payload, err := CanonicalJSON(map[string]any{"run": 42, "decision": "approved", "inputs": map[string]string{"user": "sarah.chen"}})
	if err != nil {
		t.Fatal(err)
	}
	r1 := Record{Seq: 1, Time: time.Date(2026, 5, 1, 9, 30, 0, 123e6, time.UTC), Type: TypeDecision, Actor: "alice@example.com",
		Subject: "ITSM-123", Payload: payload, PayloadHash: PayloadHash(payload), PrevHash: GenesisHash}
	r1.Hash = r1.ComputeHash()
	r2 := Record{Seq: 2, Time: r1.Time.Add(time.Millisecond), Type: TypeWriteback, Actor: "system", Subject: "ITSM-123",
		Payload: []byte("null"), PayloadHash: PayloadHash([]byte("null")), PrevHash: r1.Hash}
	r2.Hash = r2.ComputeHash()
	// Field boundaries matter: moving a character between fields changes the hash.
	r3 := r2
	r3.Actor, r3.Subject = "systemI", "TSM-123"
	if r3.ComputeHash() == r2.Hash {
		t.Error("field boundary is ambiguous")
	}
	got := strings.Join([]string{string(payload), r1.PayloadHash, r1.Hash, r2.Hash}, "\n") + "\n"
	path := filepath.Join("testdata", "record_hash.golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("record hash encoding changed:\n got %s\nwant %s", got, want)
	}
}
