package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"switchyard"
	"switchyard/audit"
	"switchyard/config"
	"switchyard/connector/jirasim"
	"switchyard/store"
	syncer "switchyard/sync"
)

// TestTriggersIngestOnce wires the pipeline as serve does, over the
// simulator: history does not flood the queue, a new ITSM service request
// becomes exactly one run however often it is synced or refreshed by a
// webhook, and issues no trigger matches never become runs.
func TestTriggersIngestOnce(t *testing.T) {
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 5, Projects: 4, Issues: 80}})
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
	rb, err := openRunbook(cfg, env, "http://127.0.0.1", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer rb.Close()
	ctx := context.Background()
	sync := func() {
		t.Helper()
		if _, err := env.eng.SyncOnce(ctx, demoConnection, false); err != nil {
			t.Fatal(err)
		}
	}
	sync()
	if ps, err := rb.svc.Approvals(ctx, "", 0, 500); err != nil || len(ps) != 0 {
		t.Fatalf("after the first full sync: %d approvals (err %v); old issues must not become runs", len(ps), err)
	}

	w := sim.World()
	admin := w.AdminAccountID()
	matching, err := w.CreateIssue(admin, jirasim.IssueCreate{ProjectKey: "ITSM", IssueType: "Service Request",
		Summary: "Lost my MFA token", Description: "My MFA token is lost, please reset my authenticator."})
	if err != nil {
		t.Fatal(err)
	}
	incident, err := w.CreateIssue(admin, jirasim.IssueCreate{ProjectKey: "ITSM", IssueType: "Incident", Summary: "Forgot my password"})
	if err != nil {
		t.Fatal(err)
	}
	sync()
	sync()
	if err := env.eng.RefreshIssue(syncer.WithOrigin(ctx, "webhook"), demoConnection, matching.Key); err != nil {
		t.Fatal(err)
	}
	run, err := rb.svc.RunByIssue(ctx, demoConnection, matching.Key)
	if err != nil {
		t.Fatalf("the new service request %s has no run: %v", matching.Key, err)
	}
	if run.Ticket.Source != "sync" || run.Intent != "mfa_reset" || run.State != "pending_approval" {
		t.Errorf("run = source %q intent %q state %q; want sync, mfa_reset, pending_approval", run.Ticket.Source, run.Intent, run.State)
	}
	ps, err := rb.svc.Approvals(ctx, "", 0, 500)
	if err != nil || len(ps) != 1 {
		t.Errorf("%d approvals (err %v), want exactly 1", len(ps), err)
	}
	if _, err := rb.svc.RunByIssue(ctx, demoConnection, incident.Key); !errors.Is(err, switchyard.ErrNotFound) {
		t.Errorf("an Incident (not a trigger's issue type) has a run: err %v", err)
	}

	// A webhook-delivered new issue enters too, marked as such.
	hooked, err := w.CreateIssue(admin, jirasim.IssueCreate{ProjectKey: "ITSM", IssueType: "Service Request", Summary: "Forgot my password",
		Description: "I forgot my password and cannot sign in."})
	if err != nil {
		t.Fatal(err)
	}
	if err := env.eng.RefreshIssue(syncer.WithOrigin(ctx, "webhook"), demoConnection, hooked.Key); err != nil {
		t.Fatal(err)
	}
	if run, err := rb.svc.RunByIssue(ctx, demoConnection, hooked.Key); err != nil || run.Ticket.Source != "webhook" {
		t.Errorf("webhook-delivered issue: run %+v, err %v", run.Ticket, err)
	}
}

func TestCheckpointLoopWritesSignedCheckpoint(t *testing.T) {
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	chain := audit.New(db)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if _, err := chain.Append(ctx, audit.Entry{Type: "test", Actor: "t", Subject: "S-1", Payload: map[string]int{"i": i}}); err != nil {
			t.Fatal(err)
		}
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "checkpoint.json")
	cctx, cancel := context.WithCancel(ctx)
	cancel() // writes at start and at the end, then returns
	checkpointLoop(cctx, config.Audit{SigningKey: config.Secret(base64.StdEncoding.EncodeToString(priv.Seed())), CheckpointFile: file},
		chain, slog.New(slog.NewTextHandler(io.Discard, nil)))
	cp, err := audit.ReadCheckpointFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := audit.VerifyCheckpoint(pub, cp); err != nil {
		t.Fatal(err)
	}
	if cp.Size != 3 {
		t.Errorf("checkpoint size %d, want 3", cp.Size)
	}
	if res, err := chain.VerifyAgainst(ctx, cp); err != nil || !res.OK {
		t.Errorf("verify against checkpoint: %+v, %v", res, err)
	}
}
