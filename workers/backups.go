package workers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/blob"
	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// Nightly backups: once a day (a periodic job, so once per fleet) every
// active store gets a backup task on the low queue, task id
// backup:<store>:<date>, so that the day's job enqueued twice queues each
// store once. The tasks are spread evenly over BackupConfig.Window with
// asynq.ProcessIn, so the shards see a trickle of pg_dumps rather than all
// at once. Concurrency is bounded twice: the low queue's weight keeps
// backups from crowding out orders and webhooks in each worker, and a
// fleet-wide Redis semaphore (a sorted set of leases) lets at most
// BackupConfig.Concurrency dumps run at once across all workers, however
// many there are. A task that finds no free slot within a short wait is
// retried later. Each dump is followed by pruning under the retention
// rule (tenant.Retain).

// TypeBackup is a store's nightly backup.
const TypeBackup = "backup:store"

// BackupConfig tunes the nightly backups.
type BackupConfig struct {
	// Bucket is where backups go; nil turns nightly backups off.
	Bucket *blob.Bucket
	// Keep is the retention rule (tenant.DefaultRetention when zero).
	Keep tenant.Retention
	// Window is how long the night's tasks are spread over.
	Window time.Duration
	// Concurrency is how many dumps run at once across the fleet.
	Concurrency int
	// Timeout is how long one dump may take; a slot held longer is freed.
	Timeout time.Duration
	// SlotWait is how long a task waits for a slot before it is retried.
	SlotWait time.Duration
}

func (c BackupConfig) withDefaults() BackupConfig {
	if c.Keep == (tenant.Retention{}) {
		c.Keep = tenant.DefaultRetention
	}
	if c.Window <= 0 {
		c.Window = 4 * time.Hour
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 2
	}
	if c.Timeout <= 0 {
		c.Timeout = time.Hour
	}
	if c.SlotWait <= 0 {
		c.SlotWait = 30 * time.Second
	}
	return c
}

// backupPayload names the store to back up and the night it is for.
type backupPayload struct {
	Store tenant.ID `json:"store"`
	Date  string    `json:"date"` // 2006-01-02, UTC
}

// backupSlots is the Redis key of the fleet-wide semaphore.
const backupSlots = "storefleet:backup-slots"

// nightlyBackups is the periodic job: the day's backup tasks.
func (f *Fleet) nightlyBackups(ctx context.Context) error {
	if f.cfg.Backups.Bucket == nil {
		return nil
	}
	n, err := f.EnqueueBackups(ctx, time.Now())
	if n > 0 {
		f.log.InfoContext(ctx, "nightly backups queued", "stores", n, "window", f.cfg.Backups.Window)
	}
	return err
}

// EnqueueBackups queues the backup for day (its UTC date) of every active
// store, spread over the window from now, and says how many it queued;
// stores whose task for the day is already queued are not queued again.
func (f *Fleet) EnqueueBackups(ctx context.Context, day time.Time) (int, error) {
	cfg := f.cfg.Backups.withDefaults()
	date := daily(day)
	var stores []tenant.ID
	for after := tenant.ID(0); ; {
		page, err := f.db.Tenants(ctx, after, 1000)
		if err != nil {
			return 0, err
		}
		for _, t := range page {
			if t.Status == tenant.Active {
				stores = append(stores, t.ID)
			}
		}
		if len(page) < 1000 {
			break
		}
		after = page[len(page)-1].ID
	}
	queued := 0
	for i, id := range stores {
		b, _ := json.Marshal(backupPayload{Store: id, Date: date})
		delay := time.Duration(int64(cfg.Window) / int64(len(stores)) * int64(i))
		_, err := f.client.EnqueueContext(ctx, asynq.NewTask(TypeBackup, b),
			asynq.TaskID(fmt.Sprintf("backup:%d:%s", id, date)), asynq.Queue("low"), asynq.ProcessIn(delay),
			asynq.MaxRetry(10), asynq.Timeout(cfg.Timeout), asynq.Retention(36*time.Hour))
		switch {
		case errors.Is(err, asynq.ErrTaskIDConflict):
		case err != nil:
			return queued, fmt.Errorf("queue backup of store %d: %w", id, err)
		default:
			queued++
		}
	}
	return queued, nil
}

// errNoBackupSlot sends a task back to wait for its turn.
var errNoBackupSlot = errors.New("every backup slot of the fleet is taken; retrying later")

// handleBackup backs one store up for the night, unless a nightly backup
// of that night or later is there already (a retry after the upload), then
// prunes its backups.
func (f *Fleet) handleBackup(ctx context.Context, t *asynq.Task) error {
	cfg := f.cfg.Backups.withDefaults()
	if cfg.Bucket == nil {
		return fmt.Errorf("%w: no bucket for backups", asynq.SkipRetry)
	}
	var p backupPayload
	if err := json.Unmarshal(t.Payload(), &p); err != nil {
		return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
	}
	night, err := time.Parse(time.DateOnly, p.Date)
	if err != nil {
		return fmt.Errorf("%w: date %q: %v", asynq.SkipRetry, p.Date, err)
	}
	st, err := f.db.Tenant(ctx, p.Store)
	if errs.Is(err, errs.NotFound) {
		return nil // the store is gone
	}
	if err != nil {
		return err
	}
	if st.Status != tenant.Active {
		return nil // suspended (or being restored): nothing changes there
	}
	backups := tenant.NewBackups(f.db, cfg.Bucket, cfg.Keep)
	list, err := backups.List(ctx, st)
	if err != nil {
		return err
	}
	for _, b := range list {
		if !b.Manual && !b.CreatedAt.Before(night) {
			_, err := backups.Prune(ctx, st)
			return err
		}
	}
	lease := fmt.Sprintf("%d:%s", st.ID, p.Date)
	release, err := f.takeBackupSlot(ctx, cfg, lease)
	if err != nil {
		return err
	}
	defer release()
	start := time.Now()
	made, err := backups.Create(ctx, st, false)
	if err != nil {
		return err
	}
	f.log.InfoContext(ctx, "store backed up", "tenant", st.ID, "backup", made.Key, "bytes", made.Size, "took", time.Since(start))
	return nil
}

// takeSlot is a lease on one of n fleet-wide slots: expired leases (their
// worker died) are dropped first, and a lease already held by the same name
// is renewed.
var takeSlot = redis.NewScript(`
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('ZSCORE', KEYS[1], ARGV[4]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
	redis.call('ZADD', KEYS[1], ARGV[2], ARGV[4])
	return 1
end
return 0`)

// takeBackupSlot waits up to cfg.SlotWait for a fleet-wide backup slot,
// leased for cfg.Timeout, and returns its release.
func (f *Fleet) takeBackupSlot(ctx context.Context, cfg BackupConfig, name string) (func(), error) {
	deadline := time.Now().Add(cfg.SlotWait)
	for {
		now := time.Now()
		ok, err := takeSlot.Run(ctx, f.rdb, []string{backupSlots},
			now.UnixMilli(), now.Add(cfg.Timeout).UnixMilli(), cfg.Concurrency, name).Int()
		if err != nil {
			return nil, fmt.Errorf("take a backup slot: %w", err)
		}
		if ok == 1 {
			return func() { f.rdb.ZRem(context.WithoutCancel(ctx), backupSlots, name) }, nil
		}
		if time.Now().After(deadline) {
			return nil, errNoBackupSlot
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
