package connector

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"sync"

	jira "github.com/andygrunwald/go-jira"

	"switchyard"
)

// Page sizes. Jira caps most pages; asking for more only returns the cap.
const (
	userPage        = 1000 // users/search: bare array, page until short
	groupPage       = 50
	memberPage      = 50 // group/member is capped at 50
	projectPage     = 100
	commentPage     = 100
	auditPage       = 1000
	searchIDsPage   = 5000 // search/jql when only ids are asked for
	bulkFetchMax    = 100
	dcSearchPage    = 100
	webhookListPage = 100
)

func (c *Client) v() string {
	if c.dc() {
		return "/rest/api/2"
	}
	return "/rest/api/3"
}

// userID is the account id; Data Center has none, so its user key is used
// (stable across renames), then its name.
func userID(u jira.User) string {
	switch {
	case u.AccountID != "":
		return u.AccountID
	case u.Key != "":
		return u.Key
	}
	return u.Name
}

func toUser(u jira.User) switchyard.User {
	at := u.AccountType
	if at == "" {
		at = "atlassian"
	}
	return switchyard.User{AccountID: userID(u), DisplayName: u.DisplayName, Email: u.EmailAddress, Active: u.Active, AccountType: at}
}

// Myself is the account the connection acts as.
func (c *Client) Myself(ctx context.Context) (switchyard.User, error) {
	var u jira.User
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/myself"}, http.MethodGet, c.v()+"/myself", nil, &u); err != nil {
		return switchyard.User{}, err
	}
	return toUser(u), nil
}

// Users pages through every user, calling fn once per page. Cloud's
// users/search answers a bare array, so paging stops at a short page. Data
// Center 10.3+ lists users through /rest/api/2/user/list (see dcUserList);
// older versions through user/search with username=".".
func (c *Client) Users(ctx context.Context, fn func([]switchyard.User) error) error {
	path, ep := "/rest/api/3/users/search", "GET /rest/api/3/users/search"
	extra := url.Values{}
	if c.dc() {
		if !c.noUserList.Load() {
			err := c.dcUserList(ctx, fn)
			if !errors.Is(err, errNoUserList) {
				return err
			}
			c.noUserList.Store(true) // before 10.3: remember, ask no more
		}
		// "." matches every username.
		path, ep = "/rest/api/2/user/search", "GET /rest/api/2/user/search"
		extra.Set("username", ".")
		extra.Set("includeInactive", "true")
	}
	largest, prevFirst := 0, ""
	for start := 0; ; {
		q := url.Values{}
		for k, v := range extra {
			q[k] = v
		}
		q.Set("startAt", strconv.Itoa(start))
		q.Set("maxResults", strconv.Itoa(c.page(userPage)))
		var page []jira.User
		if err := c.do(ctx, call{endpoint: ep}, http.MethodGet, path+"?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		// A Jira that ignores startAt would answer the same page forever.
		first := userID(page[0])
		if start > 0 && first == prevFirst {
			return fmt.Errorf("%s: the page at startAt=%d repeats the previous one; this Jira does not page user search", ep, start)
		}
		prevFirst = first
		us := make([]switchyard.User, len(page))
		for i, u := range page {
			us[i] = toUser(u)
			c.remember(&userRef{AccountID: us[i].AccountID, DisplayName: u.DisplayName})
			c.rememberDCName(u)
		}
		if err := fn(us); err != nil {
			return err
		}
		// Jira may cap maxResults below what we asked (Data Center 10: 100),
		// so the largest page seen is the real page size; a page shorter
		// than it is the last.
		if len(page) < largest {
			return nil
		}
		largest = max(largest, len(page))
		start += len(page)
	}
}

// UserGroups is the groups an account belongs to, as group ids (Cloud) or
// names (Data Center, which has no group ids).
func (c *Client) UserGroups(ctx context.Context, accountID string) ([]switchyard.Group, error) {
	if accountID == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "accountId", "is empty")
	}
	q := url.Values{}
	if c.dc() {
		gs, err := c.dcUserGroups(ctx, accountID)
		if err != nil {
			return nil, err
		}
		out := make([]switchyard.Group, len(gs))
		for i, g := range gs {
			out[i] = g.group()
		}
		return out, nil
	}
	q.Set("accountId", accountID)
	var gs []groupJSON
	if err := c.do(ctx, call{endpoint: "GET /rest/api/3/user/groups"}, http.MethodGet, "/rest/api/3/user/groups?"+q.Encode(), nil, &gs); err != nil {
		return nil, err
	}
	out := make([]switchyard.Group, len(gs))
	for i, g := range gs {
		out[i] = g.group()
	}
	return out, nil
}

type groupJSON struct {
	GroupID string `json:"groupId"`
	Name    string `json:"name"`
}

// group uses the name as id where Jira has no group id (Data Center).
func (g groupJSON) group() switchyard.Group {
	id := g.GroupID
	if id == "" {
		id = g.Name
	}
	return switchyard.Group{ID: id, Name: g.Name}
}

// pageBean is Jira's offset page with isLast (group/bulk, group/member,
// project/search, webhook, issuesecurityschemes/level/member).
type pageBean[T any] struct {
	StartAt    int  `json:"startAt"`
	MaxResults int  `json:"maxResults"`
	Total      int  `json:"total"`
	IsLast     bool `json:"isLast"`
	Values     []T  `json:"values"`
}

// last reports whether p ends the listing. isLast is authoritative when
// true; otherwise an empty page or total reached also ends it.
func (p pageBean[T]) last(start int) bool {
	return p.IsLast || len(p.Values) == 0 || (p.Total > 0 && start+len(p.Values) >= p.Total)
}

// Groups pages through every group (without members; see GroupMembers).
func (c *Client) Groups(ctx context.Context, fn func([]switchyard.Group) error) error {
	if c.dc() {
		return c.dcGroups(ctx, fn)
	}
	for start := 0; ; {
		var p pageBean[groupJSON]
		path := fmt.Sprintf("/rest/api/3/group/bulk?startAt=%d&maxResults=%d", start, c.page(groupPage))
		if err := c.do(ctx, call{endpoint: "GET /rest/api/3/group/bulk"}, http.MethodGet, path, nil, &p); err != nil {
			return err
		}
		if len(p.Values) > 0 {
			out := make([]switchyard.Group, len(p.Values))
			for i, g := range p.Values {
				out[i] = g.group()
			}
			if err := fn(out); err != nil {
				return err
			}
		}
		if p.last(start) {
			return nil
		}
		start += len(p.Values)
	}
}

// GroupMembers is every direct member (active or not) of a group, as
// account ids. groupID is the group id on Cloud, the name on Data Center.
func (c *Client) GroupMembers(ctx context.Context, groupID string) ([]string, error) {
	if groupID == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "groupId", "is empty")
	}
	first, err := c.groupMemberPage(ctx, groupID, 0)
	if err != nil {
		return nil, err
	}
	pages := [][]jira.User{first.Values}
	switch start := len(first.Values); {
	case first.last(0):
	case first.Total > start:
		// Jira caps member pages at 50, so a large group is many round trips:
		// with the total known, fetch the rest at once. The site's shared
		// limiter and concurrency cap still bound what reaches Jira; a member
		// added meanwhile is picked up by the next identity sync.
		rest, err := c.groupMemberPages(ctx, groupID, start, len(first.Values), first.Total)
		if err != nil {
			return nil, err
		}
		pages = append(pages, rest...)
	default:
		// No total: page on until Jira says this is the last page.
		for last := false; !last; {
			p, err := c.groupMemberPage(ctx, groupID, start)
			if err != nil {
				return nil, err
			}
			pages = append(pages, p.Values)
			last = p.last(start)
			start += len(p.Values)
		}
	}
	seen := map[string]bool{}
	var ids []string
	for _, page := range pages {
		for _, u := range page {
			c.rememberDCName(u)
			id := userID(u)
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

func (c *Client) groupMemberPage(ctx context.Context, groupID string, start int) (pageBean[jira.User], error) {
	q := url.Values{}
	if c.dc() {
		q.Set("groupname", groupID)
	} else {
		q.Set("groupId", groupID)
	}
	q.Set("includeInactiveUsers", "true")
	q.Set("startAt", strconv.Itoa(start))
	q.Set("maxResults", strconv.Itoa(c.page(memberPage)))
	var p pageBean[jira.User]
	err := c.do(ctx, call{endpoint: "GET " + c.v() + "/group/member"}, http.MethodGet, c.v()+"/group/member?"+q.Encode(), nil, &p)
	return p, err
}

// groupMemberPages fetches the pages from start to total concurrently and
// returns them in order. The client's site limiter bounds how many are in
// flight, so no local bound is needed.
func (c *Client) groupMemberPages(ctx context.Context, groupID string, start, size, total int) ([][]jira.User, error) {
	if size <= 0 {
		size = 1
	}
	var offsets []int
	for o := start; o < total; o += size {
		offsets = append(offsets, o)
	}
	out := make([][]jira.User, len(offsets))
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg    sync.WaitGroup
		once  sync.Once
		first error
	)
	for i, o := range offsets {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.groupMemberPage(ctx, groupID, o)
			if err != nil {
				once.Do(func() { first = err; cancel() })
				return
			}
			out[i] = p.Values
		}()
	}
	wg.Wait()
	return out, first
}

// ApplicationRoles maps each application to the groups whose members use it.
func (c *Client) ApplicationRoles(ctx context.Context) ([]switchyard.ApplicationRole, error) {
	var rs []struct {
		Key           string      `json:"key"`
		Groups        []string    `json:"groups"`
		GroupDetails  []groupJSON `json:"groupDetails"`
		DefaultGroups []string    `json:"defaultGroups"`
	}
	if err := c.do(ctx, call{endpoint: "GET " + c.v() + "/applicationrole"}, http.MethodGet, c.v()+"/applicationrole", nil, &rs); err != nil {
		return nil, err
	}
	out := make([]switchyard.ApplicationRole, 0, len(rs))
	for _, r := range rs {
		ar := switchyard.ApplicationRole{Key: r.Key, Groups: []string{}}
		if len(r.GroupDetails) > 0 {
			for _, g := range r.GroupDetails {
				ar.Groups = append(ar.Groups, g.group().ID)
			}
		} else {
			ar.Groups = append(ar.Groups, r.Groups...) // names: Data Center has no group ids
		}
		out = append(out, ar)
	}
	return out, nil
}
