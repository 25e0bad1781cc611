package api

import (
	"errors"
	"log/slog"
	"net/http"

	"switchyard"
)

// errorBody is the one error shape of the API: {"error": {"code", "message"}}.
type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Errors the HTTP layer raises itself; domain errors map through statusOf.
var (
	errBodyTooLarge     = errors.New("request body too large")
	errUnsupportedMedia = errors.New("unsupported media type")
	errMethodNotAllowed = errors.New("method not allowed")
)

// statusOf maps an error to its HTTP status and code. This is the only place
// where errors become statuses.
func statusOf(err error) (int, string) {
	switch {
	case errors.Is(err, switchyard.ErrInvalid):
		return http.StatusBadRequest, "invalid"
	case errors.Is(err, switchyard.ErrUnauthorized):
		return http.StatusUnauthorized, "unauthorized"
	case errors.Is(err, switchyard.ErrForbidden):
		return http.StatusForbidden, "forbidden"
	case errors.Is(err, switchyard.ErrNotFound):
		return http.StatusNotFound, "not_found"
	case errors.Is(err, errMethodNotAllowed):
		return http.StatusMethodNotAllowed, "method_not_allowed"
	case errors.Is(err, switchyard.ErrConflict):
		return http.StatusConflict, "conflict"
	case errors.Is(err, errBodyTooLarge):
		return http.StatusRequestEntityTooLarge, "too_large"
	case errors.Is(err, errUnsupportedMedia):
		return http.StatusUnsupportedMediaType, "unsupported_media_type"
	case errors.Is(err, switchyard.ErrRateLimited):
		return http.StatusTooManyRequests, "rate_limited"
	case errors.Is(err, switchyard.ErrReauthorize):
		return http.StatusConflict, "reauthorize"
	default:
		return http.StatusInternalServerError, "internal"
	}
}

// writeError writes err in the API's error shape. Internal errors are logged
// with the request id and answered with a generic message, so that nothing
// internal (paths, SQL, secrets) leaks to clients.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status, code := statusOf(err)
	msg := err.Error()
	if status == http.StatusInternalServerError {
		s.logger.Error("request failed", "request_id", requestID(r.Context()), "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "internal error; see the server log for request " + requestID(r.Context())
	} else {
		var e *switchyard.Error
		if errors.As(err, &e) {
			msg = e.Error()
		}
	}
	writeJSON(w, status, errorBody{Error: errorDetail{Code: code, Message: msg}})
}

func logLevelFor(status int) slog.Level {
	switch {
	case status >= 500:
		return slog.LevelError
	case status >= 400:
		return slog.LevelWarn
	default:
		return slog.LevelInfo
	}
}
