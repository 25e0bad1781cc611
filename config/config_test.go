package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"switchyard"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

// Secret values used by the tests; no error message may contain them.
const (
	secretToken   = "tok-SECRET-4f1d"
	secretPass    = "pw-SECRET-9a2c"
	secretClient  = "cs-SECRET-77e0"
	secretWebhook = "wh-SECRET-1b3b"
	secretKeyB64  = "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=" // 32 bytes
)

var testEnv = map[string]string{
	"SWITCHYARD_ENCRYPTION_KEY": secretKeyB64,
	"JIRA_TOKEN":                secretToken,
	"JIRA_WEBHOOK_SECRET":       secretWebhook,
	"OAUTH_SECRET":              secretClient,
	"DC_PAT":                    secretToken,
	"DB_PASSWORD":               secretPass,
}

func getenv(k string) string { return testEnv[k] }

func TestParseFullGolden(t *testing.T) {
	data, err := os.ReadFile("testdata/full.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := Parse(data, getenv)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(cfg); err != nil {
		t.Fatal(err)
	}
	golden := "testdata/full.golden.yaml"
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (go test -update creates it)", err)
	}
	if !bytes.Equal(want, buf.Bytes()) {
		t.Errorf("parsed config differs from %s:\n%s", golden, buf.Bytes())
	}
	if bytes.Contains(buf.Bytes(), []byte("SECRET")) {
		t.Error("a secret value was marshalled")
	}
	// The redacted dump hides secrets; check they were read.
	c := cfg.Connections
	for _, tc := range []struct{ got, want string }{
		{c[0].Auth.Token.Value(), secretToken},
		{c[0].WebhookSecret.Value(), secretWebhook},
		{c[1].Auth.ClientSecret.Value(), secretClient},
		{c[2].Auth.Token.Value(), secretToken},
		{c[3].Auth.Password.Value(), "pa$$word-${not-a-var}"},
		{cfg.Server.EncryptionKey.Value(), secretKeyB64},
	} {
		if tc.got != tc.want {
			t.Errorf("secret = %q, want %q", tc.got, tc.want)
		}
	}
	key, err := cfg.Server.EncryptionKeyBytes()
	if err != nil || len(key) != 32 {
		t.Errorf("encryption key: %d bytes, %v", len(key), err)
	}
	if got := c[0].Sync.Filters.JQL(); got != `project in ("ITSM", "OPS") AND created >= 1704067200000 AND created < 1735689600000 AND updated >= 1748757600000` {
		t.Errorf("filters JQL = %s", got)
	}
}

func TestDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`
connections:
  - name: acme
    kind: cloud
    url: https://acme.atlassian.net
    auth: {type: api_token, email: bot@acme.com, token: x}
`), getenv)
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Connections[0]
	for _, tc := range []struct {
		key       string
		got, want any
	}{
		{"data_dir", cfg.DataDir, "./switchyard-data"},
		{"log.level", cfg.Log.Level, "info"},
		{"log.format", cfg.Log.Format, "json"},
		{"server.addr", cfg.Server.Addr, "127.0.0.1:8080"},
		{"server.max_body_bytes", cfg.Server.MaxBodyBytes, ByteSize(1048576)},
		{"server.read_header_timeout", cfg.Server.ReadHeaderTimeout, 10 * time.Second},
		{"server.read_timeout", cfg.Server.ReadTimeout, 30 * time.Second},
		{"server.write_timeout", cfg.Server.WriteTimeout, 60 * time.Second},
		{"server.idle_timeout", cfg.Server.IdleTimeout, 120 * time.Second},
		{"server.unauthenticated_requests_per_second", cfg.Server.UnauthenticatedRequestsPerSecond, 10.0},
		{"server.unauthenticated_burst", cfg.Server.UnauthenticatedBurst, 50},
		{"requests_per_second", c.RequestsPerSecond, 10.0},
		{"concurrency", c.Concurrency, 4},
		{"sync.strategy", c.Sync.Strategy, "scheduled"},
		{"sync.interval", c.Sync.Interval, 60 * time.Minute},
		{"sync.identity_interval", c.Sync.IdentityInterval, time.Duration(0)},
		{"sync.reconcile_interval", c.Sync.ReconcileInterval, 24 * time.Hour},
		{"sync.overlap", c.Sync.Overlap, 5 * time.Minute},
		{"sync.attachment_max_bytes", c.Sync.AttachmentMaxBytes, ByteSize(25 << 20)},
		{"filters.index.issues", c.Sync.Filters.IndexIssues(), true},
		{"filters.index.comments", c.Sync.Filters.IndexComments(), true},
		{"filters.index.attachments", c.Sync.Filters.IndexAttachments(), true},
		{"filters JQL", c.Sync.Filters.JQL(), ""},
		{"classify.catalog", cfg.Classify.Catalog, ""},
		{"approvals.expiry", cfg.Approvals.Expiry, 24 * time.Hour},
		{"approvals.sandbox", cfg.Approvals.Sandbox, true},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", tc.key, tc.got, tc.want)
		}
	}
	// An empty file is a valid configuration with no connections (demo).
	for _, in := range []string{"", "# only a comment\n", "---\n", "~"} {
		cfg, err := Parse([]byte(in), getenv)
		if err != nil || cfg.DataDir != DefaultDataDir || len(cfg.Connections) != 0 {
			t.Errorf("Parse(%q) = %+v, %v", in, cfg, err)
		}
	}
	// Explicit values, even zero, are kept and then validated.
	_, err = Parse([]byte("connections: [{name: a, kind: cloud, url: 'https://a.atlassian.net', auth: {type: api_token, email: a@b.c, token: x}, concurrency: 0}]"), getenv)
	if err == nil || !strings.Contains(err.Error(), "connections[0].concurrency: 0 is not in 1..64") {
		t.Errorf("explicit zero: %v", err)
	}
}

func TestOAuthDefaults(t *testing.T) {
	cfg, err := Parse([]byte(`
server: {encryption_key: "`+strings.Repeat("ab", 32)+`"}
connections:
  - {name: o, kind: cloud, url: "https://o.atlassian.net", auth: {type: oauth, client_id: id, client_secret: s}}
`), getenv)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Connections[0].Auth
	if a.RedirectURL != "http://127.0.0.1:8080/oauth/callback" || a.AuthURL != DefaultOAuthAuthURL ||
		a.TokenURL != DefaultOAuthTokenURL || a.ResourcesURL != DefaultOAuthResourcesURL ||
		a.APIGatewayURL != DefaultOAuthGatewayURL || len(a.Scopes) != len(DefaultOAuthScopes) {
		t.Errorf("oauth defaults: %+v", a)
	}
	if k, err := cfg.Server.EncryptionKeyBytes(); err != nil || len(k) != 32 || k[0] != 0xab {
		t.Errorf("hex key: %x %v", k, err)
	}
}

func TestEnvExpansion(t *testing.T) {
	env := map[string]string{
		"HOST": "127.0.0.1", "PORT": "9090", "EMPTY": "", "YAMLISH": "{a: [b]}, - c: *d",
		"NULLISH": "null", "DIR": "/srv/sy", "RPS": "2.5",
	}
	base := func(extra string) string {
		return "connections:\n  - {name: a, kind: cloud, url: 'https://a.atlassian.net', auth: {type: api_token, email: a@b.c, token: ${NULLISH}}" + extra + "}\n"
	}
	for _, tc := range []struct {
		name  string
		in    string
		check func(*Config) string // returns what it got, compared with want
		want  string
	}{
		{"plain", "data_dir: ${DIR}", func(c *Config) string { return c.DataDir }, "/srv/sy"},
		{"two refs in one value", "server: {addr: ${HOST}:${PORT}}", func(c *Config) string { return c.Server.Addr }, "127.0.0.1:9090"},
		{"default when unset", "data_dir: ${NOPE:-/tmp/d}", func(c *Config) string { return c.DataDir }, "/tmp/d"},
		{"default when empty", "data_dir: ${EMPTY:-/tmp/e}", func(c *Config) string { return c.DataDir }, "/tmp/e"},
		{"literal", "data_dir: /x/$${HOME}", func(c *Config) string { return c.DataDir }, "/x/${HOME}"},
		{"dollar alone", "data_dir: /x/$HOME", func(c *Config) string { return c.DataDir }, "/x/$HOME"},
		{"quoted", `data_dir: "${DIR}/q"`, func(c *Config) string { return c.DataDir }, "/srv/sy/q"},
		{"yaml in value stays text", "data_dir: ${YAMLISH}", func(c *Config) string { return c.DataDir }, "{a: [b]}, - c: *d"},
		{"null stays a string", base(""), func(c *Config) string { return c.Connections[0].Auth.Token.Value() }, "null"},
		{"number into a number field", base(", requests_per_second: ${RPS}"), func(c *Config) string { return fmt.Sprint(c.Connections[0].RequestsPerSecond) }, "2.5"},
		{"comment refs ignored", "# token: ${UNSET_IN_COMMENT}\ndata_dir: d", func(c *Config) string { return c.DataDir }, "d"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := Parse([]byte(tc.in), func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if got := tc.check(cfg); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, in, want string }{
		{"unset", "server:\n  addr: ${LISTEN_ADDR}\n", "server.addr: environment variable LISTEN_ADDR is not set (or use ${LISTEN_ADDR:-default}) (line 2)"},
		{"empty counts as unset", "data_dir: ${EMPTY}", "data_dir: environment variable EMPTY is not set"},
		{"invalid name", "data_dir: ${1BAD}", "data_dir: ${1BAD} is not a valid variable reference"},
		{"unterminated", "data_dir: ${DIR", "data_dir: unterminated ${"},
		{"in a list", "approvals: {approvers: [a, '${WHO}']}", "approvals.approvers[1]: environment variable WHO is not set"},
		{"secret key unset", base(", webhook_secret: ${HOOK}"), "connections[0].webhook_secret: environment variable HOOK is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.in), func(k string) string { return env[k] })
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

// valid is a configuration that passes; the error cases below each break one key.
const valid = `
server: {addr: "127.0.0.1:8080", encryption_key: "${SWITCHYARD_ENCRYPTION_KEY}"}
connections:
  - name: acme
    kind: cloud
    url: https://acme.atlassian.net
    auth: {type: api_token, email: bot@acme.com, token: "${JIRA_TOKEN}"}
    webhook_secret: "${JIRA_WEBHOOK_SECRET}"
  - name: dc
    kind: datacenter
    url: https://jira.example.com
    auth: {type: basic, username: svc, password: "${DB_PASSWORD}"}
  - name: oa
    kind: cloud
    url: https://acme.atlassian.net
    auth: {type: oauth, client_id: cid, client_secret: "${OAUTH_SECRET}"}
`

func TestValidConfig(t *testing.T) {
	if _, err := Parse([]byte(valid), getenv); err != nil {
		t.Fatal(err)
	}
}

func TestValidationErrors(t *testing.T) {
	for _, tc := range []struct {
		name     string
		old, new string // replace in valid; new may be a whole file when old is ""
		want     string
	}{
		{"auth type", "type: api_token", "type: oath", `connections[0].auth.type: "oath" is not one of api_token, oauth, pat, basic (line 7)`},
		{"empty auth type", "type: api_token,", "", `connections[0].auth.type: is empty; use one of api_token, oauth, pat, basic`},
		{"kind", "kind: cloud\n    url: https://acme", "kind: server\n    url: https://acme", `connections[0].kind: "server" is not one of cloud, datacenter (line 5)`},
		{"name syntax", "name: acme", "name: Acme Corp", `connections[0].name: "Acme Corp" must be 1-32 of a-z`},
		{"name duplicate", "name: dc", "name: acme", `connections[1].name: "acme" is already used by connections[0]`},
		{"url relative", "url: https://jira.example.com", "url: jira.example.com", `connections[1].url: "jira.example.com" is not an absolute http(s) URL`},
		{"url scheme", "url: https://jira.example.com", "url: ftp://jira.example.com", `connections[1].url: "ftp://jira.example.com" is not an absolute http(s) URL`},
		{"url credentials hidden", "url: https://jira.example.com", "url: https://svc:" + secretPass + "@jira.example.com", `connections[1].url: must not contain a user name or password`},
		{"api_token needs email", "email: bot@acme.com, ", "", `connections[0].auth.email: is empty; auth type api_token needs`},
		{"bad email", "email: bot@acme.com", "email: bot", `connections[0].auth.email: "bot" is not an email address`},
		{"api_token needs token", `token: "${JIRA_TOKEN}"`, `token: ""`, `connections[0].auth.token: is empty; auth type api_token needs it`},
		{"basic needs password", `password: "${DB_PASSWORD}"`, `password: ""`, `connections[1].auth.password: is empty; auth type basic needs it`},
		{"basic needs username", "username: svc, ", "", `connections[1].auth.username: is empty`},
		{"oauth needs client id", "client_id: cid, ", "", `connections[2].auth.client_id: is empty`},
		{"oauth needs secret", `client_secret: "${OAUTH_SECRET}"`, `client_secret: ""`, `connections[2].auth.client_secret: is empty`},
		{"oauth scopes need offline_access", "client_id: cid,", "client_id: cid, scopes: [read:jira-work],", `connections[2].auth.scopes: must include offline_access`},
		{"oauth bad token url", "client_id: cid,", "client_id: cid, token_url: 'not a url',", `connections[2].auth.token_url: "not a url" is not an absolute http(s) URL`},
		{"field of another auth type", "username: svc,", "username: svc, token: \"${JIRA_TOKEN}\",", `connections[1].auth.token: is set but auth type basic does not use it`},
		{"cloud rejects pat", "type: api_token, email: bot@acme.com,", "type: pat,", `connections[0].auth.type: "pat" is not available on Jira Cloud`},
		{"datacenter rejects oauth", "kind: cloud\n    url: https://acme.atlassian.net\n    auth: {type: oauth", "kind: datacenter\n    url: https://acme.atlassian.net\n    auth: {type: oauth", `connections[2].auth.type: "oauth" (3LO) is only for Jira Cloud`},
		{"oauth needs encryption key", `encryption_key: "${SWITCHYARD_ENCRYPTION_KEY}"`, `encryption_key: ""`, `server.encryption_key: is empty; OAuth connections need it`},
		{"encryption key format", `encryption_key: "${SWITCHYARD_ENCRYPTION_KEY}"`, `encryption_key: "` + secretToken + `"`, `server.encryption_key: is set but is not 32 bytes in base64 or hex`},
		{"rps", "    webhook_secret", "    requests_per_second: 0\n    webhook_secret", `connections[0].requests_per_second: 0 is not above 0`},
		{"concurrency", "    webhook_secret", "    concurrency: 65\n    webhook_secret", `connections[0].concurrency: 65 is not in 1..64 (line 8)`},
		{"strategy", "    webhook_secret", "    sync: {strategy: hourly}\n    webhook_secret", `connections[0].sync.strategy: "hourly" is not one of scheduled, manual`},
		{"interval too short", "    webhook_secret", "    sync: {interval: 30s}\n    webhook_secret", `connections[0].sync.interval: 30s is below the minimum of 1m0s`},
		{"interval without unit", "    webhook_secret", "    sync: {interval: 60}\n    webhook_secret", `connections[0].sync.interval: "60" is not a duration such as 90s, 60m or 24h`},
		{"identity interval", "    webhook_secret", "    sync: {identity_interval: 10s}\n    webhook_secret", `connections[0].sync.identity_interval: 10s is below the minimum`},
		{"overlap", "    webhook_secret", "    sync: {overlap: 48h}\n    webhook_secret", `connections[0].sync.overlap: 48h0m0s is not in 0..24h`},
		{"attachment size unit", "    webhook_secret", "    sync: {attachment_max_bytes: 25XB}\n    webhook_secret", `connections[0].sync.attachment_max_bytes: "25XB" is not a size`},
		{"attachment size too big", "    webhook_secret", "    sync: {attachment_max_bytes: 2GiB}\n    webhook_secret", `connections[0].sync.attachment_max_bytes: 2GiB is not between 1 and 1GiB`},
		{"filter project key", "    webhook_secret", "    sync: {filters: {projects: {in: [ITSM, 'ITSM\") OR project = \"X']}}}\n    webhook_secret", `connections[0].sync.filters.projects.in[1]: "ITSM\") OR project = \"X" is not a Jira project key`},
		{"filter both lists", "    webhook_secret", "    sync: {filters: {projects: {in: [A1], not_in: [B1]}}}\n    webhook_secret", `connections[0].sync.filters.projects: set either in or not_in, not both`},
		{"filter dates order", "    webhook_secret", "    sync: {filters: {created: {after: 2025-01-01, before: 2024-01-01}}}\n    webhook_secret", `connections[0].sync.filters.created: after 2025-01-01 is not before before 2024-01-01`},
		{"filter bad date", "    webhook_secret", "    sync: {filters: {updated: {after: 2024-02-30}}}\n    webhook_secret", `connections[0].sync.filters.updated.after: "2024-02-30" is not a date`},
		{"filter index toggle type", "    webhook_secret", "    sync: {filters: {index: {comments: maybe}}}\n    webhook_secret", `connections[0].sync.filters.index.comments: "maybe" is not true or false`},
		{"addr", `addr: "127.0.0.1:8080"`, `addr: "localhost"`, `server.addr: "localhost" is not HOST:PORT`},
		{"tls half", `addr: "127.0.0.1:8080",`, `addr: "127.0.0.1:8080", tls_cert: c.pem,`, `server.tls_key: is empty but server.tls_cert is set`},
		{"public url", `addr: "127.0.0.1:8080",`, `addr: "127.0.0.1:8080", public_url: "example.com",`, `server.public_url: "example.com" is not an absolute http(s) URL`},
		{"body size", `addr: "127.0.0.1:8080",`, `addr: "127.0.0.1:8080", max_body_bytes: 0,`, `server.max_body_bytes: 0 is not between 1 and 1GiB`},
		{"read timeout zero", `addr: "127.0.0.1:8080",`, `addr: "127.0.0.1:8080", read_timeout: 0s,`, `server.read_timeout: 0s is below the minimum of 100ms`},
		{"idle timeout unit", `addr: "127.0.0.1:8080",`, `addr: "127.0.0.1:8080", idle_timeout: 120,`, `server.idle_timeout: "120" is not a duration`},
		{"write timeout long", `addr: "127.0.0.1:8080",`, `addr: "127.0.0.1:8080", write_timeout: 48h,`, `server.write_timeout: 48h0m0s is above the maximum of 24h0m0s`},
		{"header timeout over read", `addr: "127.0.0.1:8080",`, `addr: "127.0.0.1:8080", read_header_timeout: 1m, read_timeout: 20s,`, `server.read_header_timeout: 1m0s is longer than server.read_timeout (20s)`},
		{"unauthenticated rate", `addr: "127.0.0.1:8080",`, `addr: "127.0.0.1:8080", unauthenticated_requests_per_second: 0,`, `server.unauthenticated_requests_per_second: 0 is not above 0`},
		{"trusted proxy", `addr: "127.0.0.1:8080",`, `addr: "127.0.0.1:8080", trusted_proxies: [10.0.0.0/8, "proxy.local"],`, `server.trusted_proxies[1]: "proxy.local" is not an IP address or a CIDR`},
		{"unauthenticated burst", `addr: "127.0.0.1:8080",`, `addr: "127.0.0.1:8080", unauthenticated_burst: -3,`, `server.unauthenticated_burst: -3 is not between 1 and 1000000`},
		{"log level", "", "log: {level: verbose}", `log.level: "verbose" is not one of debug, info, warn, error (line 1)`},
		{"log format", "", "log: {format: xml}", `log.format: "xml" is not one of text, json`},
		{"data dir", "", "data_dir: ''", `data_dir: is empty`},
		{"approvals expiry", "", "approvals: {expiry: 0s}", `approvals.expiry: 0s is below the minimum of 1m0s`},
		{"approvals duplicate", "", "approvals: {approvers: [a@x.com, a@x.com]}", `approvals.approvers[1]: "a@x.com" is listed twice`},
		{"approvals sandbox type", "", "approvals: {sandbox: sometimes}", `approvals.sandbox: "sometimes" is not true or false`},
		{"comment visibility", "", "approvals: {comment_visibility: private}", `approvals.comment_visibility: "private" is not one of internal, public`},
		{"customer reply decision", "", "approvals: {customer_replies: {MAYBE: hi}}", `approvals.customer_replies.MAYBE: "MAYBE" is not a decision`},
		{"customer reply empty", "", "approvals: {customer_replies: {APPROVED: ' '}}", `approvals.customer_replies.APPROVED: is empty`},
		{"unknown top key", "", "datadir: x", `datadir: unknown key; known keys here: approvals, audit, classify, connections, data_dir, log, notifiers, server, store (line 1)`},
		{"unknown nested key", `token: "${JIRA_TOKEN}"`, `tokne: "${JIRA_TOKEN}"`, `connections[0].auth.tokne: unknown key; known keys here: api_gateway_url, auth_url`},
		{"unknown filter key", "    webhook_secret", "    sync: {filters: {labels: [x]}}\n    webhook_secret", `connections[0].sync.filters.labels: unknown key; known keys here: created, index, projects, updated (line 8)`},
		{"wrong shape", "", "server: [a, b]", `server: expected a mapping of keys, got a list (line 1)`},
		{"list expected", "", "connections: {name: a}", `connections: expected a list, got a mapping`},
		{"number expected", "    webhook_secret", "    concurrency: many\n    webhook_secret", `connections[0].concurrency: "many" is not a whole number (line 8)`},
		{"scalar expected", "    webhook_secret", "    concurrency: [1]\n    webhook_secret", `connections[0].concurrency: expected a whole number, got a list`},
		{"not a mapping", "", "just a string", `config must be a mapping of keys (line 1), not a single value`},
		{"syntax", "", "a: [b", `config is not valid YAML: yaml: line 1`},
		{"two documents", "", "data_dir: a\n---\ndata_dir: b\n", `more than one YAML document`},
		{"duplicate key", "", "data_dir: a\ndata_dir: b\n", `data_dir: is given twice (lines 1 and 2)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.new
			if tc.old != "" {
				if !strings.Contains(valid, tc.old) {
					t.Fatalf("test case: %q not in the valid config", tc.old)
				}
				in = strings.Replace(valid, tc.old, tc.new, 1)
			}
			_, err := Parse([]byte(in), getenv)
			if err == nil {
				t.Fatalf("no error for:\n%s", in)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
			for _, s := range []string{secretToken, secretPass, secretClient, secretWebhook, secretKeyB64} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error reveals a secret: %v", err)
				}
			}
			if strings.HasPrefix(tc.want, "config") || strings.Contains(tc.want, "YAML") || strings.Contains(tc.want, "mapping key") {
				return
			}
			if !errors.Is(err, switchyard.ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
		})
	}
}

func TestSeveralErrorsReportedTogether(t *testing.T) {
	in := strings.NewReplacer("type: api_token", "type: oath", "name: dc", "name: Bad Name", `addr: "127.0.0.1:8080"`, `addr: nope`).Replace(valid)
	_, err := Parse([]byte(in), getenv)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"connections[0].auth.type", "connections[1].name", "server.addr"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if n := countErrors(err); n != 3 {
		t.Errorf("%d errors, want 3:\n%v", n, err)
	}
}

// TestSecretsNeverPrinted checks every way a secret might be printed.
func TestSecretsNeverPrinted(t *testing.T) {
	cfg, err := Parse([]byte(valid), getenv)
	if err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("config", "auth", cfg.Connections[0].Auth, "token", cfg.Connections[0].Auth.Token)
	j, _ := json.Marshal(cfg)
	y, _ := yaml.Marshal(cfg)
	for name, out := range map[string]string{
		"%v": fmt.Sprintf("%v", cfg), "%+v": fmt.Sprintf("%+v", *cfg), "%#v": fmt.Sprintf("%#v", *cfg),
		"%s token": fmt.Sprintf("%s", cfg.Connections[0].Auth.Token), "json": string(j), "yaml": string(y), "slog": logBuf.String(),
	} {
		for _, s := range []string{secretToken, secretPass, secretClient, secretWebhook, secretKeyB64} {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains a secret: %s", name, out)
			}
		}
	}
	if !strings.Contains(string(j), redacted) {
		t.Error("secrets are not shown as redacted")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "switchyard.yaml")
	if err := os.WriteFile(path, []byte("log: {level: loud}\nserver: {addr: x}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || !strings.Contains(err.Error(), path+": 2 problems") {
		t.Errorf("Load error: %v", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	t.Setenv("SY_TEST_DATA_DIR", "/from/env")
	if err := os.WriteFile(path, []byte("data_dir: ${SY_TEST_DATA_DIR}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if cfg, err := Load(path); err != nil || cfg.DataDir != "/from/env" {
		t.Errorf("Load with env: %+v %v", cfg, err)
	}
}

func TestHostileInput(t *testing.T) {
	// Each connection merges the previous one ten times: 10^9 visits if
	// aliases were followed without a budget.
	bomb := "connections:\n  - &c0 {name: a}\n"
	for i := 1; i < 10; i++ {
		prev := fmt.Sprintf("*c%d", i-1)
		bomb += fmt.Sprintf("  - &c%d {<<: [%s]}\n", i, strings.TrimSuffix(strings.Repeat(prev+", ", 10), ", "))
	}
	for _, tc := range []struct{ name, in, want string }{
		{"too large", "data_dir: " + strings.Repeat("x", maxFileBytes), "the limit is"},
		{"alias bomb", bomb, "too large once aliases are expanded"},
		{"anchors and merges work", "approvals: {approvers: &x [a, a]}", "listed twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := Parse([]byte(tc.in), getenv)
			if err == nil {
				t.Fatal("accepted")
			}
			if tc.want != "" && !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestByteSize(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ByteSize
		err  bool
	}{
		{"1048576", 1 << 20, false}, {"25MiB", 25 << 20, false}, {"25 MiB", 25 << 20, false},
		{"1KB", 1000, false}, {"1.5KiB", 1536, false}, {"3GB", 3e9, false}, {"0", 0, false}, {"7B", 7, false},
		{"-1", 0, true}, {"MiB", 0, true}, {"1e3", 0, true}, {"ten", 0, true}, {"99999999999999TiB", 0, true}, {"NaN", 0, true},
	} {
		got, err := ParseByteSize(tc.in)
		if (err != nil) != tc.err || got != tc.want {
			t.Errorf("ParseByteSize(%q) = %d, %v", tc.in, got, err)
		}
	}
	if s := ByteSize(25 << 20).String(); s != "25MiB" {
		t.Errorf("String = %s", s)
	}
}

func TestExampleLoads(t *testing.T) {
	for k, v := range map[string]string{
		"SWITCHYARD_ENCRYPTION_KEY": secretKeyB64, "JIRA_TOKEN": secretToken, "JIRA_WEBHOOK_SECRET": secretWebhook,
	} {
		t.Setenv(k, v)
	}
	cfg, err := Load("example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Connections) == 0 || cfg.Connections[0].Name != "acme" {
		t.Errorf("example connections: %+v", cfg.Connections)
	}
	// Every key of the configuration is documented in the example.
	data, _ := os.ReadFile("example.yaml")
	for _, key := range allKeys(t) {
		if !bytes.Contains(data, []byte(key+":")) {
			t.Errorf("example.yaml does not document %s", key)
		}
	}
}

// allKeys lists the leaf yaml keys of Config.
func allKeys(t *testing.T) []string {
	var out []string
	var walk func(n *yaml.Node)
	walk = func(n *yaml.Node) {
		for i := 0; i+1 < len(n.Content); i += 2 {
			out = append(out, n.Content[i].Value)
			walk(n.Content[i+1])
		}
		if n.Kind == yaml.SequenceNode {
			for _, c := range n.Content {
				walk(c)
			}
		}
	}
	full := Default()
	c := DefaultConnection()
	c.Auth = Auth{Type: "x", Email: "x", Token: "x", ClientID: "x", ClientSecret: "x", RedirectURL: "x", Scopes: []string{"x"},
		AuthURL: "x", TokenURL: "x", ResourcesURL: "x", APIGatewayURL: "x", Username: "x", Password: "x"}
	d := switchyard.Date{}
	on := true
	c.Sync.Filters = switchyard.SyncFilters{Projects: switchyard.ProjectFilter{In: []string{"A"}, NotIn: []string{"B"}},
		Created: switchyard.DateRange{After: &d, Before: &d}, Updated: switchyard.DateRange{After: &d, Before: &d},
		Index: switchyard.IndexToggles{Issues: &on, Comments: &on, Attachments: &on}}
	full.Connections = []Connection{c}
	full.Approvals.Executors = map[string]Executor{"password_reset": {Kind: "webhook", URL: "x", Secret: "x", Timeout: time.Second}}
	full.Approvals.Triggers = []Trigger{{Connection: "x", Projects: []string{"x"}, IssueTypes: []string{"x"}, Labels: []string{"x"}, NotLabels: []string{"x"}}}
	full.Server.TLSCert, full.Server.TLSKey, full.Server.PublicURL, full.Server.EncryptionKey = "x", "x", "x", "x"
	var n yaml.Node
	if err := n.Encode(full); err != nil {
		t.Fatal(err)
	}
	walk(&n)
	return out
}
