package dashboard

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/storefleet/storefleet/internal/errs"
	"github.com/storefleet/storefleet/internal/ratelimit"
)

// A merchant's own account emails: the forgotten password (/password/forgot
// emails a link to /password/reset/{token}, which sets a new password and
// ends every session of the account) and the email's verification (the
// link /verify/{token} sent after sign-up; /verify says whether the email
// is verified and resends the link). The emails go through the platform
// outbox (tenant.StartPasswordReset, tenant.StartVerification). Asking for
// a reset answers the same whether or not the email has an account, and
// both requests are throttled like logins.

type forgotForm struct {
	Email string
	Sent  bool
}

type resetForm struct {
	Token   string
	Error   string
	Expired bool
	Done    bool
}

type verifyData struct {
	State    string // "verified" (a link just used), "expired", or "" (the status page)
	Verified bool   // the logged-in account's email is verified
	Sent     bool   // a new link was just sent
}

func (d *Dashboard) forgotPage(c *gin.Context) {
	d.render(c, http.StatusOK, "password_forgot", "Forgot your password", forgotForm{})
}

// forgot emails a reset link to the account of the posted email, if there
// is one; the page says the same either way.
func (d *Dashboard) forgot(c *gin.Context) {
	form := forgotForm{Email: strings.TrimSpace(c.PostForm("email"))}
	if !d.throttleAccountEmail(c, "dashboard-forgot:email:"+strings.ToLower(form.Email), "dashboard-forgot:ip:"+clientIP(c.Request)) {
		return
	}
	if err := d.cfg.DB.StartPasswordReset(c.Request.Context(), form.Email, d.cfg.URLs.Dashboard()); err != nil {
		d.failErr(c, err)
		return
	}
	form.Sent = true
	d.render(c, http.StatusOK, "password_forgot", "Forgot your password", form)
}

// resetPage shows the new-password form for a live link.
func (d *Dashboard) resetPage(c *gin.Context) {
	form := resetForm{Token: c.Param("token")}
	err := d.cfg.DB.CheckPasswordReset(c.Request.Context(), form.Token)
	if errs.Is(err, errs.Invalid) {
		d.render(c, http.StatusGone, "password_reset", "Link expired", resetForm{Expired: true})
		return
	}
	if err != nil {
		d.failErr(c, err)
		return
	}
	d.render(c, http.StatusOK, "password_reset", "Choose a new password", form)
}

// reset sets the new password; every session of the account ends, this
// browser's too.
func (d *Dashboard) reset(c *gin.Context) {
	form := resetForm{Token: c.Param("token")}
	password := c.PostForm("password")
	if c.PostForm("password_confirmation") != password {
		form.Error = "The two passwords are not the same."
		d.render(c, http.StatusUnprocessableEntity, "password_reset", "Choose a new password", form)
		return
	}
	_, err := d.cfg.DB.ResetPassword(c.Request.Context(), form.Token, password)
	if errs.Is(err, errs.Invalid) {
		if msgs := errs.FieldsOf(err)["password"]; len(msgs) > 0 {
			form.Error = "Password " + strings.Join(msgs, "; ") + "."
			d.render(c, http.StatusUnprocessableEntity, "password_reset", "Choose a new password", form)
			return
		}
		d.render(c, http.StatusGone, "password_reset", "Link expired", resetForm{Expired: true})
		return
	}
	if err != nil {
		d.failErr(c, err)
		return
	}
	d.clearSession(c)
	d.render(c, http.StatusOK, "password_reset", "Password changed", resetForm{Done: true})
}

// verifyLink spends an emailed verification link.
func (d *Dashboard) verifyLink(c *gin.Context) {
	_, err := d.cfg.DB.VerifyEmail(c.Request.Context(), c.Param("token"))
	if errs.Is(err, errs.Invalid) {
		d.render(c, http.StatusGone, "verify", "Link expired", verifyData{State: "expired"})
		return
	}
	if err != nil {
		d.failErr(c, err)
		return
	}
	d.render(c, http.StatusOK, "verify", "Email confirmed", verifyData{State: "verified", Verified: true})
}

// verifyPage tells the logged-in merchant whether their email is verified,
// with a button to resend the link until it is.
func (d *Dashboard) verifyPage(c *gin.Context) {
	ok, err := d.cfg.DB.EmailVerified(c.Request.Context(), accountOf(c))
	if err != nil {
		d.failErr(c, err)
		return
	}
	d.render(c, http.StatusOK, "verify", "Verify your email", verifyData{Verified: ok, Sent: c.Query("sent") == "1"})
}

// resendVerification sends the logged-in merchant a new verification link.
func (d *Dashboard) resendVerification(c *gin.Context) {
	account := accountOf(c)
	if !d.throttleAccountEmail(c, "dashboard-verify:account:"+strconv.FormatInt(int64(account), 10), "dashboard-verify:ip:"+clientIP(c.Request)) {
		return
	}
	if err := d.cfg.DB.StartVerification(c.Request.Context(), account, d.cfg.URLs.Dashboard()); err != nil {
		d.failErr(c, err)
		return
	}
	c.Redirect(http.StatusSeeOther, "/verify?sent=1")
}

// throttleAccountEmail pours a request for an email into the buckets of
// its key and of its address (the login buckets' sizes); when either is
// full it writes a 429 page and returns false. With Redis down, requests go
// through, as logins do.
func (d *Dashboard) throttleAccountEmail(c *gin.Context, key, ipKey string) bool {
	ctx := c.Request.Context()
	for _, b := range []struct {
		key    string
		bucket ratelimit.Bucket
	}{{key, d.cfg.LoginPerEmail}, {ipKey, d.cfg.LoginPerIP}} {
		res, err := d.cfg.Limiter.Take(ctx, b.key, b.bucket)
		if err != nil {
			d.cfg.Log.WarnContext(ctx, "account email throttle unavailable; letting the request through", "err", err)
			return true
		}
		if !res.Allowed {
			d.tooMany(c, res.RetryAfter)
			return false
		}
	}
	return true
}

func (d *Dashboard) tooMany(c *gin.Context, wait time.Duration) {
	c.Header("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
	d.fail(c, http.StatusTooManyRequests, "Too many requests",
		fmt.Sprintf("There were too many requests for this email. Please wait %s and try again.", humanWait(wait)))
}
