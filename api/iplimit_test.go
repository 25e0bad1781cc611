package api

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestClientAddr(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name    string
		trusted []netip.Prefix
		remote  string
		xff     []string
		want    string
	}{
		{"direct", nil, "198.51.100.7:5000", nil, "198.51.100.7"},
		{"forwarded header ignored without trusted proxies", nil, "198.51.100.7:5000", []string{"203.0.113.9"}, "198.51.100.7"},
		{"untrusted peer's header ignored", proxies, "198.51.100.7:5000", []string{"203.0.113.9"}, "198.51.100.7"},
		{"trusted proxy", proxies, "10.1.2.3:443", []string{"203.0.113.9"}, "203.0.113.9"},
		{"client-written entries left of the proxy's are ignored", proxies, "10.1.2.3:443", []string{"1.2.3.4, 203.0.113.9"}, "203.0.113.9"},
		{"chain of trusted proxies", proxies, "10.1.2.3:443", []string{"203.0.113.9, 10.9.9.9", "10.8.8.8"}, "203.0.113.9"},
		{"garbled entry stops the walk", proxies, "10.1.2.3:443", []string{"203.0.113.9, junk"}, "10.1.2.3"},
		{"only proxies", proxies, "10.1.2.3:443", []string{"10.4.4.4"}, "10.4.4.4"},
		{"ipv6 is its /64", nil, "[2001:db8:1:2:3:4:5:6]:443", nil, "2001:db8:1:2::"},
		{"ipv4-mapped", nil, "[::ffff:198.51.100.7]:1", nil, "198.51.100.7"},
		{"trusted ipv6 proxy", proxies, "[::1]:443", []string{"2001:db8::9"}, "2001:db8::"},
	} {
		s := &Server{opts: Options{TrustedProxies: tc.trusted}}
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		for _, v := range tc.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := s.clientAddr(r); got.String() != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestIPLimitersSweep: buckets that refilled are dropped, so the map holds
// only recently seen addresses.
func TestIPLimitersSweep(t *testing.T) {
	l := newIPLimiters(1000, 1)
	now := time.Now()
	for i := 0; i < ipSweepEvery-1; i++ {
		a := netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		if _, ok := l.allow(a, now); !ok {
			t.Fatal("first request of an address refused")
		}
	}
	if _, ok := l.allow(netip.AddrFrom4([4]byte{10, 0, 0, 0}), now); ok {
		t.Fatal("second request within the burst of 1 allowed")
	}
	// Later, every bucket has refilled: the next new address sweeps them.
	l.allow(netip.AddrFrom4([4]byte{192, 0, 2, 1}), now.Add(time.Second))
	if n := len(l.m); n > 1 {
		t.Fatalf("%d buckets kept after the sweep, want 1", n)
	}
}
