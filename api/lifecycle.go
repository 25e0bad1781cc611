package api

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// start applies what the store remembers (filters edited through the API,
// disconnections) to the engine and starts the background workers.
func (s *Server) start() error {
	ctx, cancel := context.WithCancel(context.Background())
	s.bgCancel = cancel
	if s.opts.Store != nil {
		for _, name := range s.connNames {
			c := s.conns[name]
			st, err := s.opts.Store.ConnectionState(ctx, name)
			if err != nil {
				cancel()
				return fmt.Errorf("connection %s state: %w", name, err)
			}
			if c.SetPaused != nil {
				c.SetPaused(st.Disabled)
			}
			if len(st.Filters) > 0 && s.opts.Engine != nil {
				f, err := parseStoredFilters(st.Filters)
				if err != nil {
					s.logger.Error("stored sync filters are invalid; using the configured ones", "connection", name, "err", err)
					continue
				}
				if err := s.applyFilters(name, f); err != nil {
					cancel()
					return err
				}
			}
		}
	}
	if s.opts.Engine != nil {
		for i := 0; i < s.opts.WebhookWorkers; i++ {
			s.bg.Add(1)
			go func() {
				defer s.bg.Done()
				s.hooks.work(ctx, s)
			}()
		}
		s.bg.Add(1)
		go func() {
			defer s.bg.Done()
			s.dynamicWebhooks(ctx)
		}()
	}
	return nil
}

// stop ends the background workers and waits for them; refreshes in
// progress are cancelled (the next sync picks the changes up).
func (s *Server) stop() {
	if s.bgCancel != nil {
		s.bgCancel()
	}
	s.bg.Wait()
}

// publicURL is the base URL browsers and Jira use to reach the server.
func (s *Server) publicURL() string {
	if s.opts.PublicURL != "" {
		return strings.TrimRight(s.opts.PublicURL, "/")
	}
	return s.URL()
}

// dynamicWebhooks registers each OAuth connection's webhooks once it has a
// token, and refreshes them well before Jira's 30-day expiry.
func (s *Server) dynamicWebhooks(ctx context.Context) {
	type reg struct {
		ids     []int64
		expires time.Time
	}
	regs := map[string]*reg{}
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		for _, name := range s.connNames {
			c := s.conns[name]
			if c.Webhooks == nil || s.opts.Store == nil {
				continue
			}
			if ok, err := s.opts.Store.HasToken(ctx, name); err != nil || !ok {
				delete(regs, name) // disconnected: register again after the next connect
				continue
			}
			r := regs[name]
			switch {
			case r == nil:
				jql, err := s.webhookJQL(ctx, name)
				if err != nil || jql == "" {
					continue // no project synced yet: register after the first sync
				}
				ids, expires, err := s.ensureWebhooks(ctx, c, jql)
				if err != nil {
					s.logger.Warn("register dynamic webhooks failed; retrying in a minute", "connection", name, "err", err)
					continue
				}
				regs[name] = &reg{ids: ids, expires: expires}
				s.logger.Info("dynamic webhooks in place", "connection", name, "ids", ids, "expires", expires)
			case time.Until(r.expires) < 7*24*time.Hour:
				exp, err := c.Webhooks.RefreshWebhooks(ctx, r.ids)
				if err != nil {
					s.logger.Warn("refresh dynamic webhooks failed; retrying in a minute", "connection", name, "err", err)
					continue
				}
				r.expires = exp
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		case <-s.poke:
		case <-pollSoon(regs, s.connNames, s.conns):
		}
	}
}

var webhookEvents = []string{"jira:issue_created", "jira:issue_updated", "jira:issue_deleted", "comment_created", "comment_updated", "comment_deleted"}

// pollSoon fires after a few seconds while an OAuth connection still waits for
// its registration (its first sync may just have stored the projects).
func pollSoon[T any](regs map[string]T, names []string, conns map[string]*Connection) <-chan time.Time {
	for _, n := range names {
		if _, ok := regs[n]; !ok && conns[n].Webhooks != nil {
			return time.After(2 * time.Second)
		}
	}
	return nil
}

// ensureWebhooks makes the app's dynamic webhooks for this server exactly one
// registration with the wanted JQL: an earlier process's registration is
// reused (and refreshed) when it matches, and replaced when it does not, so
// restarts do not pile up webhooks against Jira's per-app limit.
func (s *Server) ensureWebhooks(ctx context.Context, c *Connection, jql string) ([]int64, time.Time, error) {
	callback := s.publicURL() + "/api/v1/webhooks/jira/" + c.Name
	existing, err := c.Webhooks.ListWebhooks(ctx)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("list webhooks: %w", err)
	}
	var keep, stale []int64
	for _, h := range existing {
		if h.URL != callback {
			continue
		}
		if h.JQLFilter == jql && sameEvents(h.Events, webhookEvents) && len(keep) == 0 {
			keep = append(keep, h.ID)
		} else {
			stale = append(stale, h.ID)
		}
	}
	if len(stale) > 0 {
		if err := c.Webhooks.DeleteWebhooks(ctx, stale); err != nil {
			return nil, time.Time{}, err
		}
	}
	if len(keep) > 0 {
		exp, err := c.Webhooks.RefreshWebhooks(ctx, keep)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("refresh webhooks: %w", err)
		}
		return keep, exp, nil
	}
	ids, err := c.Webhooks.RegisterWebhooks(ctx, callback, jql, webhookEvents)
	if err != nil {
		return nil, time.Time{}, err
	}
	return ids, time.Now().Add(30 * 24 * time.Hour), nil
}

func sameEvents(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, e := range a {
		if !slices.Contains(b, e) {
			return false
		}
	}
	return true
}
