package inventory

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
)

// MaxAvailable bounds a quantity: a level's available count, an adjustment
// and a count set are each within ±MaxAvailable. Far above any real stock,
// it keeps sums over many locations far from int64's limits.
const MaxAvailable = 1_000_000_000

const maxText = 255

// Location is a place a store keeps stock: a warehouse, a shop, a
// fulfillment center. Every store starts with one, "Main warehouse".
type Location struct {
	ID          int64
	Name        string
	Address1    string
	City        string
	Province    string
	CountryCode string
	Zip         string
	Phone       string
	Active      bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Item is what is stocked: one per variant, with the variant's id.
type Item struct {
	ID               int64
	SKU              string
	Tracked          bool
	Cost             *money.Amount // what the store pays for one, if known
	RequiresShipping bool
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Level is how many of an item are available at a location. An item is
// stocked at a location when the two have a level, even at 0.
type Level struct {
	ItemID     int64
	LocationID int64
	Available  int64
	UpdatedAt  time.Time
}

// Adjustment is one recorded change of a level, by SetAvailable or
// AdjustAvailable.
type Adjustment struct {
	ID             int64
	ItemID         int64
	LocationID     int64
	Delta          int64
	AvailableAfter int64
	Reason         string
	Actor          string // who made it, as an rbac subject: "token:12"
	CreatedAt      time.Time
}

// Reasons an adjustment may give, Shopify's inventory change reasons.
var Reasons = []string{"correction", "received", "restock", "damaged", "shrinkage", "promotion",
	"cycle_count_available", "other", "movement_created", "movement_updated", "movement_received", "movement_canceled"}

// DefaultReason is the reason of a change that gives none.
const DefaultReason = "correction"

// ItemUpdate is a change to an item; nil fields are left as they are.
type ItemUpdate struct {
	SKU              *string
	Tracked          *bool
	Cost             **money.Amount // set to a nil pointer to clear it
	RequiresShipping *bool
}

// validate checks the fields an update sets, trimming the SKU.
func (in *ItemUpdate) validate() error {
	f := errs.Fields{}
	if in.SKU != nil {
		*in.SKU = strings.TrimSpace(*in.SKU)
		if utf8.RuneCountInString(*in.SKU) > maxText {
			f.Add("sku", "is too long (maximum is %d characters)", maxText)
		}
	}
	return f.Err()
}

func applyItem(it *Item, in ItemUpdate) {
	if in.SKU != nil {
		it.SKU = *in.SKU
	}
	if in.Tracked != nil {
		it.Tracked = *in.Tracked
	}
	if in.Cost != nil {
		it.Cost = *in.Cost
	}
	if in.RequiresShipping != nil {
		it.RequiresShipping = *in.RequiresShipping
	}
}

// Change is a write to one level: connect, set or adjust. Quantity is the
// new available count for a set, the amount added (or, negative, removed)
// for an adjust, and unused for a connect.
type Change struct {
	ItemID     int64
	LocationID int64
	Quantity   int64
	Reason     string // one of Reasons; empty means DefaultReason
	Actor      string // who asks, as an rbac subject
}

// validate checks a change's ids, quantity and reason, defaulting the
// reason. quantity names the field the quantity came in ("available",
// "available_adjustment"), or is empty for a connect.
func (ch *Change) validate(quantity string) error {
	f := errs.Fields{}
	if ch.ItemID <= 0 {
		f.Add("inventory_item_id", "must be a positive integer")
	}
	if ch.LocationID <= 0 {
		f.Add("location_id", "must be a positive integer")
	}
	if quantity != "" {
		if ch.Quantity < -MaxAvailable || ch.Quantity > MaxAvailable {
			f.Add(quantity, "must be between %d and %d", -MaxAvailable, MaxAvailable)
		}
		if ch.Reason == "" {
			ch.Reason = DefaultReason
		}
		if !slices.Contains(Reasons, ch.Reason) {
			f.Add("reason", "must be one of %s", strings.Join(Reasons, ", "))
		}
	}
	if ch.Actor == "" {
		return errs.E(errs.Internal, "inventory change without an actor")
	}
	return f.Err()
}
