package orders

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/tenant"
)

// Restock types of a refunded line, Shopify's.
const (
	RestockNone   = "no_restock"
	RestockCancel = "cancel"
	RestockReturn = "return"
)

// Refund is money and goods going back for an order.
type Refund struct {
	ID           int64
	OrderID      int64
	Note         string
	Restock      bool // some of its lines went back into stock
	Shipping     money.Amount
	Lines        []RefundLine
	Transactions []Transaction
	Actor        string
	ProcessedAt  time.Time
	CreatedAt    time.Time
}

// RefundLine is a refunded order line: Quantity units, Restocked of them
// put back into stock.
type RefundLine struct {
	ID          int64
	LineItemID  int64
	Quantity    int64
	RestockType string
	Restocked   int64
	Subtotal    money.Amount
	TotalTax    money.Amount
}

// RefundLineInput is a line to refund.
type RefundLineInput struct {
	LineItemID  int64
	Quantity    int64
	RestockType string // no_restock (default), cancel or return
}

// RefundTransactionInput is money to give back: Amount to the gateway of
// the payment ParentID (the last successful payment when nil).
type RefundTransactionInput struct {
	ParentID *int64
	Amount   money.Amount
	Gateway  string
}

// NewRefund is a refund to make. Shipping: FullShipping refunds what is
// left of the order's shipping, else ShippingAmount.
type NewRefund struct {
	OrderID        int64
	Note           string
	Lines          []RefundLineInput
	FullShipping   bool
	ShippingAmount money.Amount
	Transactions   []RefundTransactionInput
	Actor          string
}

// RefundCalculation is what a refund would give back, for
// refunds/calculate.json: its lines' amounts and suggested transactions.
type RefundCalculation struct {
	Lines        []RefundLine
	Shipping     money.Amount
	Suggested    []Transaction // kind "suggested_refund", not recorded
	MaxRefunding money.Amount  // what the order's payments have left to give back
}

// planRefund checks in against order o and works out its lines' amounts and
// what can be given back.
func planRefund(tx *gorm.DB, o Order, in NewRefund) (RefundCalculation, []Transaction, error) {
	var calc RefundCalculation
	byID := map[int64]LineItem{}
	for _, l := range o.Lines {
		byID[l.ID] = l
	}
	want := map[int64]int64{}
	for i, rl := range in.Lines {
		field := fmt.Sprintf("refund_line_items[%d]", i)
		l, ok := byID[rl.LineItemID]
		switch {
		case !ok:
			return calc, nil, invalid(field+".line_item_id", fmt.Sprintf("line item %d is not on order %s", rl.LineItemID, o.Name))
		case rl.Quantity <= 0:
			return calc, nil, invalid(field+".quantity", "must be a positive whole number")
		}
		switch rl.RestockType {
		case "":
			rl.RestockType = RestockNone
		case RestockNone, RestockCancel, RestockReturn:
		default:
			return calc, nil, invalid(field+".restock_type", "must be no_restock, cancel or return")
		}
		want[l.ID] += rl.Quantity
		if left := l.Quantity - l.RefundedQuantity; want[l.ID] > left {
			return calc, nil, invalid(field+".quantity", fmt.Sprintf("line item %d (%s) has only %d left to refund", l.ID, l.Title, left))
		}
		var tax money.Amount
		for _, t := range l.TaxLines {
			tax += t.Price
		}
		q := money.Amount(rl.Quantity)
		qty := money.Amount(l.Quantity)
		calc.Lines = append(calc.Lines, RefundLine{LineItemID: l.ID, Quantity: rl.Quantity, RestockType: rl.RestockType,
			Subtotal: l.Price*q - l.TotalDiscount*q/qty, TotalTax: tax * q / qty})
	}
	rs, err := findRefunds(tx, o.ID)
	if err != nil {
		return calc, nil, err
	}
	var shippingRefunded money.Amount
	for _, r := range rs {
		shippingRefunded += r.Shipping
	}
	shippingLeft := max(o.TotalShipping-shippingRefunded, 0)
	switch {
	case in.FullShipping:
		calc.Shipping = shippingLeft
	case in.ShippingAmount < 0 || in.ShippingAmount > shippingLeft:
		return calc, nil, invalid("shipping.amount", fmt.Sprintf("must be from 0 to %s, the shipping not yet refunded",
			money.MustCurrency(o.Currency).Format(shippingLeft)))
	default:
		calc.Shipping = in.ShippingAmount
	}
	ts, err := findTransactions(tx, o.ID)
	if err != nil {
		return calc, nil, err
	}
	s := sumTransactions(ts)
	calc.MaxRefunding = max(s.captured-s.refunded-pendingRefunds(ts, "stripe")-pendingRefunds(ts, "manual"), 0)
	amount := calc.Shipping
	for _, l := range calc.Lines {
		amount += l.Subtotal
		if !o.TaxesIncluded {
			amount += l.TotalTax
		}
	}
	amount = min(amount, calc.MaxRefunding)
	if parent := lastPayment(ts); parent != nil && amount > 0 {
		id := parent.ID
		calc.Suggested = []Transaction{{OrderID: o.ID, Kind: "suggested_refund", Status: StatusPending, Amount: amount,
			Gateway: parent.Gateway, ParentID: &id}}
	}
	return calc, ts, nil
}

// lastPayment is the last successful capture or sale of ts, which refunds
// go back through by default.
func lastPayment(ts []Transaction) *Transaction {
	for i := len(ts) - 1; i >= 0; i-- {
		if ts[i].Status == StatusSuccess && (ts[i].Kind == KindCapture || ts[i].Kind == KindSale) {
			return &ts[i]
		}
	}
	return nil
}

// CalculateRefund works out what refund in of store t's order would give
// back, without recording anything.
//
// Errors: NotFound (ErrOrderNotFound), Invalid (lines not the order's or
// refunded already; shipping above what is left).
func (s *Service) CalculateRefund(ctx context.Context, t *tenant.Tenant, in NewRefund) (RefundCalculation, error) {
	var calc RefundCalculation
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		o, err := OrderIn(tx, in.OrderID)
		if err != nil {
			return err
		}
		calc, _, err = planRefund(tx, o, in)
		return err
	})
	return calc, err
}

// CreateRefund records refund in of store t's order: it counts the lines
// refunded, puts back into stock the units of lines refunded with restock
// type cancel or return (never more than the order took and has not yet
// put back), and records its transactions: pending for Stripe (billing's
// worker refunds through Stripe on "refunds/create" and records the
// success), successful for manual. Emits "refunds/create".
//
// Errors: NotFound (ErrOrderNotFound), Invalid (as CalculateRefund; more
// money than the payments have left).
func (s *Service) CreateRefund(ctx context.Context, t *tenant.Tenant, in NewRefund) (Refund, error) {
	var r Refund
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		o, err := lockOrder(tx, in.OrderID)
		if err != nil {
			return err
		}
		r, err = createRefundIn(tx, o, in)
		return err
	})
	return r, err
}

// createRefundIn is CreateRefund inside tx, with order o locked.
func createRefundIn(tx *gorm.DB, o Order, in NewRefund) (Refund, error) {
	calc, ts, err := planRefund(tx, o, in)
	if err != nil {
		return Refund{}, err
	}
	cur := money.MustCurrency(o.Currency)
	var total money.Amount
	for i, rt := range in.Transactions {
		if rt.Amount <= 0 {
			return Refund{}, invalid(fmt.Sprintf("transactions[%d].amount", i), "must be more than zero")
		}
		total += rt.Amount
	}
	if total > calc.MaxRefunding {
		return Refund{}, invalid("transactions", fmt.Sprintf("cannot refund more than %s, what the order's payments have left", cur.Format(calc.MaxRefunding)))
	}
	now := time.Now().UTC()
	r := Refund{OrderID: o.ID, Note: in.Note, Shipping: calc.Shipping, Lines: calc.Lines, Actor: in.Actor, ProcessedAt: now, CreatedAt: now}
	byID := map[int64]LineItem{}
	for _, l := range o.Lines {
		byID[l.ID] = l
	}
	var returns []inventory.Return
	for i := range r.Lines {
		rl := &r.Lines[i]
		l := byID[rl.LineItemID]
		if err := addRefunded(tx, l.ID, rl.Quantity); err != nil {
			return Refund{}, err
		}
		if rl.RestockType == RestockNone || !l.StockTaken || l.VariantID == nil {
			continue
		}
		n := min(rl.Quantity, l.Quantity-l.RestockedQuantity)
		if n <= 0 {
			continue
		}
		l.RestockedQuantity += n
		byID[l.ID] = l
		rl.Restocked = n
		r.Restock = true
		returns = append(returns, inventory.Return{ItemID: *l.VariantID, Quantity: n})
		if err := addRestocked(tx, l.ID, n); err != nil {
			return Refund{}, err
		}
	}
	if len(returns) > 0 {
		if err := inventory.ReturnIn(tx, returns, fmt.Sprintf("order:%d", o.Number)); err != nil {
			return Refund{}, err
		}
	}
	if err := insertRefund(tx, &r); err != nil {
		return Refund{}, err
	}
	parent := lastPayment(ts)
	for _, rt := range in.Transactions {
		nt := NewTransaction{OrderID: o.ID, Kind: KindRefund, Amount: rt.Amount, Gateway: rt.Gateway, ParentID: rt.ParentID,
			RefundID: &r.ID, ProcessedAt: now, Actor: in.Actor}
		if nt.ParentID == nil && parent != nil {
			id := parent.ID
			nt.ParentID = &id
		}
		if nt.ParentID != nil {
			p, err := TransactionIn(tx, o.ID, *nt.ParentID)
			if err != nil {
				return Refund{}, invalid("transactions.parent_id", "must be a transaction of the order")
			}
			if nt.Gateway == "" {
				nt.Gateway = p.Gateway
			}
		}
		if nt.Gateway == "" {
			nt.Gateway = "manual"
		}
		nt.Status = StatusSuccess
		if nt.Gateway == "stripe" {
			nt.Status = StatusPending // billing's worker refunds through Stripe and records the success
		}
		if _, _, err := RecordTransactionIn(tx, nt); err != nil {
			return Refund{}, err
		}
	}
	rs, err := findRefunds(tx, o.ID, r.ID)
	if err != nil {
		return Refund{}, err
	}
	r = rs[0]
	o, err = OrderIn(tx, o.ID)
	if err != nil {
		return Refund{}, err
	}
	o.FulfillmentStatus, o.UpdatedAt = orderFulfillmentStatus(o.Lines), now
	if err := setOrderState(tx, o); err != nil {
		return Refund{}, err
	}
	if _, err := tenant.Emit(tx, TopicRefundCreate, toRefundJSON(r, o, cur)); err != nil {
		return Refund{}, err
	}
	msg := fmt.Sprintf("A refund of %s was issued", cur.Format(total))
	if r.Restock {
		msg += ", with items restocked"
	}
	return r, recordChange(tx, o.ID, "refunded", msg, in.Actor, now)
}

// Refunds lists the refunds of store t's order orderID.
//
// Errors: NotFound (ErrOrderNotFound).
func (s *Service) Refunds(ctx context.Context, t *tenant.Tenant, orderID int64) ([]Refund, error) {
	var rs []Refund
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		if _, err := OrderIn(tx, orderID); err != nil {
			return err
		}
		var err error
		rs, err = findRefunds(tx, orderID)
		return err
	})
	return rs, err
}

// Refund returns refund id of store t's order orderID.
//
// Errors: NotFound (ErrOrderNotFound, ErrRefundNotFound).
func (s *Service) Refund(ctx context.Context, t *tenant.Tenant, orderID, id int64) (Refund, error) {
	var r Refund
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		if _, err := OrderIn(tx, orderID); err != nil {
			return err
		}
		rs, err := findRefunds(tx, orderID, id)
		if err != nil {
			return err
		}
		if len(rs) == 0 {
			return ErrRefundNotFound
		}
		r = rs[0]
		return nil
	})
	return r, err
}

type refundLineJSON struct {
	ID          int64        `json:"id"`
	LineItemID  int64        `json:"line_item_id"`
	Quantity    int64        `json:"quantity"`
	RestockType string       `json:"restock_type"`
	LocationID  *int64       `json:"location_id"`
	Subtotal    string       `json:"subtotal"`
	TotalTax    string       `json:"total_tax"`
	LineItem    lineItemJSON `json:"line_item"`
}

type refundJSON struct {
	ID                int64             `json:"id"`
	AdminGraphqlAPIID string            `json:"admin_graphql_api_id"`
	OrderID           int64             `json:"order_id"`
	Note              *string           `json:"note"`
	Restock           bool              `json:"restock"`
	CreatedAt         time.Time         `json:"created_at"`
	ProcessedAt       time.Time         `json:"processed_at"`
	RefundLineItems   []refundLineJSON  `json:"refund_line_items"`
	Transactions      []transactionJSON `json:"transactions"`
	OrderAdjustments  []any             `json:"order_adjustments"`
	Shipping          map[string]string `json:"shipping"`
}

func toRefundLinesJSON(ls []RefundLine, o Order, cur money.Currency) []refundLineJSON {
	out := []refundLineJSON{}
	for _, rl := range ls {
		j := refundLineJSON{ID: rl.ID, LineItemID: rl.LineItemID, Quantity: rl.Quantity, RestockType: rl.RestockType,
			Subtotal: cur.Format(rl.Subtotal), TotalTax: cur.Format(rl.TotalTax)}
		for _, l := range o.Lines {
			if l.ID == rl.LineItemID {
				j.LineItem = toLineItemJSON(l, cur)
			}
		}
		out = append(out, j)
	}
	return out
}

func toRefundJSON(r Refund, o Order, cur money.Currency) refundJSON {
	out := refundJSON{ID: r.ID, AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/Refund/%d", r.ID), OrderID: r.OrderID,
		Note: orNull(r.Note), Restock: r.Restock, CreatedAt: r.CreatedAt, ProcessedAt: r.ProcessedAt,
		RefundLineItems: toRefundLinesJSON(r.Lines, o, cur), Transactions: []transactionJSON{}, OrderAdjustments: []any{},
		Shipping: map[string]string{"amount": cur.Format(r.Shipping)}}
	for _, t := range r.Transactions {
		out.Transactions = append(out.Transactions, toTransactionJSON(t, cur))
	}
	return out
}

// errNothingToRefund is returned by a cancel asked to refund an order that
// has no payment left to give back.
var errNothingToRefund = errs.E(errs.Invalid, "the order has no payment to refund")
