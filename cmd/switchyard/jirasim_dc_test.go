package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestJirasimDCFlagsRejected(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"--context-path", "/a b"}, `--context-path: context path "/a b"`},
		{[]string{"--context-path", "/jira/../x"}, `segment ".."`},
		{[]string{"--picker-limit", "0"}, "--picker-limit 0"},
		{[]string{"--picker-limit", "-2"}, "--picker-limit -2"},
		{[]string{"--extra-groups", "-1"}, "--extra-groups -1"},
		{[]string{"--user-search-limit", "0"}, "--user-search-limit 0"},
	} {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var out bytes.Buffer
			err := runJirasim(context.Background(), append([]string{"--mode", "datacenter"}, tt.args...), &out, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to name %s", err, tt.want)
			}
			if out.Len() != 0 {
				t.Fatalf("printed a banner despite bad flags: %s", out.String())
			}
		})
	}
}

// TestJirasimDCContextPath: --context-path serves the site below the path,
// --picker-limit caps the picker, and the banner names the site URL.
func TestJirasimDCContextPath(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- runJirasim(ctx, []string{"--addr", "127.0.0.1:0", "--mode", "datacenter", "--projects", "1", "--issues", "5",
			"--context-path", "/jira", "--picker-limit", "3", "--extra-groups", "10"}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var site string
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "site URL:"); i >= 0 {
			site = strings.Fields(line[i+len("site URL:"):])[0]
		}
		if strings.HasPrefix(line, "Press Ctrl-C") {
			break
		}
	}
	go io.Copy(io.Discard, pr)
	if !strings.HasSuffix(site, "/jira") {
		t.Fatalf("banner site URL %q lacks the context path", site)
	}
	get := func(u string) (int, []byte) {
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Authorization", "Bearer sim-admin-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	if code, _ := get(site + "/rest/api/2/myself"); code != 200 {
		t.Fatalf("myself under the context path: %d", code)
	}
	root := strings.TrimSuffix(site, "/jira")
	if code, _ := get(root + "/rest/api/2/myself"); code != 404 {
		t.Fatalf("myself outside the context path: %d, want 404", code)
	}
	code, b := get(site + "/rest/api/2/groups/picker?maxResults=100")
	var p struct {
		Total  int
		Groups []struct{ Name string }
	}
	if err := json.Unmarshal(b, &p); err != nil || code != 200 || len(p.Groups) != 3 || p.Total != 19 {
		t.Fatalf("picker: %d, %d of %d groups, %v", code, len(p.Groups), p.Total, err)
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
}
