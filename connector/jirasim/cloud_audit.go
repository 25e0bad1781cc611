package jirasim

import (
	"cmp"
	"fmt"
	"net/http"
	"net/url"
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

// auditEventsDC serves Data Center's /rest/auditing/1.0/events, newest first.
// Like Jira it pages by cursor: each page but the last names, in
// pagingInfo.nextPageCursor, the last event it holds ("epochMillis,id"), and
// pageCursor=that asks for the events after it, so events logged meanwhile
// neither shift nor repeat a page. offset still works within a cursor.
func (s *Server) auditEventsDC(rw http.ResponseWriter, r *http.Request) {
	if s.auditForbidden(rw) {
		return
	}
	offset, limit, ok := pageParams(rw, r, "offset", "limit", 200, auditLimitMax)
	if !ok {
		return
	}
	from, to, ok := s.auditTimes(rw, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	var after *auditCursor
	if c := q.Get("pageCursor"); c != "" {
		cur, err := parseAuditCursor(c)
		if err != nil {
			apiError(rw, http.StatusBadRequest, "pageCursor: "+err.Error())
			return
		}
		after = &cur
	}
	v := s.view(r)
	s.world.RLock()
	defer s.world.RUnlock()
	all := v.auditRecords(from, to, q.Get("search"))
	// The cursor has millisecond precision: order by exactly what it holds.
	slices.SortStableFunc(all, func(a, b AuditRecord) int {
		if c := cmp.Compare(b.Created.UnixMilli(), a.Created.UnixMilli()); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	if after != nil {
		// Newest first: what follows the cursor is older, or as old with a
		// smaller id.
		i := 0
		for i < len(all) && !after.before(all[i]) {
			i++
		}
		all = all[i:]
	}
	page := slicePage(all, offset, limit)
	ents := []any{}
	for _, a := range page {
		// The shape of real Data Center 8+ audit entities.
		ent := map[string]any{
			"timestamp": a.Created.UTC().Format("2006-01-02T15:04:05.000Z"),
			"type":      map[string]any{"category": a.Category, "action": a.Summary, "categoryI18nKey": a.Category, "actionI18nKey": a.TypeName},
			"affectedObjects": []any{map[string]any{
				"id": a.ObjectID, "name": a.Name, "type": "ISSUE", "uri": v.base + "/browse/" + a.Name,
			}},
			"changedValues":   []any{},
			"extraAttributes": []any{map[string]any{"nameI18nKey": "typeName", "name": "typeName", "value": a.TypeName}},
			"source":          "127.0.0.1",
			"system":          v.base,
			"method":          "Browser",
		}
		if u := v.user(a.Author); u != nil {
			ent["author"] = map[string]any{"id": a.Author, "name": u["name"], "type": "ApplicationUser",
				"uri": v.base + "/secure/ViewProfile.jspa?name=" + url.QueryEscape(a.Author), "avatarUri": ""}
		}
		ents = append(ents, ent)
	}
	last := offset+len(page) >= len(all)
	// The keys real Data Center pages carry (no offset or limit echo).
	paging := map[string]any{"size": len(ents), "lastPage": last}
	if !last && len(page) > 0 {
		end := page[len(page)-1]
		cur := fmt.Sprintf("%d,%d", end.Created.UnixMilli(), end.ID)
		next := url.Values{"offset": {"0"}, "limit": {strconv.Itoa(limit)}, "pageCursor": {cur}}
		for _, k := range []string{"from", "to", "search"} {
			if x := q.Get(k); x != "" {
				next.Set(k, x)
			}
		}
		paging["nextPageOffset"] = 0
		paging["nextPageCursor"] = cur
		paging["nextPageLink"] = v.base + "/rest/auditing/1.0/events?" + next.Encode()
	}
	apiJSON(rw, http.StatusOK, map[string]any{"entities": ents, "pagingInfo": paging})
}

// auditCursor is a position in the newest-first audit list.
type auditCursor struct {
	ms int64
	id int64
}

func parseAuditCursor(s string) (auditCursor, error) {
	a, b, ok := strings.Cut(s, ",")
	ms, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 64)
	id, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 64)
	if !ok || err1 != nil || err2 != nil {
		return auditCursor{}, fmt.Errorf("%q is not a cursor like 1637539714166,47", s)
	}
	return auditCursor{ms, id}, nil
}

// before reports whether the cursor's event comes before a in the list (so a
// is on a later page).
func (c auditCursor) before(a AuditRecord) bool {
	ms := a.Created.UnixMilli()
	return ms < c.ms || (ms == c.ms && a.ID < c.id)
}
