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
// templates/, mounted in Routes under the store group (reads behind
// d.allow(obj, "read"), changes behind d.change(obj, "what it does"), which
// names them in the store's audit log, audit.go), and a menu entry in menu
// (member.go) naming the casbin object it needs.
package dashboard

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
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
	"github.com/storefleet/storefleet/themes"
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
	g.GET("/invitations/:token", d.invitation)
	g.POST("/invitations/:token", d.acceptInvitation)
	g.GET("/password/forgot", d.forgotPage)
	g.POST("/password/forgot", d.forgot)
	g.GET("/password/reset/:token", d.resetPage)
	g.POST("/password/reset/:token", d.reset)
	g.GET("/verify/:token", d.verifyLink)
	g.GET("/verify", d.requireLogin, d.verifyPage)
	g.POST("/verify/resend", d.requireLogin, d.resendVerification)

	in := g.Group("", d.requireLogin)
	in.GET("/", d.root)
	in.GET("/stores", d.stores)
	st := in.Group("/store/:slug", d.member, d.audit)
	// Home.
	st.GET("", d.home)
	// Orders.
	st.GET("/orders", d.allow("orders", "read"), d.orders)
	st.GET("/orders/:id", d.allow("orders", "read"), d.order)
	st.POST("/orders/:id/paid", d.change("orders", "Marked an order as paid"), d.markOrderPaid)
	st.POST("/orders/:id/fulfil", d.change("fulfillments", "Fulfilled an order"), d.fulfilOrder)
	st.POST("/orders/:id/cancel", d.change("orders", "Cancelled an order"), d.cancelOrder)
	st.POST("/orders/:id/refund", d.change("orders", "Refunded an order"), d.refundOrder)
	// Products.
	st.GET("/products", d.allow("products", "read"), d.products)
	st.POST("/products/:id/status", d.change("products", "Changed a product's status"), d.setProductStatus)
	st.GET("/products/new", d.allow("products", "write"), d.newProduct)
	st.POST("/products/new", d.change("products", "Created a product"), d.createProduct)
	st.GET("/products/export", d.allow("products", "read"), d.exportProducts)
	st.GET("/products/import", d.allow("products", "read"), d.importProductsPage)
	st.POST("/products/import", d.change("products", "Started a product import"), d.importProducts)
	st.GET("/products/imports/:id", d.allow("products", "read"), d.productImport)
	st.GET("/products/:id", d.allow("products", "read"), d.product)
	st.POST("/products/:id", d.change("products", "Edited a product"), d.updateProduct)
	st.GET("/products/:id/delete", d.allow("products", "write"), d.deleteProductPage)
	st.POST("/products/:id/delete", d.change("products", "Deleted a product"), d.deleteProduct)
	st.POST("/products/:id/images", d.change("products", "Added a product picture"), d.addProductImage)
	st.POST("/products/:id/images/:image/delete", d.change("products", "Deleted a product picture"), d.deleteProductImage)
	st.POST("/products/:id/stock", d.change("inventory", "Set a product's stock"), d.setProductStock)
	// Customers.
	st.GET("/customers", d.allow("customers", "read"), d.customers)
	st.GET("/customers/:id", d.allow("customers", "read"), d.customer)
	st.POST("/customers/:id", d.change("customers", "Edited a customer's note and tags"), d.updateCustomer)
	// Discounts.
	st.GET("/discounts", d.allow("discounts", "read"), d.discounts)
	st.POST("/discounts", d.change("discounts", "Created a discount"), d.createDiscount)
	st.POST("/discounts/:id/disable", d.change("discounts", "Disabled a discount"), d.disableDiscount)
	st.POST("/discounts/:id/delete", d.change("discounts", "Deleted a discount"), d.deleteDiscount)
	// Online store: themes, pages, navigation.
	st.GET("/themes", d.allow("themes", "read"), d.themesList)
	st.POST("/themes", d.change("themes", "Added a theme"), d.addTheme)
	st.POST("/themes/upload", d.change("themes", "Uploaded a theme"), d.uploadTheme)
	st.POST("/themes/:id/publish", d.change("themes", "Published a theme"), d.publishTheme)
	st.POST("/themes/:id/delete", d.change("themes", "Deleted a theme"), d.deleteTheme)
	st.GET("/themes/:id/settings", d.allow("themes", "read"), d.themeSettings)
	st.POST("/themes/:id/settings", d.change("themes", "Customised a theme"), d.saveThemeSettings)
	st.GET("/themes/:id/files", d.allow("themes", "read"), d.themeFiles)
	st.POST("/themes/:id/files", d.change("themes", "Edited a theme file"), d.saveThemeFile)
	st.POST("/themes/:id/files/new", d.change("themes", "Added a theme file"), d.createThemeFile)
	st.POST("/themes/:id/files/delete", d.change("themes", "Deleted a theme file"), d.deleteThemeFile)
	st.GET("/pages", d.allow("content", "read"), d.contentPages)
	st.GET("/pages/new", d.allow("content", "write"), d.newContentPage)
	st.POST("/pages", d.change("content", "Created a page"), d.createContentPage)
	st.GET("/pages/:id", d.allow("content", "read"), d.contentPage)
	st.POST("/pages/:id", d.change("content", "Edited a page"), d.updateContentPage)
	st.POST("/pages/:id/delete", d.change("content", "Deleted a page"), d.deleteContentPage)
	st.GET("/menus", d.allow("content", "read"), d.navMenus)
	st.POST("/menus", d.change("content", "Created a menu"), d.createNavMenu)
	st.GET("/menus/:id", d.allow("content", "read"), d.navMenu)
	st.POST("/menus/:id", d.change("content", "Edited a menu"), d.updateNavMenu)
	st.POST("/menus/:id/delete", d.change("content", "Deleted a menu"), d.deleteNavMenu)
	// Apps and API.
	st.GET("/apps", d.allow(appsObj, "read"), d.apps)
	st.POST("/apps", d.change(appsObj, "Created an API access token"), d.createToken)
	st.GET("/apps/:token", d.allow(appsObj, "read"), d.app)
	st.POST("/apps/:token/revoke", d.change(appsObj, "Revoked an API access token"), d.revokeToken)
	st.POST("/apps/:token/webhooks", d.change(appsObj, "Added a webhook subscription"), d.createWebhook)
	st.GET("/apps/:token/webhooks/:id", d.allow(appsObj, "read"), d.webhookLog)
	st.POST("/apps/:token/webhooks/:id/delete", d.change(appsObj, "Deleted a webhook subscription"), d.deleteWebhook)
	st.POST("/apps/:token/webhooks/:id/enable", d.change(appsObj, "Turned a webhook subscription back on"), d.enableWebhook)
	st.POST("/apps/:token/webhooks/:id/replay", d.change(appsObj, "Replayed webhook deliveries"), d.replayWebhook)
	// Staff: its service writes its own audit entries.
	st.GET("/staff", d.allow("staff", "read"), d.staff)
	st.POST("/staff/invitations", d.allow("staff", "write"), d.inviteStaff)
	st.POST("/staff/invitations/:id/resend", d.allow("staff", "write"), d.resendInvitation)
	st.POST("/staff/invitations/:id/revoke", d.allow("staff", "write"), d.revokeInvitation)
	st.GET("/staff/members/:id", d.allow("staff", "read"), d.staffMember)
	st.POST("/staff/members/:id/role", d.allow("staff", "write"), d.changeStaffRole)
	st.POST("/staff/members/:id/remove", d.allow("staff", "write"), d.removeStaff)
	st.POST("/staff/members/:id/transfer", d.allow("staff", "write"), d.transferOwnership)
	st.GET("/staff/roles", d.allow("staff", "read"), d.staffRoles)
	st.POST("/staff/roles", d.allow("staff", "write"), d.createStaffRole)
	st.POST("/staff/roles/:id/delete", d.allow("staff", "write"), d.deleteStaffRole)
	st.GET("/staff/audit", d.requireStaffWrite, d.auditLog)
	// Settings.
	st.GET("/settings", d.allow("shop", "read"), d.settings)
	st.GET("/settings/store", d.allow("shop", "read"), d.settingsStore)
	st.POST("/settings/store", d.change("shop", "Changed the store's details"), d.saveStore)
	st.GET("/settings/shipping", d.allow("shipping", "read"), d.settingsShipping)
	st.POST("/settings/shipping/zones", d.change("shipping", "Added a shipping zone"), d.createShippingZone)
	st.GET("/settings/shipping/zones/:id", d.allow("shipping", "read"), d.settingsZone)
	st.POST("/settings/shipping/zones/:id", d.change("shipping", "Edited a shipping zone"), d.updateShippingZone)
	st.POST("/settings/shipping/zones/:id/delete", d.change("shipping", "Deleted a shipping zone"), d.deleteShippingZone)
	st.POST("/settings/shipping/zones/:id/rates", d.change("shipping", "Added a shipping rate"), d.addShippingRate)
	st.POST("/settings/shipping/zones/:id/rates/:rate/delete", d.change("shipping", "Deleted a shipping rate"), d.deleteShippingRate)
	st.GET("/settings/taxes", d.allow("shipping", "read"), d.settingsTaxes)
	st.POST("/settings/taxes", d.change("shipping", "Added a tax country"), d.createTaxCountry)
	st.GET("/settings/taxes/:id", d.allow("shipping", "read"), d.settingsTaxCountry)
	st.POST("/settings/taxes/:id", d.change("shipping", "Changed a country's tax rate"), d.updateTaxCountry)
	st.POST("/settings/taxes/:id/delete", d.change("shipping", "Deleted a tax country"), d.deleteTaxCountry)
	st.POST("/settings/taxes/:id/provinces/:province", d.change("shipping", "Changed a province's tax rate"), d.updateTaxProvince)
	st.GET("/settings/payments", d.allow("shop", "read"), d.settingsPayments)
	st.POST("/settings/payments/methods/:method", d.change("shop", "Changed a payment method"), d.updatePaymentMethod)
	st.POST("/settings/payments/stripe", d.change("shop", "Started connecting Stripe"), d.connectStripe)
	st.GET("/settings/notifications", d.allow("shop", "read"), d.settingsNotifications)
	st.GET("/settings/notifications/:kind", d.allow("shop", "read"), d.settingsNotification)
	st.POST("/settings/notifications/:kind", d.change("shop", "Edited an email template"), d.saveNotification)
	st.POST("/settings/notifications/:kind/reset", d.change("shop", "Reset an email template"), d.resetNotification)
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
	if !d.readForm(c) {
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

// Form size limits: an upload (a theme's zip, the largest thing posted)
// may be large, any other form is small. Beyond them the body is not read.
const (
	maxFormBytes   = 1 << 20
	maxUploadBytes = themes.MaxThemeBytes + 1<<20
	// uploadMemory is how much of an upload is kept in memory; the rest
	// goes to temporary files, removed when the request ends.
	uploadMemory = 8 << 20
)

// readForm reads a posted form within its size limit, answering 413 or 400
// itself (and returning false) when it cannot: a person is told what to
// change, rather than that their form lacked its security code.
func (d *Dashboard) readForm(c *gin.Context) bool {
	var err error
	if strings.HasPrefix(c.ContentType(), "multipart/") {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxUploadBytes)
		err = c.Request.ParseMultipartForm(uploadMemory)
	} else {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxFormBytes)
		err = c.Request.ParseForm()
	}
	var tooBig *http.MaxBytesError
	switch {
	case err == nil:
		return true
	case errors.As(err, &tooBig):
		limit := maxFormBytes
		if strings.HasPrefix(c.ContentType(), "multipart/") {
			limit = maxUploadBytes
		}
		d.fail(c, http.StatusRequestEntityTooLarge, "Too large",
			fmt.Sprintf("What you sent is larger than the %d MB this form takes. Send a smaller file, or split it.", limit>>20))
	default:
		d.fail(c, http.StatusBadRequest, "The form could not be read",
			"The form arrived incomplete or garbled. Go back, reload the page, and send it again.")
	}
	return false
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
