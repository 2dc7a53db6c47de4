package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/modules/fulfillment"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// TypeFulfillment asks a paid order's store's default fulfillment service
// to ship it (fulfillment.RequestFulfillment).
const TypeFulfillment = "fulfillment:request"

// fulfillmentRetries is how often a refused request is tried again, with
// asynq's growing delays (from about 15 seconds to about 14 hours): about two
// days in all, before the merchant is told to fulfil the order by hand.
const fulfillmentRetries = 16

// fulfillmentPayload names the paid order to request fulfillment of.
type fulfillmentPayload struct {
	Store   tenant.ID `json:"store"`
	OrderID int64     `json:"order_id"`
}

// enqueueFulfillment queues, for an orders/paid event, the request to the
// store's fulfillment service, under an id of the event's. Whether the store
// has one is the task's question: the store may choose one until it runs.
func (f *Fleet) enqueueFulfillment(ctx context.Context, ev tenant.Event) error {
	if ev.Topic != orders.TopicPaid {
		return nil
	}
	var o struct {
		ID int64 `json:"id"`
	}
	if err := json.Unmarshal(ev.Payload, &o); err != nil || o.ID == 0 {
		// Not an order: nothing to fulfil, and no reason to hold up the
		// event's other work.
		f.log.WarnContext(ctx, "orders/paid without an order id", "event", ev.ID, "err", err)
		return nil
	}
	b, _ := json.Marshal(fulfillmentPayload{Store: ev.Store, OrderID: o.ID})
	_, err := f.client.EnqueueContext(ctx, asynq.NewTask(TypeFulfillment, b),
		asynq.TaskID("fulfillment:"+ev.ID.String()), asynq.Queue("default"),
		asynq.MaxRetry(fulfillmentRetries), asynq.Timeout(time.Minute), asynq.Retention(72*time.Hour))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// handleFulfillment sends the request; a refusal is retried with backoff,
// and after the last retry the request is given up and the merchant told
// on the order's timeline.
func (f *Fleet) handleFulfillment(ctx context.Context, t *asynq.Task) error {
	var p fulfillmentPayload
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
	// Its own client: a fulfillment service gets twice a webhook's time.
	client := safehttp.NewClient(safehttp.Options{AllowPrivate: f.cfg.AllowPrivate, Timeout: fulfillment.RequestTimeout})
	defer client.CloseIdleConnections()
	svc := fulfillment.NewService(f.db)
	err = svc.RequestFulfillment(ctx, st, p.OrderID, st.Slug+"."+f.cfg.URLs.Domain, client)
	if errors.Is(err, fulfillment.ErrRetry) {
		retried, _ := asynq.GetRetryCount(ctx)
		most, _ := asynq.GetMaxRetry(ctx)
		if retried >= most {
			return svc.GiveUp(ctx, st, p.OrderID, strings.TrimPrefix(err.Error(), fulfillment.ErrRetry.Error()+": "))
		}
	}
	return err
}
