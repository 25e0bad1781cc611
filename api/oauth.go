package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"switchyard"
)

// oauthStateTTL bounds how long an admin may take on Atlassian's consent page.
const oauthStateTTL = 10 * time.Minute

// handleOAuthStart: GET /api/v1/connections/{name}/oauth/start redirects to
// the consent page with a stored, single-use, expiring state.
func (s *Server) handleOAuthStart(w http.ResponseWriter, r *http.Request) error {
	u, err := s.oauthStartURL(r.Context(), r.PathValue("name"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, u, http.StatusFound)
	return nil
}

func (s *Server) oauthStartURL(ctx context.Context, name string) (string, error) {
	if err := s.needStore(); err != nil {
		return "", err
	}
	c, err := s.connection(name)
	if err != nil {
		return "", err
	}
	if c.OAuth == nil {
		return "", switchyard.Errorf(switchyard.ErrConflict, "connection %s uses %s auth, not oauth: there is nothing to authorize", c.Name, c.Auth)
	}
	state, err := s.opts.Store.CreateOAuthState(ctx, c.Name, oauthStateTTL)
	if err != nil {
		return "", err
	}
	return c.OAuth.AuthCodeURL(state), nil
}

// handleOAuthCallback: GET /oauth/callback checks state (single use), trades
// the code for tokens, checks the token reaches the connection's site (cloud
// id), stores the tokens encrypted, and starts syncing. A browser lands here,
// so the answer is a small page (JSON when the client asks for it).
func (s *Server) handleOAuthCallback(w http.ResponseWriter, r *http.Request) {
	conn, err := s.oauthCallback(r)
	if err != nil {
		if wantsJSON(r) {
			s.writeError(w, r, err)
			return
		}
		status, _ := statusOf(err)
		msg := err.Error()
		if status == http.StatusInternalServerError {
			s.logger.Error("oauth callback failed", "request_id", requestID(r.Context()), "err", err)
			msg = "internal error; see the server log for request " + requestID(r.Context())
		}
		s.renderMessage(w, status, "Connection failed", msg)
		return
	}
	if wantsJSON(r) {
		writeJSON(w, http.StatusOK, map[string]string{"connection": conn, "status": "connected"})
		return
	}
	http.Redirect(w, r, flashURL("/console/connections", "connected", conn), http.StatusSeeOther)
}

func (s *Server) oauthCallback(r *http.Request) (string, error) {
	if err := s.needStore(); err != nil {
		return "", err
	}
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		return "", switchyard.FieldErrorf(switchyard.ErrInvalid, "state", "is missing")
	}
	name, err := s.opts.Store.ConsumeOAuthState(r.Context(), state)
	if err != nil {
		return "", err
	}
	if e := q.Get("error"); e != "" {
		return "", switchyard.FieldErrorf(switchyard.ErrInvalid, "error", "Atlassian refused the authorization: %s %s", e, q.Get("error_description"))
	}
	c, err := s.connection(name)
	if err != nil || c.OAuth == nil {
		return "", switchyard.Errorf(switchyard.ErrNotFound, "connection %q is no longer an OAuth connection", name)
	}
	code := q.Get("code")
	if code == "" {
		return "", switchyard.FieldErrorf(switchyard.ErrInvalid, "code", "is missing")
	}
	tok, err := c.OAuth.Exchange(r.Context(), code)
	if err != nil {
		return "", fmt.Errorf("exchange the authorization code: %w", err)
	}
	if _, err := c.OAuth.CloudID(r.Context(), tok, c.URL); err != nil {
		return "", err
	}
	if err := s.opts.Store.SaveToken(r.Context(), c.Name, tok); err != nil {
		if isNoTokenKey(err) {
			return "", switchyard.Errorf(switchyard.ErrConflict, "%v", err)
		}
		return "", err
	}
	if err := s.connect(r.Context(), c); err != nil {
		return "", err
	}
	s.logger.Info("connection authorized", "connection", c.Name)
	return c.Name, nil
}

func wantsJSON(r *http.Request) bool {
	return r.Header.Get("Accept") == "application/json"
}
