// Package notifications is the email a store sends its customers: order
// confirmation, shipping confirmation, refund, cancellation, password
// reset. Each kind has a subject, an HTML body and a text body written in
// Liquid, the language of Shopify's notification templates, rendered by the
// storefront's theme engine (package themes) with its limits: a template is
// the merchant's code, untrusted, and every render is bounded in time,
// output and loops, with every value HTML-escaped in the HTML body.
//
// Defaults ship in the binary (defaults/*.liquid); a store overrides a kind
// by saving its own template (table notification_templates), and deleting
// it goes back to the default. The Admin API edits them (notifications.json,
// a Storefleet extension for the store's owner and admins); the job fleet
// renders them when an event asks for an email.
package notifications

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// Kind names one notification email.
type Kind string

// The kinds a store sends. Staff invitations and merchant account
// verification are not here: they are the platform's email to merchants
// and the dashboard's.
const (
	OrderConfirmation    Kind = "order_confirmation"    // orders/create, storefront orders
	ShippingConfirmation Kind = "shipping_confirmation" // fulfillments/create with notify_customer
	RefundNotification   Kind = "refund"                // refunds/create, storefront orders
	OrderCancelled       Kind = "order_cancelled"       // orders/cancelled, storefront orders
	PasswordReset        Kind = "password_reset"        // customers/password_reset
)

// The customer account kinds: the store's own email to its customers, so
// the merchant edits them (the merchant's own account email is the
// platform's, not here).
const (
	AccountVerification Kind = "customer_account_verification" // customers/verification: every sign-up
	AccountInvite       Kind = "customer_account_invite"       // customers/invite: the merchant's send_invite
)

// StaffInvitation is the store's email inviting someone to its staff
// (staff/invited): branded and edited like the others, since it speaks in
// the store's name.
const StaffInvitation Kind = "staff_invitation"

// kindInfo says what a kind is for, for the merchant choosing one to edit.
type kindInfo struct {
	kind        Kind
	title       string
	description string
}

// kinds are the kinds in the order a list shows them.
var kinds = []kindInfo{
	{OrderConfirmation, "Order confirmation", "Sent to the customer when they place an order on the storefront."},
	{ShippingConfirmation, "Shipping confirmation", "Sent to the customer when their order ships, with its tracking, if the fulfillment asks to notify them."},
	{RefundNotification, "Refund", "Sent to the customer when money is refunded on their storefront order."},
	{OrderCancelled, "Order cancelled", "Sent to the customer when their storefront order is cancelled."},
	{PasswordReset, "Customer account password reset", "Sent to a customer who asked to reset their account password; holds the reset link."},
	{AccountVerification, "Customer account verification", "Sent to a customer when they create an account; holds the link that confirms their email."},
	{AccountInvite, "Customer account invite", "Sent to a customer the store invites to create an account; holds the link where they choose a password."},
	{StaffInvitation, "Staff invitation", "Sent to a person invited to join the store's staff; holds the link where they accept, good for 7 days."},
}

// Kinds lists every kind, in the order the API lists them.
func Kinds() []Kind {
	out := make([]Kind, len(kinds))
	for i, k := range kinds {
		out[i] = k.kind
	}
	return out
}

// ParseKind checks that s names a kind.
//
// Errors: NotFound (ErrKindNotFound).
func ParseKind(s string) (Kind, error) {
	if _, ok := infoOf(Kind(s)); !ok {
		return "", ErrKindNotFound
	}
	return Kind(s), nil
}

func infoOf(k Kind) (kindInfo, bool) {
	i := slices.IndexFunc(kinds, func(ki kindInfo) bool { return ki.kind == k })
	if i < 0 {
		return kindInfo{}, false
	}
	return kinds[i], true
}

// ErrKindNotFound is returned for a notification kind that does not exist.
var ErrKindNotFound = errs.E(errs.NotFound, "notification not found; kinds are order_confirmation, shipping_confirmation, refund, order_cancelled, password_reset, customer_account_verification, customer_account_invite")

// Template is a kind's effective template in a store: the store's own when
// Customized, else the default.
type Template struct {
	Kind       Kind
	Title      string
	Subject    string
	BodyHTML   string
	BodyText   string
	Customized bool
	UpdatedAt  *time.Time // when the store saved its own; nil for the default
}

// Input is a change to a template; nil fields keep the current text.
type Input struct {
	Subject, BodyHTML, BodyText *string
}

// Service reads, changes and renders a store's notification templates,
// each method in its own tenant transaction.
type Service struct {
	db   *tenant.DB
	urls tenant.URLs
}

// NewService returns the notifications service; urls give each store's
// address (links in emails and sample data).
func NewService(db *tenant.DB, urls tenant.URLs) *Service {
	return &Service{db: db, urls: urls}
}

// Templates returns store t's effective template of every kind.
func (s *Service) Templates(ctx context.Context, t *tenant.Tenant) ([]Template, error) {
	var out []Template
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		own, err := findTemplates(tx)
		if err != nil {
			return err
		}
		for _, ki := range kinds {
			if tpl, ok := own[ki.kind]; ok {
				out = append(out, tpl)
			} else {
				out = append(out, Default(ki.kind))
			}
		}
		return nil
	})
	return out, err
}

// Template returns store t's effective template of kind.
//
// Errors: NotFound (ErrKindNotFound).
func (s *Service) Template(ctx context.Context, t *tenant.Tenant, kind Kind) (Template, error) {
	if _, ok := infoOf(kind); !ok {
		return Template{}, ErrKindNotFound
	}
	var out Template
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		out, err = TemplateIn(tx, kind)
		return err
	})
	return out, err
}

// TemplateIn returns the effective template of kind of the store whose
// transaction tx is: for a service that renders inside its own door.
//
// Errors: NotFound (ErrKindNotFound).
func TemplateIn(tx *gorm.DB, kind Kind) (Template, error) {
	if _, ok := infoOf(kind); !ok {
		return Template{}, ErrKindNotFound
	}
	own, found, err := findTemplate(tx, kind)
	if err != nil || found {
		return own, err
	}
	return Default(kind), nil
}

// SetTemplate saves store t's own template of kind: in's fields over the
// current ones. It must parse, and render against sample data within the
// limits, before it is saved: a template that cannot send is refused.
//
// Errors: NotFound (ErrKindNotFound), Invalid (too long, blank, or Liquid
// that does not parse or render: the field and line are named).
func (s *Service) SetTemplate(ctx context.Context, t *tenant.Tenant, kind Kind, in Input) (Template, error) {
	cur, err := s.Template(ctx, t, kind)
	if err != nil {
		return Template{}, err
	}
	next := cur.with(in)
	if err := next.validate(); err != nil {
		return Template{}, err
	}
	sh, err := s.shop(ctx, t)
	if err != nil {
		return Template{}, err
	}
	if _, err := next.Render(ctx, Sample(kind, sh)); err != nil {
		return Template{}, err
	}
	var out Template
	err = s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		var err error
		out, err = upsertTemplate(tx, next)
		return err
	})
	return out, err
}

// ResetTemplate deletes store t's own template of kind, so that the
// default is sent again, and returns the default. Resetting a kind never
// customised is not an error.
//
// Errors: NotFound (ErrKindNotFound).
func (s *Service) ResetTemplate(ctx context.Context, t *tenant.Tenant, kind Kind) (Template, error) {
	if _, ok := infoOf(kind); !ok {
		return Template{}, ErrKindNotFound
	}
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error { return deleteTemplate(tx, kind) })
	if err != nil {
		return Template{}, err
	}
	return Default(kind), nil
}

// Preview renders kind with sample data: the store's effective template
// with in's fields over it, so that an edit can be seen before it is saved.
//
// Errors: NotFound (ErrKindNotFound), Invalid (as SetTemplate).
func (s *Service) Preview(ctx context.Context, t *tenant.Tenant, kind Kind, in Input) (Email, error) {
	cur, err := s.Template(ctx, t, kind)
	if err != nil {
		return Email{}, err
	}
	next := cur.with(in)
	if err := next.validate(); err != nil {
		return Email{}, err
	}
	sh, err := s.shop(ctx, t)
	if err != nil {
		return Email{}, err
	}
	return next.Render(ctx, Sample(kind, sh))
}

// Render renders store t's email of kind about d, whose Shop it fills in.
// When the store's own template fails on real data (it rendered the
// sample when saved, but a real order can differ), the default is sent
// instead and Email.Problem says why: the customer still gets their email.
//
// Errors: NotFound (ErrKindNotFound); a failing default template is an
// internal error.
func (s *Service) Render(ctx context.Context, t *tenant.Tenant, kind Kind, d Data) (Email, error) {
	var tpl Template
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		if tpl, err = TemplateIn(tx, kind); err != nil {
			return err
		}
		d.Shop, err = shopIn(tx, s.urls.Store(t.Slug))
		return err
	})
	if err != nil {
		return Email{}, err
	}
	out, err := tpl.Render(ctx, d)
	if err == nil || !tpl.Customized {
		return out, err
	}
	out, derr := Default(kind).Render(ctx, d)
	if derr != nil {
		return Email{}, fmt.Errorf("render default %s: %w", kind, derr)
	}
	out.Problem = err
	return out, nil
}

// shop returns store t as its emails show it.
func (s *Service) shop(ctx context.Context, t *tenant.Tenant) (Shop, error) {
	var sh Shop
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		sh, err = shopIn(tx, s.urls.Store(t.Slug))
		return err
	})
	return sh, err
}

// with returns tpl with in's fields over it.
func (tpl Template) with(in Input) Template {
	if in.Subject != nil {
		tpl.Subject = *in.Subject
	}
	if in.BodyHTML != nil {
		tpl.BodyHTML = *in.BodyHTML
	}
	if in.BodyText != nil {
		tpl.BodyText = *in.BodyText
	}
	return tpl
}

// Sizes of a template's parts.
const (
	MaxSubjectBytes = 2 << 10
	MaxBodyBytes    = 256 << 10
)

// validate checks sizes and blanks, before any Liquid runs.
func (tpl Template) validate() error {
	f := errs.Fields{}
	check := func(field, v string, most int) {
		switch {
		case strings.TrimSpace(v) == "":
			f.Add(field, "can't be blank")
		case len(v) > most:
			f.Add(field, "is too long (maximum is %d bytes)", most)
		case strings.ContainsRune(v, 0) || !utf8.ValidString(v):
			f.Add(field, "must be UTF-8 text without NUL characters")
		}
	}
	check("subject", tpl.Subject, MaxSubjectBytes)
	check("body_html", tpl.BodyHTML, MaxBodyBytes)
	check("body_text", tpl.BodyText, MaxBodyBytes)
	return f.Err()
}
