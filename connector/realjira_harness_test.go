package connector

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"switchyard"
	"switchyard/connector/markdown"
)

// The real-material harness: each fixture is served over httptest to the
// real client as the REST answer it is (or handed to the converter or the
// webhook parser), and what comes out is flattened into facts, "key=value"
// lines, that realjira_test.go compares with the facts read from the file.
// Glue the harness adds (an empty last page, a scheme reference pointing at
// the fixture) is written here, in the runner that adds it.

// fixtureServer answers "METHOD /path" (query ignored) with its bodies in
// order, repeating the last; anything else is a 404 naming the request.
type fixtureServer struct {
	mu     sync.Mutex
	routes map[string][]string
	hits   map[string]int
	seen   []string
	srv    *httptest.Server
}

// oauthPrefix is where an OAuth client sends API calls (APIGatewayURL/ex/jira/{cloudId}).
const oauthPrefix = "/ex/jira/cloud-fixture"

func newFixtureServer(t *testing.T) *fixtureServer {
	fs := &fixtureServer{routes: map[string][]string{}, hits: map[string]int{}}
	fs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		p := strings.TrimPrefix(r.URL.Path, oauthPrefix)
		route := r.Method + " " + p
		fs.mu.Lock()
		bodies, ok := fs.routes[route]
		n := fs.hits[route]
		fs.hits[route]++
		fs.seen = append(fs.seen, r.Method+" "+p+"?"+r.URL.RawQuery)
		fs.mu.Unlock()
		if !ok {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintf(w, `{"errorMessages":["fixture server: no answer for %s"]}`, route)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, bodies[min(n, len(bodies)-1)])
	}))
	t.Cleanup(fs.srv.Close)
	return fs
}

func (fs *fixtureServer) serve(route string, bodies ...string) {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	fs.routes[route] = bodies
}

// hitFacts are "hits ROUTE=N" for every route requested.
func (fs *fixtureServer) hitFacts() []string {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	var out []string
	for r, n := range fs.hits {
		out = append(out, fmt.Sprintf("hits %s=%d", r, n))
	}
	return out
}

// staticTokens hands the OAuth client a valid access token.
type staticTokens struct{}

func (staticTokens) LoadToken(context.Context, string) (*oauth2.Token, error) {
	return &oauth2.Token{AccessToken: "fixture-access", RefreshToken: "fixture-refresh", TokenType: "Bearer", Expiry: time.Now().Add(time.Hour)}, nil
}
func (staticTokens) SaveToken(context.Context, string, *oauth2.Token) error { return nil }

// harness is one fixture's run: a fresh server and clients for it.
type harness struct {
	t  *testing.T
	fs *fixtureServer
}

func (h *harness) client(mode switchyard.Mode) *Client {
	h.t.Helper()
	o := Options{Name: "fixture", Mode: mode, BaseURL: h.fs.srv.URL, RequestsPerSecond: 10000, Concurrency: 4,
		MaxRetries: -1, Auth: APITokenAuth("bot@example.com", "fixture-token")}
	if mode == switchyard.ModeDataCenter {
		o.Auth = PATAuth("fixture-pat")
	}
	c, err := New(o)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// oauthClient is a Cloud OAuth client (dynamic webhooks need one): the
// accessible-resources answer is glue naming the fixture server's site.
func (h *harness) oauthClient() *Client {
	h.t.Helper()
	u := h.fs.srv.URL
	h.fs.serve("GET /oauth/token/accessible-resources", `[{"id":"cloud-fixture","url":"`+u+`","name":"fixture","scopes":["read:jira-work"]}]`)
	cfg := &OAuthConfig{ClientID: "fixture-client", ClientSecret: "fixture-secret", RedirectURL: u + "/callback",
		AuthURL: u + "/authorize", TokenURL: u + "/oauth/token", ResourcesURL: u + "/oauth/token/accessible-resources", APIGatewayURL: u}
	c, err := New(Options{Name: "fixture-oauth", Mode: switchyard.ModeCloud, BaseURL: u, RequestsPerSecond: 10000,
		MaxRetries: -1, Auth: OAuthAuth(cfg, staticTokens{})})
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

// runner runs one fixture and returns its facts; an error is a fact too
// ("error=…"), so that a fixture the client rejects is reported, not hidden.
type runner func(h *harness, raw []byte) ([]string, error)

func ts(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// facts collects "key=value" lines, skipping empty values.
type facts []string

func (f *facts) add(key, value string) {
	if value != "" {
		*f = append(*f, key+"="+value)
	}
}

func (f *facts) issue(is switchyard.Issue) {
	k := "issue " + is.Key
	f.add(k+" id", is.ID)
	f.add(k+" project", is.ProjectID)
	f.add(k+" projectKey", is.ProjectKey)
	f.add(k+" summary", is.Summary)
	f.add(k+" type", is.IssueType)
	f.add(k+" status", is.Status)
	f.add(k+" statusCategory", is.StatusCategory)
	f.add(k+" priority", is.Priority)
	f.add(k+" labels", strings.Join(is.Labels, ","))
	f.add(k+" reporter", is.Reporter)
	f.add(k+" assignee", is.Assignee)
	f.add(k+" created", ts(is.Created))
	f.add(k+" updated", ts(is.Updated))
	f.add(k+" security", is.SecurityLevelID)
	f.add(k+" description", is.Description)
	f.add(k+" comments", fmt.Sprint(len(is.Comments)))
	f.add(k+" commentTotal", fmt.Sprint(is.CommentTotal))
	for _, c := range is.Comments {
		f.comment(k+" ", c)
	}
	for _, a := range is.Attachments {
		f.add(k+" attachment "+a.ID, fmt.Sprintf("%s %s %d %s", a.Filename, a.MimeType, a.Size, ts(a.Created)))
	}
	for _, fe := range is.FieldErrors {
		f.add(k+" fieldError "+fe.Field, fe.Error)
	}
	cfs := make([]string, 0, len(is.CustomFields))
	for id, v := range is.CustomFields {
		cfs = append(cfs, id+":"+strings.Join(v, ","))
	}
	sort.Strings(cfs)
	for _, cf := range cfs {
		f.add(k+" custom", cf)
	}
}

func (f *facts) comment(prefix string, c switchyard.Comment) {
	k := prefix + "comment " + c.ID
	f.add(k+" author", c.Author)
	f.add(k+" created", ts(c.Created))
	f.add(k+" updated", ts(c.Updated))
	f.add(k+" body", c.Body)
	if v := c.Visibility; v != nil {
		f.add(k+" visibility", v.Type+":"+v.Value+":"+v.Identifier)
	} else {
		f.add(k+" visibility", "public")
	}
}

func (f *facts) holders(prefix string, hs []switchyard.Holder) {
	for _, h := range hs {
		f.add(prefix+" holder", strings.TrimSuffix(h.Type+":"+h.Parameter, ":"))
	}
}

func compact(raw []byte) string {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return string(raw)
	}
	return b.String()
}

// str reads a top-level string member of a JSON object (e.g. "key").
func str(raw []byte, name string) string {
	var m map[string]json.RawMessage
	json.Unmarshal(raw, &m)
	var s string
	json.Unmarshal(m[name], &s)
	return s
}

var ctx = context.Background()

// runners by name; the table in realjira_test.go names one per fixture.
var runners = map[string]runner{
	"adf": func(h *harness, raw []byte) ([]string, error) {
		md, err := markdown.FromADF(raw, markdown.ADFOptions{})
		if err != nil {
			return nil, err
		}
		var f facts
		f.add("md", md)
		// Every text node's text survives (Markdown escapes aside).
		plain := strings.ReplaceAll(md, `\`, "")
		for _, s := range adfTexts(raw) {
			if s = strings.TrimSpace(s); s != "" && !strings.Contains(plain, s) {
				f.add("lost", s)
			}
		}
		return f, nil
	},
	"issue": func(h *harness, raw []byte) ([]string, error) { return h.issueGET(switchyard.ModeCloud, raw) },
	"dc issue": func(h *harness, raw []byte) ([]string, error) {
		return h.issueGET(switchyard.ModeDataCenter, raw)
	},
	"bulkfetch": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("POST /rest/api/3/issue/bulkfetch", string(raw))
		var page struct {
			Issues []struct {
				ID string `json:"id"`
			} `json:"issues"`
		}
		json.Unmarshal(raw, &page)
		var ids []string
		for _, is := range page.Issues {
			ids = append(ids, is.ID)
		}
		issues, err := h.client(switchyard.ModeCloud).BulkFetch(ctx, ids)
		var f facts
		f.add("issues", fmt.Sprint(len(issues)))
		for _, is := range issues {
			f.issue(is)
		}
		return f, err
	},
	"search/jql": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("POST /rest/api/3/search/jql", string(raw))
		c := h.client(switchyard.ModeCloud)
		ids, next, err := c.SearchIDs(ctx, "project = EX", "", 0)
		var f facts
		f.add("ids", strings.Join(ids, ","))
		f.add("next", next)
		if err != nil {
			return f, err
		}
		// The same page's beans through the converter (the sync asks this
		// endpoint for ids only; the beans are real v3 issue shapes).
		var page struct {
			Issues []issueJSON `json:"issues"`
		}
		if err := json.Unmarshal(raw, &page); err != nil {
			return f, err
		}
		for _, b := range page.Issues {
			is, err := c.issue(b)
			if err != nil {
				return f, err
			}
			f.issue(is)
		}
		return f, nil
	},
	"dc search": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("POST /rest/api/2/search", string(raw))
		issues, total, err := h.client(switchyard.ModeDataCenter).Search(ctx, "project = PROJ", 0, 50)
		var f facts
		f.add("total", fmt.Sprint(total))
		f.add("issues", fmt.Sprint(len(issues)))
		for _, is := range issues {
			f.issue(is)
		}
		return f, err
	},
	"comments":    func(h *harness, raw []byte) ([]string, error) { return h.comments(switchyard.ModeCloud, raw) },
	"dc comments": func(h *harness, raw []byte) ([]string, error) { return h.comments(switchyard.ModeDataCenter, raw) },
	"users": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/3/users/search", string(raw), "[]")
		return h.users(switchyard.ModeCloud)
	},
	"dc users": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/2/user/search", string(raw), "[]")
		return h.users(switchyard.ModeDataCenter)
	},
	"myself": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/3/myself", string(raw))
		c := h.client(switchyard.ModeCloud)
		var f facts
		u, err := c.Myself(ctx)
		if err != nil {
			return f, err
		}
		f.add("user "+u.AccountID, fmt.Sprintf("%s <%s> active=%t %s", u.DisplayName, u.Email, u.Active, u.AccountType))
		id, err := c.Self(ctx)
		f.add("self", fmt.Sprintf("%s/%s/%s", id.AccountID, id.Key, id.Name))
		return f, err
	},
	"groups": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/3/group/bulk", string(raw), `{"isLast":true,"values":[]}`)
		return h.groups(switchyard.ModeCloud)
	},
	"dc groups": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/2/groups/picker", string(raw), `{"header":"Showing 0 of 0 matching groups","total":0,"groups":[]}`)
		return h.groups(switchyard.ModeDataCenter)
	},
	"group members": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/3/group/member", string(raw), `{"isLast":true,"values":[]}`)
		return h.members(switchyard.ModeCloud, "276f955c-63d7-42c8-9520-92d01dca0625")
	},
	"dc group members": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/2/group/member", string(raw), `{"isLast":true,"values":[]}`)
		return h.members(switchyard.ModeDataCenter, "jira-users")
	},
	"application roles": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/3/applicationrole", string(raw))
		rs, err := h.client(switchyard.ModeCloud).ApplicationRoles(ctx)
		var f facts
		for _, r := range rs {
			f.add("application "+r.Key, strings.Join(r.Groups, ","))
		}
		return f, err
	},
	"user groups": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/3/user/groups", string(raw))
		gs, err := h.client(switchyard.ModeCloud).UserGroups(ctx, "5b10a2844c20165700ede21g")
		var f facts
		for _, g := range gs {
			f.add("group "+g.ID, g.Name)
		}
		return f, err
	},
	"projects": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/3/project/search", string(raw), `{"isLast":true,"values":[]}`)
		return h.projects(switchyard.ModeCloud)
	},
	"dc projects": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/2/project", string(raw))
		return h.projects(switchyard.ModeDataCenter)
	},
	"dc project bean": func(h *harness, raw []byte) ([]string, error) {
		// GET /project/{key}: the client reads projects from lists, whose
		// items are this bean; it goes through the same converter.
		h.fs.serve("GET /rest/api/2/project", "["+string(raw)+"]")
		return h.projects(switchyard.ModeDataCenter)
	},
	"role list": func(h *harness, raw []byte) ([]string, error) {
		// Glue: each linked role answers with its id and name, no actors.
		var links map[string]string
		json.Unmarshal(raw, &links)
		h.fs.serve("GET /rest/api/3/project/MKY/role", string(raw))
		for name, link := range links {
			id := link[strings.LastIndex(link, "/")+1:]
			h.fs.serve("GET /rest/api/3/project/MKY/role/"+id, fmt.Sprintf(`{"id":%s,"name":%q,"actors":[]}`, id, name))
		}
		return h.roles(switchyard.ModeCloud, "MKY")
	},
	"role":    func(h *harness, raw []byte) ([]string, error) { return h.role(switchyard.ModeCloud, raw) },
	"dc role": func(h *harness, raw []byte) ([]string, error) { return h.role(switchyard.ModeDataCenter, raw) },
	"permission scheme": func(h *harness, raw []byte) ([]string, error) {
		// Glue: the project's scheme reference names this scheme.
		var s struct {
			ID int64 `json:"id"`
		}
		json.Unmarshal(raw, &s)
		h.fs.serve("GET /rest/api/3/project/EX/permissionscheme", fmt.Sprintf(`{"id":%d}`, s.ID))
		h.fs.serve(fmt.Sprintf("GET /rest/api/3/permissionscheme/%d", s.ID), string(raw))
		hs, err := h.client(switchyard.ModeCloud).BrowseGrants(ctx, "EX")
		var f facts
		f.add("browse holders", fmt.Sprint(len(hs)))
		f.holders("browse", hs)
		return f, err
	},
	"project permission scheme": func(h *harness, raw []byte) ([]string, error) {
		// Glue: the referenced scheme exists and grants nothing.
		var s struct {
			ID int64 `json:"id"`
		}
		json.Unmarshal(raw, &s)
		h.fs.serve("GET /rest/api/3/project/EX/permissionscheme", string(raw))
		h.fs.serve(fmt.Sprintf("GET /rest/api/3/permissionscheme/%d", s.ID), fmt.Sprintf(`{"id":%d,"permissions":[]}`, s.ID))
		hs, err := h.client(switchyard.ModeCloud).BrowseGrants(ctx, "EX")
		f := facts(h.fs.hitFacts())
		f.add("browse holders", fmt.Sprint(len(hs)))
		return f, err
	},
	"security level scheme": func(h *harness, raw []byte) ([]string, error) {
		// Glue: the scheme's members page is empty.
		var s struct {
			ID json64 `json:"id"`
		}
		json.Unmarshal(raw, &s)
		h.fs.serve("GET /rest/api/3/project/EX/issuesecuritylevelscheme", string(raw))
		h.fs.serve("GET /rest/api/3/issuesecurityschemes/"+string(s.ID)+"/members", `{"isLast":true,"values":[]}`)
		return h.levels()
	},
	"security level members": func(h *harness, raw []byte) ([]string, error) {
		// Glue: a scheme with the two levels the members page names.
		h.fs.serve("GET /rest/api/3/project/EX/issuesecuritylevelscheme",
			`{"id":10000,"name":"glue","levels":[{"id":"10020","name":"Level 10020"},{"id":"10021","name":"Level 10021"}]}`)
		h.fs.serve("GET /rest/api/3/issuesecurityschemes/10000/members", string(raw))
		return h.levels()
	},
	"audit records": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/3/auditing/record", string(raw), `{"offset":0,"limit":1000,"total":0,"records":[]}`)
		return h.audit(switchyard.ModeCloud)
	},
	"dc audit page 1": func(h *harness, raw []byte) ([]string, error) {
		// Glue: an empty last page after it.
		h.fs.serve("GET /rest/auditing/1.0/events", string(raw), `{"entities":[],"pagingInfo":{"lastPage":true,"size":0}}`)
		return h.audit(switchyard.ModeDataCenter)
	},
	"dc audit page 2": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/auditing/1.0/events", string(raw))
		return h.audit(switchyard.ModeDataCenter)
	},
	"attachment metadata": func(h *harness, raw []byte) ([]string, error) {
		// GET /attachment/{id}: the same bean as an issue's attachment list
		// entry, through the same converter.
		var a attachmentJSON
		if err := json.Unmarshal(raw, &a); err != nil {
			return nil, err
		}
		var f facts
		at := a.attachment("10002")
		f.add("attachment "+at.ID, fmt.Sprintf("%s %s %d %s", at.Filename, at.MimeType, at.Size, ts(at.Created)))
		f.add("content", at.ContentURL)
		return f, nil
	},
	"comment added": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("POST /rest/api/3/issue/EX-1/comment", string(raw))
		cm, err := h.client(switchyard.ModeCloud).AddComment(ctx, "EX-1", CommentBody{Text: "Approved"}, "", nil)
		var f facts
		if err == nil {
			f.comment("", cm)
		}
		return f, err
	},
	"comment property": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/3/comment/10000/properties/issue.support", string(raw))
		v, err := h.client(switchyard.ModeCloud).CommentProperty(ctx, "10000", "issue.support")
		var f facts
		f.add("value", compact(v))
		return f, err
	},
	"issue property": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/3/issue/EX-1/properties/issue.support", string(raw))
		v, err := h.client(switchyard.ModeCloud).IssueProperty(ctx, "EX-1", "issue.support")
		var f facts
		f.add("value", compact(v))
		return f, err
	},
	"transitions":    func(h *harness, raw []byte) ([]string, error) { return h.transitions(switchyard.ModeCloud, raw) },
	"dc transitions": func(h *harness, raw []byte) ([]string, error) { return h.transitions(switchyard.ModeDataCenter, raw) },
	"approximate count": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("POST /rest/api/3/search/approximate-count", string(raw))
		n, err := h.client(switchyard.ModeCloud).ApproximateCount(ctx, "project = EX")
		var f facts
		f.add("count", fmt.Sprint(n))
		return f, err
	},
	"webhook list": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("GET /rest/api/3/webhook", string(raw), `{"isLast":true,"values":[]}`)
		ws, err := h.oauthClient().ListWebhooks(ctx)
		var f facts
		for _, w := range ws {
			f.add(fmt.Sprintf("webhook %d", w.ID), fmt.Sprintf("%s %s jql=%q expires=%s", w.URL, strings.Join(w.Events, ","), w.JQLFilter, ts(w.Expires)))
		}
		return f, err
	},
	"webhook refresh": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("PUT /rest/api/3/webhook/refresh", string(raw))
		exp, err := h.oauthClient().RefreshWebhooks(ctx, []int64{10000})
		var f facts
		f.add("expires", ts(exp))
		return f, err
	},
	"webhook register": func(h *harness, raw []byte) ([]string, error) {
		h.fs.serve("POST /rest/api/3/webhook", string(raw))
		ids, err := h.oauthClient().RegisterWebhooks(ctx, "https://switchyard.example.com/api/v1/webhooks/jira/acme", "project = PRJ", []string{"jira:issue_updated"})
		var f facts
		f.add("created", fmt.Sprint(ids))
		return f, err
	},
	"webhook": func(h *harness, raw []byte) ([]string, error) {
		ev, err := ParseWebhook(raw)
		if err != nil {
			return nil, err
		}
		var f facts
		f.add("event", ev.Event)
		f.add("issue.id", ev.IssueID)
		f.add("issue.key", ev.IssueKey)
		f.add("comment.id", ev.CommentID)
		f.add("timestamp", ts(ev.Timestamp))
		f.add("actor", fmt.Sprintf("%s/%s/%s", ev.Actor.AccountID, ev.Actor.Key, ev.Actor.Name))
		// The issue a delivery embeds, through the converter.
		var body struct {
			Issue   *issueJSON       `json:"issue"`
			Comment *json.RawMessage `json:"comment"`
		}
		if err := json.Unmarshal(raw, &body); err != nil {
			return f, err
		}
		if body.Issue != nil && len(body.Issue.Fields) > 0 {
			is, err := h.client(switchyard.ModeCloud).issue(*body.Issue)
			if err != nil {
				return f, err
			}
			f.issue(is)
		}
		if body.Comment != nil {
			var cj commentJSON
			if err := json.Unmarshal(*body.Comment, &cj); err != nil {
				return f, err
			}
			c := h.client(switchyard.ModeCloud)
			cm, err := c.comment(cj, ev.IssueID, c.adfOptions(nil))
			f.comment("", cm)
			if err != nil {
				return f, err
			}
		}
		return f, nil
	},
}

func (h *harness) issueGET(mode switchyard.Mode, raw []byte) ([]string, error) {
	key := str(raw, "key")
	c := h.client(mode)
	h.fs.serve("GET "+c.v()+"/issue/"+key, string(raw))
	is, err := c.Issue(ctx, key)
	var f facts
	if err == nil {
		f.issue(is)
	}
	return f, err
}

func (h *harness) comments(mode switchyard.Mode, raw []byte) ([]string, error) {
	c := h.client(mode)
	h.fs.serve("GET "+c.v()+"/issue/EX-1/comment", string(raw), `{"startAt":0,"total":0,"comments":[]}`)
	var f facts
	n := 0
	err := c.Comments(ctx, "EX-1", func(cs []switchyard.Comment) error {
		for _, cm := range cs {
			n++
			f.comment("", cm)
		}
		return nil
	})
	f.add("comments", fmt.Sprint(n))
	return f, err
}

func (h *harness) users(mode switchyard.Mode) ([]string, error) {
	var f facts
	err := h.client(mode).Users(ctx, func(us []switchyard.User) error {
		for _, u := range us {
			f.add("user "+u.AccountID, fmt.Sprintf("%s <%s> active=%t %s", u.DisplayName, u.Email, u.Active, u.AccountType))
		}
		return nil
	})
	return f, err
}

func (h *harness) groups(mode switchyard.Mode) ([]string, error) {
	var f facts
	n := 0
	err := h.client(mode).Groups(ctx, func(gs []switchyard.Group) error {
		for _, g := range gs {
			n++
			f.add("group "+g.ID, g.Name)
		}
		return nil
	})
	f.add("groups", fmt.Sprint(n))
	return f, err
}

func (h *harness) members(mode switchyard.Mode, group string) ([]string, error) {
	ids, err := h.client(mode).GroupMembers(ctx, group)
	var f facts
	f.add("members", strings.Join(ids, ","))
	return f, err
}

func (h *harness) projects(mode switchyard.Mode) ([]string, error) {
	var f facts
	n := 0
	err := h.client(mode).Projects(ctx, func(ps []switchyard.Project) error {
		for _, p := range ps {
			n++
			f.add("project "+p.ID, strings.TrimSpace(fmt.Sprintf("%s %q lead=%s", p.Key, p.Name, p.LeadAccountID)))
		}
		return nil
	})
	f.add("projects", fmt.Sprint(n))
	return f, err
}

func (h *harness) roles(mode switchyard.Mode, key string) ([]string, error) {
	rs, err := h.client(mode).ProjectRoles(ctx, key)
	var f facts
	for _, r := range rs {
		f.add("role "+r.ID, fmt.Sprintf("%s users=%s groups=%s", r.Name, strings.Join(r.Actors.Users, ","), strings.Join(r.Actors.Groups, ",")))
	}
	return f, err
}

// role serves a role behind a role list built from it (glue: the list
// links the role it serves).
func (h *harness) role(mode switchyard.Mode, raw []byte) ([]string, error) {
	c := h.client(mode)
	var r struct {
		ID   int64  `json:"id"`
		Name string `json:"name"`
	}
	json.Unmarshal(raw, &r)
	base := c.v() + "/project/KEY/role"
	h.fs.serve("GET "+base, fmt.Sprintf(`{%q:"%s%s/%d"}`, r.Name, h.fs.srv.URL, base, r.ID))
	h.fs.serve(fmt.Sprintf("GET %s/%d", base, r.ID), string(raw))
	return h.roles(mode, "KEY")
}

func (h *harness) levels() ([]string, error) {
	ls, err := h.client(switchyard.ModeCloud).SecurityLevels(ctx, "EX")
	var f facts
	for _, l := range ls {
		f.add("level "+l.ID, l.Name)
		f.holders("level "+l.ID, l.Members)
	}
	return f, err
}

func (h *harness) audit(mode switchyard.Mode) ([]string, error) {
	var dels []string
	err := h.client(mode).AuditRecords(ctx, time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC), func(ds []Deletion) error {
		for _, d := range ds {
			dels = append(dels, d.Key+"@"+ts(d.At))
		}
		return nil
	})
	f := facts(h.fs.hitFacts())
	f = append(f, "deletions="+strings.Join(dels, ","))
	return f, err
}

func (h *harness) transitions(mode switchyard.Mode, raw []byte) ([]string, error) {
	c := h.client(mode)
	h.fs.serve("GET "+c.v()+"/issue/EX-1/transitions", string(raw))
	trs, err := c.Transitions(ctx, "EX-1")
	var f facts
	for _, tr := range trs {
		f.add("transition "+tr.ID, tr.Name+" -> "+tr.To)
	}
	return f, err
}

// adfTexts is the text of every ADF text node in a document.
func adfTexts(raw []byte) []string {
	var doc any
	json.Unmarshal(raw, &doc)
	var out []string
	var walk func(any)
	walk = func(n any) {
		switch v := n.(type) {
		case map[string]any:
			if v["type"] == "text" {
				if s, ok := v["text"].(string); ok {
					out = append(out, s)
				}
			}
			for _, c := range v {
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	return out
}

// match reports whether a want holds among got: "k=v" is present exactly,
// "k~s" is some fact k whose value contains s, "-k" is no fact with key k.
func match(want string, got []string) bool {
	if k, ok := strings.CutPrefix(want, "-"); ok {
		for _, g := range got {
			if strings.HasPrefix(g, k+"=") || strings.HasPrefix(g, k+" ") {
				return false
			}
		}
		return true
	}
	if i := strings.IndexAny(want, "~="); i >= 0 && want[i] == '~' {
		k, s := want[:i], want[i+1:]
		for _, g := range got {
			if v, ok := strings.CutPrefix(g, k+"="); ok && strings.Contains(v, s) {
				return true
			}
		}
		return false
	}
	for _, g := range got {
		if g == want {
			return true
		}
	}
	return false
}
