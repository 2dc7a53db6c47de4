package main

import (
	"bytes"
	"context"
	"net"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/browser"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/orders"
)

// TestShopperBuysFromTheDemoStore buys in Chromium as a shopper would: a
// product into the cart, the checkout's information, shipping and payment
// steps with the demo's WELCOME10 code, the manual bank-transfer method,
// and the order status page. Screenshots of each step are saved under
// .data/screenshots/TestShopperBuysFromTheDemoStore/.
func TestShopperBuysFromTheDemoStore(t *testing.T) {
	dbURL := testenv.Database(t)
	s := startServer(t, dbURL)
	_, port, _ := net.SplitHostPort(s.http.Listener.Addr().String())
	ctx := context.Background()
	if err := s.deps.db.MigrateControl(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemo(ctx, s.deps, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("ensureDemo = %v", err)
	}
	base := "http://demo.localhost:" + port

	b := browser.New(t)
	b.Open(base+"/products/gyokuro-asahi", "#AddToCart")
	b.Select("#Option1", "100 g")
	b.Select("#Option2", "Reserve")
	b.Click("#AddToCart")
	b.WaitVisible(".cart-table")
	b.Click(`button[name="checkout"]`)

	b.WaitVisible("#email")
	if !strings.Contains(b.URL(), "/checkouts/") {
		t.Fatalf("the checkout button led to %s, want /checkouts/…", b.URL())
	}
	b.Fill("#email", "ada@example.com")
	b.Fill("#first_name", "Ada")
	b.Fill("#last_name", "Lovelace")
	b.Fill("#address1", "12 Analytical Row")
	b.Fill("#city", "Springfield")
	b.Select("#country", "US")
	b.Select("#province", "IL")
	b.Fill("#zip", "6270") // one digit short: refused with a message
	b.Screenshot("1-information")
	b.Click(`form[action$="/contact"] button[type="submit"]`)
	b.WaitVisible(`#zip[aria-invalid="true"]`)
	if msg := b.Text(".alert"); msg == "" {
		t.Error("a bad ZIP code shows no message")
	}
	b.Screenshot("2-information-refused")
	b.Fill("#zip", "62701")
	b.Click(`form[action$="/contact"] button[type="submit"]`)

	b.WaitVisible(`input[name="shipping_rate"]`)
	b.Screenshot("3-shipping")
	b.Click(`form[action$="/shipping"] button[type="submit"]`)

	b.WaitVisible("#discount")
	b.Fill("#discount", "WELCOME10")
	b.Click(`form.discount button[type="submit"]`)
	b.WaitVisible(".summary .badge")
	if got := b.Text(".summary .badge"); got != "WELCOME10" {
		t.Errorf("the summary's discount badge = %q, want WELCOME10", got)
	}
	b.Screenshot("4-payment")
	b.Click(`form[action$="/complete"] button[type="submit"]`)

	b.WaitVisible(".ok")
	if got := b.Text("h1"); got != "Thank you, Ada!" {
		t.Errorf("status page h1 = %q, want a thank-you", got)
	}
	if !strings.Contains(b.Text("main"), "How to pay: Bank transfer") {
		t.Errorf("the status page does not say how to pay:\n%s", b.Text("main"))
	}
	b.Screenshot("5-order-status")
	for _, e := range b.Errors() {
		if !strings.Contains(e, "/contact: 422") { // the refused ZIP code, on purpose
			t.Errorf("browser: the page reported: %s", e)
		}
	}

	st, err := s.deps.db.TenantBySlug(ctx, "demo")
	if err != nil {
		t.Fatal(err)
	}
	var o orders.Order
	err = s.deps.db.ReadTx(ctx, st, func(tx *gorm.DB) error {
		tok := b.URL()[strings.LastIndexByte(b.URL(), '/')+1:]
		o, err = orders.OrderByTokenIn(tx, tok)
		return err
	})
	if err != nil {
		t.Fatalf("the order of the status page: %v", err)
	}
	if o.Name != "#1001" || o.FinancialStatus != orders.FinancialPending || len(o.DiscountCodes) != 1 || o.Email != "ada@example.com" {
		t.Errorf("order = %s, %s, codes %+v, %s; want #1001, pending, WELCOME10, ada@example.com", o.Name, o.FinancialStatus, o.DiscountCodes, o.Email)
	}

	m := browser.NewMobile(t)
	m.Open(base+"/products/gyokuro-asahi", "#AddToCart")
	m.Click("#AddToCart")
	m.WaitVisible(".cart-table")
	m.Click(`button[name="checkout"]`)
	m.WaitVisible("#email")
	m.Screenshot("6-information-mobile")
	m.ExpectNoErrors()
}
