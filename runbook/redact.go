package runbook

import (
	"errors"
	"net/url"
	"strings"
)

// A notifier's or executor's URL can be a credential: a Teams Workflows URL
// carries its sig= in the query, Slack-style and Zapier-style hooks carry
// the secret in the path, and any URL may carry userinfo or a ?token=. The
// HTTP client quotes the whole URL in every *url.Error, so each call site
// wraps its errors with redactErr before they reach a log line, the outbox's
// last error, the run or the audit chain (which can never be edited).

// redactURL is a URL as it may be shown: scheme, host and path, without
// userinfo, query or fragment, and with path segments that look like tokens
// replaced by "…".
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(URL hidden)"
	}
	segs := strings.Split(u.EscapedPath(), "/")
	for i, seg := range segs {
		if tokenLike(seg) {
			segs[i] = "…"
		}
	}
	return u.Scheme + "://" + u.Host + strings.Join(segs, "/")
}

// redactHost is a URL that is itself the secret (a Teams webhook), as it
// may be shown: its scheme and host only.
func redactHost(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "(URL hidden)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}

// tokenLike reports whether a path segment looks like a secret: long, or
// of some length and mixing letters with digits (ids, hashes, signatures).
func tokenLike(seg string) bool {
	if len(seg) >= 24 {
		return true
	}
	if len(seg) < 12 {
		return false
	}
	var letter, digit bool
	for _, r := range seg {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
			letter = true
		}
	}
	return letter && digit
}

// redactedError is an error whose text has every secret part of a URL
// removed. Unwrap keeps errors.Is working (timeouts, cancellation); the
// *url.Error inside has its URL replaced as well.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr returns err with rawURL and its secret parts (userinfo, query
// values, token-like path segments, and the whole URL) replaced by shown
// (redactURL or redactHost of rawURL) wherever they appear, including in the
// *url.Error the HTTP client returned.
func redactErr(err error, rawURL, shown string) error {
	if err == nil {
		return nil
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = shown
	}
	return &redactedError{msg: scrub(err.Error(), rawURL, shown), err: err}
}

// scrub removes rawURL and its secret parts from s.
func scrub(s, rawURL, shown string) string {
	if rawURL == "" {
		return s
	}
	s = strings.ReplaceAll(s, rawURL, shown)
	u, err := url.Parse(rawURL)
	if err != nil {
		return s
	}
	var secrets []string
	if u.User != nil {
		secrets = append(secrets, u.User.String(), u.User.Username())
		if p, ok := u.User.Password(); ok {
			secrets = append(secrets, p)
		}
	}
	if u.RawQuery != "" {
		secrets = append(secrets, u.RawQuery)
		for _, vs := range u.Query() {
			secrets = append(secrets, vs...)
		}
		for _, kv := range strings.Split(u.RawQuery, "&") {
			if _, v, ok := strings.Cut(kv, "="); ok {
				secrets = append(secrets, v)
			}
		}
	}
	if shown == redactHost(rawURL) && u.Path != "" && u.Path != "/" {
		secrets = append(secrets, u.EscapedPath(), u.Path)
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if tokenLike(seg) {
			secrets = append(secrets, seg)
			if p, err := url.PathUnescape(seg); err == nil {
				secrets = append(secrets, p)
			}
		}
	}
	for _, sec := range secrets {
		// Short values ("1.0", "json") are not secrets and would shred the text.
		if len(sec) >= 6 {
			s = strings.ReplaceAll(s, sec, "…")
		}
	}
	return s
}
