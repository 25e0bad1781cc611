package jirasim

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"switchyard"
)

// Defaults applied by New when an Options field is zero.
const (
	DefaultAdminToken        = "sim-admin-token"
	DefaultOAuthClientID     = "switchyard-sim"
	DefaultOAuthClientSecret = "sim-client-secret"
	DefaultAccessTokenTTL    = time.Hour
	DefaultCloudID           = "11111111-2222-4333-8444-555555555555"
)

// Options configure a Server. The embedded GenerateOptions describe the world
// New generates; the rest are credentials and the misbehaviour knobs.
type Options struct {
	GenerateOptions

	AdminToken        string        // Cloud API token (Basic with AdminEmail) and Data Center PAT (Bearer)
	Latency           time.Duration // added to every API request
	RateLimit         float64       // requests per second across all callers; 0 = off
	FaultRate         float64       // 0..1: share of API requests that fail on purpose
	OAuthClientID     string
	OAuthClientSecret string
	AccessTokenTTL    time.Duration
	CloudID           string

	DataCenter DCOptions // Data Center fidelity (see DCOptions); ignored in Cloud mode
}

// DCOptions make a Data Center simulator answer like a real Data Center site
// rather than like the client expects.
type DCOptions struct {
	// ContextPath serves the site under a path, as many Data Center sites are
	// (https://host/jira): every REST and /secure/ URL lives below it, links
	// carry it, and requests outside it get 404. "" serves at the root.
	ContextPath string
	// PickerLimit caps every groups/picker answer, as Jira's
	// jira.ajax.autocomplete.limit does, whatever maxResults asks; the answer
	// still reports the total. 0 means DefaultPickerLimit; -1 means no cap.
	PickerLimit int
	// LevelMembersEndpoint also serves
	// /rest/api/2/issuesecurityschemes/{id}/members, which the Data Center
	// reference (through 9.12) does not list: off, it answers 404 like a real
	// site; on, it stands for a site that has it (Cloud-shaped).
	LevelMembersEndpoint bool
	// UserListEndpoint serves GET /rest/api/2/user/list (cursor-paged, as
	// in Data Center 10.3 LTS and 11.0+); off, it answers 404 as before 10.3.
	UserListEndpoint bool
	// UserSearchLimit caps every user/search answer: 1000 on Data Center 9
	// (the default, 0), 100 on Data Center 10.
	UserSearchLimit int
}

// DefaultPickerLimit is Jira's default jira.ajax.autocomplete.limit, the cap
// in the documented groups/picker example ("Showing 20 of 25 matching groups").
const DefaultPickerLimit = 20

func (o *Options) setDefaults() {
	if o.AdminToken == "" {
		o.AdminToken = DefaultAdminToken
	}
	if o.OAuthClientID == "" {
		o.OAuthClientID = DefaultOAuthClientID
	}
	if o.OAuthClientSecret == "" {
		o.OAuthClientSecret = DefaultOAuthClientSecret
	}
	if o.AccessTokenTTL <= 0 {
		o.AccessTokenTTL = DefaultAccessTokenTTL
	}
	if o.CloudID == "" {
		o.CloudID = DefaultCloudID
	}
	o.DataCenter.ContextPath = normContextPath(o.DataCenter.ContextPath)
	if o.DataCenter.PickerLimit == 0 {
		o.DataCenter.PickerLimit = DefaultPickerLimit
	}
}

// normContextPath makes "jira/", "/jira/" and "/jira" all "/jira"; "/" is "".
func normContextPath(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

// ValidContextPath reports whether p can be a context path: "" or path
// segments of letters, digits and -._~ only.
func ValidContextPath(p string) error {
	t := strings.Trim(p, "/")
	if t == "" {
		return nil
	}
	const ok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~"
	for _, seg := range strings.Split(t, "/") {
		if seg == "" || seg == "." || seg == ".." || strings.Trim(seg, ok) != "" {
			return fmt.Errorf("context path %q: segment %q must be letters, digits or -._~", p, seg)
		}
	}
	return nil
}

// Knobs are the misbehaviour settings that can change while the server runs
// (SetKnobs, PUT /_sim/knobs).
type Knobs struct {
	Latency   time.Duration
	RateLimit float64 // requests per second; 0 = off
	FaultRate float64 // 0..1
	// AuditForbidden makes the audit endpoints answer 403, as Jira does for a
	// caller without Administer Jira (or on Free plans).
	AuditForbidden bool
}

func (k Knobs) validate() error {
	switch {
	case k.Latency < 0:
		return fmt.Errorf("latency %s: must not be negative", k.Latency)
	case k.RateLimit < 0:
		return fmt.Errorf("rateLimit %g: must not be negative", k.RateLimit)
	case k.FaultRate < 0 || k.FaultRate > 1:
		return fmt.Errorf("faultRate %g: must be between 0 and 1", k.FaultRate)
	}
	return nil
}

// Server serves a World as Jira Cloud or Data Center over HTTP.
type Server struct {
	opts  Options
	world *World

	adminAccountID string
	adminEmail     string

	cloud *http.ServeMux // Jira Cloud REST routes
	dc    *http.ServeMux // Data Center REST routes
	oauth *oauthServer

	mu      sync.Mutex // guards knobs, limiter, rng, baseURL
	knobs   Knobs
	limiter *rate.Limiter
	rng     *rand.Rand
	baseURL string

	stats statsCounter

	closeOnce sync.Once
	closed    chan struct{}
}

// New generates a world from o.GenerateOptions and serves it.
func New(o Options) *Server {
	return NewWithWorld(Generate(o.GenerateOptions), o)
}

// NewWithWorld serves an existing world (tests build small worlds by hand).
func NewWithWorld(w *World, o Options) *Server {
	o.setDefaults()
	s := &Server{
		opts:   o,
		world:  w,
		rng:    rand.New(rand.NewPCG(uint64(o.Seed), uint64(o.Seed)^0x5eed5eed)),
		closed: make(chan struct{}),
	}
	// A hand-built world has no lookup maps yet; build them before any reader.
	w.mu.Lock()
	w.ensureIndex()
	w.mu.Unlock()
	s.adminAccountID = w.AdminAccountID()
	s.adminEmail = o.AdminEmail
	w.RLock()
	if u := w.UserByID(s.adminAccountID); u != nil && s.adminEmail == "" {
		s.adminEmail = u.Email
		if s.adminEmail == "" {
			s.adminEmail = u.HiddenEmail
		}
	}
	w.RUnlock()
	// Dynamic webhooks filter by JQL; the world calls this with its write lock
	// held, so it uses only the lock-free lookups.
	w.SetWebhookJQLMatcher(s.webhookJQLMatch)
	s.oauth = newOAuthServer(s)
	s.cloud = s.cloudRoutes()
	s.dc = s.dcRoutes()
	// Knobs from Options are valid by construction in cmd (flags are checked);
	// clamp here so a library caller cannot wedge the server.
	k := Knobs{Latency: o.Latency, RateLimit: o.RateLimit, FaultRate: o.FaultRate}
	if err := k.validate(); err != nil {
		slog.Warn("jirasim: ignoring invalid knobs in Options", "err", err)
		k = Knobs{}
	}
	s.applyKnobs(k)
	return s
}

// World returns the served world. Mutate it through its methods, never directly.
func (s *Server) World() *World { return s.world }

// Options returns the effective options (defaults applied).
func (s *Server) Options() Options { return s.opts }

// AdminEmail is the email that, with the admin token, authenticates as the admin.
func (s *Server) AdminEmail() string { return s.adminEmail }

// SetBaseURL sets the externally visible base URL (no trailing slash), used in
// self links, attachment content URLs and webhook payloads.
func (s *Server) SetBaseURL(u string) {
	u = strings.TrimRight(u, "/")
	s.mu.Lock()
	s.baseURL = u
	s.mu.Unlock()
	s.world.SetBaseURL(u + s.contextPath())
}

// contextPath is the Data Center context path ("" at the root or on Cloud).
func (s *Server) contextPath() string {
	if s.world.Mode != switchyard.ModeDataCenter {
		return ""
	}
	return s.opts.DataCenter.ContextPath
}

// base returns the base URL for links in a response to r.
func (s *Server) base(r *http.Request) string {
	s.mu.Lock()
	b := s.baseURL
	s.mu.Unlock()
	if b != "" {
		return b + s.contextPath()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + s.contextPath()
}

// SetKnobs changes latency, rate limit, fault rate and audit access at run time.
func (s *Server) SetKnobs(k Knobs) error {
	if err := k.validate(); err != nil {
		return err
	}
	s.applyKnobs(k)
	return nil
}

// Knobs returns the current knobs.
func (s *Server) Knobs() Knobs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.knobs
}

func (s *Server) applyKnobs(k Knobs) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.knobs = k
	s.limiter = nil
	if k.RateLimit > 0 {
		burst := int(k.RateLimit + 0.999)
		if burst < 1 {
			burst = 1
		}
		s.limiter = rate.NewLimiter(rate.Limit(k.RateLimit), burst)
	}
}

// Close stops background work (webhook deliveries) and makes later requests
// fail with 503; it does not close listeners it does not own.
func (s *Server) Close() error {
	s.closeOnce.Do(func() {
		close(s.closed)
		s.world.Close()
	})
	return nil
}

// ServeHTTP routes /_sim/* to the world (no auth, no faults), the OAuth
// authorization server endpoints, the API gateway /ex/jira/{cloudId}/… and /rest/….
func (s *Server) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	select {
	case <-s.closed:
		apiError(rw, http.StatusServiceUnavailable, "The simulator is shutting down.")
		return
	default:
	}
	p := r.URL.Path
	if cp := s.contextPath(); cp != "" && !strings.HasPrefix(p, "/_sim/") {
		// The servlet container answers only below the context path.
		if !strings.HasPrefix(p, cp+"/") {
			apiError(rw, http.StatusNotFound, "Not found: "+p+" (this site is served under "+cp+")")
			return
		}
		r2 := new(http.Request)
		*r2 = *r
		u := *r.URL
		u.Path = strings.TrimPrefix(p, cp)
		u.RawPath = ""
		r2.URL = &u
		r, p = r2, u.Path
		if !strings.HasPrefix(p, "/rest/") && !strings.HasPrefix(p, "/secure/") {
			apiError(rw, http.StatusNotFound, "Not found: "+cp+p)
			return
		}
	}
	switch {
	case p == "/_sim/knobs":
		s.serveKnobs(rw, r)
	case p == "/_sim/stats":
		s.serveStats(rw, r)
	case strings.HasPrefix(p, "/_sim/"):
		s.world.ServeSim(rw, r)
	case p == "/authorize", p == "/oauth/token", p == "/oauth/token/accessible-resources", p == "/me":
		s.oauth.ServeHTTP(rw, r)
	case strings.HasPrefix(p, "/ex/jira/"):
		s.serveGateway(rw, r)
	case strings.HasPrefix(p, "/rest/"), strings.HasPrefix(p, "/secure/"):
		s.serveAPI(rw, r, false)
	default:
		apiError(rw, http.StatusNotFound, "Not found: "+p)
	}
}

// serveGateway serves api.atlassian.com/ex/jira/{cloudId}/rest/… : only OAuth
// bearer tokens are accepted there, and the cloud id must be this site's.
func (s *Server) serveGateway(rw http.ResponseWriter, r *http.Request) {
	rest := strings.TrimPrefix(r.URL.Path, "/ex/jira/")
	cloudID, tail, _ := strings.Cut(rest, "/")
	if cloudID != s.opts.CloudID || !strings.HasPrefix("/"+tail, "/rest/") {
		apiError(rw, http.StatusNotFound, "Site not found for cloud id "+cloudID+".")
		return
	}
	r2 := new(http.Request)
	*r2 = *r
	u := *r.URL
	u.Path = "/" + tail
	u.RawPath = ""
	r2.URL = &u
	s.serveAPI(rw, r2, true)
}

func (s *Server) routes() *http.ServeMux {
	if s.world.Mode == switchyard.ModeDataCenter {
		return s.dc
	}
	return s.cloud
}

// serveKnobs: GET returns the knobs; PUT changes the fields present in the body.
func (s *Server) serveKnobs(rw http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
	case http.MethodPut, http.MethodPost:
		var in struct {
			Latency        *string  `json:"latency"`
			RateLimit      *float64 `json:"rateLimit"`
			FaultRate      *float64 `json:"faultRate"`
			AuditForbidden *bool    `json:"auditForbidden"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(rw, r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			apiError(rw, http.StatusBadRequest, "knobs: invalid JSON body: "+err.Error())
			return
		}
		k := s.Knobs()
		if in.Latency != nil {
			d, err := time.ParseDuration(*in.Latency)
			if err != nil {
				apiError(rw, http.StatusBadRequest, fmt.Sprintf("latency %q: not a duration like 250ms", *in.Latency))
				return
			}
			k.Latency = d
		}
		if in.RateLimit != nil {
			k.RateLimit = *in.RateLimit
		}
		if in.FaultRate != nil {
			k.FaultRate = *in.FaultRate
		}
		if in.AuditForbidden != nil {
			k.AuditForbidden = *in.AuditForbidden
		}
		if err := s.SetKnobs(k); err != nil {
			apiError(rw, http.StatusBadRequest, err.Error())
			return
		}
	default:
		rw.Header().Set("Allow", "GET, PUT")
		apiError(rw, http.StatusMethodNotAllowed, "Use GET or PUT.")
		return
	}
	k := s.Knobs()
	apiJSON(rw, http.StatusOK, map[string]any{
		"latency":        k.Latency.String(),
		"rateLimit":      k.RateLimit,
		"faultRate":      k.FaultRate,
		"auditForbidden": k.AuditForbidden,
	})
}

func (s *Server) serveStats(rw http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		rw.Header().Set("Allow", "GET")
		apiError(rw, http.StatusMethodNotAllowed, "Use GET.")
		return
	}
	apiJSON(rw, http.StatusOK, s.Stats())
}

// apiJSON writes v with an exact Content-Length (the truncation fault relies on it).
func apiJSON(rw http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"errorMessages":["internal error encoding the response"],"errors":{}}`)
	}
	rw.Header().Set("Content-Type", "application/json;charset=UTF-8")
	rw.Header().Set("Content-Length", fmt.Sprint(len(b)))
	rw.WriteHeader(status)
	_, _ = rw.Write(b)
}

// jiraErrors is Jira's ErrorCollection.
type jiraErrors struct {
	ErrorMessages []string          `json:"errorMessages"`
	Errors        map[string]string `json:"errors"`
}

// apiError writes Jira's error shape {"errorMessages":[…],"errors":{}}.
func apiError(rw http.ResponseWriter, status int, msgs ...string) {
	if msgs == nil {
		msgs = []string{}
	}
	apiJSON(rw, status, jiraErrors{ErrorMessages: msgs, Errors: map[string]string{}})
}

// apiFieldError writes Jira's error shape with a field error.
func apiFieldError(rw http.ResponseWriter, status int, field, msg string) {
	apiJSON(rw, status, jiraErrors{ErrorMessages: []string{}, Errors: map[string]string{field: msg}})
}

type bodyTooLarge struct{ limit int64 }

func (e *bodyTooLarge) Error() string {
	return fmt.Sprintf("the request body is larger than %d bytes", e.limit)
}

// apiBadBody answers a body apiDecode refused: 413 when too large, else 400.
func apiBadBody(rw http.ResponseWriter, err error) {
	var tooBig *bodyTooLarge
	if errors.As(err, &tooBig) {
		apiError(rw, http.StatusRequestEntityTooLarge, err.Error())
		return
	}
	apiError(rw, http.StatusBadRequest, err.Error())
}

// apiDecode decodes a JSON request body strictly: unknown fields, trailing
// data and bodies over max bytes are rejected.
func apiDecode(rw http.ResponseWriter, r *http.Request, max int64, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(rw, r.Body, max))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &bodyTooLarge{limit: tooBig.Limit}
		}
		return fmt.Errorf("invalid JSON body: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("invalid JSON body: data after the JSON value")
	}
	return nil
}
