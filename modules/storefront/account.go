package storefront

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/modules/customers"
	"github.com/storefleet/storefleet/tenant"
	"github.com/storefleet/storefleet/themes"
)

// Customer accounts on the storefront: register, log in and out, see the
// account. A logged-in customer holds a signed cookie naming the store and
// the customer, valid for 30 days.

const (
	customerCookie = "customer"
	customerTTL    = 30 * 24 * time.Hour
)

// accountRoutes mounts /account and its pages, every one behind the CSRF
// check (see csrf.go).
func (h *Handler) accountRoutes(r gin.IRouter) {
	a := r.Group("/account", h.csrf)
	a.GET("", h.page(h.account))
	a.POST("", h.register)
	a.GET("/login", h.page(h.loginPage(nil)))
	a.POST("/login", h.login)
	a.GET("/register", h.page(h.registerPage(nil)))
	a.GET("/logout", h.logout)
	a.POST("/logout", h.logout)
	a.GET("/orders/:token", h.page(h.accountOrder))
	a.POST("/recover", h.recover)
	a.GET("/reset/:id/:token", h.resetPage)
	a.GET("/addresses", h.page(h.addresses(nil)))
	a.POST("/addresses", h.addressWrite)
	a.POST("/addresses/:id", h.addressWrite)
}

// sealCustomer and customerFromCookie sign "<store>.<customer>.<expiry>"
// under a key of its own, derived from the cart key.
func (h *Handler) customerMAC(payload string) string {
	key := hmac.New(sha256.New, h.cartKey)
	key.Write([]byte("customer session"))
	m := hmac.New(sha256.New, key.Sum(nil))
	m.Write([]byte(payload))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18])
}

func (h *Handler) setCustomerCookie(c *gin.Context, t *tenant.Tenant, id int64) {
	payload := fmt.Sprintf("%d.%d.%d", t.ID, id, time.Now().Add(customerTTL).Unix())
	http.SetCookie(c.Writer, &http.Cookie{Name: customerCookie, Value: payload + "." + h.customerMAC(payload), Path: "/",
		MaxAge: int(customerTTL.Seconds()), HttpOnly: true, Secure: c.Request.TLS != nil, SameSite: http.SameSiteLaxMode})
}

// customerFromCookie returns the logged-in customer's id, 0 for none.
func (h *Handler) customerFromCookie(r *http.Request, t *tenant.Tenant) int64 {
	ck, err := r.Cookie(customerCookie)
	if err != nil {
		return 0
	}
	i := strings.LastIndexByte(ck.Value, '.')
	if i < 0 || !hmac.Equal([]byte(h.customerMAC(ck.Value[:i])), []byte(ck.Value[i+1:])) {
		return 0
	}
	parts := strings.Split(ck.Value[:i], ".")
	if len(parts) != 3 {
		return 0
	}
	store, _ := strconv.ParseInt(parts[0], 10, 64)
	id, _ := strconv.ParseInt(parts[1], 10, 64)
	exp, _ := strconv.ParseInt(parts[2], 10, 64)
	if tenant.ID(store) != t.ID || time.Now().Unix() > exp {
		return 0
	}
	return id
}

// account is /account: the logged-in customer's details and order
// history (customer.orders, a page at a time).
func (h *Handler) account(c *gin.Context, v *view) error {
	cu, id := viewCustomer(v)
	if cu == nil {
		return redirectToLogin(c)
	}
	noStore(c) // one customer's page: no shared cache may keep it
	if err := fillCustomerOrders(v.tx, cu, id); err != nil {
		return err
	}
	v.opts.CSRFToken = h.csrfToken(c.Request, v.store)
	v.template = "customers/account"
	v.vars["page_title"] = "Your account – " + v.shop.Name
	v.vars["request"].(map[string]any)["page_type"] = "customers/account"
	return nil
}

// errRedirected says a page answered with a redirect instead of rendering.
var errRedirected = errs.E(errs.Malformed, "redirected")

func (h *Handler) loginPage(form *themes.FormResult) func(*gin.Context, *view) error {
	return func(c *gin.Context, v *view) error {
		v.template = "customers/login"
		v.vars["page_title"] = "Log in – " + v.shop.Name
		v.vars["request"].(map[string]any)["page_type"] = "customers/login"
		v.opts.Form = form
		v.opts.CSRFToken = h.csrfToken(c.Request, v.store)
		return nil
	}
}

func (h *Handler) registerPage(form *themes.FormResult) func(*gin.Context, *view) error {
	return func(c *gin.Context, v *view) error {
		v.template = "customers/register"
		v.vars["page_title"] = "Create account – " + v.shop.Name
		v.vars["request"].(map[string]any)["page_type"] = "customers/register"
		v.opts.Form = form
		v.opts.CSRFToken = h.csrfToken(c.Request, v.store)
		return nil
	}
}

// login checks a posted email and password; a failure shows the form again
// with the email kept and one message that does not say which was wrong.
func (h *Handler) login(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	email, password := c.PostForm("customer[email]"), c.PostForm("customer[password]")
	cu, err := customers.NewService(h.db).Login(c.Request.Context(), t, email, password)
	if errs.Is(err, errs.Unauthenticated) {
		h.page(h.loginPage(&themes.FormResult{Type: "customer_login", Errors: map[string]string{"form": errs.MessageOf(err)},
			Values: map[string]string{"email": email}}))(c)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.setCustomerCookie(c, t, cu.ID)
	c.Redirect(http.StatusSeeOther, "/account")
}

// register makes an account from the posted form and logs it in. The
// reset form posts here too (Shopify's form tag sends both to /account).
func (h *Handler) register(c *gin.Context) {
	if c.PostForm("form_type") == "reset_customer_password" {
		h.reset(c)
		return
	}
	t := tenant.FromContext(c.Request.Context())
	form := map[string]string{}
	for _, k := range []string{"email", "password", "first_name", "last_name"} {
		form[k] = c.PostForm("customer[" + k + "]")
	}
	cu, err := customers.NewService(h.db).Register(c.Request.Context(), t, form["email"], form["password"], form["first_name"], form["last_name"])
	if errs.Is(err, errs.Invalid) {
		problems := map[string]string{}
		for field, msgs := range errs.FieldsOf(err) {
			problems[field] = strings.Join(msgs, "; ")
		}
		delete(form, "password")
		h.page(h.registerPage(&themes.FormResult{Type: "create_customer", Errors: problems, Values: form}))(c)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.setCustomerCookie(c, t, cu.ID)
	c.Redirect(http.StatusSeeOther, "/account")
}

// logout ends the customer's session: a POST (its token checked by the
// csrf middleware), or a GET from the store's own pages, where themes link
// to routes.account_logout_url. A GET from anywhere else gets a page
// asking to confirm, so that another site cannot log customers out.
func (h *Handler) logout(c *gin.Context) {
	if c.Request.Method == http.MethodGet && !sameOriginNavigation(c.Request) {
		noStore(c)
		c.Data(http.StatusOK, "text/html; charset=utf-8", logoutPage(h.csrfToken(c.Request, tenant.FromContext(c.Request.Context()))))
		return
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: customerCookie, Value: "", Path: "/", MaxAge: -1})
	c.Redirect(http.StatusSeeOther, "/")
}

// toCustomerObject renders a customer for themes: every text is the
// shopper's own, so untrusted.
func toCustomerObject(cu customers.Customer) map[string]any {
	name := strings.TrimSpace(cu.FirstName + " " + cu.LastName)
	out := map[string]any{"id": cu.ID, "first_name": untrusted(cu.FirstName), "last_name": untrusted(cu.LastName),
		"name": untrusted(name), "email": untrusted(cu.Email), "orders": []any{}, "orders_count": 0,
		"accepts_marketing": cu.AcceptsMarketing}
	var addrs []any
	for _, a := range cu.Addresses {
		o := toAddressObject(a)
		addrs = append(addrs, o)
		if a.Default {
			out["default_address"] = o
		}
	}
	out["addresses"] = addrs
	out["addresses_count"] = len(addrs)
	// The object {% form 'customer_address', customer.new_address %} fills.
	out["new_address"] = map[string]any{"id": nil}
	return out
}

// recover asks for a reset link for the posted email; the page says the
// same whether or not the email has an account.
func (h *Handler) recover(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	email := c.PostForm("email")
	if err := customers.NewService(h.db).StartReset(c.Request.Context(), t, email, h.urls.Store(t.Slug)); err != nil {
		h.fail(c, err)
		return
	}
	h.page(h.loginPage(&themes.FormResult{Type: "recover_customer_password", PostedSuccessfully: true}))(c)
}

// resetPage shows the form to choose a new password, for a live link.
func (h *Handler) resetPage(c *gin.Context) {
	h.page(h.resetForm(nil))(c)
}

func (h *Handler) resetForm(form *themes.FormResult) func(*gin.Context, *view) error {
	return func(c *gin.Context, v *view) error {
		id, _ := strconv.ParseInt(c.Param("id"), 10, 64)
		token := c.Param("token")
		if id == 0 {
			id, _ = strconv.ParseInt(c.PostForm("customer_id"), 10, 64)
			token = c.PostForm("token")
		}
		if form == nil {
			if err := customers.NewService(h.db).CheckReset(c.Request.Context(), v.store, id, token); err != nil {
				form = &themes.FormResult{Type: "reset_customer_password", Errors: map[string]string{"form": errs.FieldsOf(err)["form"][0]}}
			}
		}
		v.template = "customers/reset_password"
		v.vars["reset"] = map[string]any{"customer_id": id, "token": untrusted(token)}
		v.vars["page_title"] = "Reset your password – " + v.shop.Name
		v.vars["request"].(map[string]any)["page_type"] = "customers/reset_password"
		v.opts.Form = form
		v.opts.CSRFToken = h.csrfToken(c.Request, v.store)
		return nil
	}
}

// reset sets the new password from the reset form and logs the customer in.
func (h *Handler) reset(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	id, _ := strconv.ParseInt(c.PostForm("customer_id"), 10, 64)
	password := c.PostForm("customer[password]")
	if confirm := c.PostForm("customer[password_confirmation]"); confirm != password {
		h.page(h.resetForm(&themes.FormResult{Type: "reset_customer_password",
			Errors: map[string]string{"password_confirmation": "does not match the password"}}))(c)
		return
	}
	cu, err := customers.NewService(h.db).Reset(c.Request.Context(), t, id, c.PostForm("token"), password)
	if errs.Is(err, errs.Invalid) {
		problems := map[string]string{}
		for field, msgs := range errs.FieldsOf(err) {
			problems[field] = strings.Join(msgs, "; ")
		}
		h.page(h.resetForm(&themes.FormResult{Type: "reset_customer_password", Errors: problems}))(c)
		return
	}
	if err != nil {
		h.fail(c, err)
		return
	}
	h.setCustomerCookie(c, t, cu.ID)
	c.Redirect(http.StatusSeeOther, "/account")
}
