package storefront

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/orders"
)

// A logged-in customer's order history: customer.orders (and its count,
// total spent and last order) on /account, and one order at
// /account/orders/{token}, Shopify's route. Only the customer's own
// orders, those placed with their id, are shown: orders are not linked to
// an account by email while accounts have no verified email (anyone could
// register with someone else's address and read their orders).

// accountOrder is /account/orders/{token}: one of the logged-in customer's
// orders. Another customer's order, or a token of no order of this store,
// is the theme's 404 page, the same as a token that never existed.
func (h *Handler) accountOrder(c *gin.Context, v *view) error {
	cu, id := viewCustomer(v)
	if cu == nil {
		return redirectToLogin(c)
	}
	noStore(c) // one customer's page: no shared cache may keep it
	o, err := orders.OrderByTokenIn(v.tx, c.Param("token"))
	if errs.Is(err, errs.NotFound) || (err == nil && (o.CustomerID == nil || *o.CustomerID != id)) {
		return errNotFound
	}
	if err != nil {
		return err
	}
	objs, err := toOrderObjects(v.tx, []orders.Order{o})
	if err != nil {
		return err
	}
	if err := fillCustomerOrders(v.tx, cu, id); err != nil {
		return err
	}
	v.template = "customers/order"
	v.vars["order"] = objs[0]
	v.vars["page_title"] = "Order " + o.Name + " – " + v.shop.Name
	v.vars["request"].(map[string]any)["page_type"] = "customers/order"
	return nil
}

// redirectToLogin sends a visitor who is not logged in to the login page.
func redirectToLogin(c *gin.Context) error {
	c.Redirect(http.StatusSeeOther, "/account/login")
	c.Abort()
	return errRedirected
}

// viewCustomer returns the logged-in customer's Liquid object and id, nil
// and 0 when nobody is logged in.
func viewCustomer(v *view) (map[string]any, int64) {
	cu, ok := v.vars["customer"].(map[string]any)
	if !ok {
		return nil, 0
	}
	id, _ := cu["id"].(int64)
	if id == 0 {
		return nil, 0
	}
	return cu, id
}

// fillCustomerOrders sets the order keys of customer object cu (customer
// id): orders as a pager that fetches only the page shown (newest first),
// orders_count, total_spent and last_order.
func fillCustomerOrders(tx *gorm.DB, cu map[string]any, id int64) error {
	last, total, err := orders.CustomerOrdersIn(tx, id, 1, 0)
	if err != nil {
		return err
	}
	spent, err := orders.CustomerSpentIn(tx, id)
	if err != nil {
		return err
	}
	cu["orders"] = &orderPager{tx: tx, customerID: id, total: total}
	cu["orders_count"] = total
	cu["total_spent"] = int64(spent)
	if len(last) > 0 {
		objs, err := toOrderObjects(tx, last)
		if err != nil {
			return err
		}
		cu["last_order"] = objs[0]
	}
	return nil
}

// orderPager is a customer's orders, newest first, fetched a page at a
// time inside the page's transaction.
type orderPager struct {
	tx         *gorm.DB
	customerID int64
	total      int
}

// Count is the number of the customer's orders.
func (p *orderPager) Count() int { return p.total }

// Page returns the orders at [offset, offset+limit).
func (p *orderPager) Page(_ context.Context, offset, limit int) ([]any, error) {
	os, total, err := orders.CustomerOrdersIn(p.tx, p.customerID, min(max(limit, 0), orders.MaxCustomerOrdersPage), max(offset, 0))
	if err != nil {
		return nil, err
	}
	p.total = total
	return toOrderObjects(p.tx, os)
}

// toOrderObjects renders os for themes, with a link and an image for each
// line whose variant is still on the shelf.
func toOrderObjects(tx *gorm.DB, os []orders.Order) ([]any, error) {
	var ids []int64
	for _, o := range os {
		for _, l := range o.Lines {
			if l.VariantID != nil {
				ids = append(ids, *l.VariantID)
			}
		}
	}
	shelf := map[int64]catalog.Product{}
	if len(ids) > 0 {
		var err error
		if shelf, err = catalog.ShelfVariantsIn(tx, ids); err != nil {
			return nil, err
		}
	}
	out := make([]any, len(os))
	for i, o := range os {
		out[i] = toOrderObject(o, shelf)
	}
	return out, nil
}

// Labels of an order's statuses, as Shopify's storefront shows them.
var (
	financialLabels = map[string]string{
		orders.FinancialPending: "Pending", orders.FinancialAuthorized: "Authorized",
		orders.FinancialPartiallyPaid: "Partially paid", orders.FinancialPaid: "Paid",
		orders.FinancialPartiallyRefunded: "Partially refunded", orders.FinancialRefunded: "Refunded",
		orders.FinancialVoided: "Voided",
	}
	fulfillmentLabels = map[string]string{
		"unfulfilled": "Unfulfilled", "partial": "Partially fulfilled", "fulfilled": "Fulfilled", "restocked": "Restocked",
	}
	cancelReasonLabels = map[string]string{
		"customer": "Customer changed or cancelled order", "fraud": "Fraudulent order", "inventory": "Items unavailable",
		"declined": "Payment declined", "other": "Other",
	}
	discountTypes = map[string]string{
		"percentage": "PercentageDiscount", "fixed_amount": "FixedAmountDiscount", "shipping": "ShippingDiscount",
	}
)

// toOrderObject renders o for themes, Shopify's order object; amounts are
// minor units. Everything the shopper or a partner typed (addresses, note,
// email, line and discount texts) is untrusted.
func toOrderObject(o orders.Order, shelf map[int64]catalog.Product) map[string]any {
	fulfillment := "unfulfilled"
	if o.FulfillmentStatus != nil {
		fulfillment = *o.FulfillmentStatus
	}
	lines := make([]any, len(o.Lines))
	itemCount := int64(0)
	for i, l := range o.Lines {
		lines[i] = toOrderLineObject(l, shelf)
		itemCount += l.Quantity
	}
	var discountApps, cartLevel, discounts []any
	for _, d := range o.DiscountCodes {
		target := "line_item"
		if d.Type == "shipping" {
			target = "shipping_line"
		}
		app := map[string]any{"title": untrusted(d.Code), "type": "discount_code", "value_type": d.Type,
			"target_type": target, "target_selection": "all", "allocation_method": "across",
			"total_allocated_amount": int64(d.Amount)}
		if d.Type == "fixed_amount" {
			app["value"] = int64(d.Amount)
		}
		discountApps = append(discountApps, app)
		if target == "line_item" {
			cartLevel = append(cartLevel, app)
		}
		discounts = append(discounts, map[string]any{"title": untrusted(d.Code), "code": untrusted(d.Code),
			"type": discountTypes[d.Type], "amount": int64(d.Amount), "total_amount": int64(d.Amount),
			"savings": -int64(d.Amount), "total_savings": -int64(d.Amount)})
	}
	var shippingMethods []any
	for _, s := range o.ShippingLines {
		shippingMethods = append(shippingMethods, map[string]any{"title": untrusted(s.Title), "handle": untrusted(s.Code),
			"price": int64(s.Price), "original_price": int64(s.Price), "tax_lines": toTaxLineObjects(s.TaxLines)})
	}
	out := map[string]any{
		"id": o.ID, "name": o.Name, "order_number": o.Number, "created_at": o.CreatedAt,
		"email": untrusted(o.Email), "phone": untrusted(o.Phone), "note": untrusted(o.Note),
		"financial_status": o.FinancialStatus, "financial_status_label": financialLabels[o.FinancialStatus],
		"fulfillment_status": fulfillment, "fulfillment_status_label": fulfillmentLabels[fulfillment],
		"line_items": lines, "item_count": itemCount, "currency": o.Currency,
		"line_items_subtotal_price": int64(o.TotalLineItemsPrice()),
		"subtotal_price":            int64(o.SubtotalPrice), "total_price": int64(o.TotalPrice),
		"tax_price": int64(o.TotalTax), "shipping_price": int64(o.TotalShipping),
		"total_discounts": int64(o.TotalDiscounts), "taxes_included": o.TaxesIncluded,
		"tax_lines":                        toTaxLineObjects(o.TaxLines),
		"discount_applications":            orEmptyList(discountApps),
		"cart_level_discount_applications": orEmptyList(cartLevel),
		"discounts":                        orEmptyList(discounts),
		"shipping_methods":                 orEmptyList(shippingMethods),
		"customer_url":                     "/account/orders/" + o.Token,
		"order_status_url":                 "/orders/" + o.Token,
		"cancelled":                        o.CancelledAt != nil,
	}
	if o.CancelledAt != nil {
		out["cancelled_at"] = *o.CancelledAt
		out["cancel_reason"] = o.CancelReason
		out["cancel_reason_label"] = cancelReasonLabels[o.CancelReason]
	}
	if a := toOrderAddressObject(o.ShippingAddress); a != nil {
		out["shipping_address"] = a
	}
	if a := toOrderAddressObject(o.BillingAddress); a != nil {
		out["billing_address"] = a
	}
	return out
}

// toOrderLineObject renders a line of an order, Shopify's line_item; the
// link and image are the product's while its variant is on the shelf.
func toOrderLineObject(l orders.LineItem, shelf map[int64]catalog.Product) map[string]any {
	variantTitle := l.VariantTitle
	if variantTitle == "Default Title" {
		variantTitle = ""
	}
	title := l.Title
	if variantTitle != "" {
		title += " - " + variantTitle
	}
	linePrice := int64(l.Price) * l.Quantity
	out := map[string]any{
		"id": l.ID, "title": untrusted(title), "product_title": untrusted(l.Title), "variant_title": untrusted(variantTitle),
		"quantity": l.Quantity, "sku": untrusted(l.SKU), "vendor": untrusted(l.Vendor),
		"price": int64(l.Price), "original_price": int64(l.Price), "final_price": int64(l.Price),
		"line_price": linePrice, "original_line_price": linePrice, "final_line_price": linePrice,
		"line_level_total_discount": 0, "total_discount": int64(l.TotalDiscount),
		"requires_shipping": l.RequiresShipping, "taxable": l.Taxable, "tax_lines": toTaxLineObjects(l.TaxLines),
		"successfully_fulfilled_quantity": l.FulfilledQuantity, "refunded_quantity": l.RefundedQuantity,
	}
	if l.FulfillmentStatus != nil {
		out["fulfillment_status"] = *l.FulfillmentStatus
	}
	if l.ProductID != nil {
		out["product_id"] = *l.ProductID
	}
	if l.VariantID == nil {
		return out
	}
	out["variant_id"] = *l.VariantID
	p, ok := shelf[*l.VariantID]
	if !ok {
		return out
	}
	out["url"] = toVariantURL(p.Handle, *l.VariantID)
	var imageID *int64
	for _, v := range p.Variants {
		if v.ID == *l.VariantID {
			imageID = v.ImageID
		}
	}
	for _, im := range p.Images {
		if (imageID != nil && im.ID == *imageID) || (imageID == nil && out["image"] == nil) {
			out["image"] = toImageObject(im, p.Title)
		}
	}
	return out
}

func toTaxLineObjects(ts []orders.TaxLine) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		rate, _ := strconv.ParseFloat(t.Rate, 64)
		out[i] = map[string]any{"title": untrusted(t.Title), "rate": rate, "rate_percentage": rate * 100, "price": int64(t.Price)}
	}
	return out
}

// toOrderAddressObject renders an order's address (nil for none) like a
// customer's; every text is the shopper's.
func toOrderAddressObject(a *orders.Address) map[string]any {
	if a == nil {
		return nil
	}
	return map[string]any{"name": untrusted(a.Name()), "first_name": untrusted(a.FirstName), "last_name": untrusted(a.LastName),
		"company": untrusted(a.Company), "address1": untrusted(a.Address1), "address2": untrusted(a.Address2),
		"city": untrusted(a.City), "province": untrusted(a.Province), "province_code": untrusted(a.ProvinceCode),
		"zip": untrusted(a.Zip), "country": untrusted(a.Country), "country_code": untrusted(a.CountryCode),
		"phone": untrusted(a.Phone)}
}

func orEmptyList(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}
