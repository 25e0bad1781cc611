package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"switchyard"
)

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(true)
	_ = enc.Encode(v)
}

// decodeJSON reads exactly one JSON value from the body into v: the media type
// must be JSON (415), the body at most maxBytes (413), unknown fields and
// trailing data are rejected (400, naming the field). Decoding happens before
// any state changes, so a bad request changes nothing.
func decodeJSON(w http.ResponseWriter, r *http.Request, maxBytes int64, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return fmt.Errorf("%w: Content-Type must be application/json", errUnsupportedMedia)
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
		return fmt.Errorf("%w: Content-Type %q is not application/json", errUnsupportedMedia, ct)
	}
	body := http.MaxBytesReader(w, r.Body, maxBytes)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err, maxBytes)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return fmt.Errorf("%w: the limit is %d bytes", errBodyTooLarge, maxBytes)
		}
		return switchyard.Errorf(switchyard.ErrInvalid, "request body must hold a single JSON value")
	}
	return nil
}

// jsonKind names a Go type the way a JSON client thinks of it, so that error
// messages never show internal type names.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "a valid value"
}

func jsonError(err error, maxBytes int64) error {
	var (
		mbe *http.MaxBytesError
		se  *json.SyntaxError
		te  *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &mbe):
		return fmt.Errorf("%w: the limit is %d bytes", errBodyTooLarge, maxBytes)
	case errors.As(err, &se):
		return switchyard.Errorf(switchyard.ErrInvalid, "malformed JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return switchyard.FieldErrorf(switchyard.ErrInvalid, field, "must be %s, not %s", jsonKind(te.Type), te.Value)
	case errors.Is(err, io.EOF):
		return switchyard.Errorf(switchyard.ErrInvalid, "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return switchyard.Errorf(switchyard.ErrInvalid, "malformed JSON: body ends early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return switchyard.FieldErrorf(switchyard.ErrInvalid, name, "unknown field")
	default:
		return switchyard.Errorf(switchyard.ErrInvalid, "malformed JSON: %v", err)
	}
}
