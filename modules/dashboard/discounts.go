package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/discounts"
	"github.com/storefleet/storefleet/modules/shop"
)

// discountsPerPage is the discounts list's page size.
const discountsPerPage = 25

// discountCodesShown is how many codes a row of the list names.
const discountCodesShown = 5

// The kinds of discount the create form offers, each a shape of Shopify's
// price rule (free shipping is 100% off the shipping lines, as Shopify's
// admin makes it).
const (
	discountPercentage   = "percentage"
	discountFixedAmount  = "fixed_amount"
	discountFreeShipping = "free_shipping"
)

// discountTypes label the create form's kinds.
var discountTypes = []struct{ Value, Label string }{
	{discountPercentage, "Percentage off the order"},
	{discountFixedAmount, "Fixed amount off the order"},
	{discountFreeShipping, "Free shipping"},
}

// Statuses of a discount, as the list shows them.
const (
	discountActive    = "active"
	discountScheduled = "scheduled"
	discountExpired   = "expired"
)

// discountStatus is whether rule r applies at now: not yet (scheduled),
// no longer (expired: ended, or its usage limit reached), or active.
func discountStatus(r discounts.PriceRule, now time.Time) string {
	switch {
	case now.Before(r.StartsAt):
		return discountScheduled
	case r.EndsAt != nil && !now.Before(*r.EndsAt):
		return discountExpired
	case r.UsageLimit != nil && r.TimesUsed >= *r.UsageLimit:
		return discountExpired
	}
	return discountActive
}

// discountRow is a line of the discounts list.
type discountRow struct {
	ID              int64
	Title           string
	Codes           []string
	MoreCodes       bool
	Value, Minimum  string
	Starts, Ends    string
	Used            string
	OncePerCustomer bool
	Status          string
	CanDisable      bool
}

// discountForm is the create form's values, kept after an error.
type discountForm struct {
	Code, Type, Value, MinSubtotal string
	Starts, Ends, UsageLimit       string
	OncePerCustomer                bool
}

// discountsPage is the discounts list with its create form.
type discountsPage struct {
	Rows       []discountRow
	Total      int64
	Prev, Next string
	CanWrite   bool
	Currency   string
	Types      []struct{ Value, Label string }
	Form       discountForm
	Flash      string
	Error      string
	Fields     map[string][]string // by the form's field names
}

// discounts lists the store's price rules, newest first, with their codes,
// usage and status, and (for a role that may change discounts) a form to
// create one.
func (d *Dashboard) discounts(c *gin.Context) {
	page := discountsPage{Form: discountForm{Type: discountPercentage}}
	rules := c.Query("done")
	switch rules {
	case "created", "disabled":
		if id, err := strconv.ParseInt(c.Query("rule"), 10, 64); err == nil {
			if r, err := d.cfg.Discounts.PriceRule(c.Request.Context(), memberOf(c).Store, id); err == nil {
				page.Flash = fmt.Sprintf("Discount %s is %s.", r.Title, rules)
			}
		}
	case "deleted":
		page.Flash = "The discount is deleted."
	}
	d.showDiscounts(c, http.StatusOK, page, nil)
}

// showDiscounts renders the discounts list with status; page carries the
// create form's values and formErr an Invalid error the merchant can act on.
func (d *Dashboard) showDiscounts(c *gin.Context, status int, page discountsPage, formErr error) {
	m := memberOf(c)
	ctx := c.Request.Context()
	page.Types = discountTypes
	q := discounts.RuleQuery{Limit: discountsPerPage}
	at := readCursor(c)
	q.After, q.Before = at.bounds()
	rs, more, err := d.cfg.Discounts.PriceRules(ctx, m.Store, q)
	if err != nil {
		d.failErr(c, err)
		return
	}
	if page.Total, err = d.cfg.Discounts.CountPriceRules(ctx, m.Store, discounts.RuleQuery{}); err != nil {
		d.failErr(c, err)
		return
	}
	if page.CanWrite, err = d.Allowed(m, discounts.Object, rbac.Write); err != nil {
		d.failErr(c, err)
		return
	}
	cur, loc, err := d.discountPlace(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	page.Currency = cur.Code
	now := time.Now()
	for i := len(rs) - 1; i >= 0; i-- {
		r := rs[i]
		codes, moreCodes, err := d.cfg.Discounts.Codes(ctx, m.Store, discounts.CodeQuery{RuleID: r.ID, Limit: discountCodesShown})
		if err != nil {
			d.failErr(c, err)
			return
		}
		row := discountRow{ID: r.ID, Title: r.Title, MoreCodes: moreCodes, Value: discountValue(r, cur),
			Starts: r.StartsAt.In(loc).Format("2 Jan 2006"), OncePerCustomer: r.OncePerCustomer, Status: discountStatus(r, now)}
		for _, code := range codes {
			row.Codes = append(row.Codes, code.Code)
		}
		if r.MinSubtotal > 0 {
			row.Minimum = cur.Format(r.MinSubtotal) + " " + cur.Code
		}
		if r.EndsAt != nil {
			row.Ends = discountEnd(r.EndsAt.In(loc))
		}
		row.Used = strconv.FormatInt(r.TimesUsed, 10)
		if r.UsageLimit != nil {
			row.Used += " of " + strconv.FormatInt(*r.UsageLimit, 10)
		}
		row.CanDisable = row.Status == discountActive || row.Status == discountScheduled
		page.Rows = append(page.Rows, row)
	}
	var keep url.Values
	if n := len(page.Rows); n > 0 {
		page.Prev, page.Next = at.links(page.Rows[0].ID, page.Rows[n-1].ID, more, keep)
	}
	if formErr != nil {
		page.Error, page.Fields = errs.MessageOf(formErr), discountFields(errs.FieldsOf(formErr))
	}
	d.render(c, status, "discounts", "Discounts", page)
}

// discountEnd says when a discount ending at e stops: a discount made to
// end on a day (the form's way) ends at the next midnight, which reads
// better as the end of that day.
func discountEnd(e time.Time) string {
	if e.Hour() == 0 && e.Minute() == 0 && e.Second() == 0 && e.Nanosecond() == 0 {
		return "the end of " + e.AddDate(0, 0, -1).Format("2 Jan 2006")
	}
	return e.Format("2 Jan 2006 15:04")
}

// discountPlace is the store's currency and time zone, in which the form's
// amounts and dates are written.
func (d *Dashboard) discountPlace(c *gin.Context) (money.Currency, *time.Location, error) {
	var cur money.Currency
	loc := time.UTC
	err := d.cfg.DB.ReadTx(c.Request.Context(), memberOf(c).Store, func(tx *gorm.DB) error {
		sh, err := shop.ShopIn(tx)
		if err != nil {
			return err
		}
		if cur, err = money.ParseCurrency(sh.Currency); err != nil {
			return err
		}
		if l, err := time.LoadLocation(sh.Timezone); err == nil && sh.Timezone != "" {
			loc = l
		}
		return nil
	})
	return cur, loc, err
}

// discountValue says what rule r takes off, for a person.
func discountValue(r discounts.PriceRule, cur money.Currency) string {
	switch {
	case r.TargetType == discounts.ShippingLine && r.ValueType == discounts.Percentage && r.PercentBP == 10000:
		return "Free shipping"
	case r.ValueType == discounts.Percentage:
		p := decimal.New(r.PercentBP, -2).String() + "% off"
		if r.TargetType == discounts.ShippingLine {
			p += " shipping"
		}
		return p
	}
	v := cur.Format(r.Amount) + " " + cur.Code + " off"
	if r.TargetType == discounts.ShippingLine {
		v += " shipping"
	}
	return v
}

// discountFieldNames maps the price rule's fields (as the service names
// them, the Admin API's) to the create form's.
var discountFieldNames = map[string]string{
	"title": "code", "code": "code", "value": "value", "value_type": "type", "target_type": "type",
	"prerequisite_subtotal_range": "min_subtotal", "starts_at": "starts", "ends_at": "ends", "usage_limit": "usage_limit",
}

// discountFields renames the service's per-field messages to the form's
// fields; a field the form does not have keeps its name.
func discountFields(f map[string][]string) map[string][]string {
	if f == nil {
		return nil
	}
	out := map[string][]string{}
	for k, msgs := range f {
		if n, ok := discountFieldNames[k]; ok {
			k = n
		}
		out[k] = append(out[k], msgs...)
	}
	return out
}

// discountInput reads the create form into a price rule and its code, in
// the store's currency and time zone, checking what only the form can get
// wrong (a positive number where Shopify wants a negative one, a date).
//
// Errors: Invalid, with messages on the form's fields.
func discountInput(form discountForm, loc *time.Location) (discounts.PriceRuleInput, error) {
	f := errs.Fields{}
	in := discounts.PriceRuleInput{Title: &form.Code, OncePerCustomer: &form.OncePerCustomer}
	if strings.TrimSpace(form.Code) == "" {
		f.Add("code", "can't be blank")
	}
	valueType, target := discounts.Percentage, discounts.LineItem
	value := ""
	switch form.Type {
	case discountPercentage, discountFixedAmount:
		if form.Type == discountFixedAmount {
			valueType = discounts.FixedAmount
		}
		v, err := decimal.NewFromString(strings.TrimSpace(form.Value))
		switch {
		case err != nil || strings.ContainsAny(form.Value, "eE"):
			f.Add("value", "must be a number like 10 or 5.50")
		case !v.IsPositive():
			f.Add("value", "must be more than 0")
		case form.Type == discountPercentage && v.GreaterThan(decimal.NewFromInt(100)):
			f.Add("value", "must be at most 100 (percent)")
		default:
			value = v.Neg().String()
		}
	case discountFreeShipping:
		target, value = discounts.ShippingLine, "-100"
	default:
		f.Add("type", "must be percentage, fixed amount or free shipping")
	}
	in.ValueType, in.TargetType, in.Value = &valueType, &target, &value
	minimum := strings.TrimSpace(form.MinSubtotal)
	in.MinSubtotal = &minimum
	day := func(field, s string) *time.Time {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil
		}
		t, err := time.ParseInLocation(time.DateOnly, s, loc)
		if err != nil {
			f.Add(field, "must be a date like 2025-01-31")
			return nil
		}
		return &t
	}
	in.StartsAt = day("starts", form.Starts)
	if ends := day("ends", form.Ends); ends != nil {
		e := ends.AddDate(0, 0, 1) // the end of that day: the discount works all of it
		in.EndsAt = &e
	}
	if s := strings.TrimSpace(form.UsageLimit); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n <= 0 {
			f.Add("usage_limit", "must be a whole number of at least 1, or empty for no limit")
		} else {
			in.UsageLimit = &n
		}
	}
	return in, f.Err()
}

// createDiscount creates a price rule and its code in one transaction
// (discounts.CreateDiscount): a code the store has already, even one taken
// by another request at the same moment, is refused and nothing is made.
func (d *Dashboard) createDiscount(c *gin.Context) {
	m := memberOf(c)
	ctx := c.Request.Context()
	form := discountForm{Code: strings.TrimSpace(c.PostForm("code")), Type: c.PostForm("type"), Value: c.PostForm("value"),
		MinSubtotal: c.PostForm("min_subtotal"), Starts: c.PostForm("starts"), Ends: c.PostForm("ends"),
		UsageLimit: c.PostForm("usage_limit"), OncePerCustomer: c.PostForm("once_per_customer") != ""}
	page := discountsPage{Form: form}
	_, loc, err := d.discountPlace(c)
	if err != nil {
		d.failErr(c, err)
		return
	}
	in, err := discountInput(form, loc)
	var rule discounts.PriceRule
	if err == nil {
		rule, _, err = d.cfg.Discounts.CreateDiscount(ctx, m.Store, in, form.Code)
		if errors.Is(err, discounts.ErrCodeTaken) {
			err = &errs.Error{Kind: errs.Invalid, Message: fmt.Sprintf("The code %s is taken by another discount. Please try a different code.", form.Code),
				Fields: map[string][]string{"code": {"is taken by another discount"}}, Err: err}
		}
	}
	switch {
	case err == nil:
		c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/discounts?done=created&rule=%d", m.Store.Slug, rule.ID))
	case errs.Is(err, errs.Invalid), errs.Is(err, errs.Conflict):
		d.showDiscounts(c, http.StatusUnprocessableEntity, page, err)
	default:
		d.failErr(c, err)
	}
}

// discountRuleID is the :id of a discount's action; ok is false for one
// that cannot be.
func discountRuleID(c *gin.Context) (int64, bool) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	return id, err == nil && id > 0
}

// disableDiscount ends a discount now, as PUT price_rules/{id}.json with
// ends_at does; its codes stay, and its history. A discount not yet begun
// is moved into the past (its start a second before its end), since a
// rule must end after it starts.
func (d *Dashboard) disableDiscount(c *gin.Context) {
	m := memberOf(c)
	ctx := c.Request.Context()
	id, ok := discountRuleID(c)
	if !ok {
		d.notFound(c)
		return
	}
	r, err := d.cfg.Discounts.PriceRule(ctx, m.Store, id)
	if err != nil {
		d.failErr(c, err)
		return
	}
	now := time.Now().UTC()
	in := discounts.PriceRuleInput{EndsAt: &now}
	if !r.StartsAt.Before(now) {
		start := now.Add(-time.Second)
		in.StartsAt = &start
	}
	if _, err := d.cfg.Discounts.UpdatePriceRule(ctx, m.Store, id, in); err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/discounts?done=disabled&rule=%d", m.Store.Slug, id))
}

// deleteDiscount removes a discount and its codes, as DELETE
// price_rules/{id}.json does; orders that used it keep what they recorded.
func (d *Dashboard) deleteDiscount(c *gin.Context) {
	m := memberOf(c)
	id, ok := discountRuleID(c)
	if !ok {
		d.notFound(c)
		return
	}
	if err := d.cfg.Discounts.DeletePriceRule(c.Request.Context(), m.Store, id); err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, fmt.Sprintf("/store/%s/discounts?done=deleted", m.Store.Slug))
}
