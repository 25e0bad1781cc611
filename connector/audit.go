package connector

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Deletion is an ISSUE_DELETE audit record: a candidate the sync confirms
// with a GET (404 means gone).
type Deletion struct {
	RecordID string
	IssueID  string
	Key      string
	At       time.Time
}

// AuditRecords pages through audit records created at or after from and
// hands fn the issue deletions among them. It needs Administer Jira: without
// it the error wraps switchyard.ErrForbidden and the caller falls back to
// reconciliation.
func (c *Client) AuditRecords(ctx context.Context, from time.Time, fn func([]Deletion) error) error {
	if c.dc() {
		return c.dcAuditEvents(ctx, from, fn)
	}
	for offset := 0; ; {
		q := url.Values{
			"offset": {strconv.Itoa(offset)},
			"limit":  {strconv.Itoa(c.page(auditPage))},
			"from":   {from.UTC().Format("2006-01-02T15:04:05.000Z")},
		}
		var r struct {
			Offset  int `json:"offset"`
			Limit   int `json:"limit"`
			Total   int `json:"total"`
			Records []struct {
				ID         json64 `json:"id"`
				Created    jtime  `json:"created"`
				ObjectItem struct {
					ID       json64 `json:"id"`
					Name     string `json:"name"`
					TypeName string `json:"typeName"`
				} `json:"objectItem"`
			} `json:"records"`
		}
		if err := c.do(ctx, call{endpoint: "GET /rest/api/3/auditing/record"}, http.MethodGet, "/rest/api/3/auditing/record?"+q.Encode(), nil, &r); err != nil {
			return err
		}
		var ds []Deletion
		for _, rec := range r.Records {
			if rec.ObjectItem.TypeName == "ISSUE_DELETE" && rec.ObjectItem.Name != "" {
				ds = append(ds, Deletion{RecordID: string(rec.ID), IssueID: string(rec.ObjectItem.ID), Key: rec.ObjectItem.Name, At: rec.Created.T()})
			}
		}
		if len(ds) > 0 {
			if err := fn(ds); err != nil {
				return err
			}
		}
		offset += len(r.Records)
		if len(r.Records) == 0 || offset >= r.Total {
			return nil
		}
	}
}

// dcAuditEvents reads Data Center's audit log (/rest/auditing/1.0/events),
// whose issue deletions carry the key among the affected objects. It pages
// by the cursor Jira hands out (pagingInfo.nextPageCursor, sent back as
// pageCursor): the log is newest first, so offsets would shift under events
// logged while paging and repeat them. Offsets are used only when a page
// that is not the last comes without a cursor (older audit plugins).
func (c *Client) dcAuditEvents(ctx context.Context, from time.Time, fn func([]Deletion) error) error {
	cursor, offset := "", 0
	for {
		q := url.Values{
			"from":  {from.UTC().Format("2006-01-02T15:04:05.000Z")},
			"limit": {strconv.Itoa(c.page(auditPage))},
		}
		if cursor != "" {
			q.Set("pageCursor", cursor)
		}
		q.Set("offset", strconv.Itoa(offset))
		var r struct {
			Entities []struct {
				Timestamp jtime `json:"timestamp"`
				Type      struct {
					ActionI18nKey string `json:"actionI18nKey"`
					Action        string `json:"action"`
				} `json:"type"`
				ExtraAttributes []struct {
					Name  string `json:"name"`
					Value string `json:"value"`
				} `json:"extraAttributes"`
				AffectedObjects []struct {
					ID   json64 `json:"id"`
					Name string `json:"name"`
					Type string `json:"type"`
				} `json:"affectedObjects"`
			} `json:"entities"`
			PagingInfo struct {
				Size       int    `json:"size"`
				LastPage   bool   `json:"lastPage"`
				NextCursor string `json:"nextPageCursor"`
				NextOffset *int   `json:"nextPageOffset"`
			} `json:"pagingInfo"`
		}
		if err := c.do(ctx, call{endpoint: "GET /rest/auditing/1.0/events"}, http.MethodGet, "/rest/auditing/1.0/events?"+q.Encode(), nil, &r); err != nil {
			return err
		}
		var ds []Deletion
		for _, e := range r.Entities {
			del := e.Type.ActionI18nKey == "jira.auditing.issue.deleted" || e.Type.ActionI18nKey == "ISSUE_DELETE" || e.Type.Action == "Issue deleted"
			for _, a := range e.ExtraAttributes {
				if a.Name == "typeName" && a.Value == "ISSUE_DELETE" {
					del = true
				}
			}
			if !del {
				continue
			}
			for _, o := range e.AffectedObjects {
				if o.Type == "ISSUE" || o.Type == "Issue" {
					ds = append(ds, Deletion{IssueID: string(o.ID), Key: o.Name, At: e.Timestamp.T()})
				}
			}
		}
		if len(ds) > 0 {
			if err := fn(ds); err != nil {
				return err
			}
		}
		if len(r.Entities) == 0 || r.PagingInfo.LastPage {
			return nil
		}
		switch {
		case r.PagingInfo.NextCursor != "":
			if r.PagingInfo.NextCursor == cursor && (r.PagingInfo.NextOffset == nil || *r.PagingInfo.NextOffset == offset) {
				return fmt.Errorf("GET /rest/auditing/1.0/events: the next page cursor %q repeats the current one", cursor)
			}
			cursor, offset = r.PagingInfo.NextCursor, 0
			if r.PagingInfo.NextOffset != nil {
				offset = *r.PagingInfo.NextOffset
			}
		case r.PagingInfo.NextOffset != nil && *r.PagingInfo.NextOffset > offset:
			offset = *r.PagingInfo.NextOffset
		default:
			offset += len(r.Entities)
		}
	}
}
