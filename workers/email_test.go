package workers_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/workers"
)

// TestPasswordResetEmail: a customer asks for a reset; the worker emails a
// link, once; the link sets a new password once and then no more.
func TestPasswordResetEmail(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(ctx, testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "mailing", Name: "Mailing Tea", Email: "hello@mailing.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(db)
	if _, err := svc.Register(ctx, st, "ann@example.com", "first-password-1", "Ann", "Lee"); err != nil {
		t.Fatal(err)
	}
	if err := svc.StartReset(ctx, st, "ANN@example.com", "http://mailing.localhost"); err != nil {
		t.Fatal(err)
	}
	if err := svc.StartReset(ctx, st, "nobody@example.com", "http://mailing.localhost"); err != nil {
		t.Fatalf("StartReset(an email without an account) = %v, want nil (no hint)", err)
	}

	dir := t.TempDir()
	sender, err := mail.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	fleet := workers.New(db, testenv.IsolatedRedis(t), workers.Config{RelayInterval: 50 * time.Millisecond,
		Mailer: sender, MailFrom: "no-reply@storefleet.example", URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}}, log)
	stop := start(t, fleet)
	// Registering sent Ann the account verification email; the reset is
	// the other one.
	var got []mail.Summary
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && len(got) < 2; time.Sleep(50 * time.Millisecond) {
		got, _ = mail.List(dir)
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would show by now
	stop()
	var resets []mail.Summary
	got, _ = mail.List(dir)
	for _, g := range got {
		if strings.HasSuffix(g.MessageID, ".password_reset@storefleet") {
			resets = append(resets, g)
		}
	}
	if len(got) != 2 || len(resets) != 1 {
		t.Fatalf("emails sent = %+v, want one verification and one reset", got)
	}
	m, err := mail.Read(dir, resets[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Reset your password at Mailing Tea" || m.From.Name != "Mailing Tea" || m.From.Email != "no-reply@storefleet.example" ||
		len(m.To) != 1 || m.To[0].Email != "ann@example.com" {
		t.Errorf("email = %+v, want the store's name on the platform's address, to Ann", m.Summary)
	}
	link := regexp.MustCompile(`http://mailing\.localhost/account/reset/(\d+)/([0-9a-f]{64})`).FindStringSubmatch(m.Text)
	if link == nil || !regexp.MustCompile(`href="http://mailing\.localhost/account/reset/`).MatchString(m.HTML) {
		t.Fatalf("email holds no reset link:\n%s", m.Text)
	}
	id, _ := strconv.ParseInt(link[1], 10, 64)
	if _, err := svc.Reset(ctx, st, id, link[2], "short"); !errs.Is(err, errs.Invalid) {
		t.Errorf("Reset with a short password = %v, want Invalid", err)
	}
	if _, err := svc.Reset(ctx, st, id, link[2], "second-password-2"); err != nil {
		t.Fatalf("Reset with the emailed link = %v", err)
	}
	if _, err := svc.Login(ctx, st, "ann@example.com", "second-password-2"); err != nil {
		t.Errorf("Login with the new password = %v", err)
	}
	if _, err := svc.Login(ctx, st, "ann@example.com", "first-password-1"); err == nil {
		t.Errorf("Login with the old password worked")
	}
	if _, err := svc.Reset(ctx, st, id, link[2], "third-password-3"); !errs.Is(err, errs.Invalid) {
		t.Errorf("Reset with a used link = %v, want Invalid", err)
	}
}

// TestFailingWebhookIsTurnedOffAndReplayed: a subscription that keeps
// failing is turned off after its last retry and the merchant is emailed;
// what it misses is logged; turned on again, a replay sends everything.
func TestFailingWebhookIsTurnedOffAndReplayed(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(ctx, testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "flaky", Name: "Flaky Tea", Email: "owner@flaky.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := db.CreateToken(ctx, st, "erp", []string{"read_products"})
	if err != nil {
		t.Fatal(err)
	}
	var up atomic.Bool
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !up.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		got.Add(1)
	}))
	defer srv.Close()
	hooks := webhooks.NewService(db, webhooks.AllowPrivate(true))
	topic := "products/create"
	sub, err := hooks.Subscribe(ctx, st, tok.ID, webhooks.Input{Topic: &topic, Address: &srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	sender, _ := mail.NewDir(dir)
	fleet := workers.New(db, testenv.IsolatedRedis(t), workers.Config{RelayInterval: 50 * time.Millisecond, WebhookRetries: 2,
		WebhookRetryBase: 10 * time.Millisecond, RetryCheckInterval: 100 * time.Millisecond, WebhookDisableAfter: time.Millisecond,
		AllowPrivate: true, Mailer: sender, MailFrom: "no-reply@storefleet.example", URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}}, log)
	start(t, fleet)
	cat := catalog.NewService(db, catalog.Files{Bucket: testenv.Bucket(t), Fetch: safehttp.NewClient(safehttp.Options{}),
		URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}})
	started := time.Now().Add(-time.Second)
	title := "Sencha"
	if _, err := cat.CreateProduct(ctx, st, catalog.ProductInput{Title: &title}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the subscription to be turned off", func() bool {
		s, err := hooks.Subscription(ctx, st, tok.ID, sub.ID)
		return err == nil && s.DisabledAt != nil
	})
	waitFor(t, "the merchant's email", func() bool { l, _ := mail.List(dir); return len(l) == 1 })
	l, _ := mail.List(dir)
	if !strings.Contains(l[0].Subject, "was turned off: products/create") || l[0].To[0].Email != "owner@flaky.example" {
		t.Errorf("email = %+v, want the owner told which webhook was turned off", l[0])
	}
	// Turned off, it misses the next event; the log keeps it.
	title = "Bancha"
	if _, err := cat.CreateProduct(ctx, st, catalog.ProductInput{Title: &title}); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the missed delivery in the log", func() bool {
		ds, _ := hooks.Deliveries(ctx, st, tok.ID, sub.ID, 10)
		return len(ds) == 2
	})
	if got.Load() != 0 {
		t.Fatalf("deliveries reached a turned-off subscription: %d", got.Load())
	}
	// On again, replay everything since the start: both arrive.
	up.Store(true)
	enabled := true
	if _, err := hooks.Update(ctx, st, tok.ID, sub.ID, webhooks.Input{Enabled: &enabled}); err != nil {
		t.Fatal(err)
	}
	n, err := hooks.Replay(ctx, st, tok.ID, sub.ID, webhooks.ReplayRequest{Since: &started})
	if err != nil || n != 2 {
		t.Fatalf("Replay = %d, %v; want 2", n, err)
	}
	waitFor(t, "both replayed deliveries", func() bool { return got.Load() == 2 })
	time.Sleep(300 * time.Millisecond)
	if got.Load() != 2 {
		t.Errorf("replayed deliveries = %d, want 2 exactly", got.Load())
	}
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("gave up waiting for %s", what)
}

// TestWebhooksRefusePrivateAddresses: a subscription whose address leads
// into our own network (here loopback, by name and by number) is never
// called; its log says why. Only AllowPrivate (development, tests) lets it.
func TestWebhooksRefusePrivateAddresses(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(ctx, testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "ssrf", Name: "SSRF"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := db.CreateToken(ctx, st, "erp", []string{"read_products"})
	if err != nil {
		t.Fatal(err)
	}
	var called atomic.Int64
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { called.Add(1) }))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	hooks := webhooks.NewService(db, webhooks.AllowPrivate(true))
	topic := "products/create"
	var subs []int64
	for _, addr := range []string{srv.URL + "/hook", "https://localhost:" + port + "/hook", "https://internal.localhost:" + port + "/hook"} {
		sub, err := hooks.Subscribe(ctx, st, tok.ID, webhooks.Input{Topic: &topic, Address: &addr})
		if err != nil {
			t.Fatalf("Subscribe(%s) = %v", addr, err)
		}
		subs = append(subs, sub.ID)
	}
	fleet := workers.New(db, testenv.IsolatedRedis(t), workers.Config{RelayInterval: 50 * time.Millisecond, WebhookRetries: 1,
		WebhookRetryBase: 10 * time.Millisecond, RetryCheckInterval: 100 * time.Millisecond, URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}}, log)
	start(t, fleet)
	cat := catalog.NewService(db, catalog.Files{Bucket: testenv.Bucket(t), Fetch: safehttp.NewClient(safehttp.Options{}),
		URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}})
	title := "Sencha"
	if _, err := cat.CreateProduct(ctx, st, catalog.ProductInput{Title: &title}); err != nil {
		t.Fatal(err)
	}
	for _, id := range subs {
		waitFor(t, "the refusal in the log", func() bool {
			ds, _ := hooks.Deliveries(ctx, st, tok.ID, id, 5)
			return len(ds) == 1 && strings.Contains(ds[0].Error, "private or local network")
		})
	}
	if called.Load() != 0 {
		t.Errorf("the loopback endpoint was called %d times", called.Load())
	}
}

// smtpInbox is a real SMTP server in the test process (emersion/go-smtp)
// that keeps every message it accepts.
type smtpInbox struct {
	mu   sync.Mutex
	msgs [][]byte
}

func (b *smtpInbox) NewSession(*gosmtp.Conn) (gosmtp.Session, error) { return &smtpSession{b: b}, nil }

// messages returns what the server received so far, each decoded as the
// inbox page would show it.
func (b *smtpInbox) messages(t *testing.T) []*mail.Stored {
	t.Helper()
	b.mu.Lock()
	raw := append([][]byte(nil), b.msgs...)
	b.mu.Unlock()
	dir := t.TempDir()
	var out []*mail.Stored
	for i, data := range raw {
		name := strconv.Itoa(i) + ".eml"
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := mail.Read(dir, name)
		if err != nil {
			t.Fatalf("received message %d does not parse: %v\n%s", i, err, data)
		}
		out = append(out, m)
	}
	return out
}

type smtpSession struct{ b *smtpInbox }

func (s *smtpSession) Mail(string, *gosmtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *smtpSession) Reset()                                 {}
func (s *smtpSession) Logout() error                          { return nil }
func (s *smtpSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.b.mu.Lock()
	defer s.b.mu.Unlock()
	s.b.msgs = append(s.b.msgs, data)
	return nil
}

// startSMTP runs an SMTP server on a free loopback port until the test
// ends, and returns its inbox and a sender that delivers to it.
func startSMTP(t *testing.T) (*smtpInbox, mail.Sender) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inbox := &smtpInbox{}
	srv := gosmtp.NewServer(inbox)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	sender, err := mail.NewSMTP(mail.SMTPConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, TLS: mail.TLSNone})
	if err != nil {
		t.Fatal(err)
	}
	return inbox, sender
}

// placeWebOrder places a storefront order for Ann, two lines.
func placeWebOrder(t *testing.T, db *tenant.DB, st *tenant.Tenant) orders.Order {
	t.Helper()
	var o orders.Order
	err := db.Tx(context.Background(), st, func(tx *gorm.DB) error {
		var err error
		o, err = orders.PlaceIn(tx, orders.NewOrder{Email: "ann@example.com", Currency: "USD", SourceName: "web",
			ShippingAddress: &orders.Address{FirstName: "Ann", LastName: "<Lee>", Address1: "1 Main St", City: "Springfield", CountryCode: "US", Zip: "62701"},
			Lines: []orders.NewLine{{Title: "Sencha", Quantity: 2, Price: 1250, RequiresShipping: true},
				{Title: "Tea & cup", Quantity: 1, Price: 900, RequiresShipping: true}},
			SubtotalPrice: 3400, TotalPrice: 3400, Gateway: "manual", PaymentMethod: "Bank transfer",
			InventoryBehaviour: "bypass", Actor: "test"})
		return err
	})
	if err != nil {
		t.Fatalf("PlaceIn = %v", err)
	}
	return o
}

// runFleet runs a worker with mailer until the test ends.
func runFleet(t *testing.T, db *tenant.DB, mailer mail.Sender) {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	fleet := workers.New(db, testenv.IsolatedRedis(t), workers.Config{RelayInterval: 50 * time.Millisecond,
		Mailer: mailer, MailFrom: "no-reply@storefleet.example", URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}}, log)
	start(t, fleet)
}

func openDB(t *testing.T) *tenant.DB {
	t.Helper()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(context.Background(), testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// TestShippingConfirmationOverSMTP: a fulfillment with tracking that asks
// to notify the customer sends them, through a real SMTP server, the
// shipping confirmation with the carrier, the tracking number and its
// link; one that does not ask sends nothing.
func TestShippingConfirmationOverSMTP(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "shipping-mail", Name: "Shipping Tea", Email: "hello@shipping.example"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	o := placeWebOrder(t, db, st)
	svc := orders.NewService(db)
	track := "https://tracking.example/track?n=1Z999AA10123456784&lang=en"
	if _, err := svc.CreateFulfillment(ctx, st, orders.NewFulfillment{OrderID: o.ID, Lines: []orders.FulfillmentLine{{LineItemID: o.Lines[0].ID, Quantity: 2}},
		Tracking: orders.Tracking{Company: "UPS", Numbers: []string{"1Z999AA10123456784"}, URLs: []string{track}}, NotifyCustomer: true, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateFulfillment(ctx, st, orders.NewFulfillment{OrderID: o.ID, Tracking: orders.Tracking{Numbers: []string{"SILENT-1"}}, Actor: "test"}); err != nil {
		t.Fatal(err)
	}
	inbox, sender := startSMTP(t)
	runFleet(t, db, sender)
	waitFor(t, "the confirmation and the shipping confirmation", func() bool { return len(inbox.messages(t)) >= 2 })
	time.Sleep(500 * time.Millisecond) // a third email (the silent fulfillment's) would show by now
	msgs := inbox.messages(t)
	if len(msgs) != 2 {
		t.Fatalf("emails received = %d, want 2 (the order's confirmation, one shipping confirmation)", len(msgs))
	}
	var m *mail.Stored
	for _, msg := range msgs {
		if strings.Contains(msg.Subject, "on its way") {
			m = msg
		}
	}
	if m == nil {
		t.Fatalf("no shipping confirmation among %q, %q", msgs[0].Subject, msgs[1].Subject)
	}
	if m.Subject != "Your order #1001 is on its way" || m.From.Name != "Shipping Tea" || len(m.To) != 1 || m.To[0].Email != "ann@example.com" ||
		!strings.HasSuffix(m.MessageID, ".shipping_confirmation@storefleet") {
		t.Errorf("shipping confirmation = %+v, want #1001's, to Ann, from the store", m.Summary)
	}
	for _, want := range []string{"Hello Ann", "Carrier: UPS", "Tracking number: 1Z999AA10123456784", "Track your shipment: " + track,
		"2 × Sencha", "http://shipping-mail.localhost/orders/" + o.Token} {
		if !strings.Contains(m.Text, want) {
			t.Errorf("the text body lacks %q:\n%s", want, m.Text)
		}
	}
	if strings.Contains(m.Text, "Tea & cup") || strings.Contains(m.Text, "SILENT") {
		t.Errorf("the shipping confirmation lists what it does not ship:\n%s", m.Text)
	}
	for _, want := range []string{`href="https://tracking.example/track?n=1Z999AA10123456784&amp;lang=en"`, "1Z999AA10123456784",
		`href="http://shipping-mail.localhost/orders/` + o.Token + `"`, "Shipping Tea"} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("the HTML body lacks %q:\n%s", want, m.HTML)
		}
	}
}

// TestCustomizedNotificationIsSent: a merchant's own order confirmation,
// with the store's logo, is what the customer gets; what the customer typed
// is escaped in its HTML.
func TestCustomizedNotificationIsSent(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "custom-mail", Name: "Custom Tea"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Tx(ctx, st, func(tx *gorm.DB) error {
		return tx.Exec(`UPDATE shop SET logo_url = 'https://cdn.example/custom-tea.png'`).Error // the dashboard's job, later
	}); err != nil {
		t.Fatal(err)
	}
	subject := "{{ shop.name }} got your order {{ order_name }}!"
	html := `<img src="{{ shop.logo }}"><p>Dear {{ customer.name }}, {{ line_items.size }} lines, {{ total_price | money }}.</p>`
	text := "Dear {{ customer.name }}: {% for l in line_items %}[{{ l.title }}]{% endfor %} {{ total_price | money_with_currency }}"
	notices := notifications.NewService(db, tenant.URLs{Scheme: "http", Domain: "localhost"})
	if _, err := notices.SetTemplate(ctx, st, notifications.OrderConfirmation, notifications.Input{Subject: &subject, BodyHTML: &html, BodyText: &text}); err != nil {
		t.Fatalf("SetTemplate = %v", err)
	}
	placeWebOrder(t, db, st)
	dir := t.TempDir()
	sender, err := mail.NewDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	runFleet(t, db, sender)
	waitFor(t, "the confirmation", func() bool { l, _ := mail.List(dir); return len(l) == 1 })
	l, _ := mail.List(dir)
	m, err := mail.Read(dir, l[0].Name)
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Custom Tea got your order #1001!" {
		t.Errorf("subject = %q, want the merchant's", m.Subject)
	}
	if want := "Dear Ann <Lee>: [Sencha][Tea & cup] $34.00 USD"; strings.TrimSpace(m.Text) != want {
		t.Errorf("text = %q, want %q", m.Text, want)
	}
	if want := `<img src="https://cdn.example/custom-tea.png"><p>Dear Ann &lt;Lee&gt;, 2 lines, $34.00.</p>`; strings.TrimSpace(m.HTML) != want {
		t.Errorf("HTML = %q, want %q", m.HTML, want)
	}
}
