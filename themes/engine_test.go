package themes

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestTags(t *testing.T) {
	vars := map[string]any{"list": []any{1, 2, 3, 4, 5}, "g": "global", "m": map[string]any{"b": 2, "a": 1}}
	tests := []struct{ name, src, want string }{
		{"if elsif else", `{% if 1 > 2 %}a{% elsif 2 > 1 %}b{% else %}c{% endif %}`, "b"},
		{"unless", `{% unless false %}u{% else %}x{% endunless %}`, "u"},
		{"case", `{% case 2 %}{% when 1 %}one{% when 2, 3 %}two{% else %}many{% endcase %}`, "two"},
		{"for with modifiers in Shopify's order", `{% for i in list offset: 1 limit: 3 reversed %}{{ i }}{% endfor %}`, "432"},
		{"for else", `{% for i in empty %}x{% else %}none{% endfor %}`, "none"},
		{"forloop", `{% for i in list limit: 3 %}{{ forloop.index }}/{{ forloop.length }}{% if forloop.last %}!{% endif %} {% endfor %}`, "1/3 2/3 3/3! "},
		{"break and continue", `{% for i in list %}{% if i == 2 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %}`, "13"},
		{"map iteration is sorted", `{% for p in m %}{{ p[0] }}={{ p[1] }};{% endfor %}`, "a=1;b=2;"},
		{"tablerow", `{% tablerow i in list cols: 2 limit: 3 %}{{ i }}{% endtablerow %}`, `<tr class="row1"><td class="col1">1</td><td class="col2">2</td></tr><tr class="row2"><td class="col1">3</td></tr>`},
		{"capture", `{% capture x %}a{{ 1 | plus: 1 }}{% endcapture %}[{{ x }}]`, "[a2]"},
		{"increment and decrement", `{% increment c %}{% increment c %}{% decrement d %}{% decrement d %}`, "01-1-2"},
		{"cycle", `{% for i in list limit: 3 %}{% cycle 'a', 'b' %}{% endfor %}`, "aba"},
		{"comment and raw", `{% comment %}{% if %}{% endcomment %}{% raw %}{{ x }}{% endraw %}`, "{{ x }}"},
		{"inline comment", `a{% # nothing %}b`, "ab"},
		{"echo", `{% echo 'x' | upcase %}`, "X"},
		{"liquid tag", "{% liquid\n  # a comment\n  assign n = 2\n  if n == 2\n    echo 'two'\n  endif\n%}", "two"},
		{"multi-line object", "{{ 'a'\n | upcase\n }}", "A"},
		{"keyword-only filter arguments", `{{ 'x' | image_url: width: 10 }}`, "x"},
		{"render is isolated", `{% assign local = 'L' %}{% render 'show' %}`, "[|global|]"},
		{"render with arguments", `{% render 'show', local: 'arg', x: 3 %}`, "[arg|global|]"},
		{"render with", `{% render 'with' with 'value' %}{% render 'with' with 'v2' as other %}`, "with=value;other=v2;"},
		{"render for", `{% render 'item' for list as n %}`, "1/5 2/5 3/5 4/5 5/5 "},
		{"include shares scope", `{% assign local = 'L' %}{% include 'show' %}{% include 'setter' %}{{ set_by_include }}`, "[L|global|]yes"},
		{"include with", `{% include 'with' with 'v' %}`, "with=v;"},
		{"style and javascript", `{% style %}a{}{% endstyle %}{% javascript %}f(){% endjavascript %}`, "<style data-shopify>a{}</style><script>f()</script>"},
		{"schema is silent", `a{% schema %}{"name": "x"}{% endschema %}b`, "ab"},
		{"template object", `{{ template }}|{{ template.name }}|{{ template.suffix }}`, "index|index|"},
		{"routes", `{{ routes.cart_add_url }} {{ routes.account_login_url }}`, "/cart/add /account/login"},
		{"request page type", `{{ request.page_type }}`, "index"},
		{"settings", `{{ settings.color }} {{ settings.size }} {{ settings.unset }}`, "red 12 "},
		{"static section", `{% section 'banner' %}`, `<div id="shopify-section-banner" class="shopify-section banner-wrap"><p>Configured|3|first:Hi;</p></div>`},
	}
	th, err := FromMap(map[string][]byte{
		"layout/theme.liquid":         []byte("{{ content_for_layout }}"),
		"templates/index.liquid":      []byte("{% layout none %}{{ body }}"),
		"snippets/show.liquid":        []byte("[{{ local }}|{{ g }}|{{ x_unset }}]"),
		"snippets/with.liquid":        []byte("{% if with %}with={{ with }};{% endif %}{% if other %}other={{ other }};{% endif %}"),
		"snippets/item.liquid":        []byte("{{ n }}/{{ forloop.length }} "),
		"snippets/setter.liquid":      []byte("{% assign set_by_include = 'yes' %}"),
		"sections/banner.liquid":      []byte(`<p>{{ section.settings.title }}|{{ section.settings.count }}|{% for b in section.blocks %}{{ b.id }}:{{ b.settings.text }};{% endfor %}</p>{% schema %}{"name": "Banner", "class": "banner-wrap", "settings": [{"id": "title", "type": "text", "default": "Default"}, {"id": "count", "type": "number", "default": 3}], "blocks": [{"type": "line", "settings": [{"id": "text", "type": "text", "default": "Hi"}]}]}{% endschema %}`),
		"config/settings_schema.json": []byte(`[{"name": "theme_info", "theme_name": "T"}, {"name": "G", "settings": [{"id": "color", "type": "color", "default": "blue"}, {"id": "size", "type": "range", "default": 12}]}]`),
		"config/settings_data.json":   []byte(`{"current": "P", "presets": {"P": {"color": "red", "sections": {"banner": {"type": "banner", "settings": {"title": "Configured"}, "blocks": {"first": {"type": "line", "settings": {}}}, "block_order": ["first"]}}}}}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case gets its own template through a one-off theme file.
			files := th.Files()
			files["templates/index.liquid"] = []byte("{% layout none %}" + tc.src)
			one, err := FromMap(files)
			if err != nil {
				t.Fatalf("FromMap(%q) = %v", tc.src, err)
			}
			out, err := one.Render(context.Background(), "index", vars, RenderOptions{})
			if err != nil {
				t.Fatalf("Render(%q) = %v", tc.src, err)
			}
			if string(out) != tc.want {
				t.Errorf("Render(%q) = %q, want %q", tc.src, out, tc.want)
			}
		})
	}
}

func TestLayoutsAndJSONTemplates(t *testing.T) {
	th, err := FromMap(map[string][]byte{
		"layout/theme.liquid":              []byte("<theme>{{ content_for_layout }}</theme>"),
		"layout/alt.liquid":                []byte("<alt>{{ content_for_layout }}</alt>"),
		"templates/page.liquid":            []byte("page"),
		"templates/page.alt.liquid":        []byte("{% layout 'alt' %}alt page"),
		"templates/page.bare.liquid":       []byte("{% layout none %}bare"),
		"templates/page.gone.liquid":       []byte("{% layout 'gone' %}x"),
		"templates/index.json":             []byte(`/* comment */ {"sections": {"b": {"type": "text", "settings": {"t": "second"}}, "a": {"type": "text"}, "off": {"type": "text", "disabled": true}}, "order": ["a", "b", "off"]}`),
		"templates/product.json":           []byte(`{"layout": false, "sections": {"m": {"type": "text"}}}`),
		"templates/customers/login.liquid": []byte("{{ template }} {{ template.directory }} {{ template.name }}"),
		"sections/text.liquid":             []byte(`[{{ section.id }}:{{ section.settings.t }}]{% schema %}{"settings": [{"id": "t", "type": "text", "default": "first"}]}{% endschema %}`),
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ template, want string }{
		{"page", "<theme>page</theme>"},
		{"page.alt", "<alt>alt page</alt>"},
		{"page.bare", "bare"},
		{"index", `<theme><div id="shopify-section-template--a" class="shopify-section">[template--a:first]</div><div id="shopify-section-template--b" class="shopify-section">[template--b:second]</div></theme>`},
		{"product", `<div id="shopify-section-template--m" class="shopify-section">[template--m:first]</div>`},
		{"customers/login", "<theme>customers/login customers login</theme>"},
	}
	for _, tc := range tests {
		out, err := th.Render(context.Background(), tc.template, nil, RenderOptions{})
		if err != nil || string(out) != tc.want {
			t.Errorf("Render(%q) = %q, %v; want %q", tc.template, out, err, tc.want)
		}
	}
	for _, name := range []string{"page.gone", "nope", "../layout/theme", "customers/../../x"} {
		if _, err := th.Render(context.Background(), name, nil, RenderOptions{}); !errors.Is(err, ErrNotFound) {
			t.Errorf("Render(%q) = %v, want ErrNotFound", name, err)
		}
	}
}

type testPager struct {
	items []any
	calls []string
}

func (p *testPager) Count() int { return len(p.items) }
func (p *testPager) Page(_ context.Context, offset, limit int) ([]any, error) {
	p.calls = append(p.calls, strconv.Itoa(offset)+"+"+strconv.Itoa(limit))
	return p.items[offset:min(offset+limit, len(p.items))], nil
}

func TestPaginate(t *testing.T) {
	src := `{% paginate collection.products by 4 %}{% for p in collection.products %}{{ p }},{% endfor %}|{{ paginate.current_page }}/{{ paginate.pages }}|{{ paginate.items }}|{% if paginate.previous %}{{ paginate.previous.url }}{% endif %}|{% if paginate.next %}{{ paginate.next.url }}{% endif %}|{% for part in paginate.parts %}{{ part.title }}{% unless part.is_link %}*{% endunless %} {% endfor %}{% endpaginate %}|{{ collection.products.size }}`
	items := make([]any, 30)
	for i := range items {
		items[i] = i + 1
	}
	tests := []struct {
		page int
		want string
	}{
		{1, "1,2,3,4,|1/8|30||?page=2|1* 2 3 &hellip;* 8 |30"},
		{5, "17,18,19,20,|5/8|30|?page=4|?page=6|1 &hellip;* 3 4 5* 6 7 8 |30"},
		{8, "29,30,|8/8|30|?page=7||1 &hellip;* 6 7 8* |30"},
		{9, "|9/8|30|?page=8||1 &hellip;* 7 8 |30"},
	}
	for _, tc := range tests {
		got := renderString(t, src, map[string]any{"collection": map[string]any{"products": items}}, RenderOptions{Page: tc.page})
		if got != tc.want {
			t.Errorf("page %d: %q, want %q", tc.page, got, tc.want)
		}
	}
	pager := &testPager{items: items}
	got := renderString(t, src, map[string]any{"collection": map[string]any{"products": pager}}, RenderOptions{Page: 2, PageURL: func(n int) string { return "/c?sort=x&page=" + strconv.Itoa(n) }})
	if !strings.HasPrefix(got, "5,6,7,8,|2/8|30|/c?sort=x&amp;page=1|") && !strings.HasPrefix(got, "5,6,7,8,|2/8|30|/c?sort=x&page=1|") {
		t.Errorf("with a Pager: %q", got)
	}
	if len(pager.calls) != 1 || pager.calls[0] != "4+4" {
		t.Errorf("Pager.Page calls = %v, want [4+4]", pager.calls)
	}
	out := renderString(t, `{{ paginate | default_pagination }}`, nil, RenderOptions{})
	if out != "" {
		t.Errorf("default_pagination outside paginate = %q", out)
	}
	out = renderString(t, `{% paginate c.l by 2 %}{{ paginate | default_pagination: next: 'Next', previous: 'Prev' }}{% endpaginate %}`, map[string]any{"c": map[string]any{"l": items[:6]}}, RenderOptions{Page: 2})
	want := `<span class="prev"><a href="?page=1">Prev</a></span> <span class="page"><a href="?page=1">1</a></span> <span class="page current" aria-current="page">2</span> <span class="page"><a href="?page=3">3</a></span> <span class="next"><a href="?page=3">Next</a></span>`
	if out != want {
		t.Errorf("default_pagination = %q, want %q", out, want)
	}
}

func TestFormTag(t *testing.T) {
	tests := []struct {
		src  string
		opts RenderOptions
		want string
	}{
		{`{% form 'product', product, class: 'pf', data-x: 'y' %}in{% endform %}`, RenderOptions{},
			`<form method="post" action="/cart/add" id="product_form_7" accept-charset="UTF-8" enctype="multipart/form-data" class="pf" data-x="y"><input type="hidden" name="form_type" value="product"><input type="hidden" name="utf8" value="✓">in</form>`},
		{`{% form 'customer_login', return_to: '/x' %}{% endform %}`, RenderOptions{CSRFToken: "tok\"en"},
			`<form method="post" action="/account/login" id="customer_login" accept-charset="UTF-8"><input type="hidden" name="form_type" value="customer_login"><input type="hidden" name="utf8" value="✓"><input type="hidden" name="authenticity_token" value="tok&#34;en"><input type="hidden" name="return_to" value="/x"></form>`},
		{`{% form 'search' %}{% endform %}`, RenderOptions{CSRFToken: "tok"},
			`<form method="get" action="/search" id="search_form" accept-charset="UTF-8"><input type="hidden" name="form_type" value="search"><input type="hidden" name="utf8" value="✓"></form>`},
		{`{% form 'create_customer' %}{% endform %}`, RenderOptions{}, `action="/account"`},
		{`{% form 'customer_address', address %}{% endform %}`, RenderOptions{}, `action="/account/addresses/12"`},
		{`{% form 'contact' %}{% if form.posted_successfully? %}sent{% endif %}{% endform %}`, RenderOptions{Form: &FormResult{Type: "contact", PostedSuccessfully: true}}, ">sent</form>"},
		{`{% form 'customer_login' %}{% if form.errors %}{% for f in form.errors %}{{ f }}={{ form.errors.messages[f] }};{% endfor %}{{ form.errors | default_errors }}{% endif %}{{ form.email }}{% endform %}`,
			RenderOptions{Form: &FormResult{Type: "customer_login", Errors: map[string]string{"email": "is invalid", "form": "Try again"}, Values: map[string]string{"email": "a@b"}}},
			`email=is invalid;form=Try again;<div class="errors" role="alert"><ul><li>Email is invalid</li><li>Try again</li></ul></div>a@b</form>`},
		{`{% form 'create_customer' %}{% if form.errors %}x{% endif %}{{ form.email }}{% endform %}`,
			RenderOptions{Form: &FormResult{Type: "customer_login", Errors: map[string]string{"email": "bad"}, Values: map[string]string{"email": "a@b"}}}, `value="✓"></form>`},
	}
	vars := map[string]any{"product": map[string]any{"id": 7}, "address": map[string]any{"id": 12}}
	for _, tc := range tests {
		got := renderString(t, tc.src, vars, tc.opts)
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s = %q, want it to contain %q", tc.src, got, tc.want)
		}
	}
	if _, err := FromMap(map[string][]byte{"layout/theme.liquid": []byte("x"), "templates/index.liquid": []byte(`{% form 'launch_missiles' %}{% endform %}`)}); err == nil || !strings.Contains(err.Error(), "unknown form type") {
		t.Errorf("unknown form type: %v", err)
	}
}

func TestErrorsNameFileAndLine(t *testing.T) {
	_, err := FromMap(map[string][]byte{
		"layout/theme.liquid":       []byte("{{ content_for_layout }}"),
		"templates/index.liquid":    []byte("line 1\n{{ 'multi\n line' }}\n{% if %}\n"),
		"templates/product.liquid":  []byte("{{ x | }}"),
		"sections/s.liquid":         []byte("ok\n{% schema %}\n{ bad json }\n{% endschema %}"),
		"templates/cart.json":       []byte(`{"sections": {"m": {"type": "missing"}}}`),
		"snippets/fine.liquid":      []byte("fine"),
		"templates/list.liquid":     []byte("\n\n{{\n  'x'\n  | upcase\n}}\n{% unknown_tag %}"),
		"config/settings_data.json": []byte(`{"current": "Nope", "presets": {}}`),
	})
	if err == nil {
		t.Fatal("FromMap of a broken theme = nil error")
	}
	msg := err.Error()
	for _, want := range []string{
		"templates/index.liquid:4: ",
		"templates/product.liquid:1: ",
		"sections/s.liquid:2: invalid schema JSON",
		`templates/cart.json: section "m" has type "missing"`,
		`templates/list.liquid:7: undefined tag "unknown_tag"`,
		`config/settings_data.json: current preset "Nope" is not in presets`,
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("FromMap error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Contains(msg, "fine.liquid") {
		t.Errorf("FromMap error blames a fine file:\n%s", msg)
	}

	th, err := FromMap(map[string][]byte{
		"layout/theme.liquid":    []byte("{{ content_for_layout }}"),
		"templates/index.liquid": []byte("a\nb\n{% render 'broken' %}"),
		"snippets/broken.liquid": []byte("one\ntwo\n{{ 'x' | divided_by: 0 }}"),
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = th.Render(context.Background(), "index", nil, RenderOptions{})
	var located *Error
	if !errors.As(err, &located) || located.File != "snippets/broken.liquid" || located.Line != 3 {
		t.Errorf("Render error = %#v, want snippets/broken.liquid:3", err)
	}
	_, err = th.Render(context.Background(), "index", map[string]any{}, RenderOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "snippets/broken.liquid:3: ") {
		t.Errorf("Render error text = %v", err)
	}
}

func TestThemeAccessors(t *testing.T) {
	th := themeWith(t, "x")
	if _, err := th.Asset("missing.css"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Asset(missing.css) = %v", err)
	}
	files := th.Files()
	files["templates/index.liquid"][0] = 'y'
	if out, _ := th.Render(context.Background(), "index", nil, RenderOptions{}); string(out) != "<main>x</main>" {
		t.Errorf("Files() shares memory with the theme: %q", out)
	}
	if th.Settings() == nil {
		t.Errorf("Settings() = nil")
	}
}
