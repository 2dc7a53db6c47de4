package workers_test

import (
	"context"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/webhooks"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/customers"
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
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fleet.Run(runCtx) }()
	var got []mail.Summary
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline) && len(got) == 0; time.Sleep(50 * time.Millisecond) {
		got, _ = mail.List(dir)
	}
	time.Sleep(300 * time.Millisecond) // a duplicate would show by now
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got, _ = mail.List(dir); len(got) != 1 {
		t.Fatalf("emails sent = %d, want 1: %+v", len(got), got)
	}
	m, err := mail.Read(dir, got[0].Name)
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
	hooks := webhooks.NewService(db)
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
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fleet.Run(runCtx) }()
	// Stop the worker before its Redis client is closed, even on failure.
	t.Cleanup(func() { stop(); <-done })
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
	hooks := webhooks.NewService(db)
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
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- fleet.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })
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
