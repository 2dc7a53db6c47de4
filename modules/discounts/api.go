package discounts

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
)

// Object is the access-policy object of price rules and discount codes:
// scopes read_discounts/write_discounts (and Shopify's read_price_rules/
// write_price_rules) grant it.
const Object = "discounts"

// AdminRoutes mounts the price rule and discount code resources. Gin needs
// one name for the wildcard after /price_rules/, so it is "file"
// throughout: "123.json" or "count.json" on the rule routes, "123" on the
// code routes below it.
func (s *Service) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	read, write := g.Require(Object, rbac.Read), g.Require(Object, rbac.Write)
	r.GET("/price_rules.json", read, g.Handle(s.listPriceRules))
	r.POST("/price_rules.json", write, g.Handle(s.createPriceRule))
	r.GET("/price_rules/:file", read, g.Handle(func(c *gin.Context) error {
		if c.Param("file") == "count.json" {
			return s.countPriceRules(c)
		}
		return s.getPriceRule(c)
	}))
	r.PUT("/price_rules/:file", write, g.Handle(s.updatePriceRule))
	r.DELETE("/price_rules/:file", write, g.Handle(s.deletePriceRule))

	r.GET("/price_rules/:file/discount_codes.json", read, g.Handle(s.listCodes))
	r.POST("/price_rules/:file/discount_codes.json", write, g.Handle(s.createCode))
	r.GET("/price_rules/:file/discount_codes/:code", read, g.Handle(s.getCode))
	r.PUT("/price_rules/:file/discount_codes/:code", write, g.Handle(s.updateCode))
	r.DELETE("/price_rules/:file/discount_codes/:code", write, g.Handle(s.deleteCode))

	r.GET("/discount_codes/:file", read, g.Handle(func(c *gin.Context) error {
		switch c.Param("file") {
		case "lookup.json":
			return s.lookupCode(c)
		case "count.json":
			return s.countCodes(c)
		}
		return ErrCodeNotFound
	}))
}

// --- JSON shapes -------------------------------------------------------------

type subtotalRangeJSON struct {
	GreaterThanOrEqualTo string `json:"greater_than_or_equal_to"`
}

type ratioJSON struct {
	PrerequisiteQuantity *int64 `json:"prerequisite_quantity"`
	EntitledQuantity     *int64 `json:"entitled_quantity"`
}

type purchaseJSON struct {
	PrerequisiteAmount *string `json:"prerequisite_amount"`
}

// priceRuleJSON is a price rule as Shopify's Admin API shows it; the
// entitlements and prerequisites we do not have are empty.
type priceRuleJSON struct {
	ID                                     int64              `json:"id"`
	ValueType                              string             `json:"value_type"`
	Value                                  string             `json:"value"`
	CustomerSelection                      string             `json:"customer_selection"`
	TargetType                             string             `json:"target_type"`
	TargetSelection                        string             `json:"target_selection"`
	AllocationMethod                       string             `json:"allocation_method"`
	AllocationLimit                        *int64             `json:"allocation_limit"`
	OncePerCustomer                        bool               `json:"once_per_customer"`
	UsageLimit                             *int64             `json:"usage_limit"`
	StartsAt                               time.Time          `json:"starts_at"`
	EndsAt                                 *time.Time         `json:"ends_at"`
	CreatedAt                              time.Time          `json:"created_at"`
	UpdatedAt                              time.Time          `json:"updated_at"`
	EntitledProductIDs                     []int64            `json:"entitled_product_ids"`
	EntitledVariantIDs                     []int64            `json:"entitled_variant_ids"`
	EntitledCollectionIDs                  []int64            `json:"entitled_collection_ids"`
	EntitledCountryIDs                     []int64            `json:"entitled_country_ids"`
	PrerequisiteProductIDs                 []int64            `json:"prerequisite_product_ids"`
	PrerequisiteVariantIDs                 []int64            `json:"prerequisite_variant_ids"`
	PrerequisiteCollectionIDs              []int64            `json:"prerequisite_collection_ids"`
	CustomerSegmentPrerequisiteIDs         []int64            `json:"customer_segment_prerequisite_ids"`
	PrerequisiteCustomerIDs                []int64            `json:"prerequisite_customer_ids"`
	PrerequisiteSubtotalRange              *subtotalRangeJSON `json:"prerequisite_subtotal_range"`
	PrerequisiteQuantityRange              *struct{}          `json:"prerequisite_quantity_range"`
	PrerequisiteShippingPriceRange         *struct{}          `json:"prerequisite_shipping_price_range"`
	PrerequisiteToEntitlementQuantityRatio ratioJSON          `json:"prerequisite_to_entitlement_quantity_ratio"`
	PrerequisiteToEntitlementPurchase      purchaseJSON       `json:"prerequisite_to_entitlement_purchase"`
	Title                                  string             `json:"title"`
	AdminGraphqlAPIID                      string             `json:"admin_graphql_api_id"`
}

func toPriceRuleJSON(r PriceRule, cur money.Currency) priceRuleJSON {
	out := priceRuleJSON{
		ID: r.ID, ValueType: r.ValueType, Value: r.Value(cur), CustomerSelection: r.CustomerSelection,
		TargetType: r.TargetType, TargetSelection: r.TargetSelection, AllocationMethod: r.AllocationMethod,
		OncePerCustomer: r.OncePerCustomer, UsageLimit: r.UsageLimit, StartsAt: r.StartsAt, EndsAt: r.EndsAt,
		CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt, Title: r.Title,
		EntitledProductIDs: []int64{}, EntitledVariantIDs: []int64{}, EntitledCollectionIDs: []int64{},
		EntitledCountryIDs: []int64{}, PrerequisiteProductIDs: []int64{}, PrerequisiteVariantIDs: []int64{},
		PrerequisiteCollectionIDs: []int64{}, CustomerSegmentPrerequisiteIDs: []int64{}, PrerequisiteCustomerIDs: []int64{},
		AdminGraphqlAPIID: fmt.Sprintf("gid://shopify/PriceRule/%d", r.ID),
	}
	if r.MinSubtotal > 0 {
		out.PrerequisiteSubtotalRange = &subtotalRangeJSON{GreaterThanOrEqualTo: cur.Format(r.MinSubtotal)}
	}
	return out
}

type codeJSON struct {
	ID          int64     `json:"id"`
	PriceRuleID int64     `json:"price_rule_id"`
	Code        string    `json:"code"`
	UsageCount  int64     `json:"usage_count"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

func toCodeJSON(c Code) codeJSON {
	return codeJSON{ID: c.ID, PriceRuleID: c.RuleID, Code: c.Code, UsageCount: c.UsageCount,
		CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

type subtotalRangeRequest struct {
	GreaterThanOrEqualTo *apps.Decimal `json:"greater_than_or_equal_to"`
}

// priceRuleRequest is a price rule as clients send it.
type priceRuleRequest struct {
	Title                     *string                             `json:"title"`
	ValueType                 *string                             `json:"value_type"`
	Value                     *apps.Decimal                       `json:"value"`
	TargetType                *string                             `json:"target_type"`
	TargetSelection           *string                             `json:"target_selection"`
	AllocationMethod          *string                             `json:"allocation_method"`
	CustomerSelection         *string                             `json:"customer_selection"`
	PrerequisiteSubtotalRange apps.Optional[subtotalRangeRequest] `json:"prerequisite_subtotal_range"`
	StartsAt                  apps.Optional[string]               `json:"starts_at"`
	EndsAt                    apps.Optional[string]               `json:"ends_at"`
	UsageLimit                apps.Optional[int64]                `json:"usage_limit"`
	OncePerCustomer           *bool                               `json:"once_per_customer"`
	// Entitlements and prerequisites we do not have: refused when they
	// would narrow the rule, rather than ignored.
	EntitledProductIDs        []int64 `json:"entitled_product_ids"`
	EntitledVariantIDs        []int64 `json:"entitled_variant_ids"`
	EntitledCollectionIDs     []int64 `json:"entitled_collection_ids"`
	EntitledCountryIDs        []int64 `json:"entitled_country_ids"`
	PrerequisiteProductIDs    []int64 `json:"prerequisite_product_ids"`
	PrerequisiteVariantIDs    []int64 `json:"prerequisite_variant_ids"`
	PrerequisiteCollectionIDs []int64 `json:"prerequisite_collection_ids"`
	PrerequisiteCustomerIDs   []int64 `json:"prerequisite_customer_ids"`
}

// parseTime reads an ISO 8601 time of a request, recording a problem in f.
func parseTime(f errs.Fields, field, s string) *time.Time {
	t, err := time.Parse(time.RFC3339, strings.TrimSpace(s))
	if err != nil {
		f.Add(field, "must be an ISO 8601 time like 2025-01-31T15:04:05-05:00")
		return nil
	}
	return &t
}

// toPriceRuleInput converts the request, refusing what it cannot express.
//
// Errors: Invalid, with per-field messages.
func (r priceRuleRequest) toPriceRuleInput() (PriceRuleInput, error) {
	f := errs.Fields{}
	in := PriceRuleInput{Title: r.Title, ValueType: r.ValueType, TargetType: r.TargetType,
		TargetSelection: r.TargetSelection, AllocationMethod: r.AllocationMethod,
		CustomerSelection: r.CustomerSelection, OncePerCustomer: r.OncePerCustomer}
	if r.Value != nil {
		v := string(*r.Value)
		in.Value = &v
	}
	if p := r.PrerequisiteSubtotalRange; p.Set {
		min := ""
		if !p.Null && p.Value.GreaterThanOrEqualTo != nil {
			min = string(*p.Value.GreaterThanOrEqualTo)
		}
		in.MinSubtotal = &min
	}
	if r.StartsAt.Set {
		if r.StartsAt.Null {
			f.Add("starts_at", "can't be blank")
		} else {
			in.StartsAt = parseTime(f, "starts_at", r.StartsAt.Value)
		}
	}
	if r.EndsAt.Set {
		if r.EndsAt.Null || strings.TrimSpace(r.EndsAt.Value) == "" {
			in.ClearEndsAt = true
		} else {
			in.EndsAt = parseTime(f, "ends_at", r.EndsAt.Value)
		}
	}
	if r.UsageLimit.Set {
		if r.UsageLimit.Null {
			in.ClearUsageLimit = true
		} else {
			n := r.UsageLimit.Value
			in.UsageLimit = &n
		}
	}
	for _, ids := range []struct {
		field string
		ids   []int64
	}{
		{"entitled_product_ids", r.EntitledProductIDs}, {"entitled_variant_ids", r.EntitledVariantIDs},
		{"entitled_collection_ids", r.EntitledCollectionIDs}, {"entitled_country_ids", r.EntitledCountryIDs},
		{"prerequisite_product_ids", r.PrerequisiteProductIDs}, {"prerequisite_variant_ids", r.PrerequisiteVariantIDs},
		{"prerequisite_collection_ids", r.PrerequisiteCollectionIDs}, {"prerequisite_customer_ids", r.PrerequisiteCustomerIDs},
	} {
		if len(ids.ids) > 0 {
			f.Add(ids.field, "is not supported: price rules apply to every product and customer")
		}
	}
	return in, f.Err()
}

type codeRequest struct {
	Code *string `json:"code"`
}

// --- price rule handlers -------------------------------------------------------

func ruleID(c *gin.Context) (int64, error) {
	if !strings.HasSuffix(c.Param("file"), ".json") {
		return 0, ErrPriceRuleNotFound
	}
	return apps.FileID(c.Param("file"), ErrPriceRuleNotFound)
}

func (s *Service) writePriceRules(c *gin.Context, status int, key string, rs []PriceRule) error {
	cur, err := s.Currency(c.Request.Context(), apps.PrincipalOf(c).Store)
	if err != nil {
		return err
	}
	fields := apps.SplitList(c.Query("fields"))
	items := make([]any, len(rs))
	for i, r := range rs {
		items[i] = apps.KeepFields(toPriceRuleJSON(r, cur), fields)
	}
	if key == "price_rule" {
		c.JSON(status, gin.H{key: items[0]})
	} else {
		c.JSON(status, gin.H{key: items})
	}
	return nil
}

func (s *Service) decodePriceRule(c *gin.Context) (PriceRuleInput, error) {
	var req priceRuleRequest
	if err := apps.DecodeEnvelope(c, "price_rule", &req); err != nil {
		return PriceRuleInput{}, err
	}
	return req.toPriceRuleInput()
}

func (s *Service) createPriceRule(c *gin.Context) error {
	in, err := s.decodePriceRule(c)
	if err != nil {
		return err
	}
	r, err := s.CreatePriceRule(c.Request.Context(), apps.PrincipalOf(c).Store, in)
	if err != nil {
		return err
	}
	return s.writePriceRules(c, http.StatusCreated, "price_rule", []PriceRule{r})
}

func (s *Service) getPriceRule(c *gin.Context) error {
	id, err := ruleID(c)
	if err != nil {
		return err
	}
	r, err := s.PriceRule(c.Request.Context(), apps.PrincipalOf(c).Store, id)
	if err != nil {
		return err
	}
	return s.writePriceRules(c, http.StatusOK, "price_rule", []PriceRule{r})
}

func (s *Service) updatePriceRule(c *gin.Context) error {
	id, err := ruleID(c)
	if err != nil {
		return err
	}
	in, err := s.decodePriceRule(c)
	if err != nil {
		return err
	}
	r, err := s.UpdatePriceRule(c.Request.Context(), apps.PrincipalOf(c).Store, id, in)
	if err != nil {
		return err
	}
	return s.writePriceRules(c, http.StatusOK, "price_rule", []PriceRule{r})
}

func (s *Service) deletePriceRule(c *gin.Context) error {
	id, err := ruleID(c)
	if err != nil {
		return err
	}
	if err := s.DeletePriceRule(c.Request.Context(), apps.PrincipalOf(c).Store, id); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

func (s *Service) listPriceRules(c *gin.Context) error {
	q, paged, err := parseRuleQuery(c.Request.URL.Query(), false)
	if err != nil {
		return err
	}
	rs, more, err := s.PriceRules(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	if len(rs) > 0 {
		f := q
		f.Limit, f.After, f.Before = 0, 0, 0
		apps.SetLinks(c, f, q.Limit, rs[0].ID, rs[len(rs)-1].ID, q.Before != 0, more, paged)
	}
	return s.writePriceRules(c, http.StatusOK, "price_rules", rs)
}

func (s *Service) countPriceRules(c *gin.Context) error {
	q, _, err := parseRuleQuery(c.Request.URL.Query(), true)
	if err != nil {
		return err
	}
	n, err := s.CountPriceRules(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

// --- discount code handlers ----------------------------------------------------

// codePath reads the rule id ("123") and the code id ("456.json") of a code
// route.
func codePath(c *gin.Context) (ruleID, codeID int64, err error) {
	ruleID, err = strconv.ParseInt(c.Param("file"), 10, 64)
	if err != nil || ruleID <= 0 {
		return 0, 0, ErrCodeNotFound
	}
	if !strings.HasSuffix(c.Param("code"), ".json") {
		return 0, 0, ErrCodeNotFound
	}
	codeID, err = apps.FileID(c.Param("code"), ErrCodeNotFound)
	return ruleID, codeID, err
}

// codesRuleID reads the rule id of the codes collection route ("123").
func codesRuleID(c *gin.Context) (int64, error) {
	id, err := strconv.ParseInt(c.Param("file"), 10, 64)
	if err != nil || id <= 0 {
		return 0, ErrPriceRuleNotFound
	}
	return id, nil
}

func writeCode(c *gin.Context, status int, code Code) error {
	c.JSON(status, gin.H{"discount_code": apps.KeepFields(toCodeJSON(code), apps.SplitList(c.Query("fields")))})
	return nil
}

func (s *Service) listCodes(c *gin.Context) error {
	id, err := codesRuleID(c)
	if err != nil {
		return err
	}
	q, paged, err := parseCodeQuery(c.Request.URL.Query(), false)
	if err != nil {
		return err
	}
	q.RuleID = id
	cs, more, err := s.Codes(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	if len(cs) > 0 {
		f := q
		f.Limit, f.After, f.Before, f.RuleID = 0, 0, 0, 0
		apps.SetLinks(c, f, q.Limit, cs[0].ID, cs[len(cs)-1].ID, q.Before != 0, more, paged)
	}
	fields := apps.SplitList(c.Query("fields"))
	out := make([]any, len(cs))
	for i, code := range cs {
		out[i] = apps.KeepFields(toCodeJSON(code), fields)
	}
	c.JSON(http.StatusOK, gin.H{"discount_codes": out})
	return nil
}

func (s *Service) createCode(c *gin.Context) error {
	id, err := codesRuleID(c)
	if err != nil {
		return err
	}
	var req codeRequest
	if err := apps.DecodeEnvelope(c, "discount_code", &req); err != nil {
		return err
	}
	code, err := s.CreateCode(c.Request.Context(), apps.PrincipalOf(c).Store, id, req.Code)
	if err != nil {
		return err
	}
	return writeCode(c, http.StatusCreated, code)
}

func (s *Service) getCode(c *gin.Context) error {
	rid, cid, err := codePath(c)
	if err != nil {
		return err
	}
	code, err := s.Code(c.Request.Context(), apps.PrincipalOf(c).Store, rid, cid)
	if err != nil {
		return err
	}
	return writeCode(c, http.StatusOK, code)
}

func (s *Service) updateCode(c *gin.Context) error {
	rid, cid, err := codePath(c)
	if err != nil {
		return err
	}
	var req codeRequest
	if err := apps.DecodeEnvelope(c, "discount_code", &req); err != nil {
		return err
	}
	code, err := s.UpdateCode(c.Request.Context(), apps.PrincipalOf(c).Store, rid, cid, req.Code)
	if err != nil {
		return err
	}
	return writeCode(c, http.StatusOK, code)
}

func (s *Service) deleteCode(c *gin.Context) error {
	rid, cid, err := codePath(c)
	if err != nil {
		return err
	}
	if err := s.DeleteCode(c.Request.Context(), apps.PrincipalOf(c).Store, rid, cid); err != nil {
		return err
	}
	c.Status(http.StatusNoContent)
	return nil
}

// lookupCode answers, as Shopify does, with a 303 to the code's own URL
// (under the version the request used).
func (s *Service) lookupCode(c *gin.Context) error {
	code, err := s.LookupCode(c.Request.Context(), apps.PrincipalOf(c).Store, c.Query("code"))
	if err != nil {
		return err
	}
	prefix := strings.TrimSuffix(c.Request.URL.Path, "/discount_codes/lookup.json")
	c.Header("Location", fmt.Sprintf("%s/price_rules/%d/discount_codes/%d.json", prefix, code.RuleID, code.ID))
	c.Status(http.StatusSeeOther)
	return nil
}

func (s *Service) countCodes(c *gin.Context) error {
	q, _, err := parseCodeQuery(c.Request.URL.Query(), true)
	if err != nil {
		return err
	}
	n, err := s.CountCodes(c.Request.Context(), apps.PrincipalOf(c).Store, q)
	if err != nil {
		return err
	}
	c.JSON(http.StatusOK, gin.H{"count": n})
	return nil
}

// --- list parameters ----------------------------------------------------------------

// parseRuleQuery reads price_rules.json's parameters; paged says whether
// the request continues from a page_info cursor.
//
// Errors: Malformed, naming the parameter.
func parseRuleQuery(v url.Values, counting bool) (RuleQuery, bool, error) {
	f := errs.Fields{}
	if v.Get("page_info") != "" && !counting {
		var q RuleQuery
		limit := apps.ParseLimit(f, v)
		q.After, q.Before = apps.PageInfo(f, v, &q)
		q.Limit = limit
		if err := f.Err(); err != nil {
			return RuleQuery{}, false, apps.Malformed(err)
		}
		return q, true, nil
	}
	q := RuleQuery{Limit: apps.DefaultLimit}
	if !counting {
		q.Limit = apps.ParseLimit(f, v)
		q.After = parseCount(f, v, "since_id", "must be a price rule id")
	}
	for _, tp := range []struct {
		name string
		dst  **time.Time
	}{
		{"created_at_min", &q.CreatedMin}, {"created_at_max", &q.CreatedMax},
		{"updated_at_min", &q.UpdatedMin}, {"updated_at_max", &q.UpdatedMax},
		{"starts_at_min", &q.StartsMin}, {"starts_at_max", &q.StartsMax},
		{"ends_at_min", &q.EndsMin}, {"ends_at_max", &q.EndsMax},
	} {
		if s := v.Get(tp.name); s != "" {
			*tp.dst = parseTime(f, tp.name, s)
		}
	}
	if v.Get("times_used") != "" {
		n := parseCount(f, v, "times_used", "must be a whole number")
		q.TimesUsed = &n
	}
	if err := f.Err(); err != nil {
		return RuleQuery{}, false, apps.Malformed(err)
	}
	return q, false, nil
}

// parseCodeQuery reads the parameters of a rule's discount_codes.json (and
// of discount_codes/count.json when counting).
//
// Errors: Malformed, naming the parameter.
func parseCodeQuery(v url.Values, counting bool) (CodeQuery, bool, error) {
	f := errs.Fields{}
	if v.Get("page_info") != "" && !counting {
		var q CodeQuery
		limit := apps.ParseLimit(f, v)
		q.After, q.Before = apps.PageInfo(f, v, &q)
		q.Limit = limit
		if err := f.Err(); err != nil {
			return CodeQuery{}, false, apps.Malformed(err)
		}
		return q, true, nil
	}
	q := CodeQuery{Limit: apps.DefaultLimit}
	if !counting {
		q.Limit = apps.ParseLimit(f, v)
		q.After = parseCount(f, v, "since_id", "must be a discount code id")
	}
	for _, p := range []struct {
		name string
		dst  **int64
	}{{"times_used", &q.TimesUsed}, {"times_used_min", &q.TimesUsedMin}, {"times_used_max", &q.TimesUsedMax}} {
		if v.Get(p.name) != "" {
			n := parseCount(f, v, p.name, "must be a whole number")
			*p.dst = &n
		}
	}
	if err := f.Err(); err != nil {
		return CodeQuery{}, false, apps.Malformed(err)
	}
	return q, false, nil
}

// parseCount reads a non-negative whole-number parameter (0 when absent).
func parseCount(f errs.Fields, v url.Values, name, problem string) int64 {
	s := v.Get(name)
	if s == "" {
		return 0
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 0 {
		f.Add(name, "%s", problem)
		return 0
	}
	return n
}
