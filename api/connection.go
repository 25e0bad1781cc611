package api

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"switchyard"
	"switchyard/store"
)

// connection finds a configured connection by name.
func (s *Server) connection(name string) (*Connection, error) {
	if c, ok := s.conns[name]; ok {
		return c, nil
	}
	if len(s.connNames) == 0 {
		return nil, switchyard.Errorf(switchyard.ErrNotFound, "no connection %q: none is configured", name)
	}
	return nil, switchyard.Errorf(switchyard.ErrNotFound, "no connection %q (configured: %s)", name, strings.Join(s.connNames, ", "))
}

// connectionParam resolves the connection a request names in field (query
// parameter or body field); it may be omitted when exactly one is configured.
func (s *Server) connectionParam(name, field string) (*Connection, error) {
	if name == "" {
		if len(s.connNames) == 1 {
			return s.conns[s.connNames[0]], nil
		}
		if len(s.connNames) == 0 {
			return nil, switchyard.Errorf(switchyard.ErrNotFound, "no connection is configured")
		}
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, field, "is required when several connections are configured (%s)", strings.Join(s.connNames, ", "))
	}
	c, ok := s.conns[name]
	if !ok {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, field, "%q is not a configured connection (configured: %s)", name, strings.Join(s.connNames, ", "))
	}
	return c, nil
}

func (s *Server) needStore() error {
	if s.opts.Store == nil {
		return switchyard.Errorf(switchyard.ErrNotFound, "this server has no store")
	}
	return nil
}

func (s *Server) needEngine() error {
	if s.opts.Engine == nil {
		return switchyard.Errorf(switchyard.ErrNotFound, "this server runs no sync engine")
	}
	return nil
}

// connectionView is a connection as GET /api/v1/connections shows it.
type connectionView struct {
	Name      string `json:"name"`
	Kind      string `json:"kind"`
	URL       string `json:"url"`
	Auth      string `json:"auth"`
	Connected bool   `json:"connected"`
	// Status: connected | disconnected | needs_authorization (OAuth without a token).
	Status         string     `json:"status"`
	Webhooks       string     `json:"webhooks"` // admin (X-Hub-Signature) | dynamic (OAuth JWT) | none
	Sync           syncStatus `json:"sync"`
	FiltersEdited  bool       `json:"filtersEdited"`
	OAuthStartPath string     `json:"oauthStartPath,omitempty"`
}

func (s *Server) viewConnection(ctx context.Context, c *Connection) (connectionView, error) {
	v := connectionView{Name: c.Name, Kind: c.Kind, URL: c.URL, Auth: c.Auth, Webhooks: "none"}
	switch {
	case c.OAuth != nil:
		v.Webhooks = "dynamic"
	case c.WebhookSecret != "":
		v.Webhooks = "admin"
	}
	st, err := s.opts.Store.ConnectionState(ctx, c.Name)
	if err != nil {
		return v, err
	}
	v.FiltersEdited = len(st.Filters) > 0
	v.Connected, v.Status = !st.Disabled, "connected"
	if st.Disabled {
		v.Status = "disconnected"
	}
	if c.OAuth != nil {
		v.OAuthStartPath = "/api/v1/connections/" + c.Name + "/oauth/start"
		has, err := s.opts.Store.HasToken(ctx, c.Name)
		if err != nil {
			return v, err
		}
		if !has {
			v.Connected = false
			if !st.Disabled {
				v.Status = "needs_authorization"
			}
		}
	}
	if s.opts.Engine != nil {
		if v.Sync, err = s.syncStatus(ctx, c.Name, st); err != nil {
			return v, err
		}
	}
	return v, nil
}

func (s *Server) handleConnections(w http.ResponseWriter, r *http.Request) error {
	if err := s.needStore(); err != nil {
		return err
	}
	out := []connectionView{}
	for _, name := range s.connNames {
		v, err := s.viewConnection(r.Context(), s.conns[name])
		if err != nil {
			return err
		}
		out = append(out, v)
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": out})
	return nil
}

// handleDisconnect removes the connection's tokens and stops its syncing;
// ?purge=true also removes its indexed documents and stored entities.
func (s *Server) handleDisconnect(w http.ResponseWriter, r *http.Request) error {
	if err := s.needStore(); err != nil {
		return err
	}
	c, err := s.connection(r.PathValue("name"))
	if err != nil {
		return err
	}
	purge := false
	switch p := r.URL.Query().Get("purge"); p {
	case "", "false", "0":
	case "true", "1":
		purge = true
	default:
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "purge", "%q is not true or false", p)
	}
	if purge {
		allowSlowAnswer(w)
	}
	if err := s.disconnect(r.Context(), c, purge); err != nil {
		return err
	}
	v, err := s.viewConnection(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"connection": v, "purged": purge})
	return nil
}

func (s *Server) disconnect(ctx context.Context, c *Connection, purge bool) error {
	if purge && s.opts.Engine != nil {
		// A purge under a running sync would race its writes: refuse, and
		// let the caller retry once the (now paused) run has stopped.
		st, err := s.opts.Engine.Status(ctx, c.Name)
		if err != nil {
			return err
		}
		if st.State == "running" {
			if c.SetPaused != nil {
				c.SetPaused(true)
			}
			if err := s.opts.Store.DisconnectConnection(ctx, c.Name, false); err != nil {
				return err
			}
			return switchyard.Errorf(switchyard.ErrConflict, "a sync of %s is running; it was disconnected and the run is stopping: retry the purge in a few seconds", c.Name)
		}
	}
	if c.SetPaused != nil {
		c.SetPaused(true)
	}
	if purge && s.opts.Index != nil {
		if err := s.opts.Index.DeleteConnection(ctx, c.Name); err != nil {
			return err
		}
	}
	return s.opts.Store.DisconnectConnection(ctx, c.Name, purge)
}

// handleConnect re-enables a disconnected token connection; OAuth connections
// connect through their consent flow instead.
func (s *Server) handleConnect(w http.ResponseWriter, r *http.Request) error {
	if err := s.needStore(); err != nil {
		return err
	}
	c, err := s.connection(r.PathValue("name"))
	if err != nil {
		return err
	}
	if c.OAuth != nil {
		return switchyard.Errorf(switchyard.ErrConflict, "connection %s uses OAuth: connect it through GET /api/v1/connections/%s/oauth/start", c.Name, c.Name)
	}
	if err := s.connect(r.Context(), c); err != nil {
		return err
	}
	v, err := s.viewConnection(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"connection": v})
	return nil
}

func (s *Server) connect(ctx context.Context, c *Connection) error {
	if err := s.opts.Store.SetConnectionEnabled(ctx, c.Name, true); err != nil {
		return err
	}
	if c.SetPaused != nil {
		c.SetPaused(false)
	}
	select {
	case s.poke <- struct{}{}:
	default:
	}
	if s.opts.Engine != nil {
		return s.opts.Engine.Trigger(c.Name, false)
	}
	return nil
}

// disabled reports whether the connection is disconnected.
func (s *Server) disabled(ctx context.Context, name string) (bool, error) {
	st, err := s.opts.Store.ConnectionState(ctx, name)
	if err != nil {
		return false, err
	}
	return st.Disabled, nil
}

func isNoTokenKey(err error) bool { return errors.Is(err, store.ErrNoTokenKey) }
