package billing

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// maxWebhookBody bounds an event's body; Stripe's are a few kilobytes.
const maxWebhookBody = 1 << 20

// Webhook is the /webhooks/stripe endpoint (on the app host). It verifies
// each event's signature (and that its API version is the one stripe-go v76
// reads: the endpoint must be created with api_version 2023-10-16), finds the
// store by the event's connected account, and in one store transaction notes
// the event id (an event seen before changes nothing) and records the order
// transaction the event reports. Order transactions are recorded once per
// provider reference and the financial status is derived from all of them,
// so events arriving out of order end in the right status.
//
// It answers 200 to what it handled or will never handle (an unknown account
// or order, another store's payment), 400 to a bad signature, 413 to a body
// over 1 MiB, and 500 to our own failures, which Stripe retries.
func (s *Service) Webhook() http.Handler {
	return http.HandlerFunc(s.serveWebhook)
}

func (s *Service) serveWebhook(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	if s.cfg.WebhookSecret == "" {
		http.Error(w, "stripe is not configured", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxWebhookBody))
	if err != nil {
		if _, ok := errors.AsType[*http.MaxBytesError](err); ok {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	ev, err := webhook.ConstructEvent(body, r.Header.Get("Stripe-Signature"), s.cfg.WebhookSecret)
	if err != nil {
		switch {
		case errors.Is(err, webhook.ErrTooOld):
			http.Error(w, "signature too old", http.StatusBadRequest)
		case errors.Is(err, webhook.ErrNotSigned), errors.Is(err, webhook.ErrInvalidHeader), errors.Is(err, webhook.ErrNoValidSignature):
			http.Error(w, "bad signature", http.StatusBadRequest)
		default:
			// Signed by Stripe, but unreadable or of another API version: the
			// endpoint is set up wrong, which an operator must see.
			s.log.ErrorContext(ctx, "stripe webhook refused", "event", ev.ID, "api_version", ev.APIVersion, "want_api_version", stripe.APIVersion, "err", err)
			http.Error(w, "unreadable event (the endpoint's API version must be "+stripe.APIVersion+")", http.StatusBadRequest)
		}
		return
	}
	if err := s.handleEvent(ctx, ev); err != nil {
		s.log.ErrorContext(ctx, "stripe webhook", "event", ev.ID, "type", ev.Type, "account", ev.Account, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "ok\n")
}

// handleEvent carries out one verified event; nil means Stripe may stop
// sending it.
func (s *Service) handleEvent(ctx context.Context, ev stripe.Event) error {
	log := s.log.With("event", ev.ID, "type", ev.Type, "account", ev.Account)
	switch ev.Type {
	case "payment_intent.amount_capturable_updated", "payment_intent.succeeded", "payment_intent.payment_failed",
		"payment_intent.canceled", "charge.refunded", "account.updated":
	default:
		log.InfoContext(ctx, "stripe event ignored: not a type we handle")
		return nil
	}
	if ev.Account == "" || ev.Data == nil {
		log.InfoContext(ctx, "stripe event ignored: not of a connected account")
		return nil
	}
	id, err := s.db.StoreOfStripeAccount(ctx, ev.Account)
	if errors.Is(err, tenant.ErrPaymentAccountNotFound) {
		log.WarnContext(ctx, "stripe event ignored: no store has this account")
		return nil
	}
	if err != nil {
		return err
	}
	log = log.With("store", id)
	if ev.Type == "account.updated" {
		return s.accountUpdated(ctx, id, ev)
	}
	t, err := s.db.Tenant(ctx, id)
	if errors.Is(err, tenant.ErrTenantNotFound) {
		log.WarnContext(ctx, "stripe event ignored: the store is gone")
		return nil
	}
	if err != nil {
		return err
	}
	if ev.Type == "charge.refunded" {
		return s.chargeRefunded(ctx, log, t, ev)
	}
	return s.paymentIntentEvent(ctx, log, t, ev)
}

// accountUpdated keeps what Stripe says of a connected account: whether
// the store can take cards yet.
func (s *Service) accountUpdated(ctx context.Context, id tenant.ID, ev stripe.Event) error {
	var a stripe.Account
	if err := json.Unmarshal(ev.Data.Raw, &a); err != nil {
		return fmt.Errorf("decode account: %w", err)
	}
	if a.ID != ev.Account {
		s.log.WarnContext(ctx, "stripe event ignored: account.updated of another account", "event", ev.ID, "account", ev.Account)
		return nil
	}
	return s.db.SaveStripeAccount(ctx, id, tenant.PaymentAccount{StripeAccount: a.ID, ChargesEnabled: a.ChargesEnabled, DetailsSubmitted: a.DetailsSubmitted})
}

// orderOf returns the order that metadata names, if it names one of store t:
// an event of t's account about another store's payment is not t's to record.
func orderOf(t *tenant.Tenant, md map[string]string) (int64, bool) {
	if md["store_id"] != t.ID.String() {
		return 0, false
	}
	id, err := strconv.ParseInt(md["order_id"], 10, 64)
	return id, err == nil && id > 0
}

func (s *Service) paymentIntentEvent(ctx context.Context, log loggerCtx, t *tenant.Tenant, ev stripe.Event) error {
	var pi stripe.PaymentIntent
	if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
		return fmt.Errorf("decode payment intent: %w", err)
	}
	orderID, ok := orderOf(t, pi.Metadata)
	if !ok || pi.ID == "" {
		log.WarnContext(ctx, "stripe event ignored: the payment is not one of this store's orders", "payment_intent", pi.ID)
		return nil
	}
	nt := orders.NewTransaction{OrderID: orderID, Gateway: ProviderStripe, Reference: pi.ID,
		ProcessedAt: time.Unix(ev.Created, 0).UTC(), Actor: ProviderStripe}
	switch ev.Type {
	case "payment_intent.amount_capturable_updated":
		nt.Kind, nt.Status, nt.Amount = orders.KindAuthorization, orders.StatusSuccess, money.Amount(pi.AmountCapturable)
	case "payment_intent.succeeded":
		nt.Kind, nt.Status, nt.Amount = orders.KindSale, orders.StatusSuccess, money.Amount(pi.AmountReceived)
	case "payment_intent.payment_failed":
		nt.Kind, nt.Status, nt.Amount = orders.KindSale, orders.StatusFailure, money.Amount(pi.Amount)
		if e := pi.LastPaymentError; e != nil {
			nt.Message, nt.ErrorCode = e.Msg, string(e.Code)
			if e.DeclineCode != "" {
				nt.ErrorCode = string(e.DeclineCode)
			}
		}
	case "payment_intent.canceled":
		nt.Kind, nt.Status, nt.Amount = orders.KindVoid, orders.StatusSuccess, money.Amount(pi.Amount)
		nt.Message = string(pi.CancellationReason)
	}
	return s.inEventTx(ctx, log, t, ev, orderID, func(tx *gorm.DB) error {
		_, _, err := orders.RecordTransactionIn(tx, nt)
		return err
	})
}

// chargeRefunded records each of the charge's succeeded refunds, with the
// sale they refund as parent. A refund proves the payment: the sale is
// recorded too (once), so a refund arriving before payment_intent.succeeded
// still ends refunded.
func (s *Service) chargeRefunded(ctx context.Context, log loggerCtx, t *tenant.Tenant, ev stripe.Event) error {
	var ch stripe.Charge
	if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
		return fmt.Errorf("decode charge: %w", err)
	}
	if ch.PaymentIntent == nil || ch.PaymentIntent.ID == "" {
		log.WarnContext(ctx, "stripe event ignored: a charge without a payment intent", "charge", ch.ID)
		return nil
	}
	md := ch.Metadata
	if md["order_id"] == "" && len(ch.PaymentIntent.Metadata) > 0 {
		md = ch.PaymentIntent.Metadata
	}
	if md["order_id"] == "" && s.stripe != nil {
		params := &stripe.PaymentIntentParams{}
		params.Context = ctx
		params.SetStripeAccount(ev.Account)
		pi, err := s.stripe.PaymentIntents.Get(ch.PaymentIntent.ID, params)
		if err != nil {
			return stripeError("get payment intent", err)
		}
		md = pi.Metadata
	}
	orderID, ok := orderOf(t, md)
	if !ok {
		log.WarnContext(ctx, "stripe event ignored: the charge is not for one of this store's orders", "charge", ch.ID)
		return nil
	}
	refunds, err := s.refundsOf(ctx, ev.Account, &ch)
	if err != nil {
		return err
	}
	at := time.Unix(ev.Created, 0).UTC()
	return s.inEventTx(ctx, log, t, ev, orderID, func(tx *gorm.DB) error {
		sale, _, err := orders.RecordTransactionIn(tx, orders.NewTransaction{
			OrderID: orderID, Kind: orders.KindSale, Status: orders.StatusSuccess, Amount: money.Amount(ch.AmountCaptured),
			Gateway: ProviderStripe, Reference: ch.PaymentIntent.ID, ProcessedAt: at, Actor: ProviderStripe,
		})
		if err != nil {
			return err
		}
		for _, re := range refunds {
			if re.Status != stripe.RefundStatusSucceeded {
				continue
			}
			nt := orders.NewTransaction{OrderID: orderID, Kind: orders.KindRefund, Status: orders.StatusSuccess,
				Amount: money.Amount(re.Amount), Gateway: ProviderStripe, Reference: re.ID, ParentID: &sale.ID,
				ProcessedAt: at, Actor: ProviderStripe}
			if id, err := strconv.ParseInt(re.Metadata["refund_id"], 10, 64); err == nil && id > 0 && re.Metadata["store_id"] == t.ID.String() {
				nt.RefundID = &id
			}
			if _, _, err := orders.RecordTransactionIn(tx, nt); err != nil {
				return err
			}
		}
		return nil
	})
}

// refundsOf returns the charge's refunds: those in the event when it holds
// them all, else Stripe's list (since API 2022-11-15 a charge does not
// include its refunds unless asked).
func (s *Service) refundsOf(ctx context.Context, acct string, ch *stripe.Charge) ([]*stripe.Refund, error) {
	if ch.Refunds != nil && !ch.Refunds.HasMore {
		return ch.Refunds.Data, nil
	}
	if s.stripe == nil {
		return nil, errs.E(errs.Internal, "charge %s does not list its refunds, and Stripe is not configured", ch.ID)
	}
	params := &stripe.RefundListParams{Charge: stripe.String(ch.ID)}
	params.Context = ctx
	params.SetStripeAccount(acct)
	var out []*stripe.Refund
	it := s.stripe.Refunds.List(params)
	for it.Next() {
		out = append(out, it.Refund())
	}
	if err := it.Err(); err != nil {
		return nil, stripeError("list refunds", err)
	}
	return out, nil
}

// loggerCtx is the part of *slog.Logger the event handlers use.
type loggerCtx interface {
	WarnContext(ctx context.Context, msg string, args ...any)
}

// inEventTx runs record in one transaction of store t with the event's id
// noted: an event already noted, or about an order the store does not have,
// changes nothing.
func (s *Service) inEventTx(ctx context.Context, log loggerCtx, t *tenant.Tenant, ev stripe.Event, orderID int64, record func(tx *gorm.DB) error) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		fresh, err := insertEvent(tx, ev.ID, string(ev.Type))
		if err != nil || !fresh {
			return err
		}
		if _, err := orders.OrderIn(tx, orderID); errs.Is(err, errs.NotFound) {
			log.WarnContext(ctx, "stripe event ignored: no such order", "order", orderID)
			return nil
		} else if err != nil {
			return err
		}
		return record(tx)
	})
}
