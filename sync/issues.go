package syncer

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"switchyard"
)

// dcWindowLimit is where Data Center's /rest/api/2/search stops answering;
// each updated window is kept below it.
var dcWindowLimit = 10000

// issues syncs every in-scope project's issues changed since its cursor (all of
// them on a full sync), with comments and attachments, committing page by page.
func (s *session) issues(ctx context.Context, st *StageStats) error {
	if s.c.Scope.Issues {
		if err := s.retryPending(ctx, st); err != nil {
			return err
		}
		if err := s.listAndFetch(ctx, st); err != nil {
			return err
		}
	}
	if s.gen == 0 {
		return nil
	}
	// Full sync: sweep what the generation did not see.
	unseen, err := s.e.store.UnseenIssues(ctx, s.c.Name, s.gen)
	if err != nil {
		return fmt.Errorf("unseen issues: %w", err)
	}
	n, err := s.deleteIssues(ctx, unseen)
	st.Deleted += n
	return err
}

func (s *session) listAndFetch(ctx context.Context, st *StageStats) error {
	// Cursors never pass the listing start (less the overlap): an issue
	// changed while we list may be fetched out of order, and must be fetched
	// again next run rather than skipped.
	clamp := s.e.now().Add(-s.c.Settings.Overlap).UnixMilli()
	if s.c.Mode != switchyard.ModeDataCenter {
		go s.estimate(ctx)
	}
	s.slots = make(chan struct{}, s.c.Settings.Concurrency)
	return forEach(ctx, s.c.Settings.Concurrency, s.projects, func(ctx context.Context, p switchyard.Project) error {
		if s.c.Mode == switchyard.ModeDataCenter {
			return s.projectIssuesDC(ctx, p, clamp, st)
		}
		return s.projectIssues(ctx, p, clamp, st)
	})
}

// estimate sets the progress total from Jira's approximate count.
func (s *session) estimate(ctx context.Context) {
	var parts []string
	for _, p := range s.projects {
		from := s.from(p.ID)
		parts = append(parts, "("+projectClause(p.Key, from)+")")
	}
	if len(parts) == 0 {
		return
	}
	jql := strings.Join(parts, " OR ")
	if s.c.Scope.Clause != "" {
		jql = "(" + jql + ") AND (" + s.c.Scope.Clause + ")"
	}
	n, err := s.jira.ApproximateCount(ctx, jql)
	if err == nil && n > 0 {
		s.setTotalFor(StageIssues, n)
	}
}

// from is the lower updated bound (epoch ms) for a project, 0 for everything.
func (s *session) from(projectID string) int64 {
	s.cursorMu.Lock()
	c := s.cursors[projectID]
	s.cursorMu.Unlock()
	if c == 0 {
		return 0
	}
	from := c - s.c.Settings.Overlap.Milliseconds()
	if from < 0 {
		from = 0
	}
	return from
}

func projectClause(key string, from int64) string {
	c := "project = " + quoteJQL(key)
	if from > 0 {
		c += " AND updated >= " + strconv.FormatInt(from, 10)
	}
	return c
}

// issueJQL is the listing query of one project. Values come from validated
// project keys and integers only; the scope clause is built by the filters'
// own validated JQL builder.
func (s *session) issueJQL(key string, from int64) string {
	jql := projectClause(key, from)
	if s.c.Scope.Clause != "" {
		jql += " AND (" + s.c.Scope.Clause + ")"
	}
	return jql + " ORDER BY updated ASC, id ASC"
}

// quoteJQL quotes a string literal for JQL.
func quoteJQL(v string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(v) + `"`
}

func (s *session) fields() Fields {
	return Fields{Comments: s.c.Scope.Comments, Attachments: s.c.Scope.Attachments}
}

type batchResult struct {
	issues   []switchyard.Issue
	outcomes map[string]Extraction
	err      error
}

// projectIssues is the Cloud path: ids from search/jql in large pages,
// hydrated by bulkfetch in batches of 100 by concurrent workers, committed in
// listing order so the cursor only ever covers committed issues.
func (s *session) projectIssues(ctx context.Context, p switchyard.Project, clamp int64, st *StageStats) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	jql := s.issueJQL(p.Key, s.from(p.ID))
	n := s.c.Settings.Concurrency
	queue := make(chan chan batchResult, n)

	// The committer consumes hydrated batches in order. Batches that are
	// already hydrated when it is ready are committed together (group
	// commit): one transaction and one index batch instead of several.
	commitErr := make(chan error, 1)
	go func() {
		commitErr <- s.committer(ctx, cancel, queue, p.ID, clamp, st)
	}()

	var workers sync.WaitGroup
	listErr := func() error {
		defer close(queue)
		seen := map[string]bool{}
		token := ""
		for {
			ids, next, err := s.jira.SearchIDs(ctx, jql, token, s.c.Settings.PageSize)
			if err != nil {
				return fmt.Errorf("search %s: %w", p.Key, err)
			}
			fresh := ids[:0:0]
			for _, id := range ids {
				if !seen[id] {
					seen[id] = true
					fresh = append(fresh, id)
				}
			}
			for len(fresh) > 0 {
				k := min(bulkFetchMax, len(fresh))
				chunk := fresh[:k]
				fresh = fresh[k:]
				fut := make(chan batchResult, 1)
				select {
				case queue <- fut:
				case <-ctx.Done():
					return ctx.Err()
				}
				workers.Add(1)
				go func() {
					defer workers.Done()
					issues, outcomes, err := s.hydrate(ctx, chunk)
					fut <- batchResult{issues, outcomes, err}
				}()
			}
			if next == "" || len(ids) == 0 {
				return nil
			}
			token = next
		}
	}()
	cerr := <-commitErr
	// No hydration outlives the stage (the store and index may close next).
	workers.Wait()
	if cerr != nil {
		return cerr
	}
	return listErr
}

// groupCommitMax bounds how many issues one group commit holds.
const groupCommitMax = 1000

func (s *session) committer(ctx context.Context, cancel func(), queue chan chan batchResult, projectID string, clamp int64, st *StageStats) error {
	fail := func(err error) error {
		cancel()
		for range queue { // drain so the lister is never stuck
		}
		return err
	}
	var pending chan batchResult
	for {
		if pending == nil {
			f, ok := <-queue
			if !ok {
				return nil
			}
			pending = f
		}
		res := <-pending
		pending = nil
		if res.err != nil {
			return fail(res.err)
		}
		issues, outcomes := res.issues, res.outcomes
	gather:
		for len(issues) < groupCommitMax {
			if pending == nil {
				select {
				case f, ok := <-queue:
					if !ok {
						break gather
					}
					pending = f
				default:
					break gather
				}
			}
			select {
			case r := <-pending:
				pending = nil
				if r.err != nil {
					return fail(r.err)
				}
				issues = append(issues, r.issues...)
				if len(r.outcomes) > 0 && outcomes == nil {
					outcomes = map[string]Extraction{}
				}
				for k, v := range r.outcomes {
					outcomes[k] = v
				}
			default:
				break gather
			}
		}
		if err := s.commit(ctx, projectID, issues, outcomes, clamp, st); err != nil {
			return fail(err)
		}
	}
}

// hydrate fetches a batch's issues, their remaining comments and attachment text.
func (s *session) hydrate(ctx context.Context, ids []string) ([]switchyard.Issue, map[string]Extraction, error) {
	select {
	case s.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	defer func() { <-s.slots }()
	t0 := time.Now()
	issues, err := s.jira.BulkFetch(ctx, ids, s.fields())
	if err != nil {
		return nil, nil, fmt.Errorf("bulk fetch: %w", err)
	}
	t1 := time.Now()
	outcomes, err := s.complete(ctx, issues)
	if err != nil {
		return nil, nil, err
	}
	s.e.log.Debug("page hydrated", "connection", s.c.Name, "issues", len(issues), "bulkfetch", t1.Sub(t0), "comments+attachments", time.Since(t1))
	return issues, outcomes, nil
}

// complete pages the comments that did not fit the embedded page and
// extracts attachment text.
func (s *session) complete(ctx context.Context, issues []switchyard.Issue) (map[string]Extraction, error) {
	// Comment pages are fetched concurrently (the client bounds requests in
	// flight), so one batch with many long threads does not hold up the run.
	var paged []int
	for i := range issues {
		if !s.c.Scope.Comments {
			issues[i].Comments, issues[i].CommentTotal = nil, 0
		} else if issues[i].CommentTotal > len(issues[i].Comments) {
			paged = append(paged, i)
		}
	}
	err := forEach(ctx, s.c.Settings.Concurrency, paged, func(ctx context.Context, i int) error {
		cs, err := s.jira.Comments(ctx, issues[i].Key)
		if err != nil {
			return fmt.Errorf("comments of %s: %w", issues[i].Key, err)
		}
		issues[i].Comments = cs
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i := range issues {
		is := &issues[i]
		if !s.c.Scope.Attachments {
			is.Attachments = nil
		}
		if is.URL == "" && s.c.BaseURL != "" {
			is.URL = strings.TrimRight(s.c.BaseURL, "/") + "/browse/" + is.Key
		}
		for j := range is.Comments {
			is.Comments[j].IssueID = is.ID
		}
		for j := range is.Attachments {
			is.Attachments[j].IssueID = is.ID
		}
	}
	if s.c.Scope.Attachments {
		return s.extractAll(ctx, issues)
	}
	return nil, nil
}

// commit writes a page to the store (marking it seen by a full sync's
// generation), then the index, then advances the project's cursor: a crash
// anywhere re-fetches at most this page.
func (s *session) commit(ctx context.Context, projectID string, issues []switchyard.Issue, outcomes map[string]Extraction, clamp int64, st *StageStats) error {
	if len(issues) > 0 {
		for i := range issues {
			is := &issues[i]
			if is.ProjectID == "" {
				// Its project field was unreadable; it was listed by this
				// project's JQL, so that is where it lives.
				is.ProjectID = projectID
			}
			if len(is.FieldErrors) > 0 {
				s.fieldWarning(is)
			}
		}
		if _, err := s.applyRequestTypes(ctx, issues); err != nil {
			return err
		}
		t0 := time.Now()
		written, err := s.e.store.CommitIssues(ctx, s.c.Name, issues, outcomes, s.gen)
		if err != nil {
			return fmt.Errorf("store issues: %w", err)
		}
		t1 := time.Now()
		if err := s.e.index.IndexIssues(ctx, s.c.Name, written); err != nil {
			return fmt.Errorf("index issues: %w", err)
		}
		s.e.committed(ctx, s.c.Name, written)
		s.e.log.Debug("page committed", "connection", s.c.Name, "project", projectID, "issues", len(issues),
			"store", t1.Sub(t0), "index", time.Since(t1))
	}
	var top int64
	s.statsMu.Lock()
	st.Fetched += len(issues)
	st.Written += len(issues)
	for _, is := range issues {
		if u := is.Updated.UnixMilli(); u <= clamp && u > top {
			top = u
		}
		s.run.Issues++
		s.run.Comments += len(is.Comments)
		s.run.Attachments += len(is.Attachments)
	}
	s.statsMu.Unlock()
	s.advance(len(issues))
	s.cursorMu.Lock()
	if top <= s.cursors[projectID] {
		s.cursorMu.Unlock()
		return nil
	}
	s.cursors[projectID] = top
	s.cursorMu.Unlock()
	if err := s.e.store.SetCheckpoint(ctx, s.c.Name, ckCursor, projectID, "", top); err != nil {
		return fmt.Errorf("checkpoint %s %s: %w", ckCursor, projectID, err)
	}
	return nil
}

// projectIssuesDC is the Data Center path: /rest/api/2/search with startAt,
// in updated windows that each stay under the 10,000-result limit. Pages are
// committed in order, so the cursor is exact.
func (s *session) projectIssuesDC(ctx context.Context, p switchyard.Project, clamp int64, st *StageStats) error {
	const page = 100
	from := s.from(p.ID)
	seen := map[string]bool{}
	for {
		jql := s.issueJQL(p.Key, from)
		startAt := 0
		var last int64
		for {
			issues, total, err := s.jira.SearchIssues(ctx, jql, startAt, page, s.fields())
			if err != nil {
				return fmt.Errorf("search %s: %w", p.Key, err)
			}
			startAt += len(issues)
			fresh := issues[:0:0]
			for _, is := range issues {
				if u := is.Updated.UnixMilli(); u > last {
					last = u
				}
				if !seen[is.ID] {
					seen[is.ID] = true
					fresh = append(fresh, is)
				}
			}
			outcomes, err := s.complete(ctx, fresh)
			if err != nil {
				return err
			}
			if err := s.commit(ctx, p.ID, fresh, outcomes, clamp, st); err != nil {
				return err
			}
			if len(issues) == 0 || startAt >= total {
				return nil
			}
			if startAt+page > dcWindowLimit {
				break // open the next window from the last updated seen
			}
		}
		if last <= from {
			return fmt.Errorf("search %s: more than %d issues updated at %s; cannot page past the Data Center search limit",
				p.Key, dcWindowLimit, time.UnixMilli(last).UTC().Format(time.RFC3339Nano))
		}
		from = last
	}
}

// maxFieldWarnings bounds the run warnings about unreadable fields; the
// rest are logged only (each issue keeps its own fieldErrors).
const maxFieldWarnings = 10

// fieldWarning reports an issue kept without fields Jira sent in an
// unexpected shape: in the run's warnings (sync status) and the log.
func (s *session) fieldWarning(is *switchyard.Issue) {
	s.statsMu.Lock()
	defer s.statsMu.Unlock()
	s.fieldWarnings++
	switch {
	case s.fieldWarnings <= maxFieldWarnings:
		s.warn("issue %s kept without fields of an unexpected shape: %s (%s)", is.Key,
			strings.Join(fieldNames(is.FieldErrors), ", "), is.FieldErrors[0].Error)
	case s.fieldWarnings == maxFieldWarnings+1:
		s.warn("more issues kept without fields of an unexpected shape; their fieldErrors are stored with them")
		fallthrough
	default:
		s.e.log.Warn("issue kept with fields Jira sent in an unexpected shape", "connection", s.c.Name,
			"issue", is.Key, "fields", fieldNames(is.FieldErrors), "first_error", is.FieldErrors[0].Error)
	}
}

// fieldNames lists the fields of an issue's decode errors.
func fieldNames(fes []switchyard.FieldError) []string {
	out := make([]string, len(fes))
	for i, fe := range fes {
		out[i] = fe.Field
	}
	return out
}
