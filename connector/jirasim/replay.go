package jirasim

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// Replay answers requests from recorded Jira responses kept in a directory,
// so that a sync can run end to end on the shapes a real site sends. What it
// has no recording for goes to a fallback handler (the generated simulator),
// or gets Jira's 404 when there is none.
//
// The directory holds either a manifest, replay.json:
//
//	{"responses": [
//	  {"method": "GET", "path": "/rest/api/2/project", "files": ["projects.json"]},
//	  {"method": "POST", "path": "/rest/api/2/search", "bodyContains": "project = OPS",
//	   "files": ["search-1.json", "search-2.json"]},
//	  {"method": "GET", "path": "/rest/api/2/issue/*/comment", "query": {"startAt": "0"},
//	   "status": 200, "contentType": "application/json", "files": ["comments.json"]}
//	]}
//
// or, without a manifest, files named by method and path:
// DIR/GET/rest/api/2/myself.json answers GET /rest/api/2/myself (any query).
//
// A request is answered by the first entry whose method and path match
// ("*" matches one path segment), whose query parameters include every one
// listed, and whose body contains bodyContains. An entry's files answer its
// successive matches in order; the last one repeats. "{{base}}" in a file is
// replaced by the server's base URL. Recorded answers are served to any
// caller: replay checks no credentials.
type Replay struct {
	dir     string
	entries []*replayEntry

	mu     sync.Mutex
	base   string
	misses []string
}

type replayEntry struct {
	Method       string            `json:"method"`
	Path         string            `json:"path"`
	Query        map[string]string `json:"query,omitempty"`
	BodyContains string            `json:"bodyContains,omitempty"`
	Status       int               `json:"status,omitempty"`
	ContentType  string            `json:"contentType,omitempty"`
	Files        []string          `json:"files"`

	bodies [][]byte
	hits   int
}

// ReplayManifest is the manifest's file name.
const ReplayManifest = "replay.json"

// LoadReplay reads a replay directory; every file it names is read now, so a
// bad directory fails at start, naming the entry and file.
func LoadReplay(dir string) (*Replay, error) {
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("replay directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("replay directory %s: not a directory", dir)
	}
	r := &Replay{dir: dir}
	mb, err := os.ReadFile(filepath.Join(dir, ReplayManifest))
	switch {
	case err == nil:
		var m struct {
			Responses []*replayEntry `json:"responses"`
		}
		dec := json.NewDecoder(bytes.NewReader(mb))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&m); err != nil {
			return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ReplayManifest), err)
		}
		r.entries = m.Responses
	case errors.Is(err, fs.ErrNotExist):
		if r.entries, err = conventionEntries(dir); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("replay manifest: %w", err)
	}
	if len(r.entries) == 0 {
		return nil, fmt.Errorf("replay directory %s: no recorded responses (a %s, or files like GET/rest/api/2/myself.json)", dir, ReplayManifest)
	}
	for i, e := range r.entries {
		where := fmt.Sprintf("%s responses[%d] (%s %s)", ReplayManifest, i, e.Method, e.Path)
		e.Method = strings.ToUpper(e.Method)
		switch {
		case e.Method == "":
			return nil, fmt.Errorf("%s: method is empty", where)
		case !strings.HasPrefix(e.Path, "/"):
			return nil, fmt.Errorf("%s: path must start with /, not %q", where, e.Path)
		case len(e.Files) == 0:
			return nil, fmt.Errorf("%s: files is empty", where)
		case e.Status != 0 && (e.Status < 100 || e.Status > 599):
			return nil, fmt.Errorf("%s: status %d is not an HTTP status", where, e.Status)
		}
		for _, f := range e.Files {
			if !filepath.IsLocal(filepath.FromSlash(f)) {
				return nil, fmt.Errorf("%s: file %q must be a path inside the replay directory", where, f)
			}
			b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f)))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", where, err)
			}
			e.bodies = append(e.bodies, b)
		}
	}
	return r, nil
}

// conventionEntries maps DIR/METHOD/path/to/x.json to METHOD /path/to/x.
func conventionEntries(dir string) ([]*replayEntry, error) {
	var out []*replayEntry
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		parts := strings.SplitN(filepath.ToSlash(rel), "/", 2)
		if len(parts) != 2 || !isMethod(parts[0]) {
			return nil // not a recording (README, notes…)
		}
		out = append(out, &replayEntry{Method: parts[0], Path: "/" + strings.TrimSuffix(parts[1], ".json"), Files: []string{filepath.ToSlash(rel)}})
		return nil
	})
	// Exact paths before wildcards is irrelevant here (no wildcards); sort
	// for a stable order.
	sort.Slice(out, func(i, j int) bool { return out[i].Method+out[i].Path < out[j].Method+out[j].Path })
	return out, err
}

func isMethod(s string) bool {
	switch s {
	case http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead:
		return true
	}
	return false
}

// Len is the number of recorded entries.
func (r *Replay) Len() int { return len(r.entries) }

// SetBaseURL is what "{{base}}" in recorded bodies becomes.
func (r *Replay) SetBaseURL(base string) {
	r.mu.Lock()
	r.base = strings.TrimRight(base, "/")
	r.mu.Unlock()
}

// ReplayStats is GET /_replay: how often each entry answered and the
// requests nothing recorded answered (what to record next).
type ReplayStats struct {
	Hits   map[string]int `json:"hits"`
	Misses []string       `json:"misses"`
}

// Handler answers from the recordings, else from fallback (nil: Jira's 404).
func (r *Replay) Handler(fallback http.Handler) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/_replay" {
			r.serveStats(rw)
			return
		}
		var body []byte
		if req.Body != nil {
			b, err := io.ReadAll(io.LimitReader(req.Body, 10<<20))
			if err != nil {
				apiError(rw, http.StatusBadRequest, "read body: "+err.Error())
				return
			}
			body = b
			req.Body = io.NopCloser(bytes.NewReader(b))
		}
		if b, e, ok := r.answer(req, body); ok {
			ct := e.ContentType
			if ct == "" {
				ct = "application/json"
			}
			rw.Header().Set("Content-Type", ct)
			rw.Header().Set("X-Switchyard-Replay", e.Method+" "+e.Path)
			status := e.Status
			if status == 0 {
				status = http.StatusOK
			}
			rw.WriteHeader(status)
			rw.Write(b)
			return
		}
		if fallback != nil {
			fallback.ServeHTTP(rw, req)
			return
		}
		apiError(rw, http.StatusNotFound, "No recorded response for "+req.Method+" "+req.URL.Path+" (replay without fallback).")
	})
}

func (r *Replay) answer(req *http.Request, body []byte) ([]byte, *replayEntry, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, e := range r.entries {
		if e.matches(req, body) {
			b := e.bodies[min(e.hits, len(e.bodies)-1)]
			e.hits++
			if r.base != "" {
				b = bytes.ReplaceAll(b, []byte("{{base}}"), []byte(r.base))
			}
			return b, e, true
		}
	}
	if strings.HasPrefix(req.URL.Path, "/rest/") || strings.HasPrefix(req.URL.Path, "/secure/") {
		if len(r.misses) < 1000 {
			r.misses = append(r.misses, req.Method+" "+req.URL.RequestURI())
		}
	}
	return nil, nil, false
}

func (e *replayEntry) matches(req *http.Request, body []byte) bool {
	if req.Method != e.Method || !pathMatch(e.Path, req.URL.Path) {
		return false
	}
	q := req.URL.Query()
	for k, v := range e.Query {
		if q.Get(k) != v {
			return false
		}
	}
	return e.BodyContains == "" || bytes.Contains(body, []byte(e.BodyContains))
}

// pathMatch compares path patterns segment by segment; "*" matches one segment.
func pathMatch(pattern, p string) bool {
	if !strings.Contains(pattern, "*") {
		return path.Clean(pattern) == path.Clean(p)
	}
	ps, xs := strings.Split(strings.Trim(pattern, "/"), "/"), strings.Split(strings.Trim(p, "/"), "/")
	if len(ps) != len(xs) {
		return false
	}
	for i := range ps {
		if ps[i] != "*" && ps[i] != xs[i] {
			return false
		}
	}
	return true
}

func (r *Replay) serveStats(rw http.ResponseWriter) {
	r.mu.Lock()
	st := ReplayStats{Hits: map[string]int{}, Misses: append([]string{}, r.misses...)}
	for i, e := range r.entries {
		st.Hits[fmt.Sprintf("%d %s %s", i, e.Method, e.Path)] = e.hits
	}
	r.mu.Unlock()
	apiJSON(rw, http.StatusOK, st)
}
