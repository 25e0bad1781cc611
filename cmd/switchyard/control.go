package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"switchyard"
	"switchyard/index"
)

// The control endpoint: the process that owns a data directory (serve, demo,
// sync) answers the searches, and (serve, demo) the sync requests, of other
// switchyard commands pointed at the same directory. The index can have only
// one writer, and bleve's lock keeps even readers out while it is open, so
// a second process goes through the owner instead of waiting for a lock that
// is held for as long as serve runs. It listens on 127.0.0.1 only and wants
// the token of the lock file, which only the data directory's user can read.

// controlSearchRequest is a search as the search command asks it.
type controlSearchRequest struct {
	Connection   string   `json:"connection"`
	Query        string   `json:"query"`
	As           string   `json:"as"`
	Projects     []string `json:"projects,omitempty"`
	Types        []string `json:"types,omitempty"`
	Statuses     []string `json:"statuses,omitempty"`
	RequestTypes []string `json:"requestTypes,omitempty"`
	From         int      `json:"from"`
	Size         int      `json:"size"`
	Similar      string   `json:"similar,omitempty"` // an issue key: more-like-this instead of Query
}

// run answers req from idx: similar issues when req names one, else a search.
func (req controlSearchRequest) run(ctx context.Context, idx *index.Index) (*index.SearchResult, error) {
	if req.Similar != "" {
		return idx.Similar(ctx, index.SimilarRequest{Connection: req.Connection, Key: req.Similar, AsUser: req.As, Size: min(req.Size, index.MaxSimilarSize)})
	}
	return idx.Search(ctx, index.SearchRequest{
		Connection: req.Connection, Query: req.Query, AsUser: req.As,
		Projects: req.Projects, Types: req.Types, Statuses: req.Statuses, RequestTypes: req.RequestTypes, From: req.From, Size: req.Size,
	})
}

// controlSyncRequest asks the owner's engine to run a sync.
type controlSyncRequest struct {
	Connections []string `json:"connections"`
	Full        bool     `json:"full"`
}

type control struct {
	srv  *http.Server
	lock *dataDirLock
}

// startControl serves the control endpoint and publishes its address and
// token in the lock file. withSync also accepts sync requests (the engine
// runs its loop: serve and demo). apiURL is the owner's HTTP server, if any.
func startControl(lock *dataDirLock, env *syncEnv, withSync bool, apiURL string, log *slog.Logger) (*control, error) {
	if lock == nil {
		return nil, nil // an unlocked (read-only) data directory has no owner to find
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("control endpoint: %w", err)
	}
	b := make([]byte, 32)
	rand.Read(b)
	token := hex.EncodeToString(b)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/search", func(w http.ResponseWriter, r *http.Request) {
		var req controlSearchRequest
		if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
			controlError(w, http.StatusBadRequest, err)
			return
		}
		res, err := req.run(r.Context(), env.idx)
		if err != nil {
			code := http.StatusInternalServerError
			switch {
			case errors.Is(err, switchyard.ErrInvalid):
				code = http.StatusBadRequest
			case errors.Is(err, switchyard.ErrNotFound):
				code = http.StatusNotFound
			}
			controlError(w, code, err)
			return
		}
		json.NewEncoder(w).Encode(res)
	})
	if withSync {
		mux.HandleFunc("POST /v1/sync", func(w http.ResponseWriter, r *http.Request) {
			var req controlSyncRequest
			if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20)).Decode(&req); err != nil {
				controlError(w, http.StatusBadRequest, err)
				return
			}
			for _, c := range req.Connections {
				if err := env.eng.Trigger(c, req.Full); err != nil {
					controlError(w, http.StatusBadRequest, fmt.Errorf("connection %q: %w", c, err))
					return
				}
			}
			json.NewEncoder(w).Encode(map[string]any{"triggered": req.Connections, "full": req.Full})
		})
	}
	auth := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), []byte("Bearer "+token)) != 1 {
			controlError(w, http.StatusUnauthorized, errors.New("wrong control token"))
			return
		}
		w.Header().Set("Content-Type", "application/json")
		mux.ServeHTTP(w, r)
	})
	c := &control{lock: lock, srv: &http.Server{Handler: auth, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute, IdleTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}}
	go c.srv.Serve(ln)
	lock.owner.Control, lock.owner.Token, lock.owner.API = "http://"+ln.Addr().String(), token, apiURL
	lock.publish()
	return c, nil
}

func controlError(w http.ResponseWriter, code int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]string{"error": err.Error()})
}

// Close stops answering and withdraws the address from the lock file.
func (c *control) Close() {
	if c == nil {
		return
	}
	c.lock.owner.Control, c.lock.owner.Token = "", ""
	c.lock.publish()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c.srv.Shutdown(ctx)
}

// controlTimeout bounds a call to the owner: a search or a sync trigger.
const controlTimeout = 60 * time.Second

// callControl posts in to the owner's control endpoint and decodes out.
func callControl(ctx context.Context, o *dataDirOwner, path string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, controlTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "POST", o.Control+path, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+o.Token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("ask %s: %w", o, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Error string `json:"error"`
		}
		json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("%s answered: %s", o, e.Error)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
