package orders_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
)

// TestOpenAPI holds openapi.yaml's description of the order resources to
// real requests and responses, successes and errors.
func TestOpenAPI(t *testing.T) {
	doc, err := apps.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	// The whole document's validity is cmd/storefleet's TestOpenAPIDescribesTheAPI's
	// (other resources' schemas change beside these).
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	st := h.Store("orders-openapi")
	tok := h.Token(st, "write_orders", "write_fulfillments")
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, h.URL()+"/admin/api/2025-01"+path, strings.NewReader(body))
		req.Host = st.Slug + ".localhost"
		req.Header.Set(apps.ShopifyTokenHeader, tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		respBody, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != want {
			t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, respBody, want)
		}
		vreq, _ := http.NewRequest(method, "/admin/api/2025-01"+path, strings.NewReader(body))
		if body != "" {
			vreq.Header.Set("Content-Type", "application/json")
		}
		route, params, err := router.FindRoute(vreq)
		if err != nil {
			t.Fatalf("%s %s: no operation in openapi.yaml: %v", method, path, err)
		}
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if resp.StatusCode < 300 {
			if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
				t.Errorf("%s %s: request does not match openapi.yaml: %v", method, path, err)
			}
		}
		out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
			Options: &openapi3filter.Options{IncludeResponseStatus: true}}
		out.SetBodyBytes(bytes.Clone(respBody))
		if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
			t.Errorf("%s %s: %d response does not match openapi.yaml: %v", method, path, resp.StatusCode, err)
		}
		return appstest.Response{Status: resp.StatusCode, Body: string(respBody)}.JSON(t)
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
