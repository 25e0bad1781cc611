package config

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
)

// Decision labels approvals.transitions may map.
var decisionLabels = []string{"APPROVED", "DENIED", "EXPIRED", "FAILED"}

var (
	slackUserRe  = regexp.MustCompile(`^[UW][A-Z0-9]{2,30}$`)
	projectKeyRe = regexp.MustCompile(`^[A-Z][A-Z0-9_]{0,29}$`)
)

// applyRunbookDefaults fills the runbook keys that depend on others.
func (c *Config) applyRunbookDefaults() {
	if c.Classify.Index == "" && c.DataDir != "" {
		c.Classify.Index = filepath.Join(c.DataDir, ClassifyIndexDir)
	}
	if c.Approvals.DefaultExecutor == "" {
		c.Approvals.DefaultExecutor = ExecutorSandbox
	}
	for k, e := range c.Approvals.Executors {
		if e.Kind == "" {
			e.Kind = ExecutorSandbox
			c.Approvals.Executors[k] = e
		}
	}
	if c.Notifiers.Slack.BotToken.IsSet() && c.Notifiers.Slack.APIURL == "" {
		c.Notifiers.Slack.APIURL = DefaultSlackAPIURL
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// resolveSignIn fills server.atlassian_signin from its connection's OAuth
// app and checks it.
func (c *Config) resolveSignIn(v *validator) {
	a := &c.Server.AtlassianSignIn
	const p = "server.atlassian_signin"
	if !a.Enabled() {
		return
	}
	if a.Connection != "" {
		var found *Connection
		for i := range c.Connections {
			if c.Connections[i].Name == a.Connection {
				found = &c.Connections[i]
			}
		}
		switch {
		case found == nil:
			v.add(p+".connection", "%q is not a configured connection", clip(a.Connection))
		case found.Auth.Type != AuthOAuth && a.ClientID == "":
			v.add(p+".connection", "connection %q uses %s auth, so it has no OAuth app to borrow; set %s.client_id and client_secret", found.Name, found.Auth.Type, p)
		case found.Auth.Type == AuthOAuth:
			au := found.Auth
			if a.ClientID == "" {
				a.ClientID, a.ClientSecret = au.ClientID, au.ClientSecret
			}
			if a.AuthURL == "" {
				a.AuthURL = au.AuthURL
			}
			if a.TokenURL == "" {
				a.TokenURL = au.TokenURL
			}
			if a.MeURL == "" && au.APIGatewayURL != "" {
				a.MeURL = strings.TrimRight(au.APIGatewayURL, "/") + "/me"
			}
		}
	}
	if a.ClientID == "" {
		v.add(p+".client_id", "is required (or name an oauth connection in %s.connection)", p)
	}
	if !a.ClientSecret.IsSet() {
		v.add(p+".client_secret", "is required")
	}
	for key, u := range map[string]string{"auth_url": a.AuthURL, "token_url": a.TokenURL, "me_url": a.MeURL, "redirect_url": a.RedirectURL} {
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "http" && pu.Scheme != "https") || pu.Host == "" {
			v.add(p+"."+key, "must be an absolute http(s) URL, not %q", clip(u))
		}
	}
}

// validateRunbook checks classify, approvals, notifiers and audit keys.
func (c *Config) validateRunbook(v *validator) {
	c.resolveSignIn(v)
	c.validatePolicies(v)
	a := &c.Approvals
	if a.LinkSecret.IsSet() && len(a.LinkSecret.Value()) < 16 {
		v.add("approvals.link_secret", "is shorter than 16 bytes (generate one with: openssl rand -base64 32)")
	}
	for _, id := range sortedKeys(a.SlackUsers) {
		p := "approvals.slack_users." + id
		if !slackUserRe.MatchString(id) {
			v.add(p, "%q is not a Slack user id such as U024BE7LH", clip(id))
		}
		if strings.TrimSpace(a.SlackUsers[id]) == "" {
			v.add(p, "is empty; want the approver's email")
		}
	}
	for _, label := range sortedKeys(a.Transitions) {
		p := "approvals.transitions." + label
		if !slices.Contains(decisionLabels, label) {
			v.add(p, "%q is not a decision; use %s", clip(label), strings.Join(decisionLabels, ", "))
		}
		if strings.TrimSpace(a.Transitions[label]) == "" {
			v.add(p, "is empty; want a Jira status or transition name")
		}
	}
	if a.CommentVisibility != "" {
		v.oneOf("approvals.comment_visibility", a.CommentVisibility, "internal", "public")
	}
	for _, label := range sortedKeys(a.CustomerReplies) {
		p := "approvals.customer_replies." + label
		if !slices.Contains(decisionLabels, label) {
			v.add(p, "%q is not a decision; use %s", clip(label), strings.Join(decisionLabels, ", "))
		}
		if strings.TrimSpace(a.CustomerReplies[label]) == "" {
			v.add(p, "is empty; want the reply text")
		}
	}
	if v.oneOf("approvals.default_executor", a.DefaultExecutor, ExecutorSandbox, ExecutorWebhook) && a.DefaultExecutor == ExecutorWebhook {
		if e, ok := a.Executors["default"]; !ok || e.Kind != ExecutorWebhook {
			v.add("approvals.default_executor", "is webhook but approvals.executors.default (kind: webhook, url, secret) is not set")
		}
	}
	for _, name := range sortedKeys(a.Executors) {
		e := a.Executors[name]
		p := "approvals.executors." + name
		if !v.oneOf(p+".kind", e.Kind, ExecutorSandbox, ExecutorWebhook) {
			continue
		}
		if e.Kind == ExecutorSandbox {
			if e.URL != "" || e.Secret.IsSet() || e.Timeout != 0 {
				v.add(p, "kind sandbox takes no url, secret or timeout")
			}
			continue
		}
		v.httpURL(p+".url", e.URL, true)
		if !e.Secret.IsSet() {
			v.add(p+".secret", "is empty; a webhook executor signs its payload (X-Switchyard-Signature)")
		}
		v.duration(p+".timeout", e.Timeout, time.Second, 10*time.Minute, true)
	}
	conns := map[string]bool{}
	for _, cc := range c.Connections {
		conns[cc.Name] = true
	}
	for i, t := range a.Triggers {
		p := fmt.Sprintf("approvals.triggers[%d]", i)
		if t.Connection != "" && !conns[t.Connection] {
			v.add(p+".connection", "%q is not a configured connection", clip(t.Connection))
		}
		if len(t.Projects) == 0 && len(t.IssueTypes) == 0 && len(t.Labels) == 0 {
			v.add(p, "selects every issue; give projects, issue_types or labels")
		}
		for j, k := range t.Projects {
			if !projectKeyRe.MatchString(k) {
				v.add(fmt.Sprintf("%s.projects[%d]", p, j), "%q is not a Jira project key such as ITSM", clip(k))
			}
		}
		for _, list := range []struct {
			key  string
			vals []string
		}{{"issue_types", t.IssueTypes}, {"labels", t.Labels}, {"not_labels", t.NotLabels}} {
			for j, s := range list.vals {
				if strings.TrimSpace(s) == "" {
					v.add(fmt.Sprintf("%s.%s[%d]", p, list.key, j), "is empty")
				}
			}
		}
	}

	s := &c.Notifiers.Slack
	switch {
	case s.BotToken.IsSet() && strings.TrimSpace(s.Channel) == "":
		v.add("notifiers.slack.channel", "is empty; notifiers.slack.bot_token is set and needs a channel to post to")
	case !s.BotToken.IsSet() && s.Channel != "":
		v.add("notifiers.slack.bot_token", "is empty; notifiers.slack.channel is set and needs a bot token (xoxb-…)")
	}
	if s.SigningSecret.IsSet() && !s.BotToken.IsSet() {
		v.add("notifiers.slack.signing_secret", "is set but notifiers.slack.bot_token is not")
	}
	if s.BotToken.IsSet() && !s.SigningSecret.IsSet() {
		v.add("notifiers.slack.signing_secret", "is empty; without it Slack's Approve/Deny buttons cannot be verified")
	}
	v.httpURL("notifiers.slack.api_url", s.APIURL, false)
	if w := c.Notifiers.Teams.WebhookURL; w.IsSet() {
		// The URL is a credential: never quoted.
		if u, err := url.Parse(w.Value()); err != nil || u.Scheme != "https" || u.Host == "" {
			v.add("notifiers.teams.webhook_url", "is not an absolute https URL")
		}
		if !a.LinkSecret.IsSet() {
			v.add("approvals.link_secret", "is empty; notifiers.teams needs it to sign approve/deny links")
		}
	}
	wh := &c.Notifiers.Webhook
	v.httpURL("notifiers.webhook.url", wh.URL, false)
	if wh.URL != "" && !wh.Secret.IsSet() {
		v.add("notifiers.webhook.secret", "is empty; the webhook notifier signs its payload")
	}
	if wh.URL == "" && wh.Secret.IsSet() {
		v.add("notifiers.webhook.url", "is empty but notifiers.webhook.secret is set")
	}

	if strings.TrimSpace(c.Classify.Index) == "" {
		v.add("classify.index", "is empty")
	}
	au := &c.Audit
	if au.SigningKey.IsSet() {
		if !validEd25519(au.SigningKey.Value()) {
			v.add("audit.signing_key", "is not an Ed25519 private key (32-byte seed or 64-byte key, base64 or hex)")
		}
		if au.CheckpointFile == "" {
			v.add("audit.checkpoint_file", "is empty; audit.signing_key is set and signs checkpoints into this file")
		}
	} else if au.CheckpointFile != "" {
		v.add("audit.signing_key", "is empty; audit.checkpoint_file needs a key to sign checkpoints")
	}
}

func validEd25519(s string) bool {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && (len(b) == 32 || len(b) == 64) {
		return true
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && (len(b) == 32 || len(b) == 64) {
			return true
		}
	}
	return false
}
