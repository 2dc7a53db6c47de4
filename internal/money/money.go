// Package money holds amounts as integer minor units of an ISO 4217
// currency (cents for USD, yen for JPY, fils for BHD), never as floats. Each
// currency's number of decimals comes from CLDR (golang.org/x/text); decimal
// text is parsed exactly (shopspring/decimal) and refused, not rounded, when
// it has more decimals than the currency allows.
package money

import (
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
	"golang.org/x/text/currency"

	"github.com/storefleet/storefleet/internal/errs"
)

// Amount is a sum in minor units of some currency.
type Amount int64

// Max is the largest amount accepted: a trillion major units of a
// two-decimal currency, far above any price and far below int64's limit.
const Max Amount = 100_000_000_000_000

// Currency is an ISO 4217 currency with its number of decimals.
type Currency struct {
	Code   string
	Digits int
}

// ParseCurrency returns the currency with ISO code code (case-insensitive).
//
// Errors: Invalid.
func ParseCurrency(code string) (Currency, error) {
	u, err := currency.ParseISO(strings.TrimSpace(code))
	if err != nil {
		return Currency{}, errs.E(errs.Invalid, "%q is not an ISO 4217 currency code", code)
	}
	scale, _ := currency.Standard.Rounding(u)
	return Currency{Code: u.String(), Digits: scale}, nil
}

// MustCurrency is ParseCurrency for codes known to be valid.
func MustCurrency(code string) Currency {
	c, err := ParseCurrency(code)
	if err != nil {
		panic(err)
	}
	return c
}

// Parse reads a non-negative decimal amount such as "19.99" or "5".
//
// Errors: Invalid, with a message for the field's owner.
func (c Currency) Parse(s string) (Amount, error) {
	s = strings.TrimSpace(s)
	if s == "" || strings.ContainsAny(s, "eE") {
		return 0, errs.E(errs.Invalid, "must be a decimal amount like 19.99")
	}
	d, err := decimal.NewFromString(s)
	if err != nil {
		return 0, errs.E(errs.Invalid, "must be a decimal amount like 19.99")
	}
	if d.IsNegative() {
		return 0, errs.E(errs.Invalid, "must not be negative")
	}
	minor := d.Shift(int32(c.Digits))
	if !minor.IsInteger() {
		return 0, errs.E(errs.Invalid, "has more than %d decimals for %s", c.Digits, c.Code)
	}
	if minor.GreaterThan(decimal.NewFromInt(int64(Max))) {
		return 0, errs.E(errs.Invalid, "is too large")
	}
	return Amount(minor.IntPart()), nil
}

// Format writes a with the currency's decimals: "19.99", "1500" for JPY.
func (c Currency) Format(a Amount) string {
	return decimal.New(int64(a), -int32(c.Digits)).StringFixed(int32(c.Digits))
}

func (c Currency) String() string { return fmt.Sprintf("%s (%d decimals)", c.Code, c.Digits) }
