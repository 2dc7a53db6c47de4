package themes

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// renderString renders src as a layout-less template.
func renderString(t *testing.T, src string, vars map[string]any, opts RenderOptions) string {
	t.Helper()
	th, err := FromMap(map[string][]byte{
		"layout/theme.liquid":     []byte("{{ content_for_layout }}"),
		"templates/index.liquid":  []byte("{% layout none %}" + src),
		"locales/en.default.json": []byte(`{"cart": {"items": {"zero": "No items", "one": "{{ count }} item", "other": "{{ count }} items"}}, "hello": "Hello, {{ name }}!", "html_text_html": "<b>{{ x }}</b>"}`),
		"locales/fr.json":         []byte(`{"hello": "Bonjour, {{ name }} !"}`),
	})
	if err != nil {
		t.Fatalf("FromMap(%q) = %v", src, err)
	}
	out, err := th.Render(context.Background(), "index", vars, opts)
	if err != nil {
		t.Fatalf("Render(%q) = %v", src, err)
	}
	return string(out)
}

func TestMoneyFilters(t *testing.T) {
	eur := map[string]any{"currency": "EUR", "money_format": "€{{amount_with_comma_separator}}", "money_with_currency_format": "€{{amount_with_comma_separator}} EUR"}
	tests := []struct {
		shop   map[string]any
		amount any
		filter string
		want   string
	}{
		{testShop("USD"), 1999, "money", "$19.99"},
		{testShop("USD"), 123456789, "money", "$1,234,567.89"},
		{testShop("USD"), 5, "money", "$0.05"},
		{testShop("USD"), -1999, "money", "-$19.99"},
		{testShop("USD"), 1999.0, "money", "$19.99"},
		{testShop("USD"), "1999", "money", "$19.99"},
		{testShop("USD"), nil, "money", ""},
		{testShop("USD"), 1999, "money_with_currency", "$19.99 USD"},
		{testShop("USD"), 1999, "money_without_currency", "19.99"},
		{testShop("USD"), 2000, "money_without_trailing_zeros", "$20"},
		{testShop("USD"), 1999, "money_without_trailing_zeros", "$19.99"},
		{eur, 123456, "money", "€1.234,56"},
		{eur, 123456, "money_with_currency", "€1.234,56 EUR"},
		{eur, 123456, "money_without_currency", "1.234,56"},
		{testShop("JPY"), 1200, "money", "¥1,200"},
		{testShop("JPY"), 1200, "money_with_currency", "¥1,200 JPY"},
		{testShop("JPY"), 1200, "money_without_currency", "1,200"},
		{map[string]any{"currency": "JPY"}, 1200, "money", "¥1,200"},
		{map[string]any{"currency": "EUR"}, 1999, "money", "19,99 €"},
		{map[string]any{"currency": "GBP"}, 1999, "money", "£19.99"},
		{map[string]any{"currency": "BHD"}, 1005, "money", "1.005 BHD"},
		{nil, 1999, "money", "$19.99"},
	}
	for _, tc := range tests {
		src := fmt.Sprintf("{{ amount | %s }}", tc.filter)
		got := renderString(t, src, map[string]any{"shop": tc.shop, "amount": tc.amount}, RenderOptions{})
		if got != tc.want {
			t.Errorf("%v | %s with shop %v = %q, want %q", tc.amount, tc.filter, tc.shop, got, tc.want)
		}
	}
}

func TestTranslateFilter(t *testing.T) {
	tests := []struct {
		src    string
		locale string
		want   string
	}{
		{`{{ 'cart.items' | t: count: 0 }}`, "", "No items"},
		{`{{ 'cart.items' | t: count: 1 }}`, "", "1 item"},
		{`{{ 'cart.items' | t: count: 3 }}`, "", "3 items"},
		{`{{ 'hello' | t: name: 'Ada' }}`, "", "Hello, Ada!"},
		{`{{ 'hello' | t: name: 'Ada' }}`, "fr", "Bonjour, Ada !"},
		{`{{ 'hello' | t: name: 'Ada' }}`, "fr-CA", "Bonjour, Ada !"},
		{`{{ 'cart.items' | t: count: 2 }}`, "fr", "2 items"},
		{`{{ 'hello' | t: name: n }}`, "", "Hello, &lt;i&gt;!"},
		{`{{ 'html_text_html' | t: x: 'y' }}`, "", "<b>y</b>"},
		{`{{ 'no.such.key' | t }}`, "", "translation missing: en.no.such.key"},
		{`{{ 'hello' | t }}`, "", "Hello, {{ name }}!"},
	}
	for _, tc := range tests {
		got := renderString(t, tc.src, map[string]any{"n": Untrusted("<i>")}, RenderOptions{Locale: tc.locale})
		if got != tc.want {
			t.Errorf("%s in %q = %q, want %q", tc.src, tc.locale, got, tc.want)
		}
	}
}

func TestURLFilters(t *testing.T) {
	opts := RenderOptions{
		AssetURL: func(name string) string { return "/cdn/t/7/" + name + "?v=abc" },
		ImageURL: func(src string, w, h int) string { return fmt.Sprintf("%s?width=%d&height=%d", src, w, h) },
	}
	img := map[string]any{"src": "/files/a.jpg", "alt": "A cup", "width": 2000, "height": 1000}
	vars := map[string]any{"img": img, "product": map[string]any{"featured_image": img, "url": "/products/cup"},
		"coll": map[string]any{"url": "/collections/cups", "handle": "cups"}}
	tests := []struct{ src, want string }{
		{`{{ img | image_url: width: 400 }}`, "/files/a.jpg?width=400&amp;height=0"},
		{`{{ img | image_url: width: 400, height: 300 }}`, "/files/a.jpg?width=400&amp;height=300"},
		{`{{ product | image_url: width: 100 }}`, "/files/a.jpg?width=100&amp;height=0"},
		{`{{ img | image_url: width: 400 | image_tag }}`, `<img src="/files/a.jpg?width=400&amp;height=0" alt="A cup" width="400" height="200">`},
		{`{{ img | image_url: width: 400 | image_tag: alt: 'Tea', loading: 'lazy', class: 'x' }}`, `<img src="/files/a.jpg?width=400&amp;height=0" alt="Tea" width="400" height="200" class="x" loading="lazy">`},
		{`{{ img | img_url: '300x' }}`, "/files/a.jpg?width=300&height=0"},
		{`{{ img | img_url: 'x200' }}`, "/files/a.jpg?width=0&height=200"},
		{`{{ img | img_url: 'medium' }}`, "/files/a.jpg?width=240&height=240"},
		{`{{ img | img_url: 'master' }}`, "/files/a.jpg?width=0&height=0"},
		{`{{ 'theme.css' | asset_url }}`, "/cdn/t/7/theme.css?v=abc"},
		{`{{ 'theme.css' | asset_url | stylesheet_tag }}`, `<link href="/cdn/t/7/theme.css?v=abc" rel="stylesheet" type="text/css" media="all">`},
		{`{{ 'theme.js' | asset_url | script_tag }}`, `<script src="/cdn/t/7/theme.js?v=abc"></script>`},
		{`{{ 'logo.png' | asset_img_url: '200x' }}`, "/cdn/t/7/logo.png?v=abc?width=200&height=0"},
		{`{{ 'Tea & Cups' | link_to: '/a?b=1&c=2', 'Title' }}`, `<a href="/a?b=1&amp;c=2" title="Title">Tea & Cups</a>`},
		{`{{ 'Green Tea' | url_for_type }}`, "/collections/types?q=Green+Tea"},
		{`{{ 'Uji' | link_to_vendor }}`, `<a href="/collections/vendors?q=Uji" title="Uji">Uji</a>`},
		{`{{ product.url | within: coll }}`, "/collections/cups/products/cup"},
		{`{{ 'a b/c?d' | url_escape }}`, "a%20b/c?d"},
		{`{{ 'a b/c?d&e' | url_param_escape }}`, "a%20b%2Fc%3Fd%26e"},
	}
	for _, tc := range tests {
		if got := renderString(t, tc.src, vars, opts); got != tc.want {
			t.Errorf("%s = %q, want %q", tc.src, got, tc.want)
		}
	}
	if got := renderString(t, `{{ 'a.css' | asset_url }}|{{ img | image_url: width: 5 }}`, vars, RenderOptions{}); got != "/assets/a.css|/files/a.jpg" {
		t.Errorf("default URL builders = %q", got)
	}
}

func TestTextFilters(t *testing.T) {
	when := time.Date(2026, 3, 14, 9, 5, 0, 0, time.UTC)
	vars := map[string]any{"when": when, "data": map[string]any{"a": []any{1, "x'<y>"}, "q": Untrusted("</script>")}}
	tests := []struct{ src, want string }{
		{`{{ 'Hello, World! Größe 2' | handleize }}`, "hello-world-gr-e-2"},
		{`{{ '  --Already-Handle--  ' | handle }}`, "already-handle"},
		{`{{ when | date: '%Y-%m-%d %H:%M' }}`, "2026-03-14 09:05"},
		{`{{ when | date: '%B %-d, %Y' }}`, "March 14, 2026"},
		{`{{ '2026-03-14T09:05:00Z' | date: '%b %d' }}`, "Mar 14"},
		{`{{ nothing | date: '%Y' }}`, ""},
		{`{{ 3 | pluralize: 'item', 'items' }} {{ 1 | pluralize: 'item', 'items' }}`, "items item"},
		{`{{ data | json }}`, `{"a":[1,"x\u0027\u003cy\u003e"],"q":"\u003c/script\u003e"}`},
		{`{{ nothing | default: 'fallback' }}`, "fallback"},
		{`{{ '<b>x</b>' | escape }}`, "&lt;b&gt;x&lt;/b&gt;"},
		{`{{ 'Green tea is green' | highlight: 'green' }}`, `<strong class="highlight">Green</strong> tea is <strong class="highlight">green</strong>`},
		{`{{ 'x' | placeholder_svg_tag: 'ph' }}`, `<svg class="ph"`},
	}
	for _, tc := range tests {
		got := renderString(t, tc.src, vars, RenderOptions{})
		if tc.src == `{{ 'x' | placeholder_svg_tag: 'ph' }}` {
			got = got[:len(tc.want)]
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", tc.src, got, tc.want)
		}
	}
}
