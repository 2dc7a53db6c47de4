package workers_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/workers"
)

// TestOrderConfirmationEmail: a storefront order gets one confirmation,
// with its lines, total and status page link; an order a partner created
// through the API gets none.
func TestOrderConfirmationEmail(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(ctx, testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "confirming", Name: "Confirming Tea", Email: "hello@confirming.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	var placed orders.Order
	for _, source := range []string{"web", "api"} {
		err := db.Tx(ctx, st, func(tx *gorm.DB) error {
			o, err := orders.PlaceIn(tx, orders.NewOrder{Email: "ann@example.com", Currency: "USD", SourceName: source,
				ShippingAddress: &orders.Address{FirstName: "Ann", LastName: "Lee", Address1: "1 Main St", City: "Springfield", CountryCode: "US", Zip: "62701"},
				Lines:           []orders.NewLine{{Title: "Sencha", Quantity: 2, Price: 1250, RequiresShipping: true}},
				SubtotalPrice:   2500, TotalPrice: 2500, Gateway: "manual", PaymentMethod: "Bank transfer",
				InventoryBehaviour: "bypass", Actor: "test"})
			if source == "web" {
				placed = o
			}
			return err
		})
		if err != nil {
			t.Fatalf("PlaceIn(%s) = %v", source, err)
		}
	}

	dir := t.TempDir()
	sender, err := mail.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fleet := workers.New(db, testenv.IsolatedRedis(t), workers.Config{RelayInterval: 50 * time.Millisecond,
		Mailer: sender, MailFrom: "no-reply@storefleet.example", URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}}, log)
	stop := start(t, fleet)
	var got []mail.Summary
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && len(got) == 0; time.Sleep(50 * time.Millisecond) {
		got, _ = mail.List(dir)
	}
	time.Sleep(500 * time.Millisecond) // a second email would show by now
	stop()
	if got, _ = mail.List(dir); len(got) != 1 {
		t.Fatalf("emails sent = %d, want 1 (the storefront order's): %+v", len(got), got)
	}
	m, err := mail.Read(dir, got[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Order #1001 confirmed" || m.From.Name != "Confirming Tea" || len(m.To) != 1 || m.To[0].Email != "ann@example.com" {
		t.Errorf("email = %+v, want order #1001's confirmation to Ann from the store", m.Summary)
	}
	for _, want := range []string{"Hello Ann", "2 × Sencha", "25.00 USD", "http://confirming.localhost/orders/" + placed.Token} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the confirmation lacks %q:\n%s", want, m.Text)
		}
	}
}

// TestOrdersOutliveARedisOutage: shoppers place orders while Redis is down;
// when it is back, every order's confirmation email and orders/create
// webhook goes out, each once, even after a relay re-queues the events.
func TestOrdersOutliveARedisOutage(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dbURL := testenv.Database(t)
	db, err := tenant.Open(ctx, dbURL, tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "outage-orders", Name: "Outage Tea"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := db.CreateToken(ctx, st, "erp", []string{"read_orders"})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	got := map[string]int{} // order names the partner accepted, and how often
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var o struct {
			Name string `json:"name"`
		}
		if json.NewDecoder(r.Body).Decode(&o) != nil || o.Name == "" {
			http.Error(w, "not an order", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got[o.Name]++
		mu.Unlock()
	}))
	defer srv.Close()
	topic := orders.TopicCreate
	if _, err := webhooks.NewService(db, webhooks.AllowPrivate(true)).Subscribe(ctx, st, tok.ID, webhooks.Input{Topic: &topic, Address: &srv.URL}); err != nil {
		t.Fatal(err)
	}

	// Redis is down (nothing on the order path needs it): five orders.
	const n = 5
	for i := range n {
		err := db.Tx(ctx, st, func(tx *gorm.DB) error {
			_, err := orders.PlaceIn(tx, orders.NewOrder{Email: fmt.Sprintf("shopper%d@example.com", i), Currency: "USD", SourceName: "web",
				Lines:         []orders.NewLine{{Title: "Sencha", Quantity: 1, Price: 900}},
				SubtotalPrice: 900, TotalPrice: 900, Gateway: "manual", PaymentMethod: "Bank transfer", InventoryBehaviour: "bypass", Actor: "test"})
			return err
		})
		if err != nil {
			t.Fatalf("PlaceIn with Redis down = %v", err)
		}
	}
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer down.Close()
	cfg := workers.Config{RelayInterval: 50 * time.Millisecond, AllowPrivate: true, URLs: tenant.URLs{Scheme: "http", Domain: "localhost"},
		MailFrom: "no-reply@storefleet.example"}
	if q, err := workers.New(db, down, cfg, log).RelayOnce(ctx); err == nil && q > 0 {
		t.Fatalf("RelayOnce with Redis down queued %d events", q)
	}

	// Redis is back.
	dir := t.TempDir()
	if cfg.Mailer, err = mail.NewDir(dir); err != nil {
		t.Fatal(err)
	}
	fleet := workers.New(db, testenv.IsolatedRedis(t), cfg, log)
	stop := start(t, fleet)
	sent := func() int {
		mails, _ := mail.List(dir)
		mu.Lock()
		defer mu.Unlock()
		return len(mails) + len(got)
	}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && sent() < 2*n; time.Sleep(50 * time.Millisecond) {
	}
	// A relay that crashed after queueing, before marking the events sent.
	raw, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE outbox.events SET sent_at = NULL`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(600 * time.Millisecond)
	stop()
	mails, _ := mail.List(dir)
	to := map[string]int{}
	for _, m := range mails {
		msg, err := mail.Read(dir, m.Name)
		if err != nil {
			t.Fatal(err)
		}
		to[msg.To[0].Email]++
	}
	if len(to) != n || len(got) != n {
		t.Fatalf("after the outage: confirmations to %v, webhooks for %v; want each of the %d orders once", to, got, n)
	}
	for who, k := range to {
		if k != 1 {
			t.Errorf("%s got %d confirmations, want 1", who, k)
		}
	}
	for name, k := range got {
		if k != 1 {
			t.Errorf("order %s's webhook delivered %d times, want 1", name, k)
		}
	}
}

// TestUnpaidCardOrderExpires: a card order placed unpaid is cancelled by
// the fleet once CardPaymentWindow has passed, its stock back on sale; a
// manual order placed at the same time is left for the merchant.
func TestUnpaidCardOrderExpires(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(ctx, testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "expiry", Name: "Expiry Tea"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	place := func(gateway string) orders.Order {
		var o orders.Order
		err := db.Tx(ctx, st, func(tx *gorm.DB) error {
			var err error
			o, err = orders.PlaceIn(tx, orders.NewOrder{Email: "ann@example.com", Currency: "USD", SourceName: "web",
				Lines:         []orders.NewLine{{Title: "Sencha", Quantity: 1, Price: 900}},
				SubtotalPrice: 900, TotalPrice: 900, Gateway: gateway, PaymentMethod: gateway, InventoryBehaviour: "bypass", Actor: "test"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	card, manual := place("stripe"), place("manual")
	fleet := workers.New(db, testenv.IsolatedRedis(t), workers.Config{RelayInterval: 50 * time.Millisecond, RetryCheckInterval: 100 * time.Millisecond,
		Billing: billing.NewService(db, billing.Config{}, log), CardPaymentWindow: 300 * time.Millisecond,
		URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}}, log)
	stop := start(t, fleet)
	cancelled := func(id int64) bool {
		var o orders.Order
		db.ReadTx(ctx, st, func(tx *gorm.DB) error {
			var err error
			o, err = orders.OrderIn(tx, id)
			return err
		})
		return o.CancelledAt != nil
	}
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && !cancelled(card.ID); time.Sleep(50 * time.Millisecond) {
	}
	stop()
	if !cancelled(card.ID) {
		t.Error("the unpaid card order was not cancelled after its payment window")
	}
	if cancelled(manual.ID) {
		t.Error("the manual order was cancelled; it waits for the merchant")
	}
}
