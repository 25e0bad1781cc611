package api

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"switchyard"
	"switchyard/store"
	syncer "switchyard/sync"
)

// syncStatus is one connection's sync state as the API shows it.
type syncStatus struct {
	Connection string `json:"connection"`
	// State: idle | running | interrupted | disconnected.
	State       string                  `json:"state"`
	Progress    *syncProgress           `json:"progress,omitempty"`
	Counts      map[string]int          `json:"counts"`
	LastRuns    []syncer.RunStats       `json:"lastRuns"`
	Warnings    []string                `json:"warnings"`
	Checkpoints []syncer.CheckpointInfo `json:"checkpoints"`
}

// syncProgress is the running stage: counts, rate and ETA.
type syncProgress struct {
	Stage      string  `json:"stage"`
	Done       int     `json:"done"`
	Total      int     `json:"total"`
	Rate       float64 `json:"rate"`
	ETASeconds float64 `json:"etaSeconds"`
}

func (s *Server) syncStatus(ctx context.Context, name string, cs store.ConnectionState) (syncStatus, error) {
	st, err := s.opts.Engine.Status(ctx, name)
	if err != nil {
		return syncStatus{}, err
	}
	out := syncStatus{Connection: name, State: st.State, Counts: st.Counts, LastRuns: st.LastRuns,
		Warnings: st.Warnings, Checkpoints: st.Checkpoints}
	if cs.Disabled && st.State != "running" {
		out.State = "disconnected"
	}
	if st.Progress != nil {
		p := st.Progress
		out.Progress = &syncProgress{Stage: p.Stage, Done: p.Done, Total: p.Total, Rate: p.Rate, ETASeconds: p.ETA.Seconds()}
	}
	if out.Counts == nil {
		out.Counts = map[string]int{}
	}
	if out.LastRuns == nil {
		out.LastRuns = []syncer.RunStats{}
	}
	if out.Warnings == nil {
		out.Warnings = []string{}
	}
	if out.Checkpoints == nil {
		out.Checkpoints = []syncer.CheckpointInfo{}
	}
	return out, nil
}

// handleSyncStatus: GET /api/v1/sync/status[?connection=NAME].
func (s *Server) handleSyncStatus(w http.ResponseWriter, r *http.Request) error {
	if err := s.needEngine(); err != nil {
		return err
	}
	names := s.connNames
	if q := r.URL.Query().Get("connection"); q != "" {
		c, err := s.connectionParam(q, "connection")
		if err != nil {
			return err
		}
		names = []string{c.Name}
	}
	out := []syncStatus{}
	for _, name := range names {
		var cs store.ConnectionState
		if s.opts.Store != nil {
			var err error
			if cs, err = s.opts.Store.ConnectionState(r.Context(), name); err != nil {
				return err
			}
		}
		st, err := s.syncStatus(r.Context(), name, cs)
		if err != nil {
			return err
		}
		out = append(out, st)
	}
	writeJSON(w, http.StatusOK, map[string]any{"connections": out})
	return nil
}

type syncRequest struct {
	Connection string `json:"connection"`
	Full       bool   `json:"full"`
}

// handleSyncTrigger: POST /api/v1/sync asks for a run now. A request while a
// run is pending coalesces with it; full is sticky.
func (s *Server) handleSyncTrigger(w http.ResponseWriter, r *http.Request) error {
	if err := s.needEngine(); err != nil {
		return err
	}
	var req syncRequest
	// An empty body means the defaults (the only connection, incremental).
	if r.ContentLength != 0 {
		if err := decodeJSON(w, r, s.opts.MaxBodyBytes, &req); err != nil {
			return err
		}
	}
	c, err := s.connectionParam(req.Connection, "connection")
	if err != nil {
		return err
	}
	if s.opts.Store != nil {
		off, err := s.disabled(r.Context(), c.Name)
		if err != nil {
			return err
		}
		if off {
			return switchyard.Errorf(switchyard.ErrConflict, "connection %s is disconnected: connect it before syncing", c.Name)
		}
	}
	if err := s.opts.Engine.Trigger(c.Name, req.Full); err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"connection": c.Name, "full": req.Full, "status": "queued",
		"statusUrl": "/api/v1/sync/status?connection=" + c.Name, "requestedAt": time.Now().UTC()})
	return nil
}

// filtersView is a connection's filters as GET|PUT /api/v1/sync/filters show them.
type filtersView struct {
	Connection string                 `json:"connection"`
	Source     string                 `json:"source"` // config | api
	Hash       string                 `json:"hash"`
	Filters    switchyard.SyncFilters `json:"filters"`
	// FullSyncNext says the next run is full because the filters differ from
	// those of the last full sync.
	FullSyncNext bool `json:"fullSyncNext"`
}

// effectiveFilters are the API-edited filters when there are any, else the configured ones.
func (s *Server) effectiveFilters(ctx context.Context, name string) switchyard.SyncFilters {
	v, err := s.filtersView(ctx, s.conns[name])
	if err != nil {
		return s.conns[name].Filters
	}
	return v.Filters
}

func (s *Server) filtersView(ctx context.Context, c *Connection) (filtersView, error) {
	v := filtersView{Connection: c.Name, Source: "config", Filters: c.Filters}
	st, err := s.opts.Store.ConnectionState(ctx, c.Name)
	if err != nil {
		return v, err
	}
	if len(st.Filters) > 0 {
		if f, err := parseStoredFilters(st.Filters); err == nil {
			v.Source, v.Filters = "api", f
		}
	}
	v.Hash = v.Filters.Hash()
	v.FullSyncNext = st.FilterHash != "" && st.FilterHash != v.Hash
	return v, nil
}

func (s *Server) handleGetFilters(w http.ResponseWriter, r *http.Request) error {
	if err := s.needStore(); err != nil {
		return err
	}
	c, err := s.connectionParam(r.URL.Query().Get("connection"), "connection")
	if err != nil {
		return err
	}
	v, err := s.filtersView(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// handlePutFilters replaces a connection's filters: validated in full before
// anything is stored, persisted (they override the configuration and survive
// restarts), and applied to the engine; the next run is full.
func (s *Server) handlePutFilters(w http.ResponseWriter, r *http.Request) error {
	if err := s.needStore(); err != nil {
		return err
	}
	if err := s.needEngine(); err != nil {
		return err
	}
	c, err := s.connectionParam(r.URL.Query().Get("connection"), "connection")
	if err != nil {
		return err
	}
	var in filtersInput
	if err := decodeJSON(w, r, s.opts.MaxBodyBytes, &in); err != nil {
		return err
	}
	f, err := in.filters()
	if err != nil {
		return err
	}
	if err := s.saveFilters(r.Context(), c, f); err != nil {
		return err
	}
	v, err := s.filtersView(r.Context(), c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) saveFilters(ctx context.Context, c *Connection, f switchyard.SyncFilters) error {
	sc, err := syncer.ScopeFrom(f) // validates
	if err != nil {
		return err
	}
	raw, err := json.Marshal(f)
	if err != nil {
		return err
	}
	if err := s.opts.Store.SetConnectionFilters(ctx, c.Name, raw); err != nil {
		return err
	}
	return s.opts.Engine.SetScope(c.Name, sc)
}

func (s *Server) applyFilters(name string, f switchyard.SyncFilters) error {
	sc, err := syncer.ScopeFrom(f)
	if err != nil {
		return err
	}
	return s.opts.Engine.SetScope(name, sc)
}
