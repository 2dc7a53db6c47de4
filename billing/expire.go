package billing

import (
	"context"
	"errors"

	"github.com/stripe/stripe-go/v76"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// ExpireUnpaid gives up on a card order of store t that is still unpaid
// when its time to pay has passed, so that its stock is not held for ever
// by a shopper who left: its PaymentIntent is cancelled at Stripe (so it
// can no longer be paid), a void is recorded, and the order is cancelled
// with its stock put back. An order paid, being paid (Stripe is
// processing or holding the payment), already cancelled, or not a card
// order is left alone. Safe to run twice.
//
// Errors: Unavailable (Stripe cannot be reached; retry), Internal.
func (s *Service) ExpireUnpaid(ctx context.Context, t *tenant.Tenant, orderID int64) error {
	var o orders.Order
	var intent string
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if o, err = orders.OrderIn(tx, orderID); err != nil {
			return err
		}
		txs, err := orders.TransactionsIn(tx, orderID)
		for _, x := range txs {
			if x.Gateway == ProviderStripe && x.Kind == orders.KindSale && x.Status == orders.StatusPending {
				intent = x.Reference
			}
		}
		return err
	})
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if o.Gateway != ProviderStripe || o.FinancialStatus != orders.FinancialPending || o.CancelledAt != nil {
		return nil
	}
	if intent != "" {
		if s.stripe == nil {
			return errs.E(errs.Unavailable, "card payments are not set up, so the order's payment cannot be cancelled")
		}
		acct, err := s.db.StripeAccount(ctx, t.ID)
		if err != nil {
			return err
		}
		get := &stripe.PaymentIntentParams{}
		get.Context = ctx
		get.SetStripeAccount(acct.StripeAccount)
		pi, err := s.stripe.PaymentIntents.Get(intent, get)
		if err != nil {
			return stripeError("read payment intent", err)
		}
		switch pi.Status {
		case stripe.PaymentIntentStatusSucceeded, stripe.PaymentIntentStatusProcessing, stripe.PaymentIntentStatusRequiresCapture:
			return nil // paid or being paid: the webhook moves the order
		case stripe.PaymentIntentStatusCanceled:
		default:
			cancel := &stripe.PaymentIntentCancelParams{CancellationReason: stripe.String("abandoned")}
			cancel.Context = ctx
			cancel.SetStripeAccount(acct.StripeAccount)
			cancel.SetIdempotencyKey(idempotencyKey("pi-cancel", t.ID, intent))
			if _, err := s.stripe.PaymentIntents.Cancel(intent, cancel); err != nil {
				return stripeError("cancel payment intent", err)
			}
		}
		err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
			_, _, err := orders.RecordTransactionIn(tx, orders.NewTransaction{OrderID: orderID, Kind: orders.KindVoid,
				Status: orders.StatusSuccess, Amount: o.TotalPrice, Gateway: ProviderStripe, Reference: intent,
				Message: "not paid in time", ProcessedAt: s.now().UTC(), Actor: ProviderStripe})
			return err
		})
		if err != nil {
			return err
		}
	}
	_, err = orders.NewService(s.db).CancelOrder(ctx, t, orderID, orders.CancelRequest{Reason: "declined", Restock: true, Actor: ProviderStripe})
	var already *errs.Error
	if errors.As(err, &already) && already.Kind == errs.Invalid {
		return nil // cancelled meanwhile (by the merchant, or a first run)
	}
	return err
}
