package fulfillment_test

import (
	"encoding/json"
	"fmt"
	"testing"
)

// TestOpenAPI holds openapi.yaml's description of fulfillment_services.json
// to real requests and responses, successes and errors.
func TestOpenAPI(t *testing.T) {
	h := newHarness(t)
	st := h.Store("fs-openapi")
	tok, reader := h.Token(st, "write_fulfillments"), h.Token(st, "read_fulfillments")
	call := func(token, method, path, body string, want int) string {
		t.Helper()
		return h.Checked(st, token, method, path, body, want).Body
	}
	body := call(tok, "POST", "/fulfillment_services.json", `{"fulfillment_service":{"name":"Spec 3PL","callback_url":"https://spec.example/3pl","email":"ops@spec.example","default":true}}`, 201)
	var created struct {
		FulfillmentService struct {
			ID int64 `json:"id"`
		} `json:"fulfillment_service"`
	}
	if err := json.Unmarshal([]byte(body), &created); err != nil {
		t.Fatal(err)
	}
	sid := created.FulfillmentService.ID
	call(tok, "POST", "/fulfillment_services.json", `{"fulfillment_service":{"name":"Spec 3PL","callback_url":"https://spec.example/3pl"}}`, 422)
	call(tok, "POST", "/fulfillment_services.json", `{"fulfillment_service":`, 400)
	call(reader, "POST", "/fulfillment_services.json", `{"fulfillment_service":{"name":"x","callback_url":"https://x.example"}}`, 403)
	call(tok, "GET", "/fulfillment_services.json", "", 200)
	call(reader, "GET", "/fulfillment_services.json?scope=all", "", 200)
	call(tok, "GET", "/fulfillment_services.json?scope=nope", "", 400)
	call(tok, "GET", fmt.Sprintf("/fulfillment_services/%d.json", sid), "", 200)
	call(tok, "GET", "/fulfillment_services/999999.json", "", 404)
	call(tok, "PUT", fmt.Sprintf("/fulfillment_services/%d.json", sid), `{"fulfillment_service":{"tracking_support":true}}`, 200)
	call(tok, "PUT", fmt.Sprintf("/fulfillment_services/%d.json", sid), `{"fulfillment_service":{"callback_url":"ftp://spec.example"}}`, 422)
	call(reader, "DELETE", fmt.Sprintf("/fulfillment_services/%d.json", sid), "", 403)
	call(tok, "DELETE", fmt.Sprintf("/fulfillment_services/%d.json", sid), "", 200)
	call(tok, "DELETE", fmt.Sprintf("/fulfillment_services/%d.json", sid), "", 404)
}
