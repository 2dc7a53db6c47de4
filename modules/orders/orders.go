// Package orders is what a store sold: orders with per-store numbers
// (#1001, …), their lines (snapshots of what was sold), money moving for them
// (transactions), fulfillments, refunds, and a timeline. An order is placed
// inside the caller's tenant transaction (checkout's or the Admin API's)
// together with the stock it takes, so it exists if and only if its stock was
// taken; every change emits its Shopify webhook topic to the outbox in the
// same transaction. Its Admin API resources follow Shopify's REST Admin API.
package orders

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// Errors the package returns.
var (
	// ErrOrderNotFound is returned for an order that is not in the store.
	ErrOrderNotFound = errs.E(errs.NotFound, "order not found")
	// ErrTransactionNotFound is returned for a transaction that is not the order's.
	ErrTransactionNotFound = errs.E(errs.NotFound, "transaction not found")
	// ErrFulfillmentNotFound is returned for a fulfillment that is not the order's.
	ErrFulfillmentNotFound = errs.E(errs.NotFound, "fulfillment not found")
	// ErrRefundNotFound is returned for a refund that is not the order's.
	ErrRefundNotFound = errs.E(errs.NotFound, "refund not found")
	// ErrCheckoutPlaced is wrapped by the Conflict PlaceIn returns for a
	// checkout that already became an order: a retried or double-clicked
	// completion, whose order OrderByCheckoutIn finds.
	ErrCheckoutPlaced = errs.E(errs.Conflict, "this checkout has already been placed as an order")
)

// Service reads and changes a store's orders, each method in its own
// tenant transaction.
type Service struct {
	db *tenant.DB
}

// NewService returns the orders service.
func NewService(db *tenant.DB) *Service { return &Service{db: db} }

// newToken returns an unguessable order status token: 128 random bits as 32
// lowercase hex characters.
func newToken() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("order token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// OrderIn returns order id of the store whose transaction tx is.
//
// Errors: NotFound (ErrOrderNotFound).
func OrderIn(tx *gorm.DB, id int64) (Order, error) {
	return findOrder(tx, `o.id = ?`, id)
}

// OrderByTokenIn returns the order with status-page token tok.
//
// Errors: NotFound (ErrOrderNotFound).
func OrderByTokenIn(tx *gorm.DB, tok string) (Order, error) {
	if tok == "" {
		return Order{}, ErrOrderNotFound
	}
	return findOrder(tx, `o.token = ?`, tok)
}

// OrderByCheckoutIn returns the order placed from checkout token tok.
//
// Errors: NotFound (ErrOrderNotFound).
func OrderByCheckoutIn(tx *gorm.DB, tok string) (Order, error) {
	if tok == "" {
		return Order{}, ErrOrderNotFound
	}
	return findOrder(tx, `o.checkout_token = ?`, tok)
}

// EventsIn returns order id's timeline, oldest first.
//
// Errors: NotFound (ErrOrderNotFound).
func EventsIn(tx *gorm.DB, id int64) ([]Event, error) {
	if _, err := OrderIn(tx, id); err != nil {
		return nil, err
	}
	return findEvents(tx, id)
}

// Order returns store t's order id.
//
// Errors: NotFound (ErrOrderNotFound).
func (s *Service) Order(ctx context.Context, t *tenant.Tenant, id int64) (Order, error) {
	var o Order
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		o, err = OrderIn(tx, id)
		return err
	})
	return o, err
}

// OrderByToken returns store t's order with status-page token tok, for the
// storefront's order status page.
//
// Errors: NotFound (ErrOrderNotFound).
func (s *Service) OrderByToken(ctx context.Context, t *tenant.Tenant, tok string) (Order, error) {
	var o Order
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		o, err = OrderByTokenIn(tx, tok)
		return err
	})
	return o, err
}

// Events returns the timeline of store t's order id, oldest first.
//
// Errors: NotFound (ErrOrderNotFound).
func (s *Service) Events(ctx context.Context, t *tenant.Tenant, id int64) ([]Event, error) {
	var es []Event
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		es, err = EventsIn(tx, id)
		return err
	})
	return es, err
}

// recordChange adds an entry to order o's timeline and emits topic with
// the order's Shopify JSON as it now stands (reloaded, so the payload is
// what GET orders/{id}.json would return).
func recordChange(tx *gorm.DB, orderID int64, verb, message, actor string, now time.Time, topics ...string) error {
	if verb != "" {
		if err := insertEvent(tx, Event{OrderID: orderID, Verb: verb, Message: message, Actor: actor, CreatedAt: now}); err != nil {
			return err
		}
	}
	if len(topics) == 0 {
		return nil
	}
	o, err := OrderIn(tx, orderID)
	if err != nil {
		return err
	}
	payload, err := orderPayloadIn(tx, o)
	if err != nil {
		return err
	}
	for _, topic := range topics {
		if _, err := tenant.Emit(tx, topic, payload); err != nil {
			return err
		}
	}
	return nil
}
