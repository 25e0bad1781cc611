package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"switchyard/index"
)

// TestMain lets a test run the real CLI in a process of its own (signals,
// locks between processes): with SWITCHYARD_TEST_MAIN=1 this binary is
// switchyard itself.
func TestMain(m *testing.M) {
	if os.Getenv("SWITCHYARD_TEST_MAIN") == "1" {
		main()
		return
	}
	os.Exit(m.Run())
}

// cliProcess starts the CLI as a separate process.
func cliProcess(t *testing.T, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "SWITCHYARD_TEST_MAIN=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd, &stderr
}

// SIGINT and SIGTERM end a search that waits for an index another process
// holds open, at once rather than when the lock wait gives up.
func TestSignalEndsWaitingSearch(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	e := newDataDirEnv(t, data, 10)
	if code, _, stderr := e.cli(t, "sync", "--config", e.cfg, "--no-progress"); code != 0 {
		t.Fatalf("sync: exit %d: %s", code, stderr)
	}
	// A holder that did not take the data directory's lock: search has
	// no owner to ask and waits on the index's own lock.
	idx, err := index.Open(filepath.Join(data, indexDir))
	if err != nil {
		t.Fatal(err)
	}
	defer idx.Close()
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd, stderr := cliProcess(t, "search", "--config", e.cfg, "--as", e.sim.AdminEmail(), "x")
			time.Sleep(700 * time.Millisecond)
			start := time.Now()
			cmd.Process.Signal(sig)
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case err := <-done:
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("search took %s to end after %v", d, sig)
				}
				if err == nil || !strings.Contains(stderr.String(), "interrupted") {
					t.Errorf("search after %v: %v, stderr %q", sig, err, stderr.String())
				}
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				t.Fatalf("search still running 20s after %v", sig)
			}
		})
	}
}
