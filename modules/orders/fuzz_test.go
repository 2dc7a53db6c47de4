package orders

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/apps"
)

// fuzzRefusal fails t unless err is nil or a refusal a partner can act on:
// a 400 (Malformed) or 422 (Invalid) with a message.
func fuzzRefusal(t *testing.T, stage, body string, err error) bool {
	t.Helper()
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

func fuzzContext(path, body string) *gin.Context {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("POST", path, strings.NewReader(body))
	return c
}

// FuzzOrderBody feeds arbitrary bodies through everything POST orders.json
// does before it touches the database: the envelope, the conversion of
// prices in the store's currency, and the order's validation (lines,
// quantities, totals). Nothing panics; every refusal is a 400 or 422.
func FuzzOrderBody(f *testing.F) {
	for _, s := range []string{
		`{"order":{"email":"a@example.com","line_items":[{"variant_id":4,"quantity":1}],"inventory_behaviour":"decrement_obeying_policy"}}`,
		`{"order":{"line_items":[{"title":"Custom","price":"9.99","quantity":2}],"financial_status":"paid","tax_lines":[{"title":"VAT","rate":0.2,"price":"3.33"}]}}`,
		`{"order":{"line_items":[{"title":"x","price":"1e9","quantity":-1}],"shipping_lines":[{"title":"Std","price":"5"}],"discount_codes":[{"code":"X","amount":"1","type":"percentage"}]}}`,
		`{"order":{"line_items":[]}}`, `{"order":{"email":5}}`, `{"order":null}`, `[]`, `{}`, ``,
		`{"order":{"line_items":[{"title":"x","price":"0.001","quantity":9223372036854775807}]}}`,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	usd := money.MustCurrency("USD")
	f.Fuzz(func(t *testing.T, body string) {
		var req orderRequest
		if !fuzzRefusal(t, "decode", body, apps.DecodeEnvelope(fuzzContext("/admin/api/2025-01/orders.json", body), "order", &req)) {
			return
		}
		n, _, err := req.toNewOrder(usd, "token:1")
		if !fuzzRefusal(t, "convert", body, err) {
			return
		}
		fuzzRefusal(t, "validate", body, n.validate(usd))
	})
}

// FuzzRefundBody does the same for refunds.json and refunds/calculate.json.
func FuzzRefundBody(f *testing.F) {
	for _, s := range []string{
		`{"refund":{"refund_line_items":[{"line_item_id":1,"quantity":1,"restock_type":"return"}],"shipping":{"full_refund":true}}}`,
		`{"refund":{"transactions":[{"parent_id":3,"amount":"10.00","kind":"refund","gateway":"manual"}],"note":"broken"}}`,
		`{"refund":{"refund_line_items":[{"line_item_id":-1,"quantity":0,"restock_type":"bin"}],"shipping":{"amount":"-1"}}}`,
		`{"refund":null}`, `{"refund":{"transactions":{}}}`, `[]`, ``,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	jpy := money.MustCurrency("JPY")
	f.Fuzz(func(t *testing.T, body string) {
		var req refundRequest
		if !fuzzRefusal(t, "decode", body, apps.DecodeEnvelope(fuzzContext("/admin/api/2025-01/orders/1/refunds.json", body), "refund", &req)) {
			return
		}
		_, err := req.toNewRefund(1, jpy, "token:1")
		fuzzRefusal(t, "convert", body, err)
	})
}
