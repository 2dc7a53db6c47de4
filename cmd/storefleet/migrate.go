package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/storefleet/storefleet/tenant"
)

func migrateCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "migrate",
		Short: "Apply the control migrations, then the tenant migrations to every store",
		Long: "Apply the control schema's migrations, then bring every store's schema to the newest tenant " +
			"migration, MIGRATE_PARALLELISM stores at a time. Stores already at the newest version are skipped, " +
			"so an interrupted run resumes. A store that fails is reported at the end and does not stop the " +
			"others; the exit status is non-zero if any failed.",
		Args: cobra.NoArgs,
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, _ []string) error {
			return migrateAll(ctx, d, stdout, stderr)
		}),
	}
}

// migrateAll migrates the control schema and every store, showing progress
// on stderr: a bar on a terminal, a summary line every few seconds otherwise.
func migrateAll(ctx context.Context, d *deps, stdout, stderr io.Writer) error {
	if err := d.db.MigrateControl(ctx); err != nil {
		return err
	}
	rep, err := d.db.MigrateStores(ctx, d.cfg.MigrateParallel, progressReporter(stderr, "migrating stores"))
	fmt.Fprintf(stdout, "stores: %d total, %d migrated, %d already current, %d failed, in %s\n",
		rep.Total, rep.Migrated, rep.Skipped, len(rep.Failed), rep.Elapsed.Round(time.Millisecond))
	for _, f := range rep.Failed {
		fmt.Fprintf(stdout, "  failed: store %d (%s): %v\n", f.Store, f.Slug, f.Err)
	}
	if err != nil {
		return err
	}
	if len(rep.Failed) > 0 {
		return fmt.Errorf("%d of %d stores failed to migrate; fix them and run migrate again (the rest are skipped)", len(rep.Failed), rep.Total)
	}
	return nil
}

// progressReporter returns a callback that shows progress on w.
func progressReporter(w io.Writer, what string) func(tenant.Progress) {
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		var bar *progressbar.ProgressBar
		return func(p tenant.Progress) {
			if bar == nil {
				if p.Total == 0 {
					return
				}
				bar = progressbar.NewOptions(p.Total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
					progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(true), progressbar.OptionFullWidth(),
					progressbar.OptionOnCompletion(func() { fmt.Fprintln(w) }))
			}
			if p.Failed > 0 {
				bar.Describe(fmt.Sprintf("%s (%d failed)", what, p.Failed))
			}
			bar.Set(p.Done)
		}
	}
	var mu sync.Mutex
	var last time.Time
	return func(p tenant.Progress) {
		mu.Lock()
		defer mu.Unlock()
		if p.Done < p.Total && time.Since(last) < 2*time.Second {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "%s: %d/%d done, %d failed\n", what, p.Done, p.Total, p.Failed)
	}
}
