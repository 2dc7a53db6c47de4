package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image/jpeg"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/tenant"
)

func TestBenchPlanIsDeterministic(t *testing.T) {
	for i := range 5 {
		a, b := planBenchStore(7, i, 12, 4), planBenchStore(7, i, 12, 4)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("planStore(7, %d) differs between two calls (-first +second):\n%s", i, diff)
		}
	}
	if a, b := planBenchStore(7, 0, 12, 4), planBenchStore(8, 0, 12, 4); cmp.Equal(a, b) {
		t.Errorf("planStore(7, 0) = planStore(8, 0): the seed changes nothing")
	}
	if a, b := benchPicture(planBenchStore(7, 0, 1, 0).Products[0].Picture), benchPicture(planBenchStore(7, 0, 1, 0).Products[0].Picture); !bytes.Equal(a, b) {
		t.Errorf("benchPicture differs between two calls with one colour")
	}
	img, err := jpeg.Decode(bytes.NewReader(benchPicture(planBenchStore(7, 0, 1, 0).Products[0].Picture)))
	if err != nil || img.Bounds().Dx() != 64 || img.Bounds().Dy() != 64 {
		t.Errorf("benchPicture is not a 64×64 JPEG: %v, %v", img, err)
	}

	slugs := map[string]bool{}
	for i := range 300 {
		slug, name := benchStoreName(7, i)
		if err := tenant.ValidateSlug(slug); err != nil || name == "" {
			t.Fatalf("benchStoreName(7, %d) = %q, %q: %v", i, slug, name, err)
		}
		if slugs[slug] {
			t.Fatalf("benchStoreName(7, %d) = %q, already given to another store", i, slug)
		}
		slugs[slug] = true
	}

	s := planBenchStore(7, 3, 40, 6)
	if len(s.Products) != 40 || len(s.Customers) != 6 || len(s.Collections) != 2 {
		t.Fatalf("planStore(7, 3, 40, 6) = %d products, %d customers, %d collections; want 40, 6, 2", len(s.Products), len(s.Customers), len(s.Collections))
	}
	handles := map[string]bool{}
	for _, p := range s.Products {
		if handles[p.Handle] || p.Handle != catalog.Handleize(p.Title) {
			t.Errorf("product %q has handle %q: repeated, or not its title's", p.Title, p.Handle)
		}
		handles[p.Handle] = true
		if len(p.Variants) == 0 || len(p.Variants) > 6 {
			t.Errorf("product %q has %d variants, want 1 to 6", p.Title, len(p.Variants))
		}
		for _, v := range p.Variants {
			if len(v.Options) != len(p.Options) || v.Price <= 0 || v.Stock < 0 || v.SKU == "" {
				t.Errorf("product %q variant %+v does not fit options %v", p.Title, v, p.Options)
			}
		}
	}
}

func TestBenchGeneratesWhatItPlans(t *testing.T) {
	ctx := context.Background()
	d, err := openDeps(ctx, envFor(testenv.Database(t)), &syncBuffer{})
	if err != nil {
		t.Fatalf("openDeps = %v", err)
	}
	defer d.Close()
	cat, cust := d.catalog(), customers.NewService(d.db)
	for i := range 2 {
		slug, name := benchStoreName(3, i)
		st, err := d.db.Provision(ctx, tenant.NewStore{Slug: slug, Name: name}, nil)
		if err != nil {
			t.Fatalf("Provision(%s) = %v", slug, err)
		}
		plan := planBenchStore(3, i, 4, 3)
		site, n, err := generateBenchStore(ctx, d, st, plan)
		if err != nil {
			t.Fatalf("generateStore(%s) = %v", slug, err)
		}

		want := benchCounts{Products: 4, Images: 4, Collections: 2, Customers: 3, Tokens: 1}
		for _, p := range plan.Products {
			want.Variants += len(p.Variants)
			want.Stock += len(p.Variants)
		}
		if n != want {
			t.Errorf("generateStore(%s) counts %+v, want %+v", slug, n, want)
		}
		if got, err := cat.CountProducts(ctx, st, catalog.Query{}); err != nil || got != 4 {
			t.Errorf("CountProducts(%s) = %d, %v; want 4", slug, got, err)
		}
		if got, err := cat.CountCollections(ctx, st, catalog.CollectionQuery{}); err != nil || got != 2 {
			t.Errorf("CountCollections(%s) = %d, %v; want 2", slug, got, err)
		}
		if got, err := cust.CountCustomers(ctx, st, customers.Query{}); err != nil || got != 3 {
			t.Errorf("CountCustomers(%s) = %d, %v; want 3", slug, got, err)
		}
		ps, _, err := cat.Products(ctx, st, catalog.Query{Limit: 250})
		if err != nil {
			t.Fatal(err)
		}
		for _, bp := range plan.Products {
			k := slices.IndexFunc(ps, func(p catalog.Product) bool { return p.Handle == bp.Handle })
			if k < 0 {
				t.Errorf("store %s has no product %q", slug, bp.Handle)
				continue
			}
			p := ps[k]
			if p.Title != bp.Title || len(p.Images) != 1 || len(p.Variants) != len(bp.Variants) {
				t.Errorf("product %s = %q with %d images and %d variants; want %q, 1, %d", bp.Handle, p.Title, len(p.Images), len(p.Variants), bp.Title, len(bp.Variants))
				continue
			}
			for v, pv := range p.Variants {
				if pv.Price != bp.Variants[v].Price || pv.InventoryQuantity != bp.Variants[v].Stock || pv.SKU != bp.Variants[v].SKU {
					t.Errorf("variant %s = price %d, stock %d; want %d, %d", pv.SKU, pv.Price, pv.InventoryQuantity, bp.Variants[v].Price, bp.Variants[v].Stock)
				}
			}
		}
		if len(site.Products) != 4 || len(site.Items) != want.Variants || site.Location == 0 || !slices.Equal(site.Collections, []string{"frontpage", "new-arrivals"}) {
			t.Errorf("generateStore(%s) site = %+v", slug, site)
		}
		if _, err := d.db.Authenticate(ctx, st, site.Token); err != nil {
			t.Errorf("the bench token of %s does not authenticate: %v", slug, err)
		}
	}
}

func TestBenchReportFormat(t *testing.T) {
	ratio, hits := 0.42, 0.99
	rows := []benchRow{
		{Scenario: "provisioning", Variant: "store #1", Status: benchOK, Stores: 1, Seconds: 0.0523},
		{Scenario: "storefront", Variant: "product page only, max", Status: benchOK, Stores: 100, Requests: 5000, Throughput: 512.34,
			P50ms: 12.5, P90ms: 30, P99ms: 250, Errors: 2, Ratio: &ratio, CacheHits: &hits, PeakRSS: 80 << 20, StatusCodes: map[string]int{"200": 4998, "500": 2}},
		{Scenario: "checkout", Variant: "cart to paid order", Status: benchSkipped, Note: "not built yet"},
		{Scenario: "migration", Variant: "one new migration", Status: benchFailed, Note: "line one\nline two"},
	}
	var out bytes.Buffer
	if err := writeBenchTable(&out, rows); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(out.String(), "\n"), "\n")
	if len(lines) != 1+len(rows) {
		t.Fatalf("writeTable printed %d lines, want a header and %d rows:\n%s", len(lines), len(rows), out.String())
	}
	if got, want := strings.Fields(lines[0]), strings.Fields("SCENARIO VARIANT STORES RESULT P50 P90 P99 ERRORS VS BASELINE PEAK RSS NOTE"); !slices.Equal(got, want) {
		t.Errorf("table header = %q, want the columns %v", lines[0], want)
	}
	// Columns line up: every row's RESULT starts where the header's does.
	col := strings.Index(lines[0], "RESULT")
	for _, want := range []struct {
		line int
		has  []string
	}{
		{1, []string{"provisioning", "store #1", "52.3 ms"}},
		{2, []string{"storefront", "512.3 req/s", "12.5 ms", "30.0 ms", "250 ms", " 2 ", "0.42x", "80 MiB", "page cache hits 99.0%"}},
		{3, []string{"checkout", "skipped", "not built yet"}},
		{4, []string{"migration", "failed", "line one line two"}},
	} {
		l := lines[want.line]
		for _, s := range want.has {
			if !strings.Contains(l, s) {
				t.Errorf("table row %d = %q, want it to hold %q", want.line, l, s)
			}
		}
		if l[col-1] != ' ' || l[col] == ' ' {
			t.Errorf("table row %d = %q: RESULT column not aligned with the header", want.line, l)
		}
	}

	path := filepath.Join(t.TempDir(), "sub", "report.json")
	rep := &benchReport{Schema: benchSchema, StartedAt: time.Now(), Settings: benchSettings{Seed: 1, Stores: 100},
		Data: benchDataInfo{Stores: 100, Orders: "skipped: orders are not built yet"}, Rows: rows}
	if err := writeBenchJSON(path, rep); err != nil {
		t.Fatalf("writeJSON = %v", err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("report is not JSON: %v", err)
	}
	for _, k := range []string{"schema", "started_at", "finished_at", "settings", "machine", "server", "data", "rows", "provision_ms"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("report has no %q", k)
		}
	}
	if doc["schema"] != benchSchema {
		t.Errorf("report schema = %v, want %s", doc["schema"], benchSchema)
	}
	load := doc["rows"].([]any)[1].(map[string]any)
	for _, k := range []string{"scenario", "variant", "status", "stores", "requests", "req_per_s", "p50_ms", "p90_ms", "p99_ms",
		"errors", "status_codes", "cache_hit_ratio", "ratio_to_baseline", "server_peak_rss_bytes"} {
		if _, ok := load[k]; !ok {
			t.Errorf("load row has no %q: %v", k, load)
		}
	}
	timed := doc["rows"].([]any)[0].(map[string]any)
	if timed["seconds"] != 0.0523 || timed["status"] != "ok" {
		t.Errorf("timed row = %v, want seconds 0.0523 and status ok", timed)
	}
}

// TestBenchRunsEveryScenario runs the whole command, small and short, and
// checks that every scenario prints its rows, that none failed, that the
// JSON says the same, and that the bench's database and roles are gone.
func TestBenchRunsEveryScenario(t *testing.T) {
	out := filepath.Join(t.TempDir(), "bench.json")
	var stdout, stderr syncBuffer
	args := []string{"bench", "--stores", "3", "--products", "5", "--customers", "2", "--extra-stores", "0", "--duration", "1s", "--out", out}
	if err := run(context.Background(), envFor(testenv.DatabaseURL()), args, &stdout, &stderr); err != nil {
		t.Fatalf("storefleet %s = %v\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	table := stdout.String()
	count := func(scenario string) int {
		n := 0
		for l := range strings.SplitSeq(table, "\n") {
			if strings.HasPrefix(l, scenario+" ") {
				n++
			}
		}
		return n
	}
	for scenario, want := range map[string]int{"provisioning": 5, "migration": 1, "storefront": 10, "baseline": 2, "admin": 6, "checkout": 1, "jobs": 1} {
		if got := count(scenario); got != want {
			t.Errorf("table has %d %s rows, want %d:\n%s", got, scenario, want, table)
		}
	}
	for _, s := range []string{"orders: skipped", "not built yet", "bench plan lifts the limit", "trial plan", "1.00x"} {
		if !strings.Contains(table, s) {
			t.Errorf("output does not say %q:\n%s", s, table)
		}
	}

	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("no JSON report: %v", err)
	}
	var rep benchReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("JSON report: %v", err)
	}
	if rep.Data.Counts.Products != 15 || rep.Data.Counts.Customers != 6 || len(rep.ProvisionMs) != 3 {
		t.Errorf("report data counts = %+v and %d provisioning times, want 15 products, 6 customers and 3 times", rep.Data.Counts, len(rep.ProvisionMs))
	}
	for _, r := range rep.Rows {
		switch {
		case r.Status == benchFailed:
			t.Errorf("row %s / %s failed: %s", r.Scenario, r.Variant, r.Note)
		case r.Status == benchOK && r.Requests > 0 && (r.Errors > 0 || r.PeakRSS == 0):
			t.Errorf("row %s / %s: %d errors (%v), peak RSS %d", r.Scenario, r.Variant, r.Errors, r.ErrorSample, r.PeakRSS)
		}
	}

	// Nothing is left behind: not the database, not a store role.
	conn, err := pgx.Connect(context.Background(), testenv.DatabaseURL())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	u, err := url.Parse(rep.Settings.Database)
	if err != nil {
		t.Fatalf("report database %q: %v", rep.Settings.Database, err)
	}
	name := strings.TrimPrefix(u.Path, "/")
	var dbs, roles int
	conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_database WHERE datname = $1`, name).Scan(&dbs)
	var base int64
	fmt.Sscanf(stderr.String()[strings.Index(stderr.String(), "store ids from ")+len("store ids from "):], "%d", &base)
	conn.QueryRow(context.Background(), `SELECT count(*) FROM pg_roles WHERE rolname ~ '^t_[0-9]+$'
		AND substring(rolname FROM 3)::bigint >= $1 AND substring(rolname FROM 3)::bigint < $2`, base, base+benchIDBlock).Scan(&roles)
	if name == "" || dbs != 0 || base == 0 || roles != 0 {
		t.Errorf("after the bench: database %q exists %d times, %d store roles from %d remain; want none", name, dbs, roles, base)
	}
}
