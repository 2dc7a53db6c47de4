package checkout_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/checkout"
	"github.com/storefleet/storefleet/modules/discounts"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/tenant"
)

// fixture is a storefront with its checkout on a real database, stores
// reached by host (<slug>.localhost) through one test server.
type fixture struct {
	t   testing.TB
	db  *tenant.DB
	cat *catalog.Service
	inv *inventory.Service
	co  *checkout.Service
	srv *httptest.Server
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	db, err := tenant.Open(context.Background(), testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 20}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	urls := tenant.URLs{Scheme: "http", Domain: "localhost"}
	cat := catalog.NewService(db, catalog.Files{Bucket: testenv.Bucket(t),
		Fetch: safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 5 * time.Second}), URLs: urls})
	front := storefront.New(db, cat, storefront.Config{URLs: urls, CartKey: []byte("test cart key")}, log)
	co := checkout.NewService(db, billing.NewService(db, billing.Config{}, log), front.Shopper, log)
	engine := gin.New()
	engine.Use(func(c *gin.Context) {
		slug, _, _ := strings.Cut(c.Request.Host, ".")
		st, err := db.TenantBySlug(c.Request.Context(), slug)
		if err != nil {
			c.AbortWithStatus(http.StatusNotFound)
			return
		}
		c.Request = c.Request.WithContext(tenant.NewContext(c.Request.Context(), st))
	})
	front.Routes(engine)
	co.Routes(engine)
	engine.NoRoute(front.NotFound)
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return &fixture{t: t, db: db, cat: cat, inv: inventory.NewService(db), co: co, srv: srv}
}

func ptr[T any](v T) *T { return &v }

// store provisions a store that ships to the United States (flat 5.00,
// free from 100.00) and charges no tax.
func (f *fixture) store(slug string) *tenant.Tenant {
	f.t.Helper()
	st, err := f.db.Provision(context.Background(), tenant.NewStore{Slug: slug, Name: "Store " + slug}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	shipsToUS(f.t, f.db, st)
	return st
}

// product makes a published product with one variant at price, stock
// tracked, n in stock.
func (f *fixture) product(st *tenant.Tenant, title, price string, n int64) catalog.Variant {
	f.t.Helper()
	ctx := context.Background()
	amount, err := money.MustCurrency("USD").Parse(price)
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := f.cat.CreateProduct(ctx, st, catalog.ProductInput{Title: ptr(title),
		Variants: &[]catalog.VariantInput{{Price: &amount, InventoryManagement: ptr(ptr("shopify"))}}})
	if err != nil {
		f.t.Fatal(err)
	}
	locs, err := f.inv.Locations(ctx, st)
	if err != nil {
		f.t.Fatal(err)
	}
	v := p.Variants[0]
	if _, err := f.inv.SetAvailable(ctx, st, inventory.Change{ItemID: v.ID, LocationID: locs[0].ID, Quantity: n, Actor: "test"}); err != nil {
		f.t.Fatal(err)
	}
	return v
}

func (f *fixture) available(st *tenant.Tenant, variant int64) int64 {
	f.t.Helper()
	var n int64
	err := f.db.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT coalesce(sum(available), 0) FROM inventory_levels WHERE inventory_item_id = ?`, variant).Scan(&n).Error
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

func (f *fixture) orderCount(st *tenant.Tenant) int64 {
	f.t.Helper()
	var n int64
	err := f.db.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		return tx.Raw(`SELECT count(*) FROM orders`).Scan(&n).Error
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return n
}

// shopper is a browser-like client of one store: it keeps cookies and does
// not follow redirects.
type shopper struct {
	f    *fixture
	host string
	c    *http.Client
}

func (f *fixture) shopper(st *tenant.Tenant) *shopper {
	jar, _ := cookiejar.New(nil)
	return &shopper{f: f, host: st.Slug + ".localhost", c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status   int
	location string
	body     string
}

func (s *shopper) do(method, path string, form url.Values) answer {
	req, err := http.NewRequest(method, s.f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		s.f.t.Fatal(err)
	}
	req.Host = s.host
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	u, _ := url.Parse("http://" + s.host + path)
	for _, ck := range s.c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		s.f.t.Error(err)
		return answer{}
	}
	defer resp.Body.Close()
	s.c.Jar.SetCookies(u, resp.Cookies())
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header.Get("Location"), string(b)}
}

func (s *shopper) get(path string) answer { return s.do("GET", path, nil) }

func (s *shopper) post(path string, form url.Values) answer { return s.do("POST", path, form) }

var address = url.Values{"email": {"ada@example.com"}, "first_name": {"Ada"}, "last_name": {"Lovelace"},
	"address1": {"1 Main St"}, "city": {"Springfield"}, "province": {"IL"}, "country": {"US"}, "zip": {"62701"}}

// toPayment puts variant in the shopper's cart and walks the checkout up
// to its payment step; it returns the checkout's path and the total shown.
func (s *shopper) toPayment(t testing.TB, variant int64, qty int) (string, string) {
	t.Helper()
	if a := s.post("/cart/add", url.Values{"id": {fmt.Sprint(variant)}, "quantity": {fmt.Sprint(qty)}}); a.status != http.StatusSeeOther {
		t.Fatalf("POST /cart/add = %d, want 303", a.status)
	}
	a := s.get("/checkout")
	if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, "/checkouts/") {
		t.Fatalf("GET /checkout = %d → %q, want 303 to /checkouts/…", a.status, a.location)
	}
	path := a.location
	if a := s.post(path+"/contact", address); a.status != http.StatusSeeOther {
		t.Fatalf("POST contact = %d, want 303\n%s", a.status, a.body)
	}
	page := s.get(path + "?step=shipping")
	rate := regexp.MustCompile(`name="shipping_rate" value="([^"]+)"`).FindStringSubmatch(page.body)
	if rate == nil {
		t.Fatalf("the shipping step offers no rate:\n%s", page.body)
	}
	if a := s.post(path+"/shipping", url.Values{"shipping_rate": {rate[1]}}); a.status != http.StatusSeeOther {
		t.Fatalf("POST shipping = %d, want 303\n%s", a.status, a.body)
	}
	page = s.get(path + "?step=payment")
	total := regexp.MustCompile(`name="total" value="([^"]+)"`).FindStringSubmatch(page.body)
	if total == nil {
		t.Fatalf("the payment step shows no total:\n%s", page.body)
	}
	return path, total[1]
}

func (s *shopper) complete(path, total string) answer {
	return s.post(path+"/complete", url.Values{"payment_method": {"manual:bank_transfer"}, "total": {total}})
}

// TestCheckoutManualPayment walks a guest through the checkout: a bad
// address is refused with a message, the order is placed once however
// often the button is pressed, stock is taken, the cart is emptied, and
// the status page shows the order and how to pay.
func TestCheckoutManualPayment(t *testing.T) {
	f := newFixture(t)
	st := f.store("tea-house")
	v := f.product(st, "Green Tea", "12.50", 5)
	s := f.shopper(st)

	if a := s.get("/checkout"); a.status != http.StatusSeeOther || a.location != "/cart" {
		t.Errorf("GET /checkout with an empty cart = %d → %q, want 303 to /cart", a.status, a.location)
	}
	s.post("/cart/add", url.Values{"id": {fmt.Sprint(v.ID)}, "quantity": {"2"}})
	a := s.get("/checkout")
	path := a.location
	if again := s.get("/checkout"); again.location != path {
		t.Errorf("a second GET /checkout → %q, want the same checkout %q", again.location, path)
	}

	bad := url.Values{}
	for k, v := range address {
		bad[k] = v
	}
	bad.Set("zip", "ABC")
	bad.Set("email", "not-an-email")
	a = s.post(path+"/contact", bad)
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "valid email") || !strings.Contains(a.body, `id="zip"`) {
		t.Errorf("POST contact with a bad email and ZIP = %d, want 422 naming them\n%s", a.status, a.body)
	}
	if !strings.Contains(a.body, `value="Springfield"`) {
		t.Error("the refused form does not keep what the shopper typed")
	}

	path, total := s.toPaymentFromCart(t, path)
	if total != "30.00" { // 2 × 12.50 + 5.00 shipping
		t.Errorf("total shown = %s, want 30.00", total)
	}
	var first answer
	var wg sync.WaitGroup
	answers := make([]answer, 5)
	for i := range answers { // a double (quintuple) click
		wg.Add(1)
		go func() { defer wg.Done(); answers[i] = s.complete(path, total) }()
	}
	wg.Wait()
	first = answers[0]
	for i, a := range answers {
		if a.status != http.StatusSeeOther || !strings.HasPrefix(a.location, "/orders/") || a.location != first.location {
			t.Errorf("complete #%d = %d → %q, want 303 to the one order %q", i, a.status, a.location, first.location)
		}
	}
	if n := f.orderCount(st); n != 1 {
		t.Errorf("orders after five clicks = %d, want 1", n)
	}
	if n := f.available(st, v.ID); n != 3 {
		t.Errorf("stock after the order = %d, want 3", n)
	}
	if cart := s.get("/cart.js"); !strings.Contains(cart.body, `"item_count":0`) {
		t.Errorf("the cart after the order: %s, want it empty", cart.body)
	}
	page := s.get(first.location)
	for _, want := range []string{"#1001", "Thank you, Ada", "Bank transfer", "<td>Subtotal</td><td>25.00</td>", "30.00", "Green Tea"} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the status page lacks %q\n%s", want, page.body)
		}
	}
	if a := s.get(path); a.status != http.StatusSeeOther || a.location != first.location {
		t.Errorf("GET the completed checkout = %d → %q, want 303 to its order", a.status, a.location)
	}

	// Shipped: the status page says so, with the tracking to follow.
	var o orders.Order
	err := f.db.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		o, err = orders.OrderByCheckoutIn(tx, strings.TrimPrefix(path, "/checkouts/"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = orders.NewService(f.db).CreateFulfillment(context.Background(), st, orders.NewFulfillment{OrderID: o.ID,
		Tracking: orders.Tracking{Company: "UPS", Numbers: []string{"1Z999AA10123456784"}, URLs: []string{"https://www.ups.com/track?tracknum=1Z999AA10123456784"}}})
	if err != nil {
		t.Fatal(err)
	}
	page = s.get(first.location)
	for _, want := range []string{"<dd>Shipped</dd>", "with UPS", `<a href="https://www.ups.com/track?tracknum=1Z999AA10123456784" rel="noopener noreferrer">1Z999AA10123456784</a>`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the shipped order's status page lacks %q\n%s", want, page.body)
		}
	}
}

// toPaymentFromCart is toPayment for a checkout already started.
func (s *shopper) toPaymentFromCart(t testing.TB, path string) (string, string) {
	t.Helper()
	if a := s.post(path+"/contact", address); a.status != http.StatusSeeOther {
		t.Fatalf("POST contact = %d, want 303\n%s", a.status, a.body)
	}
	page := s.get(path + "?step=shipping")
	rate := regexp.MustCompile(`name="shipping_rate" value="([^"]+)"`).FindStringSubmatch(page.body)
	if rate == nil {
		t.Fatalf("the shipping step offers no rate:\n%s", page.body)
	}
	s.post(path+"/shipping", url.Values{"shipping_rate": {rate[1]}})
	page = s.get(path + "?step=payment")
	total := regexp.MustCompile(`name="total" value="([^"]+)"`).FindStringSubmatch(page.body)
	if total == nil {
		t.Fatalf("the payment step shows no total:\n%s", page.body)
	}
	return path, total[1]
}

// TestCheckoutNeverOversells: 50 shoppers at once complete a checkout for a
// variant with 10 in stock: exactly 10 orders, 40 shoppers told it sold
// out, stock at zero.
func TestCheckoutNeverOversells(t *testing.T) {
	f := newFixture(t)
	st := f.store("hot-drop")
	v := f.product(st, "Limited Print", "40.00", 10)
	type ready struct {
		s           *shopper
		path, total string
	}
	var shoppers []ready
	for range 50 {
		s := f.shopper(st)
		path, total := s.toPayment(t, v.ID, 1)
		shoppers = append(shoppers, ready{s, path, total})
	}
	var wg sync.WaitGroup
	answers := make([]answer, len(shoppers))
	for i, r := range shoppers {
		wg.Add(1)
		go func() { defer wg.Done(); answers[i] = r.s.complete(r.path, r.total) }()
	}
	wg.Wait()
	placed, soldOut := 0, 0
	for _, a := range answers {
		switch {
		case a.status == http.StatusSeeOther && strings.HasPrefix(a.location, "/orders/"):
			placed++
		case a.status == http.StatusConflict && soldOutNotice.MatchString(a.body):
			soldOut++
		default:
			t.Errorf("complete = %d → %q, want an order or a clear sold-out message\n%.1500s", a.status, a.location, a.body[strings.Index(a.body, "<main"):])
		}
	}
	if placed != 10 || soldOut != 40 {
		t.Errorf("placed %d, sold out %d; want 10 and 40", placed, soldOut)
	}
	if n := f.orderCount(st); n != 10 {
		t.Errorf("orders = %d, want 10", n)
	}
	if n := f.available(st, v.ID); n != 0 {
		t.Errorf("stock = %d, want 0", n)
	}
}

// soldOutNotice is what a shopper who lost the race reads: it sold out
// while they paid, or before (seen when their total was checked).
var soldOutNotice = regexp.MustCompile(`class="notice" role="status">Limited Print (just sold out\.|sold out and was removed\.)<`)

// TestCheckoutChangedPrice: a price changed after the shopper saw the
// total is not charged silently: the order is refused with what changed,
// and placed once the shopper confirms the new total.
func TestCheckoutChangedPrice(t *testing.T) {
	f := newFixture(t)
	st := f.store("price-moves")
	v := f.product(st, "Kettle", "20.00", 5)
	s := f.shopper(st)
	path, total := s.toPayment(t, v.ID, 1)

	newPrice, _ := money.MustCurrency("USD").Parse("25.00")
	if _, err := f.cat.UpdateVariant(context.Background(), st, v.ID, catalog.VariantInput{Price: &newPrice}); err != nil {
		t.Fatal(err)
	}
	a := s.complete(path, total)
	if a.status != http.StatusConflict || !strings.Contains(a.body, "The price of Kettle changed from 20.00 USD to 25.00 USD.") {
		t.Fatalf("complete after a price change = %d, want 409 saying so\n%s", a.status, a.body)
	}
	if n := f.orderCount(st); n != 0 {
		t.Fatalf("orders after the refused completion = %d, want 0", n)
	}
	newTotal := regexp.MustCompile(`name="total" value="([^"]+)"`).FindStringSubmatch(a.body)
	if newTotal == nil || newTotal[1] != "30.00" {
		t.Fatalf("the page asks to confirm total %v, want 30.00", newTotal)
	}
	if a := s.complete(path, newTotal[1]); a.status != http.StatusSeeOther {
		t.Fatalf("complete with the new total = %d, want 303\n%s", a.status, a.body)
	}
	var o orders.Order
	err := f.db.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		o, err = orders.OrderByCheckoutIn(tx, strings.TrimPrefix(path, "/checkouts/"))
		return err
	})
	if err != nil || o.TotalPrice != 3000 {
		t.Errorf("OrderByCheckoutIn = %+v, %v; want total 3000", o.TotalPrice, err)
	}
}

// TestCheckoutIsolation: one store's checkout and order status page are
// not found on another store's host.
func TestCheckoutIsolation(t *testing.T) {
	f := newFixture(t)
	a, b := f.store("store-a"), f.store("store-b")
	v := f.product(a, "Mug", "9.00", 3)
	sa := f.shopper(a)
	path, total := sa.toPayment(t, v.ID, 1)
	done := sa.complete(path, total)
	sb := f.shopper(b)
	for _, p := range []string{path, path + "?step=payment", done.location} {
		if r := sb.get(p); r.status != http.StatusNotFound || strings.Contains(r.body, "Mug") {
			t.Errorf("GET %s on store B = %d, want 404 without A's data", p, r.status)
		}
	}
	if r := sb.post(path+"/complete", url.Values{"payment_method": {"manual:bank_transfer"}, "total": {total}}); r.status != http.StatusNotFound {
		t.Errorf("POST A's checkout on store B = %d, want 404", r.status)
	}
}

// shipsToUS gives store st a United States zone: Standard at 5.00 below
// 100.00, free from 100.00.
func shipsToUS(t testing.TB, db *tenant.DB, st *tenant.Tenant) {
	t.Helper()
	_, err := shipping.NewService(db).CreateZone(context.Background(), st, shipping.ZoneInput{Name: "Domestic",
		Countries: []shipping.ZoneCountryInput{{Code: "US"}},
		PriceRates: []shipping.PriceRateInput{
			{Name: "Standard", Price: "5.00", MaxSubtotal: ptr("99.99")},
			{Name: "Free shipping", Price: "0", MinSubtotal: ptr("100.00")},
		}})
	if err != nil {
		t.Fatal(err)
	}
}

// TestCheckoutDiscountAndTax: a percentage code comes off the merchandise,
// tax is charged on what is left, a bad code is refused with the reason,
// and the order records them all; a code limited to one use is gone for
// the next shopper.
func TestCheckoutDiscountAndTax(t *testing.T) {
	f := newFixture(t)
	st := f.store("taxed")
	ctx := context.Background()
	if _, err := shipping.NewService(f.db).CreateTaxCountry(ctx, st, shipping.TaxCountryInput{Code: ptr("US"), Tax: ptr("0.1"), TaxName: ptr("Sales tax")}); err != nil {
		t.Fatal(err)
	}
	ds := discounts.NewService(f.db)
	rule, err := ds.CreatePriceRule(ctx, st, discounts.PriceRuleInput{Title: ptr("Ten off"), ValueType: ptr("percentage"), Value: ptr("-10.0"),
		TargetType: ptr("line_item"), TargetSelection: ptr("all"), AllocationMethod: ptr("across"), CustomerSelection: ptr("all"),
		StartsAt: ptr(time.Now().Add(-time.Hour)), UsageLimit: ptr(int64(1))})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ds.CreateCode(ctx, st, rule.ID, ptr("TENOFF")); err != nil {
		t.Fatal(err)
	}
	v := f.product(st, "Teapot", "12.50", 10)

	s := f.shopper(st)
	path, total := s.toPayment(t, v.ID, 2)
	if total != "32.50" { // 25.00 + 5.00 shipping + 2.50 tax
		t.Errorf("total before the code = %s, want 32.50", total)
	}
	a := s.post(path+"/discount", url.Values{"discount": {"NOPE"}})
	if a.status != http.StatusUnprocessableEntity || !strings.Contains(a.body, "Enter a valid discount code") {
		t.Errorf("POST an unknown code = %d, want 422 saying so", a.status)
	}
	if a := s.post(path+"/discount", url.Values{"discount": {"tenoff"}}); a.status != http.StatusSeeOther {
		t.Fatalf("POST TENOFF = %d, want 303\n%s", a.status, a.body)
	}
	page := s.get(path + "?step=payment")
	got := regexp.MustCompile(`name="total" value="([^"]+)"`).FindStringSubmatch(page.body)
	if got == nil || got[1] != "29.75" { // 25.00 − 2.50 + 5.00 + 2.25 tax
		t.Fatalf("total with TENOFF = %v, want 29.75", got)
	}
	if a := s.complete(path, got[1]); a.status != http.StatusSeeOther {
		t.Fatalf("complete = %d, want 303\n%s", a.status, a.body[strings.Index(a.body, "<main"):])
	}
	var o orders.Order
	err = f.db.ReadTx(ctx, st, func(tx *gorm.DB) error {
		o, err = orders.OrderByCheckoutIn(tx, strings.TrimPrefix(path, "/checkouts/"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.TotalPrice != 2975 || o.TotalDiscounts != 250 || o.TotalTax != 225 || o.TotalShipping != 500 ||
		len(o.DiscountCodes) != 1 || o.DiscountCodes[0].Code != "TENOFF" || len(o.TaxLines) != 1 || o.TaxLines[0].Title != "Sales tax" {
		t.Errorf("order = total %d, discounts %d, tax %d, shipping %d, codes %+v, tax lines %+v; want 2975, 250, 225, 500, TENOFF, Sales tax",
			o.TotalPrice, o.TotalDiscounts, o.TotalTax, o.TotalShipping, o.DiscountCodes, o.TaxLines)
	}

	// The code's one use is spent.
	s2 := f.shopper(st)
	path2, _ := s2.toPayment(t, v.ID, 1)
	if a := s2.post(path2+"/discount", url.Values{"discount": {"TENOFF"}}); a.status != http.StatusUnprocessableEntity ||
		!strings.Contains(a.body, "reached its usage limit") {
		t.Errorf("POST a spent code = %d, want 422 saying its limit was reached", a.status)
	}
}

// TestCheckoutCardPayment: with Stripe configured and the store's account
// connected, the card method is offered; the order is placed pending and
// its status page carries Stripe's Payment Element for the intent made on
// the store's account (card data goes from the browser to Stripe only).
func TestCheckoutCardPayment(t *testing.T) {
	f := newFixture(t)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cards := billing.NewService(f.db, billing.Config{SecretKey: "sk_test_123", PublishableKey: "pk_test_123",
		WebhookSecret: "whsec_test", APIURL: testenv.StripeMock(t)}, log)
	engine := gin.New()
	engine.Use(func(c *gin.Context) {
		slug, _, _ := strings.Cut(c.Request.Host, ".")
		st, err := f.db.TenantBySlug(c.Request.Context(), slug)
		if err != nil {
			c.AbortWithStatus(http.StatusNotFound)
			return
		}
		c.Request = c.Request.WithContext(tenant.NewContext(c.Request.Context(), st))
	})
	front := storefront.New(f.db, f.cat, storefront.Config{URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}, CartKey: []byte("k")}, log)
	front.Routes(engine)
	checkout.NewService(f.db, cards, front.Shopper, log).Routes(engine)
	f.srv = httptest.NewServer(engine)
	t.Cleanup(f.srv.Close)

	st := f.store("card-shop")
	if err := f.db.SaveStripeAccount(context.Background(), st.ID, tenant.PaymentAccount{StripeAccount: "acct_CardShop", ChargesEnabled: true, DetailsSubmitted: true}); err != nil {
		t.Fatal(err)
	}
	v := f.product(st, "Whisk", "18.00", 4)
	s := f.shopper(st)
	path, total := s.toPayment(t, v.ID, 1)
	if page := s.get(path + "?step=payment"); !strings.Contains(page.body, `value="stripe"`) {
		t.Fatalf("the payment step does not offer cards:\n%s", page.body[strings.Index(page.body, "<main"):])
	}
	a := s.post(path+"/complete", url.Values{"payment_method": {"stripe"}, "total": {total}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("complete by card = %d, want 303", a.status)
	}
	page := s.get(a.location)
	for _, want := range []string{`https://js.stripe.com/v3/`, `stripeAccount:"acct_CardShop"`, `"pk_test_123"`, `_secret_`} {
		if !strings.Contains(page.body, want) {
			t.Errorf("the status page lacks %q", want)
		}
	}
	var o orders.Order
	var txs []orders.Transaction
	err := f.db.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		if o, err = orders.OrderByCheckoutIn(tx, strings.TrimPrefix(path, "/checkouts/")); err != nil {
			return err
		}
		txs, err = orders.TransactionsIn(tx, o.ID)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if o.Gateway != "stripe" || o.FinancialStatus != orders.FinancialPending || len(txs) != 1 || txs[0].Kind != orders.KindSale ||
		txs[0].Status != orders.StatusPending || txs[0].Amount != o.TotalPrice {
		t.Errorf("order %s %s with transactions %+v; want a pending stripe order with one pending sale of its total", o.Gateway, o.FinancialStatus, txs)
	}
	// Reloading the page pays the same intent.
	s.get(a.location)
	err = f.db.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		txs, err = orders.TransactionsIn(tx, o.ID)
		return err
	})
	if err != nil || len(txs) != 1 {
		t.Errorf("transactions after a reload = %d, %v; want still 1", len(txs), err)
	}
}

// TestCheckoutLoggedInCustomer: a customer who is logged in finds their
// email filled in, and the order is theirs.
func TestCheckoutLoggedInCustomer(t *testing.T) {
	f := newFixture(t)
	st := f.store("members")
	v := f.product(st, "Matcha", "30.00", 5)
	s := f.shopper(st)
	// Account forms carry the page's CSRF token (see storefront/csrf.go).
	token := regexp.MustCompile(`name="authenticity_token" value="([^"]+)"`).FindStringSubmatch(s.get("/account/register").body)
	if token == nil {
		t.Fatal("the register page has no authenticity_token")
	}
	a := s.post("/account", url.Values{"authenticity_token": {token[1]}, "customer[email]": {"mei@example.com"}, "customer[password]": {"correct-Horse-battery-9"},
		"customer[first_name]": {"Mei"}, "customer[last_name]": {"Ito"}})
	if a.status != http.StatusSeeOther {
		t.Fatalf("register = %d, want 303", a.status)
	}
	s.post("/cart/add", url.Values{"id": {fmt.Sprint(v.ID)}, "quantity": {"1"}})
	path := s.get("/checkout").location
	if page := s.get(path); !strings.Contains(page.body, `value="mei@example.com"`) {
		t.Errorf("the contact step does not have the customer's email filled in")
	}
	form := url.Values{}
	for k, v := range address {
		form[k] = v
	}
	form.Set("email", "mei@example.com")
	s.post(path+"/contact", form)
	rate := regexp.MustCompile(`name="shipping_rate" value="([^"]+)"`).FindStringSubmatch(s.get(path + "?step=shipping").body)
	s.post(path+"/shipping", url.Values{"shipping_rate": {rate[1]}})
	total := regexp.MustCompile(`name="total" value="([^"]+)"`).FindStringSubmatch(s.get(path + "?step=payment").body)[1]
	if a := s.complete(path, total); a.status != http.StatusSeeOther {
		t.Fatalf("complete = %d", a.status)
	}
	var o orders.Order
	err := f.db.ReadTx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		o, err = orders.OrderByCheckoutIn(tx, strings.TrimPrefix(path, "/checkouts/"))
		return err
	})
	if err != nil || o.CustomerID == nil || o.Email != "mei@example.com" {
		t.Errorf("order = customer %v, email %q, %v; want Mei's", o.CustomerID, o.Email, err)
	}
}
