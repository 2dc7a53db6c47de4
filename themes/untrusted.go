package themes

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/osteele/liquid/values"
)

// Untrusted is text a shopper typed: search terms, a cart note or attribute,
// a customer's name or address, a value posted back into a form. The
// storefront wraps every such value in Untrusted before handing it to a
// theme; Render then HTML-escapes it wherever it reaches the page, whether
// or not the theme remembers `| escape`, while the merchant's own HTML
// (product descriptions, rich-text settings) keeps rendering raw, as in
// Shopify.
//
// Inside Liquid an Untrusted behaves like a string: it compares, tests and
// measures (`.size`) like one, and filters see its plain text. Whatever a
// filter derives from it (upcase, append, split, …) stays Untrusted, except
// the filters whose output is safe by construction (escape, url_encode, json,
// t, link_to, …), which escape it themselves.
//
// HTML escaping protects text and quoted attribute values; it does not make
// a value safe inside a URL, a script or an unquoted attribute, so themes
// should not put shopper text there.
type Untrusted string

// String returns the raw text; Liquid's filters convert through it.
func (u Untrusted) String() string { return string(u) }

// Format writes the HTML-escaped text. Liquid prints objects that are not
// plain strings through fmt, so this is where `{{ search.terms }}` gets
// escaped.
func (u Untrusted) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, html.EscapeString(string(u)))
}

// The methods below make Untrusted a Liquid value (values.Value), so that
// the interpreter keeps the type, and with it the escaping, through
// variables, properties and assignments.

// Interface returns u itself, so that the taint survives evaluation.
func (u Untrusted) Interface() any { return u }

// Int converts like a Liquid string.
func (u Untrusted) Int() int { return values.ValueOf(string(u)).Int() }

// Equal compares like a Liquid string.
func (u Untrusted) Equal(o values.Value) bool { return values.Equal(string(u), o.Interface()) }

// Less compares like a Liquid string.
func (u Untrusted) Less(o values.Value) bool { return values.Less(string(u), o.Interface()) }

// Contains reports whether the text contains o, like a Liquid string.
func (u Untrusted) Contains(o values.Value) bool {
	return strings.Contains(string(u), fmt.Sprint(plain(o.Interface())))
}

// IndexValue behaves like a Liquid string's.
func (u Untrusted) IndexValue(i values.Value) values.Value {
	return values.ValueOf(string(u)).IndexValue(i)
}

// PropertyValue behaves like a Liquid string's (`size`).
func (u Untrusted) PropertyValue(k values.Value) values.Value {
	return values.ValueOf(string(u)).PropertyValue(k)
}

// Test is true, as for every Liquid string.
func (u Untrusted) Test() bool { return true }

// UntrustedMap wraps both keys and values of a shopper-supplied map, such
// as cart attributes, whose keys are as untrusted as its values.
func UntrustedMap(m map[string]string) map[Untrusted]Untrusted {
	out := make(map[Untrusted]Untrusted, len(m))
	for k, v := range m {
		out[Untrusted(k)] = Untrusted(v)
	}
	return out
}

// plain returns the raw string of an Untrusted, and anything else as it is.
func plain(v any) any {
	if u, ok := v.(Untrusted); ok {
		return string(u)
	}
	return v
}

// isUntrusted reports whether v is shopper text, alone or as an element of a
// list.
func isUntrusted(v any) bool {
	switch v := v.(type) {
	case Untrusted:
		return true
	case []Untrusted:
		return true
	case []any:
		for _, e := range v {
			if _, ok := e.(Untrusted); ok {
				return true
			}
		}
	}
	return false
}

// untaint returns v with Untrusted strings (alone or in a list) turned into
// plain strings, for filters that expect strings.
func untaint(v any) any {
	switch v := v.(type) {
	case Untrusted:
		return string(v)
	case []Untrusted:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = string(e)
		}
		return out
	case []any:
		if !isUntrusted(v) {
			return v
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = plain(e)
		}
		return out
	}
	return v
}

// taint marks the strings of a filter's result as Untrusted.
func taint(v any) any {
	switch v := v.(type) {
	case string:
		return Untrusted(v)
	case []string:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = Untrusted(e)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			if s, ok := e.(string); ok {
				out[i] = Untrusted(s)
			} else {
				out[i] = e
			}
		}
		return out
	}
	return v
}

// escapeValue returns the HTML-safe text of v for the filters that build
// HTML: shopper text is escaped, the theme's own strings are not.
func escapeValue(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case Untrusted:
		return html.EscapeString(string(v))
	case string:
		return v
	}
	return html.EscapeString(fmt.Sprint(v))
}

// attr returns v escaped for a quoted HTML attribute value.
func attr(v any) string {
	return html.EscapeString(fmt.Sprint(plain(v)))
}
