package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"reflect"
	"strings"
	"time"

	"github.com/caarlos0/env/v11"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/tenant"
)

// config is every setting of the binary, read from the environment. Each
// field's default works on a developer's machine with `make services`.
type config struct {
	Env               string        `env:"STOREFLEET_ENV" envDefault:"development" help:"development or production (production logs JSON)"`
	HTTPAddr          string        `env:"HTTP_ADDR" envDefault:":8080" help:"address the HTTP server listens on"`
	BaseURL           string        `env:"BASE_URL" envDefault:"http://localhost:8080" help:"scheme, base domain and port the fleet is reached at: stores at <slug>.<domain>, dashboard at app.<domain>"`
	DatabaseURL       string        `env:"DATABASE_URL" envDefault:"postgres://storefleet@127.0.0.1:54329/storefleet?sslmode=disable" secret:"true" help:"control database; pgx parameters allowed (behind PgBouncer before 1.21 add default_query_exec_mode=exec)"`
	DatabaseConns     int           `env:"DATABASE_MAX_CONNS" envDefault:"20" help:"most connections per database pool (the control database and each shard)"`
	RedisURL          string        `env:"REDIS_URL" envDefault:"redis://127.0.0.1:63799/0" secret:"true" help:"Redis, for the job queue and cross-process cache invalidation"`
	LogFormat         string        `env:"LOG_FORMAT" envDefault:"" help:"text or json; empty: text in development, json in production"`
	LogLevel          string        `env:"LOG_LEVEL" envDefault:"info" help:"debug, info, warn or error"`
	ShutdownTimeout   time.Duration `env:"SHUTDOWN_TIMEOUT" envDefault:"20s" help:"how long SIGTERM waits for in-flight requests"`
	TenantCacheTTL    time.Duration `env:"TENANT_CACHE_TTL" envDefault:"30s" help:"how long a process trusts its cached host-to-store answers (changes also invalidate them through Redis)"`
	MigrateParallel   int           `env:"MIGRATE_PARALLELISM" envDefault:"4" help:"stores migrated at once by storefleet migrate"`
	AccessReload      time.Duration `env:"ACCESS_RELOAD_INTERVAL" envDefault:"5m" help:"how often each process reloads the whole access policy (changes also arrive at once through Redis)"`
	SessionSecret     string        `env:"SESSION_SECRET" envDefault:"" secret:"true" help:"key that signs staff sessions, at least 32 bytes, the same on every server; required in production (development uses a fixed key)"`
	SessionTTL        time.Duration `env:"SESSION_TTL" envDefault:"15m" help:"how long a staff session token lives"`
	BlobURL           string        `env:"BLOB_URL" envDefault:"file://./.data/blobs" help:"where files (product images) are kept: a local folder (file://…) or an S3-compatible bucket (s3://bucket?region=…&endpoint=…, credentials from the AWS environment)"`
	AllowPrivate      bool          `env:"ALLOW_PRIVATE_URLS" envDefault:"false" help:"let merchant- and partner-given URLs (image sources, webhook addresses) reach loopback and private addresses: for local development and tests only"`
	MailURL           string        `env:"MAIL_URL" envDefault:"file:.data/mail" secret:"true" help:"where email goes: smtp://user:pass@host:587?tls=starttls (or smtps://…), or file:<folder> to write .eml files (development)"`
	MailFrom          string        `env:"MAIL_FROM" envDefault:"no-reply@localhost" help:"the address every store's email leaves from, under the store's name (replies go to the store's email)"`
	WorkerConcurrency int           `env:"WORKER_CONCURRENCY" envDefault:"10" help:"tasks a storefleet worker runs at once"`
	StripeSecretKey   string        `env:"STRIPE_SECRET_KEY" envDefault:"" secret:"true" help:"the platform's Stripe secret key (sk_…); empty: stores take manual payments only"`
	StripePublicKey   string        `env:"STRIPE_PUBLISHABLE_KEY" envDefault:"" help:"the platform's Stripe publishable key (pk_…), for the checkout's card form"`
	StripeWebhookKey  string        `env:"STRIPE_WEBHOOK_SECRET" envDefault:"" secret:"true" help:"signing secret (whsec_…) of the Connect webhook endpoint app.<domain>/webhooks/stripe, created with API version 2023-10-16"`
	StripeAPIURL      string        `env:"STRIPE_API_URL" envDefault:"" help:"Stripe's API base URL; empty for Stripe itself (stripe-mock's URL in tests)"`
	CardPaymentWindow time.Duration `env:"CARD_PAYMENT_WINDOW" envDefault:"1h" help:"how long a card order placed unpaid holds its stock before the worker cancels it (the shopper left the payment page)"`
	PlatformFee       int64         `env:"PLATFORM_FEE_BASIS_POINTS" envDefault:"0" help:"the platform's application fee on each card payment, in hundredths of a percent (250 = 2.5%)"`
	BackupKeepDaily   int           `env:"BACKUP_KEEP_DAILY" envDefault:"7" help:"backups kept per store as dailies: the newest of each of this many most recent days with a backup"`
	BackupKeepWeekly  int           `env:"BACKUP_KEEP_WEEKLY" envDefault:"4" help:"backups kept per store as weeklies: the newest of each of this many most recent ISO weeks with a backup"`
	BackupWindow      time.Duration `env:"BACKUP_WINDOW" envDefault:"4h" help:"how long the nightly backup tasks of all stores are spread over, from when the day's job runs (just after 00:00 UTC)"`
	BackupConcurrency int           `env:"BACKUP_CONCURRENCY" envDefault:"2" help:"store backups (pg_dump) running at once across the whole fleet"`

	// Derived in load.
	urls     tenant.URLs
	logLevel slog.Level
}

// loadConfig reads the configuration through getenv and validates it; every
// error names the variable to fix.
func loadConfig(getenv func(string) string) (config, error) {
	var cfg config
	params, err := env.GetFieldParams(&cfg)
	if err != nil {
		return cfg, err
	}
	vars := map[string]string{}
	fieldKey := map[string]string{}
	for _, p := range params {
		if v := getenv(p.Key); v != "" {
			vars[p.Key] = v
		}
	}
	t := reflect.TypeFor[config]()
	for i := range t.NumField() {
		if k := t.Field(i).Tag.Get("env"); k != "" {
			fieldKey[t.Field(i).Name] = k
		}
	}
	if err := env.ParseWithOptions(&cfg, env.Options{Environment: vars}); err != nil {
		if agg, ok := errors.AsType[env.AggregateError](err); ok {
			var msgs []string
			for _, e := range agg.Errors {
				if pe, ok := errors.AsType[env.ParseError](e); ok {
					msgs = append(msgs, fmt.Sprintf("%s: %q is not a valid %s", fieldKey[pe.Name], vars[fieldKey[pe.Name]], pe.Type))
					continue
				}
				msgs = append(msgs, e.Error())
			}
			return cfg, errors.New(strings.Join(msgs, "; "))
		}
		return cfg, err
	}
	return cfg, cfg.validate()
}

func (c *config) validate() error {
	var problems []string
	bad := func(key, format string, args ...any) {
		problems = append(problems, key+": "+fmt.Sprintf(format, args...))
	}
	switch c.Env {
	case "development", "production":
	default:
		bad("STOREFLEET_ENV", "%q must be development or production", c.Env)
	}
	if c.LogFormat == "" {
		c.LogFormat = map[string]string{"production": "json"}[c.Env]
		if c.LogFormat == "" {
			c.LogFormat = "text"
		}
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("LOG_FORMAT", "%q must be text or json", c.LogFormat)
	}
	if err := c.logLevel.UnmarshalText([]byte(c.LogLevel)); err != nil {
		bad("LOG_LEVEL", "%q must be debug, info, warn or error", c.LogLevel)
	}
	if _, _, err := net.SplitHostPort(c.HTTPAddr); err != nil {
		bad("HTTP_ADDR", "%q must be host:port or :port", c.HTTPAddr)
	}
	var err error
	if c.urls, err = tenant.ParseBaseURL(c.BaseURL); err != nil {
		bad("BASE_URL", "%s", errs.MessageOf(err))
	}
	if _, err := pg.ParseURL(c.DatabaseURL); err != nil {
		bad("DATABASE_URL", "%v", err)
	}
	if _, err := redis.ParseURL(c.RedisURL); err != nil {
		bad("REDIS_URL", "not a valid Redis URL (redis://[:password@]host:port/db)")
	}
	if c.DatabaseConns < 4 {
		bad("DATABASE_MAX_CONNS", "%d must be at least 4 (provisioning a store takes three)", c.DatabaseConns)
	}
	if c.MigrateParallel < 1 {
		bad("MIGRATE_PARALLELISM", "%d must be at least 1", c.MigrateParallel)
	}
	if c.ShutdownTimeout <= 0 {
		bad("SHUTDOWN_TIMEOUT", "must be positive")
	}
	if c.TenantCacheTTL <= 0 {
		bad("TENANT_CACHE_TTL", "must be positive")
	}
	if c.AccessReload <= 0 {
		bad("ACCESS_RELOAD_INTERVAL", "must be positive")
	}
	switch {
	case c.SessionSecret == "" && c.Env == "production":
		bad("SESSION_SECRET", "is required in production (at least %d random bytes, e.g. `openssl rand -hex 32`)", auth.MinSessionKey)
	case c.SessionSecret != "" && len(c.SessionSecret) < auth.MinSessionKey:
		bad("SESSION_SECRET", "must be at least %d bytes", auth.MinSessionKey)
	}
	if scheme, _, _ := strings.Cut(c.MailURL, ":"); scheme != "smtp" && scheme != "smtps" && scheme != "file" {
		bad("MAIL_URL", "must be smtp://…, smtps://… or file:<folder>")
	}
	if _, err := netmail.ParseAddress(c.MailFrom); err != nil || strings.ContainsAny(c.MailFrom, "<>") {
		bad("MAIL_FROM", "%q must be a bare email address", c.MailFrom)
	}
	if err := c.billing().Validate(); err != nil {
		names := map[string]string{"fee_basis_points": "PLATFORM_FEE_BASIS_POINTS", "api_url": "STRIPE_API_URL",
			"publishable_key": "STRIPE_PUBLISHABLE_KEY", "webhook_secret": "STRIPE_WEBHOOK_SECRET"}
		for field, msgs := range errs.FieldsOf(err) {
			bad(names[field], "%s", msgs[0])
		}
	}
	if c.CardPaymentWindow < time.Minute {
		bad("CARD_PAYMENT_WINDOW", "must be at least 1m")
	}
	if c.WorkerConcurrency < 1 {
		bad("WORKER_CONCURRENCY", "must be at least 1")
	}
	if c.SessionTTL < time.Minute {
		bad("SESSION_TTL", "must be at least 1m")
	}
	if c.BackupKeepDaily < 1 {
		bad("BACKUP_KEEP_DAILY", "must be at least 1 (the newest backup is always kept)")
	}
	if c.BackupKeepWeekly < 0 {
		bad("BACKUP_KEEP_WEEKLY", "must be 0 or more")
	}
	if c.BackupWindow < time.Minute || c.BackupWindow > 24*time.Hour {
		bad("BACKUP_WINDOW", "must be between 1m and 24h")
	}
	if c.BackupConcurrency < 1 {
		bad("BACKUP_CONCURRENCY", "must be at least 1")
	}
	if scheme, _, ok := strings.Cut(c.BlobURL, "://"); ok && scheme != "file" && scheme != "s3" {
		bad("BLOB_URL", "%q must be a folder (file://…) or an S3-compatible bucket (s3://…)", scheme)
	}
	if len(problems) > 0 {
		return errors.New("invalid configuration: " + strings.Join(problems, "; "))
	}
	return nil
}

// logValues lists the settings for the start-up log line, secrets masked.
func (c config) logValues() []any {
	var out []any
	v := reflect.ValueOf(c)
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("env")
		if key == "" {
			continue
		}
		val := fmt.Sprint(v.Field(i).Interface())
		if f.Tag.Get("secret") == "true" {
			val = redact(key, val)
		}
		out = append(out, key, val)
	}
	return out
}

// redact shows a connection URL without its secrets, whichever way they
// were written (user:password@, ?password=, key=value): it is rebuilt from
// the parsed host, port, database and user only.
func redact(key, s string) string {
	switch key {
	case "DATABASE_URL":
		if cfg, err := pg.ParseURL(s); err == nil {
			c := cfg.ConnConfig
			return fmt.Sprintf("postgres://%s@%s:%d/%s (password hidden)", c.User, c.Host, c.Port, c.Database)
		}
	case "REDIS_URL":
		if opt, err := redis.ParseURL(s); err == nil {
			return fmt.Sprintf("redis://%s/%d (password hidden)", opt.Addr, opt.DB)
		}
	default:
		if u, err := url.Parse(s); err == nil {
			return u.Redacted()
		}
	}
	return "(hidden)"
}

// configHelp lists every variable with its default and meaning, for --help.
func configHelp() string {
	var b strings.Builder
	b.WriteString("Environment variables:\n")
	t := reflect.TypeFor[config]()
	for i := range t.NumField() {
		f := t.Field(i)
		key := f.Tag.Get("env")
		if key == "" {
			continue
		}
		def := f.Tag.Get("envDefault")
		if def == "" {
			def = `""`
		}
		fmt.Fprintf(&b, "  %-20s %s\n  %-20s default: %s\n", key, f.Tag.Get("help"), "", def)
	}
	return b.String()
}

// billing is the payments part of the configuration.
func (c config) billing() billing.Config {
	return billing.Config{SecretKey: c.StripeSecretKey, PublishableKey: c.StripePublicKey, WebhookSecret: c.StripeWebhookKey,
		APIURL: c.StripeAPIURL, FeeBasisPoints: c.PlatformFee}
}
