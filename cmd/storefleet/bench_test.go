package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/jpeg"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/jackc/pgx/v5"
	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/tenant"
)

func TestBenchPlanIsDeterministic(t *testing.T) {
	for i := range 5 {
		a, b := planBenchStore(7, i, 12, 4, 3), planBenchStore(7, i, 12, 4, 3)
		if diff := cmp.Diff(a, b); diff != "" {
			t.Errorf("planStore(7, %d) differs between two calls (-first +second):\n%s", i, diff)
		}
	}
	if a, b := planBenchStore(7, 0, 12, 4, 3), planBenchStore(8, 0, 12, 4, 3); cmp.Equal(a, b) {
		t.Errorf("planStore(7, 0) = planStore(8, 0): the seed changes nothing")
	}
	if a, b := benchPicture(planBenchStore(7, 0, 1, 0, 0).Products[0].Picture), benchPicture(planBenchStore(7, 0, 1, 0, 0).Products[0].Picture); !bytes.Equal(a, b) {
		t.Errorf("benchPicture differs between two calls with one colour")
	}
	img, err := jpeg.Decode(bytes.NewReader(benchPicture(planBenchStore(7, 0, 1, 0, 0).Products[0].Picture)))
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

	s := planBenchStore(7, 3, 40, 6, 5)
	if len(s.Products) != 40 || len(s.Customers) != 6 || len(s.Collections) != 2 || len(s.Orders) != 5 {
		t.Fatalf("planStore(7, 3, 40, 6, 5) = %d products, %d customers, %d collections, %d orders; want 40, 6, 2, 5",
			len(s.Products), len(s.Customers), len(s.Collections), len(s.Orders))
	}
	for k, o := range s.Orders {
		if o.Customer < -1 || o.Customer >= len(s.Customers) || len(o.Lines) == 0 || len(o.Lines) > 3 {
			t.Errorf("planned order %d = %+v: customer out of range or not 1 to 3 lines", k, o)
		}
		for _, l := range o.Lines {
			if l.Product < 0 || l.Product >= len(s.Products) || l.Variant < 0 || l.Variant >= len(s.Products[l.Product].Variants) || l.Quantity < 1 {
				t.Errorf("planned order %d line %+v is no variant of the plan", k, l)
			}
		}
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
		plan := planBenchStore(3, i, 4, 3, 2)
		site, n, err := generateBenchStore(ctx, d, st, plan)
		if err != nil {
			t.Fatalf("generateStore(%s) = %v", slug, err)
		}

		want := benchCounts{Products: 4, Images: 4, Collections: 2, Customers: 3, Orders: 2, Zones: 1, Tokens: 1}
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
		if got, _, err := orders.NewService(d.db).Orders(ctx, st, orders.Query{Limit: 10}); err != nil || len(got) != 2 {
			t.Errorf("Orders(%s) = %d orders, %v; want the 2 past orders", slug, len(got), err)
		} else {
			for _, o := range got {
				if o.InventoryBehaviour != orders.InventoryBypass || o.TotalPrice != o.SubtotalPrice+benchShipping || len(o.Lines) == 0 {
					t.Errorf("past order %s = %s behaviour, total %d, subtotal %d, %d lines; want bypass, subtotal + shipping",
						o.Name, o.InventoryBehaviour, o.TotalPrice, o.SubtotalPrice, len(o.Lines))
				}
			}
		}
		if zones, err := shipping.NewService(d.db).Zones(ctx, st); err != nil || len(zones) != 1 {
			t.Errorf("Zones(%s) = %d zones, %v; want 1", slug, len(zones), err)
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
				// The past orders bypassed inventory: stock is as planned.
				tracked := pv.InventoryManagement != nil && *pv.InventoryManagement == "shopify"
				if pv.Price != bp.Variants[v].Price || pv.InventoryQuantity != bp.Variants[v].Stock || pv.SKU != bp.Variants[v].SKU || !tracked {
					t.Errorf("variant %s = price %d, stock %d; want %d, %d", pv.SKU, pv.Price, pv.InventoryQuantity, bp.Variants[v].Price, bp.Variants[v].Stock)
				}
			}
		}
		if len(site.Products) != 4 || len(site.Items) != want.Variants || len(site.Stock) != want.Variants || site.Location == 0 || !slices.Equal(site.Collections, []string{"frontpage", "new-arrivals"}) {
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
		{Scenario: "checkout", Variant: "hot variant", Status: benchOK, Stores: 1, Requests: 400, Throughput: 123.45, P50ms: 50, P90ms: 80, P99ms: 120,
			StatusCodes: map[string]int{"303": 200, "409": 200}, Note: "200 orders, 200 sold out (409) of 400; oversold units 0",
			Checkout: &benchCheckoutResult{Checkouts: 400, Orders: 200, SoldOut: 200, StockBefore: 200}},
		{Scenario: "jobs", Variant: "queue throughput", Status: benchSkipped, Note: "not built yet"},
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
		{3, []string{"checkout", "hot variant", "123.5 orders/s", "50.0 ms", "120 ms", " 0 ", "oversold units 0"}},
		{4, []string{"jobs", "skipped", "not built yet"}},
		{5, []string{"migration", "failed", "line one line two"}},
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
	co := doc["rows"].([]any)[2].(map[string]any)["checkout"].(map[string]any)
	for _, k := range []string{"checkouts", "orders", "sold_out", "oversold_units", "stock_before", "stock_after"} {
		if _, ok := co[k]; !ok {
			t.Errorf("checkout row's checkout has no %q: %v", k, co)
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
	args := []string{"bench", "--stores", "3", "--products", "5", "--customers", "2", "--orders", "2", "--checkouts", "40",
		"--extra-stores", "0", "--duration", "1s", "--out", out}
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
	for scenario, want := range map[string]int{"provisioning": 5, "migration": 1, "storefront": 10, "baseline": 2, "admin": 6, "checkout": 2, "jobs": 1} {
		if got := count(scenario); got != want {
			t.Errorf("table has %d %s rows, want %d:\n%s", got, scenario, want, table)
		}
	}
	for _, s := range []string{"6 past orders", "orders: 2 past orders per store", "bench plan lifts the limit", "trial plan", "1.00x",
		"orders/s", "20 orders, 20 sold out (409) of 40; oversold units 0", "40 orders, 0 sold out (409) of 40; oversold units 0"} {
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
	if c := rep.Data.Counts; c.Products != 15 || c.Customers != 6 || c.Orders != 6 || c.Zones != 3 || len(rep.ProvisionMs) != 3 {
		t.Errorf("report data counts = %+v and %d provisioning times, want 15 products, 6 customers, 6 orders, 3 zones and 3 times", c, len(rep.ProvisionMs))
	}
	checkouts := 0
	for _, r := range rep.Rows {
		if r.Scenario != "checkout" {
			continue
		}
		checkouts++
		if c := r.Checkout; c == nil || c.OversoldUnits != 0 || c.Orders != c.WantOrders || c.Orders+c.SoldOut != int64(c.Checkouts) || c.OrdersInDB != c.Orders {
			t.Errorf("checkout row %s: %+v; want 0 oversold units, the orders wanted, and one answer per checkout", r.Variant, c)
		}
	}
	if checkouts != 2 {
		t.Errorf("the JSON report has %d checkout rows, want 2", checkouts)
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

func TestBenchOversold(t *testing.T) {
	for _, c := range []struct {
		name            string
		before, ordered map[int64]int64
		want            int64
	}{
		{"nothing ordered", map[int64]int64{1: 5}, nil, 0},
		{"all of it", map[int64]int64{1: 200}, map[int64]int64{1: 200}, 0},
		{"less than stock", map[int64]int64{1: 200, 2: 3}, map[int64]int64{1: 150, 2: 1}, 0},
		{"one over", map[int64]int64{1: 200}, map[int64]int64{1: 201}, 1},
		{"over on one variant only: no netting against another", map[int64]int64{1: 10, 2: 10}, map[int64]int64{1: 12, 2: 0}, 2},
		{"no stock known: all of it", map[int64]int64{}, map[int64]int64{7: 3}, 3},
		{"negative stock before counts as none", map[int64]int64{1: -4}, map[int64]int64{1: 2}, 2},
	} {
		if got := benchOversold(c.before, c.ordered); got != c.want {
			t.Errorf("%s: benchOversold(%v, %v) = %d, want %d", c.name, c.before, c.ordered, got, c.want)
		}
	}
	// Variant ids are numbered per store: variant 5 of two stores is two variants.
	before := map[benchPurchase]int64{{0, 5}: 1, {1, 5}: 10}
	ordered := map[benchPurchase]int64{{0, 5}: 3, {1, 5}: 0}
	if got := benchOversold(before, ordered); got != 2 {
		t.Errorf("benchOversold(%v, %v) = %d, want 2: store 0's variant 5 is oversold whatever store 1 has", before, ordered, got)
	}
}

// TestBenchCheckoutTargeterHandsEachOnce: many workers asking at once get
// every prepared checkout exactly once, then the end of the attack.
func TestBenchCheckoutTargeterHandsEachOnce(t *testing.T) {
	var cs []benchCheckout
	for i := range 500 {
		cs = append(cs, benchCheckout{Host: "s.localhost", Path: fmt.Sprintf("/checkouts/%032x", i), Cookie: "cart=x", Total: "30.00"})
	}
	next := checkoutTargeter("http://127.0.0.1:1", cs)
	var mu sync.Mutex
	seen := map[string]int{}
	ends := 0
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				var tgt vegeta.Target
				err := next(&tgt)
				mu.Lock()
				if errors.Is(err, vegeta.ErrNoTargets) {
					ends++
					mu.Unlock()
					return
				}
				if err != nil {
					t.Errorf("targeter = %v", err)
				}
				seen[tgt.URL]++
				mu.Unlock()
				if tgt.Method != http.MethodPost || tgt.Header.Get("Host") != "s.localhost" || tgt.Header.Get("Cookie") != "cart=x" ||
					string(tgt.Body) != "payment_method=manual%3Abank_transfer&total=30.00" {
					t.Errorf("target = %s %s %v %q, want the POST of a completion", tgt.Method, tgt.URL, tgt.Header, tgt.Body)
				}
			}
		}()
	}
	wg.Wait()
	if len(seen) != len(cs) || ends != 16 {
		t.Errorf("targeter handed out %d distinct checkouts of %d and ended %d workers of 16", len(seen), len(cs), ends)
	}
	for u, n := range seen {
		if n != 1 || !strings.HasSuffix(u, "/complete") {
			t.Errorf("targeter handed out %s %d times, want once", u, n)
		}
	}
}

// TestBenchSpreadPurchases: spread purchases go to every store in turn,
// only to variants in stock, never beyond a variant's stock, and stop
// when the stock runs out.
func TestBenchSpreadPurchases(t *testing.T) {
	sites := []benchSite{
		{Items: []int64{11, 12, 13}, Stock: []int64{0, 2, 1}},
		{Items: []int64{21, 22}, Stock: []int64{5, 0}},
		{Items: []int64{31}, Stock: []int64{0}},
	}
	got := benchSpreadPurchases(sites, 4)
	want := []benchPurchase{{0, 12}, {1, 21}, {0, 13}, {1, 21}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("benchSpreadPurchases(…, 4) (-want +got):\n%s", diff)
	}
	all := benchSpreadPurchases(sites, 100)
	units := map[int64]int64{}
	for _, p := range all {
		units[p.Variant]++
	}
	if len(all) != 8 || units[12] != 2 || units[13] != 1 || units[21] != 5 || units[11]+units[22]+units[31] != 0 {
		t.Errorf("benchSpreadPurchases(…, 100) = %v: want the 8 units in stock, each variant at most its stock", all)
	}
}
