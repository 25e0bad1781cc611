package connector

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"

	jira "github.com/andygrunwald/go-jira"

	"switchyard"
)

// Data Center users have a username (name, which an admin can rename) and a
// user key (stable; JIRAUSER… for users created since Jira 8). Switchyard
// keys users by the key, as do group members, issue people and permission
// holders ("user" holders carry the key). Project-role user actors name only
// the username, so it is mapped to the key here.

func (c *Client) rememberDCName(u jira.User) {
	if c.dc() && u.Name != "" && u.Key != "" {
		c.dcKeys.Store(strings.ToLower(u.Name), u.Key)
	}
}

// dcUserKey is the user key of a Data Center username: from the users seen so
// far, else GET /rest/api/2/user?username=. "" (and no error) when Jira has no
// such user any more.
func (c *Client) dcUserKey(ctx context.Context, name string) (string, error) {
	if k, ok := c.dcKeys.Load(strings.ToLower(name)); ok {
		return k.(string), nil
	}
	var u jira.User
	err := c.do(ctx, call{endpoint: "GET /rest/api/2/user"}, http.MethodGet, "/rest/api/2/user?"+url.Values{"username": {name}}.Encode(), nil, &u)
	if errors.Is(err, switchyard.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if u.Key == "" { // a Jira too old to have keys names users by name
		u.Key = u.Name
	}
	if u.Key == "" {
		return "", nil
	}
	c.rememberDCName(jira.User{Name: name, Key: u.Key})
	return u.Key, nil
}
