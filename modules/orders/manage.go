package orders

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/tenant"
)

// Query selects orders, Shopify's list filters. Zero fields select every
// open order... except Status, whose zero value is "open" as on Shopify.
// Results are in id order, Limit at a time after After (or before Before).
type Query struct {
	Limit             int
	After             int64 `json:",omitempty"`
	Before            int64 `json:",omitempty"`
	IDs               []int64
	Status            string // open (default), closed, cancelled, any
	FinancialStatus   string // a Financial… status, or any
	FulfillmentStatus string // shipped, partial, unshipped, unfulfilled, any
	CreatedMin        *time.Time
	CreatedMax        *time.Time
	UpdatedMin        *time.Time
	UpdatedMax        *time.Time
}

// where renders q's filters (not its paging) as SQL over orders o.
func (q Query) where() (string, []any) {
	conds := []string{"true"}
	var args []any
	add := func(cond string, a ...any) {
		conds = append(conds, cond)
		args = append(args, a...)
	}
	if len(q.IDs) > 0 {
		add("o.id IN ?", q.IDs)
	}
	switch q.Status {
	case "", "open":
		add("o.closed_at IS NULL AND o.cancelled_at IS NULL")
	case "closed":
		add("o.closed_at IS NOT NULL")
	case "cancelled":
		add("o.cancelled_at IS NOT NULL")
	}
	if q.FinancialStatus != "" && q.FinancialStatus != "any" {
		add("o.financial_status = ?", q.FinancialStatus)
	}
	switch q.FulfillmentStatus {
	case "shipped":
		add("o.fulfillment_status = 'fulfilled'")
	case "partial":
		add("o.fulfillment_status = 'partial'")
	case "unshipped":
		add("o.fulfillment_status IS NULL")
	case "unfulfilled":
		add("(o.fulfillment_status IS NULL OR o.fulfillment_status = 'partial')")
	}
	for _, c := range []struct {
		op string
		t  *time.Time
		f  string
	}{{">=", q.CreatedMin, "created_at"}, {"<=", q.CreatedMax, "created_at"}, {">=", q.UpdatedMin, "updated_at"}, {"<=", q.UpdatedMax, "updated_at"}} {
		if c.t != nil {
			add("o."+c.f+" "+c.op+" ?", *c.t) // names from the fixed list above
		}
	}
	return strings.Join(conds, " AND "), args
}

// Orders lists store t's orders that q selects, and whether there are more
// past the page in q's direction.
func (s *Service) Orders(ctx context.Context, t *tenant.Tenant, q Query) ([]Order, bool, error) {
	var os []Order
	more := false
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		where, args := q.where()
		cond, keyArgs, order := pg.Keyset("o.id", q.After, q.Before)
		args = append(append(args, keyArgs...), q.Limit+1)
		var err error
		if os, err = findOrders(tx, where+cond+` ORDER BY `+order+` LIMIT ?`, args...); err != nil {
			return err
		}
		if q.Before != 0 {
			slices.Reverse(os)
		}
		os, more = pg.TrimPage(os, q.Limit, q.Before != 0)
		return nil
	})
	return os, more, err
}

// CountOrders counts store t's orders that q selects (paging ignored).
func (s *Service) CountOrders(ctx context.Context, t *tenant.Tenant, q Query) (int64, error) {
	var n int64
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		where, args := q.where()
		return tx.Raw(`SELECT count(*) FROM orders o WHERE `+where, args...).Scan(&n).Error
	})
	if err != nil {
		return 0, fmt.Errorf("count orders: %w", err)
	}
	return n, nil
}

// OrderWithDetails is an order with what hangs off it, as the Admin API
// shows it.
type OrderWithDetails struct {
	Order
	Fulfillments []Fulfillment
	Refunds      []Refund
	Paid         money.Amount
}

// Details loads the fulfillments, refunds and payments of os.
func (s *Service) Details(ctx context.Context, t *tenant.Tenant, os []Order) ([]OrderWithDetails, error) {
	out := make([]OrderWithDetails, len(os))
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		for i, o := range os {
			fs, err := findFulfillments(tx, o.ID)
			if err != nil {
				return err
			}
			rs, err := findRefunds(tx, o.ID)
			if err != nil {
				return err
			}
			ts, err := findTransactions(tx, o.ID)
			if err != nil {
				return err
			}
			out[i] = OrderWithDetails{Order: o, Fulfillments: fs, Refunds: rs, Paid: sumTransactions(ts).captured}
		}
		return nil
	})
	return out, err
}

// CreateOptions are what POST orders.json adds to placing an order.
type CreateOptions struct {
	// PriceGiven says, per line, whether the request gave its price; a
	// variant's line without one sells at the variant's price.
	PriceGiven []bool
	// FinancialStatus is pending (default), paid or authorized: a paid or
	// authorized order gets a manual transaction for its total.
	FinancialStatus string
}

// CreateOrder places an order on store t from another channel (Shopify's
// POST orders.json): lines naming a variant are completed from the
// catalog, totals are computed here, and stock is taken per the inventory
// behaviour (bypass by default, as on Shopify).
//
// Errors: Invalid (as PlaceIn; an unknown variant; a financial status other
// than pending, paid or authorized), Conflict (sold out, as PlaceIn).
func (s *Service) CreateOrder(ctx context.Context, t *tenant.Tenant, n NewOrder, opts CreateOptions) (Order, error) {
	switch opts.FinancialStatus {
	case "", FinancialPending, FinancialPaid, FinancialAuthorized:
	default:
		return Order{}, invalid("financial_status", "must be pending, paid or authorized")
	}
	var o Order
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var ids []int64
		for _, l := range n.Lines {
			if l.VariantID != nil {
				ids = append(ids, *l.VariantID)
			}
		}
		vs, err := catalog.VariantsForOrderIn(tx, ids)
		if err != nil {
			return err
		}
		for i := range n.Lines {
			l := &n.Lines[i]
			if l.VariantID == nil {
				continue
			}
			v, ok := vs[*l.VariantID]
			if !ok {
				return invalid(fmt.Sprintf("line_items[%d].variant_id", i), fmt.Sprintf("variant %d does not exist", *l.VariantID))
			}
			pid := v.ProductID
			l.ProductID = &pid
			if l.Title == "" {
				l.Title = v.ProductTitle
			}
			if l.VariantTitle == "" {
				l.VariantTitle = v.Title()
			}
			if l.SKU == "" {
				l.SKU = v.SKU
			}
			if l.Vendor == "" {
				l.Vendor = v.Vendor
			}
			if i >= len(opts.PriceGiven) || !opts.PriceGiven[i] {
				l.Price = v.Price
			}
			if l.Grams == 0 {
				l.Grams = v.Grams()
			}
			l.RequiresShipping, l.Taxable = v.RequiresShipping, v.Taxable
			l.Tracked = v.InventoryManagement != nil && *v.InventoryManagement == "shopify"
			l.SellWhenOut = v.InventoryPolicy == "continue"
		}
		computeTotals(&n)
		if o, err = PlaceIn(tx, n); err != nil {
			return err
		}
		if opts.FinancialStatus == FinancialPaid || opts.FinancialStatus == FinancialAuthorized {
			kind := KindSale
			if opts.FinancialStatus == FinancialAuthorized {
				kind = KindAuthorization
			}
			if o.TotalPrice > 0 {
				if _, _, err := RecordTransactionIn(tx, NewTransaction{OrderID: o.ID, Kind: kind, Status: StatusSuccess,
					Amount: o.TotalPrice, Gateway: "manual", Actor: n.Actor}); err != nil {
					return err
				}
			}
			o, err = OrderIn(tx, o.ID)
		}
		return err
	})
	return o, err
}

// computeTotals fills n's totals from its lines, shipping and taxes, by
// the rules PlaceIn checks; order tax lines default to the lines' and
// shipping's taxes summed by title and rate.
func computeTotals(n *NewOrder) {
	var sub, lineDiscounts, shipping, shipDiscounts, tax money.Amount
	for _, l := range n.Lines {
		if l.Quantity > 0 && l.Quantity <= maxQuantity && l.Price >= 0 && l.Price <= money.Max {
			sub += l.Price * money.Amount(l.Quantity)
		}
		lineDiscounts += l.TotalDiscount
	}
	for _, sl := range n.ShippingLines {
		shipping += sl.Price
	}
	for _, d := range n.DiscountCodes {
		if d.Type == "shipping" {
			shipDiscounts += d.Amount
		}
	}
	if len(n.TaxLines) == 0 {
		type key struct{ title, rate string }
		sums := map[key]money.Amount{}
		var order []key
		collect := func(ts []TaxLine) {
			for _, tl := range ts {
				k := key{tl.Title, tl.Rate}
				if _, ok := sums[k]; !ok {
					order = append(order, k)
				}
				sums[k] += tl.Price
			}
		}
		for _, l := range n.Lines {
			collect(l.TaxLines)
		}
		for _, sl := range n.ShippingLines {
			collect(sl.TaxLines)
		}
		for _, k := range order {
			n.TaxLines = append(n.TaxLines, TaxLine{Title: k.title, Rate: k.rate, Price: sums[k]})
		}
	}
	for _, tl := range n.TaxLines {
		tax += tl.Price
	}
	n.SubtotalPrice = sub - lineDiscounts
	n.TotalShipping = shipping
	n.TotalTax = tax
	n.TotalDiscounts = lineDiscounts + shipDiscounts
	n.TotalPrice = n.SubtotalPrice + shipping
	if !n.TaxesIncluded {
		n.TotalPrice += tax
	}
}

// OrderUpdate is what PUT orders/{id}.json may change; nil leaves a field.
type OrderUpdate struct {
	Note            *string
	Tags            *[]string
	Email           *string
	ShippingAddress *Address
	Actor           string
}

// UpdateOrder changes store t's order id as in says; emits "orders/updated".
//
// Errors: NotFound (ErrOrderNotFound), Invalid (bad email, note too long).
func (s *Service) UpdateOrder(ctx context.Context, t *tenant.Tenant, id int64, in OrderUpdate) (Order, error) {
	f := errs.Fields{}
	if in.Note != nil && len(*in.Note) > maxNote {
		f.Add("note", "is too long (maximum is %d characters)", maxNote)
	}
	if in.Tags != nil && len(*in.Tags) > maxTags {
		f.Add("tags", "may hold at most %d tags", maxTags)
	}
	if err := f.Err(); err != nil {
		return Order{}, err
	}
	return s.changeOrder(ctx, t, id, func(tx *gorm.DB, o *Order) (string, string, []string, error) {
		if in.Note != nil {
			o.Note = *in.Note
		}
		if in.Tags != nil {
			o.Tags = *in.Tags
		}
		if in.Email != nil {
			check := NewOrder{Email: *in.Email}
			if err := check.validateEmail(); err != nil {
				return "", "", nil, err
			}
			o.Email = check.Email
		}
		if in.ShippingAddress != nil {
			o.ShippingAddress = in.ShippingAddress
		}
		return "updated", "The order was edited", []string{TopicUpdated}, nil
	}, in.Actor)
}

// validateEmail checks and normalises n's email alone.
func (n *NewOrder) validateEmail() error {
	if n.Email = strings.TrimSpace(n.Email); n.Email == "" {
		return nil
	}
	e, err := auth.NormalizeEmail(n.Email)
	if err != nil || len(e) > maxText {
		return invalid("email", "is invalid")
	}
	n.Email = e
	return nil
}

// changeOrder applies change to store t's order id under its lock and
// writes it; change returns the timeline verb and message, and topics.
func (s *Service) changeOrder(ctx context.Context, t *tenant.Tenant, id int64,
	change func(tx *gorm.DB, o *Order) (verb, message string, topics []string, err error), actor string) (Order, error) {
	var o Order
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if o, err = lockOrder(tx, id); err != nil {
			return err
		}
		verb, msg, topics, err := change(tx, &o)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		o.UpdatedAt = now
		if err := setOrderState(tx, o); err != nil {
			return err
		}
		if err := recordChange(tx, o.ID, verb, msg, actor, now, topics...); err != nil {
			return err
		}
		o, err = OrderIn(tx, id)
		return err
	})
	return o, err
}

// CloseOrder closes store t's order id (Shopify's archive).
//
// Errors: NotFound (ErrOrderNotFound), Invalid (already closed).
func (s *Service) CloseOrder(ctx context.Context, t *tenant.Tenant, id int64, actor string) (Order, error) {
	return s.changeOrder(ctx, t, id, func(_ *gorm.DB, o *Order) (string, string, []string, error) {
		if o.ClosedAt != nil {
			return "", "", nil, invalid("base", "the order is already closed")
		}
		now := time.Now().UTC()
		o.ClosedAt = &now
		return "closed", "The order was closed", []string{TopicUpdated}, nil
	}, actor)
}

// OpenOrder re-opens store t's closed order id.
//
// Errors: NotFound (ErrOrderNotFound), Invalid (not closed).
func (s *Service) OpenOrder(ctx context.Context, t *tenant.Tenant, id int64, actor string) (Order, error) {
	return s.changeOrder(ctx, t, id, func(_ *gorm.DB, o *Order) (string, string, []string, error) {
		if o.ClosedAt == nil {
			return "", "", nil, invalid("base", "the order is not closed")
		}
		o.ClosedAt = nil
		return "opened", "The order was re-opened", []string{TopicUpdated}, nil
	}, actor)
}

// CancelRequest is how to cancel an order.
type CancelRequest struct {
	Reason  string // customer (default), fraud, inventory, declined, other
	Restock bool   // put the stock the order took back
	Refund  bool   // give back what was paid
	Actor   string
}

// CancelOrder cancels store t's order id: with Restock, the stock the
// order took and has not yet put back goes back once (recorded per line, so
// no later refund puts the same units back again); with Refund, what was
// paid is refunded through the payment's gateway. Emits "orders/cancelled".
//
// Errors: NotFound (ErrOrderNotFound), Invalid (already cancelled; a bad
// reason; a refund of an order with nothing paid).
func (s *Service) CancelOrder(ctx context.Context, t *tenant.Tenant, id int64, in CancelRequest) (Order, error) {
	switch in.Reason {
	case "":
		in.Reason = "customer"
	case "customer", "fraud", "inventory", "declined", "other":
	default:
		return Order{}, invalid("reason", "must be customer, fraud, inventory, declined or other")
	}
	return s.changeOrder(ctx, t, id, func(tx *gorm.DB, o *Order) (string, string, []string, error) {
		if o.CancelledAt != nil {
			return "", "", nil, invalid("base", fmt.Sprintf("order %s is already cancelled", o.Name))
		}
		if in.Refund {
			ts, err := findTransactions(tx, o.ID)
			if err != nil {
				return "", "", nil, err
			}
			sm := sumTransactions(ts)
			left := sm.captured - sm.refunded - pendingRefunds(ts, "stripe") - pendingRefunds(ts, "manual")
			if left <= 0 {
				return "", "", nil, errNothingToRefund
			}
			if _, err := createRefundIn(tx, *o, NewRefund{OrderID: o.ID, Note: "Order cancelled",
				Transactions: []RefundTransactionInput{{Amount: left}}, Actor: in.Actor}); err != nil {
				return "", "", nil, err
			}
		}
		msg := "The order was cancelled"
		if in.Restock {
			var returns []inventory.Return
			for _, l := range o.Lines {
				n := l.Quantity - l.RestockedQuantity - l.FulfilledQuantity
				if !l.StockTaken || l.VariantID == nil || n <= 0 {
					continue
				}
				returns = append(returns, inventory.Return{ItemID: *l.VariantID, Quantity: n})
				if err := addRestocked(tx, l.ID, n); err != nil {
					return "", "", nil, err
				}
			}
			if len(returns) > 0 {
				if err := inventory.ReturnIn(tx, returns, fmt.Sprintf("order:%d", o.Number)); err != nil {
					return "", "", nil, err
				}
				msg += ", and its items restocked"
			}
		}
		fresh, err := OrderIn(tx, o.ID) // a refund may have changed its status
		if err != nil {
			return "", "", nil, err
		}
		now := time.Now().UTC()
		fresh.CancelledAt, fresh.CancelReason = &now, in.Reason
		*o = fresh
		return "cancelled", msg, []string{TopicCancelled}, nil
	}, in.Actor)
}

// DeleteOrder deletes store t's order id, which must be cancelled or
// closed, as Shopify requires; emits "orders/delete".
//
// Errors: NotFound (ErrOrderNotFound), Invalid (an open order).
func (s *Service) DeleteOrder(ctx context.Context, t *tenant.Tenant, id int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		o, err := lockOrder(tx, id)
		if err != nil {
			return err
		}
		if o.CancelledAt == nil && o.ClosedAt == nil {
			return invalid("base", "only a cancelled or closed order can be deleted")
		}
		if err := deleteOrder(tx, id); err != nil {
			return err
		}
		_, err = tenant.Emit(tx, TopicDelete, map[string]int64{"id": id})
		return err
	})
}
