// Package web holds the HTTP foundations every surface shares: turning an
// errs kind into a status code, JSON error bodies, request ids, one log line
// per request, and panic recovery.
package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/storefleet/storefleet/internal/errs"
)

// Status is the HTTP status for an error kind; the one place a kind becomes
// a status code.
func Status(k errs.Kind) int {
	switch k {
	case errs.Invalid:
		return http.StatusUnprocessableEntity
	case errs.Malformed:
		return http.StatusBadRequest
	case errs.NotFound:
		return http.StatusNotFound
	case errs.Conflict:
		return http.StatusConflict
	case errs.Unauthenticated:
		return http.StatusUnauthorized
	case errs.Forbidden:
		return http.StatusForbidden
	case errs.RateLimited:
		return http.StatusTooManyRequests
	case errs.Unavailable:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// WriteJSON writes v as JSON with status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// ErrorBody is the JSON shape of an error, as Shopify's APIs write it:
// {"errors": {"field": ["message", …]}} for input errors, {"errors": "message"}
// for the rest. A server-side failure says only that it failed: its message
// is for the log.
func ErrorBody(err error) map[string]any {
	switch errs.KindOf(err) {
	case errs.Internal:
		return map[string]any{"errors": "internal error"}
	case errs.Unavailable:
		return map[string]any{"errors": "temporarily unavailable; try again later"}
	}
	if f := errs.FieldsOf(err); len(f) > 0 {
		return map[string]any{"errors": f}
	}
	return map[string]any{"errors": errs.MessageOf(err)}
}

// WriteError writes err as a JSON error with its kind's status. A 5xx is
// logged once, with the request id; its cause is never sent.
func WriteError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	status := Status(errs.KindOf(err))
	if status >= 500 {
		log.ErrorContext(r.Context(), "request failed", "err", err, "request_id", RequestID(r.Context()))
	}
	WriteJSON(w, status, ErrorBody(err))
}

type ctxKey int

const (
	requestIDKey ctxKey = iota
	logAttrsKey
)

// RequestID returns the request's id, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey).(string)
	return id
}

// logAttrs collects attributes that handlers below the logging middleware
// learn (the store, the user) for the request's one log line.
type logAttrs struct{ attrs []slog.Attr }

// AddLogAttrs adds attributes to the request's log line.
func AddLogAttrs(ctx context.Context, attrs ...slog.Attr) {
	if la, ok := ctx.Value(logAttrsKey).(*logAttrs); ok {
		la.attrs = append(la.attrs, attrs...)
	}
}

var validRequestID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Middleware gives each request an id (the caller's X-Request-Id when it is
// sane, else a new one, echoed in the response), recovers panics into a 500,
// and logs each request once when it ends.
func Middleware(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID.MatchString(id) {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-Id", id)
		la := &logAttrs{}
		ctx := context.WithValue(context.WithValue(r.Context(), requestIDKey, id), logAttrsKey, la)
		r = r.WithContext(ctx)
		sw := &statusWriter{ResponseWriter: w}
		defer func() {
			p := recover()
			if p != nil && p != http.ErrAbortHandler {
				log.ErrorContext(ctx, "panic serving request", "panic", p, "request_id", id)
				if sw.status == 0 {
					WriteJSON(sw, http.StatusInternalServerError, map[string]any{"errors": "internal error"})
				}
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK // what net/http sends for a handler that wrote nothing
			}
			attrs := []slog.Attr{
				slog.String("request_id", id), slog.String("method", r.Method), slog.String("host", r.Host),
				slog.String("path", r.URL.Path), slog.Int("status", status), slog.Int("bytes", sw.bytes),
				slog.Duration("duration", time.Since(start)),
			}
			if p == http.ErrAbortHandler {
				attrs = append(attrs, slog.Bool("aborted", true))
			}
			log.LogAttrs(ctx, slog.LevelInfo, "request", append(attrs, la.attrs...)...)
			if p == http.ErrAbortHandler {
				panic(p) // net/http's own signal to drop the connection
			}
		}()
		next.ServeHTTP(sw, r)
	})
}

// DecodeJSON decodes r's JSON body into v, refusing unknown fields, trailing
// data and bodies over 1 MiB, with a message a client can act on.
func DecodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errs.E(errs.Invalid, "request body is empty; send a JSON object")
		}
		return errs.E(errs.Invalid, "request body is not valid JSON for this endpoint: %s", jsonProblem(err))
	}
	var extra json.RawMessage
	switch err := dec.Decode(&extra); {
	case errors.Is(err, io.EOF):
		return nil
	case err != nil:
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			return errs.E(errs.Invalid, "request body is larger than 1 MiB")
		}
	}
	return errs.E(errs.Invalid, "request body has data after the JSON object")
}

// jsonProblem says what is wrong with a body in JSON's terms, not Go's.
func jsonProblem(err error) string {
	if e, ok := errors.AsType[*json.UnmarshalTypeError](err); ok {
		if e.Field == "" {
			return "the body must be a JSON " + jsonKind(e.Type)
		}
		return "field " + e.Field + " must be " + article(jsonKind(e.Type))
	}
	if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
		return "body is larger than 1 MiB"
	}
	return strings.TrimPrefix(err.Error(), "json: ")
}

// jsonKind names the JSON type that decodes into t.
func jsonKind(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return "whole number in range"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "non-negative whole number in range"
	case reflect.Float32, reflect.Float64:
		return "number"
	case reflect.Slice, reflect.Array:
		return "array"
	}
	return "object"
}

func article(kind string) string {
	if strings.IndexByte("aeiou", kind[0]) >= 0 {
		return "an " + kind
	}
	return "a " + kind
}
