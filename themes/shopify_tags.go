package themes

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/osteele/liquid/expressions"
	"github.com/osteele/liquid/render"
	"github.com/osteele/liquid/values"
)

// snippetName is the form of snippet, section and layout names: no path
// separators, so no name can leave its folder.
var snippetName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]*$`)

var inclusionHead = regexp.MustCompile(`^\s*(?:'([^']*)'|"([^"]*)"|([A-Za-z_][\w.\[\]'"-]*))\s*(?:(with|for)\s+([\s\S]+?)(?:\s+as\s+([A-Za-z_][\w-]*))?)?\s*$`)

// inclusion is a parsed render or include tag.
type inclusion struct {
	name     string                 // snippet name, when literal
	nameExpr expressions.Expression // include only: a name computed at render
	mode     string                 // "", "with" or "for"
	value    expressions.Expression
	alias    string
	kwargs   []kwarg
}

func parseInclusion(args string, isolated bool) (*inclusion, error) {
	parts := splitArgs(args)
	m := inclusionHead.FindStringSubmatch(parts[0])
	if m == nil {
		return nil, fmt.Errorf("expected a quoted snippet name, got %q", strings.TrimSpace(parts[0]))
	}
	inc := &inclusion{name: m[1] + m[2], mode: m[4], alias: m[6]}
	switch {
	case m[3] != "" && isolated:
		return nil, fmt.Errorf("render takes a quoted snippet name, got %s", m[3])
	case m[3] != "":
		e, err := expressions.Parse(m[3])
		if err != nil {
			return nil, err
		}
		inc.nameExpr = e
	case !snippetName.MatchString(inc.name):
		return nil, fmt.Errorf("invalid snippet name %q", inc.name)
	}
	if inc.mode != "" {
		e, err := expressions.Parse(m[5])
		if err != nil {
			return nil, err
		}
		inc.value = e
	}
	kws, err := parseKeywords(parts[1:])
	if err != nil {
		return nil, err
	}
	inc.kwargs = kws
	return inc, nil
}

// snippet returns the parsed snippets/<name>.liquid.
func (st *state) snippet(name string) (*source, error) {
	src, ok := st.theme.snippets[name]
	if !ok || !snippetName.MatchString(name) {
		return nil, fmt.Errorf("snippets/%s.liquid: %w", name, ErrNotFound)
	}
	return src, nil
}

// inclusionTag is render (isolated: the snippet sees the global objects
// and its arguments only) and include (shared: the snippet sees and sets
// the includer's variables).
func inclusionTag(isolated bool) render.TagCompiler {
	return func(args string) (tagFunc, error) {
		inc, err := parseInclusion(args, isolated)
		if err != nil {
			return nil, err
		}
		return func(w io.Writer, ctx render.Context) error {
			st := stateOf(ctx)
			name := inc.name
			if inc.nameExpr != nil {
				v, err := ctx.Evaluate(inc.nameExpr)
				if err != nil {
					return err
				}
				name = fmt.Sprint(plain(v))
			}
			src, err := st.snippet(name)
			if err != nil {
				return err
			}
			params, err := evalKeywords(ctx, inc.kwargs)
			if err != nil {
				return err
			}
			var value any
			if inc.value != nil {
				if value, err = ctx.Evaluate(inc.value); err != nil {
					return err
				}
			}
			alias := inc.alias
			if alias == "" {
				alias = name
			}
			if err := st.enter(); err != nil {
				return err
			}
			defer st.leave()

			if !isolated {
				for k, v := range params {
					ctx.Set(k, v)
				}
				block := &render.BlockNode{Body: []render.Node{src.root}}
				if inc.mode == "for" {
					items, err := st.toSeq(value)
					if err != nil {
						return err
					}
					for i := 0; i < items.Len(); i++ {
						if err := st.iterate(1); err != nil {
							return err
						}
						ctx.Set(alias, items.Index(i))
						if err := ctx.RenderBlock(w, block); err != nil {
							return err
						}
					}
					return nil
				}
				if inc.mode == "with" {
					ctx.Set(alias, value)
				}
				return ctx.RenderBlock(w, block)
			}

			scope := make(map[string]any, len(st.globals)+len(params)+2)
			maps.Copy(scope, st.globals)
			maps.Copy(scope, params)
			if inc.mode != "for" {
				if inc.mode == "with" {
					scope[alias] = value
				}
				return render.Render(src.root, w, scope, *st.cfg)
			}
			items, err := st.toSeq(value)
			if err != nil {
				return err
			}
			n := items.Len()
			for i := 0; i < n; i++ {
				if err := st.iterate(1); err != nil {
					return err
				}
				scope[alias] = items.Index(i)
				scope["forloop"] = map[string]any{
					"index": i + 1, "index0": i, "rindex": n - i, "rindex0": n - i - 1,
					"first": i == 0, "last": i == n-1, "length": n,
				}
				if err := render.Render(src.root, w, scope, *st.cfg); err != nil {
					return err
				}
			}
			return nil
		}, nil
	}
}

func sectionTag(args string) (tagFunc, error) {
	arg := strings.TrimSpace(args)
	name := strings.Trim(arg, `'"`)
	if len(arg) < 2 || (arg[0] != '\'' && arg[0] != '"') || !snippetName.MatchString(name) {
		return nil, fmt.Errorf("section takes a quoted section name, got %q", args)
	}
	return func(w io.Writer, ctx render.Context) error {
		st := stateOf(ctx)
		src, ok := st.theme.sections[name]
		if !ok {
			return fmt.Errorf("sections/%s.liquid: %w", name, ErrNotFound)
		}
		var data *sectionData
		if d, ok := st.theme.staticSections[name]; ok {
			data = &d
		}
		return st.renderSection(w, name, src, data)
	}, nil
}

// formSpec says how the form tag renders one form type.
type formSpec struct {
	method, id, enctype string
	action              func(st *state, object any) string
}

// route returns a form action read from the routes object, so that a
// storefront that moves its paths moves its forms too.
func route(key string) func(*state, any) string {
	return func(st *state, _ any) string {
		if routes, ok := st.globals["routes"].(map[string]any); ok {
			if u, ok := routes[key].(string); ok {
				return u
			}
		}
		return defaultRoutes[key].(string)
	}
}

var formSpecs = map[string]formSpec{
	"product":                   {method: "post", id: "product_form", enctype: "multipart/form-data", action: route("cart_add_url")},
	"cart":                      {method: "post", id: "cart", action: route("cart_url")},
	"customer_login":            {method: "post", id: "customer_login", action: route("account_login_url")},
	"create_customer":           {method: "post", id: "create_customer", action: route("account_url")},
	"recover_customer_password": {method: "post", id: "recover_customer_password", action: route("account_recover_url")},
	"reset_customer_password":   {method: "post", id: "reset_customer_password", action: route("account_url")},
	"contact":                   {method: "post", id: "contact_form", action: func(*state, any) string { return "/contact#contact_form" }},
	"customer":                  {method: "post", id: "customer_form", action: func(*state, any) string { return "/contact#contact_form" }},
	"search":                    {method: "get", id: "search_form", action: route("search_url")},
	"customer_address": {method: "post", id: "address_form", action: func(st *state, object any) string {
		base := route("account_addresses_url")(st, nil)
		if m, ok := object.(map[string]any); ok {
			if id, ok := toInt(m["id"]); ok && id > 0 {
				return base + "/" + strconv.Itoa(id)
			}
		}
		return base
	}},
}

var attrName = regexp.MustCompile(`^[A-Za-z][\w:-]*$`)

// formCompiler is {% form 'type'[, object][, attribute: value …] %}: a
// <form> posting where Storefleet's storefront expects that form type,
// with the hidden form_type and utf8 fields, and a `form` object inside
// that carries the last post's errors and values.
func formCompiler(node render.BlockNode) (tagFunc, error) {
	parts := splitArgs(node.Args)
	typ := strings.TrimSpace(parts[0])
	if len(typ) < 2 || (typ[0] != '\'' && typ[0] != '"') {
		return nil, fmt.Errorf("form takes a quoted form type, got %q", parts[0])
	}
	typ = typ[1 : len(typ)-1]
	spec, ok := formSpecs[typ]
	if !ok {
		return nil, fmt.Errorf("unknown form type %q", typ)
	}
	var object expressions.Expression
	rest := parts[1:]
	if len(rest) > 0 && !keywordArg.MatchString(rest[0]) {
		e, err := expressions.Parse(rest[0])
		if err != nil {
			return nil, err
		}
		object, rest = e, rest[1:]
	}
	kws, err := parseKeywords(rest)
	if err != nil {
		return nil, err
	}
	for _, kw := range kws {
		if !attrName.MatchString(kw.name) {
			return nil, fmt.Errorf("invalid form attribute %q", kw.name)
		}
	}
	return func(w io.Writer, ctx render.Context) error {
		st := stateOf(ctx)
		if err := st.check(); err != nil {
			return err
		}
		var obj any
		if object != nil {
			v, err := ctx.Evaluate(object)
			if err != nil {
				return err
			}
			obj = v
		}
		attrs, err := evalKeywords(ctx, kws)
		if err != nil {
			return err
		}
		id := spec.id
		if m, ok := obj.(map[string]any); ok && typ == "product" {
			id = fmt.Sprintf("product_form_%v", plain(m["id"]))
		}
		addressID := addressIDOf(typ, obj)
		if typ == "customer_address" {
			id = "address_form_" + addressID
		}
		if v, ok := attrs["id"]; ok {
			id = fmt.Sprint(plain(v))
		}
		var b strings.Builder
		fmt.Fprintf(&b, `<form method="%s" action="%s" id="%s" accept-charset="UTF-8"`, spec.method, attr(spec.action(st, obj)), attr(id))
		if spec.enctype != "" {
			fmt.Fprintf(&b, ` enctype="%s"`, spec.enctype)
		}
		names := make([]string, 0, len(attrs))
		for k := range attrs {
			if k != "id" && k != "return_to" {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			fmt.Fprintf(&b, ` %s="%s"`, k, attr(attrs[k]))
		}
		fmt.Fprintf(&b, `><input type="hidden" name="form_type" value="%s"><input type="hidden" name="utf8" value="✓">`, typ)
		if st.opts.CSRFToken != "" && spec.method == "post" {
			fmt.Fprintf(&b, `<input type="hidden" name="authenticity_token" value="%s">`, attr(st.opts.CSRFToken))
		}
		if typ == "customer_address" && addressID != "new" {
			b.WriteString(`<input type="hidden" name="_method" value="put">`)
		}
		if v, ok := attrs["return_to"]; ok {
			fmt.Fprintf(&b, `<input type="hidden" name="return_to" value="%s">`, attr(v))
		}
		if _, err := io.WriteString(w, b.String()); err != nil {
			return err
		}
		old := ctx.Get("form")
		form := st.formObject(typ, id)
		if typ == "customer_address" {
			form = st.addressFormObject(addressID, obj)
		}
		ctx.Set("form", form)
		err = ctx.RenderChildren(w)
		ctx.Set("form", old)
		if err != nil {
			return err
		}
		_, err = io.WriteString(w, "</form>")
		return err
	}, nil
}

// addressIDOf is the id of the address a customer_address form edits, or
// "new" for a form that adds one.
func addressIDOf(typ string, object any) string {
	if typ != "customer_address" {
		return ""
	}
	if m, ok := object.(map[string]any); ok {
		if id, ok := toInt(m["id"]); ok && id > 0 {
			return strconv.Itoa(id)
		}
	}
	return "new"
}

// addressFields are the fields of a customer_address form object, filled
// from the address it edits.
var addressFields = []string{"first_name", "last_name", "company", "address1", "address2", "city", "province",
	"province_code", "country", "country_code", "zip", "phone"}

// addressFormObject is the `form` object of a customer_address form, as
// Shopify's: its id is the address's ("new" for a new one), its fields
// hold the address's values (or the values just posted to it), and
// set_as_default_checkbox is the checkbox for address[default].
func (st *state) addressFormObject(addressID string, object any) map[string]any {
	m, _ := object.(map[string]any)
	f := st.formObject("customer_address", addressID)
	for _, k := range addressFields {
		if _, posted := f[k]; posted {
			continue
		}
		if v, ok := m[k]; ok && v != nil {
			f[k] = v
		} else {
			f[k] = ""
		}
	}
	checked := ""
	if d, ok := m["default"].(bool); ok && d {
		checked = " checked"
	}
	f["set_as_default_checkbox"] = fmt.Sprintf(`<input type="checkbox" id="address_default_address_%s" name="address[default]" value="1"%s>`, addressID, checked)
	return f
}

// formObject is the `form` object inside a form tag.
func (st *state) formObject(typ, id string) map[string]any {
	f := map[string]any{"id": id, "errors": nil, "posted_successfully?": false, "posted_successfully": false}
	r := st.opts.Form
	if r == nil || r.Type != typ || (r.ID != "" && r.ID != id) {
		return f
	}
	for k, v := range r.Values {
		if identifier.MatchString(k) {
			f[k] = Untrusted(v)
		}
	}
	f["posted_successfully?"] = r.PostedSuccessfully
	f["posted_successfully"] = r.PostedSuccessfully
	if len(r.Errors) > 0 {
		f["errors"] = newFormErrors(r.Errors)
	}
	return f
}

// formErrors is form.errors: it iterates over the field names, and has
// messages and translated_fields maps, as Shopify's.
type formErrors struct {
	fields   []string
	messages map[string]any
}

func newFormErrors(m map[string]string) *formErrors {
	fe := &formErrors{messages: map[string]any{}}
	for k, v := range m {
		fe.fields = append(fe.fields, k)
		fe.messages[k] = v
	}
	sort.Strings(fe.fields)
	return fe
}

func (fe *formErrors) Len() int                  { return len(fe.fields) }
func (fe *formErrors) Index(i int) any           { return fe.fields[i] }
func (fe *formErrors) Interface() any            { return fe }
func (fe *formErrors) Int() int                  { return len(fe.fields) }
func (fe *formErrors) Equal(o values.Value) bool { return o.Interface() == any(fe) }
func (fe *formErrors) Less(values.Value) bool    { return false }
func (fe *formErrors) Test() bool                { return true }
func (fe *formErrors) Format(f fmt.State, _ rune) {
	_, _ = io.WriteString(f, strings.Join(fe.fields, ", "))
}
func (fe *formErrors) Contains(o values.Value) bool {
	_, ok := fe.messages[fmt.Sprint(plain(o.Interface()))]
	return ok
}
func (fe *formErrors) IndexValue(values.Value) values.Value { return values.ValueOf(nil) }
func (fe *formErrors) PropertyValue(k values.Value) values.Value {
	switch k.Interface() {
	case "messages":
		return values.ValueOf(fe.messages)
	case "translated_fields":
		t := make(map[string]any, len(fe.fields))
		for _, f := range fe.fields {
			t[f] = strings.ReplaceAll(f, "_", " ")
		}
		return values.ValueOf(t)
	case "size":
		return values.ValueOf(len(fe.fields))
	}
	return values.ValueOf(nil)
}

var paginateArgs = regexp.MustCompile(`^\s*([A-Za-z_][\w-]*(?:\.[A-Za-z_][\w-]*)*)\s+by\s+([^,]+?)\s*(?:,\s*window_size\s*:\s*(\d+))?\s*$`)

// maxPageSize is the largest page paginate shows, as Shopify's.
const maxPageSize = 250

// paginateCompiler is {% paginate list by n %}: the storefront hands the
// whole list, or a Pager, and RenderOptions.Page picks the page. Inside
// the block the list's path yields only that page's items, and `paginate`
// describes the pages.
func paginateCompiler(node render.BlockNode) (tagFunc, error) {
	m := paginateArgs.FindStringSubmatch(node.Args)
	if m == nil {
		return nil, fmt.Errorf("expected paginate object.list by page_size, got %q", node.Args)
	}
	path := strings.Split(m[1], ".")
	list, err := expressions.Parse(m[1])
	if err != nil {
		return nil, err
	}
	size, err := expressions.Parse(m[2])
	if err != nil {
		return nil, err
	}
	windowSize := 2
	if m[3] != "" {
		windowSize, _ = strconv.Atoi(m[3])
	}
	return func(w io.Writer, ctx render.Context) error {
		st := stateOf(ctx)
		if err := st.check(); err != nil {
			return err
		}
		v, err := ctx.Evaluate(list)
		if err != nil {
			return err
		}
		sv, err := ctx.Evaluate(size)
		if err != nil {
			return err
		}
		per, ok := toInt(sv)
		if !ok || per < 1 {
			return ctx.Errorf("paginate page size must be a positive number, got %v", sv)
		}
		per = min(per, maxPageSize)
		page := max(st.opts.Page, 1)
		offset := (page - 1) * per
		var total int
		var items []any
		if p, ok := v.(Pager); ok {
			total = p.Count()
			if offset < total {
				if items, err = p.Page(st.ctx, offset, per); err != nil {
					return fmt.Errorf("paginate %s: %w", m[1], err)
				}
			}
		} else {
			s, err := st.toSeq(v)
			if err != nil {
				return err
			}
			total = s.Len()
			for i := offset; i < total && i < offset+per; i++ {
				items = append(items, s.Index(i))
			}
		}
		if items == nil {
			items = []any{}
		}
		root := ctx.Get(path[0])
		paged, err := replacePath(root, path[1:], items)
		if err != nil {
			return ctx.Errorf("paginate %s: %v", m[1], err)
		}
		oldPaginate := ctx.Get("paginate")
		ctx.Set(path[0], paged)
		ctx.Set("paginate", st.paginateObject(page, per, total, windowSize))
		err = ctx.RenderChildren(w)
		ctx.Set(path[0], root)
		ctx.Set("paginate", oldPaginate)
		return err
	}, nil
}

// replacePath returns a copy of v with the value at path replaced by
// items, copying the maps along the path and sharing the rest.
func replacePath(v any, path []string, items []any) (any, error) {
	if len(path) == 0 {
		return items, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errors.New("the list must be reached through objects (maps)")
	}
	inner, err := replacePath(m[path[0]], path[1:], items)
	if err != nil {
		return nil, err
	}
	out := maps.Clone(m)
	out[path[0]] = inner
	return out, nil
}

func (st *state) pageURL(page int) string {
	if st.opts.PageURL != nil {
		return st.opts.PageURL(page)
	}
	return "?page=" + strconv.Itoa(page)
}

// paginateObject is Shopify's paginate object.
func (st *state) paginateObject(page, per, total, windowSize int) map[string]any {
	pages := int(math.Ceil(float64(total) / float64(per)))
	p := map[string]any{
		"current_page":   page,
		"current_offset": (page - 1) * per,
		"items":          total,
		"page_size":      per,
		"pages":          pages,
		"previous":       nil,
		"next":           nil,
	}
	if page > 1 && page <= pages+1 {
		p["previous"] = map[string]any{"title": "&laquo; Previous", "url": st.pageURL(page - 1), "is_link": true}
	}
	if page < pages {
		p["next"] = map[string]any{"title": "Next &raquo;", "url": st.pageURL(page + 1), "is_link": true}
	}
	parts := []any{}
	gap := false
	for n := 1; n <= pages; n++ {
		near := n == 1 || n == pages || (n >= page-windowSize && n <= page+windowSize)
		if !near {
			if !gap {
				parts = append(parts, map[string]any{"title": "&hellip;", "url": nil, "is_link": false})
				gap = true
			}
			continue
		}
		gap = false
		part := map[string]any{"title": strconv.Itoa(n), "url": st.pageURL(n), "is_link": n != page}
		parts = append(parts, part)
	}
	p["parts"] = parts
	return p
}
