package connector

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// json64 is an id Jira sends as a number in some shapes and a string in
// others; it is kept as a string.
type json64 string

func (j *json64) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		*j = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*j = json64(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("id: %w", err)
	}
	*j = json64(n.String())
	return nil
}

// jtime is a Jira timestamp ("2024-01-15T10:30:00.000+0000", or RFC 3339).
type jtime time.Time

var timeLayouts = []string{
	"2006-01-02T15:04:05.000-0700",
	"2006-01-02T15:04:05-0700",
	time.RFC3339Nano,
	"2006-01-02T15:04:05.000Z07:00",
}

func (t *jtime) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		// Audit records and webhooks sometimes carry epoch milliseconds.
		ms, err2 := strconv.ParseInt(string(b), 10, 64)
		if err2 != nil {
			return fmt.Errorf("time: %w", err)
		}
		*t = jtime(time.UnixMilli(ms).UTC())
		return nil
	}
	if s == "" {
		return nil
	}
	tt, err := parseJiraTime(s)
	if err != nil {
		return err
	}
	*t = jtime(tt)
	return nil
}

func parseJiraTime(s string) (time.Time, error) {
	for _, l := range timeLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q: not a Jira timestamp", s)
}

func (t jtime) T() time.Time { return time.Time(t) }

// userRef is a user as embedded in issue fields (reporter, assignee, author).
type userRef struct {
	AccountID   string `json:"accountId"`
	DisplayName string `json:"displayName"`
	Key         string `json:"key"`
	Name        string `json:"name"`
	Self        string `json:"self"`
}

func (u *userRef) id() string {
	if u == nil {
		return ""
	}
	switch {
	case u.AccountID != "":
		return u.AccountID
	case u.Key != "":
		return u.Key
	case u.Name != "":
		return u.Name
	}
	// Some Server payloads name the user only in its self URL
	// (…/rest/api/2/user?username=NAME or ?accountId=ID).
	if q, err := url.Parse(u.Self); err == nil && u.Self != "" {
		return cmp.Or(q.Query().Get("accountId"), q.Query().Get("key"), q.Query().Get("username"))
	}
	return ""
}

// rawText is a rich-text field: an ADF object on Cloud v3, a wiki string on
// Data Center v2 (or a plain string from webhooks).
type rawText = json.RawMessage

func isJSONString(r json.RawMessage) bool {
	r = bytes.TrimSpace(r)
	return len(r) > 0 && r[0] == '"'
}

func isNull(r json.RawMessage) bool {
	r = bytes.TrimSpace(r)
	return len(r) == 0 || string(r) == "null"
}

func trimSlash(s string) string { return strings.TrimRight(s, "/") }
