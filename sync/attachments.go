package syncer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"
	"sync"

	"switchyard"
)

// maxExtractAttempts bounds retries of an attachment whose extraction keeps
// failing; after that it is marked skipped with the last error as reason.
const maxExtractAttempts = 5

// retryPending re-extracts attachments left pending or failed by earlier
// runs (the store records every failure) and re-commits their issues.
func (s *session) retryPending(ctx context.Context, st *StageStats) error {
	pending, err := s.e.store.PendingAttachments(ctx, s.c.Name, 1000)
	if err != nil {
		return fmt.Errorf("pending attachments: %w", err)
	}
	seen := map[string]bool{}
	for _, a := range pending {
		if seen[a.IssueID] {
			continue
		}
		seen[a.IssueID] = true
		is, err := s.e.store.Issue(ctx, s.c.Name, a.IssueID)
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("stored issue %s: %w", a.IssueID, err)
		}
		issues := []switchyard.Issue{is}
		outcomes, err := s.extractAll(ctx, issues)
		if err != nil {
			return err
		}
		written, err := s.e.store.CommitIssues(ctx, s.c.Name, issues, outcomes, 0)
		if err != nil {
			return fmt.Errorf("store issues: %w", err)
		}
		if err := s.e.index.IndexIssues(ctx, s.c.Name, written); err != nil {
			return fmt.Errorf("index issues: %w", err)
		}
	}
	return nil
}

// extractAll fills in attachment text and returns each attachment's
// extraction outcome. Text already extracted is reused from the store (Jira
// attachments never change); the rest is downloaded, capped, and extracted.
func (s *session) extractAll(ctx context.Context, issues []switchyard.Issue) (map[string]Extraction, error) {
	out := map[string]Extraction{}
	type job struct {
		a    *switchyard.Attachment
		x    extractFunc
		prev StoredAttachment
		had  bool
	}
	var jobs []job
	for i := range issues {
		is := &issues[i]
		if len(is.Attachments) == 0 {
			continue
		}
		stored, err := s.e.store.Attachments(ctx, s.c.Name, is.ID)
		if err != nil {
			return nil, fmt.Errorf("stored attachments of %s: %w", is.Key, err)
		}
		known := make(map[string]StoredAttachment, len(stored))
		for _, a := range stored {
			known[a.ID] = a
		}
		for j := range is.Attachments {
			a := &is.Attachments[j]
			prev, had := known[a.ID]
			switch x := extractor(*a); {
			case had && prev.Status == ExtractOK:
				a.Text = prev.Text
			case had && prev.Status == ExtractSkipped:
				out[a.ID] = Extraction{Status: ExtractSkipped, Reason: prev.Error}
			case x == nil:
				out[a.ID] = Extraction{Status: ExtractSkipped, Reason: "content type not indexed"}
			case a.Size > s.c.Settings.AttachmentMaxBytes:
				out[a.ID] = Extraction{Status: ExtractSkipped,
					Reason: fmt.Sprintf("%d bytes is over the %d-byte attachment cap", a.Size, s.c.Settings.AttachmentMaxBytes)}
				s.count(func(r *RunStats) { r.Skipped++ })
			default:
				jobs = append(jobs, job{a, x, prev, had})
			}
		}
	}
	// Downloads run concurrently; the client bounds requests in flight.
	var mu sync.Mutex
	err := forEach(ctx, s.c.Settings.Concurrency, jobs, func(ctx context.Context, jb job) error {
		a := jb.a
		text, err := s.extract(ctx, *a, jb.x)
		var res Extraction
		switch {
		case err != nil && ctx.Err() != nil:
			return ctx.Err()
		case err != nil:
			s.count(func(r *RunStats) { r.Failures++ })
			s.e.log.Warn("attachment text extraction failed; retried next run",
				"connection", s.c.Name, "attachment", a.ID, "file", a.Filename, "err", err)
			res = Extraction{Status: ExtractFailed, Reason: err.Error()}
			if jb.had && jb.prev.Attempts+1 >= maxExtractAttempts {
				res = Extraction{Status: ExtractSkipped, Reason: fmt.Sprintf("gave up after %d attempts: %v", jb.prev.Attempts+1, err)}
			}
		default:
			a.Text = text
			res = Extraction{Status: ExtractOK, Text: text}
			s.count(func(r *RunStats) { r.Extracted++ })
		}
		mu.Lock()
		out[a.ID] = res
		mu.Unlock()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// count updates the run's counters from concurrent workers.
func (s *session) count(fn func(*RunStats)) {
	s.statsMu.Lock()
	fn(s.run)
	s.statsMu.Unlock()
}

func (s *session) extract(ctx context.Context, a switchyard.Attachment, x extractFunc) (string, error) {
	rc, err := s.jira.AttachmentContent(ctx, a.ID, s.c.Settings.AttachmentMaxBytes)
	if err != nil {
		return "", fmt.Errorf("download %s: %w", a.Filename, err)
	}
	defer rc.Close()
	// Read one byte past the cap to tell "exactly at the cap" from "over it".
	b, err := io.ReadAll(io.LimitReader(rc, s.c.Settings.AttachmentMaxBytes+1))
	if err != nil {
		return "", fmt.Errorf("download %s: %w", a.Filename, err)
	}
	if int64(len(b)) > s.c.Settings.AttachmentMaxBytes {
		return "", fmt.Errorf("download %s: larger than the %d-byte cap", a.Filename, s.c.Settings.AttachmentMaxBytes)
	}
	text, err := x(b)
	if err != nil {
		return "", fmt.Errorf("extract %s: %w", a.Filename, err)
	}
	return text, nil
}

type extractFunc func([]byte) (string, error)

// extractor picks the text extractor for an attachment by MIME type, then by
// file extension; nil when its content is not indexed (images, archives…).
func extractor(a switchyard.Attachment) extractFunc {
	mt := strings.ToLower(strings.TrimSpace(strings.SplitN(a.MimeType, ";", 2)[0]))
	switch mt {
	case "text/html", "application/xhtml+xml":
		return extractHTML
	case "application/pdf":
		return extractPDF
	case "application/vnd.openxmlformats-officedocument.wordprocessingml.document":
		return extractDOCX
	case "text/plain", "text/markdown", "text/x-markdown", "text/csv", "application/json", "text/x-log":
		return extractText
	}
	switch strings.ToLower(path.Ext(a.Filename)) {
	case ".html", ".htm":
		return extractHTML
	case ".pdf":
		return extractPDF
	case ".docx":
		return extractDOCX
	case ".txt", ".log", ".md", ".markdown", ".csv", ".json":
		return extractText
	}
	return nil
}

var errBinary = errors.New("not valid UTF-8 text")
