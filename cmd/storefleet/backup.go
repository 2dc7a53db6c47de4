package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	gcblob "gocloud.dev/blob"

	"github.com/storefleet/storefleet/tenant"
)

// backupPrefix is where store t's backups live in the bucket.
func backupPrefix(t *tenant.Tenant) string { return fmt.Sprintf("backups/%d/", t.ID) }

func backupCmds(getenv func(string) string, stdout, stderr io.Writer) []*cobra.Command {
	var output string
	backup := &cobra.Command{
		Use:   "backup <slug or id> [-o file]",
		Short: "Dump a store's schema (pg_dump, custom format) into blob storage, or to a file",
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
			key := backupPrefix(t) + time.Now().UTC().Format("20060102T150405Z") + ".dump"
			w, err := d.bucket.NewWriter(ctx, key, &gcblob.WriterOptions{ContentType: "application/octet-stream"})
			if err != nil {
				return err
			}
			if err := d.db.DumpStore(ctx, t, w); err != nil {
				w.Close()
				d.bucket.Delete(context.WithoutCancel(ctx), key)
				return err
			}
			if err := w.Close(); err != nil {
				return fmt.Errorf("store the backup: %w", err)
			}
			fmt.Fprintf(stdout, "backed up store %q as %s in %.1f s\n", t.Slug, key, time.Since(start).Seconds())
			return nil
		}),
	}
	backup.Flags().StringVarP(&output, "output", "o", "", "write the dump to this file instead of blob storage")

	backups := &cobra.Command{
		Use:   "backups <slug or id>",
		Short: "List a store's backups in blob storage, newest first",
		Args:  cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			var rows []*gcblob.ListObject
			it := d.bucket.List(&gcblob.ListOptions{Prefix: backupPrefix(t)})
			for {
				obj, err := it.Next(ctx)
				if err == io.EOF {
					break
				}
				if err != nil {
					return err
				}
				rows = append(rows, obj)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "BACKUP\tSIZE\tTAKEN")
			for i := len(rows) - 1; i >= 0; i-- {
				fmt.Fprintf(tw, "%s\t%d\t%s\n", rows[i].Key, rows[i].Size, rows[i].ModTime.UTC().Format(time.DateTime))
			}
			return tw.Flush()
		}),
	}

	var from string
	restore := &cobra.Command{
		Use:   "restore <slug or id> --from <backup key or file>",
		Short: "Replace a store's data with a backup; the store is suspended while it runs, and a failure leaves it as it was",
		Args:  cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			var r io.ReadCloser
			if strings.HasPrefix(from, "backups/") {
				if !strings.HasPrefix(from, backupPrefix(t)) {
					return fmt.Errorf("%s is not a backup of store %q (its backups start with %s)", from, t.Slug, backupPrefix(t))
				}
				if r, err = d.bucket.NewReader(ctx, from, nil); err != nil {
					return fmt.Errorf("backup %s: %w", from, err)
				}
			} else if r, err = os.Open(from); err != nil {
				return err
			}
			defer r.Close()
			start := time.Now()
			if err := d.db.RestoreStore(ctx, t, r); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "restored store %q from %s in %.1f s\n", t.Slug, from, time.Since(start).Seconds())
			return nil
		}),
	}
	restore.Flags().StringVar(&from, "from", "", "a backup key (storefleet tenant backups lists them) or a dump file (required)")
	restore.MarkFlagRequired("from")
	return []*cobra.Command{backup, backups, restore}
}
