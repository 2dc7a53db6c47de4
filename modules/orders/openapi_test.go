package orders_test

import (
	"fmt"
	"testing"
)

// TestOpenAPI holds openapi.yaml's description of the order resources to
// real requests and responses, successes and errors.
func TestOpenAPI(t *testing.T) {
	h := newHarness(t)
	st := h.Store("orders-openapi")
	tok := h.Token(st, "write_orders", "write_fulfillments")
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		return h.Checked(st, tok, method, path, body, want).JSON(t)
	}
	o := call("POST", "/orders.json", `{"order":{"financial_status":"paid","line_items":[{"title":"Mug","price":"8.00","quantity":2}]}}`, 201)["order"].(map[string]any)
	id := num(o["id"])
	line := num(o["line_items"].([]any)[0].(map[string]any)["id"])
	call("POST", "/orders.json", `{"order":{"line_items":[]}}`, 422)
	call("GET", "/orders.json?status=any&limit=1", "", 200)
	call("GET", "/orders/count.json", "", 200)
	call("GET", fmt.Sprintf("/orders/%d.json", id), "", 200)
	call("GET", "/orders/999999.json", "", 404)
	call("PUT", fmt.Sprintf("/orders/%d.json", id), `{"order":{"note":"hi"}}`, 200)
	call("GET", fmt.Sprintf("/orders/%d/transactions.json", id), "", 200)
	call("GET", fmt.Sprintf("/orders/%d/transactions/count.json", id), "", 200)
	f := call("POST", fmt.Sprintf("/orders/%d/fulfillments.json", id), `{"fulfillment":{"tracking_number":"1Z"}}`, 201)["fulfillment"].(map[string]any)
	call("GET", fmt.Sprintf("/orders/%d/fulfillments.json", id), "", 200)
	call("POST", fmt.Sprintf("/orders/%d/fulfillments/%d/update_tracking.json", id, num(f["id"])), `{"fulfillment":{"tracking_info":{"number":"2Z"}}}`, 200)
	call("POST", fmt.Sprintf("/orders/%d/refunds/calculate.json", id), fmt.Sprintf(`{"refund":{"refund_line_items":[{"line_item_id":%d,"quantity":1}]}}`, line), 200)
	call("POST", fmt.Sprintf("/orders/%d/refunds.json", id), `{"refund":{"transactions":[{"kind":"refund","amount":"1.00"}]}}`, 201)
	call("GET", fmt.Sprintf("/orders/%d/refunds.json", id), "", 200)
	call("POST", fmt.Sprintf("/orders/%d/close.json", id), "", 200)
	call("POST", fmt.Sprintf("/orders/%d/cancel.json", id), `{"reason":"other"}`, 200)
	call("POST", fmt.Sprintf("/orders/%d/cancel.json", id), `{"reason":"other"}`, 422)
}
