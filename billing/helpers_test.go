package billing_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/tenant"
)

const webhookSecret = "whsec_test_secret"

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// newDB opens a control plane on a fresh test database.
func newDB(t testing.TB) *tenant.DB {
	t.Helper()
	db, err := tenant.Open(context.Background(), testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func newStore(t testing.TB, db *tenant.DB, slug string) *tenant.Tenant {
	t.Helper()
	st, err := db.Provision(context.Background(), tenant.NewStore{Slug: slug, Name: "Store " + slug}, nil)
	if err != nil {
		t.Fatalf("provision %s: %v", slug, err)
	}
	return st
}

// connect gives st a Stripe account that can take charges.
func connect(t testing.TB, db *tenant.DB, st *tenant.Tenant, acct string) {
	t.Helper()
	if err := db.SaveStripeAccount(context.Background(), st.ID, tenant.PaymentAccount{StripeAccount: acct, ChargesEnabled: true, DetailsSubmitted: true}); err != nil {
		t.Fatalf("SaveStripeAccount(%s) = %v", acct, err)
	}
}

// placeOrder places an order of one custom line of total in st's currency.
func placeOrder(t testing.TB, db *tenant.DB, st *tenant.Tenant, total money.Amount) orders.Order {
	t.Helper()
	var o orders.Order
	err := db.Tx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		o, err = orders.PlaceIn(tx, orders.NewOrder{
			Email: "shopper@example.com", Currency: "USD", Gateway: "stripe", PaymentMethod: "Card",
			Lines:         []orders.NewLine{{Title: "Tea", Quantity: 1, Price: total}},
			SubtotalPrice: total, TotalPrice: total, SourceName: "web", Actor: "test",
		})
		return err
	})
	if err != nil {
		t.Fatalf("PlaceIn = %v", err)
	}
	return o
}

// order reads st's order id back.
func order(t testing.TB, db *tenant.DB, st *tenant.Tenant, id int64) (orders.Order, []orders.Transaction) {
	t.Helper()
	var o orders.Order
	var ts []orders.Transaction
	err := db.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		if o, err = orders.OrderIn(tx, id); err != nil {
			return err
		}
		ts, err = orders.TransactionsIn(tx, id)
		return err
	})
	if err != nil {
		t.Fatalf("read order %d: %v", id, err)
	}
	return o, ts
}

// stripeCall is one request that went to stripe-mock, and its answer.
type stripeCall struct {
	Method, Path            string
	IdempotencyKey, Account string
	Form                    url.Values
	Status                  int
	Response                map[string]any
}

// stripeRecorder sits between the service and stripe-mock and keeps every
// call, so tests see what reached Stripe.
type stripeRecorder struct {
	mu    sync.Mutex
	calls []stripeCall
}

func (r *stripeRecorder) Calls(method, path string) []stripeCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []stripeCall
	for _, c := range r.calls {
		if c.Method == method && c.Path == path {
			out = append(out, c)
		}
	}
	return out
}

// stripeMock starts stripe-mock behind a recording proxy and returns the
// proxy's URL.
func stripeMock(t testing.TB) (string, *stripeRecorder) {
	t.Helper()
	target, _ := url.Parse(testenv.StripeMock(t))
	rec := &stripeRecorder{}
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		req := resp.Request
		var answer map[string]any
		json.Unmarshal(body, &answer)
		form, _ := url.ParseQuery(req.Header.Get("X-Test-Form"))
		rec.mu.Lock()
		rec.calls = append(rec.calls, stripeCall{Method: req.Method, Path: req.URL.Path, IdempotencyKey: req.Header.Get("Idempotency-Key"),
			Account: req.Header.Get("Stripe-Account"), Form: form, Status: resp.StatusCode, Response: answer})
		rec.mu.Unlock()
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.Header.Set("X-Test-Form", string(body)) // for ModifyResponse, which sees the outgoing request
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL, rec
}

// stripeConfig is a Config with test keys against apiURL.
func stripeConfig(apiURL string) billing.Config {
	return billing.Config{SecretKey: "sk_test_123", PublishableKey: "pk_test_123", WebhookSecret: webhookSecret,
		APIURL: apiURL, FeeBasisPoints: 250}
}

// signedEvent is a Stripe event of type typ on account acct about obj,
// with its Stripe-Signature header, as Stripe would send it.
func signedEvent(t testing.TB, id, typ, acct string, obj any) (body []byte, signature string) {
	t.Helper()
	raw, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	body, err = json.Marshal(map[string]any{
		"id": id, "object": "event", "api_version": stripe.APIVersion, "created": time.Now().Unix(),
		"type": typ, "account": acct, "livemode": false, "pending_webhooks": 1,
		"data": map[string]any{"object": json.RawMessage(raw)},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: webhookSecret})
	return body, p.Header
}

// post sends body with signature to h and returns the status.
func post(h http.Handler, body []byte, signature string) (int, string) {
	req := httptest.NewRequest(http.MethodPost, "/webhooks/stripe", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("Stripe-Signature", signature)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	return w.Code, w.Body.String()
}

// deliver signs and sends an event, and fails the test unless it gets want.
func deliver(t testing.TB, h http.Handler, want int, id, typ, acct string, obj any) {
	t.Helper()
	body, sig := signedEvent(t, id, typ, acct, obj)
	if code, msg := post(h, body, sig); code != want {
		t.Fatalf("POST %s %s = %d %q, want %d", typ, id, code, msg, want)
	}
}

// intent is a PaymentIntent of st's order o, as Stripe sends it in events.
func intent(st *tenant.Tenant, o orders.Order, id string, received int64) map[string]any {
	return map[string]any{"id": id, "object": "payment_intent", "amount": int64(o.TotalPrice), "amount_received": received,
		"amount_capturable": int64(o.TotalPrice), "currency": "usd", "status": "succeeded",
		"metadata": map[string]string{"store_id": st.ID.String(), "order_id": strconv.FormatInt(o.ID, 10), "order_name": o.Name}}
}

// refundedCharge is the charge of intent pi refunded by refunds (id → amount).
func refundedCharge(st *tenant.Tenant, o orders.Order, pi string, refunds map[string]int64) map[string]any {
	var data []any
	var sum int64
	for id, amount := range refunds {
		sum += amount
		data = append(data, map[string]any{"id": id, "object": "refund", "amount": amount, "status": "succeeded", "currency": "usd", "payment_intent": pi})
	}
	return map[string]any{"id": "ch_" + pi[3:], "object": "charge", "amount": int64(o.TotalPrice), "amount_captured": int64(o.TotalPrice),
		"amount_refunded": sum, "refunded": sum >= int64(o.TotalPrice), "currency": "usd", "payment_intent": pi,
		"metadata": map[string]string{"store_id": st.ID.String(), "order_id": strconv.FormatInt(o.ID, 10)},
		"refunds":  map[string]any{"object": "list", "data": data, "has_more": false, "url": "/v1/refunds"}}
}
