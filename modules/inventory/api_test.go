package inventory_test

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/tenant"
)

func newHarness(t testing.TB) *appstest.Harness {
	return appstest.New(t, func(db *tenant.DB) []apps.Resource { return []apps.Resource{inventory.NewService(db)} })
}

func object(t *testing.T, r appstest.Response, key string) map[string]any {
	t.Helper()
	o, ok := r.JSON(t)[key].(map[string]any)
	if !ok {
		t.Fatalf("response %d %s has no %s", r.Status, r.Body, key)
	}
	return o
}

func list(t *testing.T, r appstest.Response, key string) []map[string]any {
	t.Helper()
	l, ok := r.JSON(t)[key].([]any)
	if r.Status != 200 || !ok {
		t.Fatalf("response %d %s has no list %s", r.Status, r.Body, key)
	}
	out := make([]map[string]any, len(l))
	for i, o := range l {
		out[i] = o.(map[string]any)
	}
	return out
}

func num(v any) int64 { f, _ := v.(float64); return int64(f) }

// addLocation adds a location the API cannot create, as the dashboard will.
func addLocation(t *testing.T, h *appstest.Harness, st *tenant.Tenant, name string) int64 {
	t.Helper()
	var id int64
	err := h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
		return tx.Raw(`INSERT INTO locations (name, city, country_code) VALUES (?, 'Lyon', 'FR') RETURNING id`, name).Scan(&id).Error
	})
	if err != nil {
		t.Fatalf("add location %s: %v", name, err)
	}
	return id
}

// write posts a level write and wants status.
func write(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok, op, body string, status int) map[string]any {
	t.Helper()
	r := h.Do(st, tok, "POST", "/inventory_levels/"+op+".json", body)
	if r.Status != status {
		t.Fatalf("POST inventory_levels/%s.json %s = %d %s, want %d", op, body, r.Status, r.Body, status)
	}
	return object(t, r, "inventory_level")
}

// levels lists "item@location=available" for a query of inventory_levels.json.
func levels(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok, path string) []string {
	t.Helper()
	var out []string
	for _, l := range list(t, h.Do(st, tok, "GET", path, ""), "inventory_levels") {
		out = append(out, fmt.Sprintf("%d@%d=%d", num(l["inventory_item_id"]), num(l["location_id"]), num(l["available"])))
	}
	return out
}

// history lists "delta>after reason" of an item's adjustments, newest first.
func history(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok string, item int64) []string {
	t.Helper()
	var out []string
	for _, a := range list(t, h.Do(st, tok, "GET", fmt.Sprintf("/inventory_items/%d/adjustments.json", item), ""), "inventory_adjustments") {
		out = append(out, fmt.Sprintf("%+d>%d %s", num(a["delta"]), num(a["available_after"]), a["reason"]))
	}
	return out
}

func TestLocations(t *testing.T) {
	h := newHarness(t)
	st := h.Store("inv-locations")
	tok := h.Token(st, "read_inventory")
	ls := list(t, h.Do(st, tok, "GET", "/locations.json", ""), "locations")
	if len(ls) != 1 || ls[0]["name"] != "Main warehouse" || ls[0]["active"] != true || num(ls[0]["id"]) != 1 ||
		ls[0]["admin_graphql_api_id"] != "gid://shopify/Location/1" || ls[0]["city"] != nil {
		t.Fatalf("GET locations.json = %v, want only the default location, Main warehouse (id 1, active)", ls)
	}
	if r := h.Do(st, tok, "GET", "/locations/count.json", ""); r.Status != 200 || r.Body != `{"count":1}` {
		t.Errorf("GET locations/count.json = %d %s, want {\"count\":1}", r.Status, r.Body)
	}
	id := addLocation(t, h, st, "Lyon shop")
	r := h.Do(st, tok, "GET", fmt.Sprintf("/locations/%d.json", id), "")
	if l := object(t, r, "location"); r.Status != 200 || l["name"] != "Lyon shop" || l["city"] != "Lyon" || l["country_code"] != "FR" || l["country"] != "FR" {
		t.Errorf("GET locations/%d.json = %d %s, want Lyon shop", id, r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", "/locations/count.json", ""); r.Body != `{"count":2}` {
		t.Errorf("GET locations/count.json after adding one = %s, want 2", r.Body)
	}
	if r := h.Do(st, tok, "GET", "/locations/1.json?fields=id,name", ""); len(object(t, r, "location")) != 2 {
		t.Errorf("GET locations/1.json?fields=id,name = %s, want only id and name", r.Body)
	}
	if got := levels(t, h, st, tok, "/locations/1/inventory_levels.json"); len(got) != 0 {
		t.Errorf("levels at a new store's location = %v, want none", got)
	}
	for _, p := range []string{"/locations/99.json", "/locations/abc.json", "/locations/0.json", "/locations/1", "/locations/99/inventory_levels.json",
		"/locations/x/inventory_levels.json", "/inventory_items/1.json", "/inventory_items/1/adjustments.json"} {
		if r := h.Do(st, tok, "GET", p, ""); r.Status != 404 || r.Body != `{"errors":"Not Found"}` {
			t.Errorf("GET %s = %d %s, want 404 {\"errors\":\"Not Found\"}", p, r.Status, r.Body)
		}
	}
}

var actorRE = regexp.MustCompile(`^token:[0-9]+$`)

func TestLevelFlows(t *testing.T) {
	h := newHarness(t)
	st := h.Store("inv-flows")
	tok := h.Token(st, "write_inventory")
	loc2 := addLocation(t, h, st, "Second")

	l := write(t, h, st, tok, "connect", `{"location_id":1,"inventory_item_id":101}`, 201)
	if num(l["available"]) != 0 || num(l["inventory_item_id"]) != 101 || num(l["location_id"]) != 1 ||
		l["admin_graphql_api_id"] != "gid://shopify/InventoryLevel/1?inventory_item_id=101" {
		t.Errorf("connect = %v, want item 101 at location 1 with 0 available", l)
	}
	write(t, h, st, tok, "connect", `{"location_id":1,"inventory_item_id":101}`, 200)
	r := h.Do(st, tok, "GET", "/inventory_items/101.json", "")
	if it := object(t, r, "inventory_item"); it["tracked"] != true || it["requires_shipping"] != true || it["cost"] != nil || it["sku"] != "" ||
		it["admin_graphql_api_id"] != "gid://shopify/InventoryItem/101" {
		t.Errorf("item created by connect = %s, want tracked, requiring shipping, no cost or sku", r.Body)
	}

	if l := write(t, h, st, tok, "set", `{"location_id":1,"inventory_item_id":101,"available":10,"reason":"received"}`, 200); num(l["available"]) != 10 {
		t.Errorf("set 10 = %v", l)
	}
	if l := write(t, h, st, tok, "adjust", `{"location_id":1,"inventory_item_id":101,"available_adjustment":-3,"reason":"damaged"}`, 200); num(l["available"]) != 7 {
		t.Errorf("adjust -3 from 10 = %v, want 7", l)
	}
	if l := write(t, h, st, tok, "adjust", `{"location_id":1,"inventory_item_id":101,"available_adjustment":"2"}`, 200); num(l["available"]) != 9 {
		t.Errorf("adjust \"2\" from 7 = %v, want 9", l)
	}
	// Adjusting and setting connect what is not connected, and create the item.
	if l := write(t, h, st, tok, "adjust", fmt.Sprintf(`{"location_id":%d,"inventory_item_id":102,"available_adjustment":5}`, loc2), 200); num(l["available"]) != 5 {
		t.Errorf("adjust +5 of a new item = %v, want 5", l)
	}
	// Negative stock is allowed, as on Shopify (sold before it was counted).
	if l := write(t, h, st, tok, "set", fmt.Sprintf(`{"location_id":%d,"inventory_item_id":101,"available":-4}`, loc2), 200); num(l["available"]) != -4 {
		t.Errorf("set -4 = %v", l)
	}

	if got, want := levels(t, h, st, tok, "/inventory_levels.json?inventory_item_ids=101,102"), []string{"101@1=9", fmt.Sprintf("101@%d=-4", loc2), fmt.Sprintf("102@%d=5", loc2)}; !slices.Equal(got, want) {
		t.Errorf("levels of 101,102 = %v, want %v", got, want)
	}
	if got, want := levels(t, h, st, tok, fmt.Sprintf("/inventory_levels.json?location_ids=%d", loc2)), []string{fmt.Sprintf("101@%d=-4", loc2), fmt.Sprintf("102@%d=5", loc2)}; !slices.Equal(got, want) {
		t.Errorf("levels at location %d = %v, want %v", loc2, got, want)
	}
	if got := levels(t, h, st, tok, "/inventory_levels.json?inventory_item_ids=101&location_ids=1&limit=1"); !slices.Equal(got, []string{"101@1=9"}) {
		t.Errorf("levels of 101 at 1 = %v", got)
	}
	if got := levels(t, h, st, tok, fmt.Sprintf("/locations/%d/inventory_levels.json?limit=1", loc2)); !slices.Equal(got, []string{fmt.Sprintf("101@%d=-4", loc2)}) {
		t.Errorf("locations/%d/inventory_levels.json?limit=1 = %v", loc2, got)
	}

	if got, want := history(t, h, st, tok, 101), []string{"-4>-4 correction", "+2>9 correction", "-3>7 damaged", "+10>10 received"}; !slices.Equal(got, want) {
		t.Errorf("history of 101 = %v, want %v (connect records nothing)", got, want)
	}
	as := list(t, h.Do(st, tok, "GET", "/inventory_items/101/adjustments.json?limit=2", ""), "inventory_adjustments")
	if len(as) != 2 || !actorRE.MatchString(as[0]["actor"].(string)) || as[0]["actor"] != as[1]["actor"] || num(as[0]["location_id"]) != loc2 {
		t.Errorf("adjustments?limit=2 = %v, want 2 by the same token:N", as)
	}

	// Disconnecting forgets the level, not the history.
	if r := h.Do(st, tok, "DELETE", "/inventory_levels.json?inventory_item_id=101&location_id=1", ""); r.Status != 204 || r.Body != "" {
		t.Errorf("DELETE level = %d %q, want 204 and no body", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "DELETE", "/inventory_levels.json?inventory_item_id=101&location_id=1", ""); r.Status != 404 {
		t.Errorf("DELETE level twice = %d %s, want 404", r.Status, r.Body)
	}
	if got := levels(t, h, st, tok, "/inventory_levels.json?inventory_item_ids=101"); !slices.Equal(got, []string{fmt.Sprintf("101@%d=-4", loc2)}) {
		t.Errorf("levels of 101 after disconnecting location 1 = %v", got)
	}
	if got := history(t, h, st, tok, 101); len(got) != 4 {
		t.Errorf("history after disconnecting = %v, want the 4 changes kept", got)
	}
	for _, q := range []string{"", "inventory_item_id=101", "inventory_item_id=x&location_id=1", "inventory_item_id=101&location_id=0"} {
		if r := h.Do(st, tok, "DELETE", "/inventory_levels.json?"+q, ""); r.Status != 400 {
			t.Errorf("DELETE inventory_levels.json?%s = %d %s, want 400", q, r.Status, r.Body)
		}
	}
}

func TestInventoryItems(t *testing.T) {
	h := newHarness(t)
	st := h.Store("inv-items")
	tok := h.Token(st, "write_inventory")
	write(t, h, st, tok, "connect", `{"location_id":1,"inventory_item_id":7}`, 201)
	write(t, h, st, tok, "connect", `{"location_id":1,"inventory_item_id":8}`, 201)

	r := h.Do(st, tok, "PUT", "/inventory_items/7.json", `{"inventory_item":{"sku":" TEA-1 ","cost":"2.50","tracked":false,"requires_shipping":false,"id":99}}`)
	it := object(t, r, "inventory_item")
	if r.Status != 200 || it["sku"] != "TEA-1" || it["cost"] != "2.50" || it["tracked"] != false || it["requires_shipping"] != false || num(it["id"]) != 7 {
		t.Errorf("PUT inventory_items/7.json = %d %s, want sku TEA-1, cost 2.50, untracked, no shipping", r.Status, r.Body)
	}
	if it := object(t, h.Do(st, tok, "PUT", "/inventory_items/7.json", `{"inventory_item":{"cost":3}}`), "inventory_item"); it["cost"] != "3.00" || it["sku"] != "TEA-1" {
		t.Errorf("PUT cost 3 = %v, want 3.00 and the sku kept", it)
	}
	for _, tc := range []struct {
		body   string
		status int
		says   string
	}{
		{`{"inventory_item":{"cost":"1.234"}}`, 422, `"cost":["has more than 2 decimals`},
		{`{"inventory_item":{"cost":"-1"}}`, 422, `"cost":["must not be negative"]`},
		{`{"inventory_item":{"cost":"abc"}}`, 422, `"cost"`},
		{`{"inventory_item":{"tracked":"yes"}}`, 422, `"tracked":["has the wrong type`},
		{`{"inventory_item":{"sku":"` + strings.Repeat("x", 256) + `"}}`, 422, `"sku":["is too long`},
		{`{"inventory_item":null}`, 400, "inventory_item"},
		{`{"sku":"x"}`, 400, "inventory_item"},
		{`{"inventory_item":{}`, 400, "not valid JSON"},
	} {
		if r := h.Do(st, tok, "PUT", "/inventory_items/7.json", tc.body); r.Status != tc.status || !strings.Contains(r.Body, tc.says) {
			t.Errorf("PUT %.60s = %d %s, want %d saying %q", tc.body, r.Status, r.Body, tc.status, tc.says)
		}
	}
	if it := object(t, h.Do(st, tok, "GET", "/inventory_items/7.json", ""), "inventory_item"); it["cost"] != "3.00" || it["sku"] != "TEA-1" {
		t.Errorf("item after refused updates = %v, want it unchanged", it)
	}
	if it := object(t, h.Do(st, tok, "PUT", "/inventory_items/7.json", `{"inventory_item":{"cost":null}}`), "inventory_item"); it["cost"] != nil {
		t.Errorf("PUT cost null = %v, want the cost cleared", it)
	}
	if r := h.Do(st, tok, "PUT", "/inventory_items/9.json", `{"inventory_item":{"sku":"x"}}`); r.Status != 404 {
		t.Errorf("PUT an item that does not exist = %d %s, want 404", r.Status, r.Body)
	}

	var ids []int64
	for _, it := range list(t, h.Do(st, tok, "GET", "/inventory_items.json?ids=8,999,7", ""), "inventory_items") {
		ids = append(ids, num(it["id"]))
	}
	if !slices.Equal(ids, []int64{7, 8}) {
		t.Errorf("inventory_items.json?ids=8,999,7 = %v, want [7 8]", ids)
	}
	many := strings.Repeat("1,", 100) + "1"
	for _, q := range []string{"", "ids=", "ids=x", "ids=7&limit=0", "ids=" + many, "ids=7&page_info=abc"} {
		if r := h.Do(st, tok, "GET", "/inventory_items.json?"+q, ""); r.Status != 400 || !strings.Contains(r.Body, `"errors"`) {
			t.Errorf("GET inventory_items.json?%.30s = %d %s, want 400", q, r.Status, r.Body)
		}
	}
	for _, q := range []string{"", "limit=5", "inventory_item_ids=x", "location_ids=1&limit=300", "location_ids=" + strings.Repeat("1,", 50) + "1", "location_ids=1&page_info=x"} {
		if r := h.Do(st, tok, "GET", "/inventory_levels.json?"+q, ""); r.Status != 400 {
			t.Errorf("GET inventory_levels.json?%.30s = %d %s, want 400", q, r.Status, r.Body)
		}
	}

	// Costs are in the store's currency.
	if err := h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error { return tx.Exec(`UPDATE shop SET currency = 'JPY'`).Error }); err != nil {
		t.Fatal(err)
	}
	if r := h.Do(st, tok, "PUT", "/inventory_items/8.json", `{"inventory_item":{"cost":"1500"}}`); object(t, r, "inventory_item")["cost"] != "1500" {
		t.Errorf("JPY cost 1500 = %s, want \"1500\"", r.Body)
	}
	if r := h.Do(st, tok, "PUT", "/inventory_items/8.json", `{"inventory_item":{"cost":"15.5"}}`); r.Status != 422 {
		t.Errorf("JPY cost 15.5 = %d %s, want 422", r.Status, r.Body)
	}
}

func TestConcurrentAdjust(t *testing.T) {
	h := newHarness(t)
	st := h.Store("inv-concurrent")
	tok := h.Token(st, "write_inventory")
	const n = 20
	statuses := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			// The item and its level do not exist yet: the first adjustments
			// race to create them as well.
			statuses[i] = h.Do(st, tok, "POST", "/inventory_levels/adjust.json", `{"location_id":1,"inventory_item_id":42,"available_adjustment":1}`).Status
		})
	}
	wg.Wait()
	for i, s := range statuses {
		if s != 200 {
			t.Errorf("concurrent adjust %d = %d, want 200", i, s)
		}
	}
	if got := levels(t, h, st, tok, "/inventory_levels.json?inventory_item_ids=42"); !slices.Equal(got, []string{"42@1=20"}) {
		t.Errorf("after %d concurrent +1 adjustments, levels = %v, want exactly 42@1=20", n, got)
	}
	hist := history(t, h, st, tok, 42)
	afters := map[string]bool{}
	for _, a := range hist {
		afters[a] = true
	}
	if len(hist) != n || len(afters) != n {
		t.Errorf("history after %d concurrent adjustments = %v, want %d rows, each with its own count after", n, hist, n)
	}
}

func TestLevelWritesRefuseBadInput(t *testing.T) {
	h := newHarness(t)
	st := h.Store("inv-bad")
	tok := h.Token(st, "write_inventory")
	write(t, h, st, tok, "set", `{"location_id":1,"inventory_item_id":5,"available":999999990}`, 200)
	for _, tc := range []struct {
		op, body string
		status   int
		says     string
	}{
		{"connect", `{}`, 422, `"inventory_item_id":["is required"]`},
		{"connect", `{"inventory_item_id":5}`, 422, `"location_id":["is required"]`},
		{"connect", `{"location_id":1,"inventory_item_id":0}`, 422, `"inventory_item_id":["must be a positive integer"]`},
		{"connect", `{"location_id":1,"inventory_item_id":-5}`, 422, `"inventory_item_id":["must be a positive integer"]`},
		{"connect", `{"location_id":1,"inventory_item_id":5.5}`, 422, `"inventory_item_id"`},
		{"connect", `{"location_id":99,"inventory_item_id":6}`, 422, `"location_id":["not found"]`},
		{"connect", `{"location_id":true,"inventory_item_id":6}`, 422, `"location_id":["has the wrong type`},
		{"set", `{"location_id":1,"inventory_item_id":5}`, 422, `"available":["is required"]`},
		{"set", `{"location_id":1,"inventory_item_id":5,"available":null}`, 422, `"available":["is required"]`},
		{"set", `{"location_id":1,"inventory_item_id":5,"available":1.5}`, 422, `"available":["must be an integer"]`},
		{"set", `{"location_id":1,"inventory_item_id":5,"available":1e3}`, 422, `"available":["must be an integer"]`},
		{"set", `{"location_id":1,"inventory_item_id":5,"available":"x"}`, 422, `"available":["must be an integer"]`},
		{"set", `{"location_id":1,"inventory_item_id":5,"available":[1]}`, 422, `"available":["has the wrong type`},
		{"set", `{"location_id":1,"inventory_item_id":5,"available":1000000001}`, 422, `"available":["must be between -1000000000 and 1000000000"]`},
		{"set", `{"location_id":1,"inventory_item_id":5,"available":-1000000001}`, 422, `"available":["must be between`},
		{"set", `{"location_id":1,"inventory_item_id":5,"available":99999999999999999999}`, 422, `"available":["must be between`},
		{"set", `{"location_id":1,"inventory_item_id":5,"available":1,"reason":"stolen"}`, 422, `"reason":["must be one of`},
		{"set", `{"location_id":99,"inventory_item_id":6,"available":1}`, 422, `"location_id":["not found"]`},
		{"adjust", `{"location_id":1,"inventory_item_id":5,"available":1}`, 422, `"available_adjustment":["is required"]`},
		{"adjust", `{"location_id":1,"inventory_item_id":5,"available_adjustment":0.5}`, 422, `"available_adjustment":["must be an integer"]`},
		{"adjust", `{"location_id":1,"inventory_item_id":5,"available_adjustment":1000000001}`, 422, `"available_adjustment":["must be between`},
		{"adjust", `{"location_id":1,"inventory_item_id":5,"available_adjustment":11}`, 422, `"available_adjustment":["would take available beyond`},
		{"adjust", `{"location_id":99,"inventory_item_id":6,"available_adjustment":1}`, 422, `"location_id":["not found"]`},
		{"adjust", `{"location_id":1,"inventory_item_id":5,"available_adjustment":1,"reason":""}`, 200, ""}, // the default reason
		{"adjust", `{"location_id":1,"inventory_item_id":5,"available_adjustment":1`, 400, "not valid JSON"},
		{"adjust", `[]`, 400, "must be a JSON object"},
		{"adjust", `"x"`, 400, "must be a JSON object"},
		{"set", `{"inventory_level":{"location_id":1,"inventory_item_id":5,"available":1}}`, 422, `"available":["is required"]`},
		{"set", ``, 400, "must be a JSON object"},
	} {
		before := levels(t, h, st, tok, "/inventory_levels.json?location_ids=1")
		beforeHist := history(t, h, st, tok, 5)
		r := h.Do(st, tok, "POST", "/inventory_levels/"+tc.op+".json", tc.body)
		if r.Status != tc.status || !strings.Contains(r.Body, tc.says) {
			t.Errorf("POST %s.json %s = %d %s, want %d saying %q", tc.op, tc.body, r.Status, r.Body, tc.status, tc.says)
		}
		if tc.status == 200 {
			continue
		}
		if after := levels(t, h, st, tok, "/inventory_levels.json?location_ids=1"); !slices.Equal(after, before) {
			t.Errorf("POST %s.json %s refused but levels went from %v to %v", tc.op, tc.body, before, after)
		}
		if after := history(t, h, st, tok, 5); !slices.Equal(after, beforeHist) {
			t.Errorf("POST %s.json %s refused but history went from %v to %v", tc.op, tc.body, beforeHist, after)
		}
		if r := h.Do(st, tok, "GET", "/inventory_items/6.json", ""); r.Status != 404 {
			t.Errorf("POST %s.json %s refused but created item 6: %d %s", tc.op, tc.body, r.Status, r.Body)
		}
	}
}

func TestInventoryAcrossStoresAndScopes(t *testing.T) {
	h := newHarness(t)
	a, b := h.Store("inv-a"), h.Store("inv-b")
	aw, bw, ar := h.Token(a, "write_inventory"), h.Token(b, "write_inventory"), h.Token(a, "read_inventory")
	ap := h.Token(a, "write_products")
	loc := addLocation(t, h, a, "Secret depot") // b has only location 1
	write(t, h, a, aw, "set", fmt.Sprintf(`{"location_id":%d,"inventory_item_id":555,"available":42,"reason":"received"}`, loc), 200)
	if r := h.Do(a, aw, "PUT", "/inventory_items/555.json", `{"inventory_item":{"sku":"SECRET-SKU"}}`); r.Status != 200 {
		t.Fatalf("PUT a's item = %d %s", r.Status, r.Body)
	}
	set := func(item int64) string {
		return fmt.Sprintf(`{"location_id":%d,"inventory_item_id":%d,"available":1}`, loc, item)
	}
	for _, tc := range []struct {
		name              string
		st                *tenant.Tenant
		tok, method, path string
		body              string
		status            int
	}{
		{"b reads a's item", b, bw, "GET", "/inventory_items/555.json", "", 404},
		{"b updates a's item", b, bw, "PUT", "/inventory_items/555.json", `{"inventory_item":{"sku":"stolen"}}`, 404},
		{"b reads a's item's history", b, bw, "GET", "/inventory_items/555/adjustments.json", "", 404},
		{"b lists a's item by id", b, bw, "GET", "/inventory_items.json?ids=555", "", 200},
		{"b lists a's item's levels", b, bw, "GET", "/inventory_levels.json?inventory_item_ids=555", "", 200},
		{"b lists levels at a's location id", b, bw, "GET", fmt.Sprintf("/inventory_levels.json?location_ids=%d", loc), "", 200},
		{"b reads a's location", b, bw, "GET", fmt.Sprintf("/locations/%d.json", loc), "", 404},
		{"b reads levels at a's location", b, bw, "GET", fmt.Sprintf("/locations/%d/inventory_levels.json", loc), "", 404},
		{"b sets at a's location", b, bw, "POST", "/inventory_levels/set.json", set(555), 422},
		{"b connects at a's location", b, bw, "POST", "/inventory_levels/connect.json", fmt.Sprintf(`{"location_id":%d,"inventory_item_id":555}`, loc), 422},
		{"b adjusts at a's location", b, bw, "POST", "/inventory_levels/adjust.json", fmt.Sprintf(`{"location_id":%d,"inventory_item_id":555,"available_adjustment":-42}`, loc), 422},
		{"b disconnects a's level", b, bw, "DELETE", fmt.Sprintf("/inventory_levels.json?inventory_item_id=555&location_id=%d", loc), "", 404},
		{"a's token on b's host", b, aw, "GET", "/locations.json", "", 401},
		{"a's token on b's host, a's item", b, aw, "GET", "/inventory_items/555.json", "", 401},
		{"b's token on a's host", a, bw, "POST", "/inventory_levels/set.json", set(555), 401},
		{"read scope cannot connect", a, ar, "POST", "/inventory_levels/connect.json", `{"location_id":1,"inventory_item_id":555}`, 403},
		{"read scope cannot set", a, ar, "POST", "/inventory_levels/set.json", set(555), 403},
		{"read scope cannot adjust", a, ar, "POST", "/inventory_levels/adjust.json", `{"location_id":1,"inventory_item_id":555,"available_adjustment":1}`, 403},
		{"read scope cannot disconnect", a, ar, "DELETE", fmt.Sprintf("/inventory_levels.json?inventory_item_id=555&location_id=%d", loc), "", 403},
		{"read scope cannot update an item", a, ar, "PUT", "/inventory_items/555.json", `{"inventory_item":{"sku":"x"}}`, 403},
		{"products token cannot list locations", a, ap, "GET", "/locations.json", "", 403},
		{"products token cannot count locations", a, ap, "GET", "/locations/count.json", "", 403},
		{"products token cannot read an item", a, ap, "GET", "/inventory_items/555.json", "", 403},
		{"products token cannot list levels", a, ap, "GET", "/inventory_levels.json?inventory_item_ids=555", "", 403},
		{"products token cannot adjust", a, ap, "POST", "/inventory_levels/adjust.json", `{"location_id":1,"inventory_item_id":555,"available_adjustment":1}`, 403},
		{"products token cannot read history", a, ap, "GET", "/inventory_items/555/adjustments.json", "", 403},
	} {
		r := h.Do(tc.st, tc.tok, tc.method, tc.path, tc.body)
		if r.Status != tc.status || strings.Contains(r.Body, "SECRET") || strings.Contains(r.Body, "Secret depot") || strings.Contains(r.Body, `"available":42`) {
			t.Errorf("%s: %s %s = %d %s, want %d and no data of a's", tc.name, tc.method, tc.path, r.Status, r.Body, tc.status)
		}
	}
	if got := list(t, h.Do(b, bw, "GET", "/inventory_items.json?ids=555", ""), "inventory_items"); len(got) != 0 {
		t.Errorf("b's items with a's id = %v, want none", got)
	}
	if got := levels(t, h, a, ar, "/inventory_levels.json?inventory_item_ids=555"); !slices.Equal(got, []string{fmt.Sprintf("555@%d=42", loc)}) {
		t.Errorf("a's levels after b's attempts = %v, want 555 at %d still 42", got, loc)
	}
	if got := history(t, h, a, ar, 555); !slices.Equal(got, []string{"+42>42 received"}) {
		t.Errorf("a's history after b's attempts = %v, want only a's set", got)
	}
	if got := list(t, h.Do(b, bw, "GET", "/locations.json", ""), "locations"); len(got) != 1 || got[0]["name"] != "Main warehouse" {
		t.Errorf("b's locations = %v, want only its own default", got)
	}
}

func TestEnsureItemsAndQuantities(t *testing.T) {
	h := newHarness(t)
	st := h.Store("inv-exports")
	tok := h.Token(st, "write_inventory")
	ctx := context.Background()
	tx := func(fn func(tx *gorm.DB) error) {
		t.Helper()
		if err := h.DB.Tx(ctx, st, fn); err != nil {
			t.Fatal(err)
		}
	}
	sku := func(id int64) any {
		t.Helper()
		return object(t, h.Do(st, tok, "GET", fmt.Sprintf("/inventory_items/%d.json", id), ""), "inventory_item")["sku"]
	}
	tx(func(tx *gorm.DB) error { return inventory.EnsureItemsIn(tx, []int64{7, 8}, map[int64]string{7: "A"}) })
	if sku(7) != "A" || sku(8) != "" {
		t.Errorf("after EnsureItemsIn([7 8], {7:A}), skus = %v, %v; want A and empty", sku(7), sku(8))
	}
	tx(func(tx *gorm.DB) error { return inventory.EnsureItemsIn(tx, []int64{7, 8}, map[int64]string{8: "B"}) })
	if sku(7) != "A" || sku(8) != "B" {
		t.Errorf("after EnsureItemsIn([7 8], {8:B}), skus = %v, %v; want A kept and B", sku(7), sku(8))
	}
	err := h.DB.Tx(ctx, st, func(tx *gorm.DB) error { return inventory.EnsureItemsIn(tx, []int64{9, 0}, nil) })
	if errs.KindOf(err) != errs.Invalid {
		t.Errorf("EnsureItemsIn([9 0]) = %v, want kind %q", err, errs.Invalid)
	}
	if r := h.Do(st, tok, "GET", "/inventory_items/9.json", ""); r.Status != 404 {
		t.Errorf("item 9 after a refused EnsureItemsIn = %d, want 404", r.Status)
	}

	loc2 := addLocation(t, h, st, "Second")
	write(t, h, st, tok, "set", `{"location_id":1,"inventory_item_id":7,"available":5}`, 200)
	write(t, h, st, tok, "set", fmt.Sprintf(`{"location_id":%d,"inventory_item_id":7,"available":3}`, loc2), 200)
	write(t, h, st, tok, "connect", `{"location_id":1,"inventory_item_id":8}`, 201)
	quantities := func() map[int64]int64 {
		t.Helper()
		var q map[int64]int64
		tx(func(tx *gorm.DB) error {
			var err error
			q, err = inventory.QuantitiesIn(tx, []int64{7, 8, 9})
			return err
		})
		return q
	}
	if got := quantities(); len(got) != 2 || got[7] != 8 || got[8] != 0 {
		t.Errorf("QuantitiesIn([7 8 9]) = %v, want 7: 8 (5+3), 8: 0, 9 absent", got)
	}
	tx(func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE locations SET active = false WHERE id = ?`, loc2).Error
	})
	if got := quantities(); got[7] != 5 {
		t.Errorf("QuantitiesIn after deactivating location %d = %v, want 7: 5", loc2, got)
	}
	tx(func(tx *gorm.DB) error {
		q, err := inventory.QuantitiesIn(tx, nil)
		if err == nil && len(q) != 0 {
			t.Errorf("QuantitiesIn(nil) = %v, want empty", q)
		}
		return err
	})
}

// TestLevelPages: more levels than a page follow Link headers to the end
// and back again, none lost or repeated, with two locations per item so the
// cursors must hold both halves of the (item, location) order; and the same
// at one location.
func TestLevelPages(t *testing.T) {
	h := appstest.New(t, func(db *tenant.DB) []apps.Resource { return []apps.Resource{inventory.NewService(db)} })
	st := h.Store("inventory-pages")
	tok := h.Token(st, "write_inventory")
	loc := int64(h.Do(st, tok, "GET", "/locations.json", "").JSON(t)["locations"].([]any)[0].(map[string]any)["id"].(float64))
	loc2 := addLocation(t, h, st, "Second")
	var ids, all, atSecond []string
	for item := int64(101); item <= 105; item++ {
		for _, l := range []int64{loc, loc2} {
			if r := h.Do(st, tok, "POST", "/inventory_levels/set.json", fmt.Sprintf(`{"location_id":%d,"inventory_item_id":%d,"available":%d}`, l, item, item)); r.Status != 200 {
				t.Fatalf("set = %d %s", r.Status, r.Body)
			}
			all = append(all, fmt.Sprintf("%d@%d", item, l))
		}
		ids = append(ids, fmt.Sprint(item))
		atSecond = append(atSecond, fmt.Sprintf("%d@%d", item, loc2))
	}
	var lastPage string // the last next link followed
	walk := func(path, rel string) []string {
		t.Helper()
		var seen []string
		for range 20 {
			r := h.Do(st, tok, "GET", path, "")
			if r.Status != 200 {
				t.Fatalf("GET %s = %d %s", path, r.Status, r.Body)
			}
			var page []string
			for _, l := range r.JSON(t)["inventory_levels"].([]any) {
				m := l.(map[string]any)
				page = append(page, fmt.Sprintf("%v@%v", m["inventory_item_id"], m["location_id"]))
			}
			if rel == "previous" {
				seen = append(page, seen...)
			} else {
				seen = append(seen, page...)
			}
			next := r.Links(t)[rel]
			if next == "" {
				return seen
			}
			path = next
			if rel == "next" {
				lastPage = path
			}
		}
		t.Fatalf("paging %s did not end", rel)
		return nil
	}
	for _, tc := range []struct {
		first string
		want  []string
	}{
		{"/inventory_levels.json?limit=3&inventory_item_ids=" + strings.Join(ids, ","), all},
		{fmt.Sprintf("/locations/%d/inventory_levels.json?limit=2", loc2), atSecond},
	} {
		lastPage = ""
		if got := walk(tc.first, "next"); !slices.Equal(got, tc.want) {
			t.Errorf("forward from %s = %v, want %v", tc.first, got, tc.want)
		}
		// Back from the last page to the first, through previous links.
		if got := walk(lastPage, "previous"); !slices.Equal(got, tc.want) {
			t.Errorf("backward to %s = %v, want %v", tc.first, got, tc.want)
		}
	}
}
