package main

import (
	"bytes"
	"context"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/browser"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/tenant"
)

// TestMerchantUsesTheDashboard walks the dashboard in Chromium as a
// merchant would: sign up (the store's address suggested and checked live),
// land on the new store's checklist, log out, log in as the demo store's
// owner, see the last 30 days of sales, open the products and search them.
// Screenshots of each screen, on a desktop and a phone, are saved under
// .data/screenshots/TestMerchantUsesTheDashboard/.
func TestMerchantUsesTheDashboard(t *testing.T) {
	s, port := startServerAtBaseURL(t, testenv.Database(t))
	ctx := context.Background()
	if err := s.deps.db.MigrateControl(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ensureDemo(ctx, s.deps, &bytes.Buffer{}, &bytes.Buffer{}); err != nil {
		t.Fatalf("ensureDemo = %v", err)
	}
	placeDemoOrders(t, s)
	dash := "http://app.localhost:" + port

	b := browser.New(t)
	b.Open(dash+"/signup", "#store_name")
	b.Fill("#email", "ada@example.com")
	b.Fill("#password", "tea-for-two-2026")
	b.Fill("#store_name", "Ada's Tea Room")
	b.WaitText("#slug-status", "Available")
	var slug string
	b.Eval(`document.querySelector("#slug").value`, &slug)
	if slug != "ada-s-tea-room" {
		t.Errorf("the suggested store address = %q, want ada-s-tea-room", slug)
	}
	b.Screenshot("1-signup")
	b.Click(`form[action="/signup"] button[type="submit"]`)
	b.WaitVisible(".checklist")
	if !strings.Contains(b.URL(), "/store/ada-s-tea-room") {
		t.Errorf("after sign-up, URL = %s, want the new store's home", b.URL())
	}
	if got := b.Text(".checklist"); !strings.Contains(got, "Add a product") || !strings.Contains(got, "Choose a theme") {
		t.Errorf("the new store's checklist = %q", got)
	}
	b.Screenshot("2-home-new-store")

	b.Click(".logout button")
	b.WaitVisible(`form[action="/login"]`)
	b.Fill("#email", demoEmail)
	b.Fill("#password", demoPassword)
	b.Click(`form[action="/login"] button[type="submit"]`)
	b.WaitVisible("svg.chart")
	if !strings.HasSuffix(b.URL(), "/store/demo") {
		t.Errorf("after logging in, URL = %s, want the demo store's home", b.URL())
	}
	if got := b.Text(".totals"); !strings.Contains(got, "6 orders") {
		t.Errorf("the sales totals = %q, want 6 orders", got)
	}
	b.Screenshot("3-home-with-sales")

	b.Click(`section[aria-labelledby="recent-title"] tbody tr:first-child a`)
	b.WaitVisible("ol.timeline")
	if !strings.Contains(b.Text("h1"), "#100") {
		t.Errorf("the recent order's page h1 = %q, want its name", b.Text("h1"))
	}
	b.Screenshot("3b-order")
	b.Click(`nav.menu a[href="/store/demo/orders"]`)
	b.WaitVisible("table")
	b.Screenshot("3c-orders")

	b.Click(`nav.menu a[href="/store/demo/products"]`)
	b.WaitVisible("table.products")
	var rows int
	b.Eval(`document.querySelectorAll("table.products tbody tr").length`, &rows)
	if rows != 25 || !strings.Contains(b.Text(".page-head"), "products") {
		t.Errorf("the demo products list shows %d rows, want a page of 25", rows)
	}
	b.Screenshot("4-products")
	b.Fill("#q", "gyokuro")
	b.Click(`.filters button[type="submit"]`)
	b.WaitVisible(`#q[value="gyokuro"]`) // the results page: typing does not set the attribute
	if got := b.Text("table.products tbody"); !strings.Contains(got, "Gyokuro Asahi") || strings.Contains(got, "Sencha") {
		t.Errorf("the search for gyokuro lists:\n%s", got)
	}
	b.Screenshot("5-products-search")
	b.ExpectNoErrors()

	m := browser.NewMobile(t)
	m.Open(dash+"/signup", "#store_name")
	m.Screenshot("6-signup-mobile")
	m.Open(dash+"/login", `form[action="/login"]`)
	m.Fill("#email", demoEmail)
	m.Fill("#password", demoPassword)
	m.Click(`form[action="/login"] button[type="submit"]`)
	m.WaitVisible("svg.chart")
	m.Screenshot("7-home-mobile")
	m.Open(dash+"/store/demo/products", "table.products")
	m.Screenshot("8-products-mobile")
	m.ExpectNoErrors()
}

// startServerAtBaseURL is startServer on a port chosen first, so that
// BASE_URL can name it: the products list shows thumbnails from the
// store's own host, which Chromium must reach.
func startServerAtBaseURL(t *testing.T, dbURL string) (*testServer, string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	logs := &syncBuffer{}
	d, err := openDeps(context.Background(), envFor(dbURL, "TENANT_CACHE_TTL", "1h", "BASE_URL", "http://localhost:"+port), logs)
	if err != nil {
		t.Fatalf("openDeps = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	resolver := tenant.NewResolver(d.db, d.cfg.urls.Domain, d.cfg.TenantCacheTTL)
	go resolver.Run(ctx, d.rdb)
	waitSubscribed(t, d)
	srv := newServer(d, resolver)
	go d.db.WatchChanges(ctx, tenant.StorefrontChanges, srv.front.Changed)
	ts := httptest.NewUnstartedServer(srv)
	ts.Listener.Close()
	ts.Listener = ln
	ts.Start()
	t.Cleanup(func() {
		ts.Close()
		cancel()
		d.Close()
	})
	return &testServer{deps: d, http: ts, logs: logs}, port
}

// placeDemoOrders places six orders in the demo store over the last days,
// so the chart has bars.
func placeDemoOrders(t *testing.T, s *testServer) {
	t.Helper()
	ctx := context.Background()
	st, err := s.deps.db.TenantBySlug(ctx, demoSlug)
	if err != nil {
		t.Fatal(err)
	}
	for i, qty := range []int64{1, 3, 2, 4, 1, 2} {
		err := s.deps.db.Tx(ctx, st, func(tx *gorm.DB) error {
			cur, err := shop.CurrencyIn(tx)
			if err != nil {
				return err
			}
			sub := money.Amount(1600 * qty)
			o, err := orders.PlaceIn(tx, orders.NewOrder{Email: "shopper@example.com", Currency: cur.Code,
				Lines:         []orders.NewLine{{Title: "Gyokuro Asahi", VariantTitle: "50 g / Daily", Quantity: qty, Price: 1600}},
				SubtotalPrice: sub, TotalPrice: sub, Gateway: "manual", PaymentMethod: "Bank transfer", SourceName: "web",
				InventoryBehaviour: orders.InventoryBypass, Actor: "test"})
			if err != nil {
				return err
			}
			// Spread over the last days (test data: the order placed earlier).
			return tx.Exec(`UPDATE orders SET processed_at = ? WHERE id = ?`, time.Now().AddDate(0, 0, -3*i), o.ID).Error
		})
		if err != nil {
			t.Fatalf("place a demo order: %v", err)
		}
	}
}
