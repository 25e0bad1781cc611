package connector

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	jira "github.com/andygrunwald/go-jira"

	"switchyard"
)

// Identity is every name Jira may use for one user: the account id on
// Cloud, the user key and user name on Data Center / Server. Server-era
// webhooks sometimes carry none of the fields, only the user's self URL
// (…/rest/api/2/user?username=NAME), so the name is read from there too.
type Identity struct {
	AccountID string `json:"accountId,omitempty"`
	Key       string `json:"key,omitempty"`
	Name      string `json:"name,omitempty"`
}

// Empty reports whether the identity names nobody.
func (i Identity) Empty() bool { return i.AccountID == "" && i.Key == "" && i.Name == "" }

// Matches reports whether i and o name the same user: any identifier both
// carry is equal. Only like is compared with like (a key is never compared
// with a name), so a user whose name is another user's key is not confused.
func (i Identity) Matches(o Identity) bool {
	eq := func(a, b string) bool { return a != "" && a == b }
	return eq(i.AccountID, o.AccountID) || eq(i.Key, o.Key) || eq(i.Name, o.Name)
}

// WebhookEvent is what the receiver needs from a Jira webhook delivery.
type WebhookEvent struct {
	Event     string    // webhookEvent, e.g. jira:issue_updated, comment_created
	IssueID   string    // from issue.id, or derived from comment.self
	IssueKey  string    // from issue.key ("" when derived from comment.self)
	CommentID string    // comment events
	Timestamp time.Time // zero when absent or not epoch milliseconds
	// Actor is the user who caused the event: user, else the comment's
	// update author, else its author.
	Actor Identity
}

// NamesIssue reports whether the event refers to an issue.
func (e WebhookEvent) NamesIssue() bool { return e.IssueID != "" || e.IssueKey != "" }

type hookUser struct {
	AccountID string `json:"accountId"`
	Key       string `json:"key"`
	Name      string `json:"name"`
	Self      string `json:"self"`
}

func (u *hookUser) identity() Identity {
	if u == nil {
		return Identity{}
	}
	id := Identity{AccountID: u.AccountID, Key: u.Key, Name: u.Name}
	if s, err := url.Parse(u.Self); err == nil && u.Self != "" {
		q := s.Query()
		if id.Name == "" {
			id.Name = q.Get("username")
		}
		if id.AccountID == "" {
			id.AccountID = q.Get("accountId")
		}
		if id.Key == "" {
			id.Key = q.Get("key")
		}
	}
	return id
}

// ParseWebhook reads a webhook delivery. Only the fields the receiver needs
// are decoded, each leniently (Jira Server sends ids as strings or numbers),
// so an unexpected shape elsewhere in the payload does not reject it.
func ParseWebhook(body []byte) (WebhookEvent, error) {
	var raw struct {
		WebhookEvent string          `json:"webhookEvent"`
		Timestamp    json.RawMessage `json:"timestamp"`
		User         *hookUser       `json:"user"`
		Issue        *struct {
			ID  json64 `json:"id"`
			Key string `json:"key"`
		} `json:"issue"`
		Comment *struct {
			ID           json64    `json:"id"`
			Self         string    `json:"self"`
			Author       *hookUser `json:"author"`
			UpdateAuthor *hookUser `json:"updateAuthor"`
		} `json:"comment"`
	}
	if err := json.Unmarshal(body, &raw); err != nil {
		return WebhookEvent{}, switchyard.Errorf(switchyard.ErrInvalid, "malformed webhook JSON: %v", err)
	}
	ev := WebhookEvent{Event: raw.WebhookEvent}
	var ms int64
	if json.Unmarshal(raw.Timestamp, &ms) == nil && ms > 0 {
		ev.Timestamp = time.UnixMilli(ms).UTC()
	}
	if raw.Issue != nil {
		ev.IssueID, ev.IssueKey = string(raw.Issue.ID), raw.Issue.Key
	}
	ev.Actor = raw.User.identity()
	if c := raw.Comment; c != nil {
		ev.CommentID = string(c.ID)
		if !ev.NamesIssue() {
			// Jira Server 7 comment events carry no issue object; the
			// comment's self URL is …/rest/api/2/issue/{issueId}/comment/{id}.
			ev.IssueID = issueFromCommentSelf(c.Self)
		}
		if ev.Actor.Empty() {
			ev.Actor = c.UpdateAuthor.identity()
		}
		if ev.Actor.Empty() {
			ev.Actor = c.Author.identity()
		}
	}
	return ev, nil
}

// issueFromCommentSelf returns the issue id or key in a comment's self URL,
// or "" when the URL is not a REST comment URL.
func issueFromCommentSelf(self string) string {
	u, err := url.Parse(self)
	if err != nil {
		return ""
	}
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	// Search from the end: a context path (/jira/rest/…) may precede it.
	for i := len(seg) - 4; i >= 0; i-- {
		if seg[i] == "issue" && seg[i+2] == "comment" && seg[i+1] != "" && i >= 3 && seg[i-3] == "rest" {
			if checkKey("issue", seg[i+1]) == nil {
				return seg[i+1]
			}
		}
	}
	return ""
}

// Self is the identity the connection acts as (GET myself), with every
// identifier Jira gives: the echo filter matches webhook actors against it.
func (c *Client) Self(ctx context.Context) (Identity, error) {
	var u jira.User
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/myself"}, http.MethodGet, c.v()+"/myself", nil, &u); err != nil {
		return Identity{}, err
	}
	return Identity{AccountID: u.AccountID, Key: u.Key, Name: u.Name}, nil
}
