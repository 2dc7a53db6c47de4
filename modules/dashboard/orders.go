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
	after, _ := strconv.ParseInt(c.Query("after"), 10, 64)
	before, _ := strconv.ParseInt(c.Query("before"), 10, 64)
	// Newest first: orders page in id order, so "after" in this list is
	// "before" there.
	switch {
	case after > 0:
		q.Before = after
	case before > 0:
		q.After = before
	default:
		q.Before = 1<<63 - 1
	}
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
	link := func(key string, id int64) string {
		v := url.Values{}
		v.Set("status", page.Status)
		if page.Financial != "" {
			v.Set("financial_status", page.Financial)
		}
		if page.Fulfillment != "" {
			v.Set("fulfillment_status", page.Fulfillment)
		}
		v.Set(key, strconv.FormatInt(id, 10))
		return "?" + v.Encode()
	}
	if len(page.Rows) > 0 {
		first, last := page.Rows[0].ID, page.Rows[len(page.Rows)-1].ID
		backward := before > 0
		if (backward && more) || (!backward && after > 0) {
			page.Prev = link("before", first)
		}
		if (!backward && more) || backward {
			page.Next = link("after", last)
		}
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
			Fulfilled: l.FulfilledQuantity, Refunded: l.RefundedQuantity, Restocked: l.RestockedQuantity})
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
