package themes

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"maps"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/render"
	"github.com/osteele/liquid/values"
)

// RenderOptions carry what a render needs beyond the data objects: the
// storefront's URL builders, the request's page and locale, and limits.
// The zero value works: assets under /assets/, images at their own URL,
// page 1, the theme's default locale, DefaultLimits.
type RenderOptions struct {
	// ContentForHeader is the storefront's own HTML for the page head
	// (`{{ content_for_header }}`), rendered as is.
	ContentForHeader string
	// Locale picks locales/<Locale>.json for the t filter, falling back to
	// the language ("fr" for "fr-CA") and then to the default locale.
	Locale string
	// AssetURL returns the URL of a theme asset (asset_url, stylesheet_tag,
	// …); nil means "/assets/" + name.
	AssetURL func(name string) string
	// ImageURL returns the URL of an image resized to fit width × height
	// pixels, either of which may be 0 for "any" (image_url, img_url,
	// image_tag); nil means src unchanged.
	ImageURL func(src string, width, height int) string
	// Page is the page the paginate tag shows, from the request's ?page=;
	// below 1 means 1.
	Page int
	// PageURL returns the URL of another page of the current list (the
	// paginate object's links); nil means "?page=N".
	PageURL func(page int) string
	// Form is the outcome of the form the shopper just posted, shown by the
	// matching {% form %} tag (errors, values to fill back in).
	Form *FormResult
	// CSRFToken, when set, is added to every POST form the form tag renders
	// as the hidden field authenticity_token.
	CSRFToken string
	// Limits bound the render; zero fields take DefaultLimits.
	Limits Limits
}

// FormResult is the outcome of a posted storefront form, for the form tag
// of the same type to show.
type FormResult struct {
	// Type is the form type: "customer_login", "create_customer", …
	Type string
	// ID, when set, is the form object's id of the one form of that type
	// that shows the result: a page of address forms has one per address
	// (its id) and one for a new address ("new").
	ID string
	// Errors maps field names ("email", "password", or "form" for the form
	// as a whole) to messages, which are the storefront's own text.
	Errors map[string]string
	// Values are the posted values to fill back in; they are shopper text
	// and reach the page as Untrusted.
	Values map[string]string
	// PostedSuccessfully is true after a successful post (a contact form
	// sent, a password reset mailed).
	PostedSuccessfully bool
}

// Pager is a list too long to hand over whole, such as a collection's
// products: the storefront puts one where a list is expected, and the
// paginate tag asks it for the one page it shows. Outside paginate a
// Pager yields its first 50 items, as Shopify does.
type Pager interface {
	// Count is the number of items in the whole list.
	Count() int
	// Page returns the items at [offset, offset+limit).
	Page(ctx context.Context, offset, limit int) ([]any, error)
}

// stateKey binds the render's state in every Liquid scope. No Liquid
// expression can name it, and its value reads as nil to templates.
const stateKey = "\x00themes"

// state is one render in progress.
type state struct {
	budget
	theme        *Theme
	opts         *RenderOptions
	cfg          *render.Config
	globals      map[string]any
	layout       string
	layoutSet    bool
	cycles       map[string]int
	counters     map[string]int
	money        moneyFormat
	translations []map[string]any
}

// ToLiquid hides the state from templates.
func (*state) ToLiquid() any { return nil }

// stateOf returns the render state from a tag's context.
func stateOf(ctx render.Context) *state {
	st, _ := ctx.Get(stateKey).(*state)
	if st == nil {
		panic("themes: tag rendered outside Theme.Render")
	}
	return st
}

// env is a per-render configuration: the theme's grammar with filters bound
// to one render's state. Envs are pooled per theme.
type env struct {
	cfg render.Config
	st  *state
}

func (t *Theme) getEnv() *env {
	if e, ok := t.envs.Get().(*env); ok {
		return e
	}
	e := &env{cfg: *t.cfg}
	exprs := expressions.NewConfig()
	exprs.LaxFilters = true
	e.cfg.Config.Config = exprs
	addFilters(e)
	return e
}

var templateName = regexp.MustCompile(`^(customers/)?[a-z0-9_-]+(\.[a-z0-9_-]+)?$`)

// Render renders page template (a name under templates/ without extension:
// "product", "customers/login", "product.alternate") with the data objects
// in vars, and returns the page: the template's output becomes
// content_for_layout inside layout/theme.liquid, unless the template says
// {% layout none %} or names another layout.
//
// Render adds the objects the theme itself defines: settings (the theme's
// settings), template, content_for_header (from opts) and, when vars lacks
// them, routes and request. The shapes of the objects the storefront must
// provide are listed in README.md, "Objects".
//
// A render stopped by a limit returns an *Error wrapping ErrTimeout,
// ErrOutputTooLarge, ErrTooDeep, ErrTooManyLoops or ErrTooMuchWork; a
// missing template wraps ErrNotFound; any other failure of the theme's
// code is an *Error naming the file and line.
func (t *Theme) Render(ctx context.Context, template string, vars map[string]any, opts RenderOptions) (out []byte, err error) {
	if !templateName.MatchString(template) {
		return nil, fmt.Errorf("render %q: template %w", template, ErrNotFound)
	}
	st := &state{theme: t, opts: &opts}
	st.limits = opts.Limits.withDefaults()
	stop := st.start(ctx)
	defer stop()
	e := t.getEnv()
	e.st = st
	st.cfg = &e.cfg
	defer func() {
		e.st = nil
		t.envs.Put(e)
	}()
	defer func() {
		if r := recover(); r != nil {
			out = nil
			err = fmt.Errorf("render %q: internal error in theme engine: %v\n%s", template, r, debug.Stack())
		}
	}()
	st.prepare(template, vars)

	page, err := st.renderTemplate(template)
	if err == nil && !(st.layoutSet && st.layout == "") {
		name := "theme"
		if st.layoutSet {
			name = st.layout
		}
		layout, ok := t.layouts[name]
		if !ok {
			return nil, fmt.Errorf("render %q: layout/%s.liquid: %w", template, name, ErrNotFound)
		}
		st.globals["content_for_layout"] = page
		w := &pageWriter{b: &st.budget, max: st.limits.MaxOutputBytes}
		err = render.Render(layout.root, w, st.globals, *st.cfg)
		page = w.buf.String()
	}
	if err != nil {
		if !errors.As(err, new(liquidError)) {
			return nil, fmt.Errorf("render %q: %w", template, err)
		}
		le := locate(err, "templates/"+template)
		if st.err != nil {
			le.Msg, le.Err = st.err.Error(), st.err
		}
		return nil, le
	}
	return []byte(page), nil
}

// prepare builds the global scope and the render's formats.
func (st *state) prepare(template string, vars map[string]any) {
	t := st.theme
	g := make(map[string]any, len(vars)+8)
	maps.Copy(g, vars)
	g["settings"] = t.settings
	g["content_for_header"] = st.opts.ContentForHeader
	g["template"] = newTemplateObject(template)
	if _, ok := g["routes"]; !ok {
		g["routes"] = defaultRoutes
	}
	if _, ok := g["request"]; !ok {
		g["request"] = map[string]any{
			"page_type": strings.TrimPrefix(strings.SplitN(template, ".", 2)[0], "customers/"),
			"locale":    map[string]any{"iso_code": st.locale()},
		}
	}
	g[stateKey] = st
	st.globals = g
	st.money = moneyFormatOf(vars["shop"])
	st.translations = t.translationChain(st.opts.Locale)
}

func (st *state) locale() string {
	if st.opts.Locale != "" {
		return st.opts.Locale
	}
	return st.theme.defaultLocale
}

// defaultRoutes are Storefleet's storefront paths, as Shopify's.
var defaultRoutes = map[string]any{
	"root_url":                    "/",
	"cart_url":                    "/cart",
	"cart_add_url":                "/cart/add",
	"cart_change_url":             "/cart/change",
	"cart_update_url":             "/cart/update",
	"cart_clear_url":              "/cart/clear",
	"account_url":                 "/account",
	"account_login_url":           "/account/login",
	"account_logout_url":          "/account/logout",
	"account_register_url":        "/account/register",
	"account_recover_url":         "/account/recover",
	"account_addresses_url":       "/account/addresses",
	"search_url":                  "/search",
	"predictive_search_url":       "/search/suggest",
	"collections_url":             "/collections",
	"all_products_collection_url": "/collections/all",
	"product_recommendations_url": "/recommendations/products",
}

// renderTemplate renders a page template, Liquid or JSON, to a string.
func (st *state) renderTemplate(name string) (string, error) {
	t := st.theme
	w := &pageWriter{b: &st.budget, max: st.limits.MaxOutputBytes}
	if src, ok := t.templates[name]; ok {
		if err := render.Render(src.root, w, st.globals, *st.cfg); err != nil {
			return "", err
		}
		return w.buf.String(), nil
	}
	jt, ok := t.jsons[name]
	if !ok {
		return "", fmt.Errorf("render %q: template %w", name, ErrNotFound)
	}
	switch l := jt.Layout.(type) {
	case bool:
		if !l {
			st.layout, st.layoutSet = "", true
		}
	case string:
		st.layout, st.layoutSet = l, true
	}
	for _, id := range jt.order() {
		data := jt.Sections[id]
		if data.Disabled {
			continue
		}
		src := t.sections[data.Type]
		if err := st.renderSection(w, "template--"+id, src, &data); err != nil {
			return "", err
		}
	}
	return w.buf.String(), nil
}

var sectionTags = map[string]bool{"div": true, "section": true, "article": true, "aside": true, "header": true, "footer": true, "nav": true}

// renderSection renders a section in its own scope, wrapped as Shopify
// does in an element with id shopify-section-<id>.
func (st *state) renderSection(w io.Writer, id string, src *source, data *sectionData) error {
	if err := st.enter(); err != nil {
		return err
	}
	defer st.leave()
	tag, class := "div", ""
	if src.schema != nil {
		if sectionTags[src.schema.Tag] {
			tag = src.schema.Tag
		}
		class = src.schema.Class
	}
	scope := maps.Clone(st.globals)
	scope["section"] = sectionObject(id, src, data)
	if class != "" {
		class = " " + class
	}
	if _, err := fmt.Fprintf(w, `<%s id="shopify-section-%s" class="shopify-section%s">`, tag, html.EscapeString(id), html.EscapeString(class)); err != nil {
		return err
	}
	if err := render.Render(src.root, w, scope, *st.cfg); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "</%s>", tag)
	return err
}

// templateObject is the `template` object: it prints as the template's
// name ("product.alternate") and has name, suffix and directory.
type templateObject struct {
	full, name, suffix, directory string
}

func newTemplateObject(full string) templateObject {
	t := templateObject{full: full}
	rest := full
	if d, r, ok := strings.Cut(rest, "/"); ok {
		t.directory, rest = d, r
	}
	t.name, t.suffix, _ = strings.Cut(rest, ".")
	return t
}

func (t templateObject) String() string                       { return t.full }
func (t templateObject) Format(f fmt.State, _ rune)           { _, _ = io.WriteString(f, t.full) }
func (t templateObject) Interface() any                       { return t }
func (t templateObject) Int() int                             { return 0 }
func (t templateObject) Equal(o values.Value) bool            { return values.Equal(t.full, o.Interface()) }
func (t templateObject) Less(o values.Value) bool             { return values.Less(t.full, o.Interface()) }
func (t templateObject) IndexValue(values.Value) values.Value { return values.ValueOf(nil) }
func (t templateObject) Test() bool                           { return true }
func (t templateObject) Contains(o values.Value) bool {
	return strings.Contains(t.full, fmt.Sprint(plain(o.Interface())))
}
func (t templateObject) PropertyValue(k values.Value) values.Value {
	switch k.Interface() {
	case "name":
		return values.ValueOf(t.name)
	case "suffix":
		if t.suffix == "" {
			return values.ValueOf(nil)
		}
		return values.ValueOf(t.suffix)
	case "directory":
		if t.directory == "" {
			return values.ValueOf(nil)
		}
		return values.ValueOf(t.directory)
	case "size":
		return values.ValueOf(len(t.full))
	}
	return values.ValueOf(nil)
}
