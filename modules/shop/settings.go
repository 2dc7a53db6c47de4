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

// ErrCurrencyFixed is the refusal to change the currency of a store that
// has orders: their amounts are in the old one.
var ErrCurrencyFixed = &errs.Error{Kind: errs.Conflict, Message: "the currency cannot change once the store has orders"}

// UpdateSettings changes store t's settings in one transaction, with
// UpdateShop's rules for the fields they share.
//
// The currency changes only while the store has no order: prices, carts
// and orders are amounts in it. The rule holds under concurrency: the
// transaction takes the shop row FOR UPDATE before it looks for orders,
// and order placement reads the currency with LockCurrencyIn (FOR SHARE),
// so an order is either committed before the check, and seen, or placed
// after the change, in the new currency.
//
// Errors: Invalid (as UpdateShop; a time zone that is not an IANA name; a
// currency that is not an ISO 4217 code), Conflict (a currency change once
// the store has orders: ErrCurrencyFixed's message, with the currency
// field saying why).
func (s *Service) UpdateSettings(ctx context.Context, t *tenant.Tenant, in Settings) (Shop, error) {
	f := errs.Fields{}
	in = checkSettings(f, in)
	if err := f.Err(); err != nil {
		return Shop{}, err
	}
	var sh Shop
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		cur, err := selectShop(tx, "FOR UPDATE")
		if err != nil {
			return err
		}
		next := in.apply(cur)
		f := errs.Fields{}
		next.Address = checkAddress(f, next.Address)
		if err := f.Err(); err != nil {
			return err
		}
		if next.Currency != cur.Currency {
			has, err := hasOrders(tx)
			if err != nil {
				return err
			}
			if has {
				return &errs.Error{Kind: ErrCurrencyFixed.Kind, Message: ErrCurrencyFixed.Message, Fields: map[string][]string{
					"currency": {fmt.Sprintf("cannot change from %s: the store has orders, and their amounts are in %s", cur.Currency, cur.Currency)}}}
			}
		}
		if err := updateShop(tx, next); err != nil {
			return err
		}
		sh, err = ShopIn(tx)
		return err
	})
	return sh, err
}

// apply returns cur with in's fields set.
func (in Settings) apply(cur Shop) Shop {
	set := func(to *string, from *string) {
		if from != nil {
			*to = *from
		}
	}
	set(&cur.Name, in.Name)
	set(&cur.Email, in.Email)
	set(&cur.CustomerEmail, in.CustomerEmail)
	set(&cur.Timezone, in.Timezone)
	set(&cur.Currency, in.Currency)
	if in.TaxesIncluded != nil {
		cur.TaxesIncluded = *in.TaxesIncluded
	}
	if in.TaxShipping != nil {
		cur.TaxShipping = *in.TaxShipping
	}
	cur.Address = in.Address.apply(cur.Address)
	return cur
}

// checkSettings checks the fields of in that need no other (all but the
// address, checked whole once merged), adding problems to f, and returns
// in with them trimmed and normalised.
func checkSettings(f errs.Fields, in Settings) Settings {
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
	return in
}

// checkUpdate checks the name and emails of in, adding problems to f, and
// returns in with them trimmed and normalised.
func checkUpdate(f errs.Fields, in Update) Update {
	if in.Name != nil {
		if n := strings.TrimSpace(*in.Name); n == "" || len(n) > 255 {
			f.Add("name", "must be 1 to 255 characters")
		} else {
			in.Name = &n
		}
	}
	for _, e := range []struct {
		field string
		p     **string
	}{{"email", &in.Email}, {"customer_email", &in.CustomerEmail}} {
		if *e.p == nil {
			continue
		}
		s := strings.TrimSpace(**e.p)
		if s == "" {
			*e.p = &s
			continue
		}
		n, err := auth.NormalizeEmail(s)
		if err != nil {
			f.Add(e.field, "%s", errs.MessageOf(err))
		} else {
			*e.p = &n
		}
	}
	return in
}
