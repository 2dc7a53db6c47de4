package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// placeOrder places a manual, unpaid order of qty teas at 12.50 in st.
func (f *fixture) placeOrder(st *tenant.Tenant, email string, qty int64) orders.Order {
	f.t.Helper()
	var o orders.Order
	err := f.db.Tx(context.Background(), st, func(tx *gorm.DB) error {
		sub := money.Amount(1250 * qty)
		var err error
		o, err = orders.PlaceIn(tx, orders.NewOrder{Email: email, Currency: "USD",
			Lines:           []orders.NewLine{{Title: "Tea", Quantity: qty, Price: 1250, RequiresShipping: true}},
			ShippingAddress: &orders.Address{FirstName: "Ann", LastName: "Lee", Address1: "1 Leaf Road", City: "Portland", Zip: "97201", Country: "United States"},
			SubtotalPrice:   sub, TotalPrice: sub, Gateway: "manual", PaymentMethod: "Bank transfer", SourceName: "web",
			InventoryBehaviour: orders.InventoryBypass, Actor: "test"})
		return err
	})
	if err != nil {
		f.t.Fatalf("PlaceIn = %v", err)
	}
	return o
}

func (f *fixture) order(st *tenant.Tenant, id int64) orders.Order {
	f.t.Helper()
	o, err := orders.NewService(f.db).Order(context.Background(), st, id)
	if err != nil {
		f.t.Fatalf("Order(%d) = %v", id, err)
	}
	return o
}

// TestOrders: the owner lists orders, filters them by payment, opens one,
// marks it paid, fulfils it with tracking, and cancels another.
func TestOrders(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("orders-shop")
	first := f.placeOrder(st, "ann@example.com", 1)
	second := f.placeOrder(st, "bob@example.com", 2)
	b := f.browser()
	b.mustLogin(acct.Email)

	home := b.get("/store/orders-shop")
	if !strings.Contains(home.body, `href="/store/orders-shop/orders"`) {
		t.Errorf("the owner's menu has no Orders item")
	}
	list := b.get("/store/orders-shop/orders")
	if list.status != http.StatusOK {
		t.Fatalf("GET orders = %d %.300s", list.status, list.body)
	}
	for _, want := range []string{"#1001", "#1002", "ann@example.com", "bob@example.com", "25.00 USD", "12.50 USD",
		"pending", "unfulfilled", fmt.Sprintf(`href="/store/orders-shop/orders/%d"`, first.ID)} {
		if !strings.Contains(list.body, want) {
			t.Errorf("the orders list lacks %q", want)
		}
	}
	if i, j := strings.Index(list.body, "#1002"), strings.Index(list.body, "#1001"); i > j {
		t.Errorf("orders are not newest first")
	}

	path := fmt.Sprintf("/store/orders-shop/orders/%d", first.ID)
	page := b.get(path)
	if page.status != http.StatusOK {
		t.Fatalf("GET %s = %d %.300s", path, page.status, page.body)
	}
	for _, want := range []string{"Order #1001", "Tea", "1 Leaf Road", "Mark as paid", "Fulfil all remaining items", "Cancel order", "Bank transfer"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the order page lacks %q", want)
		}
	}
	r := b.post(path+"/paid", url.Values{})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?done=paid" {
		t.Fatalf("POST mark as paid = %d %s %.300s, want 303 back", r.status, r.header.Get("Location"), r.body)
	}
	if got := f.order(st, first.ID); got.FinancialStatus != orders.FinancialPaid {
		t.Errorf("after mark as paid, the financial status is %s, want paid", got.FinancialStatus)
	}
	page = b.get(path + "?done=paid")
	if !strings.Contains(page.body, "#1001 is marked as paid.") || strings.Contains(page.body, "Mark as paid") {
		t.Errorf("after mark as paid, the page shows no notice, or still offers to mark it paid")
	}
	// Paying it again is refused on the page, and nothing changes.
	r = b.post(path+"/paid", url.Values{})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "nothing left to pay") {
		t.Errorf("POST mark as paid twice = %d, want 422 saying there is nothing left to pay", r.status)
	}

	paid := b.get("/store/orders-shop/orders?financial_status=paid")
	if !strings.Contains(paid.body, "#1001") || strings.Contains(paid.body, "#1002") {
		t.Errorf("the paid filter should list #1001 only")
	}
	pending := b.get("/store/orders-shop/orders?financial_status=pending")
	if strings.Contains(pending.body, "#1001") || !strings.Contains(pending.body, "#1002") {
		t.Errorf("the pending filter should list #1002 only")
	}

	// A bad tracking URL is shown on the page, with what was typed kept.
	b.get(path)
	r = b.post(path+"/fulfil", url.Values{"tracking_number": {"1Z999"}, "tracking_url": {"javascript:alert(1)"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "http or https URL") || !strings.Contains(r.body, `value="1Z999"`) {
		t.Errorf("POST fulfil with a bad URL = %d, want 422 naming the URL and keeping the number", r.status)
	}
	if got := f.order(st, first.ID); got.FulfillmentStatus != nil {
		t.Errorf("a refused fulfilment changed the order to %v", *got.FulfillmentStatus)
	}
	r = b.post(path+"/fulfil", url.Values{"tracking_number": {"1Z999AA10123456784"}, "tracking_company": {"UPS"},
		"tracking_url": {"https://www.ups.com/track?tracknum=1Z999AA10123456784"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path+"?done=fulfilled" {
		t.Fatalf("POST fulfil = %d %s %.300s, want 303 back", r.status, r.header.Get("Location"), r.body)
	}
	if got := f.order(st, first.ID); got.FulfillmentStatus == nil || *got.FulfillmentStatus != "fulfilled" {
		t.Errorf("after fulfil, the fulfillment status is %v, want fulfilled", got.FulfillmentStatus)
	}
	page = b.get(path + "?done=fulfilled")
	for _, want := range []string{"#1001 is fulfilled.", "1Z999AA10123456784", "UPS", "Fulfillment: fulfilled"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("after fulfil, the order page lacks %q", want)
		}
	}
	if strings.Contains(page.body, "Fulfil all remaining items") {
		t.Errorf("a fulfilled order still offers to fulfil it")
	}
	if !strings.Contains(page.body, "Timeline") || strings.Count(page.body, "<time>") < 3 {
		t.Errorf("the timeline should hold placed, paid and fulfilled")
	}
	if shipped := b.get("/store/orders-shop/orders?fulfillment_status=shipped"); !strings.Contains(shipped.body, "#1001") || strings.Contains(shipped.body, "#1002") {
		t.Errorf("the shipped filter should list #1001 only")
	}

	// Cancel the second order.
	path2 := fmt.Sprintf("/store/orders-shop/orders/%d", second.ID)
	b.get(path2)
	r = b.post(path2+"/cancel", url.Values{"reason": {"inventory"}, "restock": {"1"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != path2+"?done=cancelled" {
		t.Fatalf("POST cancel = %d %s %.300s, want 303 back", r.status, r.header.Get("Location"), r.body)
	}
	if got := f.order(st, second.ID); got.CancelledAt == nil || got.CancelReason != "inventory" {
		t.Errorf("after cancel, the order is cancelled at %v for %q, want cancelled for inventory", got.CancelledAt, got.CancelReason)
	}
	page = b.get(path2 + "?done=cancelled")
	if !strings.Contains(page.body, "#1002 is cancelled.") || strings.Contains(page.body, "Cancel order") {
		t.Errorf("after cancel, the page shows no notice, or still offers to cancel")
	}
	r = b.post(path2+"/cancel", url.Values{"reason": {"customer"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "already cancelled") {
		t.Errorf("POST cancel twice = %d, want 422 saying it is already cancelled", r.status)
	}
	if open := b.get("/store/orders-shop/orders?status=open"); strings.Contains(open.body, "#1002") {
		t.Errorf("the open filter lists the cancelled order")
	}
	if cancelled := b.get("/store/orders-shop/orders?status=cancelled"); !strings.Contains(cancelled.body, "#1002") || strings.Contains(cancelled.body, "#1001") {
		t.Errorf("the cancelled filter should list #1002 only")
	}
}

// TestOrdersPages: the list pages 25 at a time, newest first.
func TestOrdersPages(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("orders-pages")
	for range 27 {
		f.placeOrder(st, "ann@example.com", 1)
	}
	b := f.browser()
	b.mustLogin(acct.Email)
	first := b.get("/store/orders-pages/orders")
	if !strings.Contains(first.body, "#1027") || strings.Contains(first.body, "#1002<") || !strings.Contains(first.body, `rel="next"`) {
		t.Fatalf("page 1 should hold the newest orders and a link onwards")
	}
	i := strings.Index(first.body, `rel="next"`)
	j := strings.LastIndex(first.body[:i], `href="`)
	next := strings.ReplaceAll(first.body[j+len(`href="`):i-2], "&amp;", "&")
	second := b.get("/store/orders-pages/orders" + next)
	if !strings.Contains(second.body, "#1001<") || !strings.Contains(second.body, "#1002<") || strings.Contains(second.body, "#1027") ||
		!strings.Contains(second.body, `rel="prev"`) {
		t.Errorf("page 2 (%s) should hold the two oldest orders and a link back", next)
	}
}

// TestOrdersViewer: a viewer sees orders without the forms that change
// them, and their posts (with a valid token) are refused with 403 and
// change nothing; a post without a token is refused too.
func TestOrdersViewer(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("orders-viewer")
	o := f.placeOrder(st, "ann@example.com", 1)
	viewer := f.staff(st, tenant.RoleViewer)
	b := f.browser()
	b.mustLogin(viewer.Email)
	if home := b.get("/store/orders-viewer"); !strings.Contains(home.body, `href="/store/orders-viewer/orders"`) {
		t.Errorf("a viewer's menu has no Orders item")
	}
	path := fmt.Sprintf("/store/orders-viewer/orders/%d", o.ID)
	page := b.get(path)
	if page.status != http.StatusOK || !strings.Contains(page.body, "#1001") {
		t.Fatalf("a viewer's GET %s = %d, want 200", path, page.status)
	}
	for _, form := range []string{"Mark as paid", "Fulfil all remaining items", "Cancel order"} {
		if strings.Contains(page.body, form) {
			t.Errorf("a viewer is offered %q", form)
		}
	}
	for _, action := range []string{"/paid", "/fulfil", "/cancel"} {
		if r := b.post(path+action, url.Values{"tracking_number": {"X1"}, "reason": {"other"}}); r.status != http.StatusForbidden || !strings.Contains(r.body, "viewer") {
			t.Errorf("a viewer's POST %s = %d, want 403 naming the role", action, r.status)
		}
	}
	if got := f.order(st, o.ID); got.FinancialStatus != orders.FinancialPending || got.FulfillmentStatus != nil || got.CancelledAt != nil {
		t.Errorf("after a viewer's posts, the order is %s/%v/cancelled %v; want unchanged", got.FinancialStatus, got.FulfillmentStatus, got.CancelledAt)
	}

	owner := f.browser()
	owner.mustLogin(acct.Email)
	owner.get(path)
	for _, action := range []string{"/paid", "/fulfil", "/cancel"} {
		r := owner.do(http.MethodPost, path+action, url.Values{"reason": {"other"}})
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "Please try again") {
			t.Errorf("POST %s without a token = %d, want 403", action, r.status)
		}
	}
	if got := f.order(st, o.ID); got.FinancialStatus != orders.FinancialPending || got.FulfillmentStatus != nil || got.CancelledAt != nil {
		t.Errorf("after posts without a token, the order changed")
	}
}

// TestOrdersCrossTenant: another store's order, under this store's slug or
// its own, is not found, and is never shown or changed.
func TestOrdersCrossTenant(t *testing.T) {
	f := newFixture(t)
	a, st := f.owner("orders-a")
	_, other := f.owner("orders-b")
	f.placeOrder(st, "ann@example.com", 1)
	var theirs orders.Order
	for range 3 { // more than store A has, so the id is not one of A's
		theirs = f.placeOrder(other, "secret@example.com", 1)
	}
	b := f.browser()
	b.mustLogin(a.Email)
	for _, path := range []string{
		fmt.Sprintf("/store/orders-a/orders/%d", theirs.ID),
		fmt.Sprintf("/store/orders-b/orders/%d", theirs.ID),
		"/store/orders-b/orders",
		"/store/orders-a/orders/not-a-number",
	} {
		if r := b.get(path); r.status != http.StatusNotFound || strings.Contains(r.body, "secret@example.com") {
			t.Errorf("GET %s = %d, want 404 showing nothing of store B", path, r.status)
		}
	}
	if list := b.get("/store/orders-a/orders"); strings.Contains(list.body, "secret@example.com") {
		t.Errorf("store A's list shows store B's orders")
	}
	for _, action := range []string{"/paid", "/fulfil", "/cancel"} {
		path := fmt.Sprintf("/store/orders-a/orders/%d%s", theirs.ID, action)
		if r := b.post(path, url.Values{"reason": {"other"}}); r.status != http.StatusNotFound {
			t.Errorf("POST %s (store B's order) = %d, want 404", path, r.status)
		}
	}
	if got := f.order(other, theirs.ID); got.FinancialStatus != orders.FinancialPending || got.FulfillmentStatus != nil || got.CancelledAt != nil {
		t.Errorf("store B's order changed")
	}
}
