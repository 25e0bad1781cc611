package main

import (
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"switchyard/config"
	"switchyard/connector/jirasim"
)

// TestServeChecksTransitions: with projects synced, serve's wiring refuses a
// decision mapped to a status some project's workflow lacks, naming the
// decision, the project and the transition; a status every workflow has passes.
func TestServeChecksTransitions(t *testing.T) {
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 5, Projects: 4, Issues: 40}})
	defer sim.Close()
	hs := httptest.NewServer(sim)
	defer hs.Close()
	sim.SetBaseURL(hs.URL)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "demo.yaml")
	if err := writeDemoConfig(cfgPath, dir, "127.0.0.1:0", hs.URL, sim.AdminEmail(), sim.Options().AdminToken); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	env, err := openSyncEnv(cfg, "test", []string{demoConnection}, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	if _, err := env.eng.SyncOnce(context.Background(), demoConnection, false); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))

	cfg.Approvals.Transitions = map[string]string{"APPROVED": "Resolved"} // only the service desk has it
	if rb, err := openRunbook(cfg, env, "http://127.0.0.1", logger); err == nil {
		rb.Close()
		t.Fatal("a transition missing from the software projects' workflow was accepted")
	} else if msg := err.Error(); !strings.Contains(msg, "approvals.transitions.APPROVED") || !strings.Contains(msg, `"Resolved"`) ||
		!strings.Contains(msg, "project HR has no transition") {
		t.Fatalf("error %q does not name the decision, the first project lacking it (HR) and the missing transition", msg)
	}

	cfg.Approvals.Transitions = map[string]string{"APPROVED": "In Progress"}
	rb, err := openRunbook(cfg, env, "http://127.0.0.1", logger)
	if err != nil {
		t.Fatalf("a status every workflow has: %v", err)
	}
	rb.Close()
}
