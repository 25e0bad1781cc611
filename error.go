package switchyard

import (
	"errors"
	"fmt"
)

// Sentinel errors shared across packages; match them with errors.Is, never by text.
var (
	ErrNotFound     = errors.New("not found")
	ErrUnauthorized = errors.New("unauthorized")
	ErrForbidden    = errors.New("forbidden")
	ErrRateLimited  = errors.New("rate limited")
	ErrConflict     = errors.New("conflict")
	ErrInvalid      = errors.New("invalid")
	// ErrReauthorize means an OAuth connection's refresh token was rejected
	// (invalid_grant): an admin must connect it again.
	ErrReauthorize = errors.New("re-authorize this connection")
)

// Error is an error with a user-facing message and a sentinel kind, so that the
// API can map it to an HTTP status in one place while the message stays specific.
type Error struct {
	Kind    error  // one of the sentinels above
	Field   string // the offending field or key, when there is one
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return e.Field + ": " + e.Message
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Kind }

// Errorf builds an *Error of the given kind.
func Errorf(kind error, format string, args ...any) error {
	return &Error{Kind: kind, Message: fmt.Sprintf(format, args...)}
}

// FieldErrorf builds an *Error of the given kind that names a field.
func FieldErrorf(kind error, field, format string, args ...any) error {
	return &Error{Kind: kind, Field: field, Message: fmt.Sprintf(format, args...)}
}
