package orders

import (
	"time"

	"gorm.io/gorm"
)

// RecordEventIn adds an entry to order orderID's timeline in the caller's
// transaction tx, for what other modules do about an order (a fulfillment
// requested from a warehouse) that the merchant should see beside the
// order's own history. It changes nothing else and emits no event.
//
// Errors: NotFound (ErrOrderNotFound).
func RecordEventIn(tx *gorm.DB, orderID int64, verb, message, actor string) error {
	if _, err := OrderIn(tx, orderID); err != nil {
		return err
	}
	return insertEvent(tx, Event{OrderID: orderID, Verb: verb, Message: message, Actor: actor, CreatedAt: time.Now().UTC()})
}
