package storefront

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/pg"
	"github.com/storefleet/storefleet/internal/testenv"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/tenant"
)

// activationServer serves the storefront with the account email links
// mounted (whether or not Routes mounts them yet).
func activationServer(t *testing.T) (*tenant.DB, *httptest.Server) {
	t.Helper()
	gin.SetMode(gin.ReleaseMode)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := tenant.Open(context.Background(), testenv.Database(t), tenant.Config{Pool: pg.Pool{MaxConns: 8}}, testenv.Redis(t), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	h := New(db, nil, Config{URLs: tenant.URLs{Scheme: "http", Domain: "localhost"}, CartKey: []byte("activation test cart key")}, log)
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
	h.Routes(engine)
	mounted := false
	for _, r := range engine.Routes() {
		mounted = mounted || r.Path == "/account/activate/:id/:token"
	}
	if !mounted {
		h.activationRoutes(engine)
	}
	srv := httptest.NewServer(engine)
	t.Cleanup(srv.Close)
	return db, srv
}

// activationClient is a browser of one store's host, keeping cookies, not
// following redirects; last is the last page's body.
type activationClient struct {
	t    *testing.T
	srv  *httptest.Server
	host string
	c    *http.Client
	last string
}

func newActivationClient(t *testing.T, srv *httptest.Server, slug string) *activationClient {
	jar, _ := cookiejar.New(nil)
	return &activationClient{t: t, srv: srv, host: slug + ".localhost", c: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var authenticityToken = regexp.MustCompile(`name="authenticity_token" value="([^"]+)"`)

// do sends a request; a form gets the last page's authenticity token.
func (a *activationClient) do(method, path string, form url.Values) (int, string, http.Header) {
	a.t.Helper()
	var body io.Reader
	if form != nil {
		if m := authenticityToken.FindStringSubmatch(a.last); m != nil {
			form.Set("authenticity_token", html.UnescapeString(m[1]))
		}
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, a.srv.URL+path, body)
	req.Host = a.host
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	u, _ := url.Parse("http://" + a.host + path)
	for _, ck := range a.c.Jar.Cookies(u) {
		req.AddCookie(ck)
	}
	resp, err := a.c.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	a.c.Jar.SetCookies(u, resp.Cookies())
	b, _ := io.ReadAll(resp.Body)
	if method == http.MethodGet {
		a.last = string(b)
	}
	return resp.StatusCode, string(b), resp.Header
}

// pendingLinks takes the outbox's pending events of topic and returns
// their links' paths.
func pendingLinks(t *testing.T, db *tenant.DB, topic string) []string {
	t.Helper()
	var out []string
	_, err := db.RelayEvents(context.Background(), 1000, func(_ context.Context, ev tenant.Event) error {
		if ev.Topic == topic {
			var e customers.AccountEmail
			json.Unmarshal(ev.Payload, &e)
			out = append(out, e.Path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestStorefrontVerificationLink: registering on the storefront emits the
// verification email; its link confirms the email once, and on its own
// store only.
func TestStorefrontVerificationLink(t *testing.T) {
	db, srv := activationServer(t)
	ctx := context.Background()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "verify-front", Name: "Verify Tea"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Provision(ctx, tenant.NewStore{Slug: "verify-other", Name: "Other Tea"}, nil); err != nil {
		t.Fatal(err)
	}
	a := newActivationClient(t, srv, "verify-front")
	a.do("GET", "/account/register", nil)
	if status, body, _ := a.do("POST", "/account", url.Values{"customer[email]": {"vi@example.com"}, "customer[password]": {"tea-for-two-2026"},
		"customer[first_name]": {"Vi"}}); status != http.StatusSeeOther {
		t.Fatalf("POST /account (register) = %d %.300s", status, body)
	}
	links := pendingLinks(t, db, customers.TopicVerification)
	if len(links) != 1 {
		t.Fatalf("verification links = %v, want one", links)
	}
	other := newActivationClient(t, srv, "verify-other")
	if status, _, _ := other.do("GET", links[0], nil); status != http.StatusGone {
		t.Errorf("the link on another store = %d, want 410", status)
	}
	stranger := newActivationClient(t, srv, "verify-front") // the link opened in another browser works too
	status, body, hdr := stranger.do("GET", links[0], nil)
	if status != http.StatusOK || !strings.Contains(body, "Email confirmed") || !strings.Contains(body, "vi@example.com") {
		t.Fatalf("GET %s = %d %.400s, want the confirmation", links[0], status, body)
	}
	if !strings.Contains(hdr.Get("Cache-Control"), "no-store") || !strings.Contains(body, "Verify Tea") {
		t.Errorf("the confirmation is cacheable or not in the store's theme: %v", hdr)
	}
	id, _ := customerOfLink(links[0])
	if ok, _ := customers.NewService(db).EmailVerified(ctx, st, id); !ok {
		t.Errorf("the link did not verify the email")
	}
	if status, body, _ := stranger.do("GET", links[0], nil); status != http.StatusGone || !strings.Contains(body, "expired or was already used") {
		t.Errorf("the link twice = %d %.300s, want 410 saying it was used", status, body)
	}
}

// customerOfLink splits "/account/<what>/<id>/<token>".
func customerOfLink(path string) (int64, string) {
	parts := strings.Split(path, "/")
	if len(parts) != 5 {
		return 0, ""
	}
	id, _ := strconv.ParseInt(parts[3], 10, 64)
	return id, parts[4]
}

// TestStorefrontActivation: an invitation's link shows the password form;
// a mismatch or a short password is refused with the form again; the
// password set, the customer is logged in; the link then works no more.
func TestStorefrontActivation(t *testing.T) {
	db, srv := activationServer(t)
	ctx := context.Background()
	st, err := db.Provision(ctx, tenant.NewStore{Slug: "activate-front", Name: "Activate Tea"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	svc := customers.NewService(db)
	email, first := "ivo@example.com", "Ivo"
	c, err := svc.CreateCustomer(ctx, st, customers.CustomerInput{Email: &email, FirstName: &first})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SendInvite(ctx, st, c.ID, customers.Invite{}); err != nil {
		t.Fatal(err)
	}
	links := pendingLinks(t, db, customers.TopicInvite)
	if len(links) != 1 {
		t.Fatalf("invitation links = %v", links)
	}
	id, token := customerOfLink(links[0])
	a := newActivationClient(t, srv, "activate-front")
	if status, body, _ := a.do("GET", fmt.Sprintf("/account/activate/%d/%s", id, strings.Repeat("0", 64)), nil); status != http.StatusGone ||
		!strings.Contains(body, "expired or was already used") {
		t.Errorf("a made-up link = %d, want 410 saying so", status)
	}
	status, body, _ := a.do("GET", links[0], nil)
	if status != http.StatusOK || !strings.Contains(body, `name="customer[password_confirmation]"`) || !strings.Contains(body, "Activate Tea") {
		t.Fatalf("GET %s = %d %.400s, want the password form in the store's theme", links[0], status, body)
	}
	form := func(pw, confirm string) url.Values {
		return url.Values{"customer_id": {strconv.FormatInt(id, 10)}, "token": {token}, "customer[password]": {pw}, "customer[password_confirmation]": {confirm}}
	}
	if status, body, _ := a.do("POST", "/account/activate", form("ivo-password-1", "ivo-password-2")); status != http.StatusUnprocessableEntity || !strings.Contains(body, "not the same") {
		t.Errorf("POST with two passwords = %d, want 422 saying so", status)
	}
	if status, body, _ := a.do("POST", "/account/activate", form("short", "short")); status != http.StatusUnprocessableEntity || !strings.Contains(body, "at least 8") {
		t.Errorf("POST with a short password = %d %.300s, want 422 saying so", status, body)
	}
	if status, _, _ := newActivationClient(t, srv, "activate-front").do("POST", "/account/activate", form("ivo-password-1", "ivo-password-1")); status != http.StatusForbidden {
		t.Errorf("POST without the page's authenticity token = %d, want 403", status)
	}
	status, _, hdr := a.do("POST", "/account/activate", form("ivo-password-1", "ivo-password-1"))
	if status != http.StatusSeeOther || hdr.Get("Location") != "/account" {
		t.Fatalf("POST /account/activate = %d %v, want 303 to the account", status, hdr)
	}
	if status, body, _ := a.do("GET", "/account", nil); status != http.StatusOK || !strings.Contains(body, "ivo@example.com") {
		t.Errorf("GET /account after activation = %d, want the logged-in account", status)
	}
	got, _ := svc.Customer(ctx, st, id)
	if ok, _ := svc.EmailVerified(ctx, st, id); got.State != customers.StateEnabled || !ok {
		t.Errorf("after activation state = %s, verified = %v; want enabled and verified", got.State, ok)
	}
	if _, err := svc.Login(ctx, st, email, "ivo-password-1"); err != nil {
		t.Errorf("Login with the chosen password = %v", err)
	}
	if status, body, _ := a.do("GET", links[0], nil); status != http.StatusGone || !strings.Contains(body, "Log in") {
		t.Errorf("the used link = %d, want 410 pointing to log in", status)
	}
}
