package workers_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/workers"
)

// backupTasks lists the backup tasks waiting in the low queue, by id.
func backupTasks(t *testing.T, rdb *redis.Client) map[string]*asynq.TaskInfo {
	t.Helper()
	in := asynq.NewInspectorFromRedisClient(rdb)
	out := map[string]*asynq.TaskInfo{}
	pending, err := in.ListPendingTasks("low", asynq.PageSize(1000))
	if err != nil {
		t.Fatalf("ListPendingTasks = %v", err)
	}
	scheduled, err := in.ListScheduledTasks("low", asynq.PageSize(1000))
	if err != nil {
		t.Fatalf("ListScheduledTasks = %v", err)
	}
	for _, ti := range append(pending, scheduled...) {
		if ti.Type == workers.TypeBackup {
			out[ti.ID] = ti
		}
	}
	return out
}

// TestNightlyBackupsOncePerDay: three workers reach the nightly job at the
// same moment; each active store gets one backup task for the day, spread
// over the window, and queueing the day again adds none. Running a task
// backs the store up once, however often it runs, and not while every
// fleet-wide backup slot is taken.
func TestNightlyBackupsOncePerDay(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(ctx, testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var active []*tenant.Tenant
	for _, slug := range []string{"night-one", "night-two", "night-three"} {
		st, err := db.Provision(ctx, tenant.NewStore{Slug: slug, Name: slug}, nil)
		if err != nil {
			t.Fatal(err)
		}
		active = append(active, st)
	}
	asleep, err := db.Provision(ctx, tenant.NewStore{Slug: "night-off", Name: "Suspended"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.SetStatus(ctx, asleep.ID, tenant.Suspended); err != nil {
		t.Fatal(err)
	}
	rdb := testenv.IsolatedRedis(t)
	bucket := testenv.Bucket(t)
	fleet := workers.New(db, rdb, workers.Config{Backups: workers.BackupConfig{
		Bucket: bucket, Window: time.Hour, Concurrency: 1, SlotWait: 50 * time.Millisecond}}, log)

	now := time.Now()
	date := now.UTC().Format(time.DateOnly)
	var wg sync.WaitGroup
	for i := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			fleet.RunPeriodic(ctx, fmt.Sprintf("worker-%d", i), now)
		}()
	}
	wg.Wait()
	tasks := backupTasks(t, rdb)
	if len(tasks) != len(active) {
		t.Fatalf("after three workers ran the nightly job, backup tasks = %d, want %d (one per active store)", len(tasks), len(active))
	}
	var at []time.Time
	for _, st := range active {
		ti := tasks[fmt.Sprintf("backup:%d:%s", st.ID, date)]
		if ti == nil {
			t.Fatalf("no task backup:%d:%s among %v", st.ID, date, tasks)
		}
		at = append(at, ti.NextProcessAt)
	}
	sort.Slice(at, func(i, j int) bool { return at[i].Before(at[j]) })
	if spread := at[len(at)-1].Sub(at[0]); spread < 30*time.Minute || spread > time.Hour {
		t.Errorf("tasks spread over %s, want about two thirds of the 1h window", spread)
	}
	if n, err := fleet.EnqueueBackups(ctx, now); err != nil || n != 0 {
		t.Errorf("EnqueueBackups(the same day again) = %d, %v; want 0 queued", n, err)
	}
	if got := len(backupTasks(t, rdb)); got != len(active) {
		t.Errorf("after queueing the day again, backup tasks = %d, want %d", got, len(active))
	}

	// Run one store's task: one backup, however often it runs.
	st := active[0]
	ti := tasks[fmt.Sprintf("backup:%d:%s", st.ID, date)]
	task := asynq.NewTask(ti.Type, ti.Payload)
	backups := tenant.NewBackups(db, bucket, tenant.DefaultRetention)
	for range 2 {
		if err := fleet.Handler().ProcessTask(ctx, task); err != nil {
			t.Fatalf("ProcessTask(%s) = %v", ti.ID, err)
		}
	}
	list, err := backups.List(ctx, st)
	if err != nil || len(list) != 1 || list[0].Kind != tenant.BackupDaily || list[0].Size == 0 {
		t.Fatalf("backups of %s after its task ran twice = %+v, %v; want one daily", st.Slug, list, err)
	}

	// Every slot of the fleet is taken (by a live lease): the task waits,
	// then goes back to be retried, having dumped nothing.
	if err := rdb.ZAdd(ctx, "storefleet:backup-slots", redis.Z{Score: float64(time.Now().Add(time.Hour).UnixMilli()), Member: "busy"}).Err(); err != nil {
		t.Fatal(err)
	}
	other := active[1]
	ti = tasks[fmt.Sprintf("backup:%d:%s", other.ID, date)]
	if err := fleet.Handler().ProcessTask(ctx, asynq.NewTask(ti.Type, ti.Payload)); err == nil {
		t.Errorf("ProcessTask with every slot taken = nil, want an error that retries it")
	}
	if list, _ := backups.List(ctx, other); len(list) != 0 {
		t.Errorf("backups made with every slot taken: %+v", list)
	}
	// A lease whose worker died expires, and the slot is free again.
	if err := rdb.ZAdd(ctx, "storefleet:backup-slots", redis.Z{Score: float64(time.Now().Add(-time.Second).UnixMilli()), Member: "busy"}).Err(); err != nil {
		t.Fatal(err)
	}
	if err := fleet.Handler().ProcessTask(ctx, asynq.NewTask(ti.Type, ti.Payload)); err != nil {
		t.Errorf("ProcessTask after the lease expired = %v", err)
	}
	if list, _ := backups.List(ctx, other); len(list) != 1 {
		t.Errorf("backups of %s after its slot came free = %+v, want one", other.Slug, list)
	}
	if n, _ := rdb.ZCard(ctx, "storefleet:backup-slots").Result(); n != 0 {
		t.Errorf("backup slots held after the tasks ended = %d, want 0", n)
	}
}

// BenchmarkNightlyBackups times the nightly job for -stores small stores
// (a fresh store each: its shop row and empty tables): queueing the day's
// tasks, then running them two at a time (BACKUP_CONCURRENCY's default),
// each a pg_dump into the bucket and a prune.
//
// Run with: go test -run='^$' -bench=NightlyBackups -benchtime=1x ./workers/
func BenchmarkNightlyBackups(b *testing.B) {
	const stores = 40
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(ctx, testenv.Database(b), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(b), log)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	for i := range stores {
		if _, err := db.Provision(ctx, tenant.NewStore{Slug: fmt.Sprintf("nightly-%d", i), Name: "Nightly"}, nil); err != nil {
			b.Fatal(err)
		}
	}
	rdb := testenv.IsolatedRedis(b)
	fleet := workers.New(db, rdb, workers.Config{Backups: workers.BackupConfig{Bucket: testenv.Bucket(b), Concurrency: 2}}, log)
	in := asynq.NewInspectorFromRedisClient(rdb)
	var queueTime, runTime time.Duration
	for i := range b.N {
		day := time.Now().AddDate(0, 0, i)
		start := time.Now()
		n, err := fleet.EnqueueBackups(ctx, day)
		if err != nil || n != stores {
			b.Fatalf("EnqueueBackups = %d, %v; want %d", n, err, stores)
		}
		queueTime += time.Since(start)
		var tasks []*asynq.Task
		for _, list := range []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){in.ListPendingTasks, in.ListScheduledTasks} {
			infos, err := list("low", asynq.PageSize(1000))
			if err != nil {
				b.Fatal(err)
			}
			for _, ti := range infos {
				tasks = append(tasks, asynq.NewTask(ti.Type, ti.Payload))
			}
		}
		if _, err := in.DeleteAllScheduledTasks("low"); err != nil {
			b.Fatal(err)
		}
		in.DeleteAllPendingTasks("low")
		start = time.Now()
		work := make(chan *asynq.Task)
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for t := range work {
					if err := fleet.Handler().ProcessTask(ctx, t); err != nil {
						b.Error(err)
					}
				}
			}()
		}
		for _, t := range tasks {
			work <- t
		}
		close(work)
		wg.Wait()
		runTime += time.Since(start)
	}
	n := float64(b.N * stores)
	b.ReportMetric(queueTime.Seconds()*1000/n, "queue-ms/store")
	b.ReportMetric(n/runTime.Seconds(), "backups/s")
}
