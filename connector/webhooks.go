package connector

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"switchyard"
)

// Webhook is a dynamic webhook registered by an OAuth app. Jira Cloud expires
// them after 30 days unless refreshed.
type Webhook struct {
	ID        int64     `json:"id"`
	URL       string    `json:"url"`
	Events    []string  `json:"events"`
	JQLFilter string    `json:"jqlFilter"`
	Expires   time.Time `json:"expires"`
}

func (c *Client) checkDynamicWebhooks() error {
	if c.dc() || c.opts.Auth.Type != AuthOAuth {
		return switchyard.Errorf(switchyard.ErrInvalid, "dynamic webhooks need a Jira Cloud OAuth connection (connection %q uses %s)", c.opts.Name, c.opts.Auth.Type)
	}
	return nil
}

// RegisterWebhooks registers one webhook for events on issues matching jql,
// delivered to callbackURL, and returns its id.
func (c *Client) RegisterWebhooks(ctx context.Context, callbackURL, jql string, events []string) ([]int64, error) {
	if err := c.checkDynamicWebhooks(); err != nil {
		return nil, err
	}
	if u, err := url.Parse(callbackURL); err != nil || u.Scheme != "https" && u.Scheme != "http" || u.Host == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "url", "must be an absolute http(s) URL, not %q", callbackURL)
	}
	if len(events) == 0 {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "events", "is empty")
	}
	if strings.TrimSpace(jql) == "" {
		return nil, switchyard.FieldErrorf(switchyard.ErrInvalid, "jqlFilter", "is empty")
	}
	body := map[string]any{"url": callbackURL, "webhooks": []map[string]any{{"events": events, "jqlFilter": jql}}}
	var r struct {
		Results []struct {
			CreatedWebhookID int64    `json:"createdWebhookId"`
			Errors           []string `json:"errors"`
		} `json:"webhookRegistrationResult"`
	}
	if err := c.do(ctx, call{endpoint: "POST /rest/api/3/webhook"}, http.MethodPost, "/rest/api/3/webhook", body, &r); err != nil {
		return nil, err
	}
	var ids []int64
	var errs []string
	for _, res := range r.Results {
		if len(res.Errors) > 0 {
			errs = append(errs, res.Errors...)
			continue
		}
		ids = append(ids, res.CreatedWebhookID)
	}
	if len(errs) > 0 {
		return ids, switchyard.Errorf(switchyard.ErrInvalid, "register webhook: %s", strings.Join(errs, "; "))
	}
	return ids, nil
}

// RefreshWebhooks extends the webhooks' life and returns their new expiry.
func (c *Client) RefreshWebhooks(ctx context.Context, ids []int64) (time.Time, error) {
	if err := c.checkDynamicWebhooks(); err != nil {
		return time.Time{}, err
	}
	if len(ids) == 0 {
		return time.Time{}, switchyard.FieldErrorf(switchyard.ErrInvalid, "webhookIds", "is empty")
	}
	var r struct {
		Expiration jtime `json:"expirationDate"`
	}
	if err := c.do(ctx, call{endpoint: "PUT /rest/api/3/webhook/refresh"}, http.MethodPut, "/rest/api/3/webhook/refresh", map[string]any{"webhookIds": ids}, &r); err != nil {
		return time.Time{}, err
	}
	return r.Expiration.T(), nil
}

// ListWebhooks lists the app's dynamic webhooks.
func (c *Client) ListWebhooks(ctx context.Context) ([]Webhook, error) {
	if err := c.checkDynamicWebhooks(); err != nil {
		return nil, err
	}
	var out []Webhook
	for start := 0; ; {
		var p pageBean[struct {
			ID         int64    `json:"id"`
			URL        string   `json:"url"`
			Events     []string `json:"events"`
			JQLFilter  string   `json:"jqlFilter"`
			Expiration jtime    `json:"expirationDate"`
		}]
		q := "/rest/api/3/webhook?startAt=" + strconv.Itoa(start) + "&maxResults=" + strconv.Itoa(c.page(webhookListPage))
		if err := c.do(ctx, call{endpoint: "GET /rest/api/3/webhook"}, http.MethodGet, q, nil, &p); err != nil {
			return nil, err
		}
		for _, w := range p.Values {
			out = append(out, Webhook{ID: w.ID, URL: w.URL, Events: w.Events, JQLFilter: w.JQLFilter, Expires: w.Expiration.T()})
		}
		if p.last(start) {
			return out, nil
		}
		start += len(p.Values)
	}
}

// DeleteWebhooks removes dynamic webhooks by id.
func (c *Client) DeleteWebhooks(ctx context.Context, ids []int64) error {
	if err := c.checkDynamicWebhooks(); err != nil {
		return err
	}
	if len(ids) == 0 {
		return nil
	}
	if err := c.do(ctx, call{endpoint: "DELETE /rest/api/3/webhook"}, http.MethodDelete, "/rest/api/3/webhook", map[string]any{"webhookIds": ids}, nil); err != nil {
		return fmt.Errorf("delete webhooks %v: %w", ids, err)
	}
	return nil
}
