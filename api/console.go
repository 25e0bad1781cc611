package api

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"switchyard"
	"switchyard/index"
	"switchyard/runbook"
	"switchyard/store"
)

// The admin console: server-rendered pages, no external assets. A session is
// created by signing in with an API key that carries config:admin; the cookie
// is HttpOnly and SameSite=Strict, every form carries the session's CSRF
// token, and the key is re-checked on every request, so a revoked key ends its
// sessions at once.

//go:embed console/*.html
var consoleFS embed.FS

var consoleTmpl = template.Must(template.New("").Funcs(template.FuncMap{
	"join": strings.Join,
	"ago": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
	},
	"dur": func(a, b time.Time) string {
		if a.IsZero() || b.IsZero() {
			return "—"
		}
		return b.Sub(a).Round(time.Millisecond).String()
	},
	"pct":         func(f float64) string { return strconv.FormatFloat(f*100, 'f', 0, 64) + "%" },
	"safeSnippet": func(s string) template.HTML { return template.HTML(s) }, // index.Hit.Snippet is HTML-escaped with <mark> only
	"policyLines": runbook.PolicyLines,
}).ParseFS(consoleFS, "console/*.html"))

const (
	sessionCookie = "sy_session"
	signinCookie  = "sy_signin"
)

type sessions struct {
	mu  sync.Mutex
	ttl time.Duration
	m   map[string]*session
}

type session struct {
	keyID   int64
	keyName string
	csrf    string
	expires time.Time
	// person is set when a person signed in with Atlassian (keyID is 0):
	// such a session decides approvals as person.AccountID and sees only
	// the approval queue.
	person *person
}

// Name is the signed-in key's name, or the person's (templates).
func (s *session) Name() string { return s.keyName }

// Person is the person signed in with Atlassian, or nil (templates).
func (s *session) Person() *person { return s.person }

func newSessions(ttl time.Duration) *sessions { return &sessions{ttl: ttl, m: map[string]*session{}} }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (ss *sessions) create(k store.APIKey) (string, *session) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	now := time.Now()
	for id, s := range ss.m {
		if now.After(s.expires) {
			delete(ss.m, id)
		}
	}
	id := randomToken()
	s := &session{keyID: k.ID, keyName: k.Name, csrf: randomToken(), expires: now.Add(ss.ttl)}
	ss.m[id] = s
	return id, s
}

func (ss *sessions) get(id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s, ok := ss.m[id]
	if !ok || time.Now().After(s.expires) {
		delete(ss.m, id)
		return nil
	}
	cp := *s
	return &cp
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	delete(ss.m, id)
}

type ctxSession struct{}

func (s *Server) consoleRoutes() {
	if s.opts.Store == nil {
		return
	}
	s.mux.HandleFunc("GET /console/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/connections", http.StatusSeeOther)
	})
	s.mux.HandleFunc("GET /console", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/console/connections", http.StatusSeeOther)
	})
	s.mux.HandleFunc("GET /console/signin", s.consoleSigninForm)
	s.mux.HandleFunc("POST /console/signin", s.consoleSignin)
	s.mux.HandleFunc("POST /console/signout", s.consoleAny(s.consoleSignout))
	s.signInRoutes()
	s.mux.HandleFunc("GET /console/connections", s.console(s.consoleConnections))
	s.mux.HandleFunc("POST /console/connections/{name}/connect", s.console(s.consoleConnect))
	s.mux.HandleFunc("POST /console/connections/{name}/disconnect", s.console(s.consoleDisconnect))
	s.mux.HandleFunc("GET /console/filters", s.console(s.consoleFilters))
	s.mux.HandleFunc("POST /console/filters", s.console(s.consoleSaveFilters))
	s.mux.HandleFunc("GET /console/sync", s.console(s.consoleSync))
	s.mux.HandleFunc("POST /console/sync", s.console(s.consoleTrigger))
	s.mux.HandleFunc("GET /console/sync/status.json", s.console(s.consoleSyncJSON))
	s.mux.HandleFunc("GET /console/search", s.console(s.consoleSearch))
	s.mux.HandleFunc("GET /console/search/suggest.json", s.console(s.consoleSuggestJSON))
	s.consoleApprovalRoutes()
}

// page is what every console template gets.
type page struct {
	Title   string
	Nav     string
	Session *session
	CSRF    string
	Nonce   string
	Runbook bool // the approval queue exists (nav)
	Flash   string
	Error   string
	Data    any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	if p.Session != nil {
		p.CSRF = p.Session.csrf
	}
	p.Nonce = randomToken()
	p.Runbook = s.opts.Runbook != nil
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Referrer-Policy", "same-origin")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; form-action 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; script-src 'nonce-"+p.Nonce+"'")
	w.WriteHeader(status)
	if err := consoleTmpl.ExecuteTemplate(w, name, p); err != nil {
		s.logger.Error("render console page", "page", name, "request_id", requestID(r.Context()), "err", err)
	}
}

// renderMessage shows a plain page (the OAuth callback's errors).
func (s *Server) renderMessage(w http.ResponseWriter, status int, title, msg string) {
	s.render(w, &http.Request{}, status, "message", page{Title: title, Error: msg})
}

// console wraps an admin console handler: a valid session whose key is
// still usable and carries config:admin, and on POST a matching CSRF token.
func (s *Server) console(h func(http.ResponseWriter, *http.Request, *session) error) http.HandlerFunc {
	return s.consoleFor(false, h)
}

// consoleAny also lets in people signed in with Atlassian (the approval
// queue, sign-out).
func (s *Server) consoleAny(h func(http.ResponseWriter, *http.Request, *session) error) http.HandlerFunc {
	return s.consoleFor(true, h)
}

func (s *Server) consoleFor(people bool, h func(http.ResponseWriter, *http.Request, *session) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var sess *session
		if c, err := r.Cookie(sessionCookie); err == nil {
			sess = s.sessions.get(c.Value)
		}
		if sess != nil && sess.person != nil && !people {
			s.render(w, r, http.StatusForbidden, "message", page{Title: "Forbidden", Session: sess,
				Error: "you are signed in with Atlassian as " + sess.keyName + ", which opens the approval queue only; this page needs the admin key sign-in"})
			return
		}
		if sess != nil && sess.person == nil {
			k, err := s.opts.Store.APIKey(r.Context(), sess.keyID)
			if err != nil || !k.Usable(time.Now()) || !k.HasScope(ScopeConfigAdmin) {
				if c, err := r.Cookie(sessionCookie); err == nil {
					s.sessions.delete(c.Value)
				}
				sess = nil
			}
		}
		if sess == nil {
			if strings.HasSuffix(r.URL.Path, ".json") {
				s.writeError(w, r, switchyard.Errorf(switchyard.ErrUnauthorized, "sign in to the console first"))
				return
			}
			http.Redirect(w, r, "/console/signin?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
			if err := r.ParseForm(); err != nil {
				s.render(w, r, http.StatusBadRequest, "message", page{Title: "Bad request", Session: sess, Error: "the form could not be read: " + err.Error()})
				return
			}
			if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(sess.csrf)) != 1 {
				s.render(w, r, http.StatusForbidden, "message", page{Title: "Forbidden", Session: sess, Error: "the form's CSRF token is missing or stale; reload the page and try again"})
				return
			}
		}
		if err := h(w, r.WithContext(context.WithValue(r.Context(), ctxSession{}, sess)), sess); err != nil {
			status, _ := statusOf(err)
			msg := err.Error()
			if status == http.StatusInternalServerError {
				s.logger.Error("console request failed", "request_id", requestID(r.Context()), "err", err)
				msg = "internal error; see the server log for request " + requestID(r.Context())
			}
			s.render(w, r, status, "message", page{Title: http.StatusText(status), Session: sess, Error: msg})
		}
	}
}

// secureCookies: cookies are Secure when browsers reach the server over
// HTTPS, including through a TLS-terminating proxy (public_url https).
func (s *Server) secureCookies() bool { return s.publicHTTPS() }

func safeNext(next string) string {
	if strings.HasPrefix(next, "/console/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, "\\") {
		return next
	}
	return "/console/connections"
}

func (s *Server) consoleSigninForm(w http.ResponseWriter, r *http.Request) {
	tok := randomToken()
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: tok, Path: "/console/signin", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(), MaxAge: 600})
	s.render(w, r, http.StatusOK, "signin", page{Title: "Sign in", CSRF: tok, Data: s.signinData(safeNext(r.URL.Query().Get("next")))})
}

// signinData is what the sign-in page shows: where to go next and whether
// "Sign in with Atlassian" is offered.
func (s *Server) signinData(next string) map[string]string {
	d := map[string]string{"Next": next}
	if s.opts.AtlassianSignIn != nil {
		// A person's session opens the approval queue and run pages only.
		if !strings.HasPrefix(next, "/console/approvals") && !strings.HasPrefix(next, "/console/runs/") {
			next = "/console/approvals"
		}
		d["Atlassian"] = signInPath + "?next=" + url.QueryEscape(next)
	}
	return d
}

func (s *Server) consoleSignin(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	fail := func(status int, msg string) {
		tok := randomToken()
		http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: tok, Path: "/console/signin", HttpOnly: true,
			SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(), MaxAge: 600})
		s.render(w, r, status, "signin", page{Title: "Sign in", CSRF: tok, Error: msg, Data: s.signinData(safeNext(r.PostFormValue("next")))})
	}
	if err := r.ParseForm(); err != nil {
		fail(http.StatusBadRequest, "the form could not be read")
		return
	}
	c, err := r.Cookie(signinCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		fail(http.StatusForbidden, "the sign-in form expired; try again")
		return
	}
	secret := strings.TrimSpace(r.PostFormValue("key"))
	if err := store.CheckAPIKeyFormat(secret); err != nil {
		fail(http.StatusUnauthorized, "that is not an API key (keys look like sy_…)")
		return
	}
	k, err := s.opts.Store.Authenticate(r.Context(), secret)
	if err != nil {
		if errors.Is(err, switchyard.ErrUnauthorized) {
			fail(http.StatusUnauthorized, "unknown, revoked or expired API key")
			return
		}
		s.logger.Error("console sign-in", "err", err)
		fail(http.StatusInternalServerError, "internal error")
		return
	}
	if !k.HasScope(ScopeConfigAdmin) {
		fail(http.StatusForbidden, "this key lacks the config:admin scope the console needs")
		return
	}
	id, _ := s.sessions.create(k)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: id, Path: "/console", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: s.secureCookies(), MaxAge: int(s.opts.SessionTTL.Seconds())})
	http.SetCookie(w, &http.Cookie{Name: signinCookie, Value: "", Path: "/console/signin", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookies()})
	s.logger.Info("console sign-in", "key_id", k.ID, "key_name", k.Name)
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (s *Server) consoleSignout(w http.ResponseWriter, r *http.Request, _ *session) error {
	if c, err := r.Cookie(sessionCookie); err == nil {
		s.sessions.delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/console", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: s.secureCookies()})
	http.Redirect(w, r, "/console/signin", http.StatusSeeOther)
	return nil
}

func (s *Server) consoleConnections(w http.ResponseWriter, r *http.Request, sess *session) error {
	var views []connectionView
	for _, name := range s.connNames {
		v, err := s.viewConnection(r.Context(), s.conns[name])
		if err != nil {
			return err
		}
		views = append(views, v)
	}
	s.render(w, r, http.StatusOK, "connections", page{Title: "Connections", Nav: "connections", Session: sess, Flash: s.flash(r.URL.Query()), Data: views})
	return nil
}

func (s *Server) consoleConnect(w http.ResponseWriter, r *http.Request, _ *session) error {
	c, err := s.connection(r.PathValue("name"))
	if err != nil {
		return err
	}
	if c.OAuth != nil {
		u, err := s.oauthStartURL(r.Context(), c.Name)
		if err != nil {
			return err
		}
		http.Redirect(w, r, u, http.StatusSeeOther)
		return nil
	}
	if err := s.connect(r.Context(), c); err != nil {
		return err
	}
	http.Redirect(w, r, flashURL("/console/connections", "connected", c.Name), http.StatusSeeOther)
	return nil
}

func (s *Server) consoleDisconnect(w http.ResponseWriter, r *http.Request, _ *session) error {
	c, err := s.connection(r.PathValue("name"))
	if err != nil {
		return err
	}
	purge := r.PostFormValue("purge") == "on"
	if purge {
		allowSlowAnswer(w)
	}
	if err := s.disconnect(r.Context(), c, purge); err != nil {
		return err
	}
	code := "disconnected"
	if purge {
		code = "purged"
	}
	http.Redirect(w, r, flashURL("/console/connections", code, c.Name), http.StatusSeeOther)
	return nil
}

// filtersForm is the filters page's form, as text fields.
type filtersForm struct {
	Connection                    string
	Connections                   []string
	Source, Hash                  string
	FullSyncNext                  bool
	ProjectsIn, ProjectsNotIn     string
	CreatedAfter, CreatedBefore   string
	UpdatedAfter, UpdatedBefore   string
	Issues, Comments, Attachments bool
}

func formOf(v filtersView, names []string) filtersForm {
	f := v.Filters
	d := func(x *switchyard.Date) string {
		if x == nil {
			return ""
		}
		return x.String()
	}
	return filtersForm{Connection: v.Connection, Connections: names, Source: v.Source, Hash: v.Hash, FullSyncNext: v.FullSyncNext,
		ProjectsIn: strings.Join(f.Projects.In, ", "), ProjectsNotIn: strings.Join(f.Projects.NotIn, ", "),
		CreatedAfter: d(f.Created.After), CreatedBefore: d(f.Created.Before), UpdatedAfter: d(f.Updated.After), UpdatedBefore: d(f.Updated.Before),
		Issues: f.IndexIssues(), Comments: f.IndexComments(), Attachments: f.IndexAttachments()}
}

func (s *Server) consoleFilters(w http.ResponseWriter, r *http.Request, sess *session) error {
	c, err := s.connectionParam(r.URL.Query().Get("connection"), "connection")
	if err != nil {
		return err
	}
	v, err := s.filtersView(r.Context(), c)
	if err != nil {
		return err
	}
	flash := ""
	if r.URL.Query().Get("saved") != "" {
		flash = "Filters saved. The next sync of " + c.Name + " is a full sync."
	}
	s.render(w, r, http.StatusOK, "filters", page{Title: "Sync filters", Nav: "filters", Session: sess, Flash: flash, Data: formOf(v, s.connNames)})
	return nil
}

func (s *Server) consoleSaveFilters(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.needEngine(); err != nil {
		return err
	}
	c, err := s.connectionParam(r.PostFormValue("connection"), "connection")
	if err != nil {
		return err
	}
	var in filtersInput
	in.Projects.In = listParam([]string{r.PostFormValue("projects_in")})
	in.Projects.NotIn = listParam([]string{r.PostFormValue("projects_not_in")})
	for _, d := range []struct {
		field string
		into  **string
	}{{"created_after", &in.Created.After}, {"created_before", &in.Created.Before}, {"updated_after", &in.Updated.After}, {"updated_before", &in.Updated.Before}} {
		if v := strings.TrimSpace(r.PostFormValue(d.field)); v != "" {
			*d.into = &v
		}
	}
	on := func(name string) *bool { b := r.PostFormValue(name) == "on"; return &b }
	in.Index.Issues, in.Index.Comments, in.Index.Attachments = on("index_issues"), on("index_comments"), on("index_attachments")
	f, err := in.filters()
	if err == nil {
		err = s.saveFilters(r.Context(), c, f)
	}
	if err != nil {
		if status, _ := statusOf(err); status != http.StatusBadRequest {
			return err
		}
		// Re-show the form with what was typed and the error naming the field.
		form := filtersForm{Connection: c.Name, Connections: s.connNames, Source: "(not saved)",
			ProjectsIn: r.PostFormValue("projects_in"), ProjectsNotIn: r.PostFormValue("projects_not_in"),
			CreatedAfter: r.PostFormValue("created_after"), CreatedBefore: r.PostFormValue("created_before"),
			UpdatedAfter: r.PostFormValue("updated_after"), UpdatedBefore: r.PostFormValue("updated_before"),
			Issues: *in.Index.Issues, Comments: *in.Index.Comments, Attachments: *in.Index.Attachments}
		s.render(w, r, http.StatusBadRequest, "filters", page{Title: "Sync filters", Nav: "filters", Session: sess, Error: err.Error(), Data: form})
		return nil
	}
	http.Redirect(w, r, "/console/filters?saved=1&connection="+url.QueryEscape(c.Name), http.StatusSeeOther)
	return nil
}

func (s *Server) consoleStatuses(ctx context.Context) ([]syncStatus, error) {
	var out []syncStatus
	for _, name := range s.connNames {
		cs, err := s.opts.Store.ConnectionState(ctx, name)
		if err != nil {
			return nil, err
		}
		st, err := s.syncStatus(ctx, name, cs)
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

func (s *Server) consoleSync(w http.ResponseWriter, r *http.Request, sess *session) error {
	if err := s.needEngine(); err != nil {
		return err
	}
	sts, err := s.consoleStatuses(r.Context())
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "sync", page{Title: "Sync", Nav: "sync", Session: sess, Flash: s.flash(r.URL.Query()), Data: sts})
	return nil
}

func (s *Server) consoleTrigger(w http.ResponseWriter, r *http.Request, _ *session) error {
	if err := s.needEngine(); err != nil {
		return err
	}
	c, err := s.connectionParam(r.PostFormValue("connection"), "connection")
	if err != nil {
		return err
	}
	if off, err := s.disabled(r.Context(), c.Name); err != nil {
		return err
	} else if off {
		return switchyard.Errorf(switchyard.ErrConflict, "connection %s is disconnected: connect it before syncing", c.Name)
	}
	full := r.PostFormValue("full") == "true"
	if err := s.opts.Engine.Trigger(c.Name, full); err != nil {
		return err
	}
	code := "sync"
	if full {
		code = "full_sync"
	}
	http.Redirect(w, r, flashURL("/console/sync", code, c.Name), http.StatusSeeOther)
	return nil
}

// consoleSyncJSON feeds the sync page's live progress.
func (s *Server) consoleSyncJSON(w http.ResponseWriter, r *http.Request, _ *session) error {
	if err := s.needEngine(); err != nil {
		return err
	}
	sts, err := s.consoleStatuses(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"connections": sts})
	return nil
}

type searchPage struct {
	Connections []string
	Connection  string
	As, Q       string
	Searched    bool
	Result      *searchResponse
}

func (s *Server) consoleSearch(w http.ResponseWriter, r *http.Request, sess *session) error {
	q := r.URL.Query()
	p := searchPage{Connections: s.connNames, Connection: q.Get("connection"), As: q.Get("as"), Q: q.Get("q")}
	if p.Connection == "" && len(s.connNames) > 0 {
		p.Connection = s.connNames[0]
	}
	status, errMsg := http.StatusOK, ""
	if q.Has("q") && s.opts.Index != nil {
		p.Searched = true
		req, err := s.searchRequest(url.Values{"q": {p.Q}, "as": {p.As}, "connection": {p.Connection}, "size": {"50"}})
		var res *index.SearchResult
		if err == nil {
			res, err = s.opts.Index.Search(r.Context(), req)
		}
		if err != nil {
			if st, _ := statusOf(err); st != http.StatusBadRequest {
				return err
			}
			status, errMsg = http.StatusBadRequest, err.Error()
		} else {
			p.Result = &searchResponse{Connection: req.Connection, As: req.AsUser, Total: res.Total, Hits: res.Hits, TookMS: float64(res.Took.Microseconds()) / 1000}
		}
	}
	s.render(w, r, status, "search", page{Title: "Search as a user", Nav: "search", Session: sess, Error: errMsg, Data: p})
	return nil
}
