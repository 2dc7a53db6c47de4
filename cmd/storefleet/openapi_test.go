package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenant"
)

const apiPrefix = "/admin/api/2025-01"

// onePixelPNG is a 1×1 PNG in base64.
const onePixelPNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

// TestOpenAPIDescribesTheAPI holds the served OpenAPI document to the
// server: it is valid, every routed Admin API endpoint is in it, and real
// responses (successes and errors) validate against it.
func TestOpenAPIDescribesTheAPI(t *testing.T) {
	dbURL := testenv.Database(t)
	s := startServer(t, dbURL)
	ctx := context.Background()
	// The scenario is longer than one bucket of the trial plan.
	if err := s.deps.db.SavePlan(ctx, tenant.Plan{Code: "trial", Name: "Trial", APIBucket: 1000, APILeak: 2}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.deps.db.Provision(ctx, tenant.NewStore{Slug: "spec-shop", Name: "Spec Shop"}, nil); err != nil {
		t.Fatal(err)
	}
	tok := mintToken(t, dbURL, "spec-shop", "write_products,read_orders,write_customers,write_inventory,write_content")
	readOnly := mintToken(t, dbURL, "spec-shop", "read_products")
	themeTok := mintToken(t, dbURL, "spec-shop", "write_themes")

	// The served document is valid OpenAPI 3.
	r := s.do(t, "GET", "spec-shop.localhost", "/admin/api/openapi.json", "")
	if r.status != 200 {
		t.Fatalf("GET /admin/api/openapi.json = %d", r.status)
	}
	doc, err := openapi3.NewLoader().LoadFromData([]byte(r.body))
	if err != nil {
		t.Fatalf("served document does not load: %v", err)
	}
	if err := doc.Validate(ctx); err != nil {
		t.Fatalf("served document is not valid OpenAPI: %v", err)
	}

	// Every routed endpoint is described.
	engine := s.http.Config.Handler.(*server).store.(*gin.Engine)
	for _, rt := range engine.Routes() {
		if !strings.HasPrefix(rt.Path, apiPrefix+"/") {
			continue
		}
		if !described(doc, rt.Method, strings.TrimPrefix(rt.Path, apiPrefix)) {
			t.Errorf("%s %s is routed but not described in openapi.yaml", rt.Method, rt.Path)
		}
	}

	// Real responses validate.
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	call := func(token, method, path, body string, wantStatus int) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, s.http.URL+apiPrefix+path, strings.NewReader(body))
		req.Host = "spec-shop.localhost"
		req.Header.Set("X-Shopify-Access-Token", token)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		respBody, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != wantStatus {
			t.Fatalf("%s %s = %d %s, want %d", method, path, resp.StatusCode, respBody, wantStatus)
		}
		validate(t, router, method, path, body, resp, respBody)
		var m map[string]any
		json.Unmarshal(respBody, &m)
		return m
	}
	idOf := func(m map[string]any, key string) int64 {
		if key != "" {
			m = m[key].(map[string]any)
		}
		return int64(m["id"].(float64))
	}

	call(tok, "GET", "/shop.json", "", 200)
	p := idOf(call(tok, "POST", "/products.json", `{"product":{"title":"Spec Tea","options":[{"name":"Size"}],"variants":[{"option1":"S","price":"3.50","compare_at_price":"4"},{"option1":"M","price":6}]}}`, 201), "product")
	call(tok, "POST", "/products.json", `{"product":{"title":"Second"}}`, 201)
	call(tok, "GET", "/products.json?limit=1", "", 200)
	call(tok, "GET", "/products.json?fields=id,title,variants,options,handle,status", "", 200)
	call(tok, "GET", "/products/count.json?status=active", "", 200)
	call(tok, "GET", fmt.Sprintf("/products/%d.json", p), "", 200)
	call(tok, "PUT", fmt.Sprintf("/products/%d.json", p), `{"product":{"title":"Spec Tea 2","tags":"a, b"}}`, 200)
	call(tok, "GET", fmt.Sprintf("/products/%d/variants.json", p), "", 200)
	call(tok, "GET", fmt.Sprintf("/products/%d/variants/count.json", p), "", 200)
	v := idOf(call(tok, "POST", fmt.Sprintf("/products/%d/variants.json", p), `{"variant":{"option1":"L","price":"9"}}`, 201), "variant")
	call(tok, "GET", fmt.Sprintf("/variants/%d.json", v), "", 200)
	call(tok, "PUT", fmt.Sprintf("/variants/%d.json", v), `{"variant":{"price":"9.50"}}`, 200)
	img := call(tok, "POST", fmt.Sprintf("/products/%d/images.json", p), `{"image":{"attachment":"`+onePixelPNG+`","alt":"Spec"}}`, 200)["image"].(map[string]any)
	im := int64(img["id"].(float64))
	call(tok, "GET", fmt.Sprintf("/products/%d/images.json", p), "", 200)
	call(tok, "GET", fmt.Sprintf("/products/%d/images/count.json", p), "", 200)
	call(tok, "GET", fmt.Sprintf("/products/%d/images/%d.json", p, im), "", 200)
	call(tok, "PUT", fmt.Sprintf("/products/%d/images/%d.json", p, im), fmt.Sprintf(`{"image":{"variant_ids":[%d]}}`, v), 200)
	call(tok, "GET", fmt.Sprintf("/products/%d.json", p), "", 200)
	call(tok, "POST", fmt.Sprintf("/products/%d/images.json", p), `{"image":{"attachment":"aGVsbG8="}}`, 422)
	// The src serves the picture on the store's host, cacheable for good.
	src, _ := url.Parse(img["src"].(string))
	if r := s.do(t, "GET", "spec-shop.localhost", src.Path, ""); r.status != 200 || r.header.Get("Content-Type") != "image/png" || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
		t.Errorf("GET %s = %d %v, want 200 image/png, immutable", src.Path, r.status, r.header)
	}
	call(tok, "DELETE", fmt.Sprintf("/products/%d/images/%d.json", p, im), "", 200)
	loc := idOf(call(tok, "GET", "/locations.json", "", 200)["locations"].([]any)[0].(map[string]any), "")
	call(tok, "GET", "/locations/count.json", "", 200)
	call(tok, "GET", fmt.Sprintf("/locations/%d.json", loc), "", 200)
	call(tok, "POST", "/inventory_levels/connect.json", fmt.Sprintf(`{"location_id":%d,"inventory_item_id":%d}`, loc, v), 201)
	call(tok, "POST", "/inventory_levels/set.json", fmt.Sprintf(`{"location_id":%d,"inventory_item_id":%d,"available":5}`, loc, v), 200)
	call(tok, "POST", "/inventory_levels/adjust.json", fmt.Sprintf(`{"location_id":%d,"inventory_item_id":%d,"available_adjustment":-2,"reason":"damaged"}`, loc, v), 200)
	call(tok, "GET", fmt.Sprintf("/inventory_levels.json?inventory_item_ids=%d", v), "", 200)
	call(tok, "GET", fmt.Sprintf("/locations/%d/inventory_levels.json", loc), "", 200)
	call(tok, "GET", fmt.Sprintf("/inventory_items.json?ids=%d", v), "", 200)
	call(tok, "GET", fmt.Sprintf("/inventory_items/%d.json", v), "", 200)
	call(tok, "PUT", fmt.Sprintf("/inventory_items/%d.json", v), `{"inventory_item":{"cost":"2.25","tracked":true}}`, 200)
	call(tok, "GET", fmt.Sprintf("/inventory_items/%d/adjustments.json", v), "", 200)
	call(tok, "GET", fmt.Sprintf("/variants/%d.json", v), "", 200)
	call(tok, "POST", "/inventory_levels/adjust.json", fmt.Sprintf(`{"location_id":999999,"inventory_item_id":%d,"available_adjustment":1}`, v), 422)
	call(tok, "DELETE", fmt.Sprintf("/inventory_levels.json?inventory_item_id=%d&location_id=%d", v, loc), "", 204)
	call(tok, "DELETE", fmt.Sprintf("/products/%d/variants/%d.json", p, v), "", 200)
	col := idOf(call(tok, "POST", "/custom_collections.json", fmt.Sprintf(`{"custom_collection":{"title":"Spec Picks","collects":[{"product_id":%d}]}}`, p), 201), "custom_collection")
	call(tok, "GET", "/custom_collections.json", "", 200)
	call(tok, "GET", "/custom_collections/count.json", "", 200)
	call(tok, "GET", fmt.Sprintf("/custom_collections/%d.json", col), "", 200)
	call(tok, "PUT", fmt.Sprintf("/custom_collections/%d.json", col), `{"custom_collection":{"sort_order":"price-asc"}}`, 200)
	second := idOf(call(tok, "GET", "/products.json?limit=1&title=Second", "", 200)["products"].([]any)[0].(map[string]any), "")
	cl := idOf(call(tok, "POST", "/collects.json", fmt.Sprintf(`{"collect":{"collection_id":%d,"product_id":%d}}`, col, second), 201), "collect")
	call(tok, "GET", fmt.Sprintf("/collects.json?collection_id=%d", col), "", 200)
	call(tok, "GET", "/collects/count.json", "", 200)
	call(tok, "GET", fmt.Sprintf("/collects/%d.json", cl), "", 200)
	call(tok, "DELETE", fmt.Sprintf("/collects/%d.json", cl), "", 200)
	call(tok, "DELETE", fmt.Sprintf("/custom_collections/%d.json", col), "", 200)
	w := idOf(call(tok, "POST", "/webhooks.json", `{"webhook":{"topic":"orders/create","address":"https://spec.example/hook"}}`, 201), "webhook")
	call(tok, "GET", "/webhooks.json", "", 200)
	call(tok, "GET", "/webhooks/count.json", "", 200)
	call(tok, "GET", fmt.Sprintf("/webhooks/%d.json", w), "", 200)
	call(tok, "GET", fmt.Sprintf("/webhooks/%d/deliveries.json", w), "", 200)
	call(tok, "POST", fmt.Sprintf("/webhooks/%d/replay.json", w), `{"since":"2026-01-01T00:00:00Z"}`, 202)
	call(tok, "POST", fmt.Sprintf("/webhooks/%d/replay.json", w), `{}`, 422)
	call(tok, "PUT", fmt.Sprintf("/webhooks/%d.json", w), `{"webhook":{"enabled":true}}`, 200)
	pg := idOf(call(tok, "POST", "/pages.json", `{"page":{"title":"About us","body_html":"<p>Tea since 1990.</p>"}}`, 201), "page")
	call(tok, "GET", "/pages.json?limit=5", "", 200)
	call(tok, "GET", "/pages/count.json", "", 200)
	call(tok, "GET", fmt.Sprintf("/pages/%d.json", pg), "", 200)
	call(tok, "PUT", fmt.Sprintf("/pages/%d.json", pg), `{"page":{"published":false}}`, 200)
	call(tok, "POST", "/pages.json", `{"page":{"title":""}}`, 422)
	call(tok, "DELETE", fmt.Sprintf("/pages/%d.json", pg), "", 200)
	call(tok, "PUT", fmt.Sprintf("/webhooks/%d.json", w), `{"webhook":{"address":"https://spec.example/v2"}}`, 200)
	call(tok, "DELETE", fmt.Sprintf("/webhooks/%d.json", w), "", 200)
	cu := idOf(call(tok, "POST", "/customers.json", `{"customer":{"email":"ann@spec.example","first_name":"Ann","tags":"vip","addresses":[{"address1":"1 Tea St","city":"Leeds","country_code":"GB","zip":"LS1 1AA"}]}}`, 201), "customer")
	call(tok, "GET", "/customers.json?limit=1", "", 200)
	call(tok, "GET", "/customers/count.json", "", 200)
	call(tok, "GET", "/customers/search.json?query=email:ann@spec.example", "", 200)
	call(tok, "GET", fmt.Sprintf("/customers/%d.json", cu), "", 200)
	call(tok, "PUT", fmt.Sprintf("/customers/%d.json", cu), `{"customer":{"last_name":"Lee","note":null}}`, 200)
	ad := idOf(call(tok, "POST", fmt.Sprintf("/customers/%d/addresses.json", cu), `{"address":{"address1":"2 Leaf Rd","city":"York","country_code":"GB"}}`, 201), "customer_address")
	call(tok, "GET", fmt.Sprintf("/customers/%d/addresses.json", cu), "", 200)
	call(tok, "GET", fmt.Sprintf("/customers/%d/addresses/%d.json", cu, ad), "", 200)
	call(tok, "PUT", fmt.Sprintf("/customers/%d/addresses/%d.json", cu, ad), `{"address":{"zip":"YO1 7HH"}}`, 200)
	call(tok, "PUT", fmt.Sprintf("/customers/%d/addresses/%d/default.json", cu, ad), "", 200)
	call(tok, "DELETE", fmt.Sprintf("/customers/%d/addresses/%d.json", cu, ad), "", 422) // the default
	call(tok, "POST", "/customers.json", `{"customer":{"email":"ANN@spec.example"}}`, 422)
	call(tok, "DELETE", fmt.Sprintf("/customers/%d.json", cu), "", 200)
	published := idOf(call(themeTok, "GET", "/themes.json", "", 200)["themes"].([]any)[0].(map[string]any), "")
	th := idOf(call(themeTok, "POST", "/themes.json", `{"theme":{"builtin":"monolith","name":"Spec Mono"}}`, 201), "theme")
	call(themeTok, "GET", fmt.Sprintf("/themes/%d.json", th), "", 200)
	assets := fmt.Sprintf("/themes/%d/assets.json", th)
	call(themeTok, "GET", assets, "", 200)
	call(themeTok, "PUT", assets, `{"asset":{"key":"snippets/spec.liquid","value":"<p>{{ shop.name }}</p>"}}`, 200)
	call(themeTok, "PUT", assets, `{"asset":{"key":"assets/spec.png","attachment":"`+onePixelPNG+`"}}`, 200)
	call(themeTok, "GET", assets+"?asset[key]=snippets/spec.liquid", "", 200)
	call(themeTok, "GET", assets+"?asset[key]=assets/spec.png", "", 200)
	call(themeTok, "PUT", assets, `{"asset":{"key":"snippets/spec.liquid","value":"{% if %}"}}`, 422)
	call(themeTok, "DELETE", assets+"?asset[key]=layout/theme.liquid", "", 422)
	call(themeTok, "DELETE", assets+"?asset[key]=snippets/spec.liquid", "", 200)
	call(themeTok, "GET", assets+"?asset[key]=snippets/spec.liquid", "", 404)
	call(themeTok, "PUT", fmt.Sprintf("/themes/%d.json", th), `{"theme":{"name":"Spec Live","role":"main"}}`, 200)
	call(themeTok, "DELETE", fmt.Sprintf("/themes/%d.json", th), "", 422)
	call(themeTok, "DELETE", fmt.Sprintf("/themes/%d.json", published), "", 200)
	call(themeTok, "POST", "/themes.json", `{"theme":{"name":"Nowhere","src":"ftp://spec.example/theme.zip"}}`, 422)
	call(tok, "GET", "/themes.json", "", 403)
	// Errors are described too.
	call(tok, "GET", "/products/999999.json", "", 404)
	call(tok, "POST", "/products.json", `{"product":{"title":""}}`, 422)
	call(tok, "POST", "/products.json", `{"product":`, 400)
	call(tok, "GET", "/products.json?limit=999", "", 400)
	call(readOnly, "POST", "/products.json", `{"product":{"title":"x"}}`, 403)
	call("sfat_wrong", "GET", "/shop.json", "", 401)
	call(tok, "DELETE", fmt.Sprintf("/products/%d.json", p), "", 200)
}

// described reports whether doc has an operation for method whose path has
// the route's shape: the same segments, where a route parameter (:file)
// stands for whatever the document puts there ({product_id}.json, count.json).
func described(doc *openapi3.T, method, path string) bool {
	rs := strings.Split(path, "/")
	for p, item := range doc.Paths.Map() {
		if item.GetOperation(method) == nil {
			continue
		}
		ds := strings.Split(p, "/")
		if len(ds) != len(rs) {
			continue
		}
		match := true
		for i := range rs {
			if rs[i] != ds[i] && !strings.HasPrefix(rs[i], ":") {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

func validate(t *testing.T, router routers.Router, method, path, body string, resp *http.Response, respBody []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, apiPrefix+path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		t.Errorf("%s %s: no operation in openapi.yaml: %v", method, path, err)
		return
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
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
