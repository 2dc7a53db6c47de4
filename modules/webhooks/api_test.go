package webhooks_test

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
)

// names is a resolver for tests: the names it knows, and how often it was
// asked, since no test may depend on real DNS.
type names struct {
	addrs map[string][]netip.Addr
	asked atomic.Int64
}

func (n *names) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	n.asked.Add(1)
	if a, ok := n.addrs[host]; ok {
		return a, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func testNames() *names {
	pub := []netip.Addr{netip.MustParseAddr("93.184.215.14")}
	return &names{addrs: map[string][]netip.Addr{
		"erp.example": pub, "x.example": pub,
		"loop.example":     {netip.MustParseAddr("127.0.0.1")},
		"intranet.example": {netip.MustParseAddr("93.184.215.14"), netip.MustParseAddr("10.0.0.5")},
	}}
}

// newHarness serves webhooks.json with the address check on, looking names
// up in testNames.
func newHarness(t *testing.T) *appstest.Harness {
	return appstest.New(t, func(db *tenant.DB) []apps.Resource {
		return []apps.Resource{webhooks.NewService(db, webhooks.WithResolver(testNames()))}
	})
}

func TestWebhookSubscriptions(t *testing.T) {
	h := newHarness(t)
	st := h.Store("hooks-a")
	app, other := h.Token(st, "read_products"), h.Token(st, "read_orders")

	r := h.Do(st, app, "POST", "/webhooks.json", `{"webhook":{"topic":"products/update","address":"https://erp.example/hooks","format":"json","fields":["id","title"]}}`)
	if r.Status != 201 {
		t.Fatalf("POST webhooks.json = %d %s, want 201", r.Status, r.Body)
	}
	w := r.JSON(t)["webhook"].(map[string]any)
	if w["topic"] != "products/update" || w["address"] != "https://erp.example/hooks" || w["api_version"] != "2025-01" || fmt.Sprint(w["fields"]) != "[id title]" {
		t.Errorf("created webhook = %v", w)
	}
	path := fmt.Sprintf("/webhooks/%d.json", int64(w["id"].(float64)))

	for _, tc := range []struct {
		tok, body string
		status    int
		says      string
	}{
		{app, `{"webhook":{"topic":"orders/create","address":"https://erp.example/hooks"}}`, 403, "read_orders scope"},
		{app, `{"webhook":{"topic":"products/update","address":"https://erp.example/hooks"}}`, 422, "already been taken"},
		{app, `{"webhook":{"topic":"products/explode","address":"https://erp.example/hooks"}}`, 422, "not a known topic"},
		{app, `{"webhook":{"topic":"products/create","address":"http://erp.example/hooks"}}`, 422, "must use https"},
		{app, `{"webhook":{"topic":"products/create","address":"erp.example"}}`, 422, "absolute URL"},
		{app, `{"webhook":{"topic":"products/create","address":"https://u:p@erp.example/"}}`, 422, "absolute URL"},
		{app, `{"webhook":{"topic":"products/create"}}`, 422, `"address":["can't be blank"]`},
		{app, `{"webhook":{"topic":"products/create","address":"https://erp.example/x","format":"xml"}}`, 422, "must be json"},
		{app, `{"topic":"products/create"}`, 400, "webhook"},
		{app, `{"webhook":{"topic":"products/create","address":"https://93.184.215.14/hooks"}}`, 201, ""},
		{app, `{"webhook":{"topic":"app/uninstalled","address":"https://erp.example/gone"}}`, 201, ""},
		{other, `{"webhook":{"topic":"products/update","address":"https://erp.example/hooks"}}`, 403, "read_products scope"},
		{other, `{"webhook":{"topic":"orders/paid","address":"https://erp.example/hooks"}}`, 201, ""},
	} {
		if r := h.Do(st, tc.tok, "POST", "/webhooks.json", tc.body); r.Status != tc.status || !strings.Contains(r.Body, tc.says) {
			t.Errorf("POST %s = %d %s, want %d saying %q", tc.body, r.Status, r.Body, tc.status, tc.says)
		}
	}

	// Each app sees only its own subscriptions.
	if r := h.Do(st, app, "GET", "/webhooks/count.json", ""); r.Body != `{"count":3}` {
		t.Errorf("app's count = %s, want 3", r.Body)
	}
	if r := h.Do(st, other, "GET", "/webhooks.json", ""); strings.Contains(r.Body, "products/update") || !strings.Contains(r.Body, "orders/paid") {
		t.Errorf("other app's list = %s, want only its own orders/paid", r.Body)
	}
	if r := h.Do(st, other, "GET", path, ""); r.Status != 404 {
		t.Errorf("other app reading app's subscription = %d, want 404", r.Status)
	}
	if r := h.Do(st, other, "DELETE", path, ""); r.Status != 404 {
		t.Errorf("other app deleting app's subscription = %d, want 404", r.Status)
	}
	if r := h.Do(st, app, "GET", "/webhooks.json?topic=products/create", ""); strings.Count(r.Body, `"id"`) != 1 {
		t.Errorf("topic filter = %s, want one", r.Body)
	}

	if r := h.Do(st, app, "PUT", path, `{"webhook":{"address":"https://erp.example/v2"}}`); r.Status != 200 || !strings.Contains(r.Body, "/v2") {
		t.Errorf("PUT address = %d %s", r.Status, r.Body)
	}
	if r := h.Do(st, app, "PUT", path, `{"webhook":{"topic":"orders/paid"}}`); r.Status != 403 {
		t.Errorf("PUT to a topic the app may not read = %d %s, want 403", r.Status, r.Body)
	}
	if r := h.Do(st, app, "DELETE", path, ""); r.Status != 200 || r.Body != "{}" {
		t.Errorf("DELETE = %d %s", r.Status, r.Body)
	}
	if r := h.Do(st, app, "GET", path, ""); r.Status != 404 {
		t.Errorf("GET deleted = %d, want 404", r.Status)
	}

	// Another store: its token is unknown here, and its own list is empty.
	b := h.Store("hooks-b")
	btok := h.Token(b, "read_products")
	if r := h.Do(st, btok, "GET", "/webhooks.json", ""); r.Status != 401 {
		t.Errorf("b's token on a's host = %d, want 401", r.Status)
	}
	if r := h.Do(b, btok, "GET", "/webhooks.json", ""); r.Body != `{"webhooks":[]}` {
		t.Errorf("b's list = %s, want empty", r.Body)
	}
	if r := h.Do(b, btok, "GET", fmt.Sprintf("/webhooks/%d.json", 1), ""); r.Status != 404 {
		t.Errorf("b reading subscription 1 = %d, want 404", r.Status)
	}
}

// TestStaffCannotSubscribe: a subscription belongs to an app; a staff
// session is refused, even an owner's.
func TestStaffCannotSubscribe(t *testing.T) {
	h := newHarness(t)
	st := h.Store("hooks-staff")
	owner := h.Staff(st, tenant.RoleOwner)
	for _, m := range []string{"GET", "POST"} {
		r := h.Do(st, owner, m, "/webhooks.json", `{"webhook":{"topic":"orders/create","address":"https://x.example/h"}}`)
		if r.Status != 403 || !strings.Contains(r.Body, "app's access token") {
			t.Errorf("%s webhooks.json with an owner's session = %d %s, want 403", m, r.Status, r.Body)
		}
	}
}

// TestDeliveriesAreTheAppsOwn: an app reads its subscriptions' delivery
// logs, and no other app's, in no other store.
func TestDeliveriesAreTheAppsOwn(t *testing.T) {
	h := newHarness(t)
	a, b := h.Store("hooks-log-a"), h.Store("hooks-log-b")
	mine, theirs := h.Token(a, "read_products"), h.Token(a, "read_products")
	r := h.Do(a, mine, "POST", "/webhooks.json", `{"webhook":{"topic":"products/create","address":"https://x.example/h"}}`)
	if r.Status != 201 {
		t.Fatalf("POST webhooks.json = %d %s", r.Status, r.Body)
	}
	id := int64(r.JSON(t)["webhook"].(map[string]any)["id"].(float64))
	path := fmt.Sprintf("/webhooks/%d/deliveries.json", id)
	if r := h.Do(a, mine, "GET", path, ""); r.Status != 200 || !strings.Contains(r.Body, `"deliveries":[]`) {
		t.Errorf("GET %s by its app = %d %s, want an empty log", path, r.Status, r.Body)
	}
	if r := h.Do(a, theirs, "GET", path, ""); r.Status != 404 {
		t.Errorf("GET %s by another app = %d, want 404", path, r.Status)
	}
	if r := h.Do(b, h.Token(b, "read_products"), "GET", path, ""); r.Status != 404 {
		t.Errorf("GET %s on another store = %d, want 404", path, r.Status)
	}
	if r := h.Do(a, mine, "GET", path+"?limit=0", ""); r.Status != 400 {
		t.Errorf("GET %s?limit=0 = %d, want 400", path, r.Status)
	}
	// Replays, likewise: the subscribing app's own, in its own store.
	replay := fmt.Sprintf("/webhooks/%d/replay.json", id)
	since := `{"since":"2026-01-01T00:00:00Z"}`
	for _, tc := range []struct {
		name  string
		st    *tenant.Tenant
		token string
		body  string
		want  int
	}{
		{"its app", a, mine, since, 202},
		{"another app", a, theirs, since, 404},
		{"another store", b, h.Token(b, "read_products"), since, 404},
		{"nothing named", a, mine, `{}`, 422},
		{"not a time", a, mine, `{"since":"yesterday"}`, 400},
		{"not JSON", a, mine, `{"since":`, 400},
		{"missed", a, mine, `{"missed":true}`, 202},
		{"missed, another app", a, theirs, `{"missed":true}`, 404},
		{"missed, another store", b, h.Token(b, "read_products"), `{"missed":true}`, 404},
		{"missed and since", a, mine, `{"missed":true,"since":"2026-01-01T00:00:00Z"}`, 422},
	} {
		if r := h.Do(tc.st, tc.token, "POST", replay, tc.body); r.Status != tc.want {
			t.Errorf("%s: POST %s %s = %d %s, want %d", tc.name, replay, tc.body, r.Status, r.Body, tc.want)
		}
	}
}

// TestEveryOrderTopicCanBeSubscribed: each topic the orders module emits
// is one partners can subscribe to, under the scope of its resource.
func TestEveryOrderTopicCanBeSubscribed(t *testing.T) {
	for _, topic := range []string{orders.TopicCreate, orders.TopicUpdated, orders.TopicPaid, orders.TopicCancelled, orders.TopicFulfilled,
		orders.TopicPartiallyFulfilled, orders.TopicDelete, orders.TopicTransactionCreate, orders.TopicRefundCreate,
		orders.TopicFulfillmentCreate, orders.TopicFulfillmentUpdate} {
		if _, ok := webhooks.Topics[topic]; !ok {
			t.Errorf("topic %s is emitted but cannot be subscribed to", topic)
		}
	}
}
