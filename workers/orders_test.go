package workers_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/orders"
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
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fleet.Run(runCtx) }()
	var got []mail.Summary
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && len(got) == 0; time.Sleep(50 * time.Millisecond) {
		got, _ = mail.List(dir)
	}
	time.Sleep(500 * time.Millisecond) // a second email would show by now
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
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
