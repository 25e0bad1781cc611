// Package config reads Switchyard's YAML configuration file: ${VAR}
// expansion, strict decoding, defaults and validation whose messages name the
// key and the bad value (never a secret's value).
package config

import (
	"time"

	"gopkg.in/yaml.v3"

	"switchyard"
)

// Config is the whole configuration file.
type Config struct {
	DataDir     string       `yaml:"data_dir"`
	Log         Log          `yaml:"log"`
	Server      Server       `yaml:"server"`
	Connections []Connection `yaml:"connections"`
	Classify    Classify     `yaml:"classify"`
	Approvals   Approvals    `yaml:"approvals"`
}

// Log configures log/slog output.
type Log struct {
	Level  string `yaml:"level"`  // debug | info | warn | error
	Format string `yaml:"format"` // text | json
}

// Server configures the HTTP server of `switchyard serve`.
type Server struct {
	Addr         string   `yaml:"addr"`
	TLSCert      string   `yaml:"tls_cert"`
	TLSKey       string   `yaml:"tls_key"`
	PublicURL    string   `yaml:"public_url"` // how browsers and Jira reach the server
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// EncryptionKey encrypts OAuth tokens at rest: 32 bytes, base64 or hex.
	EncryptionKey Secret `yaml:"encryption_key"`
}

// Connection is one Jira site.
type Connection struct {
	Name              string  `yaml:"name"`
	Kind              string  `yaml:"kind"` // cloud | datacenter
	URL               string  `yaml:"url"`
	Auth              Auth    `yaml:"auth"`
	RequestsPerSecond float64 `yaml:"requests_per_second"`
	Concurrency       int     `yaml:"concurrency"`
	WebhookSecret     Secret  `yaml:"webhook_secret"` // X-Hub-Signature of admin webhooks
	Sync              Sync    `yaml:"sync"`
}

// Connection kinds.
const (
	KindCloud      = string(switchyard.ModeCloud)
	KindDataCenter = string(switchyard.ModeDataCenter)
)

// Auth types.
const (
	AuthAPIToken = "api_token"
	AuthOAuth    = "oauth"
	AuthPAT      = "pat"
	AuthBasic    = "basic"
)

// Auth is how a connection signs in to Jira. Which fields apply depends on Type.
type Auth struct {
	Type string `yaml:"type"` // api_token | oauth | pat | basic

	Email string `yaml:"email"` // api_token
	Token Secret `yaml:"token"` // api_token, pat

	ClientID      string   `yaml:"client_id"` // oauth
	ClientSecret  Secret   `yaml:"client_secret"`
	RedirectURL   string   `yaml:"redirect_url"`
	Scopes        []string `yaml:"scopes"`
	AuthURL       string   `yaml:"auth_url"`
	TokenURL      string   `yaml:"token_url"`
	ResourcesURL  string   `yaml:"resources_url"`
	APIGatewayURL string   `yaml:"api_gateway_url"`

	Username string `yaml:"username"` // basic
	Password Secret `yaml:"password"`
}

// Sync configures what and when a connection syncs.
type Sync struct {
	Strategy string        `yaml:"strategy"` // scheduled | manual
	Interval time.Duration `yaml:"interval"`
	// IdentityInterval re-syncs users, groups, roles and permissions; 0 = every run.
	IdentityInterval time.Duration `yaml:"identity_interval"`
	// ReconcileInterval runs the id-only diff; 0 = only after full syncs.
	ReconcileInterval  time.Duration          `yaml:"reconcile_interval"`
	Overlap            time.Duration          `yaml:"overlap"` // incremental window overlap
	AttachmentMaxBytes ByteSize               `yaml:"attachment_max_bytes"`
	Filters            switchyard.SyncFilters `yaml:"filters"`
}

// Sync strategies.
const (
	StrategyScheduled = "scheduled"
	StrategyManual    = "manual"
)

// Classify configures the runbook classifier.
type Classify struct {
	Catalog string `yaml:"catalog"` // path; "" = the shipped default catalog
}

// Approvals configures who may approve runbook runs and how.
type Approvals struct {
	Approvers []string      `yaml:"approvers"`
	Expiry    time.Duration `yaml:"expiry"`
	Sandbox   bool          `yaml:"sandbox"` // record runs, touch nothing
}

// Defaults for keys the file leaves out.
const (
	DefaultDataDir           = "./switchyard-data"
	DefaultAddr              = "127.0.0.1:8080"
	DefaultMaxBodyBytes      = 1 << 20
	DefaultRequestsPerSecond = 10
	DefaultConcurrency       = 4
	DefaultInterval          = 60 * time.Minute
	DefaultReconcileInterval = 24 * time.Hour
	DefaultOverlap           = 5 * time.Minute
	DefaultAttachmentMax     = 25 << 20
	DefaultApprovalExpiry    = 24 * time.Hour

	DefaultOAuthAuthURL      = "https://auth.atlassian.com/authorize"
	DefaultOAuthTokenURL     = "https://auth.atlassian.com/oauth/token"
	DefaultOAuthResourcesURL = "https://api.atlassian.com/oauth/token/accessible-resources"
	DefaultOAuthGatewayURL   = "https://api.atlassian.com/ex/jira"
	// OAuthCallbackPath is where the server receives the OAuth redirect; the
	// default redirect_url is the public URL with this path.
	OAuthCallbackPath = "/oauth/callback"
)

// DefaultOAuthScopes are what sync and write-back need; offline_access gives
// refresh tokens.
var DefaultOAuthScopes = []string{
	"read:jira-user", "read:jira-work", "write:jira-work", "manage:jira-webhook", "offline_access",
}

// Default returns a configuration with every default set and no connections.
func Default() *Config {
	return &Config{
		DataDir:   DefaultDataDir,
		Log:       Log{Level: "info", Format: "json"},
		Server:    Server{Addr: DefaultAddr, MaxBodyBytes: DefaultMaxBodyBytes},
		Approvals: Approvals{Expiry: DefaultApprovalExpiry, Sandbox: true},
	}
}

// DefaultConnection returns a connection with every default set.
func DefaultConnection() Connection {
	return Connection{
		RequestsPerSecond: DefaultRequestsPerSecond,
		Concurrency:       DefaultConcurrency,
		Sync: Sync{
			Strategy:           StrategyScheduled,
			Interval:           DefaultInterval,
			ReconcileInterval:  DefaultReconcileInterval,
			Overlap:            DefaultOverlap,
			AttachmentMaxBytes: DefaultAttachmentMax,
		},
	}
}

// Connection returns the connection with the given name.
func (c *Config) Connection(name string) (*Connection, bool) {
	for i := range c.Connections {
		if c.Connections[i].Name == name {
			return &c.Connections[i], true
		}
	}
	return nil, false
}

// UnmarshalYAML starts each connection from DefaultConnection, so keys left
// out keep their defaults while explicit values (even 0) are kept and checked.
func (c *Connection) UnmarshalYAML(n *yaml.Node) error {
	*c = DefaultConnection()
	type plain Connection // without this method
	return n.Decode((*plain)(c))
}

// Mode is the connection's kind as the domain names it.
func (c Connection) Mode() switchyard.Mode { return switchyard.Mode(c.Kind) }
