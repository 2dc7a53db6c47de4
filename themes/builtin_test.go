package themes

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

func loadBuiltins(t testing.TB) map[string]*Theme {
	t.Helper()
	out := map[string]*Theme{}
	for _, b := range Builtin() {
		th, err := New(b.FS)
		if err != nil {
			t.Fatalf("New(%s) = %v", b.Name, err)
		}
		out[b.Name] = th
	}
	return out
}

// checkHTML parses a page and checks the structure every page must have:
// one <main>, one <title>, one <h1>, a label for every form field,
// unique ids.
func checkHTML(t *testing.T, page []byte) {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatalf("html.Parse: %v", err)
	}
	count := map[string]int{}
	ids := map[string]int{}
	labelFor := map[string]bool{}
	var fields []*html.Node
	var walk func(n *html.Node, inLabel bool)
	walk = func(n *html.Node, inLabel bool) {
		if n.Type == html.ElementNode {
			count[n.Data]++
			if id := attrOf(n, "id"); id != "" {
				ids[id]++
			}
			switch n.Data {
			case "label":
				labelFor[attrOf(n, "for")] = true
				inLabel = true
			case "input", "select", "textarea":
				typ := attrOf(n, "type")
				if typ != "hidden" && typ != "submit" && typ != "button" && !inLabel && attrOf(n, "aria-label") == "" {
					fields = append(fields, n)
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c, inLabel)
		}
	}
	walk(doc, false)
	if count["main"] != 1 {
		t.Errorf("page has %d <main> elements, want 1", count["main"])
	}
	if count["title"] != 1 {
		t.Errorf("page has %d <title> elements, want 1", count["title"])
	}
	if count["h1"] != 1 {
		t.Errorf("page has %d <h1> elements, want 1", count["h1"])
	}
	for _, f := range fields {
		if id := attrOf(f, "id"); id == "" || !labelFor[id] {
			t.Errorf("<%s name=%q id=%q> has no label", f.Data, attrOf(f, "name"), id)
		}
	}
	for id, n := range ids {
		if n > 1 {
			t.Errorf("id %q is used %d times", id, n)
		}
	}
}

func attrOf(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func TestBuiltinThemesRenderEveryTemplate(t *testing.T) {
	themes := loadBuiltins(t)
	soldOut := testProduct()
	for _, v := range soldOut["variants"].([]any) {
		v.(map[string]any)["available"] = false
	}
	soldOut["available"] = false
	lowStock := testProduct()
	lowStock["selected_or_first_available_variant"] = lowStock["variants"].([]any)[1]
	jpy := testProduct()
	jpy["price"], jpy["price_min"], jpy["price_max"] = 1200, 1200, 1200
	jpy["compare_at_price"] = nil
	for _, v := range jpy["variants"].([]any) {
		v.(map[string]any)["price"], v.(map[string]any)["compare_at_price"] = 1200, nil
	}
	jpy["selected_or_first_available_variant"] = jpy["variants"].([]any)[0]

	tests := []struct {
		name     string
		template string
		vars     map[string]any
		opts     RenderOptions
		want     []string
		notWant  []string
	}{
		{name: "index", template: "index", vars: pageVars("index"),
			want: []string{"Home page", "Tea No. 1", "/products/tea-1", "$5.00", `href="/collections/all-teas"`, "Shipping policy", "3 items in cart"}},
		{name: "product", template: "product", vars: pageVars("product"),
			want: []string{"<h1", "Sencha Green Tea", "$19.99", "$24.99", "Size", "Grade", "50g", "100g", "Standard", "Premium",
				`action="/cart/add"`, `name="form_type" value="product"`, `name="utf8" value="✓"`, `name="id"`, `value="101" selected`,
				"100g / Standard &ndash; $29.99 (Sold out)", "<strong>bright</strong>", "/files/tea-2.jpg", "Add to cart", "In stock"},
			notWant: []string{"Only"}},
		{name: "product low stock", template: "product", vars: withVars(pageVars("product"), map[string]any{"product": lowStock}),
			want: []string{"Only 3 left", `value="102" selected`}},
		{name: "product sold out", template: "product", vars: withVars(pageVars("product"), map[string]any{"product": soldOut}),
			want: []string{"Sold out", " disabled>"}, notWant: []string{"Add to cart"}},
		{name: "product in yen", template: "product", vars: withVars(pageVars("product"), map[string]any{"product": jpy, "shop": testShop("JPY")}),
			want: []string{"¥1,200"}, notWant: []string{"$", "¥12.00"}},
		{name: "collection page 2", template: "collection", vars: pageVars("collection"), opts: RenderOptions{Page: 2},
			want: []string{"All Teas", "Every tea we sell", "30 products", "Tea No. 13", "Tea No. 24", `href="?page=1"`, `href="?page=3"`,
				`aria-current="page">2<`, `<option value="price-ascending" selected>Price, low to high</option>`, `name="sort_by"`},
			notWant: []string{"Tea No. 12<", "Tea No. 25<"}},
		{name: "collection page 1", template: "collection", vars: pageVars("collection"),
			want: []string{"Tea No. 1<", "Tea No. 12<", `href="?page=2"`}, notWant: []string{"Tea No. 13<"}},
		{name: "list-collections", template: "list-collections", vars: pageVars("list-collections"),
			want: []string{"All Teas", "/collections/all-teas", "30"}},
		{name: "search", template: "search", vars: pageVars("search"),
			want: []string{`action="/search"`, `name="q"`, `value="tea"`, "3 results for “tea”", "Tea No. 1", "About our tea", "We love tea."}},
		{name: "empty search", template: "search", vars: withVars(pageVars("search"), map[string]any{"search": map[string]any{"terms": Untrusted("zzz"), "performed": true, "results": []any{}, "results_count": 0}}),
			want: []string{"No results for “zzz”"}},
		{name: "search form only", template: "search", vars: withVars(pageVars("search"), map[string]any{"search": map[string]any{"terms": Untrusted(""), "performed": false}}),
			want: []string{`name="q"`}, notWant: []string{"results for"}},
		{name: "cart", template: "cart", vars: pageVars("cart"),
			want: []string{`action="/cart"`, "Sencha Green Tea", "50g / Premium", "$39.98", "$64.97", "Please gift wrap", "Happy birthday",
				`name="updates[]"`, `value="2"`, "/cart/change?line=1&amp;quantity=0", `formaction="/checkout"`, `name="note"`}},
		{name: "empty cart", template: "cart", vars: withVars(pageVars("cart"), map[string]any{"cart": emptyCart()}),
			want: []string{"Your cart is empty."}, notWant: []string{`name="checkout"`}},
		{name: "page", template: "page", vars: pageVars("page"), want: []string{"About us", "<em>2009</em>"}},
		{name: "404", template: "404", vars: pageVars("404"), want: []string{"Page not found"}},
		{name: "login", template: "customers/login", vars: pageVars("customers/login"),
			want: []string{`action="/account/login"`, `value="customer_login"`, `name="customer[email]"`, `name="customer[password]"`, `value="recover_customer_password"`}},
		{name: "login failed", template: "customers/login", vars: pageVars("customers/login"),
			opts: RenderOptions{Form: &FormResult{Type: "customer_login", Errors: map[string]string{"form": "Incorrect email or password."}, Values: map[string]string{"email": "ada@example.com"}}},
			want: []string{`class="errors"`, "Incorrect email or password.", `value="ada@example.com"`}},
		{name: "register", template: "customers/register", vars: pageVars("customers/register"),
			want: []string{`action="/account"`, `value="create_customer"`, `name="customer[first_name]"`}},
		{name: "reset password", template: "customers/reset_password",
			vars: withVars(pageVars("customers/reset_password"), map[string]any{"reset": map[string]any{"customer_id": 7, "token": Untrusted(`"><b>x`)}}),
			want: []string{`action="/account"`, `value="reset_customer_password"`, `name="customer_id" value="7"`, `&#34;&gt;&lt;b&gt;x`, `name="customer[password_confirmation]"`}},
		{name: "account", template: "customers/account", vars: withVars(pageVars("customers/account"), nil),
			want: []string{"Ada Lovelace", "#1001", "$48.18", "March 14, 2026", "1 Main St", "/account/logout", "Paid"}},
		{name: "addresses", template: "customers/addresses", vars: withVars(pageVars("customers/account"), map[string]any{"customer": addressBook()}),
			opts: RenderOptions{CSRFToken: "tok"},
			want: []string{`action="/account/addresses"`, `id="address_form_new"`, `action="/account/addresses/8"`, `id="address_form_8"`,
				`name="_method" value="put"`, `name="_method" value="delete"`, `name="authenticity_token" value="tok"`, `name="address[address1]"`,
				`value="2 Side St"`, `id="address_default_address_8" name="address[default]" value="1">`, `id="address_default_address_new"`, "Default"},
			notWant: []string{`id="address_default_address_7"`, `id="DeleteAddress_7"`}},
		{name: "addresses refused", template: "customers/addresses", vars: withVars(pageVars("customers/account"), map[string]any{"customer": addressBook()}),
			opts: RenderOptions{Form: &FormResult{Type: "customer_address", ID: "8", Errors: map[string]string{"zip": "is too long"}, Values: map[string]string{"zip": `"><b>x`}}},
			want: []string{"is too long", `value="&#34;&gt;&lt;b&gt;x"`}, notWant: []string{"<b>x"}},
		{name: "order", template: "customers/order", vars: pageVars("customers/order"),
			want: []string{"Order #1001", "SEN-101", "$39.98", "$5.00", "$3.20", "$48.18 USD", "Portland"}},
	}
	for themeName, th := range themes {
		for _, tc := range tests {
			t.Run(themeName+"/"+tc.name, func(t *testing.T) {
				out, err := th.Render(context.Background(), tc.template, tc.vars, tc.opts)
				if err != nil {
					t.Fatalf("Render(%q) = %v", tc.template, err)
				}
				page := string(out)
				for _, w := range tc.want {
					if !strings.Contains(page, w) {
						t.Errorf("Render(%q) lacks %q", tc.template, w)
					}
				}
				for _, w := range tc.notWant {
					if strings.Contains(page, w) {
						t.Errorf("Render(%q) contains %q", tc.template, w)
					}
				}
				checkHTML(t, out)
			})
		}
	}
}

func TestBuiltinThemesHaveEveryTemplate(t *testing.T) {
	want := []string{"404", "cart", "collection", "customers/account", "customers/addresses", "customers/login", "customers/order", "customers/register", "customers/reset_password",
		"index", "list-collections", "page", "product", "search"}
	for name, th := range loadBuiltins(t) {
		got := strings.Join(th.Templates(), ",")
		if got != strings.Join(want, ",") {
			t.Errorf("%s: Templates() = %s, want %s", name, got, strings.Join(want, ","))
		}
		if th.Name() == "" {
			t.Errorf("%s: Name() is empty", name)
		}
		css := "theme.css"
		if name == "monolith" {
			css = "monolith.css"
		}
		if b, err := th.Asset(css); err != nil || len(b) == 0 {
			t.Errorf("%s: Asset(%q) = %d bytes, %v", name, css, len(b), err)
		}
	}
	if _, err := LoadBuiltin("harbor"); err != nil {
		t.Errorf("LoadBuiltin(harbor) = %v", err)
	}
	if _, err := LoadBuiltin("nope"); err == nil {
		t.Errorf("LoadBuiltin(nope) = nil error, want ErrNotFound")
	}
}

// The built-in themes load nothing from outside the binary.
func TestBuiltinThemesUseNoExternalResources(t *testing.T) {
	for _, b := range Builtin() {
		th, err := New(b.FS)
		if err != nil {
			t.Fatal(err)
		}
		for p, content := range th.Files() {
			for _, bad := range []string{"http:", "https:", "//fonts.", "@import"} {
				if bytes.Contains(content, []byte(bad)) {
					t.Errorf("%s/%s refers to %q", b.Name, p, bad)
				}
			}
		}
	}
}

// addressBook is a customer with a default address (7) and another (8).
func addressBook() map[string]any {
	cu := testCustomer("Ada", "1 Main St")
	home, work := testAddress("Ada", "1 Main St"), testAddress("Ada", "2 Side St")
	home["id"], home["default"] = 7, true
	work["id"], work["default"] = 8, false
	cu["addresses"], cu["default_address"], cu["addresses_count"] = []any{home, work}, home, 2
	cu["new_address"] = map[string]any{"id": nil}
	return cu
}
