package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestKeysCreateAs: keys create --as binds a key to a synced Jira account
// (given by e-mail or account id) and keys list shows it; an account the
// sync has not brought in is refused with a message saying so.
func TestKeysCreateAs(t *testing.T) {
	e := newDataDirEnv(t, filepath.Join(t.TempDir(), "data"), 10)
	if code, _, stderr := e.cli(t, "keys", "create", "--config", e.cfg, "--name", "early", "--scope", "approvals:decide", "--as", e.sim.AdminEmail()); code == 0 || !strings.Contains(stderr, "no synced Jira user") {
		t.Fatalf("--as before any sync: exit %d\n%s", code, stderr)
	}
	if code, _, stderr := e.cli(t, "sync", "--config", e.cfg, "--no-progress"); code != 0 {
		t.Fatalf("sync: exit %d\n%s", code, stderr)
	}
	admin := e.sim.World().AdminAccountID()
	code, out, stderr := e.cli(t, "keys", "create", "--config", e.cfg, "--name", "approver", "--scope", "approvals:decide", "--as", e.sim.AdminEmail())
	if code != 0 || !strings.HasPrefix(out, "sy_") || !strings.Contains(stderr, "acting as Jira account "+admin) {
		t.Fatalf("--as by e-mail: exit %d\n%s%s", code, out, stderr)
	}
	if code, _, stderr := e.cli(t, "keys", "create", "--config", e.cfg, "--name", "ghost", "--scope", "approvals:decide", "--as", "no-such-account"); code == 0 || !strings.Contains(stderr, `no synced Jira user "no-such-account"`) {
		t.Fatalf("--as an unknown account: exit %d\n%s", code, stderr)
	}
	code, out, _ = e.cli(t, "keys", "list", "--config", e.cfg)
	if code != 0 || !strings.Contains(out, "AS") || !strings.Contains(out, admin) {
		t.Fatalf("keys list:\n%s", out)
	}
}
