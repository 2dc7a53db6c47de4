package workers

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	htmltemplate "html/template"
	texttemplate "text/template"
	"time"

	"github.com/hibiken/asynq"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shop"
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

// placedOrder is what the order confirmation needs of an orders/create
// event's payload (the order in Shopify's JSON).
type placedOrder struct {
	Name            string `json:"name"`
	Email           string `json:"email"`
	Token           string `json:"token"`
	Currency        string `json:"currency"`
	SourceName      string `json:"source_name"`
	SubtotalPrice   string `json:"subtotal_price"`
	TotalTax        string `json:"total_tax"`
	TotalPrice      string `json:"total_price"`
	FinancialStatus string `json:"financial_status"`
	ShippingAddress *struct {
		FirstName *string `json:"first_name"`
	} `json:"shipping_address"`
	LineItems []struct {
		Name     string `json:"name"`
		Quantity int64  `json:"quantity"`
		Price    string `json:"price"`
	} `json:"line_items"`
}

var (
	confirmationText = texttemplate.Must(texttemplate.New("text").Parse(`Hello{{if .FirstName}} {{.FirstName}}{{end}},

Thank you for your order {{.Order.Name}} at {{.Shop}}. We will let you know when it ships.
{{range .Order.LineItems}}
  {{.Quantity}} × {{.Name}}  {{.Price}}{{end}}

Total: {{.Order.TotalPrice}} {{.Order.Currency}}{{if eq .Order.FinancialStatus "pending"}} (awaiting payment){{end}}

See your order and how to pay: {{.URL}}

{{.Shop}}
`))
	confirmationHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="en"><body style="font:16px/1.5 system-ui,sans-serif;color:#222;max-width:36rem;margin:0 auto;padding:1.5rem">
<h1 style="font-size:1.4rem">{{.Shop}}</h1>
<p>Hello{{if .FirstName}} {{.FirstName}}{{end}},</p>
<p>Thank you for your order <strong>{{.Order.Name}}</strong>. We will let you know when it ships.</p>
<table style="width:100%;border-collapse:collapse">{{range .Order.LineItems}}
<tr><td style="padding:.3rem 0">{{.Quantity}} × {{.Name}}</td><td style="text-align:right">{{.Price}}</td></tr>{{end}}
<tr><td style="padding-top:.6rem;border-top:1px solid #ddd"><strong>Total</strong></td><td style="text-align:right;padding-top:.6rem;border-top:1px solid #ddd"><strong>{{.Order.TotalPrice}} {{.Order.Currency}}</strong></td></tr>
</table>
{{if eq .Order.FinancialStatus "pending"}}<p>Your order is waiting for your payment.</p>{{end}}
<p><a href="{{.URL}}" style="display:inline-block;background:#1f5f8b;color:#fff;padding:.6rem 1rem;border-radius:6px;text-decoration:none">View your order</a></p>
</body></html>`))
)

// renderConfirmation is the order confirmation of an orders/create event:
// for orders shoppers placed on the storefront (partners' orders from other
// channels send their own).
func (f *Fleet) renderConfirmation(p emailPayload, st *tenant.Tenant, sh shop.Shop) (*mail.Message, error) {
	var o placedOrder
	if err := json.Unmarshal(p.Event.Payload, &o); err != nil {
		return nil, err
	}
	if o.SourceName != "web" || o.Email == "" {
		return nil, nil
	}
	first := ""
	if o.ShippingAddress != nil && o.ShippingAddress.FirstName != nil {
		first = *o.ShippingAddress.FirstName
	}
	data := map[string]any{"Shop": sh.Name, "FirstName": first, "Order": o, "URL": f.cfg.URLs.Store(st.Slug) + "/orders/" + o.Token}
	var text, html bytes.Buffer
	if err := confirmationText.Execute(&text, data); err != nil {
		return nil, err
	}
	if err := confirmationHTML.Execute(&html, data); err != nil {
		return nil, err
	}
	msg := &mail.Message{
		From:      mail.Address{Name: sh.Name, Email: f.cfg.MailFrom},
		To:        []mail.Address{{Name: first, Email: o.Email}},
		Subject:   "Order " + o.Name + " confirmed",
		Text:      text.String(),
		HTML:      html.String(),
		MessageID: p.Event.ID.String() + "." + p.Kind + "@storefleet",
	}
	if sh.Email != "" {
		msg.ReplyTo = mail.Address{Name: sh.Name, Email: sh.Email}
	}
	return msg, nil
}
