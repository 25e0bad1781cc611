package api

import (
	"context"
	"fmt"
	"net/http"
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
	s.registerAPI()
	// Unknown API paths answer in the API's error shape, not net/http's text.
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
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
	writeJSON(w, http.StatusOK, map[string]any{"id": k.ID, "name": k.Name, "scopes": k.Scopes})
	return nil
}
