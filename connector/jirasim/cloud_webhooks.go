package jirasim

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Dynamic webhooks (OAuth 2.0 apps only): POST/GET/DELETE /rest/api/3/webhook
// and PUT /webhook/refresh. They expire after 30 days unless refreshed; their
// deliveries carry a JWT signed with the app's client secret.

const webhookTTL = 30 * 24 * time.Hour

func (s *Server) oauthOnly(rw http.ResponseWriter, r *http.Request) (caller, bool) {
	c := callerFrom(r.Context())
	if !c.OAuth {
		apiError(rw, http.StatusForbidden, "Only Connect and OAuth 2.0 apps can use dynamic webhooks.")
		return c, false
	}
	return c, true
}

func (s *Server) webhookRegister(rw http.ResponseWriter, r *http.Request) {
	c, ok := s.oauthOnly(rw, r)
	if !ok {
		return
	}
	var in struct {
		URL      string `json:"url"`
		Webhooks []struct {
			Events                  []string `json:"events"`
			JQLFilter               string   `json:"jqlFilter"`
			FieldIDsFilter          []string `json:"fieldIdsFilter"`
			IssuePropertyKeysFilter []string `json:"issuePropertyKeysFilter"`
		} `json:"webhooks"`
	}
	if err := apiDecode(rw, r, 1<<20, &in); err != nil {
		apiBadBody(rw, err)
		return
	}
	if in.URL == "" || len(in.Webhooks) == 0 {
		apiError(rw, http.StatusBadRequest, "url and at least one webhook are required.")
		return
	}
	v := s.view(r)
	results := []any{}
	for _, wh := range in.Webhooks {
		if strings.TrimSpace(wh.JQLFilter) == "" {
			results = append(results, map[string]any{"errors": []string{"The JQL filter is required."}})
			continue
		}
		s.world.RLock()
		_, err := parseJQL(wh.JQLFilter, v.jqlEnv())
		s.world.RUnlock()
		if err != nil {
			results = append(results, map[string]any{"errors": []string{"Invalid JQL filter: " + err.Error()}})
			continue
		}
		h, err := s.world.RegisterWebhook(Webhook{
			URL: in.URL, Events: wh.Events, JQLFilter: wh.JQLFilter, Dynamic: true,
			Expires: time.Now().Add(webhookTTL), ClientID: c.ClientID, ClientSecret: s.opts.OAuthClientSecret,
		})
		if err != nil {
			results = append(results, map[string]any{"errors": []string{err.Error()}})
			continue
		}
		results = append(results, map[string]any{"createdWebhookId": h.ID})
	}
	apiJSON(rw, http.StatusOK, map[string]any{"webhookRegistrationResult": results})
}

func (s *Server) webhookList(rw http.ResponseWriter, r *http.Request) {
	c, ok := s.oauthOnly(rw, r)
	if !ok {
		return
	}
	start, max, ok := pageParams(rw, r, "startAt", "maxResults", 100, 100)
	if !ok {
		return
	}
	var all []map[string]any
	for _, h := range s.world.ListWebhooks() {
		if !h.Dynamic || h.ClientID != c.ClientID {
			continue
		}
		events := h.Events
		if events == nil {
			events = []string{}
		}
		all = append(all, map[string]any{
			"id": h.ID, "url": h.URL, "jqlFilter": h.JQLFilter, "events": events,
			"expirationDate": h.Expires.UnixMilli(),
		})
	}
	apiJSON(rw, http.StatusOK, pageBean(r, s.base(r), all, start, max))
}

type webhookIDs struct {
	WebhookIDs []int64 `json:"webhookIds"`
}

func (s *Server) readWebhookIDs(rw http.ResponseWriter, r *http.Request) ([]int64, bool) {
	var in webhookIDs
	if err := apiDecode(rw, r, 1<<16, &in); err != nil {
		apiBadBody(rw, err)
		return nil, false
	}
	if len(in.WebhookIDs) == 0 {
		apiFieldError(rw, http.StatusBadRequest, "webhookIds", "At least one webhook id is required.")
		return nil, false
	}
	return in.WebhookIDs, true
}

func (s *Server) webhookDelete(rw http.ResponseWriter, r *http.Request) {
	c, ok := s.oauthOnly(rw, r)
	if !ok {
		return
	}
	ids, ok := s.readWebhookIDs(rw, r)
	if !ok {
		return
	}
	mine := s.appWebhooks(c.ClientID)
	for _, id := range ids {
		if !mine[id] {
			apiError(rw, http.StatusBadRequest, fmt.Sprintf("Webhook %d does not exist or was not registered by this app.", id))
			return
		}
	}
	for _, id := range ids {
		if err := s.world.DeleteWebhook(id); err != nil {
			mutationError(rw, err)
			return
		}
	}
	rw.WriteHeader(http.StatusAccepted)
}

func (s *Server) appWebhooks(clientID string) map[int64]bool {
	out := map[int64]bool{}
	for _, h := range s.world.ListWebhooks() {
		if h.Dynamic && h.ClientID == clientID {
			out[h.ID] = true
		}
	}
	return out
}

func (s *Server) webhookRefresh(rw http.ResponseWriter, r *http.Request) {
	c, ok := s.oauthOnly(rw, r)
	if !ok {
		return
	}
	ids, ok := s.readWebhookIDs(rw, r)
	if !ok {
		return
	}
	exp := time.Now().Add(webhookTTL)
	s.world.refreshWebhooks(c.ClientID, ids, exp)
	apiJSON(rw, http.StatusOK, map[string]any{"expirationDate": exp.UnixMilli()})
}

// webhookJQLMatch evaluates a dynamic webhook's JQL filter against an issue.
// The world holds its lock when it calls this. Unparseable filters match
// nothing (they were validated at registration).
func (s *Server) webhookJQLMatch(jql string, iss *SimIssue) bool {
	v := &view{s: s, w: s.world, c: caller{AccountID: s.adminAccountID}}
	q, err := parseJQL(jql, v.jqlEnv())
	if err != nil {
		return false
	}
	return q.where == nil || q.where.eval(iss)
}
