package jirasim

import "time"

// Helpers the REST layer needs that the world model does not offer.

// refreshWebhooks extends the expiry of the client's dynamic webhooks among ids
// (unknown ids and other apps' webhooks are ignored, as Jira does).
func (w *World) refreshWebhooks(clientID string, ids []int64, exp time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, h := range w.Webhooks {
		if h.Dynamic && h.ClientID == clientID && apiHasInt(ids, h.ID) {
			h.Expires = exp
		}
	}
}
