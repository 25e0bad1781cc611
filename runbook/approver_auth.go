package runbook

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"switchyard"
)

// Who an interaction is: each channel turns its authenticated user into the
// Jira account that decides. Slack's signed interaction names a Slack user,
// which maps to a Jira account by approvals.slack_users or by the user's
// verified Slack e-mail matched against the synced Jira users; nobody else
// decides for them.

// SlackUserLookup finds a Slack user's e-mail (users.info); verified says
// Slack has confirmed it. *SlackNotifier implements it.
type SlackUserLookup interface {
	SlackUserEmail(ctx context.Context, userID string) (email string, verified bool, err error)
}

// errUnmappedSlack refuses a Slack user who is no Jira account.
func errUnmappedSlack(id, why string) error {
	return switchyard.Errorf(switchyard.ErrForbidden, "your Slack account (%s) is not linked to a Jira account: %s. Ask an admin to add it to approvals.slack_users, or decide in the console with Sign in with Atlassian", id, why)
}

// slackApprover is the Jira account a Slack user decides as.
func (s *Service) slackApprover(ctx context.Context, userID string) (string, error) {
	if v := strings.TrimSpace(s.opts.SlackUsers[userID]); v != "" {
		if u, err := s.db.FindAccount(ctx, v); err == nil {
			return u.AccountID, nil
		}
		return v, nil // an explicit map is trusted config; the rules compare it by name
	}
	var look SlackUserLookup
	for _, n := range s.opts.Notifiers {
		if l, ok := n.(SlackUserLookup); ok {
			look = l
		}
	}
	if look == nil {
		return "", errUnmappedSlack(userID, "it is not in approvals.slack_users")
	}
	email, verified, err := look.SlackUserEmail(ctx, userID)
	switch {
	case err != nil:
		return "", fmt.Errorf("look up Slack user %s: %w", userID, err)
	case email == "":
		return "", errUnmappedSlack(userID, "Slack shows no e-mail for it (the app needs the users:read.email scope)")
	case !verified:
		return "", errUnmappedSlack(userID, "its Slack e-mail is not verified")
	}
	u, err := s.db.FindAccount(ctx, email)
	if errors.Is(err, switchyard.ErrNotFound) {
		return "", errUnmappedSlack(userID, "no synced Jira user has its e-mail "+email+" (or that user hides it)")
	}
	if err != nil {
		return "", err
	}
	return u.AccountID, nil
}

// SlackUserEmail calls users.info: the user's profile e-mail and whether
// Slack confirmed it.
func (n *SlackNotifier) SlackUserEmail(ctx context.Context, userID string) (string, bool, error) {
	var r struct {
		User struct {
			Deleted          bool `json:"deleted"`
			IsBot            bool `json:"is_bot"`
			IsEmailConfirmed bool `json:"is_email_confirmed"`
			Profile          struct {
				Email string `json:"email"`
			} `json:"profile"`
		} `json:"user"`
	}
	if err := n.call(ctx, "users.info", map[string]any{"user": userID}, &r); err != nil {
		return "", false, err
	}
	if r.User.Deleted || r.User.IsBot {
		return "", false, nil
	}
	return strings.TrimSpace(r.User.Profile.Email), r.User.IsEmailConfirmed, nil
}
