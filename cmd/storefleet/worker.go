package main

import (
	"context"
	"fmt"
	"github.com/storefleet/storefleet/internal/mail"
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
			fleet, err := d.fleet()
			if err != nil {
				return err
			}
			return fleet.Run(ctx)
		}),
	}
}

// fleet is the job fleet over the configured services.
func (d *deps) fleet() (*workers.Fleet, error) {
	sender, err := mail.New(d.cfg.MailURL)
	if err != nil {
		return nil, fmt.Errorf("MAIL_URL: %w", err)
	}
	return workers.New(d.db, d.rdb, workers.Config{
		Concurrency:       d.cfg.WorkerConcurrency,
		ShutdownTimeout:   d.cfg.ShutdownTimeout,
		AllowPrivate:      d.cfg.AllowPrivate,
		URLs:              d.cfg.urls,
		Mailer:            sender,
		MailFrom:          d.cfg.MailFrom,
		Billing:           d.billing(),
		CardPaymentWindow: d.cfg.CardPaymentWindow,
		Backups:           workers.BackupConfig{Bucket: d.bucket, Keep: d.backupRetention(), Window: d.cfg.BackupWindow, Concurrency: d.cfg.BackupConcurrency},
		Catalog:           d.catalog(),
	}, d.log), nil
}
