package connector

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"switchyard"
)

// Data Center lists groups only through GET /rest/api/2/groups/picker
// (query, exclude, maxResults): Data Center has no group/bulk. Jira caps every
// picker answer at jira.ajax.autocomplete.limit (20 by default) whatever
// maxResults asks, and reports the number of matches in total. So the
// connector pages with exclude: each request excludes the names already
// seen, until total says nothing is left. exclude lengthens the URL, so past
// dcPickerURLBudget the rest comes from the users' own group lists
// (GET /rest/api/2/user?key=…&expand=groups), which hold every group that
// has a member: the only groups that can grant anything.

const (
	dcPickerAsk       = 1000 // maxResults asked; Jira answers at most its cap
	dcPickerURLBudget = 6000 // bytes of query string; proxies refuse ~8 KiB lines
)

type pickerPage struct {
	Total  int         `json:"total"`
	Groups []groupJSON `json:"groups"`
}

func (c *Client) dcPicker(ctx context.Context, exclude []string) (pickerPage, string, error) {
	q := url.Values{"query": {""}, "maxResults": {strconv.Itoa(dcPickerAsk)}}
	if len(exclude) > 0 {
		q["exclude"] = exclude
	}
	enc := q.Encode()
	var p pickerPage
	err := c.do(ctx, call{endpoint: "GET /rest/api/2/groups/picker"}, http.MethodGet, "/rest/api/2/groups/picker?"+enc, nil, &p)
	return p, enc, err
}

func (c *Client) dcGroups(ctx context.Context, fn func([]switchyard.Group) error) error {
	seen := map[string]bool{}
	var names []string // seen, in order, for exclude
	emit := func(gs []groupJSON) error {
		var out []switchyard.Group
		for _, g := range gs {
			if g.Name == "" || seen[strings.ToLower(g.Name)] {
				continue
			}
			seen[strings.ToLower(g.Name)] = true
			names = append(names, g.Name)
			out = append(out, g.group())
		}
		if len(out) == 0 {
			return nil
		}
		return fn(out)
	}
	total := -1
	for {
		p, enc, err := c.dcPicker(ctx, names)
		if err != nil {
			return err
		}
		if total < 0 {
			total = p.Total
		}
		before := len(names)
		if err := emit(p.Groups); err != nil {
			return err
		}
		// total counts the matches left after exclude; an answer that holds
		// them all (or adds nothing) ends the listing.
		if len(p.Groups) >= p.Total || len(names) == before {
			if len(names) < total && len(p.Groups) < p.Total {
				break // no progress while Jira says more remain
			}
			return nil
		}
		next := len(enc)
		for _, n := range names[before:] {
			next += len("&exclude=") + len(url.QueryEscape(n))
		}
		if next > dcPickerURLBudget {
			break
		}
	}
	// Too many groups to page by exclude: gather the rest from every user's
	// own groups. A group without members is missed, and grants nothing.
	found := len(names)
	err := c.Users(ctx, func(us []switchyard.User) error {
		for _, u := range us {
			gs, err := c.dcUserGroups(ctx, u.AccountID)
			if err != nil {
				return err
			}
			if err := emit(gs); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("groups past the picker cap: %w", err)
	}
	c.log.Info("jira groups listed through users' group lists (too many for groups/picker paging)",
		"picker_total", total, "from_picker", found, "from_users", len(names)-found)
	if len(names) < total {
		c.log.Warn("jira groups without members not listed (they grant nobody)", "missing", total-len(names))
	}
	return nil
}

// dcUserGroups is one Data Center user's groups through expand=groups.
func (c *Client) dcUserGroups(ctx context.Context, key string) ([]groupJSON, error) {
	q := url.Values{"key": {key}, "expand": {"groups"}}
	var u struct {
		Groups struct {
			Items []groupJSON `json:"items"`
		} `json:"groups"`
	}
	if err := c.do(ctx, call{endpoint: "GET /rest/api/2/user"}, http.MethodGet, "/rest/api/2/user?"+q.Encode(), nil, &u); err != nil {
		return nil, err
	}
	sort.SliceStable(u.Groups.Items, func(i, j int) bool { return u.Groups.Items[i].Name < u.Groups.Items[j].Name })
	return u.Groups.Items, nil
}
