// Command storefleet is the whole platform in one binary: the HTTP server
// (dashboard, storefronts, Admin API), migrations, store administration and a
// development mode that runs everything against local services.
package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/blob"
	"github.com/storefleet/storefleet/internal/ratelimit"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/dashboard"
	"github.com/storefleet/storefleet/modules/discounts"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/modules/webhooks"

	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/redis/go-redis/v9"
	"github.com/spf13/cobra"

	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/tenant"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Getenv, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "storefleet:", err)
		os.Exit(1)
	}
}

// run executes the command line args; ctx ends on SIGTERM or Ctrl-C.
func run(ctx context.Context, getenv func(string) string, args []string, stdout, stderr io.Writer) error {
	gin.SetMode(gin.ReleaseMode)
	root := &cobra.Command{
		Use:           "storefleet",
		Short:         "Storefleet: a multi-tenant commerce platform",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.SetArgs(args)
	root.SetUsageTemplate(root.UsageTemplate() + "\n" + configHelp())
	root.AddCommand(
		serveCmd(getenv, stdout, stderr),
		devCmd(getenv, stdout, stderr),
		migrateCmd(getenv, stdout, stderr),
		tenantCmd(getenv, stdout, stderr),
		shardCmd(getenv, stdout, stderr),
		planCmd(getenv, stdout, stderr),
		operatorCmd(getenv, stdout, stderr),
		benchCmd(getenv, stdout, stderr),
		workerCmd(getenv, stderr),
		themeCmd(getenv, stdout, stderr),
	)
	return root.ExecuteContext(ctx)
}

// deps are what most commands need: configuration, a logger, Redis, and the
// control plane.
type deps struct {
	cfg      config
	log      *slog.Logger
	rdb      *redis.Client
	db       *tenant.DB
	bucket   *blob.Bucket
	sessions *auth.Sessions // signs and checks staff sessions
	secret   []byte         // SESSION_SECRET (or the development key), the root of the fleet's other keys
	closers  []func() error // what parts made later hold open, closed before the pools
}

// subkey derives the fleet-wide key for purpose from the secret, so that no
// two uses share a key.
func (d *deps) subkey(purpose string) []byte {
	m := hmac.New(sha256.New, d.secret)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// openDeps loads the configuration and connects to PostgreSQL and Redis.
func openDeps(ctx context.Context, getenv func(string) string, stderr io.Writer) (*deps, error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return nil, err
	}
	log := newLogger(cfg, stderr)
	opt, err := redis.ParseURL(cfg.RedisURL)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	rdb := redis.NewClient(opt)
	pingCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := rdb.Ping(pingCtx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("connect to Redis at %s: %w (is it running? `make services` starts one)", opt.Addr, err)
	}
	db, err := tenant.Open(ctx, cfg.DatabaseURL, tenant.Config{
		Pool: pg.Pool{MaxConns: int32(cfg.DatabaseConns), MaxLifetime: 30 * time.Minute},
	}, rdb, log)
	if err != nil {
		rdb.Close()
		return nil, fmt.Errorf("%w (is it running? `make services` starts one)", err)
	}
	key := cfg.SessionSecret
	if key == "" {
		key = devSessionKey
	}
	sessions, err := auth.NewSessions([]byte(key), cfg.SessionTTL)
	if err != nil {
		return nil, fmt.Errorf("SESSION_SECRET: %w", err)
	}
	bucket, err := blob.Open(ctx, cfg.BlobURL)
	if err != nil {
		db.Close()
		rdb.Close()
		return nil, fmt.Errorf("BLOB_URL: %w", err)
	}
	return &deps{cfg: cfg, log: log, rdb: rdb, db: db, bucket: bucket, sessions: sessions, secret: []byte(key)}, nil
}

func (d *deps) Close() error {
	var errList []error
	for _, c := range d.closers {
		errList = append(errList, c())
	}
	return errors.Join(append(errList, d.bucket.Close(), d.db.Close(), d.rdb.Close())...)
}

// devSessionKey signs staff sessions in development when SESSION_SECRET is
// not set; production refuses to start without one.
const devSessionKey = "storefleet-development-session-key-not-secret"

// billing is the payments service: manual methods, and Stripe when keys are set.
func (d *deps) billing() *billing.Service {
	return billing.NewService(d.db, d.cfg.billing(), d.log)
}

// dashboard is the merchant dashboard, showing the store's themes through
// themes (the serving storefront's, so they share its cache).
func (d *deps) dashboard(themes *storefront.Themes) *dashboard.Dashboard {
	return dashboard.New(dashboard.Config{
		DB: d.db, Sessions: d.sessions, Limiter: ratelimit.New(d.rdb), CSRFKey: d.subkey("dashboard csrf"), URLs: d.cfg.urls,
		Catalog: d.catalog(), Inventory: inventory.NewService(d.db), Orders: orders.NewService(d.db),
		Customers: customers.NewService(d.db), Discounts: discounts.NewService(d.db), Shipping: shipping.NewService(d.db),
		Shop: shop.NewService(d.db, d.cfg.urls), Webhooks: d.webhooks(), Notifications: notifications.NewService(d.db, d.cfg.urls),
		Themes: themes, Pages: storefront.NewPages(d.db), Menus: storefront.NewMenus(d.db), Payments: d.billing(),
		Stripe: d.cfg.StripeSecretKey != "", Log: d.log,
	})
}

// webhooks is the webhook subscriptions service: addresses that resolve to
// private networks are refused unless ALLOW_PRIVATE_URLS says otherwise.
func (d *deps) webhooks() *webhooks.Service {
	return webhooks.NewService(d.db, webhooks.AllowPrivate(d.cfg.AllowPrivate))
}

// catalog is the catalog service, with images in the configured bucket.
func (d *deps) catalog() *catalog.Service {
	return catalog.NewService(d.db, catalog.Files{
		Bucket: d.bucket,
		Fetch:  safehttp.NewClient(safehttp.Options{AllowPrivate: d.cfg.AllowPrivate, Timeout: time.Minute}),
		URLs:   d.cfg.urls,
	})
}

func newLogger(cfg config, w io.Writer) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.logLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
