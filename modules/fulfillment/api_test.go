package fulfillment_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/fulfillment"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

func newHarness(t testing.TB) *appstest.Harness {
	return appstest.New(t, func(db *tenant.DB) []apps.Resource {
		return []apps.Resource{fulfillment.NewService(db), orders.NewService(db)}
	})
}

func object(t *testing.T, r appstest.Response, key string) map[string]any {
	t.Helper()
	o, ok := r.JSON(t)[key].(map[string]any)
	if !ok {
		t.Fatalf("response %d %s has no %s", r.Status, r.Body, key)
	}
	return o
}

func id(o map[string]any) int64 { return int64(o["id"].(float64)) }

func createProvider(t *testing.T, h *appstest.Harness, st *tenant.Tenant, tok, body string) map[string]any {
	t.Helper()
	r := h.Do(st, tok, "POST", "/fulfillment_services.json", body)
	if r.Status != 201 {
		t.Fatalf("POST fulfillment_services.json %s = %d %s, want 201", body, r.Status, r.Body)
	}
	return object(t, r, "fulfillment_service")
}

// names lists the names of a fulfillment_services.json answer, in order.
func names(t *testing.T, r appstest.Response) []string {
	t.Helper()
	list, ok := r.JSON(t)["fulfillment_services"].([]any)
	if r.Status != 200 || !ok {
		t.Fatalf("response %d %s has no fulfillment_services", r.Status, r.Body)
	}
	out := []string{}
	for _, p := range list {
		out = append(out, p.(map[string]any)["name"].(string))
	}
	return out
}

func TestProviderLifecycle(t *testing.T) {
	h := newHarness(t)
	st := h.Store("fs-life")
	app := h.Token(st, "write_fulfillments")
	other := h.Token(st, "write_fulfillments")

	p := createProvider(t, h, st, app, `{"fulfillment_service":{"name":" Jupiter Fulfillment ","callback_url":"https://jupiter.example/hooks","inventory_management":true,"tracking_support":true,"format":"json","email":"ops@jupiter.example"}}`)
	want := map[string]any{
		"name": "Jupiter Fulfillment", "service_name": "Jupiter Fulfillment", "handle": "jupiter-fulfillment",
		"callback_url": "https://jupiter.example/hooks", "format": "json", "email": "ops@jupiter.example",
		"inventory_management": true, "tracking_support": true, "requires_shipping_method": false, "permits_sku_sharing": false,
		"fulfillment_orders_opt_in": true, "include_pending_stock": false, "provider_id": nil, "location_id": nil, "default": false,
		"admin_graphql_api_id": fmt.Sprintf("gid://shopify/ApiFulfillmentService/%d", id(p)),
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("new fulfillment service %s = %#v, want %#v", k, p[k], v)
		}
	}
	second := createProvider(t, h, st, other, `{"fulfillment_service":{"name":"Saturn 3PL","callback_url":"https://saturn.example","default":true}}`)
	if second["email"] != nil || second["default"] != true {
		t.Errorf("second service = %v, want email null and default true", second)
	}

	// Each app lists its own; scope=all lists the store's.
	if got := names(t, h.Do(st, app, "GET", "/fulfillment_services.json", "")); strings.Join(got, ",") != "Jupiter Fulfillment" {
		t.Errorf("GET fulfillment_services.json as the first app = %v, want its own", got)
	}
	if got := names(t, h.Do(st, app, "GET", "/fulfillment_services.json?scope=all", "")); strings.Join(got, ",") != "Jupiter Fulfillment,Saturn 3PL" {
		t.Errorf("GET fulfillment_services.json?scope=all = %v, want both", got)
	}
	if r := h.Do(st, app, "GET", "/fulfillment_services.json?scope=mine", ""); r.Status != 400 || !strings.Contains(r.Body, "current_client or all") {
		t.Errorf("GET ?scope=mine = %d %s, want 400 naming the scopes", r.Status, r.Body)
	}
	// Staff see every service.
	owner := h.Staff(st, tenant.RoleOwner)
	if got := names(t, h.Do(st, owner, "GET", "/fulfillment_services.json", "")); len(got) != 2 {
		t.Errorf("GET fulfillment_services.json as the owner = %v, want both", got)
	}

	// Renaming changes the handle; making it the default takes the default
	// from the other.
	r := h.Do(st, app, "PUT", fmt.Sprintf("/fulfillment_services/%d.json", id(p)), `{"fulfillment_service":{"name":"Jupiter Logistics","default":true}}`)
	if r.Status != 200 {
		t.Fatalf("PUT = %d %s", r.Status, r.Body)
	}
	if u := object(t, r, "fulfillment_service"); u["handle"] != "jupiter-logistics" || u["default"] != true || u["tracking_support"] != true {
		t.Errorf("updated service = %v, want handle jupiter-logistics, default, tracking kept", u)
	}
	if g := object(t, h.Do(st, app, "GET", fmt.Sprintf("/fulfillment_services/%d.json", id(second)), ""), "fulfillment_service"); g["default"] != false {
		t.Errorf("the former default after another became it: default = %v, want false", g["default"])
	}

	// Another app may read a service but not change or delete it.
	if r := h.Do(st, other, "PUT", fmt.Sprintf("/fulfillment_services/%d.json", id(p)), `{"fulfillment_service":{"name":"Mine now"}}`); r.Status != 404 {
		t.Errorf("PUT another app's service = %d %s, want 404", r.Status, r.Body)
	}
	if r := h.Do(st, other, "DELETE", fmt.Sprintf("/fulfillment_services/%d.json", id(p)), ""); r.Status != 404 {
		t.Errorf("DELETE another app's service = %d %s, want 404", r.Status, r.Body)
	}
	// The owner may.
	if r := h.Do(st, owner, "PUT", fmt.Sprintf("/fulfillment_services/%d.json", id(second)), `{"fulfillment_service":{"permits_sku_sharing":true}}`); r.Status != 200 {
		t.Errorf("PUT as the owner = %d %s, want 200", r.Status, r.Body)
	}

	if r := h.Do(st, app, "DELETE", fmt.Sprintf("/fulfillment_services/%d.json", id(p)), ""); r.Status != 200 || r.Body != "{}" {
		t.Errorf("DELETE = %d %s, want 200 {}", r.Status, r.Body)
	}
	if r := h.Do(st, app, "GET", fmt.Sprintf("/fulfillment_services/%d.json", id(p)), ""); r.Status != 404 {
		t.Errorf("GET a deleted service = %d, want 404", r.Status)
	}
	// Its name is free again.
	createProvider(t, h, st, app, `{"fulfillment_service":{"name":"Jupiter Logistics","callback_url":"https://jupiter.example/v2"}}`)
}

func TestProviderValidation(t *testing.T) {
	h := newHarness(t)
	st := h.Store("fs-valid")
	tok := h.Token(st, "write_fulfillments")
	createProvider(t, h, st, tok, `{"fulfillment_service":{"name":"Taken Name","callback_url":"https://taken.example"}}`)
	for _, tc := range []struct {
		name, body string
		field      string
		message    string
	}{
		{"no name", `{"callback_url":"https://a.example"}`, "name", "can't be blank"},
		{"blank name", `{"name":"  ","callback_url":"https://a.example"}`, "name", "can't be blank"},
		{"no letters", `{"name":"!!!","callback_url":"https://a.example"}`, "name", "must contain a letter or a digit"},
		{"long name", `{"name":"` + strings.Repeat("n", 256) + `","callback_url":"https://a.example"}`, "name", "is too long"},
		{"taken", `{"name":"taken  name!","callback_url":"https://a.example"}`, "name", "has already been taken"},
		{"no callback", `{"name":"A"}`, "callback_url", "can't be blank"},
		{"plain http", `{"name":"A","callback_url":"http://a.example/hooks"}`, "callback_url", "must use https"},
		{"relative", `{"name":"A","callback_url":"/hooks"}`, "callback_url", "must be an absolute URL"},
		{"with password", `{"name":"A","callback_url":"https://u:p@a.example"}`, "callback_url", "must be an absolute URL"},
		{"xml", `{"name":"A","callback_url":"https://a.example","format":"xml"}`, "format", "must be json"},
		{"bad email", `{"name":"A","callback_url":"https://a.example","email":"not an email"}`, "email", "must be an email address"},
		{"wrong type", `{"name":"A","callback_url":"https://a.example","tracking_support":"yes"}`, "tracking_support", "has the wrong type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Do(st, tok, "POST", "/fulfillment_services.json", `{"fulfillment_service":`+tc.body+`}`)
			if r.Status != 422 {
				t.Fatalf("POST %s = %d %s, want 422", tc.body, r.Status, r.Body)
			}
			errors, _ := r.JSON(t)["errors"].(map[string]any)
			msgs, _ := errors[tc.field].([]any)
			if len(msgs) == 0 || !strings.Contains(fmt.Sprint(msgs), tc.message) {
				t.Errorf("POST %s errors = %v, want %s: %q", tc.body, r.Body, tc.field, tc.message)
			}
		})
	}
	// A loopback http address is for development; where it leads is
	// checked when requests are sent.
	createProvider(t, h, st, tok, `{"fulfillment_service":{"name":"Local","callback_url":"http://127.0.0.1:9/hooks"}}`)
	if r := h.Do(st, tok, "POST", "/fulfillment_services.json", `{"fulfillment_service":`); r.Status != 400 {
		t.Errorf("POST broken JSON = %d %s, want 400", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "POST", "/fulfillment_services.json", `{"service":{}}`); r.Status != 400 {
		t.Errorf("POST without the envelope = %d %s, want 400", r.Status, r.Body)
	}
	list := names(t, h.Do(st, tok, "GET", "/fulfillment_services.json", ""))
	if len(list) != 2 {
		t.Errorf("services after refused creates = %v, want the 2 made", list)
	}
}

// TestProviderOtherStore: store A's token never reaches store B's services.
func TestProviderOtherStore(t *testing.T) {
	h := newHarness(t)
	a, b := h.Store("fs-a"), h.Store("fs-b")
	tokA, tokB := h.Token(a, "write_fulfillments"), h.Token(b, "write_fulfillments")
	p := createProvider(t, h, b, tokB, `{"fulfillment_service":{"name":"B Warehouse","callback_url":"https://b.example"}}`)
	path := fmt.Sprintf("/fulfillment_services/%d.json", id(p))
	for _, m := range []struct{ method, body string }{{"GET", ""}, {"PUT", `{"fulfillment_service":{"name":"Stolen"}}`}, {"DELETE", ""}} {
		if r := h.Do(a, tokA, m.method, path, m.body); r.Status != 404 || strings.Contains(r.Body, "B Warehouse") {
			t.Errorf("%s %s with store A's token = %d %s, want 404", m.method, path, r.Status, r.Body)
		}
	}
	if got := names(t, h.Do(a, tokA, "GET", "/fulfillment_services.json?scope=all", "")); len(got) != 0 {
		t.Errorf("store A lists %v, want none of store B's", got)
	}
	// Store B's token on store A's host is not a token at all.
	if r := h.Do(a, tokB, "GET", path, ""); r.Status != 401 {
		t.Errorf("GET %s with store B's token on store A = %d, want 401", path, r.Status)
	}
	if g := object(t, h.Do(b, tokB, "GET", path, ""), "fulfillment_service"); g["name"] != "B Warehouse" {
		t.Errorf("store B's own service = %v", g)
	}
}

func TestProviderScopes(t *testing.T) {
	h := newHarness(t)
	st := h.Store("fs-scopes")
	reader, orderApp := h.Token(st, "read_fulfillments"), h.Token(st, "write_orders")
	if r := h.Do(st, reader, "POST", "/fulfillment_services.json", `{"fulfillment_service":{"name":"A","callback_url":"https://a.example"}}`); r.Status != 403 || !strings.Contains(r.Body, "write_fulfillments") {
		t.Errorf("POST with read_fulfillments = %d %s, want 403 naming write_fulfillments", r.Status, r.Body)
	}
	if r := h.Do(st, reader, "GET", "/fulfillment_services.json", ""); r.Status != 200 {
		t.Errorf("GET with read_fulfillments = %d %s, want 200", r.Status, r.Body)
	}
	if r := h.Do(st, orderApp, "GET", "/fulfillment_services.json", ""); r.Status != 403 {
		t.Errorf("GET with write_orders only = %d %s, want 403", r.Status, r.Body)
	}
	if r := h.Do(st, reader, "DELETE", "/fulfillment_services/1.json", ""); r.Status != 403 {
		t.Errorf("DELETE with read_fulfillments = %d %s, want 403", r.Status, r.Body)
	}
}
