package notifications_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/tenant"
)

// TestOpenAPI holds openapi.yaml's description of notifications.json to
// real requests and responses, successes and errors.
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
	st := h.Store("notify-openapi")
	owner := h.Staff(st, tenant.RoleOwner)
	call := func(method, path, body string, want int) {
		t.Helper()
		req, _ := http.NewRequest(method, h.URL()+"/admin/api/2025-01"+path, strings.NewReader(body))
		req.Host = st.Slug + ".localhost"
		req.Header.Set("Authorization", owner)
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
	}
	call("GET", "/notifications.json", "", 200)
	call("GET", "/notifications/refund.json", "", 200)
	call("PUT", "/notifications/refund.json", `{"notification":{"subject":"Refund on {{ order_name }}"}}`, 200)
	call("PUT", "/notifications/refund.json", `{"notification":{"body_html":"{% if x %}"}}`, 422)
	call("POST", "/notifications/refund/preview.json", "", 200)
	call("POST", "/notifications/refund/preview.json", `{"notification":{"body_text":"{{ amount | money }}"}}`, 200)
	call("DELETE", "/notifications/refund.json", "", 200)
}
