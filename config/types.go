package config

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"strconv"
	"strings"
)

// Secret is a credential. It prints, logs and marshals as "[redacted]" so
// it cannot leak by accident; Value returns the real thing.
type Secret string

const redacted = "[redacted]"

// Value returns the secret itself.
func (s Secret) Value() string { return string(s) }

// IsSet reports whether the secret is non-empty.
func (s Secret) IsSet() bool { return s != "" }

func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return redacted
}

// GoString keeps %#v from printing the value.
func (s Secret) GoString() string { return strconv.Quote(s.String()) }

// LogValue keeps slog from printing the value.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText keeps encoders (JSON, YAML) from writing the value.
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText is the identity; it exists because MarshalText does.
func (s *Secret) UnmarshalText(b []byte) error { *s = Secret(b); return nil }

// ByteSize is a size in bytes, written as a number of bytes or with a unit:
// B, KB, MB, GB (powers of 1000) or KiB, MiB, GiB (powers of 1024).
type ByteSize int64

var byteUnits = []struct {
	suffix string
	mult   int64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12}, {"B", 1},
}

// ParseByteSize reads "26214400", "25MiB", "25 MiB" or "1.5GiB".
func ParseByteSize(s string) (ByteSize, error) {
	in := strings.TrimSpace(s)
	num, mult := in, int64(1)
	for _, u := range byteUnits {
		if strings.HasSuffix(in, u.suffix) {
			num, mult = strings.TrimSpace(strings.TrimSuffix(in, u.suffix)), u.mult
			break
		}
	}
	if n, err := strconv.ParseInt(num, 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%q is negative", s)
		}
		if n > math.MaxInt64/mult {
			return 0, fmt.Errorf("%q is too large", s)
		}
		return ByteSize(n * mult), nil
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || math.IsNaN(f) || num == "" || strings.ContainsAny(num, "eExXpP_") {
		return 0, fmt.Errorf("%q is not a size (use bytes or a unit: KiB, MiB, GiB, KB, MB, GB)", s)
	}
	if f < 0 {
		return 0, fmt.Errorf("%q is negative", s)
	}
	if v := f * float64(mult); v < float64(math.MaxInt64) {
		return ByteSize(v), nil
	}
	return 0, fmt.Errorf("%q is too large", s)
}

func (b ByteSize) String() string {
	for _, u := range byteUnits[:4] {
		if b >= ByteSize(u.mult) && int64(b)%u.mult == 0 && int64(b)/u.mult < 1024 {
			return strconv.FormatInt(int64(b)/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(b), 10)
}

func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// TrustedProxyPrefixes parses server.trusted_proxies (validated: every entry
// is an IP or a CIDR).
func (s Server) TrustedProxyPrefixes() []netip.Prefix {
	var out []netip.Prefix
	for _, v := range s.TrustedProxies {
		if p, err := parseProxy(v); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// parseProxy reads "10.0.0.0/8", "192.0.2.1" or "::1" as a prefix.
func parseProxy(v string) (netip.Prefix, error) {
	v = strings.TrimSpace(v)
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Prefix{}, err
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// EncryptionKeyBytes decodes server.encryption_key: 32 bytes given as hex
// (64 characters) or base64 (standard or URL alphabet, padded or not).
func (s Server) EncryptionKeyBytes() ([]byte, error) {
	return decodeKey(s.EncryptionKey.Value())
}

var errKeyFormat = errors.New("is set but is not 32 bytes in base64 or hex (generate one with: openssl rand -base64 32)")

func decodeKey(k string) ([]byte, error) {
	k = strings.TrimSpace(k)
	if k == "" {
		return nil, errors.New("is empty")
	}
	if len(k) == 64 {
		if b, err := hex.DecodeString(k); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(k); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errKeyFormat
}
