package orders_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

func newHarness(t testing.TB) *appstest.Harness {
	return appstest.New(t, func(db *tenant.DB) []apps.Resource {
		return []apps.Resource{orders.NewService(db), catalog.NewService(db, catalog.Files{})}
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

// tea creates a product whose one variant is tracked at 12.50, and stocks
// n of it; it returns the variant id.
func tea(t *testing.T, h *appstest.Harness, st *tenant.Tenant, n int64) int64 {
	t.Helper()
	tok := h.Token(st, "write_products")
	r := h.Do(st, tok, "POST", "/products.json", `{"product":{"title":"Sencha","vendor":"Leaf","status":"active",
		"variants":[{"price":"12.50","sku":"SEN-1","inventory_management":"shopify","weight":100,"weight_unit":"g"}]}}`)
	if r.Status != 201 {
		t.Fatalf("POST products.json = %d %s", r.Status, r.Body)
	}
	vs := object(t, r, "product")["variants"].([]any)
	id := num(vs[0].(map[string]any)["id"])
	stock(t, h, st, id, n)
	return id
}

// TestCreateOrdersConcurrently: 50 partners at once order 1 of a variant
// with 10 in stock, obeying its policy: exactly 10 orders, numbered 1001 to
// 1010 with no gap; 40 get a 422 saying it sold out; the stock ends at 0.
func TestCreateOrdersConcurrently(t *testing.T) {
	h := newHarness(t)
	st := h.Store("orders-rush")
	v := tea(t, h, st, 10)
	tok := h.Token(st, "write_orders", "read_orders")
	body := fmt.Sprintf(`{"order":{"email":"x@example.com","inventory_behaviour":"decrement_obeying_policy","line_items":[{"variant_id":%d,"quantity":1}]}}`, v)
	var wg sync.WaitGroup
	var mu sync.Mutex
	numbers := map[int64]bool{}
	soldOut := 0
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := h.Do(st, tok, "POST", "/orders.json", body)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case r.Status == 201:
				numbers[num(object(t, r, "order")["order_number"])] = true
			case r.Status == 422 && strings.Contains(r.Body, "Sencha is sold out"):
				soldOut++
			default:
				t.Errorf("POST orders.json = %d %s, want 201 or 422 sold out", r.Status, r.Body)
			}
		}()
	}
	wg.Wait()
	if len(numbers) != 10 || soldOut != 40 {
		t.Errorf("50 orders of 10 in stock: %d placed, %d sold out; want 10 and 40", len(numbers), soldOut)
	}
	for n := int64(1001); n <= 1010; n++ {
		if !numbers[n] {
			t.Errorf("order number %d missing; numbers %v", n, numbers)
		}
	}
	if got := available(t, h, st, v); got != 0 {
		t.Errorf("stock after the rush = %d, want 0", got)
	}
	if r := h.Do(st, tok, "GET", "/orders/count.json", ""); r.Body != `{"count":10}` {
		t.Errorf("GET orders/count.json = %s, want 10", r.Body)
	}
}

func TestOrdersAPI(t *testing.T) {
	h := newHarness(t)
	st := h.Store("orders-api")
	v := tea(t, h, st, 5)
	tok := h.Token(st, "write_orders", "read_orders")

	r := h.Do(st, tok, "POST", "/orders.json", fmt.Sprintf(`{"order":{"email":"Ann@Example.com","financial_status":"paid",
		"line_items":[{"variant_id":%d,"quantity":2},{"title":"Gift wrap","price":"3.00","quantity":1,"requires_shipping":false}],
		"shipping_lines":[{"title":"Post","code":"post","price":"4.50"}],
		"tax_lines":[{"title":"VAT","rate":0.2,"price":"5.00"}],
		"shipping_address":{"first_name":"Ann","last_name":"Lee","address1":"1 Main St","city":"Lyon","country_code":"FR","zip":"69001"},
		"tags":"vip, phone","note":"call first"}}`, v))
	if r.Status != 201 {
		t.Fatalf("POST orders.json = %d %s", r.Status, r.Body)
	}
	o := object(t, r, "order")
	id := num(o["id"])
	lines := o["line_items"].([]any)
	l0 := lines[0].(map[string]any)
	if o["name"] != "#1001" || o["financial_status"] != "paid" || o["subtotal_price"] != "28.00" || o["total_price"] != "37.50" ||
		o["total_tax"] != "5.00" || !strings.EqualFold(o["email"].(string), "ann@example.com") || o["tags"] != "vip, phone" || o["source_name"] != "api" ||
		o["currency"] != "USD" || len(lines) != 2 || l0["title"] != "Sencha" || l0["price"] != "12.50" || l0["sku"] != "SEN-1" ||
		num(l0["grams"]) != 100 || l0["variant_inventory_management"] != "shopify" || o["fulfillment_status"] != nil ||
		o["shipping_address"].(map[string]any)["city"] != "Lyon" {
		t.Errorf("POST orders.json = %s, want #1001 paid 37.50 with Sencha ×2 and gift wrap", r.Body)
	}
	if got := available(t, h, st, v); got != 5 {
		t.Errorf("stock after a bypass order = %d, want 5 (untouched)", got)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d/transactions.json", id), ""); len(list(t, r, "transactions")) != 1 {
		t.Errorf("transactions of a paid order = %s, want one manual sale", r.Body)
	}

	// Validation: 422 with messages a person can act on.
	for _, tc := range []struct{ body, want string }{
		{`{"order":{"line_items":[]}}`, "line_items"},
		{`{"order":{"line_items":[{"title":"X","price":"1.00","quantity":0}]}}`, "quantity"},
		{`{"order":{"line_items":[{"variant_id":999999,"quantity":1}]}}`, "variant 999999 does not exist"},
		{`{"order":{"line_items":[{"quantity":1}]}}`, "needs a variant_id"},
		{`{"order":{"email":"nope","line_items":[{"title":"X","price":"1.00","quantity":1}]}}`, "email"},
		{`{"order":{"currency":"EUR","line_items":[{"title":"X","price":"1.00","quantity":1}]}}`, "currency"},
		{`{"order":{"line_items":[{"title":"X","price":"1.001","quantity":1}]}}`, "decimals"},
		{`{"order":{"financial_status":"stolen","line_items":[{"title":"X","price":"1.00","quantity":1}]}}`, "financial_status"},
		{`{"order":{"inventory_behaviour":"hope","line_items":[{"title":"X","price":"1.00","quantity":1}]}}`, "inventory_behaviour"},
		{fmt.Sprintf(`{"order":{"inventory_behaviour":"decrement_obeying_policy","line_items":[{"variant_id":%d,"quantity":6}]}}`, v), "has only 5 left"},
	} {
		if r := h.Do(st, tok, "POST", "/orders.json", tc.body); r.Status != 422 || !strings.Contains(r.Body, tc.want) {
			t.Errorf("POST orders.json %s = %d %s, want 422 mentioning %q", tc.body, r.Status, r.Body, tc.want)
		}
	}

	// Update, close, open, filters.
	if r := h.Do(st, tok, "PUT", fmt.Sprintf("/orders/%d.json", id), `{"order":{"note":"leave at door","tags":["a"]}}`); r.Status != 200 ||
		object(t, r, "order")["note"] != "leave at door" || object(t, r, "order")["tags"] != "a" {
		t.Errorf("PUT orders/%d.json = %d %s", id, r.Status, r.Body)
	}
	if r := h.Do(st, tok, "PUT", fmt.Sprintf("/orders/%d.json", id), `{"order":{"email":"bad"}}`); r.Status != 422 {
		t.Errorf("PUT a bad email = %d %s, want 422", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "DELETE", fmt.Sprintf("/orders/%d.json", id), ""); r.Status != 422 {
		t.Errorf("DELETE an open order = %d %s, want 422", r.Status, r.Body)
	}
	h.Do(st, tok, "POST", "/orders.json", `{"order":{"line_items":[{"title":"X","price":"1.00","quantity":1}]}}`)
	if r := h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/close.json", id), ""); r.Status != 200 || object(t, r, "order")["closed_at"] == nil {
		t.Errorf("POST close.json = %d %s", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/close.json", id), ""); r.Status != 422 {
		t.Errorf("closing twice = %d, want 422", r.Status)
	}
	for _, tc := range []struct {
		query string
		count int
	}{
		{"", 1}, {"?status=closed", 1}, {"?status=any", 2}, {"?status=any&financial_status=paid", 1},
		{"?status=any&financial_status=pending", 1}, {"?status=any&fulfillment_status=shipped", 0},
		{"?status=any&fulfillment_status=unshipped", 2}, {"?status=any&created_at_min=2000-01-01T00:00:00Z", 2},
		{"?status=any&created_at_max=2000-01-01T00:00:00Z", 0}, {fmt.Sprintf("?status=any&ids=%d", id), 1},
		{fmt.Sprintf("?status=any&since_id=%d", id), 1},
	} {
		if got := list(t, h.Do(st, tok, "GET", "/orders.json"+tc.query, ""), "orders"); len(got) != tc.count {
			t.Errorf("GET orders.json%s = %d orders, want %d", tc.query, len(got), tc.count)
		}
	}
	for _, q := range []string{"?status=lost", "?limit=0", "?created_at_min=yesterday", "?fulfillment_status=maybe"} {
		if r := h.Do(st, tok, "GET", "/orders.json"+q, ""); r.Status != 400 {
			t.Errorf("GET orders.json%s = %d, want 400", q, r.Status)
		}
	}
	// Pagination: three more, two a page, following Link headers.
	for range 3 {
		h.Do(st, tok, "POST", "/orders.json", `{"order":{"line_items":[{"title":"X","price":"1.00","quantity":1}]}}`)
	}
	seen := 0
	page := "/orders.json?status=any&limit=2&fields=id,name"
	for pages := 0; page != "" && pages < 5; pages++ {
		r := h.Do(st, tok, "GET", page, "")
		os := list(t, r, "orders")
		seen += len(os)
		if len(os) > 0 && len(os[0]) != 2 {
			t.Errorf("fields=id,name gave %v", os[0])
		}
		page = r.Links(t)["next"]
	}
	if seen != 5 {
		t.Errorf("paging through orders saw %d, want 5", seen)
	}
	if r := h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/open.json", id), ""); r.Status != 200 || object(t, r, "order")["closed_at"] != nil {
		t.Errorf("POST open.json = %d %s", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/cancel.json", id), `{"reason":"fraud"}`); r.Status != 200 ||
		object(t, r, "order")["cancel_reason"] != "fraud" {
		t.Errorf("POST cancel.json = %d %s", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "DELETE", fmt.Sprintf("/orders/%d.json", id), ""); r.Status != 200 {
		t.Errorf("DELETE a cancelled order = %d %s", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d.json", id), ""); r.Status != 404 {
		t.Errorf("GET a deleted order = %d, want 404", r.Status)
	}
	// Scopes: reading needs read_orders.
	other := h.Token(st, "read_products")
	if r := h.Do(st, other, "GET", "/orders.json", ""); r.Status != 403 {
		t.Errorf("GET orders.json without read_orders = %d, want 403", r.Status)
	}
}

// TestCancelAndRefundRestockOnce: cancelling with restock puts the stock
// back once; a second cancel is refused and restocks nothing; a refund with
// restock after that puts nothing more back.
func TestCancelAndRefundRestockOnce(t *testing.T) {
	h := newHarness(t)
	st := h.Store("orders-restock")
	v := tea(t, h, st, 10)
	tok := h.Token(st, "write_orders", "read_orders")
	r := h.Do(st, tok, "POST", "/orders.json", fmt.Sprintf(`{"order":{"financial_status":"paid","inventory_behaviour":"decrement_obeying_policy",
		"line_items":[{"variant_id":%d,"quantity":3}]}}`, v))
	if r.Status != 201 {
		t.Fatalf("POST orders.json = %d %s", r.Status, r.Body)
	}
	o := object(t, r, "order")
	id, line := num(o["id"]), num(o["line_items"].([]any)[0].(map[string]any)["id"])
	if got := available(t, h, st, v); got != 7 {
		t.Fatalf("stock after an order of 3 = %d, want 7", got)
	}
	r = h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/cancel.json", id), `{"restock":true,"reason":"customer"}`)
	if r.Status != 200 || object(t, r, "order")["cancelled_at"] == nil {
		t.Fatalf("POST cancel.json = %d %s", r.Status, r.Body)
	}
	if got := available(t, h, st, v); got != 10 {
		t.Errorf("stock after cancel with restock = %d, want 10", got)
	}
	if r := h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/cancel.json", id), `{"restock":true}`); r.Status != 422 || !strings.Contains(r.Body, "already cancelled") {
		t.Errorf("second cancel = %d %s, want 422 already cancelled", r.Status, r.Body)
	}
	r = h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/refunds.json", id), fmt.Sprintf(`{"refund":{"refund_line_items":[{"line_item_id":%d,"quantity":3,"restock_type":"return"}],
		"transactions":[{"kind":"refund","amount":"37.50","gateway":"manual"}]}}`, line))
	if r.Status != 201 {
		t.Fatalf("POST refunds.json = %d %s", r.Status, r.Body)
	}
	if got := available(t, h, st, v); got != 10 {
		t.Errorf("stock after a restocking refund of a restocked order = %d, want 10", got)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d.json", id), ""); object(t, r, "order")["financial_status"] != "refunded" {
		t.Errorf("order after a full refund = %s, want refunded", r.Body)
	}
	// Another paid order: partial refund with restock puts exactly that back; the calculation suggests a refund.
	r = h.Do(st, tok, "POST", "/orders.json", fmt.Sprintf(`{"order":{"financial_status":"paid","inventory_behaviour":"decrement_obeying_policy",
		"line_items":[{"variant_id":%d,"quantity":4}],"shipping_lines":[{"title":"Post","price":"5.00"}]}}`, v))
	o = object(t, r, "order")
	id, line = num(o["id"]), num(o["line_items"].([]any)[0].(map[string]any)["id"])
	r = h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/refunds/calculate.json", id), fmt.Sprintf(`{"refund":{"shipping":{"full_refund":true},
		"refund_line_items":[{"line_item_id":%d,"quantity":1,"restock_type":"return"}]}}`, line))
	if txs := object(t, r, "refund")["transactions"].([]any); r.Status != 200 || len(txs) != 1 || txs[0].(map[string]any)["amount"] != "17.50" ||
		txs[0].(map[string]any)["kind"] != "suggested_refund" {
		t.Errorf("POST refunds/calculate.json = %d %s, want a suggested refund of 17.50", r.Status, r.Body)
	}
	r = h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/refunds.json", id), fmt.Sprintf(`{"refund":{"refund_line_items":[{"line_item_id":%d,"quantity":1,"restock_type":"return"}],
		"transactions":[{"kind":"refund","amount":"12.50"}]}}`, line))
	if r.Status != 201 || available(t, h, st, v) != 7 {
		t.Errorf("refund 1 of 4 with restock = %d %s, stock %d; want 201, stock 7", r.Status, r.Body, available(t, h, st, v))
	}
	for _, tc := range []struct{ body, want string }{
		{fmt.Sprintf(`{"refund":{"refund_line_items":[{"line_item_id":%d,"quantity":4}]}}`, line), "has only 3 left to refund"},
		{`{"refund":{"refund_line_items":[{"line_item_id":1,"quantity":1}]}}`, "is not on order"},
		{`{"refund":{"transactions":[{"kind":"refund","amount":"1000.00"}]}}`, "cannot refund more than"},
		{fmt.Sprintf(`{"refund":{"refund_line_items":[{"line_item_id":%d,"quantity":1,"restock_type":"teleport"}]}}`, line), "restock_type"},
	} {
		if r := h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/refunds.json", id), tc.body); r.Status != 422 || !strings.Contains(r.Body, tc.want) {
			t.Errorf("POST refunds.json %s = %d %s, want 422 %q", tc.body, r.Status, r.Body, tc.want)
		}
	}
	if rs := list(t, h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d/refunds.json", id), ""), "refunds"); len(rs) != 1 {
		t.Errorf("refunds.json = %v, want 1", rs)
	} else if r := h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d/refunds/%d.json", id, num(rs[0]["id"])), ""); r.Status != 200 {
		t.Errorf("GET refund = %d %s", r.Status, r.Body)
	}
	topics := map[string]int{}
	for _, tp := range outboxTopics(t, h, st) {
		topics[tp]++
	}
	if topics[orders.TopicCreate] != 2 || topics[orders.TopicCancelled] != 1 || topics[orders.TopicRefundCreate] != 2 || topics[orders.TopicPaid] != 2 {
		t.Errorf("outbox topics = %v, want 2 orders/create, 2 orders/paid, 1 orders/cancelled, 2 refunds/create", topics)
	}
}

func TestTransactionsAndFulfillmentsAPI(t *testing.T) {
	h := newHarness(t)
	st := h.Store("orders-ship")
	tok := h.Token(st, "write_orders", "read_orders", "write_fulfillments", "read_fulfillments")
	r := h.Do(st, tok, "POST", "/orders.json", `{"order":{"line_items":[{"title":"Mug","price":"8.00","quantity":3},{"title":"Spoon","price":"2.00","quantity":1}]}}`)
	o := object(t, r, "order")
	id := num(o["id"])
	mug := num(o["line_items"].([]any)[0].(map[string]any)["id"])
	if o["financial_status"] != "pending" {
		t.Fatalf("new API order = %s, want pending", r.Body)
	}
	// The merchant marks it paid: a manual capture of what is left.
	r = h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/transactions.json", id), `{"transaction":{"kind":"capture"}}`)
	if tr := object(t, r, "transaction"); r.Status != 201 || tr["amount"] != "26.00" || tr["gateway"] != "manual" || tr["status"] != "success" {
		t.Errorf("POST transactions.json = %d %s, want a 26.00 manual capture", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d.json", id), ""); object(t, r, "order")["financial_status"] != "paid" {
		t.Errorf("after the capture the order is %s, want paid", r.Body)
	}
	for _, body := range []string{`{"transaction":{"kind":"capture"}}`, `{"transaction":{"kind":"refund","amount":"1.00"}}`,
		`{"transaction":{"kind":"sale","amount":"-1"}}`, `{"transaction":{"kind":"sale","amount":"1.00","gateway":"stripe"}}`} {
		if r := h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/transactions.json", id), body); r.Status != 422 {
			t.Errorf("POST transactions.json %s = %d %s, want 422", body, r.Status, r.Body)
		}
	}
	ts := list(t, h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d/transactions.json", id), ""), "transactions")
	if len(ts) != 1 {
		t.Fatalf("transactions = %v, want 1", ts)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d/transactions/%d.json", id, num(ts[0]["id"])), ""); r.Status != 200 {
		t.Errorf("GET transaction = %d", r.Status)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d/transactions/count.json", id), ""); r.Body != `{"count":1}` {
		t.Errorf("transactions/count.json = %s", r.Body)
	}

	// Fulfil 2 mugs, then the rest.
	r = h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/fulfillments.json", id), fmt.Sprintf(`{"fulfillment":{"line_items":[{"id":%d,"quantity":2}],
		"tracking_number":"1Z999","tracking_company":"UPS","tracking_url":"https://ups.example/1Z999"}}`, mug))
	f := object(t, r, "fulfillment")
	if r.Status != 201 || f["name"] != "#1001.1" || f["tracking_number"] != "1Z999" || f["status"] != "success" {
		t.Fatalf("POST fulfillments.json = %d %s", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d.json", id), ""); object(t, r, "order")["fulfillment_status"] != "partial" {
		t.Errorf("after a partial fulfillment the order is %s, want partial", r.Body)
	}
	for _, body := range []string{fmt.Sprintf(`{"fulfillment":{"line_items":[{"id":%d,"quantity":2}]}}`, mug),
		`{"fulfillment":{"line_items":[{"id":9999,"quantity":1}]}}`, `{"fulfillment":{"tracking_url":"javascript:alert(1)"}}`} {
		if r := h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/fulfillments.json", id), body); r.Status != 422 {
			t.Errorf("POST fulfillments.json %s = %d %s, want 422", body, r.Status, r.Body)
		}
	}
	fid := num(f["id"])
	r = h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/fulfillments/%d/update_tracking.json", id, fid),
		`{"fulfillment":{"tracking_info":{"number":"2Z","company":"DHL"},"notify_customer":true}}`)
	if f := object(t, r, "fulfillment"); r.Status != 200 || f["tracking_number"] != "2Z" || f["tracking_company"] != "DHL" {
		t.Errorf("update_tracking.json = %d %s", r.Status, r.Body)
	}
	r = h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/fulfillments.json", id), `{"fulfillment":{}}`)
	if r.Status != 201 {
		t.Fatalf("fulfil the rest = %d %s", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d.json", id), ""); object(t, r, "order")["fulfillment_status"] != "fulfilled" {
		t.Errorf("after fulfilling everything the order is %s, want fulfilled", r.Body)
	}
	if r := h.Do(st, tok, "POST", fmt.Sprintf("/orders/%d/fulfillments/%d/cancel.json", id, fid), ""); r.Status != 200 || object(t, r, "fulfillment")["status"] != "cancelled" {
		t.Errorf("cancel fulfillment = %d %s", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d.json", id), ""); object(t, r, "order")["fulfillment_status"] != "partial" {
		t.Errorf("after cancelling a fulfillment the order is %s, want partial", r.Body)
	}
	if fs := list(t, h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d/fulfillments.json", id), ""), "fulfillments"); len(fs) != 2 {
		t.Errorf("fulfillments = %d, want 2", len(fs))
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/orders/%d/fulfillments/count.json", id), ""); r.Body != `{"count":2}` {
		t.Errorf("fulfillments/count.json = %s", r.Body)
	}
	// fulfillments need the fulfillments scope.
	if r := h.Do(st, h.Token(st, "read_orders"), "GET", fmt.Sprintf("/orders/%d/fulfillments.json", id), ""); r.Status != 403 {
		t.Errorf("fulfillments.json with only read_orders = %d, want 403", r.Status)
	}
	topics := map[string]int{}
	for _, tp := range outboxTopics(t, h, st) {
		topics[tp]++
	}
	if topics[orders.TopicFulfillmentCreate] != 2 || topics[orders.TopicFulfillmentUpdate] != 2 || topics[orders.TopicFulfilled] != 1 ||
		topics[orders.TopicPartiallyFulfilled] != 1 || topics[orders.TopicPaid] != 1 {
		t.Errorf("outbox topics = %v", topics)
	}
}

// TestOrdersCrossTenant: store B's token never reaches store A's orders or
// what hangs off them.
func TestOrdersCrossTenant(t *testing.T) {
	h := newHarness(t)
	a, b := h.Store("orders-a"), h.Store("orders-b")
	tokA := h.Token(a, "write_orders", "read_orders", "write_fulfillments", "read_fulfillments")
	tokB := h.Token(b, "write_orders", "read_orders", "write_fulfillments", "read_fulfillments")
	r := h.Do(a, tokA, "POST", "/orders.json", `{"order":{"financial_status":"paid","line_items":[{"title":"Mug","price":"8.00","quantity":1}]}}`)
	o := object(t, r, "order")
	id := num(o["id"])
	line := num(o["line_items"].([]any)[0].(map[string]any)["id"])
	f := object(t, h.Do(a, tokA, "POST", fmt.Sprintf("/orders/%d/fulfillments.json", id), `{"fulfillment":{}}`), "fulfillment")
	tr := list(t, h.Do(a, tokA, "GET", fmt.Sprintf("/orders/%d/transactions.json", id), ""), "transactions")[0]
	rf := object(t, h.Do(a, tokA, "POST", fmt.Sprintf("/orders/%d/refunds.json", id), `{"refund":{"transactions":[{"amount":"1.00"}]}}`), "refund")
	for _, req := range []struct{ method, path, body string }{
		{"GET", fmt.Sprintf("/orders/%d.json", id), ""},
		{"PUT", fmt.Sprintf("/orders/%d.json", id), `{"order":{"note":"x"}}`},
		{"DELETE", fmt.Sprintf("/orders/%d.json", id), ""},
		{"POST", fmt.Sprintf("/orders/%d/close.json", id), ""},
		{"POST", fmt.Sprintf("/orders/%d/cancel.json", id), ""},
		{"GET", fmt.Sprintf("/orders/%d/transactions.json", id), ""},
		{"GET", fmt.Sprintf("/orders/%d/transactions/%d.json", id, num(tr["id"])), ""},
		{"POST", fmt.Sprintf("/orders/%d/transactions.json", id), `{"transaction":{"kind":"sale","amount":"1.00"}}`},
		{"GET", fmt.Sprintf("/orders/%d/fulfillments.json", id), ""},
		{"GET", fmt.Sprintf("/orders/%d/fulfillments/%d.json", id, num(f["id"])), ""},
		{"POST", fmt.Sprintf("/orders/%d/fulfillments.json", id), `{"fulfillment":{}}`},
		{"POST", fmt.Sprintf("/orders/%d/fulfillments/%d/cancel.json", id, num(f["id"])), ""},
		{"GET", fmt.Sprintf("/orders/%d/refunds.json", id), ""},
		{"GET", fmt.Sprintf("/orders/%d/refunds/%d.json", id, num(rf["id"])), ""},
		{"POST", fmt.Sprintf("/orders/%d/refunds.json", id), fmt.Sprintf(`{"refund":{"refund_line_items":[{"line_item_id":%d,"quantity":1}]}}`, line)},
		{"POST", fmt.Sprintf("/orders/%d/refunds/calculate.json", id), `{"refund":{}}`},
	} {
		if r := h.Do(b, tokB, req.method, req.path, req.body); r.Status != 404 || strings.Contains(r.Body, "Mug") {
			t.Errorf("store B %s %s = %d %s, want 404", req.method, req.path, r.Status, r.Body)
		}
		// A's token on B's host is refused too.
		if r := h.Do(b, tokA, req.method, req.path, req.body); r.Status != 401 && r.Status != 403 && r.Status != 404 {
			t.Errorf("store A's token on B %s %s = %d, want refused", req.method, req.path, r.Status)
		}
	}
	if got := list(t, h.Do(b, tokB, "GET", "/orders.json?status=any", ""), "orders"); len(got) != 0 {
		t.Errorf("store B lists %d orders, want 0", len(got))
	}
	if r := h.Do(a, tokA, "GET", fmt.Sprintf("/orders/%d.json", id), ""); object(t, r, "order")["note"] != nil || object(t, r, "order")["cancelled_at"] != nil {
		t.Errorf("store A's order changed by B: %s", r.Body)
	}
}
