package errs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/storefleet/storefleet/internal/errs"
)

// allKinds are every kind the package declares.
var allKinds = []errs.Kind{
	errs.Invalid, errs.NotFound, errs.Conflict, errs.Unauthenticated,
	errs.Forbidden, errs.RateLimited, errs.Unavailable, errs.Internal,
}

func TestE(t *testing.T) {
	got := errs.E(errs.NotFound, "store %q not found", "acme-tea")
	want := &errs.Error{Kind: errs.NotFound, Message: `store "acme-tea" not found`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("E(NotFound, %q, acme-tea) mismatch (-want +got):\n%s", "store %q not found", diff)
	}
	if got, want := got.Error(), `not_found: store "acme-tea" not found`; got != want {
		t.Errorf("E(…).Error() = %q, want %q", got, want)
	}
	if u := errors.Unwrap(got); u != nil {
		t.Errorf("errors.Unwrap(E(…)) = %v, want nil", u)
	}

	// A message without verbs and without arguments is kept as it is.
	if got := errs.E(errs.Conflict, "slug is taken").Message; got != "slug is taken" {
		t.Errorf("E(Conflict, %q).Message = %q, want it unchanged", "slug is taken", got)
	}
}

func TestWrap(t *testing.T) {
	cause := errors.New("dial tcp 10.0.0.7:5432: connection refused")
	got := errs.Wrap(errs.Unavailable, cause, "the database is unavailable")
	want := &errs.Error{Kind: errs.Unavailable, Message: "the database is unavailable", Err: cause}
	// Compared as values: *Error is itself an error, which EquateErrors would
	// compare with errors.Is.
	if diff := cmp.Diff(*want, *got, cmpopts.EquateErrors()); diff != "" {
		t.Errorf("Wrap(Unavailable, cause, …) mismatch (-want +got):\n%s", diff)
	}
	if got, want := got.Error(), "unavailable: the database is unavailable: dial tcp 10.0.0.7:5432: connection refused"; got != want {
		t.Errorf("Wrap(…).Error() = %q, want %q", got, want)
	}
	if u := errors.Unwrap(got); u != cause {
		t.Errorf("errors.Unwrap(Wrap(…, cause, …)) = %v, want the cause", u)
	}
	if u := got.Unwrap(); u != cause {
		t.Errorf("Wrap(…).Unwrap() = %v, want the cause", u)
	}

	// The chain holds through Wrap and through fmt.Errorf's %w on either side.
	sentinel := errs.E(errs.NotFound, "store not found")
	chains := map[string]error{
		"Wrap":              errs.Wrap(errs.Internal, cause, "x"),
		"%w of Wrap":        fmt.Errorf("find store: %w", errs.Wrap(errs.Internal, cause, "x")),
		"Wrap of %w":        errs.Wrap(errs.Internal, fmt.Errorf("query: %w", cause), "x"),
		"Wrap of Wrap":      errs.Wrap(errs.Forbidden, errs.Wrap(errs.Internal, cause, "inner"), "outer"),
		"%w of Wrap of %w":  fmt.Errorf("a: %w", errs.Wrap(errs.Conflict, fmt.Errorf("b: %w", cause), "x")),
		"errors.Join inner": errs.Wrap(errs.Internal, errors.Join(errors.New("other"), cause), "x"),
	}
	for name, err := range chains {
		if !errors.Is(err, cause) {
			t.Errorf("%s: errors.Is(%v, cause) = false, want true", name, err)
		}
	}
	if err := fmt.Errorf("lookup: %w", errs.Wrap(errs.Internal, sentinel, "x")); !errors.Is(err, sentinel) {
		t.Errorf("errors.Is(%v, sentinel *Error) = false, want true", err)
	}
	var e *errs.Error
	if err := fmt.Errorf("op: %w", got); !errors.As(err, &e) || e != got {
		t.Errorf("errors.As(%v, *Error) = %v, want the wrapped *Error", err, e)
	}

	// Wrap with a nil cause is an error that formats like E's.
	if got, want := errs.Wrap(errs.Conflict, nil, "taken").Error(), "conflict: taken"; got != want {
		t.Errorf("Wrap(Conflict, nil, taken).Error() = %q, want %q", got, want)
	}
}

func TestFieldsErr(t *testing.T) {
	t.Run("empty is nil", func(t *testing.T) {
		if err := (errs.Fields{}).Err(); err != nil {
			t.Errorf("Fields{}.Err() = %v, want nil", err)
		}
		var f errs.Fields // a nil map reads as empty
		if err := f.Err(); err != nil {
			t.Errorf("Fields(nil).Err() = %v, want nil", err)
		}
	})

	type problem struct{ field, msg string }
	tests := []struct {
		name     string
		add      []problem
		wantMsg  string
		wantFlds map[string][]string
	}{
		{
			name:     "one field",
			add:      []problem{{"email", "is required"}},
			wantMsg:  "email is required",
			wantFlds: map[string][]string{"email": {"is required"}},
		},
		{
			name:     "first field alphabetically, added last",
			add:      []problem{{"store_name", "is required"}, {"slug", "is taken"}, {"password", "is too short"}},
			wantMsg:  "password is too short",
			wantFlds: map[string][]string{"store_name": {"is required"}, "slug": {"is taken"}, "password": {"is too short"}},
		},
		{
			name:     "first field alphabetically, added first",
			add:      []problem{{"a_field", "is wrong"}, {"z_field", "is wrong too"}},
			wantMsg:  "a_field is wrong",
			wantFlds: map[string][]string{"a_field": {"is wrong"}, "z_field": {"is wrong too"}},
		},
		{
			name:     "first message of the first field",
			add:      []problem{{"slug", "is too short"}, {"email", "is required"}, {"email", "has no domain"}},
			wantMsg:  "email is required",
			wantFlds: map[string][]string{"slug": {"is too short"}, "email": {"is required", "has no domain"}},
		},
		{
			name:     "common prefix sorts the shorter first",
			add:      []problem{{"name_long", "x"}, {"name", "y"}},
			wantMsg:  "name y",
			wantFlds: map[string][]string{"name_long": {"x"}, "name": {"y"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := errs.Fields{}
			for _, p := range tt.add {
				f.Add(p.field, "%s", p.msg)
			}
			err := f.Err()
			if err == nil {
				t.Fatalf("Fields%v.Err() = nil, want an error", tt.add)
			}
			if k := errs.KindOf(err); k != errs.Invalid {
				t.Errorf("KindOf(Fields%v.Err()) = %q, want %q", tt.add, k, errs.Invalid)
			}
			if got := errs.MessageOf(err); got != tt.wantMsg {
				t.Errorf("MessageOf(Fields%v.Err()) = %q, want %q", tt.add, got, tt.wantMsg)
			}
			if diff := cmp.Diff(tt.wantFlds, errs.FieldsOf(err)); diff != "" {
				t.Errorf("FieldsOf(Fields%v.Err()) mismatch (-want +got):\n%s", tt.add, diff)
			}
		})
	}

	t.Run("Add formats its message", func(t *testing.T) {
		f := errs.Fields{}
		f.Add("password", "must be at least %d characters long", 10)
		f.Add("slug", "%q is reserved", "www")
		want := map[string][]string{
			"password": {"must be at least 10 characters long"},
			"slug":     {`"www" is reserved`},
		}
		if diff := cmp.Diff(want, map[string][]string(f)); diff != "" {
			t.Errorf("Fields after Add mismatch (-want +got):\n%s", diff)
		}
	})

	t.Run("message does not depend on insertion order", func(t *testing.T) {
		fields := []string{"zeta", "beta", "alpha", "gamma", "delta"}
		for i := range fields {
			f := errs.Fields{}
			for j := range fields {
				name := fields[(i+j)%len(fields)]
				f.Add(name, "is bad")
			}
			if got := errs.MessageOf(f.Err()); got != "alpha is bad" {
				t.Errorf("rotation %d: MessageOf(Fields.Err()) = %q, want %q", i, got, "alpha is bad")
			}
		}
	})
}

func TestKindOf(t *testing.T) {
	type kindCase struct {
		name string
		err  error
		want errs.Kind
	}
	tests := []kindCase{
		{"nil", nil, errs.Internal},
		{"plain error", errors.New("boom"), errs.Internal},
		{"context canceled", context.Canceled, errs.Internal},
		{"%w of plain", fmt.Errorf("op: %w", errors.New("boom")), errs.Internal},
		{"%w of E", fmt.Errorf("find store: %w", errs.E(errs.NotFound, "store not found")), errs.NotFound},
		{"%w of %w of E", fmt.Errorf("a: %w", fmt.Errorf("b: %w", errs.E(errs.Conflict, "taken"))), errs.Conflict},
		{"%v breaks the chain", fmt.Errorf("find store: %v", errs.E(errs.NotFound, "store not found")), errs.Internal},
		{"Wrap of another kind: outer wins", errs.Wrap(errs.Forbidden, errs.E(errs.NotFound, "x"), "y"), errs.Forbidden},
		{"%w of Wrap of plain", fmt.Errorf("op: %w", errs.Wrap(errs.Unavailable, errors.New("down"), "retry")), errs.Unavailable},
		{"errors.Join finds the *Error", errors.Join(errors.New("first"), errs.E(errs.RateLimited, "slow down")), errs.RateLimited},
		{"Fields.Err", func() error { f := errs.Fields{}; f.Add("a", "b"); return f.Err() }(), errs.Invalid},
	}
	for _, k := range allKinds {
		tests = append(tests, kindCase{"E(" + string(k) + ")", errs.E(k, "m"), k})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errs.KindOf(tt.err); got != tt.want {
				t.Errorf("KindOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

func TestIs(t *testing.T) {
	notFound := fmt.Errorf("find: %w", errs.E(errs.NotFound, "store not found"))
	tests := []struct {
		err  error
		kind errs.Kind
		want bool
	}{
		{nil, errs.Internal, false}, // no error is of no kind, not even Internal
		{nil, errs.NotFound, false},
		{errors.New("boom"), errs.Internal, true},
		{errors.New("boom"), errs.NotFound, false},
		{notFound, errs.NotFound, true},
		{notFound, errs.Internal, false},
		{notFound, errs.Conflict, false},
		{errs.E(errs.Invalid, "x"), errs.Invalid, true},
		{errs.Wrap(errs.Forbidden, notFound, "no"), errs.Forbidden, true},
		{errs.Wrap(errs.Forbidden, notFound, "no"), errs.NotFound, false},
	}
	for _, tt := range tests {
		if got := errs.Is(tt.err, tt.kind); got != tt.want {
			t.Errorf("Is(%v, %q) = %v, want %v", tt.err, tt.kind, got, tt.want)
		}
	}
}

func TestMessageOf(t *testing.T) {
	const secret = "password authentication failed for user \"storefleet\" at 10.0.0.7"
	cause := errors.New(secret)
	type msgCase struct {
		name string
		err  error
		want string
	}
	tests := []msgCase{
		{"E", errs.E(errs.NotFound, "store not found"), "store not found"},
		{"%w of E: the wrapping text is not shown", fmt.Errorf("find store 42: %w", errs.E(errs.NotFound, "store not found")), "store not found"},
		{"Wrap hides its cause", errs.Wrap(errs.Unavailable, cause, "try again in a minute"), "try again in a minute"},
		{"plain error", cause, "internal error"},
		{"%w of plain error", fmt.Errorf("query: %w", cause), "internal error"},
		{"Internal kind hides its message", errs.E(errs.Internal, "%s", secret), "internal error"},
		{"Wrap(Internal) of a safe error", errs.Wrap(errs.Internal, errs.E(errs.NotFound, "store not found"), secret), "internal error"},
		{"%v of E loses the safe message", fmt.Errorf("find: %v", errs.E(errs.NotFound, "store not found")), "internal error"},
		{"nil", nil, "internal error"},
	}
	for _, k := range allKinds {
		if k == errs.Internal {
			continue
		}
		tests = append(tests, msgCase{"E(" + string(k) + ")", errs.E(k, "safe to show"), "safe to show"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := errs.MessageOf(tt.err)
			if got != tt.want {
				t.Errorf("MessageOf(%v) = %q, want %q", tt.err, got, tt.want)
			}
			if strings.Contains(got, "password authentication") {
				t.Errorf("MessageOf(%v) = %q: leaks the cause", tt.err, got)
			}
		})
	}
}

func TestFieldsOf(t *testing.T) {
	f := errs.Fields{}
	f.Add("email", "is required")
	f.Add("slug", "is taken")
	fieldsErr := f.Err()
	want := map[string][]string{"email": {"is required"}, "slug": {"is taken"}}
	conflict := &errs.Error{Kind: errs.Conflict, Message: "slug is already taken", Fields: map[string][]string{"slug": {"is already taken"}}}

	tests := []struct {
		name string
		err  error
		want map[string][]string
	}{
		{"nil", nil, nil},
		{"plain error", errors.New("boom"), nil},
		{"E has none", errs.E(errs.Invalid, "bad input"), nil},
		{"Fields.Err", fieldsErr, want},
		{"%w of Fields.Err", fmt.Errorf("validate: %w", fieldsErr), want},
		{"Conflict with fields", conflict, map[string][]string{"slug": {"is already taken"}}},
		{"%w of Conflict with fields", fmt.Errorf("insert: %w", conflict), map[string][]string{"slug": {"is already taken"}}},
		// The first *Error in the chain speaks: a wrapper without fields hides
		// the fields below it, as it hides their message.
		{"Wrap without fields of Fields.Err", errs.Wrap(errs.Internal, fieldsErr, "x"), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, errs.FieldsOf(tt.err)); diff != "" {
				t.Errorf("FieldsOf(%v) mismatch (-want +got):\n%s", tt.err, diff)
			}
		})
	}
}

func TestErrorString(t *testing.T) {
	tests := []struct {
		err  *errs.Error
		want string
	}{
		{errs.E(errs.Invalid, "email is required"), "invalid: email is required"},
		{errs.E(errs.RateLimited, "slow down"), "rate_limited: slow down"},
		{errs.Wrap(errs.Internal, errors.New("boom"), "save order"), "internal: save order: boom"},
		{errs.Wrap(errs.Internal, errs.E(errs.NotFound, "store not found"), "load"), "internal: load: not_found: store not found"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("(%#v).Error() = %q, want %q", tt.err, got, tt.want)
		}
	}
}

func TestTypedNilAndEmptyFields(t *testing.T) {
	var e *errs.Error
	var err error = e
	if k := errs.KindOf(err); k != errs.Internal {
		t.Errorf("KindOf(typed nil *Error) = %q, want %q", k, errs.Internal)
	}
	if m := errs.MessageOf(fmt.Errorf("wrapped: %w", err)); m != "internal error" {
		t.Errorf("MessageOf(wrapped typed nil) = %q, want internal error", m)
	}
	if f := errs.FieldsOf(err); f != nil {
		t.Errorf("FieldsOf(typed nil) = %v, want nil", f)
	}
	_ = e.Error()
	if err := (errs.Fields{"a": nil}).Err(); err != nil {
		t.Errorf("Fields{a: nil}.Err() = %v, want nil", err)
	}
	if err := (errs.Fields{"a": nil, "b": {"is bad"}}).Err(); errs.MessageOf(err) != "b is bad" {
		t.Errorf("Fields{a: nil, b: [is bad]}.Err() = %v, want b is bad", err)
	}
}
