package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"switchyard"
	"switchyard/store"
)

// accountFinder finds a synced Jira account by id or e-mail (*store.DB).
type accountFinder interface {
	FindAccount(ctx context.Context, name string) (switchyard.User, error)
}

type createKeyRequest struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes"`
	// ExpiresAt (RFC 3339) or ExpiresIn (a Go duration such as "720h"); neither: never.
	ExpiresAt *time.Time `json:"expiresAt"`
	ExpiresIn string     `json:"expiresIn"`
	// As binds the key to a synced Jira account (account id or visible
	// e-mail): the key then decides approvals as that person.
	As string `json:"as"`
}

// createdKey is the only answer that carries a key's secret.
type createdKey struct {
	Key    store.APIKey `json:"key"`
	Secret string       `json:"secret"`
}

func (s *Server) handleListKeys(w http.ResponseWriter, r *http.Request) error {
	if err := s.needStore(); err != nil {
		return err
	}
	keys, err := s.opts.Store.APIKeys(r.Context())
	if err != nil {
		return err
	}
	if keys == nil {
		keys = []store.APIKey{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
	return nil
}

func (s *Server) handleCreateKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.needStore(); err != nil {
		return err
	}
	var req createKeyRequest
	if err := decodeJSON(w, r, s.opts.MaxBodyBytes, &req); err != nil {
		return err
	}
	if err := ValidateScopes(req.Scopes); err != nil {
		return err
	}
	var expires time.Time
	switch {
	case req.ExpiresAt != nil && req.ExpiresIn != "":
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "expiresIn", "give expiresAt or expiresIn, not both")
	case req.ExpiresAt != nil:
		expires = *req.ExpiresAt
	case req.ExpiresIn != "":
		d, err := time.ParseDuration(req.ExpiresIn)
		if err != nil || d <= 0 {
			return switchyard.FieldErrorf(switchyard.ErrInvalid, "expiresIn", "%q is not a positive duration such as 720h", req.ExpiresIn)
		}
		expires = time.Now().Add(d)
	}
	var account string
	if strings.TrimSpace(req.As) != "" {
		af, ok := s.opts.Store.(accountFinder)
		if !ok {
			return switchyard.FieldErrorf(switchyard.ErrInvalid, "as", "this server cannot look up Jira accounts")
		}
		u, err := af.FindAccount(r.Context(), req.As)
		if err != nil {
			if errors.Is(err, switchyard.ErrNotFound) {
				return switchyard.FieldErrorf(switchyard.ErrInvalid, "as", "%v", err)
			}
			return err
		}
		account = u.AccountID
	}
	k, secret, err := s.opts.Store.CreateAPIKey(r.Context(), store.NewAPIKey{Name: req.Name, Scopes: req.Scopes, Expires: expires, AccountID: account})
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", "/api/v1/keys/"+strconv.FormatInt(k.ID, 10))
	writeJSON(w, http.StatusCreated, createdKey{Key: k, Secret: secret})
	return nil
}

func (s *Server) handleRevokeKey(w http.ResponseWriter, r *http.Request) error {
	if err := s.needStore(); err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return switchyard.FieldErrorf(switchyard.ErrInvalid, "id", "%q is not a key id", r.PathValue("id"))
	}
	k, err := s.opts.Store.RevokeAPIKey(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"key": k})
	return nil
}
