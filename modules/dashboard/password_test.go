package dashboard_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/storefleet/storefleet/tenant"
)

// passwordEmails takes the platform outbox's pending account emails.
func passwordEmails(t *testing.T, f *fixture) []tenant.AccountEmail {
	t.Helper()
	var out []tenant.AccountEmail
	if _, err := f.db.RelayAccountEmails(context.Background(), 100, func(_ context.Context, e tenant.AccountEmail) error {
		out = append(out, e)
		return nil
	}); err != nil {
		t.Fatalf("RelayAccountEmails = %v", err)
	}
	return out
}

// passwordPath is the path of an emailed dashboard link.
func passwordPath(t *testing.T, e tenant.AccountEmail) string {
	t.Helper()
	u, err := url.Parse(e.URL)
	if err != nil || u.Host != "app.localhost:8080" {
		t.Fatalf("link %q, want one on the dashboard's host", e.URL)
	}
	return u.Path
}

// TestPasswordForgotAndReset: asking for a reset answers the same for any
// email and queues one email for an account; its link sets a new password
// once and ends every session; forms need their CSRF token; requests are
// throttled.
func TestPasswordForgotAndReset(t *testing.T) {
	f := newFixture(t)
	acct, _ := f.owner("pw-reset")
	logged := f.browser()
	logged.mustLogin(acct.Email)
	oldRefresh := logged.cookie("sf_refresh")

	b := f.browser()
	if r := b.get("/password/forgot"); r.status != http.StatusOK || !strings.Contains(r.body, `<label for="email">`) {
		t.Fatalf("GET /password/forgot = %d", r.status)
	}
	if r := b.do(http.MethodPost, "/password/forgot", url.Values{"email": {acct.Email}}); r.status != http.StatusForbidden {
		t.Errorf("POST /password/forgot without CSRF = %d, want 403", r.status)
	}
	if got := passwordEmails(t, f); len(got) != 0 {
		t.Fatalf("a refused form queued %+v", got)
	}
	var pages []string
	for _, email := range []string{"nobody-" + acct.Email, strings.ToUpper(acct.Email)} {
		b.get("/password/forgot")
		r := b.post("/password/forgot", url.Values{"email": {email}})
		if r.status != http.StatusOK || !strings.Contains(r.body, "we have emailed it a link") {
			t.Errorf("POST /password/forgot %s = %d, want the same confirmation", email, r.status)
		}
		pages = append(pages, strings.ReplaceAll(r.body, email, "EMAIL"))
	}
	if pages[0] != pages[1] {
		t.Errorf("the answers for an unknown and a known email differ")
	}
	got := passwordEmails(t, f)
	if len(got) != 1 || got[0].Kind != tenant.AccountEmailReset || got[0].Account != acct.ID {
		t.Fatalf("queued = %+v, want one reset email for the account", got)
	}
	path := passwordPath(t, got[0])

	if r := b.get("/password/reset/made-up"); r.status != http.StatusGone || !strings.Contains(r.body, "expired or was already used") {
		t.Errorf("GET a made-up link = %d, want 410", r.status)
	}
	if r := b.get(path); r.status != http.StatusOK || !strings.Contains(r.body, `name="password_confirmation"`) {
		t.Fatalf("GET %s = %d, want the form", path, r.status)
	}
	if r := b.post(path, url.Values{"password": {"new-Horse-battery-10"}, "password_confirmation": {"other-Horse-battery-10"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "not the same") {
		t.Errorf("POST two passwords = %d, want 422 saying so", r.status)
	}
	if r := b.post(path, url.Values{"password": {"short"}, "password_confirmation": {"short"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, "Password ") {
		t.Errorf("POST a short password = %d, want 422 naming the password", r.status)
	}
	if _, err := f.db.LogIn(context.Background(), acct.Email, password); err != nil {
		t.Fatalf("refused posts changed the password: %v", err)
	}
	if r := b.post(path, url.Values{"password": {"new-Horse-battery-10"}, "password_confirmation": {"new-Horse-battery-10"}}); r.status != http.StatusOK ||
		!strings.Contains(r.body, "Password changed") {
		t.Fatalf("POST the new password = %d %.300s", r.status, r.body)
	}
	if _, _, _, err := f.db.UseRefresh(context.Background(), oldRefresh, time.Hour); err == nil {
		t.Errorf("a session from before the reset still renews")
	}
	logged.setCookie("sf_session", "") // the short access token runs out
	if r := logged.get("/stores"); r.status != http.StatusSeeOther {
		t.Errorf("the old session after the reset = %d, want 303 to log in", r.status)
	}
	if r := b.get(path); r.status != http.StatusGone {
		t.Errorf("the used link = %d, want 410", r.status)
	}
	if r := f.browser().login(acct.Email); r.status != http.StatusUnauthorized {
		t.Errorf("log in with the old password = %d, want 401", r.status)
	}
	nb := f.browser()
	nb.get("/login")
	if r := nb.post("/login", url.Values{"email": {acct.Email}, "password": {"new-Horse-battery-10"}}); r.status != http.StatusSeeOther {
		t.Errorf("log in with the new password = %d, want 303", r.status)
	}

	// Throttled like logins: five asks for one email, then 429.
	th := f.browser()
	statuses := []int{}
	for range 6 {
		th.get("/password/forgot")
		statuses = append(statuses, th.post("/password/forgot", url.Values{"email": {"throttle-" + acct.Email}}).status)
	}
	if statuses[4] != http.StatusOK || statuses[5] != http.StatusTooManyRequests {
		t.Errorf("six asks for one email = %v, want the sixth refused with 429", statuses)
	}
}

// TestVerifyEmail: a dashboard sign-up queues the verification email; the
// logged-in merchant can resend it; its link verifies the account once.
func TestVerifyEmail(t *testing.T) {
	f := newFixture(t)
	b := f.browser()
	b.get("/signup")
	email := unique("vera-") + "@example.com"
	if r := b.post("/signup", url.Values{"email": {email}, "password": {password}, "store_name": {"Verify Tea"}, "slug": {"verify-tea"}}); r.status != http.StatusSeeOther {
		t.Fatalf("POST /signup = %d %.300s", r.status, r.body)
	}
	got := passwordEmails(t, f)
	if len(got) != 1 || got[0].Kind != tenant.AccountEmailVerify || got[0].ToEmail != email {
		t.Fatalf("queued after sign-up = %+v, want one verification email", got)
	}
	if r := f.browser().get("/verify"); r.status != http.StatusSeeOther {
		t.Errorf("GET /verify logged out = %d, want 303 to log in", r.status)
	}
	if r := b.get("/store/verify-tea"); !strings.Contains(r.body, `class="banner"`) || !strings.Contains(r.body, `href="/verify"`) {
		t.Errorf("an unverified merchant's pages have no banner asking to verify")
	}
	if r := b.get("/verify"); r.status != http.StatusOK || !strings.Contains(r.body, "Resend the link") {
		t.Fatalf("GET /verify = %d, want the resend button", r.status)
	}
	if r := b.do(http.MethodPost, "/verify/resend", url.Values{}); r.status != http.StatusForbidden {
		t.Errorf("POST /verify/resend without CSRF = %d, want 403", r.status)
	}
	if r := b.post("/verify/resend", url.Values{}); r.status != http.StatusSeeOther || r.header.Get("Location") != "/verify?sent=1" {
		t.Fatalf("POST /verify/resend = %d %s", r.status, r.header.Get("Location"))
	}
	again := passwordEmails(t, f)
	if len(again) != 1 || again[0].Kind != tenant.AccountEmailVerify {
		t.Fatalf("queued after resend = %+v, want one", again)
	}
	path := passwordPath(t, again[0])
	stranger := f.browser() // the link works in any browser
	if r := stranger.get(path); r.status != http.StatusOK || !strings.Contains(r.body, "Email confirmed") {
		t.Fatalf("GET %s = %d %.300s, want the confirmation", path, r.status, r.body)
	}
	if ok, _ := f.db.EmailVerified(context.Background(), got[0].Account); !ok {
		t.Errorf("the link did not verify the account")
	}
	if r := stranger.get(path); r.status != http.StatusGone {
		t.Errorf("the link twice = %d, want 410", r.status)
	}
	if r := b.get("/verify"); !strings.Contains(r.body, "is confirmed") || strings.Contains(r.body, "Resend the link") {
		t.Errorf("GET /verify once verified still offers to resend")
	}
	if r := b.get("/store/verify-tea"); strings.Contains(r.body, `class="banner"`) {
		t.Errorf("a verified merchant's pages still ask to verify")
	}
}
