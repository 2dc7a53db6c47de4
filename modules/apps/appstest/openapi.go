package appstest

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/tenant"
)

// specRouter is the served OpenAPI document's router, made once per test
// binary. The document's own validity is cmd/storefleet's
// TestOpenAPIDescribesTheAPI's to check.
var specRouter = sync.OnceValues(func() (routers.Router, error) {
	doc, err := apps.OpenAPI()
	if err != nil {
		return nil, err
	}
	return gorillamux.NewRouter(doc)
})

// noRedirects is a client that shows redirects instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// Checked is Do held to openapi.yaml: the answer must have status want,
// the operation must be in the document, a successful request must match
// its description, and the response (success or error) must match too.
// Redirects are returned, not followed.
func (h *Harness) Checked(st *tenant.Tenant, token, method, path, body string, want int) Response {
	h.t.Helper()
	router, err := specRouter()
	if err != nil {
		h.t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(path, "/admin") {
		path = "/admin/api/2025-01" + path
	}
	newRequest := func(base string) *http.Request {
		req, err := http.NewRequest(method, base+path, strings.NewReader(body))
		if err != nil {
			h.t.Fatal(err)
		}
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		return req
	}
	req := newRequest(h.srv.URL)
	req.Host = st.Slug + ".localhost"
	if strings.HasPrefix(token, "Bearer ") {
		req.Header.Set("Authorization", token)
	} else {
		req.Header.Set(apps.ShopifyTokenHeader, token)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	respBody, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		h.t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, respBody, want)
	}
	vreq := newRequest("")
	route, params, err := router.FindRoute(vreq)
	if err != nil {
		h.t.Fatalf("%s %s: no operation in openapi.yaml: %v", method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
	if resp.StatusCode < 300 {
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			h.t.Errorf("%s %s: request does not match openapi.yaml: %v", method, path, err)
		}
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true}}
	out.SetBodyBytes(bytes.Clone(respBody))
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		h.t.Errorf("%s %s: %d response does not match openapi.yaml: %v", method, path, resp.StatusCode, err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(respBody)}
}
