package discounts_test

import (
	"fmt"
	"testing"
)

// TestOpenAPI holds openapi.yaml's description of the discounts resources
// to real requests and responses, successes and errors.
func TestOpenAPI(t *testing.T) {
	h, _ := newHarness(t)
	st := h.Store("discounts-openapi")
	tok := h.Token(st, "write_discounts")
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		r := h.Checked(st, tok, method, path, body, want)
		if r.Body == "" {
			return nil
		}
		return r.JSON(t)
	}
	pr := id(call("POST", "/price_rules.json", shopifyExample, 201)["price_rule"].(map[string]any))
	call("POST", "/price_rules.json", `{"price_rule":{"title":"Free shipping","target_type":"shipping_line","value_type":"percentage","value":-100,"usage_limit":10,"ends_at":"2099-01-01T00:00:00Z"}}`, 201)
	call("POST", "/price_rules.json", `{"price_rule":{"title":""}}`, 422)
	call("GET", "/price_rules.json?limit=1", "", 200)
	call("GET", "/price_rules/count.json", "", 200)
	call("GET", fmt.Sprintf("/price_rules/%d.json", pr), "", 200)
	call("PUT", fmt.Sprintf("/price_rules/%d.json", pr), `{"price_rule":{"ends_at":null,"usage_limit":null,"prerequisite_subtotal_range":null}}`, 200)
	call("GET", "/price_rules/999999.json", "", 404)
	codes := fmt.Sprintf("/price_rules/%d/discount_codes", pr)
	c := id(call("POST", codes+".json", `{"discount_code":{"code":"SPEC10"}}`, 201)["discount_code"].(map[string]any))
	call("POST", codes+".json", `{"discount_code":{"code":"spec10"}}`, 422)
	call("GET", codes+".json", "", 200)
	call("GET", fmt.Sprintf("%s/%d.json", codes, c), "", 200)
	call("PUT", fmt.Sprintf("%s/%d.json", codes, c), `{"discount_code":{"code":"SPEC-10"}}`, 200)
	call("GET", "/discount_codes/lookup.json?code=spec-10", "", 303)
	call("GET", "/discount_codes/lookup.json?code=none", "", 404)
	call("GET", "/discount_codes/count.json?times_used=0", "", 200)
	call("DELETE", fmt.Sprintf("%s/%d.json", codes, c), "", 204)
	call("DELETE", fmt.Sprintf("/price_rules/%d.json", pr), "", 204)
}
