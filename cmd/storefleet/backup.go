package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/spf13/cobra"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/rbac"
	"github.com/storefleet/storefleet/modules/apps"
	"github.com/storefleet/storefleet/tenant"
)

// backupRetention is the configured retention rule of stores' backups.
func (d *deps) backupRetention() tenant.Retention {
	return tenant.Retention{Daily: d.cfg.BackupKeepDaily, Weekly: d.cfg.BackupKeepWeekly}
}

// backups is the stores' backups in the configured bucket.
func (d *deps) backups() *tenant.Backups {
	return tenant.NewBackups(d.db, d.bucket, d.backupRetention())
}

func backupCmds(getenv func(string) string, stdout, stderr io.Writer) []*cobra.Command {
	var output string
	backup := &cobra.Command{
		Use:   "backup <slug or id> [-o file]",
		Short: "Dump a store's schema (pg_dump, custom format) into blob storage (a manual backup, then pruning by BACKUP_KEEP_*), or to a file",
		Args:  cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			start := time.Now()
			if output != "" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				if err := d.db.DumpStore(ctx, t, f); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
				fmt.Fprintf(stdout, "backed up store %q to %s in %.1f s\n", t.Slug, output, time.Since(start).Seconds())
				return nil
			}
			made, err := d.backups().Create(ctx, t, true)
			if made.Key == "" {
				return err
			}
			fmt.Fprintf(stdout, "backed up store %q as %s in %.1f s (%d bytes)\n", t.Slug, made.Key, time.Since(start).Seconds(), made.Size)
			if err != nil {
				return fmt.Errorf("the backup is made, but pruning old ones failed: %w", err)
			}
			return nil
		}),
	}
	backup.Flags().StringVarP(&output, "output", "o", "", "write the dump to this file instead of blob storage")

	backups := &cobra.Command{
		Use:   "backups <slug or id>",
		Short: "List a store's backups in blob storage, newest first, with the kind each is kept as (daily, weekly, manual)",
		Args:  cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			list, err := d.backups().List(ctx, t)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BACKUP\tKIND\tSIZE\tTAKEN")
			for _, b := range list {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", b.Key, b.Kind, b.Size, b.CreatedAt.UTC().Format(time.DateTime))
			}
			return tw.Flush()
		}),
	}

	var from, as string
	restore := &cobra.Command{
		Use:   "restore <slug or id> --from <backup or file> [--as <new slug>]",
		Short: "Replace a store's data with a backup (the store is suspended while it runs, and a failure leaves it as it was), or with --as make a new store from it, leaving the store untouched",
		Long: "Without --as, the store's data is replaced in place: it is suspended while the restore runs, and a failed restore " +
			"leaves it as it was. With --as, a new store is made (same name, plan and owners) holding the backup's data, and the " +
			"store the backup is of is not touched. --from takes a backup as `storefleet tenant backups` lists it (its key or " +
			"its file name), or a dump file of this store.",
		Args: cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			r, err := openBackup(ctx, d, t, from)
			if err != nil {
				return err
			}
			defer r.Close()
			start := time.Now()
			if as != "" {
				made, err := d.db.RestoreStoreAs(ctx, t, r, as)
				if err != nil {
					return describe(err)
				}
				fmt.Fprintf(stdout, "restored store %q from %s as new store %q (id %d) in %.1f s\n",
					t.Slug, from, made.Slug, made.ID, time.Since(start).Seconds())
				return nil
			}
			if err := d.db.RestoreStore(ctx, t, r); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "restored store %q from %s in %.1f s\n", t.Slug, from, time.Since(start).Seconds())
			return nil
		}),
	}
	restore.Flags().StringVar(&from, "from", "", "a backup (key or file name, as storefleet tenant backups lists them) or a dump file (required)")
	restore.Flags().StringVar(&as, "as", "", "restore into a new store with this slug instead, leaving the store untouched")
	restore.MarkFlagRequired("from")
	return []*cobra.Command{backup, backups, restore}
}

// openBackup opens what --from names for store t: a backup key in the
// bucket (backups/…), a dump file, or else a backup's file name.
func openBackup(ctx context.Context, d *deps, t *tenant.Tenant, from string) (io.ReadCloser, error) {
	prefix := tenant.BackupPrefix(t.ID)
	if strings.HasPrefix(from, "backups/") && !strings.HasPrefix(from, prefix) {
		return nil, fmt.Errorf("%s is not a backup of store %q (its backups start with %s)", from, t.Slug, prefix)
	}
	if !strings.HasPrefix(from, "backups/") {
		f, err := os.Open(from)
		if err == nil {
			return f, nil
		}
		if !os.IsNotExist(err) || strings.Contains(from, "/") {
			return nil, err
		}
	}
	r, err := d.backups().Open(ctx, t, from)
	if errs.Is(err, errs.NotFound) {
		return nil, fmt.Errorf("store %q has no backup %s (storefleet tenant backups %s lists them), and there is no such file", t.Slug, from, t.Slug)
	}
	return r, err
}

// backupsAPI is a store's backups on the Admin API (a Storefleet
// extension), so that a dashboard or an owner's tooling can see what there
// is to restore. Only the store's owners and admins see them: a dump holds
// every customer's data, so no app scope and no lesser role reaches it.
type backupsAPI struct{ backups *tenant.Backups }

// AdminRoutes mounts GET backups.json.
func (a backupsAPI) AdminRoutes(r gin.IRouter, g *apps.Gate) {
	r.GET("/backups.json", g.Require("backups", rbac.Read), g.Handle(ownersAndAdmins), g.Handle(a.list))
}

// ownersAndAdmins lets through staff whose role in the store is owner or
// admin; the viewer role reads everything else, but not backups.
func ownersAndAdmins(c *gin.Context) error {
	p := apps.PrincipalOf(c)
	if p.Account == 0 || (p.Role != tenant.RoleOwner && p.Role != tenant.RoleAdmin) {
		return errs.E(errs.Forbidden, "only the store's owners and admins may see its backups")
	}
	return nil
}

type backupJSON struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"created_at"`
	Size      int64     `json:"size"`
	Kind      string    `json:"kind"`
}

func toBackupJSON(b tenant.Backup) backupJSON {
	return backupJSON{ID: b.ID, CreatedAt: b.CreatedAt.UTC(), Size: b.Size, Kind: string(b.Kind)}
}

func (a backupsAPI) list(c *gin.Context) error {
	list, err := a.backups.List(c.Request.Context(), tenant.FromContext(c.Request.Context()))
	if err != nil {
		return err
	}
	out := make([]backupJSON, len(list))
	for i, b := range list {
		out[i] = toBackupJSON(b)
	}
	c.JSON(http.StatusOK, gin.H{"backups": out})
	return nil
}
