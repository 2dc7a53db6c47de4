package inventory

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
)

// Take is stock a sale takes: Quantity of item ItemID. SellWhenOut lets
// the item go below zero (a variant sold on when out of stock, Shopify's
// inventory_policy "continue").
type Take struct {
	ItemID      int64
	Quantity    int64
	SellWhenOut bool
}

// Shortage is an item a sale wanted more of than is available.
type Shortage struct {
	ItemID    int64
	Wanted    int64
	Available int64
}

// SoldOutError says which items of a sale are short. TakeIn returns it
// inside an errs.Error of kind Conflict (the sale can be tried again with
// less); errors.As finds it.
type SoldOutError struct {
	Short []Shortage
}

func (e *SoldOutError) Error() string {
	parts := make([]string, len(e.Short))
	for i, s := range e.Short {
		parts[i] = fmt.Sprintf("item %d: %d wanted, %d available", s.ItemID, s.Wanted, s.Available)
	}
	return "not enough stock: " + strings.Join(parts, "; ")
}

type takenLevel struct {
	LocationID int64 `gorm:"column:location_id"`
	Available  int64 `gorm:"column:available"`
}

// TakeIn takes the stock of a sale inside the caller's transaction (the
// order's, so stock is taken if and only if the order is placed), from the
// store's active locations, most stocked first. Either every take is
// satisfied or, when any is short, it returns a Conflict whose
// *SoldOutError names each short item, and the caller rolls back: nothing
// is taken.
//
// Concurrent sales cannot oversell or deadlock: items are handled in id
// order whatever the sale's line order, each item's levels are locked
// before they are read, and each deduction is a conditional UPDATE that
// only succeeds while the level holds enough. Each change is recorded in
// the item's history with reason "order" and actor (an order, "order:1001").
// Behind it, the database's CHECK refuses a sale's write that would take
// a level below zero unless the take sells on when out.
func TakeIn(tx *gorm.DB, takes []Take, actor string) error {
	merged := map[int64]*Take{}
	for _, t := range takes {
		if t.Quantity <= 0 {
			return errs.E(errs.Invalid, "a take of item %d needs a positive quantity", t.ItemID)
		}
		if m, ok := merged[t.ItemID]; ok {
			m.Quantity += t.Quantity
			m.SellWhenOut = m.SellWhenOut && t.SellWhenOut
			continue
		}
		c := t
		merged[t.ItemID] = &c
	}
	ordered := make([]*Take, 0, len(merged))
	for _, t := range merged {
		ordered = append(ordered, t)
	}
	slices.SortFunc(ordered, func(a, b *Take) int { return cmp.Compare(a.ItemID, b.ItemID) })

	now := time.Now().UTC()
	var short []Shortage
	for _, t := range ordered {
		var levels []takenLevel
		err := tx.Raw(`SELECT l.location_id, l.available FROM inventory_levels l JOIN locations loc ON loc.id = l.location_id
			WHERE l.inventory_item_id = ? AND loc.active ORDER BY l.location_id FOR UPDATE OF l`, t.ItemID).Scan(&levels).Error
		if err != nil {
			return fmt.Errorf("lock stock of item %d: %w", t.ItemID, err)
		}
		// Most stocked first; ties by location, so every sale takes alike.
		slices.SortStableFunc(levels, func(a, b takenLevel) int { return cmp.Compare(b.Available, a.Available) })
		var have int64
		for _, l := range levels {
			have += max(l.Available, 0)
		}
		if have < t.Quantity && (!t.SellWhenOut || len(levels) == 0) {
			short = append(short, Shortage{ItemID: t.ItemID, Wanted: t.Quantity, Available: have})
			continue
		}
		left := t.Quantity
		for i, l := range levels {
			take := min(left, max(l.Available, 0))
			if i == len(levels)-1 {
				take = left // the rest, below zero if sold on when out
			}
			if take == 0 {
				continue
			}
			var after []int64
			err := tx.Raw(`UPDATE inventory_levels SET available = available - ?, updated_at = ?, negative_allowed = ?
				WHERE inventory_item_id = ? AND location_id = ? AND (? OR available >= ?) RETURNING available`,
				take, now, t.SellWhenOut, t.ItemID, l.LocationID, t.SellWhenOut, take).Scan(&after).Error
			if err != nil {
				return fmt.Errorf("take stock of item %d: %w", t.ItemID, err)
			}
			if len(after) == 0 {
				// Cannot happen under the lock; refuse rather than oversell.
				short = append(short, Shortage{ItemID: t.ItemID, Wanted: t.Quantity, Available: have})
				break
			}
			if err := insertAdjustment(tx, Adjustment{ItemID: t.ItemID, LocationID: l.LocationID, Delta: -take,
				AvailableAfter: after[0], Reason: "order", Actor: actor, CreatedAt: now}); err != nil {
				return err
			}
			if left -= take; left == 0 {
				break
			}
		}
	}
	if len(short) > 0 {
		return &errs.Error{Kind: errs.Conflict, Message: "not enough stock", Err: &SoldOutError{Short: short}}
	}
	return nil
}

// Return is stock coming back from a sale: Quantity of item ItemID.
type Return struct {
	ItemID   int64
	Quantity int64
}

// ReturnIn puts stock back inside the caller's transaction (a cancellation
// or a refund with restock), at the store's first active location where the
// item is stocked, or its first active location, recording reason
// "order_returned" and actor. Making sure a sale's stock comes back once is
// the caller's: it records the return in the same transaction.
//
// Errors: Invalid (a quantity that is not positive), Conflict (the store
// has no active location).
func ReturnIn(tx *gorm.DB, returns []Return, actor string) error {
	now := time.Now().UTC()
	slices.SortFunc(returns, func(a, b Return) int { return cmp.Compare(a.ItemID, b.ItemID) })
	for _, r := range returns {
		if r.Quantity <= 0 {
			return errs.E(errs.Invalid, "a return of item %d needs a positive quantity", r.ItemID)
		}
		var locs []int64
		err := tx.Raw(`SELECT loc.id FROM locations loc LEFT JOIN inventory_levels l ON l.location_id = loc.id AND l.inventory_item_id = ?
			WHERE loc.active ORDER BY (l.location_id IS NULL), loc.id LIMIT 1`, r.ItemID).Scan(&locs).Error
		if err != nil {
			return fmt.Errorf("find where item %d goes back: %w", r.ItemID, err)
		}
		if len(locs) == 0 {
			return errs.E(errs.Conflict, "the store has no active location to return stock to")
		}
		if _, err := connectLevel(tx, r.ItemID, locs[0], now); err != nil {
			return err
		}
		l, err := addToLevel(tx, r.ItemID, locs[0], r.Quantity, now)
		if err != nil {
			return err
		}
		if err := insertAdjustment(tx, Adjustment{ItemID: r.ItemID, LocationID: locs[0], Delta: r.Quantity,
			AvailableAfter: l.Available, Reason: "order_returned", Actor: actor, CreatedAt: now}); err != nil {
			return err
		}
	}
	return nil
}
