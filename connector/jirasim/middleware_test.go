package jirasim

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// rawGet sends one request on a fresh connection (no transport retries) and
// classifies the outcome as the client sees it.
func rawGet(t *testing.T, s *testSim, path string) (outcome string, resp *http.Response) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second}
	req, _ := http.NewRequest("GET", s.ts.URL+path, nil)
	req.SetBasicAuth(s.srv.AdminEmail(), s.srv.Options().AdminToken)
	resp, err := c.Do(req)
	if err != nil {
		return "reset", nil
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		if !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("truncated body: want unexpected EOF, got %v", err)
		}
		if n, _ := strconv.Atoi(resp.Header.Get("Content-Length")); n <= len(b) {
			t.Fatalf("truncated body: Content-Length %d but read %d", n, len(b))
		}
		return "truncated", resp
	}
	if resp.StatusCode >= 500 && !strings.Contains(string(b), "errorMessages") {
		t.Fatalf("%d without Jira's error shape: %s", resp.StatusCode, b)
	}
	return strconv.Itoa(resp.StatusCode), resp
}

func TestFaultsProduceAdvertisedFailures(t *testing.T) {
	s := newTestSim(t, Options{FaultRate: 1})
	seen := map[string]int{}
	const n = 80
	for i := 0; i < n; i++ {
		o, _ := rawGet(t, s, "/rest/api/3/project/search")
		seen[o]++
	}
	for _, k := range []string{"500", "502", "503", "reset", "truncated"} {
		if seen[k] == 0 {
			t.Fatalf("fault %s never happened in %d requests: %v", k, n, seen)
		}
	}
	st := s.srv.Stats()
	for k, v := range seen {
		if st.Faults[k] != int64(v) {
			t.Fatalf("stats faults[%s]=%d, client saw %d (%v)", k, st.Faults[k], v, st.Faults)
		}
	}
	// Knobs off again: requests succeed.
	s.call("PUT", "/_sim/knobs", `{"faultRate":0}`, 200, nil)
	if o, _ := rawGet(t, s, "/rest/api/3/project/search"); o != "200" {
		t.Fatalf("after faultRate 0: %s", o)
	}
}

func TestFaultsAreDeterministic(t *testing.T) {
	run := func() string {
		s := newTestSim(t, Options{FaultRate: 0.5})
		var out []string
		for i := 0; i < 30; i++ {
			o, _ := rawGet(t, s, "/rest/api/3/myself")
			out = append(out, o)
		}
		return strings.Join(out, ",")
	}
	a, b := run(), run()
	if a != b {
		t.Fatalf("same seed, different faults:\n%s\n%s", a, b)
	}
	if !strings.Contains(a, "200") || a == strings.Repeat("200,", 29)+"200" {
		t.Fatalf("fault rate 0.5 gave %s", a)
	}
}

func TestRateLimit429Headers(t *testing.T) {
	s := newTestSim(t, Options{RateLimit: 2})
	var limited *http.Response
	for i := 0; i < 6 && limited == nil; i++ {
		o, resp := rawGet(t, s, "/rest/api/3/myself")
		if o == "429" {
			limited = resp
		}
	}
	if limited == nil {
		t.Fatal("no 429 after a burst at 2 req/s")
	}
	h := limited.Header
	ra, err := strconv.Atoi(h.Get("Retry-After"))
	if err != nil || ra < 1 {
		t.Fatalf("Retry-After %q", h.Get("Retry-After"))
	}
	if h.Get("X-RateLimit-Limit") != "2" || h.Get("X-RateLimit-Remaining") != "0" || h.Get("RateLimit-Reason") != "jira-burst-based" {
		t.Fatalf("rate limit headers: %v", h)
	}
	reset, err := time.Parse("2006-01-02T15:04:05.000Z", h.Get("X-RateLimit-Reset"))
	if err != nil || reset.Before(time.Now().Add(-time.Second)) {
		t.Fatalf("X-RateLimit-Reset %q: %v", h.Get("X-RateLimit-Reset"), err)
	}
	if s.srv.Stats().RateLimited == 0 {
		t.Fatal("stats did not count the 429")
	}
	// Honouring Retry-After gets through.
	time.Sleep(time.Duration(ra) * time.Second)
	if o, _ := rawGet(t, s, "/rest/api/3/myself"); o != "200" {
		t.Fatalf("after Retry-After: %s", o)
	}
	// The simulator's own routes are never limited.
	for i := 0; i < 5; i++ {
		if resp, _ := s.req("GET", "/_sim/stats", nil, ""); resp.StatusCode != 200 {
			t.Fatalf("/_sim/stats limited: %d", resp.StatusCode)
		}
	}
}

func TestKnobsAndStats(t *testing.T) {
	s := newTestSim(t, Options{})
	var k map[string]any
	s.call("PUT", "/_sim/knobs", `{"latency":"120ms","auditForbidden":true}`, 200, &k)
	if k["latency"] != "120ms" || k["auditForbidden"] != true || k["faultRate"] != float64(0) {
		t.Fatalf("knobs: %v", k)
	}
	start := time.Now()
	s.getJSON("/rest/api/3/myself", 200, nil)
	if d := time.Since(start); d < 120*time.Millisecond {
		t.Fatalf("latency knob: request took %s", d)
	}
	s.getJSON("/rest/api/3/auditing/record", 403, nil)
	for _, bad := range []string{`{"latency":"soon"}`, `{"faultRate":1.5}`, `{"rateLimit":-1}`, `{"nope":1}`, `[`} {
		var e jiraErr
		s.call("PUT", "/_sim/knobs", bad, 400, &e)
		if len(e.ErrorMessages) == 0 {
			t.Fatalf("%s: no message", bad)
		}
	}
	if got := s.srv.Knobs(); got.Latency != 120*time.Millisecond || !got.AuditForbidden {
		t.Fatalf("a bad PUT changed the knobs: %+v", got)
	}
	if err := s.srv.SetKnobs(Knobs{FaultRate: 2}); err == nil || !strings.Contains(err.Error(), "2") {
		t.Fatalf("SetKnobs(FaultRate 2): %v", err)
	}
	s.srv.SetKnobs(Knobs{})
	s.getJSON("/rest/api/3/issue/NOPE-1", 404, nil)
	var st Stats
	s.getJSON("/_sim/stats", 200, &st)
	if st.ByRoute["GET /rest/api/3/myself"]["200"] != 1 || st.ByRoute["GET /rest/api/3/issue/{issueIdOrKey}"]["404"] != 1 || st.ByRoute["GET /rest/api/3/auditing/record"]["403"] != 1 {
		t.Fatalf("stats: %s", st)
	}
	if st.Requests != 3 {
		t.Fatalf("stats requests %d, want 3 (/_sim/ calls not counted)", st.Requests)
	}
	_ = fmt.Sprint(st)
}
