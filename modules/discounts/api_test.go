package discounts_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/modules/apps"
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

func createRule(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok, body string) map[string]any {
	t.Helper()
	r := h.Do(st, tok, "POST", "/price_rules.json", body)
	if r.Status != 201 {
		t.Fatalf("POST price_rules.json %s = %d %s, want 201", body, r.Status, r.Body)
	}
	return object(t, r, "price_rule")
}

func createCode(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok string, ruleID int64, code string) map[string]any {
	t.Helper()
	r := h.Do(st, tok, "POST", fmt.Sprintf("/price_rules/%d/discount_codes.json", ruleID), `{"discount_code":{"code":"`+code+`"}}`)
	if r.Status != 201 {
		t.Fatalf("POST discount_codes.json %s = %d %s, want 201", code, r.Status, r.Body)
	}
	return object(t, r, "discount_code")
}

// shopifyExample is the price rule of Shopify's documentation for POST
// price_rules.json.
const shopifyExample = `{"price_rule":{"title":"SUMMERSALE10OFF","target_type":"line_item","target_selection":"all",
	"allocation_method":"across","value_type":"fixed_amount","value":"-10.0","customer_selection":"all",
	"starts_at":"2017-01-19T17:59:10Z","entitled_product_ids":[],"prerequisite_subtotal_range":{"greater_than_or_equal_to":"40.0"}}}`

func TestPriceRuleCRUD(t *testing.T) {
	h, _ := newHarness(t)
	st := h.Store("discounts-crud")
	tok := h.Token(st, "write_price_rules")

	pr := createRule(t, h, st, tok, shopifyExample)
	want := map[string]any{
		"title": "SUMMERSALE10OFF", "value_type": "fixed_amount", "value": "-10.00", "target_type": "line_item",
		"target_selection": "all", "allocation_method": "across", "customer_selection": "all", "once_per_customer": false,
		"usage_limit": nil, "ends_at": nil, "starts_at": "2017-01-19T17:59:10Z",
		"admin_graphql_api_id": fmt.Sprintf("gid://shopify/PriceRule/%d", id(pr)),
	}
	for k, v := range want {
		if pr[k] != v {
			t.Errorf("new price rule %s = %#v, want %#v", k, pr[k], v)
		}
	}
	if got := fmt.Sprint(pr["prerequisite_subtotal_range"]); got != "map[greater_than_or_equal_to:40.00]" {
		t.Errorf("prerequisite_subtotal_range = %s, want 40.00", got)
	}
	path := fmt.Sprintf("/price_rules/%d.json", id(pr))

	// Free shipping: allocation defaults to each for a shipping line.
	free := createRule(t, h, st, tok, `{"price_rule":{"title":"Free shipping","target_type":"shipping_line","value_type":"percentage","value":"-100.0","starts_at":"2025-01-01T00:00:00Z","usage_limit":20,"once_per_customer":true}}`)
	if free["allocation_method"] != "each" || free["value"] != "-100.0" || free["usage_limit"] != float64(20) || free["once_per_customer"] != true {
		t.Errorf("free shipping rule = %v", free)
	}

	r := h.Do(st, tok, "PUT", path, `{"price_rule":{"title":"Summer 12.5%","value_type":"percentage","value":-12.5,"ends_at":"2030-01-01T00:00:00+01:00","usage_limit":3,"prerequisite_subtotal_range":null}}`)
	if r.Status != 200 {
		t.Fatalf("PUT %s = %d %s", path, r.Status, r.Body)
	}
	upd := object(t, r, "price_rule")
	for k, v := range map[string]any{"title": "Summer 12.5%", "value_type": "percentage", "value": "-12.5",
		"ends_at": "2029-12-31T23:00:00Z", "usage_limit": float64(3), "prerequisite_subtotal_range": nil, "starts_at": "2017-01-19T17:59:10Z"} {
		if upd[k] != v {
			t.Errorf("updated price rule %s = %#v, want %#v", k, upd[k], v)
		}
	}
	r = h.Do(st, tok, "PUT", path, `{"price_rule":{"ends_at":null,"usage_limit":null}}`)
	if upd := object(t, r, "price_rule"); upd["ends_at"] != nil || upd["usage_limit"] != nil || upd["value"] != "-12.5" {
		t.Errorf("PUT ends_at and usage_limit null = %v", upd)
	}

	if got := object(t, h.Do(st, tok, "GET", path, ""), "price_rule"); got["title"] != "Summer 12.5%" {
		t.Errorf("GET %s title = %v", path, got["title"])
	}
	if r := h.Do(st, tok, "GET", "/price_rules/count.json", ""); r.Status != 200 || r.JSON(t)["count"] != float64(2) {
		t.Errorf("GET price_rules/count.json = %d %s, want 2", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", "/price_rules/count.json?starts_at_min=2020-01-01T00:00:00Z", ""); r.JSON(t)["count"] != float64(1) {
		t.Errorf("count with starts_at_min = %s, want 1", r.Body)
	}
	r = h.Do(st, tok, "GET", "/price_rules.json?fields=id,title", "")
	list, _ := r.JSON(t)["price_rules"].([]any)
	if r.Status != 200 || len(list) != 2 || len(list[0].(map[string]any)) != 2 {
		t.Errorf("GET price_rules.json?fields=id,title = %d %s", r.Status, r.Body)
	}

	if r := h.Do(st, tok, "DELETE", path, ""); r.Status != 204 {
		t.Errorf("DELETE %s = %d %s, want 204", path, r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", path, ""); r.Status != 404 {
		t.Errorf("GET deleted %s = %d, want 404", path, r.Status)
	}
	if r := h.Do(st, tok, "DELETE", path, ""); r.Status != 404 {
		t.Errorf("DELETE deleted %s = %d, want 404", path, r.Status)
	}
}

func TestPriceRuleValidation(t *testing.T) {
	h, _ := newHarness(t)
	st := h.Store("discounts-invalid")
	tok := h.Token(st, "write_discounts")
	jpy := h.Store("discounts-invalid-jpy")
	if err := h.DB.Tx(t.Context(), jpy, func(tx *gorm.DB) error { return tx.Exec(`UPDATE shop SET currency = 'JPY'`).Error }); err != nil {
		t.Fatal(err)
	}
	jpyTok := h.Token(jpy, "write_discounts")
	rule := func(fields string) string {
		return `{"price_rule":{"title":"T","target_type":"line_item","value_type":"percentage","value":"-10.0",` +
			`"starts_at":"2025-01-01T00:00:00Z"` + fields + `}}`
	}
	for _, tc := range []struct {
		name, body, field string
		store             *tenant.Tenant
	}{
		{"no title", `{"price_rule":{"target_type":"line_item","value_type":"percentage","value":"-10"}}`, "title", nil},
		{"blank title", rule(`,"title":"  "`), "title", nil},
		{"no value", `{"price_rule":{"title":"T","target_type":"line_item","value_type":"percentage"}}`, "value", nil},
		{"positive value", rule(`,"value":"10.0"`), "value", nil},
		{"percentage over 100", rule(`,"value":"-100.5"`), "value", nil},
		{"percentage with 3 decimals", rule(`,"value":"-10.125"`), "value", nil},
		{"value not a number", rule(`,"value":"ten"`), "value", nil},
		{"value in exponent form", rule(`,"value":"-1e2"`), "value", nil},
		{"fixed amount with 3 decimals", rule(`,"value_type":"fixed_amount","value":"-1.005"`), "value", nil},
		{"fixed amount with decimals in JPY", rule(`,"value_type":"fixed_amount","value":"-10.5"`), "value", jpy},
		{"unknown value_type", rule(`,"value_type":"bogo"`), "value_type", nil},
		{"unknown target_type", rule(`,"target_type":"order"`), "target_type", nil},
		{"entitled selection", rule(`,"target_selection":"entitled"`), "target_selection", nil},
		{"prerequisite customers", rule(`,"customer_selection":"prerequisite"`), "customer_selection", nil},
		{"each on line items", rule(`,"allocation_method":"each"`), "allocation_method", nil},
		{"across on shipping", rule(`,"target_type":"shipping_line","allocation_method":"across"`), "allocation_method", nil},
		{"ends before it starts", rule(`,"ends_at":"2024-12-31T00:00:00Z"`), "ends_at", nil},
		{"ends when it starts", rule(`,"ends_at":"2025-01-01T00:00:00Z"`), "ends_at", nil},
		{"bad starts_at", rule(`,"starts_at":"next monday"`), "starts_at", nil},
		{"null starts_at", rule(`,"starts_at":null`), "starts_at", nil},
		{"zero usage_limit", rule(`,"usage_limit":0`), "usage_limit", nil},
		{"huge usage_limit", rule(`,"usage_limit":9999999999`), "usage_limit", nil},
		{"usage_limit a string", rule(`,"usage_limit":"five"`), "usage_limit", nil},
		{"negative minimum", rule(`,"prerequisite_subtotal_range":{"greater_than_or_equal_to":"-5"}`), "prerequisite_subtotal_range", nil},
		{"entitled products", rule(`,"entitled_product_ids":[1]`), "entitled_product_ids", nil},
		{"title too long", rule(`,"title":"` + strings.Repeat("x", 256) + `"`), "title", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, tk := st, tok
			if tc.store != nil {
				s, tk = tc.store, jpyTok
			}
			r := h.Do(s, tk, "POST", "/price_rules.json", tc.body)
			if r.Status != 422 {
				t.Fatalf("POST price_rules.json %s = %d %s, want 422", tc.body, r.Status, r.Body)
			}
			errors, _ := r.JSON(t)["errors"].(map[string]any)
			if msgs, _ := errors[tc.field].([]any); len(msgs) == 0 || msgs[0] == "" {
				t.Errorf("POST price_rules.json %s errors = %s, want a message for %s", tc.body, r.Body, tc.field)
			}
		})
	}
	// Whole yen are fine in JPY.
	if r := h.Do(jpy, jpyTok, "POST", "/price_rules.json", rule(`,"value_type":"fixed_amount","value":"-500"`)); r.Status != 201 || object(t, r, "price_rule")["value"] != "-500" {
		t.Errorf("POST ¥500 off = %d %s, want 201 with value -500", r.Status, r.Body)
	}
	// Changing value_type needs a value of the new type.
	pr := createRule(t, h, st, tok, rule(""))
	if r := h.Do(st, tok, "PUT", fmt.Sprintf("/price_rules/%d.json", id(pr)), `{"price_rule":{"value_type":"fixed_amount"}}`); r.Status != 422 {
		t.Errorf("PUT value_type without value = %d %s, want 422", r.Status, r.Body)
	}
	for _, body := range []string{`{"price_rule":[]}`, `[]`, `{"price_rule":{"title":5}}`, `not json`} {
		if r := h.Do(st, tok, "POST", "/price_rules.json", body); r.Status != 400 && r.Status != 422 {
			t.Errorf("POST price_rules.json %s = %d %s, want 400 or 422", body, r.Status, r.Body)
		}
	}
	for _, q := range []string{"limit=0", "limit=251", "since_id=x", "created_at_min=yesterday", "times_used=-1"} {
		if r := h.Do(st, tok, "GET", "/price_rules.json?"+q, ""); r.Status != 400 {
			t.Errorf("GET price_rules.json?%s = %d %s, want 400", q, r.Status, r.Body)
		}
	}
}

func TestDiscountCodes(t *testing.T) {
	h, _ := newHarness(t)
	st := h.Store("discounts-codes")
	tok := h.Token(st, "write_discounts")
	pr := createRule(t, h, st, tok, shopifyExample)
	other := createRule(t, h, st, tok, shopifyExample)
	base := fmt.Sprintf("/price_rules/%d/discount_codes", id(pr))

	c := createCode(t, h, st, tok, id(pr), " SUMMERSALE10OFF ")
	if c["code"] != "SUMMERSALE10OFF" || c["usage_count"] != float64(0) || int64(c["price_rule_id"].(float64)) != id(pr) {
		t.Errorf("new discount code = %v", c)
	}
	for _, tc := range []struct{ name, body, field string }{
		{"same code, other case", `{"discount_code":{"code":"summersale10off"}}`, "code"},
		{"blank", `{"discount_code":{"code":"  "}}`, "code"},
		{"missing", `{"discount_code":{}}`, "code"},
		{"inner space", `{"discount_code":{"code":"SUMMER SALE"}}`, "code"},
		{"tab", `{"discount_code":{"code":"A\tB"}}`, "code"},
		{"too long", `{"discount_code":{"code":"` + strings.Repeat("X", 256) + `"}}`, "code"},
	} {
		// A code is unique in the store, whichever rule it is for.
		r := h.Do(st, tok, "POST", fmt.Sprintf("/price_rules/%d/discount_codes.json", id(other)), tc.body)
		errors, _ := r.JSON(t)["errors"].(map[string]any)
		if r.Status != 422 || errors[tc.field] == nil {
			t.Errorf("%s: POST discount_codes.json %s = %d %s, want 422 on %s", tc.name, tc.body, r.Status, r.Body, tc.field)
		}
	}
	if r := h.Do(st, tok, "POST", "/price_rules/999999/discount_codes.json", `{"discount_code":{"code":"X"}}`); r.Status != 404 {
		t.Errorf("POST code of no rule = %d, want 404", r.Status)
	}
	createCode(t, h, st, tok, id(pr), "SECOND")
	createCode(t, h, st, tok, id(other), "THIRD")

	r := h.Do(st, tok, "GET", base+".json?limit=1", "")
	list, _ := r.JSON(t)["discount_codes"].([]any)
	if r.Status != 200 || len(list) != 1 || list[0].(map[string]any)["code"] != "SUMMERSALE10OFF" {
		t.Fatalf("GET %s.json?limit=1 = %d %s", base, r.Status, r.Body)
	}
	next := r.Links(t)["next"]
	if next == "" {
		t.Fatalf("GET %s.json?limit=1 has no next link: %q", base, r.Header.Get("Link"))
	}
	r = h.Do(st, tok, "GET", next, "")
	list, _ = r.JSON(t)["discount_codes"].([]any)
	if r.Status != 200 || len(list) != 1 || list[0].(map[string]any)["code"] != "SECOND" || r.Links(t)["next"] != "" {
		t.Errorf("GET next page = %d %s (Link %q), want SECOND alone", r.Status, r.Body, r.Header.Get("Link"))
	}

	codePath := fmt.Sprintf("%s/%d.json", base, id(c))
	if r := h.Do(st, tok, "PUT", codePath, `{"discount_code":{"code":"WINTER"}}`); r.Status != 200 || object(t, r, "discount_code")["code"] != "WINTER" {
		t.Errorf("PUT %s = %d %s", codePath, r.Status, r.Body)
	}
	if r := h.Do(st, tok, "PUT", codePath, `{"discount_code":{"code":"third"}}`); r.Status != 422 {
		t.Errorf("PUT %s to another code's text = %d %s, want 422", codePath, r.Status, r.Body)
	}
	// A code is reached only through its own rule.
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/price_rules/%d/discount_codes/%d.json", id(other), id(c)), ""); r.Status != 404 {
		t.Errorf("GET code under another rule = %d, want 404", r.Status)
	}

	// lookup.json answers 303 to the code's URL, which serves the code.
	req, _ := http.NewRequest("GET", h.URL()+"/admin/api/2025-01/discount_codes/lookup.json?code=winter", nil)
	req.Host = st.Slug + ".localhost"
	req.Header.Set(apps.ShopifyTokenHeader, tok)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if want := "/admin/api/2025-01" + codePath; resp.StatusCode != 303 || resp.Header.Get("Location") != want {
		t.Errorf("lookup.json?code=winter = %d Location %q, want 303 %q", resp.StatusCode, resp.Header.Get("Location"), want)
	}
	if r := h.Do(st, tok, "GET", "/discount_codes/lookup.json?code=WINTER", ""); r.Status != 200 || object(t, r, "discount_code")["code"] != "WINTER" {
		t.Errorf("lookup.json, followed = %d %s", r.Status, r.Body)
	}
	for _, q := range []string{"?code=nope", "?code=", ""} {
		if r := h.Do(st, tok, "GET", "/discount_codes/lookup.json"+q, ""); r.Status != 404 {
			t.Errorf("lookup.json%s = %d, want 404", q, r.Status)
		}
	}
	if r := h.Do(st, tok, "GET", "/discount_codes/count.json", ""); r.JSON(t)["count"] != float64(3) {
		t.Errorf("discount_codes/count.json = %s, want 3", r.Body)
	}
	if r := h.Do(st, tok, "GET", "/discount_codes/count.json?times_used_min=1", ""); r.JSON(t)["count"] != float64(0) {
		t.Errorf("discount_codes/count.json?times_used_min=1 = %s, want 0", r.Body)
	}

	if r := h.Do(st, tok, "DELETE", codePath, ""); r.Status != 204 {
		t.Errorf("DELETE %s = %d %s, want 204", codePath, r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", codePath, ""); r.Status != 404 {
		t.Errorf("GET deleted code = %d, want 404", r.Status)
	}
	// Deleting a rule deletes its codes.
	h.Do(st, tok, "DELETE", fmt.Sprintf("/price_rules/%d.json", id(other)), "")
	if r := h.Do(st, tok, "GET", "/discount_codes/lookup.json?code=THIRD", ""); r.Status != 404 {
		t.Errorf("lookup of a deleted rule's code = %d, want 404", r.Status)
	}
}

// TestCrossTenant: store A's token gets 404 for store B's price rule and
// code on every route, and changes nothing.
func TestCrossTenant(t *testing.T) {
	h, svc := newHarness(t)
	a, b := h.Store("discounts-a"), h.Store("discounts-b")
	tokA, tokB := h.Token(a, "write_discounts"), h.Token(b, "write_discounts")
	pr := createRule(t, h, b, tokB, shopifyExample)
	c := createCode(t, h, b, tokB, id(pr), "BSECRET")
	rule := fmt.Sprintf("/price_rules/%d.json", id(pr))
	code := fmt.Sprintf("/price_rules/%d/discount_codes/%d.json", id(pr), id(c))
	codes := fmt.Sprintf("/price_rules/%d/discount_codes.json", id(pr))
	for _, tc := range []struct{ method, path, body string }{
		{"GET", rule, ""},
		{"PUT", rule, `{"price_rule":{"title":"mine"}}`},
		{"DELETE", rule, ""},
		{"GET", codes, ""},
		{"POST", codes, `{"discount_code":{"code":"AFROMB"}}`},
		{"GET", code, ""},
		{"PUT", code, `{"discount_code":{"code":"STOLEN"}}`},
		{"DELETE", code, ""},
		{"GET", "/discount_codes/lookup.json?code=BSECRET", ""},
	} {
		if r := h.Do(a, tokA, tc.method, tc.path, tc.body); r.Status != 404 || strings.Contains(r.Body, "BSECRET") {
			t.Errorf("store A %s %s = %d %s, want 404", tc.method, tc.path, r.Status, r.Body)
		}
	}
	// B's token on A's host is refused outright.
	if r := h.Do(a, tokB, "GET", rule, ""); r.Status != 401 {
		t.Errorf("store B's token on store A = %d, want 401", r.Status)
	}
	if r := h.Do(a, tokA, "GET", "/price_rules/count.json", ""); r.JSON(t)["count"] != float64(0) {
		t.Errorf("store A count = %s, want 0", r.Body)
	}
	got, err := svc.Code(t.Context(), b, id(pr), id(c))
	if err != nil || got.Code != "BSECRET" {
		t.Errorf("store B's code after store A's attempts = %+v, %v", got, err)
	}
}

// TestScopes: Shopify's scope names work as ours; reading needs read,
// writing needs write; staff roles as the policy says.
func TestScopes(t *testing.T) {
	h, _ := newHarness(t)
	st := h.Store("discounts-scopes")
	body := `{"price_rule":{"title":"T","target_type":"line_item","value_type":"percentage","value":"-5"}}`
	for _, tc := range []struct {
		who         string
		token       string
		read, write int
	}{
		{"read_price_rules", h.Token(st, "read_price_rules"), 200, 403},
		{"read_discounts", h.Token(st, "read_discounts"), 200, 403},
		{"write_price_rules", h.Token(st, "write_price_rules"), 200, 201},
		{"write_discounts", h.Token(st, "write_discounts"), 200, 201},
		{"write_orders", h.Token(st, "write_orders"), 403, 403},
		{"staff", h.Staff(st, "staff"), 200, 201},
		{"viewer", h.Staff(st, "viewer"), 200, 403},
		{"fulfillment", h.Staff(st, "fulfillment"), 403, 403},
		{"owner", h.Staff(st, "owner"), 200, 201},
	} {
		if r := h.Do(st, tc.token, "GET", "/price_rules.json", ""); r.Status != tc.read {
			t.Errorf("%s GET price_rules.json = %d %s, want %d", tc.who, r.Status, r.Body, tc.read)
		}
		if r := h.Do(st, tc.token, "POST", "/price_rules.json", body); r.Status != tc.write {
			t.Errorf("%s POST price_rules.json = %d %s, want %d", tc.who, r.Status, r.Body, tc.write)
		}
	}
}

func TestPriceRulesPagination(t *testing.T) {
	h, _ := newHarness(t)
	st := h.Store("discounts-pages")
	tok := h.Token(st, "write_discounts")
	var ids []int64
	for i := range 5 {
		pr := createRule(t, h, st, tok, fmt.Sprintf(`{"price_rule":{"title":"R%d","target_type":"line_item","value_type":"percentage","value":"-5","starts_at":"2025-0%d-01T00:00:00Z"}}`, i, i+1))
		ids = append(ids, id(pr))
	}
	titles := func(r appstest.Response) string {
		var out []string
		list, _ := r.JSON(t)["price_rules"].([]any)
		for _, p := range list {
			out = append(out, p.(map[string]any)["title"].(string))
		}
		return strings.Join(out, ",")
	}
	r := h.Do(st, tok, "GET", "/price_rules.json?limit=2&starts_at_min=2025-02-01T00:00:00Z", "")
	if got := titles(r); got != "R1,R2" {
		t.Fatalf("page 1 = %s, want R1,R2", got)
	}
	r = h.Do(st, tok, "GET", r.Links(t)["next"], "")
	if got := titles(r); got != "R3,R4" || r.Links(t)["previous"] == "" || r.Links(t)["next"] != "" {
		t.Fatalf("page 2 = %s (Link %q), want R3,R4 with only a previous link", got, r.Header.Get("Link"))
	}
	r = h.Do(st, tok, "GET", r.Links(t)["previous"], "")
	if got := titles(r); got != "R1,R2" {
		t.Errorf("previous page = %s, want R1,R2", got)
	}
	r = h.Do(st, tok, "GET", fmt.Sprintf("/price_rules.json?since_id=%d", ids[3]), "")
	if got := titles(r); got != "R4" {
		t.Errorf("since_id = %s, want R4", got)
	}
	if r := h.Do(st, tok, "GET", "/price_rules.json?times_used=0&ends_at_max=2025-01-01T00:00:00Z", ""); titles(r) != "" {
		t.Errorf("ends_at_max with no ends = %s, want none", titles(r))
	}
}
