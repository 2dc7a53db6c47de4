package dashboard_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/blob"
	"github.com/storefleet/storefleet/internal/money"
	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/ratelimit"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/modules/dashboard"
	"github.com/storefleet/storefleet/modules/discounts"
	"github.com/storefleet/storefleet/modules/inventory"
	"github.com/storefleet/storefleet/modules/notifications"
	"github.com/storefleet/storefleet/modules/orders"
	"github.com/storefleet/storefleet/modules/shipping"
	"github.com/storefleet/storefleet/modules/shop"
	"github.com/storefleet/storefleet/modules/storefront"
	"github.com/storefleet/storefleet/modules/webhooks"
	"github.com/storefleet/storefleet/tenant"
)

const sessionKey = "dashboard-test-session-key-0123456789"

// fixture is the dashboard on a real PostgreSQL and Redis, served over HTTP.
type fixture struct {
	t       *testing.T
	db      *tenant.DB
	dbURL   string
	catalog *catalog.Service
	srv     *httptest.Server
	n       int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, billing.Config{})
}

// newFixtureWith is newFixture with payments configured by pay: Stripe keys
// in it turn card payments on, as cmd/storefleet does when the fleet has them.
func newFixtureWith(t *testing.T, pay billing.Config) *fixture {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	rdb := testenv.Redis(t)
	dbURL := testenv.Database(t)
	db, err := tenant.Open(context.Background(), dbURL, tenant.Config{Pool: pg.Pool{MaxConns: 8}}, rdb, log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	sessions, err := auth.NewSessions([]byte(sessionKey), 15*time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	urls := tenant.URLs{Scheme: "http", Domain: "localhost", Port: "8080"}
	bucket, err := blob.Open(context.Background(), "file://"+t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bucket.Close() })
	cat := catalog.NewService(db, catalog.Files{Bucket: bucket, URLs: urls})
	d := dashboard.New(dashboard.Config{
		DB: db, Sessions: sessions, Limiter: ratelimit.New(rdb), CSRFKey: []byte("dashboard-test-csrf-key"), URLs: urls,
		Catalog: cat, Inventory: inventory.NewService(db), Orders: orders.NewService(db),
		Customers: customers.NewService(db), Discounts: discounts.NewService(db), Shipping: shipping.NewService(db),
		Shop: shop.NewService(db, urls), Webhooks: webhooks.NewService(db, webhooks.AllowPrivate(true)), Notifications: notifications.NewService(db, urls),
		Themes: storefront.NewThemes(db, storefront.Config{URLs: urls, CartKey: []byte("cart-key-for-tests-0123456789abcd")}, nil),
		Pages:  storefront.NewPages(db), Menus: storefront.NewMenus(db),
		Payments: billing.NewService(db, pay, log), Stripe: pay.SecretKey != "", Log: log,
	})
	engine := gin.New()
	d.Routes(engine)
	// Each fixture's clients come from an address of their own, so the
	// per-address login throttle (kept in the shared Redis) of one test
	// never refuses another's logins.
	addr := fmt.Sprintf("10.%d.%d.%d:1234", randByte(), randByte(), randByte())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.RemoteAddr = addr
		engine.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return &fixture{t: t, db: db, dbURL: dbURL, catalog: cat, srv: srv}
}

// unique makes names no other test (or run) uses: the login throttle's
// buckets live in the shared Redis.
func unique(prefix string) string {
	b := make([]byte, 4)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func randByte() byte {
	b := make([]byte, 1)
	rand.Read(b)
	return b[0]
}

const password = "correct-Horse-battery-9"

// owner signs up an account with a store of its own.
func (f *fixture) owner(slug string) (tenant.Account, *tenant.Tenant) {
	f.t.Helper()
	acct, st, err := f.db.SignUp(context.Background(), tenant.Signup{Email: unique("owner-") + "@example.com", Password: password,
		StoreName: "Store " + slug, Slug: slug})
	if err != nil {
		f.t.Fatalf("SignUp(%s) = %v", slug, err)
	}
	return acct, st
}

// staff makes an account with role in st.
func (f *fixture) staff(st *tenant.Tenant, role tenant.Role) tenant.Account {
	f.t.Helper()
	acct, err := f.db.CreateAccount(context.Background(), unique("staff-")+"@example.com", password, "Staff")
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.db.SetRole(context.Background(), acct.ID, st, role); err != nil {
		f.t.Fatal(err)
	}
	return acct
}

func (f *fixture) product(st *tenant.Tenant, title string) catalog.Product {
	f.t.Helper()
	p, err := f.catalog.CreateProduct(context.Background(), st, catalog.ProductInput{Title: &title})
	if err != nil {
		f.t.Fatalf("CreateProduct(%s) = %v", title, err)
	}
	return p
}

// browser is a client with its own cookies, not following redirects.
type browser struct {
	f    *fixture
	c    *http.Client
	last string // the last page's body
}

func (f *fixture) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{f: f, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type answer struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, path string, form url.Values, header ...string) answer {
	b.f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.f.srv.URL+path, body)
	if err != nil {
		b.f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	a := answer{resp.StatusCode, resp.Header, string(out)}
	if method == http.MethodGet {
		b.last = a.body
	}
	return a
}

func (b *browser) get(path string) answer { return b.do(http.MethodGet, path, nil) }

var tokenPattern = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// token is the CSRF token of the last page fetched.
func (b *browser) token() string {
	b.f.t.Helper()
	m := tokenPattern.FindStringSubmatch(b.last)
	if m == nil {
		b.f.t.Fatalf("the last page has no CSRF token:\n%.500s", b.last)
	}
	return html.UnescapeString(m[1])
}

// post sends form with the token of the last page.
func (b *browser) post(path string, form url.Values) answer {
	b.f.t.Helper()
	form.Set("csrf_token", b.token())
	return b.do(http.MethodPost, path, form)
}

// upload sends a multipart form with the token of the last page: fields,
// and one file in field file.
func (b *browser) upload(path string, fields url.Values, file, name string, data []byte) answer {
	b.f.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fields.Set("csrf_token", b.token())
	for k, vs := range fields {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	fw, err := w.CreateFormFile(file, name)
	if err != nil {
		b.f.t.Fatal(err)
	}
	fw.Write(data)
	w.Close()
	req, err := http.NewRequest(http.MethodPost, b.f.srv.URL+path, &buf)
	if err != nil {
		b.f.t.Fatal(err)
	}
	req.Header.Set("Content-Type", w.FormDataContentType())
	resp, err := b.c.Do(req)
	if err != nil {
		b.f.t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, resp.Header, string(out)}
}

// cookie is the value of the browser's cookie name.
func (b *browser) cookie(name string) string {
	u, _ := url.Parse(b.f.srv.URL)
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

func (b *browser) setCookie(name, value string) {
	u, _ := url.Parse(b.f.srv.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// login logs in as email and returns the answer to the login post.
func (b *browser) login(email string) answer {
	b.f.t.Helper()
	b.get("/login")
	return b.post("/login", url.Values{"email": {email}, "password": {password}})
}

func (b *browser) mustLogin(email string) {
	b.f.t.Helper()
	if r := b.login(email); r.status != http.StatusSeeOther {
		b.f.t.Fatalf("POST /login as %s = %d %.300s, want 303", email, r.status, r.body)
	}
}

func TestSignupLoginLogout(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	if r := b.get("/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/login" {
		t.Fatalf("GET / logged out = %d %s, want 303 to /login", r.status, r.header.Get("Location"))
	}
	b.get("/signup")
	if r := b.get("/signup/slug?from=name&slug_auto=1&store_name=Acme+T%C3%A9a"); !strings.Contains(r.body, `value="acme-tea"`) || !strings.Contains(r.body, "Available") {
		t.Errorf("GET /signup/slug from the name = %.400s, want acme-tea suggested and available", r.body)
	}
	if r := b.get("/signup/slug?slug=app"); !strings.Contains(r.body, "reserved") {
		t.Errorf("GET /signup/slug?slug=app = %.400s, want it reserved", r.body)
	}
	b.get("/signup")
	email := unique("ada-") + "@example.com"
	r := b.post("/signup", url.Values{"email": {email}, "password": {"short"}, "store_name": {"Acme Tea"}, "slug": {"acme-tea"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Password") {
		t.Errorf("POST /signup with a short password = %d, want 422 naming the password", r.status)
	}
	b.last = r.body
	r = b.post("/signup", url.Values{"email": {email}, "password": {password}, "store_name": {"Acme Tea"}, "slug": {"acme-tea"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/store/acme-tea?welcome=1" {
		t.Fatalf("POST /signup = %d %s %.300s, want 303 to the new store", r.status, r.header.Get("Location"), r.body)
	}
	if b.cookie("sf_session") == "" || b.cookie("sf_refresh") == "" {
		t.Errorf("after sign-up, cookies sf_session=%q sf_refresh=%q; want both", b.cookie("sf_session"), b.cookie("sf_refresh"))
	}
	home := b.get("/store/acme-tea?welcome=1")
	for _, want := range []string{"Add a product", "Choose a theme", "Set up payments", "Sales, last 30 days", "Acme Tea"} {
		if !strings.Contains(home.body, want) {
			t.Errorf("the new store's home lacks %q", want)
		}
	}
	if strings.Contains(home.body, "domain") || strings.Contains(home.body, "Connect Stripe") {
		t.Errorf("the home offers a domain or Stripe item, which do not exist here")
	}
	if r := b.get("/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/store/acme-tea" {
		t.Errorf("GET / with one store = %d %s, want 303 to it", r.status, r.header.Get("Location"))
	}

	refresh := b.cookie("sf_refresh")
	b.get("/store/acme-tea")
	if r := b.post("/logout", url.Values{}); r.status != http.StatusSeeOther {
		t.Fatalf("POST /logout = %d", r.status)
	}
	if b.cookie("sf_session") != "" || b.cookie("sf_refresh") != "" {
		t.Errorf("after logout, the session cookies are still there")
	}
	if _, _, _, err := f.db.UseRefresh(context.Background(), refresh, time.Hour); err == nil {
		t.Errorf("the refresh token still works after logout")
	}
	if r := b.get("/store/acme-tea"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
		t.Errorf("GET /store/acme-tea after logout = %d %s, want 303 to the login", r.status, r.header.Get("Location"))
	}

	b.get("/login")
	if r := b.post("/login", url.Values{"email": {email}, "password": {"wrong-password-1"}}); r.status != http.StatusUnauthorized ||
		!strings.Contains(r.body, "The email or password is not right") {
		t.Errorf("POST /login with a wrong password = %d, want 401 saying so", r.status)
	}
	b.get("/login?next=/store/acme-tea/products")
	r = b.post("/login", url.Values{"email": {strings.ToUpper(email)}, "password": {password}, "next": {"/store/acme-tea/products"}})
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/store/acme-tea/products" {
		t.Errorf("POST /login with next = %d %s, want 303 to next", r.status, r.header.Get("Location"))
	}
}

// TestCSRF: a post without the page's token, or with another's, is refused
// with 403 and changes nothing.
func TestCSRF(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("csrf-shop")
	p := f.product(st, "Oolong")
	b := f.browser()
	b.mustLogin(acct.Email)

	other := f.browser()
	other.get("/login")
	otherToken := other.token()

	b.get("/store/csrf-shop/products")
	path := fmt.Sprintf("/store/csrf-shop/products/%d/status", p.ID)
	for _, tc := range []struct {
		name, token string
		header      []string
	}{
		{"no token", "", nil},
		{"a made-up token", "forged", nil},
		{"another visitor's token", otherToken, nil},
		{"no token, same-origin by the browser's word", "", []string{"Sec-Fetch-Site", "same-origin"}},
	} {
		form := url.Values{"status": {"archived"}}
		if tc.token != "" {
			form.Set("csrf_token", tc.token)
		}
		r := b.do(http.MethodPost, path, form, tc.header...)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "Please try again") {
			t.Errorf("%s: POST %s = %d, want 403 with the try-again page", tc.name, path, r.status)
		}
	}
	if got, _ := f.catalog.Product(context.Background(), st, p.ID); got.Status != p.Status {
		t.Errorf("after refused posts, the product is %s, want %s", got.Status, p.Status)
	}

	// A login post without a token starts no session.
	anon := f.browser()
	if r := anon.do(http.MethodPost, "/login", url.Values{"email": {acct.Email}, "password": {password}}); r.status != http.StatusForbidden {
		t.Errorf("POST /login without a token = %d, want 403", r.status)
	}
	if anon.cookie("sf_session") != "" {
		t.Errorf("a refused login set a session cookie")
	}

	// With the page's token, it goes through.
	if r := b.post(path, url.Values{"status": {"archived"}}); r.status != http.StatusSeeOther {
		t.Errorf("POST %s with the page's token = %d %.300s, want 303", path, r.status, r.body)
	}
	if got, _ := f.catalog.Product(context.Background(), st, p.ID); got.Status != "archived" {
		t.Errorf("after the post, the product is %s, want archived", got.Status)
	}
}

// TestFormTooLarge: a form over its size limit is refused with 413 and a
// message saying so, not read, and changes nothing.
func TestFormTooLarge(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("big-form-shop")
	p := f.product(st, "Oolong")
	b := f.browser()
	b.mustLogin(acct.Email)
	b.get("/store/big-form-shop/products")
	path := fmt.Sprintf("/store/big-form-shop/products/%d/status", p.ID)
	r := b.post(path, url.Values{"status": {"archived"}, "padding": {strings.Repeat("x", 2<<20)}})
	if r.status != http.StatusRequestEntityTooLarge || !strings.Contains(r.body, "larger than the 1 MB") {
		t.Errorf("POST a 2 MB form = %d, want 413 naming the limit\n%.400s", r.status, r.body)
	}
	if got, _ := f.catalog.Product(context.Background(), st, p.ID); got.Status != p.Status {
		t.Errorf("after a refused post, the product is %s, want %s", got.Status, p.Status)
	}
}

// TestLoginThrottle: the sixth attempt in a minute for one email is
// refused with 429 and Retry-After, even with the right password.
func TestLoginThrottle(t *testing.T) {
	f := newFixture(t)
	acct, _ := f.owner("throttle-shop")
	b := f.browser()
	for i := 1; i <= 5; i++ {
		b.get("/login")
		if r := b.post("/login", url.Values{"email": {acct.Email}, "password": {"not-the-password"}}); r.status != http.StatusUnauthorized {
			t.Fatalf("attempt %d = %d, want 401", i, r.status)
		}
	}
	b.get("/login")
	r := b.post("/login", url.Values{"email": {acct.Email}, "password": {password}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || !strings.Contains(r.body, "Too many attempts") {
		t.Fatalf("attempt 6 = %d (Retry-After %q), want 429 with Retry-After", r.status, r.header.Get("Retry-After"))
	}
	if b.cookie("sf_session") != "" {
		t.Errorf("a throttled login set a session cookie")
	}
	// Another account from the same place is not locked out by it.
	other, _ := f.owner("throttle-other")
	f.browser().mustLogin(other.Email)
}

// TestSessionExpiry: an expired access cookie is renewed from the refresh
// cookie, which is spent; replaying the spent refresh cookie (later than
// RefreshReuseGrace) logs out and ends every session of the account.
func TestSessionExpiry(t *testing.T) {
	f := newFixture(t)
	acct, _ := f.owner("expiry-shop")
	b := f.browser()
	b.mustLogin(acct.Email)
	expired, err := auth.NewSessions([]byte(sessionKey), time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := expired.Issue(int64(acct.ID))
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond) // past the token's expiry, which is in whole seconds
	b.setCookie("sf_session", old)
	spent := b.cookie("sf_refresh")

	if r := b.get("/stores"); r.status != http.StatusOK || !strings.Contains(r.body, "Store expiry-shop") {
		t.Fatalf("GET /stores with an expired access cookie = %d, want 200 (renewed)", r.status)
	}
	if b.cookie("sf_session") == old || b.cookie("sf_refresh") == spent || b.cookie("sf_refresh") == "" {
		t.Errorf("the session was not renewed: both cookies should be new")
	}
	renewed := b.cookie("sf_refresh")

	// A thief replays the spent refresh token, later than a second tab
	// racing to renew would.
	age := fmt.Sprintf("UPDATE platform.refresh_tokens SET used_at = used_at - interval '%d seconds' WHERE used_at IS NOT NULL",
		int(tenant.RefreshReuseGrace.Seconds())+1)
	if _, err := testenv.SQL(t, f.dbURL).Exec(age); err != nil {
		t.Fatal(err)
	}
	thief := f.browser()
	thief.setCookie("sf_session", old)
	thief.setCookie("sf_refresh", spent)
	if r := thief.get("/stores"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login") {
		t.Errorf("GET /stores with a replayed refresh cookie = %d %s, want 303 to the login", r.status, r.header.Get("Location"))
	}
	if thief.cookie("sf_refresh") != "" {
		t.Errorf("the replayed refresh cookie was not cleared")
	}
	// The replay ended the account's sessions: the renewed one too.
	if _, _, _, err := f.db.UseRefresh(context.Background(), renewed, time.Hour); err == nil {
		t.Errorf("after a replay, the renewed refresh token still works")
	}
}

// TestSafeRedirects: after logging in, next is followed only to a path on
// the dashboard itself.
func TestSafeRedirects(t *testing.T) {
	f := newFixture(t)
	for i, tc := range []struct{ next, want string }{
		{"/stores", "/stores"},
		{"/store/redirect-shop/products?q=tea", "/store/redirect-shop/products?q=tea"},
		{"//evil.example", "/"},
		{"//evil.example/store", "/"},
		{`/\evil.example`, "/"},
		{"https://evil.example/", "/"},
		{"javascript:alert(1)", "/"},
		{"evil.example", "/"},
		{"/%0d%0aSet-Cookie:x=1", "/%0d%0aSet-Cookie:x=1"}, // escaped: a path, harmless
		{"/\t/evil.example", "/"},
	} {
		acct, _ := f.owner(fmt.Sprintf("redirect-%d", i)) // one each: five logins a minute per email
		b := f.browser()
		b.get("/login")
		r := b.post("/login", url.Values{"email": {acct.Email}, "password": {password}, "next": {tc.next}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != tc.want {
			t.Errorf("POST /login next=%q = %d to %q, want 303 to %q", tc.next, r.status, r.header.Get("Location"), tc.want)
		}
	}
}

// TestViewer: a viewer sees products without the buttons that change them,
// and a forged post (with a valid token) is refused with 403 and changes
// nothing; staff may make the same change.
func TestViewer(t *testing.T) {
	f := newFixture(t)
	_, st := f.owner("viewer-shop")
	p := f.product(st, "Sencha")
	viewer := f.staff(st, tenant.RoleViewer)
	b := f.browser()
	b.mustLogin(viewer.Email)
	page := b.get("/store/viewer-shop/products")
	if page.status != http.StatusOK || !strings.Contains(page.body, "Sencha") {
		t.Fatalf("a viewer's GET products = %d, want 200 listing Sencha", page.status)
	}
	if strings.Contains(page.body, "Set as") {
		t.Errorf("a viewer is offered a button that changes a product")
	}
	path := fmt.Sprintf("/store/viewer-shop/products/%d/status", p.ID)
	if r := b.post(path, url.Values{"status": {"archived"}}); r.status != http.StatusForbidden || !strings.Contains(r.body, "viewer") {
		t.Errorf("a viewer's POST %s = %d, want 403 naming the role", path, r.status)
	}
	if got, _ := f.catalog.Product(context.Background(), st, p.ID); got.Status != p.Status {
		t.Errorf("after a viewer's post, the product is %s, want %s", got.Status, p.Status)
	}

	fulfil := f.staff(st, tenant.RoleStaff)
	s := f.browser()
	s.mustLogin(fulfil.Email)
	s.get("/store/viewer-shop/products")
	if r := s.post(path, url.Values{"status": {"draft"}}); r.status != http.StatusSeeOther {
		t.Errorf("staff's POST %s = %d, want 303", path, r.status)
	}
	if got, _ := f.catalog.Product(context.Background(), st, p.ID); got.Status != "draft" {
		t.Errorf("after staff's post, the product is %s, want draft", got.Status)
	}
}

// TestCrossTenant: a store one does not belong to is not found, like a
// store that does not exist; its name is never shown.
func TestCrossTenant(t *testing.T) {
	f := newFixture(t)
	a, _ := f.owner("tenant-a")
	_, other := f.owner("tenant-b")
	pb := f.product(other, "Secret Blend")
	b := f.browser()
	b.mustLogin(a.Email)
	for _, path := range []string{"/store/tenant-b", "/store/tenant-b/products", "/store/no-such-store"} {
		r := b.get(path)
		if r.status != http.StatusNotFound || strings.Contains(r.body, "Secret Blend") || strings.Contains(r.body, "Store tenant-b") {
			t.Errorf("GET %s as another store's owner = %d, want 404 showing nothing of it", path, r.status)
		}
	}
	b.get("/store/tenant-a/products")
	path := fmt.Sprintf("/store/tenant-b/products/%d/status", pb.ID)
	if r := b.post(path, url.Values{"status": {"archived"}}); r.status != http.StatusNotFound {
		t.Errorf("POST %s as another store's owner = %d, want 404", path, r.status)
	}
	// Store A's URL with store B's product id: not found in A.
	path = fmt.Sprintf("/store/tenant-a/products/%d/status", pb.ID)
	if r := b.post(path, url.Values{"status": {"archived"}}); r.status != http.StatusNotFound {
		t.Errorf("POST %s (another store's product) = %d, want 404", path, r.status)
	}
	if got, _ := f.catalog.Product(context.Background(), other, pb.ID); got.Status != pb.Status {
		t.Errorf("store B's product is %s, want %s", got.Status, pb.Status)
	}
}

// TestHomeSales: the home page's chart and its table show what
// orders.DailySalesIn sums, and the recent orders list the newest.
func TestHomeSales(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("sales-shop")
	for _, qty := range []int64{1, 2, 3} {
		err := f.db.Tx(context.Background(), st, func(tx *gorm.DB) error {
			sub := money.Amount(1250 * qty)
			_, err := orders.PlaceIn(tx, orders.NewOrder{Email: "ann@example.com", Currency: "USD",
				Lines:         []orders.NewLine{{Title: "Tea", Quantity: qty, Price: 1250}},
				SubtotalPrice: sub, TotalPrice: sub, Gateway: "manual", SourceName: "web", InventoryBehaviour: orders.InventoryBypass, Actor: "test"})
			return err
		})
		if err != nil {
			t.Fatalf("PlaceIn = %v", err)
		}
	}
	b := f.browser()
	b.mustLogin(acct.Email)
	home := b.get("/store/sales-shop")
	if home.status != http.StatusOK {
		t.Fatalf("GET home = %d", home.status)
	}
	today := time.Now().UTC().Format("Mon 2 Jan")
	for _, want := range []string{
		"<strong>75.00 USD</strong> revenue", "<strong>3</strong> orders",
		"<th scope=\"row\">" + today + "</th><td>3</td><td>75.00</td>",
		"<rect class=\"bar\"", "#1003", "#1001",
	} {
		if !strings.Contains(home.body, want) {
			t.Errorf("the home page lacks %q", want)
		}
	}
	if i, j := strings.Index(home.body, "#1003"), strings.Index(home.body, "#1001"); i > j {
		t.Errorf("recent orders are not newest first")
	}
	if n := strings.Count(home.body, "<tr><th scope=\"row\">"); n != 30 {
		t.Errorf("the sales table has %d days, want 30", n)
	}
}

// TestProductsList: search by title, filter by status, and pages.
func TestProductsList(t *testing.T) {
	f := newFixture(t)
	acct, st := f.owner("list-shop")
	for i := 1; i <= 30; i++ {
		f.product(st, fmt.Sprintf("Tea %02d", i))
	}
	green := f.product(st, "Green Dragon")
	status := "draft"
	if _, err := f.catalog.UpdateProduct(context.Background(), st, green.ID, catalog.ProductInput{Status: &status}); err != nil {
		t.Fatal(err)
	}
	b := f.browser()
	b.mustLogin(acct.Email)
	first := b.get("/store/list-shop/products")
	if !strings.Contains(first.body, "Green Dragon") || !strings.Contains(first.body, "Tea 30") || strings.Contains(first.body, "Tea 01<") {
		t.Errorf("page 1 should hold the newest products, not the oldest")
	}
	next := regexp.MustCompile(`href="(\?after=\d+)" rel="next"`).FindStringSubmatch(first.body)
	if next == nil {
		t.Fatalf("page 1 has no link to the next page")
	}
	second := b.get("/store/list-shop/products" + html.UnescapeString(next[1]))
	if !strings.Contains(second.body, "Tea 01<") || strings.Contains(second.body, "Green Dragon") || !strings.Contains(second.body, `rel="prev"`) {
		t.Errorf("page 2 should hold the oldest products and a link back")
	}
	found := b.get("/store/list-shop/products?q=dragon")
	if !strings.Contains(found.body, "Green Dragon") || strings.Contains(found.body, "Tea 0") {
		t.Errorf("search for dragon should list Green Dragon only")
	}
	title, sku := "Sencha Box", "SEN-BOX-7"
	if _, err := f.catalog.CreateProduct(context.Background(), st, catalog.ProductInput{Title: &title,
		Variants: &[]catalog.VariantInput{{SKU: &sku}}}); err != nil {
		t.Fatal(err)
	}
	if bySKU := b.get("/store/list-shop/products?q=box-7"); !strings.Contains(bySKU.body, "Sencha Box") || strings.Contains(bySKU.body, "Tea 0") {
		t.Errorf("search for part of a SKU should list its product only")
	}
	drafts := b.get("/store/list-shop/products?status=draft")
	if !strings.Contains(drafts.body, "Green Dragon") || strings.Contains(drafts.body, "Tea 0") {
		t.Errorf("the draft filter should list Green Dragon only")
	}
}
