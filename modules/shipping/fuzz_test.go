package shipping

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
)

// FuzzZoneBody feeds arbitrary bodies through everything a zone write does
// before it touches the database: the envelope, the conversion, and the
// validation of countries, provinces, prices and weights. Whatever the
// body, nothing panics, every refusal is a 400 (Malformed) or 422 (Invalid)
// with a message, and an accepted zone holds only what the tables accept.
func FuzzZoneBody(f *testing.F) {
	for _, s := range []string{
		`{"shipping_zone":{"name":"Domestic","countries":[{"code":"US","provinces":[{"code":"CA"}]}],"price_based_shipping_rates":[{"name":"Std","price":"5.00","max_order_subtotal":"49.99"},{"name":"Free","price":0,"min_order_subtotal":50}]}}`,
		`{"shipping_zone":{"name":"World","countries":[{"code":"*"}],"weight_based_shipping_rates":[{"name":"Heavy","price":"20","weight_low":5,"weight_high":null}]}}`,
		`{"shipping_zone":{"name":"","countries":[]}}`, `{"shipping_zone":{"name":5}}`, `{"shipping_zone":null}`,
		`{"shipping_zone":{"name":"x","countries":[{"code":"USA"}],"weight_based_shipping_rates":[{"weight_low":"1e9"}]}}`,
		`{"shipping_zone":{"name":"x","countries":{"code":"US"}}}`, `[]`, `{}`, ``,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	usd := money.MustCurrency("USD")
	f.Fuzz(func(t *testing.T, body string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("POST", "/admin/api/2025-01/shipping_zones.json", strings.NewReader(body))
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
		in, err := decodeZone(c)
		if !check("decode", err) {
			return
		}
		z, err := in.toZone(usd)
		if !check("validate", err) {
			return
		}
		if z.Name == "" || len(z.Name) > 255 || len(z.Countries) == 0 {
			t.Fatalf("toZone(%q) accepted name %q with %d countries", body, z.Name, len(z.Countries))
		}
		for _, r := range z.Rates {
			if r.Price < 0 || r.Price > money.Max || (r.MinSubtotal != nil && r.MaxSubtotal != nil && *r.MinSubtotal > *r.MaxSubtotal) ||
				(r.WeightLow != nil && (*r.WeightLow < 0 || *r.WeightLow > maxGrams)) ||
				(r.WeightLow != nil && r.WeightHigh != nil && *r.WeightLow > *r.WeightHigh) {
				t.Fatalf("toZone(%q) accepted rate %+v", body, r)
			}
		}
	})
}

// FuzzCheckAddress: the checkout's address check never panics on what a
// shopper can post, and an address it accepts is accepted again as it was
// normalised, unchanged (so a saved address stays valid).
func FuzzCheckAddress(f *testing.F) {
	f.Add("US", "IL", "62701", "Springfield", "1 Main St", "Ada")
	f.Add("ca", "on", "k1a0b1", "Ottawa", "24 Sussex", "Jo")
	f.Add("GB", "", "sw1a 1aa", "London", "10 Downing St", "Rishi")
	f.Add("JP", "13", "1000001", "Chiyoda", "1-1", "Aki")
	f.Add("HK", "", "", "", "1 Queen's Rd", "Lee")
	f.Add("ZZ", "US-XX", "\\x00", "\\u202e", "", "")
	f.Fuzz(func(t *testing.T, country, province, zip, city, line, name string) {
		a := Address{FirstName: name, LastName: name, Address1: line, City: city, ProvinceCode: province, CountryCode: country, Zip: zip}
		norm, fields := CheckAddress(a)
		if len(fields) > 0 {
			return
		}
		again, fields := CheckAddress(norm)
		if len(fields) > 0 || again != norm {
			t.Errorf("CheckAddress(%+v) accepted as %+v, but that is then %+v with %v", a, norm, again, fields)
		}
	})
}
