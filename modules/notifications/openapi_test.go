package notifications_test

import (
	"testing"

	"github.com/storefleet/storefleet/tenant"
)

// TestOpenAPI holds openapi.yaml's description of notifications.json to
// real requests and responses, successes and errors.
func TestOpenAPI(t *testing.T) {
	h := newHarness(t)
	st := h.Store("notify-openapi")
	owner := h.Staff(st, tenant.RoleOwner)
	call := func(method, path, body string, want int) {
		t.Helper()
		h.Checked(st, owner, method, path, body, want)
	}
	call("GET", "/notifications.json", "", 200)
	call("GET", "/notifications/refund.json", "", 200)
	call("PUT", "/notifications/refund.json", `{"notification":{"subject":"Refund on {{ order_name }}"}}`, 200)
	call("PUT", "/notifications/refund.json", `{"notification":{"body_html":"{% if x %}"}}`, 422)
	call("POST", "/notifications/refund/preview.json", "", 200)
	call("POST", "/notifications/refund/preview.json", `{"notification":{"body_text":"{{ amount | money }}"}}`, 200)
	call("DELETE", "/notifications/refund.json", "", 200)
}
