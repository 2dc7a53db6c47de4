package shop_test

import (
	"strings"
	"testing"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// TestUpdateShop: the owner (and admins) change the store's name and tax
// settings through PUT shop.json; staff, viewers and apps cannot; a bad
// email is refused and nothing changes; another store's owner gets nothing.
func TestUpdateShop(t *testing.T) {
	h := appstest.New(t, func(db *tenant.DB) []apps.Resource {
		return []apps.Resource{shop.NewService(db, tenant.URLs{Scheme: "http", Domain: "localhost"})}
	})
	a, b := h.Store("shop-a"), h.Store("shop-b")
	owner := h.Staff(a, tenant.RoleOwner)

	r := h.Do(a, owner, "PUT", "/shop.json", `{"shop": {"name": "  Tea & Co  ", "taxes_included": true, "tax_shipping": true}}`)
	if r.Status != 200 || !strings.Contains(r.Body, `"name":"Tea \u0026 Co"`) || !strings.Contains(r.Body, `"taxes_included":true`) ||
		!strings.Contains(r.Body, `"tax_shipping":true`) {
		t.Fatalf("PUT shop.json as owner = %d %s, want the new name and tax settings", r.Status, r.Body)
	}
	if r := h.Do(a, h.Token(a, "read_products"), "GET", "/shop.json", ""); !strings.Contains(r.Body, `"taxes_included":true`) {
		t.Errorf("GET shop.json after the change = %s", r.Body)
	}
	if r := h.Do(a, owner, "PUT", "/shop.json", `{"shop": {"email": "not an email", "taxes_included": false}}`); r.Status != 422 || !strings.Contains(r.Body, "email") {
		t.Errorf("PUT a bad email = %d %s, want 422 naming the email", r.Status, r.Body)
	}
	if r := h.Do(a, owner, "GET", "/shop.json", ""); !strings.Contains(r.Body, `"taxes_included":true`) {
		t.Errorf("a refused PUT changed the shop: %s", r.Body)
	}
	for name, who := range map[string]string{
		"staff":  h.Staff(a, tenant.RoleStaff),
		"viewer": h.Staff(a, tenant.RoleViewer),
		"an app": h.Token(a, "write_products", "write_orders", "write_shipping"),
	} {
		if r := h.Do(a, who, "PUT", "/shop.json", `{"shop": {"taxes_included": false}}`); r.Status != 403 {
			t.Errorf("PUT shop.json as %s = %d, want 403", name, r.Status)
		}
	}
	if r := h.Do(b, owner, "PUT", "/shop.json", `{"shop": {"name": "Taken"}}`); r.Status != 401 && r.Status != 403 {
		t.Errorf("store A's owner PUT on store B = %d, want 401 or 403", r.Status)
	}
	if r := h.Do(b, h.Token(b, "read_products"), "GET", "/shop.json", ""); strings.Contains(r.Body, "Taken") || strings.Contains(r.Body, `"taxes_included":true`) {
		t.Errorf("store B changed: %s", r.Body)
	}
}
