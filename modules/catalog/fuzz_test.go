package catalog

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/apps"
)

// FuzzProductBody feeds arbitrary bodies through everything a product write
// does before it touches the database: the envelope, the conversion (prices
// parsed in the store's currency), validation, and the option and variant
// checks. Whatever the body, nothing panics, and every refusal is a 400
// (Malformed) or 422 (Invalid), never an internal error.
func FuzzProductBody(f *testing.F) {
	for _, s := range []string{
		`{"product":{"title":"Tea"}}`,
		`{"product":{"title":"x","options":[{"name":"Size"}],"variants":[{"option1":"S","price":"1.5"},{"option1":"M","price":2}]}}`,
		`{"product":{"title":"x","variants":[{"price":"19.999","compare_at_price":null,"inventory_management":null}]}}`,
		`{"product":{"title":"x","tags":["a","b"],"published":false,"status":"draft"}}`,
		`{"product":{"title":5}}`, `{"product":null}`, `{"product":[]}`, `[]`, `{}`, `"x"`, ``,
		`{"product":{"variants":[{"id":1},{"id":-1}],"options":[{"name":""},{"name":"a"},{"name":"A"},{"name":"b"}]}}`,
		`{"product":{"title":"x","variants":[{"weight":-1,"weight_unit":"stone","price":"1e9"}]}}`,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	usd := money.MustCurrency("USD")
	f.Fuzz(func(t *testing.T, body string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("POST", "/admin/api/2025-01/products.json", strings.NewReader(body))
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
		var req productRequest
		if !check("decode", apps.DecodeEnvelope(c, "product", &req)) {
			return
		}
		in, err := req.toProductInput(usd)
		if !check("convert", err) {
			return
		}
		if !check("validate", in.validate(true)) {
			return
		}
		var variants []Variant
		if in.Variants != nil {
			for _, vi := range *in.Variants {
				v := Variant{}
				applyVariant(&v, vi)
				variants = append(variants, v)
			}
		}
		if len(variants) == 0 {
			variants = []Variant{{}}
		}
		check("variants", checkVariants(optionsFor(in.Options, variants), variants))
	})
}

// FuzzImageBody does the same for an image write: the envelope, the base64
// attachment, validation, and reading the bytes as a picture (the decoders
// meet whatever the body holds). Refusals are 400 or 422, never a panic.
func FuzzImageBody(f *testing.F) {
	for _, s := range []string{
		`{"image":{"src":"https://x.example/a.png","alt":"A","position":2,"variant_ids":[1,2]}}`,
		`{"image":{"attachment":"iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="}}`,
		`{"image":{"attachment":"R0lGODlhAQABAAAAACw="}}`, `{"image":{"attachment":"%%"}}`, `{"image":{"alt":null}}`,
		`{"image":{"src":"ftp://x"}}`, `{"image":{"position":0}}`, `{"image":null}`, `{}`, ``,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	f.Fuzz(func(t *testing.T, body string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("POST", "/admin/api/2025-01/products/1/images.json", strings.NewReader(body))
		var req imageRequest
		err := apps.DecodeEnvelope(c, "image", &req)
		fields := errs.Fields{}
		if err == nil {
			in := req.toImageInput(func(format string, args ...any) { fields.Add("image", format, args...) })
			in.validate(fields, "image", true)
			if err = fields.Err(); err == nil && len(in.Attachment) > 0 {
				if _, rerr := readImage(in.Attachment); rerr != nil && rerr.Error() == "" {
					t.Fatalf("readImage(%q) gave an empty message", in.Attachment)
				}
			}
		}
		if err != nil {
			if k := errs.KindOf(err); k != errs.Invalid && k != errs.Malformed {
				t.Fatalf("image body %q = %v (kind %s), want Invalid or Malformed", body, err, k)
			}
		}
	})
}
