package billing_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

// webhookEnv is a service with a connected store, its webhook endpoint, and
// stripe-mock behind it.
type webhookEnv struct {
	db  *tenant.DB
	svc *billing.Service
	h   http.Handler
	rec *stripeRecorder
}

func newWebhookEnv(t *testing.T) webhookEnv {
	t.Helper()
	db := newDB(t)
	apiURL, rec := stripeMock(t)
	svc := billing.NewService(db, stripeConfig(apiURL), quiet)
	return webhookEnv{db: db, svc: svc, h: svc.Webhook(), rec: rec}
}

func count(ts []orders.Transaction, kind, status string) int {
	n := 0
	for _, tr := range ts {
		if tr.Kind == kind && tr.Status == status {
			n++
		}
	}
	return n
}

// TestWebhookRefusesWhatItCannotTrust: bad, missing and old signatures get
// 400, a body over 1 MiB 413, an event of another API version 400, and an
// account no store has 200 (so that Stripe stops sending it).
func TestWebhookRefusesWhatItCannotTrust(t *testing.T) {
	e := newWebhookEnv(t)
	st := newStore(t, e.db, "hook-trust")
	connect(t, e.db, st, "acct_Trust1")
	o := placeOrder(t, e.db, st, 1_000)
	body, sig := signedEvent(t, "evt_trust", "payment_intent.succeeded", "acct_Trust1", intent(st, o, "pi_trust", 1_000))

	tampered := bytes.Replace(body, []byte(`"amount_received":1000`), []byte(`"amount_received":9000`), 1)
	old := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: webhookSecret, Timestamp: time.Now().Add(-time.Hour)})
	otherSecret := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_other"})
	oldVersion := bytes.Replace(body, []byte(`"api_version":"2023-10-16"`), []byte(`"api_version":"2020-08-27"`), 1)
	oldVersionSig := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: oldVersion, Secret: webhookSecret}).Header
	for _, c := range []struct {
		name      string
		body      []byte
		signature string
		want      int
	}{
		{"no signature", body, "", http.StatusBadRequest},
		{"garbage signature", body, "t=1,v1=zz", http.StatusBadRequest},
		{"tampered body", tampered, sig, http.StatusBadRequest},
		{"other secret", body, otherSecret.Header, http.StatusBadRequest},
		{"too old", body, old.Header, http.StatusBadRequest},
		{"other API version", oldVersion, oldVersionSig, http.StatusBadRequest},
		{"over 1 MiB", bytes.Repeat([]byte("x"), 1<<20+1), sig, http.StatusRequestEntityTooLarge},
	} {
		if code, msg := post(e.h, c.body, c.signature); code != c.want {
			t.Errorf("POST (%s) = %d %q, want %d", c.name, code, msg, c.want)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/webhooks/stripe", nil)
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, req)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("GET = %d, want 405", w.Code)
	}
	if got, _ := order(t, e.db, st, o.ID); got.FinancialStatus != orders.FinancialPending {
		t.Errorf("after refused events the order is %s, want pending", got.FinancialStatus)
	}

	deliver(t, e.h, http.StatusOK, "evt_nobody", "payment_intent.succeeded", "acct_Nobody", intent(st, o, "pi_trust", 1_000))
	deliver(t, e.h, http.StatusOK, "evt_platform", "payment_intent.succeeded", "", intent(st, o, "pi_trust", 1_000))
	deliver(t, e.h, http.StatusOK, "evt_other_type", "customer.created", "acct_Trust1", map[string]any{"id": "cus_1", "object": "customer"})
	if got, _ := order(t, e.db, st, o.ID); got.FinancialStatus != orders.FinancialPending {
		t.Errorf("after events of no store the order is %s, want pending", got.FinancialStatus)
	}
	missing := o
	missing.ID = o.ID + 1000
	deliver(t, e.h, http.StatusOK, "evt_no_order", "payment_intent.succeeded", "acct_Trust1", intent(st, missing, "pi_missing", 1_000))
}

// TestWebhookPays: payment_intent.succeeded marks the order paid; the same
// event twice records one transaction.
func TestWebhookPays(t *testing.T) {
	e := newWebhookEnv(t)
	st := newStore(t, e.db, "hook-pay")
	connect(t, e.db, st, "acct_Pay1")
	o := placeOrder(t, e.db, st, 4_200)

	body, sig := signedEvent(t, "evt_pay_1", "payment_intent.succeeded", "acct_Pay1", intent(st, o, "pi_pay", 4_200))
	for i := range 2 {
		if code, msg := post(e.h, body, sig); code != http.StatusOK {
			t.Fatalf("POST succeeded (delivery %d) = %d %q, want 200", i+1, code, msg)
		}
	}
	// Stripe may also send the same news as another event: the reference
	// keeps it to one transaction too.
	deliver(t, e.h, http.StatusOK, "evt_pay_2", "payment_intent.succeeded", "acct_Pay1", intent(st, o, "pi_pay", 4_200))
	got, ts := order(t, e.db, st, o.ID)
	if got.FinancialStatus != orders.FinancialPaid {
		t.Errorf("financial status = %s, want paid", got.FinancialStatus)
	}
	if n := count(ts, "sale", "success"); n != 1 || len(ts) != 1 || ts[0].Reference != "pi_pay" || ts[0].Amount != 4_200 {
		t.Errorf("transactions = %+v, want one successful sale of 4200 referencing pi_pay", ts)
	}
}

// TestWebhookOutOfOrder: Stripe does not promise order. Each sequence ends
// in the status its events add up to.
func TestWebhookOutOfOrder(t *testing.T) {
	e := newWebhookEnv(t)
	st := newStore(t, e.db, "hook-order")
	connect(t, e.db, st, "acct_Order1")

	type ev struct {
		typ string
		obj func(o orders.Order) any
	}
	authorized := ev{"payment_intent.amount_capturable_updated", func(o orders.Order) any { return intent(st, o, "pi_"+strconv.FormatInt(o.ID, 10), 0) }}
	succeeded := ev{"payment_intent.succeeded", func(o orders.Order) any {
		return intent(st, o, "pi_"+strconv.FormatInt(o.ID, 10), int64(o.TotalPrice))
	}}
	refunded := func(amount int64) ev {
		return ev{"charge.refunded", func(o orders.Order) any {
			pi := "pi_" + strconv.FormatInt(o.ID, 10)
			return refundedCharge(st, o, pi, map[string]int64{"re_" + pi[3:]: amount})
		}}
	}
	failed := ev{"payment_intent.payment_failed", func(o orders.Order) any {
		pi := intent(st, o, "pi_"+strconv.FormatInt(o.ID, 10), 0)
		pi["last_payment_error"] = map[string]any{"type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds", "message": "Your card has insufficient funds."}
		return pi
	}}
	canceled := ev{"payment_intent.canceled", func(o orders.Order) any { return intent(st, o, "pi_"+strconv.FormatInt(o.ID, 10), 0) }}

	for _, c := range []struct {
		name   string
		events []ev
		want   string
	}{
		{"authorized then paid", []ev{authorized, succeeded}, orders.FinancialPaid},
		{"paid before authorized", []ev{succeeded, authorized}, orders.FinancialPaid},
		{"authorized only", []ev{authorized}, orders.FinancialAuthorized},
		{"refund before paid", []ev{refunded(3_000), succeeded}, orders.FinancialRefunded},
		{"paid then refunded", []ev{succeeded, refunded(3_000)}, orders.FinancialRefunded},
		{"partial refund before paid", []ev{refunded(1_000), succeeded}, orders.FinancialPartiallyRefunded},
		{"failed then paid", []ev{failed, succeeded}, orders.FinancialPaid},
		{"failed only", []ev{failed}, orders.FinancialPending},
		{"authorized then canceled", []ev{authorized, canceled}, orders.FinancialVoided},
		{"canceled", []ev{canceled}, orders.FinancialVoided},
	} {
		o := placeOrder(t, e.db, st, 3_000)
		for i, x := range c.events {
			deliver(t, e.h, http.StatusOK, "evt_"+strconv.FormatInt(o.ID, 10)+"_"+strconv.Itoa(i), x.typ, "acct_Order1", x.obj(o))
		}
		got, ts := order(t, e.db, st, o.ID)
		if got.FinancialStatus != c.want {
			t.Errorf("%s: financial status = %s, want %s (transactions %+v)", c.name, got.FinancialStatus, c.want, ts)
		}
		if c.name == "failed only" {
			if n := count(ts, "sale", "failure"); n != 1 || ts[0].ErrorCode != "insufficient_funds" || !strings.Contains(ts[0].Message, "insufficient funds") {
				t.Errorf("%s: transactions = %+v, want one failed sale with the decline code and message", c.name, ts)
			}
		}
		if c.name == "paid then refunded" {
			var sale, refund orders.Transaction
			for _, tr := range ts {
				switch {
				case tr.Kind == "sale" && tr.Status == "success":
					sale = tr
				case tr.Kind == "refund":
					refund = tr
				}
			}
			if refund.ParentID == nil || *refund.ParentID != sale.ID || refund.Amount != 3_000 || !strings.HasPrefix(refund.Reference, "re_") {
				t.Errorf("%s: refund = %+v, want 3000 with the sale %d as parent and the refund id as reference", c.name, refund, sale.ID)
			}
		}
	}
}

// TestWebhookCrossTenant: an event of one store's account cannot touch
// another store's order, whatever its metadata says.
func TestWebhookCrossTenant(t *testing.T) {
	e := newWebhookEnv(t)
	a, b := newStore(t, e.db, "hook-a"), newStore(t, e.db, "hook-b")
	connect(t, e.db, a, "acct_StoreA")
	connect(t, e.db, b, "acct_StoreB")
	oa := placeOrder(t, e.db, a, 1_500)
	ob := placeOrder(t, e.db, b, 9_900) // the same order id in b's schema

	// b's account reports a payment whose metadata names a's store and order.
	deliver(t, e.h, http.StatusOK, "evt_cross_1", "payment_intent.succeeded", "acct_StoreB", intent(a, oa, "pi_cross", 1_500))
	deliver(t, e.h, http.StatusOK, "evt_cross_2", "charge.refunded", "acct_StoreB", refundedCharge(a, oa, "pi_cross", map[string]int64{"re_cross": 1_500}))
	if got, ts := order(t, e.db, a, oa.ID); got.FinancialStatus != orders.FinancialPending || len(ts) != 0 {
		t.Errorf("a's order after b's events = %s with %d transactions, want pending with none", got.FinancialStatus, len(ts))
	}
	if got, ts := order(t, e.db, b, ob.ID); got.FinancialStatus != orders.FinancialPending || len(ts) != 0 {
		t.Errorf("b's order after events naming a = %s with %d transactions, want pending with none", got.FinancialStatus, len(ts))
	}
	// The same event id in two stores is two events: ids are per store.
	deliver(t, e.h, http.StatusOK, "evt_cross_3", "payment_intent.succeeded", "acct_StoreA", intent(a, oa, "pi_a", 1_500))
	if got, _ := order(t, e.db, a, oa.ID); got.FinancialStatus != orders.FinancialPaid {
		t.Errorf("a's order after its own event = %s, want paid", got.FinancialStatus)
	}
	if got, _ := order(t, e.db, b, ob.ID); got.FinancialStatus != orders.FinancialPending {
		t.Errorf("b's order after a's event = %s, want pending", got.FinancialStatus)
	}
}

// TestWebhookAccountUpdated: Stripe saying an account can take charges
// turns cards on for its store.
func TestWebhookAccountUpdated(t *testing.T) {
	e := newWebhookEnv(t)
	st := newStore(t, e.db, "hook-account")
	ctx := context.Background()
	if err := e.db.SaveStripeAccount(ctx, st.ID, tenant.PaymentAccount{StripeAccount: "acct_Onboard1"}); err != nil {
		t.Fatal(err)
	}
	deliver(t, e.h, http.StatusOK, "evt_acct_1", "account.updated", "acct_Onboard1",
		map[string]any{"id": "acct_Onboard1", "object": "account", "charges_enabled": true, "details_submitted": true})
	a, err := e.db.StripeAccount(ctx, st.ID)
	if err != nil || !a.ChargesEnabled || !a.DetailsSubmitted {
		t.Errorf("StripeAccount after account.updated = %+v, %v; want charges enabled, details submitted", a, err)
	}
	ms, err := e.svc.Methods(ctx, st)
	if err != nil || len(ms) == 0 || ms[0].Code != "stripe" {
		t.Errorf("Methods after account.updated = %+v, %v; want cards first", ms, err)
	}
	// An event of one account about another is not believed.
	deliver(t, e.h, http.StatusOK, "evt_acct_2", "account.updated", "acct_Onboard1",
		map[string]any{"id": "acct_Elsewhere", "object": "account", "charges_enabled": false})
	if a, _ := e.db.StripeAccount(ctx, st.ID); a.StripeAccount != "acct_Onboard1" || !a.ChargesEnabled {
		t.Errorf("StripeAccount after another account's update = %+v, want unchanged", a)
	}
}

// TestRefund: a pending Stripe refund is carried out once against the
// store's account, with a key from our ids, and recorded with Stripe's
// refund id; running it again, or Stripe's charge.refunded for it, records
// nothing more.
func TestRefund(t *testing.T) {
	e := newWebhookEnv(t)
	st := newStore(t, e.db, "refunds")
	connect(t, e.db, st, "acct_Refund1")
	ctx := context.Background()
	o := placeOrder(t, e.db, st, 5_000)
	deliver(t, e.h, http.StatusOK, "evt_refund_paid", "payment_intent.succeeded", "acct_Refund1", intent(st, o, "pi_refund", 5_000))
	_, ts := order(t, e.db, st, o.ID)
	sale := ts[0]

	var pending orders.Transaction
	err := e.db.Tx(ctx, st, func(tx *gorm.DB) error {
		var err error
		pending, _, err = orders.RecordTransactionIn(tx, orders.NewTransaction{OrderID: o.ID, Kind: "refund", Status: "pending",
			Amount: 2_000, Gateway: "stripe", ParentID: &sale.ID, Actor: "test"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		if err := e.svc.Refund(ctx, st, o.ID, pending.ID); err != nil {
			t.Fatalf("Refund (run %d) = %v", i+1, err)
		}
	}
	calls := e.rec.Calls(http.MethodPost, "/v1/refunds")
	if len(calls) != 1 {
		t.Fatalf("calls to POST /v1/refunds = %d, want 1", len(calls))
	}
	c := calls[0]
	if c.Account != "acct_Refund1" || c.Form.Get("payment_intent") != "pi_refund" || c.Form.Get("amount") != "2000" ||
		!strings.Contains(c.IdempotencyKey, st.ID.String()) || !strings.HasSuffix(c.IdempotencyKey, "-"+strconv.FormatInt(pending.ID, 10)) {
		t.Errorf("refund call = %+v, want 2000 of pi_refund on acct_Refund1 keyed by store and transaction", c)
	}
	reID, _ := c.Response["id"].(string)
	got, ts := order(t, e.db, st, o.ID)
	if n := count(ts, "refund", "success"); n != 1 || got.FinancialStatus != orders.FinancialPartiallyRefunded {
		t.Errorf("after Refund: %d successful refunds, status %s; want 1, partially_refunded", n, got.FinancialStatus)
	}
	for _, tr := range ts {
		if tr.Kind == "refund" && tr.Status == "success" && (tr.Reference != reID || tr.ParentID == nil || *tr.ParentID != sale.ID) {
			t.Errorf("recorded refund = %+v, want reference %s and parent %d", tr, reID, sale.ID)
		}
	}
	deliver(t, e.h, http.StatusOK, "evt_refund_hook", "charge.refunded", "acct_Refund1", refundedCharge(st, o, "pi_refund", map[string]int64{reID: 2_000}))
	if _, ts := order(t, e.db, st, o.ID); count(ts, "refund", "success") != 1 {
		t.Errorf("after charge.refunded for the same refund: %d successful refunds, want 1", count(ts, "refund", "success"))
	}

	if err := e.svc.Refund(ctx, st, o.ID, sale.ID); err == nil {
		t.Errorf("Refund(a sale) = nil, want an error")
	}
	other := newStore(t, e.db, "refunds-other")
	if err := e.svc.Refund(ctx, other, o.ID, pending.ID); err == nil {
		t.Errorf("Refund in another store = nil, want not found")
	}
}

// TestRefundCreated: a refund made through the orders module emits
// "refunds/create" with a pending Stripe refund; RefundCreated, fed that
// very payload from the outbox, carries it out and the order ends refunded.
func TestRefundCreated(t *testing.T) {
	e := newWebhookEnv(t)
	st := newStore(t, e.db, "refund-event")
	connect(t, e.db, st, "acct_RefundEv1")
	ctx := context.Background()
	o := placeOrder(t, e.db, st, 3_300)
	deliver(t, e.h, http.StatusOK, "evt_refund_event_paid", "payment_intent.succeeded", "acct_RefundEv1", intent(st, o, "pi_refund_event", 3_300))
	if _, err := orders.NewService(e.db).CreateRefund(ctx, st, orders.NewRefund{OrderID: o.ID, Actor: "test",
		Transactions: []orders.RefundTransactionInput{{Amount: 3_300}}}); err != nil {
		t.Fatalf("CreateRefund = %v", err)
	}
	var payloads [][]byte
	if _, err := e.db.RelayEvents(ctx, 100, func(_ context.Context, ev tenant.Event) error {
		if ev.Topic == billing.TopicRefundCreate && ev.Store == st.ID {
			payloads = append(payloads, ev.Payload)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(payloads) != 1 {
		t.Fatalf("refunds/create events = %d, want 1", len(payloads))
	}
	for i := range 2 {
		if err := e.svc.RefundCreated(ctx, st, payloads[0]); err != nil {
			t.Fatalf("RefundCreated (run %d) = %v", i+1, err)
		}
	}
	if n := len(e.rec.Calls(http.MethodPost, "/v1/refunds")); n != 1 {
		t.Errorf("calls to POST /v1/refunds = %d, want 1", n)
	}
	if got, ts := order(t, e.db, st, o.ID); got.FinancialStatus != orders.FinancialRefunded || count(ts, "refund", "success") != 1 {
		t.Errorf("after RefundCreated: %s with %d successful refunds, want refunded with 1 (%+v)", got.FinancialStatus, count(ts, "refund", "success"), ts)
	}
	if err := e.svc.RefundCreated(ctx, st, []byte(`{"nope":`)); !errs.Is(err, errs.Malformed) {
		t.Errorf("RefundCreated(bad payload) = %v, want malformed", err)
	}
}
