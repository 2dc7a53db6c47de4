package checkout

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/discounts"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shipping"
)

// Quote is what a checkout costs now, computed from the store's current
// prices, stock, shipping rates, tax rates and discount code.
type Quote struct {
	Currency         money.Currency
	Lines            []QuoteLine
	Subtotal         money.Amount // the lines' prices times quantities
	RequiresShipping bool
	Rates            []shipping.Rate // what the address can use, cheapest first
	Rate             *shipping.Rate  // the chosen one, while it is on offer
	Discount         *discounts.Discount
	DiscountError    string       // why the checkout's code does not apply
	LinesOff         money.Amount // the discount on merchandise
	ShippingOff      money.Amount // the discount on shipping
	TaxesIncluded    bool         // prices include the taxes
	TaxLines         []orders.TaxLine
	Tax              money.Amount
	Total            money.Amount
	Problems         []string // what changed since the shopper saw the lines
	Notices          []string // what View changed because of it
	taxRates         []shipping.TaxRate
}

// QuoteLine is a checkout line at today's price.
type QuoteLine struct {
	Line                      // as the shopper saw it
	Price                     money.Amount
	ProductID                 int64
	VariantTitle, SKU, Vendor string
	Image                     string // the storefront path of its picture, "" for none
	Grams                     int64
	RequiresShipping, Taxable bool
	Tracked, SellWhenOut      bool
	Discount                  money.Amount // its share of the merchandise discount
	Taxes                     []money.Amount
	available                 int64 // -1: not limited
	gone                      bool
}

// Total is the line's price times its quantity.
func (l QuoteLine) Total() money.Amount { return l.Price * money.Amount(l.Quantity) }

// quoteIn prices checkout co in tx at now.
func quoteIn(tx *gorm.DB, co *Checkout, now time.Time) (Quote, error) {
	cur, err := currencyIn(tx)
	if err != nil {
		return Quote{}, err
	}
	q := Quote{Currency: cur}
	if err := q.priceLines(tx, co.Lines); err != nil {
		return Quote{}, err
	}
	var grams int64
	for _, l := range q.Lines {
		if l.gone {
			continue
		}
		q.Subtotal += l.Total()
		if l.RequiresShipping {
			q.RequiresShipping = true
			grams += l.Grams * l.Quantity
		}
	}
	a := co.ShippingAddress
	var shippingPrice money.Amount
	if a != nil && q.RequiresShipping {
		q.Rates, err = shipping.RatesIn(tx, shipping.Parcel{CountryCode: a.CountryCode, ProvinceCode: a.ProvinceCode,
			Subtotal: q.Subtotal, Grams: grams})
		if err != nil {
			return Quote{}, err
		}
		for i, r := range q.Rates {
			if r.Code == co.ShippingRate {
				q.Rate = &q.Rates[i]
				shippingPrice = r.Price
			}
		}
	}
	if co.DiscountCode != "" {
		d, err := discounts.CodeIn(tx, co.DiscountCode, now)
		if err == nil {
			q.LinesOff, q.ShippingOff, err = d.Off(q.Subtotal, shippingPrice, cur)
		}
		switch {
		case err == nil:
			q.Discount = &d
		case errs.Is(err, errs.Invalid):
			q.DiscountError, q.LinesOff, q.ShippingOff = errs.MessageOf(err), 0, 0
		default:
			return Quote{}, err
		}
	}
	q.allocateDiscount()
	if a != nil {
		if err := q.addTaxes(tx, a, shippingPrice); err != nil {
			return Quote{}, err
		}
	}
	q.Total = q.Subtotal - q.LinesOff + shippingPrice - q.ShippingOff
	if !q.TaxesIncluded {
		q.Total += q.Tax
	}
	return q, nil
}

// priceLines looks up each line's variant on the shelf now and notes what
// changed: gone, sold out, less stock, a new price.
func (q *Quote) priceLines(tx *gorm.DB, lines []Line) error {
	ids := make([]int64, len(lines))
	for i, l := range lines {
		ids[i] = l.VariantID
	}
	shelf, err := catalog.ShelfVariantsIn(tx, ids)
	if err != nil {
		return err
	}
	for _, l := range lines {
		ql := QuoteLine{Line: l, Price: l.Price, available: -1}
		p, ok := shelf[l.VariantID]
		var v *catalog.Variant
		for i := range p.Variants {
			if p.Variants[i].ID == l.VariantID {
				v = &p.Variants[i]
			}
		}
		if !ok || v == nil {
			ql.gone = true
			q.Problems = append(q.Problems, fmt.Sprintf("%s is no longer available and was removed.", l.Title))
			q.Lines = append(q.Lines, ql)
			continue
		}
		ql.Title, ql.Price, ql.ProductID = lineTitle(p, *v), v.Price, p.ID
		ql.VariantTitle, ql.SKU, ql.Vendor = v.Title(), v.SKU, p.Vendor
		ql.Grams, ql.RequiresShipping, ql.Taxable = grams(v.Weight, v.WeightUnit), v.RequiresShipping, v.Taxable
		ql.Tracked, ql.SellWhenOut = v.InventoryManagement != nil, v.InventoryPolicy == "continue"
		ql.Image = imageOf(p, v.ID, v.ImageID)
		if ql.Tracked && !ql.SellWhenOut {
			ql.available = max(v.InventoryQuantity, 0)
		}
		switch {
		case ql.available == 0:
			ql.gone = true
			q.Problems = append(q.Problems, fmt.Sprintf("%s sold out and was removed.", ql.Title))
		case ql.available > 0 && ql.Quantity > ql.available:
			q.Problems = append(q.Problems, fmt.Sprintf("Only %d of %s are left; your order now has %d.",
				ql.available, ql.Title, ql.available))
			ql.Quantity = ql.available
		}
		if !ql.gone && ql.Price != l.Price {
			q.Problems = append(q.Problems, fmt.Sprintf("The price of %s changed from %s to %s.", ql.Title,
				formatMoney(q.Currency, l.Price), formatMoney(q.Currency, ql.Price)))
		}
		q.Lines = append(q.Lines, ql)
	}
	return nil
}

// current is the checkout's lines as they now stand: for saving after the
// shopper has been told what changed.
func (q Quote) current() []Line {
	out := []Line{}
	for _, l := range q.Lines {
		if l.gone {
			continue
		}
		out = append(out, Line{VariantID: l.VariantID, Quantity: l.Quantity, Price: l.Price, Title: l.Title})
	}
	return out
}

// allocateDiscount shares the merchandise discount among the lines in
// proportion to their totals; the remainder's minor units go to the
// largest lines first, so the shares add up exactly.
func (q *Quote) allocateDiscount() {
	if q.LinesOff == 0 || q.Subtotal == 0 {
		return
	}
	type share struct {
		i    int
		rest int64
	}
	var given money.Amount
	var shares []share
	for i := range q.Lines {
		l := &q.Lines[i]
		if l.gone {
			continue
		}
		part := int64(q.LinesOff) * int64(l.Total())
		l.Discount = money.Amount(part / int64(q.Subtotal))
		given += l.Discount
		shares = append(shares, share{i, part % int64(q.Subtotal)})
	}
	slices.SortStableFunc(shares, func(a, b share) int { return cmp.Compare(b.rest, a.rest) })
	for k := 0; given < q.LinesOff; k++ {
		q.Lines[shares[k%len(shares)].i].Discount++
		given++
	}
}

// addTaxes adds the taxes that apply where the order ships (each line's
// after its discount; shipping when the store taxes it), summed per rate
// into tax lines.
func (q *Quote) addTaxes(tx *gorm.DB, a *shipping.Address, shippingPrice money.Amount) error {
	rates, included, taxShipping, err := shipping.TaxesIn(tx, a.CountryCode, a.ProvinceCode)
	if err != nil {
		return err
	}
	q.TaxesIncluded, q.taxRates = included, rates
	if len(rates) == 0 {
		return nil
	}
	sums := make([]money.Amount, len(rates))
	for i := range q.Lines {
		l := &q.Lines[i]
		if l.gone || !l.Taxable {
			continue
		}
		l.Taxes = shipping.Tax(l.Total()-l.Discount, rates, included)
		for k, t := range l.Taxes {
			sums[k] += t
		}
	}
	if taxShipping && shippingPrice > q.ShippingOff {
		for k, t := range shipping.Tax(shippingPrice-q.ShippingOff, rates, included) {
			sums[k] += t
		}
	}
	for k, r := range rates {
		if sums[k] == 0 {
			continue
		}
		q.TaxLines = append(q.TaxLines, orders.TaxLine{Title: r.Title, Rate: r.String(), Price: sums[k]})
		q.Tax += sums[k]
	}
	return nil
}

// ready says what the shopper has yet to give before co can be completed.
func (q Quote) ready(co *Checkout) error {
	switch {
	case co.Email == "" || co.ShippingAddress == nil:
		return errs.E(errs.Invalid, "Enter your contact email and shipping address first.")
	case q.RequiresShipping && len(q.Rates) == 0:
		return errs.E(errs.Invalid, "This store does not ship to %s.", shipping.CountryName(co.ShippingAddress.CountryCode))
	case q.RequiresShipping && q.Rate == nil:
		return errs.E(errs.Invalid, "Choose a shipping method.")
	case co.DiscountCode != "" && q.DiscountError != "":
		return errs.E(errs.Invalid, "%s", q.DiscountError)
	case len(q.current()) == 0:
		return ErrEmptyCart
	}
	return nil
}

// newOrder is the order checkout co places, priced by q, paid by m.
func (q Quote) newOrder(co *Checkout, m billing.Method) orders.NewOrder {
	a := toOrderAddress(co.ShippingAddress)
	n := orders.NewOrder{
		CheckoutToken: co.Token, Email: co.Email, Phone: co.ShippingAddress.Phone, CustomerID: co.CustomerID,
		Currency: q.Currency.Code, TaxesIncluded: q.TaxesIncluded, ShippingAddress: a, BillingAddress: a,
		TaxLines: q.TaxLines, SubtotalPrice: q.Subtotal - q.LinesOff, TotalDiscounts: q.LinesOff + q.ShippingOff,
		TotalTax: q.Tax, TotalPrice: q.Total, Gateway: m.Provider, PaymentMethod: m.Name, SourceName: "web",
		InventoryBehaviour: "decrement_obeying_policy", BuyerAcceptsMarketing: co.AcceptsMarketing,
		Actor: "checkout:" + co.Token,
	}
	for _, l := range q.Lines {
		if l.gone {
			continue
		}
		vid, pid := l.VariantID, l.ProductID
		var taxes []orders.TaxLine
		for k, t := range l.Taxes {
			if t > 0 {
				taxes = append(taxes, orders.TaxLine{Title: q.taxRates[k].Title, Rate: q.taxRates[k].String(), Price: t})
			}
		}
		n.Lines = append(n.Lines, orders.NewLine{VariantID: &vid, ProductID: &pid, Title: productTitle(l),
			VariantTitle: l.VariantTitle, SKU: l.SKU, Vendor: l.Vendor, Quantity: l.Quantity, Price: l.Price,
			Grams: l.Grams, RequiresShipping: l.RequiresShipping, Taxable: l.Taxable, TotalDiscount: l.Discount,
			TaxLines: taxes, Tracked: l.Tracked, SellWhenOut: l.SellWhenOut})
	}
	if q.Rate != nil {
		n.ShippingLines = []orders.ShippingLine{{Title: q.Rate.Title, Code: q.Rate.Code, Source: "storefleet", Price: q.Rate.Price}}
		n.TotalShipping = q.Rate.Price
	}
	if q.Discount != nil {
		n.DiscountCodes = []orders.DiscountCode{{Code: q.Discount.Code, Amount: q.LinesOff + q.ShippingOff, Type: q.Discount.Type()}}
	}
	return n
}

// productTitle is a line's title without its variant's.
func productTitle(l QuoteLine) string {
	if l.VariantTitle != "" && l.VariantTitle != "Default Title" && len(l.Title) > len(l.VariantTitle)+3 {
		return l.Title[:len(l.Title)-len(l.VariantTitle)-3]
	}
	return l.Title
}

func toOrderAddress(a *shipping.Address) *orders.Address {
	if a == nil {
		return nil
	}
	return &orders.Address{FirstName: a.FirstName, LastName: a.LastName, Company: a.Company, Address1: a.Address1,
		Address2: a.Address2, City: a.City, ProvinceCode: a.ProvinceCode, Province: shipping.ProvinceName(a.CountryCode, a.ProvinceCode),
		Country: shipping.CountryName(a.CountryCode), CountryCode: a.CountryCode, Zip: a.Zip, Phone: a.Phone}
}

// grams converts a variant's weight to grams.
func grams(w float64, unit string) int64 {
	switch unit {
	case "kg":
		w *= 1000
	case "lb":
		w *= 453.59237
	case "oz":
		w *= 28.349523125
	}
	return int64(w + 0.5)
}

// imageOf is the storefront path of the picture of variant id: its own, or
// the product's first.
func imageOf(p catalog.Product, id int64, imageID *int64) string {
	for _, im := range p.Images {
		if imageID != nil && im.ID == *imageID {
			return "/cdn/shop/products/" + im.File
		}
	}
	if len(p.Images) > 0 {
		return "/cdn/shop/products/" + p.Images[0].File
	}
	return ""
}

// Items are the lines the order will have.
func (q Quote) Items() []QuoteLine {
	var out []QuoteLine
	for _, l := range q.Lines {
		if !l.gone {
			out = append(out, l)
		}
	}
	return out
}
