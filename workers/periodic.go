package workers

import (
	"context"
	"os"
	"strconv"
	"time"
)

// Periodic jobs run once per fleet and period, however many workers run:
// each worker wakes every minute, and for each job whose period has begun
// tries to claim the run (tenant.DB.ClaimRun); the one that claims it runs
// it. asynq's scheduler would enqueue one copy per worker instead.

// periodic is a job the fleet runs once per period.
type periodic struct {
	name   string
	period func(time.Time) string // names the period a time falls in
	run    func(context.Context) error
}

func daily(t time.Time) string { return t.UTC().Format("2006-01-02") }

// jobs are the fleet's periodic jobs.
func (f *Fleet) jobs() []periodic {
	return []periodic{
		{"outbox-prune", daily, func(ctx context.Context) error {
			n, err := f.db.PruneEvents(ctx, 7*24*time.Hour)
			if err == nil && n > 0 {
				f.log.InfoContext(ctx, "pruned sent outbox events", "events", n)
			}
			return err
		}},
		{"nightly-backups", daily, f.nightlyBackups},
	}
}

// schedule runs the periodic jobs until ctx ends.
func (f *Fleet) schedule(ctx context.Context) {
	host, _ := os.Hostname()
	worker := host + ":" + strconv.Itoa(os.Getpid())
	tick := time.NewTicker(f.cfg.ScheduleInterval)
	defer tick.Stop()
	for {
		f.RunPeriodic(ctx, worker, time.Now())
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// RunPeriodic runs, as worker, every job whose run for the period now falls
// in no worker has claimed yet.
func (f *Fleet) RunPeriodic(ctx context.Context, worker string, now time.Time) {
	for _, j := range f.jobs() {
		period := j.period(now)
		mine, err := f.db.ClaimRun(ctx, j.name, period, worker)
		if err != nil || !mine {
			if err != nil && ctx.Err() == nil {
				f.log.WarnContext(ctx, "periodic: claim", "job", j.name, "err", err)
			}
			continue
		}
		runErr := j.run(ctx)
		if runErr != nil {
			f.log.WarnContext(ctx, "periodic job failed; the next period runs anew", "job", j.name, "period", period, "err", runErr)
		}
		if err := f.db.FinishRun(context.WithoutCancel(ctx), j.name, period, runErr); err != nil {
			f.log.WarnContext(ctx, "periodic: finish", "job", j.name, "err", err)
		}
	}
}
