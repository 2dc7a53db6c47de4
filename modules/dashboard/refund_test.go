package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// refundStock sets item's available stock at st's first location.
func refundStock(f *fixture, st *tenant.Tenant, item, n int64) {
	f.t.Helper()
	ctx := context.Background()
	svc := inventory.NewService(f.db)
	locs, err := svc.Locations(ctx, st)
	if err != nil || len(locs) == 0 {
		f.t.Fatalf("Locations = %v, %v", locs, err)
	}
	if _, err := svc.SetAvailable(ctx, st, inventory.Change{ItemID: item, LocationID: locs[0].ID, Quantity: n, Actor: "test"}); err != nil {
		f.t.Fatalf("SetAvailable(%d, %d) = %v", item, n, err)
	}
}

// refundAvailable is item's stock over st's locations.
func refundAvailable(f *fixture, st *tenant.Tenant, item int64) int64 {
	f.t.Helper()
	levels, _, err := inventory.NewService(f.db).Levels(context.Background(), st, inventory.LevelQuery{ItemIDs: []int64{item}, Limit: 10})
	if err != nil {
		f.t.Fatal(err)
	}
	var sum int64
	for _, l := range levels {
		sum += l.Available
	}
	return sum
}

// refundPaidOrder places a manual order of 2 of item at 10.00 with 5.00
// shipping (25.00), taking its stock, and marks it paid through the
// service, as the dashboard's "mark as paid" does.
func refundPaidOrder(f *fixture, st *tenant.Tenant, item int64) orders.Order {
	f.t.Helper()
	var o orders.Order
	err := f.db.Tx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		o, err = orders.PlaceIn(tx, orders.NewOrder{Email: "ann@example.com", Currency: "USD",
			Lines:         []orders.NewLine{{VariantID: &item, Title: "Tea", Quantity: 2, Price: 1000, RequiresShipping: true, Tracked: true}},
			ShippingLines: []orders.ShippingLine{{Title: "Standard", Code: "std", Price: 500}},
			SubtotalPrice: 2000, TotalShipping: 500, TotalPrice: 2500, Gateway: "manual", PaymentMethod: "Bank transfer",
			SourceName: "web", InventoryBehaviour: orders.InventoryObeyingPolicy, Actor: "test"})
		return err
	})
	if err != nil {
		f.t.Fatalf("PlaceIn = %v", err)
	}
	if _, err := orders.NewService(f.db).CreateTransaction(context.Background(), st, orders.NewTransaction{OrderID: o.ID,
		Kind: orders.KindCapture, Status: orders.StatusSuccess, Gateway: "manual", Actor: "test"}); err != nil {
		f.t.Fatalf("CreateTransaction(capture) = %v", err)
	}
	return f.order(st, o.ID)
}

// TestRefund: the owner works out a refund of one item, refunds it with
// restock (partially refunded, stock back, notice and timeline), then the
// rest with the shipping, without restock (refunded; the card goes).
func TestRefund(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("refund-shop")
	item := f.product(st, "Tea").Variants[0].ID
	refundStock(f, st, item, 5)
	o := refundPaidOrder(f, st, item)
	if got := refundAvailable(f, st, item); got != 3 {
		t.Fatalf("after placing, stock is %d, want 3", got)
	}
	line := o.Lines[0].ID
	qty := fmt.Sprintf("qty_%d", line)
	b := f.browser()
	b.mustLogin(acct.Email)
	path := fmt.Sprintf("/store/refund-shop/orders/%d", o.ID)
	page := b.get(path)
	for _, want := range []string{`id="refund-h"`, "Up to 25.00 USD can be given back.", `name="` + qty + `"`, "Up to 5.00 USD."} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the paid order's page lacks %q", want)
		}
	}

	// Calculate: the amount for one item, shown in the form; nothing recorded.
	r := b.post(path+"/refund", url.Values{qty: {"1"}, "restock": {"1"}, "action": {"calculate"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "Calculated for the items and shipping above: 10.00 USD") ||
		!strings.Contains(r.body, `name="amount" inputmode="decimal" value="10.00"`) || !strings.Contains(r.body, `value="1"`) {
		t.Errorf("POST calculate = %d, want the page with 10.00 calculated and the quantity kept", r.status)
	}
	if got := f.order(st, o.ID); got.FinancialStatus != orders.FinancialPaid {
		t.Fatalf("calculating changed the order to %s", got.FinancialStatus)
	}

	b.get(path)
	r = b.post(path+"/refund", url.Values{qty: {"1"}, "restock": {"1"}, "note": {"Damaged"}, "action": {"refund"}})
	if r.status != http.StatusSeeOther || !regexp.MustCompile(`^`+path+`\?done=refunded&refund=\d+$`).MatchString(r.header.Get("Location")) {
		t.Fatalf("POST refund = %d %s %.300s, want 303 back with the refund", r.status, r.header.Get("Location"), r.body)
	}
	got := f.order(st, o.ID)
	if got.FinancialStatus != orders.FinancialPartiallyRefunded || got.Lines[0].RefundedQuantity != 1 || got.Lines[0].RestockedQuantity != 1 {
		t.Errorf("after refunding one, the order is %s with %d refunded, %d restocked; want partially_refunded, 1, 1",
			got.FinancialStatus, got.Lines[0].RefundedQuantity, got.Lines[0].RestockedQuantity)
	}
	if n := refundAvailable(f, st, item); n != 4 {
		t.Errorf("after a refund with restock, stock is %d, want 4", n)
	}
	page = b.get(r.header.Get("Location"))
	for _, want := range []string{"Refunded 10.00 USD.", "A refund of 10.00 was issued, with items restocked", "Payment: partially_refunded",
		"Up to 15.00 USD can be given back.", "1 refunded, 1 restocked"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("after the refund, the order page lacks %q", want)
		}
	}

	// The rest and the shipping, no restock.
	r = b.post(path+"/refund", url.Values{qty: {"1"}, "shipping": {"5.00"}, "action": {"refund"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("POST refund of the rest = %d %.300s", r.status, r.body)
	}
	got = f.order(st, o.ID)
	if got.FinancialStatus != orders.FinancialRefunded || got.Lines[0].RefundedQuantity != 2 || got.Lines[0].RestockedQuantity != 1 {
		t.Errorf("after refunding the rest, the order is %s with %d refunded, %d restocked; want refunded, 2, 1",
			got.FinancialStatus, got.Lines[0].RefundedQuantity, got.Lines[0].RestockedQuantity)
	}
	if n := refundAvailable(f, st, item); n != 4 {
		t.Errorf("a refund without restock changed the stock to %d, want 4", n)
	}
	page = b.get(r.header.Get("Location"))
	if !strings.Contains(page.body, "Refunded 15.00 USD.") || strings.Contains(page.body, `id="refund-h"`) {
		t.Errorf("after the full refund, the page should say Refunded 15.00 USD and offer no refund")
	}
}

// TestRefundRefused: asking for more than was paid, more items than are
// left, a bad amount, or nothing, is shown on the page (422) and changes
// nothing.
func TestRefundRefused(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("refund-bad")
	item := f.product(st, "Tea").Variants[0].ID
	refundStock(f, st, item, 5)
	o := refundPaidOrder(f, st, item)
	qty := fmt.Sprintf("qty_%d", o.Lines[0].ID)
	b := f.browser()
	b.mustLogin(acct.Email)
	path := fmt.Sprintf("/store/refund-bad/orders/%d", o.ID)
	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"more than paid", url.Values{qty: {"1"}, "amount": {"100.00"}}, "cannot refund more than 25.00"},
		{"more items than left", url.Values{qty: {"3"}, "restock": {"1"}}, "only 2 left to refund"},
		{"more shipping than charged", url.Values{"shipping": {"9.00"}}, "from 0 to 5.00"},
		{"a quantity that is not a number", url.Values{qty: {"two"}}, "must be a whole number from 0 to 2"},
		{"a bad amount", url.Values{qty: {"1"}, "amount": {"ten"}}, "The amount to refund must be a decimal amount"},
		{"nothing", url.Values{qty: {"0"}}, "Nothing to refund"},
	} {
		b.get(path)
		tc.form.Set("action", "refund")
		r := b.post(path+"/refund", tc.form)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) {
			t.Errorf("POST refund with %s = %d, want 422 saying %q", tc.name, r.status, tc.want)
		}
	}
	if got := f.order(st, o.ID); got.FinancialStatus != orders.FinancialPaid || got.Lines[0].RefundedQuantity != 0 {
		t.Errorf("after refused refunds, the order is %s with %d refunded; want paid, 0", got.FinancialStatus, got.Lines[0].RefundedQuantity)
	}
	if n := refundAvailable(f, st, item); n != 3 {
		t.Errorf("after refused refunds, stock is %d, want 3", n)
	}
	if rs, err := orders.NewService(f.db).Refunds(context.Background(), st, o.ID); err != nil || len(rs) != 0 {
		t.Errorf("after refused refunds, Refunds = %d, %v; want none", len(rs), err)
	}
	// An unpaid order has nothing to give back: no refund card.
	unpaid := f.placeOrder(st, "bob@example.com", 1)
	if page := b.get(fmt.Sprintf("/store/refund-bad/orders/%d", unpaid.ID)); strings.Contains(page.body, `id="refund-h"`) {
		t.Errorf("an unpaid order offers a refund")
	}
}

// TestRefundAccess: a viewer sees no refund form and their post is
// refused; a post without a token is refused; another store's order is
// not found; none of them changes anything.
func TestRefundAccess(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("refund-a")
	_, other := f.owner("refund-b")
	item := f.product(st, "Tea").Variants[0].ID
	refundStock(f, st, item, 5)
	o := refundPaidOrder(f, st, item)
	theirItem := f.product(other, "Secret Tea").Variants[0].ID
	refundStock(f, other, theirItem, 10)
	var theirs orders.Order
	for range 3 {
		theirs = refundPaidOrder(f, other, theirItem)
	}
	form := func(id int64) url.Values {
		return url.Values{fmt.Sprintf("qty_%d", id): {"1"}, "action": {"refund"}}
	}
	path := fmt.Sprintf("/store/refund-a/orders/%d", o.ID)

	viewer := f.staff(st, tenant.RoleViewer)
	v := f.browser()
	v.mustLogin(viewer.Email)
	if page := v.get(path); page.status != http.StatusOK || strings.Contains(page.body, `id="refund-h"`) {
		t.Errorf("a viewer's GET %s = %d; want 200 without the refund form", path, page.status)
	}
	if r := v.post(path+"/refund", form(o.Lines[0].ID)); r.status != http.StatusForbidden || !strings.Contains(r.body, "viewer") {
		t.Errorf("a viewer's POST refund = %d, want 403 naming the role", r.status)
	}

	b := f.browser()
	b.mustLogin(acct.Email)
	b.get(path)
	if r := b.do(http.MethodPost, path+"/refund", form(o.Lines[0].ID)); r.status != http.StatusForbidden || !strings.Contains(r.body, "Please try again") {
		t.Errorf("POST refund without a token = %d, want 403", r.status)
	}
	theirPath := fmt.Sprintf("/store/refund-a/orders/%d/refund", theirs.ID)
	if r := b.post(theirPath, form(theirs.Lines[0].ID)); r.status != http.StatusNotFound {
		t.Errorf("POST %s (store B's order) = %d, want 404", theirPath, r.status)
	}
	if got := f.order(st, o.ID); got.FinancialStatus != orders.FinancialPaid || got.Lines[0].RefundedQuantity != 0 {
		t.Errorf("after refused posts, the order is %s with %d refunded", got.FinancialStatus, got.Lines[0].RefundedQuantity)
	}
	if got := f.order(other, theirs.ID); got.FinancialStatus != orders.FinancialPaid || got.Lines[0].RefundedQuantity != 0 {
		t.Errorf("store B's order changed: %s with %d refunded", got.FinancialStatus, got.Lines[0].RefundedQuantity)
	}
}
