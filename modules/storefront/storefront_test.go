package storefront_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	_ "github.com/jackc/pgx/v5/stdlib"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/safehttp"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/tenant"
)

// fixture is a storefront on a real database, with its stores reached by
// host (<slug>.localhost) through one test server.
type fixture struct {
	url string // the test database
	t   testing.TB
	db  *tenant.DB
	cat *catalog.Service
	inv *inventory.Service
	srv *httptest.Server
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dbURL := testenv.Database(t)
	db, err := tenant.Open(context.Background(), dbURL, tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	cat := catalog.NewService(db, catalog.Files{Bucket: testenv.Bucket(t),
		Fetch: safehttp.NewClient(safehttp.Options{AllowPrivate: true, Timeout: 5 * time.Second}),
		URLs:  tenant.URLs{Scheme: "http", Domain: "localhost"}})
	front := storefront.New(db, cat, storefront.Config{URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}, CartKey: []byte("test cart key")}, log)
	engine := gin.New()
	engine.Use(func(c *gin.Context) {
		slug, _, _ := strings.Cut(c.Request.Host, ".")
		st, err := db.TenantBySlug(c.Request.Context(), slug)
		if err != nil {
			c.AbortWithStatus(http.StatusNotFound)
			return
		}
		c.Request = c.Request.WithContext(tenant.NewContext(c.Request.Context(), st))
	})
	front.Routes(engine)
	engine.NoRoute(front.NotFound)
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return &fixture{url: dbURL, t: t, db: db, cat: cat, inv: inventory.NewService(db), srv: srv}
}

func (f *fixture) store(slug string) *tenant.Tenant {
	f.t.Helper()
	st, err := f.db.Provision(context.Background(), tenant.NewStore{Slug: slug, Name: "Store " + slug}, nil)
	if err != nil {
		f.t.Fatal(err)
	}
	return st
}

func ptr[T any](v T) *T { return &v }

// product makes a published product with two sized variants, stock
// tracked: 5 of the small, none of the large.
func (f *fixture) product(st *tenant.Tenant, title string) catalog.Product {
	f.t.Helper()
	ctx := context.Background()
	usd := money.MustCurrency("USD")
	price := func(s string) *money.Amount { a, _ := usd.Parse(s); return &a }
	tracked := ptr("shopify")
	p, err := f.cat.CreateProduct(ctx, st, catalog.ProductInput{Title: ptr(title), BodyHTML: ptr("<p>Fresh <em>" + title + "</em></p>"),
		Vendor: ptr("Hills"), Tags: &[]string{"tea"}, Options: &[]string{"Size"},
		Variants: &[]catalog.VariantInput{
			{Options: [3]*string{ptr("Small")}, Price: price("4.50"), SKU: ptr(title + "-S"), InventoryManagement: &tracked},
			{Options: [3]*string{ptr("Large")}, Price: price("9.00"), SKU: ptr(title + "-L"), InventoryManagement: &tracked},
		}})
	if err != nil {
		f.t.Fatal(err)
	}
	f.stock(st, p.Variants[0].ID, 5)
	return p
}

func (f *fixture) stock(st *tenant.Tenant, variant int64, n int64) {
	f.t.Helper()
	locs, err := f.inv.Locations(context.Background(), st)
	if err != nil {
		f.t.Fatal(err)
	}
	if _, err := f.inv.SetAvailable(context.Background(), st, inventory.Change{ItemID: variant, LocationID: locs[0].ID, Quantity: n, Actor: "test"}); err != nil {
		f.t.Fatal(err)
	}
}

// shopper is a browser-like client of one store: it keeps cookies and does
// not follow redirects.
type shopper struct {
	f    *fixture
	host string
	c    *http.Client
}

func (f *fixture) shopper(st *tenant.Tenant) *shopper {
	jar, _ := cookiejar.New(nil)
	return &shopper{f: f, host: st.Slug + ".localhost", c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (s *shopper) do(method, path, contentType, body string) answer {
	s.f.t.Helper()
	req, err := http.NewRequest(method, s.f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		s.f.t.Fatal(err)
	}
	req.Host = s.host
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	// The jar keys cookies by the URL's host: keep them on the store's name.
	u, _ := url.Parse("http://" + s.host + path)
	for _, ck := range s.c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	resp, err := s.c.Do(req)
	if err != nil {
		s.f.t.Fatal(err)
	}
	defer resp.Body.Close()
	s.c.Jar.SetCookies(u, resp.Cookies())
	b, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(b)}
}

func (s *shopper) get(path string) answer { return s.do("GET", path, "", "") }

func (s *shopper) postJSON(path, body string) answer {
	return s.do("POST", path, "application/json", body)
}

// postForm posts a form as a browser does from the store's own page: to
// an account path, with the authenticity_token that page carries.
func (s *shopper) postForm(path string, v url.Values) answer {
	if strings.HasPrefix(path, "/account") && !v.Has("authenticity_token") {
		w := url.Values{"authenticity_token": {s.formToken()}}
		for k, vs := range v {
			w[k] = vs
		}
		v = w
	}
	return s.do("POST", path, "application/x-www-form-urlencoded", v.Encode())
}

func TestPages(t *testing.T) {
	f := newFixture(t)
	st := f.store("front-pages")
	p := f.product(st, "Sencha")
	f.product(st, "Assam")
	draft, err := f.cat.CreateProduct(context.Background(), st, catalog.ProductInput{Title: ptr("Secret Blend"), Status: ptr("draft")})
	if err != nil {
		t.Fatal(err)
	}
	col, err := f.cat.CreateCollection(context.Background(), st, catalog.CollectionInput{Title: ptr("Green"), Published: ptr(true), Products: []int64{p.ID}})
	if err != nil {
		t.Fatal(err)
	}
	err = f.db.Tx(context.Background(), st, func(tx *gorm.DB) error {
		return tx.Exec(`INSERT INTO pages (title, handle, body_html, published_at) VALUES ('About us', 'about-us', '<p>Tea since <b>1990</b>.</p>', now()),
			('Draft', 'draft', '<p>Not yet.</p>', NULL)`).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	s := f.shopper(st)
	for _, tc := range []struct {
		path   string
		status int
		want   []string
		not    []string
	}{
		{"/", 200, []string{"Store front-pages", "Green", "Sencha", "$4.50"}, nil},
		{"/collections", 200, []string{"Green"}, nil},
		{"/collections/" + col.Handle, 200, []string{"Sencha", "<link rel=\"canonical\" href=\"http://front-pages.localhost/collections/green\">"}, []string{"Assam"}},
		{"/collections/all?sort_by=title-ascending", 200, []string{"Assam", "Sencha"}, []string{"Secret Blend"}},
		{"/products/sencha", 200, []string{"<h1", "Sencha", "$4.50", "<em>Sencha</em>", "Small", "Large", `"@type":"Product"`, "og:price:amount", "InStock", "OutOfStock"}, nil},
		{fmt.Sprintf("/products/sencha?variant=%d", p.Variants[1].ID), 200, []string{"$9.00"}, nil},
		{"/search?q=senc", 200, []string{"Sencha"}, []string{"Assam"}},
		{"/search?q=sencha-l", 200, []string{"Sencha"}, nil}, // by SKU
		{"/search", 200, nil, []string{"Sencha"}},
		{"/products/" + draft.Handle, 404, []string{"<h1"}, []string{"Secret Blend"}},
		{"/products/nope", 404, nil, nil},
		{"/collections/nope", 404, nil, nil},
		{"/pages/about", 404, nil, nil},
		{"/pages/about-us", 200, []string{"About us", "Tea since <b>1990</b>."}, nil},
		{"/pages/draft", 404, nil, []string{"Not yet."}},
		{"/no/such/path", 404, nil, nil},
		{"/robots.txt", 200, []string{"Disallow: /cart", "Sitemap: http://front-pages.localhost/sitemap.xml"}, nil},
		{"/sitemap.xml", 200, []string{"http://front-pages.localhost/products/sencha", "/collections/green"}, []string{"secret-blend"}},
	} {
		r := s.get(tc.path)
		if r.status != tc.status {
			t.Errorf("GET %s = %d, want %d\n%.400s", tc.path, r.status, tc.status, r.body)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(r.body, w) {
				t.Errorf("GET %s lacks %q", tc.path, w)
			}
		}
		for _, n := range tc.not {
			if strings.Contains(r.body, n) {
				t.Errorf("GET %s shows %q, which it should not", tc.path, n)
			}
		}
	}
	// A theme asset, under its versioned URL, may be cached for good.
	home := s.get("/").body
	i := strings.Index(home, "/cdn/shop/t/")
	if i < 0 {
		t.Fatalf("home page links no theme asset")
	}
	asset := home[i : i+strings.IndexAny(home[i:], `"'`)]
	asset = strings.ReplaceAll(asset, "&amp;", "&")
	r := s.get(asset)
	if r.status != 200 || !strings.Contains(r.header.Get("Cache-Control"), "immutable") || r.header.Get("ETag") == "" {
		t.Errorf("GET %s = %d %v, want 200, immutable, with an ETag", asset, r.status, r.header)
	}
	// The AJAX product.
	r = s.get("/products/sencha.js")
	var pj map[string]any
	if err := json.Unmarshal([]byte(r.body), &pj); err != nil || pj["handle"] != "sencha" || len(pj["variants"].([]any)) != 2 {
		t.Errorf("GET /products/sencha.js = %d %.300s", r.status, r.body)
	}
}

func TestCart(t *testing.T) {
	f := newFixture(t)
	st := f.store("front-cart")
	p := f.product(st, "Sencha")
	small, large := p.Variants[0].ID, p.Variants[1].ID
	s := f.shopper(st)

	// A form post adds and sends the shopper to the cart.
	r := s.postForm("/cart/add", url.Values{"id": {fmt.Sprint(small)}, "quantity": {"2"}})
	if r.status != 303 || r.header.Get("Location") != "/cart" {
		t.Fatalf("POST /cart/add = %d %v, want 303 to /cart", r.status, r.header)
	}
	cart := func() map[string]any {
		t.Helper()
		var m map[string]any
		r := s.get("/cart.js")
		if err := json.Unmarshal([]byte(r.body), &m); err != nil {
			t.Fatalf("GET /cart.js = %d %s", r.status, r.body)
		}
		return m
	}
	if c := cart(); c["item_count"] != 2.0 || c["total_price"] != 900.0 {
		t.Fatalf("cart after adding 2 = %v, want 2 items, 900", c)
	}
	// The AJAX API, with Shopify's errors.
	for _, tc := range []struct {
		path, body string
		status     int
		want       string
	}{
		{"/cart/add.js", fmt.Sprintf(`{"id":%d,"quantity":4}`, small), 422, "You can only add 3 Sencha - Small to the cart."},
		{"/cart/add.js", fmt.Sprintf(`{"id":%d,"quantity":1}`, large), 422, "Sencha - Large is sold out."},
		{"/cart/add.js", `{"id":999999,"quantity":1}`, 404, "Cannot find variant"},
		{"/cart/add.js", `{"id":"x"}`, 400, "Cart Error"},
		{"/cart/add.js", `{"quantity":1}`, 400, "choose an item"},
		{"/cart/add.js", fmt.Sprintf(`{"id":%d,"quantity":-1}`, small), 422, "whole number"},
		{"/cart/add.js", fmt.Sprintf(`{"id":%d,"quantity":1}`, small), 200, `"quantity":3`},
		{"/cart/add.js", fmt.Sprintf(`{"items":[{"id":%d,"quantity":1}]}`, small), 200, `"items":[`},
		{"/cart/change.js", `{"line":1,"quantity":1}`, 200, `"item_count":1`},
		{"/cart/change.js", `{"line":9,"quantity":1}`, 404, "no line 9"},
		{"/cart/update.js", fmt.Sprintf(`{"updates":{"%d":2},"note":"Gift wrap please"}`, small), 200, `"note":"Gift wrap please"`},
		{"/cart/update.js", `{"updates":"x"}`, 400, "updates must be"},
		{"/cart/clear.js", ``, 200, `"item_count":0`},
	} {
		r := s.postJSON(tc.path, tc.body)
		if r.status != tc.status || !strings.Contains(r.body, tc.want) {
			t.Errorf("POST %s %s = %d %s, want %d with %q", tc.path, tc.body, r.status, r.body, tc.status, tc.want)
		}
	}
	if c := cart(); c["item_count"] != 0.0 || c["note"] != "Gift wrap please" {
		t.Errorf("cart after clear = %v, want empty with the note kept", c)
	}

	// The cart page re-checks stock and prices and tells the shopper.
	s.postJSON("/cart/add.js", fmt.Sprintf(`{"id":%d,"quantity":4}`, small))
	f.stock(st, small, 2)
	usd := money.MustCurrency("USD")
	newPrice, _ := usd.Parse("5.00")
	if _, err := f.cat.UpdateVariant(context.Background(), st, small, catalog.VariantInput{Price: &newPrice}); err != nil {
		t.Fatal(err)
	}
	page := s.get("/cart").body
	for _, want := range []string{"Only 2 of Sencha - Small are left", "changed from 4.50 USD to 5.00 USD"} {
		if !strings.Contains(page, want) {
			t.Errorf("cart page lacks the notice %q", want)
		}
	}
	if c := cart(); c["item_count"] != 2.0 || c["total_price"] != 1000.0 {
		t.Errorf("cart after stock fell to 2 = %v, want 2 at 500", c)
	}
	// A form post that fails comes back to the cart with the reason.
	r = s.postForm("/cart/add", url.Values{"id": {fmt.Sprint(large)}})
	if r.status != 303 || !strings.Contains(s.get("/cart").body, "Sencha - Large is sold out.") {
		t.Errorf("sold-out form post = %d; the cart page should say it is sold out", r.status)
	}
	// The remove link.
	if r := s.get("/cart/change?line=1&quantity=0"); r.status != 303 {
		t.Errorf("GET /cart/change?line=1&quantity=0 = %d, want 303", r.status)
	}
	if c := cart(); c["item_count"] != 0.0 {
		t.Errorf("cart after the remove link = %v, want empty", c)
	}
	// A deleted product leaves carts with a notice.
	s.postJSON("/cart/add.js", fmt.Sprintf(`{"id":%d,"quantity":1}`, small))
	if err := f.cat.DeleteProduct(context.Background(), st, p.ID); err != nil {
		t.Fatal(err)
	}
	if page := s.get("/cart").body; !strings.Contains(page, "no longer available") {
		t.Errorf("cart page after the product was deleted lacks the notice")
	}
}

// TestStorefrontIsolation: one store's cart cookie, handles and files mean
// nothing on another store's host.
func TestStorefrontIsolation(t *testing.T) {
	f := newFixture(t)
	a, b := f.store("front-a"), f.store("front-b")
	p := f.product(a, "Only In A")
	sa := f.shopper(a)
	sa.postJSON("/cart/add.js", fmt.Sprintf(`{"id":%d,"quantity":1}`, p.Variants[0].ID))
	// The same cookies, sent to b's host.
	sb := &shopper{f: f, host: "front-b.localhost", c: sa.c}
	u, _ := url.Parse("http://front-a.localhost/")
	ub, _ := url.Parse("http://front-b.localhost/")
	sa.c.Jar.SetCookies(ub, sa.c.Jar.Cookies(u))
	var c map[string]any
	json.Unmarshal([]byte(sb.get("/cart.js").body), &c)
	if c["item_count"] != 0.0 || strings.Contains(fmt.Sprint(c), "Only In A") {
		t.Errorf("store b's cart.js with a's cookie = %v, want an empty cart", c)
	}
	for _, path := range []string{"/products/only-in-a", "/products/only-in-a.js"} {
		if r := sb.get(path); r.status != 404 || strings.Contains(r.body, "Only In A") {
			t.Errorf("GET %s on b = %d, want 404 without a's data", path, r.status)
		}
	}
	if r := sb.postJSON("/cart/add.js", fmt.Sprintf(`{"id":%d,"quantity":1}`, p.Variants[0].ID)); r.status != 404 {
		t.Errorf("adding a's variant on b = %d %s, want 404", r.status, r.body)
	}
	_ = b
}

// TestShopperTextIsEscaped pushes script through every route that echoes
// shopper text.
func TestShopperTextIsEscaped(t *testing.T) {
	f := newFixture(t)
	st := f.store("front-xss")
	p := f.product(st, "Sencha")
	s := f.shopper(st)
	payloads := []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(1)>`, `'><svg onload=alert(1)>`}
	for _, x := range payloads {
		s.postJSON("/cart/add.js", fmt.Sprintf(`{"id":%d,"quantity":1,"properties":{%q:%q}}`, p.Variants[0].ID, x, x))
		s.postJSON("/cart/update.js", fmt.Sprintf(`{"note":%q,"attributes":{%q:%q}}`, x, x, x))
		for _, path := range []string{"/search?q=" + url.QueryEscape(x), "/cart", "/collections/all?sort_by=" + url.QueryEscape(x),
			"/products/sencha?variant=" + url.QueryEscape(x), "/nope" + url.PathEscape(x)} {
			body := s.get(path).body
			for _, raw := range []string{"<script>alert", "<img src=x", "<svg onload"} {
				if strings.Contains(body, raw) {
					t.Errorf("GET %s echoes %q unescaped", path, raw)
				}
			}
		}
	}
}

// TestBrokenThemeIsContained: a theme that loops for ever gets an error
// page within its time limit, and the store's other requests and other
// stores go on.
func TestBrokenThemeIsContained(t *testing.T) {
	f := newFixture(t)
	st, other := f.store("front-broken"), f.store("front-fine")
	err := f.db.Tx(context.Background(), st, func(tx *gorm.DB) error {
		err := tx.Exec(`INSERT INTO theme_files (theme_id, key, value) SELECT id, 'templates/404.liquid', ?::bytea FROM themes WHERE role = 'main'`,
			[]byte(`{% for i in (1..1000000000) %}{% for j in (1..1000000000) %}x{% endfor %}{% endfor %}`)).Error
		if err != nil {
			return err
		}
		return tx.Exec(`UPDATE themes SET version = version + 1 WHERE role = 'main'`).Error
	})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	r := f.shopper(st).get("/no-such-page")
	if r.status != 500 || !strings.Contains(r.body, "Something went wrong") || time.Since(start) > 5*time.Second {
		t.Errorf("a looping 404 template = %d after %v, want the error page within the limit", r.status, time.Since(start))
	}
	if r := f.shopper(st).get("/"); r.status != 200 {
		t.Errorf("the same store's home page = %d, want 200", r.status)
	}
	if r := f.shopper(other).get("/no-such-page"); r.status != 404 {
		t.Errorf("another store's 404 = %d, want its own 404 page", r.status)
	}
}

// TestCustomerAccounts: a shopper registers, is logged in, logs out, logs
// in again; wrong passwords and taken emails are told without leaking
// which; an account belongs to its store only.
func TestCustomerAccounts(t *testing.T) {
	f := newFixture(t)
	st, other := f.store("front-accounts"), f.store("front-elsewhere")
	s := f.shopper(st)
	if r := s.get("/account"); r.status != 303 || r.header.Get("Location") != "/account/login" {
		t.Errorf("GET /account logged out = %d %v, want 303 to the login page", r.status, r.header)
	}
	if r := s.get("/account/login"); r.status != 200 || !strings.Contains(r.body, `name="customer[email]"`) {
		t.Fatalf("GET /account/login = %d", r.status)
	}
	reg := url.Values{"customer[email]": {"Ann@Example.com"}, "customer[password]": {"tea-for-two-2026"},
		"customer[first_name]": {"<b>Ann</b>"}, "customer[last_name]": {"Lee"}}
	r := s.postForm("/account", reg)
	if r.status != 303 || r.header.Get("Location") != "/account" {
		t.Fatalf("POST /account (register) = %d %.300s, want 303 to the account", r.status, r.body)
	}
	page := s.get("/account").body
	if !strings.Contains(page, "Ann@Example.com") || !strings.Contains(page, "&lt;b&gt;Ann&lt;/b&gt;") || strings.Contains(page, "<b>Ann</b>") {
		t.Errorf("account page does not show the escaped name and email:\n%.600s", page)
	}
	// The same email again, another case: refused, form kept, password not.
	r = f.shopper(st).postForm("/account", url.Values{"customer[email]": {"ANN@example.com"}, "customer[password]": {"another-password-1"}})
	if r.status != 200 || !strings.Contains(r.body, "already has an account") || strings.Contains(r.body, "another-password-1") {
		t.Errorf("registering a taken email = %d; want the form again saying so, without the password", r.status)
	}
	if r := f.shopper(st).postForm("/account", url.Values{"customer[email]": {"bob@example.com"}, "customer[password]": {"short"}}); !strings.Contains(r.body, "at least 8 characters") {
		t.Errorf("registering a short password did not say why")
	}
	if r := s.logout(); r.status != 303 {
		t.Errorf("logout = %d, want 303", r.status)
	}
	if r := s.get("/account"); r.status != 303 {
		t.Errorf("GET /account after logout = %d, want a redirect to log in", r.status)
	}
	for _, bad := range []url.Values{
		{"customer[email]": {"ann@example.com"}, "customer[password]": {"wrong-password"}},
		{"customer[email]": {"nobody@example.com"}, "customer[password]": {"tea-for-two-2026"}},
	} {
		if r := s.postForm("/account/login", bad); r.status != 200 || !strings.Contains(r.body, "Incorrect email or password.") {
			t.Errorf("POST /account/login %v = %d, want the form with one message", bad, r.status)
		}
	}
	if r := s.postForm("/account/login", url.Values{"customer[email]": {"ann@example.com"}, "customer[password]": {"tea-for-two-2026"}}); r.status != 303 {
		t.Fatalf("log in = %d", r.status)
	}
	if !strings.Contains(s.get("/account").body, "Ann@Example.com") {
		t.Errorf("account page after logging in lacks the email")
	}
	// The same cookie means nothing on another store, and its account
	// cannot log in there.
	elsewhere := &shopper{f: f, host: "front-elsewhere.localhost", c: s.c}
	u, _ := url.Parse("http://front-accounts.localhost/")
	ub, _ := url.Parse("http://front-elsewhere.localhost/")
	s.c.Jar.SetCookies(ub, s.c.Jar.Cookies(u))
	if r := elsewhere.get("/account"); r.status != 303 {
		t.Errorf("another store's /account with this store's cookie = %d, want a redirect to log in", r.status)
	}
	if r := elsewhere.postForm("/account/login", url.Values{"customer[email]": {"ann@example.com"}, "customer[password]": {"tea-for-two-2026"}}); r.status != 200 {
		t.Errorf("logging in to another store with this store's account = %d, want refused", r.status)
	}
	_ = other
}

// TestPasswordReset: the recover form answers the same for any email; the
// emailed link (read here from the outbox) sets a new password once.
func TestPasswordReset(t *testing.T) {
	f := newFixture(t)
	st := f.store("front-reset")
	s := f.shopper(st)
	s.postForm("/account", url.Values{"customer[email]": {"cy@example.com"}, "customer[password]": {"old-password-1"}})
	s.logout()
	for _, email := range []string{"cy@example.com", "nobody@example.com"} {
		if r := s.postForm("/account/recover", url.Values{"email": {email}}); r.status != 200 || !strings.Contains(r.body, "We have emailed you a link") {
			t.Errorf("POST /account/recover %s = %d, want the same confirmation for every email", email, r.status)
		}
	}
	raw, err := sql.Open("pgx", f.url)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var payload string
	if err := raw.QueryRow(`SELECT payload::text FROM outbox.events WHERE topic = 'customers/password_reset'`).Scan(&payload); err != nil {
		t.Fatalf("the reset email's event: %v (want exactly one, for the account)", err)
	}
	var ev struct{ URL string }
	json.Unmarshal([]byte(payload), &ev)
	path := strings.TrimPrefix(ev.URL, "http://front-reset.localhost")
	parts := strings.Split(path, "/") // /account/reset/<id>/<token>
	if len(parts) != 5 {
		t.Fatalf("reset link %q", ev.URL)
	}
	if r := s.get(fmt.Sprintf("/account/reset/%s/%s", parts[3], strings.Repeat("0", 64))); !strings.Contains(r.body, "expired or was already used") {
		t.Errorf("a made-up reset link does not say it is not valid")
	}
	if r := s.get(path); r.status != 200 || strings.Contains(r.body, "expired") || !strings.Contains(r.body, `name="customer[password_confirmation]"`) {
		t.Fatalf("GET %s = %d, want the new-password form", path, r.status)
	}
	form := url.Values{"form_type": {"reset_customer_password"}, "customer_id": {parts[3]}, "token": {parts[4]},
		"customer[password]": {"new-password-2"}, "customer[password_confirmation]": {"new-password-2"}}
	if r := s.postForm("/account", form); r.status != 303 || r.header.Get("Location") != "/account" {
		t.Fatalf("POST the new password = %d %.300s", r.status, r.body)
	}
	if r := s.postForm("/account", form); r.status != 200 || !strings.Contains(r.body, "expired or was already used") {
		t.Errorf("the same link twice = %d, want refused", r.status)
	}
	s.logout()
	if r := s.postForm("/account/login", url.Values{"customer[email]": {"cy@example.com"}, "customer[password]": {"new-password-2"}}); r.status != 303 {
		t.Errorf("logging in with the new password = %d", r.status)
	}
}

// TestChangedHandlesRedirect: a product's or collection's old address
// answers 301 with the new one, through renames, and gives way to a new
// product at that address.
func TestChangedHandlesRedirect(t *testing.T) {
	f := newFixture(t)
	st := f.store("front-moves")
	p := f.product(st, "Old Name")
	col, err := f.cat.CreateCollection(context.Background(), st, catalog.CollectionInput{Title: ptr("Spring"), Published: ptr(true), Products: []int64{p.ID}})
	if err != nil {
		t.Fatal(err)
	}
	rename := func(handle string) {
		t.Helper()
		if _, err := f.cat.UpdateProduct(context.Background(), st, p.ID, catalog.ProductInput{Handle: ptr(handle)}); err != nil {
			t.Fatal(err)
		}
	}
	rename("middle-name")
	rename("new-name")
	if _, err := f.cat.UpdateCollection(context.Background(), st, col.ID, catalog.CollectionInput{Handle: ptr("spring-teas")}); err != nil {
		t.Fatal(err)
	}
	s := f.shopper(st)
	for path, want := range map[string]string{
		"/products/old-name?variant=1": "/products/new-name?variant=1",
		"/products/middle-name":        "/products/new-name",
		"/collections/spring":          "/collections/spring-teas",
	} {
		if r := s.get(path); r.status != 301 || r.header.Get("Location") != want {
			t.Errorf("GET %s = %d to %q, want 301 to %s", path, r.status, r.header.Get("Location"), want)
		}
	}
	if r := s.get("/products/new-name"); r.status != 200 {
		t.Errorf("GET the new address = %d", r.status)
	}
	// A new product at the old address takes it back.
	f.product(st, "Old Name")
	if r := s.get("/products/old-name"); r.status != 200 || !strings.Contains(r.body, "Old Name") {
		t.Errorf("GET /products/old-name after a new product took it = %d, want that product", r.status)
	}
}

// TestCartFormUpdatesByLine: the cart form's quantities (updates[], by
// line) are saved by Update and by Check out, which then leads on to
// /checkout.
func TestCartFormUpdatesByLine(t *testing.T) {
	f := newFixture(t)
	st := f.store("cart-form")
	p := f.product(st, "Hojicha")
	s := f.shopper(st)
	s.postForm("/cart/add", url.Values{"id": {fmt.Sprint(p.Variants[0].ID)}, "quantity": {"1"}})
	if a := s.postForm("/cart", url.Values{"updates[]": {"3"}, "note": {""}, "update": {""}}); a.status != http.StatusSeeOther || a.header.Get("Location") != "/cart" {
		t.Fatalf("POST /cart updates[]=3 = %d → %q, want 303 to /cart\n%s", a.status, a.header.Get("Location"), a.body)
	}
	a := s.postForm("/checkout", url.Values{"updates[]": {"2"}, "checkout": {""}})
	if a.status != http.StatusSeeOther || a.header.Get("Location") != "/checkout" {
		t.Fatalf("POST /checkout updates[]=2 = %d → %q, want 303 to /checkout\n%s", a.status, a.header.Get("Location"), a.body)
	}
	if cart := s.get("/cart.js"); !strings.Contains(cart.body, `"item_count":2`) {
		t.Errorf("cart after the updates: %s, want 2 items", cart.body)
	}
}
