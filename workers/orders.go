package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// Task types of payments.
const (
	// TypeRefund carries out the payment side of a refund (billing's
	// RefundCreated: a Stripe refund for each pending card refund).
	TypeRefund = "payment:refund"
	// TypeExpire gives up on a card order not paid in time (billing's
	// ExpireUnpaid), so that its stock goes back on sale.
	TypeExpire = "payment:expire"
)

// expirePayload names the card order to look at when its time is up.
type expirePayload struct {
	Store   tenant.ID `json:"store"`
	OrderID int64     `json:"order_id"`
}

// enqueueExpiry queues, for a card order placed unpaid, a look at it once
// CardPaymentWindow has passed, under an id of the event's.
func (f *Fleet) enqueueExpiry(ctx context.Context, ev tenant.Event) error {
	if ev.Topic != orders.TopicCreate || f.cfg.Billing == nil {
		return nil
	}
	var o struct {
		ID              int64  `json:"id"`
		Gateway         string `json:"gateway"`
		FinancialStatus string `json:"financial_status"`
	}
	if err := json.Unmarshal(ev.Payload, &o); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	if o.Gateway != "stripe" || o.FinancialStatus != orders.FinancialPending {
		return nil
	}
	b, _ := json.Marshal(expirePayload{Store: ev.Store, OrderID: o.ID})
	_, err := f.client.EnqueueContext(ctx, asynq.NewTask(TypeExpire, b),
		asynq.TaskID("expire:"+ev.ID.String()), asynq.Queue("default"), asynq.ProcessIn(f.cfg.CardPaymentWindow),
		asynq.MaxRetry(25), asynq.Timeout(time.Minute), asynq.Retention(72*time.Hour))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// handleExpire runs billing's ExpireUnpaid for the order.
func (f *Fleet) handleExpire(ctx context.Context, t *asynq.Task) error {
	var p expirePayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	st, err := f.db.Tenant(ctx, p.Store)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.cfg.Billing.ExpireUnpaid(ctx, st, p.OrderID)
}

// enqueuePayments queues the payment work an event asks for: a refund to
// carry out, an unpaid card order to give up on later.
func (f *Fleet) enqueuePayments(ctx context.Context, ev tenant.Event) error {
	if err := f.enqueueExpiry(ctx, ev); err != nil {
		return err
	}
	return f.enqueueRefund(ctx, ev)
}

// enqueueRefund queues the payment side of a refund event under an id of
// the event's, on the critical queue: money owed to a shopper.
func (f *Fleet) enqueueRefund(ctx context.Context, ev tenant.Event) error {
	if ev.Topic != orders.TopicRefundCreate || f.cfg.Billing == nil {
		return nil
	}
	b, _ := json.Marshal(eventPayload{Event: ev})
	_, err := f.client.EnqueueContext(ctx, asynq.NewTask(TypeRefund, b),
		asynq.TaskID("refund:"+ev.ID.String()), asynq.Queue("critical"),
		asynq.MaxRetry(25), asynq.Timeout(time.Minute), asynq.Retention(72*time.Hour))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// handleRefund runs billing's refund for the event. Stripe calls carry
// idempotency keys of our refund's ids, so a retry refunds once.
func (f *Fleet) handleRefund(ctx context.Context, t *asynq.Task) error {
	var p eventPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	st, err := f.db.Tenant(ctx, p.Event.Store)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return f.cfg.Billing.RefundCreated(ctx, st, p.Event.Payload)
}
