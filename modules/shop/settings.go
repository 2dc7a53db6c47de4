package shop

import (
	"context"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/tenant"
)

// Settings is a change to every setting the dashboard's store details form
// edits: Update's, and the time zone and currency, which shop.json does not
// change. nil fields stay as they are.
type Settings struct {
	Update
	Timezone *string // an IANA name, "Europe/Paris"
	Currency *string // an ISO 4217 code; see UpdateSettings
}

// UpdateSettings changes store t's settings in one transaction, with
// UpdateShop's rules for the fields they share.
//
// The currency is checked only as a currency: prices, carts and orders are
// amounts in it, so the caller refuses a change once the store has orders
// (the dashboard asks the orders service first; this package cannot, as
// orders depends on it).
//
// Errors: Invalid (as UpdateShop; a time zone that is not an IANA name; a
// currency that is not an ISO 4217 code).
func (s *Service) UpdateSettings(ctx context.Context, t *tenant.Tenant, in Settings) (Shop, error) {
	f := errs.Fields{}
	in.Update = checkUpdate(f, in.Update)
	if in.Timezone != nil {
		tz := strings.TrimSpace(*in.Timezone)
		if _, err := time.LoadLocation(tz); err != nil || tz == "" || tz == "Local" {
			f.Add("timezone", "%q is not a time zone name like Europe/Paris or America/New_York", tz)
		} else {
			in.Timezone = &tz
		}
	}
	if in.Currency != nil {
		cur, err := money.ParseCurrency(*in.Currency)
		if err != nil {
			f.Add("currency", "%s", errs.MessageOf(err))
		} else {
			in.Currency = &cur.Code
		}
	}
	if err := f.Err(); err != nil {
		return Shop{}, err
	}
	var sh Shop
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		err := tx.Exec(`UPDATE shop SET name = coalesce(?, name), email = coalesce(?, email),
			taxes_included = coalesce(?, taxes_included), tax_shipping = coalesce(?, tax_shipping),
			timezone = coalesce(?, timezone), currency = coalesce(?, currency), updated_at = now()`,
			in.Name, in.Email, in.TaxesIncluded, in.TaxShipping, in.Timezone, in.Currency).Error
		if err != nil {
			return fmt.Errorf("update shop settings: %w", err)
		}
		sh, err = ShopIn(tx)
		return err
	})
	return sh, err
}

// checkUpdate checks the name and email of in as UpdateShop does, adding
// problems to f, and returns in with them trimmed and normalised.
func checkUpdate(f errs.Fields, in Update) Update {
	if in.Name != nil {
		if n := strings.TrimSpace(*in.Name); n == "" || len(n) > 255 {
			f.Add("name", "must be 1 to 255 characters")
		} else {
			in.Name = &n
		}
	}
	if in.Email != nil && *in.Email != "" {
		e, err := auth.NormalizeEmail(*in.Email)
		if err != nil {
			f.Add("email", "%s", errs.MessageOf(err))
		} else {
			in.Email = &e
		}
	}
	return in
}
