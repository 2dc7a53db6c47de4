package catalog_test

import (
	"fmt"
	"strings"
	"testing"
)

func TestCollectionsAndCollects(t *testing.T) {
	h := newHarness(t)
	st := h.Store("collections-a")
	tok := h.Token(st, "write_products")
	p1 := id(create(t, h, st, tok, `{"product":{"title":"Sencha"}}`))
	p2 := id(create(t, h, st, tok, `{"product":{"title":"Matcha"}}`))
	p3 := id(create(t, h, st, tok, `{"product":{"title":"Kettle"}}`))

	r := h.Do(st, tok, "POST", "/custom_collections.json", fmt.Sprintf(`{"custom_collection":{"title":"Green Teas","body_html":"<p>Fresh</p>","sort_order":"alpha-asc","collects":[{"product_id":%d},{"product_id":%d}]}}`, p1, p2))
	if r.Status != 201 {
		t.Fatalf("POST custom_collections.json = %d %s", r.Status, r.Body)
	}
	col := r.JSON(t)["custom_collection"].(map[string]any)
	cid := int64(col["id"].(float64))
	if col["handle"] != "green-teas" || col["sort_order"] != "alpha-asc" || col["published_at"] == nil {
		t.Errorf("created collection = %v", col)
	}
	if again := h.Do(st, tok, "POST", "/custom_collections.json", `{"custom_collection":{"title":"Green Teas"}}`); !strings.Contains(again.Body, `"handle":"green-teas-1"`) {
		t.Errorf("second Green Teas = %s, want handle green-teas-1", again.Body)
	}

	r = h.Do(st, tok, "GET", fmt.Sprintf("/collects.json?collection_id=%d", cid), "")
	collects := r.JSON(t)["collects"].([]any)
	if len(collects) != 2 || collects[0].(map[string]any)["position"] != float64(1) || collects[1].(map[string]any)["sort_value"] != "0000000002" {
		t.Errorf("collects = %s, want two at positions 1 and 2", r.Body)
	}
	r = h.Do(st, tok, "POST", "/collects.json", fmt.Sprintf(`{"collect":{"collection_id":%d,"product_id":%d}}`, cid, p3))
	third := r.JSON(t)["collect"].(map[string]any)
	if r.Status != 201 || third["position"] != float64(3) {
		t.Errorf("POST collects.json = %d %s, want 201 at position 3", r.Status, r.Body)
	}
	for _, tc := range []struct{ body, says string }{
		{fmt.Sprintf(`{"collect":{"collection_id":%d,"product_id":%d}}`, cid, p3), "already in this collection"},
		{fmt.Sprintf(`{"collect":{"collection_id":%d,"product_id":999999}}`, cid), "not a product of this store"},
		{fmt.Sprintf(`{"collect":{"collection_id":999999,"product_id":%d}}`, p1), "not a collection of this store"},
		{`{"collect":{}}`, "can't be blank"},
	} {
		if r := h.Do(st, tok, "POST", "/collects.json", tc.body); r.Status != 422 || !strings.Contains(r.Body, tc.says) {
			t.Errorf("POST collects %s = %d %s, want 422 saying %q", tc.body, r.Status, r.Body, tc.says)
		}
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/custom_collections.json?product_id=%d", p3), ""); !strings.Contains(r.Body, `"title":"Green Teas"`) || strings.Count(r.Body, `"id"`) != 1 {
		t.Errorf("collections holding the kettle = %s, want only Green Teas", r.Body)
	}
	for _, q := range []string{"ids=" + strings.Repeat("1,", 300), "handle=" + strings.Repeat("h,", 300)} {
		if r := h.Do(st, tok, "GET", "/custom_collections.json?"+q, ""); r.Status != 400 {
			t.Errorf("GET custom_collections.json with 300 %s = %d, want 400", q[:4], r.Status)
		}
	}
	if r := h.Do(st, tok, "GET", "/custom_collections/count.json", ""); r.Body != `{"count":2}` {
		t.Errorf("count = %s", r.Body)
	}

	path := fmt.Sprintf("/custom_collections/%d.json", cid)
	if r := h.Do(st, tok, "PUT", path, `{"custom_collection":{"title":"Japanese Greens","published":false,"sort_order":"manual"}}`); r.Status != 200 || !strings.Contains(r.Body, `"published_at":null`) || !strings.Contains(r.Body, `"handle":"green-teas"`) {
		t.Errorf("PUT collection = %d %s, want renamed, unpublished, same handle", r.Status, r.Body)
	}
	for _, tc := range []struct{ body, says string }{
		{`{"custom_collection":{"title":""}}`, "can't be blank"},
		{`{"custom_collection":{"sort_order":"random"}}`, "must be one of"},
		{`{"custom_collection":{"handle":"green-teas-1"}}`, "has already been taken"},
		{fmt.Sprintf(`{"custom_collection":{"collects":[{"product_id":%d}]}}`, p1), "collects.json"},
	} {
		if r := h.Do(st, tok, "PUT", path, tc.body); r.Status != 422 || !strings.Contains(r.Body, tc.says) {
			t.Errorf("PUT %s = %d %s, want 422 saying %q", tc.body, r.Status, r.Body, tc.says)
		}
	}

	// Deleting a product takes it out of its collections.
	h.Do(st, tok, "DELETE", fmt.Sprintf("/products/%d.json", p3), "")
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/collects/count.json?collection_id=%d", cid), ""); r.Body != `{"count":2}` {
		t.Errorf("collects after deleting a product = %s, want 2", r.Body)
	}
	first := int64(collects[0].(map[string]any)["id"].(float64))
	if r := h.Do(st, tok, "DELETE", fmt.Sprintf("/collects/%d.json", first), ""); r.Status != 200 {
		t.Errorf("DELETE collect = %d", r.Status)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/collects/%d.json", first), ""); r.Status != 404 {
		t.Errorf("GET deleted collect = %d, want 404", r.Status)
	}

	// Another store sees none of it; a read-only token changes nothing.
	b := h.Store("collections-b")
	btok, ro := h.Token(b, "write_products"), h.Token(st, "read_products")
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		own                      bool
	}{
		{"b reads a's collection", "GET", path, "", 404, false},
		{"b renames a's collection", "PUT", path, `{"custom_collection":{"title":"x"}}`, 404, false},
		{"b deletes a's collection", "DELETE", path, "", 404, false},
		{"b adds its product to a's collection", "POST", "/collects.json", fmt.Sprintf(`{"collect":{"collection_id":%d,"product_id":%d}}`, cid, p1), 422, false},
		{"b lists collects", "GET", "/collects.json", "", 200, false},
		{"read-only token creates", "POST", "/custom_collections.json", `{"custom_collection":{"title":"x"}}`, 403, true},
	} {
		s, tk := b, btok
		if tc.own {
			s, tk = st, ro
		}
		r := h.Do(s, tk, tc.method, tc.path, tc.body)
		if r.Status != tc.status || strings.Contains(r.Body, "Japanese Greens") || (tc.path == "/collects.json" && tc.method == "GET" && r.Body != `{"collects":[]}`) {
			t.Errorf("%s: %s %s = %d %s, want %d and none of a's data", tc.name, tc.method, tc.path, r.Status, r.Body, tc.status)
		}
	}
	if r := h.Do(st, tok, "DELETE", path, ""); r.Status != 200 {
		t.Errorf("DELETE collection = %d", r.Status)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/products/%d.json", p1), ""); r.Status != 200 {
		t.Errorf("product after its collection was deleted = %d, want it kept", r.Status)
	}
}
