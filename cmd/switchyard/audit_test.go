package main

import (
	"bytes"
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"switchyard/audit"
	"switchyard/store"
)

func TestAuditVerifyCommand(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "switchyard.yaml")
	if err := os.WriteFile(cfg, []byte("data_dir: "+data+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	verify := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"audit", "verify", "--config", cfg}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	// An empty chain verifies.
	if code, out, _ := verify(); code != 0 || !strings.Contains(out, "OK: 0 records") {
		t.Fatalf("empty: %d %q", code, out)
	}
	db, err := store.Open(filepath.Join(data, "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	chain := audit.New(db)
	for i := 0; i < 5; i++ {
		if _, err := chain.Append(context.Background(), audit.Entry{Type: audit.TypeIngest, Actor: "test", Subject: "ITSM-1", Payload: map[string]int{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()
	if code, out, _ := verify(); code != 0 || !strings.Contains(out, "OK: 5 records") {
		t.Fatalf("good chain: %d %q", code, out)
	}
	if code, out, _ := verify("--json"); code != 0 || !strings.Contains(out, `"ok": true`) {
		t.Fatalf("json: %d %q", code, out)
	}
	raw, err := sql.Open("sqlite", filepath.Join(data, "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE audit_log SET payload = '{"i":9}' WHERE seq = 3`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	code, out, errs := verify()
	if code != 1 || !strings.Contains(out, "BAD: first bad record is sequence 3") || !strings.Contains(errs, "sequence 3") {
		t.Fatalf("tampered: %d %q %q", code, out, errs)
	}
	if code, _, errs := verify("--checkpoint", "x.json"); code == 0 || !strings.Contains(errs, "--public-key") {
		t.Fatalf("half a checkpoint: %d %q", code, errs)
	}
	var out2, errb bytes.Buffer
	if code := run(context.Background(), []string{"audit", "bogus"}, &out2, &errb); code != 1 || !strings.Contains(errb.String(), "bogus") {
		t.Fatalf("unknown subcommand: %d %q", code, errb.String())
	}
}
