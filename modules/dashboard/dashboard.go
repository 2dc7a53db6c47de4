// Package dashboard is the merchant-facing HTML surface at app.<domain>:
// sign up, log in, pick a store, and run it screen by screen.
//
// Pages are Go templates embedded in the binary and rendered on the server;
// htmx (vendored under static/, served from the binary) adds the little
// live behaviour there is, and every page works without it. Every form
// carries a CSRF token (internal/csrf, the storefront's mechanism), and
// every store page is authorised by the same casbin check as the Admin API
// (see member.go): the menu hides what a role cannot use, and a forged post
// is refused with 403 all the same.
//
// Sessions (session.go): a short-lived JWT in the sf_session cookie, renewed
// from a single-use refresh token in sf_refresh.
//
// A new screen is a file of its own with its handlers and a template under
// templates/, mounted in Routes under the store group, and a menu entry in
// menu (member.go) naming the casbin object it needs.
package dashboard

import (
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/billing"
	"github.com/storefleet/storefleet/internal/auth"
	"github.com/storefleet/storefleet/internal/csrf"
	"github.com/storefleet/storefleet/internal/ratelimit"
	"github.com/storefleet/storefleet/modules/catalog"
	"github.com/storefleet/storefleet/modules/customers"
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

// Config is what the dashboard is built from.
type Config struct {
	DB       *tenant.DB
	Sessions *auth.Sessions     // signs the access tokens (SESSION_TTL)
	Limiter  *ratelimit.Limiter // login throttling, fleet-wide
	// CSRFKey keys the forms' tokens; a key of its own, used for nothing else.
	CSRFKey       []byte
	URLs          tenant.URLs
	Catalog       *catalog.Service
	Inventory     *inventory.Service
	Orders        *orders.Service
	Customers     *customers.Service
	Discounts     *discounts.Service
	Shipping      *shipping.Service
	Shop          *shop.Service
	Webhooks      *webhooks.Service
	Notifications *notifications.Service
	Themes        *storefront.Themes
	Pages         *storefront.Pages
	Menus         *storefront.Menus
	Payments      *billing.Service
	// Stripe says the fleet has Stripe keys, so stores can connect Stripe.
	Stripe bool
	Log    *slog.Logger

	// Login throttles; zero values take the defaults (DefaultLoginPerEmail,
	// DefaultLoginPerIP).
	LoginPerEmail ratelimit.Bucket
	LoginPerIP    ratelimit.Bucket
}

// Login throttles: enough for a person who mistypes, too few to guess.
var (
	DefaultLoginPerEmail = ratelimit.Bucket{Capacity: 5, Leak: 5.0 / 60}
	DefaultLoginPerIP    = ratelimit.Bucket{Capacity: 20, Leak: 20.0 / 60}
)

// Dashboard serves the dashboard's pages.
type Dashboard struct {
	cfg    Config
	guard  *csrf.Guard
	pages  pages
	assets *assets
}

// Cookie names and lifetimes.
const (
	accessCookie  = "sf_session"
	refreshCookie = "sf_refresh"
	csrfCookie    = "sf_csrf"
	csrfField     = "csrf_token"
	// RefreshTTL is how long a session lasts without being used.
	RefreshTTL = 30 * 24 * time.Hour
	// csrfScope binds the dashboard's tokens to the dashboard.
	csrfScope = "dashboard"
)

// New returns the dashboard.
func New(cfg Config) *Dashboard {
	if cfg.LoginPerEmail.Capacity == 0 {
		cfg.LoginPerEmail = DefaultLoginPerEmail
	}
	if cfg.LoginPerIP.Capacity == 0 {
		cfg.LoginPerIP = DefaultLoginPerIP
	}
	a := newAssets()
	return &Dashboard{
		cfg:    cfg,
		guard:  csrf.New(cfg.CSRFKey, csrfCookie, csrfField, RefreshTTL),
		pages:  parsePages(a),
		assets: a,
	}
}

// Routes mounts the dashboard's pages on r (the dashboard host's router).
func (d *Dashboard) Routes(r gin.IRouter) {
	r.GET(assetPrefix+"/:version/:file", d.asset)
	g := r.Group("", d.noStore, d.csrf, d.session)
	g.GET("/login", d.loginPage)
	g.POST("/login", d.login)
	g.POST("/logout", d.logout)
	g.GET("/signup", d.signupPage)
	g.POST("/signup", d.signup)
	g.GET("/signup/slug", d.slugCheck)

	in := g.Group("", d.requireLogin)
	in.GET("/", d.root)
	in.GET("/stores", d.stores)
	st := in.Group("/store/:slug", d.member)
	st.GET("", d.home)
	st.GET("/products", d.allow("products", "read"), d.products)
	st.POST("/products/:id/status", d.allow("products", "write"), d.setProductStatus)
	st.GET("/orders", d.allow("orders", "read"), d.orders)
	st.GET("/orders/:id", d.allow("orders", "read"), d.order)
	st.POST("/orders/:id/paid", d.allow("orders", "write"), d.markOrderPaid)
	st.POST("/orders/:id/fulfil", d.allow("fulfillments", "write"), d.fulfilOrder)
	st.POST("/orders/:id/cancel", d.allow("orders", "write"), d.cancelOrder)
}

// secure says whether cookies must be HTTPS-only: when the fleet's base URL
// is https.
func (d *Dashboard) secure() bool { return d.cfg.URLs.Scheme == "https" }

// noStore keeps every dashboard page out of shared caches: they are one
// merchant's.
func (d *Dashboard) noStore(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.Header("X-Frame-Options", "DENY")
	c.Header("Referrer-Policy", "same-origin")
	c.Next()
}

// csrf gives every visitor a csrf cookie and refuses a post without the
// token its cookies call for: 403 and nothing done. It runs before the
// session is renewed, so a post is checked against the refresh cookie the
// page was rendered with.
func (d *Dashboard) csrf(c *gin.Context) {
	d.guard.Ensure(c.Writer, c.Request, d.secure())
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	if !d.guard.Check(c.Request, csrfScope, cookieValue(c.Request, refreshCookie), c.PostForm(csrfField)) {
		d.fail(c, http.StatusForbidden, "Please try again",
			"For your security, this form was not accepted: it did not carry the security code of the page it was sent from. "+
				"This happens when a page was open for a long time, after logging in or out in another tab, or when another website "+
				"tried to send the form for you. Go back, reload the page, and send the form again.")
		return
	}
	c.Next()
}

// csrfToken is the token for the forms of the page being rendered, bound to
// the session as this response leaves it (renewed or not).
func (d *Dashboard) csrfToken(c *gin.Context) string {
	refresh := cookieValue(c.Request, refreshCookie)
	if v, ok := c.Get(ctxRefresh); ok {
		refresh = v.(string)
	}
	return d.guard.Token(c.Request, csrfScope, refresh)
}

func cookieValue(r *http.Request, name string) string {
	if ck, err := r.Cookie(name); err == nil {
		return ck.Value
	}
	return ""
}
