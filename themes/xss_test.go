package themes

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

var xssPayloads = []string{
	`<script>alert(1)</script>`,
	`"><img src=x onerror=alert(1)>`,
	`'><svg onload=alert(1)>`,
}

// assertNoInjection fails when a payload reached the page as markup.
func assertNoInjection(t *testing.T, where string, page []byte, payload string) {
	t.Helper()
	s := string(page)
	for _, raw := range []string{payload, "<script>alert", "<img src=x", "<svg onload"} {
		if strings.Contains(s, raw) {
			i := strings.Index(s, raw)
			t.Errorf("%s: output contains %q: …%s…", where, raw, s[max(0, i-80):min(len(s), i+80)])
		}
	}
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("%s: html.Parse: %v", where, err)
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			for _, a := range n.Attr {
				if strings.HasPrefix(a.Key, "on") {
					t.Errorf("%s: <%s> has an event handler attribute %s=%q", where, n.Data, a.Key, a.Val)
				}
			}
			if n.Data == "script" && attrOf(n, "src") == "" && attrOf(n, "type") != "application/json" {
				t.Errorf("%s: inline <script> element", where)
			}
			if n.Data == "img" && attrOf(n, "src") == "x" {
				t.Errorf("%s: injected <img>", where)
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}

// Shopper text reaches every built-in template that echoes it escaped.
func TestBuiltinThemesEscapeShopperText(t *testing.T) {
	themes := loadBuiltins(t)
	for _, payload := range xssPayloads {
		p := Untrusted(payload)
		cases := []struct {
			template string
			vars     map[string]any
			opts     RenderOptions
		}{
			{"search", withVars(pageVars("search"), map[string]any{"search": map[string]any{"terms": p, "performed": true, "results_count": 1, "results": testProducts(1)}}), RenderOptions{}},
			{"search", withVars(pageVars("search"), map[string]any{"search": map[string]any{"terms": p, "performed": true, "results_count": 0, "results": []any{}}}), RenderOptions{}},
			{"cart", withVars(pageVars("cart"), map[string]any{"cart": testCart(payload, payload)}), RenderOptions{}},
			{"cart", withVars(pageVars("cart"), map[string]any{"cart": func() map[string]any {
				c := testCart("note", "x")
				c["attributes"] = UntrustedMap(map[string]string{payload: payload, "Gift message": payload})
				return c
			}()}), RenderOptions{}},
			{"customers/account", withVars(pageVars("customers/account"), map[string]any{"customer": testCustomer(payload, payload)}), RenderOptions{}},
			{"customers/order", withVars(pageVars("customers/order"), map[string]any{"customer": testCustomer(payload, payload), "order": func() map[string]any {
				o := testOrder()
				o["shipping_address"] = testAddress(payload, payload)
				o["billing_address"] = testAddress(payload, payload)
				return o
			}()}), RenderOptions{}},
			{"customers/login", pageVars("customers/login"), RenderOptions{Form: &FormResult{Type: "customer_login", Errors: map[string]string{"form": payload}, Values: map[string]string{"email": payload}}}},
			{"customers/register", pageVars("customers/register"), RenderOptions{Form: &FormResult{Type: "create_customer", Errors: map[string]string{"email": payload}, Values: map[string]string{"first_name": payload, "last_name": payload, "email": payload}}}},
		}
		for name, th := range themes {
			for _, tc := range cases {
				out, err := th.Render(context.Background(), tc.template, tc.vars, tc.opts)
				if err != nil {
					t.Fatalf("%s: Render(%q) = %v", name, tc.template, err)
				}
				assertNoInjection(t, name+"/"+tc.template, out, payload)
				if !strings.Contains(string(out), "&lt;") {
					t.Errorf("%s/%s: the payload %q does not appear escaped", name, tc.template, payload)
				}
			}
		}
	}
}

// Whatever a template does with shopper text, it comes out escaped.
func TestShopperTextStaysEscapedThroughFilters(t *testing.T) {
	expressions := []string{
		`{{ q }}`, `{{ q | upcase }}`, `{{ q | downcase }}`, `{{ q | capitalize }}`, `{{ q | append: '!' }}`,
		`{{ '!' | append: q }}`, `{{ q | prepend: '!' }}`, `{{ '!' | prepend: q }}`, `{{ q | split: ' ' | join: ' ' }}`,
		`{{ q | split: '' | join: '' }}`, `{{ q | split: ' ' }}`, `{{ q | split: ' ' | first }}`, `{{ q | split: ' ' | last }}`,
		`{{ q | split: ' ' | reverse | join: ' ' }}`, `{{ q | split: ' ' | sort | join }}`, `{% capture c %}{{ q }}{% endcapture %}{{ c }}`,
		`{% assign a = q %}{{ a }}`, `{{ q | default: 'x' }}`, `{{ nothing | default: q }}`, `{{ q | strip }}`,
		`{{ q | replace: 'a', 'b' }}`, `{{ 'z' | replace: 'z', q }}`, `{{ q | remove: 'a' }}`, `{{ q | truncate: 100 }}`,
		`{{ q | truncatewords: 100 }}`, `{{ q | slice: 0, 100 }}`, `{{ enc | url_decode }}`, `{{ q | newline_to_br }}`,
		`{{ q | json }}`, `{{ q | link_to: '/x' }}`, `{{ '/x' | link_to: q, q }}`, `{{ 'greeting' | t: name: q }}`,
		`{{ q | url_escape }}`, `{{ q | url_param_escape }}`, `{{ q | url_encode }}`, `{{ q | handleize }}`, `{{ q | highlight: q }}`,
		`{% echo q %}`, `{% liquid
echo q | upcase %}`, `{% render 'echo', v: q %}`, `{% include 'echo' with q as v %}`, `{% render 'echo' for list as v %}`,
		`{% for c in list %}{{ c }}{% endfor %}`, `{{ list }}`, `{{ list | join: ', ' }}`, `{{ list | map: 'x' }}`, `{{ attrs }}`,
		`{% for a in attrs %}{{ a[0] }}={{ a[1] }}{% endfor %}`, `{{ attrs[q] }}`, `{{ q | img_tag }}`, `{{ q | image_url | image_tag }}`,
		`{{ q | asset_url }}`, `{{ q | asset_url | stylesheet_tag }}`, `{{ q | asset_url | script_tag }}`, `{{ q | url_for_type }}`,
		`{{ q | link_to_vendor }}`, `{{ q | within: coll }}`, `{{ q | img_url: '100x' }}`, `{{ q | placeholder_svg_tag: q }}`,
		`{% case q %}{% when q %}{{ q }}{% endcase %}`, `{% if q contains '<' %}{{ q }}{% endif %}`,
		`{% form 'contact', class: q, data-x: q, return_to: q %}{{ form.email }}{% endform %}`, `{{ list | where: 'x' | map: 'x' | join }}`,
		`{{ list | concat: list | join }}`, `{{ list | uniq | join }}`, `{{ list | compact | join }}`, `{{ q | escape_once }}`,
		`{{ q | strip_newlines }}`, `{{ q | lstrip | rstrip }}`, `{{ q | remove_first: 'x' | replace_first: 'x', 'y' }}`,
		`{{ q | date: '%Y' }}`, `{{ q | size }}{{ q.size }}`, `{{ q | money }}`, `{{ q | inspect }}`,
	}
	for _, payload := range xssPayloads {
		for _, expr := range expressions {
			th, err := FromMap(map[string][]byte{
				"layout/theme.liquid":     []byte("<!doctype html><title>t</title><main>{{ content_for_layout }}</main>"),
				"templates/index.liquid":  []byte(expr),
				"snippets/echo.liquid":    []byte("{{ v }}"),
				"locales/en.default.json": []byte(`{"greeting": "Hello {{ name }}"}`),
			})
			if err != nil {
				t.Fatalf("FromMap(%s) = %v", expr, err)
			}
			vars := map[string]any{
				"q":     Untrusted(payload),
				"enc":   Untrusted(strings.ReplaceAll(strings.ReplaceAll(payload, "<", "%3C"), ">", "%3E")),
				"list":  []any{Untrusted(payload), map[string]any{"x": Untrusted(payload)}},
				"attrs": UntrustedMap(map[string]string{payload: payload}),
				"coll":  map[string]any{"url": "/collections/c"},
			}
			out, err := th.Render(context.Background(), "index", vars, RenderOptions{Form: &FormResult{Type: "contact", Values: map[string]string{"email": payload}}})
			if err != nil {
				t.Errorf("Render(%s) = %v", expr, err)
				continue
			}
			assertNoInjection(t, expr, out, payload)
		}
	}
}

// Escaping happens once: `| escape` on shopper text is not escaped twice,
// and the merchant's own HTML renders raw.
func TestEscapingHappensOnce(t *testing.T) {
	th := themeWith(t, `{{ q | escape }}|{{ q }}|{{ html }}|{{ q | escape | upcase }}`)
	out, err := th.Render(context.Background(), "index", map[string]any{"q": Untrusted("<b>&"), "html": "<p>Hi</p>"}, RenderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := "<main>&lt;b&gt;&amp;|&lt;b&gt;&amp;|<p>Hi</p>|&LT;B&GT;&AMP;</main>"
	if string(out) != want {
		t.Errorf("Render = %s, want %s", out, want)
	}
}
