// Package workers is the job fleet: `storefleet worker` processes that take
// side effects off the request path. Events written to the shards' outboxes
// (tenant.Emit, in the transaction of the change) are relayed to an asynq
// queue in Redis and handled there: each event fans out to a task per
// webhook subscription, delivered with retries over two days, and to the
// email it asks for (a password reset link). Nothing a
// shopper or merchant is promised is lost when Redis, a worker or a
// partner's endpoint is down: events wait in PostgreSQL until the relay can
// queue them, tasks are identified by the event's id so a re-sent event is
// not queued twice, and handlers are safe to run twice.
package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/mail"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
)

// Task types.
const (
	TypeEvent   = "event"           // an outbox event, to fan out
	TypeWebhook = "webhook:deliver" // one event to one webhook subscription
)

// Queues and their weights: critical work is taken six times as often as
// low (backups, pruning).
var Queues = map[string]int{"critical": 6, "default": 3, "low": 1}

// Config tunes the fleet.
type Config struct {
	// Concurrency is how many tasks a worker runs at once.
	Concurrency int
	// ShutdownTimeout is how long a stopping worker lets running tasks
	// finish before they are handed back to the queue.
	ShutdownTimeout time.Duration
	// RelayInterval is how often the relay looks for events when no
	// notification woke it.
	RelayInterval time.Duration
	// WebhookRetryBase is the first retry's delay; each next one doubles, up
	// to an hour, for WebhookRetries retries (about 48 hours at the
	// defaults).
	WebhookRetryBase time.Duration
	WebhookRetries   int
	// WebhookDisableAfter is how long a subscription may fail before its
	// last given-up delivery disables it (and its merchant is emailed).
	WebhookDisableAfter time.Duration
	// ScheduleInterval is how often a worker looks for periodic jobs due.
	ScheduleInterval time.Duration
	// RetryCheckInterval is how often retries that came due are moved back
	// to their queue (asynq's check of delayed tasks).
	RetryCheckInterval time.Duration
	// AllowPrivate lets webhooks reach loopback and private addresses: for
	// development and tests only.
	AllowPrivate bool
	// URLs name each store's host in deliveries.
	URLs tenant.URLs
	// Mailer sends the emails events ask for; nil sends none.
	Mailer mail.Sender
	// MailFrom is the address every store's email leaves from, under the
	// store's name.
	MailFrom string
	// Billing carries out refunds with the payment provider and gives up
	// on card orders not paid in time; nil leaves both to the merchant.
	Billing *billing.Service
	// CardPaymentWindow is how long a card order placed unpaid holds its
	// stock before it is cancelled (the shopper left the payment page).
	CardPaymentWindow time.Duration
	// Backups tunes the nightly backup of every store (backups.go); no
	// bucket, no nightly backups.
	Backups BackupConfig
	// Catalog runs the product imports merchants start in the dashboard,
	// with pictures into its bucket; nil leaves them waiting.
	Catalog *catalog.Service
}

func (c Config) withDefaults() Config {
	if c.Concurrency <= 0 {
		c.Concurrency = 10
	}
	if c.ShutdownTimeout <= 0 {
		c.ShutdownTimeout = 20 * time.Second
	}
	if c.RelayInterval <= 0 {
		c.RelayInterval = time.Second
	}
	if c.WebhookRetryBase <= 0 {
		c.WebhookRetryBase = time.Minute
	}
	if c.WebhookRetries <= 0 {
		c.WebhookRetries = 52
	}
	if c.WebhookDisableAfter <= 0 {
		c.WebhookDisableAfter = 48 * time.Hour
	}
	if c.ScheduleInterval <= 0 {
		c.ScheduleInterval = time.Minute
	}
	if c.RetryCheckInterval <= 0 {
		c.RetryCheckInterval = 5 * time.Second
	}
	if c.CardPaymentWindow <= 0 {
		c.CardPaymentWindow = time.Hour
	}
	return c
}

// Fleet is one worker process's parts.
type Fleet struct {
	db       *tenant.DB
	rdb      *redis.Client
	client   *asynq.Client
	webhooks *webhooks.Service
	http     *http.Client
	cfg      Config
	log      *slog.Logger
}

// New returns a worker over db and the Redis of rdb.
func New(db *tenant.DB, rdb *redis.Client, cfg Config, log *slog.Logger) *Fleet {
	cfg = cfg.withDefaults()
	return &Fleet{
		db: db, rdb: rdb, client: asynq.NewClientFromRedisClient(rdb), webhooks: webhooks.NewService(db),
		http: safehttp.NewClient(safehttp.Options{AllowPrivate: cfg.AllowPrivate, Timeout: webhooks.DeliveryTimeout}),
		cfg:  cfg, log: log,
	}
}

// Run works until ctx ends: the relay moves events from the outboxes to the
// queue, and the asynq server handles tasks. On the way out, running tasks
// get ShutdownTimeout to finish; those that do not go back to the queue.
func (f *Fleet) Run(ctx context.Context) error {
	srv := asynq.NewServerFromRedisClient(f.rdb, asynq.Config{
		Concurrency:     f.cfg.Concurrency,
		Queues:          Queues,
		ShutdownTimeout: f.cfg.ShutdownTimeout,
		RetryDelayFunc:  f.retryDelay,

		DelayedTaskCheckInterval: f.cfg.RetryCheckInterval,
		Logger:                   asynqLogger{f.log},
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			f.log.WarnContext(ctx, "task failed", "type", t.Type(), "err", err)
		}),
	})
	if err := srv.Start(f.Handler()); err != nil {
		return fmt.Errorf("start worker: %w", err)
	}
	relayDone, scheduleDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(relayDone)
		f.Relay(ctx)
	}()
	go func() {
		defer close(scheduleDone)
		f.schedule(ctx)
	}()
	<-ctx.Done()
	<-relayDone
	<-scheduleDone
	srv.Shutdown()
	return nil
}

// Handler routes tasks to their handlers.
func (f *Fleet) Handler() asynq.Handler {
	mux := asynq.NewServeMux()
	mux.HandleFunc(TypeEvent, f.handleEvent)
	mux.HandleFunc(TypeWebhook, f.handleWebhook)
	mux.HandleFunc(TypeEmail, f.handleEmail)
	mux.HandleFunc(TypeRefund, f.handleRefund)
	mux.HandleFunc(TypeExpire, f.handleExpire)
	mux.HandleFunc(TypeBackup, f.handleBackup)
	mux.HandleFunc(TypeFulfillment, f.handleFulfillment)
	mux.HandleFunc(TypeImport, f.handleImport)
	mux.HandleFunc(TypeAccountEmail, f.handleAccountEmail)
	return mux
}

// retryDelay doubles from WebhookRetryBase up to an hour for webhooks, and
// uses asynq's default otherwise.
func (f *Fleet) retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if t.Type() != TypeWebhook {
		return asynq.DefaultRetryDelayFunc(n, err, t)
	}
	d := f.cfg.WebhookRetryBase
	for range n {
		if d >= time.Hour {
			return time.Hour
		}
		d *= 2
	}
	return min(d, time.Hour)
}

// Relay moves events from every shard's outbox to the queue until ctx
// ends, woken by the outboxes' notifications and at least every
// RelayInterval.
func (f *Fleet) Relay(ctx context.Context) {
	wake := make(chan struct{}, 1)
	go f.db.WatchChanges(ctx, tenant.OutboxWake, func(tenant.ID) {
		select {
		case wake <- struct{}{}:
		default:
		}
	})
	tick := time.NewTicker(f.cfg.RelayInterval)
	defer tick.Stop()
	for {
		for {
			n, err := f.RelayOnce(ctx)
			if err != nil && ctx.Err() == nil {
				f.log.WarnContext(ctx, "relay", "err", err)
			}
			if n == 0 || err != nil {
				break
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}

// RelayOnce queues one batch of pending events from each shard, and one of
// the platform's own emails to merchants, and says how many it queued.
func (f *Fleet) RelayOnce(ctx context.Context) (int, error) {
	n, err := f.db.RelayEvents(ctx, 100, f.enqueueEvent)
	m, errMail := f.relayAccountEmails(ctx)
	return n + m, errors.Join(err, errMail)
}

type eventPayload struct {
	Event tenant.Event `json:"event"`
}

// enqueueEvent queues ev under its own id: a second relay of the same
// event (after a crash between queueing and marking it sent) is refused by
// asynq as a duplicate, which is what we want.
func (f *Fleet) enqueueEvent(ctx context.Context, ev tenant.Event) error {
	b, err := json.Marshal(eventPayload{Event: ev})
	if err != nil {
		return err
	}
	_, err = f.client.EnqueueContext(ctx, asynq.NewTask(TypeEvent, b),
		asynq.TaskID("event:"+ev.ID.String()), asynq.Queue("default"), asynq.MaxRetry(25),
		asynq.Timeout(time.Minute), asynq.Retention(72*time.Hour))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// handleEvent fans an event out: one webhook task per subscription to its
// topic. Running it twice queues nothing twice (task ids).
func (f *Fleet) handleEvent(ctx context.Context, t *asynq.Task) error {
	var p eventPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	st, err := f.db.Tenant(ctx, p.Event.Store)
	if errs.Is(err, errs.NotFound) {
		return nil // the store is gone, and with it whom to tell
	}
	if err != nil {
		return err
	}
	if err := f.enqueueEmail(ctx, p.Event); err != nil {
		return err
	}
	if err := f.enqueuePayments(ctx, p.Event); err != nil {
		return err
	}
	if err := f.enqueueFulfillment(ctx, p.Event); err != nil {
		return err
	}
	if err := f.enqueueImport(ctx, p.Event); err != nil {
		return err
	}
	if p.Event.Topic == webhooks.TopicReplay {
		return f.enqueueReplay(ctx, st, p.Event)
	}
	subs, err := f.webhooks.Subscribers(ctx, st, p.Event.Topic)
	if err != nil {
		return err
	}
	for _, sub := range subs {
		b, _ := json.Marshal(webhookPayload{Subscription: sub, Event: p.Event})
		_, err := f.client.EnqueueContext(ctx, asynq.NewTask(TypeWebhook, b),
			asynq.TaskID(fmt.Sprintf("webhook:%s:%d", p.Event.ID, sub)), asynq.Queue("default"),
			asynq.MaxRetry(f.cfg.WebhookRetries), asynq.Timeout(30*time.Second), asynq.Retention(72*time.Hour))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err
		}
	}
	return nil
}

type webhookPayload struct {
	Subscription int64        `json:"subscription"`
	Event        tenant.Event `json:"event"`
	Again        bool         `json:"again,omitempty"` // a replay: send even if delivered
}

// enqueueReplay queues the deliveries a replay request names, each under
// an id of the request's, so that a replay is itself sent once.
func (f *Fleet) enqueueReplay(ctx context.Context, st *tenant.Tenant, ev tenant.Event) error {
	var r webhooks.ReplayPayload
	if err := json.Unmarshal(ev.Payload, &r); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	events, err := f.webhooks.StoredEvents(ctx, st, r.Subscription, r.Events)
	if err != nil {
		return err
	}
	for _, stored := range events {
		b, _ := json.Marshal(webhookPayload{Subscription: r.Subscription, Event: stored, Again: true})
		_, err := f.client.EnqueueContext(ctx, asynq.NewTask(TypeWebhook, b),
			asynq.TaskID(fmt.Sprintf("replay:%s:%s", ev.ID, stored.ID)), asynq.Queue("default"),
			asynq.MaxRetry(f.cfg.WebhookRetries), asynq.Timeout(30*time.Second), asynq.Retention(72*time.Hour))
		if err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err
		}
	}
	return nil
}

// handleWebhook delivers one event to one subscription; a refusal is
// retried with backoff, and after the last retry recorded as failed.
func (f *Fleet) handleWebhook(ctx context.Context, t *asynq.Task) error {
	var p webhookPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	st, err := f.db.Tenant(ctx, p.Event.Store)
	if errs.Is(err, errs.NotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	domain := st.Slug + "." + f.cfg.URLs.Domain
	deliver := f.webhooks.Deliver
	if p.Again {
		deliver = f.webhooks.Redeliver
	}
	err = deliver(ctx, st, p.Subscription, p.Event, domain, f.http)
	if errors.Is(err, webhooks.ErrRetry) {
		retried, _ := asynq.GetRetryCount(ctx)
		most, _ := asynq.GetMaxRetry(ctx)
		if retried >= most {
			return f.webhooks.GiveUp(ctx, st, p.Subscription, p.Event,
				fmt.Sprintf("gave up after %d attempts: %v", retried+1, err), f.cfg.WebhookDisableAfter)
		}
	}
	return err
}

// asynqLogger sends asynq's own messages to slog.
type asynqLogger struct{ log *slog.Logger }

func (l asynqLogger) Debug(args ...any) { l.log.Debug(fmt.Sprint(args...)) }
func (l asynqLogger) Info(args ...any)  { l.log.Info(fmt.Sprint(args...)) }
func (l asynqLogger) Warn(args ...any)  { l.log.Warn(fmt.Sprint(args...)) }
func (l asynqLogger) Error(args ...any) { l.log.Error(fmt.Sprint(args...)) }
func (l asynqLogger) Fatal(args ...any) { l.log.Error(fmt.Sprint(args...)) }
