package tenant

import (
	"context"
	"errors"
	"testing"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/testenv"
)

func TestStripeAccounts(t *testing.T) {
	d := newTestDB(t, testenv.Database(t), 4)
	ctx := context.Background()
	a, b := provision(t, d, "pay-a"), provision(t, d, "pay-b")

	if _, err := d.StripeAccount(ctx, a.ID); !errors.Is(err, ErrPaymentAccountNotFound) {
		t.Errorf("StripeAccount(a) before any = %v, want ErrPaymentAccountNotFound", err)
	}
	if err := d.SaveStripeAccount(ctx, a.ID, PaymentAccount{StripeAccount: "acct_A1"}); err != nil {
		t.Fatalf("SaveStripeAccount(a, acct_A1) = %v", err)
	}
	if err := d.SaveStripeAccount(ctx, a.ID, PaymentAccount{StripeAccount: "acct_A1", ChargesEnabled: true, DetailsSubmitted: true}); err != nil {
		t.Fatalf("SaveStripeAccount(a, acct_A1, enabled) = %v", err)
	}
	got, err := d.StripeAccount(ctx, a.ID)
	if err != nil || got.StripeAccount != "acct_A1" || !got.ChargesEnabled || !got.DetailsSubmitted {
		t.Errorf("StripeAccount(a) = %+v, %v; want acct_A1, enabled, submitted", got, err)
	}
	if id, err := d.StoreOfStripeAccount(ctx, "acct_A1"); err != nil || id != a.ID {
		t.Errorf("StoreOfStripeAccount(acct_A1) = %d, %v; want %d", id, err, a.ID)
	}
	if _, err := d.StoreOfStripeAccount(ctx, "acct_nobody"); !errors.Is(err, ErrPaymentAccountNotFound) {
		t.Errorf("StoreOfStripeAccount(acct_nobody) = %v, want ErrPaymentAccountNotFound", err)
	}
	if _, err := d.StripeAccount(ctx, b.ID); !errors.Is(err, ErrPaymentAccountNotFound) {
		t.Errorf("StripeAccount(b) = %v, want ErrPaymentAccountNotFound (the account is a's)", err)
	}

	for name, tc := range map[string]struct {
		id   ID
		acct string
		kind errs.Kind
	}{
		"another store's account": {b.ID, "acct_A1", errs.Conflict},
		"not an account id":       {b.ID, "cus_123", errs.Invalid},
		"bad characters":          {b.ID, "acct_x'y", errs.Invalid},
		"no such store":           {ID(1), "acct_Z9", errs.NotFound},
	} {
		if err := d.SaveStripeAccount(ctx, tc.id, PaymentAccount{StripeAccount: tc.acct}); !errs.Is(err, tc.kind) {
			t.Errorf("SaveStripeAccount (%s) = %v, want kind %q", name, err, tc.kind)
		}
	}
}
