package jirasim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// Benchmarks over loopback HTTP, as the connector sees the simulator. They
// report requests per second (go test -bench Simulator ./connector/jirasim/).

func benchServer(b *testing.B, issues int) (*Server, *httptest.Server) {
	b.Helper()
	srv := New(Options{GenerateOptions: GenerateOptions{Seed: 1, Projects: 5, Issues: issues}})
	ts := httptest.NewServer(srv)
	srv.SetBaseURL(ts.URL)
	b.Cleanup(func() { ts.Close(); srv.Close() })
	return srv, ts
}

func benchPost(b *testing.B, c *http.Client, srv *Server, url string, body []byte) {
	req, _ := http.NewRequest("POST", url, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(srv.AdminEmail(), srv.Options().AdminToken)
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		b.Fatalf("status %d", resp.StatusCode)
	}
}

// BenchmarkSimulatorSearchJQL: one page of 100 issues with summary and updated
// from a 2,000-issue world, ordered by updated (what an incremental sync asks).
func BenchmarkSimulatorSearchJQL(b *testing.B) {
	srv, ts := benchServer(b, 2000)
	body, _ := json.Marshal(map[string]any{"jql": "updated >= 0 ORDER BY updated ASC, id ASC", "maxResults": 100, "fields": []string{"summary", "updated"}})
	c := ts.Client()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		benchPost(b, c, srv, ts.URL+"/rest/api/3/search/jql", body)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}

// BenchmarkSimulatorBulkFetch: bulkfetch of 100 issues with all fields.
func BenchmarkSimulatorBulkFetch(b *testing.B) {
	srv, ts := benchServer(b, 2000)
	w := srv.World()
	w.RLock()
	var ids []string
	for _, is := range w.Issues[:100] {
		ids = append(ids, is.ID)
	}
	w.RUnlock()
	body, _ := json.Marshal(map[string]any{"issueIdsOrKeys": ids, "fields": []string{"*all"}})
	c := ts.Client()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		benchPost(b, c, srv, ts.URL+"/rest/api/3/issue/bulkfetch", body)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "req/s")
}
