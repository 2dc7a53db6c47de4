package storefront

import (
	"net/http"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/tenant"
)

// What the checkout needs of the storefront: who the shopper is and what
// is in their cart. The checkout snapshots the cart when it starts and
// empties it when the order is placed.

// CartLine is one variant in a shopper's cart.
type CartLine struct {
	VariantID int64
	Quantity  int64
	Price     money.Amount // the price the shopper last saw
}

// Shopper returns the cart token and the logged-in customer (0 for a
// guest) of a shopper's request to store t, from their signed cookies.
func (h *Handler) Shopper(r *http.Request, t *tenant.Tenant) (cart string, customer int64) {
	return h.cartFromCookie(r), h.customerFromCookie(r, t)
}

// CartLinesIn returns the lines of cart token in the caller's transaction,
// brought in line with the shelf first (what is gone or sold out leaves the
// cart, quantities come down to the stock, new prices are taken), with a
// notice for the shopper for each change. An unknown cart has no lines.
func CartLinesIn(tx *gorm.DB, token string, cur money.Currency) ([]CartLine, []string, error) {
	c, err := findCart(tx, token)
	if err != nil || c == nil {
		return nil, nil, err
	}
	if err := reconcile(tx, c, cur); err != nil {
		return nil, nil, err
	}
	lines := make([]CartLine, len(c.Lines))
	for i, l := range c.Lines {
		lines[i] = CartLine{VariantID: l.VariantID, Quantity: int64(l.Quantity), Price: money.Amount(l.PriceSeen)}
	}
	return lines, c.Notices, nil
}

// ClearCartIn empties cart token in the caller's transaction: an order was
// placed from it.
func ClearCartIn(tx *gorm.DB, token string) error {
	if token == "" {
		return nil
	}
	return clearCart(tx, token)
}
