package main

import (
	"encoding/json"
	"testing"
	"time"
)

// waitFirstSync waits for serve's first scheduled sync to finish, so that
// the store knows Jira's users (ingest names reporters by the synced users).
func waitFirstSync(t *testing.T, p *serveProc, adminKey string) {
	t.Helper()
	var st struct {
		Connections []struct {
			State    string            `json:"state"`
			LastRuns []json.RawMessage `json:"lastRuns"`
		} `json:"connections"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if code := getJSON(t, p.url+"/api/v1/sync/status", adminKey, &st); code != 200 {
			t.Fatalf("sync status: %d", code)
		}
		if len(st.Connections) > 0 && len(st.Connections[0].LastRuns) > 0 && st.Connections[0].State == "idle" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first sync did not finish: %+v", st)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
