package catalog

import (
	"bytes"
	"encoding/csv"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

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

// passes reports whether err is nil; otherwise it fails t unless err is a
// refusal the Admin API shows as a 400 (Malformed) or 422 (Invalid), with a
// message, never an internal error.
func passes(t *testing.T, stage, input string, err error) bool {
	t.Helper()
	if err == nil {
		return true
	}
	if k := errs.KindOf(err); k != errs.Invalid && k != errs.Malformed {
		t.Fatalf("%s(%q) = %v (kind %s), want Invalid or Malformed", stage, input, err, k)
	}
	if errs.MessageOf(err) == "" {
		t.Fatalf("%s(%q) gave an empty message", stage, input)
	}
	return false
}

// bodyContext is a gin context for a request with body, as a handler sees it.
func bodyContext(method, path, body string) *gin.Context {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(method, path, strings.NewReader(body))
	return c
}

// FuzzVariantBody feeds arbitrary bodies through everything a variant write
// (products/{id}/variants.json, variants/{id}.json) does before it touches
// the database: the envelope, the conversion (prices in the store's
// currency), validation as the product update it becomes, and the check
// against a product with one option, the variant added (create) or
// replacing the product's only variant (update). Whatever the body, nothing
// panics, every refusal is a 400 or 422, and what passes is within bounds.
func FuzzVariantBody(f *testing.F) {
	for _, s := range []string{
		`{"variant":{"option1":"M","price":"1.50","sku":"T-M"}}`,
		`{"variant":{"option1":"L","price":2,"compare_at_price":"3.00","barcode":"4006381333931","weight":0.5,"weight_unit":"lb"}}`,
		`{"variant":{"compare_at_price":null,"inventory_management":null,"image_id":null,"inventory_policy":"continue"}}`,
		`{"variant":{"inventory_management":"shopify","image_id":7,"requires_shipping":false,"taxable":false}}`,
		`{"variant":{"id":5,"option1":"S"}}`, `{"variant":{"option1":"M","option2":"Red","option3":"x"}}`,
		`{"variant":{"price":"-1"}}`, `{"variant":{"price":"1e3"}}`, `{"variant":{"price":"19.999"}}`, `{"variant":{"price":""}}`,
		`{"variant":{"price":1e400}}`, `{"variant":{"price":"99999999999999999999999"}}`, `{"variant":{"price":true}}`,
		`{"variant":{"weight":1e308,"weight_unit":"stone"}}`, `{"variant":{"weight":-0.0}}`, `{"variant":{"weight":"1"}}`,
		`{"variant":{"id":99999999999999999999}}`, `{"variant":{"image_id":1.5}}`, `{"variant":{"option1":"   "}}`,
		`{"variant":{"option1":"Größe ✓","sku":"\u00e9\u2028"}}`, `{"variant":{"sku":"a\u0000b"}}`, `{"variant":{"option1":"\ud800"}}`,
		`{"variant":{"inventory_management":"fulfillment_service","inventory_policy":"DENY"}}`,
		`{"variant":null}`, `{"variant":[]}`, `{"variant":"x"}`, `{"product":{}}`, `[]`, `{}`, `"x"`, ``, `null`,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	usd := money.MustCurrency("USD")
	f.Fuzz(func(t *testing.T, body string) {
		var req variantRequest
		if !passes(t, "decode", body, apps.DecodeEnvelope(bodyContext("POST", "/admin/api/2025-01/products/1/variants.json", body), "variant", &req)) {
			return
		}
		fields := errs.Fields{}
		vi := req.toVariantInput(usd, func(format string, args ...any) { fields.Add("variant", format, args...) })
		if !passes(t, "convert", body, fields.Err()) {
			return
		}
		small := "S"
		existing := Variant{ID: 7, Position: 1, Options: [MaxOptions]*string{&small}, WeightUnit: "kg", InventoryPolicy: "deny"}
		options := []Option{{Name: "Size", Position: 1}}
		for _, creating := range []bool{true, false} {
			in := vi
			if creating && in.ID != 0 {
				continue // CreateVariant refuses it as Invalid before anything else
			}
			list := []VariantInput{{ID: existing.ID}, in}
			if !creating {
				in.ID = existing.ID
				list = []VariantInput{in}
			}
			if !passes(t, "validate", body, (&ProductInput{Variants: &list}).validate(false)) {
				continue
			}
			in = list[len(list)-1]
			v := existing
			if creating {
				v = Variant{Position: 2, WeightUnit: "kg", RequiresShipping: true, Taxable: true, InventoryPolicy: "deny"}
			}
			applyVariant(&v, in)
			if v.Price < 0 || v.Price > money.Max || v.CompareAtPrice != nil && (*v.CompareAtPrice < 0 || *v.CompareAtPrice > money.Max) ||
				!(v.Weight >= 0 && v.Weight < 1e9) || gramsPer[v.WeightUnit] == 0 || (v.InventoryPolicy != "deny" && v.InventoryPolicy != "continue") {
				t.Fatalf("validated variant %+v of %q is out of bounds", v, body)
			}
			variants := []Variant{v}
			if creating {
				variants = []Variant{existing, v}
			}
			passes(t, "check", body, checkVariants(options, variants))
		}
	})
}

// FuzzCollectionBody does the same for a custom collection write
// (custom_collections.json, custom_collections/{id}.json): the envelope, the
// conversion, validation, and on creation the handle derived from the title.
func FuzzCollectionBody(f *testing.F) {
	for _, s := range []string{
		`{"custom_collection":{"title":"Green teas"}}`,
		`{"custom_collection":{"title":"Teas","body_html":"<p>x</p>","handle":"teas","sort_order":"price-asc","published":false}}`,
		`{"custom_collection":{"title":"Teas","collects":[{"product_id":1},{"product_id":-2},{"product_id":0}]}}`,
		`{"custom_collection":{"title":"!!!"}}`, `{"custom_collection":{"title":"   "}}`, `{"custom_collection":{"title":""}}`,
		`{"custom_collection":{"title":"Tea","handle":"Not A Handle","sort_order":"random"}}`,
		`{"custom_collection":{"title":"Größe ✓ 茶","handle":"größe-茶"}}`, `{"custom_collection":{"title":"a\u0000b"}}`,
		`{"custom_collection":{"title":5}}`, `{"custom_collection":{"title":null,"handle":null,"published":"yes"}}`,
		`{"custom_collection":{"collects":{"product_id":1}}}`, `{"custom_collection":{"collects":[{"product_id":1e400}]}}`,
		`{"custom_collection":{"collects":[{"product_id":99999999999999999999}]}}`,
		`{"custom_collection":null}`, `{"custom_collection":[]}`, `{"collection":{}}`, `[]`, `{}`, `"x"`, ``, `null`,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	f.Fuzz(func(t *testing.T, body string) {
		for _, creating := range []bool{true, false} {
			var req collectionRequest
			if !passes(t, "decode", body, apps.DecodeEnvelope(bodyContext("POST", "/admin/api/2025-01/custom_collections.json", body), "custom_collection", &req)) {
				return
			}
			if !creating && len(req.Collects) > 0 {
				continue // updateCollection refuses it as Invalid: collects.json changes a collection's products
			}
			in := req.toInput()
			if !passes(t, "validate", body, in.validate(creating)) {
				continue
			}
			if in.SortOrder != nil && !slices.Contains(SortOrders, *in.SortOrder) ||
				in.Handle != nil && *in.Handle != "" && Handleize(*in.Handle) != *in.Handle || len(in.Products) > 250 {
				t.Fatalf("validated collection %+v of %q is out of bounds", in, body)
			}
			if !creating {
				continue
			}
			if in.Title == nil || *in.Title == "" {
				t.Fatalf("validated new collection of %q has no title", body)
			}
			if base := Handleize(*in.Title); (in.Handle == nil || *in.Handle == "") && base == "" {
				passes(t, "handle", body, errNoHandle)
			}
		}
	})
}

// FuzzCollectBody does the same for collects.json: the envelope and the
// check that a collection and a product are named.
func FuzzCollectBody(f *testing.F) {
	for _, s := range []string{
		`{"collect":{"collection_id":1,"product_id":2}}`, `{"collect":{"collection_id":1}}`, `{"collect":{}}`,
		`{"collect":{"collection_id":-1,"product_id":0}}`, `{"collect":{"collection_id":"1","product_id":2}}`,
		`{"collect":{"collection_id":1.5,"product_id":2}}`, `{"collect":{"collection_id":1e400,"product_id":2}}`,
		`{"collect":{"collection_id":99999999999999999999,"product_id":2}}`, `{"collect":{"collection_id":null,"position":"x"}}`,
		`{"collect":{"collection_id":1,"product_id":2,"note":"\u0000"}}`, `{"collect":{"collection_id":1,"product_id":2,"ü":"✓"}}`,
		`{"collect":null}`, `{"collect":[]}`, `[]`, `{}`, `"x"`, ``, `null`,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	f.Fuzz(func(t *testing.T, body string) {
		var req collectRequest
		if !passes(t, "decode", body, apps.DecodeEnvelope(bodyContext("POST", "/admin/api/2025-01/collects.json", body), "collect", &req)) {
			return
		}
		if passes(t, "validate", body, req.validate()) && (req.CollectionID <= 0 || req.ProductID <= 0) {
			t.Fatalf("validated collect %+v of %q names no collection or product", req, body)
		}
	})
}

// FuzzImportCSV feeds arbitrary files through everything a product CSV
// import does before it touches the database: reading and grouping the
// rows, building each product's input (prices in the store's currency) and
// validating it as a new product. Whatever the file, nothing panics; the
// file fails as a whole (Invalid) only when it cannot be read as CSV with
// a Handle column; a bad row fails its product with a message; and what
// passes can be stored (PostgreSQL text holds no NUL and only UTF-8).
func FuzzImportCSV(f *testing.F) {
	header := "Handle,Title,Body (HTML),Vendor,Type,Tags,Published,Option1 Name,Option1 Value,Option2 Name,Option2 Value,Option3 Name,Option3 Value," +
		"Variant SKU,Variant Grams,Variant Inventory Tracker,Variant Inventory Qty,Variant Inventory Policy,Variant Fulfillment Service," +
		"Variant Price,Variant Compare At Price,Variant Requires Shipping,Variant Taxable,Variant Barcode," +
		"Image Src,Image Position,Image Alt Text,Variant Image,Variant Weight Unit,Status,Gift Card\n"
	for _, s := range []string{
		header + `sencha,Sencha,<p>Steamed green tea</p>,Uji Farms,Tea,"green, japanese",TRUE,Size,50 g,Grade,Daily,,,SEN-50-D,50,shopify,10,deny,manual,6.50,8.00,TRUE,TRUE,,https://cdn.example/sencha.jpg,1,,,g,active,FALSE
sencha,,,,,,,,100 g,,Premium,,,SEN-100-P,100,shopify,2,continue,manual,18.00,,TRUE,TRUE,4006381333931,,,,https://cdn.example/sencha-2.jpg,g,,
sencha,,,,,,,,,,,,,,,,,,,,,,,,https://cdn.example/sencha-2.jpg,2,Second flush,,,,
tea-scoop,Bamboo Tea Scoop,,Kyoto Crafts,Accessory,tools,TRUE,Title,Default Title,,,,,SCOOP,20,,,deny,manual,4.00,,TRUE,TRUE,,,,,,kg,active,
`,
		header + "bad-price,Bad,,,,,TRUE,Title,Default Title,,,,,,,,,,,9.999,,,,,,,,,,active,\n,Orphan row,,,,,,,,,,,,,,,,,,,,,,,,,,,,,\n",
		header + "dup,Dup,,,,,,Color,Red,,,,,,,,,,,1,,,,,,,,,,,\ndup,,,,,,,,red,,,,,,,,,,,2,,,,,,,,,,,\n",
		"Handle,Title,Variant Grams,Variant Price,Variant Inventory Qty\nnan,NaN Tea,NaN,1.00,1e3\ninf,Inf Tea,+Inf,1,-99999999999\nbig,Big,1e400,99999999999999999999,9223372036854775808\n",
		"Handle,Title,Image Src,Image Position,Image Alt Text\nimg,Img,https://x.example/a.png,9223372036854775807,A\nimg,,ftp://x/b.png,-1,\nimg,,https://x.example/a.png,0,dup\n",
		"\ufeffHandle,Title,Published,Status,Variant Taxable,Variant Requires Shipping\nbom,Bom,maybe,ARCHIVED,yes,no\n",
		"handle,TITLE,handle\r\nfirst,First,second\r\n\"quoted\nhandle\",\"multi\nline\",x\r\n",
		"Handle,Title\nnul,Tea\x00Pot\n", "Handle,Title\nlatin,Caf\xe9\n", "Handle,Title,Option1 Name,Option1 Value\nopt,T,Size,\xff\xfe\n",
		"Handle,Title,Option1 Name,Option2 Name,Option3 Name,Option1 Value,Option2 Value,Option3 Value\nopts,T,A,a,B,x,y,z\nopts,,,,,x,y,z\n",
		"Handle,Title,Tags,Variant SKU\nünï,Größe ✓ 茶,\"a,,a, A ,b\",\u2028\n",
		"Handle\n\"unclosed\n", "Handle,Title\nx,\"a\"b\n", "Title,Price\nx,1\n", "Handle", "", "\n\n", ",,,\n,,,\n",
	} {
		f.Add([]byte(s))
	}
	usd := money.MustCurrency("USD")
	f.Fuzz(func(t *testing.T, data []byte) {
		products, failed, skipped, err := parseCSV(bytes.NewReader(data))
		if err != nil {
			passes(t, "parseCSV", string(data), err)
			cr := csv.NewReader(bytes.NewReader(data))
			cr.FieldsPerRecord = -1
			if recs, rerr := cr.ReadAll(); rerr == nil && len(recs) > 0 && slices.ContainsFunc(recs[0], func(h string) bool {
				return strings.EqualFold(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")), "handle")
			}) {
				t.Fatalf("parseCSV(%q) = %v, but the file reads as CSV with a Handle column", data, err)
			}
			return
		}
		for _, fl := range failed {
			if fl.Line < 1 || fl.Err == nil || fl.Err.Error() == "" {
				t.Fatalf("parseCSV(%q) failed a row without a line or a message: %+v", data, fl)
			}
		}
		for _, s := range skipped {
			if s == "" {
				t.Fatalf("parseCSV(%q) skipped a column without a name", data)
			}
		}
		for _, p := range products {
			if p.handle == "" || len(p.rows) == 0 || len(p.rows) != len(p.lines) {
				t.Fatalf("parseCSV(%q) gave product %+v", data, p)
			}
			in, variantImages, stock, err := p.input(usd)
			if err != nil {
				rowError(t, data, err)
				continue
			}
			n := len(variantInputs(in))
			if len(variantImages) != n || len(stock) != n || in.Images == nil || in.Options == nil {
				t.Fatalf("input of %q gave %d variants, %d variant images, %d stock, images %v, options %v",
					data, n, len(variantImages), len(stock), in.Images, in.Options)
			}
			for _, src := range variantImages {
				if src != "" && !slices.ContainsFunc(*in.Images, func(im ImageInput) bool { return im.Src == src }) {
					t.Fatalf("input of %q: Variant Image %q is not among the product's images", data, src)
				}
			}
			if err := in.validate(true); err != nil {
				passes(t, "validate", string(data), err)
				rowError(t, data, readable(err)) // as the report shows it
				continue
			}
			if s, ok := unstorable(in); ok {
				t.Fatalf("input of %q passed validation with text PostgreSQL cannot store: %q", data, s)
			}
			var vs []Variant
			for _, vi := range variantInputs(in) {
				v := Variant{}
				applyVariant(&v, vi)
				vs = append(vs, v)
			}
			if len(vs) == 0 {
				vs = []Variant{{}}
			}
			passes(t, "check", string(data), checkVariants(optionsFor(in.Options, vs), vs))
		}
	})
}

// rowError fails t unless err, a product's failure in an import report, says
// what is wrong: a message to show, for our errors, or plain text.
func rowError(t *testing.T, data []byte, err error) {
	t.Helper()
	if _, ok := errors.AsType[*errs.Error](err); ok {
		passes(t, "row", string(data), err)
	} else if err.Error() == "" {
		t.Fatalf("a product of %q failed without a message", data)
	}
}

// variantInputs is in's variants, none when it gives none.
func variantInputs(in ProductInput) []VariantInput {
	if in.Variants == nil {
		return nil
	}
	return *in.Variants
}

// unstorable returns a text of in that PostgreSQL refuses (a NUL, bytes
// that are not UTF-8), if there is one.
func unstorable(in ProductInput) (string, bool) {
	texts := []*string{in.Title, in.BodyHTML, in.Vendor, in.ProductType, in.Handle, in.Status}
	for _, list := range []*[]string{in.Tags, in.Options} {
		if list != nil {
			for i := range *list {
				texts = append(texts, &(*list)[i])
			}
		}
	}
	for _, v := range variantInputs(in) {
		texts = append(texts, v.SKU, v.Barcode, v.WeightUnit, v.InventoryPolicy)
		texts = append(texts, v.Options[:]...)
		if v.InventoryManagement != nil {
			texts = append(texts, *v.InventoryManagement)
		}
	}
	if in.Images != nil {
		for _, im := range *in.Images {
			texts = append(texts, &im.Src, im.Alt)
		}
	}
	for _, s := range texts {
		if s != nil && (!utf8.ValidString(*s) || strings.ContainsRune(*s, 0)) {
			return *s, true
		}
	}
	return "", false
}
