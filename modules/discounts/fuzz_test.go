package discounts

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/apps"
)

// FuzzPriceRuleBody feeds arbitrary bodies through everything a price rule
// write does before it touches the database: the envelope, the conversion,
// validation, and applying the input to a new rule in USD and in JPY.
// Whatever the body, nothing panics, every refusal is a 400 (Malformed) or
// 422 (Invalid) with a message, and every rule that passes meets the
// table's CHECK constraints and shows a value that reads back the same.
func FuzzPriceRuleBody(f *testing.F) {
	for _, s := range []string{
		`{"price_rule":{"title":"SUMMERSALE10OFF","target_type":"line_item","target_selection":"all","allocation_method":"across","value_type":"fixed_amount","value":"-10.0","customer_selection":"all","starts_at":"2017-01-19T17:59:10Z"}}`,
		`{"price_rule":{"title":"Free shipping","target_type":"shipping_line","value_type":"percentage","value":-100,"usage_limit":20,"once_per_customer":true}}`,
		`{"price_rule":{"title":"T","target_type":"line_item","value_type":"percentage","value":"-12.5","prerequisite_subtotal_range":{"greater_than_or_equal_to":"40.0"},"ends_at":"2030-01-01T00:00:00+01:00"}}`,
		`{"price_rule":{"title":"T","target_type":"line_item","value_type":"percentage","value":"-1e2"}}`,
		`{"price_rule":{"value":"10","usage_limit":-1,"ends_at":null,"starts_at":null}}`,
		`{"price_rule":{"prerequisite_subtotal_range":null,"entitled_product_ids":[1]}}`,
		`{"price_rule":{"value":{}}}`, `{"price_rule":null}`, `{"price_rule":[]}`, `[]`, `{}`, ``,
	} {
		f.Add(s)
	}
	gin.SetMode(gin.ReleaseMode)
	usd, jpy := money.MustCurrency("USD"), money.MustCurrency("JPY")
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		c, _ := gin.CreateTestContext(httptest.NewRecorder())
		c.Request = httptest.NewRequest("POST", "/admin/api/2025-01/price_rules.json", strings.NewReader(body))
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
		var req priceRuleRequest
		if !check("decode", apps.DecodeEnvelope(c, "price_rule", &req)) {
			return
		}
		in, err := req.toPriceRuleInput()
		if !check("convert", err) {
			return
		}
		if !check("validate", in.validate(true)) {
			return
		}
		for _, cur := range []money.Currency{usd, jpy} {
			r := PriceRule{TargetSelection: SelectionAll, CustomerSelection: SelectionAll, StartsAt: now}
			if !check("apply "+cur.Code, in.apply(&r, cur)) {
				continue
			}
			switch {
			case r.Title == "" || utf8.RuneCountInString(r.Title) > maxTitle:
				t.Fatalf("%q: title %q passed", body, r.Title)
			case r.ValueType != Percentage && r.ValueType != FixedAmount:
				t.Fatalf("%q: value_type %q passed", body, r.ValueType)
			case r.PercentBP < 0 || r.PercentBP > 10_000 || r.Amount < 0 || r.Amount > money.Max:
				t.Fatalf("%q: value out of range: %+v", body, r)
			case (r.ValueType == Percentage && r.Amount != 0) || (r.ValueType == FixedAmount && r.PercentBP != 0):
				t.Fatalf("%q: value of the other type kept: %+v", body, r)
			case !(r.TargetType == LineItem && r.AllocationMethod == Across) && !(r.TargetType == ShippingLine && r.AllocationMethod == Each):
				t.Fatalf("%q: target %q with allocation %q passed", body, r.TargetType, r.AllocationMethod)
			case r.EndsAt != nil && !r.EndsAt.After(r.StartsAt):
				t.Fatalf("%q: ends_at %v not after starts_at %v", body, r.EndsAt, r.StartsAt)
			case r.UsageLimit != nil && (*r.UsageLimit <= 0 || *r.UsageLimit > 1<<31-1):
				t.Fatalf("%q: usage_limit %d passed", body, *r.UsageLimit)
			case r.MinSubtotal < 0:
				t.Fatalf("%q: minimum %d passed", body, r.MinSubtotal)
			}
			// What the API shows reads back as the same rule.
			back := PriceRule{ValueType: r.ValueType}
			fs := errs.Fields{}
			parseValue(fs, &back, r.Value(cur), cur)
			if fs.Err() != nil || back.PercentBP != r.PercentBP || back.Amount != r.Amount {
				t.Fatalf("%q: value %q in %s reads back as %+v, %v", body, r.Value(cur), cur.Code, back, fs.Err())
			}
		}
	})
}
