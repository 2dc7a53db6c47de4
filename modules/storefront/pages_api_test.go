package storefront_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/tenant"
)

// TestPagesAPI: pages.json writes pages, each store only its own, with the
// content scopes.
func TestPagesAPI(t *testing.T) {
	h := appstest.New(t, func(db *tenant.DB) []apps.Resource { return []apps.Resource{storefront.NewPages(db)} })
	a, b := h.Store("pages-a"), h.Store("pages-b")
	tok, reader := h.Token(a, "write_content"), h.Token(a, "read_content")
	r := h.Do(a, tok, "POST", "/pages.json", `{"page":{"title":"  Shipping & returns ","body_html":"<p>Free over $50.</p>"}}`)
	if r.Status != 201 || !strings.Contains(r.Body, `"handle":"shipping-returns"`) || !strings.Contains(r.Body, `"published_at":"`) {
		t.Fatalf("POST pages.json = %d %s", r.Status, r.Body)
	}
	id := int64(r.JSON(t)["page"].(map[string]any)["id"].(float64))
	for _, tc := range []struct {
		method, path, body, token string
		st                        *tenant.Tenant
		want                      int
	}{
		{"GET", fmt.Sprintf("/pages/%d.json", id), "", reader, a, 200},
		{"GET", "/pages.json?handle=shipping-returns", "", reader, a, 200},
		{"GET", "/pages/count.json", "", reader, a, 200},
		{"PUT", fmt.Sprintf("/pages/%d.json", id), `{"page":{"title":"x"}}`, reader, a, 403},
		{"POST", "/pages.json", `{"page":{"title":"Shipping & returns"}}`, tok, a, 422}, // the handle is taken
		{"POST", "/pages.json", `{"page":{"title":""}}`, tok, a, 422},
		{"POST", "/pages.json", `{"page":{"title":"x","handle":"Bad Handle"}}`, tok, a, 422},
		{"GET", fmt.Sprintf("/pages/%d.json", id), "", h.Token(b, "read_content"), b, 404},
		{"PUT", fmt.Sprintf("/pages/%d.json", id), `{"page":{"title":"stolen"}}`, h.Token(b, "write_content"), b, 404},
		{"DELETE", fmt.Sprintf("/pages/%d.json", id), "", h.Token(b, "write_content"), b, 404},
		{"GET", "/pages.json", "", h.Token(a, "read_products"), a, 403},
		{"PUT", fmt.Sprintf("/pages/%d.json", id), `{"page":{"published":false,"body_html":"<p>Free over $60.</p>"}}`, tok, a, 200},
		{"DELETE", fmt.Sprintf("/pages/%d.json", id), "", tok, a, 200},
		{"GET", fmt.Sprintf("/pages/%d.json", id), "", reader, a, 404},
	} {
		r := h.Do(tc.st, tc.token, tc.method, tc.path, tc.body)
		if r.Status != tc.want {
			t.Errorf("%s %s %s = %d %s, want %d", tc.method, tc.path, tc.body, r.Status, r.Body, tc.want)
		}
		if tc.want >= 400 && strings.Contains(r.Body, "Free over") {
			t.Errorf("%s %s refused but showed the page: %s", tc.method, tc.path, r.Body)
		}
	}
}
