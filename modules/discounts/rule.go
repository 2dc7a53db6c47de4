package discounts

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
)

// Selections and allocation methods. Only "all" selections are supported:
// a rule applies to every product and every customer.
const (
	SelectionAll = "all"
	Across       = "across" // one amount spread over the lines
	Each         = "each"   // applied to each target (shipping lines)
)

// Limits.
const (
	maxTitle = 255
	maxCode  = 255
)

// PriceRule is what a discount takes off, when, and how often: Shopify's
// price rule. Its codes are how shoppers use it.
type PriceRule struct {
	ID                int64
	Title             string
	ValueType         string // Percentage or FixedAmount
	PercentBP         int64  // for Percentage: basis points off (10% is 1000)
	Amount            money.Amount
	TargetType        string // LineItem or ShippingLine
	TargetSelection   string
	AllocationMethod  string
	CustomerSelection string
	MinSubtotal       money.Amount // 0 when none
	StartsAt          time.Time
	EndsAt            *time.Time
	UsageLimit        *int64 // across all its codes; nil for no limit
	TimesUsed         int64
	OncePerCustomer   bool
	CreatedAt         time.Time
	UpdatedAt         time.Time
}

// Value is the rule's value as Shopify writes it: a negative decimal,
// "-10.0" for 10% off, "-5.00" for 5.00 off in cur.
func (r PriceRule) Value(cur money.Currency) string {
	if r.PercentBP == 0 && r.Amount == 0 {
		if r.ValueType == Percentage {
			return "0.0"
		}
		return cur.Format(0)
	}
	if r.ValueType == Percentage {
		p := decimal.New(r.PercentBP, -2)
		if r.PercentBP%100 == 0 {
			return "-" + p.StringFixed(1)
		}
		return "-" + p.String()
	}
	return "-" + cur.Format(r.Amount)
}

// Code is a discount code of a price rule: what a shopper types.
type Code struct {
	ID         int64
	RuleID     int64
	Code       string
	UsageCount int64
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// PriceRuleInput is a price rule to create, or a change to one; nil fields
// are left as they are, or take their defaults on creation. Value is
// Shopify's negative decimal text; MinSubtotal is a decimal, "" for none.
// ClearEndsAt and ClearUsageLimit remove the end and the limit.
type PriceRuleInput struct {
	Title             *string
	ValueType         *string
	Value             *string
	TargetType        *string
	TargetSelection   *string
	AllocationMethod  *string
	CustomerSelection *string
	MinSubtotal       *string
	StartsAt          *time.Time
	EndsAt            *time.Time
	ClearEndsAt       bool
	UsageLimit        *int64
	ClearUsageLimit   bool
	OncePerCustomer   *bool
}

// oneOf records a problem unless *s (trimmed) is one of allowed.
func oneOf(f errs.Fields, field string, s *string, allowed ...string) {
	if s == nil {
		return
	}
	*s = strings.TrimSpace(*s)
	for _, a := range allowed {
		if *s == a {
			return
		}
	}
	f.Add(field, "must be one of %s", strings.Join(allowed, ", "))
}

// validate checks what can be checked of in alone, trimming its text;
// creating says whether the fields a new rule needs must be there. check
// does the rest, on the rule as it would be stored.
func (in *PriceRuleInput) validate(creating bool) error {
	f := errs.Fields{}
	if in.Title != nil {
		*in.Title = strings.TrimSpace(*in.Title)
		switch {
		case *in.Title == "":
			f.Add("title", "can't be blank")
		case utf8.RuneCountInString(*in.Title) > maxTitle:
			f.Add("title", "is too long (maximum is %d characters)", maxTitle)
		}
	}
	oneOf(f, "value_type", in.ValueType, Percentage, FixedAmount)
	oneOf(f, "target_type", in.TargetType, LineItem, ShippingLine)
	oneOf(f, "target_selection", in.TargetSelection, SelectionAll)
	oneOf(f, "allocation_method", in.AllocationMethod, Across, Each)
	oneOf(f, "customer_selection", in.CustomerSelection, SelectionAll)
	if creating {
		for _, req := range []struct {
			field string
			set   bool
		}{{"title", in.Title != nil}, {"value_type", in.ValueType != nil}, {"value", in.Value != nil}, {"target_type", in.TargetType != nil}} {
			if !req.set {
				f.Add(req.field, "can't be blank")
			}
		}
	}
	if in.UsageLimit != nil && *in.UsageLimit <= 0 {
		f.Add("usage_limit", "must be greater than 0")
	}
	if in.UsageLimit != nil && *in.UsageLimit > 1<<31-1 {
		f.Add("usage_limit", "must be less than 2147483648")
	}
	return f.Err()
}

// apply sets r's fields from in, in store currency cur, and checks the
// rule as a whole: the value against its type and the currency, the
// allocation against the target, the dates against each other.
//
// Errors: Invalid, with per-field messages.
func (in PriceRuleInput) apply(r *PriceRule, cur money.Currency) error {
	f := errs.Fields{}
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&r.Title, in.Title)
	set(&r.TargetSelection, in.TargetSelection)
	set(&r.CustomerSelection, in.CustomerSelection)
	if in.TargetType != nil && *in.TargetType != r.TargetType {
		r.TargetType = *in.TargetType
		if in.AllocationMethod == nil {
			r.AllocationMethod = "" // the new target's default, below
		}
	}
	set(&r.AllocationMethod, in.AllocationMethod)
	if r.AllocationMethod == "" {
		r.AllocationMethod = Across
		if r.TargetType == ShippingLine {
			r.AllocationMethod = Each
		}
	}
	switch {
	case r.TargetType == LineItem && r.AllocationMethod != Across:
		f.Add("allocation_method", "must be across for target_type line_item")
	case r.TargetType == ShippingLine && r.AllocationMethod != Each:
		f.Add("allocation_method", "must be each for target_type shipping_line")
	}

	if in.ValueType != nil && *in.ValueType != r.ValueType && in.Value == nil {
		f.Add("value", "must be given again when value_type changes")
	}
	set(&r.ValueType, in.ValueType)
	if in.Value != nil {
		r.PercentBP, r.Amount = 0, 0
		parseValue(f, r, *in.Value, cur)
	}

	if in.MinSubtotal != nil {
		r.MinSubtotal = 0
		if s := strings.TrimSpace(*in.MinSubtotal); s != "" {
			a, err := cur.Parse(s)
			if err != nil {
				f.Add("prerequisite_subtotal_range", "greater_than_or_equal_to %s", errs.MessageOf(err))
			}
			r.MinSubtotal = a
		}
	}

	if in.StartsAt != nil {
		r.StartsAt = in.StartsAt.UTC()
	}
	if in.ClearEndsAt {
		r.EndsAt = nil
	} else if in.EndsAt != nil {
		e := in.EndsAt.UTC()
		r.EndsAt = &e
	}
	if r.EndsAt != nil && !r.EndsAt.After(r.StartsAt) {
		f.Add("ends_at", "must be after starts_at")
	}
	if in.ClearUsageLimit {
		r.UsageLimit = nil
	} else if in.UsageLimit != nil {
		n := *in.UsageLimit
		r.UsageLimit = &n
	}
	if in.OncePerCustomer != nil {
		r.OncePerCustomer = *in.OncePerCustomer
	}
	return f.Err()
}

// parseValue reads Shopify's negative value into r's percentage or amount.
func parseValue(f errs.Fields, r *PriceRule, s string, cur money.Currency) {
	s = strings.TrimSpace(s)
	d, err := decimal.NewFromString(s)
	if err != nil || strings.ContainsAny(s, "eE") {
		f.Add("value", "must be a decimal number like -10.0")
		return
	}
	if d.IsPositive() {
		f.Add("value", "must be less than or equal to 0")
		return
	}
	off := d.Neg()
	switch r.ValueType {
	case Percentage:
		if off.GreaterThan(decimal.NewFromInt(100)) {
			f.Add("value", "must be greater than or equal to -100")
			return
		}
		bp := off.Shift(2)
		if !bp.IsInteger() {
			f.Add("value", "can have at most 2 decimals for a percentage")
			return
		}
		r.PercentBP = bp.IntPart()
	case FixedAmount:
		a, err := cur.Parse(off.String())
		if err != nil {
			f.Add("value", "%s", errs.MessageOf(err))
			return
		}
		r.Amount = a
	}
}

// normalizeCode trims a code and checks it: 1 to 255 characters, no
// whitespace.
//
// Errors: Invalid, on field "code".
func normalizeCode(code *string) error {
	if code == nil {
		return &errs.Error{Kind: errs.Invalid, Message: "code can't be blank", Fields: map[string][]string{"code": {"can't be blank"}}}
	}
	*code = strings.TrimSpace(*code)
	f := errs.Fields{}
	switch n := utf8.RuneCountInString(*code); {
	case n == 0:
		f.Add("code", "can't be blank")
	case n > maxCode:
		f.Add("code", "is too long (maximum is %d characters)", maxCode)
	case strings.ContainsFunc(*code, unicode.IsSpace):
		f.Add("code", "must not contain spaces")
	case !utf8.ValidString(*code):
		f.Add("code", "is not valid text")
	}
	return f.Err()
}
