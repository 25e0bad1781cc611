package api

import (
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"

	"switchyard"
)

// handleSlackInteractivity: POST /api/v1/slack/interactivity, Slack's
// button clicks. The raw body is verified (X-Slack-Signature v0, 5-minute
// window, constant time, each signature once) before anything is parsed.
func (s *Server) handleSlackInteractivity(w http.ResponseWriter, r *http.Request) {
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		s.writeError(w, r, fmt.Errorf("%w: Slack sends application/x-www-form-urlencoded", errUnsupportedMedia))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			err = fmt.Errorf("%w: the limit is %d bytes", errBodyTooLarge, s.opts.MaxBodyBytes)
		}
		s.writeError(w, r, err)
		return
	}
	reply, err := s.opts.Runbook.SlackInteraction(r.Context(), r.Header.Get("X-Slack-Request-Timestamp"), r.Header.Get("X-Slack-Signature"), body)
	if err != nil {
		if errors.Is(err, switchyard.ErrUnauthorized) && !s.chargeUnauthenticated(w, r) {
			return
		}
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}
