package main

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"switchyard/connector/jirasim"
)

// lockedBuffer is a bytes.Buffer safe for the logger and the test at once.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// serve's log follows log.format and log.level for every component: with
// format json each line is one JSON object, the sync engine's included.
func TestServeLogsSyncThroughConfiguredHandler(t *testing.T) {
	sim := jirasim.New(jirasim.Options{GenerateOptions: jirasim.GenerateOptions{Seed: 3, Projects: 2, Issues: 30}})
	hs := httptest.NewServer(sim)
	sim.SetBaseURL(hs.URL)
	defer func() { hs.Close(); sim.Close() }()
	dir := t.TempDir()
	cfg := writeServeConfig(t, dir, hs.URL, sim.AdminEmail())
	b, _ := os.ReadFile(cfg)
	if err := os.WriteFile(cfg, bytes.Replace(b, []byte("level: warn"), []byte("level: debug"), 1), 0o600); err != nil {
		t.Fatal(err)
	}

	var logs lockedBuffer
	p := startServeLog(t, cfg, &logs)
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(logs.String(), `"msg":"sync run done"`) {
		if time.Now().After(deadline) {
			t.Fatalf("no JSON line for the scheduled sync within 60s; log:\n%s", logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	p.stop(t)

	msgs := map[string]bool{}
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Msg == "" || rec.Level == "" {
			t.Errorf("not a JSON log line: %q", line)
			continue
		}
		msgs[rec.Msg] = true
	}
	// Debug lines of the engine, and the connector's, prove log.level is applied.
	for _, want := range []string{"serving", "sync run done", "page committed"} {
		if !msgs[want] {
			t.Errorf("no %q line in the log; messages: %v", want, msgs)
		}
	}
}
