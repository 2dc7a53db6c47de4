// Package checkout takes a shopper from cart to order: contact email,
// shipping address (checked for its country), shipping method from the
// store's zones, taxes from its rates, a discount code, the order summary,
// payment, and the order status page.
//
// Totals are always computed here, on the server, from current prices; a
// checkout whose prices, stock or total changed since the shopper last saw
// them is not completed but shown again with what changed. Completing is
// idempotent: the checkout row is locked and remembers its order, so a
// double click, a retried request or a second tab places one order.
package checkout

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/discounts"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/tenant"
)

// Errors the service returns.
var (
	// ErrCheckoutNotFound is returned for a token that is no checkout of the store.
	ErrCheckoutNotFound = errs.E(errs.NotFound, "checkout not found")
	// ErrEmptyCart refuses to start a checkout with nothing in the cart.
	ErrEmptyCart = errs.E(errs.Invalid, "Your cart is empty.")
)

// ChangedError says why a checkout was not completed: what changed since
// the shopper last saw it (prices, stock, the total). Complete returns it
// inside a Conflict; the checkout shows the notices and asks again.
type ChangedError struct {
	Notices []string
}

func (e *ChangedError) Error() string { return "checkout changed: " + strings.Join(e.Notices, " ") }

// Shopper tells who a storefront request comes from: their cart token and
// logged-in customer (0 for a guest).
type Shopper func(r *http.Request, t *tenant.Tenant) (cart string, customer int64)

// Service runs checkouts.
type Service struct {
	db      *tenant.DB
	pay     *billing.Service
	shopper Shopper
	log     *slog.Logger
}

// NewService returns the checkout service; shopper reads the storefront's
// cookies.
func NewService(db *tenant.DB, pay *billing.Service, shopper Shopper, log *slog.Logger) *Service {
	return &Service{db: db, pay: pay, shopper: shopper, log: log}
}

// Checkout is a shopper's checkout as far as they have filled it in.
type Checkout struct {
	Token            string
	CartToken        string
	Email            string
	CustomerID       *int64
	ShippingAddress  *shipping.Address
	ShippingRate     string // the chosen rate's code
	DiscountCode     string
	Lines            []Line
	AcceptsMarketing bool
	OrderID          *int64
	CompletedAt      *time.Time
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Line is a variant in a checkout: how many, and the price and title the
// shopper saw.
type Line struct {
	VariantID int64        `json:"variant_id"`
	Quantity  int64        `json:"quantity"`
	Price     money.Amount `json:"price"`
	Title     string       `json:"title"`
}

// Begin starts (or refreshes) the checkout of a cart in store t with the
// cart's current lines and returns its token. A cart has one open
// checkout: a second tab gets the same one.
//
// Errors: Invalid (ErrEmptyCart, with the cart's notices when it emptied
// because things sold out).
func (s *Service) Begin(ctx context.Context, t *tenant.Tenant, cartToken string, customerID int64) (string, error) {
	if cartToken == "" {
		return "", ErrEmptyCart
	}
	var token string
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		cur, err := currencyIn(tx)
		if err != nil {
			return err
		}
		cl, notices, err := storefront.CartLinesIn(tx, cartToken, cur)
		if err != nil {
			return err
		}
		if len(cl) == 0 {
			if len(notices) > 0 {
				return errs.E(errs.Invalid, "%s", strings.Join(notices, " "))
			}
			return ErrEmptyCart
		}
		lines, err := titledLines(tx, cl)
		if err != nil {
			return err
		}
		co, err := findOpenCheckout(tx, cartToken)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		if co == nil {
			co = &Checkout{Token: newToken(), CartToken: cartToken, CreatedAt: now}
		}
		co.Lines, co.UpdatedAt = lines, now
		if customerID != 0 {
			co.CustomerID = &customerID
			if co.Email == "" {
				co.Email, err = customerEmailIn(tx, customerID)
				if err != nil {
					return err
				}
			}
		}
		token = co.Token
		return saveCheckout(tx, co)
	})
	return token, err
}

// Contact is the first step: who to tell and where to ship.
type Contact struct {
	Email            string
	AcceptsMarketing bool
	Address          shipping.Address
}

// SetContact saves the contact email and shipping address of checkout
// token, after checking them.
//
// Errors: NotFound, Invalid (per-field messages), Conflict (the checkout
// was completed).
func (s *Service) SetContact(ctx context.Context, t *tenant.Tenant, token string, in Contact) error {
	f := errs.Fields{}
	email, err := auth.NormalizeEmail(in.Email)
	switch {
	case strings.TrimSpace(in.Email) == "":
		f.Add("email", "Enter an email address.")
	case err != nil:
		f.Add("email", "Enter a valid email address, like name@example.com.")
	}
	addr, af := shipping.CheckAddress(in.Address)
	for k, msgs := range af {
		for _, m := range msgs {
			f.Add(k, "%s", m)
		}
	}
	if len(f) > 0 {
		return &errs.Error{Kind: errs.Invalid, Message: "Check the highlighted fields.", Fields: f}
	}
	return s.change(ctx, t, token, func(tx *gorm.DB, co *Checkout) error {
		co.Email, co.AcceptsMarketing, co.ShippingAddress = email, in.AcceptsMarketing, &addr
		return nil
	})
}

// SetShippingRate chooses the shipping method of checkout token: one of
// the rates its address and cart can use.
//
// Errors: NotFound, Invalid (a rate not on offer), Conflict (completed).
func (s *Service) SetShippingRate(ctx context.Context, t *tenant.Tenant, token, code string) error {
	return s.change(ctx, t, token, func(tx *gorm.DB, co *Checkout) error {
		q, err := quoteIn(tx, co, time.Now())
		if err != nil {
			return err
		}
		for _, r := range q.Rates {
			if r.Code == code {
				co.ShippingRate = code
				return nil
			}
		}
		return errs.E(errs.Invalid, "Choose one of the shipping methods shown.")
	})
}

// SetDiscountCode applies code to checkout token, or removes the code when
// code is empty.
//
// Errors: NotFound, Invalid (the code cannot be used, with the reason for
// the shopper), Conflict (completed).
func (s *Service) SetDiscountCode(ctx context.Context, t *tenant.Tenant, token, code string) error {
	code = strings.TrimSpace(code)
	return s.change(ctx, t, token, func(tx *gorm.DB, co *Checkout) error {
		co.DiscountCode = code
		if code == "" {
			return nil
		}
		q, err := quoteIn(tx, co, time.Now())
		if err != nil {
			return err
		}
		if q.DiscountError != "" {
			return errs.E(errs.Invalid, "%s", q.DiscountError)
		}
		return nil
	})
}

// change runs fn on the open checkout token, locked, and saves it.
func (s *Service) change(ctx context.Context, t *tenant.Tenant, token string, fn func(*gorm.DB, *Checkout) error) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		co, err := lockCheckout(tx, token)
		if err != nil {
			return err
		}
		if co.OrderID != nil {
			return errs.E(errs.Conflict, "This checkout is complete.")
		}
		if err := fn(tx, co); err != nil {
			return err
		}
		co.UpdatedAt = time.Now().UTC()
		return saveCheckout(tx, co)
	})
}

// View returns checkout token with its quote, computed now. Lines whose
// price or stock changed since the shopper last saw them are brought up to
// date first, and the quote's Notices say what changed.
//
// Errors: NotFound.
func (s *Service) View(ctx context.Context, t *tenant.Tenant, token string) (Checkout, Quote, error) {
	var co *Checkout
	var q Quote
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if co, err = lockCheckout(tx, token); err != nil {
			return err
		}
		if q, err = quoteIn(tx, co, time.Now()); err != nil {
			return err
		}
		if co.OrderID != nil || len(q.Problems) == 0 {
			return nil
		}
		co.Lines, co.UpdatedAt = q.current(), time.Now().UTC()
		if err := saveCheckout(tx, co); err != nil {
			return err
		}
		notices := q.Problems
		if q, err = quoteIn(tx, co, time.Now()); err != nil {
			return err
		}
		q.Notices = notices
		return nil
	})
	if err != nil {
		return Checkout{}, Quote{}, err
	}
	return *co, q, nil
}

// Completion is the shopper's last step: how they pay, and the total they
// were shown (the order is placed only for that total).
type Completion struct {
	Method    string
	TotalSeen money.Amount
}

// Complete places the order of checkout token: in one transaction it
// checks that nothing changed since the shopper saw the total, takes the
// stock (inventory.TakeIn through orders.PlaceIn: no oversell), counts the
// discount code's use, empties the cart and marks the checkout completed.
// A checkout already completed returns its order, so completing is
// idempotent.
//
// Errors: NotFound; Invalid (the contact, address, shipping method or
// payment method is missing or not on offer); Conflict (a *ChangedError:
// prices, stock or the total changed; or sold out meanwhile; or the
// discount code's limit was reached).
func (s *Service) Complete(ctx context.Context, t *tenant.Tenant, token string, in Completion) (orders.Order, error) {
	methods, err := s.pay.Methods(ctx, t)
	if err != nil {
		return orders.Order{}, err
	}
	var method *billing.Method
	for i := range methods {
		if methods[i].Code == in.Method {
			method = &methods[i]
		}
	}
	var o orders.Order
	err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		co, err := lockCheckout(tx, token)
		if err != nil {
			return err
		}
		if co.OrderID != nil {
			o, err = orders.OrderIn(tx, *co.OrderID)
			return err
		}
		if method == nil {
			return errs.E(errs.Invalid, "Choose a payment method.")
		}
		now := time.Now()
		q, err := quoteIn(tx, co, now)
		if err != nil {
			return err
		}
		if len(q.Problems) > 0 {
			return changed(q.Problems...)
		}
		if err := q.ready(co); err != nil {
			return err
		}
		if q.Total != in.TotalSeen {
			return changed(fmt.Sprintf("The total is now %s. Please review your order and confirm it again.",
				formatMoney(q.Currency, q.Total)))
		}
		n := q.newOrder(co, *method)
		if o, err = orders.PlaceIn(tx, n); err != nil {
			return soldOutMessage(err, q)
		}
		if q.Discount != nil {
			if err := discounts.RedeemIn(tx, *q.Discount, strings.ToLower(co.Email), o.ID); err != nil {
				return err
			}
		}
		if err := storefront.ClearCartIn(tx, co.CartToken); err != nil {
			return err
		}
		at := now.UTC()
		co.OrderID, co.CompletedAt, co.UpdatedAt = &o.ID, &at, at
		return saveCheckout(tx, co)
	})
	return o, err
}

// Order returns the order with status-page token tok, and its shipments
// (fulfillments, cancelled ones included) for the shopper to follow.
//
// Errors: NotFound.
func (s *Service) Order(ctx context.Context, t *tenant.Tenant, tok string) (orders.Order, []orders.Fulfillment, error) {
	var o orders.Order
	var fs []orders.Fulfillment
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if o, err = orders.OrderByTokenIn(tx, tok); err != nil {
			return err
		}
		fs, err = orders.FulfillmentsIn(tx, o.ID)
		return err
	})
	return o, fs, err
}

func changed(notices ...string) error {
	return &errs.Error{Kind: errs.Conflict, Message: strings.Join(notices, " "), Err: &ChangedError{Notices: notices}}
}

// soldOutMessage turns inventory's sold-out error into words for the
// shopper, naming what sold out.
func soldOutMessage(err error, q Quote) error {
	var so *inventory.SoldOutError
	if !errors.As(err, &so) {
		return err
	}
	var notices []string
	for _, s := range so.Short {
		title := "An item"
		for _, l := range q.Lines {
			if l.VariantID == s.ItemID {
				title = l.Title
			}
		}
		if s.Available <= 0 {
			notices = append(notices, fmt.Sprintf("%s just sold out.", title))
		} else {
			notices = append(notices, fmt.Sprintf("Only %d of %s are left.", s.Available, title))
		}
	}
	return changed(notices...)
}

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func formatMoney(cur money.Currency, a money.Amount) string {
	return cur.Format(a) + " " + cur.Code
}
