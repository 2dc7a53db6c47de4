package orders_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// stock sets item's available quantity at the store's first location.
func stock(t testing.TB, h *appstest.Harness, st *tenant.Tenant, item, n int64) {
	t.Helper()
	ctx := context.Background()
	svc := inventory.NewService(h.DB)
	locs, err := svc.Locations(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetAvailable(ctx, st, inventory.Change{ItemID: item, LocationID: locs[0].ID, Quantity: n, Actor: "test"}); err != nil {
		t.Fatalf("SetAvailable(%d, %d) = %v", item, n, err)
	}
}

// available is item's stock over the store's locations.
func available(t testing.TB, h *appstest.Harness, st *tenant.Tenant, item int64) int64 {
	t.Helper()
	levels, _, err := inventory.NewService(h.DB).Levels(context.Background(), st, inventory.LevelQuery{ItemIDs: []int64{item}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	var sum int64
	for _, l := range levels {
		sum += l.Available
	}
	return sum
}

func ptr[T any](v T) *T { return &v }

// simpleOrder is an order of qty of variant at 10.00 each (a custom line
// when variant is 0), with 5.00 shipping and no tax, in USD.
func simpleOrder(variant, qty int64) orders.NewOrder {
	l := orders.NewLine{Title: "Tea", VariantTitle: "Green", Quantity: qty, Price: 1000, RequiresShipping: true, Taxable: true}
	if variant != 0 {
		l.VariantID, l.Tracked = ptr(variant), true
	}
	sub := money.Amount(1000 * qty)
	return orders.NewOrder{Email: "ann@example.com", Currency: "USD", Lines: []orders.NewLine{l},
		ShippingLines: []orders.ShippingLine{{Title: "Standard", Code: "std", Price: 500}},
		SubtotalPrice: sub, TotalShipping: 500, TotalPrice: sub + 500, Gateway: "manual", SourceName: "web",
		InventoryBehaviour: orders.InventoryObeyingPolicy, Actor: "test"}
}

func place(t testing.TB, h *appstest.Harness, st *tenant.Tenant, n orders.NewOrder) (orders.Order, error) {
	t.Helper()
	var o orders.Order
	err := h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		o, err = orders.PlaceIn(tx, n)
		return err
	})
	return o, err
}

// events drains the outbox of every store and returns store st's events
// (each test has its own database, so nothing of other tests is lost).
func events(t testing.TB, h *appstest.Harness, st *tenant.Tenant) []tenant.Event {
	t.Helper()
	var out []tenant.Event
	for {
		n, err := h.DB.RelayEvents(context.Background(), 500, func(_ context.Context, e tenant.Event) error {
			if e.Store == st.ID {
				out = append(out, e)
			}
			return nil
		})
		if err != nil {
			t.Fatalf("relay outbox: %v", err)
		}
		if n == 0 {
			return out
		}
	}
}

// outboxTopics drains store st's outbox events and returns their topics,
// oldest first.
func outboxTopics(t testing.TB, h *appstest.Harness, st *tenant.Tenant) []string {
	t.Helper()
	var topics []string
	for _, e := range events(t, h, st) {
		topics = append(topics, e.Topic)
	}
	return topics
}

func TestPlaceIn(t *testing.T) {
	h := newHarness(t)
	st := h.Store("orders-place")
	stock(t, h, st, 7, 3)

	n := simpleOrder(7, 2)
	n.CheckoutToken = "chk-1"
	o, err := place(t, h, st, n)
	if err != nil {
		t.Fatalf("PlaceIn = %v", err)
	}
	if o.Number != 1001 || o.Name != "#1001" || len(o.Token) != 32 || o.FinancialStatus != "pending" || len(o.Lines) != 1 ||
		o.Lines[0].FulfillableQuantity != 2 || !o.Lines[0].StockTaken || o.TotalPrice != 2500 || o.ShippingLines[0].Price != 500 {
		t.Errorf("PlaceIn = %+v, want #1001 pending with one line of 2", o)
	}
	if got := available(t, h, st, 7); got != 1 {
		t.Errorf("stock after an order of 2 of 3 = %d, want 1", got)
	}
	// The same checkout again: Conflict wrapping ErrCheckoutPlaced, no stock taken.
	if _, err := place(t, h, st, n); !errs.Is(err, errs.Conflict) || !errors.Is(err, orders.ErrCheckoutPlaced) {
		t.Errorf("PlaceIn of a placed checkout = %v, want Conflict wrapping ErrCheckoutPlaced", err)
	}
	// Sold out: Conflict with the shortage, nothing written, no number burned.
	_, err = place(t, h, st, simpleOrder(7, 2))
	var so *inventory.SoldOutError
	if !errs.Is(err, errs.Conflict) || !errors.As(err, &so) || errs.MessageOf(err) != "Not enough stock: Tea - Green has only 1 left" {
		t.Errorf("PlaceIn of 2 with 1 left = %v, want Conflict naming Tea - Green", err)
	}
	o2, err := place(t, h, st, simpleOrder(0, 1))
	if err != nil || o2.Number != 1002 || o2.Lines[0].StockTaken {
		t.Errorf("PlaceIn of a custom line = #%d, %v; want #1002 taking no stock", o2.Number, err)
	}
	err = h.DB.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		for _, find := range []func() (orders.Order, error){
			func() (orders.Order, error) { return orders.OrderIn(tx, o.ID) },
			func() (orders.Order, error) { return orders.OrderByTokenIn(tx, o.Token) },
			func() (orders.Order, error) { return orders.OrderByCheckoutIn(tx, "chk-1") },
		} {
			if got, err := find(); err != nil || got.ID != o.ID {
				t.Errorf("find order = %d, %v; want %d", got.ID, err, o.ID)
			}
		}
		if _, err := orders.OrderIn(tx, 999); !errs.Is(err, errs.NotFound) {
			t.Errorf("OrderIn(999) = %v, want NotFound", err)
		}
		if _, err := orders.OrderByCheckoutIn(tx, "nope"); !errs.Is(err, errs.NotFound) {
			t.Errorf("OrderByCheckoutIn(nope) = %v, want NotFound", err)
		}
		evs, err := orders.EventsIn(tx, o.ID)
		if err != nil || len(evs) != 1 || evs[0].Verb != "placed" {
			t.Errorf("EventsIn = %+v, %v; want one placed event", evs, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got := outboxTopics(t, h, st); len(got) != 2 || got[0] != orders.TopicCreate || got[1] != orders.TopicCreate {
		t.Errorf("outbox = %v, want two orders/create", got)
	}

	// Validation: per-field messages.
	for _, tc := range []struct {
		name  string
		edit  func(*orders.NewOrder)
		field string
	}{
		{"no lines", func(n *orders.NewOrder) { n.Lines = nil }, "line_items"},
		{"zero quantity", func(n *orders.NewOrder) { n.Lines[0].Quantity = 0 }, "line_items[0].quantity"},
		{"bad total", func(n *orders.NewOrder) { n.TotalPrice++ }, "total_price"},
		{"bad subtotal", func(n *orders.NewOrder) { n.SubtotalPrice--; n.TotalPrice-- }, "subtotal_price"},
		{"other currency", func(n *orders.NewOrder) { n.Currency = "EUR" }, "currency"},
		{"bad email", func(n *orders.NewOrder) { n.Email = "not an email" }, "email"},
		{"bad behaviour", func(n *orders.NewOrder) { n.InventoryBehaviour = "take" }, "inventory_behaviour"},
		{"bad token", func(n *orders.NewOrder) { n.Token = "short" }, "token"},
	} {
		n := simpleOrder(0, 1)
		tc.edit(&n)
		_, err := place(t, h, st, n)
		if !errs.Is(err, errs.Invalid) || len(errs.FieldsOf(err)[tc.field]) == 0 {
			t.Errorf("PlaceIn with %s = %v (fields %v), want Invalid on %s", tc.name, err, errs.FieldsOf(err), tc.field)
		}
	}
}

func TestPlaceInBehaviours(t *testing.T) {
	h := newHarness(t)
	st := h.Store("orders-behaviour")
	stock(t, h, st, 5, 1)
	n := simpleOrder(5, 3)
	n.InventoryBehaviour = orders.InventoryBypass
	if _, err := place(t, h, st, n); err != nil || available(t, h, st, 5) != 1 {
		t.Errorf("bypass: %v, stock %d; want placed, stock 1", err, available(t, h, st, 5))
	}
	n.InventoryBehaviour = orders.InventoryIgnoringPolicy
	if _, err := place(t, h, st, n); err != nil || available(t, h, st, 5) != -2 {
		t.Errorf("decrement_ignoring_policy: %v, stock %d; want placed, stock -2", err, available(t, h, st, 5))
	}
	n.InventoryBehaviour = orders.InventoryObeyingPolicy
	n.Lines[0].SellWhenOut = true
	if _, err := place(t, h, st, n); err != nil || available(t, h, st, 5) != -5 {
		t.Errorf("obeying policy continue: %v, stock %d; want placed, stock -5", err, available(t, h, st, 5))
	}
	n.Lines[0].SellWhenOut, n.Lines[0].Tracked = false, false
	if _, err := place(t, h, st, n); err != nil || available(t, h, st, 5) != -5 {
		t.Errorf("untracked: %v, stock %d; want placed, stock untouched", err, available(t, h, st, 5))
	}
}

func record(t testing.TB, h *appstest.Harness, st *tenant.Tenant, nt orders.NewTransaction) (orders.Transaction, bool, error) {
	t.Helper()
	var tr orders.Transaction
	var fresh bool
	err := h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		tr, fresh, err = orders.RecordTransactionIn(tx, nt)
		return err
	})
	return tr, fresh, err
}

func status(t testing.TB, h *appstest.Harness, st *tenant.Tenant, id int64) string {
	t.Helper()
	o, err := orders.NewService(h.DB).Order(context.Background(), st, id)
	if err != nil {
		t.Fatal(err)
	}
	return o.FinancialStatus
}

func TestRecordTransactionIn(t *testing.T) {
	h := newHarness(t)
	st := h.Store("orders-money")
	o, err := place(t, h, st, simpleOrder(0, 2)) // 25.00
	if err != nil {
		t.Fatal(err)
	}
	tx := func(kind, status, ref string, amount money.Amount) orders.NewTransaction {
		return orders.NewTransaction{OrderID: o.ID, Kind: kind, Status: status, Amount: amount, Gateway: "stripe", Reference: ref, Actor: "test"}
	}
	steps := []struct {
		t     orders.NewTransaction
		fresh bool
		want  string
	}{
		{tx("authorization", "success", "pi_1", 2500), true, "authorized"},
		{tx("authorization", "success", "pi_1", 2500), false, "authorized"}, // replay
		// Out of order: the refund arrives before the payment it refunds.
		{tx("refund", "success", "re_1", 1000), true, "refunded"},
		{tx("sale", "success", "pi_1", 2500), true, "partially_refunded"},
		{tx("sale", "success", "pi_1", 2500), false, "partially_refunded"}, // replay changes nothing
		{tx("refund", "pending", "re_2", 1500), true, "partially_refunded"},
		{tx("refund", "success", "re_2", 1500), true, "refunded"},
	}
	for i, s := range steps {
		tr, fresh, err := record(t, h, st, s.t)
		if err != nil || fresh != s.fresh || tr.ID == 0 {
			t.Fatalf("step %d: RecordTransactionIn(%s %s %s) = %+v, %v, %v; want fresh %v", i, s.t.Kind, s.t.Status, s.t.Reference, tr, fresh, err, s.fresh)
		}
		if got := status(t, h, st, o.ID); got != s.want {
			t.Errorf("step %d: after %s %s %s the order is %s, want %s", i, s.t.Kind, s.t.Status, s.t.Reference, got, s.want)
		}
	}
	var ts []orders.Transaction
	h.DB.ReadTx(context.Background(), st, func(txn *gorm.DB) error {
		ts, err = orders.TransactionsIn(txn, o.ID)
		return err
	})
	if len(ts) != 5 {
		t.Errorf("transactions recorded = %d, want 5 (replays not recorded)", len(ts))
	}

	// Voided and partial payments, and invalid ones.
	o2, _ := place(t, h, st, simpleOrder(0, 1)) // 15.00
	for _, s := range []struct {
		t    orders.NewTransaction
		want string
	}{
		{orders.NewTransaction{OrderID: o2.ID, Kind: "authorization", Status: "success", Amount: 1500, Gateway: "stripe", Reference: "a"}, "authorized"},
		{orders.NewTransaction{OrderID: o2.ID, Kind: "void", Status: "success", Gateway: "stripe", Reference: "v"}, "voided"},
		{orders.NewTransaction{OrderID: o2.ID, Kind: "capture", Status: "success", Amount: 500, Gateway: "manual"}, "partially_paid"},
		{orders.NewTransaction{OrderID: o2.ID, Kind: "capture", Status: "failure", Amount: 1000, Gateway: "manual"}, "partially_paid"},
		{orders.NewTransaction{OrderID: o2.ID, Kind: "capture", Status: "success", Amount: 1000, Gateway: "manual"}, "paid"},
	} {
		if _, _, err := record(t, h, st, s.t); err != nil {
			t.Fatalf("RecordTransactionIn(%+v) = %v", s.t, err)
		}
		if got := status(t, h, st, o2.ID); got != s.want {
			t.Errorf("after %s %s the order is %s, want %s", s.t.Kind, s.t.Status, got, s.want)
		}
	}
	for _, bad := range []orders.NewTransaction{
		{OrderID: o2.ID, Kind: "gift", Status: "success", Amount: 1, Gateway: "manual"},
		{OrderID: o2.ID, Kind: "sale", Status: "done", Amount: 1, Gateway: "manual"},
		{OrderID: o2.ID, Kind: "sale", Status: "success", Amount: -1, Gateway: "manual"},
		{OrderID: o2.ID, Kind: "refund", Status: "success", Amount: 1501, Gateway: "manual"},
	} {
		if _, _, err := record(t, h, st, bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("RecordTransactionIn(%+v) = %v, want Invalid", bad, err)
		}
	}
	if _, _, err := record(t, h, st, orders.NewTransaction{OrderID: 9999, Kind: "sale", Status: "success", Amount: 1, Gateway: "manual"}); !errs.Is(err, errs.NotFound) {
		t.Errorf("RecordTransactionIn of a missing order = %v, want NotFound", err)
	}
	topics := outboxTopics(t, h, st)
	count := map[string]int{}
	for _, tp := range topics {
		count[tp]++
	}
	if count[orders.TopicPaid] != 1 || count[orders.TopicTransactionCreate] != 10 || count[orders.TopicCreate] != 2 {
		t.Errorf("outbox topics = %v, want 2 orders/create, 1 orders/paid, 10 order_transactions/create", count)
	}
}
