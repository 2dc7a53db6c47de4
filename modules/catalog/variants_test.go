package catalog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/modules/apps/appstest"
)

func TestVariantResources(t *testing.T) {
	h := newHarness(t)
	st := h.Store("catalog-variants-api")
	tok := h.Token(st, "write_products")
	p := create(t, h, st, tok, `{"product":{"title":"Genmaicha","options":[{"name":"Size"}],"variants":[{"option1":"S","price":"4"},{"option1":"M","price":"7"}]}}`)
	pid := id(p)
	base := fmt.Sprintf("/products/%d", pid)

	r := h.Do(st, tok, "GET", base+"/variants.json", "")
	if vs := r.JSON(t)["variants"].([]any); r.Status != 200 || len(vs) != 2 {
		t.Fatalf("GET variants.json = %d %s, want 2 variants", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", base+"/variants/count.json", ""); r.Body != `{"count":2}` {
		t.Errorf("GET variants/count.json = %s, want {\"count\":2}", r.Body)
	}

	r = h.Do(st, tok, "POST", base+"/variants.json", `{"variant":{"option1":"L","price":"9.99","sku":"GEN-L"}}`)
	if r.Status != 201 {
		t.Fatalf("POST variants.json = %d %s, want 201", r.Status, r.Body)
	}
	large := r.JSON(t)["variant"].(map[string]any)
	if large["title"] != "L" || large["price"] != "9.99" || large["position"] != float64(3) || int64(large["product_id"].(float64)) != pid {
		t.Errorf("created variant = %v, want L at 9.99, position 3, of product %d", large, pid)
	}
	lid := id(large)
	for _, tc := range []struct{ body, says string }{
		{`{"variant":{"option1":"l","price":"1"}}`, "already exists"},
		{`{"variant":{"price":"1"}}`, "needs a value for option"},
		{`{"variant":{"option1":"XL","price":"1.001"}}`, "more than 2 decimals"},
		{`{"variant":{"id":5,"option1":"XL"}}`, "cannot have an id"},
		{`{"option1":"XL"}`, `{\"variant\": {...}}`},
	} {
		if r := h.Do(st, tok, "POST", base+"/variants.json", tc.body); (r.Status != 422 && r.Status != 400) || !strings.Contains(r.Body, tc.says) {
			t.Errorf("POST variants.json %s = %d %s, want a refusal saying %q", tc.body, r.Status, r.Body, tc.says)
		}
	}

	vpath := fmt.Sprintf("/variants/%d.json", lid)
	if r := h.Do(st, tok, "GET", vpath, ""); r.Status != 200 || !strings.Contains(r.Body, `"sku":"GEN-L"`) {
		t.Errorf("GET %s = %d %s, want the L variant", vpath, r.Status, r.Body)
	}
	r = h.Do(st, tok, "PUT", vpath, `{"variant":{"price":"10.50","compare_at_price":"12","barcode":"4006381333931"}}`)
	v := r.JSON(t)["variant"].(map[string]any)
	if r.Status != 200 || v["price"] != "10.50" || v["compare_at_price"] != "12.00" || v["barcode"] != "4006381333931" || v["sku"] != "GEN-L" {
		t.Errorf("PUT %s = %d %v, want price 10.50, compare 12.00, barcode set, sku kept", vpath, r.Status, v)
	}
	if r := h.Do(st, tok, "PUT", vpath, `{"variant":{"compare_at_price":null}}`); !strings.Contains(r.Body, `"compare_at_price":null`) {
		t.Errorf("PUT compare_at_price null = %s, want it cleared", r.Body)
	}
	if r := h.Do(st, tok, "PUT", vpath, `{"variant":{"price":"cheap"}}`); r.Status != 422 {
		t.Errorf("PUT a bad price = %d %s, want 422", r.Status, r.Body)
	}

	if r := h.Do(st, tok, "DELETE", fmt.Sprintf("%s/variants/%d.json", base, lid), ""); r.Status != 200 || r.Body != "{}" {
		t.Errorf("DELETE variant = %d %s, want 200 {}", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", vpath, ""); r.Status != 404 {
		t.Errorf("GET deleted variant = %d, want 404", r.Status)
	}
	vs := h.Do(st, tok, "GET", base+"/variants.json", "").JSON(t)["variants"].([]any)
	h.Do(st, tok, "DELETE", fmt.Sprintf("%s/variants/%d.json", base, id(vs[0].(map[string]any))), "")
	if r := h.Do(st, tok, "DELETE", fmt.Sprintf("%s/variants/%d.json", base, id(vs[1].(map[string]any))), ""); r.Status != 422 || !strings.Contains(r.Body, "last variant") {
		t.Errorf("DELETE the last variant = %d %s, want 422", r.Status, r.Body)
	}

	// Another store, and a read-only token.
	b := h.Store("catalog-variants-b")
	btok, ro := h.Token(b, "write_products"), h.Token(st, "read_products")
	remaining := id(vs[1].(map[string]any))
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		store                    int // 0: b with b's token; 1: st with read-only token
	}{
		{"b reads a's variant", "GET", fmt.Sprintf("/variants/%d.json", remaining), "", 404, 0},
		{"b changes a's variant", "PUT", fmt.Sprintf("/variants/%d.json", remaining), `{"variant":{"price":"0"}}`, 404, 0},
		{"b lists a's product's variants", "GET", base + "/variants.json", "", 404, 0},
		{"b adds to a's product", "POST", base + "/variants.json", `{"variant":{"option1":"Z"}}`, 404, 0},
		{"b deletes a's variant", "DELETE", fmt.Sprintf("%s/variants/%d.json", base, remaining), "", 404, 0},
		{"read-only token adds", "POST", base + "/variants.json", `{"variant":{"option1":"Z"}}`, 403, 1},
		{"read-only token changes", "PUT", fmt.Sprintf("/variants/%d.json", remaining), `{"variant":{"price":"0"}}`, 403, 1},
	} {
		s, tk := b, btok
		if tc.store == 1 {
			s, tk = st, ro
		}
		if r := h.Do(s, tk, tc.method, tc.path, tc.body); r.Status != tc.status || strings.Contains(r.Body, "Genmaicha") {
			t.Errorf("%s: %s %s = %d %s, want %d and no data", tc.name, tc.method, tc.path, r.Status, r.Body, tc.status)
		}
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/variants/%d.json", remaining), ""); !strings.Contains(r.Body, `"price":"7.00"`) {
		t.Errorf("a's variant after b's attempts = %s, want it unchanged at 7.00", r.Body)
	}
}

// TestVariantPages: a product's variants page by id with Link headers, as
// Shopify clients follow them (a product may have more variants than a page).
func TestVariantPages(t *testing.T) {
	h := newHarness(t)
	st := h.Store("catalog-variant-pages")
	tok := h.Token(st, "write_products")
	p := create(t, h, st, tok, `{"product":{"title":"Five","options":[{"name":"N"}],"variants":[{"option1":"1"},{"option1":"2"},{"option1":"3"},{"option1":"4"},{"option1":"5"}]}}`)
	titles := func(r appstest.Response) string {
		var out []string
		for _, v := range r.JSON(t)["variants"].([]any) {
			out = append(out, v.(map[string]any)["title"].(string))
		}
		return strings.Join(out, ",")
	}
	r := h.Do(st, tok, "GET", fmt.Sprintf("/products/%d/variants.json?limit=2", id(p)), "")
	l := r.Links(t)
	if titles(r) != "1,2" || l["next"] == "" || l["previous"] != "" {
		t.Fatalf("page 1 = %s %v, want 1,2 with only next", titles(r), l)
	}
	r2 := h.Do(st, tok, "GET", l["next"], "")
	l2 := r2.Links(t)
	if titles(r2) != "3,4" || l2["next"] == "" || l2["previous"] == "" {
		t.Fatalf("page 2 = %s %v, want 3,4 with both links", titles(r2), l2)
	}
	r3 := h.Do(st, tok, "GET", l2["next"], "")
	l3 := r3.Links(t)
	if titles(r3) != "5" || l3["next"] != "" || l3["previous"] == "" {
		t.Fatalf("page 3 = %s %v, want 5 with only previous", titles(r3), l3)
	}
	if back := h.Do(st, tok, "GET", l3["previous"], ""); titles(back) != "3,4" {
		t.Errorf("previous of page 3 = %s, want 3,4", titles(back))
	}
	if all := h.Do(st, tok, "GET", fmt.Sprintf("/products/%d/variants.json", id(p)), ""); titles(all) != "1,2,3,4,5" || all.Header.Get("Link") != "" {
		t.Errorf("default page = %s (Link %q), want all five and no Link", titles(all), all.Header.Get("Link"))
	}
}
