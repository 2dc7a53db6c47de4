package discounts_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/discounts"
)

// tenOff is a 10% price rule input titled title.
func tenOff(title string) discounts.PriceRuleInput {
	vt, v, tt := discounts.Percentage, "-10", discounts.LineItem
	return discounts.PriceRuleInput{Title: &title, ValueType: &vt, Value: &v, TargetType: &tt}
}

// TestCreateDiscount: a rule and its code are made together; a bad rule or
// a bad or taken code is Invalid on its field and leaves nothing made;
// another store's codes are not this store's.
func TestCreateDiscount(t *testing.T) {
	h, svc := newHarness(t)
	ctx := context.Background()
	a, b := h.Store("create-discount-a"), h.Store("create-discount-b")
	r, c, err := svc.CreateDiscount(ctx, a, tenOff("WELCOME"), " WELCOME ")
	if err != nil {
		t.Fatalf("CreateDiscount(WELCOME) = %v", err)
	}
	if r.ID == 0 || r.PercentBP != 1000 || c.RuleID != r.ID || c.Code != "WELCOME" {
		t.Errorf("CreateDiscount(WELCOME) = %+v, %+v; want a 10%% rule and its trimmed code", r, c)
	}
	if got, err := svc.LookupCode(ctx, a, "welcome"); err != nil || got.ID != c.ID {
		t.Errorf("LookupCode(welcome) = %+v, %v; want code %d", got, err, c.ID)
	}
	blank := ""
	for _, tc := range []struct {
		name  string
		in    discounts.PriceRuleInput
		code  string
		field string
	}{
		{"a taken code", tenOff("OTHER"), "welcome", "code"},
		{"a blank code", tenOff("OTHER"), "  ", "code"},
		{"a code with spaces", tenOff("OTHER"), "TWO WORDS", "code"},
		{"a blank title", discounts.PriceRuleInput{Title: &blank, ValueType: tenOff("").ValueType, Value: tenOff("").Value, TargetType: tenOff("").TargetType}, "FINE", "title"},
		{"a bad rule and a bad code", discounts.PriceRuleInput{}, "", "code"},
	} {
		before, _ := svc.CountPriceRules(ctx, a, discounts.RuleQuery{})
		_, _, err := svc.CreateDiscount(ctx, a, tc.in, tc.code)
		if !errs.Is(err, errs.Invalid) || len(errs.FieldsOf(err)[tc.field]) == 0 {
			t.Errorf("CreateDiscount with %s = %v (fields %v), want Invalid on %s", tc.name, err, errs.FieldsOf(err), tc.field)
		}
		if after, _ := svc.CountPriceRules(ctx, a, discounts.RuleQuery{}); after != before {
			t.Errorf("CreateDiscount with %s refused, but the store's rules went from %d to %d", tc.name, before, after)
		}
	}
	if _, _, err := svc.CreateDiscount(ctx, a, tenOff("OTHER"), "Welcome"); !errors.Is(err, discounts.ErrCodeTaken) {
		t.Errorf("CreateDiscount(Welcome) = %v, want ErrCodeTaken", err)
	}
	// Store B may use the same code: codes are unique per store.
	if _, c, err := svc.CreateDiscount(ctx, b, tenOff("WELCOME"), "WELCOME"); err != nil || c.Code != "WELCOME" {
		t.Errorf("store B's CreateDiscount(WELCOME) = %+v, %v; want made", c, err)
	}
	if n, _ := svc.CountPriceRules(ctx, b, discounts.RuleQuery{}); n != 1 {
		t.Errorf("store B has %d rules, want its own 1", n)
	}
}

// TestCreateDiscountConcurrent: many requests for one code at once make
// exactly one discount; every other is ErrCodeTaken, and leaves no rule.
func TestCreateDiscountConcurrent(t *testing.T) {
	h, svc := newHarness(t)
	ctx := context.Background()
	st := h.Store("create-discount-race")
	const n = 8
	var wg sync.WaitGroup
	results := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, _, results[i] = svc.CreateDiscount(ctx, st, tenOff("RACE"), "RACE")
		}()
	}
	close(start)
	wg.Wait()
	made := 0
	for i, err := range results {
		switch {
		case err == nil:
			made++
		case !errors.Is(err, discounts.ErrCodeTaken):
			t.Errorf("CreateDiscount(RACE) #%d = %v, want nil or ErrCodeTaken", i, err)
		}
	}
	if made != 1 {
		t.Errorf("%d of %d concurrent CreateDiscount(RACE) succeeded, want 1", made, n)
	}
	if rules, _ := svc.CountPriceRules(ctx, st, discounts.RuleQuery{}); rules != 1 {
		t.Errorf("after the race the store has %d rules, want 1", rules)
	}
	if codes, _ := svc.CountCodes(ctx, st, discounts.CodeQuery{}); codes != 1 {
		t.Errorf("after the race the store has %d codes, want 1", codes)
	}
}
