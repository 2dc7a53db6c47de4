package notifications

import (
	"fmt"
	"strings"
	"time"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shop"
)

// shopAddressVars is the store's address as Shopify's shop.address shows
// it, for the fields we have, with summary: the address on one line, ""
// when there is none (the footers test it, as "" is true in Liquid).
func shopAddressVars(a shop.Address) map[string]any {
	return map[string]any{"address1": a.Address1, "address2": a.Address2, "city": a.City, "province_code": a.ProvinceCode,
		"zip": a.Zip, "country_code": a.CountryCode, "country": a.Country(), "phone": a.Phone, "summary": a.Summary()}
}

// Shop is the store as its emails show it: name and logo for the header,
// its URL for links, its email for replies (the sender email,
// shop.Shop.ReplyEmail), its postal address for the footer.
type Shop struct {
	Name     string
	Email    string
	URL      string // "https://acme.storefleet.app", no trailing slash
	LogoURL  string // "" when the store has none
	Currency string
	// Address is the store's postal address, which the default templates'
	// footers show (the law on commercial email asks for it in many
	// places); zero when the merchant has given none.
	Address shop.Address
}

// Customer is whom an email is for.
type Customer struct {
	FirstName, LastName, Email string
}

// Data is what one email is about. Shop is filled in by Service.Render;
// the rest by the caller, as the kind needs: Order (and OrderStatusURL) for
// the order kinds, Fulfillment for a shipping confirmation, Refund for a
// refund, URL for a password reset link.
type Data struct {
	Shop           Shop
	Customer       Customer
	Order          *orders.Order
	OrderStatusURL string
	Fulfillment    *orders.Fulfillment
	Refund         *orders.Refund
	URL            string
	// Subject, when set, replaces the template's subject (an invitation
	// sent with its own); CustomMessage is the merchant's note in it.
	Subject       string
	CustomMessage string
	// Invitation is the staff invitation an email is about (URL is its
	// accept link).
	Invitation *Invitation
}

// Invitation is a staff invitation as its email shows it.
type Invitation struct {
	Role      string // the role's name as the store shows it
	InvitedBy string // the inviter's email
	ExpiresAt time.Time
}

// vars are the Liquid objects of d, shaped and named as Shopify's
// notification templates have them where we have the data: shop, customer,
// order (and its fields at the top level too: order_name, line_items,
// total_price, …), fulfillment, refund. Money is in minor units, for the
// money filters; dates are times, for the date filter.
func (d Data) vars() map[string]any {
	var logo any
	if d.Shop.LogoURL != "" {
		logo = d.Shop.LogoURL
	}
	host := strings.TrimPrefix(strings.TrimPrefix(d.Shop.URL, "https://"), "http://")
	v := map[string]any{
		"shop": map[string]any{"name": d.Shop.Name, "email": d.Shop.Email, "url": d.Shop.URL, "domain": host,
			"logo": logo, "currency": d.Shop.Currency, "address": shopAddressVars(d.Shop.Address)},
		"shop_name": d.Shop.Name,
		"url":       d.URL,
	}
	c := d.Customer
	customer := map[string]any{"first_name": c.FirstName, "last_name": c.LastName, "email": c.Email,
		"name": strings.TrimSpace(c.FirstName + " " + c.LastName)}
	if d.URL != "" {
		customer["reset_password_url"] = d.URL
		customer["account_activation_url"] = d.URL
		customer["account_verification_url"] = d.URL
	}
	v["custom_message"] = d.CustomMessage
	v["customer"] = customer
	if i := d.Invitation; i != nil {
		v["invitation"] = map[string]any{"url": d.URL, "role": i.Role, "invited_by": i.InvitedBy, "email": c.Email, "expires_at": i.ExpiresAt}
	}
	if d.Order == nil {
		return v
	}
	o := d.Order
	byID := map[int64]map[string]any{}
	lines := make([]any, 0, len(o.Lines))
	for _, l := range o.Lines {
		m := lineVars(l)
		byID[l.ID] = m
		lines = append(lines, m)
	}
	order := map[string]any{
		"id": o.ID, "name": o.Name, "order_number": o.Number, "email": o.Email, "phone": o.Phone,
		"created_at": o.CreatedAt, "processed_at": o.ProcessedAt, "currency": o.Currency,
		"financial_status": o.FinancialStatus, "fulfillment_status": deref(o.FulfillmentStatus),
		"line_items": lines, "item_count": itemCount(o.Lines),
		"subtotal_price": int64(o.SubtotalPrice), "total_price": int64(o.TotalPrice), "total_tax": int64(o.TotalTax),
		"tax_price": int64(o.TotalTax), "shipping_price": int64(o.TotalShipping), "total_discounts": int64(o.TotalDiscounts),
		"taxes_included": o.TaxesIncluded, "payment_method": o.PaymentMethod, "gateway": o.Gateway, "note": o.Note,
		"shipping_address": addressVars(o.ShippingAddress), "billing_address": addressVars(o.BillingAddress),
		"shipping_method": shippingMethod(o.ShippingLines), "order_status_url": d.OrderStatusURL,
		"cancelled": o.CancelledAt != nil, "cancel_reason": o.CancelReason, "cancelled_at": timeOrNil(o.CancelledAt),
	}
	v["order"] = order
	for _, k := range []string{"order_number", "email", "line_items", "subtotal_price", "total_price", "tax_price",
		"shipping_price", "total_discounts", "financial_status", "fulfillment_status", "shipping_address",
		"billing_address", "shipping_method", "order_status_url", "cancel_reason", "created_at", "payment_method", "note"} {
		v[k] = order[k]
	}
	v["order_name"] = o.Name
	if c.FirstName == "" && c.LastName == "" && o.ShippingAddress != nil {
		customer["first_name"], customer["last_name"] = o.ShippingAddress.FirstName, o.ShippingAddress.LastName
		customer["name"] = o.ShippingAddress.Name()
	}
	if c.Email == "" {
		customer["email"] = o.Email
	}
	if f := d.Fulfillment; f != nil {
		items := make([]any, 0, len(f.Lines))
		for _, fl := range f.Lines {
			if l, ok := byID[fl.LineItemID]; ok {
				items = append(items, map[string]any{"line_item": l, "quantity": fl.Quantity})
			}
		}
		fv := map[string]any{"name": f.Name, "status": f.Status, "tracking_company": f.TrackingCompany,
			"tracking_numbers": strs(f.TrackingNumbers), "tracking_urls": strs(f.TrackingURLs),
			"tracking_number": first(f.TrackingNumbers), "tracking_url": first(f.TrackingURLs),
			"fulfillment_line_items": items, "item_count": len(items), "created_at": f.CreatedAt}
		v["fulfillment"] = fv
	}
	if r := d.Refund; r != nil {
		var amount money.Amount
		for _, t := range r.Transactions {
			if t.Kind == orders.KindRefund && t.Status != orders.StatusFailure && t.Status != orders.StatusError {
				amount += t.Amount
			}
		}
		items := make([]any, 0, len(r.Lines))
		for _, rl := range r.Lines {
			if l, ok := byID[rl.LineItemID]; ok {
				items = append(items, map[string]any{"line_item": l, "quantity": rl.Quantity})
			}
		}
		v["refund"] = map[string]any{"amount": int64(amount), "note": r.Note, "refund_line_items": items,
			"shipping": int64(r.Shipping), "created_at": r.CreatedAt}
		v["amount"] = int64(amount)
	}
	return v
}

func lineVars(l orders.LineItem) map[string]any {
	name := l.Title
	if l.VariantTitle != "" {
		name += " - " + l.VariantTitle
	}
	return map[string]any{
		"id": l.ID, "title": l.Title, "variant_title": l.VariantTitle, "name": name, "sku": l.SKU, "vendor": l.Vendor,
		"quantity": l.Quantity, "price": int64(l.Price), "line_price": int64(l.Price) * l.Quantity,
		"final_line_price": int64(l.Price)*l.Quantity - int64(l.TotalDiscount), "total_discount": int64(l.TotalDiscount),
		"requires_shipping": l.RequiresShipping,
	}
}

func addressVars(a *orders.Address) any {
	if a == nil {
		return nil
	}
	return map[string]any{"name": a.Name(), "first_name": a.FirstName, "last_name": a.LastName, "company": a.Company,
		"address1": a.Address1, "address2": a.Address2, "city": a.City, "province": a.Province,
		"province_code": a.ProvinceCode, "country": a.Country, "country_code": a.CountryCode, "zip": a.Zip, "phone": a.Phone}
}

func shippingMethod(ls []orders.ShippingLine) any {
	if len(ls) == 0 {
		return nil
	}
	return map[string]any{"title": ls[0].Title, "price": int64(ls[0].Price)}
}

func itemCount(ls []orders.LineItem) int64 {
	var n int64
	for _, l := range ls {
		n += l.Quantity
	}
	return n
}

func deref(s *string) any {
	if s == nil {
		return nil
	}
	return *s
}

func timeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return *t
}

func first(ss []string) any {
	if len(ss) == 0 {
		return nil
	}
	return ss[0]
}

func strs(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// Sample is made-up data for kind, in store sh's name and currency: what a
// template is checked and previewed against. It holds every object the
// kind's real emails have, so that a template that renders the sample
// renders real emails too.
func Sample(kind Kind, sh Shop) Data {
	cur := sh.Currency
	if cur == "" {
		cur = "USD"
	}
	now := time.Date(2025, 1, 15, 10, 30, 0, 0, time.UTC)
	addr := &orders.Address{FirstName: "Ann", LastName: "Lee", Address1: "1 Main St", City: "Springfield",
		Province: "Illinois", ProvinceCode: "IL", Country: "United States", CountryCode: "US", Zip: "62701"}
	o := &orders.Order{ID: 1, Number: 1001, Name: "#1001", Token: "sample", Email: "ann@example.com", Currency: cur,
		Lines: []orders.LineItem{
			{ID: 1, NewLine: orders.NewLine{Title: "Sencha", VariantTitle: "100 g", SKU: "SEN-100", Quantity: 2, Price: 1250, RequiresShipping: true}, FulfillableQuantity: 2},
			{ID: 2, NewLine: orders.NewLine{Title: "Tea cup", Quantity: 1, Price: 900, RequiresShipping: true}, FulfillableQuantity: 1},
		},
		ShippingAddress: addr, BillingAddress: addr,
		ShippingLines: []orders.ShippingLine{{Title: "Standard", Price: 500}},
		SubtotalPrice: 3400, TotalShipping: 500, TotalTax: 0, TotalPrice: 3900,
		FinancialStatus: orders.FinancialPaid, Gateway: "manual", PaymentMethod: "Bank transfer", SourceName: "web",
		ProcessedAt: now, CreatedAt: now, UpdatedAt: now,
	}
	d := Data{Shop: sh, Customer: Customer{FirstName: "Ann", LastName: "Lee", Email: "ann@example.com"}}
	switch kind {
	case PasswordReset:
		d.URL = sh.URL + "/account/reset/1/" + strings.Repeat("0", 64)
		return d
	case StaffInvitation:
		d.URL = "https://app.storefleet.example/invitations/1-" + strings.Repeat("0", 32)
		d.Invitation = &Invitation{Role: "staff", InvitedBy: "owner@example.com", ExpiresAt: now.Add(7 * 24 * time.Hour)}
		return d
	case AccountVerification:
		d.URL = sh.URL + "/account/verify/1/" + strings.Repeat("0", 64)
		return d
	case AccountInvite:
		d.URL = sh.URL + "/account/activate/1/" + strings.Repeat("0", 64)
		d.CustomMessage = "We set up an account for you: your orders, in one place."
		return d
	}
	d.Order, d.OrderStatusURL = o, fmt.Sprintf("%s/orders/%s", sh.URL, o.Token)
	switch kind {
	case ShippingConfirmation:
		d.Fulfillment = &orders.Fulfillment{ID: 1, OrderID: 1, Name: "#1001.1", Status: "success", TrackingCompany: "UPS",
			TrackingNumbers: []string{"1Z999AA10123456784"}, TrackingURLs: []string{"https://www.ups.com/track?tracknum=1Z999AA10123456784"},
			NotifyCustomer: true, Lines: []orders.FulfillmentLine{{LineItemID: 1, Quantity: 2}, {LineItemID: 2, Quantity: 1}}, CreatedAt: now}
	case RefundNotification:
		d.Refund = &orders.Refund{ID: 1, OrderID: 1, Note: "Damaged in transit", Lines: []orders.RefundLine{{LineItemID: 2, Quantity: 1}},
			Transactions: []orders.Transaction{{Kind: orders.KindRefund, Status: orders.StatusSuccess, Amount: 900}}, CreatedAt: now}
	case OrderCancelled:
		o.CancelledAt, o.CancelReason = &now, "customer"
	}
	return d
}
