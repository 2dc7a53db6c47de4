package dashboard

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/orders"
)

// ordersPerPage is the orders list's page size.
const ordersPerPage = 25

// Filters of the orders list: the Admin API's (orders.Query), so the list
// and GET orders.json select the same orders.
var (
	orderStatuses      = []string{"open", "closed", "cancelled", "any"}
	financialStatuses  = []string{orders.FinancialPending, orders.FinancialAuthorized, orders.FinancialPartiallyPaid, orders.FinancialPaid, orders.FinancialPartiallyRefunded, orders.FinancialRefunded, orders.FinancialVoided}
	fulfillmentFilters = []string{"shipped", "partial", "unshipped", "unfulfilled"}
)

// cancelReasons are the reasons an order may be cancelled for, Shopify's.
var cancelReasons = []string{"customer", "fraud", "inventory", "declined", "other"}

// orderRow is a line of the orders list.
type orderRow struct {
	ID                       int64
	Name, Date, Email, Total string
	Financial, Fulfillment   string
}

// ordersPage is the orders list.
type ordersPage struct {
	Status, Financial, Fulfillment string
	Statuses, Financials           []string
	Fulfillments                   []string
	Rows                           []orderRow
	Total                          int64
	Prev, Next                     string // page links; "" at either end
	Filtered                       bool
}

// orders lists the store's orders, newest first, filtered by status,
// financial status and fulfillment status, with cursor pagination.
func (d *Dashboard) orders(c *gin.Context) {
	m := memberOf(c)
	ctx := c.Request.Context()
	page := ordersPage{Status: c.Query("status"), Financial: c.Query("financial_status"), Fulfillment: c.Query("fulfillment_status"),
		Statuses: orderStatuses, Financials: financialStatuses, Fulfillments: fulfillmentFilters}
	if !contains(orderStatuses, page.Status) {
		page.Status = "any" // every order, unlike the Admin API's default of open
	}
	if !contains(financialStatuses, page.Financial) {
		page.Financial = ""
	}
	if !contains(fulfillmentFilters, page.Fulfillment) {
		page.Fulfillment = ""
	}
	page.Filtered = page.Status != "any" || page.Financial != "" || page.Fulfillment != ""
	q := orders.Query{Limit: ordersPerPage, Status: page.Status, FinancialStatus: page.Financial, FulfillmentStatus: page.Fulfillment}
	at := readCursor(c)
	q.After, q.Before = at.bounds()
	os, more, err := d.cfg.Orders.Orders(ctx, m.Store, q)
	if err != nil {
		d.failErr(c, err)
		return
	}
	count := q
	count.Limit, count.After, count.Before = 0, 0, 0
	if page.Total, err = d.cfg.Orders.CountOrders(ctx, m.Store, count); err != nil {
		d.failErr(c, err)
		return
	}
	for i := len(os) - 1; i >= 0; i-- {
		o := os[i]
		page.Rows = append(page.Rows, orderRow{ID: o.ID, Name: o.Name, Date: o.ProcessedAt.Format("2 Jan 2006 15:04"), Email: o.Email,
			Total: formatMoney(o.Currency, o.TotalPrice), Financial: o.FinancialStatus, Fulfillment: fulfillmentLabel(o)})
	}
	keep := url.Values{"status": {page.Status}}
	if page.Financial != "" {
		keep.Set("financial_status", page.Financial)
	}
	if page.Fulfillment != "" {
		keep.Set("fulfillment_status", page.Fulfillment)
	}
	if n := len(page.Rows); n > 0 {
		page.Prev, page.Next = at.links(page.Rows[0].ID, page.Rows[n-1].ID, more, keep)
	}
	d.render(c, http.StatusOK, "orders", "Orders", page)
}

// fulfillmentLabel is an order's fulfillment status as the merchant reads
// it: Shopify's null is "unfulfilled".
func fulfillmentLabel(o orders.Order) string {
	if o.FulfillmentStatus == nil {
		return "unfulfilled"
	}
	return *o.FulfillmentStatus
}

// formatMoney writes amount a of currency code: "12.50 USD".
func formatMoney(code string, a money.Amount) string {
	cur, err := money.ParseCurrency(code)
	if err != nil {
		return fmt.Sprintf("%d %s", a, code)
	}
	return cur.Format(a) + " " + cur.Code
}

// orderLine is a line of an order's page.
type orderLine struct {
	Title, Variant, SKU string
	Quantity, Left      int64
	Price, Total        string
	Fulfilled, Refunded int64
	Restocked           int64
	ID                  int64
	Refundable          int64  // units not yet refunded
	RefundQty           string // the refund form's quantity, kept after an error
}

// orderEvent is an entry of an order's timeline.
type orderEvent struct {
	When, Message, Actor string
}

// orderShipment is a fulfillment with its tracking.
type orderShipment struct {
	Name, Status, Company, When string
	Numbers, URLs               []string
}

// orderPage is one order's page.
type orderPage struct {
	Order                           orders.Order
	Fulfillment                     string
	Lines                           []orderLine
	Subtotal, Discounts, Shipping   string
	Tax, Total, Date                string
	ShippingAddress, BillingAddress *orders.Address
	Events                          []orderEvent
	Shipments                       []orderShipment
	CanPay, CanFulfil, CanCancel    bool
	Reasons                         []string
	Flash, Error                    string
	TrackingNumber, TrackingCompany string // the fulfil form's values, kept after an error
	TrackingURL, Reason             string
	Restock                         bool
	// The refund form: shown when the role may change orders and the
	// order's payments have money left to give back.
	CanRefund                    bool
	RefundMax, ShippingLeft      string // what is left to refund in all, and of the shipping
	RefundQty                    map[int64]string
	RefundShipping, RefundAmount string
	RefundNote                   string
	RefundRestock                bool
	RefundComputed               string // the amount the calculate button worked out
}

// orderDone are the messages shown after an action, by ?done=.
var orderDone = map[string]string{
	"paid":      "%s is marked as paid.",
	"fulfilled": "%s is fulfilled.",
	"cancelled": "%s is cancelled.",
}

// orderID is the :id of an order page; ok is false for one that cannot be.
func orderID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	return id, err == nil && id > 0
}

// order shows one of the store's orders: its lines, totals, addresses,
// payment and fulfillment, its timeline, and the actions the role may take.
func (d *Dashboard) order(c *gin.Context) {
	id, ok := orderID(c)
	if !ok {
		d.notFound(c)
		return
	}
	d.showOrder(c, http.StatusOK, id, orderPage{}, nil)
}

// showOrder renders order id's page with status; form carries the values
// of a form sent back with actionErr, an Invalid or Conflict error the
// merchant can act on.
func (d *Dashboard) showOrder(c *gin.Context, status int, id int64, form orderPage, actionErr error) {
	m := memberOf(c)
	ctx := c.Request.Context()
	o, err := d.cfg.Orders.Order(ctx, m.Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	events, err := d.cfg.Orders.Events(ctx, m.Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	fs, err := d.cfg.Orders.Fulfillments(ctx, m.Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	canWrite, err := d.Allowed(m, "orders", rbac.Write)
	if err != nil {
		d.failErr(c, err)
		return
	}
	canFulfil, err := d.Allowed(m, "fulfillments", rbac.Write)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page := form
	page.Order, page.Fulfillment, page.Reasons = o, fulfillmentLabel(o), cancelReasons
	page.ShippingAddress, page.BillingAddress = o.ShippingAddress, o.BillingAddress
	page.Date = o.ProcessedAt.Format("2 Jan 2006 15:04")
	fm := func(a money.Amount) string { return formatMoney(o.Currency, a) }
	page.Subtotal, page.Discounts, page.Shipping, page.Tax, page.Total =
		fm(o.SubtotalPrice), fm(o.TotalDiscounts), fm(o.TotalShipping), fm(o.TotalTax), fm(o.TotalPrice)
	left := false
	for _, l := range o.Lines {
		page.Lines = append(page.Lines, orderLine{Title: l.Title, Variant: l.VariantTitle, SKU: l.SKU, Quantity: l.Quantity,
			Left: l.FulfillableQuantity, Price: fm(l.Price), Total: fm(l.Price * money.Amount(l.Quantity)),
			Fulfilled: l.FulfilledQuantity, Refunded: l.RefundedQuantity, Restocked: l.RestockedQuantity,
			ID: l.ID, Refundable: l.Quantity - l.RefundedQuantity, RefundQty: form.RefundQty[l.ID]})
		left = left || l.FulfillableQuantity > 0
	}
	for _, e := range slices.Backward(events) {
		page.Events = append(page.Events, orderEvent{When: e.CreatedAt.Format("2 Jan 2006 15:04"), Message: e.Message, Actor: e.Actor})
	}
	for _, f := range fs {
		page.Shipments = append(page.Shipments, orderShipment{Name: f.Name, Status: f.Status, Company: f.TrackingCompany,
			When: f.CreatedAt.Format("2 Jan 2006 15:04"), Numbers: f.TrackingNumbers, URLs: f.TrackingURLs})
	}
	open := o.CancelledAt == nil
	page.CanPay = canWrite && open && o.Gateway != "stripe" &&
		(o.FinancialStatus == orders.FinancialPending || o.FinancialStatus == orders.FinancialPartiallyPaid)
	page.CanFulfil = canFulfil && open && left
	page.CanCancel = canWrite && open
	if msg, ok := orderDone[c.Query("done")]; ok && actionErr == nil {
		page.Flash = fmt.Sprintf(msg, o.Name)
	}
	if canWrite {
		// What is left to give back, by refunds/calculate.json's rules.
		calc, err := d.cfg.Orders.CalculateRefund(ctx, m.Store, orders.NewRefund{OrderID: id, FullShipping: true})
		if err != nil {
			d.failErr(c, err)
			return
		}
		page.CanRefund = calc.MaxRefunding > 0
		page.RefundMax, page.ShippingLeft = fm(calc.MaxRefunding), fm(calc.Shipping)
	}
	if rid, err := strconv.ParseInt(c.Query("refund"), 10, 64); err == nil && c.Query("done") == "refunded" && actionErr == nil {
		if r, err := d.cfg.Orders.Refund(ctx, m.Store, id, rid); err == nil {
			page.Flash = "Refunded " + fm(refundedAmount(r)) + "."
		}
	}
	if actionErr != nil {
		page.Error = errs.MessageOf(actionErr)
	}
	d.render(c, status, "order", "Order "+o.Name, page)
}

// actionDone answers an action's post on order id: back to the order with
// a notice saying what happened, or, for an error the merchant can act on,
// the order's page again with it (422).
func (d *Dashboard) actionDone(c *gin.Context, id int64, done string, form orderPage, err error) {
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/orders/%d?done=%s", memberOf(c).Store.Slug, id, done))
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict):
		d.showOrder(c, http.StatusUnprocessableEntity, id, form, err)
	default:
		d.failErr(c, err)
	}
}

// actor is who the timeline says acted: the account, as the Admin API
// names a staff member acting with their session.
func (m Member) actor() string { return rbac.Account(int64(m.Account)) }

// markOrderPaid records that a manual order was paid: a successful manual
// capture of what is left to pay, as POST transactions.json does.
func (d *Dashboard) markOrderPaid(c *gin.Context) {
	m := memberOf(c)
	id, ok := orderID(c)
	if !ok {
		d.notFound(c)
		return
	}
	_, err := d.cfg.Orders.CreateTransaction(c.Request.Context(), m.Store, orders.NewTransaction{OrderID: id,
		Kind: orders.KindCapture, Status: orders.StatusSuccess, Gateway: "manual", Actor: m.actor()})
	d.actionDone(c, id, "paid", orderPage{}, err)
}

// fulfilOrder ships everything left of an order, with its tracking, as
// POST fulfillments.json without line items does.
func (d *Dashboard) fulfilOrder(c *gin.Context) {
	m := memberOf(c)
	id, ok := orderID(c)
	if !ok {
		d.notFound(c)
		return
	}
	form := orderPage{TrackingNumber: strings.TrimSpace(c.PostForm("tracking_number")),
		TrackingCompany: strings.TrimSpace(c.PostForm("tracking_company")), TrackingURL: strings.TrimSpace(c.PostForm("tracking_url"))}
	tr := orders.Tracking{Company: form.TrackingCompany}
	if form.TrackingNumber != "" {
		tr.Numbers = []string{form.TrackingNumber}
	}
	if form.TrackingURL != "" {
		tr.URLs = []string{form.TrackingURL}
	}
	_, err := d.cfg.Orders.CreateFulfillment(c.Request.Context(), m.Store, orders.NewFulfillment{OrderID: id, Tracking: tr, Actor: m.actor()})
	d.actionDone(c, id, "fulfilled", form, err)
}

// cancelOrder cancels an order for a reason, putting its stock back when
// asked, as POST orders/{id}/cancel.json does.
func (d *Dashboard) cancelOrder(c *gin.Context) {
	m := memberOf(c)
	id, ok := orderID(c)
	if !ok {
		d.notFound(c)
		return
	}
	form := orderPage{Reason: c.PostForm("reason"), Restock: c.PostForm("restock") != ""}
	_, err := d.cfg.Orders.CancelOrder(c.Request.Context(), m.Store, id, orders.CancelRequest{Reason: form.Reason, Restock: form.Restock, Actor: m.actor()})
	d.actionDone(c, id, "cancelled", form, err)
}

// refundedAmount is the money refund r gives back.
func refundedAmount(r orders.Refund) money.Amount {
	var sum money.Amount
	for _, t := range r.Transactions {
		if t.Kind == orders.KindRefund {
			sum += t.Amount
		}
	}
	return sum
}

// refundNoteMax is the longest refund note, as refunds.json takes it.
const refundNoteMax = 5000

// refundForm reads the refund form of order o: the quantity of each line
// to refund (put back in stock when restock is ticked: returned if the
// line was shipped, cancelled otherwise), the shipping to refund, the note,
// and the amount, if the merchant wrote one.
//
// Errors: Invalid, saying which field is wrong and how.
func refundForm(c *gin.Context, o orders.Order, cur money.Currency) (orders.NewRefund, orderPage, *money.Amount, error) {
	form := orderPage{RefundQty: map[int64]string{}, RefundShipping: strings.TrimSpace(c.PostForm("shipping")),
		RefundAmount: strings.TrimSpace(c.PostForm("amount")), RefundNote: strings.TrimSpace(c.PostForm("note")),
		RefundRestock: c.PostForm("restock") != ""}
	in := orders.NewRefund{OrderID: o.ID, Note: form.RefundNote, Actor: memberOf(c).actor()}
	var problems []string
	for _, l := range o.Lines {
		v := strings.TrimSpace(c.PostForm(fmt.Sprintf("qty_%d", l.ID)))
		form.RefundQty[l.ID] = v
		if v == "" || v == "0" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			problems = append(problems, fmt.Sprintf("The quantity of %s to refund must be a whole number from 0 to %d.", l.Title, l.Quantity-l.RefundedQuantity))
			continue
		}
		rt := orders.RestockNone
		if form.RefundRestock {
			rt = orders.RestockCancel
			if l.FulfilledQuantity > 0 {
				rt = orders.RestockReturn
			}
		}
		in.Lines = append(in.Lines, orders.RefundLineInput{LineItemID: l.ID, Quantity: n, RestockType: rt})
	}
	if form.RefundShipping != "" {
		a, err := cur.Parse(form.RefundShipping)
		if err != nil {
			problems = append(problems, "The shipping to refund "+errs.MessageOf(err)+".")
		}
		in.ShippingAmount = a
	}
	var amount *money.Amount
	if form.RefundAmount != "" {
		a, err := cur.Parse(form.RefundAmount)
		if err != nil {
			problems = append(problems, "The amount to refund "+errs.MessageOf(err)+".")
		}
		amount = &a
	}
	if len(form.RefundNote) > refundNoteMax {
		problems = append(problems, fmt.Sprintf("The reason is too long (at most %d characters).", refundNoteMax))
	}
	if len(problems) == 0 && len(in.Lines) == 0 && in.ShippingAmount == 0 && (amount == nil || *amount == 0) {
		problems = append(problems, "Nothing to refund: choose the items or the shipping to refund, or write an amount.")
	}
	if len(problems) > 0 {
		return in, form, amount, errs.E(errs.Invalid, "%s", strings.Join(problems, " "))
	}
	return in, form, amount, nil
}

// refundOrder refunds part or all of an order, as POST refunds.json does:
// the lines and shipping the form names, restocked when asked, and the
// amount written, or when none is, the amount refunds/calculate.json works
// out for them. The calculate button only shows that amount, in the form.
func (d *Dashboard) refundOrder(c *gin.Context) {
	m := memberOf(c)
	ctx := c.Request.Context()
	id, ok := orderID(c)
	if !ok {
		d.notFound(c)
		return
	}
	o, err := d.cfg.Orders.Order(ctx, m.Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	cur, err := money.ParseCurrency(o.Currency)
	if err != nil {
		d.failErr(c, err)
		return
	}
	in, form, amount, err := refundForm(c, o, cur)
	if err != nil {
		d.actionDone(c, id, "", form, err)
		return
	}
	calculate := c.PostForm("action") == "calculate"
	if calculate || amount == nil {
		calc, err := d.cfg.Orders.CalculateRefund(ctx, m.Store, in)
		if err != nil {
			d.actionDone(c, id, "", form, err)
			return
		}
		var a money.Amount
		if len(calc.Suggested) > 0 {
			a = calc.Suggested[0].Amount
		}
		amount = &a
		if calculate {
			form.RefundAmount, form.RefundComputed = cur.Format(a), formatMoney(o.Currency, a)
			d.showOrder(c, http.StatusOK, id, form, nil)
			return
		}
	}
	if *amount > 0 {
		in.Transactions = []orders.RefundTransactionInput{{Amount: *amount}}
	}
	r, err := d.cfg.Orders.CreateRefund(ctx, m.Store, in)
	if err != nil {
		d.actionDone(c, id, "", form, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/orders/%d?done=refunded&refund=%d", m.Store.Slug, id, r.ID))
}
