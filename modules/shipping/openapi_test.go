package shipping_test

import (
	"fmt"
	"testing"
)

// TestOpenAPI holds openapi.yaml's description of shipping_zones.json and
// countries.json to real requests and responses, successes and errors.
func TestOpenAPI(t *testing.T) {
	h := newHarness(t)
	st := h.Store("shipping-openapi")
	tok := h.Token(st, "write_shipping")
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		return h.Checked(st, tok, method, path, body, want).JSON(t)
	}
	z := id(call("POST", "/shipping_zones.json", zoneBody, 201)["shipping_zone"].(map[string]any))
	call("POST", "/shipping_zones.json", `{"shipping_zone":{"name":""}}`, 422)
	call("GET", "/shipping_zones.json", "", 200)
	call("PUT", fmt.Sprintf("/shipping_zones/%d.json", z), zoneBody, 200)
	call("PUT", "/shipping_zones/999999.json", zoneBody, 404)

	c := call("POST", "/countries.json", `{"country":{"code":"US","tax":0}}`, 201)["country"].(map[string]any)
	call("POST", "/countries.json", `{"country":{"code":"US"}}`, 422)
	call("GET", "/countries.json", "", 200)
	call("GET", "/countries/count.json", "", 200)
	call("GET", fmt.Sprintf("/countries/%d.json", id(c)), "", 200)
	call("PUT", fmt.Sprintf("/countries/%d.json", id(c)), `{"country":{"tax":"0.01"}}`, 200)
	call("GET", fmt.Sprintf("/countries/%d/provinces.json", id(c)), "", 200)
	p := id(c["provinces"].([]any)[0].(map[string]any))
	call("GET", fmt.Sprintf("/countries/%d/provinces/%d.json", id(c), p), "", 200)
	call("PUT", fmt.Sprintf("/countries/%d/provinces/%d.json", id(c), p), `{"province":{"tax":0.0725,"tax_type":null}}`, 200)
	call("GET", "/shipping_zones.json", "", 200) // countries with their tax
	call("DELETE", fmt.Sprintf("/countries/%d.json", id(c)), "", 200)
	call("DELETE", fmt.Sprintf("/shipping_zones/%d.json", z), "", 200)
	call("GET", "/countries/999999.json", "", 404)
}
