package syncer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"switchyard"
)

// fakeJira is an in-memory Jira for engine unit tests. It understands the
// JQL shapes the engine writes (conjunctions of project, id, created and
// updated predicates, ORDER BY updated/id).
type fakeJira struct {
	mu       sync.Mutex
	users    []switchyard.User
	groups   []switchyard.Group
	roles    []switchyard.ApplicationRole
	projects []switchyard.Project
	issues   map[string]*switchyard.Issue
	content  map[string][]byte
	audit    []DeleteRecord
	clock    time.Time
	nextID   int
	embedCap int // comments embedded in bulkfetch

	auditErr     error
	contentFails map[string]int // attachment id → failures left
	bulkFailAt   int            // fail the Nth BulkFetch call (1-based), 0 = never
	calls        map[string]int
}

func newFakeJira(projects, issuesPer int) *fakeJira {
	f := &fakeJira{
		issues:       map[string]*switchyard.Issue{},
		content:      map[string][]byte{},
		clock:        time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		nextID:       10000,
		embedCap:     20,
		contentFails: map[string]int{},
		calls:        map[string]int{},
	}
	f.users = []switchyard.User{{AccountID: "u1", DisplayName: "Ann", Active: true}, {AccountID: "u2", DisplayName: "Bob", Active: true}}
	f.groups = []switchyard.Group{{ID: "g1", Name: "admins", Members: []string{"u1"}}}
	f.roles = []switchyard.ApplicationRole{{Key: "jira-software", Groups: []string{"g1"}}}
	for p := 0; p < projects; p++ {
		key := string(rune('A'+p)) + "P"
		f.projects = append(f.projects, switchyard.Project{
			ID: strconv.Itoa(100 + p), Key: key, Name: "Project " + key, LeadAccountID: "u1",
			Roles:          []switchyard.ProjectRole{{ID: "10", Name: "Developers", Actors: switchyard.RoleActors{Users: []string{"u2"}}}},
			Browse:         []switchyard.Holder{{Type: switchyard.HolderProjectRole, Parameter: "10"}},
			SecurityLevels: []switchyard.SecurityLevel{{ID: "5", Name: "Secret", Members: []switchyard.Holder{{Type: switchyard.HolderUser, Parameter: "u1"}}}},
		})
		for i := 0; i < issuesPer; i++ {
			f.create(key, i%7 == 3, i%5 == 1)
		}
	}
	return f
}

func (f *fakeJira) tick() time.Time {
	f.clock = f.clock.Add(time.Second)
	return f.clock
}

func (f *fakeJira) id() string {
	f.nextID++
	return strconv.Itoa(f.nextID)
}

func (f *fakeJira) project(key string) *switchyard.Project {
	for i := range f.projects {
		if f.projects[i].Key == key {
			return &f.projects[i]
		}
	}
	return nil
}

// create adds an issue; manyComments gives it more than the embedded cap.
func (f *fakeJira) create(projectKey string, manyComments, attachment bool) *switchyard.Issue {
	p := f.project(projectKey)
	now := f.tick()
	id := f.id()
	n := 0
	for _, is := range f.issues {
		if is.ProjectID == p.ID {
			n++
		}
	}
	is := &switchyard.Issue{ID: id, Key: fmt.Sprintf("%s-%d", projectKey, n+1+len(f.audit)), ProjectID: p.ID, ProjectKey: p.Key,
		Summary: "Issue " + id + " printer jam", Status: "Open", Created: now, Updated: now, Reporter: "u2"}
	comments := 2
	if manyComments {
		comments = 25
	}
	for c := 0; c < comments; c++ {
		is.Comments = append(is.Comments, switchyard.Comment{ID: f.id(), Author: "u1", Body: "comment " + strconv.Itoa(c), Created: now, Updated: now})
	}
	if attachment {
		aid := f.id()
		is.Attachments = append(is.Attachments, switchyard.Attachment{ID: aid, Filename: "log-" + aid + ".txt", MimeType: "text/plain", Size: 11, Created: now})
		f.content[aid] = []byte("hello " + aid[:5])
		iid := f.id()
		is.Attachments = append(is.Attachments, switchyard.Attachment{ID: iid, Filename: "shot.png", MimeType: "image/png", Size: 4, Created: now})
		f.content[iid] = []byte{0x89, 'P', 'N', 'G'}
	}
	f.issues[id] = is
	return is
}

func (f *fakeJira) update(id, summary string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is := f.issues[id]
	is.Summary = summary
	is.Updated = f.tick()
}

func (f *fakeJira) comment(id, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is := f.issues[id]
	now := f.tick()
	is.Comments = append(is.Comments, switchyard.Comment{ID: f.id(), Author: "u2", Body: body, Created: now, Updated: now})
	is.Updated = now
}

func (f *fakeJira) remove(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is := f.issues[id]
	delete(f.issues, id)
	f.audit = append(f.audit, DeleteRecord{IssueID: id, IssueKey: is.Key, Created: f.tick()})
}

func (f *fakeJira) move(id, toProject string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	is := f.issues[id]
	p := f.project(toProject)
	is.ProjectID, is.ProjectKey = p.ID, p.Key
	is.Key = fmt.Sprintf("%s-M%s", p.Key, id)
	is.Updated = f.tick()
}

func (f *fakeJira) count(name string) {
	f.calls[name]++
}

func (f *fakeJira) Calls(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

func (f *fakeJira) Users(ctx context.Context) ([]switchyard.User, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("users")
	return append([]switchyard.User(nil), f.users...), nil
}

func (f *fakeJira) Groups(ctx context.Context) ([]switchyard.Group, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("groups")
	out := make([]switchyard.Group, len(f.groups))
	for i, g := range f.groups {
		g.Members = append([]string(nil), g.Members...)
		out[i] = g
	}
	return out, nil
}

func (f *fakeJira) ApplicationRoles(ctx context.Context) ([]switchyard.ApplicationRole, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]switchyard.ApplicationRole(nil), f.roles...), nil
}

func (f *fakeJira) Projects(ctx context.Context) ([]switchyard.Project, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("projects")
	out := make([]switchyard.Project, len(f.projects))
	for i, p := range f.projects {
		out[i] = switchyard.Project{ID: p.ID, Key: p.Key, Name: p.Name, LeadAccountID: p.LeadAccountID}
	}
	return out, nil
}

func (f *fakeJira) ProjectRoles(ctx context.Context, key string) ([]switchyard.ProjectRole, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.project(key).Roles, nil
}

func (f *fakeJira) BrowseGrants(ctx context.Context, key string) ([]switchyard.Holder, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.project(key).Browse, nil
}

func (f *fakeJira) SecurityLevels(ctx context.Context, key string) ([]switchyard.SecurityLevel, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.project(key).SecurityLevels, nil
}

var (
	reProjectEq = regexp.MustCompile(`project = "([A-Z0-9_]+)"`)
	reProjectIn = regexp.MustCompile(`project in \(([^)]*)\)`)
	reIDIn      = regexp.MustCompile(`\bid in \(([^)]*)\)`)
	reIDGt      = regexp.MustCompile(`\bid > (\d+)`)
	reDate      = regexp.MustCompile(`\b(created|updated) (>=|<) (\d+)`)
)

func splitList(s string) map[string]bool {
	out := map[string]bool{}
	for _, v := range strings.Split(s, ",") {
		out[strings.Trim(strings.TrimSpace(v), `"`)] = true
	}
	return out
}

// match evaluates the conjunction of every predicate found in jql.
func match(jql string, is *switchyard.Issue) bool {
	if i := strings.Index(jql, " ORDER BY"); i >= 0 {
		jql = jql[:i]
	}
	for _, m := range reProjectEq.FindAllStringSubmatch(jql, -1) {
		if is.ProjectKey != m[1] {
			return false
		}
	}
	for _, m := range reProjectIn.FindAllStringSubmatch(jql, -1) {
		if !splitList(m[1])[is.ProjectKey] {
			return false
		}
	}
	for _, m := range reIDIn.FindAllStringSubmatch(jql, -1) {
		if !splitList(m[1])[is.ID] {
			return false
		}
	}
	for _, m := range reIDGt.FindAllStringSubmatch(jql, -1) {
		a, _ := strconv.Atoi(is.ID)
		b, _ := strconv.Atoi(m[1])
		if a <= b {
			return false
		}
	}
	for _, m := range reDate.FindAllStringSubmatch(jql, -1) {
		t := is.Updated
		if m[1] == "created" {
			t = is.Created
		}
		n, _ := strconv.ParseInt(m[3], 10, 64)
		if (m[2] == ">=" && t.UnixMilli() < n) || (m[2] == "<" && t.UnixMilli() >= n) {
			return false
		}
	}
	return true
}

func (f *fakeJira) search(jql string) []*switchyard.Issue {
	var out []*switchyard.Issue
	for _, is := range f.issues {
		if match(jql, is) {
			out = append(out, is)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Updated.Equal(out[j].Updated) {
			return out[i].Updated.Before(out[j].Updated)
		}
		a, _ := strconv.Atoi(out[i].ID)
		b, _ := strconv.Atoi(out[j].ID)
		return a < b
	})
	return out
}

func (f *fakeJira) SearchIDs(ctx context.Context, jql, token string, max int) ([]string, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("search")
	all := f.search(jql)
	start, _ := strconv.Atoi(token)
	end := min(start+max, len(all))
	var ids []string
	for _, is := range all[start:end] {
		ids = append(ids, is.ID)
	}
	next := ""
	if end < len(all) {
		next = strconv.Itoa(end)
	}
	return ids, next, nil
}

func (f *fakeJira) ApproximateCount(ctx context.Context, jql string) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.issues), nil
}

// copyIssue returns what Jira would return: comments capped at embedCap.
func (f *fakeJira) copyIssue(is *switchyard.Issue) switchyard.Issue {
	c := *is
	c.CommentTotal = len(is.Comments)
	c.Comments = append([]switchyard.Comment(nil), is.Comments[:min(len(is.Comments), f.embedCap)]...)
	c.Attachments = append([]switchyard.Attachment(nil), is.Attachments...)
	return c
}

func (f *fakeJira) BulkFetch(ctx context.Context, ids []string, fl Fields) ([]switchyard.Issue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("bulkfetch")
	if len(ids) > bulkFetchMax {
		return nil, fmt.Errorf("bulkfetch of %d ids", len(ids))
	}
	if f.bulkFailAt > 0 && f.calls["bulkfetch"] == f.bulkFailAt {
		return nil, errors.New("injected bulkfetch failure")
	}
	var out []switchyard.Issue
	for _, id := range ids {
		if is, ok := f.issues[id]; ok {
			c := f.copyIssue(is)
			strip(&c, fl)
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *fakeJira) SearchIssues(ctx context.Context, jql string, startAt, max int, fl Fields) ([]switchyard.Issue, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("dcsearch")
	all := f.search(jql)
	if startAt >= dcWindowLimit {
		return nil, 0, errors.New("past the 10,000 result limit")
	}
	end := min(startAt+max, len(all))
	var out []switchyard.Issue
	for _, is := range all[min(startAt, len(all)):end] {
		c := f.copyIssue(is)
		strip(&c, fl)
		out = append(out, c)
	}
	return out, len(all), nil
}

func (f *fakeJira) Comments(ctx context.Context, key string) ([]switchyard.Comment, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("comments")
	for _, is := range f.issues {
		if is.Key == key {
			return append([]switchyard.Comment(nil), is.Comments...), nil
		}
	}
	return nil, switchyard.ErrNotFound
}

func (f *fakeJira) Issue(ctx context.Context, keyOrID string, fl Fields) (switchyard.Issue, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("issue")
	for _, is := range f.issues {
		if is.ID == keyOrID || is.Key == keyOrID {
			c := f.copyIssue(is)
			strip(&c, fl)
			return c, nil
		}
	}
	return switchyard.Issue{}, fmt.Errorf("issue %s: %w", keyOrID, switchyard.ErrNotFound)
}

func (f *fakeJira) AttachmentContent(ctx context.Context, id string, max int64) (io.ReadCloser, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("content")
	if f.contentFails[id] > 0 {
		f.contentFails[id]--
		return nil, errors.New("injected download failure")
	}
	b, ok := f.content[id]
	if !ok {
		return nil, switchyard.ErrNotFound
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (f *fakeJira) DeletedIssues(ctx context.Context, since time.Time) ([]DeleteRecord, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.count("audit")
	if f.auditErr != nil {
		return nil, f.auditErr
	}
	var out []DeleteRecord
	for _, r := range f.audit {
		if !r.Created.Before(since) {
			out = append(out, r)
		}
	}
	return out, nil
}

// expected returns what a sync of the given scope must hold: issue id →
// (comment count, attachment count).
func (f *fakeJira) expected(sc Scope) map[string][2]int {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[string][2]int{}
	for _, is := range f.issues {
		if !sc.InScope(is.ProjectKey) || (sc.Clause != "" && !match(sc.Clause, is)) {
			continue
		}
		c, a := len(is.Comments), len(is.Attachments)
		if !sc.Comments {
			c = 0
		}
		if !sc.Attachments {
			a = 0
		}
		out[is.ID] = [2]int{c, a}
	}
	return out
}
