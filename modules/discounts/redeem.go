package discounts

import (
	"strings"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
)

// Value types and target types, as Shopify's price rules name them.
const (
	Percentage   = "percentage"
	FixedAmount  = "fixed_amount"
	LineItem     = "line_item"
	ShippingLine = "shipping_line"
)

// Discount is a code and its rule, as checkout applies it: a snapshot taken
// by CodeIn, so an order can record what it was given.
type Discount struct {
	CodeID, RuleID int64
	Code           string // as the merchant wrote it
	Title          string // the rule's title, for the order's discount application
	ValueType      string // Percentage or FixedAmount
	// PercentBP is the percentage off in basis points (10% is 1000), for
	// ValueType Percentage: no floating point near money.
	PercentBP int64
	// Amount is the amount off (positive), for ValueType FixedAmount, in the
	// store currency's minor units.
	Amount          money.Amount
	TargetType      string       // LineItem or ShippingLine
	MinSubtotal     money.Amount // 0 when none
	OncePerCustomer bool
}

// Type is "percentage", "fixed_amount" or "shipping" (free or discounted
// shipping), as orders record it.
func (d Discount) Type() string {
	if d.TargetType == ShippingLine {
		return "shipping"
	}
	return d.ValueType
}

// The shopper-facing refusals of a discount code. Their messages are shown
// as they are at checkout.
var (
	// ErrCodeUnknown is a code the store does not have (or an empty one).
	ErrCodeUnknown = errs.E(errs.Invalid, "Enter a valid discount code")
	// ErrCodeExpired is a code whose rule ended.
	ErrCodeExpired = errs.E(errs.Invalid, "This discount code has expired")
	// ErrCodeNotActive is a code whose rule has not started yet.
	ErrCodeNotActive = errs.E(errs.Invalid, "This discount code is not active yet")
	// ErrCodeUsedUp is a code whose rule reached its usage limit: Invalid
	// from CodeIn (the shopper should remove it), Conflict from RedeemIn (it
	// was used up while the shopper checked out).
	ErrCodeUsedUp = errs.E(errs.Invalid, "This discount code has reached its usage limit")
	// ErrUsageLimit is RedeemIn's refusal when the last use went to another
	// order first.
	ErrUsageLimit = errs.E(errs.Conflict, "This discount code has reached its usage limit")
	// ErrAlreadyUsed is RedeemIn's refusal of a second use of a rule that is
	// once per customer.
	ErrAlreadyUsed = errs.E(errs.Conflict, "This discount code has already been used")
	// ErrNeedsEmail is RedeemIn's refusal of a once-per-customer code without
	// a customer to count it against.
	ErrNeedsEmail = errs.E(errs.Invalid, "Enter an email address to use this discount code")
)

// CodeIn finds code (trimmed, ignoring case) usable at now, inside the
// caller's transaction. It does not lock or count anything: RedeemIn does
// that when the order is placed.
//
// Errors: Invalid (ErrCodeUnknown, ErrCodeExpired, ErrCodeNotActive,
// ErrCodeUsedUp), with a message a shopper can act on.
func CodeIn(tx *gorm.DB, code string, now time.Time) (Discount, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > maxCode*4 {
		return Discount{}, ErrCodeUnknown
	}
	u, err := findUsableCode(tx, code)
	if err != nil {
		return Discount{}, err
	}
	r := u.Rule
	switch {
	case now.Before(r.StartsAt):
		return Discount{}, ErrCodeNotActive
	case r.EndsAt != nil && !now.Before(*r.EndsAt):
		return Discount{}, ErrCodeExpired
	case r.UsageLimit != nil && r.TimesUsed >= *r.UsageLimit:
		return Discount{}, ErrCodeUsedUp
	}
	return u.toDiscount(), nil
}

// Off computes what d takes off an order whose merchandise subtotal and
// shipping are given (minor units of cur): from the merchandise (lines) for
// a line_item rule, never more than the subtotal, or from shipping (ship)
// for a shipping_line rule, never more than the shipping. Percentages round
// half up to the minor unit.
//
// Errors: Invalid when the subtotal is below the rule's minimum, saying how
// much more to spend ("Spend 12.50 USD more to use this code").
func (d Discount) Off(subtotal, shipping money.Amount, cur money.Currency) (lines, ship money.Amount, err error) {
	if d.MinSubtotal > 0 && subtotal < d.MinSubtotal {
		return 0, 0, errs.E(errs.Invalid, "Spend %s %s more to use this code", cur.Format(d.MinSubtotal-subtotal), cur.Code)
	}
	if d.TargetType == ShippingLine {
		return 0, d.off(shipping), nil
	}
	return d.off(subtotal), 0, nil
}

// off is what d takes off base, at most base.
func (d Discount) off(base money.Amount) money.Amount {
	if base <= 0 {
		return 0
	}
	var a money.Amount
	switch d.ValueType {
	case Percentage:
		// base is at most money.Max (1e14) and PercentBP at most 10,000, so
		// the product fits in an int64.
		a = (base*money.Amount(d.PercentBP) + 5_000) / 10_000
	case FixedAmount:
		a = d.Amount
	}
	return min(max(a, 0), base)
}

// RedeemIn counts one use of d by customerKey (the buyer's email; compared
// ignoring case) for order orderID, inside the order's transaction, so a use
// is counted if and only if the order is placed.
//
// The rule's row is locked first, so concurrent redemptions of a rule take
// turns: its usage limit and once-per-customer both hold, with a unique
// index on once-per-customer redemptions as a backstop. A refusal writes
// nothing, so the caller may roll back, or place the order without the
// discount.
//
// Errors: Conflict (ErrUsageLimit, ErrAlreadyUsed), Invalid (ErrCodeUnknown
// when the code or its rule was deleted meanwhile; ErrNeedsEmail).
func RedeemIn(tx *gorm.DB, d Discount, customerKey string, orderID int64) error {
	key := strings.ToLower(strings.TrimSpace(customerKey))
	if d.OncePerCustomer && key == "" {
		return ErrNeedsEmail
	}
	lock, err := lockRule(tx, d.RuleID, d.CodeID)
	if err != nil {
		return err
	}
	if !lock.CodeExists {
		return ErrCodeUnknown
	}
	if lock.UsageLimit != nil && lock.TimesUsed >= *lock.UsageLimit {
		return ErrUsageLimit
	}
	// Whether the rule is once per customer now, not when the shopper typed
	// the code: the merchant may have changed it since.
	if lock.OncePerCustomer {
		if key == "" {
			return ErrNeedsEmail
		}
		used, err := hasRedeemed(tx, d.RuleID, key)
		if err != nil {
			return err
		}
		if used {
			return ErrAlreadyUsed
		}
	}
	inserted, err := insertRedemption(tx, redemption{RuleID: d.RuleID, CodeID: d.CodeID, CustomerKey: key,
		OrderID: orderID, OncePerCustomer: lock.OncePerCustomer, CreatedAt: time.Now().UTC()})
	if err != nil {
		return err
	}
	if !inserted {
		return ErrAlreadyUsed // cannot happen under the lock; the index says no
	}
	return countUse(tx, d.RuleID, d.CodeID)
}
