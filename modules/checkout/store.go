package checkout

import (
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/modules/storefront"
)

type checkoutRow struct {
	Token            string     `gorm:"column:token"`
	CartToken        string     `gorm:"column:cart_token"`
	Email            string     `gorm:"column:email"`
	CustomerID       *int64     `gorm:"column:customer_id"`
	ShippingAddress  *string    `gorm:"column:shipping_address"`
	ShippingRate     string     `gorm:"column:shipping_rate"`
	DiscountCode     string     `gorm:"column:discount_code"`
	Lines            string     `gorm:"column:lines"`
	AcceptsMarketing bool       `gorm:"column:accepts_marketing"`
	OrderID          *int64     `gorm:"column:order_id"`
	CompletedAt      *time.Time `gorm:"column:completed_at"`
	CreatedAt        time.Time  `gorm:"column:created_at"`
	UpdatedAt        time.Time  `gorm:"column:updated_at"`
}

const checkoutColumns = `token, cart_token, email, customer_id, shipping_address::text AS shipping_address, shipping_rate,
	discount_code, lines::text AS lines, accepts_marketing, order_id, completed_at, created_at, updated_at`

func (r checkoutRow) toCheckout() (*Checkout, error) {
	co := &Checkout{Token: r.Token, CartToken: r.CartToken, Email: r.Email, CustomerID: r.CustomerID,
		ShippingRate: r.ShippingRate, DiscountCode: r.DiscountCode, AcceptsMarketing: r.AcceptsMarketing,
		OrderID: r.OrderID, CompletedAt: r.CompletedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
	if err := json.Unmarshal([]byte(r.Lines), &co.Lines); err != nil {
		return nil, fmt.Errorf("read checkout lines: %w", err)
	}
	if r.ShippingAddress != nil {
		co.ShippingAddress = &shipping.Address{}
		if err := json.Unmarshal([]byte(*r.ShippingAddress), co.ShippingAddress); err != nil {
			return nil, fmt.Errorf("read checkout address: %w", err)
		}
	}
	return co, nil
}

// lockCheckout reads checkout token and locks it until the transaction
// ends, so that changes and completion run one at a time.
func lockCheckout(tx *gorm.DB, token string) (*Checkout, error) {
	var rows []checkoutRow
	if err := tx.Raw(`SELECT `+checkoutColumns+` FROM checkouts WHERE token = ? FOR UPDATE`, token).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("lock checkout: %w", err)
	}
	if len(rows) == 0 {
		return nil, ErrCheckoutNotFound
	}
	return rows[0].toCheckout()
}

// findOpenCheckout returns the open checkout of cart, locked; nil when
// there is none.
func findOpenCheckout(tx *gorm.DB, cart string) (*Checkout, error) {
	var rows []checkoutRow
	err := tx.Raw(`SELECT `+checkoutColumns+` FROM checkouts WHERE cart_token = ? AND order_id IS NULL FOR UPDATE`, cart).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find checkout: %w", err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return rows[0].toCheckout()
}

// saveCheckout writes co, new or changed. Two first visits of one cart at
// once meet at the open-cart index: the second waits and then updates the
// first's row instead of failing.
func saveCheckout(tx *gorm.DB, co *Checkout) error {
	lines, err := json.Marshal(co.Lines)
	if err != nil {
		return fmt.Errorf("write checkout lines: %w", err)
	}
	var addr *string
	if co.ShippingAddress != nil {
		b, err := json.Marshal(co.ShippingAddress)
		if err != nil {
			return fmt.Errorf("write checkout address: %w", err)
		}
		s := string(b)
		addr = &s
	}
	var tokens []string
	err = tx.Raw(`INSERT INTO checkouts (token, cart_token, email, customer_id, shipping_address, shipping_rate, discount_code,
			lines, accepts_marketing, order_id, completed_at, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?::jsonb, ?, ?, ?::jsonb, ?, ?, ?, ?, ?)
		ON CONFLICT (token) DO UPDATE SET email = excluded.email, customer_id = excluded.customer_id,
			shipping_address = excluded.shipping_address, shipping_rate = excluded.shipping_rate,
			discount_code = excluded.discount_code, lines = excluded.lines, accepts_marketing = excluded.accepts_marketing,
			order_id = excluded.order_id, completed_at = excluded.completed_at, updated_at = excluded.updated_at
		RETURNING token`,
		co.Token, co.CartToken, co.Email, co.CustomerID, addr, co.ShippingRate, co.DiscountCode, string(lines),
		co.AcceptsMarketing, co.OrderID, co.CompletedAt, co.CreatedAt, co.UpdatedAt).Scan(&tokens).Error
	if err != nil {
		return fmt.Errorf("save checkout: %w", err)
	}
	return nil
}

// titledLines gives cart lines the titles shoppers know them by, from the
// shelf (the cart holds only what is on it).
func titledLines(tx *gorm.DB, cl []storefront.CartLine) ([]Line, error) {
	ids := make([]int64, len(cl))
	for i, l := range cl {
		ids[i] = l.VariantID
	}
	shelf, err := catalog.ShelfVariantsIn(tx, ids)
	if err != nil {
		return nil, err
	}
	lines := make([]Line, 0, len(cl))
	for _, l := range cl {
		p, ok := shelf[l.VariantID]
		if !ok {
			continue
		}
		title := p.Title
		for _, v := range p.Variants {
			if v.ID == l.VariantID {
				title = lineTitle(p, v)
			}
		}
		lines = append(lines, Line{VariantID: l.VariantID, Quantity: l.Quantity, Price: l.Price, Title: title})
	}
	return lines, nil
}

func lineTitle(p catalog.Product, v catalog.Variant) string {
	if t := v.Title(); t != "" && t != "Default Title" {
		return p.Title + " - " + t
	}
	return p.Title
}

func currencyIn(tx *gorm.DB) (money.Currency, error) { return shop.CurrencyIn(tx) }

// customerEmailIn is a logged-in customer's email, to fill in for them.
func customerEmailIn(tx *gorm.DB, id int64) (string, error) {
	c, err := customers.CustomerIn(tx, id)
	if err != nil {
		return "", err
	}
	return c.Email, nil
}
