// Package discounts is what a store takes off an order: price rules (a
// percentage, a fixed amount, or free shipping; a minimum subtotal; start
// and end dates; a total usage limit and once per customer) and the codes
// shoppers type to use them. Its Admin API resources follow Shopify's REST
// Admin API (price_rules.json, discount_codes); checkout applies codes
// through CodeIn, Off and RedeemIn, inside its own transaction.
package discounts

import (
	"context"
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// Errors the service returns.
var (
	// ErrPriceRuleNotFound is returned for a price rule that is not in the store.
	ErrPriceRuleNotFound = errs.E(errs.NotFound, "price rule not found")
	// ErrCodeNotFound is returned for a discount code that is not the rule's
	// (or not in the store).
	ErrCodeNotFound = errs.E(errs.NotFound, "discount code not found")
)

// Service reads and changes a store's price rules and discount codes.
type Service struct {
	db *tenant.DB
}

// NewService returns the discounts service.
func NewService(db *tenant.DB) *Service { return &Service{db: db} }

// Currency is store t's currency, in which fixed amounts and minimum
// subtotals are written.
func (s *Service) Currency(ctx context.Context, t *tenant.Tenant) (money.Currency, error) {
	var c money.Currency
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c, err = shop.CurrencyIn(tx)
		return err
	})
	return c, err
}

// RuleQuery selects price rules. Zero fields select everything; results are
// in id order, Limit at a time after After (or before Before, for a
// previous page).
type RuleQuery struct {
	Limit      int        `json:"-"`
	After      int64      `json:"-"`
	Before     int64      `json:"-"`
	CreatedMin *time.Time `json:"cmin,omitempty"`
	CreatedMax *time.Time `json:"cmax,omitempty"`
	UpdatedMin *time.Time `json:"umin,omitempty"`
	UpdatedMax *time.Time `json:"umax,omitempty"`
	StartsMin  *time.Time `json:"smin,omitempty"`
	StartsMax  *time.Time `json:"smax,omitempty"`
	EndsMin    *time.Time `json:"emin,omitempty"`
	EndsMax    *time.Time `json:"emax,omitempty"`
	TimesUsed  *int64     `json:"used,omitempty"`
}

// where renders q's filters (not its paging) as SQL over price_rules r.
func (q RuleQuery) where() (string, []any) {
	conds := []string{"true"}
	var args []any
	for _, c := range []struct {
		col, op string
		t       *time.Time
	}{
		{"created_at", ">=", q.CreatedMin}, {"created_at", "<=", q.CreatedMax},
		{"updated_at", ">=", q.UpdatedMin}, {"updated_at", "<=", q.UpdatedMax},
		{"starts_at", ">=", q.StartsMin}, {"starts_at", "<=", q.StartsMax},
		{"ends_at", ">=", q.EndsMin}, {"ends_at", "<=", q.EndsMax},
	} {
		if c.t != nil { // column names from the fixed list above, never from input
			conds = append(conds, "r."+c.col+" "+c.op+" ?")
			args = append(args, *c.t)
		}
	}
	if q.TimesUsed != nil {
		conds = append(conds, "r.times_used = ?")
		args = append(args, *q.TimesUsed)
	}
	return strings.Join(conds, " AND "), args
}

// CodeQuery selects discount codes: of one rule (RuleID), or of the whole
// store with RuleID 0, by how often they were used.
type CodeQuery struct {
	RuleID       int64  `json:"-"`
	Limit        int    `json:"-"`
	After        int64  `json:"-"`
	Before       int64  `json:"-"`
	TimesUsed    *int64 `json:"used,omitempty"`
	TimesUsedMin *int64 `json:"umin,omitempty"`
	TimesUsedMax *int64 `json:"umax,omitempty"`
}

// where renders q's filters (not its paging) as SQL over discount_codes c.
func (q CodeQuery) where() (string, []any) {
	conds := []string{"true"}
	var args []any
	if q.RuleID != 0 {
		conds = append(conds, "c.price_rule_id = ?")
		args = append(args, q.RuleID)
	}
	for _, c := range []struct {
		op string
		n  *int64
	}{{"=", q.TimesUsed}, {">=", q.TimesUsedMin}, {"<=", q.TimesUsedMax}} {
		if c.n != nil {
			conds = append(conds, "c.usage_count "+c.op+" ?")
			args = append(args, *c.n)
		}
	}
	return strings.Join(conds, " AND "), args
}

// CreatePriceRule adds a price rule to store t. Amounts in in are in the
// store's currency; a rule without starts_at starts now.
//
// Errors: Invalid (with per-field messages).
func (s *Service) CreatePriceRule(ctx context.Context, t *tenant.Tenant, in PriceRuleInput) (PriceRule, error) {
	if err := in.validate(true); err != nil {
		return PriceRule{}, err
	}
	var r PriceRule
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
		return insertPriceRule(tx, &r)
	})
	if err != nil {
		return PriceRule{}, err
	}
	return s.PriceRule(ctx, t, r.ID)
}

// PriceRule returns store t's price rule id.
//
// Errors: NotFound (ErrPriceRuleNotFound).
func (s *Service) PriceRule(ctx context.Context, t *tenant.Tenant, id int64) (PriceRule, error) {
	var r PriceRule
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		r, err = findPriceRule(tx, id, false)
		return err
	})
	return r, err
}

// PriceRules lists store t's price rules that q selects, and whether there
// are more past the page in q's direction.
func (s *Service) PriceRules(ctx context.Context, t *tenant.Tenant, q RuleQuery) ([]PriceRule, bool, error) {
	var rs []PriceRule
	more := false
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		page := q
		page.Limit = q.Limit + 1
		var err error
		if rs, err = findPriceRules(tx, page); err != nil {
			return err
		}
		rs, more = pg.TrimPage(rs, q.Limit, q.Before != 0)
		return nil
	})
	return rs, more, err
}

// CountPriceRules counts store t's price rules that q selects (its paging
// fields are ignored).
func (s *Service) CountPriceRules(ctx context.Context, t *tenant.Tenant, q RuleQuery) (int64, error) {
	var n int64
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		n, err = countPriceRules(tx, q)
		return err
	})
	return n, err
}

// UpdatePriceRule changes store t's price rule id as in says. Its usage is
// kept; a usage limit below it leaves the rule's codes used up.
//
// Errors: NotFound, Invalid (with per-field messages).
func (s *Service) UpdatePriceRule(ctx context.Context, t *tenant.Tenant, id int64, in PriceRuleInput) (PriceRule, error) {
	if err := in.validate(false); err != nil {
		return PriceRule{}, err
	}
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		cur, err := shop.CurrencyIn(tx)
		if err != nil {
			return err
		}
		r, err := findPriceRule(tx, id, true)
		if err != nil {
			return err
		}
		if err := in.apply(&r, cur); err != nil {
			return err
		}
		r.UpdatedAt = time.Now().UTC()
		return updatePriceRule(tx, r)
	})
	if err != nil {
		return PriceRule{}, err
	}
	return s.PriceRule(ctx, t, id)
}

// DeletePriceRule removes store t's price rule id and its codes. Orders
// that used it keep what they recorded.
//
// Errors: NotFound.
func (s *Service) DeletePriceRule(ctx context.Context, t *tenant.Tenant, id int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error { return deletePriceRule(tx, id) })
}

// CreateCode adds code to store t's price rule ruleID.
//
// Errors: NotFound (ErrPriceRuleNotFound), Invalid (blank, too long, with
// whitespace, or a code the store has already, ignoring case).
func (s *Service) CreateCode(ctx context.Context, t *tenant.Tenant, ruleID int64, code *string) (Code, error) {
	if err := normalizeCode(code); err != nil {
		return Code{}, err
	}
	var c Code
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		if _, err := findPriceRule(tx, ruleID, false); err != nil {
			return err
		}
		now := time.Now().UTC()
		c = Code{RuleID: ruleID, Code: *code, CreatedAt: now, UpdatedAt: now}
		return insertCode(tx, &c)
	})
	if err != nil {
		return Code{}, err
	}
	return s.Code(ctx, t, ruleID, c.ID)
}

// Code returns code id of store t's price rule ruleID.
//
// Errors: NotFound (ErrCodeNotFound, also when there is no such rule).
func (s *Service) Code(ctx context.Context, t *tenant.Tenant, ruleID, id int64) (Code, error) {
	var c Code
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c, err = findCode(tx, ruleID, id)
		return err
	})
	return c, err
}

// Codes lists store t's discount codes that q selects, and whether there
// are more past the page in q's direction. A rule that does not exist has
// no codes.
func (s *Service) Codes(ctx context.Context, t *tenant.Tenant, q CodeQuery) ([]Code, bool, error) {
	var cs []Code
	more := false
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		if q.RuleID != 0 {
			if _, err := findPriceRule(tx, q.RuleID, false); err != nil {
				return err
			}
		}
		page := q
		page.Limit = q.Limit + 1
		var err error
		if cs, err = findCodes(tx, page); err != nil {
			return err
		}
		cs, more = pg.TrimPage(cs, q.Limit, q.Before != 0)
		return nil
	})
	return cs, more, err
}

// CountCodes counts store t's discount codes that q selects.
func (s *Service) CountCodes(ctx context.Context, t *tenant.Tenant, q CodeQuery) (int64, error) {
	var n int64
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		n, err = countCodes(tx, q)
		return err
	})
	return n, err
}

// LookupCode finds store t's discount code by its text, ignoring case.
//
// Errors: NotFound (ErrCodeNotFound).
func (s *Service) LookupCode(ctx context.Context, t *tenant.Tenant, code string) (Code, error) {
	code = strings.TrimSpace(code)
	if code == "" {
		return Code{}, ErrCodeNotFound
	}
	var c Code
	err := s.db.ReadTx(ctx, t, func(tx *gorm.DB) error {
		var err error
		c, err = findCodeByText(tx, code)
		return err
	})
	return c, err
}

// UpdateCode changes the text of code id of store t's price rule ruleID; its
// usage count stays.
//
// Errors: NotFound (ErrCodeNotFound), Invalid (as CreateCode).
func (s *Service) UpdateCode(ctx context.Context, t *tenant.Tenant, ruleID, id int64, code *string) (Code, error) {
	if code == nil { // nothing to change
		return s.Code(ctx, t, ruleID, id)
	}
	if err := normalizeCode(code); err != nil {
		return Code{}, err
	}
	err := s.db.Tx(ctx, t, func(tx *gorm.DB) error {
		return updateCode(tx, Code{ID: id, RuleID: ruleID, Code: *code, UpdatedAt: time.Now().UTC()})
	})
	if err != nil {
		return Code{}, err
	}
	return s.Code(ctx, t, ruleID, id)
}

// DeleteCode removes code id of store t's price rule ruleID.
//
// Errors: NotFound (ErrCodeNotFound).
func (s *Service) DeleteCode(ctx context.Context, t *tenant.Tenant, ruleID, id int64) error {
	return s.db.Tx(ctx, t, func(tx *gorm.DB) error { return deleteCode(tx, ruleID, id) })
}
