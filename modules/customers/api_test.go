package customers_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/tenant"
)

func newHarness(t testing.TB) *appstest.Harness {
	return appstest.New(t, func(db *tenant.DB) []apps.Resource { return []apps.Resource{customers.NewService(db)} })
}

func object(t *testing.T, r appstest.Response, key string) map[string]any {
	t.Helper()
	o, ok := r.JSON(t)[key].(map[string]any)
	if !ok {
		t.Fatalf("response %d %s has no %s", r.Status, r.Body, key)
	}
	return o
}

func create(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok, body string) map[string]any {
	t.Helper()
	r := h.Do(st, tok, "POST", "/customers.json", body)
	if r.Status != 201 {
		t.Fatalf("POST customers.json %s = %d %s, want 201", body, r.Status, r.Body)
	}
	return object(t, r, "customer")
}

func id(o map[string]any) int64 { return int64(o["id"].(float64)) }

func count(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok string) int {
	t.Helper()
	r := h.Do(st, tok, "GET", "/customers/count.json", "")
	if r.Status != 200 {
		t.Fatalf("GET customers/count.json = %d %s", r.Status, r.Body)
	}
	return int(r.JSON(t)["count"].(float64))
}

// emails lists the emails of a customers.json answer, in order.
func emails(t *testing.T, r appstest.Response) []string {
	t.Helper()
	list, ok := r.JSON(t)["customers"].([]any)
	if !ok {
		t.Fatalf("response %d %s has no customers", r.Status, r.Body)
	}
	var out []string
	for _, c := range list {
		e, _ := c.(map[string]any)["email"].(string)
		out = append(out, e)
	}
	return out
}

func TestCreateCustomerDefaults(t *testing.T) {
	h := newHarness(t)
	st := h.Store("customers-defaults")
	tok := h.Token(st, "write_customers")
	c := create(t, h, st, tok, `{"customer":{"email":" Ada@Example.com ","first_name":"Ada","tags":"vip, wholesale ,VIP"}}`)
	want := map[string]any{
		"email": "Ada@Example.com", "first_name": "Ada", "last_name": nil, "phone": nil, "note": nil,
		"tags": "vip, wholesale", "accepts_marketing": false, "state": "disabled", "verified_email": false,
		"orders_count": float64(0), "total_spent": "0.00", "currency": "USD", "default_address": nil,
		"admin_graphql_api_id": fmt.Sprintf("gid://shopify/Customer/%d", id(c)),
	}
	for k, v := range want {
		if c[k] != v {
			t.Errorf("new customer %s = %#v, want %#v", k, c[k], v)
		}
	}
	if as, ok := c["addresses"].([]any); !ok || len(as) != 0 {
		t.Errorf("new customer addresses = %#v, want []", c["addresses"])
	}
	if c["created_at"] == nil || c["updated_at"] == nil {
		t.Errorf("new customer created_at, updated_at = %v, %v; want times", c["created_at"], c["updated_at"])
	}
	// Tags may come as a list too; a phone alone is enough.
	c = create(t, h, st, tok, `{"customer":{"phone":"+15551234567","tags":["a","b","a"],"accepts_marketing":true}}`)
	if c["tags"] != "a, b" || c["accepts_marketing"] != true || c["email"] != nil {
		t.Errorf("customer with a phone only = %v; want tags \"a, b\", accepts_marketing, no email", c)
	}
}

func TestCreateCustomerWithAddresses(t *testing.T) {
	h := newHarness(t)
	st := h.Store("customers-addresses-new")
	tok := h.Token(st, "write_customers")
	c := create(t, h, st, tok, `{"customer":{"email":"bo@example.com","addresses":[
		{"address1":"1 Main St","city":"Ottawa","country":"Canada","country_code":"ca","first_name":"Bo","last_name":"Li"},
		{"address1":"2 Side St","city":"Lyon","country_code":"FR","company":"Soie"}]}}`)
	as := c["addresses"].([]any)
	if len(as) != 2 {
		t.Fatalf("addresses = %v, want 2", as)
	}
	first, second := as[0].(map[string]any), as[1].(map[string]any)
	if first["default"] != true || second["default"] != false || first["country_code"] != "CA" || first["name"] != "Bo Li" ||
		first["customer_id"] != c["id"] || second["company"] != "Soie" || second["address2"] != nil {
		t.Errorf("addresses = %v; want the first default (CA, Bo Li), the second not", as)
	}
	if d, ok := c["default_address"].(map[string]any); !ok || d["id"] != first["id"] {
		t.Errorf("default_address = %v, want the first address", c["default_address"])
	}

	c = create(t, h, st, tok, `{"customer":{"first_name":"Cy","addresses":[{"city":"A"},{"city":"B","default":true}]}}`)
	if d := c["default_address"].(map[string]any); d["city"] != "B" {
		t.Errorf("default_address = %v, want the one marked default (B)", d)
	}
}

func TestCreateCustomerRefusesBadInput(t *testing.T) {
	h := newHarness(t)
	st := h.Store("customers-bad")
	tok := h.Token(st, "write_customers")
	create(t, h, st, tok, `{"customer":{"email":"taken@example.com"}}`)
	long := strings.Repeat("x", 256)
	for _, tc := range []struct {
		body   string
		status int
		says   string
	}{
		{`{"customer":{}}`, 422, `"base":["Customer must have a name, phone number or email address"]`},
		{`{"customer":{"email":"","note":"just a note"}}`, 422, "Customer must have a name"},
		{`{"customer":{"first_name":"  "}}`, 422, "Customer must have a name"},
		{`{"customer":{"email":"not-an-email"}}`, 422, `"email":["is invalid"]`},
		{`{"customer":{"email":"a@localhost"}}`, 422, `"email":["is invalid"]`},
		{`{"customer":{"email":"Ann <ann@example.com>"}}`, 422, `"email":["is invalid"]`},
		{`{"customer":{"email":"taken@example.com"}}`, 422, `"email":["has already been taken"]`},
		{`{"customer":{"email":"TAKEN@Example.COM"}}`, 422, `"email":["has already been taken"]`},
		{`{"customer":{"first_name":"` + long + `"}}`, 422, `"first_name":["is too long (maximum is 255 characters)"]`},
		{`{"customer":{"last_name":"x","note":"` + long + `"}}`, 422, `"note":["is too long`},
		{`{"customer":{"last_name":"x","tags":"` + long + `"}}`, 422, `"tags"`},
		{`{"customer":{"last_name":"x","addresses":[{"country_code":"CAN"}]}}`, 422, "address 1: country_code must be two letters"},
		{`{"customer":{"last_name":"x","addresses":[{"city":"ok"},{"zip":"` + long + `"}]}}`, 422, "address 2: zip is too long"},
		{`{"customer":{"last_name":"x","addresses":[{"country_code":"1A"}]}}`, 422, "country_code"},
		{`{"customer":{"email":5}}`, 422, `"email":["has the wrong type`},
		{`{"customer":{"last_name":"x","accepts_marketing":"yes"}}`, 422, "accepts_marketing"},
		{`{"customer":{"last_name":"x","addresses":{"city":"x"}}}`, 422, "addresses"},
		{`{"customer":{"last_name":"x","tags":5}}`, 422, "tags"},
		{`{"customer":"x"}`, 400, "must be a JSON object"},
		{`{"customer":null}`, 400, `{\"customer\": {...}}`},
		{`{"email":"no@envelope.com"}`, 400, `{\"customer\": {...}}`},
		{`{"customer":{"email":"x@example.com"}`, 400, "not valid JSON"},
		{`[]`, 400, "not valid JSON"},
		{`{"customer":{"email":null,"phone":"+1555"}}`, 201, ""},
		{`{"customer":{"last_name":"x","addresses":[{"country_code":"gb"}]}}`, 201, ""},
	} {
		before := count(t, h, st, tok)
		r := h.Do(st, tok, "POST", "/customers.json", tc.body)
		short := tc.body
		if len(short) > 70 {
			short = short[:70] + "…"
		}
		if r.Status != tc.status || !strings.Contains(r.Body, tc.says) {
			t.Errorf("POST %s = %d %s, want %d saying %q", short, r.Status, r.Body, tc.status, tc.says)
		}
		if after := count(t, h, st, tok); tc.status != 201 && after != before {
			t.Errorf("POST %s refused but the customer count went from %d to %d", short, before, after)
		}
	}
}

func TestUpdateAndDeleteCustomer(t *testing.T) {
	h := newHarness(t)
	st := h.Store("customers-update")
	tok := h.Token(st, "write_customers")
	c := create(t, h, st, tok, `{"customer":{"email":"dee@example.com","first_name":"Dee","phone":"+4420","addresses":[{"city":"Leeds"}]}}`)
	create(t, h, st, tok, `{"customer":{"email":"other@example.com"}}`)
	path := fmt.Sprintf("/customers/%d.json", id(c))

	r := h.Do(st, tok, "PUT", path, `{"customer":{"last_name":"Dunn","note":"prefers post","tags":"vip","phone":null,"email":"DEE@example.com","id":999}}`)
	if r.Status != 200 {
		t.Fatalf("PUT %s = %d %s", path, r.Status, r.Body)
	}
	got := object(t, r, "customer")
	if got["first_name"] != "Dee" || got["last_name"] != "Dunn" || got["note"] != "prefers post" || got["tags"] != "vip" ||
		got["phone"] != nil || got["email"] != "DEE@example.com" || got["id"] != c["id"] || len(got["addresses"].([]any)) != 1 {
		t.Errorf("updated customer = %v; want first_name kept, last_name, note, tags set, phone cleared, own email recased, address kept", got)
	}

	for _, tc := range []struct{ body, says string }{
		{`{"customer":{"email":"OTHER@example.com"}}`, `"email":["has already been taken"]`},
		{`{"customer":{"email":"","first_name":"","last_name":""}}`, "Customer must have a name"},
		{`{"customer":{"email":"bad"}}`, "is invalid"},
		{`{"customer":{"addresses":[{"city":"x"}]}}`, "addresses"},
	} {
		if r := h.Do(st, tok, "PUT", path, tc.body); r.Status != 422 || !strings.Contains(r.Body, tc.says) {
			t.Errorf("PUT %s = %d %s, want 422 saying %q", tc.body, r.Status, r.Body, tc.says)
		}
	}
	if r := h.Do(st, tok, "GET", path, ""); object(t, r, "customer")["email"] != "DEE@example.com" {
		t.Errorf("after refused updates, customer = %s; want it unchanged", r.Body)
	}
	if r := h.Do(st, tok, "PUT", path, `{"product":{}}`); r.Status != 400 {
		t.Errorf("PUT without the customer envelope = %d %s, want 400", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "DELETE", path, ""); r.Status != 200 || r.Body != "{}" {
		t.Errorf("DELETE %s = %d %s, want 200 {}", path, r.Status, r.Body)
	}
	for _, m := range []string{"GET", "DELETE"} {
		if r := h.Do(st, tok, m, path, ""); r.Status != 404 || r.Body != `{"errors":"Not Found"}` {
			t.Errorf("%s deleted customer = %d %s, want 404 {\"errors\":\"Not Found\"}", m, r.Status, r.Body)
		}
	}
	if r := h.Do(st, tok, "PUT", path, `{"customer":{"first_name":"x"}}`); r.Status != 404 {
		t.Errorf("PUT deleted customer = %d, want 404", r.Status)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/customers/%d/addresses.json", id(c)), ""); r.Status != 404 {
		t.Errorf("addresses of a deleted customer = %d %s, want 404", r.Status, r.Body)
	}
	// The email is free again once its customer is gone.
	create(t, h, st, tok, `{"customer":{"email":"dee@example.com"}}`)
	for _, p := range []string{"/customers/abc.json", "/customers/0.json", "/customers/12", "/customers/-1.json"} {
		if r := h.Do(st, tok, "GET", p, ""); r.Status != 404 {
			t.Errorf("GET %s = %d, want 404", p, r.Status)
		}
	}
}

func TestSearchCustomers(t *testing.T) {
	h := newHarness(t)
	st := h.Store("customers-search")
	tok := h.Token(st, "read_customers", "write_customers")
	for _, body := range []string{
		`{"customer":{"email":"ann.lee@example.com","first_name":"Ann","last_name":"Lee","phone":"+15550001","tags":"vip"}}`,
		`{"customer":{"email":"bob@shop.test","first_name":"Bob","last_name":"Annis","tags":"wholesale, VIP"}}`,
		`{"customer":{"email":"cat@example.com","first_name":"Mary Ann","last_name":"Cat","phone":"+4470002"}}`,
		`{"customer":{"email":"d_100%@example.com","first_name":"Dan"}}`,
	} {
		create(t, h, st, tok, body)
	}
	for q, want := range map[string][]string{
		"":                       {"ann.lee@example.com", "bob@shop.test", "cat@example.com", "d_100%@example.com"},
		"ann":                    {"ann.lee@example.com", "bob@shop.test", "cat@example.com"},
		"ANN example":            {"ann.lee@example.com", "cat@example.com"},
		"email:example.com":      {"ann.lee@example.com", "cat@example.com", "d_100%@example.com"},
		"first_name:ann":         {"ann.lee@example.com", "cat@example.com"},
		`first_name:"mary ann"`:  {"cat@example.com"},
		"last_name:annis":        {"bob@shop.test"},
		"phone:+4470":            {"cat@example.com"},
		"tag:vip":                {"ann.lee@example.com", "bob@shop.test"},
		"tag:wholesale":          {"bob@shop.test"},
		"tag:vi":                 nil,
		"tag:vip first_name:bob": {"bob@shop.test"},
		"100%":                   {"d_100%@example.com"},
		"_":                      {"d_100%@example.com"},
		"nobody":                 nil,
	} {
		r := h.Do(st, tok, "GET", "/customers/search.json?query="+url.QueryEscape(q), "")
		if got := emails(t, r); r.Status != 200 || !slices.Equal(got, want) {
			t.Errorf("search.json?query=%q = %d %v, want %v", q, r.Status, got, want)
		}
	}
	r := h.Do(st, tok, "GET", "/customers/search.json?query=example&limit=2", "")
	if got := emails(t, r); !slices.Equal(got, []string{"ann.lee@example.com", "cat@example.com"}) {
		t.Fatalf("search example limit 2 = %v", got)
	}
	next := r.Links(t)["next"]
	if !strings.Contains(next, "/customers/search.json?") {
		t.Fatalf("search next link = %q, want one to search.json", next)
	}
	if got := emails(t, h.Do(st, tok, "GET", next, "")); !slices.Equal(got, []string{"d_100%@example.com"}) {
		t.Errorf("search example page 2 = %v, want the query carried over", got)
	}
	for _, q := range []string{"limit=0", "limit=251", "page_info=nope", "query=" + strings.Repeat("a", 1001)} {
		if r := h.Do(st, tok, "GET", "/customers/search.json?"+q, ""); r.Status != 400 {
			t.Errorf("search.json?%.40s = %d %s, want 400", q, r.Status, r.Body)
		}
	}
}

func addressesOf(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok string, customerID int64) []map[string]any {
	t.Helper()
	r := h.Do(st, tok, "GET", fmt.Sprintf("/customers/%d/addresses.json", customerID), "")
	list, ok := r.JSON(t)["addresses"].([]any)
	if r.Status != 200 || !ok {
		t.Fatalf("GET addresses.json = %d %s", r.Status, r.Body)
	}
	var out []map[string]any
	for _, a := range list {
		out = append(out, a.(map[string]any))
	}
	return out
}

// defaults returns the cities of a customer's addresses, the default ones
// marked with a star.
func defaults(as []map[string]any) []string {
	var out []string
	for _, a := range as {
		s, _ := a["city"].(string)
		if a["default"] == true {
			s += "*"
		}
		out = append(out, s)
	}
	return out
}

func TestAddresses(t *testing.T) {
	h := newHarness(t)
	st := h.Store("customers-addresses")
	tok := h.Token(st, "write_customers")
	c := create(t, h, st, tok, `{"customer":{"email":"eve@example.com"}}`)
	base := fmt.Sprintf("/customers/%d/addresses", id(c))

	add := func(body string) map[string]any {
		t.Helper()
		r := h.Do(st, tok, "POST", base+".json", body)
		if r.Status != 201 {
			t.Fatalf("POST %s.json %s = %d %s, want 201", base, body, r.Status, r.Body)
		}
		return object(t, r, "customer_address")
	}
	a1 := add(`{"address":{"city":"Oslo","country_code":"no","address1":"Gate 1"}}`)
	if a1["default"] != true || a1["country_code"] != "NO" || a1["customer_id"] != c["id"] {
		t.Errorf("first address = %v, want the default, country_code NO, of the customer", a1)
	}
	a2 := add(`{"address":{"city":"Bergen"}}`)
	a3 := add(`{"address":{"city":"Tromsø","default":true}}`)
	if got := defaults(addressesOf(t, h, st, tok, id(c))); !slices.Equal(got, []string{"Oslo", "Bergen", "Tromsø*"}) {
		t.Errorf("addresses after adding a default = %v, want Tromsø the only default", got)
	}

	path2 := fmt.Sprintf("%s/%d.json", base, id(a2))
	r := h.Do(st, tok, "PUT", fmt.Sprintf("%s/%d/default.json", base, id(a2)), "")
	if r.Status != 200 || object(t, r, "customer_address")["default"] != true {
		t.Errorf("PUT default.json = %d %s, want 200 with the address now default", r.Status, r.Body)
	}
	if got := defaults(addressesOf(t, h, st, tok, id(c))); !slices.Equal(got, []string{"Oslo", "Bergen*", "Tromsø"}) {
		t.Errorf("addresses after default.json = %v, want Bergen the only default", got)
	}
	if r := h.Do(st, tok, "PUT", fmt.Sprintf("%s/%d/default.json", base, id(a2)), ""); r.Status != 200 {
		t.Errorf("PUT default.json on the default = %d %s, want 200", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", "/customers/"+fmt.Sprint(id(c))+".json", ""); object(t, r, "customer")["default_address"].(map[string]any)["city"] != "Bergen" {
		t.Errorf("customer's default_address = %s, want Bergen", r.Body)
	}

	r = h.Do(st, tok, "GET", path2, "")
	if r.Status != 200 || object(t, r, "customer_address")["city"] != "Bergen" {
		t.Errorf("GET %s = %d %s, want Bergen", path2, r.Status, r.Body)
	}
	r = h.Do(st, tok, "PUT", path2, `{"address":{"zip":"5003","company":"Fisk","city":null}}`)
	got := object(t, r, "customer_address")
	if r.Status != 200 || got["zip"] != "5003" || got["company"] != "Fisk" || got["city"] != nil || got["default"] != true {
		t.Errorf("PUT %s = %d %v, want zip and company set, city cleared, still default", path2, r.Status, got)
	}
	if r := h.Do(st, tok, "PUT", path2, `{"address":{"country_code":"NOR"}}`); r.Status != 422 || !strings.Contains(r.Body, `"country_code"`) {
		t.Errorf("PUT country_code NOR = %d %s, want 422 about country_code", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "PUT", path2, `{"address":{"zip":"`+strings.Repeat("9", 256)+`"}}`); r.Status != 422 || !strings.Contains(r.Body, `"zip"`) {
		t.Errorf("PUT a long zip = %d %s, want 422 about zip", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "PUT", fmt.Sprintf("%s/%d.json", base, id(a1)), `{"address":{"default":true}}`); r.Status != 200 || object(t, r, "customer_address")["default"] != true {
		t.Errorf("PUT default:true = %d %s, want it the default", r.Status, r.Body)
	}
	if got := defaults(addressesOf(t, h, st, tok, id(c))); !slices.Equal(got, []string{"Oslo*", "", "Tromsø"}) {
		t.Errorf("addresses after PUT default:true = %v, want Oslo the only default", got)
	}

	// The default cannot be deleted; the others can.
	r = h.Do(st, tok, "DELETE", fmt.Sprintf("%s/%d.json", base, id(a1)), "")
	if r.Status != 422 || strings.TrimSpace(r.Body) != `{"errors":{"base":["Cannot delete the customer’s default address"]}}` {
		t.Errorf("DELETE the default address = %d %s, want 422 Cannot delete the customer’s default address", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "DELETE", fmt.Sprintf("%s/%d.json", base, id(a3)), ""); r.Status != 200 || r.Body != "{}" {
		t.Errorf("DELETE an address = %d %s, want 200 {}", r.Status, r.Body)
	}
	if got := defaults(addressesOf(t, h, st, tok, id(c))); !slices.Equal(got, []string{"Oslo*", ""}) {
		t.Errorf("addresses after a delete = %v, want Oslo* and Bergen's", got)
	}
	for _, tc := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("%s/%d.json", base, id(a3)), ""},
		{"DELETE", fmt.Sprintf("%s/%d.json", base, id(a3)), ""},
		{"PUT", fmt.Sprintf("%s/%d.json", base, id(a3)), `{"address":{"city":"x"}}`},
		{"PUT", fmt.Sprintf("%s/%d/default.json", base, id(a3)), ""},
		{"GET", base + "/abc.json", ""},
		{"GET", "/customers/abc/addresses.json", ""},
		{"POST", "/customers/999999/addresses.json", `{"address":{"city":"x"}}`},
	} {
		if r := h.Do(st, tok, tc.method, tc.path, tc.body); r.Status != 404 || r.Body != `{"errors":"Not Found"}` {
			t.Errorf("%s %s = %d %s, want 404", tc.method, tc.path, r.Status, r.Body)
		}
	}
	// Another customer's address is not reachable through this customer.
	other := create(t, h, st, tok, `{"customer":{"first_name":"Other","addresses":[{"city":"Elsewhere"}]}}`)
	otherAddr := id(other["addresses"].([]any)[0].(map[string]any))
	for _, m := range []string{"GET", "DELETE"} {
		if r := h.Do(st, tok, m, fmt.Sprintf("%s/%d.json", base, otherAddr), ""); r.Status != 404 {
			t.Errorf("%s another customer's address through this one = %d %s, want 404", m, r.Status, r.Body)
		}
	}
	if r := h.Do(st, tok, "POST", base+".json", `{"customer_address":{"city":"x"}}`); r.Status != 400 {
		t.Errorf("POST an address without the address envelope = %d %s, want 400", r.Status, r.Body)
	}
}

func TestListPaginationAndFilters(t *testing.T) {
	h := newHarness(t)
	st := h.Store("customers-list")
	tok := h.Token(st, "write_customers")
	var ids []int64
	for i := 1; i <= 7; i++ {
		ids = append(ids, id(create(t, h, st, tok, fmt.Sprintf(`{"customer":{"email":"c%d@example.com"}}`, i))))
	}
	r := h.Do(st, tok, "GET", "/customers.json?limit=3", "")
	l := r.Links(t)
	if got := emails(t, r); !slices.Equal(got, []string{"c1@example.com", "c2@example.com", "c3@example.com"}) || l["next"] == "" || l["previous"] != "" {
		t.Fatalf("page 1 = %v, links %v; want c1-c3 and only a next link", got, l)
	}
	r2 := h.Do(st, tok, "GET", l["next"], "")
	l2 := r2.Links(t)
	if got := emails(t, r2); !slices.Equal(got, []string{"c4@example.com", "c5@example.com", "c6@example.com"}) || l2["next"] == "" || l2["previous"] == "" {
		t.Fatalf("page 2 = %v, links %v; want c4-c6 with next and previous", got, l2)
	}
	r3 := h.Do(st, tok, "GET", l2["next"], "")
	l3 := r3.Links(t)
	if got := emails(t, r3); !slices.Equal(got, []string{"c7@example.com"}) || l3["next"] != "" || l3["previous"] == "" {
		t.Fatalf("page 3 = %v, links %v; want c7 with only a previous link", got, l3)
	}
	back := h.Do(st, tok, "GET", l3["previous"], "")
	if got := emails(t, back); !slices.Equal(got, []string{"c4@example.com", "c5@example.com", "c6@example.com"}) {
		t.Errorf("previous of page 3 = %v, want c4-c6", got)
	}
	if lb := back.Links(t); lb["previous"] == "" || lb["next"] == "" {
		t.Errorf("previous page's links = %v, want both", lb)
	}
	back1 := h.Do(st, tok, "GET", back.Links(t)["previous"], "")
	if lb := back1.Links(t); !slices.Equal(emails(t, back1), []string{"c1@example.com", "c2@example.com", "c3@example.com"}) || lb["previous"] != "" || lb["next"] == "" {
		t.Errorf("back to page 1 = %v, links %v; want c1-c3 and only a next link", emails(t, back1), lb)
	}

	// Filters carry over in page_info.
	r = h.Do(st, tok, "GET", fmt.Sprintf("/customers.json?ids=%d,%d,%d&limit=2", ids[6], ids[1], ids[3]), "")
	if got := emails(t, r); !slices.Equal(got, []string{"c2@example.com", "c4@example.com"}) {
		t.Errorf("ids page 1 = %v", got)
	}
	if got := emails(t, h.Do(st, tok, "GET", r.Links(t)["next"], "")); !slices.Equal(got, []string{"c7@example.com"}) {
		t.Errorf("ids page 2 = %v, want c7 (the filter carried over)", got)
	}

	for q, want := range map[string][]string{
		fmt.Sprintf("since_id=%d", ids[4]):           {"c6@example.com", "c7@example.com"},
		fmt.Sprintf("ids=%d", ids[2]):                {"c3@example.com"},
		"updated_at_min=2000-01-01T00:00:00Z":        {"c1@example.com", "c2@example.com", "c3@example.com", "c4@example.com", "c5@example.com", "c6@example.com", "c7@example.com"},
		"created_at_max=2000-01-01T00:00:00%2B01:00": nil,
		"created_at_min=2999-01-01T00:00:00Z":        nil,
	} {
		if got := emails(t, h.Do(st, tok, "GET", "/customers.json?"+q, "")); !slices.Equal(got, want) {
			t.Errorf("GET customers.json?%s = %v, want %v", q, got, want)
		}
	}
	if n := count(t, h, st, tok); n != 7 {
		t.Errorf("count.json = %d, want 7", n)
	}
	if r := h.Do(st, tok, "GET", "/customers/count.json?created_at_max=2000-01-01T00:00:00Z", ""); r.Body != `{"count":0}` {
		t.Errorf("count.json?created_at_max=2000 = %s, want {\"count\":0}", r.Body)
	}

	r = h.Do(st, tok, "GET", "/customers.json?fields=id,email&limit=1", "")
	c := r.JSON(t)["customers"].([]any)[0].(map[string]any)
	if len(c) != 2 || c["email"] != "c1@example.com" {
		t.Errorf("fields=id,email gave %v, want only id and email", c)
	}
	if next := r.Links(t)["next"]; !strings.Contains(next, "fields=id%2Cemail") {
		t.Errorf("next link %q does not keep fields", next)
	}
	r = h.Do(st, tok, "GET", fmt.Sprintf("/customers/%d.json?fields=email,state", ids[0]), "")
	if c := object(t, r, "customer"); len(c) != 2 || c["state"] != "disabled" {
		t.Errorf("one customer with fields=email,state = %v", c)
	}

	for _, q := range []string{"limit=0", "limit=251", "limit=x", "since_id=-1", "ids=1,x", "created_at_min=yesterday",
		"updated_at_max=2025-13-01T00:00:00Z", "page_info=garbage", "page_info=" + url.QueryEscape("e30") + "&since_id=1"} {
		if r := h.Do(st, tok, "GET", "/customers.json?"+q, ""); r.Status != 400 || !strings.Contains(r.Body, `"errors"`) {
			t.Errorf("GET customers.json?%s = %d %s, want 400 naming the parameter", q, r.Status, r.Body)
		}
	}
}

func TestCustomersAcrossStoresAndScopes(t *testing.T) {
	h := newHarness(t)
	a, b := h.Store("customers-a"), h.Store("customers-b")
	aw, bw, ar := h.Token(a, "write_customers"), h.Token(b, "write_customers"), h.Token(a, "read_customers")
	ap := h.Token(a, "write_products")
	// Ids are per store: a's customer gets id 3, so that b's own customer 1
	// cannot answer for it.
	create(t, h, a, aw, `{"customer":{"first_name":"Filler"}}`)
	create(t, h, a, aw, `{"customer":{"first_name":"Filler"}}`)
	ca := create(t, h, a, aw, `{"customer":{"email":"secret@a.example","first_name":"Secretive","addresses":[{"city":"Hidden City"},{"city":"Other Hidden"}]}}`)
	create(t, h, b, bw, `{"customer":{"email":"someone@b.example"}}`)
	as := ca["addresses"].([]any)
	addr := id(as[0].(map[string]any))
	second := id(as[1].(map[string]any))
	path := fmt.Sprintf("/customers/%d.json", id(ca))
	apath := fmt.Sprintf("/customers/%d/addresses/%d.json", id(ca), addr)

	for _, tc := range []struct {
		name   string
		st     *tenant.Tenant
		tok    string
		method string
		path   string
		body   string
		status int
	}{
		{"b reads a's customer id", b, bw, "GET", path, "", 404},
		{"b updates a's customer id", b, bw, "PUT", path, `{"customer":{"first_name":"stolen"}}`, 404},
		{"b deletes a's customer id", b, bw, "DELETE", path, "", 404},
		{"b lists a's customer's addresses", b, bw, "GET", fmt.Sprintf("/customers/%d/addresses.json", id(ca)), "", 404},
		{"b adds an address to a's customer", b, bw, "POST", fmt.Sprintf("/customers/%d/addresses.json", id(ca)), `{"address":{"city":"x"}}`, 404},
		{"b reads a's address", b, bw, "GET", apath, "", 404},
		{"b updates a's address", b, bw, "PUT", apath, `{"address":{"city":"stolen"}}`, 404},
		{"b deletes a's address", b, bw, "DELETE", fmt.Sprintf("/customers/%d/addresses/%d.json", id(ca), second), "", 404},
		{"b makes a's address default", b, bw, "PUT", fmt.Sprintf("/customers/%d/addresses/%d/default.json", id(ca), second), "", 404},
		{"b asks for a's id in ids", b, bw, "GET", fmt.Sprintf("/customers.json?ids=%d", id(ca)), "", 200},
		{"b searches for a's customer", b, bw, "GET", "/customers/search.json?query=secret", "", 200},
		{"a's token on b's host", b, aw, "GET", "/customers.json", "", 401},
		{"a's token on b's host, a's customer id", b, aw, "GET", path, "", 401},
		{"b's token on a's host", a, bw, "GET", path, "", 401},
		{"read scope cannot create", a, ar, "POST", "/customers.json", `{"customer":{"first_name":"x"}}`, 403},
		{"read scope cannot update", a, ar, "PUT", path, `{"customer":{"first_name":"x"}}`, 403},
		{"read scope cannot delete", a, ar, "DELETE", path, "", 403},
		{"read scope cannot add an address", a, ar, "POST", fmt.Sprintf("/customers/%d/addresses.json", id(ca)), `{"address":{"city":"x"}}`, 403},
		{"read scope cannot change the default", a, ar, "PUT", fmt.Sprintf("/customers/%d/addresses/%d/default.json", id(ca), second), "", 403},
		{"products token cannot list customers", a, ap, "GET", "/customers.json", "", 403},
		{"products token cannot read a customer", a, ap, "GET", path, "", 403},
		{"products token cannot search", a, ap, "GET", "/customers/search.json?query=secret", "", 403},
		{"products token cannot count", a, ap, "GET", "/customers/count.json", "", 403},
		{"products token cannot read addresses", a, ap, "GET", apath, "", 403},
	} {
		r := h.Do(tc.st, tc.tok, tc.method, tc.path, tc.body)
		if r.Status != tc.status || strings.Contains(r.Body, "Secretive") || strings.Contains(r.Body, "Hidden") || strings.Contains(r.Body, "secret@") {
			t.Errorf("%s: %s %s = %d %s, want %d and no data of a's", tc.name, tc.method, tc.path, r.Status, r.Body, tc.status)
		}
	}
	if got := emails(t, h.Do(b, bw, "GET", "/customers.json", "")); !slices.Equal(got, []string{"someone@b.example"}) {
		t.Errorf("b's customer list = %v, want only b's", got)
	}
	r := h.Do(a, ar, "GET", path, "")
	c := object(t, r, "customer")
	if r.Status != 200 || c["first_name"] != "Secretive" || len(c["addresses"].([]any)) != 2 || c["default_address"].(map[string]any)["city"] != "Hidden City" {
		t.Errorf("a's read token reading a's customer = %d %s, want 200 with it and both addresses unchanged", r.Status, r.Body)
	}
	if r := h.Do(a, ar, "GET", "/customers/search.json?query=secret", ""); !slices.Equal(emails(t, r), []string{"secret@a.example"}) {
		t.Errorf("a's read token searching = %d %s, want a's customer", r.Status, r.Body)
	}
}

func TestCustomerOnJPYStore(t *testing.T) {
	h := newHarness(t)
	st := h.Store("customers-yen")
	if err := h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error { return tx.Exec(`UPDATE shop SET currency = 'JPY'`).Error }); err != nil {
		t.Fatal(err)
	}
	tok := h.Token(st, "write_customers")
	c := create(t, h, st, tok, `{"customer":{"first_name":"Haru"}}`)
	if c["currency"] != "JPY" || c["total_spent"] != "0" {
		t.Errorf("JPY store customer currency, total_spent = %v, %v; want JPY, 0", c["currency"], c["total_spent"])
	}
}

func TestParseSearch(t *testing.T) {
	for q, want := range map[string][]customers.Term{
		"":                              nil,
		"  ann  ":                       {{Value: "ann"}},
		"ann lee":                       {{Value: "ann"}, {Value: "lee"}},
		`"ann lee"`:                     {{Value: "ann lee"}},
		`Email:a@b.c tag:"big spender"`: {{Field: "email", Value: "a@b.c"}, {Field: "tag", Value: "big spender"}},
		"country:CA":                    {{Value: "country:CA"}},
		"email:":                        {{Value: "email:"}},
		"phone:+1 first_name:Jo":        {{Field: "phone", Value: "+1"}, {Field: "first_name", Value: "Jo"}},
	} {
		if got := customers.ParseSearch(q); !slices.Equal(got, want) {
			t.Errorf("ParseSearch(%q) = %+v, want %+v", q, got, want)
		}
	}
}
