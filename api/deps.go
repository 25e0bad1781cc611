package api

import (
	"context"
	"encoding/json"
	"time"

	"golang.org/x/oauth2"

	"switchyard"
	"switchyard/connector"
	"switchyard/index"
	"switchyard/store"
	syncer "switchyard/sync"
)

// What the server needs from the other packages, stated here (the consumer
// owns its interfaces). *store.DB, *index.Index and *syncer.Engine satisfy them.

// Store is the SQLite store: keys, tokens, OAuth state, webhook de-duplication
// and per-connection state.
type Store interface {
	KeyStore
	CreateAPIKey(ctx context.Context, nk store.NewAPIKey) (store.APIKey, string, error)
	APIKeys(ctx context.Context) ([]store.APIKey, error)
	APIKey(ctx context.Context, id int64) (store.APIKey, error)
	RevokeAPIKey(ctx context.Context, id int64) (store.APIKey, error)

	SaveToken(ctx context.Context, conn string, token any) error
	HasToken(ctx context.Context, conn string) (bool, error)
	CreateOAuthState(ctx context.Context, conn string, ttl time.Duration) (string, error)
	ConsumeOAuthState(ctx context.Context, state string) (string, error)
	FirstDelivery(ctx context.Context, id string, ttl time.Duration) (bool, error)

	ConnectionState(ctx context.Context, conn string) (store.ConnectionState, error)
	Projects(ctx context.Context, conn string) ([]switchyard.Project, error)
	SetConnectionFilters(ctx context.Context, conn string, filters json.RawMessage) error
	SetConnectionEnabled(ctx context.Context, conn string, enabled bool) error
	DisconnectConnection(ctx context.Context, conn string, purge bool) error
}

// Index is the search index.
type Index interface {
	Search(ctx context.Context, req index.SearchRequest) (*index.SearchResult, error)
	DeleteConnection(ctx context.Context, conn string) error
}

// Engine is the sync engine.
type Engine interface {
	Trigger(conn string, full bool) error
	Status(ctx context.Context, conn string) (syncer.Status, error)
	SetScope(conn string, sc syncer.Scope) error
	RefreshIssue(ctx context.Context, conn, issueKeyOrID string) error
}

// Connection is one configured Jira connection as the server sees it.
type Connection struct {
	Name string
	Kind string // cloud | datacenter
	URL  string
	Auth string // api_token | oauth | pat | basic
	// WebhookSecret keys the X-Hub-Signature of admin webhooks; "" means
	// admin webhooks are not accepted for this connection.
	WebhookSecret string
	// OAuth is the OAuth 2.0 (3LO) app of an oauth connection; its client
	// secret also verifies the JWT of dynamic webhook deliveries.
	OAuth OAuthApp
	// OAuthClientSecret verifies the JWT of dynamic webhook deliveries, whose
	// aud must name OAuthClientID.
	OAuthClientSecret string
	OAuthClientID     string
	// Filters are the configured sync filters (PUT /api/v1/sync/filters
	// overrides them).
	Filters switchyard.SyncFilters
	// Account returns the account id the integration acts as, so that events
	// it caused itself are ignored (no echo). nil: no echo detection.
	Account func(ctx context.Context) (string, error)
	// Self, when set, replaces Account: the integration's whole identity
	// (account id on Cloud, user key and name on Data Center, whose events
	// name users that way).
	Self func(ctx context.Context) (connector.Identity, error)
	// Webhooks registers and refreshes dynamic webhooks (OAuth connections).
	Webhooks WebhookRegistrar
	// SetPaused stops (true) or resumes (false) the connection's syncing;
	// called on disconnect and connect.
	SetPaused func(paused bool)
}

// OAuthApp is what the OAuth connect flow needs; *connector.OAuthConfig
// satisfies it.
type OAuthApp interface {
	AuthCodeURL(state string) string
	Exchange(ctx context.Context, code string) (*oauth2.Token, error)
	CloudID(ctx context.Context, tok *oauth2.Token, siteURL string) (string, error)
}

// WebhookRegistrar manages an OAuth app's dynamic webhooks; *connector.Client
// satisfies it.
type WebhookRegistrar interface {
	RegisterWebhooks(ctx context.Context, callbackURL, jql string, events []string) ([]int64, error)
	RefreshWebhooks(ctx context.Context, ids []int64) (time.Time, error)
	ListWebhooks(ctx context.Context) ([]connector.Webhook, error)
	DeleteWebhooks(ctx context.Context, ids []int64) error
}
