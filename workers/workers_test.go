package workers_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/workers"
)

// partner is a partner's webhook endpoint: it refuses the first few
// deliveries, checks every signature with its own HMAC, and counts what it
// accepted by webhook id.
type partner struct {
	secret string
	mu     sync.Mutex
	refuse int
	got    map[string]int // accepted deliveries by X-Shopify-Webhook-Id
	bad    []string
	topics map[string]bool
}

func (p *partner) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	m := hmac.New(sha256.New, []byte(p.secret))
	m.Write(body)
	want := base64.StdEncoding.EncodeToString(m.Sum(nil))
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.Header.Get("X-Shopify-Hmac-Sha256") != want {
		p.bad = append(p.bad, "bad signature")
	}
	for _, h := range []string{"X-Shopify-Topic", "X-Shopify-Shop-Domain", "X-Shopify-Webhook-Id", "X-Shopify-Triggered-At", "X-Shopify-API-Version"} {
		if r.Header.Get(h) == "" {
			p.bad = append(p.bad, "no "+h)
		}
	}
	var product map[string]any
	if json.Unmarshal(body, &product) != nil || product["title"] == nil {
		p.bad = append(p.bad, "body is not the product: "+string(body))
	}
	p.topics[r.Header.Get("X-Shopify-Topic")] = true
	if p.refuse > 0 {
		p.refuse--
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	p.got[r.Header.Get("X-Shopify-Webhook-Id")]++
}

func (p *partner) accepted() map[string]int {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := map[string]int{}
	for k, v := range p.got {
		out[k] = v
	}
	return out
}

// TestWebhooksOutliveARedisOutage: products change while Redis is down;
// nothing is lost, and when Redis is back every event reaches the partner
// exactly once, through refusals and retries, signed.
func TestWebhooksOutliveARedisOutage(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dbURL := testenv.Database(t)
	db, err := tenant.Open(ctx, dbURL, tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "hooked", Name: "Hooked"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tok, _, err := db.CreateToken(ctx, st, "erp", []string{"read_products"})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := db.SigningSecret(ctx, st, tok.ID)
	if err != nil || len(secret) < 32 {
		t.Fatalf("SigningSecret = %q, %v", secret, err)
	}
	p := &partner{secret: secret, refuse: 2, got: map[string]int{}, topics: map[string]bool{}}
	srv := httptest.NewServer(p)
	defer srv.Close()
	hooks := webhooks.NewService(db, webhooks.AllowPrivate(true))
	for _, topic := range []string{"products/create", "products/update"} {
		if _, err := hooks.Subscribe(ctx, st, tok.ID, webhooks.Input{Topic: &topic, Address: &srv.URL}); err != nil {
			t.Fatal(err)
		}
	}

	// Redis is down: the shop goes on, the events wait.
	down := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer down.Close()
	cat := catalog.NewService(db, catalog.Files{Bucket: testenv.Bucket(t), Fetch: safehttp.NewClient(safehttp.Options{}),
		URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}})
	for _, title := range []string{"Sencha", "Bancha", "Kukicha"} {
		if _, err := cat.CreateProduct(ctx, st, catalog.ProductInput{Title: &title}); err != nil {
			t.Fatalf("CreateProduct with Redis down = %v", err)
		}
	}
	cfg := workers.Config{RelayInterval: 50 * time.Millisecond, WebhookRetryBase: 50 * time.Millisecond,
		RetryCheckInterval: 100 * time.Millisecond, AllowPrivate: true, URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}}
	if n, err := workers.New(db, down, cfg, log).RelayOnce(ctx); err == nil && n > 0 {
		t.Fatalf("RelayOnce with Redis down queued %d events", n)
	}
	if n, err := db.PendingEvents(ctx); err != nil || n != 3 {
		t.Fatalf("pending events with Redis down = %d, %v; want 3", n, err)
	}

	// Redis is back.
	fleet := workers.New(db, testenv.IsolatedRedis(t), cfg, log)
	stop := start(t, fleet)
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && len(p.accepted()) < 3 {
		time.Sleep(50 * time.Millisecond)
	}
	// A relay that crashed after queueing the events, before marking them
	// sent, queues them again: they must not be delivered twice.
	raw, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if _, err := raw.Exec(`UPDATE outbox.events SET sent_at = NULL`); err != nil {
		t.Fatal(err)
	}
	time.Sleep(500 * time.Millisecond)
	stop()
	got := p.accepted()
	if len(got) != 3 {
		t.Fatalf("the partner accepted %d events, want 3: %v", len(got), got)
	}
	for id, n := range got {
		if n != 1 {
			t.Errorf("event %s delivered %d times, want once", id, n)
		}
	}
	if len(p.bad) > 0 {
		t.Errorf("deliveries were wrong: %v", p.bad)
	}
	if p.topics["products/update"] {
		t.Errorf("the partner got products/update; only creates happened")
	}
	if n, _ := db.PendingEvents(ctx); n != 0 {
		t.Errorf("pending events after the relay = %d, want 0", n)
	}
	// The delivery log shows the refused attempts and the successes.
	subs, _ := hooks.Subscriptions(ctx, st, tok.ID, webhooks.Filter{Topic: "products/create", Limit: 10})
	log2, err := hooks.Deliveries(ctx, st, tok.ID, subs[0].ID, 10)
	if err != nil || len(log2) != 3 {
		t.Fatalf("Deliveries = %d, %v; want 3", len(log2), err)
	}
	attempts := 0
	for _, d := range log2 {
		if d.Status != "delivered" || d.ResponseCode == nil || *d.ResponseCode != 200 {
			t.Errorf("delivery %+v, want delivered with 200", d)
		}
		attempts += d.Attempts
	}
	if attempts != 5 {
		t.Errorf("attempts over the three deliveries = %d, want 5 (two refused)", attempts)
	}
}

// TestPeriodicRunsOncePerFleet: three workers at the same moment run a
// day's job once; a failed run does not stop the next day's.
func TestPeriodicRunsOncePerFleet(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dbURL := testenv.Database(t)
	db, err := tenant.Open(ctx, dbURL, tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fleet := workers.New(db, testenv.IsolatedRedis(t), workers.Config{}, log)
	day := time.Date(2026, 11, 21, 3, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fleet.RunPeriodic(ctx, fmt.Sprintf("worker-%d", i), day)
		}()
	}
	wg.Wait()
	raw, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var runs, finished int
	raw.QueryRow(`SELECT count(*), count(finished_at) FROM platform.periodic_runs WHERE job = 'outbox-prune'`).Scan(&runs, &finished)
	if runs != 1 || finished != 1 {
		t.Errorf("outbox-prune runs on %s = %d (%d finished), want 1", day.Format("2006-01-02"), runs, finished)
	}
	// A failed run is recorded; the next day claims its own run.
	if _, err := raw.Exec(`UPDATE platform.periodic_runs SET error = 'disk full'`); err != nil {
		t.Fatal(err)
	}
	fleet.RunPeriodic(ctx, "worker-0", day.Add(24*time.Hour))
	raw.QueryRow(`SELECT count(*) FROM platform.periodic_runs WHERE job = 'outbox-prune' AND finished_at IS NOT NULL`).Scan(&finished)
	if finished != 2 {
		t.Errorf("after a failed day, the next day's runs finished = %d, want 2 in all", finished)
	}
}
