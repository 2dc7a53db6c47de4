package workers

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// notifyTopics are the events that email a store's customer, and the
// notification each sends (the store's own template, or the default).
var notifyTopics = map[string]notifications.Kind{
	orders.TopicCreate:            notifications.OrderConfirmation,
	orders.TopicFulfillmentCreate: notifications.ShippingConfirmation,
	orders.TopicRefundCreate:      notifications.RefundNotification,
	orders.TopicCancelled:         notifications.OrderCancelled,
	customers.TopicPasswordReset:  notifications.PasswordReset,
	customers.TopicVerification:   notifications.AccountVerification,
	customers.TopicInvite:         notifications.AccountInvite,
	tenant.TopicStaffInvited:      notifications.StaffInvitation,
}

// cancelRefundNote is the note of the refund a cancellation makes
// (orders.CancelOrder with Refund): the cancellation email tells of it, so
// it sends no refund email of its own.
const cancelRefundNote = "Order cancelled"

// renderNotification makes the customer email of kind p.Kind from the
// store's template; nil when the event needs none: orders partners created
// through the API (they send their own), a fulfillment that does not ask
// to notify, an order without an email, an order deleted since. Failures
// to read the store are returned as they are, to be retried; everything
// else is final.
func (f *Fleet) renderNotification(ctx context.Context, p emailPayload, st *tenant.Tenant, sh shop.Shop) (*mail.Message, error) {
	kind := notifications.Kind(p.Kind)
	d, to, err := f.notificationData(ctx, kind, p.Event, st)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil || to == nil {
		return nil, err
	}
	e, err := notifications.NewService(f.db, f.cfg.URLs).Render(ctx, st, kind, d)
	if errs.Is(err, errs.Invalid) || errs.Is(err, errs.NotFound) {
		return nil, fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	if err != nil {
		return nil, err
	}
	if e.Problem != nil {
		f.log.WarnContext(ctx, "store's notification template failed; sent the default", "kind", kind, "store", st.Slug, "err", e.Problem)
	}
	msg := &mail.Message{
		From:      mail.Address{Name: sh.Name, Email: f.cfg.MailFrom},
		To:        []mail.Address{*to},
		Subject:   e.Subject,
		Text:      e.Text,
		HTML:      e.HTML,
		MessageID: p.Event.ID.String() + "." + p.Kind + "@storefleet",
	}
	if d.Subject != "" { // an invitation sent with its own subject
		msg.Subject = d.Subject
	}
	if e := sh.ReplyEmail(); e != "" { // the sender email, else the contact email
		msg.ReplyTo = mail.Address{Name: sh.Name, Email: e}
	}
	return msg, nil
}

// notificationData reads what the email of kind about ev shows, and whom it
// goes to; a nil recipient means none is sent.
func (f *Fleet) notificationData(ctx context.Context, kind notifications.Kind, ev tenant.Event, st *tenant.Tenant) (notifications.Data, *mail.Address, error) {
	var d notifications.Data
	if d, to, ok, err := f.customerAccountData(kind, ev, st); ok { // account_email.go
		return d, to, err
	}
	if d, to, ok, err := staffInvitationData(kind, ev); ok { // staff_email.go
		return d, to, err
	}
	if kind == notifications.PasswordReset {
		var r customers.ResetEmail
		if err := json.Unmarshal(ev.Payload, &r); err != nil {
			return d, nil, fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		d.Customer = notifications.Customer{FirstName: r.FirstName, Email: r.Email}
		d.URL = r.URL
		return d, &mail.Address{Name: r.FirstName, Email: r.Email}, nil
	}
	var ref struct {
		ID             int64 `json:"id"`
		OrderID        int64 `json:"order_id"`
		NotifyCustomer bool  `json:"notify_customer"`
	}
	if err := json.Unmarshal(ev.Payload, &ref); err != nil {
		return d, nil, fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	orderID := ref.ID
	if kind == notifications.ShippingConfirmation || kind == notifications.RefundNotification {
		orderID = ref.OrderID
	}
	if kind == notifications.ShippingConfirmation && !ref.NotifyCustomer {
		return d, nil, nil
	}
	svc := orders.NewService(f.db)
	o, err := svc.Order(ctx, st, orderID)
	if err != nil {
		return d, nil, err
	}
	if o.Email == "" || (kind != notifications.ShippingConfirmation && o.SourceName != "web") {
		return d, nil, nil
	}
	d.Order, d.OrderStatusURL = &o, f.cfg.URLs.Store(st.Slug)+"/orders/"+o.Token
	switch kind {
	case notifications.ShippingConfirmation:
		ful, err := svc.Fulfillment(ctx, st, o.ID, ref.ID)
		if err != nil {
			return d, nil, err
		}
		if ful.Status == "cancelled" {
			return d, nil, nil
		}
		d.Fulfillment = &ful
	case notifications.RefundNotification:
		r, err := svc.Refund(ctx, st, o.ID, ref.ID)
		if err != nil {
			return d, nil, err
		}
		if o.CancelledAt != nil && r.Note == cancelRefundNote {
			return d, nil, nil
		}
		d.Refund = &r
	}
	name := ""
	if o.ShippingAddress != nil {
		name = o.ShippingAddress.Name()
		d.Customer = notifications.Customer{FirstName: o.ShippingAddress.FirstName, LastName: o.ShippingAddress.LastName, Email: o.Email}
	}
	return d, &mail.Address{Name: name, Email: o.Email}, nil
}
