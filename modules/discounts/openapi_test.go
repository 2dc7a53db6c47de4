package discounts_test

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

// TestOpenAPI holds openapi.yaml's description of the discounts resources
// to real requests and responses, successes and errors.
func TestOpenAPI(t *testing.T) {
	doc, err := apps.OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	h, _ := newHarness(t)
	st := h.Store("discounts-openapi")
	tok := h.Token(st, "write_discounts")
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	call := func(method, path, body string, want int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, h.URL()+"/admin/api/2025-01"+path, strings.NewReader(body))
		req.Host = st.Slug + ".localhost"
		req.Header.Set(apps.ShopifyTokenHeader, tok)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := client.Do(req)
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
		var m map[string]any
		if len(respBody) > 0 {
			m = appstest.Response{Status: resp.StatusCode, Body: string(respBody)}.JSON(t)
		}
		return m
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
