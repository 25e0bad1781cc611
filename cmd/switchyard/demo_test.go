package main

import (
	"bytes"
	"context"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestDemoOnceTwice runs the whole demo twice on one data directory: the
// first run syncs fully, the second incrementally; both print the console,
// a working admin key, ingested tickets (some pending approval, some
// no_action), a pending approval with its API call, and two users' searches
// with different result counts.
func TestDemoOnceTwice(t *testing.T) {
	dir := t.TempDir()
	var keys []string
	for i, want := range []string{"full sync", "incremental sync"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		var stdout, stderr bytes.Buffer
		code := run(ctx, []string{"demo", "--once", "--issues", "300", "--data-dir", dir, "--addr", "127.0.0.1:0"}, &stdout, &stderr)
		cancel()
		out := stdout.String()
		if code != 0 {
			t.Fatalf("run %d: exit %d\nstdout:\n%s\nstderr:\n%s", i+1, code, out, stderr.String())
		}
		if !strings.Contains(out, "demo: "+want) {
			t.Errorf("run %d: output does not say %q:\n%s", i+1, want, out)
		}
		m := regexp.MustCompile(`Admin key: (sy_\S+)`).FindStringSubmatch(out)
		if m == nil {
			t.Fatalf("run %d: no admin key printed:\n%s", i+1, out)
		}
		keys = append(keys, m[1])
		if !regexp.MustCompile(`Console: +http://127\.0\.0\.1:\d+/console`).MatchString(out) {
			t.Errorf("run %d: no console URL:\n%s", i+1, out)
		}
		if n := strings.Count(out, "-> pending_approval"); n < 2 {
			t.Errorf("run %d: %d tickets pending approval, want at least 2:\n%s", i+1, n, out)
		}
		if n := strings.Count(out, "no_action ("); n < 2 {
			t.Errorf("run %d: %d no_action tickets, want at least 2:\n%s", i+1, n, out)
		}
		if !regexp.MustCompile(`A pending approval to click: http://\S+/console/approvals`).MatchString(out) ||
			!regexp.MustCompile(`/api/v1/approvals/\d+/decision`).MatchString(out) ||
			!regexp.MustCompile(`run page .*: http://\S+/console/runs/[1-9]\d*\n`).MatchString(out) {
			t.Errorf("run %d: no pending approval to click:\n%s", i+1, out)
		}
		counts := regexp.MustCompile(`\): (\d+) result\(s\)`).FindAllStringSubmatch(out, -1)
		if len(counts) != 2 {
			t.Fatalf("run %d: want two searches, got %v:\n%s", i+1, counts, out)
		}
		a, _ := strconv.Atoi(counts[0][1])
		b, _ := strconv.Atoi(counts[1][1])
		if a == b {
			t.Errorf("run %d: both users see %d results; the permission model should make them differ", i+1, a)
		}
		if i == 1 && !strings.Contains(out, "[run of an earlier demo]") {
			t.Errorf("second run re-created runs instead of finding the first run's:\n%s", out)
		}
		if strings.ContainsAny(stderr.String(), "\r\x1b") {
			t.Errorf("run %d: progress redraws a bar although stderr is not a terminal", i+1)
		}
	}
	if keys[0] != keys[1] {
		t.Errorf("the second run printed a new admin key instead of reusing the first")
	}
}

func TestDemoListenFallsBackWhenBusy(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	busy := ln.Addr().String()
	var out bytes.Buffer
	got2, err := demoListen(busy, &out)
	if err != nil {
		t.Fatal(err)
	}
	defer got2.Close()
	got := got2.Addr().String()
	if got == busy || !strings.HasPrefix(got, "127.0.0.1:") || !strings.Contains(out.String(), busy+" is busy") {
		t.Errorf("demoListen(%s) = %s, printed %q", busy, got, out.String())
	}
	if _, err := demoListen("256.0.0.1:1", &out); err == nil {
		t.Error("an address that cannot be listened on gave no error")
	}
}
