package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/sync/errgroup"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/tenant"
)

// --- scenario 5: checkout ----------------------------------------------------------
//
// The measured step is the checkout's completion, the one that takes the
// stock: shoppers are walked through the storefront to the payment step
// first (cart, contact and address, shipping method; not timed), then every
// "complete" is fired at once with vegeta, as many in flight as
// --concurrency. A 303 to the order is an order, a 409 is the sold-out
// answer, anything else an error. Afterwards the database says how many
// units were ordered against the stock there was: oversold units must be 0.

// benchCheckout is a checkout walked to its payment step, ready to complete.
type benchCheckout struct {
	Site    int    // index into the bench's sites
	Variant int64  // the one variant in its cart, one unit
	Host    string // the store's host
	Path    string // /checkouts/{token}
	Cookie  string // the shopper's cookies, as a Cookie header
	Total   string // the total the payment step showed, sent back to complete
}

func (c benchCheckout) token() string { return strings.TrimPrefix(c.Path, "/checkouts/") }

func (c benchCheckout) purchase() benchPurchase {
	return benchPurchase{Site: c.Site, Variant: c.Variant}
}

// benchCheckoutResult is what a checkout run did, as the database tells it.
type benchCheckoutResult struct {
	Checkouts     int   `json:"checkouts"`      // completions sent, one unit each
	Stores        int   `json:"stores"`         // stores they went to
	Variants      int   `json:"variants"`       // variants they were for
	Orders        int64 `json:"orders"`         // 303 answers: orders placed
	SoldOut       int64 `json:"sold_out"`       // 409 answers: the sold-out notice
	OrdersInDB    int64 `json:"orders_in_db"`   // orders of these checkouts in the database
	UnitsOrdered  int64 `json:"units_ordered"`  // their units, from the database
	StockBefore   int64 `json:"stock_before"`   // the variants' stock before the run
	StockAfter    int64 `json:"stock_after"`    // and after
	OversoldUnits int64 `json:"oversold_units"` // Σ max(0, units ordered − stock before) per variant: must be 0
	WantOrders    int64 `json:"want_orders"`    // min(checkouts, stock) for each variant, summed
}

// benchHotShoppers is how many shoppers there are for each unit of the hot
// variant: two, so that half of them meet the sold-out answer.
const benchHotShoppers = 2

// checkout runs the checkout scenario's two variants on server: one hot
// variant that half the shoppers cannot have, and checkouts spread over
// many variants and stores with stock for all.
func (b *bench) checkout(ctx context.Context, server *benchChild) {
	n := b.o.Checkouts
	hot := benchRow{Scenario: "checkout", Variant: fmt.Sprintf("hot variant: %d shoppers, %d units, %s", n, n/benchHotShoppers, b.maxName()), Stores: 1}
	variant, err := b.hotVariant(ctx, int64(n/benchHotShoppers))
	if err != nil {
		hot.Status, hot.Note = benchFailed, err.Error()
		b.rep.Rows = append(b.rep.Rows, hot)
	} else {
		picks := make([]benchPurchase, n)
		for i := range picks {
			picks[i] = benchPurchase{Site: 0, Variant: variant}
		}
		b.rep.Rows = append(b.rep.Rows, b.checkoutRun(ctx, server, hot, "hot variant", picks))
	}

	picks := benchSpreadPurchases(b.sites, n)
	spread := benchRow{Scenario: "checkout", Variant: fmt.Sprintf("spread variants: %d shoppers, stock for all, %s", len(picks), b.maxName()), Stores: len(b.sites)}
	if len(picks) == 0 {
		spread.Status, spread.Note = benchSkipped, "no variant in stock"
		b.rep.Rows = append(b.rep.Rows, spread)
		return
	}
	b.rep.Rows = append(b.rep.Rows, b.checkoutRun(ctx, server, spread, "spread variants", picks))
}

// maxName names the maximum-throughput setting, as the other rows do.
func (b *bench) maxName() string { return fmt.Sprintf("max (%d in flight)", b.o.Concurrency) }

// hotVariant makes the hot product in the first store: one variant,
// stock tracked, units in stock.
func (b *bench) hotVariant(ctx context.Context, units int64) (int64, error) {
	site := b.sites[0]
	title, vendor, sku, shopify := "Bench Limited Drop", "Bench", "HOT-1", "shopify"
	tracked := &shopify
	price := money.Amount(2500)
	p, err := b.d.catalog().CreateProduct(ctx, site.Store, catalog.ProductInput{Title: &title, Vendor: &vendor,
		Variants: &[]catalog.VariantInput{{Price: &price, SKU: &sku, InventoryManagement: &tracked}}})
	if err != nil {
		return 0, fmt.Errorf("hot product: %w", err)
	}
	v := p.Variants[0].ID
	ch := inventory.Change{ItemID: v, LocationID: site.Location, Quantity: units, Reason: "received", Actor: "bench"}
	if _, err := inventory.NewService(b.d.db).SetAvailable(ctx, site.Store, ch); err != nil {
		return 0, fmt.Errorf("hot product stock: %w", err)
	}
	return v, nil
}

// benchPurchase is one shopper's purchase: one unit of a variant of a
// site. Variant ids are numbered per store, so a variant is known by both.
type benchPurchase struct {
	Site    int
	Variant int64
}

// benchSpreadPurchases chooses up to n purchases over sites: the stores in
// turn, each store's variants in stock in turn, no variant more often than
// its generated stock (the Admin API runs only add stock), so that every
// checkout can be completed.
func benchSpreadPurchases(sites []benchSite, n int) []benchPurchase {
	type cursor struct {
		items []int // indexes into the site's Items in stock
		next  int
		used  map[int]int64
	}
	cs := make([]cursor, len(sites))
	for i, s := range sites {
		cs[i].used = map[int]int64{}
		for k := range s.Items {
			if k < len(s.Stock) && s.Stock[k] > 0 {
				cs[i].items = append(cs[i].items, k)
			}
		}
	}
	var picks []benchPurchase
	for len(picks) < n {
		added := false
		for i := range sites {
			if len(picks) == n {
				break
			}
			c := &cs[i]
			for range len(c.items) {
				k := c.items[c.next%len(c.items)]
				c.next++
				if c.used[k] < sites[i].Stock[k] {
					c.used[k]++
					picks = append(picks, benchPurchase{Site: i, Variant: sites[i].Items[k]})
					added = true
					break
				}
			}
		}
		if !added {
			break // every unit in stock is taken
		}
	}
	return picks
}

// checkoutRun prepares one checkout per pick, completes them all at
// maximum throughput, and fills row from the answers and the database.
func (b *bench) checkoutRun(ctx context.Context, server *benchChild, row benchRow, what string, picks []benchPurchase) benchRow {
	fail := func(err error) benchRow {
		row.Status, row.Note = benchFailed, err.Error()
		return row
	}
	prepStart := time.Now()
	cs, err := b.prepareCheckouts(ctx, server, what, picks)
	if err != nil {
		return fail(err)
	}
	prep := time.Since(prepStart)
	before, err := b.checkoutStock(ctx, cs)
	if err != nil {
		return fail(err)
	}

	fmt.Fprintf(b.stderr, "bench: checkout: %s: completing %d checkouts\n", what, len(cs))
	start := time.Now()
	got := benchAttack(ctx, server, benchLoad{targeter: checkoutTargeter(server.base, cs), concurrency: b.o.Concurrency})
	elapsed := time.Since(start)
	got.Scenario, got.Variant, got.Stores = row.Scenario, row.Variant, row.Stores
	got.DurationS = elapsed.Seconds()
	row = got
	if row.Status != benchOK {
		return row
	}

	res := benchCheckoutResult{Checkouts: len(cs), Orders: int64(row.StatusCodes["303"]), SoldOut: int64(row.StatusCodes["409"])}
	// Anything but an order or the sold-out answer is an error, and so is a
	// completion never sent.
	row.Errors = row.Requests - uint64(res.Orders) - uint64(res.SoldOut) + uint64(max(0, len(cs)-int(row.Requests)))
	row.ErrorSample = slices.DeleteFunc(row.ErrorSample, func(e string) bool { return strings.HasPrefix(e, "409 ") })
	ordered, inDB, err := b.checkoutOrdered(ctx, cs)
	if err != nil {
		return fail(err)
	}
	after, err := b.checkoutStock(ctx, cs)
	if err != nil {
		return fail(err)
	}
	wanted := map[benchPurchase]int64{}
	stores := map[int]bool{}
	for _, c := range cs {
		wanted[c.purchase()]++
		stores[c.Site] = true
	}
	res.Stores, res.Variants, res.OrdersInDB = len(stores), len(wanted), inDB
	for v, n := range wanted {
		res.WantOrders += min(n, max(0, before[v]))
		res.StockBefore += before[v]
		res.StockAfter += after[v]
		res.UnitsOrdered += ordered[v]
	}
	res.OversoldUnits = benchOversold(before, ordered)
	row.Checkout = &res

	row.Note = fmt.Sprintf("%d orders, %d sold out (409) of %d; oversold units %d; stock %d → %d; set-up %.1f s",
		res.Orders, res.SoldOut, res.Checkouts, res.OversoldUnits, res.StockBefore, res.StockAfter, prep.Seconds())
	var problems []string
	if res.OversoldUnits != 0 {
		problems = append(problems, fmt.Sprintf("OVERSOLD %d units", res.OversoldUnits))
	}
	if res.Orders != res.WantOrders {
		problems = append(problems, fmt.Sprintf("%d orders, want %d (min of shoppers and stock per variant)", res.Orders, res.WantOrders))
	}
	if res.OrdersInDB != res.Orders || res.UnitsOrdered != res.Orders {
		problems = append(problems, fmt.Sprintf("%d orders and %d units in the database for %d answered 303", res.OrdersInDB, res.UnitsOrdered, res.Orders))
	}
	if res.StockAfter != res.StockBefore-res.UnitsOrdered {
		problems = append(problems, fmt.Sprintf("stock after %d, want %d − %d", res.StockAfter, res.StockBefore, res.UnitsOrdered))
	}
	if len(problems) > 0 {
		row.Status, row.Note = benchFailed, strings.Join(problems, "; ")+"; "+row.Note
	}
	return row
}

// benchOversold is the units sold beyond the stock there was: for each
// variant, what was ordered less what was in stock before, when more; 0
// when no variant was oversold.
func benchOversold[V comparable](before, ordered map[V]int64) int64 {
	var n int64
	for v, units := range ordered {
		n += max(0, units-max(0, before[v]))
	}
	return n
}

// checkoutTargeter completes each of cs once, in order, and then ends the
// attack.
func checkoutTargeter(base string, cs []benchCheckout) vegeta.Targeter {
	var next atomic.Int64
	return func(t *vegeta.Target) error {
		i := next.Add(1) - 1
		if i >= int64(len(cs)) {
			return vegeta.ErrNoTargets
		}
		c := cs[i]
		t.Method, t.URL = http.MethodPost, base+c.Path+"/complete"
		t.Body = []byte(url.Values{"payment_method": {"manual:bank_transfer"}, "total": {c.Total}}.Encode())
		t.Header = http.Header{"Host": {c.Host}, "Content-Type": {"application/x-www-form-urlencoded"}, "Accept": {"text/html"}}
		if c.Cookie != "" {
			t.Header.Set("Cookie", c.Cookie)
		}
		return nil
	}
}

// prepareCheckouts walks one shopper per pick to the payment step, as many
// at once as --concurrency, each with cookies of their own.
func (b *bench) prepareCheckouts(ctx context.Context, server *benchChild, what string, picks []benchPurchase) ([]benchCheckout, error) {
	tr := &http.Transport{MaxIdleConnsPerHost: b.o.Concurrency}
	defer tr.CloseIdleConnections()
	show := b.progress("checkout: " + what + ": shoppers to the payment step")
	cs := make([]benchCheckout, len(picks))
	var done atomic.Int64
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(b.o.Concurrency)
	for i, p := range picks {
		g.Go(func() error {
			s := newBenchShopper(tr, server.base, b.sites[p.Site].Store.Slug+".localhost")
			c, err := s.toPayment(gctx, p.Variant, i)
			if err != nil {
				return fmt.Errorf("shopper %d of %s: %w", i+1, b.sites[p.Site].Store.Slug, err)
			}
			c.Site = p.Site
			cs[i] = c
			show(tenant.Progress{Total: len(picks), Done: int(done.Add(1))})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("prepare checkouts: %w", err)
	}
	return cs, nil
}

// benchBySite groups checkouts by their store.
func benchBySite(cs []benchCheckout) map[int][]benchCheckout {
	out := map[int][]benchCheckout{}
	for _, c := range cs {
		out[c.Site] = append(out[c.Site], c)
	}
	return out
}

// checkoutStock is the stock of the checkouts' variants now, over the
// stores' locations.
func (b *bench) checkoutStock(ctx context.Context, cs []benchCheckout) (map[benchPurchase]int64, error) {
	stock := map[benchPurchase]int64{}
	for site, group := range benchBySite(cs) {
		ids := map[int64]bool{}
		for _, c := range group {
			ids[c.Variant] = true
		}
		var rows []struct{ ID, N int64 }
		err := b.d.db.ReadTx(ctx, b.sites[site].Store, func(tx *gorm.DB) error {
			return tx.Raw(`SELECT inventory_item_id AS id, coalesce(sum(available), 0) AS n FROM inventory_levels
				WHERE inventory_item_id IN ? GROUP BY inventory_item_id`, slices.Collect(maps.Keys(ids))).Scan(&rows).Error
		})
		if err != nil {
			return nil, fmt.Errorf("stock of %s: %w", b.sites[site].Store.Slug, err)
		}
		for _, r := range rows {
			stock[benchPurchase{site, r.ID}] = r.N
		}
	}
	return stock, nil
}

// checkoutOrdered is the units of each variant the checkouts' orders hold,
// and how many orders they placed, from the database.
func (b *bench) checkoutOrdered(ctx context.Context, cs []benchCheckout) (map[benchPurchase]int64, int64, error) {
	ordered := map[benchPurchase]int64{}
	var orders int64
	for site, group := range benchBySite(cs) {
		tokens := make([]string, len(group))
		for i, c := range group {
			tokens[i] = c.token()
		}
		var rows []struct{ ID, N int64 }
		var n int64
		err := b.d.db.ReadTx(ctx, b.sites[site].Store, func(tx *gorm.DB) error {
			if err := tx.Raw(`SELECT count(*) FROM orders WHERE checkout_token IN ?`, tokens).Scan(&n).Error; err != nil {
				return err
			}
			return tx.Raw(`SELECT l.variant_id AS id, sum(l.quantity) AS n FROM order_line_items l JOIN orders o ON o.id = l.order_id
				WHERE o.checkout_token IN ? AND l.variant_id IS NOT NULL GROUP BY l.variant_id`, tokens).Scan(&rows).Error
		})
		if err != nil {
			return nil, 0, fmt.Errorf("orders of %s: %w", b.sites[site].Store.Slug, err)
		}
		orders += n
		for _, r := range rows {
			ordered[benchPurchase{site, r.ID}] += r.N
		}
	}
	return ordered, orders, nil
}

// benchShopper is one shopper's browser on one store: cookies of its own,
// redirects not followed.
type benchShopper struct {
	base, host string
	client     *http.Client
	jar        http.CookieJar
	site       *url.URL // the store's address, for the cookie jar
}

func newBenchShopper(tr http.RoundTripper, base, host string) *benchShopper {
	jar, _ := cookiejar.New(nil) // New returns no error without options
	return &benchShopper{base: base, host: host, jar: jar, site: &url.URL{Scheme: "http", Host: host, Path: "/"},
		client: &http.Client{Transport: tr, Timeout: 30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// benchAnswer is a response as the set-up needs it.
type benchAnswer struct {
	status   int
	location string
	body     string
}

// do sends one request to the shopper's store with its cookies, and keeps
// the cookies the store sets.
func (s *benchShopper) do(ctx context.Context, method, path string, form url.Values) (benchAnswer, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, s.base+path, body)
	if err != nil {
		return benchAnswer{}, err
	}
	req.Host = s.host
	req.Header.Set("Accept", "text/html")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for _, ck := range s.jar.Cookies(s.site) {
		req.AddCookie(ck)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return benchAnswer{}, err
	}
	defer resp.Body.Close()
	s.jar.SetCookies(s.site, resp.Cookies())
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return benchAnswer{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	return benchAnswer{resp.StatusCode, resp.Header.Get("Location"), string(b)}, nil
}

// cookie is the shopper's cookies as a Cookie header.
func (s *benchShopper) cookie() string {
	var parts []string
	for _, ck := range s.jar.Cookies(s.site) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

var (
	benchRatePattern  = regexp.MustCompile(`name="shipping_rate" value="([^"]+)"`)
	benchTotalPattern = regexp.MustCompile(`name="total" value="([^"]+)"`)
)

// benchAddress is where every bench shopper lives.
var benchAddress = url.Values{"first_name": {"Ada"}, "last_name": {"Lovelace"}, "address1": {"1 Main St"},
	"city": {"Springfield"}, "province": {"IL"}, "country": {"US"}, "zip": {"62701"}}

// toPayment puts one unit of variant in the shopper's cart and walks the
// checkout to its payment step, as the checkout's pages lead a shopper:
// POST /cart/add, GET /checkout, the contact step, the shipping step with
// the rate the page offers, and the payment step's total.
func (s *benchShopper) toPayment(ctx context.Context, variant int64, n int) (benchCheckout, error) {
	if _, err := s.expect(ctx, http.MethodPost, "/cart/add", url.Values{"id": {fmt.Sprint(variant)}, "quantity": {"1"}}, http.StatusSeeOther, "/"); err != nil {
		return benchCheckout{}, err
	}
	a, err := s.expect(ctx, http.MethodGet, "/checkout", nil, http.StatusSeeOther, "/checkouts/")
	if err != nil {
		return benchCheckout{}, err
	}
	path := a.location
	contact := url.Values{"email": {fmt.Sprintf("shopper%d@bench.example", n+1)}}
	for k, v := range benchAddress {
		contact[k] = v
	}
	if _, err := s.expect(ctx, http.MethodPost, path+"/contact", contact, http.StatusSeeOther, path); err != nil {
		return benchCheckout{}, err
	}
	page, err := s.expect(ctx, http.MethodGet, path+"?step=shipping", nil, http.StatusOK, "")
	if err != nil {
		return benchCheckout{}, err
	}
	rate := benchRatePattern.FindStringSubmatch(page.body)
	if rate == nil {
		return benchCheckout{}, fmt.Errorf("the shipping step offers no rate: %s", benchSnippet(page.body))
	}
	if _, err := s.expect(ctx, http.MethodPost, path+"/shipping", url.Values{"shipping_rate": {rate[1]}}, http.StatusSeeOther, path); err != nil {
		return benchCheckout{}, err
	}
	if page, err = s.expect(ctx, http.MethodGet, path+"?step=payment", nil, http.StatusOK, ""); err != nil {
		return benchCheckout{}, err
	}
	total := benchTotalPattern.FindStringSubmatch(page.body)
	if total == nil {
		return benchCheckout{}, fmt.Errorf("the payment step shows no total: %s", benchSnippet(page.body))
	}
	return benchCheckout{Variant: variant, Host: s.host, Path: path, Cookie: s.cookie(), Total: total[1]}, nil
}

// expect sends a request and wants status back, redirecting to a path
// that starts with prefix when status is a redirect.
func (s *benchShopper) expect(ctx context.Context, method, path string, form url.Values, status int, prefix string) (benchAnswer, error) {
	a, err := s.do(ctx, method, path, form)
	if err != nil {
		return a, err
	}
	if a.status != status || !strings.HasPrefix(a.location, prefix) {
		return a, fmt.Errorf("%s %s = %d → %q, want %d %s: %s", method, path, a.status, a.location, status, prefix, benchSnippet(a.body))
	}
	return a, nil
}

// benchSnippet is the start of a page, for an error message.
func benchSnippet(body string) string {
	body = strings.Join(strings.Fields(body), " ")
	if len(body) > 300 {
		body = body[:300] + "…"
	}
	return body
}
