package orders

import (
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
)

// The Shopify JSON shapes of orders and what hangs off them. They are both
// the Admin API's bodies and the outbox events' payloads, so that partner
// webhooks get what Shopify sends.

type addressJSON struct {
	FirstName    *string `json:"first_name"`
	LastName     *string `json:"last_name"`
	Name         string  `json:"name"`
	Company      *string `json:"company"`
	Address1     *string `json:"address1"`
	Address2     *string `json:"address2"`
	City         *string `json:"city"`
	Province     *string `json:"province"`
	ProvinceCode *string `json:"province_code"`
	Country      *string `json:"country"`
	CountryCode  *string `json:"country_code"`
	Zip          *string `json:"zip"`
	Phone        *string `json:"phone"`
}

type taxLineJSON struct {
	Title string `json:"title"`
	Rate  any    `json:"rate"`
	Price string `json:"price"`
}

type shippingLineJSON struct {
	ID                 int64         `json:"id"`
	Title              string        `json:"title"`
	Code               string        `json:"code"`
	Source             string        `json:"source"`
	Price              string        `json:"price"`
	DiscountedPrice    string        `json:"discounted_price"`
	TaxLines           []taxLineJSON `json:"tax_lines"`
	DiscountAllocation []any         `json:"discount_allocations"`
}

type discountCodeJSON struct {
	Code   string `json:"code"`
	Amount string `json:"amount"`
	Type   string `json:"type"`
}

type lineItemJSON struct {
	ID                         int64         `json:"id"`
	AdminGraphqlAPIID          string        `json:"admin_graphql_api_id"`
	FulfillableQuantity        int64         `json:"fulfillable_quantity"`
	FulfillmentService         string        `json:"fulfillment_service"`
	FulfillmentStatus          *string       `json:"fulfillment_status"`
	GiftCard                   bool          `json:"gift_card"`
	Grams                      int64         `json:"grams"`
	Name                       string        `json:"name"`
	Price                      string        `json:"price"`
	ProductExists              bool          `json:"product_exists"`
	ProductID                  *int64        `json:"product_id"`
	Properties                 []any         `json:"properties"`
	Quantity                   int64         `json:"quantity"`
	CurrentQuantity            int64         `json:"current_quantity"`
	RequiresShipping           bool          `json:"requires_shipping"`
	SKU                        *string       `json:"sku"`
	Taxable                    bool          `json:"taxable"`
	Title                      string        `json:"title"`
	TotalDiscount              string        `json:"total_discount"`
	VariantID                  *int64        `json:"variant_id"`
	VariantInventoryManagement *string       `json:"variant_inventory_management"`
	VariantTitle               *string       `json:"variant_title"`
	Vendor                     *string       `json:"vendor"`
	TaxLines                   []taxLineJSON `json:"tax_lines"`
	DiscountAllocations        []any         `json:"discount_allocations"`
}

type orderJSON struct {
	ID                    int64              `json:"id"`
	AdminGraphqlAPIID     string             `json:"admin_graphql_api_id"`
	BuyerAcceptsMarketing bool               `json:"buyer_accepts_marketing"`
	CancelReason          *string            `json:"cancel_reason"`
	CancelledAt           *time.Time         `json:"cancelled_at"`
	CheckoutToken         *string            `json:"checkout_token"`
	ClosedAt              *time.Time         `json:"closed_at"`
	Confirmed             bool               `json:"confirmed"`
	ContactEmail          *string            `json:"contact_email"`
	CreatedAt             time.Time          `json:"created_at"`
	Currency              string             `json:"currency"`
	PresentmentCurrency   string             `json:"presentment_currency"`
	CurrentSubtotalPrice  string             `json:"current_subtotal_price"`
	CurrentTotalDiscounts string             `json:"current_total_discounts"`
	CurrentTotalPrice     string             `json:"current_total_price"`
	CurrentTotalTax       string             `json:"current_total_tax"`
	CustomerID            *int64             `json:"-"`
	Customer              *map[string]any    `json:"customer"`
	DiscountCodes         []discountCodeJSON `json:"discount_codes"`
	Email                 string             `json:"email"`
	FinancialStatus       string             `json:"financial_status"`
	FulfillmentStatus     *string            `json:"fulfillment_status"`
	Gateway               string             `json:"gateway"`
	Name                  string             `json:"name"`
	Note                  *string            `json:"note"`
	NoteAttributes        []any              `json:"note_attributes"`
	Number                int64              `json:"number"`
	OrderNumber           int64              `json:"order_number"`
	PaymentGatewayNames   []string           `json:"payment_gateway_names"`
	Phone                 *string            `json:"phone"`
	ProcessedAt           time.Time          `json:"processed_at"`
	SourceName            string             `json:"source_name"`
	SubtotalPrice         string             `json:"subtotal_price"`
	Tags                  string             `json:"tags"`
	TaxLines              []taxLineJSON      `json:"tax_lines"`
	TaxesIncluded         bool               `json:"taxes_included"`
	Test                  bool               `json:"test"`
	Token                 string             `json:"token"`
	TotalDiscounts        string             `json:"total_discounts"`
	TotalLineItemsPrice   string             `json:"total_line_items_price"`
	TotalOutstanding      string             `json:"total_outstanding"`
	TotalPrice            string             `json:"total_price"`
	TotalShippingPrice    string             `json:"total_shipping_price"`
	TotalTax              string             `json:"total_tax"`
	TotalWeight           int64              `json:"total_weight"`
	UpdatedAt             time.Time          `json:"updated_at"`
	BillingAddress        *addressJSON       `json:"billing_address"`
	ShippingAddress       *addressJSON       `json:"shipping_address"`
	LineItems             []lineItemJSON     `json:"line_items"`
	ShippingLines         []shippingLineJSON `json:"shipping_lines"`
	Fulfillments          []fulfillmentJSON  `json:"fulfillments"`
	Refunds               []refundJSON       `json:"refunds"`
}

type transactionJSON struct {
	ID                int64     `json:"id"`
	AdminGraphqlAPIID string    `json:"admin_graphql_api_id"`
	OrderID           int64     `json:"order_id"`
	Kind              string    `json:"kind"`
	Gateway           string    `json:"gateway"`
	Status            string    `json:"status"`
	Message           *string   `json:"message"`
	CreatedAt         time.Time `json:"created_at"`
	Test              bool      `json:"test"`
	Authorization     *string   `json:"authorization"`
	ParentID          *int64    `json:"parent_id"`
	ProcessedAt       time.Time `json:"processed_at"`
	ErrorCode         *string   `json:"error_code"`
	SourceName        string    `json:"source_name"`
	Amount            string    `json:"amount"`
	Currency          string    `json:"currency"`
	RefundID          *int64    `json:"-"`
	UserID            *int64    `json:"user_id"`
}

// orNull is s, or null when it is empty, as Shopify writes unset text.
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func toAddressJSON(a *Address) *addressJSON {
	if a == nil {
		return nil
	}
	return &addressJSON{FirstName: orNull(a.FirstName), LastName: orNull(a.LastName), Name: a.Name(),
		Company: orNull(a.Company), Address1: orNull(a.Address1), Address2: orNull(a.Address2), City: orNull(a.City),
		Province: orNull(a.Province), ProvinceCode: orNull(a.ProvinceCode), Country: orNull(a.Country),
		CountryCode: orNull(a.CountryCode), Zip: orNull(a.Zip), Phone: orNull(a.Phone)}
}

func toTaxLinesJSON(ts []TaxLine, cur money.Currency) []taxLineJSON {
	out := make([]taxLineJSON, len(ts))
	for i, t := range ts {
		var rate any = t.Rate
		var f float64
		if _, err := fmt.Sscanf(t.Rate, "%g", &f); err == nil {
			rate = f // Shopify writes the rate as a number
		}
		out[i] = taxLineJSON{Title: t.Title, Rate: rate, Price: cur.Format(t.Price)}
	}
	return out
}

func toLineItemJSON(l LineItem, cur money.Currency) lineItemJSON {
	name := l.Title
	if l.VariantTitle != "" && l.VariantTitle != "Default Title" {
		name += " - " + l.VariantTitle
	}
	var mgmt *string
	if l.Tracked {
		s := "shopify"
		mgmt = &s
	}
	return lineItemJSON{ID: l.ID, AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/LineItem/%d", l.ID),
		FulfillableQuantity: l.FulfillableQuantity, FulfillmentService: "manual", FulfillmentStatus: l.FulfillmentStatus,
		Grams: l.Grams, Name: name, Price: cur.Format(l.Price), ProductExists: l.ProductID != nil, ProductID: l.ProductID,
		Properties: []any{}, Quantity: l.Quantity, CurrentQuantity: l.Quantity - l.RefundedQuantity,
		RequiresShipping: l.RequiresShipping, SKU: orNull(l.SKU), Taxable: l.Taxable, Title: l.Title,
		TotalDiscount: cur.Format(l.TotalDiscount), VariantID: l.VariantID, VariantInventoryManagement: mgmt,
		VariantTitle: orNull(l.VariantTitle), Vendor: orNull(l.Vendor), TaxLines: toTaxLinesJSON(l.TaxLines, cur),
		DiscountAllocations: []any{}}
}

// toOrderJSON writes o as Shopify does, with its fulfillments and refunds
// and what its successful transactions have paid so far.
func toOrderJSON(o Order, fs []Fulfillment, rs []Refund, paid money.Amount) orderJSON {
	cur, err := money.ParseCurrency(o.Currency)
	if err != nil {
		cur = money.Currency{Code: o.Currency, Digits: 2}
	}
	refunded := money.Amount(0)
	for _, r := range rs {
		for _, t := range r.Transactions {
			if t.Status == StatusSuccess {
				refunded += t.Amount
			}
		}
	}
	out := orderJSON{ID: o.ID, AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/Order/%d", o.ID),
		BuyerAcceptsMarketing: o.BuyerAcceptsMarketing, CancelReason: orNull(o.CancelReason), CancelledAt: o.CancelledAt,
		CheckoutToken: orNull(o.CheckoutToken), ClosedAt: o.ClosedAt, Confirmed: true, ContactEmail: orNull(o.Email),
		CreatedAt: o.CreatedAt, Currency: o.Currency, PresentmentCurrency: o.Currency,
		CurrentSubtotalPrice: cur.Format(o.SubtotalPrice), CurrentTotalDiscounts: cur.Format(o.TotalDiscounts),
		CurrentTotalPrice: cur.Format(max(o.TotalPrice-refunded, 0)), CurrentTotalTax: cur.Format(o.TotalTax),
		DiscountCodes: []discountCodeJSON{}, Email: o.Email, FinancialStatus: o.FinancialStatus,
		FulfillmentStatus: o.FulfillmentStatus, Gateway: o.Gateway, Name: o.Name, Note: orNull(o.Note),
		NoteAttributes: []any{}, Number: o.Number - 1000, OrderNumber: o.Number, PaymentGatewayNames: []string{},
		Phone: orNull(o.Phone), ProcessedAt: o.ProcessedAt, SourceName: o.SourceName,
		SubtotalPrice: cur.Format(o.SubtotalPrice), Tags: strings.Join(o.Tags, ", "), TaxLines: toTaxLinesJSON(o.TaxLines, cur),
		TaxesIncluded: o.TaxesIncluded, Token: o.Token, TotalDiscounts: cur.Format(o.TotalDiscounts),
		TotalLineItemsPrice: cur.Format(o.TotalLineItemsPrice()), TotalOutstanding: cur.Format(max(o.TotalPrice-paid, 0)),
		TotalPrice: cur.Format(o.TotalPrice), TotalShippingPrice: cur.Format(o.TotalShipping), TotalTax: cur.Format(o.TotalTax),
		UpdatedAt: o.UpdatedAt, BillingAddress: toAddressJSON(o.BillingAddress), ShippingAddress: toAddressJSON(o.ShippingAddress),
		LineItems: []lineItemJSON{}, ShippingLines: []shippingLineJSON{}, Fulfillments: []fulfillmentJSON{}, Refunds: []refundJSON{}}
	if o.CustomerID != nil {
		out.Customer = &map[string]any{"id": *o.CustomerID, "admin_graphql_api_id": fmt.Sprintf("gid://shopify/Customer/%d", *o.CustomerID)}
	}
	if o.Gateway != "" {
		out.PaymentGatewayNames = []string{o.Gateway}
	}
	for _, d := range o.DiscountCodes {
		out.DiscountCodes = append(out.DiscountCodes, discountCodeJSON{Code: d.Code, Amount: cur.Format(d.Amount), Type: d.Type})
	}
	for _, l := range o.Lines {
		out.LineItems = append(out.LineItems, toLineItemJSON(l, cur))
		out.TotalWeight += l.Grams * l.Quantity
	}
	for i, s := range o.ShippingLines {
		out.ShippingLines = append(out.ShippingLines, shippingLineJSON{ID: o.ID*100 + int64(i) + 1, Title: s.Title, Code: s.Code,
			Source: s.Source, Price: cur.Format(s.Price), DiscountedPrice: cur.Format(s.Price),
			TaxLines: toTaxLinesJSON(s.TaxLines, cur), DiscountAllocation: []any{}})
	}
	for _, f := range fs {
		out.Fulfillments = append(out.Fulfillments, toFulfillmentJSON(f, o, cur))
	}
	for _, r := range rs {
		out.Refunds = append(out.Refunds, toRefundJSON(r, o, cur))
	}
	return out
}

func toTransactionJSON(t Transaction, cur money.Currency) transactionJSON {
	var auth *string
	if t.Kind == KindAuthorization {
		auth = orNull(t.Reference)
	}
	return transactionJSON{ID: t.ID, AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/OrderTransaction/%d", t.ID),
		OrderID: t.OrderID, Kind: t.Kind, Gateway: t.Gateway, Status: t.Status, Message: orNull(t.Message),
		CreatedAt: t.CreatedAt, Authorization: auth, ParentID: t.ParentID, ProcessedAt: t.ProcessedAt,
		ErrorCode: orNull(t.ErrorCode), SourceName: "external", Amount: cur.Format(t.Amount), Currency: cur.Code,
		RefundID: t.RefundID}
}

// orderPayloadIn is order o's Shopify JSON, with its fulfillments, refunds
// and payments read in tx.
func orderPayloadIn(tx *gorm.DB, o Order) (orderJSON, error) {
	fs, err := findFulfillments(tx, o.ID)
	if err != nil {
		return orderJSON{}, err
	}
	rs, err := findRefunds(tx, o.ID)
	if err != nil {
		return orderJSON{}, err
	}
	ts, err := findTransactions(tx, o.ID)
	if err != nil {
		return orderJSON{}, err
	}
	return toOrderJSON(o, fs, rs, sumTransactions(ts).captured), nil
}
