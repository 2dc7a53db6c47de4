package billing_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/orders"
)

// TestExpireUnpaid: a card order still unpaid when its time is up has its
// intent cancelled at Stripe, a void recorded and the order cancelled (its
// stock back); a second run calls Stripe no more; a paid order is left
// alone.
func TestExpireUnpaid(t *testing.T) {
	db := newDB(t)
	st := newStore(t, db, "expiring")
	connect(t, db, st, "acct_Expiring")
	apiURL, rec := stripeMock(t)
	svc := billing.NewService(db, stripeConfig(apiURL), quiet)
	ctx := context.Background()

	o := placeOrder(t, db, st, 1_500)
	if _, err := svc.Start(ctx, st, billing.Payment{Method: "stripe", OrderID: o.ID, OrderName: o.Name, Key: "co-1", Attempt: 1,
		Amount: 1_500, Currency: money.MustCurrency("USD")}); err != nil {
		t.Fatal(err)
	}
	_, ts := order(t, db, st, o.ID)
	pi := ts[0].Reference
	for range 2 {
		if err := svc.ExpireUnpaid(ctx, st, o.ID); err != nil {
			t.Fatalf("ExpireUnpaid = %v", err)
		}
	}
	got, ts := order(t, db, st, o.ID)
	if got.CancelledAt == nil || got.CancelReason != "declined" || got.FinancialStatus != orders.FinancialVoided {
		t.Errorf("order after ExpireUnpaid = cancelled %v (%s), %s; want cancelled, declined, voided", got.CancelledAt, got.CancelReason, got.FinancialStatus)
	}
	voids := 0
	for _, x := range ts {
		if x.Kind == orders.KindVoid && x.Status == orders.StatusSuccess && x.Reference == pi {
			voids++
		}
	}
	if voids != 1 {
		t.Errorf("voids of %s = %d, want 1: %+v", pi, voids, ts)
	}
	if c := rec.Calls(http.MethodPost, "/v1/payment_intents/"+pi+"/cancel"); len(c) != 1 || c[0].Account != "acct_Expiring" || c[0].IdempotencyKey == "" {
		t.Errorf("cancels of the intent = %+v, want one on the store's account with an idempotency key", c)
	}

	// Paid meanwhile: nothing happens.
	paid := placeOrder(t, db, st, 900)
	err := db.Tx(ctx, st, func(tx *gorm.DB) error {
		_, _, err := orders.RecordTransactionIn(tx, orders.NewTransaction{OrderID: paid.ID, Kind: orders.KindSale, Status: orders.StatusSuccess,
			Amount: 900, Gateway: "stripe", Reference: "pi_paid", ProcessedAt: time.Now(), Actor: "stripe"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.ExpireUnpaid(ctx, st, paid.ID); err != nil {
		t.Fatalf("ExpireUnpaid(paid) = %v", err)
	}
	if got, _ := order(t, db, st, paid.ID); got.CancelledAt != nil || got.FinancialStatus != orders.FinancialPaid {
		t.Errorf("a paid order after ExpireUnpaid: cancelled %v, %s; want it untouched", got.CancelledAt, got.FinancialStatus)
	}
}
