package themes

import (
	"fmt"
	"reflect"
	"strings"
	"unicode/utf8"

	"github.com/osteele/liquid/filters"
	"github.com/osteele/liquid/values"
)

// Every filter, osteele/liquid's standard ones included, is registered
// through a wrapper bound to the render's state, which:
//
//   - checks the time limit before the filter runs;
//   - refuses, before it runs, a call whose result could pass the work
//     budget (replace with an empty pattern, join of a huge list, …), and
//     charges the result's size after;
//   - counts the elements of the lists and ranges it is given against the
//     iteration budget: a filter over a list is a loop, and
//     (1..1000000000) | join would otherwise allocate a billion elements;
//   - for standard filters, hands them plain strings in place of
//     Untrusted ones, and marks what they return from shopper text as
//     Untrusted again, except for the filters whose output is already
//     escaped (safeFilters).

// safeFilters return text that is safe in HTML whatever their input.
var safeFilters = map[string]bool{
	"escape": true, "escape_once": true, "url_encode": true, "size": true,
	"handleize": true, "handle": true,
}

// recorder collects osteele/liquid's standard filters.
type recorder map[string]any

func (r recorder) AddFilter(name string, fn any) { r[name] = fn }

var standardFilters = func() recorder {
	r := recorder{}
	filters.AddStandardFilters(r)
	// Filters replaced by Shopify's or ours.
	for _, name := range []string{"json", "inspect", "date"} {
		delete(r, name)
	}
	return r
}()

type filterFunc = func(in any, args ...any) (any, error)

// addFilters registers every filter on a per-render env.
func addFilters(e *env) {
	for name, fn := range standardFilters {
		e.cfg.AddFilter(name, e.standard(name, reflect.ValueOf(fn)))
	}
	e.cfg.AddFilter("date", e.standard("date", reflect.ValueOf(dateFilter)))
	e.cfg.AddFilter("handleize", e.standard("handleize", reflect.ValueOf(handleize)))
	e.cfg.AddFilter("handle", e.standard("handle", reflect.ValueOf(handleize)))
	for name, fn := range e.shopifyFilters() {
		e.cfg.AddFilter(name, e.own(fn))
	}
}

// standard wraps a filter that knows nothing of Untrusted.
func (e *env) standard(name string, fn reflect.Value) filterFunc {
	safe := safeFilters[name]
	return func(in any, args ...any) (any, error) {
		st := e.st
		if err := st.check(); err != nil {
			return nil, err
		}
		all := make([]any, 0, len(args)+1)
		all = append(all, in)
		all = append(all, args...)
		tainted := false
		for i, a := range all {
			if isUntrusted(a) {
				tainted = true
				all[i] = untaint(a)
			}
			if err := st.iterate(elements(a)); err != nil {
				return nil, err
			}
		}
		if est := estimate(name, all); est > st.limits.MaxWorkBytes-st.work {
			return nil, st.reserve(est)
		}
		out, err := values.Call(fn, all)
		if err != nil {
			return nil, err
		}
		if err := st.reserve(sizeOf(out)); err != nil {
			return nil, err
		}
		if tainted && !safe {
			out = taint(out)
		}
		return out, nil
	}
}

// own wraps the engine's Shopify filters, which take care of Untrusted
// values themselves.
func (e *env) own(fn func(st *state, in any, args []any) (any, error)) filterFunc {
	return func(in any, args ...any) (any, error) {
		st := e.st
		if err := st.check(); err != nil {
			return nil, err
		}
		out, err := fn(st, in, args)
		if err != nil {
			return nil, err
		}
		if err := st.reserve(sizeOf(out)); err != nil {
			return nil, err
		}
		return out, nil
	}
}

// elements is how many items a filter walks in an argument: a list's
// length, a range's (which the filter turns into a list), or none. They
// count as loop iterations, which bounds the time any one filter call can
// take (a sort of the longest list a render may build).
func elements(v any) int {
	if r, ok := v.(values.Range); ok {
		return max(r.Len(), 0)
	}
	switch v := v.(type) {
	case nil, string:
		return 0
	case []any:
		return len(v)
	}
	if rv := reflect.ValueOf(v); rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		return rv.Len()
	}
	return 0
}

// sizeOf is the work a filter result is charged: its bytes, or 16 bytes
// an element for lists.
func sizeOf(v any) int {
	switch v := v.(type) {
	case string:
		return len(v)
	case Untrusted:
		return len(v)
	case []any:
		return 16 * len(v)
	case []string:
		return 16 * len(v)
	}
	return 0
}

func strArg(all []any, i int) string {
	if i >= len(all) || all[i] == nil {
		return ""
	}
	if s, ok := all[i].(string); ok {
		return s
	}
	return fmt.Sprint(all[i])
}

// estimate bounds the size of a standard filter's result before it runs,
// for the filters that can make much more than they are given.
func estimate(name string, all []any) int {
	inputs, lists := 0, 0
	for _, a := range all {
		if s, ok := a.(string); ok {
			inputs += len(s)
		} else {
			lists += 16 * elements(a)
		}
	}
	switch name {
	case "replace", "remove":
		s, old, repl := strArg(all, 0), strArg(all, 1), strArg(all, 2)
		n := utf8.RuneCountInString(s) + 1
		if old != "" {
			n = strings.Count(s, old)
		}
		return len(s) + n*len(repl)
	case "split":
		s, sep := strArg(all, 0), strArg(all, 1)
		n := utf8.RuneCountInString(s) + 1
		if sep != "" && sep != " " {
			n = strings.Count(s, sep) + 1
		} else if sep == " " {
			n = len(s)/2 + 1
		}
		return 16 * n
	case "join":
		list, _ := all[0].([]any)
		sep := len(strArg(all, 1))
		if len(all) < 2 || all[1] == nil {
			sep = 1
		}
		n := 0
		for _, x := range list {
			if s, ok := x.(string); ok {
				n += len(s)
			} else {
				n += 32
			}
			n += sep
		}
		return n
	case "concat":
		n := 0
		for _, a := range all {
			if rv := reflect.ValueOf(a); rv.Kind() == reflect.Slice {
				n += 16 * rv.Len()
			}
		}
		return n
	case "escape", "escape_once", "newline_to_br":
		return 6 * inputs
	case "url_encode", "upcase", "downcase", "capitalize":
		return 3 * inputs
	}
	return 2*inputs + lists
}
