package dashboard_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/modules/discounts"
	"github.com/storefleet/storefleet/tenant"
)

// discountsCount is how many price rules st has.
func discountsCount(f *fixture, st *tenant.Tenant) int64 {
	f.t.Helper()
	n, err := discounts.NewService(f.db).CountPriceRules(context.Background(), st, discounts.RuleQuery{})
	if err != nil {
		f.t.Fatalf("CountPriceRules = %v", err)
	}
	return n
}

// discountsSeed makes a 10% code in st, the Admin API's way.
func discountsSeed(f *fixture, st *tenant.Tenant, code string) discounts.PriceRule {
	f.t.Helper()
	svc := discounts.NewService(f.db)
	vt, v, tt := discounts.Percentage, "-10", discounts.LineItem
	r, err := svc.CreatePriceRule(context.Background(), st, discounts.PriceRuleInput{Title: &code, ValueType: &vt, Value: &v, TargetType: &tt})
	if err != nil {
		f.t.Fatalf("CreatePriceRule(%s) = %v", code, err)
	}
	if _, err := svc.CreateCode(context.Background(), st, r.ID, &code); err != nil {
		f.t.Fatalf("CreateCode(%s) = %v", code, err)
	}
	return r
}

// TestDiscounts: the owner creates a percentage code, which is listed and
// which checkout's lookup finds; a bad value and a code already taken are
// refused on the page and create nothing; free shipping and scheduled
// discounts are listed as such; disable ends one, delete removes one.
func TestDiscounts(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("disc-shop")
	svc := discounts.NewService(f.db)
	ctx := context.Background()
	b := f.browser()
	b.mustLogin(acct.Email)
	page := b.get("/store/disc-shop/discounts")
	if page.status != http.StatusOK || !strings.Contains(page.body, `href="/store/disc-shop/discounts"`) ||
		!strings.Contains(page.body, "No discounts yet") || !strings.Contains(page.body, "Create discount") {
		t.Fatalf("GET discounts = %d; want the menu item, an empty list and the create form", page.status)
	}

	r := b.post("/store/disc-shop/discounts", url.Values{"code": {"SAVE10"}, "type": {"percentage"}, "value": {"10"},
		"min_subtotal": {"20"}, "usage_limit": {"100"}, "once_per_customer": {"1"}})
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/store/disc-shop/discounts?done=created&rule=") {
		t.Fatalf("POST create = %d %s %.300s, want 303 back to the list", r.status, r.header.Get("Location"), r.body)
	}
	code, err := svc.LookupCode(ctx, st, "save10")
	if err != nil {
		t.Fatalf("LookupCode(save10) after create = %v", err)
	}
	rule, err := svc.PriceRule(ctx, st, code.RuleID)
	if err != nil {
		t.Fatal(err)
	}
	if rule.ValueType != discounts.Percentage || rule.PercentBP != 1000 || rule.TargetType != discounts.LineItem || rule.MinSubtotal != 2000 ||
		rule.UsageLimit == nil || *rule.UsageLimit != 100 || !rule.OncePerCustomer || rule.Title != "SAVE10" {
		t.Errorf("the created rule is %+v; want 10%% off line items from 20.00, 100 uses, once per customer", rule)
	}
	page = b.get(r.header.Get("Location"))
	for _, want := range []string{"Discount SAVE10 is created.", "<strong>SAVE10</strong>", "10% off", "Orders from 20.00 USD",
		"Once per customer", "0 of 100", `badge active`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("after create, the list lacks %q", want)
		}
	}

	for _, tc := range []struct {
		name string
		form url.Values
		want string
	}{
		{"150%", url.Values{"code": {"BIG"}, "type": {"percentage"}, "value": {"150"}}, "at most 100"},
		{"no value", url.Values{"code": {"NONE"}, "type": {"fixed_amount"}, "value": {""}}, "must be a number"},
		{"a taken code", url.Values{"code": {"save10"}, "type": {"percentage"}, "value": {"5"}}, "is taken by another discount"},
		{"a code with spaces", url.Values{"code": {"TWO WORDS"}, "type": {"percentage"}, "value": {"5"}}, "must not contain spaces"},
		{"ends before it starts", url.Values{"code": {"BACK"}, "type": {"percentage"}, "value": {"5"}, "starts": {"2030-05-02"}, "ends": {"2030-04-01"}}, "must be after"},
		{"three decimals", url.Values{"code": {"CENTS"}, "type": {"fixed_amount"}, "value": {"1.005"}}, "decimals"},
	} {
		b.get("/store/disc-shop/discounts")
		r := b.post("/store/disc-shop/discounts", tc.form)
		if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, tc.want) || !strings.Contains(r.body, `value="`+tc.form.Get("code")+`"`) {
			t.Errorf("POST create with %s = %d, want 422 saying %q and keeping the code", tc.name, r.status, tc.want)
		}
	}
	if n := discountsCount(f, st); n != 1 {
		t.Errorf("after refused creates, the store has %d price rules, want 1", n)
	}

	b.get("/store/disc-shop/discounts")
	if r := b.post("/store/disc-shop/discounts", url.Values{"code": {"SHIPFREE"}, "type": {"free_shipping"}, "ends": {"2099-12-31"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST free shipping = %d %.300s", r.status, r.body)
	}
	tomorrow := time.Now().AddDate(0, 0, 2).Format(time.DateOnly)
	if r := b.post("/store/disc-shop/discounts", url.Values{"code": {"LATER"}, "type": {"fixed_amount"}, "value": {"5"}, "starts": {tomorrow}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST scheduled = %d %.300s", r.status, r.body)
	}
	page = b.get("/store/disc-shop/discounts")
	for _, want := range []string{"Free shipping", "until the end of 31 Dec 2099", "5.00 USD off", "badge scheduled", "3 discounts"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the list lacks %q", want)
		}
	}

	// Disable the scheduled one and the active one; delete the first.
	later, err := svc.LookupCode(ctx, st, "LATER")
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{later.RuleID, rule.ID} {
		path := fmt.Sprintf("/store/disc-shop/discounts/%d/disable", id)
		if r := b.post(path, url.Values{}); r.status != http.StatusSeeOther {
			t.Fatalf("POST %s = %d %.300s", path, r.status, r.body)
		}
		got, err := svc.PriceRule(ctx, st, id)
		if err != nil || got.EndsAt == nil || got.EndsAt.After(time.Now()) {
			t.Errorf("after disable, rule %d ends at %v (%v); want now", id, got.EndsAt, err)
		}
	}
	page = b.get("/store/disc-shop/discounts?done=disabled&rule=" + fmt.Sprint(rule.ID))
	if !strings.Contains(page.body, "Discount SAVE10 is disabled.") || strings.Count(page.body, "badge expired") != 2 {
		t.Errorf("after disabling two, the list should say so and show both expired")
	}
	path := fmt.Sprintf("/store/disc-shop/discounts/%d/delete", rule.ID)
	if r := b.post(path, url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("POST %s = %d", path, r.status)
	}
	if _, err := svc.LookupCode(ctx, st, "SAVE10"); err == nil {
		t.Errorf("after delete, the code is still found")
	}
	if page := b.get("/store/disc-shop/discounts?done=deleted"); strings.Contains(page.body, "<strong>SAVE10</strong>") || !strings.Contains(page.body, "The discount is deleted.") {
		t.Errorf("after delete, the list still shows SAVE10, or no notice")
	}
}

// TestDiscountsViewer: a viewer sees discounts without the forms; their
// posts are refused with 403 and change nothing; fulfillment staff have no
// Discounts screen at all; a post without a token is refused.
func TestDiscountsViewer(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("disc-viewer")
	rule := discountsSeed(f, st, "WELCOME")
	viewer := f.staff(st, tenant.RoleViewer)
	b := f.browser()
	b.mustLogin(viewer.Email)
	page := b.get("/store/disc-viewer/discounts")
	if page.status != http.StatusOK || !strings.Contains(page.body, "WELCOME") || strings.Contains(page.body, "Create discount") || strings.Contains(page.body, "Disable") {
		t.Fatalf("a viewer's GET discounts = %d; want the list without forms", page.status)
	}
	for _, path := range []string{"/store/disc-viewer/discounts", fmt.Sprintf("/store/disc-viewer/discounts/%d/disable", rule.ID),
		fmt.Sprintf("/store/disc-viewer/discounts/%d/delete", rule.ID)} {
		if r := b.post(path, url.Values{"code": {"HACK"}, "type": {"percentage"}, "value": {"50"}}); r.status != http.StatusForbidden || !strings.Contains(r.body, "viewer") {
			t.Errorf("a viewer's POST %s = %d, want 403 naming the role", path, r.status)
		}
	}
	got, err := discounts.NewService(f.db).PriceRule(context.Background(), st, rule.ID)
	if err != nil || got.EndsAt != nil || discountsCount(f, st) != 1 {
		t.Errorf("after a viewer's posts, the rule is %+v (%v) and the store has %d rules; want unchanged", got, err, discountsCount(f, st))
	}

	packer := f.staff(st, tenant.RoleFulfillment)
	p := f.browser()
	p.mustLogin(packer.Email)
	if home := p.get("/store/disc-viewer"); strings.Contains(home.body, `href="/store/disc-viewer/discounts"`) {
		t.Errorf("fulfillment staff are offered the Discounts screen")
	}
	if r := p.get("/store/disc-viewer/discounts"); r.status != http.StatusForbidden {
		t.Errorf("fulfillment staff's GET discounts = %d, want 403", r.status)
	}

	owner := f.browser()
	owner.mustLogin(acct.Email)
	owner.get("/store/disc-viewer/discounts")
	for _, path := range []string{"/store/disc-viewer/discounts", fmt.Sprintf("/store/disc-viewer/discounts/%d/delete", rule.ID)} {
		if r := owner.do(http.MethodPost, path, url.Values{"code": {"FORGED"}, "type": {"percentage"}, "value": {"50"}}); r.status != http.StatusForbidden ||
			!strings.Contains(r.body, "Please try again") {
			t.Errorf("POST %s without a token = %d, want 403", path, r.status)
		}
	}
	if n := discountsCount(f, st); n != 1 {
		t.Errorf("after posts without a token, the store has %d rules, want 1", n)
	}
}

// TestDiscountsCrossTenant: another store's discount, under this store's
// slug, is not found and never changed.
func TestDiscountsCrossTenant(t *testing.T) {
	f := newFixture(t)
	a, st := f.owner("disc-a")
	_, other := f.owner("disc-b")
	discountsSeed(f, st, "MINE")
	var theirs discounts.PriceRule
	for i := range 3 {
		theirs = discountsSeed(f, other, fmt.Sprintf("SECRET%d", i))
	}
	b := f.browser()
	b.mustLogin(a.Email)
	if r := b.get("/store/disc-b/discounts"); r.status != http.StatusNotFound {
		t.Errorf("GET store B's discounts = %d, want 404", r.status)
	}
	if list := b.get("/store/disc-a/discounts"); strings.Contains(list.body, "SECRET") {
		t.Errorf("store A's list shows store B's discounts")
	}
	for _, action := range []string{"disable", "delete"} {
		path := fmt.Sprintf("/store/disc-a/discounts/%d/%s", theirs.ID, action)
		if r := b.post(path, url.Values{}); r.status != http.StatusNotFound {
			t.Errorf("POST %s (store B's discount) = %d, want 404", path, r.status)
		}
	}
	got, err := discounts.NewService(f.db).PriceRule(context.Background(), other, theirs.ID)
	if err != nil || got.EndsAt != nil {
		t.Errorf("store B's discount changed: %+v, %v", got, err)
	}
	// A code store B has is free in store A.
	b.get("/store/disc-a/discounts")
	if r := b.post("/store/disc-a/discounts", url.Values{"code": {"SECRET0"}, "type": {"percentage"}, "value": {"5"}}); r.status != http.StatusSeeOther {
		t.Errorf("POST create SECRET0 in store A = %d, want 303: codes are per store", r.status)
	}
}
