package storefront_test

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

var tokenField = regexp.MustCompile(`name="authenticity_token" value="([^"]*)"`)

// formToken returns the authenticity_token the store's forms carry for
// this shopper now, read from the login page as a browser would.
func (s *shopper) formToken() string {
	s.f.t.Helper()
	m := tokenField.FindStringSubmatch(s.get("/account/login").body)
	if m == nil {
		s.f.t.Fatalf("GET /account/login has no authenticity_token field")
	}
	return m[1]
}

// logout logs out as a browser does from a link on another site: the
// confirmation page, then its form.
func (s *shopper) logout() answer {
	s.f.t.Helper()
	page := s.get("/account/logout")
	m := tokenField.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		s.f.t.Fatalf("GET /account/logout from outside = %d %.300s, want the confirmation form", page.status, page.body)
	}
	return s.do("POST", "/account/logout", "application/x-www-form-urlencoded", url.Values{"authenticity_token": {m[1]}}.Encode())
}

// doWith sends a request with extra headers (name, value, …), keeping the
// shopper's cookies.
func (s *shopper) doWith(method, path string, form url.Values, header ...string) answer {
	s.f.t.Helper()
	req, err := http.NewRequest(method, s.f.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		s.f.t.Fatal(err)
	}
	req.Host = s.host
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
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

// TestCSRF: account forms without the shopper's own token are refused
// with a page that says what to do; cart forms are not checked.
func TestCSRF(t *testing.T) {
	f := newFixture(t)
	st, other := f.store("csrf-shop"), f.store("csrf-other")
	p := f.product(st, "Oolong")
	ann := f.shopper(st)
	if r := ann.postForm("/account", url.Values{"customer[email]": {"ann@example.com"}, "customer[password]": {"tea-for-two-2026"}}); r.status != 303 {
		t.Fatalf("register with the page's token = %d %.300s, want 303", r.status, r.body)
	}
	annToken := ann.formToken()
	login := url.Values{"customer[email]": {"ann@example.com"}, "customer[password]": {"tea-for-two-2026"}}
	with := func(v url.Values, token string) url.Values {
		w := url.Values{"authenticity_token": {token}}
		for k, vs := range v {
			w[k] = vs
		}
		return w
	}
	address := url.Values{"address[address1]": {"1 Forged St"}}

	stranger := f.shopper(st)
	stranger.get("/account/login") // has a csrf cookie of its own
	otherStore := f.shopper(other)
	otherStore.get("/account/login")
	refused := []struct {
		name   string
		s      *shopper
		path   string
		form   url.Values
		header []string
	}{
		{"login without a token or cookie", f.shopper(st), "/account/login", login, nil},
		{"login with a made-up token", stranger, "/account/login", with(login, "forged"), nil},
		{"login with another shopper's token", stranger, "/account/login", with(login, annToken), nil},
		{"login on another store with this store's token", otherStore, "/account/login", with(login, annToken), nil},
		{"register from another site", f.shopper(st), "/account", url.Values{"customer[email]": {"eve@example.com"}, "customer[password]": {"long-enough-1"}},
			[]string{"Sec-Fetch-Site", "cross-site", "Origin", "http://evil.example"}},
		{"recover without a token", stranger, "/account/recover", url.Values{"email": {"ann@example.com"}}, nil},
		{"add an address without a token", ann, "/account/addresses", address, nil},
		{"add an address with a sibling store's page", ann, "/account/addresses", address, []string{"Sec-Fetch-Site", "same-site"}},
		{"log out without a token", ann, "/account/logout", url.Values{}, nil},
	}
	for _, tc := range refused {
		r := tc.s.doWith("POST", tc.path, tc.form, tc.header...)
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "Please try again") || !strings.Contains(r.body, "reload the page") {
			t.Errorf("%s: POST %s = %d %.200s, want 403 with the try-again page", tc.name, tc.path, r.status, r.body)
		}
		if strings.Contains(r.header.Get("Set-Cookie"), "customer=") {
			t.Errorf("%s: a refused post set the customer cookie", tc.name)
		}
	}
	if page := ann.get("/account/addresses"); strings.Contains(page.body, "Forged St") {
		t.Errorf("a refused post added an address")
	}
	if r := ann.get("/account"); r.status != 200 {
		t.Errorf("GET /account after a refused logout = %d, want 200 (still logged in)", r.status)
	}

	// The browser's word that a post comes from the store's own page
	// (a theme script posting without a token) is enough.
	if r := ann.doWith("POST", "/account/addresses", url.Values{"address[address1]": {"2 Script St"}}, "Sec-Fetch-Site", "same-origin"); r.status != 303 {
		t.Errorf("POST /account/addresses same-origin without a token = %d %.200s, want 303", r.status, r.body)
	}

	// Cart forms stay as Shopify's: no token, from anywhere.
	if r := f.shopper(st).doWith("POST", "/cart/add", url.Values{"id": {fmt.Sprint(p.Variants[0].ID)}, "quantity": {"1"}}, "Sec-Fetch-Site", "cross-site"); r.status >= 400 {
		t.Errorf("POST /cart/add without a token = %d, want it taken", r.status)
	}

	// A logout link from another site asks first; one from the store's
	// own pages logs out at once.
	if r := ann.get("/account/logout"); r.status != 200 || !strings.Contains(r.body, "Log out?") {
		t.Errorf("GET /account/logout from outside = %d, want the confirmation page", r.status)
	}
	if r := ann.get("/account"); r.status != 200 {
		t.Errorf("GET /account after an unconfirmed logout = %d, want 200", r.status)
	}
	if r := ann.doWith("GET", "/account/logout", nil, "Referer", "http://csrf-shop.localhost/account"); r.status != 303 {
		t.Errorf("GET /account/logout from the store's page = %d, want 303", r.status)
	}
	if r := ann.get("/account"); r.status != 303 {
		t.Errorf("GET /account after logging out = %d, want a redirect to log in", r.status)
	}

	// Account pages are made for one shopper, never cached: each new
	// visitor gets its own token.
	a, b := f.shopper(st).get("/account/login"), f.shopper(st).get("/account/login")
	ta, tb := tokenField.FindStringSubmatch(a.body), tokenField.FindStringSubmatch(b.body)
	if ta == nil || tb == nil || ta[1] == tb[1] || a.header.Get("X-Cache") != "" {
		t.Errorf("two new visitors' login pages: tokens %v and %v, X-Cache %q; want two different tokens, not cached", ta, tb, a.header.Get("X-Cache"))
	}
}
