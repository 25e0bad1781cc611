package config

import (
	"strings"
	"testing"
	"time"
)

const runbookValid = valid + `
approvals:
  sandbox: false
  link_secret: "0123456789abcdef0123"
  slack_users: {U024BE7LH: ada@acme.com}
  transitions: {APPROVED: Done, DENIED: "Won't Do"}
  default_executor: sandbox
  executors:
    RB-001: {kind: webhook, url: "https://okta.example.com/flow", secret: "s3cr3t-s3cr3t", timeout: 10s}
    mfa_reset: {}
  triggers:
    - {connection: acme, projects: [ITSM], issue_types: [Service Request], not_labels: [manual]}
notifiers:
  slack: {bot_token: xoxb-1, channel: "#it-approvals", signing_secret: abc}
  teams: {webhook_url: "https://prod.example.logic.azure.com/workflows/1?sig=TEAMSSECRET"}
  webhook: {url: "https://hooks.example.com/approvals", secret: whsecret}
audit:
  signing_key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
  checkpoint_file: /var/lib/switchyard/checkpoint.json
`

func TestRunbookKeys(t *testing.T) {
	cfg, err := Parse([]byte(runbookValid), getenv)
	if err != nil {
		t.Fatal(err)
	}
	a := cfg.Approvals
	if a.SlackUsers["U024BE7LH"] != "ada@acme.com" || a.Transitions["DENIED"] != "Won't Do" {
		t.Errorf("maps: %v %v", a.SlackUsers, a.Transitions)
	}
	if e := a.Executors["RB-001"]; e.Kind != ExecutorWebhook || e.Timeout != 10*time.Second || e.Secret.Value() != "s3cr3t-s3cr3t" {
		t.Errorf("executor RB-001 = %+v", e)
	}
	if e := a.Executors["mfa_reset"]; e.Kind != ExecutorSandbox {
		t.Errorf("executor without kind = %+v, want sandbox", e)
	}
	if len(a.Triggers) != 1 || a.Triggers[0].IssueTypes[0] != "Service Request" {
		t.Errorf("triggers = %+v", a.Triggers)
	}
	if cfg.Notifiers.Slack.APIURL != DefaultSlackAPIURL {
		t.Errorf("slack api_url default = %q", cfg.Notifiers.Slack.APIURL)
	}
	if !strings.HasSuffix(cfg.Classify.Index, ClassifyIndexDir) {
		t.Errorf("classify.index default = %q", cfg.Classify.Index)
	}
	d, err := Parse([]byte(valid), getenv)
	if err != nil {
		t.Fatal(err)
	}
	if d.Approvals.DefaultExecutor != ExecutorSandbox || !d.Approvals.Sandbox {
		t.Errorf("defaults: %+v", d.Approvals)
	}
}

func TestRunbookKeyErrors(t *testing.T) {
	for _, tc := range []struct {
		name, old, new, want string
	}{
		{"short link secret", `link_secret: "0123456789abcdef0123"`, `link_secret: short`, `approvals.link_secret: is shorter than 16 bytes`},
		{"slack user id", `{U024BE7LH: ada@acme.com}`, `{ada: ada@acme.com}`, `approvals.slack_users.ada: "ada" is not a Slack user id`},
		{"transition label", `APPROVED: Done`, `APPROVE: Done`, `approvals.transitions.APPROVE: "APPROVE" is not a decision`},
		{"default executor", `default_executor: sandbox`, `default_executor: okta`, `approvals.default_executor: "okta" is not one of sandbox, webhook`},
		{"default webhook without executor", `default_executor: sandbox`, `default_executor: webhook`, `approvals.default_executor: is webhook but approvals.executors.default`},
		{"executor kind", `kind: webhook`, `kind: lambda`, `approvals.executors.RB-001.kind: "lambda" is not one of sandbox, webhook`},
		{"executor url", `url: "https://okta.example.com/flow"`, `url: "okta.example.com/flow"`, `approvals.executors.RB-001.url: "okta.example.com/flow" is not an absolute http(s) URL`},
		{"executor url query", `url: "https://okta.example.com/flow"`, `url: "https://okta.example.com/flow/Tok3nInThePath99?clientToken=QUERYSECRET123"`, `approvals.executors.RB-001.url: "https://okta.example.com/flow/…" must not have a query or fragment`},
		{"executor url without scheme", `url: "https://okta.example.com/flow"`, `url: "hooks.example.com/services/T0/B0/Tok3nInThePath99"`, `approvals.executors.RB-001.url: "hooks.example.com/services/T0/B0/…" is not an absolute http(s) URL`},
		{"executor secret", `secret: "s3cr3t-s3cr3t", `, ``, `approvals.executors.RB-001.secret: is empty`},
		{"executor timeout", `timeout: 10s`, `timeout: 1h`, `approvals.executors.RB-001.timeout: 1h0m0s is above the maximum`},
		{"executor map shape", `mfa_reset: {}`, `mfa_reset: [1]`, `approvals.executors.mfa_reset: expected a mapping of keys, got a list`},
		{"trigger connection", `connection: acme,`, `connection: nope,`, `approvals.triggers[0].connection: "nope" is not a configured connection`},
		{"trigger project", `projects: [ITSM]`, `projects: [itsm]`, `approvals.triggers[0].projects[0]: "itsm" is not a Jira project key`},
		{"trigger selects all", `projects: [ITSM], issue_types: [Service Request], `, ``, `approvals.triggers[0]: selects every issue`},
		{"slack channel", `channel: "#it-approvals", `, ``, `notifiers.slack.channel: is empty`},
		{"slack signing secret", `, signing_secret: abc`, ``, `notifiers.slack.signing_secret: is empty`},
		{"teams url", `https://prod.example.logic.azure.com/workflows/1?sig=TEAMSSECRET`, `http://prod.example.logic.azure.com/workflows/1?sig=TEAMSSECRET`, `notifiers.teams.webhook_url: is not an absolute https URL`},
		{"teams needs link secret", `link_secret: "0123456789abcdef0123"`, ``, `approvals.link_secret: is empty; notifiers.teams needs it`},
		{"webhook secret", `, secret: whsecret}`, `}`, `notifiers.webhook.secret: is empty`},
		{"audit key", `AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=`, `nope`, `audit.signing_key: is not an Ed25519 private key`},
		{"audit file", `checkpoint_file: /var/lib/switchyard/checkpoint.json`, ``, `audit.checkpoint_file: is empty`},
		{"map key twice", `{APPROVED: Done, DENIED: "Won't Do"}`, `{APPROVED: Done, APPROVED: Closed}`, `approvals.transitions.APPROVED: is given twice`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(runbookValid, tc.old) {
				t.Fatalf("test case: %q not in the config", tc.old)
			}
			_, err := Parse([]byte(strings.Replace(runbookValid, tc.old, tc.new, 1)), getenv)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error:\n%v\nwant it to contain:\n%s", err, tc.want)
			}
			for _, s := range []string{"TEAMSSECRET", "s3cr3t-s3cr3t", "whsecret", "xoxb-1", "QUERYSECRET", "Tok3nInThePath99"} {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error reveals a secret %q: %v", s, err)
				}
			}
		})
	}
}
