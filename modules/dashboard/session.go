package dashboard

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/ratelimit"
	"github.com/storefleet/storefleet/internal/web"
	"github.com/storefleet/storefleet/tenant"
)

// Sessions. A logged-in merchant holds two cookies: the access JWT in
// sf_session, checked without a lookup on every request and lasting
// SESSION_TTL (15 minutes by default), and a refresh token in sf_refresh,
// lasting RefreshTTL. When the access token has run out, the session
// middleware spends the refresh token for a new pair (tenant.UseRefresh:
// single use, so a stolen copy used after its owner ends every session of
// the account). Both cookies are HttpOnly and SameSite=Lax, and Secure when
// the fleet is served over HTTPS.

// Context keys.
const (
	ctxAccount = "dashboard.account" // tenant.AccountID of the session
	ctxRefresh = "dashboard.refresh" // the refresh token this response leaves the browser with
)

// session reads the visitor's session: a valid access cookie, or else a
// refresh cookie spent for a new session. A visitor without either goes on
// anonymous; one whose refresh cookie is refused has both cookies cleared.
func (d *Dashboard) session(c *gin.Context) {
	if tok := cookieValue(c.Request, accessCookie); tok != "" {
		if s, err := d.cfg.Sessions.Check(tok); err == nil {
			d.setAccount(c, tenant.AccountID(s.Account))
			c.Next()
			return
		}
	}
	refresh := cookieValue(c.Request, refreshCookie)
	if refresh == "" {
		c.Next()
		return
	}
	account, next, expires, err := d.cfg.DB.UseRefresh(c.Request.Context(), refresh, RefreshTTL)
	switch {
	case errs.Is(err, errs.Unauthenticated):
		d.clearSession(c)
		c.Next()
		return
	case err != nil:
		d.failErr(c, err)
		return
	}
	if err := d.startSession(c, account, next, expires); err != nil {
		d.failErr(c, err)
		return
	}
	c.Next()
}

func (d *Dashboard) setAccount(c *gin.Context, id tenant.AccountID) {
	c.Set(ctxAccount, id)
	web.AddLogAttrs(c.Request.Context(), slog.Int64("account", int64(id)))
}

// accountOf is the logged-in account, or 0.
func accountOf(c *gin.Context) tenant.AccountID {
	id, _ := c.Get(ctxAccount)
	a, _ := id.(tenant.AccountID)
	return a
}

// startSession gives the browser a new access token for account and the
// refresh token that goes with it.
func (d *Dashboard) startSession(c *gin.Context, account tenant.AccountID, refresh string, expires time.Time) error {
	tok, sess, err := d.cfg.Sessions.Issue(int64(account))
	if err != nil {
		return err
	}
	d.setCookie(c, accessCookie, tok, time.Until(sess.Expires))
	d.setCookie(c, refreshCookie, refresh, time.Until(expires))
	c.Set(ctxRefresh, refresh)
	d.setAccount(c, account)
	return nil
}

// clearSession removes both session cookies.
func (d *Dashboard) clearSession(c *gin.Context) {
	d.setCookie(c, accessCookie, "", -1)
	d.setCookie(c, refreshCookie, "", -1)
	c.Set(ctxRefresh, "")
	c.Set(ctxAccount, tenant.AccountID(0))
}

func (d *Dashboard) setCookie(c *gin.Context, name, value string, ttl time.Duration) {
	maxAge := int(ttl.Seconds())
	if ttl < 0 {
		maxAge = -1
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: d.secure(), SameSite: http.SameSiteLaxMode})
}

// requireLogin sends a visitor without a session to the login page, to come
// back here after.
func (d *Dashboard) requireLogin(c *gin.Context) {
	if accountOf(c) != 0 {
		c.Next()
		return
	}
	next := ""
	if c.Request.Method == http.MethodGet && c.Request.URL.Path != "/" {
		next = "?next=" + url.QueryEscape(c.Request.URL.RequestURI())
	}
	c.Redirect(http.StatusSeeOther, "/login"+next)
	c.Abort()
}

// safeNext is where to go after logging in: next when it is a path on the
// dashboard's own host, "" otherwise. "//evil.example" and "/\evil.example"
// are other hosts to a browser, and so are refused.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, `/\`) ||
		strings.ContainsAny(next, "\r\n\t\\") || len(next) > 2000 {
		return ""
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return ""
	}
	return next
}

type loginForm struct {
	Email string
	Next  string
	Error string
}

func (d *Dashboard) loginPage(c *gin.Context) {
	next := safeNext(c.Query("next"))
	if accountOf(c) != 0 {
		c.Redirect(http.StatusSeeOther, or(next, "/"))
		return
	}
	d.render(c, http.StatusOK, "login", "Log in", loginForm{Next: next})
}

// login checks an email and password, throttled per email and per address,
// and starts a session.
func (d *Dashboard) login(c *gin.Context) {
	form := loginForm{Email: strings.TrimSpace(c.PostForm("email")), Next: safeNext(c.PostForm("next"))}
	if wait, ok := d.throttle(c, form.Email); !ok {
		c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		d.fail(c, http.StatusTooManyRequests, "Too many attempts",
			fmt.Sprintf("There were too many attempts to log in. For your account's safety, please wait %s and try again.", humanWait(wait)))
		return
	}
	acct, err := d.cfg.DB.LogIn(c.Request.Context(), form.Email, c.PostForm("password"))
	if errors.Is(err, tenant.ErrBadLogin) {
		form.Error = "The email or password is not right."
		d.render(c, http.StatusUnauthorized, "login", "Log in", form)
		return
	}
	if err != nil {
		d.failErr(c, err)
		return
	}
	if err := d.beginSession(c, acct.ID); err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, or(form.Next, "/"))
}

// beginSession starts a fresh session of account (after a login or a sign-up).
func (d *Dashboard) beginSession(c *gin.Context, account tenant.AccountID) error {
	refresh, expires, err := d.cfg.DB.IssueRefresh(c.Request.Context(), account, RefreshTTL)
	if err != nil {
		return err
	}
	return d.startSession(c, account, refresh, expires)
}

// throttle pours a login attempt into the email's and the address's
// buckets; it returns false, with how long to wait, when either is full.
// With Redis down, logins go through (and are logged): an outage must not
// lock every merchant out.
func (d *Dashboard) throttle(c *gin.Context, email string) (time.Duration, bool) {
	ctx := c.Request.Context()
	ip := clientIP(c.Request)
	for _, b := range []struct {
		key    string
		bucket ratelimit.Bucket
	}{
		{"dashboard-login:email:" + strings.ToLower(email), d.cfg.LoginPerEmail},
		{"dashboard-login:ip:" + ip, d.cfg.LoginPerIP},
	} {
		res, err := d.cfg.Limiter.Take(ctx, b.key, b.bucket)
		if err != nil {
			d.cfg.Log.WarnContext(ctx, "login throttle unavailable; letting the attempt through", "err", err)
			return 0, true
		}
		if !res.Allowed {
			return res.RetryAfter, false
		}
	}
	return 0, true
}

// clientIP is the address the request came from: the connection's peer.
// Forwarding headers are not trusted here, since any client can send them.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func humanWait(d time.Duration) string {
	s := int(math.Ceil(d.Seconds()))
	switch {
	case s <= 1:
		return "a second"
	case s < 60:
		return fmt.Sprintf("%d seconds", s)
	case s < 120:
		return "a minute"
	}
	return fmt.Sprintf("%d minutes", (s+59)/60)
}

// logout ends the session: its refresh token is revoked, both cookies
// cleared.
func (d *Dashboard) logout(c *gin.Context) {
	if refresh := cookieValue(c.Request, refreshCookie); refresh != "" {
		if err := d.cfg.DB.RevokeRefresh(c.Request.Context(), refresh); err != nil {
			d.failErr(c, err)
			return
		}
	}
	d.clearSession(c)
	c.Redirect(http.StatusSeeOther, "/login?out=1")
}

func or(s, fallback string) string {
	if s == "" {
		return fallback
	}
	return s
}
