package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/tenant"
)

// withDeps wraps a command body that needs the control plane.
func withDeps(getenv func(string) string, stderr io.Writer, fn func(ctx context.Context, d *deps, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		d, err := openDeps(cmd.Context(), getenv, stderr)
		if err != nil {
			return err
		}
		defer d.Close()
		return fn(cmd.Context(), d, args)
	}
}

func tenantCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "tenant", Short: "Create, list, suspend, resume and delete stores"}

	var slug, name, owner, password string
	create := &cobra.Command{
		Use:   "create",
		Short: "Create a store owned by an account (created too when --password is given)",
		Args:  cobra.NoArgs,
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, _ []string) error {
			t, err := createStore(ctx, d.db, owner, password, tenant.NewStore{Slug: slug, Name: name, Email: owner})
			if err != nil {
				return describe(err)
			}
			fmt.Fprintf(stdout, "created store %d %q at %s (shard %d)\n", t.ID, t.Slug, d.cfg.urls.Store(t.Slug), t.ShardID)
			return nil
		}),
	}
	create.Flags().StringVar(&name, "name", "", "the store's name (required)")
	create.Flags().StringVar(&slug, "slug", "", "the store's subdomain (default: from the name)")
	create.Flags().StringVar(&owner, "owner", "", "the owner's email (required)")
	create.Flags().StringVar(&password, "password", "", "the owner's password, when the account does not exist yet")
	create.MarkFlagRequired("name")
	create.MarkFlagRequired("owner")

	list := &cobra.Command{
		Use:   "list",
		Short: "List every store",
		Args:  cobra.NoArgs,
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, _ []string) error {
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tSLUG\tNAME\tSHARD\tSTATUS\tSCHEMA VERSION\tCREATED")
			var after tenant.ID
			for {
				page, err := d.db.Tenants(ctx, after, 500)
				if err != nil {
					return err
				}
				for _, t := range page {
					fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%s\t%d\t%s\n", t.ID, t.Slug, t.Name, t.ShardID, t.Status, t.SchemaVersion, t.CreatedAt.Format("2006-01-02 15:04"))
				}
				if len(page) < 500 {
					break
				}
				after = page[len(page)-1].ID
			}
			return tw.Flush()
		}),
	}

	setStatus := func(use, short string, status tenant.Status) *cobra.Command {
		return &cobra.Command{
			Use:   use + " <slug or id>",
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
				t, err := findStore(ctx, d.db, args[0])
				if err != nil {
					return describe(err)
				}
				if t, err = d.db.SetStatus(ctx, t.ID, status); err != nil {
					return describe(err)
				}
				fmt.Fprintf(stdout, "store %d %q is now %s\n", t.ID, t.Slug, t.Status)
				return nil
			}),
		}
	}

	var yes bool
	del := &cobra.Command{
		Use:   "delete <slug or id>",
		Short: "Delete a store and all of its data, for good",
		Args:  cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			if !yes {
				return fmt.Errorf("deleting store %d %q destroys all of its data; add --yes to confirm", t.ID, t.Slug)
			}
			if err := d.db.Delete(ctx, t.ID); err != nil {
				return describe(err)
			}
			fmt.Fprintf(stdout, "deleted store %d %q\n", t.ID, t.Slug)
			return nil
		}),
	}
	del.Flags().BoolVar(&yes, "yes", false, "confirm that the store's data is to be destroyed")

	var tokenName, scopes string
	token := &cobra.Command{
		Use:   "token <slug or id> --scopes read_products,write_products",
		Short: "Mint an Admin API access token for a store and print it (alone, on stdout)",
		Long: "Mint an Admin API access token with the given scopes. The token is printed once, alone on stdout, " +
			"and cannot be shown again. Scopes: " + strings.Join(tenant.Scopes, ", ") + ".",
		Args: cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			list, err := tenant.ParseScopes(scopes)
			if err != nil {
				return describe(err)
			}
			_, secret, err := d.db.CreateToken(ctx, t, tokenName, list)
			if err != nil {
				return describe(err)
			}
			fmt.Fprintln(stdout, secret)
			return nil
		}),
	}
	tokens := &cobra.Command{
		Use:   "tokens <slug or id>",
		Short: "List a store's Admin API tokens (never their secrets) with their webhook signing secrets",
		Args:  cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			list, err := d.db.Tokens(ctx, t)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSCOPES\tCREATED\tLAST USED\tREVOKED\tWEBHOOK SIGNING SECRET")
			for _, tok := range list {
				used, revoked, secret := "never", "", "-"
				if tok.LastUsedAt != nil {
					used = tok.LastUsedAt.Format(time.DateTime)
				}
				if tok.RevokedAt != nil {
					revoked = tok.RevokedAt.Format(time.DateTime)
				} else if secret, err = d.db.SigningSecret(ctx, t, tok.ID); err != nil {
					return err
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", tok.ID, tok.Name, strings.Join(tok.Scopes, ","),
					tok.CreatedAt.Format(time.DateTime), used, revoked, secret)
			}
			return tw.Flush()
		}),
	}
	revoke := &cobra.Command{
		Use:   "revoke-token <slug or id> <token id>",
		Short: "Revoke an Admin API token: it stops working at once on every server",
		Args:  cobra.ExactArgs(2),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			id, err := strconv.ParseInt(args[1], 10, 64)
			if err != nil {
				return fmt.Errorf("%q is not a token id (storefleet tenant tokens lists them)", args[1])
			}
			if err := d.db.RevokeToken(ctx, t, id); err != nil {
				return describe(err)
			}
			fmt.Fprintf(stdout, "token %d of store %q is revoked\n", id, t.Slug)
			return nil
		}),
	}
	token.Flags().StringVar(&scopes, "scopes", "", "comma-separated scopes (required)")
	token.Flags().StringVar(&tokenName, "name", "CLI token", "a name that says what the token is for")
	token.MarkFlagRequired("scopes")

	var overwrite bool
	importCmd := &cobra.Command{
		Use:   "import-products <slug or id> <file.csv>",
		Short: "Import products from Shopify's product CSV",
		Long: "Import products from the CSV file Shopify exports (Products > Export). Bad rows are reported by line " +
			"number and the rest are imported; the exit status is non-zero if any failed. Images and stock " +
			"quantities in the file are not imported yet and are reported as skipped.",
		Args: cobra.ExactArgs(2),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			f, err := os.Open(args[1])
			if err != nil {
				return err
			}
			defer f.Close()
			return importProducts(ctx, d.catalog(), t, f, overwrite, stdout, stderr)
		}),
	}
	importCmd.Flags().BoolVar(&overwrite, "overwrite", false, "replace products whose handle already exists")

	var output string
	exportCmd := &cobra.Command{
		Use:   "export-products <slug or id>",
		Short: "Export products as Shopify's product CSV",
		Args:  cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			w := stdout
			if output != "" && output != "-" {
				f, err := os.Create(output)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			n, err := d.catalog().ExportCSV(ctx, t, w)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "exported %d products\n", n)
			return nil
		}),
	}
	exportCmd.Flags().StringVarP(&output, "output", "o", "-", "file to write (default: standard output)")

	planCmd := &cobra.Command{
		Use:   "plan <slug or id> <plan>",
		Short: "Move a store to a plan (its Admin API rate limit follows at once)",
		Args:  cobra.ExactArgs(2),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			if t, err = d.db.SetPlan(ctx, t.ID, args[1]); err != nil {
				return describe(err)
			}
			fmt.Fprintf(stdout, "store %d %q is now on plan %s\n", t.ID, t.Slug, t.Plan)
			return nil
		}),
	}

	connectCmd := &cobra.Command{
		Use:   "stripe-connect <slug or id>",
		Short: "Print a Stripe Connect onboarding link for a store (card payments go to its own Stripe account)",
		Long: "Create the store's connected Stripe account on first use and print a one-time onboarding link for " +
			"its owner. Once Stripe reports the account can take charges (account.updated on /webhooks/stripe), the " +
			"checkout offers cards. Needs STRIPE_SECRET_KEY.",
		Args: cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			t, err := findStore(ctx, d.db, args[0])
			if err != nil {
				return describe(err)
			}
			back := d.cfg.urls.Dashboard() + "/"
			link, err := d.billing().ConnectLink(ctx, t, back, back)
			if err != nil {
				return describe(err)
			}
			fmt.Fprintln(stdout, link)
			return nil
		}),
	}

	cmd.AddCommand(backupCmds(getenv, stdout, stderr)...)
	cmd.AddCommand(create, list, token, tokens, revoke, importCmd, exportCmd, planCmd, connectCmd,
		setStatus("suspend", "Suspend a store: its storefront and API refuse requests", tenant.Suspended),
		setStatus("resume", "Resume a suspended store", tenant.Active),
		del)
	return cmd
}

// importProducts imports a product CSV into t, showing progress on stderr
// and reporting bad rows by line.
func importProducts(ctx context.Context, svc *catalog.Service, t *tenant.Tenant, r io.Reader, overwrite bool, stdout, stderr io.Writer) error {
	show := progressReporter(stderr, "importing products")
	rep, err := svc.ImportCSV(ctx, t, r, catalog.ImportOptions{Overwrite: overwrite, Actor: "cli", Progress: func(done, total, failed int) {
		show(tenant.Progress{Total: total, Done: done, Failed: failed})
	}})
	if err != nil {
		return describe(err)
	}
	fmt.Fprintf(stdout, "products: %d in the file, %d created, %d updated, %d failed; %d images\n", rep.Products, rep.Created, rep.Updated, len(rep.Failed), rep.Images)
	for _, f := range rep.Failed {
		fmt.Fprintf(stdout, "  line %d (%s): %v\n", f.Line, f.Handle, f.Err)
	}
	if len(rep.SkippedColumns) > 0 {
		fmt.Fprintf(stdout, "columns not imported: %s\n", strings.Join(rep.SkippedColumns, ", "))
	}
	if len(rep.Failed) > 0 {
		return fmt.Errorf("%d of %d products failed to import; fix those lines and import them again", len(rep.Failed), rep.Products)
	}
	return nil
}

// createStore provisions a store for the account with email owner, signing
// the account up first when a password is given and it does not exist.
func createStore(ctx context.Context, db *tenant.DB, owner, password string, ns tenant.NewStore) (*tenant.Tenant, error) {
	acct, err := db.AccountByEmail(ctx, owner)
	switch {
	case err == nil:
		return db.CreateStoreFor(ctx, acct.ID, ns)
	case !errs.Is(err, errs.NotFound):
		return nil, err
	case password == "":
		return nil, fmt.Errorf("no account for %s: give --password to create it", owner)
	}
	_, t, err := db.SignUp(ctx, tenant.Signup{Email: owner, Password: password, StoreName: ns.Name, Slug: ns.Slug})
	return t, err
}

// findStore finds a store by slug or numeric id.
func findStore(ctx context.Context, db *tenant.DB, ref string) (*tenant.Tenant, error) {
	if n, err := strconv.ParseInt(ref, 10, 64); err == nil {
		return db.Tenant(ctx, tenant.ID(n))
	}
	return db.TenantBySlug(ctx, ref)
}

// describe turns a service error into a line for the terminal: the safe
// message and the per-field problems.
func describe(err error) error {
	fields := errs.FieldsOf(err)
	if len(fields) == 0 {
		if errs.KindOf(err) == errs.Internal {
			return err
		}
		return errors.New(errs.MessageOf(err))
	}
	msg := ""
	for _, f := range slices.Sorted(maps.Keys(fields)) {
		for _, p := range fields[f] {
			if msg != "" {
				msg += "; "
			}
			msg += f + " " + p
		}
	}
	return errors.New(msg)
}

func shardCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "shard", Short: "List and add the databases that hold store schemas"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List shards with their capacity and store count",
		Args:  cobra.NoArgs,
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, _ []string) error {
			shards, err := d.db.Shards(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tSTORES\tCAPACITY\tDATABASE")
			for _, s := range shards {
				db := "(control database)"
				if s.DSN != "" {
					db = redact("DATABASE_URL", s.DSN)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%d\t%d\t%s\n", s.ID, s.Name, s.Status, s.Stores, s.Capacity, db)
			}
			return tw.Flush()
		}),
	}
	var name, url string
	var capacity int
	add := &cobra.Command{
		Use:   "add",
		Short: "Register a PostgreSQL database as a shard for new stores",
		Args:  cobra.NoArgs,
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, _ []string) error {
			s, err := d.db.AddShard(ctx, name, url, capacity)
			if err != nil {
				return describe(err)
			}
			fmt.Fprintf(stdout, "added shard %d %q with room for %d stores\n", s.ID, s.Name, s.Capacity)
			return nil
		}),
	}
	add.Flags().StringVar(&name, "name", "", "the shard's name (required)")
	add.Flags().StringVar(&url, "url", "", "the shard database's PostgreSQL URL (required)")
	add.Flags().IntVar(&capacity, "capacity", 5000, "how many stores the shard may hold")
	add.MarkFlagRequired("name")
	add.MarkFlagRequired("url")

	var setCapacity int
	var status string
	set := &cobra.Command{
		Use:   "set <id>",
		Short: "Change a shard's capacity, or close it to new stores",
		Args:  cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			id, err := strconv.Atoi(args[0])
			if err != nil {
				return fmt.Errorf("%q is not a shard id", args[0])
			}
			if err := d.db.SetShard(ctx, id, setCapacity, status); err != nil {
				return describe(err)
			}
			fmt.Fprintf(stdout, "shard %d: capacity %d, %s\n", id, setCapacity, status)
			return nil
		}),
	}
	set.Flags().IntVar(&setCapacity, "capacity", 5000, "how many stores the shard may hold")
	set.Flags().StringVar(&status, "status", "open", "open (takes new stores) or closed")
	cmd.AddCommand(list, add, set)
	return cmd
}

func planCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	cmd := &cobra.Command{Use: "plan", Short: "List and change the plans stores are on, and their limits"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List plans with their Admin API rate limits",
		Args:  cobra.NoArgs,
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, _ []string) error {
			plans, err := d.db.Plans(ctx)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "CODE\tNAME\tAPI BUCKET\tAPI LEAK/S")
			for _, p := range plans {
				fmt.Fprintf(tw, "%s\t%s\t%d\t%g\n", p.Code, p.Name, p.APIBucket, p.APILeak)
			}
			return tw.Flush()
		}),
	}
	var p tenant.Plan
	set := &cobra.Command{
		Use:   "set <code>",
		Short: "Create a plan or change its name and limits (every server applies them within 10 s)",
		Args:  cobra.ExactArgs(1),
		RunE: withDeps(getenv, stderr, func(ctx context.Context, d *deps, args []string) error {
			p.Code = args[0]
			if err := d.db.SavePlan(ctx, p); err != nil {
				return describe(err)
			}
			fmt.Fprintf(stdout, "plan %s: API bucket %d, leaking %g a second\n", p.Code, p.APIBucket, p.APILeak)
			return nil
		}),
	}
	set.Flags().StringVar(&p.Name, "name", "", "the plan's name as merchants see it (default: the code)")
	set.Flags().IntVar(&p.APIBucket, "api-bucket", 40, "Admin API requests a token's bucket holds")
	set.Flags().Float64Var(&p.APILeak, "api-leak", 2, "Admin API requests per second a token's bucket drains")
	cmd.AddCommand(list, set)
	return cmd
}
