package discounts

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
)

type ruleRow struct {
	ID                int64      `gorm:"column:id"`
	Title             string     `gorm:"column:title"`
	ValueType         string     `gorm:"column:value_type"`
	PercentBP         int64      `gorm:"column:percent_bp"`
	Amount            int64      `gorm:"column:amount"`
	TargetType        string     `gorm:"column:target_type"`
	TargetSelection   string     `gorm:"column:target_selection"`
	AllocationMethod  string     `gorm:"column:allocation_method"`
	CustomerSelection string     `gorm:"column:customer_selection"`
	MinSubtotal       int64      `gorm:"column:min_subtotal"`
	StartsAt          time.Time  `gorm:"column:starts_at"`
	EndsAt            *time.Time `gorm:"column:ends_at"`
	UsageLimit        *int64     `gorm:"column:usage_limit"`
	TimesUsed         int64      `gorm:"column:times_used"`
	OncePerCustomer   bool       `gorm:"column:once_per_customer"`
	CreatedAt         time.Time  `gorm:"column:created_at"`
	UpdatedAt         time.Time  `gorm:"column:updated_at"`
}

const ruleColumns = `r.id, r.title, r.value_type, r.percent_bp, r.amount, r.target_type, r.target_selection,
	r.allocation_method, r.customer_selection, r.min_subtotal, r.starts_at, r.ends_at, r.usage_limit, r.times_used,
	r.once_per_customer, r.created_at, r.updated_at`

func (r ruleRow) toPriceRule() PriceRule {
	return PriceRule{ID: r.ID, Title: r.Title, ValueType: r.ValueType, PercentBP: r.PercentBP, Amount: money.Amount(r.Amount),
		TargetType: r.TargetType, TargetSelection: r.TargetSelection, AllocationMethod: r.AllocationMethod,
		CustomerSelection: r.CustomerSelection, MinSubtotal: money.Amount(r.MinSubtotal), StartsAt: r.StartsAt.UTC(),
		EndsAt: utcPtr(r.EndsAt), UsageLimit: r.UsageLimit, TimesUsed: r.TimesUsed, OncePerCustomer: r.OncePerCustomer,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

type codeRow struct {
	ID          int64     `gorm:"column:id"`
	PriceRuleID int64     `gorm:"column:price_rule_id"`
	Code        string    `gorm:"column:code"`
	UsageCount  int64     `gorm:"column:usage_count"`
	CreatedAt   time.Time `gorm:"column:created_at"`
	UpdatedAt   time.Time `gorm:"column:updated_at"`
}

const codeColumns = `c.id, c.price_rule_id, c.code, c.usage_count, c.created_at, c.updated_at`

func (r codeRow) toCode() Code {
	return Code{ID: r.ID, RuleID: r.PriceRuleID, Code: r.Code, UsageCount: r.UsageCount,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// usableRow is a code with its rule, as CodeIn reads it.
type usableRow struct {
	CodeID int64   `gorm:"column:code_id"`
	Code   string  `gorm:"column:code"`
	Rule   ruleRow `gorm:"embedded"`
}

func (r usableRow) toDiscount() Discount {
	p := r.Rule
	return Discount{CodeID: r.CodeID, RuleID: p.ID, Code: r.Code, Title: p.Title, ValueType: p.ValueType,
		PercentBP: p.PercentBP, Amount: money.Amount(p.Amount), TargetType: p.TargetType,
		MinSubtotal: money.Amount(p.MinSubtotal), OncePerCustomer: p.OncePerCustomer}
}

// --- checkout -------------------------------------------------------------------

// findUsableCode loads code (matched ignoring case) with its rule.
func findUsableCode(tx *gorm.DB, code string) (usableRow, error) {
	var rows []usableRow
	err := tx.Raw(`SELECT c.id AS code_id, c.code, `+ruleColumns+`
		FROM discount_codes c JOIN price_rules r ON r.id = c.price_rule_id WHERE lower(c.code) = lower(?)`, code).Scan(&rows).Error
	if err != nil {
		return usableRow{}, fmt.Errorf("find discount code: %w", err)
	}
	if len(rows) == 0 {
		return usableRow{}, ErrCodeUnknown
	}
	return rows[0], nil
}

type ruleLock struct {
	UsageLimit      *int64 `gorm:"column:usage_limit"`
	TimesUsed       int64  `gorm:"column:times_used"`
	OncePerCustomer bool   `gorm:"column:once_per_customer"`
	CodeExists      bool   `gorm:"column:code_exists"`
}

// lockRule locks price rule ruleID for the rest of the transaction and
// reads its usage, and whether code codeID is still one of its codes.
func lockRule(tx *gorm.DB, ruleID, codeID int64) (ruleLock, error) {
	var rows []ruleLock
	err := tx.Raw(`SELECT r.usage_limit, r.times_used, r.once_per_customer,
		EXISTS (SELECT 1 FROM discount_codes c WHERE c.id = ? AND c.price_rule_id = r.id) AS code_exists
		FROM price_rules r WHERE r.id = ? FOR UPDATE OF r`, codeID, ruleID).Scan(&rows).Error
	if err != nil {
		return ruleLock{}, fmt.Errorf("lock price rule %d: %w", ruleID, err)
	}
	if len(rows) == 0 {
		return ruleLock{}, ErrCodeUnknown
	}
	return rows[0], nil
}

func hasRedeemed(tx *gorm.DB, ruleID int64, customerKey string) (bool, error) {
	var used bool
	err := tx.Raw(`SELECT EXISTS (SELECT 1 FROM discount_redemptions WHERE price_rule_id = ? AND customer_key = ?)`,
		ruleID, customerKey).Scan(&used).Error
	if err != nil {
		return false, fmt.Errorf("find redemptions of price rule %d: %w", ruleID, err)
	}
	return used, nil
}

type redemption struct {
	RuleID, CodeID  int64
	CustomerKey     string
	OrderID         int64
	OncePerCustomer bool
	CreatedAt       time.Time
}

// insertRedemption records a use, or reports false when the customer has
// one already and the rule is once per customer. It never aborts the
// caller's transaction on that conflict.
func insertRedemption(tx *gorm.DB, r redemption) (bool, error) {
	var ids []int64
	err := tx.Raw(`INSERT INTO discount_redemptions (price_rule_id, discount_code_id, customer_key, order_id, once_per_customer, created_at)
		VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING id`,
		r.RuleID, r.CodeID, r.CustomerKey, r.OrderID, r.OncePerCustomer, r.CreatedAt).Scan(&ids).Error
	if err != nil {
		return false, fmt.Errorf("insert discount redemption: %w", err)
	}
	return len(ids) == 1, nil
}

// countUse adds one use to rule ruleID and its code codeID; the rule's
// update is conditional on its limit, a backstop to the lock.
func countUse(tx *gorm.DB, ruleID, codeID int64) error {
	res := tx.Exec(`UPDATE price_rules SET times_used = times_used + 1
		WHERE id = ? AND (usage_limit IS NULL OR times_used < usage_limit)`, ruleID)
	if res.Error != nil {
		return fmt.Errorf("count use of price rule %d: %w", ruleID, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrUsageLimit
	}
	res = tx.Exec(`UPDATE discount_codes SET usage_count = usage_count + 1 WHERE id = ? AND price_rule_id = ?`, codeID, ruleID)
	if res.Error != nil {
		return fmt.Errorf("count use of discount code %d: %w", codeID, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrCodeUnknown
	}
	return nil
}

// --- price rules ----------------------------------------------------------------

// findPriceRules loads the rules q selects, in id order (q.Limit of them).
func findPriceRules(tx *gorm.DB, q RuleQuery) ([]PriceRule, error) {
	where, args := q.where()
	cond, keyArgs, order := pg.Keyset("r.id", q.After, q.Before)
	args = append(append(args, keyArgs...), q.Limit)
	var rows []ruleRow
	err := tx.Raw(`SELECT `+ruleColumns+` FROM price_rules r WHERE `+where+cond+` ORDER BY `+order+` LIMIT ?`, args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find price rules: %w", err)
	}
	if q.Before != 0 {
		slices.Reverse(rows)
	}
	out := make([]PriceRule, len(rows))
	for i, r := range rows {
		out[i] = r.toPriceRule()
	}
	return out, nil
}

func countPriceRules(tx *gorm.DB, q RuleQuery) (int64, error) {
	where, args := q.where()
	var n int64
	if err := tx.Raw(`SELECT count(*) FROM price_rules r WHERE `+where, args...).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("count price rules: %w", err)
	}
	return n, nil
}

// findPriceRule loads rule id, locking it when lock is set.
func findPriceRule(tx *gorm.DB, id int64, lock bool) (PriceRule, error) {
	forUpdate := ""
	if lock {
		forUpdate = " FOR UPDATE"
	}
	var rows []ruleRow
	if err := tx.Raw(`SELECT `+ruleColumns+` FROM price_rules r WHERE r.id = ?`+forUpdate, id).Scan(&rows).Error; err != nil {
		return PriceRule{}, fmt.Errorf("find price rule %d: %w", id, err)
	}
	if len(rows) == 0 {
		return PriceRule{}, ErrPriceRuleNotFound
	}
	return rows[0].toPriceRule(), nil
}

// ruleWriteError translates a CHECK violation (input that validation
// should have refused) into Invalid rather than a 500.
func ruleWriteError(op string, err error) error {
	if pg.Code(err) == pg.CheckViolation {
		return &errs.Error{Kind: errs.Invalid, Message: "price rule is invalid", Err: err,
			Fields: map[string][]string{"base": {"is invalid (" + pg.Constraint(err) + ")"}}}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// insertPriceRule inserts r and sets its id.
func insertPriceRule(tx *gorm.DB, r *PriceRule) error {
	var ids []int64
	err := tx.Raw(`INSERT INTO price_rules (title, value_type, percent_bp, amount, target_type, target_selection,
		allocation_method, customer_selection, min_subtotal, starts_at, ends_at, usage_limit, once_per_customer, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		r.Title, r.ValueType, r.PercentBP, int64(r.Amount), r.TargetType, r.TargetSelection, r.AllocationMethod,
		r.CustomerSelection, int64(r.MinSubtotal), r.StartsAt, r.EndsAt, r.UsageLimit, r.OncePerCustomer,
		r.CreatedAt, r.UpdatedAt).Scan(&ids).Error
	if err != nil {
		return ruleWriteError("insert price rule", err)
	}
	if len(ids) != 1 {
		return errors.New("insert price rule: no id returned")
	}
	r.ID = ids[0]
	return nil
}

// updatePriceRule writes r's fields (not its usage).
func updatePriceRule(tx *gorm.DB, r PriceRule) error {
	err := tx.Exec(`UPDATE price_rules SET title = ?, value_type = ?, percent_bp = ?, amount = ?, target_type = ?,
		target_selection = ?, allocation_method = ?, customer_selection = ?, min_subtotal = ?, starts_at = ?, ends_at = ?,
		usage_limit = ?, once_per_customer = ?, updated_at = ? WHERE id = ?`,
		r.Title, r.ValueType, r.PercentBP, int64(r.Amount), r.TargetType, r.TargetSelection, r.AllocationMethod,
		r.CustomerSelection, int64(r.MinSubtotal), r.StartsAt, r.EndsAt, r.UsageLimit, r.OncePerCustomer,
		r.UpdatedAt, r.ID).Error
	if err != nil {
		return ruleWriteError(fmt.Sprintf("update price rule %d", r.ID), err)
	}
	return nil
}

func deletePriceRule(tx *gorm.DB, id int64) error {
	res := tx.Exec(`DELETE FROM price_rules WHERE id = ?`, id)
	if res.Error != nil {
		return fmt.Errorf("delete price rule %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrPriceRuleNotFound
	}
	return nil
}

// --- codes ------------------------------------------------------------------------

// findCodes loads the codes q selects, in id order (q.Limit of them).
func findCodes(tx *gorm.DB, q CodeQuery) ([]Code, error) {
	where, args := q.where()
	cond, keyArgs, order := pg.Keyset("c.id", q.After, q.Before)
	args = append(append(args, keyArgs...), q.Limit)
	var rows []codeRow
	err := tx.Raw(`SELECT `+codeColumns+` FROM discount_codes c WHERE `+where+cond+` ORDER BY `+order+` LIMIT ?`, args...).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("find discount codes: %w", err)
	}
	if q.Before != 0 {
		slices.Reverse(rows)
	}
	out := make([]Code, len(rows))
	for i, r := range rows {
		out[i] = r.toCode()
	}
	return out, nil
}

func countCodes(tx *gorm.DB, q CodeQuery) (int64, error) {
	where, args := q.where()
	var n int64
	if err := tx.Raw(`SELECT count(*) FROM discount_codes c WHERE `+where, args...).Scan(&n).Error; err != nil {
		return 0, fmt.Errorf("count discount codes: %w", err)
	}
	return n, nil
}

// findCode loads code id of rule ruleID.
func findCode(tx *gorm.DB, ruleID, id int64) (Code, error) {
	var rows []codeRow
	err := tx.Raw(`SELECT `+codeColumns+` FROM discount_codes c WHERE c.price_rule_id = ? AND c.id = ?`, ruleID, id).Scan(&rows).Error
	if err != nil {
		return Code{}, fmt.Errorf("find discount code %d: %w", id, err)
	}
	if len(rows) == 0 {
		return Code{}, ErrCodeNotFound
	}
	return rows[0].toCode(), nil
}

// findCodeByText loads the code whose text is code, ignoring case.
func findCodeByText(tx *gorm.DB, code string) (Code, error) {
	var rows []codeRow
	err := tx.Raw(`SELECT `+codeColumns+` FROM discount_codes c WHERE lower(c.code) = lower(?)`, code).Scan(&rows).Error
	if err != nil {
		return Code{}, fmt.Errorf("look up discount code: %w", err)
	}
	if len(rows) == 0 {
		return Code{}, ErrCodeNotFound
	}
	return rows[0].toCode(), nil
}

// errCodeTaken is Shopify's answer to a code the store has already,
// ignoring case.
var errCodeTaken = &errs.Error{Kind: errs.Invalid, Message: "code must be unique. Please try a different code.",
	Fields: map[string][]string{"code": {"must be unique. Please try a different code."}}}

func codeWriteError(op string, err error) error {
	switch {
	case pg.Code(err) == pg.UniqueViolation && pg.Constraint(err) == "discount_codes_code_key":
		return errCodeTaken
	case pg.Code(err) == pg.CheckViolation:
		return &errs.Error{Kind: errs.Invalid, Message: "code is invalid", Err: err,
			Fields: map[string][]string{"code": {"is invalid"}}}
	}
	return fmt.Errorf("%s: %w", op, err)
}

// insertCode inserts c and sets its id.
func insertCode(tx *gorm.DB, c *Code) error {
	var ids []int64
	err := tx.Raw(`INSERT INTO discount_codes (price_rule_id, code, created_at, updated_at) VALUES (?, ?, ?, ?) RETURNING id`,
		c.RuleID, c.Code, c.CreatedAt, c.UpdatedAt).Scan(&ids).Error
	if err != nil {
		return codeWriteError("insert discount code", err)
	}
	if len(ids) != 1 {
		return errors.New("insert discount code: no id returned")
	}
	c.ID = ids[0]
	return nil
}

func updateCode(tx *gorm.DB, c Code) error {
	res := tx.Exec(`UPDATE discount_codes SET code = ?, updated_at = ? WHERE price_rule_id = ? AND id = ?`,
		c.Code, c.UpdatedAt, c.RuleID, c.ID)
	if res.Error != nil {
		return codeWriteError(fmt.Sprintf("update discount code %d", c.ID), res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrCodeNotFound
	}
	return nil
}

func deleteCode(tx *gorm.DB, ruleID, id int64) error {
	res := tx.Exec(`DELETE FROM discount_codes WHERE price_rule_id = ? AND id = ?`, ruleID, id)
	if res.Error != nil {
		return fmt.Errorf("delete discount code %d: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return ErrCodeNotFound
	}
	return nil
}
