package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The commands the running demo prints work next to it: the search it
// suggests answers through the demo, and a sync is handed to it.
func TestDemoPrintedCommandsWhileRunning(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"demo", "--issues", "200", "--data-dir", dir, "--addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	var out []string
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	var searchLine string
	timeout := time.After(2 * time.Minute)
wait:
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("demo ended (exit %d):\n%s", <-done, strings.Join(out, "\n"))
			}
			out = append(out, l)
			if strings.Contains(l, "cmd/switchyard search --config") {
				searchLine = l
			}
			if strings.HasPrefix(l, "Running; press Ctrl-C") {
				break wait
			}
		case <-timeout:
			t.Fatalf("demo did not get to running:\n%s", strings.Join(out, "\n"))
		}
	}
	go func() {
		for range lines {
		}
	}()
	m := regexp.MustCompile(`search --config (\S+) --as EMAIL vpn`).FindStringSubmatch(searchLine)
	if m == nil {
		t.Fatalf("no search command printed:\n%s", strings.Join(out, "\n"))
	}
	cfg := m[1]
	email := regexp.MustCompile(`<(\S+@\S+)>`).FindStringSubmatch(strings.Join(out, "\n"))
	if email == nil {
		t.Fatalf("no user email in the demo's output")
	}

	cli := func(args ...string) (int, string, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		var o, e bytes.Buffer
		start := time.Now()
		code := run(ctx, args, &o, &e)
		if d := time.Since(start); d > 15*time.Second {
			t.Errorf("%v took %s next to the demo", args, d)
		}
		return code, o.String(), e.String()
	}
	if code, o, e := cli("search", "--config", cfg, "--as", email[1], "vpn"); code != 0 || !strings.Contains(o, "result(s)") {
		t.Errorf("the demo's search command: exit %d\n%s\n%s", code, o, e)
	}
	if code, o, e := cli("sync", "--config", cfg, "--no-progress"); code != 0 || !strings.Contains(o, "`switchyard demo` (pid") {
		t.Errorf("sync next to the demo: exit %d\n%s\n%s", code, o, e)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("demo exited %d after cancel", code)
		}
	case <-time.After(40 * time.Second):
		t.Error("demo did not stop")
	}
}
