package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/tenant"
)

// The demo store `storefleet dev` makes. The password is printed: it guards
// nothing but a local demo.
const (
	demoSlug     = "demo"
	demoName     = "Demo Store"
	demoEmail    = "owner@demo.localhost"
	demoPassword = "demo-owner-Storefleet-2026"
)

func devCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "dev",
		Short: "Migrate, make sure the demo store exists, and serve: everything against local services",
		Long: "Run the platform on a developer's machine: apply every migration, create the demo store and its " +
			"owner if they do not exist yet, print where to reach them, and serve. `make run` starts the local " +
			"services and runs this.",
		Args: cobra.NoArgs,
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, _ []string) error {
			if err := migrateAll(ctx, d, stdout, stderr); err != nil {
				return err
			}
			if err := ensureDemo(ctx, d.db); err != nil {
				return fmt.Errorf("demo store: %w", err)
			}
			fmt.Fprintf(stdout, "\nStorefleet is running.\n  Dashboard:  %s\n  Demo store: %s\n  Demo login: %s / %s\n\n",
				d.cfg.urls.Dashboard(), d.cfg.urls.Store(demoSlug), demoEmail, demoPassword)
			return serve(ctx, d)
		}),
	}
}

// ensureDemo creates the demo store and its owner unless they exist.
func ensureDemo(ctx context.Context, db *tenant.DB) error {
	_, err := db.TenantBySlug(ctx, demoSlug)
	if !errs.Is(err, errs.NotFound) {
		return err
	}
	_, err = createStore(ctx, db, demoEmail, demoPassword, tenant.NewStore{Slug: demoSlug, Name: demoName, Email: demoEmail})
	return err
}
