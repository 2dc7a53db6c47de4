package inventory

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/apps"
)

// FuzzLevelBody feeds arbitrary bodies through everything a level write
// (connect, set, adjust) and an item update do before they touch the
// database: decoding, conversion and validation. Whatever the body, nothing
// panics, every refusal is a 400 (Malformed) or 422 (Invalid), never an
// internal error, and what passes is within bounds.
func FuzzLevelBody(f *testing.F) {
	for _, s := range []string{
		`{"location_id":1,"inventory_item_id":2}`,
		`{"location_id":1,"inventory_item_id":2,"available":-5,"reason":"received"}`,
		`{"location_id":"1","inventory_item_id":"2","available_adjustment":"3"}`,
		`{"location_id":1,"inventory_item_id":2,"available":1.5,"available_adjustment":1e30}`,
		`{"location_id":true,"inventory_item_id":[],"available":{},"reason":5}`,
		`{"inventory_item":{"sku":"x","cost":"1.50","tracked":false}}`,
		`{"inventory_item":{"cost":null,"requires_shipping":"no"}}`,
		`{}`, `[]`, `"x"`, ``, `null`, `{"location_id":99999999999999999999}`,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	usd := money.MustCurrency("USD")
	f.Fuzz(func(t *testing.T, body string) {
		check := func(stage string, err error) bool {
			if err == nil {
				return true
			}
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.Malformed {
				t.Fatalf("%s(%q) = %v (kind %s), want Invalid or Malformed", stage, body, err, k)
			}
			if errs.MessageOf(err) == "" {
				t.Fatalf("%s(%q) gave an empty message", stage, body)
			}
			return false
		}
		for _, quantity := range []string{"", "available", "available_adjustment"} {
			c, _ := gin.CreateTestContext(httptest.NewRecorder())
			c.Request = httptest.NewRequest("POST", "/admin/api/2025-01/inventory_levels/set.json", strings.NewReader(body))
			var req levelRequest
			if !check("decode", apps.DecodeObject(c, &req)) {
				continue
			}
			ch, err := req.toChange(quantity, "token:1")
			if !check("convert "+quantity, err) || !check("validate "+quantity, ch.validate(quantity)) {
				continue
			}
			if ch.ItemID <= 0 || ch.LocationID <= 0 || ch.Quantity < -MaxAvailable || ch.Quantity > MaxAvailable || ch.Reason == "" && quantity != "" {
				t.Fatalf("validated change %+v of %q is out of bounds", ch, body)
			}
		}
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("PUT", "/admin/api/2025-01/inventory_items/1.json", strings.NewReader(body))
		var req itemRequest
		if !check("decode item", apps.DecodeEnvelope(c, "inventory_item", &req)) {
			return
		}
		in, err := req.toItemUpdate(usd)
		if !check("convert item", err) || !check("validate item", in.validate()) {
			return
		}
		if in.Cost != nil && *in.Cost != nil && (**in.Cost < 0 || **in.Cost > money.Max) {
			t.Fatalf("validated cost %d of %q is out of bounds", **in.Cost, body)
		}
	})
}
