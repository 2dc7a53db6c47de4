package fulfillment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/storefleet/storefleet/modules/apps"
)

// TestOpenAPI holds openapi.yaml's description of fulfillment_services.json
// to real requests and responses, successes and errors.
func TestOpenAPI(t *testing.T) {
	doc, err := apps.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	st := h.Store("fs-openapi")
	tok, reader := h.Token(st, "write_fulfillments"), h.Token(st, "read_fulfillments")
	call := func(token, method, path, body string, want int) string {
		t.Helper()
		req, _ := http.NewRequest(method, h.URL()+"/admin/api/2025-01"+path, strings.NewReader(body))
		req.Host = st.Slug + ".localhost"
		req.Header.Set(apps.ShopifyTokenHeader, token)
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
		return string(respBody)
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
