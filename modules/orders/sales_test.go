package orders_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/orders"
)

// TestDailySalesIn: orders are summed by calendar day in the store's time
// zone, every day of the range is there, cancelled orders and orders outside
// the range are not, and another store's orders never count.
func TestDailySalesIn(t *testing.T) {
	h := newHarness(t)
	st, other := h.Store("sales-a"), h.Store("sales-b")
	paris, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	day := func(d int) time.Time { return time.Date(2026, 3, d, 0, 0, 0, 0, paris) }
	// placed at: when each order is moved to (Paris time), and whether it is cancelled.
	placed := []struct {
		at        time.Time
		qty       int64
		cancelled bool
	}{
		{day(2).Add(23*time.Hour + 30*time.Minute), 1, false}, // 22:30 UTC on the 2nd: the 2nd in Paris
		{day(3).Add(30 * time.Minute), 2, false},              // 23:30 UTC on the 2nd: the 3rd in Paris
		{day(3).Add(12 * time.Hour), 1, false},
		{day(3).Add(13 * time.Hour), 5, true},  // cancelled: not a sale
		{day(1).Add(12 * time.Hour), 3, false}, // before the range
		{day(6).Add(12 * time.Hour), 3, false}, // after it
	}
	for _, p := range placed {
		o, err := place(t, h, st, simpleOrder(0, p.qty))
		if err != nil {
			t.Fatalf("PlaceIn = %v", err)
		}
		err = h.DB.Tx(context.Background(), st, func(tx *gorm.DB) error {
			if p.cancelled {
				return tx.Exec(`UPDATE orders SET processed_at = ?, cancelled_at = ? WHERE id = ?`, p.at, p.at, o.ID).Error
			}
			return tx.Exec(`UPDATE orders SET processed_at = ? WHERE id = ?`, p.at, o.ID).Error
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := place(t, h, other, simpleOrder(0, 9)); err != nil { // today, in another store
		t.Fatal(err)
	}

	var got []orders.DaySales
	err = h.DB.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		got, err = orders.DailySalesIn(tx, day(2), day(6))
		return err
	})
	if err != nil {
		t.Fatalf("DailySalesIn = %v", err)
	}
	want := []orders.DaySales{
		{Day: day(2), Orders: 1, Revenue: 1500},
		{Day: day(3), Orders: 2, Revenue: money.Amount(2500 + 1500)},
		{Day: day(4)},
		{Day: day(5)},
	}
	if diff := cmp.Diff(want, got, cmp.Comparer(func(a, b time.Time) bool { return a.Equal(b) })); diff != "" {
		t.Errorf("DailySalesIn(2 March, 6 March, Paris) (-want +got):\n%s", diff)
	}

	// An empty range has no days.
	err = h.DB.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		got, err = orders.DailySalesIn(tx, day(3), day(3))
		return err
	})
	if err != nil || len(got) != 0 {
		t.Errorf("DailySalesIn(3 March, 3 March) = %v, %v; want no days", got, err)
	}
}
