package catalog_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/tenant"
)

// TestVariantsHaveInventory: every variant has an inventory item (its id is
// the variant's), with the variant's SKU; stock set through the inventory
// resources shows on the variant; deleting variants or products removes
// their items.
func TestVariantsHaveInventory(t *testing.T) {
	h := appstest.New(t, func(db *tenant.DB) []apps.Resource {
		return []apps.Resource{newCatalog(t, db), inventory.NewService(db)}
	})
	st := h.Store("catalog-stock")
	tok := h.Token(st, "write_products", "write_inventory")
	p := create(t, h, st, tok, `{"product":{"title":"Bancha","options":[{"name":"Size"}],"variants":[{"option1":"S","sku":"BAN-S"},{"option1":"L","sku":"BAN-L"}]}}`)
	vs := p["variants"].([]any)
	small := vs[0].(map[string]any)
	sid := id(small)
	if int64(small["inventory_item_id"].(float64)) != sid || small["inventory_quantity"] != float64(0) {
		t.Errorf("new variant = %v, want inventory_item_id = its id and quantity 0", small)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/inventory_items/%d.json", sid), ""); r.Status != 200 || !strings.Contains(r.Body, `"sku":"BAN-S"`) {
		t.Fatalf("GET inventory item of a new variant = %d %s, want it with the variant's SKU", r.Status, r.Body)
	}
	loc := int64(h.Do(st, tok, "GET", "/locations.json", "").JSON(t)["locations"].([]any)[0].(map[string]any)["id"].(float64))
	if r := h.Do(st, tok, "POST", "/inventory_levels/set.json", fmt.Sprintf(`{"location_id":%d,"inventory_item_id":%d,"available":7}`, loc, sid)); r.Status != 200 {
		t.Fatalf("set level = %d %s", r.Status, r.Body)
	}
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/variants/%d.json", sid), ""); !strings.Contains(r.Body, `"inventory_quantity":7`) {
		t.Errorf("variant after stock was set = %s, want inventory_quantity 7", r.Body)
	}

	// A SKU changed on the variant reaches its item.
	h.Do(st, tok, "PUT", fmt.Sprintf("/variants/%d.json", sid), `{"variant":{"sku":"BAN-S2"}}`)
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/inventory_items/%d.json", sid), ""); !strings.Contains(r.Body, `"sku":"BAN-S2"`) {
		t.Errorf("item after the variant's SKU changed = %s", r.Body)
	}

	lid := id(vs[1].(map[string]any))
	h.Do(st, tok, "DELETE", fmt.Sprintf("/products/%d/variants/%d.json", id(p), lid), "")
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/inventory_items/%d.json", lid), ""); r.Status != 404 {
		t.Errorf("item of a deleted variant = %d, want 404", r.Status)
	}
	h.Do(st, tok, "DELETE", fmt.Sprintf("/products/%d.json", id(p)), "")
	if r := h.Do(st, tok, "GET", fmt.Sprintf("/inventory_items/%d.json", sid), ""); r.Status != 404 {
		t.Errorf("item of a deleted product's variant = %d, want 404", r.Status)
	}
}
