package customers_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// placeFor places an order of one custom line at price plus 5.00 shipping
// in st, with the customer id and email given (either may be zero).
func placeFor(t *testing.T, h *appstest.Harness, st *tenant.Tenant, customerID int64, email string, price money.Amount) orders.Order {
	t.Helper()
	n := orders.NewOrder{Email: email, Currency: "USD",
		Lines:         []orders.NewLine{{Title: "Tea", Quantity: 1, Price: price, RequiresShipping: true, Taxable: true}},
		ShippingLines: []orders.ShippingLine{{Title: "Standard", Code: "std", Price: 500}},
		SubtotalPrice: price, TotalShipping: 500, TotalPrice: price + 500, Gateway: "manual", SourceName: "web",
		InventoryBehaviour: orders.InventoryBypass, Actor: "test"}
	if customerID != 0 {
		n.CustomerID = &customerID
	}
	var o orders.Order
	err := h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		o, err = orders.PlaceIn(tx, n)
		return err
	})
	if err != nil {
		t.Fatalf("PlaceIn(customer %d, %s, %d) = %v", customerID, email, price, err)
	}
	return o
}

// record records a successful manual transaction of kind on order o.
func record(t *testing.T, h *appstest.Harness, st *tenant.Tenant, o orders.Order, kind string, amount money.Amount) {
	t.Helper()
	err := h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
		_, _, err := orders.RecordTransactionIn(tx, orders.NewTransaction{OrderID: o.ID, Kind: kind, Status: orders.StatusSuccess,
			Amount: amount, Gateway: "manual", Actor: "test"})
		return err
	})
	if err != nil {
		t.Fatalf("RecordTransactionIn(order %d, %s %d) = %v", o.ID, kind, amount, err)
	}
}

// figures are a customer's order fields as the Admin API writes them.
type figures struct {
	OrdersCount   float64
	TotalSpent    string
	LastOrderID   any
	LastOrderName any
}

func figuresOf(c map[string]any) figures {
	return figures{OrdersCount: c["orders_count"].(float64), TotalSpent: c["total_spent"].(string),
		LastOrderID: c["last_order_id"], LastOrderName: c["last_order_name"]}
}

// TestCustomerOrderTotals: orders_count, total_spent, last_order_id and
// last_order_name follow the orders placed with the customer's id, their
// refunds and cancellations, agree with the orders module's own figures
// (the dashboard's), show in the list as on the customer, and stay each
// store's own.
func TestCustomerOrderTotals(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	a, b := h.Store("totals-a"), h.Store("totals-b")
	tokA, tokB := h.Token(a, "write_customers"), h.Token(b, "write_customers")
	ann := create(t, h, a, tokA, `{"customer":{"email":"ann@example.com","first_name":"Ann"}}`)
	bo := create(t, h, a, tokA, `{"customer":{"email":"bo@example.com","first_name":"Bo"}}`)
	if got, want := figuresOf(ann), (figures{0, "0.00", nil, nil}); got != want {
		t.Errorf("a new customer's figures = %+v, want %+v", got, want)
	}

	o1 := placeFor(t, h, a, id(ann), "ann@example.com", 1000) // 15.00
	o2 := placeFor(t, h, a, id(ann), "ann@example.com", 2000) // 25.00, paid, 5.00 refunded
	record(t, h, a, o2, orders.KindSale, 2500)
	record(t, h, a, o2, orders.KindRefund, 500)
	o3 := placeFor(t, h, a, id(ann), "", 3000) // 35.00, cancelled: counted, not spent
	if _, err := orders.NewService(h.DB).CancelOrder(ctx, a, o3.ID, orders.CancelRequest{Actor: "test"}); err != nil {
		t.Fatalf("CancelOrder(%d) = %v", o3.ID, err)
	}
	// An order with Ann's email but not her id is a guest's: orders link
	// customers by id only (modules/orders/customer.go says why).
	placeFor(t, h, a, 0, "ann@example.com", 9000)
	// Store B's customer has the same id as Ann in its own schema; its
	// orders are not Ann's.
	other := create(t, h, b, tokB, `{"customer":{"email":"ann@example.com"}}`)
	placeFor(t, h, b, id(other), "ann@example.com", 50000)

	want := figures{3, "35.00", float64(o3.ID), o3.Name}
	path := fmt.Sprintf("/customers/%d.json", id(ann))
	r := h.Do(a, tokA, "GET", path, "")
	if r.Status != 200 {
		t.Fatalf("GET %s = %d %s", path, r.Status, r.Body)
	}
	if got := figuresOf(object(t, r, "customer")); got != want {
		t.Errorf("GET %s figures = %+v, want %+v (orders %s, %s, %s)", path, got, want, o1.Name, o2.Name, o3.Name)
	}

	// The orders module's figures, which the dashboard shows, agree.
	err := h.DB.ReadTx(ctx, a, func(tx *gorm.DB) error {
		_, n, err := orders.CustomerOrdersIn(tx, id(ann), 0, 0)
		if err != nil {
			return err
		}
		spent, err := orders.CustomerSpentIn(tx, id(ann))
		if err != nil {
			return err
		}
		if float64(n) != want.OrdersCount || money.MustCurrency("USD").Format(spent) != want.TotalSpent {
			t.Errorf("orders.CustomerOrdersIn, CustomerSpentIn = %d, %d; the Admin API says %+v", n, spent, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	// The list and the search carry the same figures, one page in all.
	for _, p := range []string{"/customers.json", "/customers/search.json?query=example.com"} {
		r := h.Do(a, tokA, "GET", p, "")
		list, ok := r.JSON(t)["customers"].([]any)
		if r.Status != 200 || !ok || len(list) != 2 {
			t.Fatalf("GET %s = %d %s, want two customers", p, r.Status, r.Body)
		}
		byID := map[int64]figures{}
		for _, c := range list {
			byID[id(c.(map[string]any))] = figuresOf(c.(map[string]any))
		}
		if byID[id(ann)] != want || byID[id(bo)] != (figures{0, "0.00", nil, nil}) {
			t.Errorf("GET %s figures = %+v, want Ann %+v and Bo none", p, byID, want)
		}
	}
	// fields= keeps them.
	if r := h.Do(a, tokA, "GET", path+"?fields=id,orders_count,total_spent", ""); !strings.Contains(r.Body, `"orders_count":3`) ||
		!strings.Contains(r.Body, `"total_spent":"35.00"`) {
		t.Errorf("GET %s?fields=… = %d %s, want orders_count 3 and total_spent 35.00", path, r.Status, r.Body)
	}

	// Store B sees its own customer's order only, and not Ann.
	r = h.Do(b, tokB, "GET", fmt.Sprintf("/customers/%d.json", id(other)), "")
	if got := figuresOf(object(t, r, "customer")); got.OrdersCount != 1 || got.TotalSpent != "505.00" {
		t.Errorf("store B's customer figures = %+v, want 1 order and 505.00", got)
	}
	if id(other) != id(ann) {
		if r := h.Do(b, tokB, "GET", path, ""); r.Status != 404 {
			t.Errorf("store B's GET of store A's %s = %d %s, want 404", path, r.Status, r.Body)
		}
	}
	if r := h.Do(a, tokB, "GET", path, ""); r.Status != 401 && r.Status != 403 && r.Status != 404 {
		t.Errorf("store B's token on store A's %s = %d %s, want refused", path, r.Status, r.Body)
	}
}

// TestVerifiedEmailShown: verified_email is false until the customer
// follows the verification link, then true, in the customer and the list.
func TestVerifiedEmailShown(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	st := h.Store("verified-shown")
	tok := h.Token(st, "write_customers")
	svc := customers.NewService(h.DB)
	c, err := svc.Register(ctx, st, "vera@example.com", "tea-for-two-2026", "Vera", "")
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/customers/%d.json", c.ID)
	if got := object(t, h.Do(st, tok, "GET", path, ""), "customer")["verified_email"]; got != false {
		t.Errorf("before the link, GET %s verified_email = %v, want false", path, got)
	}
	evs := accountEvents(t, h, customers.TopicVerification)
	if len(evs) != 1 {
		t.Fatalf("verification events = %+v, want one", evs)
	}
	vid, token := linkOf(t, evs[0].Path, "verify")
	if _, err := svc.VerifyEmail(ctx, st, vid, token); err != nil {
		t.Fatalf("VerifyEmail = %v", err)
	}
	if got := object(t, h.Do(st, tok, "GET", path, ""), "customer")["verified_email"]; got != true {
		t.Errorf("after the link, GET %s verified_email = %v, want true", path, got)
	}
	r := h.Do(st, tok, "GET", "/customers.json", "")
	if list, _ := r.JSON(t)["customers"].([]any); len(list) != 1 || list[0].(map[string]any)["verified_email"] != true {
		t.Errorf("after the link, GET customers.json = %s, want verified_email true", r.Body)
	}
}
