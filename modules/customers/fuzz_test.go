package customers

import (
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"

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

// FuzzAddressBody does the same for an address write of its own
// (customers/{id}/addresses.json, customers/{id}/addresses/{id}.json),
// whose envelope is "address": the envelope, the conversion and
// validation. What passes is trimmed and within bounds, with a country code
// of two capital letters or none.
func FuzzAddressBody(f *testing.F) {
	for _, s := range []string{
		`{"address":{"address1":"1 Main St","city":"Ottawa","province":"Ontario","province_code":"ON","country":"Canada","country_code":"ca","zip":"K1A 0B1"}}`,
		`{"address":{"first_name":"Ada","last_name":"Lovelace","company":"AE","phone":"+15551234","default":true}}`,
		`{"address":{"address2":null,"zip":null,"country_code":null,"default":false}}`, `{"address":{}}`,
		`{"address":{"country_code":"CAN"}}`, `{"address":{"country_code":" us "}}`, `{"address":{"country_code":"1a"}}`,
		`{"address":{"country_code":"ß"}}`, `{"address":{"country_code":"ǆǆ"}}`, `{"address":{"country_code":"ıi"}}`,
		`{"address":{"city":"Zürich ✓ 東京","address1":"\u2028\t "}}`, `{"address":{"city":"a\u0000b"}}`, `{"address":{"zip":"\ud800"}}`,
		`{"address":{"zip":12345}}`, `{"address":{"default":"yes"}}`, `{"address":{"zip":1e400,"phone":99999999999999999999}}`,
		`{"address":{"id":99999999999999999999,"customer_id":-1}}`, `{"address":{"address1":["x"]}}`,
		`{"address":null}`, `{"address":[]}`, `{"customer_address":{"city":"x"}}`, `[]`, `{}`, `"x"`, ``, `null`,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	f.Fuzz(func(t *testing.T, body string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("POST", "/admin/api/2025-01/customers/1/addresses.json", strings.NewReader(body))
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
		var req addressRequest
		if !check("decode", apps.DecodeEnvelope(c, "address", &req)) {
			return
		}
		in := req.toAddressInput()
		if !check("validate", in.validate()) {
			return
		}
		a := Address{CustomerID: 1}
		applyAddress(&a, in)
		for _, s := range []string{a.FirstName, a.LastName, a.Company, a.Address1, a.Address2, a.City, a.Province,
			a.ProvinceCode, a.Country, a.Zip, a.Phone} {
			if s != strings.TrimSpace(s) || utf8.RuneCountInString(s) > maxText {
				t.Fatalf("validated address %+v of %q holds %q, untrimmed or too long", a, body, s)
			}
		}
		if cc := a.CountryCode; cc != "" && (len(cc) != 2 || cc[0] < 'A' || cc[0] > 'Z' || cc[1] < 'A' || cc[1] > 'Z') {
			t.Fatalf("validated address of %q has country_code %q", body, cc)
		}
	})
}
