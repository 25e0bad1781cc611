package main

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestJirasimFlagsRejected(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"--mode", "server"}, `--mode "server"`},
		{[]string{"--projects", "0"}, "--projects 0"},
		{[]string{"--issues", "-5"}, "--issues -5"},
		{[]string{"--fault-rate", "1.5"}, "--fault-rate 1.5"},
		{[]string{"--rate-limit", "-1"}, "--rate-limit -1"},
		{[]string{"--latency", "-1s"}, "--latency -1s"},
		{[]string{"--admin-email", "nobody"}, `--admin-email "nobody"`},
		{[]string{"--admin-token", "has space"}, `--admin-token "has space"`},
		{[]string{"--addr", "nonsense:port:x"}, `--addr "nonsense:port:x"`},
		{[]string{"extra"}, `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out, errb bytes.Buffer
			err := runJirasim(context.Background(), tt.args, &out, &errb)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to name %s", err, tt.want)
			}
			if out.Len() != 0 {
				t.Fatalf("printed a banner despite bad flags: %s", out.String())
			}
		})
	}
	if code := run(context.Background(), []string{"jirasim", "--bogus"}, io.Discard, io.Discard); code != 2 {
		t.Fatalf("unknown flag exit code %d, want 2", code)
	}
}

func TestJirasimServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runJirasim(ctx, []string{"--addr", "127.0.0.1:0", "--seed", "5", "--projects", "2", "--issues", "30", "--admin-token", "tok-1"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var base string
	var banner []string
	for sc.Scan() {
		line := sc.Text()
		banner = append(banner, line)
		if i := strings.Index(line, "listening on "); i >= 0 {
			base = strings.TrimSpace(line[i+len("listening on "):])
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	all := strings.Join(banner, "\n")
	for _, want := range []string{"admin@example.com", "tok-1", "switchyard-sim", "sim-client-secret", "/_sim/state", "cloud id"} {
		if !strings.Contains(all, want) {
			t.Fatalf("banner lacks %q:\n%s", want, all)
		}
	}
	req, _ := http.NewRequest("GET", base+"/rest/api/3/myself", nil)
	req.SetBasicAuth("admin@example.com", "tok-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("myself: %d", resp.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stop: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("jirasim did not stop on cancel")
	}
	if _, err := http.Get(base + "/_sim/state"); err == nil {
		t.Fatal("still serving after stop")
	}
}
