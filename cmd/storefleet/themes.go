package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/tenant"
)

// storefrontConfig is the storefront's configuration, the same in every
// server and in the CLI: preview links the CLI prints must verify on the
// servers.
func (d *deps) storefrontConfig() storefront.Config {
	return storefront.Config{URLs: d.cfg.urls, CartKey: d.subkey("storefront cart")}
}

// fetchClient downloads what merchants give by URL (theme archives, assets).
func (d *deps) fetchClient() *http.Client {
	return safehttp.NewClient(safehttp.Options{AllowPrivate: d.cfg.AllowPrivate, Timeout: time.Minute})
}

// themesService is the themes service the CLI uses: the same methods as the
// Admin API's themes.json.
func (d *deps) themesService() *storefront.Themes {
	return storefront.NewThemes(d.db, d.storefrontConfig(), d.fetchClient())
}

func themeCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "theme", Short: "List, upload, preview, publish and delete a store's themes"}

	list := &cobra.Command{
		Use:   "list <store>",
		Short: "List a store's themes, the published one first",
		Args:  cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			list, err := d.themesService().Themes(ctx, t)
			if err != nil {
				return describe(err)
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tROLE\tBASE\tVERSION\tUPDATED")
			for _, th := range list {
				base := th.Builtin
				if base == "" {
					base = "(uploaded)"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%d\t%s\n", th.ID, th.Name, th.Role, base, th.Version, th.UpdatedAt.Format("2006-01-02 15:04"))
			}
			return tw.Flush()
		}),
	}

	var name string
	upload := &cobra.Command{
		Use:   "upload <store> <theme.zip>",
		Short: "Upload a theme archive as an unpublished theme",
		Long: "Upload a theme archive (as Shopify exports them) as an unpublished theme. The whole theme is checked " +
			"first; every problem is printed as file:line: message, and nothing is stored unless there are none.",
		Args: cobra.ExactArgs(2),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			zip, err := os.ReadFile(args[1])
			if err != nil {
				return err
			}
			n := name
			if n == "" {
				n = themeNameFromFile(args[1])
			}
			th, err := d.themesService().CreateTheme(ctx, t, storefront.NewTheme{Name: n, Zip: zip})
			if err != nil {
				return themeProblems(err, stderr)
			}
			fmt.Fprintf(stdout, "uploaded theme %d %q to store %q (unpublished); preview it with `storefleet theme preview-url %s %d`\n",
				th.ID, th.Name, t.Slug, t.Slug, th.ID)
			return nil
		}),
	}
	upload.Flags().StringVar(&name, "name", "", "the theme's name (default: the file's name without .zip)")

	publish := &cobra.Command{
		Use:   "publish <store> <theme id>",
		Short: "Publish a theme: shoppers see it at once, and the published one becomes unpublished",
		Args:  cobra.ExactArgs(2),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, id, err := storeAndTheme(ctx, d, args)
			if err != nil {
				return err
			}
			role := storefront.RoleMain
			th, err := d.themesService().UpdateTheme(ctx, t, id, storefront.ThemeUpdate{Role: &role})
			if err != nil {
				return themeProblems(err, stderr)
			}
			fmt.Fprintf(stdout, "published theme %d %q on store %q\n", th.ID, th.Name, t.Slug)
			return nil
		}),
	}

	del := &cobra.Command{
		Use:   "delete <store> <theme id>",
		Short: "Delete an unpublished theme and its files",
		Args:  cobra.ExactArgs(2),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, id, err := storeAndTheme(ctx, d, args)
			if err != nil {
				return err
			}
			th, err := d.themesService().DeleteTheme(ctx, t, id)
			if err != nil {
				return describe(err)
			}
			fmt.Fprintf(stdout, "deleted theme %d %q of store %q\n", th.ID, th.Name, t.Slug)
			return nil
		}),
	}

	preview := &cobra.Command{
		Use:   "preview-url <store> <theme id>",
		Short: "Print a link that shows a theme on the storefront for the next hour (alone, on stdout)",
		Long: "Print a link that shows the theme on the store's storefront, to whoever opens it, for the next hour; " +
			"pages opened from it keep showing the theme until then, or until ?preview_theme_id=0.",
		Args: cobra.ExactArgs(2),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, id, err := storeAndTheme(ctx, d, args)
			if err != nil {
				return err
			}
			svc := d.themesService()
			if _, err := svc.Theme(ctx, t, id); err != nil {
				return describe(err)
			}
			fmt.Fprintln(stdout, svc.PreviewURL(t, id))
			return nil
		}),
	}

	cmd.AddCommand(list, upload, publish, del, preview)
	return cmd
}

// storeAndTheme reads <store> <theme id>.
func storeAndTheme(ctx context.Context, d *deps, args []string) (*tenant.Tenant, int64, error) {
	t, err := findStore(ctx, d.db, args[0])
	if err != nil {
		return nil, 0, describe(err)
	}
	id, err := strconv.ParseInt(args[1], 10, 64)
	if err != nil || id <= 0 {
		return nil, 0, fmt.Errorf("%q is not a theme id (see `storefleet theme list %s`)", args[1], args[0])
	}
	return t, id, nil
}

// themeNameFromFile names a theme after its archive: "dawn-1.2.zip" is
// "dawn-1.2".
func themeNameFromFile(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}

// themeProblems prints a theme's problems one a line, file:line: message,
// on w, and returns an error that counts them; other errors are described
// as usual.
func themeProblems(err error, w io.Writer) error {
	if errs.KindOf(err) != errs.Invalid {
		return describe(err)
	}
	var lines []string
	for _, field := range []string{"src", "theme"} {
		lines = append(lines, errs.FieldsOf(err)[field]...)
	}
	if len(lines) == 0 {
		return describe(err)
	}
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	if len(lines) == 1 {
		return errors.New("the theme has a problem: " + lines[0])
	}
	return fmt.Errorf("the theme has %d problems (listed above); nothing was changed", len(lines))
}
