package discounts

import (
	"context"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// ErrCodeTaken is the Invalid error, on the code field, for a code the
// store has already (ignoring case), so that a caller can say it in its
// own words (errors.Is finds it).
var ErrCodeTaken = errCodeTaken

// CreateDiscount adds a price rule to store t together with its one code,
// in one transaction: both are made or neither is. Two requests for the
// same code at once cannot both succeed: the unique index on the code
// makes the second wait for the first and then refuses it, and its rule
// goes with it. Amounts in in are in the store's currency; a rule without
// starts_at starts now.
//
// Errors: Invalid (with per-field messages for the rule and the code;
// ErrCodeTaken for a code the store has already).
func (s *Service) CreateDiscount(ctx context.Context, t *tenant.Tenant, in PriceRuleInput, code string) (PriceRule, Code, error) {
	f := errs.Fields{}
	if err := in.validate(true); err != nil {
		mergeFields(f, err)
	}
	if err := normalizeCode(&code); err != nil {
		mergeFields(f, err)
	}
	if err := f.Err(); err != nil {
		return PriceRule{}, Code{}, err
	}
	var r PriceRule
	var c Code
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		cur, err := shop.CurrencyIn(tx)
		if err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		r = PriceRule{TargetSelection: SelectionAll, CustomerSelection: SelectionAll, StartsAt: now, CreatedAt: now, UpdatedAt: now}
		if err := in.apply(&r, cur); err != nil {
			return err
		}
		if err := insertPriceRule(tx, &r); err != nil {
			return err
		}
		c = Code{RuleID: r.ID, Code: code, CreatedAt: now, UpdatedAt: now}
		return insertCode(tx, &c)
	})
	if err != nil {
		return PriceRule{}, Code{}, err
	}
	if r, err = s.PriceRule(ctx, t, r.ID); err != nil {
		return PriceRule{}, Code{}, err
	}
	if c, err = s.Code(ctx, t, r.ID, c.ID); err != nil {
		return PriceRule{}, Code{}, err
	}
	return r, c, nil
}

// mergeFields adds the per-field messages of err (an Invalid error) to f;
// an error without fields is kept under "base".
func mergeFields(f errs.Fields, err error) {
	fields := errs.FieldsOf(err)
	if len(fields) == 0 {
		f.Add("base", "%s", errs.MessageOf(err))
		return
	}
	for k, msgs := range fields {
		for _, m := range msgs {
			f.Add(k, "%s", m)
		}
	}
}
