package inventory

import (
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
)

type locationRow struct {
	ID          int64     `gorm:"column:id"`
	Name        string    `gorm:"column:name"`
	Address1    string    `gorm:"column:address1"`
	City        string    `gorm:"column:city"`
	Province    string    `gorm:"column:province"`
	CountryCode string    `gorm:"column:country_code"`
	Zip         string    `gorm:"column:zip"`
	Phone       string    `gorm:"column:phone"`
	Active      bool      `gorm:"column:active"`
	CreatedAt   time.Time `gorm:"column:created_at"`
	UpdatedAt   time.Time `gorm:"column:updated_at"`
}

const locationColumns = `id, name, address1, city, province, country_code, zip, phone, active, created_at, updated_at`

func (r locationRow) toLocation() Location { return Location(r) }

type itemRow struct {
	ID               int64     `gorm:"column:id"`
	SKU              string    `gorm:"column:sku"`
	Tracked          bool      `gorm:"column:tracked"`
	Cost             *int64    `gorm:"column:cost"`
	RequiresShipping bool      `gorm:"column:requires_shipping"`
	CreatedAt        time.Time `gorm:"column:created_at"`
	UpdatedAt        time.Time `gorm:"column:updated_at"`
}

const itemColumns = `id, sku, tracked, cost, requires_shipping, created_at, updated_at`

func (r itemRow) toItem() Item {
	it := Item{ID: r.ID, SKU: r.SKU, Tracked: r.Tracked, RequiresShipping: r.RequiresShipping, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if r.Cost != nil {
		c := money.Amount(*r.Cost)
		it.Cost = &c
	}
	return it
}

type levelRow struct {
	InventoryItemID int64     `gorm:"column:inventory_item_id"`
	LocationID      int64     `gorm:"column:location_id"`
	Available       int64     `gorm:"column:available"`
	UpdatedAt       time.Time `gorm:"column:updated_at"`
}

const levelColumns = `inventory_item_id, location_id, available, updated_at`

func (r levelRow) toLevel() Level {
	return Level{ItemID: r.InventoryItemID, LocationID: r.LocationID, Available: r.Available, UpdatedAt: r.UpdatedAt}
}

type adjustmentRow struct {
	ID              int64     `gorm:"column:id"`
	InventoryItemID int64     `gorm:"column:inventory_item_id"`
	LocationID      int64     `gorm:"column:location_id"`
	Delta           int64     `gorm:"column:delta"`
	AvailableAfter  int64     `gorm:"column:available_after"`
	Reason          string    `gorm:"column:reason"`
	Actor           string    `gorm:"column:actor"`
	CreatedAt       time.Time `gorm:"column:created_at"`
}

const adjustmentColumns = `id, inventory_item_id, location_id, delta, available_after, reason, actor, created_at`

func (r adjustmentRow) toAdjustment() Adjustment {
	return Adjustment{ID: r.ID, ItemID: r.InventoryItemID, LocationID: r.LocationID, Delta: r.Delta,
		AvailableAfter: r.AvailableAfter, Reason: r.Reason, Actor: r.Actor, CreatedAt: r.CreatedAt}
}

// findLocations loads the locations with ids (all of them when ids is
// nil), in id order.
func findLocations(tx *gorm.DB, ids []int64) ([]Location, error) {
	where, args := "true", []any{}
	if ids != nil {
		where, args = "id IN ?", []any{ids}
	}
	var rows []locationRow
	if err := tx.Raw(`SELECT `+locationColumns+` FROM locations WHERE `+where+` ORDER BY id`, args...).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find locations: %w", err)
	}
	out := make([]Location, len(rows))
	for i, r := range rows {
		out[i] = r.toLocation()
	}
	return out, nil
}

// findLocation loads location id.
func findLocation(tx *gorm.DB, id int64) (Location, error) {
	ls, err := findLocations(tx, []int64{id})
	if err != nil {
		return Location{}, err
	}
	if len(ls) == 0 {
		return Location{}, ErrLocationNotFound
	}
	return ls[0], nil
}

// findItems loads the items with ids that exist, in id order, at most limit.
func findItems(tx *gorm.DB, ids []int64, limit int) ([]Item, error) {
	var rows []itemRow
	if err := tx.Raw(`SELECT `+itemColumns+` FROM inventory_items WHERE id IN ? ORDER BY id LIMIT ?`, ids, limit).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("find inventory items: %w", err)
	}
	out := make([]Item, len(rows))
	for i, r := range rows {
		out[i] = r.toItem()
	}
	return out, nil
}

// findItem loads item id.
func findItem(tx *gorm.DB, id int64) (Item, error) {
	its, err := findItems(tx, []int64{id}, 1)
	if err != nil {
		return Item{}, err
	}
	if len(its) == 0 {
		return Item{}, ErrItemNotFound
	}
	return its[0], nil
}

func updateItem(tx *gorm.DB, it Item) error {
	var cost *int64
	if it.Cost != nil {
		c := int64(*it.Cost)
		cost = &c
	}
	err := tx.Exec(`UPDATE inventory_items SET sku = ?, tracked = ?, cost = ?, requires_shipping = ?, updated_at = ? WHERE id = ?`,
		it.SKU, it.Tracked, cost, it.RequiresShipping, it.UpdatedAt, it.ID).Error
	if err != nil {
		return fmt.Errorf("update inventory item %d: %w", it.ID, err)
	}
	return nil
}

// insertItems creates the items with ids that do not exist yet. skus, when
// it has an id, gives that item's SKU, for new and existing items alike.
func insertItems(tx *gorm.DB, ids []int64, skus map[int64]string) error {
	now := time.Now().UTC()
	for _, id := range ids {
		var err error
		if sku, ok := skus[id]; ok {
			err = tx.Exec(`INSERT INTO inventory_items (id, sku, created_at, updated_at) VALUES (?, ?, ?, ?)
				ON CONFLICT (id) DO UPDATE SET sku = excluded.sku, updated_at = excluded.updated_at
				WHERE inventory_items.sku IS DISTINCT FROM excluded.sku`, id, sku, now, now).Error
		} else {
			err = tx.Exec(`INSERT INTO inventory_items (id, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING`, id, now, now).Error
		}
		if err != nil {
			return fmt.Errorf("insert inventory item %d: %w", id, err)
		}
	}
	return nil
}

// findLevels loads the levels f selects, in item then location order (a
// list left empty selects any).
func findLevels(tx *gorm.DB, f LevelQuery) ([]Level, error) {
	where, args := "true", []any{}
	if len(f.ItemIDs) > 0 {
		where += " AND inventory_item_id IN ?"
		args = append(args, f.ItemIDs)
	}
	if len(f.LocationIDs) > 0 {
		where += " AND location_id IN ?"
		args = append(args, f.LocationIDs)
	}
	order := "inventory_item_id, location_id"
	switch {
	case f.AfterItem != 0:
		where += " AND (inventory_item_id, location_id) > (?, ?)"
		args = append(args, f.AfterItem, f.AfterLocation)
	case f.BeforeItem != 0: // the rows nearest the cursor, turned back below
		where += " AND (inventory_item_id, location_id) < (?, ?)"
		args = append(args, f.BeforeItem, f.BeforeLocation)
		order = "inventory_item_id DESC, location_id DESC"
	}
	args = append(args, f.Limit)
	var rows []levelRow
	err := tx.Raw(`SELECT `+levelColumns+` FROM inventory_levels WHERE `+where+` ORDER BY `+order+` LIMIT ?`, args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find inventory levels: %w", err)
	}
	if f.BeforeItem != 0 {
		slices.Reverse(rows)
	}
	out := make([]Level, len(rows))
	for i, r := range rows {
		out[i] = r.toLevel()
	}
	return out, nil
}

var errUnknownLocation = &errs.Error{Kind: errs.Invalid, Message: "location_id not found",
	Fields: map[string][]string{"location_id": {"not found"}}}

// checkLocation refuses, as Invalid, a level write at a location the store
// does not have.
func checkLocation(tx *gorm.DB, id int64) error {
	var n int64
	if err := tx.Raw(`SELECT count(*) FROM locations WHERE id = ?`, id).Scan(&n).Error; err != nil {
		return fmt.Errorf("find location %d: %w", id, err)
	}
	if n == 0 {
		return errUnknownLocation
	}
	return nil
}

// connectLevel stocks item at location at 0, unless it is stocked there
// already; it says whether it was.
func connectLevel(tx *gorm.DB, itemID, locationID int64, now time.Time) (bool, error) {
	res := tx.Exec(`INSERT INTO inventory_levels (inventory_item_id, location_id, available, updated_at) VALUES (?, ?, 0, ?)
		ON CONFLICT (inventory_item_id, location_id) DO NOTHING`, itemID, locationID, now)
	if res.Error != nil {
		return false, fmt.Errorf("connect inventory item %d to location %d: %w", itemID, locationID, res.Error)
	}
	return res.RowsAffected == 0, nil
}

// findLevel loads the level of item at location, locking it for the rest of
// the transaction when lock is true.
func findLevel(tx *gorm.DB, itemID, locationID int64, lock bool) (Level, error) {
	q := `SELECT ` + levelColumns + ` FROM inventory_levels WHERE inventory_item_id = ? AND location_id = ?`
	if lock {
		q += ` FOR UPDATE`
	}
	var rows []levelRow
	if err := tx.Raw(q, itemID, locationID).Scan(&rows).Error; err != nil {
		return Level{}, fmt.Errorf("find inventory level: %w", err)
	}
	if len(rows) == 0 {
		return Level{}, ErrLevelNotFound
	}
	return rows[0].toLevel(), nil
}

func setLevel(tx *gorm.DB, itemID, locationID, available int64, now time.Time) (Level, error) {
	var rows []levelRow
	err := tx.Raw(`UPDATE inventory_levels SET available = ?, updated_at = ?, negative_allowed = true WHERE inventory_item_id = ? AND location_id = ?
		RETURNING `+levelColumns, available, now, itemID, locationID).Scan(&rows).Error
	if err != nil {
		return Level{}, fmt.Errorf("set inventory level: %w", err)
	}
	if len(rows) == 0 {
		return Level{}, ErrLevelNotFound
	}
	return rows[0].toLevel(), nil
}

var errAdjustOutOfRange = &errs.Error{Kind: errs.Invalid, Message: "available_adjustment would take available out of range",
	Fields: map[string][]string{"available_adjustment": {fmt.Sprintf("would take available beyond ±%d", MaxAvailable)}}}

// addToLevel adds delta to the level of item at location in one statement,
// so that concurrent adjustments all count: the row lock is taken by the
// UPDATE itself, and the bound is checked against the value it adds to.
func addToLevel(tx *gorm.DB, itemID, locationID, delta int64, now time.Time) (Level, error) {
	var rows []levelRow
	err := tx.Raw(`UPDATE inventory_levels SET available = available + ?, updated_at = ?, negative_allowed = true
		WHERE inventory_item_id = ? AND location_id = ? AND available + ? BETWEEN ? AND ?
		RETURNING `+levelColumns, delta, now, itemID, locationID, delta, -MaxAvailable, MaxAvailable).Scan(&rows).Error
	if err != nil {
		return Level{}, fmt.Errorf("adjust inventory level: %w", err)
	}
	if len(rows) == 0 {
		// The caller has connected the level: it exists, so the bound failed.
		return Level{}, errAdjustOutOfRange
	}
	return rows[0].toLevel(), nil
}

func deleteLevel(tx *gorm.DB, itemID, locationID int64) error {
	res := tx.Exec(`DELETE FROM inventory_levels WHERE inventory_item_id = ? AND location_id = ?`, itemID, locationID)
	if res.Error != nil {
		return fmt.Errorf("delete inventory level: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrLevelNotFound
	}
	return nil
}

func insertAdjustment(tx *gorm.DB, a Adjustment) error {
	err := tx.Exec(`INSERT INTO inventory_adjustments (inventory_item_id, location_id, delta, available_after, reason, actor, created_at)
		VALUES (?, ?, ?, ?, ?, ?, ?)`, a.ItemID, a.LocationID, a.Delta, a.AvailableAfter, a.Reason, a.Actor, a.CreatedAt).Error
	if err != nil {
		return fmt.Errorf("insert inventory adjustment: %w", err)
	}
	return nil
}

// findAdjustments loads item's adjustments, newest first.
func findAdjustments(tx *gorm.DB, itemID int64, limit int) ([]Adjustment, error) {
	var rows []adjustmentRow
	err := tx.Raw(`SELECT `+adjustmentColumns+` FROM inventory_adjustments WHERE inventory_item_id = ?
		ORDER BY created_at DESC, id DESC LIMIT ?`, itemID, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find inventory adjustments: %w", err)
	}
	out := make([]Adjustment, len(rows))
	for i, r := range rows {
		out[i] = r.toAdjustment()
	}
	return out, nil
}

// sumAvailable sums the available counts of items over active locations.
func sumAvailable(tx *gorm.DB, itemIDs []int64) (map[int64]int64, error) {
	var rows []struct {
		ID  int64 `gorm:"column:id"`
		Sum int64 `gorm:"column:sum"`
	}
	err := tx.Raw(`SELECT l.inventory_item_id AS id, sum(l.available)::bigint AS sum FROM inventory_levels l
		JOIN locations loc ON loc.id = l.location_id AND loc.active
		WHERE l.inventory_item_id IN ? GROUP BY l.inventory_item_id`, itemIDs).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("sum inventory levels: %w", err)
	}
	out := make(map[int64]int64, len(rows))
	for _, r := range rows {
		out[r.ID] = r.Sum
	}
	return out, nil
}
