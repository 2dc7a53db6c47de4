package discounts_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/discounts"
	"github.com/storefleet/storefleet/tenant"
)

func newHarness(t testing.TB) (*appstest.Harness, *discounts.Service) {
	var svc *discounts.Service
	h := appstest.New(t, func(db *tenant.DB) []apps.Resource {
		svc = discounts.NewService(db)
		return []apps.Resource{svc}
	})
	return h, svc
}

func ptr[T any](v T) *T { return &v }

// newRule makes a price rule with code in st, failing the test on error.
func newRule(t *testing.T, svc *discounts.Service, st *tenant.Tenant, code string, in discounts.PriceRuleInput) (discounts.PriceRule, discounts.Code) {
	t.Helper()
	ctx := context.Background()
	if in.Title == nil {
		in.Title = ptr("rule " + code)
	}
	r, err := svc.CreatePriceRule(ctx, st, in)
	if err != nil {
		t.Fatalf("CreatePriceRule(%s) = %v", code, err)
	}
	c, err := svc.CreateCode(ctx, st, r.ID, ptr(code))
	if err != nil {
		t.Fatalf("CreateCode(%s) = %v", code, err)
	}
	return r, c
}

func percentOff(value string) discounts.PriceRuleInput {
	return discounts.PriceRuleInput{ValueType: ptr(discounts.Percentage), Value: ptr(value), TargetType: ptr(discounts.LineItem)}
}

func TestOff(t *testing.T) {
	usd, jpy, bhd := money.MustCurrency("USD"), money.MustCurrency("JPY"), money.MustCurrency("BHD")
	pct := func(bp int64) discounts.Discount {
		return discounts.Discount{ValueType: discounts.Percentage, PercentBP: bp, TargetType: discounts.LineItem}
	}
	fixed := func(a money.Amount) discounts.Discount {
		return discounts.Discount{ValueType: discounts.FixedAmount, Amount: a, TargetType: discounts.LineItem}
	}
	ship := func(d discounts.Discount) discounts.Discount { d.TargetType = discounts.ShippingLine; return d }
	min := func(d discounts.Discount, m money.Amount) discounts.Discount { d.MinSubtotal = m; return d }
	for _, tc := range []struct {
		name                string
		d                   discounts.Discount
		subtotal, shipping  money.Amount
		cur                 money.Currency
		wantLines, wantShip money.Amount
		wantErr             string
	}{
		{"10% of 19.99 rounds half up", pct(1000), 1999, 500, usd, 200, 0, ""},
		{"10% of 19.94 rounds down", pct(1000), 1994, 500, usd, 199, 0, ""},
		{"10% of 19.95 rounds half up", pct(1000), 1995, 500, usd, 200, 0, ""},
		{"12.5% of 1.00", pct(1250), 100, 0, usd, 13, 0, ""},
		{"100% of everything", pct(10000), 12345, 999, usd, 12345, 0, ""},
		{"15% in JPY rounds to whole yen", pct(1500), 1234, 0, jpy, 185, 0, ""}, // 185.1
		{"15% in JPY half up", pct(1500), 1230, 0, jpy, 185, 0, ""},             // 184.5
		{"33.33% in JPY", pct(3333), 999, 0, jpy, 333, 0, ""},                   // 332.9667
		{"fixed 5.00 off 19.99", fixed(500), 1999, 500, usd, 500, 0, ""},        // plain
		{"fixed never more than the subtotal", fixed(5000), 1999, 500, usd, 1999, 0, ""},
		{"fixed ¥500 off ¥300", fixed(500), 300, 0, jpy, 300, 0, ""},
		{"fixed in BHD (3 decimals)", fixed(1005), 5000, 0, bhd, 1005, 0, ""},
		{"free shipping", ship(pct(10000)), 1999, 750, usd, 0, 750, ""},
		{"half off shipping rounds half up", ship(pct(5000)), 1999, 751, usd, 0, 376, ""},
		{"fixed off shipping capped", ship(fixed(1000)), 1999, 750, usd, 0, 750, ""},
		{"free shipping with no shipping", ship(pct(10000)), 1999, 0, usd, 0, 0, ""},
		{"empty cart", pct(1000), 0, 0, usd, 0, 0, ""},
		{"minimum met exactly", min(pct(1000), 5000), 5000, 0, usd, 500, 0, ""},
		{"minimum not met", min(pct(1000), 5000), 3750, 0, usd, 0, 0, "Spend 12.50 USD more to use this code"},
		{"minimum not met in JPY", min(fixed(500), 3000), 2999, 0, jpy, 0, 0, "Spend 1 JPY more to use this code"},
		{"minimum for free shipping", min(ship(pct(10000)), 7500), 100, 800, usd, 0, 0, "Spend 74.00 USD more to use this code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, shipOff, err := tc.d.Off(tc.subtotal, tc.shipping, tc.cur)
			if tc.wantErr != "" {
				if !errs.Is(err, errs.Invalid) || errs.MessageOf(err) != tc.wantErr {
					t.Fatalf("%+v.Off(%d, %d, %s) error = %v, want Invalid %q", tc.d, tc.subtotal, tc.shipping, tc.cur.Code, err, tc.wantErr)
				}
				return
			}
			if err != nil || lines != tc.wantLines || shipOff != tc.wantShip {
				t.Errorf("%+v.Off(%d, %d, %s) = %d, %d, %v; want %d, %d", tc.d, tc.subtotal, tc.shipping, tc.cur.Code,
					lines, shipOff, err, tc.wantLines, tc.wantShip)
			}
		})
	}
}

func TestDiscountType(t *testing.T) {
	for _, tc := range []struct {
		d    discounts.Discount
		want string
	}{
		{discounts.Discount{ValueType: discounts.Percentage, TargetType: discounts.LineItem}, "percentage"},
		{discounts.Discount{ValueType: discounts.FixedAmount, TargetType: discounts.LineItem}, "fixed_amount"},
		{discounts.Discount{ValueType: discounts.Percentage, TargetType: discounts.ShippingLine}, "shipping"},
	} {
		if got := tc.d.Type(); got != tc.want {
			t.Errorf("%+v.Type() = %q, want %q", tc.d, got, tc.want)
		}
	}
}

func TestCodeIn(t *testing.T) {
	h, svc := newHarness(t)
	st := h.Store("discounts-codein")
	base := time.Now().UTC()
	newRule(t, svc, st, "Summer10", percentOff("-10.0"))
	newRule(t, svc, st, "FREESHIP", discounts.PriceRuleInput{ValueType: ptr(discounts.Percentage), Value: ptr("-100"),
		TargetType: ptr(discounts.ShippingLine), MinSubtotal: ptr("50")})
	newRule(t, svc, st, "OLD", discounts.PriceRuleInput{ValueType: ptr(discounts.FixedAmount), Value: ptr("-5"),
		TargetType: ptr(discounts.LineItem), StartsAt: ptr(base.Add(-48 * time.Hour)), EndsAt: ptr(base.Add(-time.Hour))})
	newRule(t, svc, st, "SOON", discounts.PriceRuleInput{ValueType: ptr(discounts.FixedAmount), Value: ptr("-5"),
		TargetType: ptr(discounts.LineItem), StartsAt: ptr(base.Add(time.Hour))})
	used, usedCode := newRule(t, svc, st, "ONCE", discounts.PriceRuleInput{ValueType: ptr(discounts.FixedAmount), Value: ptr("-5"),
		TargetType: ptr(discounts.LineItem), UsageLimit: ptr(int64(1))})
	now := time.Now().UTC() // after the rules that start now
	err := h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
		d, err := discounts.CodeIn(tx, "once", now)
		if err != nil {
			return err
		}
		return discounts.RedeemIn(tx, d, "a@example.com", 1)
	})
	if err != nil {
		t.Fatalf("redeem ONCE: %v", err)
	}

	for _, tc := range []struct {
		code    string
		want    discounts.Discount
		wantErr string
	}{
		{code: "  summer10 ", want: discounts.Discount{Code: "Summer10", ValueType: "percentage", PercentBP: 1000, TargetType: "line_item"}},
		{code: "freeship", want: discounts.Discount{Code: "FREESHIP", ValueType: "percentage", PercentBP: 10000, TargetType: "shipping_line", MinSubtotal: 5000}},
		{code: "nope", wantErr: "Enter a valid discount code"},
		{code: "", wantErr: "Enter a valid discount code"},
		{code: strings.Repeat("x", 2000), wantErr: "Enter a valid discount code"},
		{code: "old", wantErr: "This discount code has expired"},
		{code: "soon", wantErr: "This discount code is not active yet"},
		{code: "ONCE", wantErr: "This discount code has reached its usage limit"},
	} {
		var got discounts.Discount
		err := h.DB.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
			var err error
			got, err = discounts.CodeIn(tx, tc.code, now)
			return err
		})
		if tc.wantErr != "" {
			if !errs.Is(err, errs.Invalid) || errs.MessageOf(err) != tc.wantErr {
				t.Errorf("CodeIn(%.20q) = %+v, %v; want Invalid %q", tc.code, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("CodeIn(%q) = %v", tc.code, err)
			continue
		}
		got.CodeID, got.RuleID, got.Title = 0, 0, ""
		if got != tc.want {
			t.Errorf("CodeIn(%q) = %+v, want %+v", tc.code, got, tc.want)
		}
	}

	ctx := context.Background()
	r, err := svc.PriceRule(ctx, st, used.ID)
	if err != nil || r.TimesUsed != 1 {
		t.Errorf("PriceRule(ONCE) times_used = %d, %v; want 1", r.TimesUsed, err)
	}
	c, err := svc.Code(ctx, st, used.ID, usedCode.ID)
	if err != nil || c.UsageCount != 1 {
		t.Errorf("Code(ONCE) usage_count = %d, %v; want 1", c.UsageCount, err)
	}
}

// redeemAll runs n checkouts at once, each in its own store transaction
// calling CodeIn and RedeemIn with the email email(i), and counts how many
// succeed and how many are refused with a Conflict whose message is
// refusal.
func redeemAll(t *testing.T, h *appstest.Harness, st *tenant.Tenant, code string, n int, email func(i int) string, refusal string) (ok, refused int) {
	t.Helper()
	var wg sync.WaitGroup
	var mu sync.Mutex
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			err := h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
				d, err := discounts.CodeIn(tx, code, time.Now())
				if err != nil {
					return err
				}
				return discounts.RedeemIn(tx, d, email(i), int64(1000+i))
			})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errs.Is(err, errs.Conflict) && errs.MessageOf(err) == refusal:
				refused++
			case errs.Is(err, errs.Invalid) && errs.MessageOf(err) == refusal:
				refused++ // CodeIn saw the limit already reached
			default:
				t.Errorf("checkout %d: CodeIn+RedeemIn = %v, want success or %q", i, err, refusal)
			}
		}()
	}
	close(start)
	wg.Wait()
	return ok, refused
}

// TestRedeemUsageLimitUnderConcurrency: 30 shoppers at once use a code
// whose rule may be used 5 times, spread over two codes: exactly 5 orders
// get it, and the rule and its codes count 5 uses.
func TestRedeemUsageLimitUnderConcurrency(t *testing.T) {
	h, svc := newHarness(t)
	st := h.Store("discounts-limit")
	ctx := context.Background()
	in := percentOff("-20")
	in.UsageLimit = ptr(int64(5))
	r, c := newRule(t, svc, st, "FIVE", in)
	if _, err := svc.CreateCode(ctx, st, r.ID, ptr("FIVE-B")); err != nil {
		t.Fatal(err)
	}
	ok, refused := redeemAll(t, h, st, "five", 30, func(i int) string { return fmt.Sprintf("shopper%d@example.com", i) },
		"This discount code has reached its usage limit")
	if ok != 5 || refused != 25 {
		t.Errorf("30 concurrent redemptions with usage_limit 5: %d succeeded, %d refused; want 5 and 25", ok, refused)
	}
	got, err := svc.PriceRule(ctx, st, r.ID)
	if err != nil || got.TimesUsed != 5 {
		t.Errorf("PriceRule times_used = %d, %v; want 5", got.TimesUsed, err)
	}
	code, err := svc.Code(ctx, st, r.ID, c.ID)
	if err != nil || code.UsageCount != 5 {
		t.Errorf("Code usage_count = %d, %v; want 5", code.UsageCount, err)
	}
	// The other code of the rule shares its limit.
	err = h.DB.ReadTx(ctx, st, func(tx *gorm.DB) error { _, err := discounts.CodeIn(tx, "FIVE-B", time.Now()); return err })
	if errs.MessageOf(err) != "This discount code has reached its usage limit" {
		t.Errorf("CodeIn(FIVE-B) after the rule's 5 uses = %v, want the usage limit", err)
	}
}

// TestRedeemOncePerCustomerUnderConcurrency: the same shopper checks out
// 10 times at once (email in varying case) with a once-per-customer code:
// exactly one order gets it, the others are told it was used; another
// shopper still can.
func TestRedeemOncePerCustomerUnderConcurrency(t *testing.T) {
	h, svc := newHarness(t)
	st := h.Store("discounts-once")
	in := percentOff("-10")
	in.OncePerCustomer = ptr(true)
	r, _ := newRule(t, svc, st, "WELCOME", in)
	ok, refused := redeemAll(t, h, st, "WELCOME", 10, func(i int) string {
		if i%2 == 0 {
			return "Ada@Example.com"
		}
		return " ada@example.com "
	}, "This discount code has already been used")
	if ok != 1 || refused != 9 {
		t.Errorf("10 concurrent redemptions by one shopper: %d succeeded, %d refused; want 1 and 9", ok, refused)
	}
	if ok, _ := redeemAll(t, h, st, "WELCOME", 1, func(int) string { return "grace@example.com" }, ""); ok != 1 {
		t.Errorf("another shopper's redemption refused")
	}
	got, err := svc.PriceRule(context.Background(), st, r.ID)
	if err != nil || got.TimesUsed != 2 {
		t.Errorf("PriceRule times_used = %d, %v; want 2", got.TimesUsed, err)
	}
}

// TestRedeemRefusalWritesNothing: a refused redemption leaves no use
// behind, so checkout may place the order without the discount; one
// without an email cannot be counted once per customer.
func TestRedeemRefusalWritesNothing(t *testing.T) {
	h, svc := newHarness(t)
	st := h.Store("discounts-refusal")
	ctx := context.Background()
	in := percentOff("-10")
	in.OncePerCustomer = ptr(true)
	r, _ := newRule(t, svc, st, "ONLYONCE", in)
	redeem := func(email string) error {
		return h.DB.Tx(ctx, st, func(tx *gorm.DB) error {
			d, err := discounts.CodeIn(tx, "ONLYONCE", time.Now())
			if err != nil {
				return err
			}
			if err := discounts.RedeemIn(tx, d, email, 7); err != nil && !errs.Is(err, errs.Conflict) {
				return err
			}
			return nil // the order is placed either way
		})
	}
	if err := redeem("x@example.com"); err != nil {
		t.Fatal(err)
	}
	if err := redeem("X@example.com"); err != nil {
		t.Fatalf("second redemption, refused, order placed anyway: %v", err)
	}
	got, _ := svc.PriceRule(ctx, st, r.ID)
	if got.TimesUsed != 1 {
		t.Errorf("times_used after a refused second use = %d, want 1", got.TimesUsed)
	}
	err := h.DB.Tx(ctx, st, func(tx *gorm.DB) error {
		d, err := discounts.CodeIn(tx, "ONLYONCE", time.Now())
		if err != nil {
			return err
		}
		return discounts.RedeemIn(tx, d, "  ", 8)
	})
	if !errs.Is(err, errs.Invalid) {
		t.Errorf("RedeemIn with no email = %v, want Invalid", err)
	}

	// A code deleted between CodeIn and RedeemIn is not counted.
	var d discounts.Discount
	h.DB.ReadTx(ctx, st, func(tx *gorm.DB) error { d, _ = discounts.CodeIn(tx, "ONLYONCE", time.Now()); return nil })
	if err := svc.DeletePriceRule(ctx, st, r.ID); err != nil {
		t.Fatal(err)
	}
	err = h.DB.Tx(ctx, st, func(tx *gorm.DB) error { return discounts.RedeemIn(tx, d, "late@example.com", 9) })
	if errs.MessageOf(err) != "Enter a valid discount code" {
		t.Errorf("RedeemIn of a deleted rule = %v, want %q", err, "Enter a valid discount code")
	}
}
