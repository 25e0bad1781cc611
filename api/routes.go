package api

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"switchyard"
)

// routes registers every route. Handlers live in files named for what they serve.
func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.handleHealthz)
	s.mux.HandleFunc("GET /readyz", s.handleReadyz)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{}))
	s.api("GET", "/api/v1/whoami", "", s.handleWhoami)
	s.api("GET", "/api/v1/search", ScopeSearchRead, s.handleSearch)
	s.api("GET", "/api/v1/search/suggest", ScopeSearchRead, s.handleSuggest)
	s.api("GET", "/api/v1/issues/{key}/similar", ScopeSearchRead, s.handleSimilar)
	s.api("POST", "/api/v1/sync", ScopeSyncAdmin, s.handleSyncTrigger)
	s.api("GET", "/api/v1/sync/status", ScopeSyncAdmin, s.handleSyncStatus)
	s.api("GET", "/api/v1/cluster", ScopeSyncAdmin, s.handleCluster)
	s.api("GET", "/api/v1/sync/filters", ScopeSyncAdmin, s.handleGetFilters)
	s.api("PUT", "/api/v1/sync/filters", ScopeConfigAdmin, s.handlePutFilters)
	s.api("GET", "/api/v1/connections", ScopeSyncAdmin, s.handleConnections)
	s.api("DELETE", "/api/v1/connections/{name}", ScopeConfigAdmin, s.handleDisconnect)
	s.api("POST", "/api/v1/connections/{name}/connect", ScopeConfigAdmin, s.handleConnect)
	s.api("GET", "/api/v1/connections/{name}/oauth/start", ScopeConfigAdmin, s.handleOAuthStart)
	s.api("GET", "/api/v1/keys", ScopeConfigAdmin, s.handleListKeys)
	s.api("POST", "/api/v1/keys", ScopeConfigAdmin, s.handleCreateKey)
	s.api("DELETE", "/api/v1/keys/{id}", ScopeConfigAdmin, s.handleRevokeKey)
	s.runbookRoutes()
	s.needsInputRoutes()
	s.registerAPI()
	// Public routes: Jira signs webhooks itself, the OAuth callback is
	// authenticated by its single-use state, and the API document is public.
	s.public("POST", "/api/v1/webhooks/jira/{connection}", s.handleJiraWebhook)
	s.public("GET", "/api/v1/openapi.yaml", s.handleOpenAPI)
	s.mux.HandleFunc("GET /oauth/callback", s.handleOAuthCallback)
	s.consoleRoutes()
	// Unknown API paths answer in the API's error shape, not net/http's text.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		if !s.chargeUnauthenticated(w, r) {
			return
		}
		s.writeError(w, r, switchyard.Errorf(switchyard.ErrNotFound, "no such endpoint: %s %s", r.Method, r.URL.Path))
	})
}

// api collects an API route; registerAPI mounts each path once and dispatches
// by method itself, so that a wrong method gets a JSON 405 with an Allow header
// (net/http's own 405 is plain text).
func (s *Server) api(method, path, scope string, h func(http.ResponseWriter, *http.Request) error) {
	if s.apiRoutes == nil {
		s.apiRoutes = map[string]map[string]http.HandlerFunc{}
	}
	if s.apiRoutes[path] == nil {
		s.apiRoutes[path] = map[string]http.HandlerFunc{}
	}
	s.apiRoutes[path][method] = s.requireScope(scope, h)
}

// public registers an API route that needs no key, with the same JSON 405.
func (s *Server) public(method, path string, h http.HandlerFunc) {
	if !slices.Contains(s.publicRoutes, method+" "+path) {
		s.publicRoutes = append(s.publicRoutes, method+" "+path)
	}
	s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != method {
			w.Header().Set("Allow", method)
			s.writeError(w, r, fmt.Errorf("%w: %s %s (allowed: %s)", errMethodNotAllowed, r.Method, r.URL.Path, method))
			return
		}
		h(w, r)
	})
}

// Routes lists the registered API routes as "METHOD /path" (the OpenAPI test
// checks that each is documented).
func (s *Server) Routes() []string {
	var out []string
	for path, byMethod := range s.apiRoutes {
		for m := range byMethod {
			out = append(out, m+" "+path)
		}
	}
	out = append(out, s.publicRoutes...)
	sort.Strings(out)
	return out
}

func (s *Server) registerAPI() {
	for path, byMethod := range s.apiRoutes {
		allow := make([]string, 0, len(byMethod))
		for m := range byMethod {
			allow = append(allow, m)
		}
		sort.Strings(allow)
		s.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
			h, ok := byMethod[r.Method]
			if !ok && r.Method == http.MethodHead {
				h, ok = byMethod[http.MethodGet]
			}
			if !ok {
				w.Header().Set("Allow", strings.Join(allow, ", "))
				s.writeError(w, r, fmt.Errorf("%w: %s %s (allowed: %s)", errMethodNotAllowed, r.Method, r.URL.Path, strings.Join(allow, ", ")))
				return
			}
			h(w, r)
		})
	}
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := s.opts.Ready(ctx); err != nil {
			s.logger.Warn("not ready", "err", err)
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "reason": err.Error()})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// handleWhoami tells a key holder what their key may do; useful for set-up checks.
func (s *Server) handleWhoami(w http.ResponseWriter, r *http.Request) error {
	k, _ := principal(r.Context())
	writeJSON(w, http.StatusOK, k)
	return nil
}
