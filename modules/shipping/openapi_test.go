package shipping_test

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

// TestOpenAPI holds openapi.yaml's description of shipping_zones.json and
// countries.json to real requests and responses, successes and errors.
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
	h := newHarness(t)
	st := h.Store("shipping-openapi")
	tok := h.Token(st, "write_shipping")
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
	z := id(call("POST", "/shipping_zones.json", zoneBody, 201)["shipping_zone"].(map[string]any))
	call("POST", "/shipping_zones.json", `{"shipping_zone":{"name":""}}`, 422)
	call("GET", "/shipping_zones.json", "", 200)
	call("PUT", fmt.Sprintf("/shipping_zones/%d.json", z), zoneBody, 200)
	call("PUT", "/shipping_zones/999999.json", zoneBody, 404)

	c := call("POST", "/countries.json", `{"country":{"code":"US","tax":0}}`, 201)["country"].(map[string]any)
	call("POST", "/countries.json", `{"country":{"code":"US"}}`, 422)
	call("GET", "/countries.json", "", 200)
	call("GET", "/countries/count.json", "", 200)
	call("GET", fmt.Sprintf("/countries/%d.json", id(c)), "", 200)
	call("PUT", fmt.Sprintf("/countries/%d.json", id(c)), `{"country":{"tax":"0.01"}}`, 200)
	call("GET", fmt.Sprintf("/countries/%d/provinces.json", id(c)), "", 200)
	p := id(c["provinces"].([]any)[0].(map[string]any))
	call("GET", fmt.Sprintf("/countries/%d/provinces/%d.json", id(c), p), "", 200)
	call("PUT", fmt.Sprintf("/countries/%d/provinces/%d.json", id(c), p), `{"province":{"tax":0.0725,"tax_type":null}}`, 200)
	call("GET", "/shipping_zones.json", "", 200) // countries with their tax
	call("DELETE", fmt.Sprintf("/countries/%d.json", id(c)), "", 200)
	call("DELETE", fmt.Sprintf("/shipping_zones/%d.json", z), "", 200)
	call("GET", "/countries/999999.json", "", 404)
}
