package runbook

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"

	"switchyard"
)

// The ingest API is called by automation holding a ticket:ingest key; what
// it sends about an issue is a claim. When the issue is known to Jira (synced
// into the store, or fetchable with the connection's own account), the run
// is classified, shown and acted on with Jira's text, and the caller's text
// is kept beside it, marked when it differs.

// Jira checks of an ingested ticket (Run.JiraCheck).
const (
	CheckJira       = "jira"       // the ticket came from Jira itself (sync or webhook)
	CheckMatches    = "matches"    // Jira's issue was found and the caller's text is the same
	CheckDiffers    = "differs"    // Jira's issue was found; the caller's text differs and is kept aside
	CheckUnverified = "unverified" // no Jira client for the connection: the caller's text as sent
)

// IssueFetcher is the part of a connection's client that reads one issue
// with the connection's account (*connector.Client); a Jira without it
// cannot check ingested tickets beyond the synced store.
type IssueFetcher interface {
	Issue(ctx context.Context, idOrKey string) (switchyard.Issue, error)
}

// errUnknownIssue is answered, with the same words, for an issue that does
// not exist and for one the connection's account may not see, so that the
// answer says nothing about restricted issues.
func errUnknownIssue(key, conn string) error {
	return switchyard.FieldErrorf(switchyard.ErrInvalid, "ticket.issueKey",
		"issue %s is not known to Jira connection %q (it does not exist, or the connection's account may not see it); nothing was ingested", key, conn)
}

// jiraIssue finds Jira's own copy of an issue: the synced one, confirmed by
// a live fetch when the caller's text differs from it (the store may lag an
// edit), else a live fetch. found is false when the connection has no way to
// ask Jira (no client, nothing synced).
func (s *Service) jiraIssue(ctx context.Context, conn string, t Ticket) (iss switchyard.Issue, found bool, err error) {
	fetcher, _ := s.opts.Jira[conn].(IssueFetcher)
	stored, serr := s.db.Issue(ctx, conn, t.IssueKey)
	switch {
	case serr == nil && stored.Key == t.IssueKey:
		if fetcher == nil || sameText(t.Summary, stored.Summary) && sameText(t.Description, stored.Description) {
			return stored, true, nil
		}
		live, err := fetcher.Issue(ctx, t.IssueKey)
		switch {
		case err == nil && live.Key == t.IssueKey:
			return live, true, nil
		case err == nil, errors.Is(err, switchyard.ErrNotFound), errors.Is(err, switchyard.ErrForbidden):
			// Moved, deleted or hidden since the sync: Jira's word is now.
			return iss, false, errUnknownIssue(t.IssueKey, conn)
		}
		return stored, true, nil // Jira unreachable: the synced copy is still Jira's
	case serr != nil && !errors.Is(serr, switchyard.ErrNotFound):
		return iss, false, fmt.Errorf("look the issue up in the store: %w", serr)
	case fetcher == nil:
		return iss, false, nil
	}
	live, err := fetcher.Issue(ctx, t.IssueKey)
	switch {
	case errors.Is(err, switchyard.ErrNotFound), errors.Is(err, switchyard.ErrForbidden), err == nil && live.Key != t.IssueKey:
		// A moved issue answers with its new key: that is another issue's
		// run, not this key's.
		return iss, false, errUnknownIssue(t.IssueKey, conn)
	case errors.Is(err, switchyard.ErrRateLimited):
		return iss, false, fmt.Errorf("check the issue in Jira: %w", err) // the caller may retry later
	case err != nil:
		// Not %w: the connection's own trouble (its credentials, Jira down)
		// must not read as the ingest caller's (401, 409).
		return iss, false, fmt.Errorf("check the issue in Jira: %v", err)
	}
	return live, true, nil
}

// siteURL is the connection's Jira site, "" when unknown.
func (s *Service) siteURL(conn string) string {
	if j, ok := s.opts.Jira[conn].(interface{ SiteURL() string }); ok {
		return strings.TrimRight(j.SiteURL(), "/")
	}
	return ""
}

// crossCheck is the ticket a run uses when Jira's issue is known: Jira's
// summary, description, reporter (account id, and e-mail when visible) and a
// link on the site's host; differs reports whether the caller's text is
// another story (formatting and whitespace aside).
func crossCheck(caller Ticket, iss switchyard.Issue, reporterEmail, site string) (used Ticket, differs bool) {
	used = Ticket{
		Source: caller.Source, IssueKey: caller.IssueKey,
		Summary:           truncate(iss.Summary, maxSummary-3),
		Description:       truncate(iss.Description, maxDescription-8),
		URL:               issueLink(iss.URL, site, caller.IssueKey),
		ReporterEmail:     reporterEmail,
		ReporterAccountID: iss.Reporter,
	}
	differs = !sameText(caller.Summary, iss.Summary) || !sameText(caller.Description, iss.Description)
	if caller.ReporterEmail != "" && reporterEmail != "" && !strings.EqualFold(caller.ReporterEmail, reporterEmail) {
		// A hidden e-mail cannot be compared; the claim is kept aside and
		// never trusted either way.
		differs = true
	}
	if caller.URL != "" && strings.TrimRight(caller.URL, "/") != strings.TrimRight(used.URL, "/") {
		differs = true
	}
	return used, differs
}

// issueLink is an issue's link on the site's host: Jira's own when it is on
// the site, else the site's browse URL, else none.
func issueLink(raw, site, key string) string {
	if raw != "" && sameHost(raw, site) {
		return raw
	}
	if !sameHost(site, site) || key == "" {
		return "" // no usable site
	}
	return site + "/browse/" + url.PathEscape(key)
}

// sameHost reports whether u is an http(s) URL on site's scheme and host.
func sameHost(u, site string) bool {
	a, err1 := url.Parse(u)
	b, err2 := url.Parse(site)
	return err1 == nil && err2 == nil && a.Host != "" && a.User == nil &&
		(a.Scheme == "http" || a.Scheme == "https") && a.Scheme == b.Scheme && strings.EqualFold(a.Host, b.Host)
}

// sameText compares two texts as a reader would: Markdown punctuation,
// backslash escapes, case and runs of whitespace do not count (Jira turns a
// plain-text description into ADF and back into Markdown).
func sameText(a, b string) bool {
	return textKey(a) == textKey(b)
}

func textKey(s string) string {
	var b strings.Builder
	space := false
	for _, r := range s {
		switch {
		case unicode.IsSpace(r):
			space = b.Len() > 0
			continue
		case strings.ContainsRune("\\*_`#>~|", r):
			continue
		}
		if space {
			b.WriteByte(' ')
			space = false
		}
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}
