package tenant

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
)

// PaymentAccount is a store's Stripe Connect account: card payments are
// direct charges on it, so it must exist and be able to take charges before
// the checkout offers cards.
type PaymentAccount struct {
	StripeAccount    string // "acct_…"
	ChargesEnabled   bool   // Stripe lets the account take charges
	DetailsSubmitted bool   // the merchant finished onboarding
	UpdatedAt        time.Time
}

// ErrPaymentAccountNotFound is for a store without a Stripe account, and for a
// Stripe account that belongs to no store.
var ErrPaymentAccountNotFound = errs.E(errs.NotFound, "no Stripe account")

type paymentAccountRow struct {
	TenantID         int64     `gorm:"column:tenant_id"`
	StripeAccount    string    `gorm:"column:stripe_account"`
	ChargesEnabled   bool      `gorm:"column:charges_enabled"`
	DetailsSubmitted bool      `gorm:"column:details_submitted"`
	UpdatedAt        time.Time `gorm:"column:updated_at"`
}

const paymentAccountColumns = `tenant_id, stripe_account, charges_enabled, details_submitted, updated_at`

func (r paymentAccountRow) toPaymentAccount() PaymentAccount {
	return PaymentAccount{StripeAccount: r.StripeAccount, ChargesEnabled: r.ChargesEnabled,
		DetailsSubmitted: r.DetailsSubmitted, UpdatedAt: r.UpdatedAt}
}

// StripeAccount returns store id's Stripe account.
//
// Errors: NotFound (ErrPaymentAccountNotFound) when the store has none.
func (d *DB) StripeAccount(ctx context.Context, id ID) (PaymentAccount, error) {
	var rows []paymentAccountRow
	err := d.control.WithContext(ctx).Raw(`SELECT `+paymentAccountColumns+` FROM platform.payment_accounts WHERE tenant_id = ?`, int64(id)).Scan(&rows).Error
	if err != nil {
		return PaymentAccount{}, fmt.Errorf("stripe account of store %d: %w", id, err)
	}
	if len(rows) == 0 {
		return PaymentAccount{}, ErrPaymentAccountNotFound
	}
	return rows[0].toPaymentAccount(), nil
}

// SaveStripeAccount records store id's Stripe account and what Stripe last
// said of it. A store has one account: saving another replaces it.
//
// Errors: Invalid (not an acct_ id), NotFound (no such store), Conflict (the
// account is another store's).
func (d *DB) SaveStripeAccount(ctx context.Context, id ID, a PaymentAccount) error {
	if !strings.HasPrefix(a.StripeAccount, "acct_") || len(a.StripeAccount) < 6 || len(a.StripeAccount) > 255 {
		return errs.E(errs.Invalid, "%q is not a Stripe account id", a.StripeAccount)
	}
	err := d.control.WithContext(ctx).Exec(`INSERT INTO platform.payment_accounts (tenant_id, stripe_account, charges_enabled, details_submitted)
		VALUES (?, ?, ?, ?)
		ON CONFLICT (tenant_id) DO UPDATE SET stripe_account = excluded.stripe_account, charges_enabled = excluded.charges_enabled,
			details_submitted = excluded.details_submitted, updated_at = now()`,
		int64(id), a.StripeAccount, a.ChargesEnabled, a.DetailsSubmitted).Error
	switch pg.Code(err) {
	case "":
	case pg.ForeignKeyViolation:
		return ErrTenantNotFound
	case pg.UniqueViolation:
		return errs.Wrap(errs.Conflict, err, "this Stripe account belongs to another store")
	case pg.CheckViolation:
		return errs.Wrap(errs.Invalid, err, "not a Stripe account id")
	default:
		return fmt.Errorf("save stripe account of store %d: %w", id, err)
	}
	return nil
}

// StoreOfStripeAccount returns the store whose Stripe account acct is: Stripe's
// Connect events name the account, and only the control plane knows whose it is.
//
// Errors: NotFound (ErrPaymentAccountNotFound).
func (d *DB) StoreOfStripeAccount(ctx context.Context, acct string) (ID, error) {
	var rows []paymentAccountRow
	err := d.control.WithContext(ctx).Raw(`SELECT `+paymentAccountColumns+` FROM platform.payment_accounts WHERE stripe_account = ?`, acct).Scan(&rows).Error
	if err != nil {
		return 0, fmt.Errorf("store of stripe account: %w", err)
	}
	if len(rows) == 0 {
		return 0, ErrPaymentAccountNotFound
	}
	return ID(rows[0].TenantID), nil
}
