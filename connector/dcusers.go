package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
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

// errNoUserList means the site has no /rest/api/2/user/list (before 10.3).
var errNoUserList = errors.New("no user/list on this Data Center version")

// dcUserPage is the largest user/list page asked for (Jira's default 2000).
const dcUserPage = 1000

// dcUserList lists every user through GET /rest/api/2/user/list, Data
// Center's cursor-paged listing (10.3 LTS and 11.0+): Jira 10 caps user/search
// at 100 results, and the list endpoint is the supported way to read them
// all. A 404 on the first page means an older version: errNoUserList.
func (c *Client) dcUserList(ctx context.Context, fn func([]switchyard.User) error) error {
	cursor := ""
	for first := true; ; first = false {
		q := url.Values{"maxResults": {strconv.Itoa(c.page(dcUserPage))}}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		var raw json.RawMessage
		err := c.do(ctx, call{endpoint: "GET /rest/api/2/user/list"}, http.MethodGet, "/rest/api/2/user/list?"+q.Encode(), nil, &raw)
		if first && errors.Is(err, switchyard.ErrNotFound) {
			return errNoUserList
		}
		if err != nil {
			return err
		}
		var p struct {
			Values     []jira.User `json:"values"`
			IsLast     bool        `json:"isLast"`
			NextCursor json64      `json:"nextCursor"`
		}
		if len(raw) > 0 && raw[0] == '[' { // a bare array: one page, the whole list
			if err := json.Unmarshal(raw, &p.Values); err != nil {
				return fmt.Errorf("GET /rest/api/2/user/list: decode response: %w", err)
			}
			p.IsLast = true
		} else if err := json.Unmarshal(raw, &p); err != nil {
			return fmt.Errorf("GET /rest/api/2/user/list: decode response: %w", err)
		}
		if len(p.Values) > 0 {
			us := make([]switchyard.User, len(p.Values))
			for i, u := range p.Values {
				us[i] = toUser(u)
				c.remember(&userRef{AccountID: us[i].AccountID, DisplayName: u.DisplayName})
				c.rememberDCName(u)
			}
			if err := fn(us); err != nil {
				return err
			}
		}
		next := string(p.NextCursor)
		if p.IsLast || len(p.Values) == 0 || next == "" {
			return nil
		}
		if next == cursor {
			return fmt.Errorf("GET /rest/api/2/user/list: the next cursor %q repeats the current one", cursor)
		}
		cursor = next
	}
}
