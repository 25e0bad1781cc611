package runbook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"switchyard"
)

// Trigger selects the synced or webhook-delivered issues that enter the
// pipeline by themselves (tickets POSTed to the ingest API always do). Every
// non-empty condition must hold.
type Trigger struct {
	Projects   []string `json:"projects" yaml:"projects"`      // project keys; empty = any
	IssueTypes []string `json:"issueTypes" yaml:"issue_types"` // issue type names, case-insensitive; empty = any
	Labels     []string `json:"labels" yaml:"labels"`          // at least one of these labels; empty = any
	NotLabels  []string `json:"notLabels" yaml:"not_labels"`   // none of these labels
}

func foldIn(list []string, v string) bool {
	return slices.ContainsFunc(list, func(x string) bool { return strings.EqualFold(x, v) })
}

// Matches reports whether iss satisfies the trigger.
func (t Trigger) Matches(iss switchyard.Issue) bool {
	project := iss.ProjectKey
	if project == "" {
		project, _, _ = strings.Cut(iss.Key, "-")
	}
	if len(t.Projects) > 0 && !foldIn(t.Projects, project) {
		return false
	}
	if len(t.IssueTypes) > 0 && !foldIn(t.IssueTypes, iss.IssueType) {
		return false
	}
	if len(t.Labels) > 0 && !slices.ContainsFunc(iss.Labels, func(l string) bool { return foldIn(t.Labels, l) }) {
		return false
	}
	if slices.ContainsFunc(iss.Labels, func(l string) bool { return foldIn(t.NotLabels, l) }) {
		return false
	}
	return true
}

// IngestIssue feeds a synced (source "sync") or webhook-delivered (source
// "webhook") issue into the pipeline when one of Options.Triggers matches
// it; matched is false otherwise. An issue enters once: a later sync of the
// same issue, even edited, returns its existing run (an edit is not a new
// request). reporterEmail is the reporter's email when known.
func (s *Service) IngestIssue(ctx context.Context, conn, source string, iss switchyard.Issue, reporterEmail string) (res IngestResult, matched bool, err error) {
	if !slices.ContainsFunc(s.opts.Triggers, func(t Trigger) bool { return t.Matches(iss) }) {
		return IngestResult{}, false, nil
	}
	if conn == "" {
		conn = s.opts.DefaultConnection
	}
	if run, err := s.RunByIssue(ctx, conn, iss.Key); err == nil {
		return IngestResult{Run: run}, true, nil
	} else if !errors.Is(err, switchyard.ErrNotFound) {
		return IngestResult{}, true, err
	}
	t := Ticket{Source: source, IssueKey: iss.Key, Summary: truncate(iss.Summary, maxSummary-3), Description: truncate(iss.Description, maxDescription-8),
		URL: issueLink(iss.URL, s.siteURL(conn), iss.Key), ReporterEmail: reporterEmail, ReporterAccountID: iss.Reporter}
	if s.siteURL(conn) == "" {
		t.URL = iss.URL // no client to name the site: the synced issue's own link
	}
	res, err = s.ingest(ctx, conn, t, &iss)
	if errors.Is(err, switchyard.ErrConflict) {
		// A concurrent delivery of another version won; that run stands.
		run, gerr := s.RunByIssue(ctx, conn, iss.Key)
		if gerr != nil {
			return IngestResult{}, true, fmt.Errorf("ingest %s: %w", iss.Key, gerr)
		}
		return IngestResult{Run: run}, true, nil
	}
	return res, true, err
}
