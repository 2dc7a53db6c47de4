package orders_test

import (
	"context"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/apps/appstest"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// customerOrders calls CustomerOrdersIn in a read transaction of st and
// returns the numbers of the orders it found.
func customerOrders(t testing.TB, h *appstest.Harness, st *tenant.Tenant, customer int64, limit, offset int) ([]int64, int, error) {
	t.Helper()
	var nums []int64
	var total int
	err := h.DB.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		os, n, err := orders.CustomerOrdersIn(tx, customer, limit, offset)
		for _, o := range os {
			nums = append(nums, o.Number)
			if len(o.Lines) == 0 {
				t.Errorf("CustomerOrdersIn(%d) order %s has no lines", customer, o.Name)
			}
		}
		total = n
		return err
	})
	return nums, total, err
}

func spent(t testing.TB, h *appstest.Harness, st *tenant.Tenant, customer int64) money.Amount {
	t.Helper()
	var a money.Amount
	err := h.DB.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		a, err = orders.CustomerSpentIn(tx, customer)
		return err
	})
	if err != nil {
		t.Fatalf("CustomerSpentIn(%d) = %v", customer, err)
	}
	return a
}

func TestCustomerOrdersIn(t *testing.T) {
	h := newHarness(t)
	st := h.Store("orders-customer")
	other := h.Store("orders-customer-b")

	placeFor := func(st *tenant.Tenant, customer *int64, email string) orders.Order {
		t.Helper()
		n := simpleOrder(0, 1) // a custom line: no stock needed
		n.CustomerID, n.Email = customer, email
		o, err := place(t, h, st, n)
		if err != nil {
			t.Fatalf("PlaceIn = %v", err)
		}
		return o
	}
	var ann, bob int64 = 7, 8
	first := placeFor(st, &ann, "ann@example.com") // #1001
	placeFor(st, nil, "ann@example.com")           // #1002: a guest order with Ann's email, not hers
	placeFor(st, &bob, "bob@example.com")          // #1003
	placeFor(st, &ann, "ann@example.com")          // #1004
	third := placeFor(st, &ann, "ann@example.com") // #1005
	placeFor(other, &ann, "ann@example.com")       // store B's #1001, for B's customer 7

	for _, tc := range []struct {
		name          string
		st            *tenant.Tenant
		customer      int64
		limit, offset int
		want          []int64
		total         int
	}{
		{"all, newest first", st, ann, 20, 0, []int64{1005, 1004, 1001}, 3},
		{"first page", st, ann, 2, 0, []int64{1005, 1004}, 3},
		{"second page", st, ann, 2, 2, []int64{1001}, 3},
		{"past the end", st, ann, 2, 4, nil, 3},
		{"count only", st, ann, 0, 0, nil, 3},
		{"another customer", st, bob, 20, 0, []int64{1003}, 1},
		{"nobody's", st, 99, 20, 0, nil, 0},
		{"the other store's customer 7", other, ann, 20, 0, []int64{1001}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, total, err := customerOrders(t, h, tc.st, tc.customer, tc.limit, tc.offset)
			if err != nil || total != tc.total || len(got) != len(tc.want) {
				t.Fatalf("CustomerOrdersIn(%d, %d, %d) = %v, %d, %v; want %v, %d", tc.customer, tc.limit, tc.offset, got, total, err, tc.want, tc.total)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("CustomerOrdersIn(%d, %d, %d) = %v, want %v", tc.customer, tc.limit, tc.offset, got, tc.want)
				}
			}
		})
	}
	for _, bad := range [][2]int{{-1, 0}, {10, -1}, {orders.MaxCustomerOrdersPage + 1, 0}} {
		if _, _, err := customerOrders(t, h, st, ann, bad[0], bad[1]); !errs.Is(err, errs.Invalid) {
			t.Errorf("CustomerOrdersIn(limit %d, offset %d) = %v, want Invalid", bad[0], bad[1], err)
		}
	}

	// Spent: every order not cancelled, less what was refunded on it.
	if got := spent(t, h, st, ann); got != 3*1500 {
		t.Errorf("CustomerSpentIn(ann) = %d, want %d", got, 3*1500)
	}
	svc := orders.NewService(h.DB)
	if _, err := svc.CancelOrder(context.Background(), st, first.ID, orders.CancelRequest{Actor: "test"}); err != nil {
		t.Fatalf("CancelOrder = %v", err)
	}
	for _, nt := range []orders.NewTransaction{
		{OrderID: third.ID, Kind: orders.KindSale, Status: orders.StatusSuccess, Amount: 1500, Gateway: "manual", Actor: "test"},
		{OrderID: third.ID, Kind: orders.KindRefund, Status: orders.StatusSuccess, Amount: 400, Gateway: "manual", Actor: "test"},
	} {
		if _, _, err := record(t, h, st, nt); err != nil {
			t.Fatalf("RecordTransactionIn(%+v) = %v", nt, err)
		}
	}
	if got := spent(t, h, st, ann); got != 2*1500-400 {
		t.Errorf("CustomerSpentIn(ann) after a cancel and a refund of 4.00 = %d, want %d", got, 2*1500-400)
	}
	if got := spent(t, h, st, 99); got != 0 {
		t.Errorf("CustomerSpentIn(nobody) = %d, want 0", got)
	}
	// The cancelled order is still listed.
	if _, total, _ := customerOrders(t, h, st, ann, 0, 0); total != 3 {
		t.Errorf("CustomerOrdersIn(ann) after a cancel counts %d, want 3", total)
	}
}
