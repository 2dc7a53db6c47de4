package orders

import (
	"fmt"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
)

// A customer's own orders, for the storefront's account pages (Shopify's
// customer.orders). Only orders placed with the customer's id count: orders
// are not linked to an account by email, because accounts have no verified
// email yet and anyone could register with someone else's address.

// MaxCustomerOrdersPage is the most orders CustomerOrdersIn returns at once.
const MaxCustomerOrdersPage = 250

// CustomerOrdersIn returns customer customerID's orders, newest first,
// at most limit of them after skipping offset, and how many the customer
// has in all (cancelled ones included, as Shopify lists them). A limit of
// 0 returns only the count. Orders are those placed with the customer's
// id (a logged-in checkout, or the Admin API naming the customer).
//
// Errors: Invalid for a negative limit or offset or a limit over
// MaxCustomerOrdersPage.
func CustomerOrdersIn(tx *gorm.DB, customerID int64, limit, offset int) ([]Order, int, error) {
	if limit < 0 || offset < 0 || limit > MaxCustomerOrdersPage {
		return nil, 0, errs.E(errs.Invalid, "customer orders: limit must be 0 to %d and offset at least 0, got %d and %d",
			MaxCustomerOrdersPage, limit, offset)
	}
	var total int
	if err := tx.Raw(`SELECT count(*) FROM orders o WHERE o.customer_id = ?`, customerID).Scan(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("count customer orders: %w", err)
	}
	if total == 0 || limit == 0 || offset >= total {
		return nil, total, nil
	}
	os, err := findOrders(tx, `o.customer_id = ? ORDER BY o.id DESC LIMIT ? OFFSET ?`, customerID, limit, offset)
	if err != nil {
		return nil, 0, fmt.Errorf("customer orders: %w", err)
	}
	return os, total, nil
}

// CustomerSpentIn returns what customer customerID's orders that are not
// cancelled total, less what was refunded on them (Shopify's
// customer.total_spent), in minor units of the store's currency.
func CustomerSpentIn(tx *gorm.DB, customerID int64) (money.Amount, error) {
	var spent int64
	err := tx.Raw(`SELECT coalesce(sum(o.total_price), 0) - coalesce((
			SELECT sum(t.amount) FROM order_transactions t JOIN orders r ON r.id = t.order_id
			WHERE r.customer_id = ? AND r.cancelled_at IS NULL AND t.kind = 'refund' AND t.status = 'success'), 0)
		FROM orders o WHERE o.customer_id = ? AND o.cancelled_at IS NULL`, customerID, customerID).Scan(&spent).Error
	if err != nil {
		return 0, fmt.Errorf("customer spent: %w", err)
	}
	return money.Amount(max(spent, 0)), nil
}

// CustomerTotals is what one customer has bought: Shopify's orders_count,
// total_spent, last_order_id and last_order_name.
type CustomerTotals struct {
	Count         int64        // every order, cancelled ones included
	Spent         money.Amount // the orders not cancelled, less their refunds
	LastOrderID   int64
	LastOrderName string
}

// CustomerTotalsIn sums the orders of customers ids in one query, counting
// as CustomerOrdersIn and CustomerSpentIn do; a customer with no orders is
// not in the map. The figures are read, not kept on the customer, so that
// no order write (placing, cancelling, refunding) has to remember to update
// one, and none can drift.
func CustomerTotalsIn(tx *gorm.DB, ids []int64) (map[int64]CustomerTotals, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	var rows []struct {
		CustomerID  int64 `gorm:"column:customer_id"`
		OrdersCount int64 `gorm:"column:orders_count"`
		Spent       int64 `gorm:"column:spent"`
		LastOrderID int64 `gorm:"column:last_order_id"`
		LastNumber  int64 `gorm:"column:last_number"`
	}
	err := tx.Raw(`SELECT o.customer_id, count(*) AS orders_count,
			coalesce(sum(o.total_price - coalesce(rf.amount, 0)) FILTER (WHERE o.cancelled_at IS NULL), 0) AS spent,
			max(o.id) AS last_order_id, (array_agg(o.number ORDER BY o.id DESC))[1] AS last_number
		FROM orders o
		LEFT JOIN LATERAL (SELECT sum(t.amount) AS amount FROM order_transactions t
			WHERE t.order_id = o.id AND t.kind = 'refund' AND t.status = 'success') rf ON true
		WHERE o.customer_id IN ?
		GROUP BY o.customer_id`, ids).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("sum customers' orders: %w", err)
	}
	out := make(map[int64]CustomerTotals, len(rows))
	for _, r := range rows {
		out[r.CustomerID] = CustomerTotals{Count: r.OrdersCount, Spent: money.Amount(max(r.Spent, 0)),
			LastOrderID: r.LastOrderID, LastOrderName: fmt.Sprintf("#%d", r.LastNumber)}
	}
	return out, nil
}
