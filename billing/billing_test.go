package billing_test

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/tenant"
)

func codes(ms []billing.Method) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.Code)
	}
	return out
}

// TestManualOnlyWithoutKeys: a fleet without Stripe keys offers the manual
// methods, with no error anywhere, and refuses cards plainly.
func TestManualOnlyWithoutKeys(t *testing.T) {
	db := newDB(t)
	st := newStore(t, db, "manual-only")
	ctx := context.Background()
	svc := billing.NewService(db, billing.Config{}, quiet)

	ms, err := svc.Methods(ctx, st)
	if err != nil {
		t.Fatalf("Methods = %v", err)
	}
	if diff := cmp.Diff([]string{"manual:bank_transfer", "manual:cash_on_delivery"}, codes(ms)); diff != "" {
		t.Errorf("Methods codes mismatch (-want +got):\n%s", diff)
	}
	for _, m := range ms {
		if m.Provider != billing.ProviderManual || m.Name == "" || m.Instructions == "" {
			t.Errorf("Methods: %+v, want a manual method with a name and instructions", m)
		}
	}

	got, err := svc.Start(ctx, st, billing.Payment{Method: "manual:bank_transfer", OrderID: 1, Key: "chk", Amount: 1000, Currency: money.MustCurrency("USD")})
	if err != nil || got.Provider != billing.ProviderManual || got.Instructions != ms[0].Instructions || got.ClientSecret != "" {
		t.Errorf("Start(bank transfer) = %+v, %v; want the method's instructions", got, err)
	}
	for _, method := range []string{"stripe", "manual:cheque", "", "bitcoin"} {
		if _, err := svc.Start(ctx, st, billing.Payment{Method: method, OrderID: 1, Key: "chk", Amount: 1000, Currency: money.MustCurrency("USD")}); !errs.Is(err, errs.Invalid) {
			t.Errorf("Start(%q) = %v, want invalid", method, err)
		}
	}
	if _, err := svc.ConnectLink(ctx, st, "https://app.example.com/back", "https://app.example.com/again"); !errs.Is(err, errs.Invalid) {
		t.Errorf("ConnectLink without keys = %v, want invalid", err)
	}
	if code, _ := post(svc.Webhook(), []byte(`{}`), ""); code != http.StatusNotFound {
		t.Errorf("webhook without a secret = %d, want 404", code)
	}
}

// TestMethodsFollowTheAccount: cards are offered only once the store's
// connected account can take charges.
func TestMethodsFollowTheAccount(t *testing.T) {
	db := newDB(t)
	st := newStore(t, db, "methods")
	ctx := context.Background()
	svc := billing.NewService(db, stripeConfig("http://127.0.0.1:1"), quiet) // never called

	for _, step := range []struct {
		name    string
		account *tenant.PaymentAccount
		want    []string
	}{
		{"no account", nil, []string{"manual:bank_transfer", "manual:cash_on_delivery"}},
		{"onboarding", &tenant.PaymentAccount{StripeAccount: "acct_M1"}, []string{"manual:bank_transfer", "manual:cash_on_delivery"}},
		{"charges enabled", &tenant.PaymentAccount{StripeAccount: "acct_M1", ChargesEnabled: true}, []string{"stripe", "manual:bank_transfer", "manual:cash_on_delivery"}},
	} {
		if step.account != nil {
			if err := db.SaveStripeAccount(ctx, st.ID, *step.account); err != nil {
				t.Fatal(err)
			}
		}
		ms, err := svc.Methods(ctx, st)
		if err != nil {
			t.Fatalf("Methods (%s) = %v", step.name, err)
		}
		if diff := cmp.Diff(step.want, codes(ms)); diff != "" {
			t.Errorf("Methods (%s) mismatch (-want +got):\n%s", step.name, diff)
		}
	}
}

// TestStartStripe: a card payment makes a PaymentIntent on the store's
// connected account with the platform fee and our metadata, hands the
// browser its client secret, records a pending sale, and the same attempt
// always sends the same idempotency key.
func TestStartStripe(t *testing.T) {
	db := newDB(t)
	st := newStore(t, db, "cards")
	connect(t, db, st, "acct_Cards1")
	apiURL, rec := stripeMock(t)
	svc := billing.NewService(db, stripeConfig(apiURL), quiet)
	ctx := context.Background()
	o := placeOrder(t, db, st, 2_050)

	p := billing.Payment{Method: "stripe", OrderID: o.ID, OrderName: o.Name, Key: "checkout-abc", Attempt: 1,
		Amount: 2_050, Currency: money.MustCurrency("USD"), Email: "shopper@example.com"}
	got, err := svc.Start(ctx, st, p)
	if err != nil {
		t.Fatalf("Start(stripe) = %v", err)
	}
	calls := rec.Calls(http.MethodPost, "/v1/payment_intents")
	if len(calls) != 1 || calls[0].Status != http.StatusOK {
		t.Fatalf("calls to POST /v1/payment_intents = %+v, want one answered 200", calls)
	}
	c := calls[0]
	want := map[string]string{
		"amount": "2050", "currency": "usd", "application_fee_amount": "51", // 2.5 % of 20.50 = 0.5125, half up
		"automatic_payment_methods[enabled]": "true", "metadata[store_id]": st.ID.String(),
		"metadata[order_id]": strconv.FormatInt(o.ID, 10), "metadata[order_name]": o.Name,
	}
	for k, v := range want {
		if c.Form.Get(k) != v {
			t.Errorf("payment intent %s = %q, want %q", k, c.Form.Get(k), v)
		}
	}
	if c.Account != "acct_Cards1" {
		t.Errorf("Stripe-Account = %q, want the store's acct_Cards1 (a direct charge)", c.Account)
	}
	if c.IdempotencyKey == "" || !strings.Contains(c.IdempotencyKey, st.ID.String()) {
		t.Errorf("Idempotency-Key = %q, want one made of the store id, key and attempt", c.IdempotencyKey)
	}
	if secret, _ := c.Response["client_secret"].(string); got.ClientSecret == "" || got.ClientSecret != secret {
		t.Errorf("Start client secret = %q, want stripe-mock's %q", got.ClientSecret, secret)
	}
	if got.Provider != "stripe" || got.PublishableKey != "pk_test_123" || got.StripeAccount != "acct_Cards1" {
		t.Errorf("Start = %+v, want provider stripe, the publishable key and the store's account", got)
	}
	_, ts := order(t, db, st, o.ID)
	piID, _ := c.Response["id"].(string)
	if len(ts) != 1 || ts[0].Kind != "sale" || ts[0].Status != "pending" || ts[0].Reference != piID || ts[0].Gateway != "stripe" || ts[0].Amount != 2_050 {
		t.Errorf("transactions after Start = %+v, want one pending stripe sale of 2050 referencing %s", ts, piID)
	}

	// The same order again (a retry, a restart, a shopper back days after
	// Stripe forgot the key): the recorded intent is read back, not a
	// second one made that could be paid a second time.
	again, err := svc.Start(ctx, st, p)
	if err != nil {
		t.Fatalf("Start again = %v", err)
	}
	if n := len(rec.Calls(http.MethodPost, "/v1/payment_intents")); n != 1 {
		t.Errorf("payment intents made after a second Start = %d, want still 1", n)
	}
	gets := rec.Calls(http.MethodGet, "/v1/payment_intents/"+piID)
	if len(gets) != 1 || gets[0].Account != "acct_Cards1" || again.ClientSecret == "" {
		t.Errorf("reads of %s = %+v, client secret %q; want one on the store's account, and its secret", piID, gets, again.ClientSecret)
	}
	if _, ts := order(t, db, st, o.ID); len(ts) != 1 {
		t.Errorf("transactions after a second Start = %d, want the one pending sale", len(ts))
	}

	// Another store's same checkout key is another key.
	other := newStore(t, db, "cards-other")
	connect(t, db, other, "acct_Cards2")
	o2 := placeOrder(t, db, other, 2_050)
	p3 := p
	p3.OrderID = o2.ID
	if _, err := svc.Start(ctx, other, p3); err != nil {
		t.Fatalf("Start in other store = %v", err)
	}
	calls = rec.Calls(http.MethodPost, "/v1/payment_intents")
	if last := calls[len(calls)-1]; last.IdempotencyKey == calls[0].IdempotencyKey || last.Account != "acct_Cards2" {
		t.Errorf("other store's call = key %q account %q; want its own key and account", last.IdempotencyKey, last.Account)
	}

	for name, bad := range map[string]billing.Payment{
		"no amount": {Method: "stripe", OrderID: o.ID, Key: "k", Currency: money.MustCurrency("USD")},
		"no key":    {Method: "stripe", OrderID: o.ID, Amount: 100, Currency: money.MustCurrency("USD")},
		"no order":  {Method: "stripe", Key: "k", Amount: 100, Currency: money.MustCurrency("USD")},
	} {
		if _, err := svc.Start(ctx, st, bad); !errs.Is(err, errs.Invalid) {
			t.Errorf("Start (%s) = %v, want invalid", name, err)
		}
	}
}

// TestStartStripeUnavailable: Stripe not answering is Unavailable (retry),
// and nothing is recorded.
func TestStartStripeUnavailable(t *testing.T) {
	db := newDB(t)
	st := newStore(t, db, "cards-down")
	connect(t, db, st, "acct_Down1")
	svc := billing.NewService(db, stripeConfig("http://127.0.0.1:1"), quiet)
	o := placeOrder(t, db, st, 1_000)
	_, err := svc.Start(context.Background(), st, billing.Payment{Method: "stripe", OrderID: o.ID, Key: "k", Amount: 1_000, Currency: money.MustCurrency("USD")})
	if !errs.Is(err, errs.Unavailable) {
		t.Errorf("Start with Stripe down = %v, want unavailable", err)
	}
	if _, ts := order(t, db, st, o.ID); len(ts) != 0 {
		t.Errorf("transactions = %+v, want none", ts)
	}
}

// TestConnectLink: the first link makes the store's connected account and
// saves it; later links reuse it.
func TestConnectLink(t *testing.T) {
	db := newDB(t)
	st := newStore(t, db, "connect")
	apiURL, rec := stripeMock(t)
	svc := billing.NewService(db, stripeConfig(apiURL), quiet)
	ctx := context.Background()

	link, err := svc.ConnectLink(ctx, st, "https://app.example.com/payments/done", "https://app.example.com/payments/again")
	if err != nil || !strings.HasPrefix(link, "http") {
		t.Fatalf("ConnectLink = %q, %v; want a URL", link, err)
	}
	acct, err := db.StripeAccount(ctx, st.ID)
	if err != nil || !strings.HasPrefix(acct.StripeAccount, "acct_") {
		t.Fatalf("StripeAccount after ConnectLink = %+v, %v; want the new account saved", acct, err)
	}
	if _, err := svc.ConnectLink(ctx, st, "https://app.example.com/payments/done", "https://app.example.com/payments/again"); err != nil {
		t.Fatalf("ConnectLink again = %v", err)
	}
	accounts, links := rec.Calls(http.MethodPost, "/v1/accounts"), rec.Calls(http.MethodPost, "/v1/account_links")
	if len(accounts) != 1 || len(links) != 2 {
		t.Errorf("calls: %d account creations, %d links; want 1 and 2", len(accounts), len(links))
	}
	if len(accounts) == 1 && (accounts[0].Form.Get("type") != "standard" || accounts[0].Form.Get("metadata[store_id]") != st.ID.String() || accounts[0].IdempotencyKey == "") {
		t.Errorf("account creation = %+v, want a standard account with our store id and an idempotency key", accounts[0])
	}
	for _, l := range links {
		if l.Form.Get("account") != acct.StripeAccount || l.Form.Get("type") != "account_onboarding" {
			t.Errorf("account link = %v, want onboarding of %s", l.Form, acct.StripeAccount)
		}
	}
	if _, err := svc.ConnectLink(ctx, st, "/relative", "javascript:alert(1)"); !errs.Is(err, errs.Invalid) {
		t.Errorf("ConnectLink(bad URLs) = %v, want invalid", err)
	}
}
