package jirasim

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Audit log: GET /rest/api/3/auditing/record (Cloud) and
// /rest/auditing/1.0/events (Data Center), newest first. The AuditForbidden
// knob answers 403, as Jira does without Administer Jira or on Free plans.

const auditLimitMax = 1000

func parseAuditTime(s string) (time.Time, error) {
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return time.UnixMilli(n), nil
	}
	for _, l := range []string{jiraTimeLayout, time.RFC3339Nano, "2006-01-02T15:04:05.000Z07:00", "2006-01-02T15:04:05Z07:00", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date-time like 2024-01-31T10:00:00.000+0000", s)
}

// auditRecords returns the records within [from, to] matching filter, newest first.
func (v *view) auditRecords(from, to time.Time, filter string) []AuditRecord {
	var out []AuditRecord
	f := strings.ToLower(filter)
	for _, a := range v.w.Audit {
		if !from.IsZero() && a.Created.Before(from) {
			continue
		}
		if !to.IsZero() && a.Created.After(to) {
			continue
		}
		if f != "" && !strings.Contains(strings.ToLower(a.Summary+" "+a.Category+" "+a.Name+" "+a.TypeName+" "+a.ObjectID), f) {
			continue
		}
		out = append(out, a)
	}
	slices.SortStableFunc(out, func(a, b AuditRecord) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return int(b.ID - a.ID)
	})
	return out
}

func (s *Server) auditForbidden(rw http.ResponseWriter) bool {
	if s.Knobs().AuditForbidden {
		apiError(rw, http.StatusForbidden, "You do not have permission to view the audit log. Administer Jira permission is required.")
		return true
	}
	return false
}

func (s *Server) auditTimes(rw http.ResponseWriter, r *http.Request) (from, to time.Time, ok bool) {
	q := r.URL.Query()
	for _, p := range []struct {
		name string
		dst  *time.Time
	}{{"from", &from}, {"to", &to}} {
		if x := q.Get(p.name); x != "" {
			t, err := parseAuditTime(x)
			if err != nil {
				apiError(rw, http.StatusBadRequest, p.name+": "+err.Error())
				return from, to, false
			}
			*p.dst = t
		}
	}
	return from, to, true
}

// serveAudit runs what the Cloud and Data Center audit endpoints share: the
// permission check, paging (defLimit when unset), the time window and the text
// filter read from query parameter filterParam. write renders the records (all
// matches and the requested page) under the world read lock.
func (s *Server) serveAudit(rw http.ResponseWriter, r *http.Request, defLimit int, filterParam string,
	write func(v *view, all, page []AuditRecord, offset, limit int)) {
	if s.auditForbidden(rw) {
		return
	}
	offset, limit, ok := pageParams(rw, r, "offset", "limit", defLimit, auditLimitMax)
	if !ok {
		return
	}
	from, to, ok := s.auditTimes(rw, r)
	if !ok {
		return
	}
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	all := v.auditRecords(from, to, r.URL.Query().Get(filterParam))
	write(v, all, slicePage(all, offset, limit), offset, limit)
}

func (s *Server) auditRecordsCloud(rw http.ResponseWriter, r *http.Request) {
	s.serveAudit(rw, r, 1000, "filter", func(v *view, all, page []AuditRecord, offset, limit int) {
		recs := []any{}
		for _, a := range page {
			rec := map[string]any{
				"id":              a.ID,
				"summary":         a.Summary,
				"created":         jiraTime(a.Created),
				"category":        a.Category,
				"eventSource":     "",
				"remoteAddress":   "127.0.0.1",
				"objectItem":      map[string]any{"id": a.ObjectID, "name": a.Name, "typeName": a.TypeName},
				"associatedItems": []any{},
				"changedValues":   []any{},
			}
			if a.Author != "" {
				rec["authorKey"] = a.Author
			}
			recs = append(recs, rec)
		}
		apiJSON(rw, http.StatusOK, map[string]any{"offset": offset, "limit": limit, "total": len(all), "records": recs})
	})
}

// auditEventsDC serves Data Center's /rest/auditing/1.0/events.
func (s *Server) auditEventsDC(rw http.ResponseWriter, r *http.Request) {
	s.serveAudit(rw, r, 200, "search", func(v *view, all, page []AuditRecord, offset, limit int) {
		ents := []any{}
		for _, a := range page {
			ent := map[string]any{
				"id":        a.ID,
				"timestamp": a.Created.UTC().Format("2006-01-02T15:04:05.000Z"),
				"type":      map[string]any{"category": a.Category, "action": a.Summary, "categoryI18nKey": a.Category, "actionI18nKey": a.TypeName, "area": "END_USER_ACTIVITY"},
				"affectedObjects": []any{map[string]any{
					"id": a.ObjectID, "name": a.Name, "type": "ISSUE",
				}},
				"changedValues":   []any{},
				"extraAttributes": []any{map[string]any{"name": "typeName", "value": a.TypeName}},
				"source":          "127.0.0.1",
			}
			if u := v.user(a.Author); u != nil {
				ent["author"] = map[string]any{"id": a.Author, "name": u["displayName"], "type": "user"}
			}
			ents = append(ents, ent)
		}
		next := offset + len(ents)
		apiJSON(rw, http.StatusOK, map[string]any{
			"entities": ents,
			"pagingInfo": map[string]any{
				"offset": offset, "limit": limit, "size": len(ents), "lastPage": next >= len(all),
				"nextPageOffset": next,
			},
		})
	})
}
