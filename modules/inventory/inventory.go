// Package inventory is where a store's stock is and how much of it there
// is: locations, inventory items (one per variant, with the variant's id),
// inventory levels (how many of an item are available at a location) and a
// history of every change to a level. Its Admin API resources follow
// Shopify's REST Admin API; the history is a Storefleet extension.
//
// The catalog does not know about inventory: it calls EnsureItemsIn inside
// its own transaction when it creates variants, and others (checkout,
// storefront) read stock with QuantitiesIn inside theirs.
package inventory

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// Errors the service returns.
var (
	// ErrLocationNotFound is returned for a location that is not the store's.
	ErrLocationNotFound = errs.E(errs.NotFound, "location not found")
	// ErrItemNotFound is returned for an inventory item the store does not
	// have (yet: items appear when their variant is created, or when a level
	// write first names them).
	ErrItemNotFound = errs.E(errs.NotFound, "inventory item not found")
	// ErrLevelNotFound is returned for an item that is not stocked at a
	// location.
	ErrLevelNotFound = errs.E(errs.NotFound, "inventory level not found")
)

// Service reads and changes a store's inventory.
type Service struct {
	db *tenant.DB
}

// NewService returns the inventory service.
func NewService(db *tenant.DB) *Service { return &Service{db: db} }

// Currency is store t's currency, in which costs are read and written.
func (s *Service) Currency(ctx context.Context, t *tenant.Tenant) (money.Currency, error) {
	var c money.Currency
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c, err = shop.CurrencyIn(tx)
		return err
	})
	return c, err
}

// --- locations -------------------------------------------------------------

// Locations lists store t's locations in id order; a store has few.
func (s *Service) Locations(ctx context.Context, t *tenant.Tenant) ([]Location, error) {
	var ls []Location
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		ls, err = findLocations(tx, nil)
		return err
	})
	return ls, err
}

// Location returns store t's location id.
//
// Errors: NotFound (ErrLocationNotFound).
func (s *Service) Location(ctx context.Context, t *tenant.Tenant, id int64) (Location, error) {
	var l Location
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		l, err = findLocation(tx, id)
		return err
	})
	return l, err
}

// CountLocations counts store t's locations.
func (s *Service) CountLocations(ctx context.Context, t *tenant.Tenant) (int64, error) {
	var n int64
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM locations`).Scan(&n).Error
	})
	if err != nil {
		return 0, fmt.Errorf("count locations: %w", err)
	}
	return n, nil
}

// LocationLevels lists the levels at store t's location id that q selects
// (its LocationIDs are ignored), in item order, and whether more follow.
//
// Errors: NotFound (ErrLocationNotFound).
func (s *Service) LocationLevels(ctx context.Context, t *tenant.Tenant, id int64, q LevelQuery) ([]Level, bool, error) {
	if _, err := s.Location(ctx, t, id); err != nil {
		return nil, false, err
	}
	q.LocationIDs = []int64{id}
	return s.Levels(ctx, t, q)
}

// --- items -----------------------------------------------------------------

// Item returns store t's inventory item id.
//
// Errors: NotFound (ErrItemNotFound).
func (s *Service) Item(ctx context.Context, t *tenant.Tenant, id int64) (Item, error) {
	var it Item
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		it, err = findItem(tx, id)
		return err
	})
	return it, err
}

// Items returns those of store t's inventory items with ids that exist, in
// id order, at most limit.
func (s *Service) Items(ctx context.Context, t *tenant.Tenant, ids []int64, limit int) ([]Item, error) {
	var its []Item
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		its, err = findItems(tx, ids, limit)
		return err
	})
	return its, err
}

// UpdateItem changes store t's inventory item id as in says.
//
// Errors: NotFound (ErrItemNotFound), Invalid (with per-field messages).
func (s *Service) UpdateItem(ctx context.Context, t *tenant.Tenant, id int64, in ItemUpdate) (Item, error) {
	if err := in.validate(); err != nil {
		return Item{}, err
	}
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		it, err := findItem(tx, id)
		if err != nil {
			return err
		}
		applyItem(&it, in)
		it.UpdatedAt = time.Now().UTC()
		return updateItem(tx, it)
	})
	if err != nil {
		return Item{}, err
	}
	return s.Item(ctx, t, id)
}

// Adjustments lists the recorded changes to store t's inventory item id's
// levels, newest first, at most limit.
//
// Errors: NotFound (ErrItemNotFound).
func (s *Service) Adjustments(ctx context.Context, t *tenant.Tenant, id int64, limit int) ([]Adjustment, error) {
	var as []Adjustment
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		if _, err := findItem(tx, id); err != nil {
			return err
		}
		var err error
		as, err = findAdjustments(tx, id, limit)
		return err
	})
	return as, err
}

// --- levels ----------------------------------------------------------------

// LevelQuery selects levels: of any of ItemIDs, at any of LocationIDs (at
// least one of the two lists is given), Limit at most, in item then
// location order.
type LevelQuery struct {
	ItemIDs     []int64 `json:"i,omitempty"`
	LocationIDs []int64 `json:"l,omitempty"`
	Limit       int     `json:"-"`
	// The page starts after (AfterItem, AfterLocation), or ends before
	// (BeforeItem, BeforeLocation), in the list's (inventory_item_id,
	// location_id) order.
	AfterItem      int64 `json:"-"`
	AfterLocation  int64 `json:"al,omitempty"`
	BeforeItem     int64 `json:"-"`
	BeforeLocation int64 `json:"bl,omitempty"`
}

// Levels lists store t's levels that q selects, in (item, location) order,
// and whether more follow.
func (s *Service) Levels(ctx context.Context, t *tenant.Tenant, q LevelQuery) ([]Level, bool, error) {
	var ls []Level
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		page := q
		page.Limit = q.Limit + 1
		var err error
		ls, err = findLevels(tx, page)
		return err
	})
	ls, more := pg.TrimPage(ls, q.Limit, q.BeforeItem != 0)
	return ls, more, err
}

// Connect stocks ch's item at ch's location in store t, at 0 available,
// creating the item if the store has none with that id. Connecting an item
// already stocked there changes nothing; existed says whether it was.
//
// Errors: Invalid (an id that is not positive; a location the store does
// not have).
func (s *Service) Connect(ctx context.Context, t *tenant.Tenant, ch Change) (l Level, existed bool, err error) {
	if err := ch.validate(""); err != nil {
		return Level{}, false, err
	}
	err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := prepareLevel(tx, ch); err != nil {
			return err
		}
		if existed, err = connectLevel(tx, ch.ItemID, ch.LocationID, time.Now().UTC()); err != nil {
			return err
		}
		l, err = findLevel(tx, ch.ItemID, ch.LocationID, false)
		return err
	})
	return l, existed, err
}

// SetAvailable makes ch.Quantity of ch's item available at ch's location in
// store t, connecting them first if needed, and records the change (with
// its delta) under ch.Reason and ch.Actor. Quantities may be negative, for
// stock sold that was not there, as on Shopify.
//
// Errors: Invalid (as Connect; a quantity beyond ±MaxAvailable; a reason
// not in Reasons).
func (s *Service) SetAvailable(ctx context.Context, t *tenant.Tenant, ch Change) (Level, error) {
	if err := ch.validate("available"); err != nil {
		return Level{}, err
	}
	var l Level
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := prepareLevel(tx, ch); err != nil {
			return err
		}
		now := time.Now().UTC()
		if _, err := connectLevel(tx, ch.ItemID, ch.LocationID, now); err != nil {
			return err
		}
		// Locked, so that the recorded delta is from the value this set replaces.
		old, err := findLevel(tx, ch.ItemID, ch.LocationID, true)
		if err != nil {
			return err
		}
		if l, err = setLevel(tx, ch.ItemID, ch.LocationID, ch.Quantity, now); err != nil {
			return err
		}
		return insertAdjustment(tx, Adjustment{ItemID: ch.ItemID, LocationID: ch.LocationID, Delta: l.Available - old.Available,
			AvailableAfter: l.Available, Reason: ch.Reason, Actor: ch.Actor, CreatedAt: now})
	})
	return l, err
}

// AdjustAvailable adds ch.Quantity (negative to remove) to what is
// available of ch's item at ch's location in store t, connecting them first
// if needed, and records the change under ch.Reason and ch.Actor. The
// addition is one UPDATE, so concurrent adjustments all count.
//
// Errors: Invalid (as SetAvailable; a result beyond ±MaxAvailable).
func (s *Service) AdjustAvailable(ctx context.Context, t *tenant.Tenant, ch Change) (Level, error) {
	if err := ch.validate("available_adjustment"); err != nil {
		return Level{}, err
	}
	var l Level
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if err := prepareLevel(tx, ch); err != nil {
			return err
		}
		now := time.Now().UTC()
		if _, err := connectLevel(tx, ch.ItemID, ch.LocationID, now); err != nil {
			return err
		}
		var err error
		if l, err = addToLevel(tx, ch.ItemID, ch.LocationID, ch.Quantity, now); err != nil {
			return err
		}
		return insertAdjustment(tx, Adjustment{ItemID: ch.ItemID, LocationID: ch.LocationID, Delta: ch.Quantity,
			AvailableAfter: l.Available, Reason: ch.Reason, Actor: ch.Actor, CreatedAt: now})
	})
	return l, err
}

// Disconnect stops stocking store t's item itemID at location locationID,
// forgetting its level (its history stays).
//
// Errors: NotFound (ErrLevelNotFound).
func (s *Service) Disconnect(ctx context.Context, t *tenant.Tenant, itemID, locationID int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		return deleteLevel(tx, itemID, locationID)
	})
}

// prepareLevel checks a level write's location and creates its item if
// the store has none with that id yet.
func prepareLevel(tx *gorm.DB, ch Change) error {
	if err := checkLocation(tx, ch.LocationID); err != nil {
		return err
	}
	return insertItems(tx, []int64{ch.ItemID}, nil)
}

// --- for other modules -------------------------------------------------------

// EnsureItemsIn makes sure each of variantIDs has its inventory item (with
// the same id), inside a transaction the caller holds: the catalog calls it
// when it creates or changes variants, so that inventory never reads the
// catalog's tables. skus gives the SKU of the variants it names, written to
// new and existing items alike (Shopify keeps the two in step); items it
// does not name keep theirs, or start with none. New items are tracked,
// require shipping, have no cost and are stocked nowhere yet.
//
// Errors: Invalid (an id that is not positive).
func EnsureItemsIn(tx *gorm.DB, variantIDs []int64, skus map[int64]string) error {
	for _, id := range variantIDs {
		if id <= 0 {
			return errs.E(errs.Invalid, "inventory item id %d is not a variant id", id)
		}
	}
	return insertItems(tx, variantIDs, skus)
}

// QuantitiesIn returns how many of each of itemIDs are available in all,
// summed over the store's active locations, inside a transaction the caller
// holds (a checkout reads stock in its own). Items stocked at no active
// location are absent from the map, which reads as 0; whether an item is
// tracked at all is the caller's to ask (Item.Tracked).
func QuantitiesIn(tx *gorm.DB, itemIDs []int64) (map[int64]int64, error) {
	if len(itemIDs) == 0 {
		return map[int64]int64{}, nil
	}
	return sumAvailable(tx, itemIDs)
}

// DeleteItemsIn removes the inventory items of deleted variants, with their
// levels and history, inside the caller's transaction.
func DeleteItemsIn(tx *gorm.DB, variantIDs []int64) error {
	if len(variantIDs) == 0 {
		return nil
	}
	if err := tx.Exec(`DELETE FROM inventory_items WHERE id IN ?`, variantIDs).Error; err != nil {
		return fmt.Errorf("delete inventory items: %w", err)
	}
	return nil
}
