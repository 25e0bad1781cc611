package connector

import (
	"fmt"
	"net/url"
	"strings"
)

// URL joining. A Data Center site is often served under a context path
// (https://host/jira): REST paths are relative to the whole base, context path
// included, while URLs Jira hands out (an attachment's content, self links)
// are already absolute and already carry the context path. Joining one of
// those onto the base again doubles the context path (/jira/jira/…).

// resolveURL turns a URL Jira gave (absolute, or a path relative to the site)
// into the URL to request. A path-absolute reference such as
// /jira/secure/attachment/1/a.txt keeps its path: it already names the
// context path. Only http(s) URLs are accepted.
func resolveURL(base, ref string) (*url.URL, error) {
	b, err := url.Parse(strings.TrimRight(base, "/") + "/")
	if err != nil {
		return nil, fmt.Errorf("base URL %q: %w", base, err)
	}
	r, err := url.Parse(ref)
	if err != nil {
		return nil, fmt.Errorf("URL %q: %w", ref, err)
	}
	u := b.ResolveReference(r)
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("URL %q: not an http(s) URL", ref)
	}
	return u, nil
}

// contentURL is where to fetch a Data Center attachment's bytes from its
// content URL. Usually that is the URL as given. Behind a reverse proxy,
// Jira's own base URL setting may name another host, scheme or context path
// than the one Switchyard reaches it by (http://jira.internal:8080/jira while
// the site is https://jira.acme.com): credentials must not go there, and it
// may not even resolve, so the part from /secure/attachment/ on is rebased
// onto the configured site URL.
func (c *Client) contentURL(ref string) (*url.URL, error) {
	u, err := resolveURL(c.siteURL, ref)
	if err != nil {
		return nil, err
	}
	site, err := url.Parse(c.siteURL)
	if err != nil {
		return nil, err
	}
	if strings.EqualFold(u.Host, site.Host) && u.Scheme == site.Scheme {
		return u, nil
	}
	i := strings.Index(u.EscapedPath(), "/secure/attachment/")
	if i < 0 {
		return u, nil // not an attachment path: as given (no credentials go elsewhere)
	}
	c.log.Debug("jira attachment content URL rebased onto the site URL", "content", redactURL(u), "site", redactURL(site))
	return resolveURL(c.siteURL, strings.TrimRight(site.EscapedPath(), "/")+u.EscapedPath()[i:])
}

// sensitiveParams are query parameters whose values never reach an error or
// a log line.
var sensitiveParams = []string{"token", "secret", "password", "jwt", "signature", "sig", "auth", "code"}

// redactURL renders u for an error message: user info dropped, the values of
// secret-looking query parameters replaced, and a long query shortened.
func redactURL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		q := c.Query()
		for k := range q {
			lk := strings.ToLower(k)
			for _, s := range sensitiveParams {
				if strings.Contains(lk, s) {
					q[k] = []string{"REDACTED"}
					break
				}
			}
		}
		c.RawQuery = q.Encode()
		if len(c.RawQuery) > 200 {
			c.RawQuery = c.RawQuery[:200] + "…"
		}
	}
	return c.String()
}
