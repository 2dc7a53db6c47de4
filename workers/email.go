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
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
)

// TypeEmail is one email an event asks for.
const TypeEmail = "email:send"

// emailKind is the email event topic asks for, if any: the store's
// notification to its customer (notifyTopics), or the platform's own email
// to the merchant about a webhook turned off.
func emailKind(topic string) (string, bool) {
	if kind, ok := notifyTopics[topic]; ok {
		return string(kind), true
	}
	if topic == webhooks.TopicDisabled {
		return "webhook_disabled", true
	}
	return "", false
}

type emailPayload struct {
	Kind  string       `json:"kind"`
	Event tenant.Event `json:"event"`
}

// enqueueEmail queues the email event ev asks for, if any, under an id of
// the event's: a re-run fan-out does not send it twice.
func (f *Fleet) enqueueEmail(ctx context.Context, ev tenant.Event) error {
	kind, ok := emailKind(ev.Topic)
	if !ok || f.cfg.Mailer == nil {
		return nil
	}
	b, _ := json.Marshal(emailPayload{Kind: kind, Event: ev})
	_, err := f.client.EnqueueContext(ctx, asynq.NewTask(TypeEmail, b),
		asynq.TaskID(fmt.Sprintf("email:%s:%s", ev.ID, kind)), asynq.Queue("critical"),
		asynq.MaxRetry(20), asynq.Timeout(time.Minute), asynq.Retention(72*time.Hour))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// handleEmail renders and sends one email. A refusal the mail server says
// is final (an unknown recipient) is not retried; an outage is, and so is
// a failure to read the store's data.
func (f *Fleet) handleEmail(ctx context.Context, t *asynq.Task) error {
	var p emailPayload
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
	sh, err := shop.NewService(f.db, f.cfg.URLs).Shop(ctx, st)
	if err != nil {
		return err
	}
	msg, err := f.render(ctx, p, st, sh)
	if err != nil {
		return err // final ones wrap asynq.SkipRetry
	}
	if msg == nil {
		return nil // nothing to send for this one
	}
	err = f.cfg.Mailer.Send(ctx, msg)
	if err != nil && mail.IsPermanent(err) {
		f.log.WarnContext(ctx, "email refused for good", "kind", p.Kind, "store", st.Slug, "err", err)
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	return err
}

// render makes the email of kind p.Kind; nil when the event needs none.
// Errors that retrying cannot mend wrap asynq.SkipRetry.
func (f *Fleet) render(ctx context.Context, p emailPayload, st *tenant.Tenant, sh shop.Shop) (*mail.Message, error) {
	if p.Kind != "webhook_disabled" {
		if _, err := notifications.ParseKind(p.Kind); err != nil {
			return nil, fmt.Errorf("%w: no email of kind %q", asynq.SkipRetry, p.Kind)
		}
		return f.renderNotification(ctx, p, st, sh)
	}
	msg, err := f.renderDisabled(p, st, sh)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	return msg, nil
}

// renderDisabled is the platform's email to a merchant whose webhook
// subscription was turned off. It is Storefleet's, not the store's, so it
// is not among the templates the merchant edits; every store's mail leaves
// from the platform's address, so that it passes SPF and DKIM.
func (f *Fleet) renderDisabled(p emailPayload, st *tenant.Tenant, sh shop.Shop) (*mail.Message, error) {
	var d webhooks.DisabledEmail
	if err := json.Unmarshal(p.Event.Payload, &d); err != nil {
		return nil, err
	}
	if sh.Email == "" {
		return nil, errNoRecipient
	}
	data := map[string]string{"Shop": sh.Name, "Topic": d.Topic, "Address": d.Address,
		"Since": d.FailingSince.UTC().Format("2006-01-02 15:04 MST"), "Store": f.cfg.URLs.Store(st.Slug)}
	var text, html bytes.Buffer
	if err := disabledText.Execute(&text, data); err != nil {
		return nil, err
	}
	if err := disabledHTML.Execute(&html, data); err != nil {
		return nil, err
	}
	return &mail.Message{
		From:      mail.Address{Name: "Storefleet", Email: f.cfg.MailFrom},
		To:        []mail.Address{{Name: sh.Name, Email: sh.Email}},
		Subject:   "A webhook of " + sh.Name + " was turned off: " + d.Topic,
		Text:      text.String(),
		HTML:      html.String(),
		MessageID: p.Event.ID.String() + "." + p.Kind + "@storefleet",
	}, nil
}

// errNoRecipient is for a store without an email address to write to.
var errNoRecipient = errors.New("the store has no email address")

var (
	disabledText = texttemplate.Must(texttemplate.New("text").Parse(`Hello,

The webhook subscription of {{.Shop}} for {{.Topic}} to {{.Address}} has failed every delivery since {{.Since}}, so we turned it off. Nothing more is sent to it until it is turned on again; what it missed can then be replayed from the delivery log.

{{.Store}}
`))
	disabledHTML = htmltemplate.Must(htmltemplate.New("html").Parse(`<!doctype html>
<html lang="en"><body style="font:16px/1.5 system-ui,sans-serif;color:#222;max-width:36rem;margin:0 auto;padding:1.5rem">
<h1 style="font-size:1.3rem">A webhook was turned off</h1>
<p>The webhook subscription of {{.Shop}} for <code>{{.Topic}}</code> to <code>{{.Address}}</code> has failed every delivery since {{.Since}}, so we turned it off.</p>
<p>Nothing more is sent to it until it is turned on again; what it missed can then be replayed from the delivery log.</p>
</body></html>`))
)
