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
	Store       Store        `yaml:"store"`
	Log         Log          `yaml:"log"`
	Server      Server       `yaml:"server"`
	Connections []Connection `yaml:"connections"`
	Classify    Classify     `yaml:"classify"`
	Approvals   Approvals    `yaml:"approvals"`
	Notifiers   Notifiers    `yaml:"notifiers"`
	Audit       Audit        `yaml:"audit"`
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

	// Connection deadlines: request line and headers, the whole request with
	// its body, the answer, and the wait between requests on a keep-alive.
	ReadHeaderTimeout time.Duration `yaml:"read_header_timeout"`
	ReadTimeout       time.Duration `yaml:"read_timeout"`
	WriteTimeout      time.Duration `yaml:"write_timeout"`
	IdleTimeout       time.Duration `yaml:"idle_timeout"`
	// The budget of each client address for requests without a valid key,
	// session or signature (API keys have their own).
	UnauthenticatedRequestsPerSecond float64 `yaml:"unauthenticated_requests_per_second"`
	UnauthenticatedBurst             int     `yaml:"unauthenticated_burst"`
	// TrustedProxies (IPs or CIDRs) are reverse proxies whose
	// X-Forwarded-For names the client for that budget.
	TrustedProxies []string `yaml:"trusted_proxies"`

	// AtlassianSignIn is the console's "Sign in with Atlassian" for
	// approvers (OAuth 2.0 3LO, scope read:me).
	AtlassianSignIn AtlassianSignIn `yaml:"atlassian_signin"`
}

// AtlassianSignIn is the OAuth app approvers sign in to the console with.
// Connection borrows an oauth connection's client_id, client_secret,
// auth_url and token_url (and its api_gateway_url for /me) for what is left
// out. Off when neither client_id nor connection is set.
type AtlassianSignIn struct {
	Connection   string `yaml:"connection"`
	ClientID     string `yaml:"client_id"`
	ClientSecret Secret `yaml:"client_secret"`
	AuthURL      string `yaml:"auth_url"`
	TokenURL     string `yaml:"token_url"`
	MeURL        string `yaml:"me_url"`       // default https://api.atlassian.com/me
	RedirectURL  string `yaml:"redirect_url"` // default <public_url>/console/signin/atlassian/callback
}

// Enabled reports whether the sign-in is configured.
func (a AtlassianSignIn) Enabled() bool { return a.ClientID != "" || a.Connection != "" }

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
	// Index is the directory of the on-disk index of labelled examples
	// (recorded decisions survive restarts); default <data_dir>/classify.bleve.
	Index string `yaml:"index"`
}

// Approvals configures who may approve runbook runs and how.
type Approvals struct {
	Approvers []string      `yaml:"approvers"`
	Expiry    time.Duration `yaml:"expiry"`
	Sandbox   bool          `yaml:"sandbox"` // record runs, touch nothing
	// LinkSecret signs the single-use approve/deny links (Teams); empty
	// disables links. At least 16 bytes.
	LinkSecret Secret `yaml:"link_secret"`
	// SlackUsers maps a Slack user id (U…) to the approver identity (email)
	// the approval rules see.
	SlackUsers map[string]string `yaml:"slack_users"`
	// Transitions maps a decision (APPROVED, DENIED, EXPIRED, FAILED) to the
	// Jira status or transition name to move the issue to after write-back.
	Transitions map[string]string `yaml:"transitions"`
	// CommentVisibility is how the decision comment lands on a Jira Service
	// Management request: internal (an internal note, default) or public (a
	// reply the customer reads). Plain issues always get a plain comment.
	CommentVisibility string `yaml:"comment_visibility"`
	// CustomerReplies maps a decision to a customer-facing reply posted on
	// requests besides the decision comment ({key}, {decision}, {runbook},
	// {run} are filled in).
	CustomerReplies map[string]string `yaml:"customer_replies"`
	// DefaultExecutor is the executor kind of runbooks not in Executors:
	// sandbox (default) or webhook (then executors.default gives its url).
	DefaultExecutor string `yaml:"default_executor"`
	// Executors maps a runbook id (RB-001) or intent id to its executor.
	Executors map[string]Executor `yaml:"executors"`
	// Triggers select synced and webhook-delivered issues that enter the
	// runbook pipeline by themselves.
	Triggers []Trigger `yaml:"triggers"`
	// PrivilegedGroups are Jira groups (names or ids) whose members are
	// privileged targets: a run acting on one has risk "privileged".
	PrivilegedGroups []string `yaml:"privileged_groups"`
	// Policies say who approves which runbook at which risk, in which steps;
	// the first policy that matches a run applies. A run no policy matches
	// is decided once by approvals.approvers, as before.
	Policies []Policy `yaml:"policies"`
	// Delegations hand an approver's part to another person for a time
	// window (more can be added through the API and the console).
	Delegations []Delegation `yaml:"delegations"`
}

// Policy is one approval policy (approvals.policies[]).
type Policy struct {
	Name     string   `yaml:"name"`
	Runbooks []string `yaml:"runbooks"` // runbook ids (RB-002) or intents; empty = every runbook
	Risk     string   `yaml:"risk"`     // normal | privileged | any (default any)
	Steps    []Step   `yaml:"steps"`
	// RemindAfter reminds a step's approvers when it has waited this long;
	// EscalateAfter then also lets Fallback approve it. 0 = never.
	RemindAfter   time.Duration `yaml:"remind_after"`
	EscalateAfter time.Duration `yaml:"escalate_after"`
	Fallback      ApproverSet   `yaml:"fallback"`
	// ReasonOnApprove also requires a reason to approve (a deny always needs one).
	ReasonOnApprove bool `yaml:"reason_on_approve"`
}

// Step is one step of a policy: Required people of Approvers must approve.
type Step struct {
	Name      string      `yaml:"name"`
	Approvers ApproverSet `yaml:"approvers"`
	Required  int         `yaml:"required"` // default 1
}

// ApproverSet is who may approve: members of synced Jira groups, of
// project roles, named users (account id or e-mail), or any of these.
type ApproverSet struct {
	Groups []string      `yaml:"groups"`
	Roles  []ProjectRole `yaml:"roles"`
	Users  []string      `yaml:"users"`
}

// Empty reports whether the set names nobody.
func (a ApproverSet) Empty() bool { return len(a.Groups)+len(a.Roles)+len(a.Users) == 0 }

// ProjectRole names a project role: {project: ITSM, role: Administrators}.
type ProjectRole struct {
	Project string `yaml:"project"`
	Role    string `yaml:"role"`
}

// Delegation lets To act for From between From and Until.
type Delegation struct {
	From  string    `yaml:"from"` // account id or e-mail
	To    string    `yaml:"to"`
	Start time.Time `yaml:"start"` // default: always
	Until time.Time `yaml:"until"` // required
}

// Policy risks.
const (
	RiskAny        = "any"
	RiskNormal     = "normal"
	RiskPrivileged = "privileged"
)

// Executor kinds.
const (
	ExecutorSandbox = "sandbox"
	ExecutorWebhook = "webhook"
)

// Executor is how one runbook runs once approved.
type Executor struct {
	Kind    string        `yaml:"kind"`    // sandbox | webhook
	URL     string        `yaml:"url"`     // webhook: where to POST the signed payload
	Secret  Secret        `yaml:"secret"`  // webhook: HMAC-SHA256 key of X-Switchyard-Signature
	Timeout time.Duration `yaml:"timeout"` // webhook: default 30s
}

// Trigger selects issues of a connection; every non-empty condition must hold.
type Trigger struct {
	Connection string   `yaml:"connection"` // "" = every connection
	Projects   []string `yaml:"projects"`
	IssueTypes []string `yaml:"issue_types"`
	Labels     []string `yaml:"labels"`     // at least one of these
	NotLabels  []string `yaml:"not_labels"` // none of these
}

// Notifiers are the channels approval requests are sent to.
type Notifiers struct {
	Slack   Slack   `yaml:"slack"`
	Teams   Teams   `yaml:"teams"`
	Webhook Webhook `yaml:"webhook"`
}

// Slack posts approval requests with Approve/Deny buttons.
type Slack struct {
	BotToken      Secret `yaml:"bot_token"`      // xoxb-…
	Channel       string `yaml:"channel"`        // channel id or #name
	SigningSecret Secret `yaml:"signing_secret"` // verifies interactivity requests
	APIURL        string `yaml:"api_url"`        // default https://slack.com/api
}

// Teams posts an Adaptive Card through a Workflows webhook.
type Teams struct {
	// WebhookURL authorizes posting, so it is a secret.
	WebhookURL Secret `yaml:"webhook_url"`
}

// Webhook posts approval requests as signed JSON.
type Webhook struct {
	URL    string `yaml:"url"`
	Secret Secret `yaml:"secret"` // HMAC-SHA256 key of the signature header
}

// Audit configures signed checkpoints of the audit chain.
type Audit struct {
	// SigningKey is an Ed25519 private key (32-byte seed or 64-byte key,
	// base64 or hex) that signs checkpoints of the chain's head.
	SigningKey Secret `yaml:"signing_key"`
	// CheckpointFile is where the latest signed checkpoint is written (JSON).
	CheckpointFile string `yaml:"checkpoint_file"`
}

// Defaults for keys the file leaves out.
const (
	DefaultDataDir      = "./switchyard-data"
	DefaultAddr         = "127.0.0.1:8080"
	DefaultMaxBodyBytes = 1 << 20
	// Server deadlines and the unauthenticated budget (the api package's
	// defaults, repeated so that the file's defaults are visible here).
	DefaultReadHeaderTimeout    = 10 * time.Second
	DefaultReadTimeout          = 30 * time.Second
	DefaultWriteTimeout         = 60 * time.Second
	DefaultIdleTimeout          = 120 * time.Second
	DefaultUnauthenticatedRate  = 10
	DefaultUnauthenticatedBurst = 50
	DefaultRequestsPerSecond    = 10
	DefaultConcurrency          = 4
	DefaultInterval             = 60 * time.Minute
	DefaultReconcileInterval    = 24 * time.Hour
	DefaultOverlap              = 5 * time.Minute
	DefaultAttachmentMax        = 25 << 20
	DefaultApprovalExpiry       = 24 * time.Hour
	DefaultSlackAPIURL          = "https://slack.com/api"
	// ClassifyIndexDir is the example index's directory under data_dir.
	ClassifyIndexDir = "classify.bleve"

	DefaultOAuthAuthURL      = "https://auth.atlassian.com/authorize"
	DefaultOAuthTokenURL     = "https://auth.atlassian.com/oauth/token"
	DefaultOAuthResourcesURL = "https://api.atlassian.com/oauth/token/accessible-resources"
	// DefaultOAuthGatewayURL is the gateway's root: the connector adds
	// /ex/jira/{cloudId} (a value already ending in /ex/jira is accepted).
	DefaultOAuthGatewayURL = "https://api.atlassian.com"
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
		DataDir: DefaultDataDir,
		Log:     Log{Level: "info", Format: "json"},
		Server: Server{Addr: DefaultAddr, MaxBodyBytes: DefaultMaxBodyBytes,
			ReadHeaderTimeout: DefaultReadHeaderTimeout, ReadTimeout: DefaultReadTimeout,
			WriteTimeout: DefaultWriteTimeout, IdleTimeout: DefaultIdleTimeout,
			UnauthenticatedRequestsPerSecond: DefaultUnauthenticatedRate, UnauthenticatedBurst: DefaultUnauthenticatedBurst},
		Approvals: Approvals{Expiry: DefaultApprovalExpiry, Sandbox: true, DefaultExecutor: ExecutorSandbox},
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
