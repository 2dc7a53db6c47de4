package tenant

import (
	"context"
	"fmt"
)

// ClaimRun records that worker starts job's run for period, and says
// whether it is the one to run it: the first to claim a (job, period) runs
// it, every other worker skips.
func (d *DB) ClaimRun(ctx context.Context, job, period, worker string) (bool, error) {
	res := d.control.WithContext(ctx).Exec(`INSERT INTO platform.periodic_runs (job, period, worker) VALUES (?, ?, ?)
		ON CONFLICT (job, period) DO NOTHING`, job, period, worker)
	if res.Error != nil {
		return false, fmt.Errorf("claim %s run %s: %w", job, period, res.Error)
	}
	return res.RowsAffected == 1, nil
}

// FinishRun records the end of a claimed run, with its error if it failed.
func (d *DB) FinishRun(ctx context.Context, job, period string, runErr error) error {
	var msg *string
	if runErr != nil {
		s := runErr.Error()
		msg = &s
	}
	err := d.control.WithContext(ctx).Exec(`UPDATE platform.periodic_runs SET finished_at = now(), error = ? WHERE job = ? AND period = ?`,
		msg, job, period).Error
	if err != nil {
		return fmt.Errorf("finish %s run %s: %w", job, period, err)
	}
	return nil
}
