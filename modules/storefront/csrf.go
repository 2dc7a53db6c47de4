package storefront

import (
	"crypto/hmac"
	"crypto/sha256"
	"html"
	"net/http"
	"net/url"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/csrf"
	"github.com/storefleet/storefleet/tenant"
)

// Cross-site request forgery protection for the forms that change a
// customer's account: log in, register, recover and reset a password, log
// out, the address book — every POST under /account. The mechanism is
// internal/csrf's, shared with the dashboard.
//
// The choice: a double-submitted token bound to the session. Every shopper
// who opens an account page gets a random csrf cookie (HttpOnly,
// SameSite=Lax, so nothing is kept on any one server). The token the
// {% form %} tag puts in each POST form as authenticity_token is an HMAC,
// under a key derived from the cart key, of the store, that cookie and the
// customer's session cookie. A post is accepted when its token matches the
// one its own cookies give. Another site can make a browser post, but it
// can read neither cookie nor the page, so it cannot know the token; and a
// token taken from one shopper's page (or another store's) is worth nothing
// with another shopper's cookies. Binding the customer cookie in means that
// even a csrf cookie planted from a sibling subdomain does not give an
// attacker a logged-in customer's token.
//
// A browser that says the post comes from the store's own pages
// (Sec-Fetch-Site: same-origin, which no page can forge) is let through
// without a token, so that a Shopify theme's own scripts that post without
// one (Shopify.postLink for deleting an address) keep working.
//
// Cart posts are not checked, as on Shopify: themes and AJAX scripts post
// them without tokens, and the cart cookie is SameSite=Lax, so another
// site's post reaches no cart.
//
// Account pages are never in the page cache: the middleware gives a
// shopper without a csrf cookie one before the page renders, so the
// request carries a cookie and is rendered for that shopper alone.

const (
	csrfCookie = "csrf"
	// csrfField is the form field the token travels in, as Rails names it.
	csrfField = "authenticity_token"
)

// csrfMAC keys the tokens, apart from the cart and customer cookies' MACs.
func (h *Handler) csrfMAC() []byte {
	key := hmac.New(sha256.New, h.cartKey)
	key.Write([]byte("csrf token"))
	return key.Sum(nil)
}

// csrfGuard is the storefront's guard (internal/csrf): the csrf cookie, the
// authenticity_token field, and the browser's word for the store's own
// scripts.
func (h *Handler) csrfGuard() *csrf.Guard {
	g := csrf.New(h.csrfMAC(), csrfCookie, csrfField, customerTTL)
	g.SameOrigin = true
	return g
}

// csrfSession is what a token is bound to besides the csrf cookie: the
// customer's session cookie.
func csrfSession(r *http.Request) string {
	if ck, err := r.Cookie(customerCookie); err == nil {
		return ck.Value
	}
	return ""
}

// csrfToken is the token that the request's cookies call for in store t's
// forms; "" when the request has neither a csrf nor a customer cookie
// (nothing to bind a token to: such a page is the same for everyone, and
// may be cached).
func (h *Handler) csrfToken(r *http.Request, t *tenant.Tenant) string {
	return h.csrfGuard().Token(r, strconv.FormatInt(int64(t.ID), 10), csrfSession(r))
}

// csrf guards the account routes: it gives a shopper without a csrf cookie
// one (and puts it in the request, so that the page rendered now carries
// the matching token), and refuses a post without the right token with a
// 403 page that says what to do.
func (h *Handler) csrf(c *gin.Context) {
	t := tenant.FromContext(c.Request.Context())
	if t == nil {
		c.Next()
		return
	}
	g := h.csrfGuard()
	g.Ensure(c.Writer, c.Request, c.Request.TLS != nil)
	switch c.Request.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		c.Next()
		return
	}
	if !g.Check(c.Request, strconv.FormatInt(int64(t.ID), 10), csrfSession(c.Request), c.PostForm(csrfField)) {
		noStore(c)
		c.Data(http.StatusForbidden, "text/html; charset=utf-8", []byte(csrfPage))
		c.Abort()
		return
	}
	c.Next()
}

const csrfPage = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Please try again</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head>
<body><main><h1>Please try again</h1><p>For your security, this form was not accepted: it did not carry the security code of the page
it was sent from. This happens when a page was open for a long time, after logging in or out in another tab, or when another
website tried to send the form for you.</p><p>Go back, reload the page, and send the form again; or go to <a href="/account/login">your account</a>.</p></main></body></html>`

// sameOriginNavigation says whether the browser reports that a GET comes
// from the store's own pages or from the shopper (a typed address, a
// bookmark), not from another site.
func sameOriginNavigation(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	}
	if ref, err := url.Parse(r.Referer()); err == nil && ref.Host != "" && ref.Host == r.Host {
		return true
	}
	return false
}

// logoutPage asks to confirm a logout reached from outside the store: a
// link on another site must not log the customer out.
func logoutPage(token string) []byte {
	return []byte(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>Log out</title><style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}</style></head>
<body><main><h1>Log out?</h1><form method="post" action="/account/logout"><input type="hidden" name="` + csrfField + `" value="` +
		html.EscapeString(token) + `"><button type="submit">Log out</button> <a href="/account">Stay logged in</a></form></main></body></html>`)
}
