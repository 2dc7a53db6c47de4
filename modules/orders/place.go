package orders

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/shop"
)

// Bounds of what an order may hold, so that one request cannot make an
// order nobody can load.
const (
	maxLines    = 250
	maxText     = 255
	maxNote     = 5000
	maxQuantity = 1_000_000
	maxTags     = 250
)

var tokenPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// validate checks n against the store's currency cur and fills defaults:
// a status token, the inventory behaviour, each line's zero fields.
//
// Errors: Invalid, with per-field messages.
func (n *NewOrder) validate(cur money.Currency) error {
	f := errs.Fields{}
	if n.Token == "" {
		tok, err := newToken()
		if err != nil {
			return err
		}
		n.Token = tok
	} else if !tokenPattern.MatchString(n.Token) {
		f.Add("token", "must be 32 lowercase hexadecimal characters")
	}
	if len(n.CheckoutToken) > maxText {
		f.Add("checkout_token", "is too long (maximum is %d characters)", maxText)
	}
	if n.Email = strings.TrimSpace(n.Email); n.Email != "" {
		if e, err := auth.NormalizeEmail(n.Email); err != nil || len(e) > maxText {
			f.Add("email", "is invalid")
		} else {
			n.Email = e
		}
	}
	if len(n.Phone) > maxText {
		f.Add("phone", "is too long (maximum is %d characters)", maxText)
	}
	if !strings.EqualFold(n.Currency, cur.Code) {
		f.Add("currency", "must be the store's currency, %s", cur.Code)
	}
	n.Currency = cur.Code
	switch n.InventoryBehaviour {
	case "":
		n.InventoryBehaviour = InventoryBypass
	case InventoryBypass, InventoryIgnoringPolicy, InventoryObeyingPolicy:
	default:
		f.Add("inventory_behaviour", "must be bypass, decrement_ignoring_policy or decrement_obeying_policy")
	}
	switch n.Gateway {
	case "", "manual", "stripe":
	default:
		f.Add("gateway", "must be manual or stripe")
	}
	if len(n.Note) > maxNote {
		f.Add("note", "is too long (maximum is %d characters)", maxNote)
	}
	if len(n.Tags) > maxTags {
		f.Add("tags", "may hold at most %d tags", maxTags)
	}
	for _, tag := range n.Tags {
		if strings.Contains(tag, ",") || len(tag) > maxText {
			f.Add("tags", "must each be at most %d characters and hold no comma", maxText)
			break
		}
	}
	if len(n.PaymentMethod) > maxText || len(n.SourceName) > maxText {
		f.Add("base", "payment method and source name must be at most %d characters", maxText)
	}

	switch {
	case len(n.Lines) == 0:
		f.Add("line_items", "must have at least one line item")
	case len(n.Lines) > maxLines:
		f.Add("line_items", "may hold at most %d line items", maxLines)
	}
	var lineTotal, lineDiscounts money.Amount
	for i, l := range n.Lines {
		field := fmt.Sprintf("line_items[%d]", i)
		if strings.TrimSpace(l.Title) == "" {
			f.Add(field+".title", "can't be blank")
		}
		if len(l.Title) > maxText || len(l.VariantTitle) > maxText || len(l.SKU) > maxText || len(l.Vendor) > maxText {
			f.Add(field, "title, variant title, sku and vendor must be at most %d characters", maxText)
		}
		if l.Quantity <= 0 || l.Quantity > maxQuantity {
			f.Add(field+".quantity", "must be a whole number from 1 to %d", maxQuantity)
			continue
		}
		if l.Price < 0 || l.Price > money.Max || l.TotalDiscount < 0 || l.TotalDiscount > money.Max {
			f.Add(field+".price", "must be an amount from 0 to %s", cur.Format(money.Max))
			continue
		}
		if l.TotalDiscount > l.Price*money.Amount(l.Quantity) {
			f.Add(field+".total_discount", "must not be more than the line's price times its quantity")
		}
		lineTotal += l.Price * money.Amount(l.Quantity)
		lineDiscounts += l.TotalDiscount
		checkTaxLines(f, field+".tax_lines", l.TaxLines)
	}
	var shipping, shippingDiscounts, taxes money.Amount
	for i, s := range n.ShippingLines {
		if s.Price < 0 || s.Price > money.Max {
			f.Add(fmt.Sprintf("shipping_lines[%d].price", i), "must be an amount from 0 to %s", cur.Format(money.Max))
		}
		shipping += s.Price
		checkTaxLines(f, fmt.Sprintf("shipping_lines[%d].tax_lines", i), s.TaxLines)
	}
	for i, d := range n.DiscountCodes {
		switch d.Type {
		case "percentage", "fixed_amount":
		case "shipping":
			shippingDiscounts += d.Amount
		default:
			f.Add(fmt.Sprintf("discount_codes[%d].type", i), "must be percentage, fixed_amount or shipping")
		}
		if d.Amount < 0 || d.Code == "" || len(d.Code) > maxText {
			f.Add(fmt.Sprintf("discount_codes[%d]", i), "needs a code and an amount that is not negative")
		}
	}
	checkTaxLines(f, "tax_lines", n.TaxLines)
	for _, t := range n.TaxLines {
		taxes += t.Price
	}
	if len(f) == 0 {
		want := []struct {
			field     string
			got, want money.Amount
			rule      string
		}{
			{"subtotal_price", n.SubtotalPrice, lineTotal - lineDiscounts, "the lines' prices times quantities less their discounts"},
			{"total_shipping", n.TotalShipping, shipping, "the sum of the shipping lines' prices"},
			{"total_tax", n.TotalTax, taxes, "the sum of the tax lines"},
			{"total_discounts", n.TotalDiscounts, lineDiscounts + shippingDiscounts, "the lines' discounts plus shipping discounts"},
		}
		total := n.SubtotalPrice + n.TotalShipping
		if !n.TaxesIncluded {
			total += n.TotalTax
		}
		want = append(want, struct {
			field     string
			got, want money.Amount
			rule      string
		}{"total_price", n.TotalPrice, total, "the subtotal plus shipping plus taxes (when not included in prices)"})
		for _, w := range want {
			if w.got != w.want {
				f.Add(w.field, "is %s but must be %s (%s)", cur.Format(w.got), cur.Format(w.want), w.rule)
			}
		}
	}
	return f.Err()
}

func checkTaxLines(f errs.Fields, field string, ts []TaxLine) {
	for _, t := range ts {
		if t.Price < 0 || t.Price > money.Max || t.Title == "" || len(t.Title) > maxText || len(t.Rate) > 32 {
			f.Add(field, "each needs a title, a rate and a price that is not negative")
			return
		}
	}
}

// PlaceIn places order n inside the caller's tenant transaction (checkout's
// or the API's), so the order exists if and only if its stock was taken.
//
// It takes stock with inventory.TakeIn per n.InventoryBehaviour (tracked
// variants only; variants locked in id order), then draws the store's next
// order number (#1001, #1002, … from the store's sequence, after the stock
// is taken so sold-out attempts burn no numbers), writes the order, its
// lines and a timeline event, and emits "orders/create" (and "orders/paid"
// for an order of nothing to pay) in the same transaction. The order starts
// pending: RecordTransactionIn moves its financial status.
//
// Errors: Invalid (per-field messages: empty lines, quantity ≤ 0, totals
// that do not add up, currency not the store's, bad email), Conflict (sold
// out, with the *inventory.SoldOutError in its chain and a message naming
// the items; a CheckoutToken already placed, wrapping ErrCheckoutPlaced:
// OrderByCheckoutIn finds that order). On an error nothing is written, and
// the caller must roll its transaction back.
func PlaceIn(tx *gorm.DB, n NewOrder) (Order, error) {
	cur, err := shop.LockCurrencyIn(tx) // the currency cannot change under an order
	if err != nil {
		return Order{}, err
	}
	if err := n.validate(cur); err != nil {
		return Order{}, err
	}
	if n.CheckoutToken != "" {
		// One completion of a checkout at a time: a second waits here, then
		// finds the first's order, without taking stock or a number.
		if err := tx.Exec(`SELECT pg_advisory_xact_lock(hashtextextended('orders:checkout:' || ?, 0))`, n.CheckoutToken).Error; err != nil {
			return Order{}, fmt.Errorf("lock checkout: %w", err)
		}
		if _, err := OrderByCheckoutIn(tx, n.CheckoutToken); err == nil {
			return Order{}, fmt.Errorf("place order: %w", ErrCheckoutPlaced)
		} else if !errs.Is(err, errs.NotFound) {
			return Order{}, err
		}
	}

	now := time.Now().UTC()
	o := Order{Token: n.Token, CheckoutToken: n.CheckoutToken, Email: n.Email, Phone: n.Phone, CustomerID: n.CustomerID,
		Currency: n.Currency, TaxesIncluded: n.TaxesIncluded, ShippingAddress: n.ShippingAddress, BillingAddress: n.BillingAddress,
		ShippingLines: n.ShippingLines, TaxLines: n.TaxLines, DiscountCodes: n.DiscountCodes, SubtotalPrice: n.SubtotalPrice,
		TotalDiscounts: n.TotalDiscounts, TotalShipping: n.TotalShipping, TotalTax: n.TotalTax, TotalPrice: n.TotalPrice,
		FinancialStatus: FinancialPending, Gateway: n.Gateway, PaymentMethod: n.PaymentMethod, Note: n.Note, Tags: n.Tags,
		SourceName: n.SourceName, InventoryBehaviour: n.InventoryBehaviour, BuyerAcceptsMarketing: n.BuyerAcceptsMarketing,
		ProcessedAt: now, CreatedAt: now, UpdatedAt: now}
	if o.TotalPrice == 0 {
		o.FinancialStatus = FinancialPaid // nothing to pay, as Shopify marks it
	}
	var takes []inventory.Take
	for _, l := range n.Lines {
		li := LineItem{NewLine: l, FulfillableQuantity: l.Quantity}
		if n.InventoryBehaviour != InventoryBypass && l.VariantID != nil && l.Tracked {
			li.StockTaken = true
			takes = append(takes, inventory.Take{ItemID: *l.VariantID, Quantity: l.Quantity,
				SellWhenOut: l.SellWhenOut || n.InventoryBehaviour == InventoryIgnoringPolicy})
		}
		o.Lines = append(o.Lines, li)
	}
	if len(takes) > 0 {
		if err := inventory.TakeIn(tx, takes, actorOr(n.Actor, "order")); err != nil {
			return Order{}, soldOutError(err, n.Lines)
		}
	}
	if o.Number, err = nextOrderNumber(tx); err != nil {
		return Order{}, err
	}
	o.Name = fmt.Sprintf("#%d", o.Number)
	if err := insertOrder(tx, &o); err != nil {
		return Order{}, err
	}
	topics := []string{TopicCreate}
	if o.FinancialStatus == FinancialPaid {
		topics = append(topics, TopicPaid)
	}
	msg := fmt.Sprintf("Order %s was placed", o.Name)
	if n.SourceName != "" {
		msg += " from " + n.SourceName
	}
	if err := recordChange(tx, o.ID, "placed", msg, n.Actor, now, topics...); err != nil {
		return Order{}, err
	}
	return OrderIn(tx, o.ID)
}

// soldOutError turns TakeIn's shortage into a Conflict a shopper or partner
// can act on, naming each short line; the *inventory.SoldOutError stays in
// the chain.
func soldOutError(err error, lines []NewLine) error {
	var so *inventory.SoldOutError
	if !errors.As(err, &so) {
		return err
	}
	var parts []string
	for _, s := range so.Short {
		name := fmt.Sprintf("variant %d", s.ItemID)
		for _, l := range lines {
			if l.VariantID != nil && *l.VariantID == s.ItemID {
				name = l.Title
				if l.VariantTitle != "" && l.VariantTitle != "Default Title" {
					name += " - " + l.VariantTitle
				}
				break
			}
		}
		if s.Available <= 0 {
			parts = append(parts, fmt.Sprintf("%s is sold out", name))
		} else {
			parts = append(parts, fmt.Sprintf("%s has only %d left", name, s.Available))
		}
	}
	return &errs.Error{Kind: errs.Conflict, Message: "Not enough stock: " + strings.Join(parts, "; "),
		Fields: map[string][]string{"line_items": {strings.Join(parts, "; ")}}, Err: err}
}

func actorOr(actor, fallback string) string {
	if actor == "" {
		return fallback
	}
	return actor
}
