package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/storefleet/storefleet/internal/pg"
	"io"
	"io/fs"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing/fstest"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"golang.org/x/sync/errgroup"

	"github.com/storefleet/storefleet/migrations"
	"github.com/storefleet/storefleet/tenant"
)

// benchOptions are storefleet bench's flags.
type benchOptions struct {
	Seed        uint64
	Stores      int // stores with a catalog and customers; the load goes to them
	Products    int // per store
	Customers   int // per store
	Orders      int // past orders per store
	Checkouts   int // shoppers per checkout run
	ExtraStores int // provisioned empty, after the others
	Duration    time.Duration
	Rate        int // requests per second of the fixed-rate runs
	Concurrency int // requests in flight in the maximum-throughput runs
	Parallel    int // stores generated at once
	Out         string
	Keep        bool
	Large       bool
	DatabaseURL string
}

// The profiles. The default finishes within 10 minutes on a 2-core machine:
// 1,000 stores provisioned (so the provisioning curve reaches the 1,000th),
// 100 of them with 10 products each (1,000 products across 100 stores).
// --large is for an operator's machine: 10,000 stores, all with a catalog.
var (
	benchDefault = benchOptions{Seed: 1, Stores: 100, Products: 10, Customers: 10, Orders: 3, Checkouts: 400, ExtraStores: 900,
		Duration: 10 * time.Second, Rate: 50, Concurrency: 16, Parallel: 4}
	benchLarge = benchOptions{Stores: 10_000, ExtraStores: 0, Duration: 30 * time.Second, Parallel: 2 * runtime.NumCPU()}
)

func benchCmd(getenv func(string) string, stdout, stderr io.Writer) *cobra.Command {
	o := benchDefault
	cmd := &cobra.Command{
		Use:   "bench",
		Short: "Measure provisioning, migrations, storefront, Admin API and checkout load, with a bare-stack baseline",
		Long: "Create a fresh database, provision stores into it and fill them with generated products " +
			"(options, variants, a picture, stock), collections, customers, a shipping zone and past orders, all from " +
			"a seed; then time provisioning, one tenant migration across every store, storefront pages and Admin API " +
			"calls under load (vegeta), the same product page from a bare net/http + pgx server for comparison, " +
			"checkouts completed at once for one hot variant and for spread variants (with the oversold units, " +
			"which must be 0), and events from the outbox to delivered webhooks. " +
			"Prints a table on stdout and writes the figures as JSON to --out. The database and its store " +
			"roles are dropped at the end unless --keep.\n\n" +
			"Progress goes to stderr. Load runs go to the server started as a child process (this binary's " +
			"`serve`, on a loopback port), so its peak RSS is its own.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.Large {
				o.applyLarge(cmd.Flags())
			}
			if err := o.validate(); err != nil {
				return err
			}
			return runBench(cmd.Context(), getenv, o, stdout, stderr)
		},
	}
	f := cmd.Flags()
	f.Uint64Var(&o.Seed, "seed", o.Seed, "seed of the generated data and of the request sequences")
	f.IntVar(&o.Stores, "stores", o.Stores, "stores with generated data; the load goes to them")
	f.IntVar(&o.Products, "products", o.Products, "products per store")
	f.IntVar(&o.Customers, "customers", o.Customers, "customers per store")
	f.IntVar(&o.Orders, "orders", o.Orders, "past orders per store (placed without taking stock)")
	f.IntVar(&o.Checkouts, "checkouts", o.Checkouts, "shoppers per checkout run (the hot variant has stock for half of them)")
	f.IntVar(&o.ExtraStores, "extra-stores", o.ExtraStores, "empty stores provisioned after those, for the provisioning and migration figures")
	f.DurationVar(&o.Duration, "duration", o.Duration, "length of each load run")
	f.IntVar(&o.Rate, "rate", o.Rate, "requests per second of the fixed-rate runs (Admin API: at most 80% of the default plan's leak rate, summed over stores)")
	f.IntVar(&o.Concurrency, "concurrency", o.Concurrency, "requests in flight in the maximum-throughput runs")
	f.IntVar(&o.Parallel, "parallel", o.Parallel, "stores generated at once")
	f.StringVar(&o.Out, "out", "", "JSON report path (default .data/bench/<time>.json)")
	f.BoolVar(&o.Keep, "keep", false, "keep the bench database, its store roles and files")
	f.BoolVar(&o.Large, "large", false, "the operator's profile: 10,000 stores with data, 30s runs (flags given still win)")
	f.StringVar(&o.DatabaseURL, "database-url", "", "PostgreSQL cluster to create the bench database in (default: DATABASE_URL's)")
	cmd.AddCommand(benchBaselineCmd(getenv, stderr))
	return cmd
}

// applyLarge sets the large profile's values for the flags not given.
func (o *benchOptions) applyLarge(flags *pflag.FlagSet) {
	if !flags.Changed("stores") {
		o.Stores = benchLarge.Stores
	}
	if !flags.Changed("extra-stores") {
		o.ExtraStores = benchLarge.ExtraStores
	}
	if !flags.Changed("duration") {
		o.Duration = benchLarge.Duration
	}
	if !flags.Changed("parallel") {
		o.Parallel = benchLarge.Parallel
	}
}

func (o *benchOptions) validate() error {
	var problems []string
	if o.Stores < 1 {
		problems = append(problems, "--stores must be at least 1")
	}
	if o.Products < 1 {
		problems = append(problems, "--products must be at least 1")
	}
	if o.Customers < 0 || o.ExtraStores < 0 || o.Orders < 0 {
		problems = append(problems, "--customers, --orders and --extra-stores must not be negative")
	}
	if o.Checkouts < 2 {
		problems = append(problems, "--checkouts must be at least 2")
	}
	if o.Duration < 100*time.Millisecond {
		problems = append(problems, "--duration must be at least 100ms")
	}
	if o.Rate < 1 || o.Concurrency < 1 || o.Parallel < 1 {
		problems = append(problems, "--rate, --concurrency and --parallel must be at least 1")
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// benchIDBase is where the bench database's store ids start: a random block
// of a million above the test databases' blocks (internal/testenv), so that
// the cluster-wide store roles clash neither with the development database's
// nor with tests', nor with another bench's.
func benchIDBase() int64 {
	n, _ := rand.Int(rand.Reader, big.NewInt(900_000))
	return 9_000_000_000_000 + (n.Int64()+1)*benchIDBlock
}

const benchIDBlock = 1_000_000

// benchDatabase is the bench's own database.
type benchDatabase struct {
	name, url, adminURL string
	idBase              int64
}

// createBenchDatabase creates a fresh database on clusterURL's cluster.
func createBenchDatabase(ctx context.Context, clusterURL string) (*benchDatabase, error) {
	u, err := url.Parse(clusterURL)
	if err != nil {
		return nil, fmt.Errorf("database URL: %w", err)
	}
	b := make([]byte, 3)
	rand.Read(b)
	db := &benchDatabase{name: "storefleet_bench_" + time.Now().UTC().Format("20060102_150405") + "_" + hex.EncodeToString(b), idBase: benchIDBase()}
	u.Path = "/postgres"
	db.adminURL = u.String()
	u.Path = "/" + db.name
	db.url = u.String()
	conn, err := pgx.Connect(ctx, db.adminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL (is it running? `make services` starts one): %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE DATABASE `+pgx.Identifier{db.name}.Sanitize()); err != nil {
		return nil, fmt.Errorf("create bench database: %w", err)
	}
	return db, nil
}

// drop drops the database and the store roles of its id block.
func (b *benchDatabase) drop(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, b.adminURL)
	if err != nil {
		return fmt.Errorf("drop bench database: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `DROP DATABASE IF EXISTS `+pgx.Identifier{b.name}.Sanitize()+` WITH (FORCE)`); err != nil {
		return fmt.Errorf("drop bench database %s: %w", b.name, err)
	}
	rows, err := conn.Query(ctx, `SELECT rolname FROM pg_roles WHERE rolname ~ '^t_[0-9]+$'
		AND substring(rolname FROM 3)::bigint >= $1 AND substring(rolname FROM 3)::bigint < $2`, b.idBase, b.idBase+benchIDBlock)
	if err != nil {
		return fmt.Errorf("list bench store roles: %w", err)
	}
	roles, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return fmt.Errorf("list bench store roles: %w", err)
	}
	// One transaction: each DROP ROLE makes every backend rebuild its role
	// membership cache once per commit, not once per role.
	tx, err := conn.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	for _, r := range roles {
		if _, err := tx.Exec(ctx, `DROP ROLE IF EXISTS `+pgx.Identifier{r}.Sanitize()); err != nil {
			return fmt.Errorf("drop bench store role %s: %w", r, err)
		}
	}
	return tx.Commit(ctx)
}

// benchHidePassword shows a database URL without its password.
func benchHidePassword(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(hidden)"
}

// bench is one run in progress.
type bench struct {
	o        benchOptions
	d        *deps
	ctl      *pgxpool.Pool // the bench database, for what no service does
	getenv   func(string) string
	stderr   io.Writer
	rep      *benchReport
	stores   []*tenant.Tenant // every store provisioned, in order
	sites    []benchSite      // the stores with data
	logs     string           // path prefix of the servers' logs
	blobs    string
	database *benchDatabase
	created  atomic.Uint64 // products created through the Admin API, over runs
}

func runBench(ctx context.Context, getenv func(string) string, o benchOptions, stdout, stderr io.Writer) (err error) {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	if o.DatabaseURL == "" {
		o.DatabaseURL = cfg.DatabaseURL
	}
	started := time.Now()
	if o.Out == "" {
		o.Out = filepath.Join(".data", "bench", started.Format("20060102-150405")+".json")
	}
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err != nil {
		return fmt.Errorf("--out: %w", err)
	}
	b := &bench{o: o, getenv: getenv, stderr: stderr, logs: strings.TrimSuffix(o.Out, ".json")}
	profile := "default"
	if o.Large {
		profile = "large"
	}
	b.rep = &benchReport{Schema: benchSchema, StartedAt: started.UTC(),
		Settings: benchSettings{Profile: profile, Seed: o.Seed, Stores: o.Stores, ProductsPerStore: o.Products,
			CustomersPerStore: o.Customers, OrdersPerStore: o.Orders, Checkouts: o.Checkouts, ExtraStores: o.ExtraStores, Duration: o.Duration.String(), Rate: float64(o.Rate),
			Concurrency: o.Concurrency, Parallel: o.Parallel},
		Machine: benchMachine{CPUs: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH, Go: runtime.Version(), LoadBefore: benchLoadAverage()},
		Server: benchServerEnv{Mode: "child process (this binary's serve), loopback HTTP; load generator (vegeta) in the bench process, same machine",
			LogLevel: "warn (per-request log lines off)", MaxConns: cfg.DatabaseConns, Log: b.logs + ".server.log",
			Baseline: "child process: net/http + pgx + html/template, one query per page, no framework, no tenancy"},
	}

	// The bench's own database and files, removed at the end unless --keep.
	if b.database, err = createBenchDatabase(ctx, o.DatabaseURL); err != nil {
		return err
	}
	b.rep.Settings.Database = benchHidePassword(b.database.url)
	fmt.Fprintf(stderr, "bench: database %s (store ids from %d)\n", b.database.name, b.database.idBase)
	if b.blobs, err = os.MkdirTemp("", "storefleet-bench-files-"); err != nil {
		return err
	}
	defer func() {
		if o.Keep {
			fmt.Fprintf(stderr, "bench: kept database %s, its store roles (t_%d…) and files in %s\n", b.database.name, b.database.idBase, b.blobs)
			return
		}
		cleanup := context.WithoutCancel(ctx)
		err = errors.Join(err, b.database.drop(cleanup), os.RemoveAll(b.blobs))
	}()

	env := benchChildConfig(getenv, map[string]string{"DATABASE_URL": b.database.url, "BLOB_URL": "file://" + b.blobs, "LOG_LEVEL": "warn"})
	if b.d, err = openDeps(ctx, func(k string) string { return env[k] }, stderr); err != nil {
		return err
	}
	defer b.d.Close()
	if b.ctl, err = pgxpool.New(ctx, b.database.url); err != nil {
		return fmt.Errorf("bench database: %w", err)
	}
	defer b.ctl.Close()
	if err := b.prepare(ctx); err != nil {
		return err
	}

	if err := b.provision(ctx); err != nil {
		return err
	}
	if err := b.generate(ctx); err != nil {
		return err
	}
	b.migrate(ctx)
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}
	if err := b.load(ctx, env); err != nil {
		return err
	}
	b.jobs(ctx)
	b.rep.FinishedAt = time.Now().UTC()
	b.rep.Machine.LoadAfter = benchLoadAverage()

	b.printSummary(stdout)
	if err := writeBenchTable(stdout, b.rep.Rows); err != nil {
		return err
	}
	if err := writeBenchJSON(o.Out, b.rep); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nJSON: %s\nServer logs: %s.server.log, %s.baseline.log\n", o.Out, b.logs, b.logs)
	return ctx.Err()
}

// prepare migrates the control schema, moves store ids to the bench's
// block, makes room on the shard and adds the bench plan.
func (b *bench) prepare(ctx context.Context) error {
	if err := b.d.db.MigrateControl(ctx); err != nil {
		return err
	}
	if _, err := b.ctl.Exec(ctx, fmt.Sprintf(`ALTER TABLE platform.tenants ALTER COLUMN id RESTART WITH %d`, b.database.idBase)); err != nil {
		return fmt.Errorf("set store id range: %w", err)
	}
	if err := b.d.db.SetShard(ctx, 1, max(5000, b.o.Stores+b.o.ExtraStores), "open"); err != nil {
		return err
	}
	// Before any server starts, so its plan cache knows the plan.
	if err := b.d.db.SavePlan(ctx, benchPlan); err != nil {
		return err
	}
	var version string
	if err := b.ctl.QueryRow(ctx, `SHOW server_version`).Scan(&version); err == nil {
		b.rep.Machine.Postgres = version
	}
	return nil
}

// benchPlan lifts the Admin API limit for the maximum-throughput runs.
var benchPlan = tenant.Plan{Code: "bench", Name: "Bench (limit lifted)", APIBucket: 100_000, APILeak: 10_000}

// --- scenario 1: provisioning ----------------------------------------------------

// benchMilestones are the stores whose provisioning time the table shows.
var benchMilestones = []int{1, 10, 100, 1000, 10_000}

func (b *bench) provision(ctx context.Context) error {
	total := b.o.Stores + b.o.ExtraStores
	show := b.progress("provisioning stores")
	took := make([]time.Duration, 0, total)
	start := time.Now()
	for i := range total {
		slug, name := benchStoreName(b.o.Seed, i)
		t0 := time.Now()
		t, err := b.d.db.Provision(ctx, tenant.NewStore{Slug: slug, Name: name, Email: "owner@" + slug + ".example"}, nil)
		if err != nil {
			return fmt.Errorf("provision store %d (%s): %w", i+1, slug, err)
		}
		took = append(took, time.Since(t0))
		b.rep.ProvisionMs = append(b.rep.ProvisionMs, benchMs(took[i]))
		b.stores = append(b.stores, t)
		show(tenant.Progress{Total: total, Done: i + 1})
	}
	all := time.Since(start)

	for _, n := range benchMilestones {
		row := benchRow{Scenario: "provisioning", Variant: fmt.Sprintf("store #%d", n), Stores: n}
		if n > total {
			if n > 1000 {
				continue // the 10,000th only where the large profile reaches it
			}
			row.Status, row.Note, row.Stores = benchSkipped, fmt.Sprintf("not reached: %d stores in this run", total), 0
			b.rep.Rows = append(b.rep.Rows, row)
			continue
		}
		row.Status, row.Seconds = benchOK, took[n-1].Seconds()
		if n >= 10 {
			lo, hi := n-5, min(n+5, total)
			row.Note = fmt.Sprintf("median of stores %d-%d: %s", lo, hi, benchFmtMs(benchMs(benchMedian(took[lo-1:hi]))))
		}
		b.rep.Rows = append(b.rep.Rows, row)
	}
	sorted := slices.Clone(took)
	slices.Sort(sorted)
	q := func(p float64) float64 { return benchMs(sorted[min(len(sorted)-1, int(p*float64(len(sorted))))]) }
	b.rep.Rows = append(b.rep.Rows, benchRow{Scenario: "provisioning", Variant: fmt.Sprintf("all %d stores, one after another", total),
		Status: benchOK, Stores: total, Seconds: all.Seconds(), P50ms: q(0.50), P90ms: q(0.90), P99ms: q(0.99), Maxms: benchMs(sorted[len(sorted)-1]),
		Note: fmt.Sprintf("%.1f stores/s; P50-P99 per store", float64(total)/all.Seconds())})
	return nil
}

func benchMedian(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// --- data ----------------------------------------------------------------------

func (b *bench) generate(ctx context.Context) error {
	start := time.Now()
	show := b.progress("generating data")
	b.sites = make([]benchSite, b.o.Stores)
	var mu sync.Mutex
	var counts benchCounts
	done := 0
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.o.Parallel)
	for i := range b.o.Stores {
		g.Go(func() error {
			plan := planBenchStore(b.o.Seed, i, b.o.Products, b.o.Customers, b.o.Orders)
			site, n, err := generateBenchStore(gctx, b.d, b.stores[i], plan)
			if err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			b.sites[i] = site
			counts.add(n)
			done++
			show(tenant.Progress{Total: b.o.Stores, Done: done})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("generate data: %w", err)
	}
	b.rep.Data = benchDataInfo{Stores: b.o.Stores, ExtraStores: b.o.ExtraStores, Counts: counts,
		Orders:  fmt.Sprintf("%d past orders per store, placed with inventory bypassed (stock stays as generated)", b.o.Orders),
		Seconds: time.Since(start).Seconds()}
	return nil
}

func (b *bench) printSummary(w io.Writer) {
	d := b.rep.Data
	c := d.Counts
	m := b.rep.Machine
	fmt.Fprintf(w, "\nstorefleet bench (seed %d, %s profile) on %d CPUs, PostgreSQL %s; load average %s before, %s after\n",
		b.o.Seed, b.rep.Settings.Profile, m.CPUs, m.Postgres, m.LoadBefore, m.LoadAfter)
	fmt.Fprintf(w, "data: %d stores with %d products each (%d products, %d variants, %d images, %d stock levels), %d collections, %d customers, %d shipping zones, %d past orders, %d API tokens; %d extra empty stores; generated in %.1f s\n",
		d.Stores, b.o.Products, c.Products, c.Variants, c.Images, c.Stock, c.Collections, c.Customers, c.Zones, c.Orders, c.Tokens, d.ExtraStores, d.Seconds)
	fmt.Fprintf(w, "orders: %s\n", d.Orders)
	fmt.Fprintf(w, "server: %s; %s; DATABASE_MAX_CONNS=%d\n", b.rep.Server.Mode, b.rep.Server.LogLevel, b.rep.Server.MaxConns)
	fmt.Fprintf(w, "load: fixed-rate runs at %d req/s (Admin API: at most 80%% of the default plan's limit), maximum-throughput runs with %d requests in flight, %s each\n",
		b.o.Rate, b.o.Concurrency, b.o.Duration)
	fmt.Fprintf(w, "checkout: %d shoppers per run walked to the payment step first (not timed), then every completion sent at once, %d in flight; one unit each; hot variant: stock for half\n\n",
		b.o.Checkouts, b.o.Concurrency)
}

// progress reports a long step's progress on stderr, one call at a time.
func (b *bench) progress(what string) func(tenant.Progress) {
	show := progressReporter(b.stderr, what)
	var mu sync.Mutex
	return func(p tenant.Progress) {
		mu.Lock()
		defer mu.Unlock()
		show(p)
	}
}

// --- scenario 2: migration fan-out -------------------------------------------------

// migrate times one new tenant migration reaching every store: a second
// control-plane handle whose tenant migrations are the binary's plus one of
// the bench's own applies it with MigrateStores, as `storefleet migrate`
// would apply a new release's.
func (b *bench) migrate(ctx context.Context) {
	row := benchRow{Scenario: "migration", Variant: "one new migration to every store (" + benchMigrationName + ")", Stores: len(b.stores)}
	fail := func(err error) {
		row.Status, row.Note = benchFailed, err.Error()
		b.rep.Rows = append(b.rep.Rows, row)
	}
	db, err := tenant.Open(ctx, b.d.cfg.DatabaseURL, tenant.Config{Pool: pg.Pool{MaxConns: int32(b.d.cfg.DatabaseConns)},
		Migrations: benchMigrations()}, b.d.rdb, b.d.log)
	if err != nil {
		fail(err)
		return
	}
	defer db.Close()
	parallel := b.d.cfg.MigrateParallel
	rep, err := db.MigrateStores(ctx, parallel, b.progress("migrating stores"))
	if err == nil && len(rep.Failed) > 0 {
		err = fmt.Errorf("%d stores failed, first %s: %w", len(rep.Failed), rep.Failed[0].Slug, rep.Failed[0].Err)
	}
	if err == nil && rep.Migrated != len(b.stores) {
		err = fmt.Errorf("migrated %d of %d stores", rep.Migrated, len(b.stores))
	}
	if err != nil {
		fail(err)
		return
	}
	row.Status, row.Seconds = benchOK, rep.Elapsed.Seconds()
	row.Note = fmt.Sprintf("%.0f stores/s, %d at a time (MIGRATE_PARALLELISM)", float64(rep.Migrated)/rep.Elapsed.Seconds(), parallel)
	b.rep.Rows = append(b.rep.Rows, row)
}

// benchMigrationName is the bench's own tenant migration: a table with an
// index, the shape of a typical release's change.
const benchMigrationName = "99999_bench_notes.sql"

// benchMigrations are the binary's tenant migrations and the bench's.
func benchMigrations() fs.FS {
	files := fstest.MapFS{}
	fs.WalkDir(migrations.Tenant(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := fs.ReadFile(migrations.Tenant(), p)
			files[p] = &fstest.MapFile{Data: b}
		}
		return nil
	})
	files[benchMigrationName] = &fstest.MapFile{Data: []byte(`-- +goose Up
CREATE TABLE bench_notes (id bigint PRIMARY KEY, product_id bigint NOT NULL, body text NOT NULL);
CREATE INDEX bench_notes_product_idx ON bench_notes (product_id);
-- +goose Down
DROP TABLE bench_notes;
`)}
	return files
}

// --- scenarios 3 and 4: storefront and Admin API load ---------------------------------

func (b *bench) load(ctx context.Context, env map[string]string) error {
	server, err := startBenchChild(ctx, "storefleet server", []string{"serve"},
		benchMergeEnv(env, map[string]string{"BASE_URL": "http://localhost", "SHUTDOWN_TIMEOUT": "5s"}), b.logs+".server.log")
	if err != nil {
		return err
	}
	defer server.stop()
	fmt.Fprintf(b.stderr, "bench: server pid %d at %s\n", server.cmd.Process.Pid, server.base)

	n, o := len(b.sites), b.o
	warm := max(o.Duration/5, 200*time.Millisecond)
	// run measures one variant into a new row and returns the row's index.
	run := func(server *benchChild, scenario, variant string, l benchLoad) int {
		fmt.Fprintf(b.stderr, "bench: %s: %s for %s\n", scenario, variant, l.duration)
		row := benchAttack(ctx, server, l)
		row.Scenario, row.Variant, row.Stores = scenario, variant, n
		b.rep.Rows = append(b.rep.Rows, row)
		return len(b.rep.Rows) - 1
	}
	rateName := func(rate int) string {
		if rate == 0 {
			return fmt.Sprintf("max (%d in flight)", o.Concurrency)
		}
		return fmt.Sprintf("%d req/s", rate)
	}

	// Scenario 3: storefront pages. A short untimed warm-up first: connections,
	// each connection's catalog cache of each store, the theme.
	fmt.Fprintf(b.stderr, "bench: storefront warm-up for %s\n", warm)
	benchAttack(ctx, server, benchLoad{targeter: storefrontTargeter(server.base, b.sites, popUniform, benchShopperMix, true, o.Seed), concurrency: o.Concurrency, duration: warm})
	var maxRows []int
	for _, pop := range []benchPopularity{popUniform, popZipf} {
		for _, uncached := range []bool{false, true} {
			if !uncached {
				// The cached runs measure a warm cache: every page asked for
				// once first (the page cache keeps them 5 minutes).
				fmt.Fprintf(b.stderr, "bench: storefront: filling the page cache\n")
				benchAttack(ctx, server, benchLoad{targeter: everyPageTargeter(server.base, b.sites, benchPrimeLimit), concurrency: o.Concurrency})
			}
			for _, rate := range []int{o.Rate, 0} {
				cache := "cached (anonymous)"
				if uncached {
					cache = "uncached (cookie)"
				}
				variant := fmt.Sprintf("home+collection+product, %s, %s, %s", pop, cache, rateName(rate))
				row := run(server, "storefront", variant, benchLoad{targeter: storefrontTargeter(server.base, b.sites, pop, benchShopperMix, uncached, o.Seed),
					rate: float64(rate), concurrency: o.Concurrency, duration: o.Duration})
				if rate == 0 {
					maxRows = append(maxRows, row)
				}
			}
		}
	}
	for _, rate := range []int{o.Rate, 0} {
		row := run(server, "storefront", "product page only, uniform, uncached (cookie), "+rateName(rate),
			benchLoad{targeter: storefrontTargeter(server.base, b.sites, popUniform, benchProductOnly, true, o.Seed), rate: float64(rate), concurrency: o.Concurrency, duration: o.Duration})
		if rate == 0 {
			maxRows = append(maxRows, row)
		}
	}

	// The baseline: the same product pages from the bare server.
	if err := b.baseline(ctx, env, maxRows, run, rateName, warm); err != nil {
		b.rep.Rows = append(b.rep.Rows, benchRow{Scenario: "baseline", Variant: "bare net/http + pgx product page", Status: benchFailed, Note: err.Error()})
	}

	if err := ctx.Err(); err != nil {
		return fmt.Errorf("interrupted: %w", err)
	}

	// Scenario 4: the Admin API, one token per store. First within the
	// stores' own plan (the default), then on the bench plan, which lifts
	// the limit, at maximum throughput.
	plan, err := b.d.db.Plan(ctx, b.stores[0].Plan)
	if err != nil {
		return err
	}
	rate := min(o.Rate, int(0.8*float64(n)*plan.APILeak))
	if rate < 1 {
		rate = 1
	}
	calls := []benchAdminCall{adminListProducts, adminAdjustStock, adminCreateProduct}
	for _, call := range calls {
		i := run(server, "admin", fmt.Sprintf("%s, %s plan, %s", call, plan.Code, rateName(rate)),
			benchLoad{targeter: adminTargeter(server.base, b.sites, call, o.Seed, &b.created), rate: float64(rate), duration: o.Duration})
		b.rep.Rows[i].Note = fmt.Sprintf("%.2f req/s per store, within the %s plan's %g/s (bucket %d)", float64(rate)/float64(n), plan.Code, plan.APILeak, plan.APIBucket)
	}
	for _, s := range b.sites {
		if _, err := b.d.db.SetPlan(ctx, s.Store.ID, benchPlan.Code); err != nil {
			return err
		}
	}
	time.Sleep(200 * time.Millisecond) // the server drops its cached stores on the Redis announcement
	for _, call := range calls {
		i := run(server, "admin", fmt.Sprintf("%s, bench plan, %s", call, rateName(0)),
			benchLoad{targeter: adminTargeter(server.base, b.sites, call, o.Seed, &b.created), concurrency: o.Concurrency, duration: o.Duration})
		b.rep.Rows[i].Note = fmt.Sprintf("bench plan lifts the limit (bucket %d, %g/s)", benchPlan.APIBucket, benchPlan.APILeak)
	}

	// Scenario 5: checkouts, on the same server.
	b.checkout(ctx, server)
	return ctx.Err()
}

// benchPrimeLimit bounds the pages asked for to fill the page cache: the cache
// holds a few thousand, and the large profile has far more.
const benchPrimeLimit = 5000

// baseline runs the bare server's product pages at the fixed rate and at
// maximum throughput, and sets each storefront maximum-throughput row's
// ratio to the baseline's.
func (b *bench) baseline(ctx context.Context, env map[string]string, maxRows []int,
	run func(*benchChild, string, string, benchLoad) int, rateName func(int) string, warm time.Duration) error {
	srv, err := startBenchChild(ctx, "baseline server", []string{"bench", "baseline-server"}, benchMergeEnv(env, map[string]string{"SHUTDOWN_TIMEOUT": "5s"}),
		b.logs+".baseline.log")
	if err != nil {
		return err
	}
	defer srv.stop()
	o := b.o
	benchAttack(ctx, srv, benchLoad{targeter: storefrontTargeter(srv.base, b.sites, popUniform, benchProductOnly, true, o.Seed), concurrency: o.Concurrency, duration: warm})
	base := -1
	for _, rate := range []int{o.Rate, 0} {
		base = run(srv, "baseline", "product page only, uniform, bare net/http + pgx, "+rateName(rate),
			benchLoad{targeter: storefrontTargeter(srv.base, b.sites, popUniform, benchProductOnly, true, o.Seed), rate: float64(rate), concurrency: o.Concurrency, duration: o.Duration})
	}
	rows := b.rep.Rows
	if top := rows[base].Throughput; top > 0 {
		one := 1.0
		rows[base].Ratio = &one
		for _, i := range maxRows {
			ratio := rows[i].Throughput / top
			rows[i].Ratio = &ratio
		}
	}
	return nil
}

func benchMergeEnv(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}
