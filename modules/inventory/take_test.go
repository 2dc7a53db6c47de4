package inventory_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/inventory"
)

// TestTakeNeverOversells: 50 shoppers at once want 1 of an item with 10 in
// stock: exactly 10 get it and 40 are told it is sold out; two-line sales
// in opposite orders do not deadlock; a short line takes nothing.
func TestTakeNeverOversells(t *testing.T) {
	h := newHarness(t)
	st := h.Store("take-stock")
	ctx := context.Background()
	svc := inventory.NewService(h.DB)
	locs, err := svc.Locations(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for _, item := range []int64{1, 2, 3} {
		if _, err := svc.SetAvailable(ctx, st, inventory.Change{ItemID: item, LocationID: locs[0].ID, Quantity: 10, Actor: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	take := func(takes ...inventory.Take) error {
		return h.DB.Tx(ctx, st, func(tx *gorm.DB) error { return inventory.TakeIn(tx, takes, "order:test") })
	}

	var wg sync.WaitGroup
	var mu sync.Mutex
	sold, out := 0, 0
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if i%2 == 0 { // lines in both orders: items 2 and 3 for half
				err = take(inventory.Take{ItemID: 1, Quantity: 1}, inventory.Take{ItemID: 3, Quantity: 1}, inventory.Take{ItemID: 2, Quantity: 1})
			} else {
				err = take(inventory.Take{ItemID: 2, Quantity: 1}, inventory.Take{ItemID: 1, Quantity: 1}, inventory.Take{ItemID: 3, Quantity: 1})
			}
			mu.Lock()
			defer mu.Unlock()
			var soldOut *inventory.SoldOutError
			switch {
			case err == nil:
				sold++
			case errs.Is(err, errs.Conflict) && errors.As(err, &soldOut):
				out++
			default:
				t.Errorf("take = %v, want success or sold out", err)
			}
		}()
	}
	wg.Wait()
	if sold != 10 || out != 40 {
		t.Errorf("50 sales of 10 in stock: %d sold, %d sold out; want 10 and 40", sold, out)
	}
	levels, _, err := svc.Levels(ctx, st, inventory.LevelQuery{ItemIDs: []int64{1, 2, 3}, Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range levels {
		if l.Available != 0 {
			t.Errorf("item %d left at %d, want 0", l.ItemID, l.Available)
		}
	}

	// Sold on when out: goes below zero. A short line keeps the whole sale
	// from taking anything.
	if err := take(inventory.Take{ItemID: 1, Quantity: 2, SellWhenOut: true}); err != nil {
		t.Fatalf("take sold on when out = %v", err)
	}
	if _, err := svc.SetAvailable(ctx, st, inventory.Change{ItemID: 2, LocationID: locs[0].ID, Quantity: 5, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	err = take(inventory.Take{ItemID: 2, Quantity: 3}, inventory.Take{ItemID: 3, Quantity: 1})
	var soldOut *inventory.SoldOutError
	if !errors.As(err, &soldOut) || len(soldOut.Short) != 1 || soldOut.Short[0].ItemID != 3 {
		t.Fatalf("a sale with one short line = %v, want item 3 named short", err)
	}
	levels, _, _ = svc.Levels(ctx, st, inventory.LevelQuery{ItemIDs: []int64{1, 2}, Limit: 10})
	got := fmt.Sprint(levels[0].Available, levels[1].Available)
	if got != "-2 5" {
		t.Errorf("after the refused sale, items 1 and 2 hold %s, want -2 5 (nothing taken from item 2)", got)
	}
	// A cancelled sale returns its stock.
	if err := h.DB.Tx(ctx, st, func(tx *gorm.DB) error {
		return inventory.ReturnIn(tx, []inventory.Return{{ItemID: 2, Quantity: 3}}, "order:test")
	}); err != nil {
		t.Fatalf("ReturnIn = %v", err)
	}
	levels, _, _ = svc.Levels(ctx, st, inventory.LevelQuery{ItemIDs: []int64{2}, Limit: 10})
	if levels[0].Available != 8 {
		t.Errorf("item 2 after returning 3 = %d, want 8", levels[0].Available)
	}
	hist, err := svc.Adjustments(ctx, st, 1, 100)
	if err != nil || hist[0].Reason != "order" || hist[0].Actor != "order:test" {
		t.Errorf("item 1's history = %+v, %v; want the sale recorded with reason order", hist, err)
	}
}

// TestStockBackstop: should a sale's write ever try to take a level below
// zero for a variant that does not sell on when out, the database refuses
// it; a merchant's adjustment and a sell-on sale may go below zero.
func TestStockBackstop(t *testing.T) {
	h := newHarness(t)
	st := h.Store("stock-backstop")
	ctx := context.Background()
	svc := inventory.NewService(h.DB)
	locs, err := svc.Locations(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetAvailable(ctx, st, inventory.Change{ItemID: 7, LocationID: locs[0].ID, Quantity: 1, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	// What a buggy sale would write: the same statement as TakeIn's, without its condition.
	err = h.DB.Tx(ctx, st, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE inventory_levels SET available = available - 2, negative_allowed = false WHERE inventory_item_id = 7`).Error
	})
	if err == nil {
		t.Fatal("a sale's write below zero was accepted; want the CHECK to refuse it")
	}
	if err := h.DB.Tx(ctx, st, func(tx *gorm.DB) error {
		return inventory.TakeIn(tx, []inventory.Take{{ItemID: 7, Quantity: 3, SellWhenOut: true}}, "order:test")
	}); err != nil {
		t.Fatalf("TakeIn(sell when out) = %v, want it to go below zero", err)
	}
	if _, err := svc.SetAvailable(ctx, st, inventory.Change{ItemID: 7, LocationID: locs[0].ID, Quantity: -4, Actor: "test"}); err != nil {
		t.Fatalf("SetAvailable(-4) = %v, want a merchant's negative stock accepted", err)
	}
}
