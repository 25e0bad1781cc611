package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"switchyard/connector/jirasim"
	"switchyard/store"
)

// startJirasim runs `switchyard jirasim` with args on a free port and
// returns its base URL and banner; the command stops with the test.
func startJirasim(t *testing.T, args ...string) (base, banner string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runJirasim(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), pw, io.Discard)
		pw.Close()
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("jirasim did not stop")
		}
	})
	sc := bufio.NewScanner(pr)
	var lines []string
	for sc.Scan() {
		line := sc.Text()
		lines = append(lines, line)
		if i := strings.Index(line, "listening on "); i >= 0 {
			base = strings.TrimSpace(line[i+len("listening on "):])
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if base == "" {
		t.Fatalf("no base URL in the banner (%v):\n%s", <-done, strings.Join(lines, "\n"))
	}
	return base, strings.Join(lines, "\n")
}

// TestJirasimReplaySync: `switchyard jirasim --replay DIR` answers from the
// recorded Data Center responses in testdata/replay-dc (real shapes: users by
// name/key, groups by name, offsets like -0700, a priority sent as a bare
// string), and `switchyard sync` then `switchyard search` run end to end on
// them with nothing else answering (--replay-fallback 404).
func TestJirasimReplaySync(t *testing.T) {
	base, banner := startJirasim(t, "--mode", "datacenter", "--replay", "testdata/replay-dc", "--replay-fallback", "404")
	if !strings.Contains(banner, "Replaying 19 recorded responses") || !strings.Contains(banner, "the rest: 404") {
		t.Fatalf("banner does not describe the replay:\n%s", banner)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "switchyard.yaml")
	if err := os.WriteFile(cfg, []byte(`data_dir: `+filepath.Join(dir, "data")+`
connections:
  - name: ops
    kind: datacenter
    url: `+base+`
    auth: {type: pat, token: recorded-pat}
    requests_per_second: 1000
    concurrency: 2
`), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	var out, errb bytes.Buffer
	if code := run(ctx, []string{"sync", "--config", cfg, "--no-progress"}, &out, &errb); code != 0 {
		t.Fatalf("sync exit %d\n%s\n%s\nunrecorded: %v", code, out.String(), errb.String(), replayStats(t, base).Misses)
	}
	t.Logf("sync:\n%s", out.String())
	if !strings.Contains(out.String(), "issues 2 (") {
		t.Errorf("sync summary:\n%s", out.String())
	}
	if m := replayStats(t, base).Misses; len(m) > 0 {
		t.Errorf("the sync asked for what was not recorded: %v", m)
	}

	db, err := store.Open(filepath.Join(dir, "data", "switchyard.db"))
	if err != nil {
		t.Fatal(err)
	}
	is, err := db.Issue(ctx, "ops", "OPS-7")
	if err != nil {
		t.Fatal(err)
	}
	if is.Reporter != "tkoenig" || is.Assignee != "JIRAUSER10100" || is.Priority != "High" ||
		!is.Created.Equal(time.Date(2024, 3, 4, 15, 15, 0, 0, time.UTC)) || !is.Updated.Equal(time.Date(2024, 3, 5, 15, 40, 12, 345e6, time.UTC)) {
		t.Errorf("OPS-7 as stored: %+v", is)
	}
	bad, err := db.Issue(ctx, "ops", "OPS-8")
	if err != nil {
		t.Fatalf("OPS-8 (a priority sent as a bare string) was not kept: %v", err)
	}
	if len(bad.FieldErrors) != 1 || bad.FieldErrors[0].Field != "priority" || bad.Summary != "Printer on floor 3 jams on duplex" {
		t.Errorf("OPS-8: field errors %v, summary %q; want the priority recorded and the rest kept", bad.FieldErrors, bad.Summary)
	}
	db.Close()
	out.Reset()
	if code := run(ctx, []string{"status", "--config", cfg}, &out, &errb); code != 0 {
		t.Fatalf("status exit %d\n%s", code, errb.String())
	}
	if !strings.Contains(out.String(), "issue OPS-8 kept without fields of an unexpected shape: priority") {
		t.Errorf("status does not name the issue kept without its priority:\n%s", out.String())
	}

	// Permissions from the recorded scheme: Tobias (Users role) sees the
	// issue but not the it-staff comment; Maria (it-staff, Administrators) sees both.
	search := func(as, q string) string {
		t.Helper()
		var o, e bytes.Buffer
		if code := run(ctx, []string{"search", "--config", cfg, "--as", as, "--json", q}, &o, &e); code != 0 {
			t.Fatalf("search --as %s %q: exit %d\n%s", as, q, code, e.String())
		}
		return o.String()
	}
	if got := search("t.koenig@example.com", "firmware"); !strings.Contains(got, "OPS-7") {
		t.Errorf("Tobias cannot find OPS-7:\n%s", got)
	}
	if got := search("t.koenig@example.com", "rotated"); strings.Contains(got, "30002") {
		t.Errorf("Tobias sees the it-staff comment:\n%s", got)
	}
	if got := search("m.wagner@example.com", "rotated"); !strings.Contains(got, "30002") {
		t.Errorf("Maria (it-staff) cannot find the it-staff comment:\n%s", got)
	}
	if got := search("m.wagner@example.com", "IKE_SA"); !strings.Contains(got, "20001") {
		t.Errorf("the replayed attachment's text is not searchable:\n%s", got)
	}
}

func replayStats(t *testing.T, base string) jirasim.ReplayStats {
	t.Helper()
	resp, err := http.Get(base + "/_replay")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var st jirasim.ReplayStats
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		t.Fatal(err)
	}
	return st
}

func TestJirasimReplayFlagsRejected(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--replay", "testdata/replay-dc", "--replay-fallback", "nothing"}, `--replay-fallback "nothing"`},
		{[]string{"--replay", "testdata/no-such-dir"}, `--replay "testdata/no-such-dir"`},
	} {
		var out bytes.Buffer
		err := runJirasim(context.Background(), append([]string{"--addr", "127.0.0.1:0"}, tt.args...), &out, io.Discard)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%v: error %v, want it to name %s", tt.args, err, tt.want)
		}
		if out.Len() != 0 {
			t.Errorf("%v: printed a banner despite bad flags", tt.args)
		}
	}
}
