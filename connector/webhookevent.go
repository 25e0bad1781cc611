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

// ParseWebhook reads a webhook delivery. Only a body that is not a JSON
// object is an error; each field the receiver needs is decoded on its own
// and leniently (Jira Server sends some ids as numbers), so an unexpected
// shape anywhere else does not reject the delivery.
func ParseWebhook(body []byte) (WebhookEvent, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return WebhookEvent{}, switchyard.Errorf(switchyard.ErrInvalid, "malformed webhook JSON: %v", err)
	}
	var ev WebhookEvent
	json.Unmarshal(top["webhookEvent"], &ev.Event)
	var ms int64
	if json.Unmarshal(top["timestamp"], &ms) == nil && ms > 0 {
		ev.Timestamp = time.UnixMilli(ms).UTC()
	}
	var issue map[string]json.RawMessage
	if json.Unmarshal(top["issue"], &issue) == nil {
		var id json64
		if json.Unmarshal(issue["id"], &id) == nil {
			ev.IssueID = string(id)
		}
		json.Unmarshal(issue["key"], &ev.IssueKey)
	}
	ev.Actor = hookIdentity(top["user"])
	var comment map[string]json.RawMessage
	if json.Unmarshal(top["comment"], &comment) == nil && comment != nil {
		var id json64
		if json.Unmarshal(comment["id"], &id) == nil {
			ev.CommentID = string(id)
		}
		if !ev.NamesIssue() {
			// Jira Server 7 comment events carry no issue object; the
			// comment's self URL is …/rest/api/2/issue/{issueId}/comment/{id}.
			var self string
			json.Unmarshal(comment["self"], &self)
			ev.IssueID = issueFromCommentSelf(self)
		}
		if ev.Actor.Empty() {
			ev.Actor = hookIdentity(comment["updateAuthor"])
		}
		if ev.Actor.Empty() {
			ev.Actor = hookIdentity(comment["author"])
		}
	}
	return ev, nil
}

// hookIdentity reads a user object of a delivery; any other shape is nobody.
func hookIdentity(raw json.RawMessage) Identity {
	var u hookUser
	if isNull(raw) || json.Unmarshal(raw, &u) != nil {
		return Identity{}
	}
	return u.identity()
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
