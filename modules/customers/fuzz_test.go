package customers

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/apps"
)

// FuzzCustomerBody feeds arbitrary bodies through everything a customer
// write does before it touches the database: the envelope, the conversion,
// validation of the customer and its addresses, and the check that a
// customer can be recognized. Whatever the body, nothing panics, and every
// refusal is a 400 (Malformed) or 422 (Invalid), never an internal error.
func FuzzCustomerBody(f *testing.F) {
	for _, s := range []string{
		`{"customer":{"email":"ada@example.com"}}`,
		`{"customer":{"first_name":"Ada","last_name":"L","phone":"+15551234","note":"n","tags":"a, b","accepts_marketing":true}}`,
		`{"customer":{"email":"x@y.z","addresses":[{"address1":"1 Main","country_code":"ca","default":true},{"city":"B"}]}}`,
		`{"customer":{"tags":["a","b"],"email":null,"phone":null}}`,
		`{"customer":{"email":5}}`, `{"customer":null}`, `{"customer":[]}`, `[]`, `{}`, `"x"`, ``,
		`{"customer":{"email":"Ann <a@b.c>","addresses":{"city":"x"}}}`,
		`{"customer":{"addresses":[{"country_code":"CAN","zip":5}],"tags":7}}`,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	f.Fuzz(func(t *testing.T, body string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("POST", "/admin/api/2025-01/customers.json", strings.NewReader(body))
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
		var req customerRequest
		if !check("decode", apps.DecodeEnvelope(c, "customer", &req)) {
			return
		}
		in := req.toCustomerInput()
		if !check("validate", in.validate(true)) {
			return
		}
		cu := Customer{State: StateDisabled}
		applyCustomer(&cu, in)
		if !check("check", checkCustomer(cu)) {
			return
		}
		if in.Addresses != nil {
			for i, ai := range *in.Addresses {
				a := Address{Default: i == defaultIndex(*in.Addresses)}
				applyAddress(&a, ai)
				if a.CountryCode != "" && len(a.CountryCode) != 2 {
					t.Fatalf("validated address %d has country_code %q", i+1, a.CountryCode)
				}
			}
		}
	})
}
