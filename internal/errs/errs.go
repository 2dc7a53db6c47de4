// Package errs is Storefleet's one error vocabulary: a small set of kinds that
// every layer speaks, and a message that is safe to show to the person who
// caused the error. Only the HTTP layer of each surface turns a kind into a
// status code; everything below it returns errors built here or wraps them
// with %w.
package errs

import (
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Kind classifies an error by what the caller can do about it.
type Kind string

// The kinds. Internal is the default for any error that is not an *Error.
const (
	Invalid         Kind = "invalid"         // the input is wrong; fix it and retry
	Malformed       Kind = "malformed"       // the request itself cannot be read (bad JSON, bad parameters)
	NotFound        Kind = "not_found"       // no such thing (or not yours)
	Conflict        Kind = "conflict"        // clashes with the current state (duplicate, taken)
	Unauthenticated Kind = "unauthenticated" // who are you?
	Forbidden       Kind = "forbidden"       // known, but not allowed
	RateLimited     Kind = "rate_limited"    // slow down
	Unavailable     Kind = "unavailable"     // a dependency is down; retry later
	Internal        Kind = "internal"        // our fault; the message is not shown
)

// Error is an error with a kind, a message safe to show, and optional
// per-field messages for input errors.
type Error struct {
	Kind    Kind
	Message string
	// Fields maps an input field to what is wrong with it, for Invalid errors.
	Fields map[string][]string
	// Err is the underlying cause, kept for logs and errors.Is; never shown.
	Err error
}

func (e *Error) Error() string {
	if e == nil {
		return "<nil>"
	}
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error {
	if e == nil {
		return nil
	}
	return e.Err
}

// E builds an error of kind k with a message formatted from format and args.
func E(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Wrap builds an error of kind k whose cause is err.
func Wrap(k Kind, err error, message string) *Error {
	return &Error{Kind: k, Message: message, Err: err}
}

// Fields is a collector of per-field input problems; its Err is nil while it
// holds none, so validation reads top to bottom and returns v.Err() at the end.
type Fields map[string][]string

// Add records a problem with field.
func (f Fields) Add(field, format string, args ...any) {
	f[field] = append(f[field], fmt.Sprintf(format, args...))
}

// Err returns an Invalid error carrying the recorded problems, or nil.
func (f Fields) Err() error {
	keys := slices.Sorted(maps.Keys(f))
	for _, k := range keys {
		if len(f[k]) > 0 {
			return &Error{Kind: Invalid, Message: k + " " + f[k][0], Fields: f}
		}
	}
	return nil
}

// asError returns the first non-nil *Error in err's chain.
func asError(err error) (*Error, bool) {
	e, ok := errors.AsType[*Error](err)
	return e, ok && e != nil
}

// KindOf returns the kind of the first *Error in err's chain, or Internal.
func KindOf(err error) Kind {
	if e, ok := asError(err); ok {
		return e.Kind
	}
	return Internal
}

// Is reports whether err's kind is k.
func Is(err error, k Kind) bool { return err != nil && KindOf(err) == k }

// MessageOf returns the safe message of err: its *Error's message, or
// "internal error" for anything else, so a cause is never shown by accident.
func MessageOf(err error) string {
	e, ok := asError(err)
	if !ok || e.Kind == Internal {
		return "internal error"
	}
	return e.Message
}

// FieldsOf returns the per-field messages of err, if it carries any.
func FieldsOf(err error) map[string][]string {
	if e, ok := asError(err); ok {
		return e.Fields
	}
	return nil
}
