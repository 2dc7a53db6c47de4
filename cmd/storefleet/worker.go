package main

import (
	"context"
	"io"

	"github.com/spf13/cobra"

	"github.com/storefleet/storefleet/workers"
)

func workerCmd(getenv func(string) string, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "worker",
		Short: "Run the job fleet: relay outbox events to the queue and handle tasks (webhooks); SIGTERM finishes or hands back running tasks",
		Args:  cobra.NoArgs,
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, _ []string) error {
			d.log.Info("worker starting", d.cfg.logValues()...)
			return d.fleet().Run(ctx)
		}),
	}
}

// fleet is the job fleet over the configured services.
func (d *deps) fleet() *workers.Fleet {
	return workers.New(d.db, d.rdb, workers.Config{
		Concurrency:     d.cfg.WorkerConcurrency,
		ShutdownTimeout: d.cfg.ShutdownTimeout,
		AllowPrivate:    d.cfg.AllowPrivate,
		URLs:            d.cfg.urls,
	}, d.log)
}
