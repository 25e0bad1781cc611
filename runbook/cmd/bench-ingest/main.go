// Command bench-ingest measures POST /api/v1/tickets/ingest on loopback: the
// real API server, a real store file, the audit chain, the classifier and
// the runbook service with a local Slack capture, driven by concurrent
// clients. It prints ingests/s and latency percentiles for new tickets and
// for repeated (idempotent) posts.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"switchyard/api"
	"switchyard/audit"
	"switchyard/classify"
	"switchyard/runbook"
	"switchyard/store"
)

var texts = [][2]string{
	{"Password reset needed", "Please reset the password for jane.doe@example.com, she forgot it."},
	{"MFA device lost", "My phone was stolen, please reset MFA for tom.lee@example.com"},
	{"Account locked out", "Account locked after too many attempts: user ann.kim@example.com"},
	{"Lunch menu for friday", "Is there pizza on friday?"},
	{"Printer on floor 3 jams", "The printer near the kitchen keeps jamming."},
	{"Add me to the finance group", "Please add sam.roe@example.com to the Finance group."},
}

func main() {
	n := flag.Int("n", 3000, "new tickets to ingest")
	conc := flag.Int("concurrency", 16, "concurrent clients")
	dups := flag.Int("duplicates", 3000, "repeated posts of already ingested tickets")
	dir := flag.String("dir", "", "directory for the store (default: a temporary one, removed after)")
	cpu := flag.String("cpuprofile", "", "write a CPU profile to this file")
	flag.Parse()
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bench-ingest:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if err := run(*n, *conc, *dups, *dir); err != nil {
		fmt.Fprintln(os.Stderr, "bench-ingest:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(n, conc, dups int, dir string) error {
	if n < 1 || conc < 1 || dups < 0 {
		return fmt.Errorf("--n and --concurrency must be positive, --duplicates not negative")
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "bench-ingest-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		dir = d
	}
	db, err := store.Open(filepath.Join(dir, "switchyard.db"))
	if err != nil {
		return err
	}
	defer db.Close()
	cls, err := classify.New(classify.Options{})
	if err != nil {
		return err
	}
	defer cls.Close()
	var cards atomic.Int64
	slack := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		cards.Add(1)
		w.Write([]byte(`{"ok":true,"channel":"C1","ts":"1.1"}`))
	}))
	defer slack.Close()
	sn, err := runbook.NewSlackNotifier("slack", slack.URL, "xoxb-bench", "C1", nil)
	if err != nil {
		return err
	}
	chain := audit.New(db)
	svc, err := runbook.New(runbook.Options{Store: db, Audit: chain, Classifier: cls, Notifiers: []runbook.Notifier{sn},
		DefaultConnection: "bench", PollInterval: 50 * time.Millisecond})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	go svc.Run(ctx)
	defer func() { cancel(); svc.Close() }()
	srv, err := api.New(api.Options{Addr: "127.0.0.1:0", Keys: db, Runbook: svc, Audit: chain, KeyRate: 1e6, KeyBurst: 1e6,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return err
	}
	if err := srv.Open(); err != nil {
		return err
	}
	defer srv.Close(context.Background())
	_, secret, err := db.CreateAPIKey(context.Background(), store.NewAPIKey{Name: "bench", Scopes: []string{api.ScopeTicketIngest}})
	if err != nil {
		return err
	}
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conc * 2}}
	body := func(i int) []byte {
		t := texts[i%len(texts)]
		b, _ := json.Marshal(map[string]any{"source": "jira", "ticket": map[string]any{
			"issueKey": fmt.Sprintf("BENCH-%d", i+1), "summary": t[0], "description": t[1],
			"url": fmt.Sprintf("https://bench.atlassian.net/browse/BENCH-%d", i+1), "reporterEmail": "reporter@example.com"}})
		return b
	}
	post := func(i int, want int) (time.Duration, error) {
		req, _ := http.NewRequest("POST", srv.URL()+"/api/v1/tickets/ingest", bytes.NewReader(body(i)))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+secret)
		start := time.Now()
		resp, err := hc.Do(req)
		if err != nil {
			return 0, err
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		took := time.Since(start)
		if resp.StatusCode != want {
			return took, fmt.Errorf("ticket %d: HTTP %d, want %d: %s", i+1, resp.StatusCode, want, b)
		}
		return took, nil
	}
	fmt.Printf("bench-ingest: %d new tickets, %d repeats, %d clients, GOMAXPROCS=%d, loopback\n", n, dups, conc, runtime.GOMAXPROCS(0))
	phase := func(name string, count int, idx func(int) int, want int) error {
		lat := make([]time.Duration, count)
		var next atomic.Int64
		var firstErr error
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := time.Now()
		for c := 0; c < conc; c++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i := int(next.Add(1)) - 1
					if i >= count {
						return
					}
					d, err := post(idx(i), want)
					lat[i] = d
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
					}
				}
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		if firstErr != nil {
			return firstErr
		}
		sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
		pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		fmt.Printf("%-8s %6d requests in %6.2fs: %7.0f ingests/s  p50 %6.2fms  p90 %6.2fms  p99 %6.2fms  max %6.2fms\n",
			name, count, wall.Seconds(), float64(count)/wall.Seconds(),
			ms(pct(0.50)), ms(pct(0.90)), ms(pct(0.99)), ms(lat[len(lat)-1]))
		return nil
	}
	if err := phase("new", n, func(i int) int { return i }, http.StatusCreated); err != nil {
		return err
	}
	if dups > 0 {
		if err := phase("repeat", dups, func(i int) int { return i % n }, http.StatusOK); err != nil {
			return err
		}
	}
	res, err := chain.Verify(context.Background())
	if err != nil {
		return err
	}
	fmt.Printf("audit chain: %d records, ok=%v; Slack calls so far: %d (targets: >= 1000 ingests/s, p99 <= 50ms)\n", res.Records, res.OK, cards.Load())
	return nil
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
