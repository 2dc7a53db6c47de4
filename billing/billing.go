// Package billing takes payments for the stores' orders: a small provider
// interface with two providers, manual (bank transfer, cash on delivery: the
// merchant marks the order paid) and Stripe (a PaymentIntent on the store's
// Stripe Connect account, confirmed with the Payment Element in the shopper's
// browser, so card data never reaches us), and the Stripe webhook endpoint
// that moves the orders' financial status.
//
// Every Stripe call that makes something carries an idempotency key derived
// from our own ids, so a retry — in this process or after a restart — reuses
// what the first attempt made instead of charging or refunding twice.
package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/client"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// Config is the payment set-up of the fleet. Without SecretKey the Stripe
// provider is not offered, and stores take manual payments only.
type Config struct {
	SecretKey      string // Stripe secret key of the platform account (sk_…)
	PublishableKey string // handed to the shopper's browser for the Payment Element (pk_…)
	WebhookSecret  string // signing secret of the /webhooks/stripe endpoint (whsec_…)
	APIURL         string // Stripe's API base URL; empty means Stripe itself, stripe-mock's URL in tests
	// FeeBasisPoints is the platform's application fee on each card payment,
	// in hundredths of a percent (250 = 2.5 %); 0 takes no fee.
	FeeBasisPoints int64
}

// Validate checks the configuration at start, so that a typo fails the
// process instead of the first shopper's payment.
//
// Errors: Invalid.
func (c Config) Validate() error {
	f := errs.Fields{}
	if c.FeeBasisPoints < 0 || c.FeeBasisPoints > 10_000 {
		f.Add("fee_basis_points", "must be from 0 to 10000 (hundredths of a percent)")
	}
	if c.APIURL != "" {
		if u, err := url.Parse(c.APIURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			f.Add("api_url", "must be an http or https URL")
		}
	}
	if c.SecretKey != "" && c.PublishableKey == "" {
		f.Add("publishable_key", "is needed with a secret key: the browser confirms payments with it")
	}
	if c.SecretKey != "" && c.WebhookSecret == "" {
		f.Add("webhook_secret", "is needed with a secret key: without it no payment would ever be marked paid")
	}
	return f.Err()
}

// Providers, as Method.Provider and Started.Provider name them; each is also
// the gateway of the order transactions it records.
const (
	ProviderManual = "manual"
	ProviderStripe = "stripe"
)

// MethodStripe is the code of the card method (Stripe's Payment Element).
const MethodStripe = "stripe"

// Method is a way to pay the checkout offers.
type Method struct {
	Code         string // "manual:bank_transfer", "manual:cash_on_delivery", "stripe"
	Name         string // what the shopper sees
	Instructions string // shown after placing the order (manual methods)
	Provider     string // ProviderManual or ProviderStripe
}

// Payment is an order to pay for.
type Payment struct {
	Method    string // a Method's Code
	OrderID   int64
	OrderName string // "#1001"
	// Key is a stable idempotency base from our own ids (the checkout token,
	// say): with Attempt it makes the Stripe idempotency key, so the same
	// attempt always gets the same PaymentIntent, even after a restart.
	Key      string
	Attempt  int
	Amount   money.Amount
	Currency money.Currency
	Email    string // the shopper's; not sent to Stripe (order emails are ours)
}

// Started is what the shopper's browser needs next: instructions for a manual
// method, or what Stripe's Payment Element needs to confirm the intent.
type Started struct {
	Provider       string
	Instructions   string
	ClientSecret   string // the PaymentIntent's client secret; for the browser only, never stored
	PublishableKey string
	StripeAccount  string // the connected account the intent lives on (Stripe.js stripeAccount option)
}

// Errors callers test for.
var (
	// ErrUnknownMethod is a method the store does not offer (or has turned off).
	ErrUnknownMethod = &errs.Error{Kind: errs.Invalid, Message: "this payment method is not available",
		Fields: map[string][]string{"payment_method": {"is not available in this store"}}}
	// ErrStripeOff is for card work in a store (or fleet) that cannot take cards.
	ErrStripeOff = errs.E(errs.Invalid, "card payments are not available in this store")
)

// provider is what a payment provider does for an order. Manual and Stripe
// are the two; the checkout does not know which it talks to.
type provider interface {
	// start begins paying p with method m of store t.
	start(ctx context.Context, t *tenant.Tenant, m Method, p Payment) (Started, error)
	// refund gives back the money of pending refund transaction r, whose
	// parent payment is parent, and returns the provider's reference of it,
	// or "" when there is nothing for the provider to carry out. A refusal
	// that a retry cannot change is a *refusal.
	refund(ctx context.Context, t *tenant.Tenant, r, parent orders.Transaction) (string, error)
}

// refusal is a refund the provider refused for good (already refunded, say):
// it is recorded as failed, and retrying would not help.
type refusal struct {
	code, message string
}

func (r *refusal) Error() string { return "refund refused: " + r.code + ": " + r.message }

// Service takes payments for every store.
type Service struct {
	db     *tenant.DB
	cfg    Config
	log    *slog.Logger
	stripe *client.API // nil without a secret key
	manual manualProvider
	now    func() time.Time
}

// NewService returns the payment service; cfg without a SecretKey offers
// manual payments only.
func NewService(db *tenant.DB, cfg Config, log *slog.Logger) *Service {
	s := &Service{db: db, cfg: cfg, log: log, now: time.Now}
	if cfg.SecretKey != "" {
		s.stripe = newStripeClient(cfg)
	}
	return s
}

// provider returns the provider of a gateway, nil when there is none.
func (s *Service) provider(gateway string) provider {
	switch gateway {
	case ProviderManual:
		return s.manual
	case ProviderStripe:
		if s.stripe != nil {
			return stripeProvider{s}
		}
	}
	return nil
}

// Methods are store t's ways to pay: Stripe (cards) when the fleet has Stripe
// keys and the store's connected account can take charges, then its enabled
// manual methods.
func (s *Service) Methods(ctx context.Context, t *tenant.Tenant) ([]Method, error) {
	var out []Method
	ok, _, err := s.cardsOn(ctx, t)
	if err != nil {
		return nil, err
	}
	if ok {
		out = append(out, stripeMethod)
	}
	err = s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		ms, err := findMethods(tx)
		out = append(out, ms...)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

var stripeMethod = Method{Code: MethodStripe, Name: "Card", Provider: ProviderStripe}

// cardsOn reports whether store t can take cards now, and its account.
func (s *Service) cardsOn(ctx context.Context, t *tenant.Tenant) (bool, tenant.PaymentAccount, error) {
	if s.stripe == nil {
		return false, tenant.PaymentAccount{}, nil
	}
	a, err := s.db.StripeAccount(ctx, t.ID)
	if errors.Is(err, tenant.ErrPaymentAccountNotFound) {
		return false, tenant.PaymentAccount{}, nil
	}
	if err != nil {
		return false, tenant.PaymentAccount{}, err
	}
	return a.ChargesEnabled, a, nil
}

// method returns store t's method code if it is offered now.
//
// Errors: Invalid (ErrUnknownMethod).
func (s *Service) method(ctx context.Context, t *tenant.Tenant, code string) (Method, error) {
	if code == MethodStripe {
		ok, _, err := s.cardsOn(ctx, t)
		if err != nil {
			return Method{}, err
		}
		if !ok {
			return Method{}, ErrUnknownMethod
		}
		return stripeMethod, nil
	}
	if !strings.HasPrefix(code, ProviderManual+":") {
		return Method{}, ErrUnknownMethod
	}
	var m Method
	var found bool
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		m, found, err = findMethod(tx, code)
		return err
	})
	if err != nil {
		return Method{}, err
	}
	if !found {
		return Method{}, ErrUnknownMethod
	}
	return m, nil
}

// Start begins paying for order p.OrderID of store t.
//
// A manual method returns its instructions: the order stays pending until the
// merchant marks it paid. Stripe makes a PaymentIntent on the store's
// connected account (a direct charge, with the platform's application fee)
// and records a pending sale transaction with the intent's id; the same
// p.Key and p.Attempt always give the same intent, and an order with an
// intent recorded for the amount gets that one back.
//
// Errors: Invalid (an unknown or disabled method, a bad amount or key),
// Unavailable (Stripe cannot be reached; retry), Internal (Stripe refused).
func (s *Service) Start(ctx context.Context, t *tenant.Tenant, p Payment) (Started, error) {
	m, err := s.method(ctx, t, p.Method)
	if err != nil {
		return Started{}, err
	}
	pr := s.provider(m.Provider)
	if pr == nil {
		return Started{}, ErrUnknownMethod
	}
	return pr.start(ctx, t, m, p)
}

// Refund carries out pending refund transaction transactionID of order
// orderID: against Stripe for gateway "stripe" (idempotency key from the store
// and transaction ids), recording the success with Stripe's refund id as the
// reference; a manual refund is money the merchant gave back by hand, and is
// recorded as done. A refusal Stripe will not change its mind about (the
// charge is already refunded, say) is recorded as a failed refund and is not
// an error. Safe to run twice: a refund already carried out is not repeated.
// The worker calls it for "refunds/create" events.
//
// Errors: NotFound (no such order or transaction), Invalid (not a refund,
// no parent payment, a gateway without a provider), Unavailable (Stripe
// cannot be reached; retry).
func (s *Service) Refund(ctx context.Context, t *tenant.Tenant, orderID, transactionID int64) error {
	var r, parent orders.Transaction
	var done bool
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if r, err = orders.TransactionIn(tx, orderID, transactionID); err != nil {
			return err
		}
		if _, done, err = findRefund(tx, transactionID); err != nil || done {
			return err
		}
		if r.ParentID != nil {
			parent, err = orders.TransactionIn(tx, orderID, *r.ParentID)
			return err
		}
		// No parent named: the payment the refund gives back is the order's
		// successful sale (or capture) of the same gateway.
		ts, err := orders.TransactionsIn(tx, orderID)
		for _, c := range ts {
			if c.Gateway == r.Gateway && c.Status == orders.StatusSuccess && (c.Kind == orders.KindSale || c.Kind == orders.KindCapture) {
				parent = c
			}
		}
		return err
	})
	if err != nil {
		return err
	}
	if r.Kind != orders.KindRefund {
		return errs.E(errs.Invalid, "transaction %d is a %s, not a refund", transactionID, r.Kind)
	}
	if done || r.Status != orders.StatusPending {
		return nil // carried out already, or nothing left to carry out
	}
	pr := s.provider(r.Gateway)
	if pr == nil {
		return errs.E(errs.Invalid, "no payment provider for gateway %q", r.Gateway)
	}
	ref, err := pr.refund(ctx, t, r, parent)
	status, message, code := orders.StatusSuccess, "", ""
	if rf, ok := errors.AsType[*refusal](err); ok {
		status, message, code = orders.StatusFailure, rf.message, rf.code
		s.log.WarnContext(ctx, "refund refused", "store", t.ID, "order", orderID, "transaction", transactionID, "code", rf.code)
	} else if err != nil {
		return err
	} else if ref == "" {
		return nil // nothing for the provider to carry out
	}
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		fresh, err := insertRefund(tx, transactionID, ref, status)
		if err != nil || !fresh {
			return err // another run recorded it first
		}
		_, _, err = orders.RecordTransactionIn(tx, orders.NewTransaction{
			OrderID: orderID, Kind: orders.KindRefund, Status: status, Amount: r.Amount, Gateway: r.Gateway,
			Reference: ref, ParentID: r.ParentID, RefundID: r.RefundID, Message: message, ErrorCode: code,
			ProcessedAt: s.now().UTC(), Actor: r.Gateway,
		})
		if err != nil {
			return fmt.Errorf("record refund of transaction %d: %w", transactionID, err)
		}
		return nil
	})
}

// manualProvider is bank transfer and cash on delivery: nothing leaves the
// process; the merchant sees the money arrive and marks the order paid.
type manualProvider struct{}

func (manualProvider) start(_ context.Context, _ *tenant.Tenant, m Method, _ Payment) (Started, error) {
	return Started{Provider: ProviderManual, Instructions: m.Instructions}, nil
}

// refund has nothing to carry out: the merchant gives the money back by hand,
// and the orders module records that refund itself.
func (manualProvider) refund(context.Context, *tenant.Tenant, orders.Transaction, orders.Transaction) (string, error) {
	return "", nil
}

// TopicRefundCreate is the outbox topic whose events RefundCreated carries
// out: the orders module emits it with Shopify's refund JSON, and a Stripe
// refund in it is pending until billing has asked Stripe.
const TopicRefundCreate = orders.TopicRefundCreate

// refundEvent is the part of a "refunds/create" payload RefundCreated reads.
type refundEvent struct {
	OrderID      int64 `json:"order_id"`
	Transactions []struct {
		ID      int64  `json:"id"`
		Kind    string `json:"kind"`
		Status  string `json:"status"`
		Gateway string `json:"gateway"`
	} `json:"transactions"`
}

// RefundCreated carries out the pending Stripe refunds of a "refunds/create"
// event of store t (payload as the orders module emits it), with Refund for
// each, so the worker's handler is one call. Safe to run twice.
//
// Errors: Malformed (a payload that is not a refund), and Refund's.
func (s *Service) RefundCreated(ctx context.Context, t *tenant.Tenant, payload []byte) error {
	var ev refundEvent
	if err := json.Unmarshal(payload, &ev); err != nil || ev.OrderID <= 0 {
		return errs.Wrap(errs.Malformed, err, "not a refunds/create payload")
	}
	for _, tr := range ev.Transactions {
		if tr.Kind != orders.KindRefund || tr.Status != orders.StatusPending || tr.Gateway != ProviderStripe {
			continue
		}
		if err := s.Refund(ctx, t, ev.OrderID, tr.ID); err != nil {
			return fmt.Errorf("refund transaction %d of order %d: %w", tr.ID, ev.OrderID, err)
		}
	}
	return nil
}
