package notifications

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/themes"
)

// Email is a rendered notification, ready for a mail.Message.
type Email struct {
	Subject string // one line
	HTML    string
	Text    string
	// Problem is why the store's own template could not be used and the
	// default was sent instead (Service.Render); nil otherwise. The job
	// fleet logs it for the merchant's attention.
	Problem error
}

// Limits bound one render of a notification: far below a storefront
// page's, as an email is small, and tight enough that a template looping
// or growing a string cannot hold a worker.
var Limits = themes.Limits{
	Timeout:        time.Second,
	MaxOutputBytes: 1 << 20,
	MaxDepth:       4,
	MaxIterations:  20_000,
	MaxWorkBytes:   4 << 20,
}

//go:embed defaults/*.liquid
var defaultFiles embed.FS

// defaults are the shipped templates, read once.
var defaults = sync.OnceValue(func() map[Kind]Template {
	out := map[Kind]Template{}
	for _, ki := range kinds {
		read := func(part string) string {
			b, err := defaultFiles.ReadFile("defaults/" + string(ki.kind) + "." + part + ".liquid")
			if err != nil {
				panic(fmt.Sprintf("notifications: default %s %s: %v", ki.kind, part, err))
			}
			return string(b)
		}
		out[ki.kind] = Template{Kind: ki.kind, Title: ki.title, Subject: read("subject"), BodyHTML: read("html"), BodyText: read("text")}
	}
	return out
})

// Default returns the template of kind shipped in the binary; the zero
// Template for an unknown kind.
func Default(kind Kind) Template {
	return defaults()[kind]
}

// fields are the template parts by the theme file each is parsed as, and
// the API field that reports its problems.
var fields = map[string]string{
	"templates/subject.liquid": "subject",
	"templates/html.liquid":    "body_html",
	"templates/text.liquid":    "body_text",
}

// parse loads tpl as a tiny theme: one template per part and a layout that
// adds nothing, so that the theme engine's grammar, filters, escaping and
// limits all apply.
//
// Errors: Invalid, naming the field and line of each problem.
func (tpl Template) parse() (*themes.Theme, error) {
	th, err := themes.FromMap(map[string][]byte{
		"layout/theme.liquid":      []byte("{{ content_for_layout }}"),
		"templates/subject.liquid": []byte(tpl.Subject),
		"templates/html.liquid":    []byte(tpl.BodyHTML),
		"templates/text.liquid":    []byte(tpl.BodyText),
	})
	if err != nil {
		return nil, liquidProblem(err, "")
	}
	return th, nil
}

// Render renders tpl about d: the subject and text body with d's values as
// they are, the HTML body with every value HTML-escaped.
//
// Errors: Invalid (Liquid that does not parse, a render error or a limit
// crossed, the field and line named; a subject that renders blank).
func (tpl Template) Render(ctx context.Context, d Data) (Email, error) {
	th, err := tpl.parse()
	if err != nil {
		return Email{}, err
	}
	plain := d.vars()
	opts := themes.RenderOptions{Limits: Limits}
	subject, err := th.Render(ctx, "subject", plain, opts)
	if err != nil {
		return Email{}, liquidProblem(err, "subject")
	}
	text, err := th.Render(ctx, "text", plain, opts)
	if err != nil {
		return Email{}, liquidProblem(err, "body_text")
	}
	html, err := th.Render(ctx, "html", escaped(plain).(map[string]any), opts)
	if err != nil {
		return Email{}, liquidProblem(err, "body_html")
	}
	out := Email{Subject: strings.Join(strings.Fields(string(subject)), " "), HTML: string(html), Text: string(text)}
	if out.Subject == "" {
		return Email{}, &errs.Error{Kind: errs.Invalid, Message: "subject renders blank",
			Fields: map[string][]string{"subject": {"renders blank with the sample data"}}}
	}
	if len(out.Subject) > MaxSubjectBytes {
		return Email{}, &errs.Error{Kind: errs.Invalid, Message: "subject renders too long",
			Fields: map[string][]string{"subject": {fmt.Sprintf("renders longer than %d bytes", MaxSubjectBytes)}}}
	}
	return out, nil
}

// liquidProblem turns the theme engine's errors into an Invalid error whose
// fields name the template part and line: "body_html": ["line 3:
// unterminated \"if\" block"]. field is the part being rendered, for
// errors that name no file.
func liquidProblem(err error, field string) error {
	if errs.KindOf(err) != errs.Internal {
		return err
	}
	f := errs.Fields{}
	var list []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		list = j.Unwrap()
	} else {
		list = []error{err}
	}
	for _, e := range list {
		name, msg := field, ""
		var te *themes.Error
		if errors.As(e, &te) {
			if n, ok := fields[te.File]; ok {
				name = n
			}
			msg = te.Msg
			if te.Line > 0 {
				msg = fmt.Sprintf("line %d: %s", te.Line, te.Msg)
			}
		} else {
			msg = cleanMessage(e)
		}
		if name == "" {
			name = "base"
		}
		f.Add(name, "%s", msg)
	}
	out := f.Err().(*errs.Error)
	out.Err = err
	return out
}

// cleanMessage is an engine error without the theme paths a merchant never
// sees: `render "html": layout/x.liquid: not found` becomes
// "layout/x.liquid: not found (notifications have no layouts or snippets)".
func cleanMessage(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, `": `); strings.HasPrefix(msg, "render \"") && i > 0 {
		msg = msg[i+3:]
	}
	if errors.Is(err, themes.ErrNotFound) {
		msg += " (notifications have no layouts or snippets)"
	}
	return msg
}

// escaped returns v with every string made themes.Untrusted, so that the
// engine HTML-escapes it wherever the HTML body prints it: no value in an
// email is markup, and shoppers' names, addresses and notes must not be.
func escaped(v any) any {
	switch x := v.(type) {
	case string:
		return themes.Untrusted(x)
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = escaped(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = escaped(e)
		}
		return out
	case []string:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = themes.Untrusted(e)
		}
		return out
	}
	return v
}
