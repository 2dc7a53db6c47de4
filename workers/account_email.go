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

	"github.com/google/uuid"
	"github.com/hibiken/asynq"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/tenant"
)

// Account emails. Two families:
//
//   - a store's customer account emails (verification on sign-up, the
//     merchant's invitation) are store notifications: events of the store's
//     outbox, rendered from the store's templates by renderNotification;
//     customerAccountData reads their payload.
//   - a merchant's own account emails (verify the email after sign-up, reset
//     a forgotten password) are the platform's: rows of the platform outbox
//     (tenant.RelayAccountEmails), relayed by the same relay loop as the
//     stores' events, each queued under its row id as a TypeAccountEmail
//     task, and sent from the platform's address, once
//     (tenant.DeliverAccountEmail).

// TypeAccountEmail is one email of the platform outbox to a merchant.
const TypeAccountEmail = "email:account"

// customerAccountData reads what a customer account email (kind) about ev
// shows; ok is false for the other kinds.
func (f *Fleet) customerAccountData(kind notifications.Kind, ev tenant.Event, st *tenant.Tenant) (notifications.Data, *mail.Address, bool, error) {
	var d notifications.Data
	if kind != notifications.AccountVerification && kind != notifications.AccountInvite {
		return d, nil, false, nil
	}
	var p customers.AccountEmail
	if err := json.Unmarshal(ev.Payload, &p); err != nil {
		return d, nil, true, fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	d.Customer = notifications.Customer{FirstName: p.FirstName, LastName: p.LastName, Email: p.Email}
	d.URL = f.cfg.URLs.Store(st.Slug) + p.Path
	d.Subject, d.CustomMessage = p.Subject, p.CustomMessage
	return d, &mail.Address{Name: p.FirstName, Email: p.Email}, true, nil
}

type accountEmailPayload struct {
	ID uuid.UUID `json:"id"`
}

// relayAccountEmails queues one batch of the platform outbox's pending
// emails and says how many it queued (RelayOnce calls it).
func (f *Fleet) relayAccountEmails(ctx context.Context) (int, error) {
	return f.db.RelayAccountEmails(ctx, 100, f.enqueueAccountEmail)
}

// enqueueAccountEmail queues e under its row id: a second relay of the
// same row is refused by asynq as a duplicate.
func (f *Fleet) enqueueAccountEmail(ctx context.Context, e tenant.AccountEmail) error {
	b, _ := json.Marshal(accountEmailPayload{ID: e.ID})
	_, err := f.client.EnqueueContext(ctx, asynq.NewTask(TypeAccountEmail, b),
		asynq.TaskID("account-email:"+e.ID.String()), asynq.Queue("critical"),
		asynq.MaxRetry(20), asynq.Timeout(time.Minute), asynq.Retention(72*time.Hour))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// handleAccountEmail sends one email of the platform outbox, once: a task
// run again after its email went out sends nothing. An outage of the mail
// server is retried; a refusal it says is final is not.
func (f *Fleet) handleAccountEmail(ctx context.Context, t *asynq.Task) error {
	var p accountEmailPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	if f.cfg.Mailer == nil {
		f.log.WarnContext(ctx, "no mailer: an account email is not sent", "email", p.ID)
		return nil
	}
	err := f.db.DeliverAccountEmail(ctx, p.ID, func(ctx context.Context, e tenant.AccountEmail) error {
		msg, err := f.renderAccountEmail(e)
		if err != nil {
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		return f.cfg.Mailer.Send(ctx, msg)
	})
	if errs.Is(err, errs.NotFound) {
		return nil // the account is gone, and its email with it
	}
	if err != nil && mail.IsPermanent(err) {
		f.log.WarnContext(ctx, "account email refused for good", "email", p.ID, "err", err)
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	return err
}

// renderAccountEmail makes the platform's email e, from Storefleet's
// address, its Message-ID the row's id so that every attempt carries the
// same one.
func (f *Fleet) renderAccountEmail(e tenant.AccountEmail) (*mail.Message, error) {
	tpl, ok := accountTemplates[e.Kind]
	if !ok {
		return nil, fmt.Errorf("no account email of kind %q", e.Kind)
	}
	data := map[string]string{"Name": e.ToName, "URL": e.URL}
	var text, html bytes.Buffer
	if err := tpl.text.Execute(&text, data); err != nil {
		return nil, err
	}
	if err := tpl.html.Execute(&html, data); err != nil {
		return nil, err
	}
	return &mail.Message{
		From:      mail.Address{Name: "Storefleet", Email: f.cfg.MailFrom},
		To:        []mail.Address{{Name: e.ToName, Email: e.ToEmail}},
		Subject:   tpl.subject,
		Text:      text.String(),
		HTML:      html.String(),
		MessageID: e.ID.String() + ".account@storefleet",
	}, nil
}

type accountTemplate struct {
	subject string
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

const accountHTMLHead = `<!doctype html>
<html lang="en"><body style="font:16px/1.5 system-ui,sans-serif;color:#222;max-width:36rem;margin:0 auto;padding:1.5rem">
<p style="font-weight:700;font-size:1.2rem">Storefleet</p>
<p>Hello{{if .Name}} {{.Name}}{{end}},</p>`

// accountTemplates are the platform's emails to merchants, by kind. They
// are Storefleet's, not a store's, so merchants do not edit them.
var accountTemplates = map[string]accountTemplate{
	tenant.AccountEmailVerify: {
		subject: "Confirm your email for Storefleet",
		text: texttemplate.Must(texttemplate.New("text").Parse(`Hello{{if .Name}} {{.Name}}{{end}},

Welcome to Storefleet. To confirm that this email address is yours, open this link within 7 days:

{{.URL}}

If you did not sign up for Storefleet, ignore this email.
`)),
		html: htmltemplate.Must(htmltemplate.New("html").Parse(accountHTMLHead + `
<p>Welcome to Storefleet. To confirm that this email address is yours, use this link within 7 days:</p>
<p><a href="{{.URL}}" style="display:inline-block;background:#1f5f8b;color:#fff;padding:.6rem 1rem;border-radius:6px;text-decoration:none">Confirm my email</a></p>
<p style="color:#555;font-size:.9rem">If you did not sign up for Storefleet, ignore this email.</p>
</body></html>`)),
	},
	tenant.AccountEmailReset: {
		subject: "Reset your Storefleet password",
		text: texttemplate.Must(texttemplate.New("text").Parse(`Hello{{if .Name}} {{.Name}}{{end}},

Someone asked to reset the password of your Storefleet account. To choose a new one, open this link within an hour:

{{.URL}}

Choosing a new password logs you out everywhere. If it was not you, ignore this email: your password stays as it is.
`)),
		html: htmltemplate.Must(htmltemplate.New("html").Parse(accountHTMLHead + `
<p>Someone asked to reset the password of your Storefleet account. To choose a new one, use this link within an hour:</p>
<p><a href="{{.URL}}" style="display:inline-block;background:#1f5f8b;color:#fff;padding:.6rem 1rem;border-radius:6px;text-decoration:none">Choose a new password</a></p>
<p style="color:#555;font-size:.9rem">Choosing a new password logs you out everywhere. If it was not you, ignore this email: your password stays as it is.</p>
</body></html>`)),
	},
}
