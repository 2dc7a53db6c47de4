package catalog_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

func newHarness(t *testing.T) *appstest.Harness { return appstestNew(t) }

func appstestNew(t testing.TB) *appstest.Harness {
	return appstest.New(t, func(db *tenant.DB) []apps.Resource { return []apps.Resource{newCatalog(t, db)} })
}

// newCatalog is the catalog service over db, with images in a bucket of the
// test's own and fetched from anywhere, loopback included.
func newCatalog(t testing.TB, db *tenant.DB) *catalog.Service {
	return catalog.NewService(db, catalog.Files{
		Bucket: testenv.Bucket(t),
		Fetch:  safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 10 * time.Second}),
		URLs:   tenant.URLs{Scheme: "http", Domain: "localhost"},
	})
}

func product(t *testing.T, r appstest.Response) map[string]any {
	t.Helper()
	p, ok := r.JSON(t)["product"].(map[string]any)
	if !ok {
		t.Fatalf("response %d %s has no product", r.Status, r.Body)
	}
	return p
}

func create(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok, body string) map[string]any {
	t.Helper()
	r := h.Do(st, tok, "POST", "/products.json", body)
	if r.Status != 201 {
		t.Fatalf("POST products.json %s = %d %s, want 201", body, r.Status, r.Body)
	}
	return product(t, r)
}

func id(p map[string]any) int64 { return int64(p["id"].(float64)) }

func count(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok string) int {
	t.Helper()
	r := h.Do(st, tok, "GET", "/products/count.json", "")
	if r.Status != 200 {
		t.Fatalf("GET products/count.json = %d %s", r.Status, r.Body)
	}
	return int(r.JSON(t)["count"].(float64))
}

func TestCreateProductDefaults(t *testing.T) {
	h := newHarness(t)
	st := h.Store("catalog-defaults")
	tok := h.Token(st, "write_products")
	p := create(t, h, st, tok, `{"product":{"title":"Tea Pot"}}`)
	variants := p["variants"].([]any)
	v := variants[0].(map[string]any)
	opts := p["options"].([]any)
	if p["handle"] != "tea-pot" || p["status"] != "active" || p["published_at"] == nil || len(variants) != 1 ||
		v["title"] != "Default Title" || v["price"] != "0.00" || v["option1"] != "Default Title" || len(opts) != 1 ||
		!cmp.Equal(opts[0].(map[string]any)["values"], []any{"Default Title"}) {
		t.Errorf("minimal product = %v, want handle tea-pot, active and published, one Default Title variant at 0.00", p)
	}
	for i, want := range []string{"tea-pot-1", "tea-pot-2"} {
		if got := create(t, h, st, tok, `{"product":{"title":"Tea Pot"}}`)["handle"]; got != want {
			t.Errorf("Tea Pot #%d handle = %v, want %s", i+2, got, want)
		}
	}
	if r := h.Do(st, tok, "POST", "/products.json", `{"product":{"title":"Other","handle":"tea-pot"}}`); r.Status != 422 || !strings.Contains(r.Body, "has already been taken") {
		t.Errorf("given handle taken = %d %s, want 422 handle has already been taken", r.Status, r.Body)
	}
	if p := create(t, h, st, tok, `{"product":{"title":"Hidden","status":"draft"}}`); p["published_at"] != nil {
		t.Errorf("draft product published_at = %v, want null", p["published_at"])
	}
}

func TestCreateProductWithVariants(t *testing.T) {
	h := newHarness(t)
	st := h.Store("catalog-variants")
	tok := h.Token(st, "write_products")
	p := create(t, h, st, tok, `{"product":{
		"title":"Oolong","body_html":"<p>Rolled</p>","vendor":"Hills","product_type":"Tea","tags":"green, Loose , green",
		"options":[{"name":"Size"},{"name":"Grade"}],
		"variants":[
			{"option1":"50g","option2":"A","price":"12.50","sku":"OO-50-A","compare_at_price":"15","weight":50,"weight_unit":"g"},
			{"option1":"100g","option2":"A","price":24,"sku":"OO-100-A","inventory_management":"shopify","inventory_policy":"continue"},
			{"option1":"100g","option2":"B","price":"20.1","taxable":false,"requires_shipping":false}],
		"template_suffix":"special"}}`)
	if p["tags"] != "green, Loose" || p["vendor"] != "Hills" || p["body_html"] != "<p>Rolled</p>" {
		t.Errorf("product = %v; want tags \"green, Loose\" and the given fields", p)
	}
	opts := p["options"].([]any)
	if len(opts) != 2 || !cmp.Equal(opts[0].(map[string]any)["values"], []any{"50g", "100g"}) || !cmp.Equal(opts[1].(map[string]any)["values"], []any{"A", "B"}) {
		t.Errorf("options = %v, want Size [50g 100g], Grade [A B]", opts)
	}
	vs := p["variants"].([]any)
	want := []struct{ title, price, compare, sku string }{{"50g / A", "12.50", "15.00", "OO-50-A"}, {"100g / A", "24.00", "", "OO-100-A"}, {"100g / B", "20.10", "", ""}}
	for i, w := range want {
		v := vs[i].(map[string]any)
		compare, _ := v["compare_at_price"].(string)
		if v["title"] != w.title || v["price"] != w.price || compare != w.compare || v["sku"] != w.sku || v["position"] != float64(i+1) {
			t.Errorf("variant %d = %v, want %+v", i+1, v, w)
		}
	}
	if v := vs[0].(map[string]any); v["grams"] != float64(50) || v["weight_unit"] != "g" {
		t.Errorf("variant 1 weight = %v %v, grams %v; want 50 g", v["weight"], v["weight_unit"], v["grams"])
	}
	if v := vs[1].(map[string]any); v["inventory_management"] != "shopify" || v["inventory_policy"] != "continue" {
		t.Errorf("variant 2 inventory = %v/%v, want shopify/continue", v["inventory_management"], v["inventory_policy"])
	}
}

func TestCreateProductRefusesBadInput(t *testing.T) {
	h := newHarness(t)
	st := h.Store("catalog-bad")
	tok := h.Token(st, "write_products")
	for _, tc := range []struct {
		body   string
		status int
		says   string
	}{
		{`{"product":{"title":""}}`, 422, `"title":["can't be blank"]`},
		{`{"product":{}}`, 422, `"title":["can't be blank"]`},
		{`{"product":{"title":"x","status":"live"}}`, 422, "must be active, draft or archived"},
		{`{"product":{"title":"x","handle":"Not A Handle"}}`, 422, "not-a-handle"},
		{`{"product":{"title":"x","variants":[{"price":"19.999"}]}}`, 422, "more than 2 decimals"},
		{`{"product":{"title":"x","variants":[{"price":"-1"}]}}`, 422, "must not be negative"},
		{`{"product":{"title":"x","variants":[{"price":"cheap"}]}}`, 422, "decimal amount"},
		{`{"product":{"title":"x","options":[{"name":"A"},{"name":"B"},{"name":"C"},{"name":"D"}]}}`, 422, "at most 3"},
		{`{"product":{"title":"x","options":[{"name":"Size"}],"variants":[{"price":"1"}]}}`, 422, "needs a value for option"},
		{`{"product":{"title":"x","options":[{"name":"Size"}],"variants":[{"option1":"S"},{"option1":"s"}]}}`, 422, "already exists"},
		{`{"product":{"title":"x","variants":[{"option1":"S"},{"option1":"M","option2":"Red"}]}}`, 422, `needs a value for option \"Option2\"`},
		{`{"product":{"title":"x","variants":[{"option1":"S"},{"option1":"M"}]}}`, 201, ""},
		{`{"product":{"title":"x","variants":[{"weight_unit":"stone"}]}}`, 422, "weight_unit"},
		{`{"product":{"title":"x","variants":[{"id":5}]}}`, 422, "cannot have ids"},
		{`{"product":{"title":5}}`, 422, `"title":["has the wrong type`},
		{`{"product":{"title":"x","variants":{"price":"1"}}}`, 422, "variants"},
		{`{"product":"x"}`, 400, "must be a JSON object"},
		{`{"title":"no envelope"}`, 400, `{\"product\": {...}}`},
		{`{"product":{"title":"x"}`, 400, "not valid JSON"},
		{`[]`, 400, "not valid JSON"},
		{`{"product":{"title":"!!!"}}`, 422, "handle"},
		{`{"product":{"title":"Heavy","variants":[{"weight":1000000000}]}}`, 422, "weight must be a number from 0 to 999999999.999"},
		{`{"product":{"title":"a\u0000b"}}`, 400, "NUL"},
		{`{"product":{"title":"` + strings.Repeat("t", 256) + `"}}`, 422, "too long"},
	} {
		before := count(t, h, st, tok)
		r := h.Do(st, tok, "POST", "/products.json", tc.body)
		short := tc.body
		if len(short) > 60 {
			short = short[:60] + "…"
		}
		if r.Status != tc.status || !strings.Contains(r.Body, tc.says) {
			t.Errorf("POST %s = %d %s, want %d saying %q", short, r.Status, r.Body, tc.status, tc.says)
		}
		if after := count(t, h, st, tok); tc.status != 201 && after != before {
			t.Errorf("POST %s refused but the product count went from %d to %d", short, before, after)
		}
	}
}

func TestUpdateAndDeleteProduct(t *testing.T) {
	h := newHarness(t)
	st := h.Store("catalog-update")
	tok := h.Token(st, "write_products")
	p := create(t, h, st, tok, `{"product":{"title":"Sencha","options":[{"name":"Size"}],"variants":[{"option1":"S","price":"5"},{"option1":"M","price":"9"},{"option1":"L","price":"12"}]}}`)
	vs := p["variants"].([]any)
	small, medium := id(vs[0].(map[string]any)), id(vs[1].(map[string]any))
	path := fmt.Sprintf("/products/%d.json", id(p))

	r := h.Do(st, tok, "PUT", path, fmt.Sprintf(`{"product":{"title":"Sencha Fukamushi","tags":["steamed"],
		"variants":[{"id":%d,"option1":"M","price":"9.50"},{"id":%d,"option1":"S"},{"option1":"XL","price":"15"}]}}`, medium, small))
	if r.Status != 200 {
		t.Fatalf("PUT %s = %d %s", path, r.Status, r.Body)
	}
	got := product(t, r)
	var titles []string
	for _, v := range got["variants"].([]any) {
		vm := v.(map[string]any)
		titles = append(titles, fmt.Sprint(vm["title"], "=", vm["price"]))
	}
	if got["title"] != "Sencha Fukamushi" || got["tags"] != "steamed" || got["handle"] != "sencha" ||
		!slices.Equal(titles, []string{"M=9.50", "S=5.00", "XL=15.00"}) {
		t.Errorf("updated product = %v %v; want the new title, tags, same handle, variants M=9.50 S=5.00 XL=15.00 (L gone)", got["title"], titles)
	}

	// Values may move between variants within one update.
	r = h.Do(st, tok, "PUT", path, fmt.Sprintf(`{"product":{"variants":[{"id":%d,"option1":"S"},{"id":%d,"option1":"M"}]}}`, medium, small))
	if r.Status != 200 {
		t.Errorf("PUT swapping option values = %d %s, want 200", r.Status, r.Body)
	}

	other := create(t, h, st, tok, `{"product":{"title":"Other"}}`)
	otherVariant := id(other["variants"].([]any)[0].(map[string]any))
	for _, tc := range []struct{ body, says string }{
		{fmt.Sprintf(`{"product":{"variants":[{"id":%d,"price":"1"}]}}`, otherVariant), "is not a variant of this product"},
		{`{"product":{"variants":[]}}`, "at least one variant"},
		{`{"product":{"title":""}}`, "can't be blank"},
		{`{"product":{"handle":"other"}}`, "has already been taken"},
	} {
		if r := h.Do(st, tok, "PUT", path, tc.body); r.Status != 422 || !strings.Contains(r.Body, tc.says) {
			t.Errorf("PUT %s = %d %s, want 422 saying %q", tc.body, r.Status, r.Body, tc.says)
		}
	}
	if r := h.Do(st, tok, "DELETE", path, ""); r.Status != 200 || r.Body != "{}" {
		t.Errorf("DELETE %s = %d %s, want 200 {}", path, r.Status, r.Body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := h.Do(st, tok, m, path, ""); r.Status != 404 || r.Body != `{"errors":"Not Found"}` {
			t.Errorf("%s deleted product = %d %s, want 404 {\"errors\":\"Not Found\"}", m, r.Status, r.Body)
		}
	}
	if r := h.Do(st, tok, "PUT", path, `{"product":{"title":"x"}}`); r.Status != 404 {
		t.Errorf("PUT deleted product = %d, want 404", r.Status)
	}
}

func titlesOf(t *testing.T, r appstest.Response) []string {
	t.Helper()
	var out []string
	for _, p := range r.JSON(t)["products"].([]any) {
		out = append(out, p.(map[string]any)["title"].(string))
	}
	return out
}

func TestListPaginationAndFilters(t *testing.T) {
	h := newHarness(t)
	st := h.Store("catalog-list")
	tok := h.Token(st, "write_products")
	var ids []int64
	for i := 1; i <= 7; i++ {
		status := "active"
		if i%3 == 0 {
			status = "draft"
		}
		ids = append(ids, id(create(t, h, st, tok, fmt.Sprintf(`{"product":{"title":"P%d","status":%q,"vendor":"V%d"}}`, i, status, i%2))))
	}

	r := h.Do(st, tok, "GET", "/products.json?limit=3", "")
	l := r.Links(t)
	if got := titlesOf(t, r); !slices.Equal(got, []string{"P1", "P2", "P3"}) || l["next"] == "" || l["previous"] != "" {
		t.Fatalf("page 1 = %v, links %v; want P1-P3 and only a next link", got, l)
	}
	r2 := h.Do(st, tok, "GET", l["next"], "")
	l2 := r2.Links(t)
	if got := titlesOf(t, r2); !slices.Equal(got, []string{"P4", "P5", "P6"}) || l2["next"] == "" || l2["previous"] == "" {
		t.Fatalf("page 2 = %v, links %v; want P4-P6 with next and previous", got, l2)
	}
	r3 := h.Do(st, tok, "GET", l2["next"], "")
	l3 := r3.Links(t)
	if got := titlesOf(t, r3); !slices.Equal(got, []string{"P7"}) || l3["next"] != "" || l3["previous"] == "" {
		t.Fatalf("page 3 = %v, links %v; want P7 with only a previous link", got, l3)
	}
	back := h.Do(st, tok, "GET", l3["previous"], "")
	if got := titlesOf(t, back); !slices.Equal(got, []string{"P4", "P5", "P6"}) {
		t.Errorf("previous of page 3 = %v, want P4-P6", got)
	}
	if lb := back.Links(t); lb["previous"] == "" || lb["next"] == "" {
		t.Errorf("previous page's links = %v, want both", lb)
	}

	// Filters carry over in page_info.
	r = h.Do(st, tok, "GET", "/products.json?status=active&limit=2", "")
	if got := titlesOf(t, r); !slices.Equal(got, []string{"P1", "P2"}) {
		t.Errorf("status=active page 1 = %v", got)
	}
	if got := titlesOf(t, h.Do(st, tok, "GET", r.Links(t)["next"], "")); !slices.Equal(got, []string{"P4", "P5"}) {
		t.Errorf("status=active page 2 = %v, want P4 P5 (the filter carried over)", got)
	}

	for q, want := range map[string][]string{
		fmt.Sprintf("ids=%d,%d", ids[6], ids[1]):     {"P2", "P7"},
		fmt.Sprintf("since_id=%d", ids[4]):           {"P6", "P7"},
		"status=draft":                               {"P3", "P6"},
		"status=draft,archived":                      {"P3", "P6"},
		"vendor=V0":                                  {"P2", "P4", "P6"},
		"handle=p1,p5":                               {"P1", "P5"},
		"title=p":                                    {"P1", "P2", "P3", "P4", "P5", "P6", "P7"},
		"published_status=unpublished":               {"P3", "P6"},
		"updated_at_min=2000-01-01T00:00:00Z":        {"P1", "P2", "P3", "P4", "P5", "P6", "P7"},
		"created_at_max=2000-01-01T00:00:00%2B01:00": nil,
	} {
		if got := titlesOf(t, h.Do(st, tok, "GET", "/products.json?"+q, "")); !slices.Equal(got, want) {
			t.Errorf("GET products.json?%s = %v, want %v", q, got, want)
		}
	}
	if r := h.Do(st, tok, "GET", "/products/count.json?status=draft", ""); r.Body != `{"count":2}` {
		t.Errorf("count.json?status=draft = %s, want {\"count\":2}", r.Body)
	}

	r = h.Do(st, tok, "GET", "/products.json?fields=id,title&limit=1", "")
	p := r.JSON(t)["products"].([]any)[0].(map[string]any)
	if len(p) != 2 || p["title"] != "P1" {
		t.Errorf("fields=id,title gave %v, want only id and title", p)
	}

	for _, q := range []string{"limit=0", "limit=251", "limit=x", "since_id=-1", "ids=1,x", "status=live",
		"created_at_min=yesterday", "published_status=maybe", "page_info=garbage", "page_info=" + url.QueryEscape("e30") + "&status=active",
		"handle=" + strings.Repeat("h,", 300), "page_info=" + strings.Repeat("A", 5000), "title=a%00b",
		"ids=" + strings.Repeat("1,", 300)} {
		if r := h.Do(st, tok, "GET", "/products.json?"+q, ""); r.Status != 400 || !strings.Contains(r.Body, `"errors"`) {
			t.Errorf("GET products.json?%s = %d %s, want 400 naming the parameter", q, r.Status, r.Body)
		}
	}
}

func TestProductsAcrossStoresAndScopes(t *testing.T) {
	h := newHarness(t)
	a, b := h.Store("catalog-a"), h.Store("catalog-b")
	aw, bw, ar := h.Token(a, "write_products"), h.Token(b, "write_products"), h.Token(a, "read_products")
	pa := create(t, h, a, aw, `{"product":{"title":"Secret Blend"}}`)
	path := fmt.Sprintf("/products/%d.json", id(pa))

	for _, tc := range []struct {
		name   string
		st     *tenant.Tenant
		tok    string
		method string
		path   string
		body   string
		status int
	}{
		{"b's token reads a's product id on b's host", b, bw, "GET", path, "", 404},
		{"b's token updates a's product id on b's host", b, bw, "PUT", path, `{"product":{"title":"stolen"}}`, 404},
		{"b's token deletes a's product id on b's host", b, bw, "DELETE", path, "", 404},
		{"a's token on b's host", b, aw, "GET", "/products.json", "", 401},
		{"b's token on a's host", a, bw, "GET", path, "", 401},
		{"read scope cannot create", a, ar, "POST", "/products.json", `{"product":{"title":"x"}}`, 403},
		{"read scope cannot update", a, ar, "PUT", path, `{"product":{"title":"x"}}`, 403},
		{"read scope cannot delete", a, ar, "DELETE", path, "", 403},
	} {
		r := h.Do(tc.st, tc.tok, tc.method, tc.path, tc.body)
		if r.Status != tc.status || strings.Contains(r.Body, "Secret Blend") {
			t.Errorf("%s: %s %s = %d %s, want %d and no data of a's", tc.name, tc.method, tc.path, r.Status, r.Body, tc.status)
		}
	}
	if got := titlesOf(t, h.Do(b, bw, "GET", "/products.json", "")); len(got) != 0 {
		t.Errorf("b's product list = %v, want empty", got)
	}
	if r := h.Do(a, ar, "GET", path, ""); r.Status != 200 || product(t, r)["title"] != "Secret Blend" {
		t.Errorf("a's read token reading a's product = %d %s, want 200 with it unchanged", r.Status, r.Body)
	}
}

func TestServiceOnJPYStore(t *testing.T) {
	h := newHarness(t)
	st := h.Store("catalog-yen")
	if err := h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error { return tx.Exec(`UPDATE shop SET currency = 'JPY'`).Error }); err != nil {
		t.Fatal(err)
	}
	tok := h.Token(st, "write_products")
	p := create(t, h, st, tok, `{"product":{"title":"Matcha","variants":[{"price":"1500"}]}}`)
	if v := p["variants"].([]any)[0].(map[string]any); v["price"] != "1500" {
		t.Errorf("JPY price = %v, want 1500 (no decimals)", v["price"])
	}
	if r := h.Do(st, tok, "POST", "/products.json", `{"product":{"title":"Half yen","variants":[{"price":"1.5"}]}}`); r.Status != 422 || !strings.Contains(r.Body, "more than 0 decimals for JPY") {
		t.Errorf("JPY price 1.5 = %d %s, want 422 about decimals", r.Status, r.Body)
	}
}

// TestStaffSessions: staff reach the Admin API with their session, held to
// their role by the same policy check as app tokens, and only in their own
// store.
func TestStaffSessions(t *testing.T) {
	h := newHarness(t)
	a, b := h.Store("staff-a"), h.Store("staff-b")
	viewer, staff := h.Staff(a, tenant.RoleViewer), h.Staff(a, tenant.RoleStaff)
	fulfil := h.Staff(a, tenant.RoleFulfillment)
	p := create(t, h, a, staff, `{"product":{"title":"Staff made"}}`)

	for _, tc := range []struct {
		name, who, method, path, body string
		st                            *tenant.Tenant
		want                          int
	}{
		{"viewer reads", viewer, "GET", "/products.json", "", a, 200},
		{"viewer writes", viewer, "POST", "/products.json", `{"product":{"title":"x"}}`, a, 403},
		{"viewer deletes", viewer, "DELETE", fmt.Sprintf("/products/%v.json", p["id"]), "", a, 403},
		{"fulfillment reads products", fulfil, "GET", fmt.Sprintf("/products/%v.json", p["id"]), "", a, 200},
		{"fulfillment writes products", fulfil, "PUT", fmt.Sprintf("/products/%v.json", p["id"]), `{"product":{"title":"y"}}`, a, 403},
		{"staff writes", staff, "PUT", fmt.Sprintf("/products/%v.json", p["id"]), `{"product":{"title":"Renamed"}}`, a, 200},
		{"staff of a on b's host", staff, "GET", "/products.json", "", b, 401},
		{"a forged session", "Bearer " + strings.Repeat("x", 40), "GET", "/products.json", "", a, 401},
	} {
		r := h.Do(tc.st, tc.who, tc.method, tc.path, tc.body)
		if r.Status != tc.want {
			t.Errorf("%s: %s %s = %d %s, want %d", tc.name, tc.method, tc.path, r.Status, r.Body, tc.want)
		}
		if tc.want >= 400 && strings.Contains(r.Body, "Staff made") {
			t.Errorf("%s: refused, yet the body shows data: %s", tc.name, r.Body)
		}
	}
	if r := h.Do(a, viewer, "POST", "/products.json", `{"product":{"title":"x"}}`); !strings.Contains(r.Body, "(viewer) may not write products") {
		t.Errorf("viewer's refused write = %s, want the role and the permission named", r.Body)
	}
}
