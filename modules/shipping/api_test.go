package shipping_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/tenant"
)

func object(t *testing.T, r appstest.Response, key string) map[string]any {
	t.Helper()
	o, ok := r.JSON(t)[key].(map[string]any)
	if !ok {
		t.Fatalf("response %d %s has no %s", r.Status, r.Body, key)
	}
	return o
}

func id(o map[string]any) int64 { return int64(o["id"].(float64)) }

func do(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok, method, path, body string, want int) appstest.Response {
	t.Helper()
	r := h.Do(st, tok, method, path, body)
	if r.Status != want {
		t.Fatalf("%s %s %s = %d %s, want %d", method, path, body, r.Status, r.Body, want)
	}
	return r
}

const zoneBody = `{"shipping_zone":{"name":"Domestic","countries":[{"code":"US","provinces":[{"code":"CA"},{"code":"NY"}]}],
	"price_based_shipping_rates":[{"name":"Standard","price":"5.00","max_order_subtotal":"49.99"},{"name":"Free","price":0,"min_order_subtotal":"50"}],
	"weight_based_shipping_rates":[{"name":"Heavy","price":"20.00","weight_low":5,"weight_high":30.25}]}}`

func TestZonesAPI(t *testing.T) {
	h := newHarness(t)
	st := h.Store("zones-api")
	tok := h.Token(st, "write_shipping")

	z := object(t, do(t, h, st, tok, "POST", "/shipping_zones.json", zoneBody, 201), "shipping_zone")
	if z["name"] != "Domestic" {
		t.Errorf("created zone name = %v", z["name"])
	}
	countries := z["countries"].([]any)
	us := countries[0].(map[string]any)
	if us["code"] != "US" || us["name"] != "United States" || len(us["provinces"].([]any)) != 2 {
		t.Errorf("created zone country = %v, want US with 2 provinces", us)
	}
	if p := us["provinces"].([]any)[0].(map[string]any); p["code"] != "CA" || p["name"] != "California" {
		t.Errorf("created zone province = %v, want California", p)
	}
	price := z["price_based_shipping_rates"].([]any)
	if len(price) != 2 || price[0].(map[string]any)["price"] != "5.00" || price[0].(map[string]any)["max_order_subtotal"] != "49.99" ||
		price[0].(map[string]any)["min_order_subtotal"] != nil || price[1].(map[string]any)["min_order_subtotal"] != "50.00" {
		t.Errorf("created price rates = %v", price)
	}
	weight := z["weight_based_shipping_rates"].([]any)[0].(map[string]any)
	if weight["weight_low"] != float64(5) || weight["weight_high"] != 30.25 || weight["price"] != "20.00" {
		t.Errorf("created weight rate = %v, want 5 to 30.25 kg at 20.00", weight)
	}

	list := do(t, h, st, tok, "GET", "/shipping_zones.json", "", 200).JSON(t)["shipping_zones"].([]any)
	if len(list) != 1 {
		t.Fatalf("GET shipping_zones.json lists %d zones, want 1", len(list))
	}
	path := fmt.Sprintf("/shipping_zones/%d.json", id(z))
	up := object(t, do(t, h, st, tok, "PUT", path, `{"shipping_zone":{"name":"World","countries":[{"code":"*"}],
		"price_based_shipping_rates":[{"name":"Flat","price":"9.5"}]}}`, 200), "shipping_zone")
	if up["name"] != "World" || len(up["weight_based_shipping_rates"].([]any)) != 0 || len(up["price_based_shipping_rates"].([]any)) != 1 {
		t.Errorf("PUT zone = %v, want the whole zone replaced", up)
	}
	if c := up["countries"].([]any)[0].(map[string]any); c["code"] != "*" || c["name"] != "Rest of World" {
		t.Errorf("PUT zone country = %v, want rest of world", c)
	}

	for _, tc := range []struct{ body, says string }{
		{`{"shipping_zone":{"countries":[{"code":"US"}]}}`, `"name":["can't be blank"]`},
		{`{"shipping_zone":{"name":"x","countries":[{"code":"ZZ"}]}}`, `not an ISO 3166-1 country code`},
		{`{"shipping_zone":{"name":"x","countries":[{"code":"US","provinces":[{"code":"QQ"}]}]}}`, `not a province of US`},
		{`{"shipping_zone":{"name":"x","countries":[{"code":"US"}],"price_based_shipping_rates":[{"name":"a","price":"-1"}]}}`, `must not be negative`},
		{`{"shipping_zone":{"name":"x","countries":[{"code":"US"}],"price_based_shipping_rates":[{"name":"a","price":"abc"}]}}`, `decimal amount`},
		{`{"shipping_zone":{"name":"x","countries":[{"code":"US"}],"weight_based_shipping_rates":[{"name":"a","price":"1","weight_low":"heavy"}]}}`, `weight in kilograms`},
		{`{"shipping_zone":{"name":5}}`, `has the wrong type`},
	} {
		if r := h.Do(st, tok, "POST", "/shipping_zones.json", tc.body); r.Status != 422 || !strings.Contains(r.Body, tc.says) {
			t.Errorf("POST shipping_zones.json %s = %d %s, want 422 saying %q", tc.body, r.Status, r.Body, tc.says)
		}
	}
	if r := h.Do(st, tok, "POST", "/shipping_zones.json", `{"zone":{}}`); r.Status != 400 {
		t.Errorf("POST shipping_zones.json without envelope = %d %s, want 400", r.Status, r.Body)
	}

	// A read token reads and cannot write; a token without the scope cannot read.
	read := h.Token(st, "read_shipping")
	do(t, h, st, read, "GET", "/shipping_zones.json", "", 200)
	do(t, h, st, read, "POST", "/shipping_zones.json", zoneBody, 403)
	do(t, h, st, h.Token(st, "read_products"), "GET", "/shipping_zones.json", "", 403)

	// Staff set up shipping; fulfillment staff do not see it.
	do(t, h, st, h.Staff(st, tenant.RoleStaff), "POST", "/shipping_zones.json", zoneBody, 201)
	do(t, h, st, h.Staff(st, tenant.RoleFulfillment), "GET", "/shipping_zones.json", "", 403)
	do(t, h, st, h.Staff(st, tenant.RoleViewer), "GET", "/shipping_zones.json", "", 200)

	// Store B's token never sees or changes store A's zone.
	other := h.Store("zones-api-other")
	otherTok := h.Token(other, "write_shipping")
	if got := do(t, h, other, otherTok, "GET", "/shipping_zones.json", "", 200).JSON(t)["shipping_zones"].([]any); len(got) != 0 {
		t.Errorf("store B lists %d zones, want 0", len(got))
	}
	do(t, h, other, otherTok, "PUT", path, zoneBody, 404)
	do(t, h, other, otherTok, "DELETE", path, "", 404)
	if r := h.Do(st, otherTok, "GET", "/shipping_zones.json", ""); r.Status != 401 && r.Status != 403 && r.Status != 404 {
		t.Errorf("store B's token on store A = %d %s, want 401/403/404", r.Status, r.Body)
	}

	do(t, h, st, tok, "DELETE", path, "", 200)
	do(t, h, st, tok, "DELETE", path, "", 404)
	do(t, h, st, tok, "PUT", "/shipping_zones/abc.json", zoneBody, 404)
}

func TestCountriesAPI(t *testing.T) {
	h := newHarness(t)
	st := h.Store("countries-api")
	tok := h.Token(st, "write_shipping")

	ca := object(t, do(t, h, st, tok, "POST", "/countries.json", `{"country":{"code":"CA","tax":0.05,"tax_name":"GST"}}`, 201), "country")
	if ca["name"] != "Canada" || ca["tax"] != 0.05 || ca["tax_name"] != "GST" || len(ca["provinces"].([]any)) != 13 {
		t.Fatalf("POST countries.json CA = %v", ca)
	}
	cpath := fmt.Sprintf("/countries/%d.json", id(ca))
	do(t, h, st, tok, "POST", "/countries.json", `{"country":{"code":"FR","tax":"0.2"}}`, 201)
	if n := do(t, h, st, tok, "GET", "/countries/count.json", "", 200).JSON(t)["count"]; n != float64(2) {
		t.Errorf("countries/count.json = %v, want 2", n)
	}
	if list := do(t, h, st, tok, "GET", "/countries.json", "", 200).JSON(t)["countries"].([]any); len(list) != 2 {
		t.Errorf("countries.json lists %d, want 2", len(list))
	}
	got := object(t, do(t, h, st, tok, "PUT", cpath, `{"country":{"tax":"0.06"}}`, 200), "country")
	if got["tax"] != 0.06 || got["tax_name"] != "GST" {
		t.Errorf("PUT country tax = %v", got)
	}
	object(t, do(t, h, st, tok, "GET", cpath, "", 200), "country")

	provinces := do(t, h, st, tok, "GET", fmt.Sprintf("/countries/%d/provinces.json", id(ca)), "", 200).JSON(t)["provinces"].([]any)
	var on map[string]any
	for _, p := range provinces {
		if p.(map[string]any)["code"] == "ON" {
			on = p.(map[string]any)
		}
	}
	if on == nil || on["name"] != "Ontario" || on["tax_type"] != nil {
		t.Fatalf("provinces.json has Ontario %v", on)
	}
	ppath := fmt.Sprintf("/countries/%d/provinces/%d.json", id(ca), id(on))
	p := object(t, do(t, h, st, tok, "PUT", ppath, `{"province":{"tax":0.13,"tax_name":"HST","tax_type":"harmonized"}}`, 200), "province")
	if p["tax"] != 0.13 || p["tax_type"] != "harmonized" || p["tax_percentage"] != float64(13) || p["tax_name"] != "HST" {
		t.Errorf("PUT province = %v", p)
	}
	p = object(t, do(t, h, st, tok, "PUT", ppath, `{"province":{"tax_type":null}}`, 200), "province")
	if p["tax_type"] != nil || p["tax"] != 0.13 {
		t.Errorf("PUT province tax_type null = %v", p)
	}

	for _, tc := range []struct{ method, path, body, says string }{
		{"POST", "/countries.json", `{"country":{"code":"CA"}}`, `"code":["has already been taken"]`},
		{"POST", "/countries.json", `{"country":{"code":"QQ"}}`, `not an ISO 3166-1 country code`},
		{"POST", "/countries.json", `{"country":{"tax":0.1}}`, `"code":["can't be blank"]`},
		{"POST", "/countries.json", `{"country":{"code":"DE","tax":1.5}}`, `between 0 and 1`},
		{"PUT", cpath, `{"country":{"code":"US"}}`, `cannot be changed`},
		{"PUT", cpath, `{"country":{"tax":"x"}}`, `decimal fraction`},
		{"PUT", ppath, `{"province":{"tax_type":"sometimes"}}`, `must be null`},
		{"PUT", ppath, `{"province":{"tax":-0.1}}`, `between 0 and 1`},
	} {
		if r := h.Do(st, tok, tc.method, tc.path, tc.body); r.Status != 422 || !strings.Contains(r.Body, tc.says) {
			t.Errorf("%s %s %s = %d %s, want 422 saying %q", tc.method, tc.path, tc.body, r.Status, r.Body, tc.says)
		}
	}

	// Store B's token never sees or changes store A's rates.
	other := h.Store("countries-api-other")
	otherTok := h.Token(other, "write_shipping")
	do(t, h, other, otherTok, "GET", cpath, "", 404)
	do(t, h, other, otherTok, "PUT", cpath, `{"country":{"tax":0.5}}`, 404)
	do(t, h, other, otherTok, "DELETE", cpath, "", 404)
	do(t, h, other, otherTok, "GET", fmt.Sprintf("/countries/%d/provinces.json", id(ca)), "", 404)
	do(t, h, other, otherTok, "PUT", ppath, `{"province":{"tax":0.5}}`, 404)
	do(t, h, other, otherTok, "GET", ppath, "", 404)
	if n := do(t, h, other, otherTok, "GET", "/countries/count.json", "", 200).JSON(t)["count"]; n != float64(0) {
		t.Errorf("store B countries/count.json = %v, want 0", n)
	}

	do(t, h, st, h.Token(st, "read_shipping"), "PUT", cpath, `{"country":{"tax":0.5}}`, 403)
	do(t, h, st, tok, "DELETE", cpath, "", 200)
	do(t, h, st, tok, "GET", cpath, "", 404)
	do(t, h, st, tok, "GET", ppath, "", 404)
}
